package postgres_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// fixture is the reference data every incident test needs.
type fixture struct {
	db       *postgres.DB
	district refdata.District
	typ      refdata.IncidentType
	unit     refdata.Unit
	unit2    refdata.Unit
	user     *account.User
	actor    audit.Actor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: pgtest.DB(t)}
	f.district = refdata.District{Code: "LEN", Name: "Leninsky", Active: true}
	must(t, f.db.SaveDistrict(ctx, &f.district, audit.Actor{}))
	f.typ = refdata.IncidentType{Code: "DV-PHYS", Name: "Domestic violence — physical", IsDV: true, Active: true}
	must(t, f.db.SaveIncidentType(ctx, &f.typ, audit.Actor{}))
	target := 60
	must(t, f.db.SavePriority(ctx, &refdata.Priority{Level: 1, Label: "Immediate", Targets: map[refdata.Interval]*int{refdata.CallProcessing: &target}}, true, 0, audit.Actor{}))
	f.unit = refdata.Unit{CallSign: "LEN-11", DistrictID: f.district.ID, Active: true}
	must(t, f.db.SaveUnit(ctx, &f.unit, audit.Actor{}))
	f.unit2 = refdata.Unit{CallSign: "LEN-12", DistrictID: f.district.ID, Active: true}
	must(t, f.db.SaveUnit(ctx, &f.unit2, audit.Actor{}))
	u, err := f.db.CreateUser(ctx, account.Draft{Username: "disp", Role: "dispatcher", Password: "correct horse battery"}, audit.Actor{})
	must(t, err)
	f.user = u
	f.actor = audit.Actor{UserID: u.ID, Username: u.Username, Role: string(u.Role), IP: "127.0.0.1"}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// call makes a validated intake for the fixture's user.
func (f *fixture) call(t *testing.T, form incident.Form) incident.New {
	t.Helper()
	ctx := context.Background()
	if form.Key == "" {
		key, _, err := f.db.CreateDraft(ctx, f.user.ID)
		must(t, err)
		form.Key = key
	}
	at, err := f.db.DraftReceivedAt(ctx, form.Key, f.user.ID)
	must(t, err)
	now, err := f.db.NowUTC(ctx)
	must(t, err)
	if form.TypeID == "" {
		form.TypeID = itoa(f.typ.ID)
	}
	if form.Priority == "" {
		form.Priority = "1"
	}
	if form.DistrictID == "" && form.Address == "" {
		form.DistrictID = itoa(f.district.ID)
	}
	n, err := form.Validate(at, now, time.UTC, testRules)
	must(t, err)
	return n
}

func itoa(n int64) string { return fmtInt(n) }

func TestCreateIncidentIdempotentUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	n := f.call(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova"})
	type result struct {
		id      int64
		number  string
		created bool
		err     error
	}
	results := make([]result, 10)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, num, created, err := f.db.CreateIncident(ctx, n, time.UTC, f.actor)
			results[i] = result{id, num, created, err}
		}()
	}
	wg.Wait()
	createdCount := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("submission %d: %v", i, r.err)
		}
		if r.id != results[0].id || r.number != results[0].number {
			t.Errorf("submission %d got incident %d %s, want %d %s", i, r.id, r.number, results[0].id, results[0].number)
		}
		if r.created {
			createdCount++
		}
	}
	if createdCount != 1 {
		t.Errorf("%d submissions reported creating the incident, want exactly 1", createdCount)
	}
	var incidents, events, audits int
	must(t, f.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_events),
		(SELECT count(*) FROM audit_events WHERE action = 'incident.create')`).Scan(&incidents, &events, &audits))
	if incidents != 1 || events != 1 || audits != 1 {
		t.Errorf("incidents=%d events=%d audit rows=%d, want 1 each", incidents, events, audits)
	}
}

func TestReceivedTimeComesFromDraftAndManualIsMarked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	n := f.call(t, incident.Form{})
	draftAt := n.ReceivedAt
	id, _, _, err := f.db.CreateIncident(ctx, n, time.UTC, f.actor)
	must(t, err)
	in, err := f.db.Incident(ctx, id)
	must(t, err)
	if !in.ReceivedAt.Equal(draftAt) || in.ReceivedManual {
		t.Errorf("received = %v manual=%v, want draft time %v, not manual", in.ReceivedAt, in.ReceivedManual, draftAt)
	}

	now, err := f.db.NowUTC(ctx)
	must(t, err)
	manual := now.Add(-90 * time.Minute).Truncate(time.Minute)
	n2 := f.call(t, incident.Form{ReceivedManual: manual.Format(incident.ManualTimeLayout)})
	id2, _, _, err := f.db.CreateIncident(ctx, n2, time.UTC, f.actor)
	must(t, err)
	in2, err := f.db.Incident(ctx, id2)
	must(t, err)
	if !in2.ReceivedAt.Equal(manual) || !in2.ReceivedManual {
		t.Errorf("received = %v manual=%v, want %v marked manual", in2.ReceivedAt, in2.ReceivedManual, manual)
	}
	if in2.Events[0].Kind != "created" || fmt.Sprint(in2.Events[0].Data["received_manual"]) != "true" {
		t.Errorf("first event = %+v, want created", in2.Events[0])
	}
}

func TestDraftBelongsToItsUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key, _, err := f.db.CreateDraft(ctx, f.user.ID)
	must(t, err)
	other, err := f.db.CreateUser(ctx, account.Draft{Username: "other", Role: "dispatcher", Password: "another long password"}, audit.Actor{})
	must(t, err)
	if _, err := f.db.DraftReceivedAt(ctx, key, other.ID); err == nil {
		t.Error("another user's draft key was accepted")
	}
	if _, err := f.db.DraftReceivedAt(ctx, "00000000-0000-0000-0000-000000000000", f.user.ID); err == nil {
		t.Error("an unknown draft key was accepted")
	}
}

func TestDispatchSetsDispatchedAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	must(t, f.db.AssignUnit(ctx, id, f.unit.ID, f.actor))
	in, err := f.db.Incident(ctx, id)
	must(t, err)
	if in.DispatchedAt == nil {
		t.Fatal("dispatched_at not set by the first assignment")
	}
	first := *in.DispatchedAt
	if in.DispatchedAt.Before(in.ReceivedAt) {
		t.Errorf("dispatched %v before received %v", first, in.ReceivedAt)
	}
	u, err := f.db.Unit(ctx, f.unit.ID)
	must(t, err)
	if u.Status != refdata.UnitDispatched {
		t.Errorf("unit status = %s, want dispatched", u.Status)
	}
	// A retried assignment and a second unit leave dispatched_at alone.
	must(t, f.db.AssignUnit(ctx, id, f.unit.ID, f.actor))
	time.Sleep(10 * time.Millisecond)
	must(t, f.db.AssignUnit(ctx, id, f.unit2.ID, f.actor))
	in, err = f.db.Incident(ctx, id)
	must(t, err)
	if !in.DispatchedAt.Equal(first) {
		t.Errorf("dispatched_at moved from %v to %v", first, *in.DispatchedAt)
	}
	if len(in.Units) != 2 {
		t.Errorf("%d assignments, want 2 (the retry adds none)", len(in.Units))
	}
	// Releasing frees the unit and is recorded.
	must(t, f.db.ReleaseUnit(ctx, id, f.unit.ID, f.actor))
	must(t, f.db.ReleaseUnit(ctx, id, f.unit.ID, f.actor)) // retry: no error, no second event
	u, err = f.db.Unit(ctx, f.unit.ID)
	must(t, err)
	if u.Status != refdata.UnitAvailable {
		t.Errorf("released unit status = %s, want available", u.Status)
	}
	in, err = f.db.Incident(ctx, id)
	must(t, err)
	kinds := map[string]int{}
	for _, e := range in.Events {
		kinds[e.Kind]++
	}
	if kinds["unit_assigned"] != 2 || kinds["unit_released"] != 1 {
		t.Errorf("events %v, want 2 unit_assigned and 1 unit_released", kinds)
	}
	open, err := f.db.OpenIncidents(ctx)
	must(t, err)
	if len(open) != 1 || len(open[0].Units) != 1 || open[0].Units[0] != "LEN-12" {
		t.Errorf("board row %+v, want one incident with LEN-12", open)
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

// testRules are the history-matching rules of the tests: Kyrgyzstan's.
var testRules = match.Rules{Region: "KG"}

// flatKey is the flat's key of an address.
func flatKey(address string) string {
	flat, _ := match.Address(address)
	return flat
}
