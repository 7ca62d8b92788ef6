package server

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// Record access, route by role by record.
//
// The access rule (internal/access) is restated here by hand, as a table
// of which user may see and change which record, rather than computed by
// calling the access package: a change of the rule has to be made in both
// places on purpose.
//
//   - officers: see their district's incidents and those their unit is (or
//     was) on; change only those their unit is on (not released);
//   - supervisors: their district's (all, without a district) and those
//     they logged;
//   - dispatchers with a district (a control room's area): that
//     district's and those they logged; without a district: all;
//   - an incident with no district: those without a district, whoever
//     logged it, administrators and the officers of a unit on it;
//   - administrators: see all, change none.
//
// The matrix has three axes: every route that takes a record ({id}
// incident, {oid} order, {rid} referral), every user (role, with and
// without a district), and records of the user's own district, another
// district and none. Each allowed request must not be refused (403/404/405,
// a 5xx or the login page); a refused one must be 403, show none of the
// record's personal data, and leave an audit row with outcome "denied" for
// that user. The exports with a district filter and the audit viewer are
// requested too.

// Records of the access fixture.
const (
	recLEN           = "len"                     // district LEN, logged by the call taker; LEN-2 (off-len's unit) on it
	recOSH           = "osh"                     // district OSH, logged by the call taker; OSH-1 (off-osh's unit) on it
	recNone          = "none"                    // no district yet, logged by the call taker
	recOSHByDispLEN  = "osh-logged-by-disp-len"  // district OSH, logged by the LEN dispatcher; OSH-2 on it
	recOSHLENUnit    = "osh-len-unit"            // district OSH, logged by the call taker; LEN-2 (off-len's unit) on it
	recNoneByDispLEN = "none-logged-by-disp-len" // no district, logged by the LEN dispatcher
	recNoneOSHUnit   = "none-osh-unit"           // no district (imported: no one logged it); OSH-1 (off-osh's unit) on it
	recLENReleased   = "len-released"            // district LEN, logged by the call taker; LEN-2 was on it, released
	recOrderOnly     = "order-osh"               // a protection order with no incident, district OSH ({oid} routes only)
	recOrderNone     = "order-none"              // a protection order with no incident and no district ({oid} routes only)
)

// incidentRecords are the records that are incidents (with an order and a
// referral each).
var incidentRecords = []string{recLEN, recOSH, recNone, recOSHByDispLEN, recOSHLENUnit, recNoneByDispLEN, recNoneOSHUnit, recLENReleased}

// accessUsers are the users of the matrix: every role, inside and outside
// each district, and without one.
var accessUsers = []struct {
	name     string
	role     account.Role
	district string
	unit     string
}{
	{"off-len", account.Officer, "LEN", "LEN-2"},
	{"off-osh", account.Officer, "OSH", "OSH-1"},
	{"sup-len", account.Supervisor, "LEN", ""},
	{"sup-osh", account.Supervisor, "OSH", ""},
	{"sup-all", account.Supervisor, "", ""},
	{"disp-len", account.Dispatcher, "LEN", ""},
	{"disp-osh", account.Dispatcher, "OSH", ""},
	{"disp-all", account.Dispatcher, "", ""},
	{"admin", account.Admin, "", ""},
}

var allRecords = append(slices.Clone(incidentRecords), recOrderOnly, recOrderNone)

// recordDistrict is the district of each record ("" for none).
var recordDistrict = map[string]string{
	recLEN: "LEN", recOSH: "OSH", recNone: "", recOSHByDispLEN: "OSH", recOSHLENUnit: "OSH", recNoneByDispLEN: "",
	recNoneOSHUnit: "", recLENReleased: "LEN", recOrderOnly: "OSH", recOrderNone: "",
}

// expectedView is, by user, the records they may see (an order or a
// referral is seen with its incident; the order without an incident by
// its district). Every other record is refused.
var expectedView = map[string][]string{
	"off-len":  {recLEN, recOSHLENUnit, recLENReleased},
	"off-osh":  {recOSH, recOSHByDispLEN, recOSHLENUnit, recNoneOSHUnit, recOrderOnly},
	"sup-len":  {recLEN, recLENReleased},
	"sup-osh":  {recOSH, recOSHByDispLEN, recOSHLENUnit, recOrderOnly},
	"sup-all":  allRecords,
	"disp-len": {recLEN, recOSHByDispLEN, recNoneByDispLEN, recLENReleased},
	"disp-osh": {recOSH, recOSHByDispLEN, recOSHLENUnit, recOrderOnly},
	"disp-all": allRecords,
	"admin":    allRecords,
}

// expectedChange is, for officers, the records they may change (stages,
// orders, danger screens, referrals): those their unit is on now, not
// every record they may see. Dispatchers and supervisors change what they
// see; administrators change nothing (their role is refused).
var expectedChange = map[string][]string{
	"off-len": {recLEN, recOSHLENUnit},
	"off-osh": {recOSH, recNoneOSHUnit},
}

// districtAxis is where rec lies for user: "own" district, "other"
// district or "none".
func districtAxis(user, rec string) string {
	switch d := recordDistrict[rec]; d {
	case "":
		return "none"
	case userDistrict(user):
		return "own"
	}
	return "other"
}

// userDistrict is the district of the named fixture user ("" for none).
func userDistrict(name string) string {
	for _, u := range accessUsers {
		if u.name == name {
			return u.district
		}
	}
	panic("no access user " + name)
}

// expectedExport is, by user, the districts whose report they may export;
// users not listed may export none (their role is refused).
var expectedExport = map[string][]string{
	"sup-len": {"LEN"},
	"sup-osh": {"OSH"},
	"sup-all": {"LEN", "OSH"},
	"admin":   {"LEN", "OSH"},
}

// expectedAuditRows is, by user, the records whose audit rows they read in
// the audit viewer; users not listed may not open it.
var expectedAuditRows = map[string][]string{
	"sup-len": {recLEN},
	"sup-osh": {recOSH},
	"sup-all": {recLEN, recOSH, recNone},
	"admin":   {recLEN, recOSH, recNone},
}

// recordRoute is a route that takes a record.
type recordRoute struct {
	key   string     // "METHOD PATTERN", as in routeAccess
	param string     // "id", "oid" or "rid"
	form  url.Values // a POST's form: chosen so that an allowed request changes nothing
	// change: the route changes the record: an officer also needs their
	// unit on the incident (expectedChange).
	change bool
	// work: for officers, the records they may use the route on instead
	// of expectedView and expectedChange (follow-ups and checks).
	work map[string][]string
}

// recordRoutes is every route with a record parameter. TestAccessMatrix
// fails when a registered route with one is missing here.
var recordRoutes = []recordRoute{
	{key: "GET /incidents/{id}", param: "id"},
	{key: "POST /incidents/{id}/units", param: "id", change: true},                // no unit chosen: 422
	{key: "POST /incidents/{id}/units/{unit}/release", param: "id", change: true}, // a unit not on it: nothing to release
	{key: "POST /incidents/{id}/stage", param: "id", change: true},                // no stage: refused as invalid
	{key: "POST /incidents/{id}/calls", param: "id", change: true},                // no intake draft: 422
	{key: "GET /incidents/{id}/danger", param: "id", change: true},
	{key: "POST /incidents/{id}/danger", param: "id", change: true}, // unanswered: 422
	{key: "GET /incidents/{id}/correct", param: "id", change: true},
	{key: "POST /incidents/{id}/correct", param: "id", change: true}, // no stage: 422
	{key: "POST /incidents/{id}/confidential", param: "id"},          // neither on nor off: 422
	{key: "GET /incidents/{id}/orders/new", param: "id", change: true},
	{key: "POST /incidents/{id}/orders/new", param: "id", change: true},     // empty: 422
	{key: "POST /incidents/{id}/violated-order", param: "id", change: true}, // not a violation call: 409
	{key: "POST /incidents/{id}/referrals", param: "id", change: true},      // no organisation: 422
	{key: "GET /orders/{oid}", param: "oid"},
	{key: "POST /orders/{oid}/extend", param: "oid", change: true},                                              // no new end: 422
	{key: "POST /orders/{oid}/end", param: "oid", change: true},                                                 // no reason: 422
	{key: "POST /referrals/{rid}/status", param: "rid", change: true, form: url.Values{"to": {"no-such-step"}}}, // 422
	{key: "POST /incidents/{id}/persons", param: "id", change: true},                                            // no incident offered: 422
	{key: "POST /incidents/{id}/persons/undo", param: "id", change: true},                                       // no reason: 422
	{key: "POST /incidents/{id}/safe-contact", param: "id", change: true},                                       // no "who may contact": 422
	{key: "POST /incidents/{id}/call-back", param: "id", change: true},
	{key: "GET /incidents/{id}/persons/export", param: "id", change: true}, // no person linked: 409                                          // not known to be safe, no reason: 422
	// Follow-up tasks (of each incident, in its district's pool) and order
	// checks (of each order, for the first unit sent to its incident):
	// officers record those of their unit and district pool, and those of
	// incidents their unit is on (expectedWork); no outcome: nothing is
	// recorded.
	{key: "POST /follow-ups/{tid}/close", param: "tid", change: true, work: expectedTaskWork},
	{key: "POST /checks/{cid}", param: "cid", change: true, work: expectedCheckWork},
	{key: "POST /work/{what}/{wid}/assign", param: "wid", change: true, form: url.Values{"unit_id": {"not-a-unit"}}},
}

// expectedTaskWork and expectedCheckWork are, for officers, the records
// whose follow-up task and order check they may record (access's "task of
// unit", and "unit is on").
var (
	expectedTaskWork = map[string][]string{
		"off-len": {recLEN, recOSHLENUnit, recLENReleased},
		"off-osh": {recOSH, recOSHByDispLEN, recOSHLENUnit, recNoneOSHUnit},
	}
	expectedCheckWork = map[string][]string{
		"off-len": {recLEN, recOSHLENUnit, recLENReleased},
		"off-osh": {recOSH, recNoneOSHUnit, recOrderOnly},
	}
)

// accessRecord is one record of the fixture and what belongs to it.
type accessRecord struct {
	incident int64 // 0 for recOrderOnly
	number   string
	address  string
	victim   string
	order    int64
	orderNo  string
	referral int64
	task     int64 // the incident's follow-up task; 0 for an order alone
	check    int64 // the order's first check
}

type accessFixture struct {
	ts       *testServer
	district map[string]refdata.District // by code
	units    map[string]refdata.Unit     // by call sign
	typ      refdata.IncidentType
	partner  refdata.Partner
	users    map[string]*account.User
	rec      map[string]*accessRecord
}

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	ctx := context.Background()
	ts := newTestServer(t)
	db := ts.DB
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v %v", err, apperr.FieldsOf(err))
		}
	}
	f := &accessFixture{ts: ts, district: map[string]refdata.District{}, units: map[string]refdata.Unit{},
		users: map[string]*account.User{}, rec: map[string]*accessRecord{}}
	for _, d := range [][2]string{{"LEN", "Leninsky"}, {"OSH", "Osh city"}} {
		f.district[d[0]] = createDistrict(t, db, d[0], d[1])
	}
	for _, u := range []struct{ sign, district string }{{"LEN-1", "LEN"}, {"LEN-2", "LEN"}, {"OSH-1", "OSH"}, {"OSH-2", "OSH"}} {
		x := refdata.Unit{CallSign: u.sign, DistrictID: f.district[u.district].ID, Active: true}
		must(db.SaveUnit(ctx, &x, audit.Actor{}))
		f.units[u.sign] = x
	}
	f.typ = refdata.IncidentType{Code: "DV", Name: "Domestic violence", IsDV: true, Active: true}
	must(db.SaveIncidentType(ctx, &f.typ, audit.Actor{}))
	must(db.SavePriority(ctx, &refdata.Priority{Level: 1, Label: "Immediate danger", Targets: map[refdata.Interval]*int{}}, true, 0, audit.Actor{}))
	f.partner = refdata.Partner{Name: "Safe House", Kind: refdata.Shelter, Active: true}
	must(db.SavePartner(ctx, &f.partner, audit.Actor{}))

	callTaker := createUser(t, db, "calltaker", account.Dispatcher, "")
	for _, u := range accessUsers {
		district := u.district
		if u.role == account.Supervisor && district == "" {
			district = "LEN" // the account form requires a district of a supervisor: cleared below
		}
		x, err := db.CreateUser(ctx, account.Draft{Username: u.name, Role: string(u.role), District: district, Unit: u.unit,
			Password: testPassword}, audit.Actor{})
		must(err)
		if district != u.district {
			// A supervisor over every district: no form makes one, but the
			// access rule provides for it.
			_, err := db.Pool.Exec(ctx, `UPDATE users SET district_id = NULL WHERE id = $1`, x.ID)
			must(err)
			x.DistrictID = nil
		}
		f.users[u.name] = x
	}

	now := time.Now()
	for i, spec := range []struct {
		name     string
		district string
		by       int64
		units    []string
		released bool // the units are released again
		imported bool // no one logged it
	}{
		{recLEN, "LEN", callTaker.ID, []string{"LEN-2"}, false, false},
		{recOSH, "OSH", callTaker.ID, []string{"OSH-1"}, false, false},
		{recNone, "", callTaker.ID, nil, false, false},
		{recOSHByDispLEN, "OSH", f.users["disp-len"].ID, []string{"OSH-2"}, false, false},
		{recOSHLENUnit, "OSH", callTaker.ID, []string{"LEN-2"}, false, false},
		{recNoneByDispLEN, "", f.users["disp-len"].ID, nil, false, false},
		{recNoneOSHUnit, "", callTaker.ID, []string{"OSH-1"}, false, true},
		{recLENReleased, "LEN", callTaker.ID, []string{"LEN-2"}, true, false},
	} {
		rec := &accessRecord{address: "Secret street " + itoa(int64(i+1)), victim: "Victim Name" + string(rune('A'+i))}
		var district *int64
		if spec.district != "" {
			id := f.district[spec.district].ID
			district = &id
		}
		key, received, err := db.CreateDraft(ctx, spec.by)
		must(err)
		rec.incident, rec.number, _, err = db.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: f.typ.ID,
			Priority: 1, DistrictID: district, Address: rec.address, Victim: incident.Person{Name: rec.victim},
			Keys: incident.KeysOf(match.Rules{Region: "KG"}, rec.address, "", "", rec.victim, "")}, time.UTC, audit.Actor{UserID: spec.by})
		must(err)
		for _, u := range spec.units {
			must(db.AssignUnit(ctx, rec.incident, f.units[u].ID, audit.Actor{UserID: callTaker.ID}))
			if spec.released {
				must(db.ReleaseUnit(ctx, rec.incident, f.units[u].ID, audit.Actor{UserID: callTaker.ID}))
			}
		}
		if spec.imported {
			_, err := db.Pool.Exec(ctx, `UPDATE incidents SET created_by = NULL WHERE id = $1`, rec.incident)
			must(err)
		}
		rec.order, rec.orderNo, err = db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, IncidentID: &rec.incident,
			DistrictID: district, ProtectedName: rec.victim, RestrainedName: "Restrained Person", Address: rec.address,
			StartsAt: now, EndsAt: now.Add(72 * time.Hour)}, time.UTC, audit.Actor{UserID: callTaker.ID})
		must(err)
		refs, err := db.CreateReferrals(ctx, postgres.NewReferrals{IncidentID: rec.incident, PartnerIDs: []int64{f.partner.ID},
			Consent: incident.ConsentPending}, audit.Actor{UserID: callTaker.ID})
		must(err)
		rec.referral = refs[0]
		f.rec[spec.name] = rec
	}
	osh := f.district["OSH"].ID
	only := &accessRecord{address: "Standalone order address 7", victim: "Victim NameZ"}
	var err error
	only.order, only.orderNo, err = db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, DistrictID: &osh,
		ProtectedName: only.victim, RestrainedName: "Restrained Person", Address: only.address, StartsAt: now,
		EndsAt: now.Add(72 * time.Hour)}, time.UTC, audit.Actor{UserID: callTaker.ID})
	must(err)
	f.rec[recOrderOnly] = only
	none := &accessRecord{address: "Standalone order address 8", victim: "Victim NameY"}
	none.order, none.orderNo, err = db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder,
		ProtectedName: none.victim, RestrainedName: "Restrained Person", Address: none.address, StartsAt: now,
		EndsAt: now.Add(72 * time.Hour)}, time.UTC, audit.Actor{UserID: callTaker.ID})
	must(err)
	f.rec[recOrderNone] = none
	for _, rec := range f.rec {
		if rec.incident != 0 {
			rec.task = queryInt(t, db, `SELECT min(id) FROM follow_up_tasks WHERE incident_id = $1`, rec.incident)
		}
		rec.check = queryInt(t, db, `SELECT min(id) FROM order_checks WHERE order_id = $1`, rec.order)
	}
	return f
}

// login returns a client logged in as the named fixture user.
func (f *accessFixture) login(t *testing.T, name string) *client {
	t.Helper()
	c := f.ts.client(t)
	c.mustLogin(name, testPassword)
	return c
}

// denials counts the audit rows of refusals (outcome denied) of a user.
func (f *accessFixture) denials(t *testing.T, userID int64) int64 {
	t.Helper()
	return queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE user_id = $1 AND outcome = 'denied'`, userID)
}

// state sums what an allowed request of the matrix must not change.
func (f *accessFixture) state(t *testing.T) [6]int64 {
	t.Helper()
	db := f.ts.DB
	return [6]int64{
		queryInt(t, db, `SELECT coalesce(sum(version), 0) FROM incidents`),
		queryInt(t, db, `SELECT count(*) FROM incident_units WHERE released_at IS NULL`),
		queryInt(t, db, `SELECT count(*) FROM protection_orders WHERE ended_at IS NULL`),
		queryInt(t, db, `SELECT count(*) FROM referrals`),
		queryInt(t, db, `SELECT count(*) FROM incidents WHERE address_confidential`),
		queryInt(t, db, `SELECT count(*) FROM incident_events`),
	}
}

func roleOf(name string) account.Role {
	for _, u := range accessUsers {
		if u.name == name {
			return u.role
		}
	}
	panic("no access user " + name)
}

// requestAs sends method to path as c, with form for a POST.
func requestAs(c *client, method, path string, form url.Values) *http.Response {
	if method == http.MethodGet {
		return c.get(path)
	}
	if form == nil {
		form = url.Values{}
	}
	return c.postForm(path, form)
}

// allowedAnswer says whether resp is an answer to an allowed request: not
// refused, not missing, not the login page, not a server error.
func allowedAnswer(resp *http.Response) bool {
	loc := location(resp)
	toLogin := resp.StatusCode == http.StatusSeeOther && (loc == "/login" || strings.HasPrefix(loc, "/login?"))
	switch {
	case toLogin, resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusNotFound,
		resp.StatusCode == http.StatusMethodNotAllowed, resp.StatusCode >= 500:
		return false
	}
	return true
}

// checkRefusal checks that resp is a 403 that leaked nothing of rec and
// that the user's refusals grew (before is denials() before the request).
func (f *accessFixture) checkRefusal(t *testing.T, what string, resp *http.Response, user string, before int64, rec *accessRecord) {
	t.Helper()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("%s: status %d Location %q, want 403", what, resp.StatusCode, location(resp))
		return
	}
	if rec != nil {
		b := body(t, resp)
		for _, secret := range []string{rec.address, rec.victim} {
			if strings.Contains(b, secret) {
				t.Errorf("%s: the refusal shows %q", what, secret)
			}
		}
	}
	if after := f.denials(t, f.users[user].ID); after <= before {
		t.Errorf("%s: refused without an audit row with outcome denied", what)
	}
}

// TestAccessMatrix requests every record route, every export and the
// audit viewer as every user for every record.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)

	// Every registered route with a record parameter is in the matrix.
	for _, k := range registeredRoutes(t, f.ts.srv) {
		_, pattern, _ := strings.Cut(k, " ")
		if strings.HasPrefix(pattern, "/admin/") {
			continue // administrators' routes: users and reference data, not records of incidents
		}
		if strings.Contains(pattern, "{") && !slices.ContainsFunc(recordRoutes, func(r recordRoute) bool { return r.key == k }) {
			t.Errorf("route %s takes a record but is not in recordRoutes: add it to access_test.go", k)
		}
	}
	for _, rr := range recordRoutes {
		if _, ok := routeAccess[rr.key]; !ok {
			t.Fatalf("recordRoutes has %s, which routeAccess does not know", rr.key)
		}
	}

	before := f.state(t)
	t.Run("users", func(t *testing.T) {
		for _, u := range accessUsers {
			t.Run(u.name, func(t *testing.T) {
				t.Parallel()
				c := f.login(t, u.name)
				f.recordRoutesAs(t, c, u.name)
				f.exportsAs(t, c, u.name)
				f.auditViewerAs(t, c, u.name)
			})
		}
	})
	if after := f.state(t); after != before {
		t.Errorf("the matrix's requests changed records: %v, then %v", before, after)
	}
}

// recordRoutesAs runs every record route for every record as user.
func (f *accessFixture) recordRoutesAs(t *testing.T, c *client, user string) {
	t.Helper()
	role := roleOf(user)
	axes := map[string]bool{} // route and district axis requested
	defer func() {
		// Every route was requested for records of the user's own
		// district (when they have one), another district and none.
		for _, rr := range recordRoutes {
			for _, axis := range []string{"own", "other", "none"} {
				if axis == "own" && userDistrict(user) == "" {
					continue // a user without a district has no own district
				}
				if !axes[rr.key+" "+axis] {
					t.Errorf("%s as %s: no record of the %s district axis requested", rr.key, user, axis)
				}
			}
		}
	}()
	for _, rr := range recordRoutes {
		method, pattern, _ := strings.Cut(rr.key, " ")
		roleOK := slices.Contains(routeAccess[rr.key], role)
		for _, name := range allRecords {
			rec := f.rec[name]
			if f.rec[name].incident == 0 && rr.param != "oid" && rr.param != "cid" {
				continue // an order without an incident has only the {oid} and {cid} routes
			}
			var path string
			switch rr.param {
			case "id":
				path = strings.Replace(pattern, "{id}", itoa(rec.incident), 1)
				path = strings.Replace(path, "{unit}", itoa(f.units["LEN-1"].ID), 1)
			case "oid":
				path = strings.Replace(pattern, "{oid}", itoa(rec.order), 1)
			case "rid":
				path = strings.Replace(pattern, "{rid}", itoa(rec.referral), 1)
			case "tid":
				path = strings.Replace(pattern, "{tid}", itoa(rec.task), 1)
			case "cid":
				path = strings.Replace(pattern, "{cid}", itoa(rec.check), 1)
			case "wid":
				path = strings.Replace(strings.Replace(pattern, "{what}", "followup", 1), "{wid}", itoa(rec.task), 1)
			}
			allowed := roleOK && slices.Contains(expectedView[user], name)
			if allowed && rr.change && role == account.Officer {
				allowed = slices.Contains(expectedChange[user], name)
			}
			if rr.work != nil && role == account.Officer {
				allowed = roleOK && slices.Contains(rr.work[user], name)
			}
			axes[rr.key+" "+districtAxis(user, name)] = true
			what := rr.key + " for " + name + " (" + districtAxis(user, name) + " district) as " + user
			var before int64
			if !allowed { // only a refusal is checked for its audit row
				before = f.denials(t, f.users[user].ID)
			}
			resp := requestAs(c, method, path, rr.form)
			if allowed {
				if !allowedAnswer(resp) {
					t.Errorf("%s (allowed): status %d Location %q; page says %q", what, resp.StatusCode, location(resp), errorText(doc(t, resp)))
				}
				continue
			}
			f.checkRefusal(t, what, resp, user, before, rec)
		}
	}
}

// exportsAs requests the report exports for each district as user.
func (f *accessFixture) exportsAs(t *testing.T, c *client, user string) {
	t.Helper()
	for _, path := range []string{"/reports/response-times.json", "/reports/response-times.csv",
		"/reports/repeat-victimisation.json", "/reports/repeat-victimisation.csv",
		"/reports/follow-through.json", "/reports/follow-through.csv"} {
		for _, code := range []string{"LEN", "OSH"} {
			what := "GET " + path + " for district " + code + " as " + user
			before := f.denials(t, f.users[user].ID)
			resp := c.get(path + "?district=" + itoa(f.district[code].ID))
			if slices.Contains(expectedExport[user], code) {
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s (allowed): status %d; page says %q", what, resp.StatusCode, errorText(doc(t, resp)))
				}
				continue
			}
			f.checkRefusal(t, what, resp, user, before, nil)
		}
	}
}

// auditViewerAs reads each record's creation row in the audit viewer and
// its export as user: a supervisor reads the rows of their district's
// records only, an administrator all; others are refused.
func (f *accessFixture) auditViewerAs(t *testing.T, c *client, user string) {
	t.Helper()
	base := "/audit"
	if roleOf(user) == account.Admin {
		base = "/admin/audit"
	}
	_, mayOpen := expectedAuditRows[user]
	for _, name := range []string{recLEN, recOSH, recNone} {
		rec := f.rec[name]
		q := "?" + url.Values{"record_id": {rec.number}, "action": {"incident.create"}}.Encode()
		want := 0
		if slices.Contains(expectedAuditRows[user], name) {
			want = 1
		}
		what := "GET " + base + " for " + name + " as " + user
		before := f.denials(t, f.users[user].ID)
		resp := c.get(base + q)
		if !mayOpen {
			f.checkRefusal(t, what, resp, user, before, nil)
		} else if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", what, resp.StatusCode)
		} else if got := doc(t, resp).Find("table.audit-rows tbody tr").Length(); got != want {
			t.Errorf("%s: %d rows, want %d", what, got, want)
		}

		what = "GET " + base + ".csv for " + name + " as " + user
		before = f.denials(t, f.users[user].ID)
		resp = c.get(base + ".csv" + q)
		if !mayOpen {
			f.checkRefusal(t, what, resp, user, before, nil)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", what, resp.StatusCode)
			continue
		}
		rows, err := csv.NewReader(strings.NewReader(body(t, resp))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := len(rows) - 1; got != want {
			t.Errorf("%s: %d rows, want %d", what, got, want)
		}
	}
}

// TestAccessGuessingNumbers: to a user limited to part of the records, a
// record that does not exist and one outside their part get the same
// answer (403, same heading and message), both audited as denied; a user
// who sees everything is told 404 for a missing record (nothing is hidden
// from them).
func TestAccessGuessingNumbers(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	const missing = "987654321"
	osh := f.rec[recOSH]
	pairs := []struct {
		method     string
		outside    string
		nonesuch   string
		form       url.Values
		roles      []account.Role // who may use the route at all
		hiddenFrom []string       // users to whom osh is outside their part
	}{
		{http.MethodGet, "/incidents/" + itoa(osh.incident), "/incidents/" + missing, nil,
			routeAccess["GET /incidents/{id}"], []string{"off-len", "sup-len", "disp-len"}},
		{http.MethodPost, "/incidents/" + itoa(osh.incident) + "/danger", "/incidents/" + missing + "/danger", url.Values{},
			routeAccess["POST /incidents/{id}/danger"], []string{"off-len", "sup-len", "disp-len"}},
		{http.MethodGet, "/orders/" + itoa(osh.order), "/orders/" + missing, nil,
			routeAccess["GET /orders/{oid}"], []string{"off-len", "sup-len", "disp-len"}},
		{http.MethodPost, "/referrals/" + itoa(osh.referral) + "/status", "/referrals/" + missing + "/status", url.Values{},
			routeAccess["POST /referrals/{rid}/status"], []string{"off-len", "sup-len", "disp-len"}},
	}
	answer := func(t *testing.T, resp *http.Response) string {
		d := doc(t, resp)
		return strings.TrimSpace(d.Find(".error-page h1").Text()) + " | " + errorText(d)
	}
	for _, user := range []string{"off-len", "sup-len", "disp-len"} {
		c := f.login(t, user)
		for _, p := range pairs {
			if !slices.Contains(p.roles, roleOf(user)) {
				continue
			}
			before := f.denials(t, f.users[user].ID)
			out := requestAs(c, p.method, p.outside, p.form)
			f.checkRefusal(t, p.method+" "+p.outside+" as "+user, out, user, before, osh)
			before = f.denials(t, f.users[user].ID)
			none := requestAs(c, p.method, p.nonesuch, p.form)
			f.checkRefusal(t, p.method+" "+p.nonesuch+" as "+user, none, user, before, nil)
			if a, b := answer(t, out), answer(t, none); a != b {
				t.Errorf("%s %s as %s: a record outside the user's part is answered %q, a missing one %q: the answer tells whether it exists",
					p.method, p.outside, user, a, b)
			}
		}
	}
	for _, user := range []string{"admin", "disp-all", "sup-all"} {
		c := f.login(t, user)
		if resp := c.get("/incidents/" + missing); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /incidents/%s as %s: status %d, want 404", missing, user, resp.StatusCode)
		}
		if resp := c.get("/orders/" + missing); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /orders/%s as %s: status %d, want 404", missing, user, resp.StatusCode)
		}
	}
	// A path that is not a number names no record: 404 for everyone.
	if resp := f.login(t, "off-len").get("/incidents/abc"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /incidents/abc: status %d, want 404", resp.StatusCode)
	}
}

// TestAccessBoardArea: the board shows each user the open incidents they
// may see; a dispatcher with a district sees their area's (the district's,
// those with no district, those they logged) with the district's units and
// the units on those incidents. Intake stays open to every district, and
// the dispatcher who logged a call for another one keeps seeing it.
func TestAccessBoardArea(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	tests := []struct {
		user          string
		incidents     []string
		units, hidden []string
	}{
		{"disp-len", []string{recLEN, recOSHByDispLEN, recNoneByDispLEN, recLENReleased}, []string{"LEN-1", "LEN-2", "OSH-2"}, []string{"OSH-1"}},
		{"disp-osh", []string{recOSH, recOSHByDispLEN, recOSHLENUnit}, []string{"OSH-1", "OSH-2", "LEN-2"}, []string{"LEN-1"}},
		{"disp-all", incidentRecords, []string{"LEN-1", "LEN-2", "OSH-1", "OSH-2"}, nil},
		{"sup-len", []string{recLEN, recLENReleased}, []string{"LEN-1", "LEN-2"}, []string{"OSH-1", "OSH-2"}},
		{"sup-all", incidentRecords, []string{"LEN-1", "LEN-2", "OSH-1", "OSH-2"}, nil},
		{"admin", incidentRecords, []string{"LEN-1", "LEN-2", "OSH-1", "OSH-2"}, nil},
	}
	for _, tt := range tests {
		c := f.login(t, tt.user)
		for _, path := range []string{"/board", "/board/fragment"} {
			resp := c.get(path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s as %s: %d", path, tt.user, resp.StatusCode)
			}
			d := doc(t, resp)
			open := d.Find("table.board").Text()
			units := d.Find("#units-h").Parent().Text()
			// Where to go is on the rows listed (issue 14), and only there;
			// no other personal data is on the board.
			addresses := map[string]bool{}
			d.Find("table.board .address").Each(func(_ int, s *goquery.Selection) { addresses[strings.TrimSpace(s.Text())] = true })
			for _, name := range incidentRecords {
				rec := f.rec[name]
				listed := slices.Contains(tt.incidents, name)
				if got := strings.Contains(open, rec.number); got != listed {
					t.Errorf("%s as %s: incident %s (%s) listed %v, want %v", path, tt.user, rec.number, name, got, listed)
				}
				if addresses[rec.address] != listed {
					t.Errorf("%s as %s: the address of %s shown %v, want %v (as listed)", path, tt.user, name, addresses[rec.address], listed)
				}
				if strings.Contains(d.Text(), rec.victim) {
					t.Errorf("%s as %s: the board shows the victim's name of %s", path, tt.user, name)
				}
			}
			for _, u := range tt.units {
				if !strings.Contains(units, u) {
					t.Errorf("%s as %s: unit %s not listed", path, tt.user, u)
				}
			}
			for _, u := range tt.hidden {
				if strings.Contains(units, u) {
					t.Errorf("%s as %s: unit %s of another area is listed", path, tt.user, u)
				}
			}
		}
	}

	// The LEN dispatcher logs a call for OSH: it is logged, they keep it.
	c := f.login(t, "disp-len")
	resp := c.get("/incidents/new")
	key, _ := doc(t, resp).Find(`form#intake input[name="key"]`).Attr("value")
	resp = c.postForm("/incidents", url.Values{"key": {key}, "address": {"Neighbour lane 3"},
		"district_id": {itoa(f.district["OSH"].ID)}, "type_id": {itoa(f.typ.ID)}, "priority": {"1"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(resp), "/incidents/") {
		t.Fatalf("log a call for OSH as disp-len: %d %q %s", resp.StatusCode, location(resp), errorText(doc(t, resp)))
	}
	page := location(resp)
	if resp := c.get(page); resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s (logged by disp-len for OSH) as disp-len: %d, want 200", page, resp.StatusCode)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incidents WHERE address = 'Neighbour lane 3' AND created_by = $1`,
		f.users["disp-len"].ID); n != 1 {
		t.Fatalf("the call is not recorded as logged by disp-len")
	}
	if resp := f.login(t, "sup-len").get(page); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET %s (OSH) as sup-len: %d, want 403", page, resp.StatusCode)
	}
}

// TestAccessListsHideNames: lists show no names or addresses; the
// single-record pages of those allowed do.
func TestAccessListsHideNames(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	ctx := context.Background()
	const addr, protected, restrained = "ul. Chui 12, kv. 5", "Aigul Asanova", "Bakyt Asanov"
	first := f.incident(t, f.typ.ID, addr, protected, restrained)
	now := time.Now()
	oid, number := f.order(t, first, protected, restrained, addr, now.Add(-time.Hour), now.Add(2*time.Hour))
	// A new call at the address; the officer's unit goes to it.
	second := f.incident(t, f.typ.ID, addr, "", "")
	unit := refdata.Unit{CallSign: "LEN-7", DistrictID: f.district.ID, Active: true}
	if err := f.ts.DB.SaveUnit(ctx, &unit, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	if err := f.ts.DB.AssignUnit(ctx, second, unit.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ts.DB.CreateUser(ctx, account.Draft{Username: "off", Role: "officer", District: "LEN", Unit: "LEN-7",
		Password: testPassword}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	off := f.ts.client(t)
	off.mustLogin("off", testPassword)
	secrets := []string{protected, restrained, "Chui"}

	// The officer's list: the warning, without names.
	resp := off.get("/my")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /my: %d", resp.StatusCode)
	}
	d := doc(t, resp)
	warning := strings.Join(strings.Fields(d.Find(".active-orders").Text()), " ")
	if !strings.Contains(warning, "Active protection order "+number+" at this address") || !strings.Contains(warning, "until") {
		t.Errorf("/my: warning %q, want the order's number, what it matched and its end", warning)
	}
	// The card shows where to go (the address, issue 14), not who.
	for _, s := range []string{protected, restrained} {
		if strings.Contains(d.Text(), s) {
			t.Errorf("/my shows %q", s)
		}
	}
	// The incident page (a single record, for those allowed) names them.
	if text := doc(t, off.get("/incidents/"+itoa(second))).Find(".active-orders").Text(); !strings.Contains(text, protected) {
		t.Errorf("the incident page's warning lacks the names: %q", text)
	}

	// The supervisors' list of orders ending soon.
	for _, c := range []*client{f.user(t, "sup", account.Supervisor, "LEN"), f.user(t, "root", account.Admin, "")} {
		resp := c.get("/orders/expiring")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /orders/expiring: %d", resp.StatusCode)
		}
		d := doc(t, resp)
		row := strings.Join(strings.Fields(d.Find("table.expiring tbody tr").Text()), " ")
		incNumber := ""
		if err := f.ts.DB.Pool.QueryRow(ctx, `SELECT number FROM incidents WHERE id = $1`, first).Scan(&incNumber); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{number, incNumber, "LEN"} {
			if !strings.Contains(row, want) {
				t.Errorf("/orders/expiring: row %q lacks %q", row, want)
			}
		}
		for _, s := range secrets {
			if strings.Contains(d.Text(), s) {
				t.Errorf("/orders/expiring shows %q", s)
			}
		}
		// The order's page names them.
		if page := body(t, c.get("/orders/"+itoa(oid))); !strings.Contains(page, protected) || !strings.Contains(page, restrained) {
			t.Errorf("the order's page lacks the names")
		}
	}
}

// TestAccessConfidentialAddressOnOrders: the order form does not fill in,
// and the order page does not show, an incident's confidential address to
// those who are not shown it on the incident page.
func TestAccessConfidentialAddressOnOrders(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	ctx := context.Background()
	const addr = "Shelter lane 9, room 4"
	inc := f.incident(t, f.typ.ID, addr, "Aigul Asanova", "Bakyt Asanov")
	now := time.Now()
	oid, _ := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", addr, now.Add(-time.Hour), now.Add(48*time.Hour))
	unit := refdata.Unit{CallSign: "LEN-7", DistrictID: f.district.ID, Active: true}
	if err := f.ts.DB.SaveUnit(ctx, &unit, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	if err := f.ts.DB.AssignUnit(ctx, inc, unit.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ts.DB.CreateUser(ctx, account.Draft{Username: "off", Role: "officer", District: "LEN", Unit: "LEN-7",
		Password: testPassword}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	off := f.ts.client(t)
	off.mustLogin("off", testPassword)
	clients := []struct {
		who   string
		c     *client
		shown bool
		form  bool // may open the order form (change the incident)
	}{
		{"dispatcher", f.user(t, "disp", account.Dispatcher, ""), false, true},
		{"officer of another unit", f.user(t, "off-other", account.Officer, "LEN"), false, false}, // changes only its unit's incidents
		{"administrator", f.user(t, "root", account.Admin, ""), false, false},
		{"officer of the unit", off, true, true},
		{"supervisor", f.user(t, "sup", account.Supervisor, "LEN"), true, true},
	}
	check := func(confidential bool) {
		for _, cl := range clients {
			shown := cl.shown || !confidential
			page := body(t, cl.c.get("/orders/"+itoa(oid)))
			if got := strings.Contains(page, addr); got != shown {
				t.Errorf("confidential=%v, order page as %s: address shown %v, want %v", confidential, cl.who, got, shown)
			}
			if got := strings.Contains(page, addressHiddenText); got == shown {
				t.Errorf("confidential=%v, order page as %s: %q shown %v, want %v", confidential, cl.who, addressHiddenText, got, !shown)
			}
			if !cl.form {
				continue
			}
			resp := cl.c.get("/incidents/" + itoa(inc) + "/orders/new")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("order form as %s: %d", cl.who, resp.StatusCode)
			}
			d := doc(t, resp)
			want := ""
			if shown {
				want = addr
			}
			if got := fieldValue(d, "address"); got != want {
				t.Errorf("confidential=%v, order form as %s: address filled in %q, want %q", confidential, cl.who, got, want)
			}
			if !shown && strings.Contains(d.Text(), addr) {
				t.Errorf("confidential=%v, order form as %s shows the address", confidential, cl.who)
			}
		}
	}
	check(false)
	if _, err := f.ts.DB.SetAddressConfidential(ctx, inc, true, "", audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	check(true)
}
