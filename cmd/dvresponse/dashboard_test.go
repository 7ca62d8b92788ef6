package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/internal/server"
)

// seedDashboardData stores two districts with settlements (IDP and not),
// a DV and a non-DV type, two priorities with targets and incidents over
// the first week of March 2026 in Bishkek, with stages missing and out of
// order, stage times set directly.
func seedDashboardData(t *testing.T, db *postgres.DB, loc *time.Location) {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO districts (code, name) VALUES ('LEN', 'Leninsky'), ('OSH', 'Osh city')`)
	exec(`INSERT INTO settlements (district_id, name, is_idp) VALUES
		((SELECT id FROM districts WHERE code = 'LEN'), 'Ak-Jol', true),
		((SELECT id FROM districts WHERE code = 'LEN'), 'Kara-Balta', false),
		((SELECT id FROM districts WHERE code = 'OSH'), 'Nur', true)`)
	exec(`INSERT INTO incident_types (code, name, is_dv) VALUES ('DV', 'Domestic violence', true), ('THEFT', 'Theft', false)`)
	exec(`INSERT INTO priorities (level, label, target_call_processing_s, target_response_s) VALUES
		(1, 'Immediate danger', 60, 600), (2, 'Urgent', NULL, 1200)`)
	// Offsets in seconds after the call: dispatched, en route, on scene,
	// cleared (-1: not recorded). i picks the place, the type and the
	// priority so that every group has several incidents.
	places := [][2]string{{"LEN", "Ak-Jol"}, {"LEN", "Kara-Balta"}, {"LEN", ""}, {"OSH", "Nur"}, {"OSH", ""}}
	for i := range 60 {
		received := time.Date(2026, 3, 1, 0, 0, 0, 0, loc).Add(time.Duration(i*2*3600+i*i*97) * time.Second)
		off := [4]int{20 + i*7%90, 60 + i*13%200, 200 + i*37%1500, 2000 + i*53%4000}
		switch i % 11 {
		case 3:
			off[0] = -1 // never dispatched
		case 7:
			off[1] = -1 // no en route
		case 9:
			off[2] = off[0] - 30 // on scene before dispatch: out of order for travel
		}
		at := make([]*time.Time, 4)
		for k, s := range off {
			if s != -1 {
				x := received.Add(time.Duration(s) * time.Second)
				at[k] = &x
			}
		}
		typ := "DV"
		if i%4 == 1 {
			typ = "THEFT"
		}
		p := places[i%len(places)]
		exec(`INSERT INTO incidents (number, received_at, dispatched_at, en_route_at, on_scene_at, cleared_at, type_id, priority,
			district_id, settlement_id, victim_sex, victim_age)
			VALUES ('DV-2026-' || lpad(nextval('incident_number_seq')::text, 6, '0'), $1, $2, $3, $4, $5,
				(SELECT id FROM incident_types WHERE code = $6), $7, (SELECT id FROM districts WHERE code = $8),
				(SELECT id FROM settlements WHERE name = $9), $10, $11)`,
			received, at[0], at[1], at[2], at[3], typ, 1+i%2, p[0], p[1], []string{"female", "male", "female"}[i%3], 15+i%60)
	}
}

// TestDashboardMatchesExportsAndCommand is the acceptance test of the
// dashboard's figures: for one query the dashboard, the JSON and the CSV
// web exports and `dvresponse report` in both formats give the same
// numbers, for every grouping the dashboard shows.
func TestDashboardMatchesExportsAndCommand(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	seedDashboardData(t, db, loc)
	var lenID int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT id FROM districts WHERE code = 'LEN'`).Scan(&lenID); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, dbURL)
	c.env["DVR_TIME_ZONE"] = "Asia/Bishkek"

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

	// The query: the supervisor's district (the web adds it; the command
	// line is told), DV calls, the night shift, 1–7 March.
	district := strconv.FormatInt(lenID, 10)
	query := "from=2026-03-01&to=2026-03-07&dv_only=1&shift=night&district=" + district
	args := []string{"report", "--from", "2026-03-01", "--to", "2026-03-07", "--dv-only", "--shift", "night", "--district", district}

	page, err := goquery.NewDocumentFromReader(bytes.NewReader(fetch("/dashboard?" + query)))
	if err != nil {
		t.Fatal(err)
	}
	dash := map[string]report.Figures{}
	page.Find("tr[data-group-by]").Each(func(_ int, tr *goquery.Selection) {
		g := tr.AttrOr("data-group-by", "")
		k := tr.AttrOr("data-key", "") + "|" + tr.AttrOr("data-interval", "")
		if dash[g] == nil {
			dash[g] = report.Figures{}
		}
		if dash[g][k] == nil {
			dash[g][k] = map[string]string{}
		}
		tr.Find("td[data-col]").Each(func(_ int, td *goquery.Selection) {
			dash[g][k][td.AttrOr("data-col", "")] = td.Find("data").AttrOr("value", "(no value)")
		})
	})

	compared := 0
	for _, g := range []report.GroupBy{report.ByAll, report.ByPriority, report.ByDistrict, report.BySettlement, report.ByWeek} {
		if len(dash[string(g)]) == 0 {
			t.Errorf("the dashboard shows no figures grouped by %s", g)
			continue
		}
		gargs := append(append([]string{}, args...), "--group-by", string(g))
		exports := map[string]report.Figures{}
		for name, e := range map[string]struct {
			data []byte
			f    report.Format
		}{
			"cli json": {[]byte(c.mustRun("", append(gargs, "--format", "json")...)), report.JSON},
			"cli csv":  {[]byte(c.mustRun("", append(gargs, "--format", "csv")...)), report.CSV},
			"web json": {fetch("/reports/response-times.json?" + query + "&group_by=" + string(g)), report.JSON},
			"web csv":  {fetch("/reports/response-times.csv?" + query + "&group_by=" + string(g)), report.CSV},
		} {
			fig, err := report.ReadFigures(e.data, e.f)
			if err != nil {
				t.Fatalf("%s by %s: %v", name, g, err)
			}
			exports[name] = fig
		}
		for _, name := range []string{"cli csv", "web json", "web csv"} {
			if diff := cmp.Diff(exports["cli json"], exports[name]); diff != "" {
				t.Errorf("by %s, cli json and %s differ (-cli json +%s):\n%s", g, name, name, diff)
			}
		}
		// Every figure the dashboard shows is the exports'.
		for k, row := range dash[string(g)] {
			want, ok := exports["cli json"][k]
			if !ok {
				t.Errorf("by %s: the dashboard shows %s, which the exports do not have", g, k)
				continue
			}
			for col, v := range row {
				if want[col] != v {
					t.Errorf("by %s, %s: %s is %q on the dashboard, %q in the exports", g, k, col, v, want[col])
				}
				compared++
			}
		}
		// And it shows every group of the exports (for the interval of
		// its breakdowns, the response, or every interval by priority).
		for k := range exports["cli json"] {
			_, iv, _ := cut(k)
			if g != report.ByAll && g != report.ByPriority && iv != "response" {
				continue
			}
			if _, ok := dash[string(g)][k]; !ok {
				t.Errorf("by %s: the exports have %s, the dashboard does not show it", g, k)
			}
		}
	}
	if compared < 150 {
		t.Errorf("only %d dashboard figures compared", compared)
	}
	t.Logf("%d dashboard figures equal to the JSON and CSV exports and the command line's", compared)
}

// cut splits a Figures key "key|interval".
func cut(k string) (key, interval string, ok bool) {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == '|' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}
