package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
)

// TestMetricsAfterAJourney runs serve with DVR_METRICS_ADDR and scrapes
// /metrics before and after a short journey: a dispatcher logs in, logs
// a call and opens the board; a mistyped password five times locks an
// account; a burst of requests on a two-connection pool waits for
// connections; the LISTEN connection is cut and comes back. Every metric
// the README lists must be there and have moved, requests must be labelled
// with route patterns (never a path with an id), and no label value may
// hold a name, address, phone, username or incident number from the
// journey. /metrics is not on the application's address.
func TestMetricsAfterAJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve against PostgreSQL; skipped with -short")
	}
	t.Parallel()
	dbURL := pgtest.URL(t)
	c := newCLI(t, dbURL)
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The reference data and two accounts: quicker than the whole demo.
	if err := seed.Reference(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	for _, u := range []account.Draft{
		{Username: "dispatcher", FullName: "Nurgul Metricova", Role: string(account.Dispatcher), Password: "dispatch-demo-2026"},
		{Username: "calltaker", FullName: "Bakyt Metricov", Role: string(account.Dispatcher), Password: "calltaker-demo-2026"},
	} {
		if _, err := db.CreateUser(context.Background(), u, audit.Actor{Username: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	addr, maddr := freeAddr(t), freeAddr(t)
	c.env["DVR_METRICS_ADDR"] = maddr
	c.env["DVR_DB_MAX_CONNS"] = "2" // so that a burst of requests waits for connections
	c.env["DVR_LOG_LEVEL"] = "error"
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		_, errs, err := c.run(ctx, "", "serve", "--addr", addr)
		if err != nil {
			t.Logf("serve: %s", errs)
		}
		served <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base, mbase := "http://"+addr, "http://"+maddr
	waitReady(t, base)

	scrape := func() map[string]float64 {
		t.Helper()
		resp, err := http.Get(mbase + "/metrics")
		if err != nil {
			t.Fatalf("scrape: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
		}
		return parseMetrics(t, string(body))
	}
	before := scrape()

	// The journey.
	d := newMPClient(t, base)
	d.login("dispatcher", "dispatch-demo-2026")
	stream := d.openStream()
	stream.waitFor(t, "resync", 5*time.Second)
	form := d.get("/incidents/new")
	const (
		caller  = "Aigerim Journeyova"
		phone   = "+996 555 123 987"
		address = "ul. Metrics 17, kv. 42"
	)
	prio := firstOption(t, form, "priority")
	resp := d.postForm("/incidents", url.Values{"key": {attr(t, form, `form#intake input[name="key"]`, "value")},
		"address": {address}, "caller_name": {caller}, "caller_phone": {phone}, "victim_name": {caller},
		"district_id": {firstOption(t, form, "district_id")}, "type_id": {firstOption(t, form, "type_id")}, "priority": {prio}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/") {
		t.Fatalf("POST /incidents: %d to %q", resp.StatusCode, loc)
	}
	id := strings.TrimPrefix(loc, "/incidents/")
	d.get(loc)
	d.get("/board")
	var number string
	if err := db.Pool.QueryRow(context.Background(), `SELECT number FROM incidents WHERE id = $1`, id).Scan(&number); err != nil {
		t.Fatal(err)
	}
	// Five wrong passwords lock the call-taker's account.
	o := newMPClient(t, base)
	for range 5 {
		o.postForm("/login", url.Values{"username": {"calltaker"}, "password": {"not-the-password"}})
	}
	// Twelve boards at once on a pool of two connections.
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if resp, err := d.hc.Get(base + "/board/fragment"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	// The LISTEN connection is cut: it comes back, and the board resyncs.
	if _, err := db.Pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'dvresponse-listen' AND datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	stream.waitFor(t, "resync", 10*time.Second)

	after := scrape()
	p := "priority=\"" + prio + "\""
	moved := []struct {
		name    string
		changed func(b, a float64) bool
	}{
		{`dvr_http_requests_total{method="POST",route="/incidents",status="303"}`, increased},
		{`dvr_http_requests_total{method="GET",route="/incidents/{id}",status="200"}`, increased},
		{`dvr_http_request_duration_seconds_count{method="POST",route="/incidents",status="303"}`, increased},
		{`dvr_board_streams`, increased},
		{`dvr_listen_connected`, func(b, a float64) bool { return a == 1 }},
		{`dvr_listen_reconnects_total`, increased},
		{`dvr_board_resyncs_total`, increased},
		{`dvr_db_pool_max_connections`, func(b, a float64) bool { return a == 2 }},
		{`dvr_db_pool_connections{state="idle"}`, func(b, a float64) bool { return a >= 0 }},
		{`dvr_db_pool_acquires_total`, increased},
		{`dvr_db_pool_waits_total`, increased},
		{`dvr_db_pool_wait_seconds_total`, increased},
		{`dvr_audit_appends_total`, increased},
		{`dvr_login_failures_total`, func(b, a float64) bool { return a-b == 5 }},
		{`dvr_login_lockouts_total`, func(b, a float64) bool { return a-b == 1 }},
		{`dvr_database_writable`, func(b, a float64) bool { return a == 1 }},
		{`dvr_report_store_ready`, func(b, a float64) bool { return a == 1 }},
		{`dvr_report_store_sync_age_seconds`, func(b, a float64) bool { return a >= 0 && a < 30 }},
		{`dvr_dispatch_oldest_waiting_seconds{` + p + `}`, func(b, a float64) bool { return a > 0 }},
		{`dvr_dispatch_target_seconds{` + p + `}`, func(b, a float64) bool { return a > 0 }},
	}
	for _, m := range moved {
		a, ok := after[m.name]
		if !ok {
			t.Errorf("%s missing after the journey", m.name)
			continue
		}
		if b := before[m.name]; !m.changed(b, a) {
			t.Errorf("%s: %v before the journey, %v after", m.name, b, a)
		}
	}
	// The report store follows the change log (every second): the call
	// logged in the journey reaches it within 5 s.
	for deadline := time.Now().Add(5 * time.Second); scrape()[`dvr_report_store_incidents`] < 1; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("dvr_report_store_incidents: the call logged is not in the report store after 5 s")
			break
		}
	}
	t.Logf("after the journey: %d series; audit appends %v, requests POST /incidents %v, pool waits %v, reconnects %v",
		len(after), after[`dvr_audit_appends_total`], after[moved[0].name], after[`dvr_db_pool_waits_total`],
		after[`dvr_listen_reconnects_total`])

	// No personal data, usernames or ids in labels; routes are patterns.
	secrets := []string{caller, "Journeyova", "Metricov", phone, "123 987", address, "Metrics 17", number,
		`"dispatcher"`, `"calltaker"`, "/incidents/" + id}
	routes := 0
	for series := range after {
		_, labels, _ := strings.Cut(series, "{")
		for _, s := range secrets {
			if strings.Contains(labels, s) {
				t.Errorf("series %s has %q in a label", series, s)
			}
		}
		for _, m := range routeValue.FindAllStringSubmatch(labels, -1) {
			routes++
			if !routePattern.MatchString(m[1]) {
				t.Errorf("series %s has a route label that is not a route pattern", series)
			}
		}
	}
	if routes == 0 {
		t.Error("no series has a route label")
	}

	// The application's own address does not serve metrics.
	r, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode == http.StatusOK || strings.Contains(string(b), "dvr_http_requests_total") {
		t.Errorf("GET /metrics on the application's address: %d, want it not served there", r.StatusCode)
	}
}

// routeValue finds route labels; routePattern is a route made of fixed
// segments and {parameters}, never an id.
var (
	routeValue   = regexp.MustCompile(`route="([^"]*)"`)
	routePattern = regexp.MustCompile(`^(unmatched|/|(/([a-z.\-]+|\{[a-z]+\}|\*))+/?)$`)
)

func increased(b, a float64) bool { return a > b }

// parseMetrics reads the text format into series name{labels} -> value.
func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// waitReady waits until serve at base answers /readyz with 200.
func waitReady(t *testing.T, base string) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := hc.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve at %s not ready after 30 s: %v", base, err)
		}
	}
}
