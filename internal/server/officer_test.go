package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
)

// officerFixture has an incident dispatched to unit LEN-11, whose officer
// is logged in.
type officerFixture struct {
	*intakeFixture
	officer  *client
	incident string // path of the incident page
}

func newOfficerFixture(t *testing.T) *officerFixture {
	t.Helper()
	f := &officerFixture{intakeFixture: newIntakeFixture(t)}
	resp := f.c.postForm("/incidents", f.validForm(f.openForm(t)))
	f.incident = location(resp)
	if resp := f.c.postForm(f.incident+"/units", url.Values{"unit_id": {itoa(f.unit.ID)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d", resp.StatusCode)
	}
	ctx := context.Background()
	if _, err := f.ts.DB.CreateUser(ctx, account.Draft{Username: "off", Role: "officer", District: "LEN", Unit: "LEN-11", Password: testPassword}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	f.officer = f.ts.client(t)
	f.officer.mustLogin("off", testPassword)
	return f
}

func stageKey(t *testing.T, c *client, page string) string {
	t.Helper()
	key, ok := doc(t, c.get(page)).Find(`form.stage-form input[name="key"]`).First().Attr("value")
	if !ok {
		t.Fatalf("no stage buttons on %s", page)
	}
	return key
}

func TestOfficerSeesAssignedIncidentWithWarnings(t *testing.T) {
	f := newOfficerFixture(t)
	resp := f.officer.get("/my")
	txt := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(txt, "Weapons mentioned on this call") {
		t.Errorf("my incidents: %d, warnings missing", resp.StatusCode)
	}
	// Where to go is on the card (issue 14), with a link for the phone's
	// map app; who is there and their phone are on the incident page only.
	if !strings.Contains(txt, "ul. Chui 12, kv. 5") {
		t.Error("the officer's card does not show the address")
	}
	for _, personal := range []string{"Aigul", "Nurgul", "555"} {
		if strings.Contains(txt, personal) {
			t.Errorf("the list shows %q; names and phones belong on the incident page only", personal)
		}
	}
	if _, err := f.ts.DB.Pool.Exec(context.Background(), `UPDATE incidents SET latitude = 42.8746, longitude = 74.5698`); err != nil {
		t.Fatal(err)
	}
	if got := doc(t, f.officer.get("/my")).Find(`article.my-incident a.navigate`).AttrOr("href", ""); got != "geo:42.8746,74.5698" {
		t.Errorf("the card's navigate link is %q, want geo:42.8746,74.5698", got)
	}
	if board := body(t, f.c.get("/board/fragment")); !strings.Contains(board, "ul. Chui 12, kv. 5") || strings.Contains(board, "Aigul") || strings.Contains(board, "555") {
		t.Error("the board row does not show the address, or shows a name or phone")
	}
	// A confidential address leaves the dispatcher's board; the officer
	// of the unit on the call still reads it (access.AddressShown).
	if resp := f.c.postForm(f.incident+"/confidential", url.Values{"confidential": {"on"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark the address confidential: %d", resp.StatusCode)
	}
	if board := body(t, f.c.get("/board/fragment")); strings.Contains(board, "Chui") || !strings.Contains(board, "Address confidential") {
		t.Error("the dispatcher's board shows a confidential address")
	}
	if my := body(t, f.officer.get("/my")); !strings.Contains(my, "ul. Chui 12, kv. 5") || !strings.Contains(my, "geo:42.8746,74.5698") {
		t.Error("the officer on the call no longer reads the confidential address on the card")
	}
	page := body(t, f.officer.get(f.incident))
	for _, want := range []string{"En route", "On scene", "Cleared", "Chui 12"} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page for the officer lacks %q", want)
		}
	}
}

func TestOfficerStageButtonsAndRetry(t *testing.T) {
	f := newOfficerFixture(t)
	key := stageKey(t, f.officer, f.incident)
	v := url.Values{"key": {key}, "stage": {"en_route"}}
	resp := f.officer.postForm(f.incident+"/stage", v)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("en route: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	if got := flashText(doc(t, f.officer.get(f.incident))); !strings.Contains(got, "En route recorded") {
		t.Errorf("flash %q", got)
	}
	// The phone lost the response and sends the same press again.
	resp = f.officer.postForm(f.incident+"/stage", v)
	if got := flashText(doc(t, f.officer.get(location(resp)))); !strings.Contains(got, "already recorded") {
		t.Errorf("retry flash %q, want already recorded", got)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_events WHERE kind = 'status_changed'`); n != 1 {
		t.Errorf("%d stage events after a retry, want 1", n)
	}
	if got := queryInt(t, f.ts.DB, `SELECT count(*) FROM units WHERE call_sign = 'LEN-11' AND status = 'en_route'`); got != 1 {
		t.Error("unit did not follow to en route")
	}
	// Clearing without a disposition is refused with the reason.
	resp = f.officer.postForm(f.incident+"/stage", url.Values{"key": {stageKey(t, f.officer, f.incident)}, "stage": {"cleared"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "Choose a disposition") {
		t.Errorf("clear without disposition: %d", resp.StatusCode)
	}
}

func TestOfficerOfAnotherUnitCannotSetStage(t *testing.T) {
	f := newOfficerFixture(t)
	ctx := context.Background()
	if _, err := f.ts.DB.CreateUser(ctx, account.Draft{Username: "off2", Role: "officer", District: "LEN", Password: testPassword}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	c := f.ts.client(t)
	c.mustLogin("off2", testPassword)
	resp := c.postForm(f.incident+"/stage", url.Values{"key": {"6f1c2a8e-7d4b-4c3a-9e5f-0a1b2c3d4e5f"}, "stage": {"on_scene"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer of no unit on the incident: %d, want 403", resp.StatusCode)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incidents WHERE on_scene_at IS NOT NULL`); n != 0 {
		t.Error("on scene was recorded by an officer not on the incident")
	}
}
