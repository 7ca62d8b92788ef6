package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// bishkek is a deployment zone east of UTC (fixed, so that the test does
// not depend on the system's time-zone database).
var bishkek = time.FixedZone("Asia/Bishkek", 6*3600)

// correctionFixture is an incident received an hour ago, dispatched 50
// minutes ago and on scene 30 minutes ago, in district LEN of a server
// whose zone is bishkek, and a supervisor of LEN logged in.
type correctionFixture struct {
	ts   *testServer
	sup  *client
	disp *client
	id   int64
	inc  string
	in   *incident.Incident
}

func newCorrectionFixture(t *testing.T) *correctionFixture {
	t.Helper()
	ts := newTestServer(t, func(d *Deps) { d.Location = bishkek })
	ctx := context.Background()
	d := createDistrict(t, ts.DB, "LEN", "Leninsky")
	typ := refdata.IncidentType{Code: "DV", Name: "Domestic violence", IsDV: true, Active: true}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ts.DB.SaveIncidentType(ctx, &typ, audit.Actor{}))
	must(ts.DB.SavePriority(ctx, &refdata.Priority{Level: 1, Label: "Immediate danger", Targets: map[refdata.Interval]*int{}}, true, 0, audit.Actor{}))
	unit := refdata.Unit{CallSign: "LEN-11", DistrictID: d.ID, Active: true}
	must(ts.DB.SaveUnit(ctx, &unit, audit.Actor{}))
	disp := createUser(t, ts.DB, "disp", account.Dispatcher, "")
	key, received, err := ts.DB.CreateDraft(ctx, disp.ID)
	must(err)
	f := &correctionFixture{ts: ts}
	f.id, _, _, err = ts.DB.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: typ.ID, Priority: 1,
		DistrictID: &d.ID, Address: "ul. Chui 12"}, bishkek, audit.Actor{UserID: disp.ID})
	must(err)
	must(ts.DB.AssignUnit(ctx, f.id, unit.ID, audit.Actor{UserID: disp.ID}))
	_, err = ts.DB.SetStage(ctx, postgres.StageChange{IncidentID: f.id, Stage: incident.OnScene}, audit.Actor{UserID: disp.ID})
	must(err)
	_, err = ts.DB.Pool.Exec(ctx, `UPDATE incidents SET received_at = now() - interval '60 minutes',
		dispatched_at = now() - interval '50 minutes', on_scene_at = now() - interval '30 minutes' WHERE id = $1`, f.id)
	must(err)
	f.in, err = ts.DB.Incident(ctx, f.id)
	must(err)
	f.inc = "/incidents/" + itoa(f.id)
	createUser(t, ts.DB, "sup", account.Supervisor, "LEN")
	f.sup = ts.client(t)
	f.sup.mustLogin("sup", testPassword)
	f.disp = ts.client(t)
	f.disp.mustLogin("disp", testPassword)
	return f
}

// local is t as the correction form takes it.
func local(t time.Time) string { return t.In(bishkek).Format("2006-01-02T15:04:05") }

func (f *correctionFixture) onScene(t *testing.T) time.Time {
	t.Helper()
	in, err := f.ts.DB.Incident(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	return *in.OnSceneAt
}

func TestCorrectionKeepsTheOriginalInTheTimeline(t *testing.T) {
	t.Parallel()
	f := newCorrectionFixture(t)
	orig := *f.in.OnSceneAt

	// The supervisor's panel and form.
	d := doc(t, f.sup.get(f.inc))
	if href, _ := d.Find("#corrections a").Attr("href"); href != f.inc+"/correct" {
		t.Errorf("supervisor's corrections panel links to %q", href)
	}
	if d := doc(t, ok200(t, f.disp.get(f.inc))); d.Find("#corrections").Length() != 0 {
		t.Error("a dispatcher sees the corrections panel before any correction")
	}
	resp := f.sup.get(f.inc + "/correct?stage=on_scene")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET correct: %d", resp.StatusCode)
	}
	d = doc(t, resp)
	if got := d.Find(`nav.main-nav a[aria-current="page"]`).AttrOr("href", ""); got != "/dashboard" {
		t.Errorf("the correction page highlights %q in the navigation, want the dashboard", got)
	}
	if got := fieldValue(d, "stage"); got != "on_scene" {
		t.Errorf("stage %q, want on_scene chosen", got)
	}
	if got := fieldValue(d, "value"); got != local(orig) {
		t.Errorf("value %q, want the current on-scene time %q", got, local(orig))
	}

	want := f.in.DispatchedAt.Add(12 * time.Minute).Truncate(time.Second)
	reason := "Officer forgot to press On scene; radio log says 12 min after dispatch"
	resp = f.sup.postForm(f.inc+"/correct", url.Values{"stage": {"on_scene"}, "value": {local(want)}, "reason": {reason}})
	wantRedirect(t, resp, f.inc)
	if got := f.onScene(t); !got.Equal(want) {
		t.Errorf("on_scene_at %v, want %v (the local time typed, as UTC)", got.UTC(), want.UTC())
	}
	if n := queryInt(t, f.ts.DB, `SELECT corrections FROM incidents WHERE id = $1`, f.id); n != 1 {
		t.Errorf("corrections = %d, want 1", n)
	}
	var data map[string]any
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT data FROM incident_events WHERE incident_id = $1 AND kind = 'correction'`,
		f.id).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if data["field"] != "on_scene" || data["old"] != orig.UTC().Format(time.RFC3339) || data["new"] != want.UTC().Format(time.RFC3339) || data["reason"] != reason {
		t.Errorf("correction event %v", data)
	}

	d = doc(t, f.sup.get(f.inc))
	if got := flashText(d); !strings.Contains(got, "On scene corrected") {
		t.Errorf("flash %q", got)
	}
	timeline := d.Find(".timeline").Text()
	if !strings.Contains(timeline, "Stage: On scene") {
		t.Error("the original on-scene event is gone from the timeline")
	}
	if !strings.Contains(timeline, "Corrected") || !strings.Contains(timeline, reason) {
		t.Errorf("the timeline does not show the correction and its reason: %q", strings.Join(strings.Fields(timeline), " "))
	}
	if txt := d.Find("#corrections").Text(); !strings.Contains(txt, "Times corrected: 1") {
		t.Errorf("supervisor's panel: %q", strings.Join(strings.Fields(txt), " "))
	}
	// Others see the count only.
	d = doc(t, f.disp.get(f.inc))
	if txt := d.Find("#corrections").Text(); !strings.Contains(txt, "Times corrected: 1") || d.Find("#corrections a").Length() != 0 {
		t.Errorf("dispatcher's panel: %q", strings.Join(strings.Fields(txt), " "))
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'incident.correct' AND username = 'sup'`); n != 1 {
		t.Errorf("%d audit rows for the correction, want 1", n)
	}
}

func TestCorrectionRefusals(t *testing.T) {
	t.Parallel()
	f := newCorrectionFixture(t)
	orig := *f.in.OnSceneAt
	cases := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"future", url.Values{"stage": {"on_scene"}, "value": {local(time.Now().Add(time.Hour))}, "reason": {"Unit arrived later"}},
			"value", "future"},
		{"on scene before dispatch", url.Values{"stage": {"on_scene"}, "value": {local(f.in.DispatchedAt.Add(-time.Minute))}, "reason": {"Unit arrived earlier"}},
			"value", "cannot be before Dispatched"},
		{"dispatch after on scene", url.Values{"stage": {"dispatched"}, "value": {local(orig.Add(time.Minute))}, "reason": {"Dispatch was later"}},
			"value", "cannot be after On scene"},
		{"missing reason", url.Values{"stage": {"on_scene"}, "value": {local(orig.Add(-time.Minute))}, "reason": {"  "}},
			"reason", "why"},
		{"reason too short", url.Values{"stage": {"on_scene"}, "value": {local(orig.Add(-time.Minute))}, "reason": {"oops"}},
			"reason", "at least 5"},
		{"no stage", url.Values{"value": {local(orig.Add(-time.Minute))}, "reason": {"Unit arrived earlier"}},
			"stage", "Choose"},
	}
	for _, c := range cases {
		resp := f.sup.postForm(f.inc+"/correct", c.form)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", c.name, resp.StatusCode)
			continue
		}
		d := doc(t, resp)
		if got := fieldError(d, c.field); !strings.Contains(got, c.msg) {
			t.Errorf("%s: message at %s %q, want it to contain %q", c.name, c.field, got, c.msg)
		}
		for _, name := range []string{"stage", "value", "reason"} {
			if got := fieldValue(d, name); got != c.form.Get(name) {
				t.Errorf("%s: %s shows %q, want what was typed, %q", c.name, name, got, c.form.Get(name))
			}
		}
	}
	if got := f.onScene(t); !got.Equal(orig) {
		t.Errorf("on_scene_at changed by refused corrections: %v", got)
	}
	if n := queryInt(t, f.ts.DB, `SELECT corrections FROM incidents WHERE id = $1`, f.id); n != 0 {
		t.Errorf("corrections = %d after refusals", n)
	}
}

func TestOnlySupervisorsCorrect(t *testing.T) {
	t.Parallel()
	f := newCorrectionFixture(t)
	createDistrict(t, f.ts.DB, "OSH", "Osh city")
	createUser(t, f.ts.DB, "off", account.Officer, "LEN")
	createUser(t, f.ts.DB, "sup-osh", account.Supervisor, "OSH")
	createUser(t, f.ts.DB, "root", account.Admin, "")
	form := url.Values{"stage": {"on_scene"}, "value": {local(f.in.OnSceneAt.Add(-time.Minute))}, "reason": {"Unit arrived earlier"}}
	for _, name := range []string{"disp", "off", "sup-osh", "root"} {
		c := f.ts.client(t)
		c.mustLogin(name, testPassword)
		if resp := c.get(f.inc + "/correct"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: GET correct: %d, want 403", name, resp.StatusCode)
		}
		if resp := c.postForm(f.inc+"/correct", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: POST correct: %d, want 403", name, resp.StatusCode)
		}
		if name == "off" {
			if d := doc(t, ok200(t, c.get(f.inc))); d.Find(`#corrections a[href$="/correct"]`).Length() != 0 {
				t.Error("an officer is offered \"Correct a time\"")
			}
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT corrections FROM incidents WHERE id = $1`, f.id); n != 0 {
		t.Errorf("corrections = %d: someone other than the district's supervisor corrected", n)
	}
}

func TestCorrectionSetsAndClearsAMissingStage(t *testing.T) {
	t.Parallel()
	f := newCorrectionFixture(t)
	enRoute := f.in.DispatchedAt.Add(3 * time.Minute).Truncate(time.Second)
	wantRedirect(t, f.sup.postForm(f.inc+"/correct", url.Values{"stage": {"en_route"}, "value": {local(enRoute)},
		"reason": {"Unit radioed en route, not pressed"}}), f.inc)
	in, err := f.ts.DB.Incident(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	if in.EnRouteAt == nil || !in.EnRouteAt.Equal(enRoute) {
		t.Errorf("en_route_at %v, want %v", in.EnRouteAt, enRoute)
	}
	wantRedirect(t, f.sup.postForm(f.inc+"/correct", url.Values{"stage": {"en_route"}, "value": {""},
		"reason": {"Pressed by mistake after all"}}), f.inc)
	if in, _ := f.ts.DB.Incident(context.Background(), f.id); in.EnRouteAt != nil {
		t.Errorf("en_route_at %v after setting it to not recorded", in.EnRouteAt)
	}
	resp := f.sup.postForm(f.inc+"/correct", url.Values{"stage": {"dispatched"}, "value": {""}, "reason": {"Never dispatched"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || fieldError(doc(t, resp), "value") == "" {
		t.Errorf("clearing dispatched: status %d", resp.StatusCode)
	}
	if n := queryInt(t, f.ts.DB, `SELECT corrections FROM incidents WHERE id = $1`, f.id); n != 2 {
		t.Errorf("corrections = %d, want 2", n)
	}
}
