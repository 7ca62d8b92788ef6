package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// TestFollowUpsShowSafeContactBeforeOutcomes: each follow-up on the
// officer's list (page and live fragment) and on the supervisor's list
// shows its victim's safe-contact rule, or that none is recorded, before
// its buttons; never on the board. Where contact is not known to be safe
// (a rule saying no, or no rule and no intake answer), "reached and safe"
// asks for a reason: refused without one (422, the list shown again with
// the message at that row's reason and what was typed, nothing recorded),
// recorded with it (on the task, the timeline and the audit trail), once
// however often it is pressed. Where it is safe, and for the other
// outcomes, no reason is asked. A pool task whose incident has moved to
// another district is listed but its rule is not shown (the officer may
// not see that incident).
func TestFollowUpsShowSafeContactBeforeOutcomes(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	ctx := context.Background()
	db := f.ts.DB
	unsafeInc := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "")
	safeInc := f.incident(t, f.typ.ID, "ul. Manas 3", "Gulnara Bekova", "")
	noRuleInc := f.incident(t, f.typ.ID, "ul. Frunze 7", "Nazira Alieva", "")
	movedInc := f.incident(t, f.typ.ID, "ul. Lenina 1", "Elmira Sadykova", "")
	officer := f.officerOn(t, "off-len")
	unit := queryInt(t, db, `SELECT id FROM units WHERE call_sign = 'OFF-LEN'`)
	no, yes := false, true
	for inc, safe := range map[int64]*bool{unsafeInc: &no, safeInc: &yes, movedInc: &no} {
		if err := db.SaveSafeContact(ctx, inc, postgres.SafeContact{SafeToCall: safe, Phone: "+996 555 000 111",
			CodeWord: "Canary-Code", Who: "police"}, false, audit.Actor{}); err != nil {
			t.Fatal(err)
		}
	}
	task := map[int64]int64{}
	for _, inc := range []int64{unsafeInc, safeInc, noRuleInc, movedInc} {
		task[inc] = queryInt(t, db, `SELECT id FROM follow_up_tasks WHERE incident_id = $1`, inc)
	}
	// Due within the week, the unit's (the moved one stays in the pool);
	// the unsafe one overdue, so that the boards list it.
	if _, err := db.Pool.Exec(ctx, `UPDATE follow_up_tasks SET due_at = now() + interval '1 hour',
		unit_id = CASE WHEN incident_id = $2 THEN NULL ELSE $1::bigint END WHERE incident_id = ANY($3)`,
		unit, movedInc, []int64{unsafeInc, safeInc, noRuleInc, movedInc}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE follow_up_tasks SET due_at = now() - interval '1 hour' WHERE incident_id = $1`, unsafeInc); err != nil {
		t.Fatal(err)
	}
	osh := createDistrict(t, db, "OSH", "Osh")
	if _, err := db.Pool.Exec(ctx, `UPDATE incidents SET district_id = $2 WHERE id = $1`, movedInc, osh.ID); err != nil {
		t.Fatal(err)
	}
	card := func(d *goquery.Document, inc int64) *goquery.Selection {
		return d.Find(`[data-work="followup-` + itoa(task[inc]) + `"]`)
	}
	ruleFirst := func(where string, d *goquery.Document, inc int64, want string) {
		t.Helper()
		c := card(d, inc)
		if c.Length() != 1 {
			t.Fatalf("%s: follow-up of incident %d listed %d times", where, inc, c.Length())
		}
		html, _ := c.Html()
		rule, button := strings.Index(html, `class="safe-rule`), strings.Index(html, "<button")
		if rule < 0 || button < 0 || rule > button || !strings.Contains(c.Find(".safe-rule").Text(), want) {
			t.Errorf("%s: incident %d: the rule (%d, want %q) is not shown before the first button (%d):\n%s", where, inc, rule, want, button, html)
		}
	}
	asksReason := func(where string, d *goquery.Document, inc int64, want bool) {
		t.Helper()
		got := card(d, inc).Find(`form:has(input[name="outcome"][value="reached_safe"]) input[name="reason"]`).Length() == 1
		if got != want {
			t.Errorf("%s: incident %d: reached-and-safe asks a reason %v, want %v", where, inc, got, want)
		}
		if n := card(d, inc).Find(`form:has(input[name="outcome"]:not([value="reached_safe"])) input[name="reason"]`).Length(); n != 0 {
			t.Errorf("%s: incident %d: %d other outcomes ask a reason", where, inc, n)
		}
	}

	for _, path := range []string{"/my/work", "/my/work/fragment"} {
		d := doc(t, ok200(t, officer.get(path)))
		ruleFirst(path, d, unsafeInc, "Canary-Code")
		ruleFirst(path, d, safeInc, "Canary-Code")
		ruleFirst(path, d, noRuleInc, "No safe-contact rule recorded")
		asksReason(path, d, unsafeInc, true)
		asksReason(path, d, noRuleInc, true)
		asksReason(path, d, safeInc, false)
		if c := card(d, movedInc); c.Length() != 1 || c.Find(".safe-rule").Length() != 0 || strings.Contains(c.Text(), "Canary-Code") {
			t.Errorf("%s: the pool task of an incident moved to another district: listed %d, its rule shown", path, c.Length())
		}
	}
	sup := f.user(t, "sup", account.Supervisor, "LEN")
	d := doc(t, ok200(t, sup.get("/work")))
	ruleFirst("/work", d, unsafeInc, "Canary-Code")
	ruleFirst("/work", d, safeInc, "Canary-Code")
	ruleFirst("/work", d, noRuleInc, "No safe-contact rule recorded")
	// The rule is never on the board, though the task is.
	disp := f.user(t, "disp", account.Dispatcher, "LEN")
	for who, c := range map[string]*client{"supervisor": sup, "dispatcher": disp} {
		b := doc(t, ok200(t, c.get("/board/fragment")))
		if b.Find(`.board-overdue [data-work="followup-`+itoa(task[unsafeInc])+`"]`).Length() != 1 {
			t.Errorf("%s's board: the overdue follow-up is not listed", who)
		}
		if h, _ := b.Html(); strings.Contains(h, "Canary-Code") || strings.Contains(h, "safe-rule") {
			t.Errorf("%s's board shows a safe-contact rule", who)
		}
	}

	closePath := "/follow-ups/" + itoa(task[unsafeInc]) + "/close"
	resp := officer.postForm(closePath, url.Values{"outcome": {"reached_safe"}, "reason": {"   "}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("reached and safe, unsafe, no reason: %d, want 422", resp.StatusCode)
	}
	d = doc(t, resp)
	if msg := strings.TrimSpace(card(d, unsafeInc).Find(".field-error").Text()); !strings.Contains(msg, "give the reason") {
		t.Errorf("no message at the row's reason (%q):\n%s", msg, d.Find("main").Text())
	}
	if v, _ := card(d, unsafeInc).Find(`input[name="reason"]`).Attr("value"); v != "   " {
		t.Errorf("what was typed is not kept: %q", v)
	}
	if d.Find("[data-live]").Length() != 0 {
		t.Error("the refused list is live: a refresh would wipe the message")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM follow_up_tasks WHERE id = $1 AND closed_at IS NULL`, task[unsafeInc]); n != 1 {
		t.Fatal("the task was closed without a reason")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM audit_events WHERE action = 'follow_up.close'`); n != 0 {
		t.Fatalf("%d closes audited after a refusal", n)
	}
	// A supervisor, who records from no page of buttons, is refused too.
	if resp := sup.postForm(closePath, url.Values{"outcome": {"reached_safe"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("supervisor, no reason: %d, want 422", resp.StatusCode)
	}

	// The moved incident's task, whose rule the officer may not see, is
	// not the officer's to record either: no outcome without the rule.
	if c := card(doc(t, ok200(t, officer.get("/my/work"))), movedInc); c.Find(`input[name="outcome"]`).Length() != 0 {
		t.Errorf("the moved incident's task offers %d outcomes without its rule", c.Find(`input[name="outcome"]`).Length())
	}
	if resp := officer.postForm("/follow-ups/"+itoa(task[movedInc])+"/close", url.Values{"outcome": {"reached_safe"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("reached and safe on a task whose rule is hidden: %d, want 403", resp.StatusCode)
	}

	const reason = "she called the station and asked for it"
	wantRedirect(t, officer.postForm(closePath, url.Values{"outcome": {"reached_safe"}, "reason": {reason}}), "/my/work")
	wantRedirect(t, officer.postForm(closePath, url.Values{"outcome": {"reached_safe"}}), "/my/work") // a retry
	if txt := flashText(doc(t, officer.get("/my/work"))); !strings.Contains(txt, "Already recorded: Reached, safe") {
		t.Errorf("retry: flash %q", txt)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM follow_up_tasks WHERE id = $1 AND outcome = 'reached_safe' AND unsafe_reason = $2`,
		task[unsafeInc], reason); n != 1 {
		t.Error("the outcome is not recorded with its reason")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM audit_events WHERE action = 'follow_up.close' AND detail->>'reason' = $1`, reason); n != 1 {
		t.Errorf("%d closes audited with the reason, want 1", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'follow_up_closed' AND data->>'reason' = $2`,
		unsafeInc, reason); n != 1 {
		t.Errorf("%d timeline events with the reason, want 1", n)
	}
	if b := body(t, ok200(t, sup.get("/incidents/"+itoa(unsafeInc)))); !strings.Contains(b, reason) {
		t.Error("the incident's timeline does not say why she was contacted")
	}

	// Safe: no reason asked; the other outcomes need none.
	wantRedirect(t, officer.postForm("/follow-ups/"+itoa(task[safeInc])+"/close", url.Values{"outcome": {"reached_safe"}}), "/my/work")
	wantRedirect(t, officer.postForm("/follow-ups/"+itoa(task[noRuleInc])+"/close", url.Values{"outcome": {"not_reached"}}), "/my/work")
	if n := queryInt(t, db, `SELECT count(*) FROM follow_up_tasks WHERE id = ANY($1) AND closed_at IS NOT NULL AND unsafe_reason IS NULL`,
		[]int64{task[safeInc], task[noRuleInc]}); n != 2 {
		t.Errorf("%d of the safe and the not-reached tasks closed without a reason, want 2", n)
	}
}
