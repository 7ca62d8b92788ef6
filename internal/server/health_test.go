package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	resp := ts.client(t).get("/healthz")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: status %d, want 200", resp.StatusCode)
	}
	if got := strings.TrimSpace(body(t, resp)); got != "ok" {
		t.Errorf("GET /healthz: body %q, want ok", got)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	latest := postgres.LatestVersion()

	// open returns a pool on url, closed at the end of the test.
	open := func(t *testing.T, url string) *postgres.DB {
		t.Helper()
		db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	tests := []struct {
		name   string
		db     func(t *testing.T) *postgres.DB
		status int
		body   string // the body contains this
	}{
		{"migrated", func(t *testing.T) *postgres.DB { return pgtest.DB(t) }, http.StatusOK, "ready"},
		{"one migration behind", func(t *testing.T) *postgres.DB {
			url := pgtest.URL(t)
			m, err := postgres.NewMigrator(url)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if err := m.Down(1); err != nil {
				t.Fatal(err)
			}
			return open(t, url)
		}, http.StatusServiceUnavailable, "migrate up"},
		{"empty database", func(t *testing.T) *postgres.DB { return open(t, pgtest.EmptyURL(t)) },
			http.StatusServiceUnavailable, "migrate up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServerOn(t, tt.db(t))
			resp := ts.client(t).get("/readyz")
			if resp.StatusCode != tt.status {
				t.Errorf("GET /readyz: status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := body(t, resp); !strings.Contains(got, tt.body) {
				t.Errorf("GET /readyz: body %q, want it to contain %q", got, tt.body)
			}
			if tt.status == http.StatusOK {
				return
			}
			// The reason names the versions.
			if got := body(t, resp); !strings.Contains(got, "expects "+itoa(int64(latest))) {
				t.Errorf("GET /readyz: body %q does not name the expected version %d", got, latest)
			}
		})
	}
}

func TestReadyzDatabaseDown(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ts := newTestServerOn(t, db)
	db.Pool.Reset() // no idle connections left...
	db.Close()      // ...and none can be made
	resp := ts.client(t).get("/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with the pool closed: status %d, want 503", resp.StatusCode)
	}
	if got := body(t, resp); !strings.Contains(got, "database unavailable") {
		t.Errorf("GET /readyz with the pool closed: body %q", got)
	}
}

// TestServerCloseRace guards against Server.Close racing with background
// goroutines the server starts (pgxstore's own cleanup goroutine sets its
// stop channel inside the goroutine, unsynchronised, so StopCleanup raced
// with it). Run it with -race.
//
// It is not parallel, and waits for such goroutines to start, so that a
// race report lands on this test and not on whichever tests run beside it.
func TestServerCloseRace(t *testing.T) {
	s := NewServer(Deps{DB: pgtest.DB(t)})
	time.Sleep(50 * time.Millisecond)
	s.Close()
}
