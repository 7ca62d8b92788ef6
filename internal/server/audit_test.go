package server

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// ---- helpers

// allAuditRows returns every audit row, oldest first.
func allAuditRows(t *testing.T, db *postgres.DB) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	if err := db.EachAuditEvent(context.Background(), postgres.AuditFilter{}, func(e *audit.Entry) error {
		out = append(out, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(out)
	return out
}

// auditRowsAfter returns the audit rows after id mark, oldest first.
func auditRowsAfter(t *testing.T, db *postgres.DB, mark int64) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for _, e := range allAuditRows(t, db) {
		if e.ID > mark {
			out = append(out, e)
		}
	}
	return out
}

func auditMark(t *testing.T, db *postgres.DB) int64 {
	return queryInt(t, db, `SELECT coalesce(max(id), 0) FROM audit_events`)
}

// insertAuditAt appends e to the chain as if it had happened at at: the
// viewer's period filters need rows at chosen times. The row is hashed
// and chained like any other (same lock as the application).
func insertAuditAt(t *testing.T, db *postgres.DB, e audit.Entry, at time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7268210001)`); err != nil {
			return err
		}
		e.PrevHash = audit.Genesis
		if err := tx.QueryRow(ctx, `SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&e.PrevHash); err != nil && err != pgx.ErrNoRows {
			return err
		}
		e.At = at.UTC()
		if e.Outcome == "" {
			e.Outcome = audit.OK
		}
		key := audit.DevelopmentKey() // the test servers' databases have no DVR_AUDIT_KEY
		e.KeyID = key.ID()
		e.Hash = key.Sum(&e)
		return tx.QueryRow(ctx, `INSERT INTO audit_events (at, user_id, username, role, action, record_type, record_id,
			source_ip, outcome, detail, key_id, prev_hash, hash) VALUES ($1, NULLIF($2, 0), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			e.At, e.Actor.UserID, e.Actor.Username, e.Actor.Role, e.Action, e.RecordType, e.RecordID, e.Actor.IP,
			string(e.Outcome), string(audit.CanonicalDetail(e.Detail)), e.KeyID, e.PrevHash, e.Hash).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// breakAuditInserts makes every audit insert fail from now until repaired
// (a trigger that raises, installed by the application's role, which owns
// the table). It returns the repair.
func breakAuditInserts(t *testing.T, db *postgres.DB) (repair func()) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `CREATE FUNCTION test_audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'audit store broken (test)'; END $$;
		CREATE TRIGGER test_audit_broken BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_audit_broken();`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := db.Pool.Exec(ctx, `DROP TRIGGER test_audit_broken ON audit_events; DROP FUNCTION test_audit_broken();`); err != nil {
			t.Fatal(err)
		}
	}
}

// wantChainIntact fails the test unless the audit chain verifies.
func wantChainIntact(t *testing.T, db *postgres.DB) {
	t.Helper()
	n, problem, err := db.VerifyAudit(context.Background())
	if err != nil || problem != nil {
		t.Errorf("audit chain after %d rows: problem %+v, err %v", n, problem, err)
	}
}

// pageAuditIDs are the audit row ids a viewer page shows, in order.
func pageAuditIDs(t *testing.T, d *goquery.Document) []int64 {
	t.Helper()
	var ids []int64
	d.Find("tr[data-audit-id]").Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("data-audit-id")
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("row id %q", v)
		}
		ids = append(ids, id)
	})
	return ids
}

// readCSV checks that resp is a CSV download and returns its records.
func readCSV(t *testing.T, resp *http.Response) [][]string {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d, want 200; page says %q", resp.Request.URL, resp.StatusCode, errorText(doc(t, resp)))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/csv; charset=utf-8", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="audit-`) || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition %q, want an attachment audit-….csv", cd)
	}
	recs, err := csv.NewReader(strings.NewReader(body(t, resp))).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v", err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], auditCSVHeader) {
		t.Fatalf("CSV header %v, want %v", recs, auditCSVHeader)
	}
	return recs[1:]
}

func csvIDs(t *testing.T, recs [][]string) []int64 {
	t.Helper()
	var ids []int64
	for _, r := range recs {
		id, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatalf("CSV id %q", r[0])
		}
		ids = append(ids, id)
	}
	return ids
}

// ---- every audited action

// wantAudit is the one audit row an action must write.
type wantAudit struct {
	userID     func() int64 // nil: no user (a failed login of an unknown name)
	username   string
	role       string
	action     string
	recordType string
	recordID   func() string
	outcome    audit.Outcome
	// detail checks the row's detail, as canonical JSON.
	detail func(t *testing.T, detail string)
}

func detailHas(parts ...string) func(t *testing.T, detail string) {
	return func(t *testing.T, detail string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(detail, p) {
				t.Errorf("detail %s does not hold %s", detail, p)
			}
		}
	}
}

func fixed[T any](v T) func() T { return func() T { return v } }

// TestEveryAuditedActionWritesOneRow walks the audited actions over HTTP
// and checks that each writes exactly one audit row with the right user,
// role, action, record, source address and outcome, and that the chain
// stays intact.
func TestEveryAuditedActionWritesOneRow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	fx := newRouteFixture(t, ts)
	ctx := context.Background()
	admin, root := adminClient(t, ts)
	number := func(id int64) string {
		var n string
		if err := ts.DB.Pool.QueryRow(ctx, `SELECT number FROM incidents WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	incidentNumber := number(fx.incident)
	rootID := fixed(root.ID)
	asAdmin := func(action, recordType string, recordID func() string, detail func(*testing.T, string)) wantAudit {
		return wantAudit{userID: rootID, username: "root", role: "admin", action: action, recordType: recordType,
			recordID: recordID, outcome: audit.OK, detail: detail}
	}
	type step struct {
		name   string
		do     func() *http.Response
		status int
		want   wantAudit
	}
	var steps []step

	// Reference data: create, update and delete one record of each kind.
	lenID := itoa(fx.kindIDs["districts"])
	kinds := []struct {
		slug, recordType string
		create, update   url.Values
		lookup           string // SQL giving the new record's id
		changed          string // the field the update changes
	}{
		{"districts", "district", url.Values{"code": {"OSH"}, "name": {"Osh"}, "active": {"on"}},
			url.Values{"code": {"OSH"}, "name": {"Osh city"}, "active": {"on"}},
			`SELECT id FROM districts WHERE code = 'OSH'`, `"name":{"after":"Osh city","before":"Osh"}`},
		{"settlements", "settlement", url.Values{"district_id": {lenID}, "name": {"Tokmok"}, "active": {"on"}},
			url.Values{"district_id": {lenID}, "name": {"Tokmok"}, "is_idp": {"on"}, "active": {"on"}},
			`SELECT id FROM settlements WHERE name = 'Tokmok'`, `"is_idp":{"after":true,"before":false}`},
		{"units", "unit", url.Values{"call_sign": {"LEN-9"}, "district_id": {lenID}, "status": {"available"}, "active": {"on"}},
			url.Values{"call_sign": {"LEN-9"}, "district_id": {lenID}, "status": {"off_duty"}, "active": {"on"}},
			`SELECT id FROM units WHERE call_sign = 'LEN-9'`, `"status":{"after":"off_duty","before":"available"}`},
		{"incident-types", "incident_type", url.Values{"code": {"DV-X"}, "name": {"Other"}, "is_dv": {"on"}, "active": {"on"}},
			url.Values{"code": {"DV-X"}, "name": {"Other"}, "is_dv": {"on"}},
			`SELECT id FROM incident_types WHERE code = 'DV-X'`, `"active":{"after":false,"before":true}`},
		{"priorities", "priority", url.Values{"level": {"5"}, "label": {"Low"}},
			// A past day with no incident of the level to re-judge: no question asked.
			url.Values{"level": {"5"}, "label": {"Low"}, "target_response": {"3600"}, "targets_from": {"2026-01-01"}},
			`SELECT 5::bigint`, `"target_response":{"after":3600,"before":null},"targets_from":{"after":"2026-01-01","before":null}`},
		{"dispositions", "disposition", url.Values{"code": {"NOACT"}, "name": {"No action"}, "active": {"on"}},
			url.Values{"code": {"NOACT"}, "name": {"No action taken"}, "active": {"on"}},
			`SELECT id FROM dispositions WHERE code = 'NOACT'`, `"name":{"after":"No action taken","before":"No action"}`},
		{"partners", "partner_org", url.Values{"name": {"Crisis line"}, "kind": {string(refdata.CrisisCentre)}, "active": {"on"}},
			url.Values{"name": {"Crisis line"}, "kind": {string(refdata.CrisisCentre)}, "contact": {"0800 000"}, "active": {"on"}},
			`SELECT id FROM partner_orgs WHERE name = 'Crisis line'`, `"contact":{"after":"0800 000","before":""}`},
	}
	for _, k := range kinds {
		var id int64
		idOf := func() string { return itoa(id) }
		steps = append(steps,
			step{k.slug + " create", func() *http.Response {
				resp := admin.postForm("/admin/"+k.slug, k.create)
				id = queryInt(t, ts.DB, k.lookup)
				return resp
			}, http.StatusSeeOther, asAdmin(k.recordType+".create", k.recordType, idOf, detailHas(`"new":{`))},
			step{k.slug + " update", func() *http.Response { return admin.postForm("/admin/"+k.slug+"/"+idOf(), k.update) },
				http.StatusSeeOther, asAdmin(k.recordType+".update", k.recordType, idOf, func(t *testing.T, d string) {
					if want := `{"changed":{` + k.changed + `}}`; d != want {
						t.Errorf("detail %s, want %s", d, want)
					}
				})},
			step{k.slug + " delete", func() *http.Response { return admin.postForm("/admin/"+k.slug+"/"+idOf()+"/delete", nil) },
				http.StatusSeeOther, asAdmin(k.recordType+".delete", k.recordType, idOf, detailHas(`"old":{`))},
		)
	}

	// Users: every administrator's action, then the user's own.
	const pw1, pw2, pw3 = "first-long-password", "second-long-password", "third-long-password"
	var newbie int64
	newbieID := func() int64 { return newbie }
	userPath := func(suffix string) string { return "/admin/users/" + itoa(newbie) + suffix }
	user := fixed("newbie")
	nb := ts.client(t)
	asNewbie := func(action, recordType string, recordID func() string, outcome audit.Outcome, detail func(*testing.T, string)) wantAudit {
		return wantAudit{userID: newbieID, username: "newbie", role: "dispatcher", action: action, recordType: recordType,
			recordID: recordID, outcome: outcome, detail: detail}
	}
	noSecrets := func(t *testing.T, d string) {
		t.Helper()
		for _, s := range []string{pw1, pw2, pw3, "password_hash", "$argon2", "$2a$"} {
			if strings.Contains(d, s) {
				t.Errorf("detail %s holds %q", d, s)
			}
		}
	}
	steps = append(steps,
		step{"user create", func() *http.Response {
			resp := admin.postForm("/admin/users", url.Values{"username": {"newbie"}, "full_name": {"New Bee"}, "role": {"dispatcher"},
				"password": {pw1}})
			newbie = queryInt(t, ts.DB, `SELECT id FROM users WHERE username = 'newbie'`)
			return resp
		}, http.StatusSeeOther, asAdmin("user.create", "user", user, func(t *testing.T, d string) {
			noSecrets(t, d)
			detailHas(`"new":{`, `"role":"dispatcher"`)(t, d)
		})},
		step{"user update", func() *http.Response {
			return admin.postForm(userPath(""), url.Values{"full_name": {"New Bee Jr"}, "role": {"dispatcher"}})
		}, http.StatusSeeOther, asAdmin("user.update", "user", user, func(t *testing.T, d string) {
			if want := `{"changed":{"full_name":{"after":"New Bee Jr","before":"New Bee"}}}`; d != want {
				t.Errorf("detail %s, want %s", d, want)
			}
		})},
		step{"user password reset", func() *http.Response { return admin.postForm(userPath("/password"), url.Values{"password": {pw2}}) },
			http.StatusSeeOther, asAdmin("user.password_reset", "user", user, noSecrets)},
		step{"user disable", func() *http.Response { return admin.postForm(userPath("/disable"), nil) },
			http.StatusSeeOther, asAdmin("user.disable", "user", user, detailHas(`"disabled":{"after":true,"before":false}`))},
		step{"user enable", func() *http.Response { return admin.postForm(userPath("/enable"), nil) },
			http.StatusSeeOther, asAdmin("user.enable", "user", user, detailHas(`"disabled":{"after":false,"before":true}`))},
		step{"user end sessions", func() *http.Response { return admin.postForm(userPath("/end-sessions"), nil) },
			http.StatusSeeOther, asAdmin("user.end_sessions", "user", user, nil)},
		step{"user unlock", func() *http.Response { return admin.postForm(userPath("/unlock"), nil) },
			http.StatusSeeOther, asAdmin("user.unlock", "user", user, nil)},
		step{"login with a wrong password", func() *http.Response { return nb.login("newbie", pw1) },
			http.StatusUnauthorized, asNewbie("login", "user", user, audit.Failed, detailHas(`"reason":"wrong password"`))},
		step{"login of an unknown user", func() *http.Response { return nb.login("nobody", pw1) },
			http.StatusUnauthorized, wantAudit{username: "nobody", action: "login", recordType: "user", recordID: fixed("nobody"),
				outcome: audit.Failed}},
		step{"login", func() *http.Response { return nb.login("newbie", pw2) },
			http.StatusSeeOther, asNewbie("login", "user", user, audit.OK, nil)},
		step{"own password change with a wrong current password", func() *http.Response {
			return nb.postForm("/account/password", url.Values{"current": {pw1}, "password": {pw3}, "confirm": {pw3}})
		}, http.StatusUnprocessableEntity, asNewbie("account.password_change", "user", user, audit.Failed,
			detailHas(`"reason":"wrong current password"`))},
		step{"own password change", func() *http.Response {
			return nb.postForm("/account/password", url.Values{"current": {pw2}, "password": {pw3}, "confirm": {pw3}})
		}, http.StatusSeeOther, asNewbie("account.password_change", "user", user, audit.OK, noSecrets)},
		step{"incident view", func() *http.Response { return nb.get("/incidents/" + itoa(fx.incident)) },
			http.StatusOK, asNewbie("incident.view", "incident", fixed(incidentNumber), audit.OK, nil)},
		step{"refused page", func() *http.Response { return nb.get("/admin/users") },
			http.StatusForbidden, asNewbie("access.denied", "route", fixed("/admin/users"), audit.Denied, detailHas(`"method":"GET"`))},
		step{"refused page with parameters", func() *http.Response { return nb.get("/admin/districts/" + lenID) },
			http.StatusForbidden, asNewbie("access.denied", "route", fixed("/admin/{kind}/{id}"), audit.Denied, nil)},
		step{"refused change", func() *http.Response { return nb.postForm("/admin/users/"+itoa(fx.target)+"/disable", nil) },
			http.StatusForbidden, asNewbie("access.denied", "route", fixed("/admin/users/{id}/disable"), audit.Denied,
				detailHas(`"method":"POST"`))},
		step{"refused report", func() *http.Response { return nb.get("/dashboard") },
			http.StatusForbidden, asNewbie("access.denied", "route", fixed("/dashboard"), audit.Denied, nil)},
		step{"refused audit trail", func() *http.Response { return nb.get("/admin/audit.csv") },
			http.StatusForbidden, asNewbie("access.denied", "route", fixed("/admin/audit.csv"), audit.Denied, nil)},
		step{"audit view", func() *http.Response { return admin.get("/admin/audit?user=newbie&action=login&from=2026-01-01") },
			http.StatusOK, asAdmin("audit.view", "audit", fixed(""),
				detailHas(`"filters":{"action":"login","from":"2026-01-01","user":"newbie"}`))},
		step{"audit export", func() *http.Response { return admin.get("/admin/audit.csv?record_type=user") },
			http.StatusOK, asAdmin("audit.export", "audit", fixed(""), detailHas(`"filters":{"record_type":"user"}`))},
		step{"logout", func() *http.Response { return nb.postForm("/logout", nil) },
			http.StatusSeeOther, asNewbie("logout", "user", user, audit.OK, nil)},
	)

	start := time.Now().Add(-time.Second)
	seen := map[string]bool{}
	for _, st := range steps {
		mark := auditMark(t, ts.DB)
		resp := st.do()
		if resp.StatusCode != st.status {
			t.Errorf("%s: status %d, want %d; page says %q", st.name, resp.StatusCode, st.status, errorText(doc(t, resp)))
		}
		rows := auditRowsAfter(t, ts.DB, mark)
		if len(rows) != 1 {
			var got []string
			for _, e := range rows {
				got = append(got, e.Action)
			}
			t.Errorf("%s: %d audit rows %v, want exactly one %s", st.name, len(rows), got, st.want.action)
			continue
		}
		e, w := rows[0], st.want
		var wantUID int64
		if w.userID != nil {
			wantUID = w.userID()
		}
		got := []string{strconv.FormatInt(e.Actor.UserID, 10), e.Actor.Username, e.Actor.Role, e.Action, e.RecordType, e.RecordID,
			e.Actor.IP, string(e.Outcome)}
		want := []string{strconv.FormatInt(wantUID, 10), w.username, w.role, w.action, w.recordType, w.recordID(),
			"127.0.0.1", string(w.outcome)}
		if !slices.Equal(got, want) {
			t.Errorf("%s: audit row (user id, user, role, action, record type, record, source, outcome)\n got %q\nwant %q",
				st.name, got, want)
		}
		if e.At.Location() != time.UTC || e.At.Before(start) || e.At.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: audit time %v is not now in UTC", st.name, e.At)
		}
		if w.detail != nil {
			w.detail(t, string(audit.CanonicalDetail(e.Detail)))
		}
		seen[w.action] = true
	}
	wantChainIntact(t, ts.DB)
	t.Logf("audited action types checked: %d", len(seen))
}

// TestAuditWriteFailureFailsTheAction: when the audit row cannot be
// written, the change does not happen and the user sees an error, not a
// success; a refusal is still refused.
func TestAuditWriteFailureFailsTheAction(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := context.Background()
	admin, _ := adminClient(t, ts)
	d := createDistrict(t, ts.DB, "LEN", "Leninsky")
	target := createUser(t, ts.DB, "target", account.Dispatcher, "")
	disp := ts.client(t)
	disp.mustLogin("target", testPassword)
	hashOf := func(id int64) string {
		var h string
		if err := ts.DB.Pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, id).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	targetHash := hashOf(target.ID)
	mark := auditMark(t, ts.DB)
	repair := breakAuditInserts(t, ts.DB)

	const newPassword = "a-brand-new-password"
	tests := []struct {
		name string
		do   func() *http.Response
	}{
		{"create district", func() *http.Response {
			return admin.postForm("/admin/districts", url.Values{"code": {"OSH"}, "name": {"Osh"}, "active": {"on"}})
		}},
		{"update district", func() *http.Response {
			return admin.postForm("/admin/districts/"+itoa(d.ID), url.Values{"code": {"LEN"}, "name": {"Renamed"}, "active": {"on"}})
		}},
		{"delete district", func() *http.Response { return admin.postForm("/admin/districts/"+itoa(d.ID)+"/delete", nil) }},
		{"create user", func() *http.Response {
			return admin.postForm("/admin/users", url.Values{"username": {"newbie"}, "role": {"dispatcher"}, "password": {newPassword}})
		}},
		{"update user", func() *http.Response {
			return admin.postForm("/admin/users/"+itoa(target.ID), url.Values{"full_name": {"Changed"}, "role": {"dispatcher"}})
		}},
		{"reset password", func() *http.Response {
			return admin.postForm("/admin/users/"+itoa(target.ID)+"/password", url.Values{"password": {newPassword}})
		}},
		{"disable user", func() *http.Response { return admin.postForm("/admin/users/"+itoa(target.ID)+"/disable", nil) }},
		{"end sessions", func() *http.Response { return admin.postForm("/admin/users/"+itoa(target.ID)+"/end-sessions", nil) }},
		{"own password", func() *http.Response {
			return disp.postForm("/account/password", url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword}})
		}},
		{"audit view", func() *http.Response { return admin.get("/admin/audit") }},
		{"audit export", func() *http.Response { return admin.get("/admin/audit.csv") }},
	}
	for _, tt := range tests {
		resp := tt.do()
		if resp.StatusCode < 500 {
			t.Errorf("%s without its audit row: status %d, want a 5xx error page", tt.name, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q, want an HTML error page", tt.name, ct)
		} else if msg := errorText(doc(t, resp)); msg == "" {
			t.Errorf("%s: the page shows no error message", tt.name)
		} else if n := doc(t, resp).Find("tr[data-audit-id]").Length(); n != 0 {
			t.Errorf("%s: the page shows %d audit rows", tt.name, n)
		}
	}
	// A refusal stands even when it cannot be audited.
	if resp := disp.get("/admin/users"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("refused page without its audit row: status %d, want 403", resp.StatusCode)
	}

	// Nothing changed.
	got, err := ts.DB.District(ctx, d.ID)
	if err != nil || got.Name != "Leninsky" {
		t.Errorf("district after failed audited changes: %+v, %v", got, err)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM districts`); n != 1 {
		t.Errorf("%d districts, want 1", n)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE username = 'newbie'`); n != 0 {
		t.Errorf("a user was created without an audit row")
	}
	u, err := ts.DB.UserByID(ctx, target.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Disabled() || u.FullName != "" || u.SessionEpoch != target.SessionEpoch || hashOf(target.ID) != targetHash {
		t.Errorf("the target user changed without an audit row: %+v", u)
	}

	repair()
	if rows := auditRowsAfter(t, ts.DB, mark); len(rows) != 0 {
		t.Errorf("%d audit rows written while inserts failed", len(rows))
	}
	// The dispatcher's session survived (no password change happened).
	if resp := disp.get("/board"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /board after the failed password change: status %d", resp.StatusCode)
	}
	wantChainIntact(t, ts.DB)
}

// ---- the viewer

// TestAuditViewerFilters: the administrator's viewer filters by user,
// action (exact or family), record, outcome and period (days of the
// deployment's zone), newest first, and each view is audited with its
// filters.
func TestAuditViewerFilters(t *testing.T) {
	t.Parallel()
	bishkek := time.FixedZone("UTC+6", 6*3600)
	ts := newTestServer(t, func(d *Deps) { d.Location = bishkek })
	admin, root := adminClient(t, ts)
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ann := audit.Actor{UserID: 0, Username: "ann", Role: "dispatcher", IP: "10.1.1.1"}
	bob := audit.Actor{UserID: 0, Username: "bob", Role: "officer", IP: "10.2.2.2"}
	r1 := insertAuditAt(t, ts.DB, audit.Entry{Actor: ann, Action: "incident.view", RecordType: "incident", RecordID: "DV-1"},
		utc("2025-03-01T17:30:00Z")) // 23:30 on 1 March in the zone
	r2 := insertAuditAt(t, ts.DB, audit.Entry{Actor: ann, Action: "login", RecordType: "user", RecordID: "ann"},
		utc("2025-03-01T18:30:00Z")) // 00:30 on 2 March
	r3 := insertAuditAt(t, ts.DB, audit.Entry{Actor: bob, Action: "incident.view", RecordType: "incident", RecordID: "DV-2",
		Outcome: audit.Denied}, utc("2025-03-02T17:59:59Z")) // 23:59:59 on 2 March
	r4 := insertAuditAt(t, ts.DB, audit.Entry{Actor: bob, Action: "access.denied", RecordType: "route", RecordID: "/admin/users",
		Outcome: audit.Denied, Detail: map[string]any{"method": "GET"}}, utc("2025-03-02T18:00:00Z")) // 00:00 on 3 March
	wantChainIntact(t, ts.DB)

	tests := []struct {
		query string
		want  []int64
	}{
		{"from=2025-03-02&to=2025-03-02", []int64{r3, r2}},
		{"from=2025-03-01&to=2025-03-01", []int64{r1}},
		{"to=2025-03-03", []int64{r4, r3, r2, r1}},
		{"from=2025-03-03&to=2025-03-03", []int64{r4}},
		{"user=ann", []int64{r2, r1}},
		{"user=+ANN+", []int64{r2, r1}},
		{"action=incident", []int64{r3, r1}},
		{"action=incident.view&user=bob", []int64{r3}},
		{"action=login&to=2025-12-31", []int64{r2}},
		{"record_type=incident&record_id=DV-2", []int64{r3}},
		{"record_type=route", []int64{r4}},
		{"outcome=denied&to=2025-03-31", []int64{r4, r3}},
		{"user=nobody", nil},
	}
	for _, tt := range tests {
		mark := auditMark(t, ts.DB)
		resp := admin.get("/admin/audit?" + tt.query)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("?%s: status %d; page says %q", tt.query, resp.StatusCode, errorText(doc(t, resp)))
			continue
		}
		if got := pageAuditIDs(t, doc(t, resp)); !slices.Equal(got, tt.want) {
			t.Errorf("?%s: rows %v, want %v", tt.query, got, tt.want)
		}
		rows := auditRowsAfter(t, ts.DB, mark)
		if len(rows) != 1 || rows[0].Action != "audit.view" || rows[0].Actor.UserID != root.ID {
			t.Errorf("?%s: audit rows %+v, want one audit.view by root", tt.query, rows)
			continue
		}
		q, _ := url.ParseQuery(tt.query)
		filters, _ := rows[0].Detail["filters"].(map[string]any)
		for k := range q {
			if filters[k] != strings.TrimSpace(q.Get(k)) {
				t.Errorf("?%s: audit.view detail %v does not record filter %s", tt.query, rows[0].Detail, k)
			}
		}
	}

	// How a row looks: the zone's time, UTC in the datetime attribute.
	d := doc(t, admin.get("/admin/audit?user=ann&action=login"))
	row := d.Find("tr[data-audit-id='" + itoa(r2) + "']")
	if got := strings.Join(strings.Fields(row.Text()), " "); !strings.Contains(got, "2025-03-02 00:30:00") ||
		!strings.Contains(got, "ann") || !strings.Contains(got, "10.1.1.1") || !strings.Contains(got, "user ann") {
		t.Errorf("row shows %q", got)
	}
	if dt, _ := row.Find("time").Attr("datetime"); dt != "2025-03-01T18:30:00.000000Z" {
		t.Errorf("datetime %q", dt)
	}
	if href, _ := d.Find(`a[href^="/admin/audit.csv"]`).Attr("href"); href != "/admin/audit.csv?action=login&user=ann" {
		t.Errorf("export link %q, want the same filters", href)
	}

	// Bad filters are refused, with the field marked, and nothing shown
	// or audited.
	for _, tt := range []struct{ query, field string }{
		{"from=2025-03-03&to=2025-03-01", "to"},
		{"from=yesterday", "from"},
		{"outcome=maybe", "outcome"},
	} {
		mark := auditMark(t, ts.DB)
		resp := admin.get("/admin/audit?" + tt.query)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("?%s: status %d, want 422", tt.query, resp.StatusCode)
		}
		d := doc(t, resp)
		if fieldError(d, tt.field) == "" {
			t.Errorf("?%s: no message at %s", tt.query, tt.field)
		}
		if n := len(pageAuditIDs(t, d)); n != 0 {
			t.Errorf("?%s: %d rows shown", tt.query, n)
		}
		if q, _ := url.ParseQuery(tt.query); tt.field != "outcome" && fieldValue(d, tt.field) != q.Get(tt.field) {
			t.Errorf("?%s: the form does not keep what was typed at %s", tt.query, tt.field)
		}
		if rows := auditRowsAfter(t, ts.DB, mark); len(rows) != 0 {
			t.Errorf("?%s: %d audit rows", tt.query, len(rows))
		}
		if resp := admin.get("/admin/audit.csv?" + tt.query); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("export ?%s: status %d, want 422", tt.query, resp.StatusCode)
		}
	}
}

// TestAuditViewerPages: 100 rows a page, newest first, older pages by
// keyset, no row twice or left out.
func TestAuditViewerPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin, _ := adminClient(t, ts)
	const n = 230
	for i := range n {
		if err := ts.DB.Audit(context.Background(), audit.Entry{Actor: audit.Actor{Username: "bulk"}, Action: "bulk.row",
			RecordID: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var all []int64
	path := "/admin/audit?action=bulk.row"
	for page := 1; path != ""; page++ {
		d := doc(t, admin.get(path))
		ids := pageAuditIDs(t, d)
		wantLen := 100
		if page == 3 {
			wantLen = 30
		}
		if len(ids) != wantLen {
			t.Fatalf("page %d: %d rows, want %d", page, len(ids), wantLen)
		}
		all = append(all, ids...)
		if newest := d.Find(`nav.pager a:not([rel])`).Length(); (page > 1) != (newest == 1) {
			t.Errorf("page %d: %d links to the newest page", page, newest)
		}
		path, _ = d.Find(`nav.pager a[rel="next"]`).Attr("href")
		if path != "" && !strings.Contains(path, "action=bulk.row") {
			t.Errorf("page %d: the next page %q drops the filter", page, path)
		}
		if page > 3 {
			t.Fatal("more than three pages")
		}
	}
	if len(all) != n {
		t.Fatalf("%d rows over the pages, want %d", len(all), n)
	}
	for i := 1; i < len(all); i++ {
		if all[i] >= all[i-1] {
			t.Fatalf("rows not strictly newest first at %d: %d after %d", i, all[i], all[i-1])
		}
	}
}

// TestAuditExportCSV: the export has a header, the filtered rows newest
// first with UTC ISO 8601 times, the detail as JSON and the chain in hex;
// a typed username that looks like a formula is defused; the export is
// audited.
func TestAuditExportCSV(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin, root := adminClient(t, ts)
	anon := ts.client(t)
	anon.login("=HYPERLINK(\"http://x\")", "whatever-password")
	anon.login("ann", "whatever-password")
	anon.login("ann", "another-password")

	mark := auditMark(t, ts.DB)
	recs := readCSV(t, admin.get("/admin/audit.csv?user=ann&action=login"))
	rows := auditRowsAfter(t, ts.DB, mark)
	if len(rows) != 1 || rows[0].Action != "audit.export" || rows[0].Actor.UserID != root.ID ||
		string(audit.CanonicalDetail(rows[0].Detail)) != `{"filters":{"action":"login","user":"ann"}}` {
		t.Errorf("export audit rows %+v, want one audit.export with the filters", rows)
	}
	if len(recs) != 2 {
		t.Fatalf("%d CSV rows, want 2: %v", len(recs), recs)
	}
	byID := map[int64]audit.Entry{}
	for _, e := range allAuditRows(t, ts.DB) {
		byID[e.ID] = e
	}
	ids := csvIDs(t, recs)
	if ids[0] <= ids[1] {
		t.Errorf("CSV not newest first: %v", ids)
	}
	for _, r := range recs {
		e := byID[csvIDs(t, [][]string{r})[0]]
		at, err := time.Parse(time.RFC3339Nano, r[1])
		if err != nil || !strings.HasSuffix(r[1], "Z") || !at.Equal(e.At) {
			t.Errorf("at_utc %q, want %s in UTC ISO 8601", r[1], e.At)
		}
		want := []string{"", "ann", "", "login", "user", "ann", "127.0.0.1", "failed", `{"reason":"unknown user"}`,
			hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash)}
		if got := r[2:]; !slices.Equal(got, want) {
			t.Errorf("CSV row\n got %q\nwant %q", got, want)
		}
	}

	recs = readCSV(t, admin.get("/admin/audit.csv?user="+url.QueryEscape(`=HYPERLINK("http://x")`)))
	if len(recs) != 1 || recs[0][3] != `'=hyperlink("http://x")` {
		t.Errorf("formula-like username exported as %q, want it defused with a leading apostrophe", recs)
	}
	if recs := readCSV(t, admin.get("/admin/audit.csv?user=nobody")); len(recs) != 0 {
		t.Errorf("an export of nothing has %d rows, want the header only", len(recs))
	}
}

// TestSupervisorAuditScope: a supervisor reads, at /audit and
// /audit.csv, their own actions and the rows about their district's
// incidents (with the incidents' orders and referrals), nothing else, and
// cannot read the administrator's viewer.
func TestSupervisorAuditScope(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	fx := newRouteFixture(t, ts) // an incident in LEN with an order and a referral
	ctx := context.Background()
	osh := createDistrict(t, ts.DB, "OSH", "Osh city")
	key, received, err := ts.DB.CreateDraft(ctx, fx.target)
	if err != nil {
		t.Fatal(err)
	}
	oshIncident, oshNumber, _, err := ts.DB.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received,
		TypeID: fx.kindIDs["incident-types"], Priority: 1, DistrictID: &osh.ID, Address: "ul. Lenina 1"}, time.UTC,
		audit.Actor{UserID: fx.target, Username: "target", Role: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	var lenNumber, orderNumber string
	if err := ts.DB.Pool.QueryRow(ctx, `SELECT i.number, o.number FROM incidents i, protection_orders o WHERE i.id = $1 AND o.id = $2`,
		fx.incident, fx.order).Scan(&lenNumber, &orderNumber); err != nil {
		t.Fatal(err)
	}
	if err := ts.DB.Audit(ctx, audit.Entry{Actor: audit.Actor{Username: "someone"}, Action: "referral.change",
		RecordType: "referral", RecordID: itoa(fx.referral)}); err != nil {
		t.Fatal(err)
	}

	admin, _ := adminClient(t, ts)
	admin.postForm("/admin/districts/"+itoa(osh.ID), url.Values{"code": {"OSH"}, "name": {"Osh"}, "active": {"on"}})
	disp := ts.client(t)
	createUser(t, ts.DB, "disp", account.Dispatcher, "")
	disp.mustLogin("disp", testPassword)
	disp.get("/incidents/" + itoa(fx.incident))
	disp.get("/incidents/" + itoa(oshIncident))
	disp.get("/orders/" + itoa(fx.order))
	supOsh := ts.client(t)
	createUser(t, ts.DB, "sup-osh", account.Supervisor, "OSH")
	supOsh.mustLogin("sup-osh", testPassword)
	supOsh.get("/incidents/" + itoa(oshIncident))
	supOsh.get("/incidents/" + itoa(fx.incident)) // refused, about the LEN incident: the LEN supervisor sees it

	sup := createUser(t, ts.DB, "sup-len", account.Supervisor, "LEN")
	c := ts.client(t)
	c.mustLogin("sup-len", testPassword)
	c.get("/incidents/" + itoa(oshIncident)) // refused: own action, about an OSH incident
	if resp := c.get("/admin/audit"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /admin/audit as a supervisor: status %d, want 403", resp.StatusCode)
	}

	visible := func(e audit.Entry) bool {
		switch {
		case e.Actor.UserID == sup.ID:
			return true
		case e.RecordType == "incident":
			return e.RecordID == lenNumber
		case e.RecordType == "protection_order":
			return e.RecordID == orderNumber
		case e.RecordType == "referral":
			return e.RecordID == itoa(fx.referral)
		}
		return false
	}
	expected := func() []int64 {
		var ids []int64
		for _, e := range allAuditRows(t, ts.DB) {
			if visible(e) {
				ids = append(ids, e.ID)
			}
		}
		slices.Reverse(ids)
		return ids
	}

	resp := c.get("/audit")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /audit: status %d; page says %q", resp.StatusCode, errorText(doc(t, resp)))
	}
	page := pageAuditIDs(t, doc(t, resp))
	want := expected()
	if !slices.Equal(page, want) {
		t.Errorf("GET /audit shows rows %v, want %v", page, want)
	}
	recs := readCSV(t, c.get("/audit.csv"))
	want = expected()
	if got := csvIDs(t, recs); !slices.Equal(got, want) {
		t.Errorf("GET /audit.csv exports rows %v, want %v", got, want)
	}
	// The rule holds rows of every kind it names, and no other.
	kinds := map[string]bool{}
	for _, r := range recs {
		kinds[r[5]+" "+r[6]+" "+r[7]] = true
		if r[7] == oshNumber && r[3] != "sup-len" {
			t.Errorf("the supervisor of LEN sees another's row about the OSH incident: %v", r)
		}
		if (r[3] == "sup-osh" && r[7] != lenNumber) || r[3] == "root" || (r[5] == "login" && r[3] != "sup-len") {
			t.Errorf("the supervisor of LEN sees %v", r)
		}
	}
	for _, k := range []string{
		"incident.create incident " + lenNumber,
		"incident.view incident " + lenNumber,
		"order.issue protection_order " + orderNumber,
		"order.view protection_order " + orderNumber,
		"referral.change referral " + itoa(fx.referral),
		"login user sup-len",
		"audit.view audit ",
		"audit.export audit ",
		"access.denied route /admin/audit",
		"incident.view incident " + oshNumber, // their own refused view
	} {
		if !kinds[k] {
			t.Errorf("the supervisor's export lacks a row %q", k)
		}
	}
	// The scope holds under every filter.
	if ids := pageAuditIDs(t, doc(t, c.get("/audit?record_type=incident&record_id="+oshNumber+"&user=disp"))); len(ids) != 0 {
		t.Errorf("filtering for the OSH incident shows rows %v", ids)
	}
	if ids := pageAuditIDs(t, doc(t, c.get("/audit?user=disp"))); len(ids) != 2 {
		t.Errorf("the dispatcher's rows the supervisor sees: %v, want the LEN incident's view and the order's view", ids)
	}

	// A supervisor without a district (forms refuse one; the schema
	// allows it, and canView lets them see every incident) sees every
	// district's incidents.
	all0 := createUser(t, ts.DB, "sup-all", account.Supervisor, "LEN")
	if _, err := ts.DB.Pool.Exec(ctx, `UPDATE users SET district_id = NULL WHERE id = $1`, all0.ID); err != nil {
		t.Fatal(err)
	}
	all := ts.client(t)
	all.mustLogin("sup-all", testPassword)
	recs = readCSV(t, all.get("/audit.csv?user=disp&action=incident.view"))
	if len(recs) != 2 {
		t.Errorf("a supervisor without a district sees %d of the dispatcher's 2 incident views", len(recs))
	}
}
