package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

// dashFixture is a server in Bishkek time on 10 March 2026 with two
// districts, settlements (IDP and not), a DV and a non-DV type, two
// priorities with targets, and incidents around 1–9 March whose victims
// are named (names, phones and addresses the dashboard must never show).
type dashFixture struct {
	ts  *testServer
	ids map[string]int64
	loc *time.Location
}

// Personal data stored on every fixture incident.
const (
	dashVictim  = "Aizada Canary-Victim"
	dashCaller  = "Bolot Canary-Caller"
	dashPhone   = "+996 555 010 203"
	dashAddress = "ul. Canary 17, kv. 4"
)

func newDashFixture(t *testing.T) *dashFixture { return buildDashFixture(t, false) }

// newDashStoreFixture is newDashFixture with its figures from the report
// store (internal/facts), loaded once the incidents are in and then
// following the change log.
func newDashStoreFixture(t *testing.T) *dashFixture { return buildDashFixture(t, true) }

func buildDashFixture(t *testing.T, withStore bool) *dashFixture {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	var store *facts.Store
	if withStore {
		store = facts.NewStore(loc)
	}
	ts := newTestServer(t, func(d *Deps) {
		d.Location = loc
		d.Now = func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, loc) }
		d.Facts = store
	})
	if withStore {
		t.Cleanup(func() {
			if !t.Failed() && !store.Ready() {
				t.Error("the report store never loaded")
			}
		})
		defer startSyncer(t, ts.DB, store)
	}
	f := &dashFixture{ts: ts, ids: map[string]int64{}, loc: loc}
	f.ids["district:LEN"] = createDistrict(t, ts.DB, "LEN", "Leninsky").ID
	f.ids["district:OSH"] = createDistrict(t, ts.DB, "OSH", "Osh city").ID
	id := func(key, sql string, args ...any) {
		t.Helper()
		f.ids[key] = queryInt(t, ts.DB, sql, args...)
	}
	id("settlement:Ak-Jol", `INSERT INTO settlements (district_id, name, is_idp) VALUES ($1, 'Ak-Jol', true) RETURNING id`, f.ids["district:LEN"])
	id("settlement:Kara-Balta", `INSERT INTO settlements (district_id, name) VALUES ($1, 'Kara-Balta') RETURNING id`, f.ids["district:LEN"])
	id("settlement:Nur", `INSERT INTO settlements (district_id, name, is_idp) VALUES ($1, 'Nur', true) RETURNING id`, f.ids["district:OSH"])
	id("type:DV", `INSERT INTO incident_types (code, name, is_dv) VALUES ('DV', 'Domestic violence', true) RETURNING id`)
	id("type:THEFT", `INSERT INTO incident_types (code, name) VALUES ('THEFT', 'Theft') RETURNING id`)
	id("unit:LEN-1", `INSERT INTO units (call_sign, district_id) VALUES ('LEN-1', $1) RETURNING id`, f.ids["district:LEN"])
	f.exec(t, `INSERT INTO priorities (level, label, target_call_processing_s, target_response_s) VALUES
		(1, 'Immediate danger', 60, 600), (2, 'Urgent', NULL, 1200)`)
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, loc) }
	type call struct {
		at                 time.Time
		typ                string
		prio               int
		district, settl    string
		sex                string
		age                int // 0: not recorded
		dispatch, onScene  int // seconds after the call; -1 not recorded
		clear              int
		unit               bool
		referral, accepted bool
	}
	calls := []call{
		{day(1, 9, 0), "DV", 1, "LEN", "Ak-Jol", "female", 30, 30, 300, 2000, true, true, true},
		{day(1, 14, 0), "DV", 1, "LEN", "Ak-Jol", "female", 24, 60, 700, 3000, false, true, false},
		{day(1, 23, 30), "DV", 2, "LEN", "Kara-Balta", "male", 45, 90, 500, 900, true, false, false},
		{day(2, 8, 10), "THEFT", 2, "LEN", "", "", 0, 45, 1300, 2000, false, false, false},
		{day(3, 10, 0), "DV", 1, "OSH", "Nur", "female", 16, 45, 1200, 1800, false, false, false},
		{day(4, 21, 0), "DV", 1, "OSH", "", "female", 70, -1, -1, -1, false, false, false},           // never dispatched, still open
		{day(5, 2, 0), "DV", 2, "OSH", "Nur", "", 0, 20, 10, 400, false, false, false},               // on scene before dispatch: in order for response
		{day(8, 12, 0), "DV", 1, "LEN", "Kara-Balta", "female", 33, 40, 250, -1, true, false, false}, // open, on scene
		{day(9, 20, 15), "THEFT", 2, "", "", "male", 52, 100, 1500, 1600, false, false, false},
	}
	for _, c := range calls {
		at := func(s int) *time.Time {
			if s < 0 {
				return nil
			}
			x := c.at.Add(time.Duration(s) * time.Second)
			return &x
		}
		opt := func(key string) *int64 {
			if v, ok := f.ids[key]; ok {
				return &v
			}
			return nil
		}
		var sex *string
		if c.sex != "" {
			sex = &c.sex
		}
		var age *int
		if c.age > 0 {
			age = &c.age
		}
		incID := queryInt(t, ts.DB, `INSERT INTO incidents (number, received_at, dispatched_at, on_scene_at, cleared_at, type_id,
			priority, district_id, settlement_id, victim_name, victim_sex, victim_age, caller_name, caller_phone, address)
			VALUES ('DV-2026-' || lpad(nextval('incident_number_seq')::text, 6, '0'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
				$12, $13, $14) RETURNING id`,
			c.at, at(c.dispatch), at(c.onScene), at(c.clear), f.ids["type:"+c.typ], c.prio, opt("district:"+c.district),
			opt("settlement:"+c.settl), dashVictim, sex, age, dashCaller, dashPhone, dashAddress)
		if c.unit {
			f.exec(t, `INSERT INTO incident_units (incident_id, unit_id, assigned_at) VALUES ($1, $2, $3)`, incID, f.ids["unit:LEN-1"], c.at)
		}
		if c.referral {
			f.exec(t, `INSERT INTO partner_orgs (name, kind) VALUES ('Safe House', 'shelter') ON CONFLICT DO NOTHING`)
			f.exec(t, `INSERT INTO referrals (incident_id, partner_id, consent, status, accepted_at)
				VALUES ($1, (SELECT id FROM partner_orgs WHERE name = 'Safe House'), 'given',
				CASE WHEN $2 THEN 'accepted' ELSE 'offered' END, CASE WHEN $2 THEN now() END)`, incID, c.accepted)
		}
	}
	return f
}

// startSyncer loads store from db, waiting (at most a minute) until it
// is, and keeps it following db's change log until the test ends.
func startSyncer(t *testing.T, db *postgres.DB, store *facts.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&facts.Syncer{Feed: db, Store: store, Poll: 50 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}).Run(ctx) //nolint:errcheck
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(time.Minute); !store.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the report store did not load within a minute")
		}
	}
}

func (f *dashFixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.ts.DB.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// dashboardFigures reads the figures a dashboard page shows in its
// tables of export groupings: for each row, "group_by key|interval" and
// each figure cell's export column, as report.ReadFigures keys them.
func dashboardFigures(t *testing.T, d *goquery.Document) map[string]map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]map[string]string{} // group_by → key|interval → column → value
	d.Find("tr[data-group-by]").Each(func(_ int, tr *goquery.Selection) {
		g, _ := tr.Attr("data-group-by")
		key, _ := tr.Attr("data-key")
		iv, _ := tr.Attr("data-interval")
		row := map[string]string{}
		tr.Find("td[data-col]").Each(func(_ int, td *goquery.Selection) {
			col, _ := td.Attr("data-col")
			v, ok := td.Find("data").Attr("value")
			if !ok {
				t.Errorf("%s %s|%s: cell %s holds no <data value>", g, key, iv, col)
			}
			row[col] = v
		})
		if out[g] == nil {
			out[g] = map[string]map[string]string{}
		}
		k := key + "|" + iv
		if prev, ok := out[g][k]; ok {
			// The same group shown twice (a district above its
			// settlements) must show the same figures.
			for col, v := range row {
				if pv, ok := prev[col]; ok && pv != v {
					t.Errorf("%s %s: %s shown as %q and as %q", g, k, col, pv, v)
				}
				prev[col] = v
			}
			return
		}
		out[g][k] = row
	})
	return out
}

// compareWithExport fails the test unless every figure the dashboard
// shows for grouping g is the export's.
func compareWithExport(t *testing.T, what string, dash map[string]map[string]string, export report.Figures) int {
	t.Helper()
	n := 0
	for k, row := range dash {
		want, ok := export[k]
		if !ok {
			t.Errorf("%s: the dashboard shows %s, which the export does not have", what, k)
			continue
		}
		for col, v := range row {
			if want[col] != v {
				t.Errorf("%s %s: %s is %q on the dashboard, %q in the export", what, k, col, v, want[col])
			}
			n++
		}
	}
	return n
}

func (c *client) mustGet(path string) *http.Response {
	c.t.Helper()
	resp := c.get(path)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: status %d; page says %q", path, resp.StatusCode, errorText(doc(c.t, resp)))
	}
	return resp
}

// TestDashboardMatchesExports: for one query, every figure the dashboard
// shows of a report grouping is the JSON and the CSV export's, and the
// breakdowns of its own add up to the report's totals.
func TestDashboardMatchesExports(t *testing.T) {
	t.Parallel()
	forBothSources(t, testDashboardMatchesExports)
}

// forBothSources runs test on a fixture whose figures come from the
// database and on one whose figures come from the report store.
func forBothSources(t *testing.T, test func(*testing.T, *dashFixture)) {
	t.Run("database", func(t *testing.T) {
		t.Parallel()
		test(t, newDashFixture(t))
	})
	t.Run("store", func(t *testing.T) {
		t.Parallel()
		test(t, newDashStoreFixture(t))
	})
}

func testDashboardMatchesExports(t *testing.T, f *dashFixture) {
	c, _ := adminClient(t, f.ts)
	for _, query := range []string{
		"from=2026-03-01&to=2026-03-09",
		"from=2026-03-01&to=2026-03-09&dv_only=1&interval=call_processing",
		"from=2026-03-01&to=2026-03-05&district=" + itoa(f.ids["district:LEN"]) + "&shift=day",
		"from=2026-02-20&to=2026-03-09&priority=1&idp_only=1",
	} {
		t.Run(query, func(t *testing.T) {
			d := doc(t, c.mustGet("/dashboard?"+query))
			figs := dashboardFigures(t, d)
			v, _ := url.ParseQuery(query)
			v.Del(paramInterval)
			checked := 0
			for _, g := range []report.GroupBy{report.ByAll, report.ByPriority, report.ByDistrict, report.BySettlement, report.ByWeek} {
				v.Set(report.ParamGroupBy, string(g))
				js, err := report.ReadFigures([]byte(body(t, c.mustGet("/reports/response-times.json?"+v.Encode()))), report.JSON)
				if err != nil {
					t.Fatal(err)
				}
				csv, err := report.ReadFigures([]byte(body(t, c.mustGet("/reports/response-times.csv?"+v.Encode()))), report.CSV)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(js, csv); diff != "" {
					t.Errorf("%s: JSON and CSV exports differ:\n%s", g, diff)
				}
				if len(figs[string(g)]) == 0 && g != report.BySettlement {
					t.Errorf("the dashboard shows no row grouped by %s", g)
				}
				checked += compareWithExport(t, "by "+string(g), figs[string(g)], js)
			}
			t.Logf("%d dashboard figures checked against the exports", checked)

			// The headline figures are the all-incidents group's.
			iv := "response"
			if strings.Contains(query, "interval=call_processing") {
				iv = "call_processing"
			}
			kpis := d.Find(".dash-kpi data").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") })
			all := figs["all"]["all|"+iv]
			incidents := figs["all"]["all|call_processing"]["incidents"] // on the first row of the all-incidents group
			if len(kpis) < 4 || kpis[0] != incidents || kpis[1] != all["median_s"] || kpis[2] != all["p90_s"] ||
				kpis[3] != all["within_target_pct"] {
				t.Errorf("headline figures %v, want the all-incidents %s figures %v", kpis, iv, all)
			}
			// The grid, sex and age rows add up to the measured total.
			var grid int
			d.Find("#hours-table td .dash-n").Each(func(_ int, s *goquery.Selection) {
				var n int
				fmt.Sscan(s.Text(), &n)
				grid += n
			})
			if fmt.Sprint(grid) != all["n"] {
				t.Errorf("the hour grid rests on %d incidents, the report measured %s", grid, all["n"])
			}
			for _, kind := range []string{"sex:", "age:"} {
				var inc, n int
				d.Find(`#victims-table tr[data-key^="` + kind + `"]`).Each(func(_ int, tr *goquery.Selection) {
					var a, b int
					fmt.Sscan(tr.Find(`td[data-col="incidents"] data`).AttrOr("value", ""), &a)
					fmt.Sscan(tr.Find(`td[data-col="n"] data`).AttrOr("value", ""), &b)
					inc, n = inc+a, n+b
				})
				if fmt.Sprint(inc) != incidents || fmt.Sprint(n) != all["n"] {
					t.Errorf("by %s %d incidents, %d measured; report %s, %s", kind, inc, n, incidents, all["n"])
				}
			}
		})
	}
}

// TestDashboardHandComputed checks the figures of a few incidents worked
// out by hand, as the page shows them.
func TestDashboardHandComputed(t *testing.T) {
	t.Parallel()
	forBothSources(t, testDashboardHandComputed)
}

func testDashboardHandComputed(t *testing.T, f *dashFixture) {
	c, _ := adminClient(t, f.ts)
	d := doc(t, c.mustGet("/dashboard?from=2026-03-01&to=2026-03-09&dv_only=1"))
	// DV calls 1–9 March: 7. Response: 300, 700, 500, 1200, 10 (5 March,
	// on scene before dispatch but after the call), 250; one never
	// dispatched. Median of 10, 250, 300, 500, 700, 1200 = 400.
	figs := dashboardFigures(t, d)
	if got := figs["all"]["all|call_processing"]["incidents"]; got != "7" {
		t.Errorf("all: %s incidents, want 7", got)
	}
	want := map[string]string{"n": "6", "missing": "1", "median_s": "400", "p90_s": "950", "p95_s": "1075",
		"within_target_pct": "66.7"}
	got := figs["all"]["all|response"]
	for k, v := range want {
		if got[k] != v {
			t.Errorf("all, response: %s = %q, want %q (row %v)", k, got[k], v, got)
		}
	}
	if got, want := strings.Join(strings.Fields(d.Find(".dash-period").Text()), " "),
		"1 Mar 2026 – 9 Mar 2026 (9 days) · Domestic-violence calls only"; got != want {
		t.Errorf("period line %q, want %q", got, want)
	}
	kpis := d.Find(".dash-kpi").Map(func(_ int, s *goquery.Selection) string {
		return s.Find(".dash-kpi-label").Text() + ": " + s.Find(".dash-kpi-value").Text() + " (" + s.Find(".dash-kpi-basis").Text() + ")"
	})
	if want := "Median response: 6:40 (6 incidents measured; 1 lacked a time)"; !slices.Contains(kpis, want) {
		t.Errorf("headline figures %q, want one %q", kpis, want)
	}
	// The slowest first: 3 March (20:00 response, over the 10:00 target).
	first := d.Find("#slowest tbody tr").First()
	if href, _ := first.Find("a").Attr("href"); !strings.HasPrefix(href, "/incidents/") ||
		!strings.Contains(first.Text(), "2026-03-03 10:00") || !strings.Contains(first.Text(), "+10:00") ||
		!strings.Contains(first.Text(), "OSH · Nur") {
		t.Errorf("slowest row %q (href %q)", strings.Join(strings.Fields(first.Text()), " "), href)
	}
	// Open now and past a target: the 4 March call never dispatched. The
	// 8 March call is on scene (P1 has no on-scene or total target).
	open := d.Find("#open tbody tr")
	if open.Length() != 1 || !strings.Contains(open.Text(), "Awaiting dispatch") || !strings.Contains(open.Text(), "Call processing") {
		t.Errorf("open past target: %d rows %q", open.Length(), strings.Join(strings.Fields(open.Text()), " "))
	}
	// IDP settlements are marked and compared with their district.
	akJol := d.Find(`#settlements-table tr[data-key="LEN/Ak-Jol"]`)
	if !strings.Contains(akJol.Text(), "IDP") || akJol.Find("td").Last().Text() == "–" {
		t.Errorf("Ak-Jol row %q: want an IDP badge and a difference from LEN", strings.Join(strings.Fields(akJol.Text()), " "))
	}
	if lead := akJol.Prev(); lead.AttrOr("data-key", "") != "LEN" && lead.Prev().AttrOr("data-key", "") != "LEN" {
		t.Error("Ak-Jol is not listed under LEN's figures")
	}
	// Referrals: two offered, one accepted, on two incidents.
	for key, want := range map[string]string{"referrals": "2", "referrals_accepted": "1", "incidents_referred": "2", "screens": "0"} {
		if got := d.Find(`.dash-actions tr[data-key="`+key+`"] data`).AttrOr("value", ""); got != want {
			t.Errorf("%s: %q, want %s", key, got, want)
		}
	}
	// The page's Content-Security-Policy (style-src 'self') forbids style
	// attributes and elements, and it has no script of its own.
	if n := d.Find("[style], style, main script").Length(); n > 0 {
		t.Errorf("%d style attributes, style elements or scripts on the page", n)
	}
	if n := d.Find("svg.chart[role=img]").Length(); n != 4 {
		t.Errorf("%d charts, want 4 (districts, settlements, weeks, hours)", n)
	}
	d.Find("svg.chart").Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("id")
		if s.Find("title").First().Text() == "" || s.Find("desc").Length() != 1 {
			t.Errorf("chart %s lacks a title or a description", id)
		}
	})
}

func TestDashboardShowsNoPersonalData(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	c, _ := adminClient(t, f.ts)
	for _, q := range []string{"", "?from=2026-03-01&to=2026-03-09", "?from=2026-03-01&to=2026-03-09&interval=total"} {
		page := body(t, c.mustGet("/dashboard"+q))
		for _, secret := range []string{dashVictim, dashCaller, dashPhone, dashAddress, "Canary"} {
			if strings.Contains(page, secret) {
				t.Errorf("/dashboard%s shows %q", q, secret)
			}
		}
	}
}

func TestDashboardDistrictScope(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	createUser(t, f.ts.DB, "sup-len", account.Supervisor, "LEN")
	c := f.ts.client(t)
	c.mustLogin("sup-len", testPassword)
	d := doc(t, c.mustGet("/dashboard?from=2026-03-01&to=2026-03-09"))
	figs := dashboardFigures(t, d)
	if keys := slices.Sorted(maps.Keys(figs["district"])); !slices.Equal(keys, []string{"LEN|response"}) {
		t.Errorf("LEN supervisor's district rows %v, want LEN only", keys)
	}
	if opts := d.Find(`select[name="district"] option`); opts.Length() != 1 || opts.AttrOr("value", "") != itoa(f.ids["district:LEN"]) {
		t.Errorf("district choices %q, want LEN only", opts.Text())
	}
	if strings.Contains(d.Find("main").Text(), "Nur") {
		t.Error("a settlement of another district is shown")
	}
	for _, a := range d.Find(`a[href^="/reports/"]`).EachIter() {
		if href := a.AttrOr("href", ""); !strings.Contains(href, "district="+itoa(f.ids["district:LEN"])) {
			t.Errorf("export link %s lacks the district", href)
		}
	}
	resp := c.get("/dashboard?district=" + itoa(f.ids["district:OSH"]))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("OSH as LEN supervisor: status %d, want 403", resp.StatusCode)
	}
	if b := body(t, resp); strings.Contains(b, "dash-kpi") {
		t.Error("the refusal shows figures")
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'report.view' AND outcome = 'denied'
		AND detail->>'district' = $1`, itoa(f.ids["district:OSH"])); n != 1 {
		t.Errorf("%d denied views audited, want 1", n)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'report.view' AND outcome = 'ok'
		AND record_id = 'dashboard' AND detail->>'from' = '2026-03-01' AND detail->>'interval' = 'response'`); n != 1 {
		t.Errorf("%d views audited, want 1", n)
	}

	// The repeat-rate section's own request keeps the same scope: another
	// district's figures are refused and the attempt audited.
	resp = c.get("/dashboard/repeats?district=" + itoa(f.ids["district:OSH"]))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("repeat section of OSH as LEN supervisor: status %d, want 403", resp.StatusCode)
	}
	if b := body(t, resp); strings.Contains(b, "repeat-table") {
		t.Error("the refusal shows repeat figures")
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'report.view' AND outcome = 'denied'
		AND record_id = 'dashboard.repeats' AND detail->>'district' = $1`, itoa(f.ids["district:OSH"])); n != 1 {
		t.Errorf("%d denied repeat-section views audited, want 1", n)
	}
}

func TestDashboardRefusesBadQuery(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	c, _ := adminClient(t, f.ts)
	tests := []struct{ query, field string }{
		{"from=2026-03-09&to=2026-03-01", "to"},
		{"from=1.3.2026", "from"},
		{"shift=evening", "shift"},
		{"interval=lunch", "interval"},
		{"district=LEN", "district"},
	}
	for _, tt := range tests {
		resp := c.get("/dashboard?" + tt.query)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("?%s: status %d, want 422", tt.query, resp.StatusCode)
			continue
		}
		d := doc(t, resp)
		if msg := fieldError(d, tt.field); msg == "" || strings.HasPrefix(msg, "(no field") {
			t.Errorf("?%s: no message at %s (%q)", tt.query, tt.field, msg)
		}
		if d.Find(".dash-kpi").Length() > 0 {
			t.Errorf("?%s: figures shown for a bad query", tt.query)
		}
	}
	// What was typed stays in the form.
	d := doc(t, c.get("/dashboard?from=2026-03-09&to=2026-03-01&dv_only=1"))
	if fieldValue(d, "from") != "2026-03-09" || fieldValue(d, "to") != "2026-03-01" || fieldValue(d, "dv_only") != "1" {
		t.Errorf("the form lost the input: from %q to %q dv_only %q", fieldValue(d, "from"), fieldValue(d, "to"), fieldValue(d, "dv_only"))
	}
}

func TestDashboardEmptyPeriod(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	c, _ := adminClient(t, f.ts)
	d := doc(t, c.mustGet("/dashboard?from=2025-01-01&to=2025-01-31"))
	if !strings.Contains(d.Find("main").Text(), "No incident received in this period passes the filters") {
		t.Error("an empty period does not say so")
	}
	if got := d.Find(".dash-kpi data").First().AttrOr("value", ""); got != "0" {
		t.Errorf("incidents %q, want 0", got)
	}
	// The open incidents are still shown: they are open now.
	if d.Find("#open tbody tr").Length() != 1 {
		t.Error("the incident open past its target is not listed for an empty period")
	}
}

// TestDashboardSizeWithManySettlements: even with hundreds of
// settlements with incidents the page stays under 100 KB compressed.
func TestDashboardSizeWithManySettlements(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	f.exec(t, `INSERT INTO settlements (district_id, name, is_idp)
		SELECT d.id, 'Settlement with a long name ' || n, n % 5 = 0 FROM districts d, generate_series(1, 200) n`)
	f.exec(t, `INSERT INTO incidents (number, received_at, dispatched_at, en_route_at, on_scene_at, cleared_at, type_id, priority,
			district_id, settlement_id, victim_sex, victim_age)
		SELECT 'DV-2026-' || lpad(nextval('incident_number_seq')::text, 6, '0'),
			t, t + interval '20 s', t + interval '40 s', t + (60 + (s.id * 31 + n * 97) % 1700) * interval '1 s', t + interval '2 h',
			(SELECT id FROM incident_types WHERE code = 'DV'), 1 + n % 2, s.district_id, s.id,
			(ARRAY['female', 'male', NULL])[1 + n % 3], 10 + n % 70
		FROM settlements s, generate_series(1, 6) n,
			LATERAL (SELECT timestamptz '2026-02-11 00:00+06' + ((s.id * 7919 + n * 104729) % (28 * 86400)) * interval '1 s' AS t) x`)
	c, _ := adminClient(t, f.ts)
	req := c.newRequest(http.MethodGet, "/dashboard", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	began := time.Now()
	resp := c.do(req)
	took := time.Since(began)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	compressed, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain := body(t, c.mustGet("/dashboard"))
	rows := strings.Count(plain, `data-group-by="settlement"`)
	t.Logf("dashboard with %d settlement rows: %.1f KB compressed, %.1f KB uncompressed, in %v", rows,
		float64(len(compressed))/1024, float64(len(plain))/1024, took.Round(time.Millisecond))
	if rows < 400 {
		t.Errorf("%d settlement rows, want the 400 and more the fixture made", rows)
	}
	if len(compressed) > 100*1024 {
		t.Errorf("dashboard: %d bytes compressed, want at most 100 KB", len(compressed))
	}
	if strings.Contains(plain, `id="settlements-chart"`) {
		t.Error("a settlement chart of hundreds of bars was drawn")
	}
}
