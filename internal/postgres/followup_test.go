package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

type taskRow struct {
	id      int64
	reason  string
	due     time.Time
	unit    *int64
	outcome *string
}

// tasks lists an incident's follow-up tasks in due order.
func (f *fixture) tasks(t *testing.T, incidentID int64) []taskRow {
	t.Helper()
	rows, err := f.db.Pool.Query(context.Background(), `SELECT id, reason, due_at, unit_id, outcome FROM follow_up_tasks
		WHERE incident_id = $1 ORDER BY due_at, id`, incidentID)
	must(t, err)
	defer rows.Close()
	var out []taskRow
	for rows.Next() {
		var r taskRow
		must(t, rows.Scan(&r.id, &r.reason, &r.due, &r.unit, &r.outcome))
		out = append(out, r)
	}
	must(t, rows.Err())
	return out
}

func openTasks(ts []taskRow, reason string) []taskRow {
	var out []taskRow
	for _, r := range ts {
		if r.outcome == nil && (reason == "" || r.reason == reason) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fixture) receivedAt(t *testing.T, id int64) time.Time {
	t.Helper()
	var at time.Time
	must(t, f.db.Pool.QueryRow(context.Background(), `SELECT received_at FROM incidents WHERE id = $1`, id).Scan(&at))
	return at
}

// TestFollowUpSchedulesByDangerResult: a DV incident gets the standard
// follow-up (30 days, the district's pool) with the incident; a screen
// that is not high danger leaves it; a high-danger screen supersedes it
// with the high-danger schedule (72 h, then weekly for 8 weeks) from the
// screen's time, for the unit on the incident; a non-DV incident gets
// the standard follow-up from its first screen; schedules are
// configurable.
func TestFollowUpSchedulesByDangerResult(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	id := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova"})
	ts := f.tasks(t, id)
	if len(ts) != 1 || ts[0].reason != "standard" || ts[0].unit != nil || !ts[0].due.Equal(f.receivedAt(t, id).Add(30*24*time.Hour)) {
		t.Fatalf("DV incident's tasks: %+v", ts)
	}
	if _, err := f.db.CreateDangerScreen(ctx, id, answerAll(t, f, incident.No, nil), f.actor); err != nil {
		t.Fatal(err)
	}
	if ts2 := f.tasks(t, id); len(ts2) != 1 || ts2[0].outcome != nil {
		t.Fatalf("after a screen that is not high: %+v", ts2)
	}
	must(t, f.db.AssignUnit(ctx, id, f.unit.ID, f.actor))
	s, err := f.db.CreateDangerScreen(ctx, id, answerAll(t, f, incident.Yes, nil), f.actor)
	must(t, err)
	if !s.HighDanger {
		t.Fatal("screen not high")
	}
	ts = f.tasks(t, id)
	for _, r := range ts {
		if r.reason == "standard" && (r.outcome == nil || *r.outcome != "superseded") {
			t.Errorf("standard task after high danger: %+v", r)
		}
	}
	high := openTasks(ts, "high_danger")
	if len(high) != 8 {
		t.Fatalf("%d high-danger tasks, want 8: %+v", len(high), ts)
	}
	for i, r := range high {
		want := s.DoneAt.Add(72*time.Hour + time.Duration(i)*7*24*time.Hour)
		if !r.due.Equal(want) || r.unit == nil || *r.unit != f.unit.ID {
			t.Errorf("high task %d: due %v unit %v, want %v unit %d", i, r.due, r.unit, want, f.unit.ID)
		}
	}
	if last := high[7].due.Sub(s.DoneAt); last > 8*7*24*time.Hour {
		t.Errorf("last task %v after the screen: beyond 8 weeks", last)
	}

	// Another kind of incident: no task until screened.
	other := refdata.IncidentType{Code: "NOISE", Name: "Noise", Active: true}
	must(t, f.db.SaveIncidentType(ctx, &other, audit.Actor{}))
	nid := f.orderIncident(t, incident.Form{Address: "ul. Kievskaya 3", TypeID: itoa(other.ID)})
	if ts := f.tasks(t, nid); len(ts) != 0 {
		t.Fatalf("non-DV incident has tasks: %+v", ts)
	}
	s2, err := f.db.CreateDangerScreen(ctx, nid, answerAll(t, f, incident.No, nil), f.actor)
	must(t, err)
	if ts := f.tasks(t, nid); len(ts) != 1 || ts[0].reason != "standard" || !ts[0].due.Equal(s2.DoneAt.Add(30*24*time.Hour)) {
		t.Errorf("screened non-DV incident: %+v", ts)
	}

	// Configured: within 48 h, then daily while within 4 days.
	must(t, f.db.SetFollowUpSchedule(ctx, incident.HighDangerFollowUp, 48, 24, 96, f.actor))
	s3, err := f.db.CreateDangerScreen(ctx, nid, answerAll(t, f, incident.Yes, nil), f.actor)
	must(t, err)
	high = openTasks(f.tasks(t, nid), "high_danger")
	if len(high) != 3 || !high[0].due.Equal(s3.DoneAt.Add(48*time.Hour)) || !high[2].due.Equal(s3.DoneAt.Add(96*time.Hour)) {
		t.Errorf("configured schedule: %+v", high)
	}
}

// TestRescreenTaskAfterNewIncident: a new incident at a flat with an
// earlier DV incident gets a re-screen task due within 24 h; filing the
// screen closes it as re-screened, and its result reschedules.
func TestRescreenTaskAfterNewIncident(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	first := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Aigul Asanova"})
	if ts := openTasks(f.tasks(t, first), "rescreen"); len(ts) != 0 {
		t.Fatalf("first incident at the flat has a re-screen: %+v", ts)
	}
	second := f.orderIncident(t, incident.Form{Address: "Chui 12 kv 5", VictimName: "Aigul Asanova"})
	re := openTasks(f.tasks(t, second), "rescreen")
	if len(re) != 1 || !re[0].due.Equal(f.receivedAt(t, second).Add(24*time.Hour)) {
		t.Fatalf("re-screen tasks: %+v", f.tasks(t, second))
	}
	elsewhere := f.orderIncident(t, incident.Form{Address: "Chui 12 kv 6", VictimName: "Aigul Asanova"})
	if ts := openTasks(f.tasks(t, elsewhere), "rescreen"); len(ts) != 0 {
		t.Errorf("another flat got a re-screen: %+v", ts)
	}
	s, err := f.db.CreateDangerScreenFor(ctx, second, answerAll(t, f, incident.Yes, nil), re[0].id, f.actor)
	must(t, err)
	ts := f.tasks(t, second)
	var closed *taskRow
	for i := range ts {
		if ts[i].id == re[0].id {
			closed = &ts[i]
		}
	}
	if closed == nil || closed.outcome == nil || *closed.outcome != "rescreened" {
		t.Errorf("re-screen task after the screen: %+v", closed)
	}
	var screenID int64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT screen_id FROM follow_up_tasks WHERE id = $1`, re[0].id).Scan(&screenID))
	if screenID != s.ID {
		t.Errorf("task closed by screen %d, want %d", screenID, s.ID)
	}
	if high := openTasks(ts, "high_danger"); len(high) != 8 {
		t.Errorf("the re-screen's result did not reschedule: %+v", ts)
	}
}

// TestFollowUpOutcomeRequired: a task closes only with one of the
// outcomes, once; a retry (or a second officer) is told the outcome that
// stands, and nothing is recorded twice.
func TestFollowUpOutcomeRequired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	id := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova"})
	task := f.tasks(t, id)[0].id
	for _, bad := range []incident.Outcome{"", "rescreened", "superseded", "fine"} {
		if _, err := f.db.CloseFollowUp(ctx, task, bad, "", f.actor); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("outcome %q: %v, want invalid", bad, err)
		}
	}
	if ts := f.tasks(t, id); ts[0].outcome != nil {
		t.Fatalf("closed without an outcome: %+v", ts)
	}
	res, err := f.db.CloseFollowUp(ctx, task, incident.UnsafeContact, "", f.actor)
	must(t, err)
	if res.AlreadyDone || res.Outcome != "unsafe_contact" {
		t.Errorf("first close: %+v", res)
	}
	again, err := f.db.CloseFollowUp(ctx, task, incident.ReachedSafe, "", f.actor)
	must(t, err)
	if !again.AlreadyDone || again.Outcome != "unsafe_contact" || !again.At.Equal(res.At) {
		t.Errorf("retry: %+v", again)
	}
	if n := countRows(t, f, `SELECT count(*) FROM audit_events WHERE action = 'follow_up.close'`); n != 1 {
		t.Errorf("%d audit rows, want 1", n)
	}
	if _, err := f.db.CloseFollowUp(ctx, 987654, incident.ReachedSafe, "", f.actor); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("unknown task: %v", err)
	}
}

// TestOverdueAtExactDueTime: a task is overdue from its due time on (not
// a microsecond before), in the deployment's zone across a year's end;
// the next due time is what a board's timer waits for.
func TestOverdueAtExactDueTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	zone, err := time.LoadLocation("Asia/Bishkek")
	must(t, err)
	id := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova"})
	task := f.tasks(t, id)[0].id
	due := time.Date(2027, 1, 1, 0, 0, 0, 0, zone) // midnight of New Year in Bishkek: 18:00 UTC the day before
	_, err = f.db.Pool.Exec(ctx, `UPDATE follow_up_tasks SET due_at = $2, unit_id = $3 WHERE id = $1`, task, due, f.unit.ID)
	must(t, err)
	area := access.Area{District: &f.district.ID}
	before := due.Add(-time.Microsecond)
	if got, err := f.db.OverdueWork(ctx, area, before); err != nil || len(got) != 0 {
		t.Errorf("overdue a microsecond before (%v): %+v %v", before.In(zone), got, err)
	}
	got, err := f.db.OverdueWork(ctx, area, due)
	must(t, err)
	if len(got) != 1 || got[0].ID != task || !got[0].Overdue(due) || got[0].Overdue(before) || got[0].DueAt.In(zone).Format("2006-01-02 15:04") != "2027-01-01 00:00" {
		t.Errorf("overdue at the due time: %+v", got)
	}
	next, err := f.db.NextDue(ctx, area, before)
	must(t, err)
	if next == nil || !next.Equal(due) {
		t.Errorf("next due %v, want %v", next, due)
	}
	if next, err := f.db.NextDue(ctx, area, due); err != nil || next != nil {
		t.Errorf("next due after the last: %v %v", next, err)
	}
	mine, err := f.db.UnitWork(ctx, f.unit.ID, nil, due.Add(time.Hour))
	must(t, err)
	if len(mine) != 1 || mine[0].Number == "" || mine[0].CallSign != f.unit.CallSign {
		t.Errorf("unit's work: %+v", mine)
	}
	if other, err := f.db.UnitWork(ctx, f.unit2.ID, nil, due.Add(time.Hour)); err != nil || len(other) != 0 {
		t.Errorf("other unit's work: %+v %v", other, err)
	}
	elsewhere := int64(987654)
	if got, err := f.db.OverdueWork(ctx, access.Area{District: &elsewhere}, due); err != nil || len(got) != 0 {
		t.Errorf("another district sees it: %+v %v", got, err)
	}
	// Reassigned to the pool, then to a unit of another district: refused.
	must(t, f.db.ReassignWork(ctx, incident.FollowUpWork, task, nil, f.actor))
	if mine, _ := f.db.UnitWork(ctx, f.unit.ID, nil, due.Add(time.Hour)); len(mine) != 0 {
		t.Errorf("still the unit's after reassignment to the pool")
	}
	if pool, _ := f.db.UnitWork(ctx, f.unit2.ID, &f.district.ID, due.Add(time.Hour)); len(pool) != 1 || pool[0].UnitID != nil {
		t.Errorf("the district's pool task is not on its units' lists: %+v", pool)
	}
	far := refdata.District{Code: "OKT", Name: "Oktyabrsky", Active: true}
	must(t, f.db.SaveDistrict(ctx, &far, audit.Actor{}))
	farUnit := refdata.Unit{CallSign: "OKT-1", DistrictID: far.ID, Active: true}
	must(t, f.db.SaveUnit(ctx, &farUnit, audit.Actor{}))
	if err := f.db.ReassignWork(ctx, incident.FollowUpWork, task, &farUnit.ID, f.actor); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("reassigned to another district's unit: %v", err)
	}
}

type checkRow struct {
	id     int64
	due    time.Time
	result *string
}

func (f *fixture) checks(t *testing.T, orderID int64) []checkRow {
	t.Helper()
	rows, err := f.db.Pool.Query(context.Background(), `SELECT id, due_at, result FROM order_checks WHERE order_id = $1 ORDER BY seq`, orderID)
	must(t, err)
	defer rows.Close()
	var out []checkRow
	for rows.Next() {
		var r checkRow
		must(t, rows.Scan(&r.id, &r.due, &r.result))
		out = append(out, r)
	}
	must(t, rows.Err())
	return out
}

func (f *fixture) issuedAt(t *testing.T, orderID int64) time.Time {
	t.Helper()
	var at time.Time
	must(t, f.db.Pool.QueryRow(context.Background(), `SELECT issued_at FROM protection_orders WHERE id = $1`, orderID).Scan(&at))
	return at
}

// TestOrderChecksByKind: every order in force gets checks from its issue
// (24 h, then every 72 h, until it ends), per kind's schedule; an
// extension adds the longer span's checks; an early end cancels the rest.
func TestOrderChecksByKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	inc := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova", SuspectName: "Bakyt Asanov"})
	must(t, f.db.SetOrderCheckSchedule(ctx, incident.CourtOrder, 12, 24, f.actor))
	now := time.Now().UTC()
	for _, c := range []struct {
		kind        incident.OrderKind
		days        int
		first, step time.Duration
		want        int
	}{
		{incident.TemporaryOrder, 3, 24 * time.Hour, 72 * time.Hour, 1},     // 24 h; 96 h is past the end
		{incident.RestrainingOrder, 30, 24 * time.Hour, 72 * time.Hour, 10}, // 24 h + 72 h × 0..9
		{incident.CourtOrder, 3, 12 * time.Hour, 24 * time.Hour, 3},         // configured: 12, 36, 60 h
	} {
		id, _ := f.issueOrder(t, inc, c.kind, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", now, now.Add(time.Duration(c.days)*24*time.Hour))
		issued := f.issuedAt(t, id)
		cs := f.checks(t, id)
		if len(cs) != c.want {
			t.Errorf("%s: %d checks, want %d", c.kind, len(cs), c.want)
			continue
		}
		for i, r := range cs {
			if want := issued.Add(c.first + time.Duration(i)*c.step); !r.due.Equal(want) || r.result != nil {
				t.Errorf("%s check %d: due %v, want %v", c.kind, i, r.due, want)
			}
		}
	}
	id, _ := f.issueOrder(t, inc, incident.TemporaryOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", now, now.Add(72*time.Hour))
	must(t, f.db.ExtendOrder(ctx, id, now.Add(10*24*time.Hour+time.Hour), time.UTC, f.actor))
	if cs := f.checks(t, id); len(cs) != 4 { // 24, 96, 168, 240 h: before the end at 241 h
		t.Errorf("after the extension: %d checks: %+v", len(cs), cs)
	}
	must(t, f.db.EndOrder(ctx, id, "victim moved away", f.actor))
	for _, r := range f.checks(t, id) {
		if r.result == nil || *r.result != "cancelled" {
			t.Errorf("check of an ended order: %+v", r)
		}
	}
}

// TestBreachOpensOneViolationUnderRetries: a check's "breach found",
// pressed many times at once (retries on a weak network, two officers),
// opens exactly one incident of the violation type, linked to the order
// and found by a police check; every press is answered with it.
func TestBreachOpensOneViolationUnderRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	viol := refdata.IncidentType{Code: "PO-VIOL", Name: "Violation of protection order", IsDV: true, Active: true}
	must(t, f.db.SaveIncidentType(ctx, &viol, audit.Actor{}))
	inc := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova", SuspectName: "Bakyt Asanov"})
	now := time.Now().UTC()
	orderID, _ := f.issueOrder(t, inc, incident.RestrainingOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", now, now.Add(10*24*time.Hour))
	check := f.checks(t, orderID)[0].id
	if _, err := f.db.RecordOrderCheck(ctx, check, "", time.UTC, f.actor); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("no result: %v", err)
	}
	const presses = 6
	results := make([]incident.CloseResult, presses)
	errs := make([]error, presses)
	var wg sync.WaitGroup
	for i := range presses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.db.RecordOrderCheck(ctx, check, incident.BreachFound, time.UTC, f.actor)
		}()
	}
	wg.Wait()
	first := 0
	var violation int64
	for i := range presses {
		must(t, errs[i])
		if results[i].ViolationID == nil {
			t.Fatalf("press %d: no violation: %+v", i, results[i])
		}
		if violation == 0 {
			violation = *results[i].ViolationID
		}
		if *results[i].ViolationID != violation || results[i].Outcome != "breach" {
			t.Errorf("press %d: %+v", i, results[i])
		}
		if !results[i].AlreadyDone {
			first++
		}
	}
	if first != 1 {
		t.Errorf("%d presses recorded, want 1", first)
	}
	if n := countRows(t, f, `SELECT count(*) FROM incidents WHERE protection_order_id = $1`, orderID); n != 1 {
		t.Errorf("%d violation incidents, want 1", n)
	}
	var typeID int64
	var foundBy string
	var district *int64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT type_id, violation_found_by, district_id FROM incidents WHERE id = $1`, violation).
		Scan(&typeID, &foundBy, &district))
	if typeID != viol.ID || foundBy != "police_check" || district == nil || *district != f.district.ID {
		t.Errorf("violation incident: type %d found by %q district %v", typeID, foundBy, district)
	}
	// A violation linked by hand is reported by the victim or others.
	second := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", TypeID: itoa(viol.ID)})
	must(t, f.db.LinkViolatedOrderFoundBy(ctx, second, orderID, incident.FoundByOthers, f.actor))
	must(t, f.db.Pool.QueryRow(ctx, `SELECT violation_found_by FROM incidents WHERE id = $1`, second).Scan(&foundBy))
	if foundBy != "others" {
		t.Errorf("linked violation found by %q", foundBy)
	}
}

// TestReachedNeedsReasonWhereContactUnsafe: "reached and safe" follows
// the rule as the pages show it (her recorded rule, else the intake's
// answer): where it does not say contact is safe, only with a reason,
// kept on the task; a recorded rule that does not know wins over the
// intake's yes (for a call-back too). The other outcomes take none, and a
// retry of a closed task is told the outcome that stands. VictimRules
// reads the same for several incidents at once.
func TestReachedNeedsReasonWhereContactUnsafe(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	saidYes := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova", SafeToCall: "yes"})
	unknown := f.orderIncident(t, incident.Form{Address: "ul. Manas 3", VictimName: "Gulnara Bekova", SafeToCall: "yes"})
	noAnswer := f.orderIncident(t, incident.Form{Address: "ul. Frunze 7", VictimName: "Nazira Alieva"})
	must(t, f.db.SaveSafeContact(ctx, unknown, postgres.SafeContact{Who: "police", CodeWord: "bakery"}, false, f.actor))

	rules, err := f.db.VictimRules(ctx, []int64{saidYes, unknown, noAnswer, 987654})
	must(t, err)
	if len(rules) != 3 || rules[saidYes].Rule != nil || rules[saidYes].CallerSafe == nil || !*rules[saidYes].CallerSafe ||
		rules[unknown].Rule == nil || rules[unknown].Rule.CodeWord != "bakery" || rules[unknown].Rule.SafeToCall != nil ||
		rules[noAnswer].CallerSafe != nil || rules[noAnswer].Record.District == nil || *rules[noAnswer].Record.District != f.district.ID {
		t.Fatalf("VictimRules: %+v", rules)
	}

	task := func(inc int64) int64 { return f.tasks(t, inc)[0].id }
	reasonOf := func(id int64) *string {
		var r *string
		must(t, f.db.Pool.QueryRow(ctx, `SELECT unsafe_reason FROM follow_up_tasks WHERE id = $1`, id).Scan(&r))
		return r
	}
	for _, inc := range []int64{unknown, noAnswer} {
		if _, err := f.db.CloseFollowUp(ctx, task(inc), incident.ReachedSafe, " ", f.actor); apperr.FieldsOf(err)["reason"].ID != "followup.err.reason_unsafe" {
			t.Errorf("incident %d: reached and safe without a reason: %v", inc, err)
		}
		if ts := f.tasks(t, inc); ts[0].outcome != nil {
			t.Errorf("incident %d: closed without a reason", inc)
		}
	}
	if _, err := f.db.RecordCallBack(ctx, unknown, "", f.actor); apperr.FieldsOf(err)["cb_reason"].ID == "" {
		t.Errorf("call-back where her rule does not know, intake said yes: %v", err)
	}
	res, err := f.db.CloseFollowUp(ctx, task(unknown), incident.ReachedSafe, " she asked for it ", f.actor)
	must(t, err)
	if r := reasonOf(task(unknown)); res.AlreadyDone || r == nil || *r != "she asked for it" {
		t.Errorf("closed with a reason: %+v, reason %v", res, r)
	}
	again, err := f.db.CloseFollowUp(ctx, task(unknown), incident.ReachedSafe, "", f.actor)
	must(t, err)
	if !again.AlreadyDone || again.Outcome != "reached_safe" {
		t.Errorf("retry: %+v", again)
	}
	_, err = f.db.CloseFollowUp(ctx, task(noAnswer), incident.NotReached, "", f.actor)
	must(t, err)
	_, err = f.db.CloseFollowUp(ctx, task(saidYes), incident.ReachedSafe, "ignored: contact is safe", f.actor)
	must(t, err)
	for _, inc := range []int64{noAnswer, saidYes} {
		if r := reasonOf(task(inc)); r != nil {
			t.Errorf("incident %d: a reason %q kept where none is asked", inc, *r)
		}
	}
	if n := f.orderCount(t, `SELECT count(*) FROM audit_events WHERE action = 'follow_up.close' AND detail->>'reason' = 'she asked for it'`); n != 1 {
		t.Errorf("%d closes audited with the reason, want 1", n)
	}
	if n := f.orderCount(t, `SELECT count(*) FROM audit_events WHERE detail::text LIKE '%bakery%'`); n != 0 {
		t.Errorf("%d audit rows hold the rule's values", n)
	}
}
