package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// logCall logs the intake form v through the handlers and returns the new
// incident's id.
func (f *intakeFixture) logVictimCall(t *testing.T, v url.Values) int64 {
	t.Helper()
	resp := f.c.postForm("/incidents", v)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /incidents: %d\n%s", resp.StatusCode, body(t, resp))
	}
	var id int64
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT id FROM incidents ORDER BY id DESC LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestIntakeConfirmsVictimAndCountsRepeat: the second call about a victim
// (same name and age, another address) is offered as "same person as in
// DV-...?"; once the dispatcher answers yes, the panel says "2nd incident
// in 12 months" before the call is saved, and saving links both incidents
// to one person. The intake's "safe to call back?" became her rule.
func TestIntakeConfirmsVictimAndCountsRepeat(t *testing.T) {
	f := newIntakeFixture(t)
	ctx := context.Background()
	v := f.validForm(f.openForm(t))
	v.Set("victim_age", "30")
	v.Set("safe_to_call", "no")
	first := f.logVictimCall(t, v)
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM safe_contacts s JOIN incident_persons ip ON ip.person_id = s.person_id
		WHERE ip.incident_id = $1 AND s.safe_to_call = false`, first); n != 1 {
		t.Fatalf("intake's 'safe to call back? no' made %d rules, want 1", n)
	}

	key := f.openForm(t)
	v2 := url.Values{"key": {key}, "address": {"ul. Toktogula 40"}, "victim_name": {"Aigul Asanova"}, "victim_age": {"31"}}
	d := doc(t, f.c.postForm("/incidents/history", v2))
	radio := d.Find(`#person-offers input[name="victim_same_` + itoa(first) + `"][value="yes"]`)
	if radio.Length() != 1 {
		t.Fatalf("no 'same person' offer for the first incident:\n%s", d.Find("body").Text())
	}
	if got := d.Find(".repeat-headline").Text(); got != "" {
		t.Errorf("before answering the panel counts %q (no link, no same flat)", got)
	}
	v2.Set("victim_same_"+itoa(first), "yes")
	d = doc(t, f.c.postForm("/incidents/history", v2))
	if got := d.Find(".repeat-headline").Text(); got != "2nd incident in 12 months" {
		t.Errorf("after 'yes' the panel says %q, want %q", got, "2nd incident in 12 months")
	}
	full := f.validForm(key)
	for k, x := range v2 {
		full[k] = x
	}
	second := f.logVictimCall(t, full)
	p1, err := f.ts.DB.PersonOf(ctx, first, postgres.RoleVictim)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := f.ts.DB.PersonOf(ctx, second, postgres.RoleVictim)
	if p1 == 0 || p1 != p2 {
		t.Fatalf("after saving: persons %d and %d, want one", p1, p2)
	}
	// Her rule (not safe) is carried to the second call and shown before
	// the call-back button, which asks for a reason.
	d = doc(t, ok200(t, f.c.get("/incidents/"+itoa(second))))
	html, _ := d.Find("#safe-contact").Html()
	rule, button := strings.Index(html, "NOT SAFE"), strings.Index(html, "call-back-button")
	if rule < 0 || button < 0 || rule > button {
		t.Fatalf("safe-contact rule (%d) not shown before the call-back button (%d):\n%s", rule, button, html)
	}
	resp := f.c.postForm("/incidents/"+itoa(second)+"/call-back", url.Values{"cb_reason": {""}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unsafe call-back without a reason: %d, want 422", resp.StatusCode)
	}
	if fieldError(doc(t, resp), "cb_reason") == "" {
		t.Error("no message at the reason field")
	}
	wantRedirect(t, f.c.postForm("/incidents/"+itoa(second)+"/call-back", url.Values{"cb_reason": {"she asked us to call"}}),
		"/incidents/"+itoa(second))
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM call_backs WHERE incident_id = $1 AND unsafe AND reason <> ''`, second); n != 1 {
		t.Errorf("%d unsafe call-backs with a reason, want 1", n)
	}
	// Never on the board.
	b := body(t, ok200(t, f.c.get("/board")))
	if strings.Contains(b, "NOT SAFE") || strings.Contains(b, "safe-contact") {
		t.Error("the board shows the safe-contact rule")
	}
	// The supervisors' repeat-rate export counts her second call as a
	// repeat, and holds no rule, name or number.
	createUser(t, f.ts.DB, "sup", account.Supervisor, "LEN")
	sup := f.ts.client(t)
	sup.mustLogin("sup", testPassword)
	var got struct {
		Groups []struct {
			Key         string `json:"key"`
			DVIncidents int    `json:"dv_incidents"`
			Repeats     int    `json:"repeats"`
		} `json:"groups"`
	}
	raw := body(t, ok200(t, sup.get("/reports/repeat-victimisation.json?repeat_by=all")))
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Groups) != 1 || got.Groups[0].DVIncidents != 2 || got.Groups[0].Repeats != 1 {
		t.Errorf("repeat-rate export: %s, want 2 DV incidents, 1 repeat", raw)
	}
	for _, leak := range []string{"Asanova", "NOT SAFE", "+996"} {
		if strings.Contains(raw, leak) {
			t.Errorf("the export holds %q", leak)
		}
	}
	if resp := f.c.get("/reports/repeat-victimisation.csv"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a dispatcher's export: %d, want 403", resp.StatusCode)
	}
}

// TestIncidentPageLinksAndSupervisorUndoes: on the incident page a
// dispatcher confirms an offered link; a forged link to an incident that
// is only a namesake is refused; a dispatcher may not undo, a supervisor
// may, with a reason.
func TestIncidentPageLinksAndSupervisorUndoes(t *testing.T) {
	f := newIntakeFixture(t)
	v := f.validForm(f.openForm(t))
	v.Set("victim_age", "30")
	first := f.logVictimCall(t, v)
	v = f.validForm(f.openForm(t))
	v.Set("address", "ul. Manasa 1")
	v.Set("victim_age", "60") // a namesake: other age, place, same phone? no
	v.Set("caller_phone", "+996 700 00-00-01")
	namesake := f.logVictimCall(t, v)
	v = f.validForm(f.openForm(t))
	v.Set("address", "ul. Frunze 3")
	v.Set("caller_phone", "")
	v.Set("victim_age", "30")
	third := f.logVictimCall(t, v)

	d := doc(t, ok200(t, f.c.get("/incidents/"+itoa(third))))
	offers := d.Find(`.persons-panel form.person-offer input[name="other"]`)
	if offers.Length() != 1 || offers.AttrOr("value", "") != itoa(first) {
		t.Fatalf("offers on the third incident: %d (%q), want only the first", offers.Length(), offers.AttrOr("value", ""))
	}
	// Forged: link to the namesake.
	resp := f.c.postForm("/incidents/"+itoa(third)+"/persons", url.Values{"other": {itoa(namesake)}, "role": {"victim"}, "decision": {"yes"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("linking a namesake: %d, want 422", resp.StatusCode)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_persons`); n != 0 {
		t.Fatalf("a namesake made %d links", n)
	}
	wantRedirect(t, f.c.postForm("/incidents/"+itoa(third)+"/persons", url.Values{"other": {itoa(first)}, "role": {"victim"},
		"decision": {"yes"}}), "/incidents/"+itoa(third))
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_persons`); n != 2 {
		t.Fatalf("%d links after confirming, want 2", n)
	}
	d = doc(t, ok200(t, f.c.get("/incidents/"+itoa(third))))
	if got := d.Find(".persons-panel .repeat-headline").Text(); got != "2nd incident in 12 months" {
		t.Errorf("incident page repeat headline %q", got)
	}
	if d.Find(".undo-link").Length() != 0 {
		t.Error("a dispatcher is offered the undo")
	}
	if resp := f.c.postForm("/incidents/"+itoa(third)+"/persons/undo?role=victim", url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("dispatcher's undo: %d, want 403", resp.StatusCode)
	}
	createUser(t, f.ts.DB, "sup", account.Supervisor, "LEN")
	sup := f.ts.client(t)
	sup.mustLogin("sup", testPassword)
	resp = sup.postForm("/incidents/"+itoa(third)+"/persons/undo?role=victim", url.Values{"reason": {" "}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc(t, resp).Find(".undo-link .field-error").Text() == "" {
		t.Fatalf("undo without a reason: %d, want 422 with a message", resp.StatusCode)
	}
	wantRedirect(t, sup.postForm("/incidents/"+itoa(third)+"/persons/undo?role=victim", url.Values{"reason": {"another woman"}}),
		"/incidents/"+itoa(third))
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_persons WHERE incident_id = $1`, third); n != 0 {
		t.Errorf("link still there after undo")
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'person.unlink' AND detail->>'reason' = 'another woman'`); n != 1 {
		t.Errorf("%d audited undos, want 1", n)
	}
}

// TestPersonExportRedaction: a supervisor exports everything held about a
// victim; redacted, other people's details are left out; for the
// suspect's side her addresses and safe-contact rule are left out too.
// Each export is audited; a dispatcher may not export.
func TestPersonExportRedaction(t *testing.T) {
	f := newIntakeFixture(t)
	v := f.validForm(f.openForm(t))
	v.Set("victim_age", "30")
	v.Set("suspect_name", "Bolot Asanov")
	v.Set("safe_to_call", "no")
	first := f.logVictimCall(t, v)
	path := "/incidents/" + itoa(first) + "/persons/export"
	if resp := f.c.get(path); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a dispatcher's person export: %d, want 403", resp.StatusCode)
	}
	createUser(t, f.ts.DB, "sup", account.Supervisor, "LEN")
	sup := f.ts.client(t)
	sup.mustLogin("sup", testPassword)
	full := body(t, ok200(t, sup.get(path+"?role=victim&requester=subject")))
	for _, want := range []string{"Aigul Asanova", "Bolot Asanov", "ul. Chui 12, kv. 5", "Caller hears shouting", "SafeToCall"} {
		if !strings.Contains(full, want) {
			t.Errorf("unredacted export lacks %q:\n%s", want, full)
		}
	}
	red := body(t, ok200(t, sup.get(path+"?role=victim&requester=subject&redact=1")))
	for _, gone := range []string{"Bolot Asanov", "Nurgul Toktogulova", "Caller hears shouting"} {
		if strings.Contains(red, gone) {
			t.Errorf("redacted export holds %q", gone)
		}
	}
	if !strings.Contains(red, "Aigul Asanova") || !strings.Contains(red, "ul. Chui 12, kv. 5") {
		t.Errorf("redacted export for her lacks her own name or address:\n%s", red)
	}
	side := body(t, ok200(t, sup.get(path+"?role=victim&requester=suspect_side")))
	for _, gone := range []string{"ul. Chui 12", "SafeToCall", "Bolot Asanov", "Nurgul Toktogulova"} {
		if strings.Contains(side, gone) {
			t.Errorf("export for the suspect's side holds %q:\n%s", gone, side)
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'person.export'`); n != 3 {
		t.Errorf("%d audited person exports, want 3", n)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'person.export' AND detail::text LIKE '%Asanova%'`); n != 0 {
		t.Error("the audit row holds the export's content")
	}
}
