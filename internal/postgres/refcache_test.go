package postgres_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// refReads counts the statements that read the reference data the cache
// keeps.
func refReads(db *postgres.DB) *atomic.Int64 {
	var n atomic.Int64
	db.SetStatementTimer(func(sql string, _ time.Duration) {
		for _, t := range []string{"FROM districts", "FROM settlements", "FROM incident_types", "FROM priorities",
			"FROM priority_targets"} {
			if strings.Contains(sql, t) {
				n.Add(1)
				return
			}
		}
	})
	return &n
}

// readRef reads the four lists as a report does.
func readRef(t *testing.T, db *postgres.DB) ([]refdata.District, []refdata.Priority) {
	t.Helper()
	ctx := context.Background()
	ds, err := db.Districts(ctx)
	must(t, err)
	_, err = db.Settlements(ctx)
	must(t, err)
	_, err = db.IncidentTypes(ctx)
	must(t, err)
	ps, err := db.Priorities(ctx)
	must(t, err)
	return ds, ps
}

// eventually waits, bounded, until ok holds.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(listenWait); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, listenWait)
		}
	}
}

func districtName(ds []refdata.District, id int64) string {
	for _, d := range ds {
		if d.ID == id {
			return d.Name
		}
	}
	return ""
}

// TestRefdataKeptWhileListening: the reference data is read from the
// database on every call unless Listen is in force; then once, until a
// change to it, made by anyone (here by SQL outside the application,
// as an operator or an import would), is heard, or the listener's
// connection is lost. A change made through this process is read at
// once.
func TestRefdataKeptWhileListening(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	reads := refReads(f.db)

	// Not listening: every call reads.
	readRef(t, f.db)
	readRef(t, f.db)
	if n := reads.Load(); n != 10 {
		t.Fatalf("not listening, two rounds: %d reads, want 10 (five each)", n)
	}

	l := startListen(t, f.db)
	l.waitConnect(t)
	reads.Store(0)
	readRef(t, f.db)
	ds, _ := readRef(t, f.db)
	if n := reads.Load(); n != 5 {
		t.Fatalf("listening, two rounds: %d reads, want 5 (the first round's)", n)
	}
	// A caller may change what it got without changing what is kept.
	ds[0].Name = "changed by a caller"
	if ds, _ := readRef(t, f.db); districtName(ds, f.district.ID) != f.district.Name {
		t.Fatalf("a caller's change reached the cache: %+v", ds)
	}

	// A change by SQL, heard through the trigger's notification.
	f.exec(t, `UPDATE districts SET name = 'Leninsky (renamed by SQL)' WHERE id = $1`, f.district.ID)
	eventually(t, "a district renamed by SQL read back", func() bool {
		ds, _ := readRef(t, f.db)
		return districtName(ds, f.district.ID) == "Leninsky (renamed by SQL)"
	})
	f.exec(t, `INSERT INTO priority_targets (level, effective_from, target_call_processing_s) VALUES (1, '2026-01-01', 45)`)
	eventually(t, "a target change by SQL read back", func() bool {
		_, ps := readRef(t, f.db)
		for _, p := range ps {
			if p.Level == 1 && len(p.History) == 2 {
				return true
			}
		}
		return false
	})

	// A change through this process: the next read has it, no wait.
	d := f.district
	d.Name = "Leninsky (renamed in the app)"
	must(t, f.db.SaveDistrict(ctx, &d, audit.Actor{}))
	if ds, _ := readRef(t, f.db); districtName(ds, d.ID) != d.Name {
		t.Fatalf("after SaveDistrict: %q, want %q", districtName(ds, d.ID), d.Name)
	}

	// The listener lost: a change made meanwhile is not heard, yet read.
	readRef(t, f.db)
	terminateListener(t, f.db)
	f.exec(t, `UPDATE districts SET name = 'Leninsky (renamed while deaf)' WHERE id = $1`, f.district.ID)
	eventually(t, "a change while the listener was down read back", func() bool {
		ds, _ := readRef(t, f.db)
		return districtName(ds, f.district.ID) == "Leninsky (renamed while deaf)"
	})
	// Listening again, the copy is kept again. The reads above may have
	// filled it already, and a notification sent before the reconnect
	// may still empty it: once a marker sent now comes back, every one
	// before it has been heard.
	l.waitConnect(t)
	notify(t, f.db, "incident", 424242, true)
	for p := ""; p != "incident:424242"; {
		select {
		case p = <-l.payloads:
		case <-time.After(listenWait):
			t.Fatal("the marker notification did not come back")
		}
	}
	readRef(t, f.db)
	reads.Store(0)
	readRef(t, f.db)
	if n := reads.Load(); n != 0 {
		t.Fatalf("listening again: the second round read the database %d times, want 0 (kept)", n)
	}
}

// TestRefdataNotifyOncePerTransaction: the triggers announce a change of
// reference data once per transaction, after it commits, and not at all
// when it rolls back.
func TestRefdataNotifyOncePerTransaction(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	l := startListen(t, db)
	l.waitConnect(t)
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	must(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO districts (code, name, active) VALUES ('RB1', 'Rolled back', true)`)
	must(t, err)
	must(t, tx.Rollback(ctx))
	tx, err = db.Pool.Begin(ctx)
	must(t, err)
	for _, q := range []string{`INSERT INTO districts (code, name, active) VALUES ('D1', 'One', true), ('D2', 'Two', true)`,
		`UPDATE districts SET active = false WHERE code = 'D2'`,
		`INSERT INTO incident_types (code, name, is_dv, active) VALUES ('T1', 'Type', true, true)`} {
		_, err = tx.Exec(ctx, q)
		must(t, err)
	}
	must(t, tx.Commit(ctx))
	l.waitPayload(t, "refdata:1")
	select {
	case p := <-l.payloads:
		t.Fatalf("a second payload %q", p)
	case <-time.After(300 * time.Millisecond):
	}
}
