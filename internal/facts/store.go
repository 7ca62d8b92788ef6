package facts

import (
	"fmt"
	"github.com/dvresponse/dvresponse/internal/report"
	"math"
	"slices"
	"sync"
	"time"
)

// fact is one incident in the store: 64 bytes, no pointers, so that the
// garbage collector never scans the days and a year of a 10 M store
// (about 2 M rows) is read in one pass through memory.
type fact struct {
	dims
	dur [6]int32 // per report.Definitions: seconds rounded up, or Missing, OutOfOrder
	sex uint8    // sexNone, or 1 + index in report.Sexes, or sexElse
	age int16    // -1: not recorded
	gap int32    // Row.RepeatGap
}

// dims are what a report's filters read of an incident: the first half of
// its fact, and the copy that its follow-up tasks, orders and actions keep
// (32 bytes).
type dims struct {
	id         int64
	district   int32 // ids of the reference data; 0: none
	settlement int32
	typ        int32
	units      [2]int32 // the first two units ever assigned; 0: none
	prio       int16
	hour       uint8 // local hour of received_at
	flags      uint8
}

const (
	flagCorrected   uint8 = 1 << iota
	flagMoreUnits         // more than two units: the rest are in Store.moreUnits
	flagImported          // imported from another system
	flagViolation         // reports a violation of a protection order (Row.Violation)
	flagPoliceFound       // that violation was found by a police check
)

const (
	sexNone uint8 = 0
	sexElse uint8 = 255 // recorded, but none of report.Sexes
)

// day holds the facts of the incidents received on one local day.
type day struct{ rows []fact }

// Store holds the facts of every incident, by local day of the store's
// time zone. It is safe for concurrent use: queries share a read lock,
// and a change takes the write lock for as long as it takes to put a few
// rows in place.
type Store struct {
	loc *time.Location

	mu        sync.RWMutex
	ready     bool
	broken    string            // why the store cannot serve (an id too large); "" when it can
	days      map[int32]*day    // by civil day number (days since 1970-01-01)
	where     []uint64          // by incident id: locate(day, index); 0 absent
	moreUnits map[int64][]int64 // incident id → units beyond the first two
	rows      int
	syncedAt  time.Time                  // the last full load or read of the change log
	dayVer    map[int32]uint64           // by day: moved on by every change to one of its incidents
	cache     *sealedCache[counts]       // the response-time scan's (scan.go)
	repeats   *sealedCache[*repeatKept]  // the repeat-rate scan's (repeat.go)
	follows   *sealedCache[followCounts] // the follow-through pass's (follow.go)
	now       func() time.Time           // the clock that says which days are sealed (tests set it)
	follow    follow                     // the follow-up tasks and protection orders (follow.go)
	adays     map[int32][]actRow         // the actions of the incidents with any, by their day (actions.go)
	aidx      []uint32                   // by incident id: index+1 in its day's actions; 0 none
	actions   *sealedCache[report.ActionCounts]
}

// NewStore returns an empty store keeping days in loc.
func NewStore(loc *time.Location) *Store {
	return &Store{loc: loc, days: map[int32]*day{}, moreUnits: map[int64][]int64{}, dayVer: map[int32]uint64{},
		cache: newSealedCache[counts](cacheBudget), repeats: newSealedCache[*repeatKept](repeatCacheBudget), now: time.Now,
		follows: newSealedCache[followCounts](followCacheBudget), follow: newFollow(), adays: map[int32][]actRow{},
		actions: newSealedCache[report.ActionCounts](actionsCacheBudget)}
}

// Location is the time zone whose days the store keeps.
func (s *Store) Location() *time.Location { return s.loc }

// Ready reports whether the store holds a full load and can serve.
func (s *Store) Ready() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ready && s.broken == ""
}

// Len is the number of incidents held.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rows
}

// dayNumber is the civil day number of a calendar date.
func dayNumber(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// factOf turns a Row into a fact and its local day; ok is false when an
// id does not fit the store's narrow columns.
func (s *Store) factOf(r Row) (f fact, dn int32, err error) {
	t := r.Received.In(s.loc)
	y, m, d := t.Date()
	dn = dayNumber(y, m, d)
	small := func(name string, v int64) int32 {
		if v < 0 || v > math.MaxInt32 {
			if err == nil {
				err = fmt.Errorf("incident %d: %s id %d does not fit the report store", r.ID, name, v)
			}
			return 0
		}
		return int32(v)
	}
	f = fact{dims: dims{id: r.ID, district: small("district", r.DistrictID), settlement: small("settlement", r.SettlementID),
		typ: small("type", r.TypeID), hour: uint8(t.Hour())}, dur: r.Dur, age: -1, gap: max(r.RepeatGap, NoPrevious)}
	if r.Priority < 0 || r.Priority > math.MaxInt16 {
		err = fmt.Errorf("incident %d: priority %d does not fit the report store", r.ID, r.Priority)
	}
	f.prio = int16(r.Priority)
	if r.VictimAge >= 0 && r.VictimAge <= math.MaxInt16 {
		f.age = int16(r.VictimAge)
	}
	switch i := slices.Index(report.Sexes, r.VictimSex); {
	case r.VictimSex == "":
		f.sex = sexNone
	case i >= 0:
		f.sex = uint8(i + 1)
	default:
		f.sex = sexElse
	}
	if r.Corrected {
		f.flags |= flagCorrected
	}
	if r.Imported {
		f.flags |= flagImported
	}
	if r.Violation {
		f.flags |= flagViolation
		if r.FoundByPolice {
			f.flags |= flagPoliceFound
		}
	}
	for i, u := range r.Units {
		if i < len(f.units) {
			f.units[i] = small("unit", u)
		}
	}
	if len(r.Units) > len(f.units) {
		f.flags |= flagMoreUnits
	}
	if r.ID <= 0 || r.ID > maxID {
		err = fmt.Errorf("incident id %d does not fit the report store", r.ID)
	}
	return f, dn, err
}

// Loading collects a full load; Store.Replace puts it in place at once.
type Loading struct {
	s         *Store
	days      map[int32]*day
	moreUnits map[int64][]int64
	maxID     int64
	rows      int
	tasks     []dayTask
	orders    []order
	acts      []dayAct // the incidents with actions
	err       error
}

// StartLoad begins a full load of s.
func (s *Store) StartLoad() *Loading {
	return &Loading{s: s, days: map[int32]*day{}, moreUnits: map[int64][]int64{}}
}

// Add adds one incident to the load.
func (l *Loading) Add(r Row) error {
	f, dn, err := l.s.factOf(r)
	if err != nil {
		l.fail(err)
		return nil
	}
	d := l.days[dn]
	if d == nil {
		d = &day{}
		l.days[dn] = d
	}
	d.rows = append(d.rows, f)
	if f.flags&flagMoreUnits != 0 {
		l.moreUnits[r.ID] = slices.Clone(r.Units[2:])
	}
	if r.Actions != (Actions{}) {
		l.acts = append(l.acts, dayAct{dn, actRow{f.dims, r.Actions}})
	}
	l.maxID = max(l.maxID, r.ID)
	l.rows++
	return nil
}

// fail keeps the load's first error: the load goes on, and the store
// will not serve it (Broken says why).
func (l *Loading) fail(err error) {
	if l.err == nil {
		l.err = err
	}
}

// Replace makes the load the store's content, and the store ready.
func (s *Store) Replace(l *Loading, at time.Time) {
	where := make([]uint64, l.maxID+1, l.maxID+1+l.maxID/8)
	for dn, d := range l.days {
		d.rows = slices.Clip(d.rows)
		for i, f := range d.rows {
			where[f.id] = locate(dn, i)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.days, s.where, s.moreUnits, s.rows, s.syncedAt = l.days, where, l.moreUnits, l.rows, at
	s.ready = true
	s.broken = ""
	s.dayVer = map[int32]uint64{}
	s.cache.clear()
	s.repeats.clear()
	s.follows.clear()
	s.actions.clear()
	s.adays, s.aidx = map[int32][]actRow{}, make([]uint32, len(where))
	for _, da := range l.acts {
		s.adays[da.dn] = append(s.adays[da.dn], da.r)
		s.aidx[da.r.f.id] = uint32(len(s.adays[da.dn]))
	}
	s.replaceFollow(l)
	if l.err != nil {
		s.broken = l.err.Error()
	}
}

// Status is what operators watch of the store: whether it serves, how
// many incidents it holds, and when it last read the database (a full
// load or the change log; zero before the first load).
func (s *Store) Status() (ready bool, incidents int, syncedAt time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ready && s.broken == "", s.rows, s.syncedAt
}

// synced records that the change log was read up to now at at.
func (s *Store) synced(at time.Time) {
	s.mu.Lock()
	s.syncedAt = at
	s.mu.Unlock()
}

// Broken says why the store does not serve although loaded ("" when it
// serves or is not loaded yet).
func (s *Store) Broken() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.broken
}

// Apply puts changed incidents in place: each of rows replaces the
// incident with its id (or adds it), and every id of gone that is not
// among rows is removed.
func (s *Store) Apply(rows []Row, gone []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range gone {
		s.remove(id)
	}
	for _, r := range rows {
		f, dn, err := s.factOf(r)
		if err != nil {
			s.broken = err.Error()
			continue
		}
		s.put(f, dn, r.Units, r.Actions)
	}
}

// remove deletes incident id, if held (under the write lock).
func (s *Store) remove(id int64) {
	if id <= 0 || id >= int64(len(s.where)) || s.where[id] == 0 {
		return
	}
	s.removeActions(id)
	dn, i := located(s.where[id])
	s.dayVer[dn]++
	d := s.days[dn]
	d.rows = swapRemove(d.rows, i, func(f fact, j int) { s.where[f.id] = locate(dn, j) })
	if len(d.rows) == 0 {
		delete(s.days, dn)
	}
	s.where[id] = 0
	delete(s.moreUnits, id)
	s.rows--
}

// put stores f on day dn with its units and actions, replacing the
// incident's earlier fact (under the write lock).
func (s *Store) put(f fact, dn int32, units []int64, a Actions) {
	s.dayVer[dn]++
	if f.id < int64(len(s.where)) && s.where[f.id] != 0 {
		if wd, i := located(s.where[f.id]); wd == dn {
			s.days[dn].rows[i] = f
			s.setMoreUnits(f, units)
			s.putActions(f, dn, a)
			return
		}
		s.remove(f.id)
	}
	for f.id >= int64(len(s.where)) {
		s.where = append(s.where[:cap(s.where)], 0)
	}
	d := s.days[dn]
	if d == nil {
		d = &day{}
		s.days[dn] = d
	}
	d.rows = append(d.rows, f)
	s.where[f.id] = locate(dn, len(d.rows)-1)
	s.setMoreUnits(f, units)
	s.putActions(f, dn, a)
	s.rows++
}

func (s *Store) setMoreUnits(f fact, units []int64) {
	if f.flags&flagMoreUnits != 0 {
		s.moreUnits[f.id] = slices.Clone(units[2:])
	} else {
		delete(s.moreUnits, f.id)
	}
}

// hasUnit reports whether unit u was ever assigned to f (under a lock).
func (s *Store) hasUnit(f *dims, u int32) bool {
	if f.units[0] == u || f.units[1] == u {
		return true
	}
	if f.flags&flagMoreUnits != 0 {
		return slices.Contains(s.moreUnits[f.id], int64(u))
	}
	return false
}

// locate is where row i of day dn is, as the store's indexes by id keep
// it (0 is "absent"); located reads it back.
func locate(dn int32, i int) uint64 { return uint64(uint32(dn))<<32 | uint64(i+1) }

func located(w uint64) (dn int32, i int) { return int32(uint32(w >> 32)), int(uint32(w)) - 1 }

// swapRemove removes rows[i] by moving the last row into its place (the
// rows of a day are in no order) and calls moved with that row and its
// new index, when one moved.
func swapRemove[T any](rows []T, i int, moved func(T, int)) []T {
	last := len(rows) - 1
	if i != last {
		rows[i] = rows[last]
		moved(rows[i], i)
	}
	return rows[:last]
}

// removeFromDay is swapRemove on day dn of days, which loses a day left
// empty.
func removeFromDay[T any](days map[int32][]T, dn int32, i int, moved func(T, int)) {
	if rows := swapRemove(days[dn], i, moved); len(rows) > 0 {
		days[dn] = rows
	} else {
		delete(days, dn)
	}
}

// maxID is the largest incident id the store holds (its index by id is a
// slice of 8 bytes per id).
const maxID = 1 << 28

// today is the number of the current local day: days before it are
// sealed (see cache.go).
func (s *Store) today() int32 {
	y, m, d := s.now().In(s.loc).Date()
	return dayNumber(y, m, d)
}

// versionSum adds up the versions of days from to to (under a lock):
// any change to one of their incidents makes it larger.
func (s *Store) versionSum(from, to int32) uint64 {
	var v uint64
	for dn := from; dn <= to; dn++ {
		v += s.dayVer[dn]
	}
	return v
}

// SetClock sets the clock that says which days are sealed (tests).
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// CacheStats counts the sealed-days cache's hits and misses.
func (s *Store) CacheStats() (hits, misses int) {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.hits, s.cache.misses
}
