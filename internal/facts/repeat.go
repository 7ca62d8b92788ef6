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

// repeatAcc is one group of one repeat-rate grouping.
type repeatAcc struct {
	incidents, repeats int
	gaps               []int32 // seconds since the previous DV incident, of those with one
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
	parts := p.split(s.workers(p.from, p.to))
	accs := make([][][]*repeatAcc, len(parts)) // [worker][grouping][slot]
	oks := make([]bool, len(parts))
	var wg sync.WaitGroup
	for w, part := range parts {
		wg.Go(func() { accs[w], oks[w] = s.repeatPass(p, kinds, dv, part[0], part[1]) })
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
				if m := merged[g][k]; m == nil {
					merged[g][k] = a
				} else {
					m.incidents += a.incidents
					m.repeats += a.repeats
					m.gaps = append(m.gaps, a.gaps...)
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

// repeatPass counts the DV incidents of days lo to hi that pass the
// plan's filters, per grouping of kinds (under the read lock). ok is false
// when an incident falls in a group the reference data lacks.
func (s *Store) repeatPass(p *plan, kinds []kind, dv []bool, lo, hi int32) (out [][]*repeatAcc, ok bool) {
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
			for g, k := range kinds {
				slot := p.slot(k, f, dn)
				if slot < 0 || slot >= len(out[g]) {
					return nil, false
				}
				a := out[g][slot]
				if a == nil {
					a = &repeatAcc{}
					out[g][slot] = a
				}
				a.incidents++
				if f.gap >= 0 {
					a.gaps = append(a.gaps, f.gap)
					if f.gap <= window {
						a.repeats++
					}
				}
			}
		}
	}
	return out, true
}

// repeatFigures names the groups of one grouping and orders them by key;
// groups sharing a key (the settlements that are not IDP settlements) are
// added up.
func (l *labels) repeatFigures(k kind, slots []*repeatAcc) ([]report.RepeatFigure, bool) {
	byKey := map[string]*repeatAcc{}
	label := map[string]string{}
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
		if m := byKey[key]; m != nil {
			m.incidents += a.incidents
			m.repeats += a.repeats
			m.gaps = append(m.gaps, a.gaps...)
			label[key] = min(label[key], name)
			continue
		}
		byKey[key], label[key] = a, name
	}
	out := make([]report.RepeatFigure, 0, len(byKey))
	for key, a := range byKey {
		f := report.RepeatFigure{Key: key, Label: label[key], Incidents: a.incidents, Repeats: a.repeats}
		if len(a.gaps) > 0 {
			m := medianSeconds(a.gaps) / 86400
			f.MedianDays = &m
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b report.RepeatFigure) int { return cmp.Compare(a.Key, b.Key) })
	return out, true
}

// medianSeconds is the median of v as percentile_cont(0.5) gives it (the
// mean of the two middle values when there are an even number); it
// reorders v.
func medianSeconds(v []int32) float64 {
	n := len(v)
	hi := selectNth(v, n/2)
	if n%2 == 1 {
		return float64(hi)
	}
	lo := slices.Max(v[:n/2]) // selectNth left the smaller values before n/2
	return (float64(lo) + float64(hi)) / 2
}

// selectNth reorders v so that v[k] is the value it would hold sorted,
// with no larger value before it and no smaller one after, and returns it
// (Hoare's selection: linear time on average, where sorting a year's gaps
// would not be).
func selectNth(v []int32, k int) int32 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		pivot := v[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}
