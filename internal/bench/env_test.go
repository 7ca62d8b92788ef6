package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/seed"
	"github.com/dvresponse/dvresponse/internal/server"
)

// benchPassword is the password of every user the benchmark creates.
const benchPassword = "bench-dispatcher-password-2026"

// env is a server as `dvresponse serve` runs it (a pool of 20, a live hub
// fed by the database's LISTEN) on a fresh, demo-seeded database, with
// users for the benchmark.
type env struct {
	URL    string // the server's base URL
	DBURL  string // the database, for pgbench
	DB     *postgres.DB
	Hub    *live.Hub
	Users  []*account.User // dispatchers, consecutive ids
	Board  *account.User   // the dispatcher whose session the boards share
	Seeded time.Duration
}

// newEnv builds the environment with n dispatcher users. With demo, the
// database holds the demo data (reference data and a year of history, as
// a deployment would); without, only the reference data a call needs.
func newEnv(t *testing.T, n int, demo bool) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{DBURL: pgtest.URL(t)}
	db, err := postgres.Open(ctx, e.DBURL, postgres.Options{MaxConns: 20}) // serve's default DVR_DB_MAX_CONNS
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(db.Close)
	e.DB = db

	began := time.Now()
	if demo {
		if err := seed.Demo(ctx, db, time.UTC, io.Discard); err != nil {
			t.Fatalf("seed demo data: %v", err)
		}
	} else {
		minimalReference(t, db)
	}
	e.Seeded = time.Since(began)

	for i := range n {
		u, err := db.CreateUser(ctx, account.Draft{Username: fmt.Sprintf("bench.dispatcher%02d", i+1),
			FullName: "Bench dispatcher", Role: string(account.Dispatcher), Password: benchPassword}, audit.Actor{})
		if err != nil {
			t.Fatalf("create user: %v", err)
		}
		if i > 0 && u.ID != e.Users[i-1].ID+1 {
			t.Fatalf("bench users got ids %d and %d; the pgbench script needs consecutive ids", e.Users[i-1].ID, u.ID)
		}
		e.Users = append(e.Users, u)
	}
	e.Board, err = db.CreateUser(ctx, account.Draft{Username: "bench.board", FullName: "Bench board",
		Role: string(account.Dispatcher), Password: benchPassword}, audit.Actor{})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}

	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.Hub = live.NewHub(log)
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	listening := make(chan struct{})
	var once bool
	go func() {
		defer close(hubDone)
		e.Hub.Run(hubCtx, func(ctx context.Context, onConnect func(), onPayload func(string)) error {
			return db.Listen(ctx, log, func() {
				if !once {
					once = true
					close(listening)
				}
				onConnect()
			}, onPayload)
		})
	}()
	srv := server.NewServer(server.Deps{DB: db, Logger: log, Location: time.UTC, Hub: e.Hub})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close() // ends event streams, which hs.Close would wait for
		hs.Close()
		stopHub()
		<-hubDone
	})
	e.URL = hs.URL
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("the live hub is not listening after 10 s")
	}
	return e
}

// minimalReference stores one district, incident type and priority.
func minimalReference(t *testing.T, db *postgres.DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.SaveDistrict(ctx, &refdata.District{Code: "LEN", Name: "Leninsky", Active: true}, audit.Actor{}); err != nil {
		t.Fatalf("create district: %v", err)
	}
	if err := db.SaveIncidentType(ctx, &refdata.IncidentType{Code: "DV-PHYS", Name: "Domestic violence — physical",
		IsDV: true, Active: true}, audit.Actor{}); err != nil {
		t.Fatalf("create incident type: %v", err)
	}
	target := 60
	if err := db.SavePriority(ctx, &refdata.Priority{Level: 1, Label: "Immediate danger",
		Targets: map[refdata.Interval]*int{refdata.CallProcessing: &target}}, true, 0, audit.Actor{}); err != nil {
		t.Fatalf("create priority: %v", err)
	}
}

// browser is one dispatcher's browser: its own cookies and its own
// connections to the server.
type browser struct {
	base string
	jar  http.CookieJar
	hc   *http.Client
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{base: e.URL, jar: jar, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches path and returns the status and body.
func (b *browser) get(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// post sends v as a same-origin browser form.
func (b *browser) post(ctx context.Context, path string, v url.Values) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func (b *browser) do(req *http.Request) (int, string, error) {
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// login logs the browser in as username.
func (b *browser) login(t *testing.T, username string) {
	t.Helper()
	resp, body, err := b.post(context.Background(), "/login", url.Values{"username": {username}, "password": {benchPassword}})
	if err != nil {
		t.Fatalf("login as %s: %v", username, err)
	}
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d, want 303\n%s", username, resp.StatusCode, snippet(body))
	}
}

// keyRE finds the intake draft's key in the form. A regular expression
// rather than an HTML parser keeps the clients' CPU use small: they share
// the machine with the server.
var keyRE = regexp.MustCompile(`name="key" value="([0-9a-f-]{36})"`)

// formKey returns the intake form's key from the page.
func formKey(page string) (string, bool) {
	m := keyRE.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// firstOptionRE finds a select and its first non-empty option.
func firstOption(page, name string) (string, bool) {
	re := regexp.MustCompile(`(?s)<select[^>]*name="` + regexp.QuoteMeta(name) + `"[^>]*>.*?<option[^>]*value="([^"]+)"`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// call is the intake form the benchmark submits: a typical DV call.
type call struct {
	District, Type, Priority string
}

func (c call) values(key string) url.Values {
	return url.Values{
		"key": {key}, "address": {"ul. Chui 12, kv. 5"}, "district_id": {c.District},
		"type_id": {c.Type}, "priority": {c.Priority}, "caller_name": {"Nurgul Toktogulova"},
		"caller_phone": {"+996 555 12-34-56"}, "victim_name": {"Aigul Asanova"}, "suspect_name": {"Bakyt Asanov"},
		"weapons": {"yes"}, "narrative": {"Caller hears shouting next door."},
	}
}

// callFromForm opens the intake form and picks the first district,
// incident type and priority it offers, as a dispatcher would choose.
func callFromForm(t *testing.T, b *browser) call {
	t.Helper()
	status, page, err := b.get(context.Background(), "/incidents/new")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /incidents/new: status %d, %v", status, err)
	}
	var c call
	var ok [3]bool
	c.District, ok[0] = firstOption(page, "district_id")
	c.Type, ok[1] = firstOption(page, "type_id")
	c.Priority, ok[2] = firstOption(page, "priority")
	if !ok[0] || !ok[1] || !ok[2] {
		t.Fatalf("intake form lacks a district, type or priority choice: %v", ok)
	}
	for _, v := range []string{c.District, c.Type, c.Priority} {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("intake form option %q is not a number", v)
		}
	}
	return c
}

// snippet shortens a response body for an error message.
func snippet(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
