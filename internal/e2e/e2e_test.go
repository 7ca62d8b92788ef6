package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
)

// Demo accounts (internal/seed): two dispatchers, one per deployment.
const (
	dispatcher, dispatcherPassword = "dispatcher", "dispatch-demo-2026"
	goriDispatcher, goriPassword   = "dispatcher.gori", "dispatch-gori-2026"
)

// liveBoardTimeout is how long a change may take to reach another
// dispatcher's open board.
const liveBoardTimeout = 5 * time.Second

var incidentNumber = regexp.MustCompile(`^[A-Z]+-\d{4}-\d+$`)

// openBoard logs b in as a dispatcher, opens the live board and waits
// until its event stream is connected: the stream's first event makes
// htmx re-read #board, so a finished /board/fragment request after the
// page load means the stream is open and subscribed. It then marks the
// window, so that a later check can tell the page was never reloaded.
func openBoard(b *browser, username, password, windowMark string) {
	b.t.Helper()
	mark := b.mark()
	b.login(username, password, "/board")
	b.waitRequest(mark, `^/board/fragment$`, 10*time.Second)
	events := false
	for _, r := range b.requestsSince(mark) {
		if u, _ := url.Parse(r.url); u.Path == "/board/events" && r.status == 200 && r.typ == network.ResourceTypeEventSource {
			events = true
		}
	}
	if !events {
		b.t.Fatalf("browser %s: the board opened no event stream (GET /board/events, 200)", b.name)
	}
	mustEval[string](b, fmt.Sprintf(`window.__e2eMark = %s`, jsString(windowMark)))
}

// wantNoReload fails the test if b's page was replaced since openBoard set
// windowMark, or navigated at all since navs navigations.
func wantNoReload(b *browser, windowMark string, navs int) {
	b.t.Helper()
	if got := mustEval[string](b, `String(window.__e2eMark)`); got != windowMark {
		b.t.Errorf("browser %s: the board was reloaded (window mark %q, want %q)", b.name, got, windowMark)
	}
	if n := b.navigations(); n != navs {
		b.t.Errorf("browser %s: %d navigation(s) while watching the board, want none", b.name, n-navs)
	}
}

// boardShows is a JavaScript condition: the board lists the open incident
// number; when callSign is set, the incident's row names the unit and the
// unit's row in the Units panel is "Dispatched" to the incident.
func boardShows(number, callSign string) string {
	return fmt.Sprintf(`(() => {
		const num = %s, cs = %s;
		const rows = [...document.querySelectorAll("#board table.board tbody tr")];
		const inc = rows.find(r => r.cells[0].innerText.trim().split(/\s+/)[0] === num);
		if (!inc) return false;
		if (cs === "") return true;
		if (!inc.cells[4].innerText.split(/,\s*/).map(s => s.trim()).includes(cs)) return false;
		const panel = document.querySelector('#board section[aria-labelledby="units-h"]');
		const unit = panel && [...panel.querySelectorAll("tbody tr")].find(r => r.cells[0].innerText.trim() === cs);
		return !!unit && unit.cells[2].querySelector(".unit-status").innerText.trim() === "Dispatched" && unit.cells[3].innerText.trim() === num;
	})()`, jsString(number), jsString(callSign))
}

// tabTo presses Tab until the element with id has the focus (at most max
// presses) and returns how many it took.
func (b *browser) tabTo(id string, max int) int {
	b.t.Helper()
	for n := 0; n <= max; n++ {
		if b.activeID() == id {
			return n
		}
		if n < max {
			b.press("\t")
		}
	}
	b.t.Fatalf("browser %s: #%s not reached with %d Tab presses; focus is on #%s", b.name, id, max, b.activeID())
	return 0
}

// chooseByTyping types text into the focused select, as a keyboard user
// does (the select jumps to the first option starting with it), and checks
// the chosen option's text starts with want.
func (b *browser) chooseByTyping(id, text, want string) string {
	b.t.Helper()
	b.wantFocus(id)
	b.press(text)
	got := b.selectedText(id)
	if !strings.HasPrefix(got, want) {
		b.t.Fatalf("browser %s: typing %q in #%s chose %q, want an option starting %q", b.name, text, id, got, want)
	}
	return got
}

// TestDispatcherLogsCallWithKeyboard is the dispatcher's acceptance test: a
// call is logged and a unit assigned with the keyboard alone, and another
// dispatcher's open board shows both within seconds, without a reload.
func TestDispatcherLogsCallWithKeyboard(t *testing.T) {
	a := startApp(t)
	bA := newBrowser(t, a, "A", desktopW, desktopH)
	bB := newBrowser(t, a, "B", desktopW, desktopH)

	bA.login(dispatcher, dispatcherPassword, "/board")

	// Issue 16: the victim of this call was in an earlier one (same name
	// and age, another place), not yet linked to anyone.
	earlier := storeVictimCall(t, a, "Tsminda Ninos 4, bina 2", "Saltanat Usenova", 29)

	// B, a second city-wide dispatcher (no district: the whole control
	// room's area), watches the board.
	if _, err := a.DB.CreateUser(context.Background(), account.Draft{Username: "dispatcher.two", Role: "dispatcher",
		FullName: "Second Dispatcher", Password: dispatcherPassword + "-two"}, audit.Actor{Username: "test"}); err != nil {
		t.Fatal(err)
	}
	openBoard(bB, "dispatcher.two", dispatcherPassword+"-two", "B-board-1")
	navsB := bB.navigations()
	fragmentsB := bB.mark()
	bB.screenshot("B-board-before")

	// A: Alt+N opens the intake form.
	bA.waitFor("the New call button", stepTimeout, `!!document.querySelector('[data-shortcut="n"]')`)
	bA.screenshot("A-board")
	bA.press("n", chromedp.ModifierAlt)
	bA.waitPath(`/incidents/new`, stepTimeout)

	// Fill it with the keyboard only. The address field has the focus.
	bA.wantFocus("f-address")
	const address = "ul. Kievskaya 118, kv. 7"
	bA.press(address)
	if got := mustEval[string](bA, `document.getElementById("f-address").value`); got != address {
		t.Fatalf("address field holds %q, want %q", got, address)
	}
	bA.tabTo("f-district_id", 1)
	bA.chooseByTyping("f-district_id", "Okt", "Oktyabrsky (OKT)")
	tabs := bA.tabTo("f-type_id", 8)
	typ := bA.chooseByTyping("f-type_id", "Domestic", "Domestic violence")
	bA.tabTo("f-priority", 1)
	prio := bA.chooseByTyping("f-priority", "P1", "P1 ")
	bA.tabTo("f-weapons", 1)
	bA.chooseByTyping("f-weapons", "Y", "Yes")
	bA.tabTo("f-caller_name", 4)
	bA.press("Aida Temirova")
	// The victim's name and age: the panel offers "same person as in
	// DV-...?"; once confirmed it says "2nd incident in 12 months" before
	// the call is saved.
	typed := bA.mark()
	mustEval[bool](bA, `(() => { const set = (id, v) => { const e = document.getElementById(id); e.value = v;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); };
		set("f-victim_name", "Saltanat Usenova"); set("f-victim_age", "29"); return true })()`)
	sameYes := `document.querySelector('#person-offers input[name="victim_same_` + strconv.FormatInt(earlier, 10) + `"][value="yes"]')`
	bA.waitFor("the 'same person' offer", stepTimeout, "!!"+sameYes)
	bA.waitNetworkIdle(typed, 600*time.Millisecond, stepTimeout) // the panel's lookups as typed are done
	mustEval[bool](bA, sameYes+`.click(), true`)
	bA.waitFor(`"2nd incident in 12 months" on the intake panel`, stepTimeout,
		`(document.querySelector("#history .repeat-headline") || {}).textContent === "2nd incident in 12 months"`)
	t.Logf("intake: address, district, %d Tabs to the type (%q), priority %q, weapons, caller", tabs, typ, prio)
	bA.screenshot("A-intake")

	// Alt+S logs the call and shows the incident.
	bA.press("s", chromedp.ModifierAlt)
	incPath := bA.waitPath(`/incidents/\d+`, stepTimeout)
	h1 := mustEval[string](bA, `document.querySelector("main h1").innerText`)
	number := ""
	if f := strings.Fields(h1); len(f) > 0 {
		number = f[0]
	}
	if !incidentNumber.MatchString(number) {
		t.Fatalf("incident page %s: h1 %q does not start with an incident number", incPath, h1)
	}
	if flash := mustEval[string](bA, `(document.querySelector("main > .flash") || {innerText: ""}).innerText`); !strings.Contains(flash, "Call logged as "+number) {
		t.Errorf("incident page flash = %q, want it to say the call was logged as %s", flash, number)
	}
	facts := mustEval[string](bA, `document.querySelector("dl.kv").innerText`)
	for _, want := range []string{address, "Aida Temirova", "YES"} {
		if !strings.Contains(facts, want) {
			t.Errorf("incident page facts lack %q (typed on the intake form):\n%s", want, facts)
		}
	}
	t.Logf("logged %s at %s", number, incPath)
	var linked bool
	if err := a.DB.Pool.QueryRow(context.Background(), `SELECT count(DISTINCT person_id) = 1 AND count(*) = 2 FROM incident_persons
		WHERE role = 'victim' AND incident_id IN ($1, (SELECT id FROM incidents WHERE number = $2))`, earlier, number).Scan(&linked); err != nil {
		t.Fatal(err)
	}
	if !linked {
		t.Errorf("%s was not linked to the earlier incident of its victim", number)
	}

	// B's board shows the new call without a reload.
	start := time.Now()
	bB.waitFor("the new incident "+number+" on B's board", liveBoardTimeout, boardShows(number, ""))
	t.Logf("B's board showed %s %v after it was logged", number, time.Since(start).Round(time.Millisecond))

	// A: choose a unit with the keyboard. The unit select has the focus;
	// take an available unit, of the incident's district if there is one
	// (the demo's open calls keep some districts' units busy), the second
	// one if there are two, so that the choice is not simply the first
	// option.
	bA.wantFocus("f-unit_id")
	options := mustEval[[]string](bA, `[...document.getElementById("f-unit_id").options].map(o => o.text)`)
	var available, sameDistrict []string
	for _, o := range options {
		if strings.Contains(o, " — Available (") {
			available = append(available, o)
			if strings.HasSuffix(o, "(OKT)") {
				sameDistrict = append(sameDistrict, o)
			}
		}
	}
	if len(sameDistrict) > 0 {
		available = sameDistrict
	}
	if len(available) == 0 {
		t.Fatalf("no available unit to assign; options: %q", options)
	}
	choice := available[min(1, len(available)-1)]
	t.Logf("unit choices: %q; choosing %q", options, choice)
	callSign, _, _ := strings.Cut(choice, " — ")
	bA.chooseByTyping("f-unit_id", callSign, callSign+" — ")

	// Alt+A assigns it; the incident page comes back with the unit.
	mustEval[bool](bA, `window.__e2eBeforeAssign = true`)
	bA.press("a", chromedp.ModifierAlt)
	start = time.Now()
	bA.waitFor("the incident page listing "+callSign, stepTimeout, fmt.Sprintf(`!window.__e2eBeforeAssign && document.readyState === "complete" &&
		[...document.querySelectorAll(".unit-list li strong")].some(e => e.textContent.trim() === %s)`, jsString(callSign)))
	if p := mustEval[string](bA, "location.pathname"); p != incPath {
		t.Errorf("after Alt+A the browser is at %s, want %s", p, incPath)
	}
	bA.screenshot("A-incident")

	// B's board shows the unit dispatched to the incident, still without
	// a reload.
	bB.waitFor(fmt.Sprintf("%s dispatched to %s on B's board", callSign, number), liveBoardTimeout, boardShows(number, callSign))
	t.Logf("B's board showed %s dispatched %v after Alt+A", callSign, time.Since(start).Round(time.Millisecond))
	bB.screenshot("B-board")
	wantNoReload(bB, "B-board-1", navsB)
	n := 0
	for _, r := range bB.requestsSince(fragmentsB) {
		if u, _ := url.Parse(r.url); u.Path == "/board/fragment" {
			n++
		}
	}
	t.Logf("B's board refreshed itself %d time(s) from /board/fragment", n)
}

// storeVictimCall stores a Gori call naming a victim and her age, a month
// ago, and returns its id.
func storeVictimCall(t *testing.T, a *app, address, victim string, age int) int64 {
	t.Helper()
	n, by := storeCall(t, a, address)
	n.Victim = incident.Person{Name: victim, Age: &age}
	n.ReceivedAt = n.ReceivedAt.Add(-30 * 24 * time.Hour)
	n.Keys = incident.KeysOf(match.Rules{Region: "KG"}, n.Address, n.Caller.Phone, n.Caller.Name, n.Victim.Name, n.Suspect.Name)
	id, _, _, err := a.DB.CreateIncident(context.Background(), n, a.Loc, by)
	if err != nil {
		t.Fatalf("store the earlier call: %v", err)
	}
	return id
}

// storeCall is a validated call ready for DB.CreateIncident: a Gori call
// logged by the Gori dispatcher, as the intake handler would make it.
func storeCall(t *testing.T, a *app, address string) (incident.New, audit.Actor) {
	t.Helper()
	ctx := context.Background()
	u, err := a.DB.UserByUsername(ctx, goriDispatcher)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := a.DB.Districts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := a.DB.IncidentTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := incident.Form{Address: address, Priority: "2", Weapons: "no"}
	for _, d := range ds {
		if d.Code == "GORI" {
			f.DistrictID = strconv.FormatInt(d.ID, 10)
		}
	}
	for _, ty := range ts {
		if ty.Code == "DV-THREAT" {
			f.TypeID = strconv.FormatInt(ty.ID, 10)
		}
	}
	if f.DistrictID == "" || f.TypeID == "" {
		t.Fatal("demo data lack the GORI district or the DV-THREAT type")
	}
	if f.Key, _, err = a.DB.CreateDraft(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	at, err := a.DB.DraftReceivedAt(ctx, f.Key, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	now, err := a.DB.NowUTC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.Validate(at, now, a.Loc, match.Rules{Region: "KG"})
	if err != nil {
		t.Fatalf("validate the call: %v", err)
	}
	return n, audit.Actor{UserID: u.ID, Username: u.Username, Role: string(u.Role), IP: "127.0.0.1"}
}

// TestBoardResyncsAfterListenConnectionKilled: a change committed while the
// server's LISTEN connection is down still reaches an open board, because
// the hub tells every board to re-read once it listens again.
func TestBoardResyncsAfterListenConnectionKilled(t *testing.T) {
	a := startApp(t)
	b := newBrowser(t, a, "B", desktopW, desktopH)
	openBoard(b, goriDispatcher, goriPassword, "B-board-1")
	navs := b.navigations()
	oldPID := a.waitListenPID(t, 0, 5*time.Second)
	n, actor := storeCall(t, a, "Tserovani, row 4, house 12")

	ctx := context.Background()
	rows, err := a.DB.Pool.Query(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'dvresponse-listen' AND datname = current_database()`)
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for rows.Next() {
		var ok bool
		if err := rows.Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			killed++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no LISTEN backend was terminated")
	}
	// At once, in the gap while the hub reconnects.
	_, number, _, err := a.DB.CreateIncident(ctx, n, a.Loc, actor)
	if err != nil {
		t.Fatalf("log the call through the store: %v", err)
	}
	committed := time.Now()
	t.Logf("LISTEN backend %d terminated; %s committed; LISTEN backends at commit: %v", oldPID, number, a.listenPIDs(t))

	b.waitFor(number+" on the board after the LISTEN connection was killed", 10*time.Second, boardShows(number, ""))
	t.Logf("the board showed %s %v after the commit", number, time.Since(committed).Round(time.Millisecond))
	newPID := a.waitListenPID(t, oldPID, 10*time.Second)
	t.Logf("the hub listens again on backend %d", newPID)
	b.screenshot("B-board")
	wantNoReload(b, "B-board-1", navs)
}

// maxStaticKB caps what the static files (CSS, JavaScript) of one page
// may weigh on the wire, compressed, with an empty cache.
const maxStaticKB = 100

// TestPagesLoadCleanAndSmall loads the board, the intake form and an
// incident page with an empty cache: no JavaScript error, no failed
// request, and the static files within maxStaticKB. It logs what each page
// transfers. The HTML is not compressed by the server (yet); its gzip size
// is logged for comparison.
func TestPagesLoadCleanAndSmall(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	n, actor := storeCall(t, a, "Karaleti, row 2, house 5")
	id, _, _, err := a.DB.CreateIncident(ctx, n, a.Loc, actor)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, a, "dispatcher", desktopW, desktopH)
	openBoard(b, dispatcher, dispatcherPassword, "board-after-login")
	cctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	_, err = chromedp.Call(cctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
	cancel()
	if err != nil {
		t.Fatalf("disable the cache: %v", err)
	}

	pages := []struct {
		name, path string
		settle     string // a request the page makes once loaded
	}{
		{"board", "/board", `^/board/fragment$`},
		{"intake", "/incidents/new", ""},
		{"incident", "/incidents/" + strconv.FormatInt(id, 10), ""},
	}
	for _, p := range pages {
		mark := b.mark()
		b.navigate(p.path)
		if p.settle != "" {
			b.waitRequest(mark, p.settle, 10*time.Second)
		}
		b.waitNetworkIdle(mark, 500*time.Millisecond, 10*time.Second)
		b.screenshot(p.name)

		var html, static, other float64
		var lines []string
		loader := ""
		for _, r := range b.requestsSince(mark) {
			if r.typ == network.ResourceTypeDocument {
				loader = r.loader
			}
		}
		for _, r := range b.requestsSince(mark) {
			if r.loader != loader {
				continue // not of this page
			}
			u, _ := url.Parse(r.url)
			switch {
			case r.typ == network.ResourceTypeDocument:
				html += r.bytes
			case strings.HasPrefix(u.Path, "/static/"):
				static += r.bytes
			default:
				other += r.bytes
			}
			enc := r.encoding
			if enc == "" {
				enc = "not compressed"
			}
			state := fmt.Sprintf("%5.1f KB, %s", kb(r.bytes), enc)
			if !r.done {
				state = "stream, still open"
			}
			where := u.Path
			if u.Scheme == "data" {
				where = "data: URL (" + strings.SplitN(u.Opaque, ",", 2)[0] + ")"
			}
			lines = append(lines, fmt.Sprintf("    %-4s %-40s %-11s %d  %s", r.method, where, r.typ, r.status, state))
		}
		outer := mustEval[string](b, `document.documentElement.outerHTML`)
		t.Logf("%s (%s): %.1f KB in all: HTML %.1f KB (gzip would make it about %.1f KB), static %.1f KB, htmx requests %.1f KB\n%s",
			p.name, p.path, kb(html+static+other), kb(html), kb(gzipLen(outer)), kb(static), kb(other), strings.Join(lines, "\n"))
		if kb(static) > maxStaticKB {
			t.Errorf("%s: static files weigh %.1f KB on the wire, want at most %d KB", p.name, kb(static), maxStaticKB)
		}
	}

	// "?" shows the keyboard help on the board, Escape hides it.
	b.navigate("/board")
	b.press("?")
	b.waitFor("the shortcut help", 5*time.Second, `document.querySelector(".help-overlay").classList.contains("open") &&
		document.querySelector(".help-overlay").getBoundingClientRect().height > 0`)
	b.screenshot("board-help")
	b.press("\u001b")
	b.waitFor("the shortcut help to close", 5*time.Second, `!document.querySelector(".help-overlay").classList.contains("open")`)
}

func kb(n float64) float64 { return n / 1024 }

func gzipLen(s string) float64 {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write([]byte(s))
	zw.Close()
	return float64(buf.Len())
}
