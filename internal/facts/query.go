package facts

import (
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// Ref is the reference data a query reads: labels, the IDP and DV flags,
// and the priorities' targets. It is read for each query, so that a
// change of a label, a flag or a target needs nothing of the store.
type Ref struct {
	Priorities  []refdata.Priority
	Districts   []refdata.District
	Settlements []refdata.Settlement
	Types       []refdata.IncidentType
}

// ResponseTimes computes q for each grouping of gbs (q.GroupBy is
// ignored): the Results report.Builder would give, every interval. ok is
// false when the store cannot serve q: not loaded, another time zone, or
// reference data it does not know (the caller then asks the database).
func (s *Store) ResponseTimes(q report.Query, gbs []report.GroupBy, ref Ref) (res []report.Result, ok bool) {
	wants := make([]want, len(gbs))
	for i, gb := range gbs {
		k, known := kindOf[gb]
		if !known {
			return nil, false
		}
		wants[i] = want{kind: k, ivs: allIvs}
	}
	sc, ok := s.run(q, wants, ref, -1, 0)
	if !ok {
		return nil, false
	}
	res = make([]report.Result, len(gbs))
	for i, gb := range gbs {
		r, ok := newLabels(q, ref).result(gb, sc.groups[i], ref, allIvs)
		if !ok {
			return nil, false
		}
		res[i] = r
	}
	return res, true
}

// run plans and scans q under the read lock.
func (s *Store) run(q report.Query, wants []want, ref Ref, slowIv, slowN int) (scanned, bool) {
	if q.Location == nil || q.Location.String() != s.loc.String() || len(wants) == 0 {
		return scanned{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.ready || s.broken != "" {
		return scanned{}, false
	}
	p := newPlan(q, wants, ref)
	p.slowIv, p.slowN = slowIv, slowN
	return s.scan(p)
}

// labels names groups from the reference data.
type labels struct {
	q           report.Query
	prios       map[int]refdata.Priority
	districts   map[int64]refdata.District
	settlements map[int64]refdata.Settlement
	types       map[int64]refdata.IncidentType
}

func newLabels(q report.Query, ref Ref) *labels {
	l := &labels{q: q, prios: map[int]refdata.Priority{}, districts: map[int64]refdata.District{},
		settlements: map[int64]refdata.Settlement{}, types: map[int64]refdata.IncidentType{}}
	for _, pr := range ref.Priorities {
		l.prios[pr.Level] = pr
	}
	for _, d := range ref.Districts {
		l.districts[d.ID] = d
	}
	for _, st := range ref.Settlements {
		l.settlements[st.ID] = st
	}
	for _, t := range ref.Types {
		l.types[t.ID] = t
	}
	return l
}

// summary is the figures of interval iv of group a, as report.Summary
// defines them.
func (l *labels) summary(a *acc, iv int) report.Summary {
	def := report.Definitions[iv]
	x := &a.iv[iv]
	n := a.n(iv)
	sum := report.Summary{N: int(n), Missing: x.missing, Inconsistent: x.outOfOrder}
	sum.Median, sum.P90, sum.P95 = report.Percentiles(n, func(rank int64) float64 { return a.value(iv, rank) })
	var targets []*int
	for k, word := range a.prios {
		for word != 0 {
			level := k*64 + bits.TrailingZeros64(word)
			word &= word - 1
			if pr, ok := l.prios[level]; ok {
				targets = append(targets, report.RangeTarget(l.q, pr, def.Interval))
			} else {
				targets = append(targets, nil)
			}
		}
	}
	sum.TargetS = report.CommonTarget(targets)
	if x.withTarget > 0 {
		v := 100 * float64(x.within) / float64(x.withTarget)
		sum.WithinTargetPct = &v
	}
	return sum
}

// result turns one grouping's groups into its Result.
func (l *labels) result(gb report.GroupBy, slots []*acc, ref Ref, ivs uint8) (report.Result, bool) {
	q := l.q
	q.GroupBy = gb
	b := report.NewBuilder(q, ref.Priorities)
	for _, a := range slots {
		if a == nil || a.incidents == 0 {
			continue
		}
		in, ok := l.example(a)
		if !ok {
			return report.Result{}, false
		}
		gf := report.GroupFigures{Incidents: a.incidents, Corrected: a.corrected, Intervals: make([]report.Summary, nIntervals)}
		for iv := range nIntervals {
			if ivs&(1<<iv) != 0 {
				gf.Intervals[iv] = l.summary(a, iv)
			}
		}
		b.AddFigures(in, gf)
	}
	return b.Result(), true
}

// example is an incident standing for group a, for the key and label the
// Builder gives it.
func (l *labels) example(a *acc) (report.Incident, bool) {
	f := a.example
	in := report.Incident{Priority: int(f.prio)}
	if f.district != 0 {
		d, ok := l.districts[int64(f.district)]
		if !ok {
			return in, false
		}
		in.DistrictCode, in.DistrictName = d.Code, d.Name
	}
	if f.settlement != 0 {
		st, ok := l.settlements[int64(f.settlement)]
		if !ok {
			return in, false
		}
		in.SettlementKey, in.SettlementName, in.SettlementIDP = report.SettlementKey(st.DistrictCode, st.Name), st.Name, st.IsIDP
	}
	t, ok := l.types[int64(f.typ)]
	if !ok {
		return in, false
	}
	in.TypeCode, in.TypeName = t.Code, t.Name
	// The local day and hour of the group's example: the week and shift
	// keys come from Received.
	day := time.Unix(int64(a.exampleDay)*86400, 0).UTC()
	in.Received = time.Date(day.Year(), day.Month(), day.Day(), int(f.hour), 30, 0, 0, l.q.Location)
	return in, true
}

// Group is one group of a breakdown: its key, how many incidents it
// holds, and the interval's figures over them.
type Group struct {
	Key       string
	Incidents int
	report.Summary
}

// Cell is the group of the incidents received in one hour of one day of
// the week (local time).
type Cell struct {
	Weekday int // ISO: 1 Monday … 7 Sunday
	Hour    int // 0–23
	Group
}

// Breakdowns are the dashboard's figures of one interval beyond the
// report (postgres.DashboardFigures): every incident, by the victim's
// sex, by age band and by hour of the week, and the candidates of the
// slowest list.
type Breakdowns struct {
	All       Group
	BySex     []Group // report.Sexes in order, then "" (not recorded); only groups with incidents
	ByAgeBand []Group // report.AgeBands in order, then ""; only groups with incidents
	ByHour    []Cell  // by day and hour; only cells with incidents
	// Slowest holds the ids of every incident whose interval lasted at
	// least as long, rounded up to the second, as the slowest-th longest:
	// the slowest list is chosen among them, exactly, by the database.
	Slowest []int64
	// Reports are the report's groupings asked for, with the interval's
	// figures only (the others' summaries are empty).
	Reports map[report.GroupBy]report.Result
}

// Breakdowns computes, in one scan, the dashboard's breakdowns of
// interval iv for q, the report groupings full with every interval and
// one with iv alone, and the candidates of a slowest list of n. ok is
// false as for ResponseTimes.
func (s *Store) Breakdowns(q report.Query, iv refdata.Interval, full, one []report.GroupBy, n int, ref Ref) (Breakdowns, bool) {
	ivi := slices.IndexFunc(report.Definitions, func(d report.Definition) bool { return d.Interval == iv })
	if ivi < 0 {
		return Breakdowns{}, false
	}
	mask := uint8(1) << ivi
	all := mask
	if slices.Contains(full, report.ByAll) {
		all = allIvs
	}
	wants := []want{{kind: kAll, ivs: all}, {kind: kSex, ivs: mask}, {kind: kAge, ivs: mask}, {kind: kHour, ivs: mask}}
	var gbs []report.GroupBy
	add := func(list []report.GroupBy, ivs uint8) bool {
		for _, gb := range list {
			k, known := kindOf[gb]
			if !known {
				return false
			}
			if k != kAll {
				wants = append(wants, want{kind: k, ivs: ivs})
				gbs = append(gbs, gb)
			}
		}
		return true
	}
	if !add(full, allIvs) || !add(one, mask) {
		return Breakdowns{}, false
	}
	sc, ok := s.run(q, wants, ref, ivi, n)
	if !ok {
		return Breakdowns{}, false
	}
	l := newLabels(q, ref)
	group := func(key string, a *acc) Group {
		return Group{Key: key, Incidents: a.incidents, Summary: l.summary(a, ivi)}
	}
	b := Breakdowns{All: Group{Key: "all"}, Slowest: sc.slowest, Reports: map[report.GroupBy]report.Result{}}
	if a := sc.groups[0][0]; a != nil {
		b.All = group("all", a)
	}
	for i, a := range sc.groups[1] {
		if a == nil || i > len(report.Sexes) {
			continue // a sex none of report.Sexes: counted in All only, as the database does
		}
		key := ""
		if i > 0 {
			key = report.Sexes[i-1]
		}
		b.BySex = append(b.BySex, group(key, a))
	}
	if len(b.BySex) > 0 && b.BySex[0].Key == "" {
		b.BySex = append(b.BySex[1:], b.BySex[0])
	}
	for i, a := range sc.groups[2] {
		if a == nil {
			continue
		}
		key := ""
		if i < len(report.AgeBands) {
			key = report.AgeBands[i].Key
		}
		b.ByAgeBand = append(b.ByAgeBand, group(key, a))
	}
	for i, a := range sc.groups[3] {
		if a == nil {
			continue
		}
		wd, h := i/24+1, i%24
		b.ByHour = append(b.ByHour, Cell{Weekday: wd, Hour: h, Group: group(fmt.Sprintf("%d-%02d", wd, h), a)})
	}
	if all == allIvs {
		r, ok := l.result(report.ByAll, sc.groups[0], ref, allIvs)
		if !ok {
			return Breakdowns{}, false
		}
		b.Reports[report.ByAll] = r
	}
	for i, gb := range gbs {
		r, ok := l.result(gb, sc.groups[4+i], ref, wants[4+i].ivs)
		if !ok {
			return Breakdowns{}, false
		}
		b.Reports[gb] = r
	}
	return b, true
}
