package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// scheduleForm is the schedules form with the defaults of migration 0021,
// changed by set.
func scheduleForm(set map[string]string) url.Values {
	v := url.Values{
		"fu-high_danger-first": {"72"}, "fu-high_danger-every": {"168"}, "fu-high_danger-for": {"1344"},
		"fu-standard-first": {"720"}, "fu-standard-every": {"0"}, "fu-standard-for": {"0"},
		"fu-rescreen-first": {"24"}, "fu-rescreen-every": {"0"}, "fu-rescreen-for": {"0"},
		"oc-temporary-first": {"24"}, "oc-temporary-every": {"72"},
		"oc-restraining-first": {"24"}, "oc-restraining-every": {"72"},
		"oc-court-first": {"24"}, "oc-court-every": {"72"},
	}
	for k, x := range set {
		v.Set(k, x)
	}
	return v
}

// TestSchedulesPage: an administrator sees the schedules in words with
// their defaults and what a change affects, and saves them in one go,
// audited with old and new hours; invalid input is refused at its field
// with the input kept and nothing saved; other roles are refused. After a
// change, a new DV incident, a danger screen and an order get their tasks
// and checks by the new schedule, while those made before keep their due
// times, and an order extended after the change gets its added checks on
// from its last one.
func TestSchedulesPage(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	ctx := context.Background()
	db := f.ts.DB
	admin := createUser(t, db, "root", account.Admin, "")
	c := f.ts.client(t)
	c.mustLogin("root", testPassword)

	// Linked from the administration's home page.
	if d := doc(t, ok200(t, c.get("/admin/"))); d.Find(`a[href="/admin/schedules"]`).Length() != 1 {
		t.Error("the administration's home page does not link to the schedules")
	}
	d := doc(t, ok200(t, c.get("/admin/schedules")))
	for name, want := range map[string]string{"fu-high_danger-first": "72", "fu-high_danger-every": "168", "fu-high_danger-for": "1344",
		"fu-standard-first": "720", "fu-rescreen-first": "24", "oc-court-first": "24", "oc-court-every": "72"} {
		if got := fieldValue(d, name); got != want {
			t.Errorf("field %s = %q, want %q", name, got, want)
		}
	}
	high := strings.Join(strings.Fields(d.Find(`[data-schedule="high_danger"] .schedule-now`).Text()), " ")
	if want := "first contact within 72 hours (3 days), then every 168 hours (7 days) while within 1344 hours (56 days) of the start (contacts in all: 8)"; !strings.Contains(high, want) {
		t.Errorf("high danger in words: %q, want %q", high, want)
	}
	if got := d.Find(`[data-schedule="standard"] .schedule-default`).Text(); !strings.Contains(got, "one contact within 720 hours (30 days)") {
		t.Errorf("standard default: %q", got)
	}
	if got := d.Find(".schedules-effect").Text(); !strings.Contains(got, "keep their due times") {
		t.Errorf("the page does not say what a change affects: %q", got)
	}

	// Other roles may neither see nor change the schedules.
	if resp := f.c.get("/admin/schedules"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("dispatcher GET: %d", resp.StatusCode)
	}
	if resp := f.c.postForm("/admin/schedules", scheduleForm(map[string]string{"fu-standard-first": "1"})); resp.StatusCode != http.StatusForbidden {
		t.Errorf("dispatcher POST: %d", resp.StatusCode)
	}

	// Made before the change: a DV incident's task, an order's checks.
	before := f.logCall(t)
	beforeID := queryInt(t, db, `SELECT id FROM incidents WHERE id = $1`, strings.TrimPrefix(before, "/incidents/"))
	var beforeDue time.Time
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Pool.QueryRow(ctx, `SELECT due_at FROM follow_up_tasks WHERE incident_id = $1 AND reason = 'standard'`, beforeID).Scan(&beforeDue))
	now := time.Now().UTC()
	oldOrder, _, err := db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, IncidentID: &beforeID, DistrictID: &f.district.ID,
		ProtectedName: "Aigul Asanova", RestrainedName: "Bakyt Asanov", StartsAt: now, EndsAt: now.Add(72 * time.Hour)}, time.UTC, audit.Actor{UserID: admin.ID})
	must(err)
	if n := queryInt(t, db, `SELECT count(*) FROM order_checks WHERE order_id = $1`, oldOrder); n != 1 {
		t.Fatalf("order before the change: %d checks, want 1 (24 h)", n)
	}
	stamp := func() string {
		var s string
		must(db.Pool.QueryRow(ctx, `SELECT string_agg(reason || ':' || first_hours || '/' || every_hours || '/' || for_hours || '@' || updated_at, ',' ORDER BY reason)
			FROM follow_up_schedules`).Scan(&s))
		var o string
		must(db.Pool.QueryRow(ctx, `SELECT string_agg(kind || ':' || first_hours || '/' || every_hours || '@' || updated_at, ',' ORDER BY kind)
			FROM order_check_schedules`).Scan(&o))
		return s + " " + o
	}
	audits := func() int64 {
		return queryInt(t, db, `SELECT count(*) FROM audit_events WHERE record_type IN ('follow_up_schedule', 'order_check_schedule')`)
	}
	stored := stamp()

	// Invalid: each message at its field, the input kept, nothing saved.
	resp := c.postForm("/admin/schedules", scheduleForm(map[string]string{
		"fu-high_danger-first": "0", "fu-standard-every": "24", "fu-standard-for": "100", "fu-rescreen-first": "twelve",
		"oc-court-every": "9000", "oc-temporary-first": "48", "oc-restraining-every": "1"}))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid schedules: status %d, want 422", resp.StatusCode)
	}
	d = doc(t, resp)
	for name, want := range map[string]string{
		"fu-high_danger-first": "Enter 1 to 8760 hours.",
		"fu-standard-for":      "enter at least 744 hours",
		"fu-rescreen-first":    "Enter a whole number of hours.",
		"oc-court-every":       "Enter 1 to 8760 hours.",
		"oc-restraining-every": "more than 400",
		"oc-temporary-first":   "",
		"fu-high_danger-every": "",
	} {
		if got := fieldError(d, name); (want == "" && got != "") || !strings.Contains(got, want) {
			t.Errorf("message at %s: %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]string{"fu-high_danger-first": "0", "fu-rescreen-first": "twelve", "oc-court-every": "9000", "oc-temporary-first": "48"} {
		if got := fieldValue(d, name); got != want {
			t.Errorf("field %s kept as %q, want %q", name, got, want)
		}
	}
	if got := stamp(); got != stored || audits() != 0 {
		t.Errorf("invalid input changed the schedules: %s, then %s; %d audit rows", stored, got, audits())
	}

	// Unchanged: nothing written.
	wantRedirect(t, c.postForm("/admin/schedules", scheduleForm(nil)), "/admin/schedules")
	if txt := flashText(doc(t, c.get("/admin/schedules"))); !strings.Contains(txt, "Nothing changed") || stamp() != stored || audits() != 0 {
		t.Errorf("unchanged save: flash %q, %d audit rows", txt, audits())
	}

	// The form as loaded now, before the change below.
	staleStamp, _ := doc(t, ok200(t, c.get("/admin/schedules"))).Find(`input[name="stamp"]`).Attr("value")
	if staleStamp == "" {
		t.Fatal("the form carries no stamp")
	}

	// Valid: high danger within 48 h then daily while within 4 days; the
	// standard follow-up within 10 days (the span typed is dropped: one
	// contact); temporary orders checked at 12 h, then daily.
	wantRedirect(t, c.postForm("/admin/schedules", scheduleForm(map[string]string{
		"fu-high_danger-first": "48", "fu-high_danger-every": "24", "fu-high_danger-for": "96",
		"fu-standard-first": " 240 ", "fu-standard-for": "500",
		"oc-temporary-first": "12", "oc-temporary-every": "24"})), "/admin/schedules")
	d = doc(t, c.get("/admin/schedules"))
	if txt := flashText(d); !strings.Contains(txt, "changed: 3") {
		t.Errorf("saved: flash %q", txt)
	}
	if got := d.Find(`[data-schedule="high_danger"] .schedule-now`).Text(); !strings.Contains(got, "first contact within 48 hours (2 days), then every 24 hours (1 day) while within 96 hours (4 days)") {
		t.Errorf("high danger now: %q", got)
	}
	var first, every, within int
	var updated time.Time
	must(db.Pool.QueryRow(ctx, `SELECT first_hours, every_hours, for_hours, updated_at FROM follow_up_schedules WHERE reason = 'standard'`).Scan(&first, &every, &within, &updated))
	if first != 240 || every != 0 || within != 0 || time.Since(updated) > time.Minute {
		t.Errorf("standard stored as %d/%d/%d at %v", first, every, within, updated)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM order_check_schedules WHERE kind = 'court' AND first_hours = 24 AND every_hours = 72`); n != 1 {
		t.Error("an unchanged kind was changed")
	}

	// The audit: one row per changed schedule, by the administrator, with
	// the old and the new hours, and nothing else.
	rows, err := db.Pool.Query(ctx, `SELECT record_type, record_id, user_id, action, outcome, detail FROM audit_events
		WHERE record_type IN ('follow_up_schedule', 'order_check_schedule') ORDER BY record_type, record_id`)
	must(err)
	var got []string
	for rows.Next() {
		var typ, id, action, outcome string
		var user *int64
		var detail json.RawMessage
		must(rows.Scan(&typ, &id, &user, &action, &outcome, &detail))
		if user == nil || *user != admin.ID || action != "settings.update" || outcome != "ok" {
			t.Errorf("audit %s %s: user %v, action %s, outcome %s", typ, id, user, action, outcome)
		}
		var m map[string]any
		must(json.Unmarshal(detail, &m))
		b, _ := json.Marshal(map[string]any{"old": m["old"], "new": m["new"]})
		if len(m) != 2 {
			t.Errorf("audit %s %s: detail has more than old and new: %s", typ, id, detail)
		}
		got = append(got, typ+" "+id+" "+string(b))
	}
	must(rows.Err())
	want := []string{
		`follow_up_schedule high_danger {"new":{"every_hours":24,"first_hours":48,"for_hours":96},"old":{"every_hours":168,"first_hours":72,"for_hours":1344}}`,
		`follow_up_schedule standard {"new":{"every_hours":0,"first_hours":240,"for_hours":0},"old":{"every_hours":0,"first_hours":720,"for_hours":0}}`,
		`order_check_schedule temporary {"new":{"every_hours":24,"first_hours":12},"old":{"every_hours":72,"first_hours":24}}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A form loaded before that change is not saved over it.
	resp = c.postForm("/admin/schedules", scheduleForm(map[string]string{"fu-rescreen-first": "12", "stamp": staleStamp}))
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("stale form: status %d, want 409", resp.StatusCode)
	}
	d = doc(t, resp)
	if txt := errorText(d); !strings.Contains(txt, "Another administrator changed the schedules") {
		t.Errorf("stale form: message %q", txt)
	}
	if got := fieldValue(d, "fu-rescreen-first"); got != "12" {
		t.Errorf("stale form: input kept as %q", got)
	}
	if got := d.Find(`[data-schedule="high_danger"] .schedule-now`).Text(); !strings.Contains(got, "48 hours") {
		t.Errorf("stale form: what is in force not shown: %q", got)
	}
	if fresh, _ := d.Find(`input[name="stamp"]`).Attr("value"); fresh == staleStamp || fresh == "" {
		t.Errorf("stale form: stamp not renewed (%q)", fresh)
	}
	if n := audits(); n != 3 || queryInt(t, db, `SELECT first_hours FROM follow_up_schedules WHERE reason = 'rescreen'`) != 24 {
		t.Errorf("stale form saved: %d audit rows", n)
	}

	// Made before: unchanged.
	var due time.Time
	must(db.Pool.QueryRow(ctx, `SELECT due_at FROM follow_up_tasks WHERE incident_id = $1 AND reason = 'standard'`, beforeID).Scan(&due))
	if !due.Equal(beforeDue) {
		t.Errorf("an existing task moved from %v to %v", beforeDue, due)
	}

	// A new DV incident: the standard follow-up within 240 h.
	inc := f.logCall(t)
	incID := queryInt(t, db, `SELECT id FROM incidents WHERE id = $1`, strings.TrimPrefix(inc, "/incidents/"))
	var received time.Time
	must(db.Pool.QueryRow(ctx, `SELECT received_at FROM incidents WHERE id = $1`, incID).Scan(&received))
	must(db.Pool.QueryRow(ctx, `SELECT due_at FROM follow_up_tasks WHERE incident_id = $1 AND reason = 'standard'`, incID).Scan(&due))
	if !due.Equal(received.Add(240 * time.Hour)) {
		t.Errorf("new incident's follow-up due %v after the call, want 240 h", due.Sub(received))
	}

	// A high-danger screen: 48, 72 and 96 h after the screen.
	wantRedirect(t, f.c.postForm(inc+"/danger", dangerAnswers(t, f, incident.Yes, nil)), inc)
	var screened time.Time
	must(db.Pool.QueryRow(ctx, `SELECT done_at FROM danger_screens WHERE incident_id = $1`, incID).Scan(&screened))
	dues, err := db.Pool.Query(ctx, `SELECT due_at FROM follow_up_tasks WHERE incident_id = $1 AND reason = 'high_danger' ORDER BY due_at`, incID)
	must(err)
	var after []time.Duration
	for dues.Next() {
		must(dues.Scan(&due))
		after = append(after, due.Sub(screened))
	}
	must(dues.Err())
	if len(after) != 3 || after[0] != 48*time.Hour || after[1] != 72*time.Hour || after[2] != 96*time.Hour {
		t.Errorf("high-danger tasks after the screen: %v, want 48h 72h 96h", after)
	}

	// A new temporary order of 3 days: checks at 12, 36 and 60 h.
	orderID, _, err := db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, IncidentID: &incID, DistrictID: &f.district.ID,
		ProtectedName: "Aigul Asanova", RestrainedName: "Bakyt Asanov", StartsAt: now, EndsAt: now.Add(72 * time.Hour)}, time.UTC, audit.Actor{UserID: admin.ID})
	must(err)
	if got := checkHours(t, f, orderID); got != "12 36 60" {
		t.Errorf("new order's checks at %s h after issue, want 12 36 60", got)
	}
	// The order of before keeps its check at 24 h; extended to 10 days,
	// it gets the added ones daily on from it.
	must(db.ExtendOrder(ctx, oldOrder, now.Add(10*24*time.Hour+time.Hour), time.UTC, audit.Actor{UserID: admin.ID}))
	if got := checkHours(t, f, oldOrder); got != "24 48 72 96 120 144 168 192 216 240" {
		t.Errorf("extended order's checks at %s h after issue", got)
	}
}

// checkHours lists an order's checks as hours after its issue.
func checkHours(t *testing.T, f *intakeFixture, orderID int64) string {
	t.Helper()
	var s string
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT string_agg((extract(epoch FROM c.due_at - o.issued_at) / 3600)::int::text, ' ' ORDER BY c.seq)
		FROM order_checks c JOIN protection_orders o ON o.id = c.order_id WHERE c.order_id = $1`, orderID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
