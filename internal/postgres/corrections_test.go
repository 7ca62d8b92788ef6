package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

func TestCorrectStageKeepsTheOriginal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	id := f.dispatched(t)
	_, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.OnScene}, f.actor)
	must(t, err)
	// Move the call an hour back, so that there is room for corrections.
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = received_at - interval '1 hour',
		dispatched_at = dispatched_at - interval '1 hour', on_scene_at = on_scene_at - interval '30 minutes' WHERE id = $1`, id)
	must(t, err)
	before, err := f.db.Incident(ctx, id)
	must(t, err)
	orig := *before.OnSceneAt

	newAt := before.DispatchedAt.Add(10 * time.Minute).Truncate(time.Second)
	res, err := f.db.CorrectStage(ctx, id, incident.Correction{Stage: incident.OnScene, New: &newAt,
		Reason: "Officer pressed On scene late"}, time.UTC, f.actor)
	must(t, err)
	if res.Old == nil || !res.Old.Equal(orig) || !res.New.Equal(newAt) {
		t.Errorf("result %v -> %v, want %v -> %v", res.Old, res.New, orig, newAt)
	}
	after, err := f.db.Incident(ctx, id)
	must(t, err)
	if !after.OnSceneAt.Equal(newAt) || after.Version != before.Version+1 {
		t.Errorf("on scene %v version %d, want %v version %d", after.OnSceneAt, after.Version, newAt, before.Version+1)
	}
	if n := countRows(t, f, `SELECT corrections FROM incidents WHERE id = $1`, id); n != 1 {
		t.Errorf("corrections = %d, want 1", n)
	}
	if n, err := f.db.Corrections(ctx, id); err != nil || n != 1 {
		t.Errorf("Corrections = %d, %v", n, err)
	}
	var data map[string]any
	must(t, f.db.Pool.QueryRow(ctx, `SELECT data FROM incident_events WHERE incident_id = $1 AND kind = 'correction'`, id).Scan(&data))
	want := map[string]any{"field": "on_scene", "old": orig.UTC().Format(time.RFC3339), "new": newAt.UTC().Format(time.RFC3339),
		"reason": "Officer pressed On scene late"}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("event %s = %v, want %v", k, data[k], v)
		}
	}
	// The original stage event is still in the timeline.
	if n := countRows(t, f, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'status_changed'
		AND data->>'stage' = 'on_scene'`, id); n != 1 {
		t.Errorf("%d original on-scene events, want 1", n)
	}
	found := false
	for _, e := range after.Events {
		found = found || (e.Kind == "correction" && strings.Contains(fmt.Sprint(e.Data["reason"]), "Officer pressed On scene late"))
	}
	if !found {
		t.Error("the timeline shows no correction")
	}
	if n := countRows(t, f, `SELECT count(*) FROM audit_events WHERE action = 'incident.correct' AND record_id = $1
		AND detail->>'field' = 'on_scene' AND detail ? 'old' AND detail ? 'new'`, after.Number); n != 1 {
		t.Errorf("%d audit rows for the correction, want 1", n)
	}

	// Clearing on scene (the unit never reported arriving).
	_, err = f.db.CorrectStage(ctx, id, incident.Correction{Stage: incident.OnScene, Reason: "Unit did not arrive"}, time.UTC, f.actor)
	must(t, err)
	after, err = f.db.Incident(ctx, id)
	must(t, err)
	if after.OnSceneAt != nil {
		t.Errorf("on scene %v after clearing", after.OnSceneAt)
	}
	if n := countRows(t, f, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'correction' AND data->>'new' = ''`, id); n != 1 {
		t.Error("clearing left no correction event with new = \"\"")
	}
}

func TestCorrectStageRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	id := f.dispatched(t)
	in, err := f.db.Incident(ctx, id)
	must(t, err)
	future := time.Now().Add(time.Hour).Truncate(time.Second)
	early := in.ReceivedAt.Add(-time.Minute).Truncate(time.Second)
	for name, c := range map[string]incident.Correction{
		"future":                  {Stage: incident.Dispatched, New: &future, Reason: "wrong time"},
		"dispatch before receipt": {Stage: incident.Dispatched, New: &early, Reason: "wrong time"},
		"clear dispatched":        {Stage: incident.Dispatched, Reason: "wrong time"},
	} {
		_, err := f.db.CorrectStage(ctx, id, c, time.UTC, f.actor)
		if apperr.CodeOf(err) != apperr.Invalid || apperr.FieldsOf(err)["value"].ID == "" {
			t.Errorf("%s: err %v, want invalid with a message at value", name, err)
		}
	}
	if n := countRows(t, f, `SELECT corrections FROM incidents WHERE id = $1`, id); n != 0 {
		t.Errorf("refused corrections counted: %d", n)
	}
	if n := countRows(t, f, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'correction'`, id); n != 0 {
		t.Errorf("refused corrections left %d events", n)
	}
	if _, err := f.db.CorrectStage(ctx, 999999, incident.Correction{Stage: incident.OnScene, New: &early, Reason: "x"}, time.UTC, f.actor); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("missing incident: %v", err)
	}
}
