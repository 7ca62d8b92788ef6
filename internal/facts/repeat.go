package facts

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	kept               [2][]int32                          // pass 2: the gaps of need[0] and need[1]
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
			cp := *pg
			a.pages[k] = &cp
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

// repeatCacheBudget bounds the bytes of repeat counts kept of sealed
// days; the least recently used go first.
const repeatCacheBudget = 32 << 20

// repeatKept is what the repeat scan keeps of the sealed days of a query
// (as the response-time scan keeps its counts, cache.go): pass 1's groups,
// read only once kept, and the gaps pass 2 kept of some days.
type repeatKept struct {
	groups [][]*repeatAcc
	mu     sync.Mutex
	days   map[repeatDay][]int32
}

// repeatDay names the gaps of one day of one group.
type repeatDay struct {
	g, slot int
	day     int32
}

func (k *repeatKept) bytes() int {
	n := 0
	for _, slots := range k.groups {
		for _, a := range slots {
			if a == nil {
				continue
			}
			n += 256 + 4*len(a.over)
			for _, pg := range a.pages {
				if pg != nil {
					n += 4 * gapPage
				}
			}
		}
	}
	return n
}

// repeatScan is a repeat-rate query prepared for the scans.
type repeatScan struct {
	p     *plan
	kinds []kind
	canon [][]int32 // per grouping, the group of each slot (settlements); nil: the slot itself
	dv    []bool
}

// slot is f's group in grouping g on day dn; -1 when the reference data
// lacks it.
func (rs *repeatScan) slot(g int, f *fact, dn int32, n int) int {
	slot := rs.p.slot(rs.kinds[g], f, dn)
	if slot < 0 || slot >= n {
		return -1
	}
	if c := rs.canon[g]; c != nil {
		return int(c[slot])
	}
	return slot
}

// counted reports whether f is one of the query's DV incidents.
func (rs *repeatScan) counted(s *Store, f *fact, filtered bool) bool {
	return int(f.typ) < len(rs.dv) && rs.dv[f.typ] && (!filtered || rs.p.keep(s, &f.dims))
}

// cacheKey is everything that shapes pass 1 over days from to sealedTo.
func (rs *repeatScan) cacheKey(sealedTo int32) string {
	var b strings.Builder
	b.WriteString("repeat|")
	b.WriteString(rs.p.cacheKey(sealedTo))
	for g, k := range rs.kinds {
		fmt.Fprintf(&b, "|%d:", k)
		for _, c := range rs.canon[g] {
			b.WriteString(strconv.Itoa(int(c)))
			b.WriteByte(',')
		}
	}
	return b.String()
}

// RepeatRates computes the repeat-rate figures of q's DV incidents (its
// range, filters and scope) for each grouping of bys
// (report.RepeatGroupings): what postgres.RepeatRatesMulti gives, each
// grouping's groups ordered by key. The median is within 1 s of the
// database's (the gaps are kept in whole seconds, rounded up), the counts
// are exact. What the days before today counted is kept, as for the
// response times. ok is false when the store cannot serve q: not loaded,
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
	rs := &repeatScan{p: p, kinds: kinds, canon: make([][]int32, len(kinds)), dv: make([]bool, p.maxType+1)}
	for _, t := range ref.Types {
		rs.dv[t.ID] = t.IsDV
	}
	// The settlements that are not IDP settlements are one group.
	for g, k := range kinds {
		if k != kSettlement {
			continue
		}
		c := make([]int32, p.maxSettl+1) // -1: a settlement the reference data lacks
		for i := range c {
			c[i] = -1
		}
		c[0] = 0
		for _, st := range ref.Settlements {
			c[st.ID] = 0
			if st.IsIDP {
				c[st.ID] = int32(st.ID)
			}
		}
		rs.canon[g] = c
	}

	// Pass 1: the sealed days' counts kept, or counted now and kept; the
	// others counted now.
	var kept *repeatKept
	var merged [][]*repeatAcc
	lo := p.from
	if sealedTo := min(p.to, s.today()-1); sealedTo >= p.from {
		key, ver := rs.cacheKey(sealedTo), s.versionSum(p.from, sealedTo)
		var hit bool
		if kept, hit = s.repeats.get(key, ver); !hit {
			groups, ok := s.repeatCount(rs, p.from, sealedTo)
			if !ok {
				return nil, false
			}
			kept = &repeatKept{groups: groups, days: map[repeatDay][]int32{}}
			s.repeats.put(key, ver, kept, kept.bytes())
		}
		merged = cloneRepeat(kept.groups)
		lo = sealedTo + 1
	}
	if lo <= p.to {
		live, ok := s.repeatCount(rs, lo, p.to)
		if !ok {
			return nil, false
		}
		if merged == nil {
			merged = live
		} else {
			mergeRepeat(merged, live)
		}
	}
	if merged == nil { // an empty range
		merged = make([][]*repeatAcc, len(kinds))
	}

	// Pass 2: the gaps of the days the medians' ranks fall in; of the
	// sealed days, those not kept yet.
	need := make([][][2]int32, len(merged))
	for g, slots := range merged {
		need[g] = make([][2]int32, len(slots))
		for k, a := range slots {
			need[g][k] = [2]int32{-1, -1}
			if a != nil {
				a.plan()
				need[g][k] = a.need
			}
		}
	}
	if kept != nil {
		kept.mu.Lock()
		missing := make([][][2]int32, len(need))
		var any bool
		for g := range need {
			missing[g] = make([][2]int32, len(need[g]))
			for k, nd := range need[g] {
				missing[g][k] = [2]int32{-1, -1}
				for j, day := range nd {
					if day < 0 || day >= gapDays || j == 1 && day == nd[0] {
						continue
					}
					if _, have := kept.days[repeatDay{g, k, day}]; !have {
						missing[g][k][j], any = day, true
					}
				}
			}
		}
		if any {
			got := s.repeatCollect(rs, p.from, lo-1, missing)
			for g := range missing {
				for k, nd := range missing[g] {
					for j, day := range nd {
						if day >= 0 {
							kept.days[repeatDay{g, k, day}] = got[g][k][j]
						}
					}
				}
			}
		}
		for g, slots := range merged {
			for k, a := range slots {
				if a == nil {
					continue
				}
				for j, day := range need[g][k] {
					if day >= 0 && day < gapDays && (j == 0 || day != need[g][k][0]) {
						a.kept[j] = append(a.kept[j], kept.days[repeatDay{g, k, day}]...)
					}
				}
			}
		}
		kept.mu.Unlock()
	}
	if lo <= p.to {
		got := s.repeatCollect(rs, lo, p.to, need)
		for g, slots := range got {
			for k, lists := range slots {
				for j, list := range lists {
					if len(list) > 0 {
						merged[g][k].kept[j] = append(merged[g][k].kept[j], list...)
					}
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

// cloneRepeat copies groups deeply.
func cloneRepeat(groups [][]*repeatAcc) [][]*repeatAcc {
	out := make([][]*repeatAcc, len(groups))
	for g, slots := range groups {
		out[g] = make([]*repeatAcc, len(slots))
		for k, a := range slots {
			if a == nil {
				continue
			}
			c := &repeatAcc{}
			c.merge(a)
			out[g][k] = c
		}
	}
	return out
}

// mergeRepeat adds the groups of from to into.
func mergeRepeat(into, from [][]*repeatAcc) {
	for g := range into {
		for k, a := range from[g] {
			if a == nil {
				continue
			}
			if into[g][k] == nil {
				into[g][k] = a
			} else {
				into[g][k].merge(a)
			}
		}
	}
}

// repeatCount runs pass 1 over days lo to hi on the cores.
func (s *Store) repeatCount(rs *repeatScan, lo, hi int32) ([][]*repeatAcc, bool) {
	q := *rs.p
	q.from, q.to = lo, hi
	parts := q.split(s.workers(lo, hi))
	accs := make([][][]*repeatAcc, len(parts)) // [worker][grouping][slot]
	oks := make([]bool, len(parts))
	var wg sync.WaitGroup
	for w, part := range parts {
		wg.Go(func() { accs[w], oks[w] = s.repeatPass1(rs, part[0], part[1]) })
	}
	wg.Wait()
	if slices.Contains(oks, false) {
		return nil, false
	}
	for _, other := range accs[1:] {
		mergeRepeat(accs[0], other)
	}
	return accs[0], true
}

// repeatCollect runs pass 2 over days lo to hi on the cores: per grouping
// and slot, the gaps of the days need names (-1 none).
func (s *Store) repeatCollect(rs *repeatScan, lo, hi int32, need [][][2]int32) [][][2][]int32 {
	q := *rs.p
	q.from, q.to = lo, hi
	parts := q.split(s.workers(lo, hi))
	got := make([][][][2][]int32, len(parts))
	var wg sync.WaitGroup
	for w, part := range parts {
		wg.Go(func() { got[w] = s.repeatPass2(rs, part[0], part[1], need) })
	}
	wg.Wait()
	out := got[0]
	for _, other := range got[1:] {
		for g := range out {
			for k := range out[g] {
				for j := range out[g][k] {
					out[g][k][j] = append(out[g][k][j], other[g][k][j]...)
				}
			}
		}
	}
	return out
}

// repeatPass1 counts the DV incidents of days lo to hi that pass the
// plan's filters, per grouping, and their gaps per day (under the read
// lock). ok is false when an incident falls in a group the reference
// data lacks.
func (s *Store) repeatPass1(rs *repeatScan, lo, hi int32) (out [][]*repeatAcc, ok bool) {
	out = make([][]*repeatAcc, len(rs.kinds))
	for g, k := range rs.kinds {
		out[g] = make([]*repeatAcc, len(rs.p.slots(k)))
	}
	filtered := rs.p.filtered()
	window := int32(report.RepeatWindow.Seconds())
	for dn := lo; dn <= hi; dn++ {
		d := s.days[dn]
		if d == nil {
			continue
		}
		for i := range d.rows {
			f := &d.rows[i]
			if !rs.counted(s, f, filtered) {
				continue
			}
			day := f.gap / 86400
			for g := range out {
				slot := rs.slot(g, f, dn, len(out[g]))
				if slot < 0 {
					return nil, false
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

// repeatPass2 keeps, per grouping and slot, the gaps of the days need
// names (under the read lock).
func (s *Store) repeatPass2(rs *repeatScan, lo, hi int32, need [][][2]int32) [][][2][]int32 {
	out := make([][][2][]int32, len(need))
	var wanted [gapDays]bool // a day some group needs: most rows are passed over at once
	for g := range need {
		out[g] = make([][2][]int32, len(need[g]))
		for _, nd := range need[g] {
			for _, day := range nd {
				if day >= 0 && day < gapDays {
					wanted[day] = true
				}
			}
		}
	}
	filtered := rs.p.filtered()
	for dn := lo; dn <= hi; dn++ {
		d := s.days[dn]
		if d == nil {
			continue
		}
		for i := range d.rows {
			f := &d.rows[i]
			if f.gap < 0 || f.gap/86400 >= gapDays || !wanted[f.gap/86400] || !rs.counted(s, f, filtered) {
				continue
			}
			day := f.gap / 86400
			for g := range out {
				slot := rs.slot(g, f, dn, len(out[g]))
				if slot < 0 {
					continue
				}
				nd := need[g][slot]
				if nd[0] == day {
					out[g][slot][0] = append(out[g][slot][0], f.gap)
				} else if nd[1] == day {
					out[g][slot][1] = append(out[g][slot][1], f.gap)
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
