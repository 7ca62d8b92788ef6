package facts

import (
	"cmp"
	"slices"
	"strconv"
	"sync"

	"github.com/dvresponse/dvresponse/internal/report"
)

// Repeat victimisation (issue 16) from the store: each fact carries the
// time since its victim's previous DV incident (Row.RepeatGap, kept by the
// feed from the person links), so the repeat-rate figures of a period are
// one scan of its days, like the response times.

// repeatKinds maps a repeat-rate grouping to the store's grouping.
var repeatKinds = map[string]kind{report.RepeatByAll: kAll, report.RepeatByDistrict: kDistrict,
	report.RepeatBySettlement: kSettlement, report.RepeatBySex: kSex, report.RepeatByAge: kAge}

// How the median gap is found exactly without holding the gaps: pass 1
// counts each group's gaps per whole day (pages of gapPage days made when
// used, up to gapDays; longer gaps are kept as they are, being few); the
// ranks the median reads then fall in one or two days, and pass 2 keeps
// the gaps of those days only.
const (
	gapPageShift = 10
	gapPage      = 1 << gapPageShift
	gapDays      = 8 * gapPage // 8,192 days: 22 years
)

// repeatAcc is one group of one repeat-rate grouping.
type repeatAcc struct {
	incidents, repeats int
	withGap            int                                 // incidents with a previous DV incident
	pages              [gapDays / gapPage]*[gapPage]uint32 // gaps per whole day
	over               []int32                             // gaps of gapDays or more
	need               [2]int32                            // the days pass 2 keeps (the median's ranks); -1 none
	rank               [2]int                              // the median's ranks, 0-based, ascending
	kept               [][]int32                           // pass 2: the gaps of need[0] and need[1]
}

func (a *repeatAcc) merge(b *repeatAcc) {
	a.incidents += b.incidents
	a.repeats += b.repeats
	a.withGap += b.withGap
	for k, pg := range b.pages {
		if pg == nil {
			continue
		}
		if a.pages[k] == nil {
			a.pages[k] = pg
			continue
		}
		for i, c := range pg {
			a.pages[k][i] += c
		}
	}
	a.over = append(a.over, b.over...)
}

// plan finds the days of the median's ranks; pass 2 keeps their gaps.
func (a *repeatAcc) plan() {
	a.need = [2]int32{-1, -1}
	if a.withGap == 0 {
		return
	}
	a.rank = [2]int{(a.withGap - 1) / 2, a.withGap / 2}
	seen := 0
	for k, pg := range a.pages {
		if pg == nil {
			continue
		}
		for i, c := range pg {
			for j := range a.rank {
				if a.need[j] < 0 && a.rank[j] < seen+int(c) {
					a.need[j] = int32(k*gapPage + i)
					a.rank[j] -= seen
				}
			}
			seen += int(c)
		}
	}
	for j := range a.rank {
		if a.need[j] < 0 { // among the gaps kept as they are
			a.need[j] = gapDays
			a.rank[j] -= seen
			slices.Sort(a.over)
		}
	}
	a.kept = make([][]int32, 2)
}

// median is the median gap in seconds, once pass 2 has kept the days'
// gaps.
func (a *repeatAcc) median() float64 {
	var v [2]float64
	for j := range a.rank {
		list := a.over
		if a.need[j] < gapDays {
			list = a.kept[0]
			if a.need[j] != a.need[0] {
				list = a.kept[1]
			}
		}
		slices.Sort(list)
		v[j] = float64(list[a.rank[j]])
	}
	return (v[0] + v[1]) / 2
}

// RepeatRates computes the repeat-rate figures of q's DV incidents (its
// range, filters and scope) for each grouping of bys
// (report.RepeatGroupings): what postgres.RepeatRatesMulti gives, each
// grouping's groups ordered by key. The median is within 1 s of the
// database's (the gaps are kept in whole seconds, rounded up), the counts
// are exact. ok is false when the store cannot serve q: not loaded,
// another time zone, a grouping it does not know or reference data it
// lacks.
func (s *Store) RepeatRates(q report.Query, bys []string, ref Ref) (out [][]report.RepeatFigure, ok bool) {
	kinds := make([]kind, len(bys))
	for i, by := range bys {
		k, known := repeatKinds[by]
		if !known {
			return nil, false
		}
		kinds[i] = k
	}
	if q.Location == nil || q.Location.String() != s.loc.String() {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.ready || s.broken != "" {
		return nil, false
	}
	p := newPlan(q, nil, ref)
	dv := make([]bool, p.maxType+1)
	for _, t := range ref.Types {
		dv[t.ID] = t.IsDV
	}
	// The settlements that are not IDP settlements are one group.
	canon := make([][]int32, len(kinds))
	for g, k := range kinds {
		if k == kSettlement {
			canon[g] = make([]int32, p.maxSettl+1) // -1: a settlement the reference data lacks
			for i := range canon[g] {
				canon[g][i] = -1
			}
			canon[g][0] = 0
			for _, st := range ref.Settlements {
				canon[g][st.ID] = 0
				if st.IsIDP {
					canon[g][st.ID] = int32(st.ID)
				}
			}
		}
	}
	parts := p.split(s.workers(p.from, p.to))
	accs := make([][][]*repeatAcc, len(parts)) // [worker][grouping][slot]
	oks := make([]bool, len(parts))
	var wg sync.WaitGroup
	for w, part := range parts {
		wg.Go(func() { accs[w], oks[w] = s.repeatPass1(p, kinds, canon, dv, part[0], part[1]) })
	}
	wg.Wait()
	if slices.Contains(oks, false) {
		return nil, false
	}
	merged := accs[0]
	for _, other := range accs[1:] {
		for g := range merged {
			for k, a := range other[g] {
				if a == nil {
					continue
				}
				if merged[g][k] == nil {
					merged[g][k] = a
				} else {
					merged[g][k].merge(a)
				}
			}
		}
	}
	// Pass 2 keeps the gaps of the median's days, each worker its own.
	for _, slots := range merged {
		for _, a := range slots {
			if a != nil {
				a.plan()
			}
		}
	}
	kept := make([][][][][]int32, len(parts)) // [worker][grouping][slot][need]
	for w, part := range parts {
		wg.Go(func() { kept[w] = s.repeatPass2(p, kinds, canon, dv, part[0], part[1], merged) })
	}
	wg.Wait()
	for _, kw := range kept {
		for g, slots := range kw {
			for k, lists := range slots {
				for j, list := range lists {
					merged[g][k].kept[j] = append(merged[g][k].kept[j], list...)
				}
			}
		}
	}
	l := newLabels(q, ref)
	out = make([][]report.RepeatFigure, len(bys))
	for g, k := range kinds {
		figs, ok := l.repeatFigures(k, merged[g])
		if !ok {
			return nil, false
		}
		out[g] = figs
	}
	return out, true
}

// repeatPass1 counts the DV incidents of days lo to hi that pass the
// plan's filters, per grouping of kinds, and their gaps per day (under the
// read lock). ok is false when an incident falls in a group the reference
// data lacks.
func (s *Store) repeatPass1(p *plan, kinds []kind, canon [][]int32, dv []bool, lo, hi int32) (out [][]*repeatAcc, ok bool) {
	out = make([][]*repeatAcc, len(kinds))
	for g, k := range kinds {
		out[g] = make([]*repeatAcc, len(p.slots(k)))
	}
	filtered := p.filtered()
	window := int32(report.RepeatWindow.Seconds())
	for dn := lo; dn <= hi; dn++ {
		d := s.days[dn]
		if d == nil {
			continue
		}
		for i := range d.rows {
			f := &d.rows[i]
			if int(f.typ) >= len(dv) || !dv[f.typ] || filtered && !p.keep(s, f) {
				continue
			}
			day := f.gap / 86400
			for g, k := range kinds {
				slot := p.slot(k, f, dn)
				if slot < 0 || slot >= len(out[g]) {
					return nil, false
				}
				if canon[g] != nil {
					if slot = int(canon[g][slot]); slot < 0 {
						return nil, false
					}
				}
				a := out[g][slot]
				if a == nil {
					a = &repeatAcc{}
					out[g][slot] = a
				}
				a.incidents++
				if f.gap < 0 {
					continue
				}
				a.withGap++
				if f.gap <= window {
					a.repeats++
				}
				if day >= gapDays {
					a.over = append(a.over, f.gap)
					continue
				}
				pg := a.pages[day>>gapPageShift]
				if pg == nil {
					pg = new([gapPage]uint32)
					a.pages[day>>gapPageShift] = pg
				}
				pg[day&(gapPage-1)]++
			}
		}
	}
	return out, true
}

// repeatPass2 keeps, per group, the gaps of the days its median's ranks
// fall in (under the read lock; the groups are only read).
func (s *Store) repeatPass2(p *plan, kinds []kind, canon [][]int32, dv []bool, lo, hi int32, groups [][]*repeatAcc) [][][][]int32 {
	out := make([][][][]int32, len(kinds))
	for g := range kinds {
		out[g] = make([][][]int32, len(groups[g]))
	}
	filtered := p.filtered()
	for dn := lo; dn <= hi; dn++ {
		d := s.days[dn]
		if d == nil {
			continue
		}
		for i := range d.rows {
			f := &d.rows[i]
			if f.gap < 0 || f.gap/86400 >= gapDays || int(f.typ) >= len(dv) || !dv[f.typ] || filtered && !p.keep(s, f) {
				continue
			}
			day := f.gap / 86400
			for g, k := range kinds {
				slot := p.slot(k, f, dn)
				if canon[g] != nil {
					slot = int(canon[g][slot])
				}
				a := groups[g][slot]
				for j, need := range a.need {
					if need == day && (j == 0 || need != a.need[0]) {
						if out[g][slot] == nil {
							out[g][slot] = make([][]int32, 2)
						}
						out[g][slot][j] = append(out[g][slot][j], f.gap)
					}
				}
			}
		}
	}
	return out
}

// repeatFigures names the groups of one grouping and orders them by key.
func (l *labels) repeatFigures(k kind, slots []*repeatAcc) ([]report.RepeatFigure, bool) {
	out := make([]report.RepeatFigure, 0, len(slots))
	for slot, a := range slots {
		if a == nil || a.incidents == 0 {
			continue
		}
		var key, name string
		switch k {
		case kAll:
			key = "all"
		case kDistrict:
			if slot != 0 {
				d, ok := l.districts[int64(slot)]
				if !ok {
					return nil, false
				}
				key, name = d.Code, d.Name
			}
		case kSettlement:
			if slot != 0 {
				st, ok := l.settlements[int64(slot)]
				if !ok {
					return nil, false
				}
				if st.IsIDP {
					key, name = strconv.FormatInt(st.ID, 10), st.Name
				}
			}
		case kSex:
			switch {
			case slot > len(report.Sexes):
				return nil, false // a sex none of report.Sexes: the database's key is the text itself
			case slot > 0:
				key = report.Sexes[slot-1]
				name = key
			}
		case kAge:
			if slot < len(report.AgeBands) {
				key = report.AgeBands[slot].Key
				name = key
			}
		}
		f := report.RepeatFigure{Key: key, Label: name, Incidents: a.incidents, Repeats: a.repeats}
		if a.withGap > 0 {
			m := a.median() / 86400
			f.MedianDays = &m
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b report.RepeatFigure) int { return cmp.Compare(a.Key, b.Key) })
	return out, true
}
