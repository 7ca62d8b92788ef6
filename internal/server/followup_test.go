package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// TestWorkListsOverdueAndOutcomes walks a follow-up and an order check
// through the pages with the server's clock stopped and moved: the task
// appears on the officer's list a week before it is due, turns overdue
// on the supervisor's board at its due time exactly (and the board names
// that time for its timer before), is closed only with an outcome, once;
// a check's breach opens one violation incident however often it is
// pressed; other units' officers are refused, audited.
func TestWorkListsOverdueAndOutcomes(t *testing.T) {
	clock := newTestClock()
	f := newIntakeFixtureWith(t, clock.deps())
	ctx := context.Background()
	db := f.ts.DB
	inc := location(f.c.postForm("/incidents", f.validForm(f.openForm(t))))
	if !strings.HasPrefix(inc, "/incidents/") {
		t.Fatalf("intake: %q", inc)
	}
	incID := queryInt(t, db, `SELECT max(id) FROM incidents`)
	assignUnit(t, db, incID, f.unit.ID)
	off := createUnitUser(t, db, "off", account.Officer, "LEN", "LEN-11")
	officer := f.ts.client(t)
	officer.mustLogin("off", testPassword)
	createUser(t, db, "sup", account.Supervisor, "LEN")
	sup := f.ts.client(t)
	sup.mustLogin("sup", testPassword)

	task := queryInt(t, db, `SELECT id FROM follow_up_tasks WHERE incident_id = $1`, incID)
	var due time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT due_at FROM follow_up_tasks WHERE id = $1`, task).Scan(&due); err != nil {
		t.Fatal(err)
	}
	card := `[data-work="followup-` + itoa(task) + `"]`
	if d := doc(t, ok200(t, officer.get("/my/work"))); d.Find(card).Length() != 0 {
		t.Error("a task due in 30 days is on the list already")
	}
	set := func(at time.Time) { clock.advance(at.Sub(clock.now())) }
	set(due.Add(-time.Second))
	d := doc(t, ok200(t, officer.get("/my/work")))
	if d.Find(card).Length() != 1 || d.Find(card+".overdue").Length() != 0 {
		t.Errorf("a second before its due time: on the list %d, overdue %d", d.Find(card).Length(), d.Find(card+".overdue").Length())
	}
	b := doc(t, ok200(t, sup.get("/board/fragment")))
	if b.Find(`.board-overdue `+card).Length() != 0 {
		t.Error("on the board's overdue list before its due time")
	}
	if at, _ := b.Find(".board-overdue").Attr("data-refresh-at"); at == "" || !mustTime(t, at).Equal(due) {
		t.Errorf("board's next refresh %q, want the due time %v", at, due)
	}
	set(due)
	b = doc(t, ok200(t, sup.get("/board/fragment")))
	if b.Find(`.board-overdue `+card).Length() != 1 {
		t.Error("not on the supervisor's board at its due time")
	}
	if d := doc(t, ok200(t, officer.get("/my/work"))); d.Find(card+".overdue").Length() != 1 {
		t.Error("not overdue on the officer's list at its due time")
	}
	if d := doc(t, ok200(t, sup.get("/work"))); d.Find(card+" select[name=unit_id]").Length() != 1 {
		t.Error("no reassignment on the district's list")
	}

	// An outcome is required; then it closes once.
	wantRedirect(t, officer.postForm("/follow-ups/"+itoa(task)+"/close", url.Values{}), "/my/work")
	if txt := flashText(doc(t, officer.get("/my/work"))); !strings.Contains(txt, "Choose an outcome") {
		t.Errorf("no outcome: flash %q", txt)
	}
	// The call was logged without "safe to call back?": reaching her
	// needs a reason (TestFollowUpsShowSafeContactBeforeOutcomes).
	wantRedirect(t, officer.postForm("/follow-ups/"+itoa(task)+"/close", url.Values{"outcome": {"reached_safe"},
		"reason": {"she asked to be contacted"}}), "/my/work")
	d = doc(t, officer.get("/my/work"))
	if txt := flashText(d); !strings.Contains(txt, "Reached, safe") || d.Find(card).Length() != 0 {
		t.Errorf("closed: flash %q, still listed %d", txt, d.Find(card).Length())
	}
	wantRedirect(t, officer.postForm("/follow-ups/"+itoa(task)+"/close", url.Values{"outcome": {"not_reached"}}), "/my/work")
	if txt := flashText(doc(t, officer.get("/my/work"))); !strings.Contains(txt, "Already recorded: Reached, safe") {
		t.Errorf("retry: flash %q", txt)
	}

	// An order the officer issues: its checks are the unit's.
	viol := refdata.IncidentType{Code: "PO-VIOL", Name: "Violation of protection order", IsDV: true, Active: true}
	if err := db.SaveIncidentType(ctx, &viol, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	orderID, _, err := db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, IncidentID: &incID,
		DistrictID: &f.district.ID, ProtectedName: "Aigul Asanova", RestrainedName: "Bakyt Asanov", StartsAt: now,
		EndsAt: now.Add(72 * time.Hour)}, time.UTC, audit.Actor{UserID: off.ID})
	if err != nil {
		t.Fatal(err)
	}
	check := queryInt(t, db, `SELECT id FROM order_checks WHERE order_id = $1 AND unit_id = $2`, orderID, f.unit.ID)

	// Another district's officer may not record it (nor the task).
	createDistrict(t, db, "OSH", "Osh")
	if err := db.SaveUnit(ctx, &refdata.Unit{CallSign: "OSH-1", DistrictID: queryInt(t, db, `SELECT id FROM districts WHERE code = 'OSH'`), Active: true}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	createUnitUser(t, db, "off-osh", account.Officer, "OSH", "OSH-1")
	stranger := f.ts.client(t)
	stranger.mustLogin("off-osh", testPassword)
	if resp := stranger.postForm("/checks/"+itoa(check), url.Values{"result": {"breach"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another unit's officer recorded the check: %d", resp.StatusCode)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM audit_events WHERE action = 'order.check' AND outcome = 'denied'`); n != 1 {
		t.Errorf("%d denied check audits, want 1", n)
	}

	d = doc(t, ok200(t, officer.get("/my/work")))
	if d.Find(`[data-work="check-`+itoa(check)+`"] button`).Length() != 3 {
		t.Error("the check has not its three buttons")
	}
	resp := officer.postForm("/checks/"+itoa(check), url.Values{"result": {"breach"}})
	violID := queryInt(t, db, `SELECT coalesce(max(id), 0) FROM incidents WHERE protection_order_id = $1`, orderID)
	wantRedirect(t, resp, incidentPagePath(violID))
	wantRedirect(t, officer.postForm("/checks/"+itoa(check), url.Values{"result": {"breach"}}), "/my/work")
	if n := queryInt(t, db, `SELECT count(*) FROM incidents WHERE protection_order_id = $1 AND violation_found_by = 'police_check'`, orderID); n != 1 {
		t.Errorf("%d violation incidents, want 1", n)
	}
	if txt := flashText(doc(t, officer.get("/my/work"))); !strings.Contains(txt, "Already recorded: Breach found") {
		t.Errorf("retry of the breach: flash %q", txt)
	}

	// The dashboard's follow-through figures: the task was due in the
	// last 28 days (of the server's clock) and closed before its due time
	// by the database's clock, which the test does not move; the violation
	// was received 30 days before the period.
	dash := doc(t, ok200(t, sup.get("/dashboard")))
	fig := func(label string) string {
		v, _ := dash.Find(".dash-follow dt").FilterFunction(func(_ int, s *goquery.Selection) bool {
			return s.Text() == label
		}).Next().Find("strong").Attr("data-value")
		return v
	}
	for label, want := range map[string]string{"Follow-ups due": "1", "Done on time": "100", "Violations found by police": ""} {
		if got := fig(label); got != want {
			t.Errorf("dashboard %q = %q, want %q", label, got, want)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestRescreenThroughTask: an officer whose unit has left the incident
// may not screen it, but may re-screen it for a follow-up task of their
// unit; the screen closes the task as re-screened and its result
// reschedules. A task of another incident opens nothing.
func TestRescreenThroughTask(t *testing.T) {
	f := newIntakeFixture(t)
	db := f.ts.DB
	ctx := context.Background()
	inc := location(f.c.postForm("/incidents", f.validForm(f.openForm(t))))
	incID := queryInt(t, db, `SELECT max(id) FROM incidents`)
	assignUnit(t, db, incID, f.unit.ID)
	if err := db.ReleaseUnit(ctx, incID, f.unit.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	createUnitUser(t, db, "off", account.Officer, "LEN", "LEN-11")
	officer := f.ts.client(t)
	officer.mustLogin("off", testPassword)
	task := queryInt(t, db, `SELECT id FROM follow_up_tasks WHERE incident_id = $1`, incID)
	if _, err := db.Pool.Exec(ctx, `UPDATE follow_up_tasks SET unit_id = $2 WHERE id = $1`, task, f.unit.ID); err != nil {
		t.Fatal(err)
	}
	if resp := officer.get(inc + "/danger"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer of a released unit opened the screen: %d", resp.StatusCode)
	}
	other := location(f.c.postForm("/incidents", f.validForm(f.openForm(t))))
	if resp := officer.get(other + "/danger?task=" + itoa(task)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a task of another incident opened its screen: %d", resp.StatusCode)
	}
	d := doc(t, ok200(t, officer.get(inc+"/danger?task="+itoa(task))))
	if action, _ := d.Find("form.danger-form").Attr("action"); action != inc+"/danger?task="+itoa(task) {
		t.Errorf("the screen posts to %q", action)
	}
	resp := officer.postForm(inc+"/danger?task="+itoa(task), dangerAnswers(t, f, incident.Yes, nil))
	wantRedirect(t, resp, inc)
	if n := queryInt(t, db, `SELECT count(*) FROM follow_up_tasks WHERE id = $1 AND outcome = 'rescreened'`, task); n != 1 {
		t.Error("the task is not closed as re-screened")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM follow_up_tasks WHERE incident_id = $1 AND reason = 'high_danger' AND unit_id = $2 AND closed_at IS NULL`, incID, f.unit.ID); n != 8 {
		t.Errorf("%d high-danger tasks for the unit after the re-screen, want 8", n)
	}
}

// TestFollowThroughExport: /reports/follow-through.{json,csv} gives the
// dashboard's follow-through figures for the report's query, every
// filter applied (a DV call with its follow-up counts under its type,
// DV only and its unit, not under another type or unit); a supervisor is
// held to their district, the refusal audited.
func TestFollowThroughExport(t *testing.T) {
	f := newIntakeFixture(t)
	db := f.ts.DB
	if loc := location(f.c.postForm("/incidents", f.validForm(f.openForm(t)))); !strings.HasPrefix(loc, "/incidents/") {
		t.Fatalf("intake: %q", loc)
	}
	incID := queryInt(t, db, `SELECT max(id) FROM incidents`)
	assignUnit(t, db, incID, f.unit.ID)
	other := refdata.Unit{CallSign: "LEN-99", DistrictID: f.district.ID, Active: true}
	if err := db.SaveUnit(context.Background(), &other, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	createUser(t, db, "sup", account.Supervisor, "LEN")
	sup := f.ts.client(t)
	sup.mustLogin("sup", testPassword)
	today := time.Now().UTC()
	period := "from=" + today.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + today.AddDate(0, 0, 32).Format("2006-01-02")
	for _, c := range []struct {
		filter       string
		due, dvCalls any
	}{
		{"", 1.0, 1.0},
		{"&dv_only=1", 1.0, 1.0},
		{"&unit=" + itoa(f.unit.ID), 1.0, 1.0},
		{"&unit=" + itoa(other.ID), 0.0, 0.0},
		{"&type=" + itoa(f.typ.ID+1000), 0.0, 0.0},
	} {
		var out struct {
			From    string         `json:"from"`
			Filters map[string]any `json:"filters"`
			Figures map[string]any `json:"figures"`
		}
		resp := ok200(t, sup.get("/reports/follow-through.json?"+period+c.filter))
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if out.Figures["follow_ups_due"] != c.due || out.Figures["dv_incidents"] != c.dvCalls ||
			out.Figures["call_to_order_median_s"] != nil || out.Filters["district"] != itoa(f.district.ID) {
			t.Errorf("%q: figures %v filters %v, want %v due and %v DV calls in district %d", c.filter, out.Figures, out.Filters,
				c.due, c.dvCalls, f.district.ID)
		}
	}
	csvText := body(t, ok200(t, sup.get("/reports/follow-through.csv?"+period+"&dv_only=1")))
	if !strings.HasPrefix(csvText, "from,to,figure,value\r\n") || !strings.Contains(csvText, ",follow_ups_due,1\r\n") ||
		!strings.Contains(csvText, ",orders_per_dv_incident,0\r\n") {
		t.Errorf("CSV export:\n%s", csvText)
	}
	before := queryInt(t, db, `SELECT count(*) FROM audit_events WHERE action = 'report.export' AND record_id = 'follow-through' AND outcome = 'denied'`)
	if resp := sup.get("/reports/follow-through.json?" + period + "&district=" + itoa(f.district.ID+1000)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another district: %d, want 403", resp.StatusCode)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM audit_events WHERE action = 'report.export' AND record_id = 'follow-through' AND outcome = 'denied'`); n != before+1 {
		t.Errorf("denied exports audited: %d, want %d", n, before+1)
	}
}

// TestMyWorkLive: the officer's "My follow-ups and checks" is live as My
// incidents is: its stream (filtered to the unit and the district's pool)
// says so when a DV call of the district gets its follow-up and when an
// order issued by the unit's officer gets its checks, and the fragment
// then lists the new check; another district's call and order send
// nothing to it.
func TestMyWorkLive(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	hub := pgtest.RunHub(t, db, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	ts := newTestServerOn(t, db, func(d *Deps) { d.Hub = hub })
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	target := 60
	must(db.SavePriority(ctx, &refdata.Priority{Level: 1, Label: "Immediate danger",
		Targets: map[refdata.Interval]*int{refdata.CallProcessing: &target}}, true, 0, audit.Actor{}))
	dv := refdata.IncidentType{Code: "DV-PHYS", Name: "Domestic violence — physical", IsDV: true, Active: true}
	must(db.SaveIncidentType(ctx, &dv, audit.Actor{}))
	var units []refdata.Unit
	var officers []*account.User
	for _, code := range []string{"LEN", "OSH"} {
		d := createDistrict(t, db, code, code)
		u := refdata.Unit{CallSign: code + "-1", DistrictID: d.ID, Active: true}
		must(db.SaveUnit(ctx, &u, audit.Actor{}))
		units = append(units, u)
		officers = append(officers, createUnitUser(t, db, "off-"+code, account.Officer, code, code+"-1"))
	}
	c := ts.client(t)
	c.mustLogin("off-LEN", testPassword)
	stream := openStream(t, c, "/my/work/events")
	stream.waitFor(t, "off-LEN", "changed:resync", 1)

	// A DV call and its order in each district; OSH's first.
	var incs, checks []int64
	for _, k := range []int{1, 0} {
		key, received, err := db.CreateDraft(ctx, officers[k].ID)
		must(err)
		id, _, _, err := db.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: dv.ID, Priority: 1,
			DistrictID: &units[k].DistrictID, Address: "Chui 12"}, time.UTC, audit.Actor{UserID: officers[k].ID})
		must(err)
		now := time.Now()
		orderID, _, err := db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, IncidentID: &id,
			DistrictID: &units[k].DistrictID, ProtectedName: "A", RestrainedName: "B", StartsAt: now,
			EndsAt: now.Add(72 * time.Hour)}, time.UTC, audit.Actor{UserID: officers[k].ID})
		must(err)
		incs = append(incs, id)
		checks = append(checks, queryInt(t, db, `SELECT min(id) FROM order_checks WHERE order_id = $1 AND unit_id = $2`, orderID, units[k].ID))
	}
	osh, len1 := "changed:incident:"+itoa(incs[0]), "changed:incident:"+itoa(incs[1])
	stream.waitFor(t, "off-LEN", len1, 2) // the call (its pool follow-up), then the order (its checks)
	if n := stream.count(osh); n != 0 {
		t.Errorf("the LEN officer's list heard of the OSH call %d time(s)", n)
	}
	d := doc(t, ok200(t, c.get("/my/work/fragment")))
	if d.Find(`[data-work="check-`+itoa(checks[1])+`"]`).Length() != 1 || d.Find(`[data-work="check-`+itoa(checks[0])+`"]`).Length() != 0 {
		t.Errorf("fragment: want the LEN check %d and not the OSH one %d:\n%s", checks[1], checks[0], d.Text())
	}
	page := doc(t, ok200(t, c.get("/my/work")))
	if page.Find(`.live[data-live="/my/work/events"][data-live-fragment="/my/work/fragment"] [data-work="check-`+itoa(checks[1])+`"]`).Length() != 1 {
		t.Error("/my/work: the list is not in a live region")
	}
}

// TestCutWork: the officer's list keeps its first myWorkMax items and
// says when it left some out.
func TestCutWork(t *testing.T) {
	rows := make([]web.WorkRow, myWorkMax+1)
	for i := range rows {
		rows[i].ID = itoa(int64(i))
	}
	if got, more := cutWork(rows[:myWorkMax]); len(got) != myWorkMax || more {
		t.Errorf("%d items: kept %d, more %v", myWorkMax, len(got), more)
	}
	if got, more := cutWork(rows); len(got) != myWorkMax || !more || got[0].ID != "0" {
		t.Errorf("%d items: kept %d, more %v", myWorkMax+1, len(got), more)
	}
}
