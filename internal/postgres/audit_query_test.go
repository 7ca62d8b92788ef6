package postgres_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// auditRows returns the audit rows after id afterID, oldest first.
func auditRows(t *testing.T, db *postgres.DB, afterID int64) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	err := db.EachAuditEvent(context.Background(), postgres.AuditFilter{}, func(e *audit.Entry) error {
		if e.ID > afterID {
			out = append([]audit.Entry{*e}, out...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func lastAuditID(t *testing.T, db *postgres.DB) int64 {
	t.Helper()
	var id int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT coalesce(max(id), 0) FROM audit_events`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// detailJSON is a detail as canonical JSON, for comparisons.
func detailJSON(d map[string]any) string { return string(audit.CanonicalDetail(d)) }

// TestAuditAppendOnlyForAppRole: the application's database role cannot
// change or remove audit rows. The tests connect as pgtestdb's role
// pgtdbuser, which is not a superuser but owns the tables (it ran the
// migrations), and the trigger holds even for the owner.
//
// A trigger does not hold against a role that may disable it: the table's
// owner or a superuser (ALTER TABLE ... DISABLE TRIGGER). A deployment
// should therefore run the application as a role that neither owns the
// tables nor is a superuser, with INSERT and SELECT on audit_events only
// (migrations run as the owner); then neither UPDATE, DELETE nor TRUNCATE
// privileges nor the trigger's removal are in the application's reach, and
// the hash chain (dvresponse audit verify) detects what an owner or
// superuser changed.
func TestAuditAppendOnlyForAppRole(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	var super bool
	var user, owner string
	if err := db.Pool.QueryRow(ctx, `SELECT r.rolsuper, current_user, t.tableowner FROM pg_roles r, pg_tables t
		WHERE r.rolname = current_user AND t.tablename = 'audit_events'`).Scan(&super, &user, &owner); err != nil {
		t.Fatal(err)
	}
	if super {
		t.Fatalf("the test connects as %s, a superuser: it cannot show what the application's role may do", user)
	}
	t.Logf("connected as %s (not a superuser); audit_events is owned by %s", user, owner)

	for i := range 3 {
		if err := db.Audit(ctx, audit.Entry{Actor: audit.Actor{Username: "u" + strconv.Itoa(i)}, Action: "test.row"}); err != nil {
			t.Fatal(err)
		}
	}
	before := auditRows(t, db, 0)
	for _, stmt := range []string{
		`UPDATE audit_events SET action = 'changed'`,
		`UPDATE audit_events SET outcome = 'denied' WHERE id = (SELECT min(id) FROM audit_events)`,
		`DELETE FROM audit_events`,
		`DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)`,
		`TRUNCATE audit_events`,
	} {
		_, err := db.Pool.Exec(ctx, stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s as %s: error %v, want the append-only refusal", stmt, user, err)
		}
	}
	after := auditRows(t, db, 0)
	if len(after) != len(before) {
		t.Fatalf("%d audit rows after the attempts, want %d", len(after), len(before))
	}
	for i := range after {
		if after[i].Action != before[i].Action || after[i].Outcome != before[i].Outcome {
			t.Errorf("row %d changed: %+v", after[i].ID, after[i])
		}
	}
	if _, problem, err := db.VerifyAudit(ctx); err != nil || problem != nil {
		t.Errorf("VerifyAudit: %v %v", problem, err)
	}
}

// TestRefDataChangesAudited: each create, update and delete of reference
// data writes one audit row in its transaction, with the changed fields
// before and after.
func TestRefDataChangesAudited(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	by := audit.Actor{UserID: 0, Username: "admin1", Role: "admin", IP: "192.0.2.7"}

	mark := lastAuditID(t, db)
	d := refdata.District{Code: "LEN", Name: "Leninsky", Active: true}
	must(t, db.SaveDistrict(ctx, &d, by))
	d.Name = "Leninsky district"
	must(t, db.SaveDistrict(ctx, &d, by))
	p := refdata.Priority{Level: 2, Label: "Urgent", Targets: map[refdata.Interval]*int{}}
	must(t, db.SavePriority(ctx, &p, true, 0, by))
	target := 600
	p.Level, p.Targets[refdata.Response] = 3, &target
	p.Names = map[string]string{"ru": "Срочный"}
	must(t, db.SavePriority(ctx, &p, false, 2, by))
	must(t, db.DeletePriority(ctx, 3, by))

	id := strconv.FormatInt(d.ID, 10)
	want := []struct{ action, recordType, recordID, detail string }{
		{"district.create", "district", id, `{"new":{"active":true,"code":"LEN","name":"Leninsky"}}`},
		{"district.update", "district", id, `{"changed":{"name":{"after":"Leninsky district","before":"Leninsky"}}}`},
		{"priority.create", "priority", "2", `{"new":{"label":"Urgent","level":2,"names":{},"target_call_processing":null,"target_on_scene":null,"target_response":null,"target_total":null,"target_travel":null,"target_turnout":null}}`},
		{"priority.update", "priority", "2", `{"changed":{"level":{"after":3,"before":2},"names":{"after":{"ru":"Срочный"},"before":{}},"target_response":{"after":600,"before":null}}}`},
		{"priority.delete", "priority", "3", `{"old":{"label":"Urgent","level":3,"names":{"ru":"Срочный"},"target_call_processing":null,"target_on_scene":null,"target_response":600,"target_total":null,"target_travel":null,"target_turnout":null}}`},
	}
	rows := auditRows(t, db, mark)
	if len(rows) != len(want) {
		t.Fatalf("%d audit rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		e := rows[i]
		if e.Action != w.action || e.RecordType != w.recordType || e.RecordID != w.recordID || e.Outcome != audit.OK ||
			e.Actor.Username != "admin1" || e.Actor.Role != "admin" || e.Actor.IP != "192.0.2.7" {
			t.Errorf("row %d: %s %s %s %s by %s/%s from %s, want %s %s %s ok by admin1/admin from 192.0.2.7", i,
				e.Action, e.RecordType, e.RecordID, e.Outcome, e.Actor.Username, e.Actor.Role, e.Actor.IP,
				w.action, w.recordType, w.recordID)
		}
		if got := detailJSON(e.Detail); got != w.detail {
			t.Errorf("%s detail\n got %s\nwant %s", w.action, got, w.detail)
		}
	}

	// A refused change writes no audit row.
	mark = lastAuditID(t, db)
	dup := refdata.District{Code: "LEN", Name: "Again", Active: true}
	if err := db.SaveDistrict(ctx, &dup, by); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("duplicate district: %v, want a conflict", err)
	}
	if dup.ID != 0 {
		t.Errorf("a refused create left the id %d set", dup.ID)
	}
	if err := db.DeleteDistrict(ctx, 999999, by); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("deleting a missing district: %v, want not found", err)
	}
	if rows := auditRows(t, db, mark); len(rows) != 0 {
		t.Errorf("refused changes wrote audit rows: %+v", rows)
	}
}

// TestUserChangesAudited: user changes are audited in their transaction,
// named by username, and never record a password or its hash.
func TestUserChangesAudited(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	must(t, db.SaveDistrict(ctx, &refdata.District{Code: "LEN", Name: "Leninsky", Active: true}, audit.Actor{}))
	by := audit.Actor{UserID: 0, Username: "cli"}
	const pw = "a-long-enough-password"
	mark := lastAuditID(t, db)
	u, err := db.CreateUser(ctx, account.Draft{Username: "Ann", FullName: "Ann A", Role: "dispatcher", Password: pw}, by)
	must(t, err)
	must(t, db.UpdateUser(ctx, u.ID, account.Draft{Username: "ann", FullName: "Ann A", Role: "supervisor", District: "len"}, by))
	must(t, db.SetPassword(ctx, u.ID, pw+"-2", by))
	self := audit.Actor{UserID: u.ID, Username: "ann", Role: "supervisor"}
	must(t, db.SetPassword(ctx, u.ID, pw+"-3", self))
	must(t, db.SetDisabled(ctx, u.ID, true, by))
	must(t, db.SetDisabled(ctx, u.ID, false, by))
	must(t, db.EndSessions(ctx, u.ID, by))
	must(t, db.Unlock(ctx, u.ID, by))

	want := []struct{ action, detail string }{
		{"user.create", `{"new":{"district":"","full_name":"Ann A","role":"dispatcher","unit":""}}`},
		{"user.update", `{"changed":{"district":{"after":"LEN","before":""},"role":{"after":"supervisor","before":"dispatcher"}},"sessions_ended":true}`},
		{"user.password_reset", `{"sessions_ended":true}`},
		{"account.password_change", `{"sessions_ended":true}`},
		{"user.disable", `{"changed":{"disabled":{"after":true,"before":false}},"sessions_ended":true}`},
		{"user.enable", `{"changed":{"disabled":{"after":false,"before":true}}}`},
		{"user.end_sessions", `{"sessions_ended":true}`},
		{"user.unlock", `{}`},
	}
	rows := auditRows(t, db, mark)
	if len(rows) != len(want) {
		t.Fatalf("%d audit rows, want %d", len(rows), len(want))
	}
	u2, err := db.UserByID(ctx, u.ID)
	must(t, err)
	for i, w := range want {
		e := rows[i]
		if e.Action != w.action || e.RecordType != "user" || e.RecordID != "ann" {
			t.Errorf("row %d: %s %s %s, want %s user ann", i, e.Action, e.RecordType, e.RecordID, w.action)
		}
		got := detailJSON(e.Detail)
		if got != w.detail {
			t.Errorf("%s detail\n got %s\nwant %s", w.action, got, w.detail)
		}
		if strings.Contains(got, pw) || strings.Contains(got, "hash") || strings.Contains(got, u2.PasswordHash) {
			t.Errorf("%s detail holds a password or hash: %s", w.action, got)
		}
	}
}

// TestStoreChangeFailsWithoutAudit: when the audit row cannot be written,
// the change it would record is rolled back.
func TestStoreChangeFailsWithoutAudit(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	d := refdata.District{Code: "LEN", Name: "Leninsky", Active: true}
	must(t, db.SaveDistrict(ctx, &d, audit.Actor{}))
	u, err := db.CreateUser(ctx, account.Draft{Username: "ann", Role: "dispatcher", Password: "a-long-enough-password"}, audit.Actor{})
	must(t, err)
	breakAuditInserts(t, db)

	d.Name = "Changed"
	if err := db.SaveDistrict(ctx, &d, audit.Actor{}); err == nil {
		t.Error("SaveDistrict succeeded without its audit row")
	}
	n := refdata.District{Code: "OSH", Name: "Osh", Active: true}
	if err := db.SaveDistrict(ctx, &n, audit.Actor{}); err == nil || n.ID != 0 {
		t.Errorf("creating a district without its audit row: err %v, id %d", err, n.ID)
	}
	if err := db.DeleteDistrict(ctx, d.ID, audit.Actor{}); err == nil {
		t.Error("DeleteDistrict succeeded without its audit row")
	}
	if err := db.SetDisabled(ctx, u.ID, true, audit.Actor{}); err == nil {
		t.Error("SetDisabled succeeded without its audit row")
	}
	if _, err := db.CreateUser(ctx, account.Draft{Username: "bob", Role: "dispatcher", Password: "a-long-enough-password"}, audit.Actor{}); err == nil {
		t.Error("CreateUser succeeded without its audit row")
	}
	got, err := db.District(ctx, d.ID)
	must(t, err)
	if got.Name != "Leninsky" {
		t.Errorf("district name %q after failed audited update, want Leninsky", got.Name)
	}
	ds, err := db.Districts(ctx)
	must(t, err)
	if len(ds) != 1 {
		t.Errorf("%d districts, want 1", len(ds))
	}
	uu, err := db.UserByID(ctx, u.ID)
	must(t, err)
	if uu.Disabled() {
		t.Error("user disabled without an audit row")
	}
	if _, err := db.UserByUsername(ctx, "bob"); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("bob was created without an audit row: %v", err)
	}
}

// breakAuditInserts makes every audit insert fail (a trigger that raises,
// installed by the application's role, which owns the table) until the
// test ends.
func breakAuditInserts(t *testing.T, db *postgres.DB) {
	t.Helper()
	ctx := context.Background()
	_, err := db.Pool.Exec(ctx, `CREATE FUNCTION test_audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'audit store broken (test)'; END $$;
		CREATE TRIGGER test_audit_broken BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_audit_broken();`)
	must(t, err)
	if err := db.Audit(ctx, audit.Entry{Action: "test.row"}); err == nil {
		t.Fatal("audit inserts still work")
	}
}

// TestAuditEventsFilters: each filter, the action family, the keyset
// pages and the supervisor scope select the right rows.
func TestAuditEventsFilters(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	add := func(e audit.Entry) {
		t.Helper()
		must(t, db.Audit(ctx, e))
	}
	ann := audit.Actor{UserID: 0, Username: "ann", Role: "dispatcher", IP: "10.0.0.1"}
	bob := audit.Actor{UserID: 0, Username: "bob", Role: "admin", IP: "10.0.0.2"}
	add(audit.Entry{Actor: ann, Action: "login"})
	add(audit.Entry{Actor: ann, Action: "incident.view", RecordType: "incident", RecordID: "DV-1"})
	add(audit.Entry{Actor: bob, Action: "incident.view", RecordType: "incident", RecordID: "DV-2", Outcome: audit.Denied})
	add(audit.Entry{Actor: bob, Action: "danger_screen.create", RecordType: "incident", RecordID: "DV-1"})
	add(audit.Entry{Actor: bob, Action: "dangerXscreen.create", RecordType: "incident", RecordID: "DV-1"})
	add(audit.Entry{Actor: bob, Action: "incidents.export"})

	actions := func(f postgres.AuditFilter) string {
		t.Helper()
		rows, _, err := db.AuditEvents(ctx, f, 100)
		must(t, err)
		var out []string
		for _, e := range rows {
			out = append(out, e.Actor.Username+":"+e.Action)
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		name string
		f    postgres.AuditFilter
		want string
	}{
		{"all, newest first", postgres.AuditFilter{},
			"bob:incidents.export,bob:dangerXscreen.create,bob:danger_screen.create,bob:incident.view,ann:incident.view,ann:login"},
		{"user", postgres.AuditFilter{Username: "ann"}, "ann:incident.view,ann:login"},
		{"record", postgres.AuditFilter{RecordType: "incident", RecordID: "DV-1"},
			"bob:dangerXscreen.create,bob:danger_screen.create,ann:incident.view"},
		{"exact action", postgres.AuditFilter{Action: "incident.view"}, "bob:incident.view,ann:incident.view"},
		{"action family", postgres.AuditFilter{Action: "incident"}, "bob:incident.view,ann:incident.view"},
		{"family with an underscore", postgres.AuditFilter{Action: "danger_screen"}, "bob:danger_screen.create"},
		{"outcome", postgres.AuditFilter{Outcome: "denied"}, "bob:incident.view"},
		{"period that holds them", postgres.AuditFilter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Username: "ann"},
			"ann:incident.view,ann:login"},
		{"period after them", postgres.AuditFilter{From: time.Now().Add(time.Hour)}, ""},
		{"period before them", postgres.AuditFilter{To: time.Now().Add(-time.Hour)}, ""},
	}
	for _, tt := range tests {
		if got := actions(tt.f); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}

	// Keyset pages: 2 rows at a time, no row twice, none left out.
	var seen []int64
	f := postgres.AuditFilter{}
	for range 10 {
		rows, more, err := db.AuditEvents(ctx, f, 2)
		must(t, err)
		for _, e := range rows {
			seen = append(seen, e.ID)
		}
		if !more {
			break
		}
		f.Before = rows[len(rows)-1].ID
	}
	if len(seen) != 6 {
		t.Fatalf("pages gave %d rows, want 6: %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Errorf("pages not strictly newest first: %v", seen)
		}
	}
	// The JSON detail survives the round trip.
	rows, _, err := db.AuditEvents(ctx, postgres.AuditFilter{Action: "login"}, 1)
	must(t, err)
	if b, _ := json.Marshal(rows[0].Detail); string(b) != "{}" && string(b) != "null" {
		t.Errorf("login detail %s", b)
	}
}
