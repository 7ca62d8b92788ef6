// Package report computes response-time reports (DESIGN.md section 3):
// for the incidents received in a range of local days, per group, each
// interval's count, median, 90th and 95th percentile and share within
// target, with the incidents left out of an interval for a missing or an
// out-of-order stage counted.
//
// The package holds the domain only: the query (dates, time zone,
// grouping, filters), the interval maths, the result and its JSON and CSV
// encodings. The figures come from a Source. internal/postgres's DB is the
// straightforward Source (it selects one row per incident and feeds a
// Builder); internal/facts's in-memory store must give the same Result for
// the same Query, and reuses Builder and Percentiles to do so.
package report

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/dvresponse/dvresponse/internal/refdata"
)

// Source computes the response-time report of a query: the seam between
// the report and its storage. The query is valid (ParseQuery or
// Query.Validate). A Source must give, for the incidents whose received_at
// is in q.Range() and that pass every filter of q (AND; the shift by the
// local time of received_at), the Result that a Builder fed with those
// incidents gives:
//
//   - Result.Query is q; every group has every interval of
//     refdata.Intervals;
//   - groups are those with at least one incident, except that ByAll
//     always has its one group and ByWeek lists every ISO week that
//     overlaps the range, so that a series has no holes;
//   - an interval lacking either stage counts in Missing, one whose end
//     comes before its start in Inconsistent, neither in N or the figures;
//   - percentiles are percentile_cont's to within 1 second (a Source may
//     keep durations in whole seconds, rounded up); each incident is
//     judged against its priority's targets in force on the local day it
//     was received.
type Source interface {
	ResponseTimes(ctx context.Context, q Query) (Result, error)
}

// Export computes q from src and writes the result to w in format f: the
// one implementation behind the web exports and `dvresponse report`.
func Export(ctx context.Context, src Source, q Query, f Format, w io.Writer) error {
	if err := q.Validate(); err != nil {
		return err
	}
	res, err := src.ResponseTimes(ctx, q)
	if err != nil {
		return err
	}
	return Write(w, res, f)
}

// Result is a computed report.
type Result struct {
	Query  Query
	Groups []Group
}

// Group is the figures of one group of incidents.
type Group struct {
	Key       string // stable identifier: see Builder
	Label     string // name for people
	Incidents int    // incidents in the group
	Corrected int    // of which a supervisor corrected a stage time
	Intervals map[refdata.Interval]Summary
}

// Incident is one incident as a report needs it: what a Source reads for
// each incident in the query's range that passes its filters.
type Incident struct {
	Stamps
	Priority       int
	DistrictCode   string // "" when the incident has no district
	DistrictName   string
	SettlementKey  string // SettlementKey of its settlement; "" when none
	SettlementName string
	SettlementIDP  bool
	TypeCode       string
	TypeName       string
	Corrected      bool // a stage time was corrected (incidents.corrections > 0)
}

// SettlementKey identifies a settlement in reports: settlement names are
// unique within a district, e.g. "LEN/Kara-Balta".
func SettlementKey(districtCode, name string) string { return districtCode + "/" + name }

// NoneKey is the key of the group of incidents without a district or
// settlement (codes are upper case and settlement keys hold a slash, so
// it cannot clash).
const NoneKey = "none"

// Builder adds up incidents into a Result.
//
// Group keys: ByPriority the level ("1"), ByDistrict the district code,
// BySettlement SettlementKey, ByType the type code, ByWeek the ISO week
// ("2026-W07"), ByShift "day" or "night", ByAll "all". Groups are ordered
// by priority level, week, shift order, or key, with NoneKey last.
//
// An incident is judged against its priority's targets in force on the
// local day it was received (refdata.Priority.TargetOn); one whose
// priority has none for an interval then counts in N but not in the share
// within target.
type Builder struct {
	q      Query
	prios  map[int]refdata.Priority
	groups map[string]*groupSum
}

type groupSum struct {
	key, label string
	rank       int // sort before key
	incidents  int
	corrected  int
	samples    []sample      // per Definitions
	fixed      *GroupFigures // set by AddFigures
}

// NewBuilder starts a result for q with the configured priorities.
func NewBuilder(q Query, priorities []refdata.Priority) *Builder {
	b := &Builder{q: q, prios: map[int]refdata.Priority{}, groups: map[string]*groupSum{}}
	for _, p := range priorities {
		b.prios[p.Level] = p
	}
	return b
}

// Add counts one incident. The Source has applied the query's filters.
func (b *Builder) Add(in Incident) {
	key, label, rank := b.keyOf(in)
	g := b.group(key, label, rank)
	g.incidents++
	if in.Corrected {
		g.corrected++
	}
	prio, hasPrio := b.prios[in.Priority]
	var day time.Time
	if hasPrio {
		d := DateOf(in.Received, b.q.Location)
		day = refdata.Day(d.Year, d.Month, d.Day)
	}
	for i, d := range Definitions {
		var target, common *int
		fixed := true
		if hasPrio {
			target = prio.TargetOn(d.Interval, day)
			common, fixed = b.rangeTarget(prio, d.Interval)
		}
		secs, st := in.Interval(d)
		g.samples[i].add(secs, st, target, common, fixed)
	}
}

// rangeTarget is p's target of iv over the query's days, and whether it
// stayed the same throughout (the group's common target: see Summary).
func (b *Builder) rangeTarget(p refdata.Priority, iv refdata.Interval) (*int, bool) {
	return p.TargetOver(iv, refdata.Day(b.q.From.Year, b.q.From.Month, b.q.From.Day),
		refdata.Day(b.q.To.Year, b.q.To.Month, b.q.To.Day))
}

// RangeTarget is p's target of iv over q's days, and whether it stayed the
// same throughout: what a Source that aggregates itself gives
// CommonTarget for the group's priorities (nil when it changed).
func RangeTarget(q Query, p refdata.Priority, iv refdata.Interval) *int {
	t, ok := (&Builder{q: q}).rangeTarget(p, iv)
	if !ok {
		return nil
	}
	return t
}

func (b *Builder) group(key, label string, rank int) *groupSum {
	g, ok := b.groups[key]
	if !ok {
		g = &groupSum{key: key, label: label, rank: rank, samples: make([]sample, len(Definitions))}
		b.groups[key] = g
	}
	return g
}

func (b *Builder) keyOf(in Incident) (key, label string, rank int) {
	loc := b.q.Location
	switch b.q.GroupBy {
	case ByPriority:
		label = "Priority " + strconv.Itoa(in.Priority)
		if p, ok := b.prios[in.Priority]; ok {
			label = p.Label
		}
		return strconv.Itoa(in.Priority), label, in.Priority
	case ByDistrict:
		if in.DistrictCode == "" {
			return NoneKey, "No district", math.MaxInt
		}
		return in.DistrictCode, in.DistrictName, 0
	case BySettlement:
		if in.SettlementKey == "" {
			return NoneKey, "No settlement", math.MaxInt
		}
		label = in.SettlementName
		if in.SettlementIDP {
			label += " (IDP settlement)"
		}
		return in.SettlementKey, label, 0
	case ByType:
		return in.TypeCode, in.TypeName, 0
	case ByWeek:
		d := DateOf(in.Received, loc)
		return d.ISOWeek(), weekLabel(d), 0
	case ByShift:
		s := ShiftOf(in.Received, loc)
		return string(s), s.Label(), slices.Index(Shifts, s)
	}
	return string(ByAll), "All incidents", 0
}

// weekLabel names the ISO week of d by its Monday and Sunday.
func weekLabel(d Date) string {
	monday := d.AddDays(-((int(d.noon().Weekday()) + 6) % 7))
	return monday.String() + " – " + monday.AddDays(6).String()
}

// Result finishes the report.
func (b *Builder) Result() Result {
	switch b.q.GroupBy {
	case ByAll:
		b.group(string(ByAll), "All incidents", 0)
	case ByWeek:
		for d := b.q.From; !b.q.To.Before(d); d = d.AddDays(7) {
			b.group(d.ISOWeek(), weekLabel(d), 0)
		}
		b.group(b.q.To.ISOWeek(), weekLabel(b.q.To), 0)
	}
	gs := make([]*groupSum, 0, len(b.groups))
	for _, g := range b.groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(x, y *groupSum) int {
		if x.rank != y.rank {
			if x.rank < y.rank {
				return -1
			}
			return 1
		}
		switch {
		case x.key < y.key:
			return -1
		case x.key > y.key:
			return 1
		}
		return 0
	})
	res := Result{Query: b.q, Groups: make([]Group, 0, len(gs))}
	for _, g := range gs {
		out := Group{Key: g.key, Label: g.label, Incidents: g.incidents, Corrected: g.corrected,
			Intervals: make(map[refdata.Interval]Summary, len(Definitions))}
		for i, d := range Definitions {
			out.Intervals[d.Interval] = g.samples[i].summary()
		}
		if f := g.fixed; f != nil {
			out.Incidents, out.Corrected = f.Incidents, f.Corrected
			for i, d := range Definitions {
				if i < len(f.Intervals) {
					out.Intervals[d.Interval] = f.Intervals[i]
				}
			}
		}
		res.Groups = append(res.Groups, out)
	}
	return res
}

// Group returns the group with key, if any.
func (r Result) Group(key string) (Group, bool) {
	i := slices.IndexFunc(r.Groups, func(g Group) bool { return g.Key == key })
	if i < 0 {
		return Group{}, false
	}
	return r.Groups[i], true
}

// FileName is a name for the export of q, e.g.
// "response-times_2026-03-01_2026-03-28_priority.csv".
func (q Query) FileName(f Format) string {
	return fmt.Sprintf("response-times_%s_%s_%s.%s", q.From, q.To, q.GroupBy, f)
}
