package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/report"
)

// TestReportStoreFollowsCommits: once loaded, the report store shows an
// incident logged, a stage recorded and an incident deleted within 5
// seconds of the commit (the Syncer polls the change log; this test's
// every 50 ms, the default every second).
func TestReportStoreFollowsCommits(t *testing.T) {
	t.Parallel()
	f := newDashStoreFixture(t)
	c, _ := adminClient(t, f.ts)
	const path = "/reports/response-times.json?from=2026-03-01&to=2026-03-09&group_by=all"
	figures := func() map[string]string {
		figs, err := report.ReadFigures([]byte(body(t, c.mustGet(path))), report.JSON)
		if err != nil {
			t.Fatal(err)
		}
		return figs["all|response"]
	}
	// waitFor polls the export until want holds: at most 5 s.
	waitFor := func(what string, want func(map[string]string) bool) {
		t.Helper()
		began := time.Now()
		for {
			got := figures()
			if want(got) {
				t.Logf("%s: shown after %v", what, time.Since(began).Round(time.Millisecond))
				return
			}
			if time.Since(began) > 5*time.Second {
				t.Fatalf("%s: not shown within 5 s: %v", what, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	before := figures()
	if before["incidents"] != "9" {
		t.Fatalf("the fixture's period holds %s incidents, want 9", before["incidents"])
	}
	id := queryInt(t, f.ts.DB, `INSERT INTO incidents (number, received_at, dispatched_at, on_scene_at, type_id, priority)
		VALUES ('DV-2026-900001', '2026-03-06 10:00+06', '2026-03-06 10:01+06', '2026-03-06 10:02:30.5+06', $1, 1) RETURNING id`,
		f.ids["type:DV"])
	n, missing := atoi(t, before["n"]), atoi(t, before["missing"])
	waitFor("a new incident", func(g map[string]string) bool {
		return g["incidents"] == "10" && atoi(t, g["n"]) == n+1 && g["median_s"] != before["median_s"]
	})
	f.exec(t, `UPDATE incidents SET on_scene_at = NULL WHERE id = $1`, id)
	waitFor("a stage taken back", func(g map[string]string) bool { return atoi(t, g["n"]) == n && atoi(t, g["missing"]) == missing+1 })
	f.exec(t, `DELETE FROM incidents WHERE id = $1`, id)
	waitFor("the incident deleted", func(g map[string]string) bool { return g["incidents"] == "9" })
	if got := figures(); got["n"] != before["n"] || got["median_s"] != before["median_s"] {
		t.Errorf("after the round trip %v, before %v", got, before)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}
