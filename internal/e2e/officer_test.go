package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// The demo officer (internal/seed) works in unit LEN-11 of district LEN.
const (
	officer, officerPassword = "officer", "officer-demo-2026"
	officerUnit              = "LEN-11"
)

// A phone held upright: an iPhone 12 to 15 is 390x844 CSS px at 3x.
const phoneW, phoneH, phoneScale = 390, 844, 3

// minTouch is the smallest comfortable touch target in CSS px (Apple's
// 44 pt; WCAG 2.5.5 asks 44x44).
const minTouch = 44

// maxOfficerPageKB caps what one officer page may transfer with an empty
// cache: document, static files and the requests it makes once loaded.
const maxOfficerPageKB = 100

// The officer's incident: a made-up address no demo incident has (the
// demo's house numbers stop at 220) and made-up names.
const (
	officerAddress = "Chui Ave 999, apt 77"
	victimName     = "Nurzhan Testbekova"
	suspectName    = "Ermek Testbekov"
	partnerName    = "Bishkek Women's Crisis Centre (demo)"
	dispositionTo  = "Victim referred to support services"
)

// phoneBrowser is the officer's browser, with what the test learnt about
// using the app on a phone.
type phoneBrowser struct {
	*browser
	notes []string            // phone-usability findings, reported at the end
	sizes map[string]float64  // transferred bytes by page
	seen  map[string]struct{} // notes already made
}

// newPhone starts a browser that emulates a phone: 390x844 CSS px at
// device scale 3, mobile layout, portrait, touch input, and no cache, so
// that every page load is measured as a first visit.
func newPhone(t *testing.T, a *app, name string) *phoneBrowser {
	t.Helper()
	b := newBrowser(t, a, name, phoneW, phoneH)
	b.do("emulate a phone", chromedp.EmulateViewport(phoneW, phoneH,
		chromedp.EmulateScale(phoneScale), chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch))
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatalf("browser %s: disable the cache: %v", name, err)
	}
	// Every page notes when a live region has redrawn itself (app.js
	// dispatches live:updated), so that a step waits for the first redraw
	// after the stream connects (its resync) before touching the list.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `document.addEventListener("live:updated", function () { window.__e2eLiveSynced = true; });`}); err != nil {
		t.Fatalf("browser %s: watch the live regions: %v", name, err)
	}
	return &phoneBrowser{browser: b, sizes: map[string]float64{}, seen: map[string]struct{}{}}
}

// note records a phone-usability finding once.
func (p *phoneBrowser) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if _, ok := p.seen[s]; ok {
		return
	}
	p.seen[s] = struct{}{}
	p.notes = append(p.notes, s)
}

// touchTarget is where an element sits on the screen, as a finger meets it.
type touchTarget struct {
	Found   bool    `json:"found"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	W       float64 `json:"w"`
	H       float64 `json:"h"`
	VW      float64 `json:"vw"`
	Hit     bool    `json:"hit"`     // the element (or its control) is what a touch at its centre meets
	Covered string  `json:"covered"` // what a touch meets instead
	Text    string  `json:"text"`
	// Overflow is how many px the element's content sticks out of it
	// sideways (a label wider than its button).
	Overflow float64 `json:"overflow"`
}

// checkTarget scrolls the element that the JavaScript expression el gives
// to the middle of the screen and checks it is a usable touch target: on
// the screen's width, not covered, at least minTouch px each way. A miss
// fails the test; a small target is noted.
func (p *phoneBrowser) checkTarget(what, el string) touchTarget {
	p.t.Helper()
	tg, err := eval[touchTarget](p.browser, fmt.Sprintf(`(() => {
		const el = %s;
		if (!el) return {found: false};
		el.scrollIntoView({block: "center", inline: "nearest"});
		const r = el.getBoundingClientRect();
		const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		const ok = !!hit && (hit === el || el.contains(hit) || (el.control && (hit === el.control || hit.closest("label") === el)));
		const desc = h => h ? h.tagName.toLowerCase() + (h.id ? "#" + h.id : "") + (h.className ? "." + String(h.className).trim().split(/\s+/).join(".") : "") : "nothing";
		return {found: true, x: r.left, y: r.top, w: r.width, h: r.height, vw: document.documentElement.clientWidth,
			hit: ok, covered: ok ? "" : desc(hit), overflow: el.scrollWidth - el.clientWidth, text: (el.innerText || el.value || "").trim().replace(/\s+/g, " ").slice(0, 60)};
	})()`, el))
	if err != nil || !tg.Found {
		path, _ := eval[string](p.browser, "location.pathname")
		p.t.Fatalf("browser %s: %s: no such element on %s (%v)", p.name, what, path, err)
	}
	if tg.X < -0.5 || tg.X+tg.W > tg.VW+0.5 {
		p.t.Errorf("browser %s: %s (%q) is partly off the screen: x %.0f to %.0f, screen %.0f px wide", p.name, what, tg.Text, tg.X, tg.X+tg.W, tg.VW)
	}
	if !tg.Hit {
		p.t.Errorf("browser %s: a tap on %s (%q) meets %s instead", p.name, what, tg.Text, tg.Covered)
	}
	if tg.Overflow > 0.5 {
		path := mustEval[string](p.browser, "location.pathname")
		p.note("%s: the content of %s (%q) is %.0f px wider than its %.0f px box", pathPattern(path), what, tg.Text, tg.Overflow, tg.W)
	}
	if tg.W < minTouch || tg.H < minTouch {
		path := mustEval[string](p.browser, "location.pathname")
		p.note("%s: %s (%q) is a %.0fx%.0f px touch target, under %dx%d", pathPattern(path), what, tg.Text, tg.W, tg.H, minTouch, minTouch)
	}
	return tg
}

// pathPattern replaces the ids in a path with {id}.
func pathPattern(path string) string {
	return regexp.MustCompile(`/\d+`).ReplaceAllString(path, "/{id}")
}

// tap taps the element the JavaScript expression el gives, as a finger
// would (touch events; the browser makes the click).
//
// A live region may still redraw itself between finding the element and
// touching it (a change heard after its resync): the touch then finds no
// node, nothing was touched, and it is tried again on the redrawn one.
func (p *phoneBrowser) tap(what, el string) {
	p.t.Helper()
	p.checkTarget(what, el)
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
		err := chromedp.Do(ctx, chromedp.Tap(chromedp.JSPath(el)))
		cancel()
		if err == nil {
			return
		}
		if msg := err.Error(); try < 3 && (strings.Contains(msg, "Could not find node") || strings.Contains(msg, "No node with given id")) {
			p.note("tap %s: the list redrew itself under the finger; tapped again", what)
			continue
		}
		p.t.Fatalf("browser %s: tap %s: %v", p.name, what, err)
	}
}

// tapToPage taps el, which loads another page, and waits until a new
// document at a path matching pathRe has loaded. It returns the path.
func (p *phoneBrowser) tapToPage(what, el, pathRe string) string {
	p.t.Helper()
	mustEval[bool](p.browser, `window.__e2eOldPage = true`)
	p.tap(what, el)
	p.waitFor("the page after tapping "+what, stepTimeout, `!window.__e2eOldPage && document.readyState === "complete"`)
	p.waitFor("the page's live regions to resync", stepTimeout, `!document.querySelector("[data-live]") || window.__e2eLiveSynced === true`)
	path := mustEval[string](p.browser, "location.pathname")
	if !regexp.MustCompile("^" + pathRe + "$").MatchString(path) {
		text, _ := eval[string](p.browser, "document.body.innerText")
		p.t.Fatalf("browser %s: tapping %s led to %s, want %s; the page says:\n%.2000s", p.name, what, path, pathRe, text)
	}
	p.checkFits()
	return path
}

// checkFits fails the test if the page is wider than the screen (the
// officer would have to scroll sideways).
func (p *phoneBrowser) checkFits() {
	p.t.Helper()
	w := mustEval[[]float64](p.browser, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
	if w[0] > w[1]+0.5 {
		path := mustEval[string](p.browser, "location.pathname")
		wide := mustEval[string](p.browser, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
			.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).trim().split(/\s+/).join(".") : "")).join(", ")`)
		p.t.Errorf("browser %s: %s is %.0f px wide on a %.0f px screen (sideways scrolling); wider elements: %s", p.name, path, w[0], w[1], wide)
	}
}

// weigh waits until the page loaded after mark is quiet, logs what it
// transferred and fails the test if that is over maxOfficerPageKB.
func (p *phoneBrowser) weigh(name string, mark int) {
	p.t.Helper()
	p.waitNetworkIdle(mark, 300*time.Millisecond, 10*time.Second)
	reqs := p.requestsSince(mark)
	loader := ""
	for _, r := range reqs {
		if r.typ == network.ResourceTypeDocument {
			loader = r.loader
		}
	}
	var html, static, other float64
	var lines []string
	for _, r := range reqs {
		if r.loader != loader {
			continue // the page before, or a redirect's first leg
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
		if u.Scheme == "data" {
			continue
		}
		enc := r.encoding
		if enc == "" {
			enc = "not compressed"
		}
		lines = append(lines, fmt.Sprintf("    %-4s %-36s %-10s %d %5.1f KB, %s", r.method, pathPattern(u.Path), r.typ, r.status, kb(r.bytes), enc))
	}
	total := html + static + other
	p.sizes[name] = total
	p.t.Logf("officer page %s: %.1f KB transferred (HTML %.1f KB, static %.1f KB, other %.1f KB), empty cache\n%s",
		name, kb(total), kb(html), kb(static), kb(other), strings.Join(lines, "\n"))
	if html == 0 {
		p.t.Errorf("officer page %s: no document request seen", name)
	}
	if kb(total) > maxOfficerPageKB {
		p.t.Errorf("officer page %s transferred %.1f KB, want at most %d KB", name, kb(total), maxOfficerPageKB)
	}
}

// flashText is the text of the page's flash message.
func flashText(b *browser) string {
	return mustEval[string](b, `(document.querySelector("main > .flash") || {textContent: ""}).textContent.trim()`)
}

// screen saves what the phone's screen shows now, at the current scroll
// position (not the whole page), as testdata/screenshots/<test>-<step>.png.
// It is much cheaper than a full-page screenshot of a long page at 3x.
func (p *phoneBrowser) screen(step string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("browser %s: screenshot %s: %v", p.name, step, err)
	}
	dir := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	name := filepath.Join(dir, fileSafe(p.t.Name())+"-"+fileSafe(step)+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s (the screen)", name)
}

// topScreen scrolls to the top of the page and saves the screen.
func (p *phoneBrowser) topScreen(step string) {
	p.t.Helper()
	mustEval[bool](p.browser, `(window.scrollTo(0, 0), true)`)
	p.screen(step)
}

// boardSnap is what a dispatcher's board shows of one incident and one
// unit.
type boardSnap struct {
	Listed       bool     `json:"listed"`
	Stage        string   `json:"stage"`
	Units        string   `json:"units"`
	Badges       []string `json:"badges"`
	UnitStatus   string   `json:"unitStatus"`
	UnitIncident string   `json:"unitIncident"`
}

func (s boardSnap) badge(name string) bool {
	for _, b := range s.Badges {
		if strings.EqualFold(b, name) {
			return true
		}
	}
	return false
}

// watchBoard waits (up to liveBoardTimeout) until the board in b shows
// what ok wants of incident number and unit callSign, and returns how long
// that took since start.
func watchBoard(b *browser, what, number, callSign string, start time.Time, ok func(boardSnap) bool) time.Duration {
	b.t.Helper()
	expr := fmt.Sprintf(`(() => {
		const num = %s, cs = %s;
		const out = {listed: false, stage: "", units: "", badges: [], unitStatus: "", unitIncident: ""};
		const rows = [...document.querySelectorAll("#board table.board tbody tr")];
		const inc = rows.find(r => r.cells[0].textContent.trim().split(/\s+/)[0] === num);
		if (inc) {
			out.listed = true;
			out.stage = inc.cells[5].textContent.trim();
			out.units = inc.cells[4].textContent.trim();
			out.badges = [...inc.cells[0].querySelectorAll(".badge")].map(e => e.textContent.trim());
		}
		const panel = document.querySelector('#board section[aria-labelledby="units-h"]');
		const unit = panel && [...panel.querySelectorAll("tbody tr")].find(r => r.cells[0].textContent.trim() === cs);
		if (unit) {
			const st = unit.cells[2].querySelector(".unit-status");
			out.unitStatus = (st || unit.cells[2]).textContent.trim();
			out.unitIncident = unit.cells[3].textContent.trim();
		}
		return out;
	})()`, jsString(number), jsString(callSign))
	deadline := time.Now().Add(liveBoardTimeout)
	var last boardSnap
	var lastErr error
	for {
		s, err := eval[boardSnap](b, expr)
		if err == nil {
			last = s
			if ok(s) {
				d := time.Since(start)
				b.t.Logf("board %s: %s after %v", b.name, what, d.Round(time.Millisecond))
				return d
			}
		}
		lastErr = err
		if time.Now().After(deadline) {
			b.t.Fatalf("browser %s: the board did not show %s within %v; it shows %+v (last error: %v)",
				b.name, what, liveBoardTimeout, last, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lenCall is a validated call at the officer's test address in district
// LEN, logged by the dispatcher, with weapons mentioned.
func lenCall(t *testing.T, a *app, by audit.Actor, narrative string) incident.New {
	t.Helper()
	ctx := context.Background()
	ds, err := a.DB.Districts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := a.DB.IncidentTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := incident.Form{Address: officerAddress, Priority: "1", Weapons: "yes", VictimName: victimName, VictimSex: "female",
		SuspectName: suspectName, SuspectSex: "male", Relationship: "husband", Narrative: narrative}
	for _, d := range ds {
		if d.Code == "LEN" {
			f.DistrictID = strconv.FormatInt(d.ID, 10)
		}
	}
	for _, ty := range ts {
		if ty.Code == "DV-PHYS" {
			f.TypeID = strconv.FormatInt(ty.ID, 10)
		}
	}
	if f.DistrictID == "" || f.TypeID == "" {
		t.Fatal("demo data lack the LEN district or the DV-PHYS type")
	}
	if f.Key, _, err = a.DB.CreateDraft(ctx, by.UserID); err != nil {
		t.Fatal(err)
	}
	at, err := a.DB.DraftReceivedAt(ctx, f.Key, by.UserID)
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
	return n
}

// officerIncident prepares the officer's call through the store: an
// earlier call at the same address with weapons (cleared), and the new
// call, with weapons, dispatched to LEN-11 after LEN-11 has been released
// from the demo call it was on (so that clearing ours frees the unit). It
// returns the new incident's id and number and LEN-11's id.
func officerIncident(t *testing.T, a *app) (id int64, number string, unitID int64) {
	t.Helper()
	ctx := context.Background()
	d, err := a.DB.UserByUsername(ctx, dispatcher)
	if err != nil {
		t.Fatal(err)
	}
	by := audit.Actor{UserID: d.ID, Username: d.Username, Role: string(d.Role), IP: "127.0.0.1"}
	o, err := a.DB.UserByUsername(ctx, officer)
	if err != nil {
		t.Fatal(err)
	}
	units, err := a.DB.Units(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if u.CallSign == officerUnit {
			unitID = u.ID
		}
	}
	if unitID == 0 || o.UnitID == nil || *o.UnitID != unitID {
		t.Fatalf("demo data: the officer's unit is %v, want %s (id %d)", o.UnitID, officerUnit, unitID)
	}

	// Release LEN-11 from the demo's open calls.
	rows, err := a.DB.Pool.Query(ctx, `SELECT incident_id FROM incident_units WHERE unit_id = $1 AND released_at IS NULL`, unitID)
	if err != nil {
		t.Fatal(err)
	}
	var on []int64
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			t.Fatal(err)
		}
		on = append(on, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, i := range on {
		if err := a.DB.ReleaseUnit(ctx, i, unitID, by); err != nil {
			t.Fatalf("release %s from incident %d: %v", officerUnit, i, err)
		}
	}

	// An earlier call at the address, with weapons, long cleared.
	dispo, err := a.DB.Dispositions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var warned *int64
	for _, x := range dispo {
		if x.Code == "WARNING" {
			warned = &x.ID
		}
	}
	if warned == nil {
		t.Fatal("demo data lack the WARNING disposition")
	}
	prior, priorNumber, _, err := a.DB.CreateIncident(ctx, lenCall(t, a, by, "Husband threatened her with a knife."), a.Loc, by)
	if err != nil {
		t.Fatalf("log the earlier call: %v", err)
	}
	if _, err := a.DB.SetStage(ctx, postgres.StageChange{IncidentID: prior, Stage: incident.Cleared, DispositionID: warned}, by); err != nil {
		t.Fatalf("clear the earlier call: %v", err)
	}

	// The officer's call.
	id, number, _, err = a.DB.CreateIncident(ctx, lenCall(t, a, by, "Neighbour hears shouting; he has a knife again."), a.Loc, by)
	if err != nil {
		t.Fatalf("log the call: %v", err)
	}
	if err := a.DB.AssignUnit(ctx, id, unitID, by); err != nil {
		t.Fatalf("dispatch %s: %v", officerUnit, err)
	}
	t.Logf("%s released from %d demo call(s); earlier call %s (weapons, cleared); %s dispatched to %s", officerUnit, len(on), priorNumber, officerUnit, number)
	return id, number, unitID
}

// elByText is a JavaScript expression: the first element matching css
// whose text, trimmed, is text.
func elByText(css, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%s)].find(e => e.textContent.trim().replace(/\s+/g, " ") === %s)`, jsString(css), jsString(text))
}

// elContaining is a JavaScript expression: the first element matching css
// whose text contains text.
func elContaining(css, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%s)].find(e => e.textContent.includes(%s))`, jsString(css), jsString(text))
}

// TestOfficerJourneyOnPhone is the officer's acceptance test: on a phone,
// the officer opens an assigned incident, sees its warnings, goes en route
// and on scene, completes a danger screen, records a protection order and
// a referral, and clears the incident with a disposition; a dispatcher's
// open board follows each step without a reload.
func TestOfficerJourneyOnPhone(t *testing.T) {
	began := time.Now()
	// Laps: how long each part of the journey took.
	var laps []string
	lapStart := began
	lap := func(name string) {
		laps = append(laps, fmt.Sprintf("%s %v", name, time.Since(lapStart).Round(10*time.Millisecond)))
		lapStart = time.Now()
	}
	a := startApp(t)
	incID, number, _ := officerIncident(t, a)
	// Issue 16: the victim's safe-contact rule, shown before the call-back
	// button.
	notSafe := false
	if err := a.DB.SaveSafeContact(context.Background(), incID, postgres.SafeContact{SafeToCall: &notSafe, SafeTimes: "after 18:00",
		CodeWord: "Is the bakery open?", Who: "police"}, false, audit.Actor{Username: "test"}); err != nil {
		t.Fatal(err)
	}
	lap("app and data")
	incPath := "/incidents/" + strconv.FormatInt(incID, 10)

	// D: the dispatcher's board, on a desktop.
	d := newBrowser(t, a, "D", desktopW, desktopH)
	openBoard(d, dispatcher, dispatcherPassword, "D-board-1")
	navsD := d.navigations()
	watchBoard(d, number+" dispatched to "+officerUnit, number, officerUnit, time.Now(), func(s boardSnap) bool {
		return s.Listed && s.Stage == "Dispatched" && s.Units == officerUnit && s.badge("weapons") &&
			s.UnitStatus == "Dispatched" && s.UnitIncident == number
	})
	d.screenshot("D-board-dispatched")
	lap("dispatcher's board")

	// O: the officer, on a phone, lands on "My incidents".
	o := newPhone(t, a, "O")
	mark := o.mark()
	o.login(officer, officerPassword, "/my")
	o.weigh("/my", mark)
	o.checkFits()
	o.topScreen("O-my")
	card := elContaining("article.my-incident", number)
	type cardView struct {
		Found     bool     `json:"found"`
		Warnings  []string `json:"warnings"`
		AlertTop  float64  `json:"alertTop"`
		TitleTop  float64  `json:"titleTop"`
		Before    bool     `json:"before"` // the warning comes first in the document
		Cards     int      `json:"cards"`
		OpenBelow float64  `json:"openBelow"` // bottom of the Open button
	}
	cv := mustEval[cardView](o.browser, fmt.Sprintf(`(() => {
		const c = %s;
		const n = document.querySelectorAll("article.my-incident").length;
		if (!c) return {found: false, cards: n};
		const al = c.querySelector(".alert-danger"), h = c.querySelector("h2"), open = c.querySelector("a.btn");
		return {found: true, cards: n,
			warnings: al ? [...al.querySelectorAll("li")].map(li => li.textContent.trim()) : [],
			alertTop: al ? al.getBoundingClientRect().top : -1, titleTop: h.getBoundingClientRect().top,
			before: !!al && !!(al.compareDocumentPosition(h) & Node.DOCUMENT_POSITION_FOLLOWING),
			openBelow: open ? open.getBoundingClientRect().bottom : -1};
	})()`, card))
	if !cv.Found {
		t.Fatalf("/my lists no card for %s (%d cards):\n%s", number, cv.Cards, mustEval[string](o.browser, "document.body.innerText"))
	}
	// Each warning names its source: this call, and the earlier call at
	// the same flat (incident.Warnings).
	earlier := regexp.MustCompile(`^Earlier incident DV-\d{4}-\d+ at this flat, .*: weapons`)
	for _, want := range []string{"Weapons mentioned on this call", earlier.String()} {
		found := false
		for _, w := range cv.Warnings {
			found = found || w == want || earlier.MatchString(w) && want == earlier.String()
		}
		if !found {
			t.Errorf("/my: the card of %s warns %q, want %q among them", number, cv.Warnings, want)
		}
	}
	if !cv.Before || cv.AlertTop < 0 || cv.AlertTop >= cv.TitleTop {
		t.Errorf("/my: the officer-safety warning (top %.0f) does not come before the incident's details (top %.0f)", cv.AlertTop, cv.TitleTop)
	}
	if cv.AlertTop > phoneH {
		t.Errorf("/my: the officer-safety warning starts at %.0f px, below the first screen (%d px)", cv.AlertTop, phoneH)
	}
	if cv.OpenBelow > phoneH {
		o.note("/my: the Open button of the first card ends at %.0f px, below the first screen (%d px): the officer scrolls before the first tap", cv.OpenBelow, phoneH)
	}
	t.Logf("/my: %d card(s); warnings before the details: %q", cv.Cards, cv.Warnings)
	lap("officer's phone, login, /my")

	// Tap it: the incident page, warnings first.
	mark = o.mark()
	o.tapToPage("the incident's Open button", card+`.querySelector("a.btn")`, regexp.QuoteMeta(incPath))
	o.weigh("incident page", mark)
	o.topScreen("O-incident-screen")
	o.screenshot("O-incident")
	type pageView struct {
		Alert      string  `json:"alert"`
		AlertTop   float64 `json:"alertTop"`
		StageTop   float64 `json:"stageTop"`
		StageBelow float64 `json:"stageBelow"`
		WeaponsDD  string  `json:"weaponsDD"`
		WeaponsTop float64 `json:"weaponsTop"`
	}
	pv := mustEval[pageView](o.browser, `(() => {
		const al = document.querySelector("main .alert-danger");
		const st = document.querySelector(".stage-panel");
		const dt = [...document.querySelectorAll("dl.kv dt")].find(e => e.textContent.trim() === "Weapons mentioned");
		const dd = dt && dt.nextElementSibling;
		return {alert: al ? al.textContent.trim().replace(/\s+/g, " ") : "", alertTop: al ? al.getBoundingClientRect().top : -1,
			stageTop: st ? st.getBoundingClientRect().top : -1, stageBelow: st ? st.getBoundingClientRect().bottom : -1,
			weaponsDD: dd ? dd.textContent.trim() : "", weaponsTop: dd ? dd.getBoundingClientRect().top : -1};
	})()`)
	if !regexp.MustCompile(`Earlier incident DV-\d{4}-\d+ at this flat`).MatchString(pv.Alert) || pv.AlertTop < 0 || pv.StageTop < 0 || pv.AlertTop > pv.StageTop {
		t.Errorf("incident page: want the officer-safety warning of the earlier incident above the stage buttons; warning %q at %.0f px, stage buttons at %.0f px",
			pv.Alert, pv.AlertTop, pv.StageTop)
	}
	if pv.WeaponsDD != "YES" {
		t.Errorf("incident page: Weapons mentioned = %q, want YES", pv.WeaponsDD)
	}
	if !strings.Contains(pv.Alert, "this call") && pv.WeaponsTop > phoneH {
		o.note("%s: the warning box names only the earlier incident's weapons; \"Weapons mentioned: YES\" of this call is at %.0f px, below the first screen (%d px)",
			pathPattern(incPath), pv.WeaponsTop, phoneH)
	}
	if pv.StageBelow > phoneH {
		o.note("%s: the stage buttons end at %.0f px, below the first screen (%d px): \"En route\" needs a scroll", pathPattern(incPath), pv.StageBelow, phoneH)
	}

	type ruleView struct {
		Rule      string  `json:"rule"`
		RuleTop   float64 `json:"ruleTop"`
		ButtonTop float64 `json:"buttonTop"`
		Before    bool    `json:"before"`
	}
	rv := mustEval[ruleView](o.browser, `(() => {
		const r = document.querySelector("#safe-contact .safe-rule"), b = document.querySelector("#safe-contact .call-back-button");
		if (!r || !b) return {rule: r ? r.textContent : "", ruleTop: -1, buttonTop: -1, before: false};
		return {rule: r.textContent.trim().replace(/\s+/g, " "), ruleTop: r.getBoundingClientRect().top, buttonTop: b.getBoundingClientRect().top,
			before: !!(r.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)};
	})()`)
	if !strings.Contains(rv.Rule, "NOT SAFE") || !strings.Contains(rv.Rule, "after 18:00") || !rv.Before || rv.RuleTop < 0 || rv.RuleTop >= rv.ButtonTop {
		t.Errorf("incident page: want the safe-contact rule (NOT SAFE, after 18:00) above the call-back button; rule %q at %.0f px, button at %.0f px",
			rv.Rule, rv.RuleTop, rv.ButtonTop)
	}
	lap("incident page")

	// En route, first with no network: the press is not sent, the page
	// says so and stays; pressed again once the network is back, it is
	// recorded once.
	setOffline := func(offline bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(o.ctx, stepTimeout)
		defer cancel()
		if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline,
			DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
			t.Fatalf("set the network offline=%v: %v", offline, err)
		}
	}
	setOffline(true)
	o.tap(`"En route" with no network`, elByText(".stage-panel button", "En route"))
	o.waitFor("the no-network note", stepTimeout, `!!document.querySelector(".stage-panel .offline-note")`)
	if note := mustEval[string](o.browser, `document.querySelector(".offline-note").textContent`); !strings.HasPrefix(note, "No network") {
		t.Errorf("with no network, the stage form says %q", note)
	}
	if p := mustEval[string](o.browser, "location.pathname"); p != incPath {
		t.Errorf("with no network, the press left the incident page for %s", p)
	}
	setOffline(false)
	o.waitFor("the note to go", stepTimeout, `!document.querySelector(".offline-note")`)

	// En route.
	start := time.Now()
	o.tapToPage(`"En route"`, elByText(".stage-panel button", "En route"), regexp.QuoteMeta(incPath))
	if f := flashText(o.browser); !strings.HasPrefix(f, "En route recorded at ") {
		t.Errorf("after En route the flash says %q", f)
	}
	watchBoard(d, number+" en route", number, officerUnit, start, func(s boardSnap) bool {
		return s.Listed && s.Stage == "En route" && s.UnitStatus == "En route" && s.UnitIncident == number
	})
	o.topScreen("O-en-route")
	d.screenshot("D-board-en-route")

	// On scene.
	start = time.Now()
	o.tapToPage(`"On scene"`, elByText(".stage-panel button", "On scene"), regexp.QuoteMeta(incPath))
	if f := flashText(o.browser); !strings.HasPrefix(f, "On scene recorded at ") {
		t.Errorf("after On scene the flash says %q", f)
	}
	watchBoard(d, number+" on scene", number, officerUnit, start, func(s boardSnap) bool {
		return s.Listed && s.Stage == "On scene" && s.UnitStatus == "On scene" && s.UnitIncident == number
	})
	o.topScreen("O-on-scene")

	lap("en route, on scene")

	// Danger screen: the critical questions answered yes.
	mark = o.mark()
	o.tapToPage(`"Danger screen"`, `document.querySelector("#danger a.btn")`, regexp.QuoteMeta(incPath+"/danger"))
	o.weigh("danger form", mark)
	o.topScreen("O-danger-form")
	type question struct {
		Text     string `json:"text"`
		Critical bool   `json:"critical"`
	}
	qs := mustEval[[]question](o.browser, `[...document.querySelectorAll("fieldset.danger-q")].map(f => ({
		text: f.querySelector("legend").textContent.trim().replace(/\s+/g, " "), critical: !!f.querySelector("legend .badge")}))`)
	if len(qs) < 5 {
		t.Fatalf("the danger form asks %d questions, want the default screen (11)", len(qs))
	}
	yes := 0
	for i, q := range qs {
		answer := "No"
		if q.Critical && yes < 2 {
			answer, yes = "Yes", yes+1
		} else if i == len(qs)-1 {
			answer = "Unknown"
		}
		el := fmt.Sprintf(`[...document.querySelectorAll("fieldset.danger-q")[%d].querySelectorAll("label.choice")].find(l => l.textContent.trim() === %s)`, i, jsString(answer))
		o.tap(fmt.Sprintf("%q for question %d", answer, i+1), el)
		if !mustEval[bool](o.browser, el+`.querySelector("input").checked`) {
			t.Fatalf("tapping %q for question %d (%s) did not choose it", answer, i+1, q.Text)
		}
	}
	if yes < 2 {
		t.Fatalf("the danger form marks %d question(s) critical, want at least 2", yes)
	}
	o.screen("O-danger-answered")
	start = time.Now()
	o.tapToPage(`"Save danger screen"`, elByText("form.danger-form button", "Save danger screen"), regexp.QuoteMeta(incPath))
	if f := flashText(o.browser); !strings.Contains(f, "HIGH DANGER") || !strings.Contains(f, "referral") {
		t.Errorf("after the danger screen the flash says %q, want HIGH DANGER and a prompt to refer", f)
	}
	if h1 := mustEval[string](o.browser, `document.querySelector("main h1").textContent`); !strings.Contains(h1, "HIGH DANGER") {
		t.Errorf("incident page heading %q lacks the HIGH DANGER badge", strings.Join(strings.Fields(h1), " "))
	}
	watchBoard(d, number+" flagged high danger", number, officerUnit, start, func(s boardSnap) bool {
		return s.Listed && s.badge("high danger")
	})
	o.topScreen("O-danger-saved")
	d.screenshot("D-board-high-danger")

	lap("danger screen")

	// Protection order: the form comes filled in from the incident.
	mark = o.mark()
	o.tapToPage(`"Record a protection order"`, elByText("#orders a.btn", "Record a protection order"), regexp.QuoteMeta(incPath+"/orders/new"))
	o.weigh("order form", mark)
	o.topScreen("O-order-form")
	for id, want := range map[string]string{"f-protected_name": victimName, "f-restrained_name": suspectName, "f-address": officerAddress} {
		got := mustEval[string](o.browser, fmt.Sprintf(`document.getElementById(%s).value`, jsString(id)))
		if got != want {
			t.Errorf("order form: #%s is %q, want %q from the incident", id, got, want)
			if got == "" {
				o.tap("#"+id, fmt.Sprintf(`document.getElementById(%s)`, jsString(id)))
				o.do("type into #"+id, chromedp.SendKeys(chromedp.ID(id), want))
			}
		}
	}
	o.tap("the Conditions field", `document.getElementById("f-conditions")`)
	o.do("type the conditions", chromedp.SendKeys(chromedp.ID("f-conditions"), "Not to approach the victim or the home."))
	o.tapToPage(`"Record the order"`, elByText("main form button", "Record the order"), `/orders/\d+`)
	orderNumber := strings.Fields(mustEval[string](o.browser, `document.querySelector("main h1").textContent`))[0]
	if f := flashText(o.browser); f != "Protection order "+orderNumber+" recorded." {
		t.Errorf("after recording the order the flash says %q", f)
	}
	o.topScreen("O-order")
	o.tapToPage("back to the incident", elContaining(".page-header a.btn", number), regexp.QuoteMeta(incPath))
	orders := mustEval[string](o.browser, `document.getElementById("orders").textContent`)
	if !strings.Contains(orders, orderNumber) || !strings.Contains(orders, victimName) {
		t.Errorf("the incident page's orders do not list %s for %s:\n%s", orderNumber, victimName, strings.Join(strings.Fields(orders), " "))
	}
	t.Logf("protection order %s recorded", orderNumber)

	lap("protection order")

	// Referral to a crisis centre, with consent, then accepted and sent.
	partner := elContaining("#referrals label.checkbox", partnerName)
	o.tap("the "+partnerName+" checkbox", partner)
	if !mustEval[bool](o.browser, partner+`.querySelector("input").checked`) {
		t.Fatalf("tapping %s did not tick it", partnerName)
	}
	o.checkTarget("the consent select", `document.getElementById("new-consent")`)
	o.do("choose consent given", chromedp.SetValue(chromedp.ID("new-consent"), "given"))
	o.screen("O-referral-form")
	o.tapToPage(`"Offer referral"`, elByText("#referrals button", "Offer referral"), regexp.QuoteMeta(incPath))
	if f := flashText(o.browser); f != "Referral offered." {
		t.Errorf("after offering the referral the flash says %q", f)
	}
	article := elContaining("#referrals article.referral", partnerName)
	status := func() string {
		return mustEval[string](o.browser, article+`.querySelector(".referral-status").textContent.trim()`)
	}
	if s := status(); s != "Offered" {
		t.Errorf("referral to %s is %q, want Offered", partnerName, s)
	}
	if c := mustEval[string](o.browser, article+`.querySelector(".referral-consent").textContent.trim()`); c != "Given" {
		t.Errorf("referral consent is %q, want Given", c)
	}
	for _, step := range []struct{ button, want string }{
		{"Victim accepts", "Accepted by the victim"},
		{"Mark sent", "Sent to the organisation"},
	} {
		o.tapToPage(`"`+step.button+`"`, fmt.Sprintf(`[...%s.querySelectorAll("button")].find(b => b.textContent.trim() === %s)`, article, jsString(step.button)),
			regexp.QuoteMeta(incPath))
		if s := status(); s != step.want {
			t.Errorf("after %q the referral is %q, want %q", step.button, s, step.want)
		}
	}
	mustEval[bool](o.browser, `(`+article+`.scrollIntoView({block: "start"}), true)`)
	o.screen("O-referral-sent")

	lap("referral")

	// Clear with a disposition: back to "My incidents", now empty.
	o.checkTarget("the disposition select", `document.getElementById("f-disposition_id")`)
	dispo := mustEval[string](o.browser, fmt.Sprintf(`([...document.getElementById("f-disposition_id").options].find(o => o.text === %s) || {value: ""}).value`, jsString(dispositionTo)))
	if dispo == "" {
		t.Fatalf("the disposition select offers no %q", dispositionTo)
	}
	o.do("choose the disposition", chromedp.SetValue(chromedp.ID("f-disposition_id"), dispo))
	o.screen("O-clear")
	start = time.Now()
	o.tapToPage(`"Cleared"`, elByText(".stage-panel button", "Cleared"), `/my`)
	if f := flashText(o.browser); !strings.HasPrefix(f, "Cleared recorded at ") {
		t.Errorf("after Cleared the flash says %q", f)
	}
	if body := mustEval[string](o.browser, `document.querySelector("main").textContent`); strings.Contains(body, number) {
		t.Errorf("/my still lists %s after it was cleared", number)
	} else if !strings.Contains(body, "No incidents are assigned to your unit.") {
		t.Errorf("/my after clearing shows neither %s nor the empty state:\n%s", number, strings.Join(strings.Fields(body), " "))
	}
	o.topScreen("O-my-after-clear")
	watchBoard(d, number+" gone and "+officerUnit+" available", number, officerUnit, start, func(s boardSnap) bool {
		return !s.Listed && s.UnitStatus == "Available" && s.UnitIncident == ""
	})
	d.screenshot("D-board-cleared")
	wantNoReload(d, "D-board-1", navsD)
	// The board's tables scroll sideways inside their cards when they do
	// not fit: note it, since the stage and timer are the last columns.
	for _, c := range mustEval[[]string](d, `[...document.querySelectorAll("#board .table-wrap")].filter(w => w.scrollWidth > w.clientWidth + 0.5)
		.map(w => w.closest("section").querySelector("h2").firstChild.textContent.trim() + ": " + w.scrollWidth + " px of table in a " + w.clientWidth + " px box")`) {
		o.note("/board at %dx%d (browser D): %s, so its last columns are hidden until the dispatcher scrolls sideways", desktopW, desktopH, c)
	}

	// Issue 17: "My follow-ups and checks", beside My incidents. The
	// journey's high-danger screen scheduled follow-ups for this unit and
	// its order, checks: close a follow-up, then record a check, first
	// with no network (not sent, the page says so), then once it is back.
	mark = o.mark()
	o.tapToPage(`"My follow-ups and checks"`, elByText("nav.main-nav a", "My follow-ups and checks"), `/my/work`)
	o.weigh("/my/work", mark)
	o.topScreen("O-work")
	followUp := fmt.Sprintf(`[...document.querySelectorAll("article.work-item[data-work^='followup-']")].find(e => e.textContent.includes(%s))`, jsString(number))
	taskID := mustEval[string](o.browser, `(`+followUp+` || {dataset: {work: ""}}).dataset.work`)
	if taskID == "" {
		t.Fatalf("/my/work has no follow-up of %s:\n%s", number, mustEval[string](o.browser, "document.querySelector('main').innerText"))
	}
	// Issue 16: the victim's rule (not safe) before the outcome buttons;
	// "Reached, safe" asks why she was contacted, and without a reason
	// records nothing and says so at the field.
	fv := mustEval[ruleView](o.browser, `(() => {
		const c = `+followUp+`, r = c.querySelector(".safe-rule"), b = c.querySelector("button");
		if (!r || !b) return {rule: r ? r.textContent : "", ruleTop: -1, buttonTop: -1, before: false};
		return {rule: r.textContent.trim().replace(/\s+/g, " "), ruleTop: r.getBoundingClientRect().top, buttonTop: b.getBoundingClientRect().top,
			before: !!(r.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)};
	})()`)
	if !strings.Contains(fv.Rule, "NOT SAFE") || !strings.Contains(fv.Rule, "after 18:00") || !fv.Before || fv.RuleTop < 0 || fv.RuleTop >= fv.ButtonTop {
		t.Errorf("/my/work: want the safe-contact rule (NOT SAFE, after 18:00) above the follow-up's buttons; rule %q at %.0f px, first button at %.0f px",
			fv.Rule, fv.RuleTop, fv.ButtonTop)
	}
	// What is typed survives the list's live refresh (a change to the
	// incident re-reads the fragment).
	reasonID := "fu-reason-" + strings.TrimPrefix(taskID, "followup-")
	o.do("type a draft reason", chromedp.SendKeys(chromedp.ID(reasonID), "draft"))
	refreshed := o.mark()
	if _, err := a.DB.Pool.Exec(context.Background(), `SELECT pg_notify($1, $2)`, postgres.ChangesChannel, "incident:"+strconv.FormatInt(incID, 10)); err != nil {
		t.Fatal(err)
	}
	o.waitRequest(refreshed, `^/my/work/fragment$`, stepTimeout)
	o.waitNetworkIdle(refreshed, 300*time.Millisecond, stepTimeout)
	if v := mustEval[[]string](o.browser, `[document.getElementById("`+reasonID+`").value, document.activeElement.id]`); v[0] != "draft" || v[1] != reasonID {
		t.Errorf("after a live refresh the reason holds %q and the focus is on %q; want \"draft\", still focused", v[0], v[1])
	}
	mustEval[bool](o.browser, `(document.getElementById("`+reasonID+`").value = "") === ""`) // clear the draft
	o.mu.Lock()
	o.quiet4xx = map[string]bool{"/follow-ups/" + strings.TrimPrefix(taskID, "followup-") + "/close": true} // the 422 expected next
	o.mu.Unlock()
	reached := fmt.Sprintf(`[...%s.querySelectorAll("button")].find(b => b.textContent.trim() === "Reached, safe")`, followUp)
	o.tapToPage(`"Reached, safe" with no reason`, reached, `/follow-ups/\d+/close`)
	if msg := mustEval[string](o.browser, `(document.getElementById("`+reasonID+`-err") || {textContent: ""}).textContent`); !strings.Contains(msg, "give the reason") {
		t.Errorf("\"Reached, safe\" with no reason: the field says %q", msg)
	}
	o.topScreen("O-work-reason")
	o.do("type the reason", chromedp.SendKeys(chromedp.ID(reasonID), "She called the station and asked for a call."))
	o.tapToPage(`"Reached, safe"`, reached, `/my/work`)
	if f := flashText(o.browser); !strings.HasPrefix(f, "Recorded: Reached, safe") {
		t.Errorf("after closing the follow-up the flash says %q", f)
	}
	if mustEval[bool](o.browser, `!!document.querySelector("[data-work='`+taskID+`']")`) {
		t.Errorf("/my/work still lists the closed follow-up %s", taskID)
	}
	check := fmt.Sprintf(`[...document.querySelectorAll("article.work-item[data-work^='check-']")].find(e => e.textContent.includes(%s))`, jsString(orderNumber))
	complied := fmt.Sprintf(`[...%s.querySelectorAll("button")].find(b => b.textContent.trim() === "Complied")`, check)
	setOffline(true)
	o.tap(`"Complied" with no network`, complied)
	o.waitFor("the no-network note on the check", stepTimeout, check+`.querySelector(".offline-note") !== null`)
	if p := mustEval[string](o.browser, "location.pathname"); p != "/my/work" {
		t.Errorf("with no network, the check left /my/work for %s", p)
	}
	setOffline(false)
	o.waitFor("the note to go", stepTimeout, `!document.querySelector(".offline-note")`)
	o.tapToPage(`"Complied"`, complied, `/my/work`)
	if f := flashText(o.browser); !strings.HasPrefix(f, "Recorded: Complied") {
		t.Errorf("after the check the flash says %q", f)
	}
	o.topScreen("O-work-after")
	var checked, closed int
	if err := a.DB.Pool.QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM order_checks c JOIN protection_orders o ON o.id = c.order_id WHERE o.number = $1 AND c.result = 'complied'),
			(SELECT count(*) FROM follow_up_tasks WHERE incident_id = $2 AND outcome = 'reached_safe' AND unsafe_reason LIKE 'She called%')`, orderNumber, incID).Scan(&checked, &closed); err != nil {
		t.Fatal(err)
	}
	if checked != 1 || closed != 1 {
		t.Errorf("stored: %d checks complied, %d follow-ups reached and safe; want 1 and 1", checked, closed)
	}
	lap("follow-ups and checks")

	// The dispatcher's board (D, open all along) shows a follow-up turn
	// overdue live when its due time passes: one change (a task given a
	// due time 6 s ahead, notified) lets the board learn the time, and
	// nothing is notified when it passes; the board's own timer re-reads.
	var liveTask, liveInc int64
	if err := a.DB.Pool.QueryRow(context.Background(), `UPDATE follow_up_tasks SET due_at = now() + interval '6 seconds'
		WHERE id = (SELECT id FROM follow_up_tasks WHERE closed_at IS NULL AND due_at > now() ORDER BY due_at, id LIMIT 1)
		RETURNING id, incident_id`).Scan(&liveTask, &liveInc); err != nil {
		t.Fatalf("give a task a due time: %v", err)
	}
	var dueAt time.Time
	if err := a.DB.Pool.QueryRow(context.Background(), `SELECT due_at FROM follow_up_tasks WHERE id = $1`, liveTask).Scan(&dueAt); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.Pool.Exec(context.Background(), `SELECT pg_notify($1, $2)`, postgres.ChangesChannel, "incident:"+strconv.FormatInt(liveInc, 10)); err != nil {
		t.Fatal(err)
	}
	overdueRow := fmt.Sprintf(`document.querySelector(".board-overdue [data-work='followup-%d']")`, liveTask)
	d.waitFor("the board to learn the next due time", stepTimeout, fmt.Sprintf(
		`(() => { const s = document.querySelector(".board-overdue"); return !!s && Date.parse(s.dataset.refreshAt) === %d; })()`, dueAt.UnixMilli()))
	if mustEval[bool](d, `!!`+overdueRow) || !time.Now().Before(dueAt) {
		t.Fatalf("the task is overdue on the board before its due time (or the board learnt it too late)")
	}
	d.waitFor("the task overdue on the board after its due time", time.Until(dueAt)+stepTimeout, `!!`+overdueRow)
	if late := time.Since(dueAt); late > 5*time.Second {
		t.Errorf("the overdue task appeared %v after its due time", late.Round(time.Millisecond))
	}
	d.screenshot("D-board-overdue")
	wantNoReload(d, "D-board-1", navsD)
	lap("overdue live on the board")

	// The store agrees.
	in, err := a.DB.Incident(context.Background(), incID)
	if err != nil {
		t.Fatal(err)
	}
	if in.EnRouteAt == nil || in.OnSceneAt == nil || in.ClearedAt == nil || in.Disposition != dispositionTo || !in.HighDanger {
		t.Errorf("stored incident: en route %v, on scene %v, cleared %v, disposition %q, high danger %v",
			in.EnRouteAt, in.OnSceneAt, in.ClearedAt, in.Disposition, in.HighDanger)
	}

	var sizes []string
	for _, name := range []string{"/my", "incident page", "danger form", "order form", "/my/work"} {
		sizes = append(sizes, fmt.Sprintf("%s %.1f KB", name, kb(o.sizes[name])))
	}
	t.Logf("officer page loads (empty cache): %s", strings.Join(sizes, ", "))
	if len(o.notes) > 0 {
		t.Logf("usability notes (not failures):\n  - %s", strings.Join(o.notes, "\n  - "))
	}
	lap("cleared")
	t.Logf("officer journey done in %v: %s", time.Since(began).Round(10*time.Millisecond), strings.Join(laps, ", "))
}
