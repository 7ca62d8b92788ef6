package faulttest

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/pgtest"
)

// TestEventStreamOutlivesRequestDeadline: the live board's event stream
// is exempt from the request deadline that bounds every other request.
func TestEventStreamOutlivesRequestDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps a stream open for 7 s; skipped with -short")
	}
	t.Parallel()
	db := openDB(t, pgtest.URL(t), 5)
	u := createDispatchers(t, db, "stream.dispatcher", 1)[0]
	a := startApp(t, db, newLogCounter(nil))
	b := a.browser(t, "10.78.0.2")
	b.mustLogin(t, u.Username)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/board/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", b.ip)
	hc := *b.hc
	hc.Timeout = 0 // a stream
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /board/events: %d", resp.StatusCode)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	select {
	case err := <-ended:
		t.Errorf("the event stream ended after less than 7 s (err %v): the request deadline cut it", err)
	case <-time.After(7 * time.Second):
	}
}

// TestFullPoolAnswers503Quickly: with every pooled connection held by a
// long transaction, a request does not wait for a connection until the
// browser gives up: it gets the 503 "try again" page within the server's
// request deadline (a few seconds), a posted form with what was typed
// kept, and the server serves normally once connections are free again.
func TestFullPoolAnswers503Quickly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, pgtest.URL(t), 2)
	u := createDispatchers(t, db, "pool.dispatcher", 1)[0]
	a := startApp(t, db, newLogCounter(nil))
	b := a.browser(t, "10.78.0.1")
	b.mustLogin(t, u.Username)
	if r := b.get(ctx, "/incidents/new"); r.Status != http.StatusOK {
		t.Fatalf("GET /incidents/new with a free pool: %d: %s", r.Status, snippet(r.Body))
	}

	// Two long transactions hold both connections of the pool.
	var txs []pgx.Tx
	for range 2 {
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	release := func() {
		for _, tx := range txs {
			tx.Rollback(ctx)
		}
		txs = nil
	}
	defer release()
	if st := db.Pool.Stat(); st.AcquiredConns() != 2 || st.MaxConns() != 2 {
		t.Fatalf("pool: %d of %d connections acquired, want 2 of 2", st.AcquiredConns(), st.MaxConns())
	}

	const limit = 10 * time.Second // generous: the deadline is a few seconds
	t0 := time.Now()
	r := b.get(ctx, "/incidents/new")
	took := time.Since(t0)
	t.Logf("GET /incidents/new with the pool full: %d in %v", r.Status, took.Round(time.Millisecond))
	if r.Err != nil || r.Status != http.StatusServiceUnavailable {
		t.Errorf("GET /incidents/new with the pool full: status %d, err %v, want 503: %s", r.Status, r.Err, snippet(r.Body))
	}
	if !strings.Contains(r.Body, "Please try again") || hasInternals(r.Body) {
		t.Errorf("GET /incidents/new with the pool full: not a clean 'try again' page: %s", snippet(r.Body))
	}
	if took > limit {
		t.Errorf("GET /incidents/new with the pool full took %v, want under %v", took, limit)
	}

	form := url.Values{"key": {"0b7e4c1a-5f0e-4c1e-9a55-3f7c2d9e8a10"}, "address": {"ul. Pool 2, kv. 20"},
		"caller_name": {"Pool caller"}, "narrative": {"typed while the pool was full"}}
	t0 = time.Now()
	r = b.post(ctx, "/incidents", form)
	took = time.Since(t0)
	t.Logf("POST /incidents with the pool full: %d in %v", r.Status, took.Round(time.Millisecond))
	if r.Err != nil || r.Status != http.StatusServiceUnavailable {
		t.Errorf("POST /incidents with the pool full: status %d, err %v, want 503: %s", r.Status, r.Err, snippet(r.Body))
	}
	if !keepsInput(r.Body, form.Get("key"), form.Get("address")) || !strings.Contains(r.Body, form.Get("narrative")) {
		t.Errorf("POST /incidents with the pool full: the answer is not the 'try again' page with the input kept: %s", snippet(r.Body))
	}
	if took > limit {
		t.Errorf("POST /incidents with the pool full took %v, want under %v", took, limit)
	}

	// Connections free again: the same server serves.
	release()
	if r := b.get(ctx, "/incidents/new"); r.Status != http.StatusOK {
		t.Errorf("GET /incidents/new once the pool is free: %d: %s", r.Status, snippet(r.Body))
	}
}
