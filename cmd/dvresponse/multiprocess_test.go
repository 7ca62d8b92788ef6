package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/pgtest"
)

// TestTwoServeProcessesShareTheLiveBoard is the acceptance test for running
// several serve processes on one database: an incident logged through one
// process appears in the event stream of a board connected to the other
// within 2 seconds. It then checks that SIGTERM ends open event streams and
// the process promptly, with exit status 0.
//
// It runs the real binary, built once for the test, as separate processes.
func TestTwoServeProcessesShareTheLiveBoard(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	dbURL := pgtest.URL(t)

	// The whole demo seed (16,000 incidents): about 15 s alone, a minute or
	// more while the other test binaries run beside it.
	seedCtx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	seedCmd := exec.CommandContext(seedCtx, bin, "seed", "--demo")
	seedCmd.Env = serveEnv(dbURL)
	if out, err := seedCmd.CombinedOutput(); err != nil {
		t.Fatalf("dvresponse seed --demo: %v\n%s", err, out)
	}

	a := startServe(t, bin, dbURL, "A")
	b := startServe(t, bin, dbURL, "B")

	// A dispatcher on A logs calls; a dispatcher on B watches the board.
	ca := newMPClient(t, a.base)
	ca.login("dispatcher", "dispatch-demo-2026")
	cb := newMPClient(t, b.base)
	cb.login("dispatcher", "dispatch-demo-2026")

	// A board on each process: B's is the one the acceptance criterion
	// is about; A's shows that shutdown ends the streams of both.
	streamB := cb.openStream()
	streamA := ca.openStream()
	streamB.waitFor(t, "resync", 5*time.Second)
	streamA.waitFor(t, "resync", 5*time.Second)

	// Log a call on A, through the intake form as a browser would.
	form := ca.get("/incidents/new")
	key := attr(t, form, `form#intake input[name="key"]`, "value")
	district := firstOption(t, form, "district_id")
	typ := firstOption(t, form, "type_id")
	prio := firstOption(t, form, "priority")
	posted := time.Now()
	resp := ca.postForm("/incidents", url.Values{"key": {key}, "address": {"ul. Chui 12, kv. 5"},
		"district_id": {district}, "type_id": {typ}, "priority": {prio}})
	answered := time.Now()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/") {
		t.Fatalf("POST /incidents on A: status %d, Location %q; want 303 to the new incident", resp.StatusCode, loc)
	}
	id := strings.TrimPrefix(loc, "/incidents/")
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		t.Fatalf("POST /incidents on A: Location %q names no incident id", loc)
	}

	const limit = 2 * time.Second
	arrived := streamB.waitFor(t, "incident:"+id, limit+time.Second)
	// The event may beat the 303 back to the client: then it counts as 0.
	sinceAnswer := arrived.Sub(answered)
	when := fmt.Sprintf("%v after the 303", sinceAnswer.Round(time.Microsecond))
	if sinceAnswer <= 0 {
		when = fmt.Sprintf("%v before the 303 reached the client", (-sinceAnswer).Round(time.Microsecond))
	}
	t.Logf("incident %s logged on A (POST answered in %v) reached B's board stream %s, %v after the POST was sent",
		id, answered.Sub(posted).Round(time.Microsecond), when, arrived.Sub(posted).Round(time.Microsecond))
	if sinceAnswer > limit {
		t.Errorf("incident %s reached B's board stream %v after A answered the POST, want within %v", id, sinceAnswer, limit)
	}
	// A's own board hears of it too.
	streamA.waitFor(t, "incident:"+id, limit)

	// SIGTERM while a board is connected: the stream must end and the
	// process exit 0, promptly. Browsers then reconnect to another process.
	for _, c := range []struct {
		p *serveProc
		s *sseStream
	}{{b, streamB}, {a, streamA}} {
		c.p.terminate(t, c.s, 5*time.Second)
	}
}

// buildBinary builds dvresponse into a temporary directory, with the race
// detector when the test itself runs with it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dvresponse")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// goTool is the go command: the one on PATH, else the one of this
// toolchain.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// serveEnv is the environment of a dvresponse process on dbURL. Later
// entries win over the inherited ones.
func serveEnv(dbURL string) []string {
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "DVR_TIME_ZONE=UTC", "DVR_LOG_FORMAT=text",
		"DVR_LOG_LEVEL=warn", "DVR_DB_MAX_CONNS=5")
	if os.Getenv("GORACE") == "" {
		// A race-enabled binary otherwise sleeps 1 s on exit, which the
		// shutdown timing would count.
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return env
}

// serveProc is one running `dvresponse serve`.
type serveProc struct {
	name string
	base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	out  *syncBuffer // its standard error (and output), for failures
	done chan struct{}
	err  error // set before done is closed: what Wait returned
}

// startServe starts `dvresponse serve` on a free loopback port and waits
// until it is ready. The process is killed at the end of the test if it is
// still running.
func startServe(t *testing.T, bin, dbURL, name string) *serveProc {
	t.Helper()
	addr := freeLoopbackAddr(t)
	p := &serveProc{name: name, base: "http://" + addr, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--addr", addr)
	p.cmd.Env = serveEnv(dbURL)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start serve %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of serve %s:\n%s", name, p.out.String())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case <-p.done:
			t.Fatalf("serve %s exited before it was ready: %v\n%s", name, p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve %s not ready after 30 s (last /readyz: %v)\n%s", name, err, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// terminate sends SIGTERM and checks that stream, open on this process,
// ends and that the process exits with status 0, both within limit.
func (p *serveProc) terminate(t *testing.T, stream *sseStream, limit time.Duration) {
	t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to serve %s: %v", p.name, err)
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	select {
	case <-stream.ended:
		t.Logf("serve %s: board stream ended %v after SIGTERM", p.name, time.Since(sent).Round(time.Microsecond))
	case <-deadline.C:
		t.Errorf("serve %s: board stream still open %v after SIGTERM; graceful shutdown must end event streams", p.name, limit)
	}
	select {
	case <-p.done:
		t.Logf("serve %s: exited %v after SIGTERM", p.name, time.Since(sent).Round(time.Microsecond))
		if p.err != nil {
			t.Errorf("serve %s after SIGTERM: %v, want exit status 0\n%s", p.name, p.err, p.out.String())
		}
	case <-deadline.C:
		t.Errorf("serve %s still running %v after SIGTERM, want a prompt graceful exit", p.name, limit)
	}
}

// freeLoopbackAddr returns a loopback address whose port nobody listens on
// (a child process cannot be handed port 0 and tell us which it got).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// mpClient is a browser on one serve process: it keeps cookies and does
// not follow redirects.
type mpClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	sse  *http.Client // no overall timeout: a stream stays open
}

func newMPClient(t *testing.T, base string) *mpClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &mpClient{t: t, base: base,
		hc:  &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: noFollow},
		sse: &http.Client{Jar: jar, CheckRedirect: noFollow}}
}

// do sends req and returns the response with its body read and closed.
func (c *mpClient) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

// get fetches a page that must answer 200 and returns it parsed.
func (c *mpClient) get(path string) *goquery.Document {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, body := c.do(req)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s%s: status %d", c.base, path, resp.StatusCode)
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		c.t.Fatalf("GET %s%s: parse HTML: %v", c.base, path, err)
	}
	return d
}

// postForm posts v as a same-origin browser form.
func (c *mpClient) postForm(path string, v url.Values) *http.Response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	resp, _ := c.do(req)
	return resp
}

func (c *mpClient) login(username, password string) {
	c.t.Helper()
	resp := c.postForm("/login", url.Values{"username": {username}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login as %s on %s: status %d, want 303", username, c.base, resp.StatusCode)
	}
}

// sseStream is an open GET /board/events whose data lines are read in the
// background.
type sseStream struct {
	data  chan sseData  // every data line, in order
	ended chan struct{} // closed when the stream ends
}

type sseData struct {
	data string
	at   time.Time
}

// openStream opens the board's event stream; it is closed at the end of
// the test.
func (c *mpClient) openStream() *sseStream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/board/events", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.sse.Do(req)
	if err != nil {
		cancel()
		c.t.Fatalf("GET %s/board/events: %v", c.base, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		c.t.Fatalf("GET %s/board/events: status %d, Content-Type %q; want a 200 event stream", c.base,
			resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{data: make(chan sseData, 1024), ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case s.data <- sseData{data: d, at: time.Now()}:
				default: // nobody is reading any more
				}
			}
		}
	}()
	c.t.Cleanup(func() {
		cancel()
		<-s.ended
	})
	return s
}

// waitFor reads data lines until one equals want and returns when it
// arrived; it fails the test if none does within limit or the stream ends.
func (s *sseStream) waitFor(t *testing.T, want string, limit time.Duration) time.Time {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case d := <-s.data:
			if d.data == want {
				return d.at
			}
			seen = append(seen, d.data)
		case <-s.ended:
			// Look through what was read before the end.
			for len(s.data) > 0 {
				d := <-s.data
				if d.data == want {
					return d.at
				}
				seen = append(seen, d.data)
			}
			t.Fatalf("board stream ended before %q arrived (saw %q)", want, seen)
		case <-timer.C:
			t.Fatalf("no %q on the board stream within %v (saw %q)", want, limit, seen)
		}
	}
}

// attr returns an attribute of the first element matching sel.
func attr(t *testing.T, d *goquery.Document, sel, name string) string {
	t.Helper()
	v, ok := d.Find(sel).First().Attr(name)
	if !ok || v == "" {
		t.Fatalf("page has no %s with a %s", sel, name)
	}
	return v
}

// firstOption is the value of the first non-empty option of the select
// named name.
func firstOption(t *testing.T, d *goquery.Document, name string) string {
	t.Helper()
	var v string
	d.Find(`select[name="` + name + `"] option`).EachWithBreak(func(_ int, s *goquery.Selection) bool {
		v, _ = s.Attr("value")
		return v == ""
	})
	if v == "" {
		t.Fatalf("the intake form's %s select offers no choice", name)
	}
	return v
}
