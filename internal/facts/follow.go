package facts

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/dvresponse/dvresponse/internal/report"
)

// The follow-through figures (issue 17: follow-ups by risk, protection
// orders and their violations) from the store. The follow-up tasks and
// the protection orders are kept beside the incidents, each with a copy
// of its incident's dims (what the filters read), so that the report's
// filters apply to them as to an incident without a look-up per row. The feed re-reads the tasks
// and orders of every incident that changes (postgres.FactChanges), so
// the copies follow it. The definitions are postgres.FollowThrough's,
// the reference every test compares with.

// TaskRow is one follow-up task as a Feed gives it.
type TaskRow struct {
	ID, IncidentID int64
	DistrictID     int64 // the task's own; 0: none
	Due            time.Time
	Closed         time.Time // zero: open
	Outcome        string    // "" while open; a follow-up outcome, or "superseded"
}

// OrderRow is one protection order as a Feed gives it.
type OrderRow struct {
	ID         int64
	IncidentID int64 // 0: issued without an incident
	DistrictID int64 // the order's own; 0: none
	Issued     time.Time
	Starts     time.Time
	Ends       time.Time
	Ended      time.Time // zero: not ended early
	// CallToOrder is issued − the incident's received time in whole
	// seconds rounded up (so that a percentile is within 1 s of
	// percentile_cont's and "within 24 h" is exact); 0 without an incident.
	CallToOrder int32
}

// task is a TaskRow in the store: its incident's dims, whose district is
// the task's own (the district filter reads the task's), then the task
// (64 bytes).
type task struct {
	f       dims
	id      int64
	due     int64 // Unix microseconds
	closed  int64 // Unix microseconds; 0: open
	outcome uint8 // outcomeOpen, or 1 + index in report.FollowThroughOutcomes, or outcomeSuperseded
}

const (
	outcomeOpen       uint8 = 0
	outcomeSuperseded uint8 = 255
)

// order is an OrderRow in the store: its incident's dims (zero, with id 0,
// for an order without one), then the order.
type order struct {
	f           dims
	id          int64
	district    int32 // the order's own
	callToOrder int32
	issued      int64 // Unix microseconds
	starts      int64
	ends        int64
	ended       int64 // math.MaxInt64: not ended early
}

// follow is the store's tasks (by local day of their due time) and orders.
type follow struct {
	tdays   map[int32][]task // by civil day number of due_at
	tdayVer map[int32]uint64 // by day: moved on by every change to one of its tasks
	twhere  []uint64         // by task id: locate(day, index); 0 absent
	orders  []order
	owhere  map[int64]int // by order id: index in orders
}

func newFollow() follow {
	return follow{tdays: map[int32][]task{}, tdayVer: map[int32]uint64{}, owhere: map[int64]int{}}
}

// taskOf turns a TaskRow into a task (its dims still to be filled) and the
// local day it is due.
func (s *Store) taskOf(r TaskRow) (task, int32, error) {
	t := r.Due.In(s.loc)
	y, m, d := t.Date()
	k := task{id: r.ID, due: r.Due.UnixMicro()}
	if !r.Closed.IsZero() {
		k.closed = max(r.Closed.UnixMicro(), 1)
	}
	switch i := slices.Index(report.FollowThroughOutcomes, r.Outcome); {
	case r.Outcome == "":
		k.outcome = outcomeOpen
	case i >= 0:
		k.outcome = uint8(i + 1)
	default:
		k.outcome = outcomeSuperseded
	}
	if r.ID <= 0 || r.ID > maxID {
		return k, 0, fmt.Errorf("follow-up task id %d does not fit the report store", r.ID)
	}
	if r.DistrictID < 0 || r.DistrictID > math.MaxInt32 || r.IncidentID < 0 {
		return k, 0, fmt.Errorf("follow-up task %d: district %d does not fit the report store", r.ID, r.DistrictID)
	}
	k.f.id, k.f.district = r.IncidentID, int32(r.DistrictID)
	return k, dayNumber(y, m, d), nil
}

func (s *Store) orderOf(r OrderRow) (order, error) {
	o := order{f: dims{id: r.IncidentID}, id: r.ID, callToOrder: r.CallToOrder, issued: r.Issued.UnixMicro(),
		starts: r.Starts.UnixMicro(), ends: r.Ends.UnixMicro(), ended: math.MaxInt64}
	if !r.Ended.IsZero() {
		o.ended = r.Ended.UnixMicro()
	}
	if r.DistrictID < 0 || r.DistrictID > math.MaxInt32 || r.IncidentID < 0 {
		return o, fmt.Errorf("protection order %d: district %d does not fit the report store", r.ID, r.DistrictID)
	}
	o.district = int32(r.DistrictID)
	return o, nil
}

// incidentDims are the dims of incident id as held (zero but for the id
// when it is not held), under a lock.
func (s *Store) incidentDims(id int64) dims {
	if id > 0 && id < int64(len(s.where)) && s.where[id] != 0 {
		dn, i := located(s.where[id])
		return s.days[dn].rows[i].dims
	}
	return dims{id: id}
}

// withIncident fills k's copy of its incident's dims, keeping the task's
// district (under the write lock).
func (s *Store) withIncident(k *task) {
	district := k.f.district
	k.f = s.incidentDims(k.f.id)
	k.f.district = district
}

// AddTask adds one follow-up task to the load.
func (l *Loading) AddTask(r TaskRow) error {
	k, dn, err := l.s.taskOf(r)
	if err != nil {
		l.fail(err)
		return nil
	}
	l.tasks = append(l.tasks, dayTask{dn, k})
	return nil
}

// AddOrder adds one protection order to the load.
func (l *Loading) AddOrder(r OrderRow) error {
	o, err := l.s.orderOf(r)
	if err != nil {
		l.fail(err)
		return nil
	}
	l.orders = append(l.orders, o)
	return nil
}

type dayTask struct {
	dn int32
	k  task
}

// replaceFollow puts a load's tasks and orders in place, their facts
// copied from the incidents just put in place (under the write lock).
func (s *Store) replaceFollow(l *Loading) {
	s.follow = newFollow()
	for _, dk := range l.tasks {
		s.putTask(dk.k, dk.dn)
	}
	for _, o := range l.orders {
		s.putOrder(o)
	}
}

// ApplyFollow puts changed tasks and orders in place: each row replaces
// the one with its id (or adds it), and every id of goneTasks and
// goneOrders is removed. Apply the incidents of the same changes first:
// the rows take a copy of their incidents' dims.
func (s *Store) ApplyFollow(tasks []TaskRow, goneTasks []int64, orders []OrderRow, goneOrders []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range goneTasks {
		s.removeTask(id)
	}
	for _, id := range goneOrders {
		s.removeOrder(id)
	}
	for _, r := range tasks {
		k, dn, err := s.taskOf(r)
		if err != nil {
			s.broken = err.Error()
			continue
		}
		s.putTask(k, dn)
	}
	for _, r := range orders {
		o, err := s.orderOf(r)
		if err != nil {
			s.broken = err.Error()
			continue
		}
		s.putOrder(o)
	}
}

// putTask stores k on day dn with its incident's dims, replacing the
// task's earlier version (under the write lock).
func (s *Store) putTask(k task, dn int32) {
	s.withIncident(&k)
	fw := &s.follow
	s.removeTask(k.id)
	for k.id >= int64(len(fw.twhere)) {
		fw.twhere = append(fw.twhere[:cap(fw.twhere)], 0)
	}
	fw.tdayVer[dn]++
	fw.tdays[dn] = append(fw.tdays[dn], k)
	fw.twhere[k.id] = locate(dn, len(fw.tdays[dn])-1)
}

// removeTask deletes task id, if held (under the write lock).
func (s *Store) removeTask(id int64) {
	fw := &s.follow
	if id <= 0 || id >= int64(len(fw.twhere)) || fw.twhere[id] == 0 {
		return
	}
	dn, i := located(fw.twhere[id])
	fw.tdayVer[dn]++
	removeFromDay(fw.tdays, dn, i, func(k task, j int) { fw.twhere[k.id] = locate(dn, j) })
	fw.twhere[id] = 0
}

// putOrder stores o with its incident's dims, replacing the order's
// earlier version (under the write lock).
func (s *Store) putOrder(o order) {
	o.f = s.incidentDims(o.f.id)
	fw := &s.follow
	if i, ok := fw.owhere[o.id]; ok {
		fw.orders[i] = o
		return
	}
	fw.owhere[o.id] = len(fw.orders)
	fw.orders = append(fw.orders, o)
}

// removeOrder deletes order id, if held (under the write lock).
func (s *Store) removeOrder(id int64) {
	fw := &s.follow
	i, ok := fw.owhere[id]
	if !ok {
		return
	}
	fw.orders = swapRemove(fw.orders, i, func(o order, j int) { fw.owhere[o.id] = j })
	delete(fw.owhere, id)
}

// FollowThrough computes the follow-through figures of q at now
// (report.FollowThrough; the definitions are postgres.FollowThrough's).
// ok is false when the store cannot serve q (not loaded, or another time
// zone): the caller asks the database.
func (s *Store) FollowThrough(q report.Query, now time.Time, ref Ref) (f report.FollowThrough, ok bool) {
	if q.Location == nil || q.Location.String() != s.loc.String() {
		return f, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.ready || s.broken != "" {
		return f, false
	}
	p := newPlan(q, nil, ref)
	start, end := q.Range()
	lo, hi, at := start.UnixMicro(), end.UnixMicro(), now.UnixMicro()
	dv := make([]bool, p.maxType+1)
	for _, t := range ref.Types {
		dv[t.ID] = t.IsDV
	}
	filtered := p.filtered()
	// Only the district, if any: an order without an incident passes.
	byDistrictOnly := !filtered || p.district >= 0 && func() bool {
		rest := *p
		rest.district = -1
		return !rest.filtered()
	}()

	// The period's incidents (the DV ones logged here, the violations) and
	// tasks: the days before both today and now's day are sealed (every
	// task of theirs open at now is overdue) and their counts are kept.
	y, m, d := now.In(s.loc).Date()
	sealedTo := min(p.to, s.today()-1, dayNumber(y, m, d)-1)
	var c followCounts
	from := p.from
	if sealedTo >= p.from {
		key := fmt.Sprintf("follow|%v|%s", dv, p.cacheKey(sealedTo))
		ver := s.versionSum(p.from, sealedTo) + s.taskVersionSum(p.from, sealedTo)
		kept, ok := s.follows.get(key, ver)
		if !ok {
			kept = s.followRange(p, dv, p.from, sealedTo, math.MaxInt64)
			s.follows.put(key, ver, kept, 256)
		}
		c, from = kept, sealedTo+1
	}
	if from <= p.to {
		c.add(s.followRange(p, dv, from, p.to, at))
	}
	f.DVIncidents, f.Violations, f.ViolationsByPolice = c.dv, c.viol, c.police
	f.Due, f.OnTime, f.Late, f.Overdue = c.due, c.onTime, c.late, c.overdue
	f.Outcomes = map[string]int64{}
	for i, o := range report.FollowThroughOutcomes {
		if c.outcomes[i] > 0 {
			f.Outcomes[o] = c.outcomes[i]
		}
	}

	// The orders: issued in the period on an incident, in force in it.
	var secs []int32
	for i := range s.follow.orders {
		o := &s.follow.orders[i]
		if o.issued >= lo && o.issued < hi && o.f.id != 0 && (!filtered || p.keep(s, &o.f)) {
			secs = append(secs, o.callToOrder)
			if o.callToOrder <= 86400 {
				f.OrdersWithin24h++
			}
		}
		if o.ends > lo && o.starts < hi && o.ended > lo {
			in := o.f
			if in.district == 0 { // coalesce(the incident's district, the order's)
				in.district = o.district
			}
			if o.f.id == 0 && byDistrictOnly && (p.district < 0 || o.district == p.district) ||
				o.f.id != 0 && (!filtered || p.keep(s, &in)) {
				f.OrdersInForce++
			}
		}
	}
	f.OrdersTimed = int64(len(secs))
	f.OrdersIssued = f.OrdersTimed
	if len(secs) > 0 {
		at := ranked(secs)
		m, _ := report.PercentileAt(int64(len(secs)), at, 0.5)
		p90, _ := report.PercentileAt(int64(len(secs)), at, 0.9)
		f.CallToOrderMedian, f.CallToOrderP90 = &m, &p90
	}
	return f, true
}

// ranked gives the value of each 0-based rank of vals in ascending order
// without sorting them all (a year's orders at 10 M are 300 k): the
// values are counted in at most 1<<16 buckets of equal width, and only
// the bucket a rank asked for falls in is sorted. vals is not changed.
func ranked(vals []int32) func(rank int64) float64 {
	lo, hi := slices.Min(vals), slices.Max(vals)
	shift := uint(0)
	for (int64(hi)-int64(lo))>>shift >= 1<<16 {
		shift++
	}
	bucket := func(v int32) int { return int((int64(v) - int64(lo)) >> shift) }
	starts := make([]int64, bucket(hi)+2) // starts[b]: the rank of bucket b's first value
	for _, v := range vals {
		starts[bucket(v)+1]++
	}
	for b := 1; b < len(starts); b++ {
		starts[b] += starts[b-1]
	}
	sorted := map[int][]int32{}
	return func(rank int64) float64 {
		// starts[b] <= rank < starts[b+1]
		b := sort.Search(len(starts), func(i int) bool { return starts[i] > rank }) - 1
		in, ok := sorted[b]
		if !ok {
			for _, v := range vals {
				if bucket(v) == b {
					in = append(in, v)
				}
			}
			slices.Sort(in)
			sorted[b] = in
		}
		return float64(in[rank-starts[b]])
	}
}

// followCounts are what the follow pass counts over days: of the incidents
// received, the DV ones logged here and the violations (by police); of the
// tasks due, by state and outcome.
type followCounts struct {
	dv, viol, police           int64
	due, onTime, late, overdue int64
	outcomes                   [4]int64 // per report.FollowThroughOutcomes
}

func (c *followCounts) add(o followCounts) {
	c.dv, c.viol, c.police = c.dv+o.dv, c.viol+o.viol, c.police+o.police
	c.due, c.onTime, c.late, c.overdue = c.due+o.due, c.onTime+o.onTime, c.late+o.late, c.overdue+o.overdue
	for i := range c.outcomes {
		c.outcomes[i] += o.outcomes[i]
	}
}

// followRange counts days lo to hi on the cores (under the read lock): an
// open task is overdue when due at or before at (Unix microseconds).
func (s *Store) followRange(p *plan, dv []bool, lo, hi int32, at int64) followCounts {
	q := *p
	q.from, q.to = lo, hi
	parts := q.split(s.workers(lo, hi))
	counts := make([]followCounts, len(parts))
	var wg sync.WaitGroup
	for w, part := range parts {
		wg.Go(func() { counts[w] = s.followDays(p, dv, part[0], part[1], at) })
	}
	wg.Wait()
	for _, c := range counts[1:] {
		counts[0].add(c)
	}
	return counts[0]
}

// followDays counts days lo to hi (under the read lock).
func (s *Store) followDays(p *plan, dv []bool, lo, hi int32, at int64) (c followCounts) {
	filtered := p.filtered()
	for dn := lo; dn <= hi; dn++ {
		if d := s.days[dn]; d != nil {
			for i := range d.rows {
				x := &d.rows[i]
				isDV := x.flags&flagImported == 0 && int(x.typ) < len(dv) && dv[x.typ]
				if !isDV && x.flags&flagViolation == 0 || filtered && !p.keep(s, &x.dims) {
					continue
				}
				if isDV {
					c.dv++
				}
				if x.flags&flagViolation != 0 {
					c.viol++
					if x.flags&flagPoliceFound != 0 {
						c.police++
					}
				}
			}
		}
		ts := s.follow.tdays[dn]
		for i := range ts {
			k := &ts[i]
			if k.outcome == outcomeSuperseded || filtered && !p.keep(s, &k.f) {
				continue
			}
			c.due++
			switch {
			case k.closed == 0:
				if k.due <= at {
					c.overdue++
				}
			case k.closed <= k.due:
				c.onTime++
			default:
				c.late++
			}
			if k.outcome != outcomeOpen {
				c.outcomes[k.outcome-1]++
			}
		}
	}
	return c
}

// taskVersionSum adds up the versions of the tasks' days from to to (under
// a lock): any change to one of their tasks makes it larger.
func (s *Store) taskVersionSum(from, to int32) uint64 {
	var v uint64
	for dn := from; dn <= to; dn++ {
		v += s.follow.tdayVer[dn]
	}
	return v
}

// followCacheBudget bounds the follow-through counts kept of sealed days
// (about 256 bytes an entry with its key).
const followCacheBudget = 1 << 20
