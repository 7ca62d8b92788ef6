package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// assignment is the one of in's assignments for unitID.
func assignment(t *testing.T, in *incident.Incident, unitID int64) incident.Assignment {
	t.Helper()
	for _, a := range in.Units {
		if a.UnitID == unitID {
			return a
		}
	}
	t.Fatalf("incident %d has no assignment of unit %d", in.ID, unitID)
	return incident.Assignment{}
}

func sameTime(a, b *time.Time) bool { return a != nil && b != nil && a.Equal(*b) }

// TestAssignmentsKeepTheirOwnTimes: each unit on an incident has its own
// en route, on scene and cleared times; the incident's stage times stay
// those of the first unit (what the reports measure); a unit clears only
// itself, and the last one to clear closes the incident.
func TestAssignmentsKeepTheirOwnTimes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dispo := refdata.Disposition{Code: "ARREST", Name: "Arrest", Active: true}
	must(t, f.db.SaveDisposition(ctx, &dispo, audit.Actor{}))
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	must(t, f.db.AssignUnit(ctx, id, f.unit.ID, f.actor))
	must(t, f.db.AssignUnit(ctx, id, f.unit2.ID, f.actor))
	stage := func(s incident.Stage, unit int64, disposition *int64) postgres.StageResult {
		t.Helper()
		time.Sleep(5 * time.Millisecond) // distinct transaction times
		res, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: s, UnitID: &unit, DispositionID: disposition}, f.actor)
		must(t, err)
		return res
	}
	read := func() *incident.Incident {
		t.Helper()
		in, err := f.db.Incident(ctx, id)
		must(t, err)
		return in
	}
	stage(incident.EnRoute, f.unit.ID, nil)
	if res := stage(incident.EnRoute, f.unit2.ID, nil); !res.AlreadyDone {
		t.Error("the second unit's en route changed the incident's en route time")
	}
	stage(incident.OnScene, f.unit.ID, nil)
	in := read()
	a1, a2 := assignment(t, in, f.unit.ID), assignment(t, in, f.unit2.ID)
	if !sameTime(in.EnRouteAt, a1.EnRouteAt) || !sameTime(in.OnSceneAt, a1.OnSceneAt) {
		t.Errorf("incident en route %v on scene %v, want the first unit's %v %v", in.EnRouteAt, in.OnSceneAt, a1.EnRouteAt, a1.OnSceneAt)
	}
	if a2.EnRouteAt == nil || !a2.EnRouteAt.After(*a1.EnRouteAt) || a2.OnSceneAt != nil {
		t.Errorf("second unit: en route %v on scene %v, want its own en route after %v and no on scene", a2.EnRouteAt, a2.OnSceneAt, a1.EnRouteAt)
	}
	if a1.UnitStatus != "on_scene" || a2.UnitStatus != "en_route" {
		t.Errorf("statuses on the incident %s, %s; want on_scene, en_route", a1.UnitStatus, a2.UnitStatus)
	}

	// The first unit clears itself: the other stays, the incident is open.
	if res := stage(incident.Cleared, f.unit.ID, &dispo.ID); !res.UnitOnly || res.AlreadyDone {
		t.Errorf("first unit's clear: %+v, want a unit-only clear", res)
	}
	in = read()
	a1, a2 = assignment(t, in, f.unit.ID), assignment(t, in, f.unit2.ID)
	if in.ClearedAt != nil {
		t.Error("one unit's clear closed the incident while another unit is on it")
	}
	if a1.ClearedAt == nil || a1.UnitStatus != "cleared" || a2.ClearedAt != nil || a2.UnitStatus != "en_route" {
		t.Errorf("after the first unit cleared: %+v / %+v", a1, a2)
	}
	for _, c := range []struct {
		unit int64
		want refdata.UnitStatus
	}{{f.unit.ID, refdata.UnitAvailable}, {f.unit2.ID, refdata.UnitEnRoute}} {
		u, err := f.db.Unit(ctx, c.unit)
		must(t, err)
		if u.Status != c.want {
			t.Errorf("unit %s is %s, want %s", u.CallSign, u.Status, c.want)
		}
	}

	// The last unit clears with a disposition: the incident closes, at
	// that unit's time.
	stage(incident.Cleared, f.unit2.ID, &dispo.ID)
	in = read()
	a2 = assignment(t, in, f.unit2.ID)
	if !sameTime(in.ClearedAt, a2.ClearedAt) || in.Disposition == "" {
		t.Errorf("incident cleared %v (disposition %q), want the last unit's %v with its disposition", in.ClearedAt, in.Disposition, a2.ClearedAt)
	}
	// The figures the reports read are the first unit's (incidents row).
	var response float64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT extract(epoch FROM on_scene_at - received_at) FROM incidents WHERE id = $1`, id).Scan(&response))
	if want := a1.OnSceneAt.Sub(in.ReceivedAt).Seconds(); response != want {
		t.Errorf("response %v s, want %v s (received to the first unit on scene)", response, want)
	}
}

// TestMovingABusyUnit: a unit on another open incident is busy; moving it
// takes it off that incident (recorded there) and records where it came
// from. A dispatcher closing an incident clears every unit on it.
func TestMovingABusyUnit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, firstNumber, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	second, secondNumber, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	must(t, f.db.AssignUnit(ctx, first, f.unit.ID, f.actor))
	st, err := f.db.UnitStateFor(ctx, f.unit.ID, second)
	must(t, err)
	if !st.Busy() || st.Elsewhere != firstNumber || st.Status != refdata.UnitDispatched {
		t.Errorf("unit state from the second incident %+v, want busy on %s", st, firstNumber)
	}
	if st, err := f.db.UnitStateFor(ctx, f.unit2.ID, second); err != nil || st.Busy() {
		t.Errorf("a free unit: %+v %v, want not busy", st, err)
	}
	must(t, f.db.MoveUnit(ctx, second, f.unit.ID, f.actor))
	one, err := f.db.Incident(ctx, first)
	must(t, err)
	two, err := f.db.Incident(ctx, second)
	must(t, err)
	if a := assignment(t, one, f.unit.ID); a.ReleasedAt == nil || a.UnitStatus != "released" {
		t.Errorf("on the first incident the moved unit is %+v, want released", a)
	}
	moved := func(in *incident.Incident, kind, key, want string) {
		t.Helper()
		for _, e := range in.Events {
			if e.Kind == kind {
				if v, _ := e.Data[key].(string); v == want {
					return
				}
				if vs, _ := e.Data[key].([]any); len(vs) == 1 && vs[0] == want {
					return
				}
			}
		}
		t.Errorf("incident %s has no %s event with %s %s", in.Number, kind, key, want)
	}
	moved(one, "unit_released", "moved_to", secondNumber)
	moved(two, "unit_assigned", "moved_from", firstNumber)

	// The dispatcher closes the second incident: every unit on it clears.
	must(t, f.db.AssignUnit(ctx, second, f.unit2.ID, f.actor))
	dispo := refdata.Disposition{Code: "ADVICE", Name: "Advice given", Active: true}
	must(t, f.db.SaveDisposition(ctx, &dispo, audit.Actor{}))
	_, err = f.db.SetStage(ctx, postgres.StageChange{IncidentID: second, Stage: incident.Cleared, DispositionID: &dispo.ID}, f.actor)
	must(t, err)
	two, err = f.db.Incident(ctx, second)
	must(t, err)
	for _, a := range two.Units {
		if !sameTime(a.ClearedAt, two.ClearedAt) || a.UnitStatus != "cleared" {
			t.Errorf("after the incident closed, %s: %+v, want cleared with it", a.CallSign, a)
		}
	}
}
