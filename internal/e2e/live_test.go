package e2e

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dvresponse/dvresponse/internal/audit"
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

	t.Run("board-after-session-end", func(t *testing.T) {
		b := newTab(t, a, root, "board")
		b.quiet401 = map[string]bool{"/board/fragment": true}
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

	t.Run("officer-my-incidents-live", func(t *testing.T) {
		p := newTab(t, a, root, "officer")
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
		p.shot("live-my-new-assignment")
	})
}
