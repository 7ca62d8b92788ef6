package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
)

// The canary: personal data entered through the intake that must appear on
// the incident page only (DESIGN.md §5: no personal data in logs, URLs,
// error pages or NOTIFY payloads; lists show none, but for the address and
// location notes on the board and the officer's cards: where to go).
const (
	canaryVictim    = "Zarina Canaryova-7731"
	canaryAddress   = "Canary street 7731"
	canaryCaller    = "Kanat Canarybekov"
	canaryPhone     = "+996 700 773 199"
	canaryNarrative = "Canary narrative: the neighbour hears Zarina scream."
	canaryNotes     = "Canary block, second floor"
)

// canaryMarks are what gives the canary away, whatever its case or
// encoding (URL, JSON, HTML): every text field holds "canary"; the phone
// number's digits are looked for with and without its spaces.
var canaryMarks = []string{"canary", "700773199", "700 773 199", "773+199", "773%20199"}

// leaks returns the canary marks s holds.
func leaks(s string) []string {
	lower := strings.ToLower(s)
	var out []string
	for _, m := range canaryMarks {
		if strings.Contains(lower, m) {
			out = append(out, m)
		}
	}
	return out
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers and readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// exchange is one request a client made and the response it got.
type exchange struct {
	who    string
	method string
	url    string // as sent, with the host
	path   string // path and query
	status int
	header http.Header
	body   string
}

// recorder is an http.RoundTripper that keeps every exchange.
type recorder struct {
	who  string
	next http.RoundTripper
	mu   *sync.Mutex
	log  *[]exchange
}

func (rt recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	ex := exchange{who: rt.who, method: req.Method, url: req.URL.String(), path: req.URL.RequestURI(), status: resp.StatusCode, header: resp.Header.Clone()}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		ex.body = string(b)
	}
	rt.mu.Lock()
	*rt.log = append(*rt.log, ex)
	rt.mu.Unlock()
	return resp, nil
}

// canaryRun is the application wired as `dvresponse serve` wires it, on the
// demo data, with every output a leak could go to captured.
type canaryRun struct {
	ts   *testServer
	down *testServer   // the same application on a pool that is closed: the database is unreachable
	logs *lockedBuffer // every log line of both servers and the hub (JSON)

	mu        sync.Mutex
	exchanges []exchange
	payloads  []string // every NOTIFY payload on dv_changes
	stream    lockedBuffer
}

func startCanaryRun(t *testing.T) *canaryRun {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 20})
		if err != nil {
			t.Fatalf("open test database: %v", err)
		}
		t.Cleanup(db.Close)
		return db
	}
	db := open()
	if err := seed.Demo(ctx, db, time.UTC, io.Discard); err != nil {
		t.Fatalf("load demo data: %v", err)
	}
	run := &canaryRun{logs: &lockedBuffer{}}
	logger := slog.New(slog.NewJSONHandler(run.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// Our own LISTEN connection hears every payload any server sends.
	lc, err := pgx.ConnectConfig(ctx, db.Pool.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Exec(ctx, "LISTEN "+postgres.ChangesChannel); err != nil {
		t.Fatal(err)
	}
	lctx, stopListen := context.WithCancel(ctx)
	listened := make(chan struct{})
	go func() {
		defer close(listened)
		for {
			n, err := lc.WaitForNotification(lctx)
			if err != nil {
				return
			}
			run.mu.Lock()
			run.payloads = append(run.payloads, n.Payload)
			run.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		stopListen()
		<-listened
		lc.Close(context.Background())
	})

	// The live hub, fed by the database's LISTEN connection.
	hub := pgtest.RunHub(t, db, logger)
	wire := func(d *Deps) { d.Logger, d.Hub, d.Location = logger, hub, time.UTC }
	run.ts = newTestServerOn(t, db, wire)
	run.down = newTestServerOn(t, open(), wire)
	deadline := time.Now().Add(10 * time.Second)
	for queryInt(t, db, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dvresponse-listen' AND datname = current_database()`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hub is not listening")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return run
}

// client logs in a demo user whose every exchange is recorded.
func (run *canaryRun) client(t *testing.T, username, password string) *client {
	t.Helper()
	c := run.ts.client(t)
	c.hc.Transport = recorder{who: username, next: http.DefaultTransport, mu: &run.mu, log: &run.exchanges}
	c.mustLogin(username, password)
	return c
}

// watchBoard opens the live board's event stream as c and keeps all it
// sends until the test ends.
func (run *canaryRun) watchBoard(t *testing.T, c *client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/board/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Jar: c.jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /board/events: %d", resp.StatusCode)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&run.stream, resp.Body)
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
}

// formKey is the value of the hidden key field of the form matching sel.
func formKey(t *testing.T, resp *http.Response, sel string) string {
	t.Helper()
	key, ok := doc(t, resp).Find(sel + ` input[name="key"]`).First().Attr("value")
	if !ok || key == "" {
		t.Fatalf("%s %s: no %s key", resp.Request.Method, resp.Request.URL.Path, sel)
	}
	return key
}

// isIncidentPage says whether body is an incident page (its facts list),
// the one page that shows personal data, to those allowed to see it.
func isIncidentPage(d *goquery.Document) bool { return d.Find("#facts-h").Length() > 0 }

// withoutTypedValues is the page without the values of its form fields:
// a form that failed keeps what the user typed (DESIGN.md §5), which is
// not a leak; anything else on the page is.
func withoutTypedValues(d *goquery.Document) string {
	d = goquery.CloneDocument(d)
	d.Find("input").RemoveAttr("value")
	d.Find("textarea").Empty()
	h, _ := d.Html()
	return h
}

func TestCanaryPersonalDataStaysOnTheIncidentPage(t *testing.T) {
	t.Parallel()
	run := startCanaryRun(t)
	ctx := context.Background()
	db := run.ts.DB
	typeID := queryInt(t, db, `SELECT id FROM incident_types WHERE code = 'DV-PHYS'`)
	districtID := queryInt(t, db, `SELECT id FROM districts WHERE code = 'LEN'`)
	unitID := queryInt(t, db, `SELECT id FROM units WHERE call_sign = 'LEN-11'`)
	dispositionID := queryInt(t, db, `SELECT min(id) FROM dispositions WHERE active`)

	disp := run.client(t, "dispatcher", "dispatch-demo-2026")
	run.watchBoard(t, disp)
	call := func(key string) url.Values {
		return url.Values{"key": {key}, "address": {canaryAddress}, "district_id": {itoa(districtID)},
			"location_notes": {canaryNotes}, "type_id": {itoa(typeID)}, "priority": {"1"},
			"caller_name": {canaryCaller}, "caller_phone": {canaryPhone}, "caller_relation": {"Canary neighbour"},
			"victim_name": {canaryVictim}, "victim_age": {"31"}, "suspect_name": {"Bolot Canaryov"},
			"weapons": {"yes"}, "narrative": {canaryNarrative}}
	}
	htmx := map[string]string{"HX-Request": "true", "Origin": disp.base, "Sec-Fetch-Site": "same-origin"}

	// The dispatcher takes the call: the history panel looks the caller,
	// the victim and the address up as they are typed.
	key := formKey(t, disp.get("/incidents/new"), "form#intake")
	for _, v := range []url.Values{{"address": {canaryAddress}}, {"caller_phone": {canaryPhone}},
		{"victim_name": {canaryVictim}}, {"caller_name": {canaryCaller}, "suspect_name": {"Bolot Canaryov"}}} {
		if resp := disp.postFormHeaders("/incidents/history", v, htmx); resp.StatusCode != http.StatusOK {
			t.Errorf("history lookup: %d", resp.StatusCode)
		}
	}
	// A submission with errors, and one while the database is unreachable:
	// both keep what was typed.
	bad := call(key)
	bad.Del("type_id")
	bad.Set("victim_age", "two hundred")
	if resp := disp.postForm("/incidents", bad); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("invalid call: %d, want 422", resp.StatusCode)
	}
	down := run.down.client(t)
	down.hc.Transport = recorder{who: "dispatcher (database down)", next: http.DefaultTransport, mu: &run.mu, log: &run.exchanges}
	down.setCookie(sessionCookie, disp.cookie(sessionCookie))
	run.down.DB.Pool.Close()
	resp := down.postForm("/incidents", call(key))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body(t, resp), canaryVictim) {
		t.Errorf("call while the database is down: %d, want 503 with the input kept", resp.StatusCode)
	}
	// The call is logged.
	resp = disp.postForm("/incidents", call(key))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log the call: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	loc, err := url.Parse(location(resp))
	if err != nil {
		t.Fatal(err)
	}
	page := loc.Path
	id := strings.TrimPrefix(page, "/incidents/")
	if txt := body(t, disp.get(page)); !strings.Contains(txt, canaryVictim) || !strings.Contains(txt, canaryAddress) {
		t.Fatal("the incident page does not show the victim and the address: the canary would find nothing")
	}

	// Dispatch, with a wrong unit first.
	disp.postForm(page+"/units", url.Values{"unit_id": {"not-a-unit"}})
	// LEN-11 is on a demo call: the move is confirmed.
	if resp := disp.postForm(page+"/units", url.Values{"unit_id": {itoa(unitID)}, "move": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dispatch: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	disp.get("/board")
	disp.get("/board/fragment")

	// The officer of the unit: the list, the incident, a danger screen and
	// the stages, with a refused stage first.
	off := run.client(t, "officer", "officer-demo-2026")
	off.get("/my")
	off.postForm(page+"/stage", url.Values{"key": {formKey(t, off.get(page), "form.stage-form")}, "stage": {"flying"}})
	form := doc(t, off.get(page+"/danger"))
	answers := url.Values{}
	form.Find(`input[type="radio"]`).Each(func(_ int, s *goquery.Selection) {
		if name, _ := s.Attr("name"); answers.Get(name) == "" {
			answers.Set(name, s.AttrOr("value", ""))
		}
	})
	if len(answers) == 0 {
		t.Fatal("the danger screen has no questions")
	}
	off.postForm(page+"/danger", url.Values{}) // unanswered: refused
	if resp := off.postForm(page+"/danger", answers); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("danger screen: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	for _, stage := range []string{"en_route", "on_scene"} {
		k := formKey(t, off.get(page), "form.stage-form")
		if resp := off.postForm(page+"/stage", url.Values{"key": {k}, "stage": {stage}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("stage %s: %d %s", stage, resp.StatusCode, errorText(doc(t, resp)))
		}
	}
	off.get("/my")
	off.get("/my/work") // the call's follow-up, with its victim's safe-contact rule (none recorded)
	off.get("/my/work/fragment")

	// Refusals and unknown records.
	gori := run.client(t, "officer.gori", "officer-gori-2026")
	if resp := gori.get(page); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer of another district: %d, want 403", resp.StatusCode)
	}
	gori.postForm(page+"/stage", url.Values{"stage": {"en_route"}})
	for _, p := range []string{"/incidents/999999", "/incidents/abc", "/incidents/" + id + "/nothing-here"} {
		disp.get(p)
	}
	disp.postForm("/incidents/999999/units", url.Values{"unit_id": {itoa(unitID)}})

	// The supervisor: lists and dashboards, then the address is made
	// confidential and the flag lifted (once without a reason).
	sup := run.client(t, "supervisor", "supervise-demo-2026")
	for _, p := range []string{"/dashboard", "/orders/expiring", "/referrals/open", "/work", page} {
		sup.get(p)
	}
	disp.postForm(page+"/confidential", url.Values{"confidential": {"on"}})
	disp.get(page)
	if b := body(t, disp.get("/board/fragment")); strings.Contains(b, canaryAddress) || strings.Contains(b, canaryNotes) {
		t.Error("the dispatcher's board shows the address once it is confidential")
	}
	off.get(page)
	sup.postForm(page+"/confidential", url.Values{"confidential": {"off"}, "lift_reason": {"no"}})
	sup.postForm(page+"/confidential", url.Values{"confidential": {"off"}, "lift_reason": {"The victim asked for it."}})
	admin := run.client(t, "admin", "admin-demo-2026")
	for _, p := range []string{"/admin/", "/admin/users", page} {
		admin.get(p)
	}

	// The officer clears the call.
	k := formKey(t, off.get(page), "form.stage-form")
	off.postForm(page+"/stage", url.Values{"key": {k}, "stage": {"cleared"}, "disposition_id": {itoa(dispositionID)}})
	disp.get("/board/fragment")
	disp.postForm("/logout", nil)

	// Every notification sent so far arrives before this one.
	if _, err := db.Pool.Exec(ctx, `SELECT pg_notify($1, 'test_end:0')`, postgres.ChangesChannel); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		run.mu.Lock()
		n := len(run.payloads)
		last := ""
		if n > 0 {
			last = run.payloads[n-1]
		}
		run.mu.Unlock()
		if last == "test_end:0" && strings.Contains(run.stream.String(), "incident:"+id) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications did not arrive: %d payloads, last %q; stream %q", n, last, run.stream.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	run.mu.Lock()
	defer run.mu.Unlock()

	// 1. No URL, header or page but the incident page shows the canary
	// (a failed form may keep it in its fields).
	seenOnIncidentPage, sawWhereOnList := false, false
	for _, ex := range run.exchanges {
		what := ex.who + ": " + ex.method + " " + ex.path + " (" + strconv.Itoa(ex.status) + ")"
		if m := leaks(ex.url); m != nil {
			t.Errorf("%s: the URL holds %v", what, m)
		}
		for name, vals := range ex.header {
			if m := leaks(strings.Join(vals, "\n")); m != nil {
				t.Errorf("%s: header %s holds %v", what, name, m)
			}
		}
		d, err := goquery.NewDocumentFromReader(strings.NewReader(ex.body))
		if err != nil {
			t.Fatal(err)
		}
		if isIncidentPage(d) && ex.status < 500 && ex.who != "officer.gori" {
			seenOnIncidentPage = seenOnIncidentPage || leaks(ex.body) != nil
			continue
		}
		page := withoutTypedValues(d)
		if list := ex.path == "/board/fragment" || ex.path == "/board" || ex.path == "/my" || ex.path == "/my/fragment"; list {
			// The board and the officer's cards show where to go (issue
			// 14): the address and location notes, nothing else.
			sawWhereOnList = sawWhereOnList || strings.Contains(ex.body, canaryAddress)
			where := strings.NewReplacer(canaryAddress, "", canaryNotes, "")
			page = where.Replace(page)
			if m := leaks(where.Replace(ex.body)); m != nil {
				t.Errorf("%s: a list holds %v beside the address", what, m)
			}
		}
		if m := leaks(page); m != nil {
			t.Errorf("%s: the page holds %v outside the fields the user typed", what, m)
		}
	}
	if !seenOnIncidentPage {
		t.Error("no incident page showed the canary: the check is blind")
	}
	if !sawWhereOnList {
		t.Error("no board or officer's list showed the canary's address: the lists' check is blind")
	}

	// 2. No log line.
	logs := run.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for _, line := range lines {
		if m := leaks(line); m != nil {
			t.Errorf("log line holds %v: %s", m, line)
		}
	}
	if !strings.Contains(logs, `"route":"/incidents/{id}"`) || !strings.Contains(logs, `"msg":"database unavailable"`) {
		t.Errorf("the server's log was not captured (%d lines)", len(lines))
	}

	// 3. No NOTIFY payload, and none but "kind:id"; the boards' stream
	// relays ids only too.
	payload := regexp.MustCompile(`^[a-z_]+:[0-9]+$`)
	sawIncident := false
	for _, p := range run.payloads {
		if m := leaks(p); m != nil {
			t.Errorf("NOTIFY payload %q holds %v", p, m)
		}
		if !payload.MatchString(p) {
			t.Errorf("NOTIFY payload %q is not kind:id", p)
		}
		sawIncident = sawIncident || p == "incident:"+id
	}
	if !sawIncident {
		t.Errorf("no NOTIFY for incident %s among %d payloads", id, len(run.payloads))
	}
	sc := bufio.NewScanner(strings.NewReader(run.stream.String()))
	for sc.Scan() {
		if m := leaks(sc.Text()); m != nil {
			t.Errorf("board event stream line %q holds %v", sc.Text(), m)
		}
	}

	// 4. The audit trail records actions, not the people they concern.
	rows, err := db.Pool.Query(ctx, `SELECT action, record_type, record_id, detail::text FROM audit_events`)
	if err != nil {
		t.Fatal(err)
	}
	audited, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var a, b, c, d string
		err := r.Scan(&a, &b, &c, &d)
		return strings.Join([]string{a, b, c, d}, " "), err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range audited {
		if m := leaks(a); m != nil {
			t.Errorf("audit row holds %v: %s", m, a)
		}
	}
}
