package server

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// sseStream is an open event stream whose "changed" data lines and other
// event names are collected as they arrive.
type sseStream struct {
	mu    sync.Mutex
	lines []string // "changed:incident:12", "alive", "ended"
	done  chan struct{}
}

// openStream opens path as c and collects what it sends until the test
// ends or the server closes it.
func openStream(t *testing.T, c *client, path string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{Jar: c.jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	s := &sseStream{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				s.mu.Lock()
				if event == "changed" {
					s.lines = append(s.lines, "changed:"+strings.TrimPrefix(line, "data: "))
				} else {
					s.lines = append(s.lines, event)
				}
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-s.done
	})
	return s
}

// count is how many times line has arrived.
func (s *sseStream) count(line string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lines {
		if l == line {
			n++
		}
	}
	return n
}

// waitFor waits until line has arrived n times.
func (s *sseStream) waitFor(t *testing.T, who, line string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.count(line) < n {
		if time.Now().After(deadline) {
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("%s: %q not received %d time(s) within 10 s; got %q", who, line, n, s.lines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLiveStreamsCarryOnlyTheirAreasIDs replays issue 12's item 5 through
// HTTP: every board used to receive every district's ids. Now a board
// receives the ids of the incidents and units of its area only, an officer's
// stream those of their unit's incidents and their unit, and a board with
// no area everything.
func TestLiveStreamsCarryOnlyTheirAreasIDs(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	hub := pgtest.RunHub(t, db, logger)
	ts := newTestServerOn(t, db, func(d *Deps) { d.Hub = hub })
	fx := newRouteFixture(t, ts) // LEN: incident fx.incident with LEN-2 on it; LEN-1 free
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	osh := createDistrict(t, db, "OSH", "Osh city")
	oshUnit := refdata.Unit{CallSign: "OSH-1", DistrictID: osh.ID, Active: true}
	must(db.SaveUnit(ctx, &oshUnit, audit.Actor{}))
	key, received, err := db.CreateDraft(ctx, fx.target)
	must(err)
	oshIncident, _, _, err := db.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: fx.kindIDs["incident-types"],
		Priority: 1, DistrictID: &osh.ID, Address: "Kurmanjan Datka 5"}, time.UTC, audit.Actor{UserID: fx.target})
	must(err)
	len1, len2 := fx.kindIDs["units"], queryInt(t, db, `SELECT id FROM units WHERE call_sign = 'LEN-2'`)

	createUser(t, db, "disp-len", account.Dispatcher, "LEN")
	createUser(t, db, "disp-osh", account.Dispatcher, "OSH")
	createUser(t, db, "sup-osh", account.Supervisor, "OSH")
	createUser(t, db, "disp-all", account.Dispatcher, "")
	if _, err := db.CreateUser(ctx, account.Draft{Username: "off-len2", Role: "officer", District: "LEN", Unit: "LEN-2",
		Password: testPassword}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	streams := map[string]*sseStream{}
	for who, path := range map[string]string{"disp-len": "/board/events", "disp-osh": "/board/events",
		"sup-osh": "/board/events", "disp-all": "/board/events", "off-len2": "/my/events"} {
		c := ts.client(t)
		c.mustLogin(who, testPassword)
		streams[who] = openStream(t, c, path)
		streams[who].waitFor(t, who, "changed:resync", 1) // subscribed
	}

	ev := func(kind string, id int64) string { return "changed:" + kind + ":" + itoa(id) }
	inO, unO, inL, un1, un2 := ev("incident", oshIncident), ev("unit", oshUnit.ID), ev("incident", fx.incident), ev("unit", len1), ev("unit", len2)
	must(db.AssignUnit(ctx, oshIncident, oshUnit.ID, audit.Actor{UserID: fx.target})) // inO, unO
	must(db.AssignUnit(ctx, fx.incident, len1, audit.Actor{UserID: fx.target}))       // inL, un1
	must(pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {                          // inO, un2: the last of all
		if err := postgres.Notify(ctx, tx, "incident", oshIncident); err != nil {
			return err
		}
		return postgres.Notify(ctx, tx, "unit", len2)
	}))

	tests := []struct {
		who     string
		last    string // the last event it receives
		lastN   int
		want    []string
		mustNot []string
	}{
		{"disp-len", un2, 1, []string{inL, un1, un2}, []string{inO, unO}},
		{"disp-osh", inO, 2, []string{inO, unO}, []string{inL, un1, un2}},
		{"sup-osh", inO, 2, []string{inO, unO}, []string{inL, un1, un2}},
		{"disp-all", un2, 1, []string{inO, unO, inL, un1, un2}, nil},
		{"off-len2", un2, 1, []string{inL, un2}, []string{inO, unO, un1}},
	}
	for _, tt := range tests {
		s := streams[tt.who]
		s.waitFor(t, tt.who, tt.last, tt.lastN)
		for _, w := range tt.want {
			// A stream whose area check could not be made (the database
			// slow under the whole suite's load) sends a resync in the
			// event's place: the board re-reads everything, which covers
			// it. The first resync is the one every stream starts with.
			if s.count(w) == 0 && s.count("changed:resync") < 2 {
				t.Errorf("%s: %s not received (nor a resync in its place)", tt.who, w)
			}
		}
		for _, w := range tt.mustNot {
			if s.count(w) != 0 {
				t.Errorf("%s: received %s, a record outside its area", tt.who, w)
			}
		}
	}

	// A change of reference data (here a new unit) reaches every open
	// board and officer's list, as a kind of its own.
	osh2 := refdata.Unit{CallSign: "OSH-2", DistrictID: osh.ID, Active: true}
	must(db.SaveUnit(ctx, &osh2, audit.Actor{}))
	for _, tt := range tests {
		streams[tt.who].waitFor(t, tt.who, "changed:refdata:1", 1)
	}
}

// TestLiveRegionSessionEnd: issue 14's bare board. A live page's stream
// says "ended" when its session ends, without a request from the page;
// with the session over, its fragment and stream answer 401 (no redirect
// to a login page that would come back to a bare fragment), an htmx
// request is sent to log in for its page, and logging in with a fragment
// as the destination lands on the whole page.
func TestLiveRegionSessionEnd(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(d *Deps) { d.IdleTimeout = time.Second })
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	s := openStream(t, c, "/board/events")
	s.waitFor(t, "ann", "ended", 1)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream stayed open after saying its session ended")
	}

	for _, path := range []string{"/board/fragment", "/board/events"} {
		req := c.newRequest(http.MethodGet, path, nil)
		if path == "/board/events" {
			req.Header.Set("Accept", "text/event-stream")
		} else {
			req.Header.Set("HX-Request", "true")
			req.Header.Set("HX-Current-URL", c.base+"/board")
		}
		resp := c.do(req)
		if resp.StatusCode != http.StatusUnauthorized || location(resp) != "" {
			t.Errorf("GET %s after the session ended: status %d, Location %q; want 401 and no redirect", path, resp.StatusCode, location(resp))
		}
		if got := resp.Header.Get("HX-Redirect"); path == "/board/fragment" && got != "/login?next=%2Fboard" {
			t.Errorf("GET %s: HX-Redirect %q, want the login page for the board", path, got)
		}
	}
	// A page (not a part of one) still goes to the login page, for itself.
	wantRedirect(t, c.get("/board/fragment"), "/login?next=%2Fboard")

	// Whoever arrives at /login?next=/board/fragment lands on the board.
	if next, _ := doc(t, c.get("/login?next=%2Fboard%2Ffragment")).Find(`input[name="next"]`).Attr("value"); next != "/board" {
		t.Errorf("login form's next %q, want /board", next)
	}
	for _, next := range []string{"/board/fragment", "/board/events"} {
		resp := c.postForm("/login", url.Values{"username": {"ann"}, "password": {testPassword}, "next": {next}})
		wantRedirect(t, resp, "/board")
	}
}

// TestUnitsKeepTheirOwnState: an officer pressing Cleared clears their
// own unit only while another unit is on the incident; assigning a unit
// that is busy on another call asks first, and the confirmed move takes
// it off that call.
func TestUnitsKeepTheirOwnState(t *testing.T) {
	f := newOfficerFixture(t) // f.incident has LEN-11, the officer's unit
	ctx := context.Background()
	db := f.ts.DB
	len12 := refdata.Unit{CallSign: "LEN-12", DistrictID: f.district.ID, Active: true}
	if err := db.SaveUnit(ctx, &len12, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	dispo := refdata.Disposition{Code: "ARREST", Name: "Arrest", Active: true}
	if err := db.SaveDisposition(ctx, &dispo, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	if resp := f.c.postForm(f.incident+"/units", url.Values{"unit_id": {itoa(len12.ID)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign a free LEN-12: %d, want 303 without a question", resp.StatusCode)
	}
	resp := f.officer.postForm(f.incident+"/stage", url.Values{"key": {stageKey(t, f.officer, f.incident)}, "stage": {"cleared"},
		"disposition_id": {itoa(dispo.ID)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("officer clears: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	if got := flashText(doc(t, f.officer.get(location(resp)))); !strings.Contains(got, "LEN-11 cleared") {
		t.Errorf("flash %q, want LEN-11 cleared with the incident open", got)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incidents WHERE cleared_at IS NULL`); n != 1 {
		t.Error("one officer's Cleared closed the incident with LEN-12 still on it")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incident_units WHERE released_at IS NULL AND unit_id = $1`, len12.ID); n != 1 {
		t.Error("one officer's Cleared released LEN-12 too")
	}

	// LEN-12 is busy on that call: assigning it to a new one asks first.
	other := location(f.c.postForm("/incidents", f.validForm(f.openForm(t))))
	resp = f.c.postForm(other+"/units", url.Values{"unit_id": {itoa(len12.ID)}})
	d := doc(t, resp)
	if resp.StatusCode != http.StatusOK || d.Find(`form input[name="move"][value="yes"]`).Length() != 1 ||
		!strings.Contains(d.Find("#move-msg").Text(), "LEN-12") {
		t.Fatalf("assign busy LEN-12: %d %q, want a question with a move button", resp.StatusCode, d.Find("main").Text())
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incident_units WHERE unit_id = $1`, len12.ID); n != 1 {
		t.Fatal("the busy unit was assigned before the dispatcher confirmed")
	}
	if resp := f.c.postForm(other+"/units", url.Values{"unit_id": {itoa(len12.ID)}, "move": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed move: %d", resp.StatusCode)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incident_units WHERE unit_id = $1 AND released_at IS NULL`, len12.ID); n != 1 {
		t.Errorf("LEN-12 is on %d open assignments after the move, want 1", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incident_events WHERE kind = 'unit_released' AND data ? 'moved_to'`); n != 1 {
		t.Errorf("%d recorded moves, want 1", n)
	}
}

// TestDispatcherClearsOneUnitAndOfficerTakesABreak (issue 14): a
// dispatcher's Cleared clears the unit chosen, or all of them only when
// told so; the last unit clears with a disposition and closes the call.
// An officer puts their own unit on a break (not while it is on a call),
// and the board shows it.
func TestDispatcherClearsOneUnitAndOfficerTakesABreak(t *testing.T) {
	f := newOfficerFixture(t) // f.incident has LEN-11, the officer's unit
	ctx := context.Background()
	db := f.ts.DB
	len12 := refdata.Unit{CallSign: "LEN-12", DistrictID: f.district.ID, Active: true}
	if err := db.SaveUnit(ctx, &len12, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	dispo := refdata.Disposition{Code: "ADVICE", Name: "Advice given", Active: true}
	if err := db.SaveDisposition(ctx, &dispo, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	if resp := f.c.postForm(f.incident+"/units", url.Values{"unit_id": {itoa(len12.ID)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign LEN-12: %d", resp.StatusCode)
	}
	d := doc(t, f.c.get(f.incident))
	var offered []string
	d.Find(`#f-clear_unit option`).Each(func(_ int, o *goquery.Selection) { offered = append(offered, o.AttrOr("value", "")+"="+o.Text()) })
	if want := "=Choose…|" + itoa(f.unit.ID) + "=LEN-11|" + itoa(len12.ID) + "=LEN-12|all=All units (closes the incident)"; strings.Join(offered, "|") != want {
		t.Errorf("the dispatcher's Cleared offers %q, want %q", strings.Join(offered, "|"), want)
	}
	clear := func(unit string, dispo int64) *http.Response {
		v := url.Values{"key": {stageKey(t, f.c, f.incident)}, "stage": {"cleared"}, "unit": {unit}}
		if dispo != 0 {
			v.Set("disposition_id", itoa(dispo))
		}
		return f.c.postForm(f.incident+"/stage", v)
	}
	onCall := func() int64 {
		return queryInt(t, db, `SELECT count(*) FROM incident_units WHERE released_at IS NULL`)
	}
	// No unit chosen: refused, nothing cleared.
	if resp := clear("", dispo.ID); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "Choose which unit clears") {
		t.Errorf("Cleared with no unit chosen: %d, want 422 asking which", resp.StatusCode)
	}
	if n := onCall(); n != 2 {
		t.Fatalf("%d units on the call after a refused Cleared, want 2", n)
	}
	// LEN-12 clears; LEN-11 stays and the call stays open.
	resp := clear(itoa(len12.ID), 0)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear LEN-12: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	if got := flashText(doc(t, f.c.get(location(resp)))); !strings.Contains(got, "LEN-12 cleared") {
		t.Errorf("flash %q, want LEN-12 cleared", got)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incident_units WHERE released_at IS NULL AND unit_id = $1`, f.unit.ID); n != 1 || onCall() != 1 {
		t.Error("clearing LEN-12 did not leave LEN-11 alone on the call")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incidents WHERE cleared_at IS NULL`); n != 1 {
		t.Error("clearing one unit closed the incident")
	}

	// While on the call, the officer cannot take a break.
	resp = f.officer.postForm("/my/status", url.Values{"status": {"on_break"}})
	if got := flashText(doc(t, f.officer.get(location(resp)))); !strings.Contains(got, "LEN-11 is on an incident") {
		t.Errorf("a break while on a call: flash %q", got)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM units WHERE id = $1 AND status = 'on_break'`, f.unit.ID); n != 0 {
		t.Error("the unit went on a break while on a call")
	}

	// The last unit clears with a disposition, which closes the call.
	if resp := clear(itoa(f.unit.ID), 0); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("the last unit cleared without a disposition: %d, want 422", resp.StatusCode)
	}
	if resp := clear(itoa(f.unit.ID), dispo.ID); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear the last unit: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incidents WHERE cleared_at IS NULL`); n != 0 || onCall() != 0 {
		t.Error("the last unit's Cleared did not close the incident")
	}

	// Free, the officer takes a break; the board shows it, with the time.
	my := doc(t, f.officer.get("/my"))
	if n := my.Find(`.unit-own-status button[data-status]`).Length(); n != 2 {
		t.Errorf("/my offers %d statuses to a free unit, want 2 (on break, out of service)", n)
	}
	resp = f.officer.postForm("/my/status", url.Values{"status": {"on_break"}})
	if got := flashText(doc(t, f.officer.get(location(resp)))); got != "LEN-11 is now: On break." {
		t.Errorf("flash %q", got)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM units WHERE id = $1 AND status = 'on_break' AND status_since > now() - interval '1 minute'`, f.unit.ID); n != 1 {
		t.Error("the unit is not on a break since just now")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM audit_events WHERE action = 'unit.status'`); n != 1 {
		t.Errorf("%d audit rows of the status change, want 1", n)
	}
	row := doc(t, f.c.get("/board/fragment")).Find(`#units-h`).Parent().Find("tr").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.TrimSpace(s.Find("td").First().Text()) == "LEN-11"
	})
	if got := strings.Join(strings.Fields(row.Find(".unit-status").Text()), " "); got != "On break" || row.Find("time[data-tick]").Length() != 1 {
		t.Errorf("the board shows LEN-11 as %q, want On break with its time in status", got)
	}
	// Only the three own statuses; back to available.
	f.officer.postForm("/my/status", url.Values{"status": {"dispatched"}})
	if n := queryInt(t, db, `SELECT count(*) FROM units WHERE id = $1 AND status = 'on_break'`, f.unit.ID); n != 1 {
		t.Error("an officer set their unit to dispatched")
	}
	f.officer.postForm("/my/status", url.Values{"status": {"available"}})
	if n := queryInt(t, db, `SELECT count(*) FROM units WHERE id = $1 AND status = 'available'`, f.unit.ID); n != 1 {
		t.Error("the officer could not make the unit available again")
	}
}
