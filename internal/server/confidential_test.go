package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/web"
)

func TestAddressShown(t *testing.T) {
	t.Parallel()
	len1, osh := int64(1), int64(2)
	unit, other := int64(11), int64(12)
	in := &incident.Incident{DistrictID: &len1, AddressConfidential: true,
		Units: []incident.Assignment{{UnitID: unit}, {UnitID: other}}}
	released := *in
	released.Units = []incident.Assignment{{UnitID: unit, ReleasedAt: &in.ReceivedAt}, {UnitID: other}}
	tests := []struct {
		name string
		u    account.User
		in   *incident.Incident
		want bool
	}{
		{"dispatcher", account.User{Role: account.Dispatcher}, in, false},
		{"admin", account.User{Role: account.Admin}, in, false},
		{"officer of the unit on it", account.User{Role: account.Officer, DistrictID: &len1, UnitID: &unit}, in, true},
		{"officer of the district, not on it", account.User{Role: account.Officer, DistrictID: &len1}, in, false},
		{"officer of a released unit", account.User{Role: account.Officer, DistrictID: &len1, UnitID: &unit}, &released, false},
		{"supervisor of the district", account.User{Role: account.Supervisor, DistrictID: &len1}, in, true},
		{"supervisor of the whole force", account.User{Role: account.Supervisor}, in, true},
		{"supervisor of another district", account.User{Role: account.Supervisor, DistrictID: &osh}, in, false},
		{"dispatcher, not confidential", account.User{Role: account.Dispatcher}, &incident.Incident{}, true},
	}
	for _, tt := range tests {
		if got := addressShown(&tt.u, tt.in); got != tt.want {
			t.Errorf("%s: addressShown = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRedactFacts(t *testing.T) {
	t.Parallel()
	facts := []web.KV{{Key: "received", Label: "Received", Value: "10:00"}, {Key: "address", Label: "Address", Value: "Shelter lane 9"},
		{Key: "location_notes", Label: "Location notes", Value: "blue door"}, {Key: "coordinates", Label: "Coordinates", Value: "42.87, 74.59"},
		{Key: "victim", Label: "Victim", Value: "A"}}
	in := &incident.Incident{AddressConfidential: true}
	en := i18n.Shared().Localizer("en")
	got := redactFacts(en, &account.User{Role: account.Dispatcher}, in, facts)
	if len(got) != len(facts) {
		t.Fatalf("redactFacts dropped facts: %v", got)
	}
	for _, f := range got {
		for _, secret := range []string{"Shelter", "blue door", "42.87"} {
			if strings.Contains(f.Value, secret) {
				t.Errorf("dispatcher is shown %s = %q", f.Label, f.Value)
			}
		}
	}
	if got[1].Value != addressHiddenText || got[0].Value != "10:00" || got[4].Value != "A" {
		t.Errorf("redacted facts = %v", got)
	}
	sup := redactFacts(en, &account.User{Role: account.Supervisor}, in, facts)
	if !strings.HasPrefix(sup[1].Value, "Shelter lane 9") || !strings.Contains(sup[1].Value, "CONFIDENTIAL") || sup[2].Value != "blue door" {
		t.Errorf("supervisor's facts = %v", sup)
	}
	if facts[1].Value != "Shelter lane 9" {
		t.Error("redactFacts changed its argument")
	}
}

// confidentialFixture is an incident with a full location, dispatched to
// LEN-11 (whose officer "off" is logged in), and clients for everyone else.
type confidentialFixture struct {
	*officerFixture
	page                       string // path of the incident page
	other, sup, supOsh, admin  *client
	address, notes, coordsText string
}

func newConfidentialFixture(t *testing.T) *confidentialFixture {
	t.Helper()
	f := &confidentialFixture{officerFixture: newOfficerFixture(t), address: "Shelter lane 9, room 4",
		notes: "Blue door behind the pharmacy", coordsText: "42.87"}
	v := f.validForm(f.openForm(t))
	v.Set("address", f.address)
	v.Set("location_notes", f.notes)
	v.Set("latitude", "42.8746")
	v.Set("longitude", "74.5698")
	resp := f.c.postForm("/incidents", v)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log the call: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	f.page = location(resp)
	// The officer's unit moves to the new call (it is busy on the first:
	// the move is confirmed).
	if resp := f.c.postForm(f.page+"/units", url.Values{"unit_id": {itoa(f.unit.ID)}, "move": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d", resp.StatusCode)
	}
	createDistrict(t, f.ts.DB, "OSH", "Osh city")
	login := func(name string, role account.Role, district string) *client {
		createUser(t, f.ts.DB, name, role, district)
		c := f.ts.client(t)
		c.mustLogin(name, testPassword)
		return c
	}
	f.other = login("off-other", account.Officer, "LEN") // same district, no unit on the call
	f.sup = login("sup", account.Supervisor, "LEN")
	f.supOsh = login("sup-osh", account.Supervisor, "OSH")
	f.admin = login("root", account.Admin, "")
	return f
}

// wantAddress checks whether the incident page shows c the address.
func (f *confidentialFixture) wantAddress(t *testing.T, who string, c *client, shown bool) {
	t.Helper()
	resp := c.get(f.page)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: GET %s: %d", who, f.page, resp.StatusCode)
	}
	page := body(t, resp)
	for _, secret := range []string{f.address, f.notes, f.coordsText} {
		if strings.Contains(page, secret) != shown {
			t.Errorf("%s: page shows %q: %v, want %v", who, secret, !shown, shown)
		}
	}
	if got := factValue(doc(t, resp), "Address"); (got == addressHiddenText) == shown {
		t.Errorf("%s: the page's address reads %q", who, got)
	}
}

// factValue is the value of the incident page's fact with the label.
func factValue(d *goquery.Document, label string) string {
	dt := d.Find("dl.kv dt").FilterFunction(func(_ int, s *goquery.Selection) bool { return strings.TrimSpace(s.Text()) == label })
	return strings.TrimSpace(dt.First().Next().Text())
}

func (f *confidentialFixture) flag(t *testing.T) bool {
	t.Helper()
	return queryInt(t, f.ts.DB, `SELECT address_confidential::int FROM incidents WHERE address = $1`, f.address) == 1
}

func TestAddressConfidentiality(t *testing.T) {
	t.Parallel()
	f := newConfidentialFixture(t)
	f.wantAddress(t, "dispatcher before the flag", f.c, true)

	// A dispatcher marks the address confidential.
	resp := f.c.postForm(f.page+"/confidential", url.Values{"confidential": {"on"}})
	wantRedirect(t, resp, f.page+"#confidential")
	if !f.flag(t) {
		t.Fatal("the flag is not set")
	}
	if got := flashText(doc(t, f.c.get(f.page))); !strings.Contains(got, "now confidential") {
		t.Errorf("flash = %q", got)
	}
	for _, tt := range []struct {
		who   string
		c     *client
		shown bool
	}{
		{"dispatcher", f.c, false},
		{"officer of the district not on the call", f.other, false},
		{"administrator", f.admin, false},
		{"officer of the unit on the call", f.officer, true},
		{"supervisor of the district", f.sup, true},
	} {
		f.wantAddress(t, tt.who, tt.c, tt.shown)
	}
	if resp := f.supOsh.get(f.page); resp.StatusCode != http.StatusForbidden || strings.Contains(body(t, resp), f.address) {
		t.Errorf("supervisor of another district: %d", resp.StatusCode)
	}
	// Setting it again changes nothing.
	f.c.postForm(f.page+"/confidential", url.Values{"confidential": {"on"}})
	if got := flashText(doc(t, f.c.get(f.page))); !strings.Contains(got, "already confidential") {
		t.Errorf("second set: flash = %q", got)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'incident.confidential_set'`); n != 1 {
		t.Errorf("%d confidential_set audit rows, want 1", n)
	}

	// The dispatcher's board says "Address confidential" instead; the
	// officer of the unit on the call reads it on the card, marked, with
	// the Navigate link (access.AddressShown).
	my := body(t, f.officer.get("/my"))
	if !strings.Contains(my, "Shelter") || !strings.Contains(my, "CONFIDENTIAL: do not disclose") || !strings.Contains(my, "geo:42.87") {
		t.Error("the officer on the call does not read the confidential address, marked, on the card")
	}
	if board := body(t, f.c.get("/board/fragment")); !strings.Contains(board, "Address confidential") {
		t.Error("the board does not say the address is confidential")
	}
	// The board and the history panel never show it.
	for what, resp := range map[string]*http.Response{
		"board fragment": f.c.get("/board/fragment"),
		"history panel": f.c.postFormHeaders("/incidents/history", url.Values{"address": {f.address}},
			map[string]string{"HX-Request": "true", "Origin": f.c.base, "Sec-Fetch-Site": "same-origin"}),
	} {
		txt := body(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", what, resp.StatusCode)
		}
		for _, secret := range []string{"Shelter", "Blue door", "42.87"} {
			if strings.Contains(txt, secret) {
				t.Errorf("%s shows %q", what, secret)
			}
		}
	}

	// Only a supervisor lifts it, and only with a reason.
	lift := func(c *client, reason string) *http.Response {
		return c.postForm(f.page+"/confidential", url.Values{"confidential": {"off"}, "lift_reason": {reason}})
	}
	for who, c := range map[string]*client{"dispatcher": f.c, "officer": f.officer} {
		if resp := lift(c, "The victim asked for it."); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s lifts: status %d, want 403", who, resp.StatusCode)
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'incident.confidential_lift' AND outcome = 'denied'`); n != 2 {
		t.Errorf("%d denied lifts audited, want 2", n)
	}
	for _, reason := range []string{"", "  no ", strings.Repeat("x", incident.MaxReason+1)} {
		resp := lift(f.sup, reason)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("lift with reason of %d chars: status %d, want 422", len(reason), resp.StatusCode)
			continue
		}
		d := doc(t, resp)
		if got := fieldError(d, "lift_reason"); got == "" {
			t.Errorf("lift with reason of %d chars: no message at the reason", len(reason))
		}
		if got := fieldValue(d, "lift_reason"); got != reason {
			t.Errorf("the form lost the typed reason: %q", got)
		}
	}
	if !f.flag(t) {
		t.Fatal("the flag was lifted by a refused request")
	}
	resp = lift(f.sup, "  The victim left the shelter and asked for it.  ")
	wantRedirect(t, resp, f.page+"#confidential")
	if f.flag(t) {
		t.Fatal("the flag is still set after the supervisor lifted it")
	}
	var detail string
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT detail::text FROM audit_events
		WHERE action = 'incident.confidential_lift' AND outcome = 'ok'`).Scan(&detail); err != nil {
		t.Fatalf("no audit row of the lift: %v", err)
	}
	if !strings.Contains(detail, `"The victim left the shelter and asked for it."`) {
		t.Errorf("lift audited with detail %s, want the reason", detail)
	}
	if page := body(t, f.c.get(f.page)); !strings.Contains(page, "Address confidentiality lifted: The victim left the shelter") ||
		!strings.Contains(page, "Address marked confidential") {
		t.Error("the timeline lacks the flag's events")
	}
	f.wantAddress(t, "dispatcher after the lift", f.c, true)
	if resp := lift(f.sup, "Pressed twice by mistake."); location(resp) != f.page+"#confidential" {
		t.Errorf("second lift: %d %q", resp.StatusCode, location(resp))
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'incident.confidential_lift' AND outcome = 'ok'`); n != 1 {
		t.Errorf("%d lifts audited, want 1 (the second changed nothing)", n)
	}
}

func TestConfidentialBadRequests(t *testing.T) {
	t.Parallel()
	f := newConfidentialFixture(t)
	if resp := f.c.postForm(f.page+"/confidential", url.Values{"confidential": {"maybe"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("confidential=maybe: status %d, want 422", resp.StatusCode)
	}
	if resp := f.c.postForm("/incidents/999999/confidential", url.Values{"confidential": {"on"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown incident: status %d, want 404", resp.StatusCode)
	}
	if resp := f.supOsh.postForm(f.page+"/confidential", url.Values{"confidential": {"on"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("supervisor of another district: status %d, want 403", resp.StatusCode)
	}
	if resp := f.admin.postForm(f.page+"/confidential", url.Values{"confidential": {"on"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("administrator: status %d, want 403", resp.StatusCode)
	}
	if f.flag(t) {
		t.Error("a refused request set the flag")
	}
	// The panel offers what the viewer may do.
	d := doc(t, ok200(t, f.admin.get(f.page)))
	if d.Find("#confidential").Length() != 0 {
		t.Error("the administrator is offered the confidentiality section with nothing to see or do")
	}
	if d := doc(t, f.officer.get(f.page)); d.Find(`#confidential input[name="confidential"][value="on"]`).Length() != 1 {
		t.Error("the officer is not offered to mark the address confidential")
	}
	f.officer.postForm(f.page+"/confidential", url.Values{"confidential": {"on"}})
	if !f.flag(t) {
		t.Fatal("the officer could not set the flag")
	}
	if d := doc(t, ok200(t, f.officer.get(f.page))); d.Find(`#confidential textarea[name="lift_reason"]`).Length() != 0 {
		t.Error("the officer is offered to lift the flag")
	}
	if d := doc(t, f.sup.get(f.page)); d.Find(`#confidential textarea[name="lift_reason"]`).Length() != 1 {
		t.Error("the supervisor is not offered to lift the flag")
	}
}
