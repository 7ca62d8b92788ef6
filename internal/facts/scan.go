package facts

import (
	"container/heap"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// How a percentile is found exactly without holding the durations: one
// pass over the days of the range (split between the cores) counts each
// group's durations per second up to fineCap, per coarse bucket of
// bucketWidth seconds from there to bucketCap, and keeps longer ones as
// they are, being few. A percentile whose ranks fall in a coarse bucket
// (a tail beyond 4.5 hours) needs a second pass that counts the seconds of
// that bucket only.
const (
	fineCap     = 16384 // 4 h 33 min
	pageShift   = 10
	pageSize    = 1 << pageShift
	bucketShift = 6
	bucketWidth = 1 << bucketShift
	nBuckets    = 1024
	bucketCap   = nBuckets * bucketWidth // 65,536 s: 18 h 12 min
	nIntervals  = 6
	allIvs      = 1<<nIntervals - 1
)

// kind is what a grouping groups by: a report.GroupBy, or one of the
// dashboard's breakdowns.
type kind uint8

const (
	kAll kind = iota
	kPriority
	kDistrict
	kSettlement
	kType
	kWeek
	kShift
	kSex  // victim's sex: 0 none, 1 + index in report.Sexes
	kAge  // victim's age band: index in report.AgeBands, len(report.AgeBands) none
	kHour // local day of the week and hour: weekday*24 + hour
)

var kindOf = map[report.GroupBy]kind{report.ByAll: kAll, report.ByPriority: kPriority, report.ByDistrict: kDistrict,
	report.BySettlement: kSettlement, report.ByType: kType, report.ByWeek: kWeek, report.ByShift: kShift}

// want is one grouping a scan computes, for the intervals of its mask
// (bits in the order of report.Definitions).
type want struct {
	kind kind
	ivs  uint8
	// from, for a want of every incident (kAll), is the index of another
	// want whose groups it adds up instead of being scanned; -1 scanned.
	from int
}

// ivAcc is one interval of one group.
type ivAcc struct {
	n                   int64 // durations measured
	missing, outOfOrder int
	withTarget, within  int
	sec                 [fineCap / pageSize]*[pageSize]uint32 // per second, below fineCap; pages made when used
	coarse              *[nBuckets]uint32                     // per bucket, from fineCap to bucketCap
	ranks               []int64                               // the ranks the percentiles read, ascending
	vals                []float64                             // their durations
	inBucket            []int64                               // for a rank in a coarse bucket: its offset there; -1 otherwise
	over                []int32                               // durations of bucketCap or more
	needList            []int32                               // buckets whose seconds pass 2 counts
	needIdx             *[nBuckets]int8
	fine                [][bucketWidth]uint32
}

// acc is one group.
type acc struct {
	incidents, corrected int
	prios                [(refdata.MaxLevel + 64) / 64]uint64 // priority levels seen
	iv                   [nIntervals]ivAcc
	example              fact // an incident of the group, for its key and label
	exampleDay           int32
	needIvs              uint8 // intervals with buckets pass 2 counts
}

// plan is a query prepared for the scan.
type plan struct {
	q                    report.Query
	from, to             int32 // day numbers, inclusive
	district, settlement int32 // -1: any
	typ, unit            int32
	prio                 int16 // -1: any
	shift                int8  // -1: any; 0 day; 1 night
	idp, dv              []bool
	prioIdx              []int16 // by level: index into targets' priorities, -1 none
	nPrio                int
	targets              []int32 // [(dayIdx*nPrio + p)*6 + iv]; -1 none; one day when no target changes
	targetDays           bool
	weekBase             int32 // day number of the Monday of from's week
	wants                []want
	maxDistrict          int32
	maxSettl             int32
	maxType              int32
	slowIv               int // interval of the slowest list; -1 none
	slowN                int
}

// scanned is what a scan gives: per want, its groups by slot; and the
// incidents the slowest list is chosen from.
type scanned struct {
	groups  [][]*acc
	slowest []int64
}

// scan computes the plan's wants (under the read lock). ok is false when
// an incident falls in a group the reference data lacks.
func (s *Store) scan(p *plan) (scanned, bool) {
	// Pass 1 over the sealed days comes from the cache when they have not
	// changed since it was kept; over the others it is counted now.
	var merged [][]*acc
	var tops []*topN
	var kept *fineKept // pass 2's counts over the sealed days, kept beside pass 1's
	lo := p.from
	if sealedTo := min(p.to, s.today()-1); sealedTo >= p.from {
		key, ver := p.cacheKey(sealedTo), s.versionSum(p.from, sealedTo)
		if c, hit := s.cache.get(key, ver); hit {
			if sealedTo == p.to {
				// Nothing is added to the kept counts: they are read in place.
				merged = shareAccs(c.accs)
			} else {
				merged = cloneAccs(c.accs)
			}
			tops, kept = cloneTops(c.tops), c.fine
		} else {
			var ok bool
			if merged, tops, ok = s.pass1Range(p, p.from, sealedTo); !ok {
				return scanned{}, false
			}
			c := counts{accs: cloneAccs(merged), tops: cloneTops(tops), fine: &fineKept{}}
			s.cache.put(key, ver, c, accBytes(c.accs))
			kept = c.fine
		}
		lo = sealedTo + 1
	}
	if lo <= p.to {
		live, liveTops, ok := s.pass1Range(p, lo, p.to)
		if !ok {
			return scanned{}, false
		}
		if merged == nil {
			merged = live
		} else {
			mergeAccs(merged, live)
		}
		tops = append(tops, liveTops...)
	}
	if merged == nil { // an empty range
		merged = make([][]*acc, len(p.wants))
		for g, w := range p.wants {
			merged[g] = p.slots(w.kind)
		}
	}
	// The slowest list's candidates come from pass 1, unless a worker may
	// have let a tie go: then pass 2 lists every incident at least as slow.
	threshold := int32(-1)
	var slowIDs []int64
	if p.slowIv >= 0 {
		var complete bool
		threshold, slowIDs, complete = mergeTops(tops)
		if complete {
			threshold = -1
		}
	}
	for g, w := range p.wants {
		if w.from >= 0 {
			merged[g] = []*acc{sumAccs(merged[w.from])}
		}
	}
	needs := markNeeds(merged)
	for g, w := range p.wants {
		if w.from >= 0 && merged[g][0] != nil {
			shareNeeds(merged[g][0], merged[w.from])
		}
	}
	out := scanned{groups: merged, slowest: slowIDs}
	if needs || threshold >= 0 {
		if kept != nil && threshold < 0 {
			// The sealed days' seconds of the buckets needed are kept
			// beside their first pass (counted once, when first needed):
			// only the days from today on are read again.
			if !kept.fill(p, merged) {
				fine, _ := s.pass2Range(p, p.from, lo-1, merged, -1)
				kept.keep(p, merged, fine)
				addFine(merged, fine)
			}
			if lo <= p.to {
				fine, _ := s.pass2Range(p, lo, p.to, merged, -1)
				addFine(merged, fine)
			}
		} else {
			fine, slow := s.pass2Range(p, p.from, p.to, merged, threshold)
			addFine(merged, fine)
			if threshold >= 0 {
				out.slowest = slow
			}
		}
		for g, w := range p.wants {
			if w.from >= 0 && merged[g][0] != nil {
				sumFine(merged[g][0], merged[w.from])
			}
		}
		for _, slots := range merged {
			for _, a := range slots {
				if a != nil && a.needIvs != 0 {
					a.finish()
				}
			}
		}
	}
	return out, true
}

// pass2Range runs pass 2 over days lo to hi (at least one) on the cores:
// the seconds of the buckets accs need, added up over the workers in a
// layout of their own (cloneNeeds), and the incidents at least as slow as
// threshold.
func (s *Store) pass2Range(p *plan, lo, hi int32, accs [][]*acc, threshold int32) (fine [][]*acc, slow []int64) {
	q := *p
	q.from, q.to = lo, hi
	parts := q.split(s.workers(lo, hi))
	fines := make([][][]*acc, len(parts))
	slows := make([][]int64, len(parts))
	var wg sync.WaitGroup
	for w, part := range parts {
		fines[w] = cloneNeeds(accs)
		wg.Go(func() { slows[w] = s.pass2(p, part[0], part[1], fines[w], threshold) })
	}
	wg.Wait()
	for _, f := range fines[1:] {
		addFine(fines[0], f)
	}
	return fines[0], slices.Concat(slows...)
}

// workers is how many cores to scan days from to to with.
func (s *Store) workers(from, to int32) int {
	if s.rowsBetween(from, to) > 50_000 {
		return min(runtime.GOMAXPROCS(0), 4)
	}
	return 1
}

// pass1Range runs pass 1 over days lo to hi on the cores, and adds up
// what each counted.
func (s *Store) pass1Range(p *plan, lo, hi int32) ([][]*acc, []*topN, bool) {
	q := *p
	q.from, q.to = lo, hi
	parts := q.split(s.workers(lo, hi))
	accs := make([][][]*acc, len(parts)) // [worker][want][slot]
	tops := make([]*topN, len(parts))
	oks := make([]bool, len(parts))
	var wg sync.WaitGroup
	for w, part := range parts {
		tops[w] = &topN{n: p.slowN, keep: p.slowN + topMargin}
		wg.Go(func() { accs[w], oks[w] = s.pass1(p, part[0], part[1], tops[w]) })
	}
	wg.Wait()
	if slices.Contains(oks, false) {
		return nil, nil, false
	}
	merged := accs[0]
	for _, a := range accs[1:] {
		mergeAccs(merged, a)
	}
	return merged, tops, true
}

// derive lets a want of every incident be added up from another want's
// groups that cover its intervals, rather than scanned.
func derive(wants []want) {
	for i := range wants {
		wants[i].from = -1
	}
	for i, w := range wants {
		if w.kind != kAll {
			continue
		}
		for j, o := range wants {
			if o.kind != kAll && o.from < 0 && o.ivs&w.ivs == w.ivs {
				wants[i].from = j
				break
			}
		}
	}
}

// sumAccs adds up groups into one (nil when there are none).
func sumAccs(groups []*acc) *acc {
	var sum *acc
	for _, a := range groups {
		if a == nil {
			continue
		}
		if sum == nil {
			sum = &acc{example: a.example, exampleDay: a.exampleDay}
		}
		one := [][]*acc{{sum}}
		cp := *a
		for iv := range cp.iv {
			cp.iv[iv].over = slices.Clone(a.iv[iv].over)
			if a.iv[iv].coarse != nil {
				c := *a.iv[iv].coarse
				cp.iv[iv].coarse = &c
			}
			for k, pg := range a.iv[iv].sec {
				if pg != nil {
					c := *pg
					cp.iv[iv].sec[k] = &c
				}
			}
		}
		mergeAccs(one, [][]*acc{{&cp}})
	}
	return sum
}

// shareNeeds has each group count, in pass 2, the seconds of the buckets
// their sum needs, so that the sum's counts are theirs added up.
func shareNeeds(sum *acc, groups []*acc) {
	for iv := range nIntervals {
		for _, b := range sum.iv[iv].needList {
			for _, a := range groups {
				if a == nil || a.iv[iv].coarse == nil || a.iv[iv].coarse[b] == 0 {
					continue
				}
				a.iv[iv].need(b)
				a.needIvs |= 1 << iv
			}
		}
	}
}

// sumFine sets the sum's per-second counts from its groups'.
func sumFine(sum *acc, groups []*acc) {
	for iv := range nIntervals {
		x := &sum.iv[iv]
		for k, b := range x.needList {
			x.fine[k] = [bucketWidth]uint32{}
			for _, a := range groups {
				if a == nil || a.iv[iv].needIdx == nil || a.iv[iv].needIdx[b] < 0 {
					continue
				}
				for j, c := range a.iv[iv].fine[a.iv[iv].needIdx[b]] {
					x.fine[k][j] += c
				}
			}
		}
	}
}

func newPlan(q report.Query, wants []want, ref Ref) *plan {
	derive(wants)
	p := &plan{q: q, wants: wants, district: -1, settlement: -1, typ: -1, unit: -1, prio: -1, shift: -1, slowIv: -1}
	p.from, p.to = dayNumber(q.From.Year, q.From.Month, q.From.Day), dayNumber(q.To.Year, q.To.Month, q.To.Day)
	p.weekBase = p.from - weekday(p.from)
	id32 := func(v *int64) int32 {
		if v == nil {
			return -1
		}
		if *v > math.MaxInt32 {
			return math.MaxInt32 // matches nothing
		}
		return int32(*v)
	}
	p.district, p.settlement, p.typ, p.unit = id32(q.DistrictID), id32(q.SettlementID), id32(q.TypeID), id32(q.UnitID)
	if q.Priority != nil {
		p.prio = int16(*q.Priority)
	}
	switch q.Shift {
	case report.DayShift:
		p.shift = 0
	case report.NightShift:
		p.shift = 1
	}
	for _, d := range ref.Districts {
		p.maxDistrict = max(p.maxDistrict, int32(d.ID))
	}
	for _, st := range ref.Settlements {
		p.maxSettl = max(p.maxSettl, int32(st.ID))
	}
	for _, t := range ref.Types {
		p.maxType = max(p.maxType, int32(t.ID))
	}
	if q.IDPOnly {
		p.idp = make([]bool, p.maxSettl+1)
		for _, st := range ref.Settlements {
			p.idp[st.ID] = st.IsIDP
		}
	}
	if q.DVOnly {
		p.dv = make([]bool, p.maxType+1)
		for _, t := range ref.Types {
			p.dv[t.ID] = t.IsDV
		}
	}
	p.prioIdx = make([]int16, refdata.MaxLevel+1)
	for i := range p.prioIdx {
		p.prioIdx[i] = -1
	}
	for _, pr := range ref.Priorities {
		if pr.Level >= 0 && pr.Level <= refdata.MaxLevel {
			p.prioIdx[pr.Level] = int16(p.nPrio)
			p.nPrio++
			p.targetDays = p.targetDays || len(pr.History) > 0
		}
	}
	days := 1
	if p.targetDays {
		days = int(p.to-p.from) + 1
	}
	p.targets = make([]int32, days*max(p.nPrio, 1)*nIntervals)
	for di := range days {
		d := q.From.AddDays(di)
		on := refdata.Day(d.Year, d.Month, d.Day)
		for _, pr := range ref.Priorities {
			if pr.Level < 0 || pr.Level > refdata.MaxLevel {
				continue
			}
			base := (di*p.nPrio + int(p.prioIdx[pr.Level])) * nIntervals
			for iv, def := range report.Definitions {
				p.targets[base+iv] = -1
				if t := pr.TargetOn(def.Interval, on); t != nil {
					p.targets[base+iv] = int32(min(*t, math.MaxInt32))
				}
			}
		}
	}
	return p
}

// weekday is 0 for Monday … 6 for Sunday (1970-01-01 was a Thursday).
func weekday(dn int32) int32 { return ((dn+3)%7 + 7) % 7 }

// split cuts the days into parts of about as many rows, one per worker
// (under the read lock).
func (p *plan) split(n int) [][2]int32 {
	span := p.to - p.from + 1
	n = max(1, min(n, int(span)))
	out := make([][2]int32, 0, n)
	lo := p.from
	for i := range n {
		hi := p.from + int32((int64(span)*int64(i+1))/int64(n)) - 1
		out = append(out, [2]int32{lo, hi})
		lo = hi + 1
	}
	return out
}

// rowsBetween counts the rows of days from to to (under the read lock).
func (s *Store) rowsBetween(from, to int32) int {
	n := 0
	for dn := from; dn <= to; dn++ {
		if d := s.days[dn]; d != nil {
			n += len(d.rows)
		}
	}
	return n
}

// keep reports whether f passes the plan's filters (under the read lock).
func (p *plan) keep(s *Store, f *dims) bool {
	if p.district >= 0 && f.district != p.district ||
		p.settlement >= 0 && f.settlement != p.settlement ||
		p.typ >= 0 && f.typ != p.typ ||
		p.prio >= 0 && f.prio != p.prio ||
		p.shift >= 0 && shiftOf(f.hour) != p.shift {
		return false
	}
	if p.idp != nil && (int(f.settlement) >= len(p.idp) || !p.idp[f.settlement]) {
		return false
	}
	if p.dv != nil && (int(f.typ) >= len(p.dv) || !p.dv[f.typ]) {
		return false
	}
	return p.unit < 0 || s.hasUnit(f, p.unit)
}

// filtered reports whether the plan has any filter.
func (p *plan) filtered() bool {
	return p.district >= 0 || p.settlement >= 0 || p.typ >= 0 || p.prio >= 0 || p.shift >= 0 || p.idp != nil ||
		p.dv != nil || p.unit >= 0
}

func shiftOf(hour uint8) int8 {
	if hour >= report.DayStartHour && hour < report.NightStartHour {
		return 0
	}
	return 1
}

// ageSlot maps an age (0–120) to its band's index; len(report.AgeBands) for none.
var ageSlot = func() (out [122]uint8) {
	for a := range out {
		out[a] = uint8(len(report.AgeBands))
		for i, b := range report.AgeBands {
			if a >= b.From && a <= b.To {
				out[a] = uint8(i)
			}
		}
	}
	return out
}()

// slot is the group of f in grouping k on day dn.
func (p *plan) slot(k kind, f *fact, dn int32) int {
	switch k {
	case kPriority:
		return int(f.prio)
	case kDistrict:
		return int(f.district)
	case kSettlement:
		return int(f.settlement)
	case kType:
		return int(f.typ)
	case kWeek:
		return int((dn - p.weekBase) / 7)
	case kShift:
		return int(shiftOf(f.hour))
	case kSex:
		if f.sex == sexElse {
			return len(report.Sexes) + 1
		}
		return int(f.sex)
	case kAge:
		if f.age < 0 || int(f.age) >= len(ageSlot) {
			return len(report.AgeBands)
		}
		return int(ageSlot[f.age])
	case kHour:
		return int(weekday(dn))*24 + int(f.hour)
	}
	return 0
}

// slots are the groups of one grouping by slot, sized for every slot the
// reference data knows.
func (p *plan) slots(k kind) []*acc {
	n := 1
	switch k {
	case kPriority:
		n = refdata.MaxLevel + 1
	case kDistrict:
		n = int(p.maxDistrict) + 1
	case kSettlement:
		n = int(p.maxSettl) + 1
	case kType:
		n = int(p.maxType) + 1
	case kWeek:
		n = int((p.to-p.weekBase)/7) + 1
	case kShift:
		n = 2
	case kSex:
		n = len(report.Sexes) + 2
	case kAge:
		n = len(report.AgeBands) + 1
	case kHour:
		n = 7 * 24
	}
	return make([]*acc, n)
}

var noTargets = [nIntervals]int32{-1, -1, -1, -1, -1, -1}

// target is the targets of f's priority on day index di.
func (p *plan) target(f *fact, di int) *[nIntervals]int32 {
	if f.prio < 0 || int(f.prio) >= len(p.prioIdx) || p.prioIdx[f.prio] < 0 {
		return &noTargets
	}
	if !p.targetDays {
		di = 0
	}
	base := (di*p.nPrio + int(p.prioIdx[f.prio])) * nIntervals
	return (*[nIntervals]int32)(p.targets[base : base+nIntervals])
}

// pass1 counts the durations of days lo to hi per coarse bucket, and the
// longest durations of the slowest list's interval. ok is false when an
// incident falls in a group the reference data lacks.
func (s *Store) pass1(p *plan, lo, hi int32, top *topN) (out [][]*acc, ok bool) {
	out = make([][]*acc, len(p.wants))
	for g, w := range p.wants {
		out[g] = p.slots(w.kind)
	}
	filtered := p.filtered()
	for dn := lo; dn <= hi; dn++ {
		d := s.days[dn]
		if d == nil {
			continue
		}
		di := int(dn - p.from)
		for i := range d.rows {
			f := &d.rows[i]
			if filtered && !p.keep(s, &f.dims) {
				continue
			}
			tg := p.target(f, di)
			for g, w := range p.wants {
				if w.from >= 0 {
					continue
				}
				k := p.slot(w.kind, f, dn)
				if k < 0 || k >= len(out[g]) {
					return nil, false
				}
				a := out[g][k]
				if a == nil {
					a = &acc{example: *f, exampleDay: dn}
					out[g][k] = a
				}
				if w.ivs == allIvs {
					a.addAll(f, tg)
				} else {
					a.add(f, tg, w.ivs)
				}
			}
			if p.slowIv >= 0 {
				if v := f.dur[p.slowIv]; v >= 0 {
					top.offer(v, f.id)
				}
			}
		}
	}
	return out, true
}

// addAll counts f in every interval, judged against targets tg.
func (a *acc) addAll(f *fact, tg *[nIntervals]int32) {
	a.incidents++
	if f.flags&flagCorrected != 0 {
		a.corrected++
	}
	if uint16(f.prio) <= refdata.MaxLevel {
		a.prios[f.prio>>6] |= 1 << (f.prio & 63)
	}
	for iv := range nIntervals {
		a.iv[iv].count(f.dur[iv], tg[iv])
	}
}

// add counts f in the intervals of mask ivs.
func (a *acc) add(f *fact, tg *[nIntervals]int32, ivs uint8) {
	a.incidents++
	if f.flags&flagCorrected != 0 {
		a.corrected++
	}
	if uint16(f.prio) <= refdata.MaxLevel {
		a.prios[f.prio>>6] |= 1 << (f.prio & 63)
	}
	for iv := range nIntervals {
		if ivs&(1<<iv) != 0 {
			a.iv[iv].count(f.dur[iv], tg[iv])
		}
	}
}

// count adds one incident's duration v (or its absence), judged against
// target t (-1: none).
func (x *ivAcc) count(v, t int32) {
	switch {
	case uint32(v) < fineCap:
		pg := x.sec[v>>pageShift]
		if pg == nil {
			pg = new([pageSize]uint32)
			x.sec[v>>pageShift] = pg
		}
		pg[v&(pageSize-1)]++
		x.n++
	case uint32(v) < bucketCap:
		if x.coarse == nil {
			x.coarse = new([nBuckets]uint32)
		}
		x.coarse[v>>bucketShift]++
		x.n++
	case v >= 0:
		x.over = append(x.over, v)
		x.n++
	case v == Missing:
		x.missing++
		return
	default:
		x.outOfOrder++
		return
	}
	if t >= 0 {
		x.withTarget++
		if v <= t {
			x.within++
		}
	}
}

func mergeAccs(dst, src [][]*acc) {
	for g := range src {
		for len(dst[g]) < len(src[g]) { // weeks counted for a later last day
			dst[g] = append(dst[g], nil)
		}
		for i, b := range src[g] {
			if b == nil {
				continue
			}
			a := dst[g][i]
			if a == nil {
				dst[g][i] = b
				continue
			}
			if b.exampleDay < a.exampleDay {
				a.example, a.exampleDay = b.example, b.exampleDay
			}
			a.incidents += b.incidents
			a.corrected += b.corrected
			for k := range a.prios {
				a.prios[k] |= b.prios[k]
			}
			for iv := range a.iv {
				x, y := &a.iv[iv], &b.iv[iv]
				x.n += y.n
				x.missing += y.missing
				x.outOfOrder += y.outOfOrder
				x.withTarget += y.withTarget
				x.within += y.within
				x.over = append(x.over, y.over...)
				for k, pg := range y.sec {
					switch {
					case pg == nil:
					case x.sec[k] == nil:
						x.sec[k] = pg
					default:
						for j, c := range pg {
							x.sec[k][j] += c
						}
					}
				}
				switch {
				case y.coarse == nil:
				case x.coarse == nil:
					x.coarse = y.coarse
				default:
					for k := range x.coarse {
						x.coarse[k] += y.coarse[k]
					}
				}
			}
		}
	}
}

// n is the number of durations of iv measured.
func (a *acc) n(iv int) int64 { return a.iv[iv].n }

// markNeeds finds, for every group and interval, the durations at the
// ranks its percentiles read: those below fineCap and beyond bucketCap at
// once; for the others it names the coarse buckets whose seconds pass 2
// counts. False when no bucket is needed.
func markNeeds(accs [][]*acc) bool {
	any := false
	for _, slots := range accs {
		for _, a := range slots {
			if a == nil {
				continue
			}
			for iv := range nIntervals {
				if a.resolve(iv) {
					a.needIvs |= 1 << iv
					any = true
				}
			}
		}
	}
	return any
}

// resolve reads the durations at the ranks the percentiles of iv need in
// one walk of the counts (see markNeeds); true when some rank falls in a
// coarse bucket.
func (a *acc) resolve(iv int) bool {
	x := &a.iv[iv]
	x.ranks, x.vals, x.inBucket = x.ranks[:0], x.vals[:0], x.inBucket[:0]
	report.Percentiles(x.n, func(rank int64) float64 {
		if !slices.Contains(x.ranks, rank) {
			x.ranks = append(x.ranks, rank)
		}
		return 0
	})
	if len(x.ranks) == 0 {
		return false
	}
	slices.Sort(x.ranks)
	slices.Sort(x.over)
	x.vals = make([]float64, len(x.ranks))
	x.inBucket = make([]int64, len(x.ranks))
	need := false
	k := 0 // next rank to find
	var seen int64
	for p, pg := range x.sec {
		if pg == nil {
			continue
		}
		for j, c := range pg {
			for k < len(x.ranks) && x.ranks[k] < seen+int64(c) {
				x.vals[k], x.inBucket[k] = float64(p<<pageShift+j), -1
				k++
			}
			seen += int64(c)
		}
		if k == len(x.ranks) {
			return false
		}
	}
	if x.coarse != nil {
		for b := fineCap >> bucketShift; b < nBuckets; b++ {
			c := x.coarse[b]
			for k < len(x.ranks) && x.ranks[k] < seen+int64(c) {
				x.vals[k], x.inBucket[k] = float64(b), x.ranks[k]-seen
				x.need(int32(b))
				need = true
				k++
			}
			seen += int64(c)
		}
	}
	for ; k < len(x.ranks); k++ {
		x.vals[k], x.inBucket[k] = float64(x.over[x.ranks[k]-seen]), -1
	}
	return need
}

// need has pass 2 count the seconds of coarse bucket b.
func (x *ivAcc) need(b int32) {
	if x.needIdx == nil {
		x.needIdx = new([nBuckets]int8)
		for k := range x.needIdx {
			x.needIdx[k] = -1
		}
	}
	if x.needIdx[b] < 0 {
		x.needIdx[b] = int8(len(x.needList))
		x.needList = append(x.needList, b)
		x.fine = append(x.fine, [bucketWidth]uint32{})
	}
}

// finish reads, once pass 2 has counted their buckets, the durations at
// the ranks that fell in coarse buckets.
func (a *acc) finish() {
	for iv := range nIntervals {
		x := &a.iv[iv]
		for k, off := range x.inBucket {
			if off < 0 {
				continue
			}
			b := int(x.vals[k])
			for sec, c := range x.fine[x.needIdx[b]] {
				if off < int64(c) {
					x.vals[k] = float64(b<<bucketShift + sec)
					break
				}
				off -= int64(c)
			}
			x.inBucket[k] = -1
		}
	}
}

// cloneNeeds gives a worker of pass 2 its own counts for the buckets
// needed.
func cloneNeeds(accs [][]*acc) [][]*acc {
	return mapAccs(accs, func(a *acc) *acc {
		c := &acc{needIvs: a.needIvs}
		for iv := range nIntervals {
			c.iv[iv].needIdx = a.iv[iv].needIdx
			c.iv[iv].fine = make([][bucketWidth]uint32, len(a.iv[iv].needList))
		}
		return c
	})
}

// pass2 counts, per second, the durations of the buckets needed, and
// lists the incidents whose duration of the slowest list's interval is
// at least threshold (none when threshold is negative).
func (s *Store) pass2(p *plan, lo, hi int32, accs [][]*acc, threshold int32) (slow []int64) {
	filtered := p.filtered()
	for dn := lo; dn <= hi; dn++ {
		d := s.days[dn]
		if d == nil {
			continue
		}
		for i := range d.rows {
			f := &d.rows[i]
			if filtered && !p.keep(s, &f.dims) {
				continue
			}
			for g, w := range p.wants {
				if w.from >= 0 {
					continue
				}
				a := accs[g][p.slot(w.kind, f, dn)]
				if a.needIvs == 0 {
					continue
				}
				for iv := range nIntervals {
					v := f.dur[iv]
					if a.needIvs&(1<<iv) == 0 || uint32(v) >= bucketCap || v < fineCap {
						continue
					}
					x := &a.iv[iv]
					if k := x.needIdx[v>>bucketShift]; k >= 0 {
						x.fine[k][v&(bucketWidth-1)]++
					}
				}
			}
			if threshold >= 0 && f.dur[p.slowIv] >= threshold {
				slow = append(slow, f.id)
			}
		}
	}
	return slow
}

func addFine(dst, src [][]*acc) {
	for g := range src {
		for i, b := range src[g] {
			if b == nil || b.needIvs == 0 {
				continue
			}
			for iv := range nIntervals {
				x, y := &dst[g][i].iv[iv], &b.iv[iv]
				for k := range y.fine {
					for j := range y.fine[k] {
						x.fine[k][j] += y.fine[k][j]
					}
				}
			}
		}
	}
}

// value is the duration at rank, one of those resolve read.
func (a *acc) value(iv int, rank int64) float64 {
	x := &a.iv[iv]
	return x.vals[slices.Index(x.ranks, rank)]
}

// topN keeps the largest durations offered with their incidents: the n
// the slowest list shows and topMargin more, so that incidents whose
// duration, rounded up to the second, ties with the n-th are kept too (a
// min-heap).
type topN struct {
	n, keep int
	h       slowHeap
}

// topMargin is how many ties with the n-th longest duration a worker
// keeps beyond n; with more, pass 2 lists them all.
const topMargin = 32

type slowRow struct {
	v  int32
	id int64
}

func (t *topN) offer(v int32, id int64) {
	switch {
	case t.n <= 0:
	case len(t.h) < t.keep:
		heap.Push(&t.h, slowRow{v, id})
	case v > t.h[0].v:
		t.h[0] = slowRow{v, id}
		heap.Fix(&t.h, 0)
	}
}

// mergeTops gives the n-th longest duration over every worker's (the
// shortest when there are fewer), the incidents at least that long, and
// whether those are all of them: false when a worker may have let one go
// (its heap full, its shortest equal to the threshold).
func mergeTops(tops []*topN) (threshold int32, ids []int64, complete bool) {
	var all []int32
	n := 0
	for _, t := range tops {
		for _, x := range t.h {
			all = append(all, x.v)
		}
		n = t.n
	}
	if len(all) == 0 {
		return -1, nil, true
	}
	slices.Sort(all)
	slices.Reverse(all)
	threshold = all[min(n, len(all))-1]
	complete = true
	for _, t := range tops {
		if len(t.h) == t.keep && t.h[0].v == threshold {
			complete = false
		}
		for _, x := range t.h {
			if x.v >= threshold {
				ids = append(ids, x.id)
			}
		}
	}
	return threshold, ids, complete
}

type slowHeap []slowRow

func (h slowHeap) Len() int           { return len(h) }
func (h slowHeap) Less(i, j int) bool { return h[i].v < h[j].v }
func (h slowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *slowHeap) Push(x any)        { *h = append(*h, x.(slowRow)) }
func (h *slowHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
