package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/server"
)

// historyLatency measures POST /incidents/history (the intake panel's
// lookup, audited as in production) on db: runs lookups of addresses of
// stored incidents, warm, by a dispatcher with no district (the full
// panel). A fresh user per 50 lookups keeps under the per-user limit.
func historyLatency(t *testing.T, db *postgres.DB, runs int) (med, p95 time.Duration) {
	t.Helper()
	ctx := context.Background()
	srv := server.NewServer(server.Deps{DB: db, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})), Location: time.UTC})
	hs := httptest.NewServer(srv)
	defer func() { srv.Close(); hs.Close() }()
	var addrs []string
	for _, sample := range []string{"TABLESAMPLE SYSTEM (1)", ""} { // a small table may sample nothing
		rows, err := db.Pool.Query(ctx, `SELECT address FROM incidents `+sample+` WHERE address <> '' LIMIT $1`, runs+3)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			addrs = append(addrs, a)
		}
		if len(addrs) > 0 {
			break
		}
	}
	if len(addrs) == 0 {
		t.Fatal("no addresses to look up")
	}
	var b *browser
	var ds []time.Duration
	for i := range runs + 3 {
		if i%50 == 0 {
			name := fmt.Sprintf("bench.history%d.%d", time.Now().UnixNano(), i)
			if _, err := db.CreateUser(ctx, account.Draft{Username: name, Role: string(account.Dispatcher), Password: benchPassword}, audit.Actor{}); err != nil {
				t.Fatal(err)
			}
			jar, _ := cookiejar.New(nil)
			b = &browser{base: hs.URL, jar: jar, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			b.login(t, name)
		}
		t0 := time.Now()
		resp, _, err := b.post(ctx, "/incidents/history", url.Values{"address": {addrs[i%len(addrs)]}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /incidents/history: %v %v", err, resp)
		}
		if i >= 3 { // the first three warm the cache and the plans
			ds = append(ds, time.Since(t0))
		}
	}
	return percentile(ds, 0.5), percentile(ds, 0.95)
}
