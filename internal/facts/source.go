package facts

import (
	"context"
	"sync"
	"time"

	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// Fallback is where Source asks what the store cannot answer
// (postgres.DB: the incidents themselves).
type Fallback interface {
	report.Source
	ResponseTimesMulti(ctx context.Context, q report.Query, gbs []report.GroupBy) ([]report.Result, error)
}

// RefReader reads the reference data a query needs (postgres.DB).
type RefReader interface {
	Priorities(ctx context.Context) ([]refdata.Priority, error)
	Districts(ctx context.Context) ([]refdata.District, error)
	Settlements(ctx context.Context) ([]refdata.Settlement, error)
	IncidentTypes(ctx context.Context) ([]refdata.IncidentType, error)
}

// Source is the report.Source of the application: the store's figures
// when it can give them, else the fallback's. Both give the same Result
// (the store's tests compare them on every grouping and filter).
type Source struct {
	Store    *Store
	Ref      RefReader
	Fallback Fallback
}

// ResponseTimes computes q (report.Source).
func (s Source) ResponseTimes(ctx context.Context, q report.Query) (report.Result, error) {
	res, err := s.ResponseTimesMulti(ctx, q, []report.GroupBy{q.GroupBy})
	if err != nil {
		return report.Result{}, err
	}
	return res[0], nil
}

// ResponseTimesMulti computes q grouped by each of gbs (q.GroupBy is
// ignored) in one scan of the store.
func (s Source) ResponseTimesMulti(ctx context.Context, q report.Query, gbs []report.GroupBy) ([]report.Result, error) {
	for _, gb := range gbs {
		gq := q
		gq.GroupBy = gb
		if err := gq.Validate(); err != nil {
			return nil, err
		}
	}
	if s.Store != nil && s.Store.Ready() {
		ref, err := ReadRef(ctx, s.Ref)
		if err != nil {
			return nil, err
		}
		if res, ok := s.Store.ResponseTimes(q, gbs, ref); ok {
			return res, nil
		}
	}
	return s.Fallback.ResponseTimesMulti(ctx, q, gbs)
}

// ReadRef reads the reference data a query needs, at once.
func ReadRef(ctx context.Context, r RefReader) (Ref, error) {
	var ref Ref
	var errs [4]error
	var wg sync.WaitGroup
	wg.Go(func() { ref.Priorities, errs[0] = r.Priorities(ctx) })
	wg.Go(func() { ref.Districts, errs[1] = r.Districts(ctx) })
	wg.Go(func() { ref.Settlements, errs[2] = r.Settlements(ctx) })
	wg.Go(func() { ref.Types, errs[3] = r.IncidentTypes(ctx) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Ref{}, err
		}
	}
	return ref, nil
}

// Breakdowns computes the dashboard's breakdowns of iv for q, the report
// groupings full with every interval and one with iv alone, and the
// candidates of a slowest list of n, in one scan (Store.Breakdowns). ok is
// false when the store cannot serve q: the caller asks the database.
//
// ref, when not nil, is the reference data the caller has read already.
func (s Source) Breakdowns(ctx context.Context, q report.Query, iv refdata.Interval, full, one []report.GroupBy, n int,
	ref *Ref) (Breakdowns, bool, error) {
	if s.Store == nil || !s.Store.Ready() {
		return Breakdowns{}, false, nil
	}
	ref, err := s.readRef(ctx, ref)
	if err != nil {
		return Breakdowns{}, false, err
	}
	b, ok := s.Store.Breakdowns(q, iv, full, one, n, *ref)
	return b, ok, nil
}

// readRef is ref, or the reference data read now when it is nil.
func (s Source) readRef(ctx context.Context, ref *Ref) (*Ref, error) {
	if ref != nil {
		return ref, nil
	}
	r, err := ReadRef(ctx, s.Ref)
	return &r, err
}

// RepeatRates computes the repeat-rate figures of q for each grouping of
// bys (Store.RepeatRates); ok is false when the store cannot serve q: the
// caller asks the database. ref as for Breakdowns.
func (s Source) RepeatRates(ctx context.Context, q report.Query, bys []string, ref *Ref) ([][]report.RepeatFigure, bool, error) {
	if s.Store == nil || !s.Store.Ready() {
		return nil, false, nil
	}
	if err := q.Validate(); err != nil {
		return nil, false, err
	}
	ref, err := s.readRef(ctx, ref)
	if err != nil {
		return nil, false, err
	}
	figs, ok := s.Store.RepeatRates(q, bys, *ref)
	return figs, ok, nil
}

// FollowThrough computes the follow-through figures of q at now
// (Store.FollowThrough); ok is false when the store cannot serve q: the
// caller asks the database. ref as for Breakdowns.
func (s Source) FollowThrough(ctx context.Context, q report.Query, now time.Time, ref *Ref) (report.FollowThrough, bool, error) {
	if s.Store == nil || !s.Store.Ready() {
		return report.FollowThrough{}, false, nil
	}
	vq := q // the figures are of the whole selection: any grouping will do
	vq.GroupBy = report.ByAll
	if err := vq.Validate(); err != nil {
		return report.FollowThrough{}, false, err
	}
	ref, err := s.readRef(ctx, ref)
	if err != nil {
		return report.FollowThrough{}, false, err
	}
	f, ok := s.Store.FollowThrough(q, now, *ref)
	return f, ok, nil
}

// ActionCounts counts the referrals, danger screens and protection orders
// of q's incidents (Store.ActionCounts); ok is false when the store cannot
// serve q: the caller asks the database. ref as for Breakdowns.
func (s Source) ActionCounts(ctx context.Context, q report.Query, ref *Ref) (report.ActionCounts, bool, error) {
	if s.Store == nil || !s.Store.Ready() {
		return report.ActionCounts{}, false, nil
	}
	ref, err := s.readRef(ctx, ref)
	if err != nil {
		return report.ActionCounts{}, false, err
	}
	c, ok := s.Store.ActionCounts(q, *ref)
	return c, ok, nil
}
