package facts

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// fakeFeed is a Feed over rows in memory: a change log of ids, a reload
// marker, and counts of the loads made.
type fakeFeed struct {
	mu     sync.Mutex
	rows   map[int64]Row
	log    []int64 // ids changed; 0 is a reload marker
	loads  int
	pruned int
}

func (f *fakeFeed) LoadFacts(ctx context.Context, fn func(Row) error) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	ids := make([]int64, 0, len(f.rows))
	for id := range f.rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := fn(f.rows[id]); err != nil {
			return "", err
		}
	}
	return itoa(len(f.log)), nil
}

// LoadFollow gives no tasks or orders: the postgres tests cover them.
func (f *fakeFeed) LoadFollow(ctx context.Context, task func(TaskRow) error, order func(OrderRow) error) error {
	return nil
}

func (f *fakeFeed) FollowRows(ctx context.Context, tasks, orders []int64, task func(TaskRow) error, order func(OrderRow) error) error {
	return nil
}

func (f *fakeFeed) FactChanges(ctx context.Context, mark string) (Changes, string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from := atoi(mark)
	var ids []int64
	reload := false
	for _, id := range f.log[from:] {
		if id == 0 {
			reload = true
		} else {
			ids = append(ids, id)
		}
	}
	return Changes{Incidents: ids}, itoa(len(f.log)), reload, nil
}

func (f *fakeFeed) FactRows(ctx context.Context, ids []int64, fn func(Row) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if r, ok := f.rows[id]; ok {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakeFeed) PruneFactChanges(ctx context.Context, age time.Duration) error {
	f.mu.Lock()
	f.pruned++
	f.mu.Unlock()
	return nil
}

// change applies fn to the rows and logs ids.
func (f *fakeFeed) change(fn func(rows map[int64]Row), ids ...int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.rows)
	f.log = append(f.log, ids...)
}

func itoa(n int) string {
	return string(rune('0'+n/1000%10)) + string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

func atoi(s string) int {
	return int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
}

// TestSyncerFollowsAndSettles: the Syncer loads, applies changes from
// the log, and after a bulk load's markers loads again once, when they
// stop.
func TestSyncerFollowsAndSettles(t *testing.T) {
	loc := time.UTC
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, loc)
	row := func(id int64) Row {
		return Row{ID: id, Received: at, Priority: 1, TypeID: 1, VictimAge: -1, Dur: [6]int32{1, 2, 3, 4, 5, 6}}
	}
	feed := &fakeFeed{rows: map[int64]Row{1: row(1), 2: row(2)}}
	store := NewStore(loc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Syncer{Feed: feed, Store: store, Poll: 5 * time.Millisecond}).Run(ctx) //nolint:errcheck
	}()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s", what)
			}
		}
	}
	waitFor("the load", store.Ready)
	feed.change(func(rows map[int64]Row) { rows[3] = row(3); delete(rows, 1) }, 3, 1)
	waitFor("an insert and a delete", func() bool { return store.Len() == 2 && store.holds(3) && !store.holds(1) })
	// A bulk load: markers batch after batch, rows written without entries.
	loads := func() int { feed.mu.Lock(); defer feed.mu.Unlock(); return feed.loads }
	for i := int64(10); i < 20; i++ {
		feed.change(func(rows map[int64]Row) { rows[i] = row(i) }, 0)
		time.Sleep(10 * time.Millisecond) // two polls: the syncer is settling, not loading
	}
	waitFor("the load after the bulk load", func() bool { return store.Len() == 12 })
	// The first load and one after the bulk load (a third if the
	// machine stalled the test for longer than the quiet time), not one
	// per marker.
	if n := loads(); n < 2 || n > 3 {
		t.Errorf("%d loads, want 2", n)
	}
	ref := Ref{Priorities: []refdata.Priority{{Level: 1}}, Types: []refdata.IncidentType{{ID: 1, Code: "DV"}}}
	q := report.Query{Location: loc, From: report.Date{Year: 2026, Month: 3, Day: 2}, To: report.Date{Year: 2026, Month: 3, Day: 2}}
	if res, ok := store.ResponseTimes(q, []report.GroupBy{report.ByAll}, ref); !ok || res[0].Groups[0].Incidents != 12 {
		t.Errorf("after the bulk load: %v (served %v), want 12 incidents", res, ok)
	}
}

// holds reports whether incident id is in the store.
func (s *Store) holds(id int64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return id < int64(len(s.where)) && s.where[id] != 0
}
