package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

func (f *fixture) dispatched(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	must(t, f.db.AssignUnit(ctx, id, f.unit.ID, f.actor))
	return id
}

func (f *fixture) disposition(t *testing.T) int64 {
	t.Helper()
	d := refdata.Disposition{Code: "WARNING", Name: "Warning given", Active: true}
	must(t, f.db.SaveDisposition(context.Background(), &d, audit.Actor{}))
	return d.ID
}

func unitStatus(t *testing.T, db *postgres.DB, id int64) refdata.UnitStatus {
	t.Helper()
	u, err := db.Unit(context.Background(), id)
	must(t, err)
	return u.Status
}

func TestStagesMoveUnitAndRefuseOutOfOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	if _, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.OnScene}, f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("on scene before dispatch: err %v, want conflict", err)
	}
	must(t, f.db.AssignUnit(ctx, id, f.unit.ID, f.actor))
	unit := &f.unit.ID
	steps := []struct {
		stage incident.Stage
		unit  refdata.UnitStatus
	}{{incident.EnRoute, refdata.UnitEnRoute}, {incident.OnScene, refdata.UnitOnScene}}
	for _, s := range steps {
		res, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: s.stage, UnitID: unit}, f.actor)
		if err != nil || res.AlreadyDone {
			t.Fatalf("%s: %+v %v", s.stage, res, err)
		}
		if got := unitStatus(t, f.db, f.unit.ID); got != s.unit {
			t.Errorf("after %s the unit is %s, want %s", s.stage, got, s.unit)
		}
	}
	if res, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.EnRoute, UnitID: unit}, f.actor); err != nil || !res.AlreadyDone {
		t.Errorf("en route pressed again: %+v %v, want already done", res, err)
	}
	// A unit that arrived without pressing en route cannot go back to it.
	other, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	must(t, f.db.AssignUnit(ctx, other, f.unit2.ID, f.actor))
	if _, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: other, Stage: incident.OnScene}, f.actor); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: other, Stage: incident.EnRoute}, f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("en route after on scene: err %v, want conflict", err)
	}
	if _, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.Cleared}, f.actor); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("cleared without disposition: err %v, want invalid", err)
	}
	d := f.disposition(t)
	if _, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.Cleared, DispositionID: &d}, f.actor); err != nil {
		t.Fatalf("cleared: %v", err)
	}
	if got := unitStatus(t, f.db, f.unit.ID); got != refdata.UnitAvailable {
		t.Errorf("after clearing the unit is %s, want available", got)
	}
	in, err := f.db.Incident(ctx, id)
	must(t, err)
	if in.ClearedAt == nil || in.Disposition != "Warning given" || in.EnRouteAt == nil || in.OnSceneAt == nil {
		t.Errorf("incident after clearing: %+v", in)
	}
	if !(in.ReceivedAt.Before(*in.DispatchedAt) || in.ReceivedAt.Equal(*in.DispatchedAt)) || in.OnSceneAt.Before(*in.EnRouteAt) || in.ClearedAt.Before(*in.OnSceneAt) {
		t.Errorf("stage times out of order: %v %v %v %v %v", in.ReceivedAt, *in.DispatchedAt, *in.EnRouteAt, *in.OnSceneAt, *in.ClearedAt)
	}
	if _, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.OnScene}, f.actor); err != nil {
		// on scene was recorded: a late press is "already done", not an error
		t.Errorf("late on scene after clearing: %v", err)
	}
}

func TestConcurrentOnSceneKeepsFirstTime(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.dispatched(t)
	must(t, f.db.AssignUnit(ctx, id, f.unit2.ID, f.actor))
	results := make([]postgres.StageResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, u := range []int64{f.unit.ID, f.unit2.ID} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.OnScene, UnitID: &u}, f.actor)
		}()
	}
	wg.Wait()
	must(t, errs[0])
	must(t, errs[1])
	if results[0].AlreadyDone == results[1].AlreadyDone {
		t.Fatalf("results %+v: want exactly one recorded and one already done", results)
	}
	if !results[0].At.Equal(results[1].At) {
		t.Errorf("the two answers give different arrival times %v and %v", results[0].At, results[1].At)
	}
	in, err := f.db.Incident(ctx, id)
	must(t, err)
	if !in.OnSceneAt.Equal(results[0].At) {
		t.Errorf("stored on_scene_at %v, answered %v", *in.OnSceneAt, results[0].At)
	}
	// Both units are on scene: the second officer's unit still followed.
	for _, u := range []int64{f.unit.ID, f.unit2.ID} {
		if got := unitStatus(t, f.db, u); got != refdata.UnitOnScene {
			t.Errorf("unit %d is %s, want on_scene", u, got)
		}
	}
	var recorded int
	must(t, f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'status_changed'
		AND data->>'stage' = 'on_scene' AND NOT (data ? 'unit_only')`, id).Scan(&recorded))
	if recorded != 1 {
		t.Errorf("%d on-scene stage events, want 1", recorded)
	}
}

func TestRetriedStageRequestIsAnsweredAsDone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.dispatched(t)
	key := "6f1c2a8e-7d4b-4c3a-9e5f-0a1b2c3d4e5f"
	c := postgres.StageChange{IncidentID: id, Stage: incident.EnRoute, UnitID: &f.unit.ID, Key: key}
	first, err := f.db.SetStage(ctx, c, f.actor)
	must(t, err)
	time.Sleep(5 * time.Millisecond)
	again, err := f.db.SetStage(ctx, c, f.actor)
	must(t, err)
	if first.AlreadyDone || !again.AlreadyDone || !again.At.Equal(first.At) {
		t.Errorf("first %+v, retry %+v: want the retry answered as done at the first time", first, again)
	}
	var events, audits int
	must(t, f.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'status_changed'),
		(SELECT count(*) FROM audit_events WHERE action = 'incident.stage')`, id).Scan(&events, &audits))
	if events != 1 || audits != 1 {
		t.Errorf("events=%d audits=%d after a retry, want 1 each", events, audits)
	}
}
