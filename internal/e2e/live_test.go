package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	keys "github.com/chromedp/chromedp/kb"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// TestLivePages checks, in one Chromium, that live pages are honest and
// prompt (issue 14): the dispatcher's board, once its session has ended,
// says it is not live and signs in again where it is, coming back as the
// whole board (never the bare fragment); the officer's My incidents shows
// a new assignment within 2 s, without a reload, and vibrates.
func TestLivePages(t *testing.T) {
	a := startApp(t)
	root := startChromium(t)
	ctx := context.Background()
	// The tabs live as long as the whole test: each step uses them in turn
	// (b.t is the step's).
	board, phone := newTab(t, a, root, "board"), newTab(t, a, root, "officer")
	var onCall int64 // the incident LEN-11 is on after the officer's step

	t.Run("board-after-session-end", func(t *testing.T) {
		b := board
		b.t = t
		b.quiet4xx = map[string]bool{"/board/fragment": true, "/incidents": true}
		b.emulate(journeyViewports[0])
		mark := b.mark()
		b.loginIn("en", dispatcher, dispatcherPassword, "/board", "live-board-login")
		b.waitRequest(mark, `^/board/fragment$`, 10*time.Second) // the stream is open
		// The session ends as an idle timeout ends it: its row expires.
		if _, err := a.DB.Pool.Exec(ctx, `UPDATE sessions SET expiry = now() - interval '1 second'`); err != nil {
			t.Fatal(err)
		}
		ended := time.Now()
		navs := b.navigations()
		b.waitFor("the board saying it is not live, with a sign-in form", 10*time.Second, `(() => {
			const l = document.querySelector(".live"), f = l && l.querySelector(".live-login");
			return !!f && l.classList.contains("not-live") && !f.hidden; })()`)
		t.Logf("the board said it was not live %v after its session ended", time.Since(ended).Round(10*time.Millisecond))
		if msg := mustEval[string](b, `document.querySelector(".live-msg").textContent`); !regexp.MustCompile(`^Not live since \d\d:\d\d$`).MatchString(msg) {
			t.Errorf("the board says %q, want \"Not live since HH:MM\"", msg)
		}
		if p := mustEval[string](b, `location.pathname`); p != "/board" || b.navigations() != navs {
			t.Errorf("the board went to %s (%d navigations) when its session ended; want it to stay", p, b.navigations()-navs)
		}
		b.shot("live-board-not-live")
		noSideScroll(b, "the board, not live")

		mark = b.mark()
		b.do("sign in again on the board", chromedp.SendKeys(chromedp.ID("board-password"), dispatcherPassword+"\r"))
		b.waitFor("the whole board, live again", 10*time.Second, fmt.Sprintf(`%d < 0 || (location.pathname === "/board" && document.readyState === "complete"
			&& !!document.querySelector("header.topbar nav") && !!document.querySelector(".live:not(.not-live) #board .grid-board"))`, navs-b.navigations()-1))
		b.waitRequest(mark, `^/board/fragment$`, 10*time.Second) // resynced over a new stream
		if n := b.navigations(); n <= navs {
			t.Errorf("signing in again did not load the board afresh")
		}
		for _, r := range b.requestsSince(mark) {
			if r.typ == "Document" && regexp.MustCompile(`/board/(fragment|events)`).MatchString(r.url) {
				t.Errorf("the browser was sent to %s, a bare part of the board", r.url)
			}
		}
	})

	t.Run("board-alerts-and-keys", func(t *testing.T) {
		b := board
		b.t = t
		d, err := a.DB.UserByUsername(ctx, dispatcher)
		if err != nil {
			t.Fatal(err)
		}
		by := audit.Actor{UserID: d.ID, Username: d.Username, Role: string(d.Role), IP: "127.0.0.1"}
		id, number, _, err := a.DB.CreateIncident(ctx, lenCall(t, a, by, "A new P1 call while the board is open."), a.Loc, by)
		if err != nil {
			t.Fatal(err)
		}
		row := fmt.Sprintf(`document.querySelector('#board section.awaiting tr[data-href="/incidents/%d"]')`, id)
		b.waitFor("the new call highlighted in the awaiting-dispatch queue", liveBoardTimeout, "!!"+row+" && "+row+".classList.contains('is-new')")
		b.shot("live-board-new-call")
		noSideScroll(b, "the board with an awaiting call")
		// The arrow keys walk the rows; Enter opens the focused one.
		mustEval[bool](b, `(document.activeElement && document.activeElement.blur(), true)`)
		// The new P1 is in the queue at the top, behind older P1 calls.
		for i := 0; ; i++ {
			b.press(keys.ArrowDown)
			if mustEval[string](b, `document.activeElement ? document.activeElement.textContent.trim() : ""`) == number {
				break
			}
			if i == 10 {
				t.Fatalf("ten ArrowDown presses did not reach %s", number)
			}
		}
		b.press(keys.Enter)
		b.waitPath(fmt.Sprintf("/incidents/%d", id), stepTimeout)
		b.navigate("/board")
		b.waitFor("the opened call no longer highlighted", stepTimeout, "!!"+row+" && !"+row+".classList.contains('is-new')")
	})

	t.Run("intake-keyboard", func(t *testing.T) {
		b := board
		b.t = t
		b.navigate("/incidents/new")
		b.wantFocus("f-address")
		if !mustEval[bool](b, `(() => { const c = [...document.querySelectorAll("input[name=latitude], input[name=longitude]")];
			return c.length === 2 && c.every(e => e.tabIndex === -1); })()`) {
			t.Error("latitude and longitude are in the Tab order")
		}
		mark, navs := b.mark(), b.navigations()
		b.press("Chui 1" + keys.Enter)
		time.Sleep(300 * time.Millisecond) // time for a submission to start, were there one
		for _, r := range b.requestsSince(mark) {
			if r.method == "POST" {
				t.Errorf("Enter in Address sent %s %s", r.method, r.url)
			}
		}
		if b.navigations() != navs {
			t.Error("Enter in Address left the form")
		}
		// Alt+S sends it; refused, the focus is on the first field in error.
		b.press("s", chromedp.ModifierAlt)
		b.waitFor("the refused form", stepTimeout, `!!document.querySelector(".field.has-error")`)
		// The page's script moves the focus once it has run (deferred).
		b.waitFor("the focus on the first field in error", stepTimeout,
			`document.activeElement === document.querySelector(".field.has-error input, .field.has-error select, .field.has-error textarea")`)
		if got := mustEval[string](b, `document.getElementById("f-address").value`); got != "Chui 1" {
			t.Errorf("the refused form kept Address %q", got)
		}
	})

	t.Run("officer-my-incidents-live", func(t *testing.T) {
		p := phone
		p.t = t
		p.emulate(journeyViewports[1])
		mark := p.mark()
		p.loginIn("en", officer, officerPassword, "/my", "live-my-login")
		p.waitRequest(mark, `^/my/fragment$`, 10*time.Second) // the stream is open
		mustEval[bool](p, `(() => { window.__e2eMark = "my"; window.__vibrated = "";
			navigator.vibrate = v => { window.__vibrated = JSON.stringify(v); return true; }; return true; })()`)
		navs := p.navigations()

		d, err := a.DB.UserByUsername(ctx, dispatcher)
		if err != nil {
			t.Fatal(err)
		}
		by := audit.Actor{UserID: d.ID, Username: d.Username, Role: string(d.Role), IP: "127.0.0.1"}
		o, err := a.DB.UserByUsername(ctx, officer)
		if err != nil {
			t.Fatal(err)
		}
		id, number, _, err := a.DB.CreateIncident(ctx, lenCall(t, a, by, "Assigned while the officer watches."), a.Loc, by)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.DB.AssignUnit(ctx, id, *o.UnitID, by); err != nil {
			t.Fatal(err)
		}
		onCall = id
		assigned := time.Now()
		p.waitFor("the new assignment on My incidents", 2*time.Second, fmt.Sprintf(
			`[...document.querySelectorAll("#my .my-incident h2 a")].some(a => a.textContent.trim() === %s)`, jsString(number)))
		t.Logf("My incidents showed %s %v after it was assigned", number, time.Since(assigned).Round(10*time.Millisecond))
		if got := mustEval[string](p, `String(window.__e2eMark)`); got != "my" || p.navigations() != navs {
			t.Errorf("My incidents was reloaded to show the assignment")
		}
		p.waitFor("a vibration", 2*time.Second, `window.__vibrated !== ""`)
		if !mustEval[bool](p, fmt.Sprintf(`!!document.querySelector('#my .my-incident.is-new a[href="/incidents/%d"]')`, id)) {
			t.Errorf("the new card is not marked new")
		}
		// Where to go is on the card, above the fold of a 390x844 phone,
		// under a compact top bar (at most 100 px).
		where := mustEval[[]float64](p, fmt.Sprintf(`(() => { const c = document.querySelector('#my .my-incident a[href="/incidents/%d"]').closest("article");
			const a = c.querySelector(".address"); return [document.querySelector("header.topbar").getBoundingClientRect().height,
			a && a.textContent.trim() === %s ? a.getBoundingClientRect().bottom + scrollY : -1]; })()`, id, jsString(officerAddress)))
		if where[0] > 100 {
			t.Errorf("the phone's top bar is %.0f px tall, want at most 100", where[0])
		}
		if where[1] < 0 || where[1] > float64(journeyViewports[1].height) {
			t.Errorf("the card's address %q ends at %.0f px (-1: not shown), want it above the fold (%d px)", officerAddress, where[1], journeyViewports[1].height)
		}
		p.shot("live-my-new-assignment")
		noSideScroll(p, "My incidents")
	})

	t.Run("units-keep-their-own-state", func(t *testing.T) {
		if onCall == 0 {
			t.Skip("needs the officer's step")
		}
		board.t, phone.t = t, t
		d, err := a.DB.UserByUsername(ctx, dispatcher)
		if err != nil {
			t.Fatal(err)
		}
		by := audit.Actor{UserID: d.ID, Username: d.Username, Role: string(d.Role), IP: "127.0.0.1"}
		var len12 int64
		if err := a.DB.Pool.QueryRow(ctx, `SELECT id FROM units WHERE call_sign = 'LEN-12'`).Scan(&len12); err != nil {
			t.Fatal(err)
		}
		// LEN-12 joins LEN-11 on the officer's call and gets there.
		if err := a.DB.MoveUnit(ctx, onCall, len12, by); err != nil {
			t.Fatal(err)
		}
		for _, st := range []incident.Stage{incident.EnRoute, incident.OnScene} {
			if _, err := a.DB.SetStage(ctx, postgres.StageChange{IncidentID: onCall, Stage: st, UnitID: &len12}, by); err != nil {
				t.Fatal(err)
			}
		}

		// The officer clears LEN-11: LEN-12 stays on scene of the call.
		p := phone
		p.navigate(fmt.Sprintf("/incidents/%d", onCall))
		dispo := mustEval[string](p, `(() => { const s = document.getElementById("f-disposition_id"); return s.options[s.options.length - 1].value; })()`)
		p.do("choose a disposition", chromedp.SetValue(chromedp.ID("f-disposition_id"), dispo))
		p.do("press Cleared", chromedp.Click(chromedp.CSS(`.stage-clear button[type="submit"]`)))
		p.waitPath("/my", stepTimeout)
		if f := flashText(p); !regexp.MustCompile(`^LEN-11 cleared at .*stays open`).MatchString(f) {
			t.Errorf("after Cleared the officer reads %q, want LEN-11 cleared with the call open", f)
		}
		var open bool
		var others int
		if err := a.DB.Pool.QueryRow(ctx, `SELECT cleared_at IS NULL, (SELECT count(*) FROM incident_units WHERE incident_id = $1
			AND released_at IS NULL AND unit_id = $2) FROM incidents WHERE id = $1`, onCall, len12).Scan(&open, &others); err != nil {
			t.Fatal(err)
		}
		if !open || others != 1 {
			t.Errorf("after LEN-11 cleared: incident open %v, LEN-12 still on it %v; want both", open, others == 1)
		}
		// The dispatcher's page of the call: LEN-11 cleared, LEN-12 still
		// on scene; its Cleared asks which unit (or all) clears.
		b := board
		b.navigate(fmt.Sprintf("/incidents/%d", onCall))
		units := mustEval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll(".unit-list li")].map(li =>
			[li.querySelector("strong").textContent.trim(), li.querySelector(".unit-status").textContent.trim()]))`)
		if units["LEN-11"] != "Cleared" || units["LEN-12"] != "On scene" {
			t.Errorf("after LEN-11 cleared, the incident page shows the units as %v; want LEN-11 Cleared, LEN-12 On scene", units)
		}
		if got := mustEval[[]string](b, `[...document.querySelectorAll("#f-clear_unit option")].map(o => o.textContent.trim())`); strings.Join(got, "|") != "Choose…|LEN-12|All units (closes the incident)" {
			t.Errorf("the dispatcher's Cleared offers %q", got)
		}
		b.shot("live-unit-cleared-other-on-scene")
		noSideScroll(b, "the incident page with one unit cleared")

		// The dispatcher assigns LEN-12, busy on that call, to a new one:
		// the board asks first, and the move is made once confirmed.
		id, number, _, err := a.DB.CreateIncident(ctx, lenCall(t, a, by, "A second call while LEN-12 is busy."), a.Loc, by)
		if err != nil {
			t.Fatal(err)
		}
		b.navigate(fmt.Sprintf("/incidents/%d", id))
		b.do("choose LEN-12", chromedp.SetValue(chromedp.ID("f-unit_id"), fmt.Sprint(len12)))
		b.press("a", chromedp.ModifierAlt)
		b.waitFor("the question whether to move LEN-12", stepTimeout, `!!document.getElementById("move-confirm")`)
		msg := mustEval[string](b, `document.getElementById("move-msg").textContent`)
		if !regexp.MustCompile(`^LEN-12 is .* on DV-\d{4}-\d+\. Moving it takes it off that call\.$`).MatchString(msg) {
			t.Errorf("the question says %q", msg)
		}
		b.shot("live-move-busy-unit")
		noSideScroll(b, "the question whether to move a unit")
		var assigned int
		if err := a.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM incident_units WHERE incident_id = $1`, id).Scan(&assigned); err != nil || assigned != 0 {
			t.Errorf("the busy unit was assigned before the dispatcher confirmed (%d, %v)", assigned, err)
		}
		b.do("confirm the move", chromedp.Click(chromedp.ID("move-confirm")))
		b.waitPath(fmt.Sprintf("/incidents/%d", id), stepTimeout)
		b.waitFor("LEN-12 on "+number, stepTimeout, `[...document.querySelectorAll(".unit-list li strong")].some(e => e.textContent.trim() === "LEN-12")`)
	})
}

// noSideScroll fails the test if b's page is wider than its window.
func noSideScroll(b *browser, what string) {
	b.t.Helper()
	if w := mustEval[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`); len(w) == 2 && w[0] > w[1] {
		wide := mustEval[string](b, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
			.slice(-4).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "")).join(", ")`)
		b.t.Errorf("browser %s: %s is %d px wide in a %d px window: it scrolls sideways (wider: %s)", b.name, what, w[0], w[1], wide)
	}
}
