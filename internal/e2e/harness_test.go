package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Bishkek without the system's zoneinfo

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/peterldowns/pgtestdb"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
	"github.com/dvresponse/dvresponse/internal/server"
)

// Desktop viewport of a control-room workstation.
const desktopW, desktopH = 1440, 900

// stepTimeout bounds one browser step (a navigation, typing into a field).
const stepTimeout = 15 * time.Second

// chromiumPath returns the Chromium binary, or skips the test without one
// (fails it in CI, where CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		// CI installs Chromium: a missing browser there is a broken
		// set-up, not a reason to pass without testing.
		t.Fatal("chromium not installed, and CI=true: the browser tests must run in CI (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed: apt-get install -y chromium")
	return ""
}

// app is the real server, wired as `dvresponse serve` wires it (a live hub
// fed by the database's LISTEN connection), on a fresh database holding
// the demo data and accounts.
type app struct {
	URL string
	DB  *postgres.DB
	Loc *time.Location
}

func startApp(t *testing.T) *app {
	t.Helper()
	chromiumPath(t) // skip before the database work when there is no browser
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	began := time.Now()
	db, err := postgres.Open(ctx, pgtest.URLFrom(t, demoTemplate{}), postgres.Options{MaxConns: 20})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(db.Close)
	cloned := time.Since(began)

	hub := pgtest.RunHub(t, db, logger)

	srv := server.NewServer(server.Deps{DB: db, Hub: hub, Location: loc, Logger: logger})
	hs := httptest.NewServer(srv)
	// srv.Close first: it ends the event streams hs.Close would wait for.
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	a := &app{URL: hs.URL, DB: db, Loc: loc}
	a.waitListenPID(t, 0, 10*time.Second)
	t.Logf("app at %s; database with the demo data cloned in %v (the demo data were loaded once, in %v)",
		a.URL, cloned.Round(10*time.Millisecond), demoLoadTime().Round(10*time.Millisecond))
	return a
}

// demoNonce names this test process's demo template: the demo data are
// relative to the time they were loaded (open calls minutes old), so no
// later run may reuse them.
var demoNonce = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())

var (
	demoLoadMu  sync.Mutex
	demoLoadDur time.Duration
)

func demoLoadTime() time.Duration {
	demoLoadMu.Lock()
	defer demoLoadMu.Unlock()
	return demoLoadDur
}

// demoTemplate is a template database holding the schema and the demo
// data, made once per test process, from which every test's database is
// cloned: loading the demo data took each test seconds. TestMain's
// pgtest.Main drops it when the tests end.
type demoTemplate struct{}

func (demoTemplate) Hash() (string, error) {
	h, err := pgtest.SchemaHash()
	return h + "-e2e-demo-" + demoNonce, err
}

func (demoTemplate) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	pgtest.DropTemplateAtEnd(conf)
	if err := pgtest.MigrateURL(conf.URL()); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, conf.URL(), postgres.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer db.Close()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		return err
	}
	began := time.Now()
	if err := seed.Demo(ctx, db, loc, io.Discard); err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	demoLoadMu.Lock()
	demoLoadDur = time.Since(began)
	demoLoadMu.Unlock()
	return nil
}

// listenPIDs returns the backends of the hub's LISTEN connection to the
// test database.
func (a *app) listenPIDs(t *testing.T) []int64 {
	t.Helper()
	rows, err := a.DB.Pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity
		WHERE application_name = 'dvresponse-listen' AND datname = current_database()`)
	if err != nil {
		t.Fatalf("read pg_stat_activity: %v", err)
	}
	defer rows.Close()
	var pids []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pids
}

// waitListenPID waits until the hub has a LISTEN backend other than not
// and returns its pid.
func (a *app) waitListenPID(t *testing.T, not int64, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, pid := range a.listenPIDs(t) {
			if pid != not {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no LISTEN connection (application_name dvresponse-listen) other than pid %d after %v", not, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// request is what a browser saw of one network request.
type request struct {
	seq      int
	loader   string // the document the request belongs to
	url      string
	method   string
	typ      network.ResourceType
	status   int64
	encoding string  // Content-Encoding of the response
	bytes    float64 // encodedDataLength: bytes on the wire, headers included
	done     bool    // finished or failed
	failed   string
}

// browser is one headless Chromium with its own profile and one tab. Its
// listener fails the test on any uncaught exception, console.error,
// browser log error, failed request (except those the browser cancels
// itself, such as an event stream cut by navigating away), response >= 500
// and request to a host other than the test server.
type browser struct {
	t    *testing.T
	name string
	base string // the test server's URL
	host string // and its host:port
	ctx  context.Context

	mu         sync.Mutex
	closed     bool // the test is over: report nothing more
	seq        int
	reqs       map[network.RequestID]*request
	navs       int      // main-frame navigations
	cancelled  []string // requests the browser cancelled itself
	favicon404 bool     // the browser's own /favicon.ico request failed
	// quiet4xx are paths whose 4xx answers the test expects (a live
	// page's fragment once its session has ended, a refused form): the
	// browser's log line about them is no failure.
	quiet4xx map[string]bool
}

// chromiumOptions are the options of a headless Debian chromium in a
// fresh profile (the directory returned, to remove when it ends): no
// sandbox, GPU, background networking, component updates or sync, which
// this machine's closed network would refuse.
func chromiumOptions(t *testing.T, width, height int) ([]chromedp.ExecAllocatorOption, string) {
	t.Helper()
	path := chromiumPath(t)
	dir, err := os.MkdirTemp("", "dvresponse-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(width, height),
	), dir
}

func newBrowser(t *testing.T, a *app, name string, width, height int) *browser {
	t.Helper()
	u, err := url.Parse(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, name: name, base: a.URL, host: u.Host, reqs: map[network.RequestID]*request{}}
	opts, dir := chromiumOptions(t, width, height)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.onEvent))
	b.ctx = ctx
	t.Cleanup(func() {
		b.mu.Lock()
		b.closed = true
		if b.favicon404 {
			t.Logf("browser %s: note: GET /favicon.ico answered 404 (ignored)", name)
		}
		if len(b.cancelled) > 0 {
			t.Logf("browser %s: requests the browser cancelled itself (ignored): %s", name, strings.Join(b.cancelled, "; "))
		}
		b.mu.Unlock()
		cancel()
		cancelAlloc()
		removeProfile(t, dir)
	})
	// The first action starts the browser; it must run on a context
	// without a deadline, which would otherwise end the browser.
	began := time.Now()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("%s: start chromium: %v", name, err)
	}
	t.Logf("browser %s: chromium started in %v", name, time.Since(began).Round(10*time.Millisecond))
	return b
}

// removeProfile deletes a browser profile; Chromium's helper processes may
// still be writing to it for a moment after the browser exits.
func removeProfile(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("remove browser profile %s: %v", dir, err)
}

// fail reports a problem the browser saw, unless the test is over.
func (b *browser) fail(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.t.Errorf("browser %s: "+format, append([]any{b.name}, args...)...)
	}
}

// onEvent runs in chromedp's loop for the tab, for every event in order;
// it must return quickly and send no command.
func (b *browser) onEvent(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		b.fail("uncaught JavaScript exception: %s", exceptionText(ev.ExceptionDetails))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			b.fail("console.%s: %s", ev.Type, argsText(ev.Args))
		}
	case *log.EventEntryAdded:
		if e := ev.Entry; e != nil && e.Level == log.EntryLevelError {
			if p, err := url.Parse(e.URL); err == nil && strings.Contains(e.Text, "status of 4") {
				b.mu.Lock()
				quiet := b.quiet4xx[p.Path]
				b.mu.Unlock()
				if quiet {
					return
				}
			}
			if isFavicon(e.URL) {
				// Chromium asks every site for /favicon.ico; the app has
				// none yet, and that 404 is not what these tests are about.
				b.mu.Lock()
				b.favicon404 = true
				b.mu.Unlock()
				return
			}
			b.fail("browser log error (%s): %s %s", e.Source, e.Text, e.URL)
		}
	case *network.EventRequestWillBeSent:
		b.requestWillBeSent(ev)
	case *network.EventResponseReceived:
		b.mu.Lock()
		r := b.reqs[ev.RequestID]
		if r != nil && ev.Response != nil {
			r.status = ev.Response.Status
			r.encoding = header(ev.Response.Headers, "Content-Encoding")
		}
		b.mu.Unlock()
		if ev.Response != nil && ev.Response.Status >= 500 {
			b.fail("%s %s answered %d", method(r), ev.Response.URL, ev.Response.Status)
		}
	case *network.EventLoadingFinished:
		b.mu.Lock()
		if r := b.reqs[ev.RequestID]; r != nil {
			r.done, r.bytes = true, ev.EncodedDataLength
		}
		b.mu.Unlock()
	case *network.EventLoadingFailed:
		b.mu.Lock()
		r := b.reqs[ev.RequestID]
		what := string(ev.Type) + " request"
		if r != nil {
			r.done, r.failed = true, ev.ErrorText
			what = fmt.Sprintf("%s %s (%s)", r.method, r.url, ev.Type)
		}
		if ev.Canceled {
			// Cancelled by the browser itself: a navigation away from a
			// page with an open event stream or a pending htmx request.
			b.cancelled = append(b.cancelled, what+": "+ev.ErrorText)
		}
		b.mu.Unlock()
		if !ev.Canceled {
			b.fail("request failed: %s: %s %s", what, ev.ErrorText, ev.BlockedReason)
		}
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			b.mu.Lock()
			b.navs++
			// Requests of the document just replaced (an htmx refresh in
			// flight) end without an event: mark them abandoned.
			for _, r := range b.reqs {
				if !r.done && r.loader != string(ev.Frame.LoaderID) && r.typ != network.ResourceTypeDocument {
					r.done, r.failed = true, "abandoned: its page was replaced"
				}
			}
			b.mu.Unlock()
		}
	}
}

func (b *browser) requestWillBeSent(ev *network.EventRequestWillBeSent) {
	if ev.Request == nil {
		return
	}
	u, err := url.Parse(ev.Request.URL)
	switch {
	case err != nil:
		b.fail("request to an unparsable URL %q", ev.Request.URL)
	case u.Scheme == "data" || u.Scheme == "blob":
		// In the page itself.
	case u.Host != b.host:
		b.fail("request to another host (no external requests allowed): %s %s", ev.Request.Method, ev.Request.URL)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// A redirect reuses the request id: the new request replaces the old.
	b.seq++
	b.reqs[ev.RequestID] = &request{seq: b.seq, loader: string(ev.LoaderID), url: ev.Request.URL, method: ev.Request.Method, typ: ev.Type}
}

// isFavicon reports whether u is the site's /favicon.ico.
func isFavicon(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Path == "/favicon.ico"
}

func method(r *request) string {
	if r == nil {
		return "request"
	}
	return r.method
}

func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s at %s:%d:%d", s, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case a == nil:
		case a.Description != "":
			parts = append(parts, a.Description)
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// do runs actions, failing the test with what it was doing.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser %s: %s: %v", b.name, what, err)
	}
}

// eval evaluates a JavaScript expression in the page. DevTools evaluation
// is not subject to the page's Content-Security-Policy (chromedp.Poll is:
// it compiles its predicate with new Function, which the policy forbids).
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// mustEval is eval failing the test on an error.
func mustEval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := eval[T](b, expr)
	if err != nil {
		b.t.Fatalf("browser %s: evaluate %s: %v", b.name, expr, err)
	}
	return v
}

// waitFor polls the JavaScript condition cond until it is true; on timeout
// it fails the test with the page's path and text.
func (b *browser) waitFor(what string, timeout time.Duration, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := eval[bool](b, cond)
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			break
		}
		// Errors are expected while a navigation replaces the document.
		time.Sleep(50 * time.Millisecond)
	}
	path, _ := eval[string](b, "location.pathname")
	text, _ := eval[string](b, "document.body ? document.body.innerText : ''")
	if len(text) > 3000 {
		text = text[:3000] + "…"
	}
	b.t.Fatalf("browser %s: timed out after %v waiting for %s (last error: %v); page %s says:\n%s",
		b.name, timeout, what, lastErr, path, text)
}

// navigate loads path and waits for the load event.
func (b *browser) navigate(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

// waitPath waits until the page's path matches re (a whole-path regexp)
// and the document has loaded.
func (b *browser) waitPath(re string, timeout time.Duration) string {
	b.t.Helper()
	regexp.MustCompile(re) // fail fast on a bad pattern
	b.waitFor("a page at "+re, timeout,
		fmt.Sprintf(`new RegExp(%s).test(location.pathname) && document.readyState === "complete"`, jsString("^"+re+"$")))
	return mustEval[string](b, "location.pathname")
}

// press sends keys (one key event per character) with modifiers.
func (b *browser) press(keys string, mods ...chromedp.Modifier) {
	b.t.Helper()
	var opts []chromedp.KeyOption
	if len(mods) > 0 {
		opts = append(opts, chromedp.KeyModifiers(mods...))
	}
	b.do(fmt.Sprintf("press %q", keys), chromedp.KeyEvent(keys, opts...))
}

// activeID is the id of the focused element.
func (b *browser) activeID() string {
	b.t.Helper()
	return mustEval[string](b, `document.activeElement ? document.activeElement.id : ""`)
}

// wantFocus fails the test unless the element with id has the focus.
func (b *browser) wantFocus(id string) {
	b.t.Helper()
	b.waitFor("focus on #"+id, 5*time.Second, fmt.Sprintf(`document.activeElement && document.activeElement.id === %s`, jsString(id)))
}

// selectedText is the text of the selected option of the select with id.
func (b *browser) selectedText(id string) string {
	b.t.Helper()
	return mustEval[string](b, fmt.Sprintf(`(() => { const s = document.getElementById(%s); return s && s.selectedIndex >= 0 ? s.options[s.selectedIndex].text : ""; })()`, jsString(id)))
}

// login logs in through the login form, typing like a user, and waits for
// the start page at wantPath.
func (b *browser) login(username, password, wantPath string) {
	b.t.Helper()
	b.navigate("/login")
	b.do("wait for the login form", chromedp.WaitVisible(chromedp.ID("f-username")))
	b.screenshot(b.name + "-login")
	b.do("type the username and password",
		chromedp.SendKeys(chromedp.ID("f-username"), username),
		// Enter in the password field submits the form.
		chromedp.SendKeys(chromedp.ID("f-password"), password+"\r"),
	)
	b.waitPath(regexp.QuoteMeta(wantPath), stepTimeout)
}

// screenshot saves a full-page PNG as testdata/screenshots/<test>-<step>.png.
func (b *browser) screenshot(step string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser %s: screenshot %s: %v", b.name, step, err)
	}
	dir := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	name := filepath.Join(dir, fileSafe(b.t.Name())+"-"+fileSafe(step)+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", name)
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileSafe(s string) string { return unsafeFileChars.ReplaceAllString(s, "_") }

// navigations is the number of main-frame navigations so far.
func (b *browser) navigations() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.navs
}

// mark returns a point in the request log; requestsSince lists the
// requests started after it.
func (b *browser) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

func (b *browser) requestsSince(mark int) []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []request
	for _, r := range b.reqs {
		if r.seq > mark {
			out = append(out, *r)
		}
	}
	// In the order they were sent.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].seq < out[j-1].seq; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// waitRequest waits until a request started after mark to a path matching
// re has finished, and returns it.
func (b *browser) waitRequest(mark int, re string, timeout time.Duration) request {
	b.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range b.requestsSince(mark) {
			if u, err := url.Parse(r.url); err == nil && rx.MatchString(u.Path) && r.done {
				return r
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser %s: no finished request to %s within %v", b.name, re, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNetworkIdle waits until every request started after mark, other
// than event streams, has finished, and none has started for quiet.
func (b *browser) waitNetworkIdle(mark int, quiet, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	lastSeq, since := -1, time.Now()
	for {
		rs := b.requestsSince(mark)
		busy := false
		seq := mark
		for _, r := range rs {
			seq = max(seq, r.seq)
			if !r.done && r.typ != network.ResourceTypeEventSource {
				busy = true
			}
		}
		if seq != lastSeq || busy {
			lastSeq, since = seq, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser %s: network not idle after %v", b.name, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(q)
}
