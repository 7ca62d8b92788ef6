package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// listenWait is how long a test waits for something that should happen at
// once.
const listenWait = 5 * time.Second

// listener runs db.Listen in the background until the test ends and
// reports its callbacks on channels.
type listener struct {
	connects chan struct{}
	payloads chan string
}

func startListen(t *testing.T, db *postgres.DB) *listener {
	t.Helper()
	l := &listener{connects: make(chan struct{}, 16), payloads: make(chan string, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() {
		done <- db.Listen(ctx, log,
			func() { l.connects <- struct{}{} },
			func(p string) { l.payloads <- p })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Listen returned %v after cancel, want nil", err)
			}
		case <-time.After(listenWait):
			t.Error("Listen did not return after cancel")
		}
	})
	return l
}

func (l *listener) waitConnect(t *testing.T) {
	t.Helper()
	select {
	case <-l.connects:
	case <-time.After(listenWait):
		t.Fatal("Listen did not connect within", listenWait)
	}
}

func (l *listener) waitPayload(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-l.payloads:
		if got != want {
			t.Fatalf("payload = %q, want %q", got, want)
		}
	case <-time.After(listenWait):
		t.Fatalf("payload %q not received within %v", want, listenWait)
	}
}

// notify commits (or rolls back) a transaction that calls Notify.
func notify(t *testing.T, db *postgres.DB, kind string, id int64, commit bool) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := postgres.Notify(ctx, tx, kind, id); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if commit {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// terminateListener kills the listening backend, as a server restart or an
// administrator would, and checks that there was exactly one.
func terminateListener(t *testing.T, db *postgres.DB) {
	t.Helper()
	var n int
	err := db.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity
		WHERE application_name = 'dvresponse-listen' AND datname = current_database()`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminated %d listening backends, want 1", n)
	}
}

func TestListenNotify(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	l := startListen(t, db)
	l.waitConnect(t)

	notify(t, db, "incident", 42, true)
	l.waitPayload(t, "incident:42")
	notify(t, db, "unit", 7, true)
	l.waitPayload(t, "unit:7")
}

func TestListenRollbackDeliversNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	l := startListen(t, db)
	l.waitConnect(t)

	notify(t, db, "incident", 1, false)
	// Notifications are delivered in commit order, so if the rolled-back
	// one had been sent it would arrive before this marker.
	notify(t, db, "unit", 2, true)
	l.waitPayload(t, "unit:2")
	select {
	case p := <-l.payloads:
		t.Fatalf("unexpected payload %q", p)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestListenReconnects(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	l := startListen(t, db)
	l.waitConnect(t)
	notify(t, db, "incident", 1, true)
	l.waitPayload(t, "incident:1")

	terminateListener(t, db)
	l.waitConnect(t) // the second onConnect: LISTEN is in force again
	notify(t, db, "incident", 2, true)
	l.waitPayload(t, "incident:2")

	select {
	case <-l.connects:
		t.Fatal("onConnect called a third time")
	case p := <-l.payloads:
		t.Fatalf("unexpected payload %q", p)
	default:
	}

	// And again, to see that a second loss is survived as well.
	terminateListener(t, db)
	l.waitConnect(t)
	notify(t, db, "unit", 3, true)
	l.waitPayload(t, "unit:3")
}

// TestListenUnreachableRetriesUntilCancelled checks that Listen keeps
// retrying while the database cannot be reached, without calling
// onConnect, and still returns nil promptly when its context ends.
func TestListenUnreachableRetriesUntilCancelled(t *testing.T) {
	t.Parallel()
	// Port 1 on the loopback refuses connections; pgxpool.New connects lazily.
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	l := startListen(t, &postgres.DB{Pool: pool}) // its cleanup checks the prompt nil return
	select {
	case <-l.connects:
		t.Fatal("onConnect called without a database")
	case <-time.After(500 * time.Millisecond): // several backoff rounds
	}
}
