package server

import (
	"context"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
)

// TestConfiguredLabelsFollowTheLanguage checks that an incident type and a
// priority named per language by an administrator appear in the reader's
// language on the board, the incident page and the intake form, and as
// their plain names where a language has none.
func TestConfiguredLabelsFollowTheLanguage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	f := newRouteFixture(t, ts)
	ctx := context.Background()
	it, err := ts.DB.IncidentType(ctx, f.kindIDs["incident-types"])
	if err != nil {
		t.Fatal(err)
	}
	it.Names = map[string]string{"ru": "Насилие в семье (тип)", "ka": "ოჯახში ძალადობა (ტიპი)"}
	if err := ts.DB.SaveIncidentType(ctx, &it, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.DB.Pool.Exec(ctx, `UPDATE priorities SET names = '{"ru": "Непосредственная угроза"}' WHERE level = 1`); err != nil {
		t.Fatal(err)
	}
	createUser(t, ts.DB, "disp", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("disp", testPassword)
	pages := []string{"/board", "/incidents/" + itoa(f.incident), "/incidents/new"}
	for _, p := range pages {
		ru := body(t, ok200(t, c.get(p+"?lang=ru")))
		if !strings.Contains(ru, "Насилие в семье (тип)") {
			t.Errorf("%s in Russian does not show the type's Russian name", p)
		}
		if p != "/incidents/new" && !strings.Contains(ru, "Непосредственная угроза") {
			t.Errorf("%s in Russian does not show the priority's Russian label", p)
		}
		ky := body(t, ok200(t, c.get(p+"?lang=ky")))
		if !strings.Contains(ky, "Domestic violence") || strings.Contains(ky, "Насилие в семье (тип)") {
			t.Errorf("%s in Kyrgyz (no name given) does not fall back to the plain name", p)
		}
	}

	// The intake's history panel lists an incident at the same flat with
	// its type's Russian name.
	key, received, err := ts.DB.CreateDraft(ctx, f.target)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ts.DB.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: it.ID, Priority: 1,
		Address: "ul. Manasa 7, kv. 3", Keys: incident.KeysOf(match.Rules{Region: "KG"}, "ul. Manasa 7, kv. 3", "", "", "", "")},
		time.UTC, audit.Actor{UserID: f.target}); err != nil {
		t.Fatal(err)
	}
	panel := body(t, ok200(t, c.postFormHeaders("/incidents/history?lang=ru", url.Values{"address": {"ul. Manasa 7, kv. 3"}}, htmxHeaders)))
	if !strings.Contains(panel, "Насилие в семье (тип)") {
		t.Errorf("the history panel in Russian does not show the type's Russian name:\n%s", panel)
	}

	// The dashboard: its filters, the breakdown by priority and the
	// slowest incidents (the incident, measured an hour ago).
	if _, err := ts.DB.Pool.Exec(ctx, `UPDATE incidents SET received_at = now() - interval '1 hour',
		dispatched_at = now() - interval '59 minutes', en_route_at = now() - interval '58 minutes',
		on_scene_at = now() - interval '40 minutes' WHERE id = $1`, f.incident); err != nil {
		t.Fatal(err)
	}
	createUser(t, ts.DB, "sup", account.Supervisor, "")
	sc := ts.client(t)
	sc.mustLogin("sup", testPassword)
	d := doc(t, ok200(t, sc.get("/dashboard?lang=ru")))
	for what, sel := range map[string]string{"type filter": `select[name="type"]`, "priority filter": `select[name="priority"]`,
		"slowest incidents": "#slowest", "breakdown by priority": "#intervals"} {
		text := d.Find(sel).Text()
		want := "Насилие в семье (тип)"
		if strings.Contains(what, "priority") {
			want = "Непосредственная угроза"
		}
		if !strings.Contains(text, want) {
			t.Errorf("dashboard in Russian: the %s (%s) does not show %q", what, sel, want)
		}
	}
}
