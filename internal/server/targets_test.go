package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTargetChangeFromADate changes a target through the administration
// form the way issue 15 describes: a change applies to the incidents
// received from its day on; a past day asks to confirm, saying how many
// incidents it re-judges; the figures before it keep their judgement.
func TestTargetChangeFromADate(t *testing.T) {
	t.Parallel()
	f := newReportExportFixture(t) // today is 10 March 2026; six calls on 1-2 March, P1 response target 600 s
	ctx := context.Background()
	c, _ := adminClient(t, f.ts)
	within := func() float64 {
		t.Helper()
		d := decodeExport(t, c.get("/reports/response-times.json?"+march1+"&group_by=district"))
		w := d.Groups[0].Intervals["response"].Within
		if w == nil {
			t.Fatalf("LEN: no share within target")
		}
		return *w
	}
	if got := within(); got != 66.7 {
		t.Fatalf("LEN within target before the change: %v, want 66.7", got)
	}
	form := func(from string, confirm bool) url.Values {
		v := url.Values{"level": {"1"}, "label": {"Immediate danger"}, "target_call_processing": {""}, "target_turnout": {""},
			"target_travel": {""}, "target_response": {"10"}, "target_on_scene": {""}, "target_total": {""},
			"label_ru": {""}, "label_ky": {""}, "label_ka": {""}, "targets_from": {from}}
		if confirm {
			v.Set("confirm_rejudge", "on")
		}
		return v
	}

	// The form offers today, in the deployment's zone.
	if got := fieldValue(doc(t, ok200(t, c.get("/admin/priorities/1"))), "targets_from"); got != "2026-03-10" {
		t.Errorf("targets_from offered %q, want today 2026-03-10", got)
	}
	// A day to come is refused.
	resp := c.postForm("/admin/priorities/1", form("2026-03-11", false))
	if got := fieldError(doc(t, resp), "targets_from"); resp.StatusCode != http.StatusUnprocessableEntity ||
		got != "Choose today or an earlier day." {
		t.Errorf("future day: status %d, message %q", resp.StatusCode, got)
	}
	// From 5 March: nothing received since, no question; 1 March unchanged.
	wantRedirect(t, c.postForm("/admin/priorities/1", form("2026-03-05", false)), "/admin/priorities")
	if got := within(); got != 66.7 {
		t.Errorf("LEN within target after a change from 5 March: %v, want 66.7 (1 March keeps its target)", got)
	}
	// From 1 March: the five calls since are counted and the change waits
	// for the confirmation, with everything typed kept.
	resp = c.postForm("/admin/priorities/1", form("2026-03-01", false))
	d := doc(t, resp)
	if got, want := fieldError(d, "targets_from"), "Incidents already received since 2026-03-01 that this change re-judges: 6. "+
		"Tick the box below to confirm, then save."; resp.StatusCode != http.StatusUnprocessableEntity || got != want {
		t.Errorf("past day: status %d, message %q, want %q", resp.StatusCode, got, want)
	}
	if field(d, "confirm_rejudge").Length() != 1 || fieldValue(d, "target_response") != "10" {
		t.Errorf("past day: no confirmation box, or the target typed was lost")
	}
	if got := within(); got != 66.7 {
		t.Errorf("LEN within target before the confirmation: %v, want 66.7", got)
	}
	wantRedirect(t, c.postForm("/admin/priorities/1", form("2026-03-01", true)), "/admin/priorities")
	if got := within(); got != 0 {
		t.Errorf("LEN within target after the confirmed change from 1 March: %v, want 0", got)
	}
	var detail string
	if err := f.ts.DB.Pool.QueryRow(ctx, `SELECT detail::text FROM audit_events WHERE action = 'priority.update'
		ORDER BY id DESC LIMIT 1`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, `"targets_from": {"after": "2026-03-01"`) {
		t.Errorf("audit of the change %s, want its day", detail)
	}
}
