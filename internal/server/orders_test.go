package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// poFixture is a server with the reference data that protection
// orders and referrals need: a district, a domestic-violence type and the
// violation type, and a user who logs calls.
type poFixture struct {
	ts       *testServer
	district refdata.District
	typ      refdata.IncidentType
	viol     refdata.IncidentType
	creator  *account.User
}

func newPOFixture(t *testing.T) *poFixture {
	t.Helper()
	ts := newTestServer(t)
	ctx := context.Background()
	f := &poFixture{ts: ts, district: createDistrict(t, ts.DB, "LEN", "Leninsky")}
	f.typ = refdata.IncidentType{Code: "DV-PHYS", Name: "Domestic violence — physical", IsDV: true, Active: true}
	f.viol = refdata.IncidentType{Code: "PO-VIOL", Name: "Violation of protection order", IsDV: true, Active: true}
	for _, it := range []*refdata.IncidentType{&f.typ, &f.viol} {
		if err := ts.DB.SaveIncidentType(ctx, it, audit.Actor{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.DB.SavePriority(ctx, &refdata.Priority{Level: 1, Label: "Immediate danger", Targets: map[refdata.Interval]*int{}}, true, 0, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	f.creator = createUser(t, ts.DB, "calltaker", account.Dispatcher, "")
	return f
}

// incident logs a call of type typeID in the fixture's district.
func (f *poFixture) incident(t *testing.T, typeID int64, address, victim, suspect string) int64 {
	t.Helper()
	ctx := context.Background()
	key, received, err := f.ts.DB.CreateDraft(ctx, f.creator.ID)
	if err != nil {
		t.Fatal(err)
	}
	id, _, _, err := f.ts.DB.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: typeID, Priority: 1,
		DistrictID: &f.district.ID, Address: address, Victim: incident.Person{Name: victim}, Suspect: incident.Person{Name: suspect},
		Keys: incident.KeysOf(match.Rules{Region: "KG"}, address, "", "", victim, suspect)}, time.UTC, audit.Actor{UserID: f.creator.ID})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// user creates a user and returns a client logged in as them.
func (f *poFixture) user(t *testing.T, username string, role account.Role, district string) *client {
	t.Helper()
	createUser(t, f.ts.DB, username, role, district)
	c := f.ts.client(t)
	c.mustLogin(username, testPassword)
	return c
}

// officerOn creates an officer of a new unit of the fixture's district,
// puts the unit on the incidents (an officer changes only the incidents
// their unit is on) and returns a client logged in as them.
func (f *poFixture) officerOn(t *testing.T, username string, incidents ...int64) *client {
	t.Helper()
	unit := refdata.Unit{CallSign: strings.ToUpper(username), DistrictID: f.district.ID, Active: true}
	if err := f.ts.DB.SaveUnit(context.Background(), &unit, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range incidents {
		assignUnit(t, f.ts.DB, id, unit.ID)
	}
	createUnitUser(t, f.ts.DB, username, account.Officer, f.district.Code, unit.CallSign)
	c := f.ts.client(t)
	c.mustLogin(username, testPassword)
	return c
}

// order stores an order on incidentID directly, with any dates.
func (f *poFixture) order(t *testing.T, incidentID int64, protected, restrained, address string, start, end time.Time) (int64, string) {
	t.Helper()
	id, number, err := f.ts.DB.IssueOrder(context.Background(), incident.NewOrder{Kind: incident.RestrainingOrder,
		IncidentID: &incidentID, DistrictID: &f.district.ID, ProtectedName: protected, RestrainedName: restrained,
		Address: address, StartsAt: start, EndsAt: end, AddressKey: flatKeyOf(address),
		ProtectedKey: match.Name(protected), RestrainedKey: match.Name(restrained)}, time.UTC, audit.Actor{UserID: f.creator.ID})
	if err != nil {
		t.Fatal(err)
	}
	return id, number
}

func TestOrderRecordedFromTheIncident(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	inc := f.incident(t, f.typ.ID, "ul. Chui 12, kv. 5", "Aigul Asanova", "Bakyt Asanov")
	c := f.officerOn(t, "off-len", inc)
	formPath := "/incidents/" + itoa(inc) + "/orders/new"

	resp := c.get(formPath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", formPath, resp.StatusCode)
	}
	d := doc(t, resp)
	for name, want := range map[string]string{"kind": "temporary", "protected_name": "Aigul Asanova",
		"restrained_name": "Bakyt Asanov", "address": "ul. Chui 12, kv. 5", "ends_at": ""} {
		if got := fieldValue(d, name); got != want {
			t.Errorf("form field %s = %q, want %q", name, got, want)
		}
	}

	// An end before the start is refused, and everything typed is kept.
	v := url.Values{"kind": {"temporary"}, "protected_name": {"Aigul Asanova"}, "restrained_name": {"Bakyt Asanov"},
		"address": {"ul. Chui 12, kv. 5"}, "conditions": {"Not to approach the home."},
		"starts_at": {time.Now().UTC().Format(incident.OrderTimeLayout)}, "ends_at": {time.Now().UTC().Add(-time.Hour).Format(incident.OrderTimeLayout)}}
	resp = c.postForm(formPath, v)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("end before start: status %d, want 422", resp.StatusCode)
	}
	d = doc(t, resp)
	if got := fieldError(d, "ends_at"); !strings.Contains(got, "after the start") {
		t.Errorf("error next to ends_at = %q", got)
	}
	if got := fieldValue(d, "conditions"); got != "Not to approach the home." {
		t.Errorf("conditions kept as %q", got)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM protection_orders`); n != 0 {
		t.Fatalf("%d orders stored from invalid input", n)
	}

	// Without an end, the kind's default applies: three days.
	v.Del("ends_at")
	resp = c.postForm(formPath, v)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(resp), "/orders/") {
		t.Fatalf("POST %s: %d to %q; page says %q", formPath, resp.StatusCode, location(resp), errorText(doc(t, resp)))
	}
	var number, district string
	var starts, ends time.Time
	var incidentID, issuedBy int64
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT o.number, d.code, o.starts_at, o.ends_at, o.incident_id, o.issued_by
		FROM protection_orders o JOIN districts d ON d.id = o.district_id`).Scan(&number, &district, &starts, &ends, &incidentID, &issuedBy); err != nil {
		t.Fatal(err)
	}
	if ends.Sub(starts) != 72*time.Hour || incidentID != inc || district != "LEN" {
		t.Errorf("stored order: %s to %s, incident %d, district %s", starts, ends, incidentID, district)
	}
	if issuedBy != queryInt(t, f.ts.DB, `SELECT id FROM users WHERE username = 'off-len'`) {
		t.Errorf("issued_by %d is not the officer", issuedBy)
	}
	page := c.get(location(resp))
	text := body(t, page)
	for _, want := range []string{number, "Protection order " + number + " recorded", "Aigul Asanova", "Bakyt Asanov", "In force"} {
		if !strings.Contains(text, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	// The incident page lists it; its timeline has the event.
	d = doc(t, c.get("/incidents/"+itoa(inc)))
	if got := d.Find("#orders").Text(); !strings.Contains(got, number) {
		t.Errorf("the incident's orders section does not list %s: %q", number, strings.Join(strings.Fields(got), " "))
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'order_issued'`, inc); n != 1 {
		t.Errorf("%d order_issued events", n)
	}
}

func TestOrderExtendAndEndEarly(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	inc := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "Bakyt Asanov")
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	oid, number := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", start, start.Add(24*time.Hour))
	c := f.user(t, "disp", account.Dispatcher, "")
	path := "/orders/" + itoa(oid)

	d := doc(t, c.get(path))
	if d.Find(`form[action="`+path+`/extend"]`).Length() != 1 || d.Find(`form[action="`+path+`/end"]`).Length() != 1 {
		t.Fatalf("the order page offers no extend and end forms")
	}
	// A restraining order lasts at most 30 days, extensions included.
	resp := c.postForm(path+"/extend", url.Values{"ends_at": {start.Add(31 * 24 * time.Hour).Format(incident.OrderTimeLayout)}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("extension beyond 30 days: status %d, want 422", resp.StatusCode)
	}
	if got := fieldError(doc(t, resp), "ends_at"); !strings.Contains(got, "at most 30 days") {
		t.Errorf("error next to ends_at = %q", got)
	}
	newEnd := start.Add(10 * 24 * time.Hour)
	wantRedirect(t, c.postForm(path+"/extend", url.Values{"ends_at": {newEnd.Format(incident.OrderTimeLayout)}}), path)
	var ends time.Time
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT ends_at FROM protection_orders WHERE id = $1`, oid).Scan(&ends); err != nil {
		t.Fatal(err)
	}
	if !ends.Equal(newEnd) {
		t.Errorf("ends_at %v, want %v", ends, newEnd)
	}

	// Ending early needs a reason; what was typed is kept.
	resp = c.postForm(path+"/end", url.Values{"reason": {"no"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("end without a reason: status %d, want 422", resp.StatusCode)
	}
	d = doc(t, resp)
	if got := fieldError(d, "reason"); got == "" {
		t.Errorf("no message next to the reason")
	}
	if got := fieldValue(d, "reason"); got != "no" {
		t.Errorf("reason kept as %q", got)
	}
	wantRedirect(t, c.postForm(path+"/end", url.Values{"reason": {"The victim moved; court withdrew it."}}), path)
	d = doc(t, c.get(path))
	if got := d.Find("h1").Text(); !strings.Contains(got, "Ended early") {
		t.Errorf("order page heading %q, want it ended", got)
	}
	if d.Find(`form[action="`+path+`/end"]`).Length() != 0 {
		t.Errorf("an ended order still offers to end it")
	}
	for _, kind := range []string{"order_extended", "order_ended"} {
		if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = $2`, inc, kind); n != 1 {
			t.Errorf("%d %s events, want 1", n, kind)
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE record_id = $1 AND action IN ('order.extend', 'order.end')`, number); n != 2 {
		t.Errorf("%d audit rows of the changes, want 2", n)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE record_id = $1 AND action = 'order.view'`, number); n < 1 {
		t.Errorf("views of the order are not audited")
	}
}

func TestExpiringOrdersList(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	inc := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "Bakyt Asanov")
	now := time.Now()
	start := now.Add(-23 * time.Hour)
	_, in2h := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", start, now.Add(2*time.Hour))
	_, in30h := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", start, now.Add(30*time.Hour))
	endedID, ended := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", start, now.Add(3*time.Hour))
	if err := f.ts.DB.EndOrder(context.Background(), endedID, "Issued in error", audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	sup := f.user(t, "sup", account.Supervisor, "LEN")
	resp := sup.get("/orders/expiring")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /orders/expiring as supervisor: %d", resp.StatusCode)
	}
	text := doc(t, resp).Find("table.expiring").Text()
	if !strings.Contains(text, in2h) {
		t.Errorf("the order ending in 2 h (%s) is not listed", in2h)
	}
	for _, n := range []string{in30h, ended} {
		if strings.Contains(text, n) {
			t.Errorf("order %s is listed", n)
		}
	}
	// A supervisor of another district sees none of it.
	createDistrict(t, f.ts.DB, "OSH", "Osh")
	if text := body(t, ok200(t, f.user(t, "sup-osh", account.Supervisor, "OSH").get("/orders/expiring"))); strings.Contains(text, in2h) {
		t.Errorf("a supervisor of another district sees %s", in2h)
	}
	if resp := f.user(t, "root", account.Admin, "").get("/orders/expiring"); resp.StatusCode != http.StatusOK {
		t.Errorf("admin: status %d, want 200", resp.StatusCode)
	}
	for _, role := range []account.Role{account.Dispatcher, account.Officer} {
		if resp := f.user(t, "x-"+string(role), role, "LEN").get("/orders/expiring"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", role, resp.StatusCode)
		}
	}
}

func TestActiveOrderWarnsInTheHistoryPanel(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	inc := f.incident(t, f.typ.ID, "ul. Chui 12, kv. 5", "Aigul Asanova", "Bakyt Asanov")
	now := time.Now()
	_, number := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12, kv. 5", now.Add(-time.Hour), now.Add(48*time.Hour))
	oldID, old := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12, kv. 5", now.Add(-time.Hour), now.Add(48*time.Hour))
	if err := f.ts.DB.EndOrder(context.Background(), oldID, "Issued in error", audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	c := f.user(t, "disp", account.Dispatcher, "")
	for _, v := range []url.Values{
		{"address": {"UL. CHUI 12, KV. 5"}},
		{"victim_name": {"asanova AIGUL"}, "suspect_name": {"Bakyt ASANOV"}},
	} {
		resp := c.postForm("/incidents/history", v)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /incidents/history %v: %d", v, resp.StatusCode)
		}
		text := strings.Join(strings.Fields(doc(t, resp).Text()), " ")
		warning := "Active protection order " + number + " protects Aigul Asanova from Bakyt Asanov until"
		i := strings.Index(text, warning)
		if i < 0 {
			t.Errorf("history for %v lacks %q", v, warning)
			continue
		}
		if j := strings.Index(text, "earlier incident"); j >= 0 && j < i {
			t.Errorf("history for %v: the order warning is not first", v)
		}
		if strings.Contains(text, old) {
			t.Errorf("history for %v shows the ended order %s", v, old)
		}
	}
	// One name alone is a possible namesake: the order is listed apart,
	// without its parties, and raises no warning.
	d := doc(t, c.postForm("/incidents/history", url.Values{"victim_name": {"asanova AIGUL"}}))
	if d.Find(".alert-danger").Length() != 0 || !strings.Contains(d.Find("details.namesakes").Text(), number) ||
		strings.Contains(d.Find("details.namesakes").Text(), "Bakyt") {
		t.Errorf("an order found by one name: %q", strings.Join(strings.Fields(d.Text()), " "))
	}
	// A new call at the address shows the warning at the top of its page.
	second := f.incident(t, f.typ.ID, "ul. chui 12, KV. 5", "", "")
	d = doc(t, c.get("/incidents/"+itoa(second)))
	if got := d.Find(".alert-danger.active-orders").Text(); !strings.Contains(got, number) {
		t.Errorf("the incident page does not warn of %s", number)
	}
}

func TestViolationLinksTheOrder(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	first := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "Bakyt Asanov")
	now := time.Now()
	oid, number := f.order(t, first, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", now.Add(-time.Hour), now.Add(48*time.Hour))
	other := f.incident(t, f.typ.ID, "ul. Manas 3", "Someone Else", "Other Person")
	oid2, number2 := f.order(t, other, "Someone Else", "Other Person", "ul. Manas 3", now.Add(-time.Hour), now.Add(48*time.Hour))
	viol := f.incident(t, f.viol.ID, "Chui 12", "aigul asanova", "")
	c := f.officerOn(t, "off-len", viol, first)
	path := "/incidents/" + itoa(viol)

	d := doc(t, c.get(path))
	sel := d.Find(`#orders select[name="order_id"]`)
	if sel.Length() != 1 {
		t.Fatalf("the violation's orders section has no order select")
	}
	if v, _ := sel.Find("option").Eq(1).Attr("value"); v != itoa(oid) || sel.Find("option").Length() != 2 {
		t.Errorf("candidate orders %q, want only %s", sel.Text(), number)
	}
	wantRedirect(t, c.postForm(path+"/violated-order", url.Values{"order_id": {itoa(oid)}}), path+"#orders")
	if got := queryInt(t, f.ts.DB, `SELECT coalesce(protection_order_id, 0) FROM incidents WHERE id = $1`, viol); got != oid {
		t.Errorf("protection_order_id = %d, want %d", got, oid)
	}
	d = doc(t, c.get(path))
	if got := d.Find("#orders .violated-order").Text(); !strings.Contains(got, number) {
		t.Errorf("the incident does not show the violated order: %q", got)
	}
	// Any active order can be linked by its number.
	wantRedirect(t, c.postForm(path+"/violated-order", url.Values{"number": {strings.ToLower(number2)}}), path+"#orders")
	if got := queryInt(t, f.ts.DB, `SELECT coalesce(protection_order_id, 0) FROM incidents WHERE id = $1`, viol); got != oid2 {
		t.Errorf("protection_order_id = %d, want %d", got, oid2)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'order_violation_linked'`, viol); n != 2 {
		t.Errorf("%d order_violation_linked events, want 2", n)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'incident.link_order'`); n != 2 {
		t.Errorf("%d incident.link_order audit rows, want 2", n)
	}
	// An unknown number: to an officer (who sees part of the orders) like
	// an order outside their part, so that numbers cannot be tried; to a
	// national dispatcher, who sees every order, "no such number".
	resp := c.postForm(path+"/violated-order", url.Values{"number": {"PO-1999-000001"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body(t, resp), "outside your district or area, or there is no such order") {
		t.Errorf("unknown number as an officer: status %d", resp.StatusCode)
	}
	resp = f.user(t, "disp-all", account.Dispatcher, "").postForm(path+"/violated-order", url.Values{"number": {"PO-1999-000001"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "No protection order has the number PO-1999-000001") {
		t.Errorf("unknown number as a national dispatcher: status %d", resp.StatusCode)
	}
	// An incident of another type is not linked, and offers no select.
	if doc(t, ok200(t, c.get("/incidents/"+itoa(first)))).Find(`#orders select[name="order_id"]`).Length() != 0 {
		t.Errorf("a non-violation incident offers to link an order")
	}
	resp = c.postForm("/incidents/"+itoa(first)+"/violated-order", url.Values{"order_id": {itoa(oid2)}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("linking on a non-violation incident: status %d, want 409", resp.StatusCode)
	}
}

// TestOrderRoles: officers, dispatchers and supervisors record orders;
// administrators may read them but not record or change them; nobody
// sees an order outside what they may see of its incident.
func TestOrderRoles(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	createDistrict(t, f.ts.DB, "OSH", "Osh")
	inc := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "Bakyt Asanov")
	now := time.Now()
	oid, _ := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", now.Add(-time.Hour), now.Add(48*time.Hour))
	orderPath := "/orders/" + itoa(oid)
	newPath := "/incidents/" + itoa(inc) + "/orders/new"
	valid := url.Values{"kind": {"temporary"}, "protected_name": {"Aigul Asanova"}, "restrained_name": {"Bakyt Asanov"}}

	admin := f.user(t, "root", account.Admin, "")
	if resp := admin.get(orderPath); resp.StatusCode != http.StatusOK {
		t.Errorf("admin GET %s: %d, want 200", orderPath, resp.StatusCode)
	} else if doc(t, resp).Find(`form[action="`+orderPath+`/end"]`).Length() != 0 {
		t.Errorf("the admin is offered to end the order")
	}
	for _, p := range []string{newPath, orderPath + "/extend", orderPath + "/end"} {
		if resp := admin.postForm(p, valid); resp.StatusCode != http.StatusForbidden {
			t.Errorf("admin POST %s: %d, want 403", p, resp.StatusCode)
		}
	}
	if resp := admin.get(newPath); resp.StatusCode != http.StatusForbidden {
		t.Errorf("admin GET %s: %d, want 403", newPath, resp.StatusCode)
	}

	osh := f.user(t, "off-osh", account.Officer, "OSH")
	if resp := osh.get(orderPath); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer of another district GET %s: %d, want 403", orderPath, resp.StatusCode)
	} else if strings.Contains(body(t, resp), "Aigul") {
		t.Errorf("the refusal shows the protected person's name")
	}
	if resp := osh.postForm(orderPath+"/end", url.Values{"reason": {"Not my district, still ending it"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer of another district POST end: %d, want 403", resp.StatusCode)
	}
	if resp := osh.postForm(newPath, valid); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer of another district POST %s: %d, want 403", newPath, resp.StatusCode)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM protection_orders WHERE ended_at IS NOT NULL OR id <> $1`, oid); n != 0 {
		t.Errorf("a refused request changed the orders")
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'order.view' AND outcome = 'denied'`); n < 1 {
		t.Errorf("the refused view of the order is not audited")
	}

	for _, role := range []account.Role{account.Officer, account.Dispatcher, account.Supervisor} {
		c := f.user(t, "rec-"+string(role), role, "LEN")
		if role == account.Officer {
			// An officer of the district whose unit is not on the incident
			// may not; one whose unit is may.
			if resp := c.postForm(newPath, valid); resp.StatusCode != http.StatusForbidden {
				t.Errorf("officer not on the incident POST %s: %d, want 403", newPath, resp.StatusCode)
			}
			c = f.officerOn(t, "rec-unit-officer", inc)
		}
		if resp := c.postForm(newPath, valid); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s POST %s: %d, want 303; page says %q", role, newPath, resp.StatusCode, errorText(doc(t, resp)))
		}
	}
}

// flatKeyOf is the flat's key of an address.
func flatKeyOf(address string) string {
	flat, _ := match.Address(address)
	return flat
}
