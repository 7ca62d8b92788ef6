package faulttest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/server"
)

// testPassword is the password of every user the tests create.
const testPassword = "fault-test-dispatcher-2026"

// openDB opens a pool on url, closed at the end of the test.
func openDB(t *testing.T, url string, maxConns int32) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: maxConns})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// createDispatchers creates n dispatcher accounts named prefix01, prefix02...
func createDispatchers(t *testing.T, db *postgres.DB, prefix string, n int) []*account.User {
	t.Helper()
	users := make([]*account.User, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // argon2id hashing is CPU-bound
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			users[i], errs[i] = createUser(db, account.Draft{Username: fmt.Sprintf("%s%02d", prefix, i+1),
				FullName: "Fault test dispatcher", Role: string(account.Dispatcher), Password: testPassword})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("create user: %v", err)
		}
	}
	return users
}

// createUser creates a user as an administrator would.
func createUser(db *postgres.DB, d account.Draft) (*account.User, error) {
	return db.CreateUser(context.Background(), d, audit.Actor{Username: "faulttest", Role: string(account.Admin), IP: "127.0.0.1"})
}

// logCounter is a slog handler that counts what the server logs, by level
// and message, and keeps the first few error records; with a
// verbose handler it also passes records on.
type logCounter struct {
	next slog.Handler // may be nil
	mu   sync.Mutex
	by   map[string]int // "WARN database unavailable" -> count
	errs []string
}

func newLogCounter(next slog.Handler) *logCounter {
	return &logCounter{next: next, by: map[string]int{}}
}

func (h *logCounter) Enabled(ctx context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *logCounter) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	h.by[r.Level.String()+" "+r.Message]++
	if r.Level >= slog.LevelError && len(h.errs) < 10 {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		h.errs = append(h.errs, b.String())
	}
	h.mu.Unlock()
	if h.next != nil {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *logCounter) WithAttrs(as []slog.Attr) slog.Handler { return h }
func (h *logCounter) WithGroup(string) slog.Handler         { return h }

func (h *logCounter) summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.by) == 0 {
		return "nothing at warn or above"
	}
	var parts []string
	for k, n := range h.by {
		parts = append(parts, fmt.Sprintf("%d× %q", n, k))
	}
	return strings.Join(parts, ", ")
}

func (h *logCounter) errors() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.errs...)
}

// app is the application as `dvresponse serve` runs it, in this process:
// the server on db, with a live hub fed by the database's LISTEN, behind
// an HTTP server on a loopback port. Loopback is a trusted proxy, so each
// client can have its own address (X-Forwarded-For), as workstations
// behind a load balancer have: login throttling counts per address.
type app struct {
	URL  string
	DB   *postgres.DB
	Hub  *live.Hub
	Srv  *server.Server
	Logs *logCounter
}

func startApp(t *testing.T, db *postgres.DB, logs *logCounter) *app {
	t.Helper()
	log := slog.New(logs)
	hub := pgtest.RunHub(t, db, log)
	srv := server.NewServer(server.Deps{DB: db, Logger: log, Location: time.UTC, Hub: hub,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close() // ends event streams, which hs.Close would wait for
		hs.Close()
	})
	return &app{URL: hs.URL, DB: db, Hub: hub, Srv: srv, Logs: logs}
}

// browser is one workstation's browser: its own cookies, connections and
// address; it does not follow redirects.
type browser struct {
	base string
	ip   string
	hc   *http.Client
}

func (a *app) browser(t *testing.T, ip string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{base: a.URL, ip: ip, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is what a request got: a status and body, or a transport error.
type response struct {
	Status   int
	Location string
	Body     string
	Err      error
}

func (b *browser) do(ctx context.Context, method, path string, form url.Values) response {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, body)
	if err != nil {
		return response{Err: err}
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", b.ip)
	resp, err := b.hc.Do(req)
	if err != nil {
		return response{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(data), Err: err}
}

func (b *browser) get(ctx context.Context, path string) response {
	return b.do(ctx, http.MethodGet, path, nil)
}

func (b *browser) post(ctx context.Context, path string, v url.Values) response {
	return b.do(ctx, http.MethodPost, path, v)
}

// login logs the browser in. A login answered with the "try again" page
// (503: its argon2id check missed the request deadline while the fault
// tests, under -race, share two cores) is sent again, as a user would,
// up to five times.
func (b *browser) login(username string) error {
	for try := 1; ; try++ {
		r := b.post(context.Background(), "/login", url.Values{"username": {username}, "password": {testPassword}})
		if r.Err == nil && r.Status == http.StatusSeeOther {
			return nil
		}
		if r.Err != nil || r.Status != http.StatusServiceUnavailable || try == 5 {
			return fmt.Errorf("login as %s: status %d, err %v (try %d): %s", username, r.Status, r.Err, try, snippet(r.Body))
		}
	}
}

// mustLogin logs the browser in or fails the test.
func (b *browser) mustLogin(t *testing.T, username string) {
	t.Helper()
	if err := b.login(username); err != nil {
		t.Fatal(err)
	}
}

var (
	keyRE      = regexp.MustCompile(`<input[^>]*name="key"[^>]*value="([0-9a-f-]{36})"`)
	keyRE2     = regexp.MustCompile(`<input[^>]*value="([0-9a-f-]{36})"[^>]*name="key"`)
	incidentRE = regexp.MustCompile(`^/incidents/([0-9]+)$`)
)

// formKey finds the intake form's idempotency key in a page.
func formKey(page string) (string, bool) {
	for _, re := range []*regexp.Regexp{keyRE, keyRE2} {
		if m := re.FindStringSubmatch(page); m != nil {
			return m[1], true
		}
	}
	return "", false
}

// optionValues lists the values of a select's non-empty options.
func optionValues(page, name string) []string {
	i := strings.Index(page, `name="`+name+`"`)
	if i < 0 {
		return nil
	}
	rest := page[i:]
	if j := strings.Index(rest, "</select>"); j >= 0 {
		rest = rest[:j]
	}
	var vals []string
	for _, m := range regexp.MustCompile(`<option[^>]*value="([^"]+)"`).FindAllStringSubmatch(rest, -1) {
		vals = append(vals, m[1])
	}
	return vals
}

// internals are signs of a stack trace or source location on a page.
var internals = []string{"goroutine ", "panic(", ".go:", "runtime/", "pgx", "SQLSTATE"}

// showsInternals reports whether a page shows any of internals.
func showsInternals(page string) (string, bool) {
	for _, s := range internals {
		if strings.Contains(page, s) {
			return s, true
		}
	}
	return "", false
}

// snippet shortens a body for a failure message.
func snippet(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
