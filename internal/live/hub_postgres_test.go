package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// TestHubLivePostgres runs a hub on a real database: a committed Notify
// reaches the subscriber, and a lost listening connection ends in a resync.
func TestHubLivePostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	h := newHub(t)
	events, cancelSub := h.Subscribe()
	defer cancelSub()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slogFor(t)
	go func() {
		done <- h.Run(ctx, func(ctx context.Context, onConnect func(), onPayload func(string)) error {
			return db.Listen(ctx, log, onConnect, onPayload)
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(wait):
			t.Error("Run did not return after cancel")
		}
	})

	expect := func(want live.Event) {
		t.Helper()
		if got := recv(t, events); got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	notify := func(kind string, id int64) {
		t.Helper()
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if err := postgres.Notify(ctx, tx, kind, id); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// This subscriber predates LISTEN, so the first connect resyncs it;
	// that also tells the test that LISTEN is in force.
	expect(live.Event{Kind: live.KindResync})
	notify("incident", 42)
	expect(live.Event{Kind: live.KindIncident, ID: 42})

	var n int
	if err := db.Pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity
		WHERE application_name = 'dvresponse-listen' AND datname = current_database()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminated %d listening backends, want 1", n)
	}
	expect(live.Event{Kind: live.KindResync})
	notify("unit", 7)
	expect(live.Event{Kind: live.KindUnit, ID: 7})
}
