package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/server"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli runs dvresponse commands in-process against one database.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T, databaseURL string) *cli {
	return &cli{t: t, env: map[string]string{
		"DATABASE_URL":   databaseURL,
		"DVR_TIME_ZONE":  "UTC",
		"DVR_LOG_FORMAT": "text",
		"DVR_ADDR":       "127.0.0.1:0",
	}}
}

// cmdAuditKey is a DVR_AUDIT_KEY for these tests: bytes 100 to 131.
const cmdAuditKey = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="

// newKeyedCLI is newCLI with DVR_AUDIT_KEY set (cmdAuditKey). Commands
// without it chain the audit trail with the public development key, and
// may not extend a trail keyed with a real key.
func newKeyedCLI(t *testing.T, databaseURL string) *cli {
	c := newCLI(t, databaseURL)
	c.env["DVR_AUDIT_KEY"] = cmdAuditKey
	return c
}

// run runs one command with stdin and returns its output and error.
func (c *cli) run(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	var out, errb syncBuffer
	err = run(ctx, args, func(k string) string { return c.env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// mustRun runs a command that must succeed and returns its output.
func (c *cli) mustRun(stdin string, args ...string) string {
	c.t.Helper()
	out, errs, err := c.run(context.Background(), stdin, args...)
	if err != nil {
		c.t.Fatalf("dvresponse %s: %v\nstderr: %s", strings.Join(args, " "), err, errs)
	}
	return out
}

// browser is a web client that keeps cookies and does not follow
// redirects.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

// startWeb serves the web application on the database at databaseURL.
func startWeb(t *testing.T, databaseURL string) string {
	t.Helper()
	db, err := postgres.Open(context.Background(), databaseURL, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	srv := server.NewServer(server.Deps{DB: db, Logger: discardLogger()})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) *http.Response {
	b.t.Helper()
	resp, err := b.hc.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (b *browser) login(username, password string) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+"/login",
		strings.NewReader(url.Values{"username": {username}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func wantRedirect(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != want {
		t.Errorf("%s %s: %d to %q, want 303 to %q", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, got, want)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
