package server

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/report"
)

// TestFollowThroughFromEitherSource: with follow-ups (open, on time, late,
// overdue), orders (one without an incident) and a violation on the
// dashboard fixture's incidents, GET /reports/follow-through.json (what
// the dashboard's card shows) gives the database's figures
// (postgres.FollowThrough) for a period, a district and DV only, whether
// the server answers from the database or from the report store following
// the change log.
func TestFollowThroughFromEitherSource(t *testing.T) {
	t.Parallel()
	forBothSources(t, testFollowThroughFromEitherSource)
}

func testFollowThroughFromEitherSource(t *testing.T, f *dashFixture) {
	f.exec(t, `INSERT INTO follow_up_tasks (incident_id, district_id, reason, trigger_key, seq, due_at, closed_at, outcome)
		SELECT id, district_id, 'standard', 'x:' || id, 1, received_at + interval '2 days',
			CASE WHEN id % 3 = 1 THEN received_at + interval '1 day' WHEN id % 3 = 2 THEN received_at + interval '3 days' END,
			CASE WHEN id % 3 = 1 THEN 'reached_safe' WHEN id % 3 = 2 THEN 'not_reached' END
		FROM incidents`)
	f.exec(t, `INSERT INTO protection_orders (number, kind, incident_id, district_id, protected_name, restrained_name, starts_at, ends_at, issued_at)
		SELECT 'PO-X-' || id, 'temporary', id, district_id, 'A', 'B', received_at + interval '5 hours',
			received_at + interval '20 days', received_at + interval '5 hours' + make_interval(hours => (id % 40)::int)
		FROM incidents WHERE id % 2 = 0`)
	f.exec(t, `INSERT INTO protection_orders (number, kind, district_id, protected_name, restrained_name, starts_at, ends_at, issued_at)
		VALUES ('PO-X-L', 'court', $1, 'A', 'B', '2026-03-02 10:00Z', '2026-04-02 10:00Z', '2026-03-02 10:00Z')`, f.ids["district:LEN"])
	f.exec(t, `UPDATE incidents SET protection_order_id = (SELECT min(id) FROM protection_orders), violation_found_by = 'police_check'
		WHERE id IN (SELECT max(id) FROM incidents)`)
	if store := f.ts.srv.facts; store != nil {
		waitSynced(t, store)
	}
	c, _ := adminClient(t, f.ts)
	for _, query := range []string{
		"from=2026-02-20&to=2026-03-10",
		"from=2026-03-01&to=2026-03-09&district=" + itoa(f.ids["district:LEN"]),
		"from=2026-02-20&to=2026-03-10&dv_only=1&shift=day",
	} {
		v, _ := url.ParseQuery(query)
		q, err := report.ParseQuery(v, f.loc, f.ts.srv.now())
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.ts.DB.FollowThrough(context.Background(), q, f.ts.srv.now())
		if err != nil {
			t.Fatal(err)
		}
		if want.Due == 0 || want.OrdersTimed == 0 {
			t.Fatalf("%s: nothing to compare (%+v)", query, want)
		}
		var wb strings.Builder
		if err := report.WriteFollowThrough(&wb, q, want, report.JSON); err != nil {
			t.Fatal(err)
		}
		var got, exp map[string]any
		if err := json.Unmarshal([]byte(body(t, ok200(t, c.get("/reports/follow-through.json?"+query)))), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(wb.String()), &exp); err != nil {
			t.Fatal(err)
		}
		if g, w := mustJSON(t, got["figures"]), mustJSON(t, exp["figures"]); g != w {
			t.Errorf("%s: figures\n%s\nwant\n%s", query, g, w)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
