package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/internal/server"
)

// seedReportData stores reference data and incidents with stage times
// set directly, around 1 March 2026 in Bishkek (UTC+6).
func seedReportData(t *testing.T, db *postgres.DB, loc *time.Location) {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO districts (code, name) VALUES ('LEN', 'Leninsky')`)
	exec(`INSERT INTO incident_types (code, name, is_dv) VALUES ('DV', 'Domestic violence', true), ('THEFT', 'Theft', false)`)
	exec(`INSERT INTO priorities (level, label, target_call_processing_s, target_response_s) VALUES
		(1, 'Immediate danger', 60, 600), (2, 'Urgent', NULL, 1200)`)
	add := func(typ string, prio int, received time.Time, offsets ...int) {
		t.Helper()
		at := make([]*time.Time, 4)
		for i, s := range offsets {
			if s != -1 {
				x := received.Add(time.Duration(s) * time.Millisecond)
				at[i] = &x
			}
		}
		exec(`INSERT INTO incidents (number, received_at, dispatched_at, en_route_at, on_scene_at, cleared_at, type_id,
			priority, district_id) VALUES ('DV-2026-' || lpad(nextval('incident_number_seq')::text, 6, '0'), $1, $2, $3, $4, $5,
			(SELECT id FROM incident_types WHERE code = $6), $7, (SELECT id FROM districts WHERE code = 'LEN'))`,
			received, at[0], at[1], at[2], at[3], typ, prio)
	}
	day := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, loc) }
	// Offsets in milliseconds after the call: dispatched, en route, on scene, cleared.
	add("DV", 1, day(0, 10), 41_250, 95_000, 512_500, 2_400_000)
	add("DV", 1, day(8, 5), 30_000, 61_000, 380_000, 1_800_000)
	add("DV", 1, day(13, 40), 75_500, 140_000, 655_000, -1)         // still open
	add("DV", 1, day(19, 59), 58_000, -1, 420_000, 3_000_000)       // no en route
	add("DV", 2, day(20, 0), 120_000, 100_000, 900_000, 2_000_000)  // en route recorded before dispatch
	add("DV", 2, day(23, 30), 15_000, 45_000, 1_250_750, 1_250_750) // late evening: 1 March
	add("DV", 1, day(23, 59), -1, -1, -1, -1)                       // never dispatched
	add("THEFT", 2, day(12, 0), 300_000, 360_000, 1_500_000, 4_000_000)
	add("DV", 1, time.Date(2026, 3, 1, 18, 30, 0, 0, time.UTC), 5_000, 6_000, 7_000, 8_000)  // 00:30 on 2 March
	add("DV", 1, time.Date(2026, 2, 28, 17, 59, 0, 0, time.UTC), 5_000, 6_000, 7_000, 8_000) // 23:59 on 28 February
}

func TestReportCommandMatchesWebExports(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	seedReportData(t, db, loc)
	c := newCLI(t, dbURL)
	c.env["DVR_TIME_ZONE"] = "Asia/Bishkek"

	args := []string{"report", "--from", "2026-03-01", "--to", "2026-03-01", "--group-by", "priority", "--dv-only"}
	cliJSON := c.mustRun("", append(args, "--format", "json")...)
	cliCSV := c.mustRun("", append(args, "--format", "csv")...)

	// The web exports of the same query, from a server in the same zone.
	srv := server.NewServer(server.Deps{DB: db, Logger: discardLogger(), Location: loc})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	c.mustRun(annPassword+"\n", "user", "add", "--username", "sam", "--role", "supervisor", "--district", "LEN")
	sam := newBrowser(t, hs.URL)
	wantRedirect(t, sam.login("sam", annPassword), "/dashboard")
	fetch := func(path string) []byte {
		t.Helper()
		resp, err := sam.hc.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, %v", path, resp.StatusCode, err)
		}
		return b
	}
	query := "?from=2026-03-01&to=2026-03-01&group_by=priority&dv_only=1"
	webJSON := fetch("/reports/response-times.json" + query)
	webCSV := fetch("/reports/response-times.csv" + query)
	// Issue 16: the repeat-victimisation figures, the same both ways.
	for _, f := range []string{"json", "csv"} {
		cli := c.mustRun("", "report", "--from", "2026-03-01", "--to", "2026-03-01", "--repeat-by", "district", "--format", f)
		web := string(fetch("/reports/repeat-victimisation." + f + "?from=2026-03-01&to=2026-03-01&repeat_by=district"))
		if cli != web || !strings.Contains(cli, "LEN") {
			t.Errorf("repeat figures (%s): command line\n%s\nweb\n%s", f, cli, web)
		}
	}

	figures := map[string]report.Figures{}
	for name, export := range map[string]struct {
		data []byte
		f    report.Format
	}{"cli json": {[]byte(cliJSON), report.JSON}, "cli csv": {[]byte(cliCSV), report.CSV},
		"web json": {webJSON, report.JSON}, "web csv": {webCSV, report.CSV}} {
		fig, err := report.ReadFigures(export.data, export.f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		figures[name] = fig
	}
	for _, name := range []string{"cli csv", "web json", "web csv"} {
		if diff := cmp.Diff(figures["cli json"], figures[name]); diff != "" {
			t.Errorf("cli json and %s differ (-cli json +%s):\n%s", name, name, diff)
		}
	}

	// Hand-computed figures for 1 March, DV only. Priority 1: five calls
	// (00:10, 08:05, 13:40, 19:59, 23:59); priority 2: two (20:00, 23:30).
	p1 := figures["cli json"]["1|call_processing"]
	want := map[string]string{"key": "1", "label": "Immediate danger", "incidents": "5", "corrected": "0",
		"interval": "call_processing", "n": "4", "missing": "1", "inconsistent": "0",
		// 30, 41.25, 58, 75.5 s
		"median_s": "49.625", "p90_s": "70.25", "p95_s": "72.875", "target_s": "60", "within_target_pct": "75"}
	if diff := cmp.Diff(want, p1); diff != "" {
		t.Errorf("priority 1 call processing (-want +got):\n%s", diff)
	}
	p2 := figures["cli json"]["2|turnout"]
	if p2["n"] != "1" || p2["inconsistent"] != "1" || p2["median_s"] != "30" || p2["target_s"] != "" {
		t.Errorf("priority 2 turnout: %v, want 1 measured (30 s), 1 inconsistent, no target", p2)
	}
	p2 = figures["cli json"]["2|response"]
	// 900 and 1250.75 s; target 1200: one of two within.
	if p2["median_s"] != "1075.375" || p2["p90_s"] != "1215.675" || p2["within_target_pct"] != "50" || p2["target_s"] != "1200" {
		t.Errorf("priority 2 response: %v", p2)
	}

	// The follow-through figures of the same selection: the command line
	// writes what the web export sends, byte for byte (seven DV calls on
	// 1 March, no order), and each run is audited too. (The supervisor's
	// district is named: the web holds them to it.)
	lenID := strconv.Itoa(queryCount(t, db, `SELECT id FROM districts WHERE code = 'LEN'`))
	for _, fm := range []string{"json", "csv"} {
		cli := c.mustRun("", append(args, "--format", fm, "--figures", "follow-through", "--district", lenID)...)
		if web := string(fetch("/reports/follow-through." + fm + query)); cli != web {
			t.Errorf("follow-through %s: command line\n%s\nweb\n%s", fm, cli, web)
		}
		if want := map[string]string{"json": `"dv_incidents": 7,`, "csv": "2026-03-01,2026-03-01,dv_incidents,7\r\n"}[fm]; !strings.Contains(cli, want) {
			t.Errorf("follow-through %s lacks %q:\n%s", fm, want, cli)
		}
	}
	if n := queryCount(t, db, `SELECT count(*) FROM audit_events WHERE action = 'report.export' AND record_id = 'follow-through'`); n != 4 {
		t.Errorf("audited follow-through exports: %d, want 4", n)
	}

	// Each run was audited: two from the command line, two from the web.
	var cli, web int
	if err := db.Pool.QueryRow(context.Background(), `SELECT
		count(*) FILTER (WHERE username = 'cli' AND detail->>'via' = 'cli'),
		count(*) FILTER (WHERE username = 'sam')
		FROM audit_events WHERE action = 'report.export' AND record_id = 'response-times' AND detail->>'dv_only' = '1' AND detail->>'from' = '2026-03-01'`).
		Scan(&cli, &web); err != nil {
		t.Fatal(err)
	}
	if cli != 2 || web != 2 {
		t.Errorf("audited exports: %d from the command line, %d from the web; want 2 and 2", cli, web)
	}
	if out := c.mustRun("", "audit", "verify"); !strings.HasPrefix(out, "audit trail intact") {
		t.Errorf("audit verify: %s", out)
	}
}

func TestReportCommandDays(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	seedReportData(t, db, loc)
	c := newCLI(t, dbURL)
	count := func(zone, from, to string) string {
		t.Helper()
		c.env["DVR_TIME_ZONE"] = zone
		out := c.mustRun("", "report", "--from", from, "--to", to, "--group-by", "all", "--format", "csv")
		fig, err := report.ReadFigures([]byte(out), report.CSV)
		if err != nil {
			t.Fatal(err)
		}
		return fig["all|response"]["incidents"]
	}
	// In Bishkek, 1 March holds eight calls (the 23:30 one included); the
	// 00:30 call of 2 March and the 23:59 call of 28 February are not in.
	if got := count("Asia/Bishkek", "2026-03-01", "2026-03-01"); got != "8" {
		t.Errorf("1 March in Bishkek: %s incidents, want 8", got)
	}
	if got := count("Asia/Bishkek", "2026-03-02", "2026-03-02"); got != "1" {
		t.Errorf("2 March in Bishkek: %s incidents, want 1", got)
	}
	if got := count("Asia/Bishkek", "2026-02-28", "2026-02-28"); got != "1" {
		t.Errorf("28 February in Bishkek: %s incidents, want 1", got)
	}
	// In UTC each day starts six hours later: the call at 00:10 local on
	// 1 March (18:10 UTC) moves to 28 February, the one at 00:30 local on
	// 2 March (18:30 UTC) to 1 March.
	if got := count("UTC", "2026-02-28", "2026-02-28"); got != "2" {
		t.Errorf("28 February in UTC: %s incidents, want 2", got)
	}
	if got := count("UTC", "2026-03-02", "2026-03-02"); got != "0" {
		t.Errorf("2 March in UTC: %s incidents, want 0", got)
	}
}

func TestReportCommandErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xlsx"}, "unknown format"},
		{[]string{"--from", "2026-03-02", "--to", "2026-03-01"}, "--to:"},
		{[]string{"--from", "1 March"}, "--from:"},
		{[]string{"--group-by", "officer"}, "--group-by:"},
		{[]string{"--shift", "evening"}, "--shift:"},
		{[]string{"--no-such-flag"}, "usage: dvresponse report"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--repeat-by", "victim"}, "--repeat-by"},
	}
	for _, tt := range tests {
		_, _, err := c.run(context.Background(), "", append([]string{"report"}, tt.args...)...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("report %v: %v, want a usage error mentioning %q", tt.args, err, tt.want)
		}
	}
	// A valid query without a database says so.
	if _, _, err := c.run(context.Background(), "", "report", "--from", "2026-03-01", "--to", "2026-03-01"); err == nil ||
		!strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("report without DATABASE_URL: %v", err)
	}
}

func queryCount(t *testing.T, db *postgres.DB, sql string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
