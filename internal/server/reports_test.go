package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/report"
)

// reportExportFixture is a server in Bishkek time with incidents in two
// districts on 1 March 2026, stage times set directly.
type reportExportFixture struct {
	ts       *testServer
	len, osh int64
}

func newReportExportFixture(t *testing.T) *reportExportFixture {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(d *Deps) {
		d.Location = loc
		d.Now = func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, loc) }
	})
	f := &reportExportFixture{ts: ts}
	f.len = createDistrict(t, ts.DB, "LEN", "Leninsky").ID
	f.osh = createDistrict(t, ts.DB, "OSH", "Osh city").ID
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := ts.DB.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO incident_types (code, name, is_dv) VALUES ('DV', 'Domestic violence', true)`)
	exec(`INSERT INTO priorities (level, label, target_response_s) VALUES (1, 'Immediate danger', 600)`)
	add := func(district int64, received time.Time, dispatch, onScene int) {
		t.Helper()
		at := func(s int) *time.Time {
			if s < 0 {
				return nil
			}
			x := received.Add(time.Duration(s) * time.Second)
			return &x
		}
		exec(`INSERT INTO incidents (number, received_at, dispatched_at, on_scene_at, type_id, priority, district_id)
			VALUES ('DV-2026-' || lpad(nextval('incident_number_seq')::text, 6, '0'), $1, $2, $3,
				(SELECT id FROM incident_types WHERE code = 'DV'), 1, $4)`, received, at(dispatch), at(onScene), district)
	}
	day := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, loc) }
	add(f.len, day(9, 0), 30, 300)
	add(f.len, day(14, 0), 60, 700)
	add(f.len, day(23, 30), 90, 500) // late evening: still 1 March
	add(f.osh, day(10, 0), 45, 1200)
	add(f.osh, day(11, 0), -1, -1)                                     // never dispatched
	add(f.osh, time.Date(2026, 3, 1, 18, 30, 0, 0, time.UTC), 10, 100) // 00:30 on 2 March in Bishkek
	return f
}

type exportDoc struct {
	From, To string
	GroupBy  string `json:"group_by"`
	Filters  map[string]string
	Groups   []struct {
		Key       string
		Incidents int
		Intervals map[string]struct {
			N       int      `json:"n"`
			Missing int      `json:"missing"`
			MedianS *float64 `json:"median_s"`
			Within  *float64 `json:"within_target_pct"`
		}
	}
}

func decodeExport(t *testing.T, resp *http.Response) exportDoc {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d; page says %q", resp.Request.URL, resp.StatusCode, errorText(doc(t, resp)))
	}
	var d exportDoc
	if err := json.Unmarshal([]byte(body(t, resp)), &d); err != nil {
		t.Fatalf("%s: %v", resp.Request.URL, err)
	}
	return d
}

const march1 = "from=2026-03-01&to=2026-03-01"

func TestResponseTimesExportsAgree(t *testing.T) {
	t.Parallel()
	f := newReportExportFixture(t)
	c, admin := adminClient(t, f.ts)

	js := c.get("/reports/response-times.json?" + march1 + "&group_by=district")
	if ct := js.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("JSON Content-Type %q", ct)
	}
	d := decodeExport(t, js)
	if d.From != "2026-03-01" || d.To != "2026-03-01" || d.GroupBy != "district" || len(d.Groups) != 2 {
		t.Fatalf("export %+v, want 1 March by district, two groups", d)
	}
	// LEN: three calls, the one at 23:30 local included; responses 300,
	// 700, 500 s; 2 of 3 within the 600 s target.
	lenG, oshG := d.Groups[0], d.Groups[1]
	resp := lenG.Intervals["response"]
	if lenG.Key != "LEN" || lenG.Incidents != 3 || resp.N != 3 || resp.MedianS == nil || *resp.MedianS != 500 ||
		resp.Within == nil || *resp.Within != 66.7 {
		t.Errorf("LEN: %+v response %+v, want 3 incidents, median 500, 66.7%% within target", lenG, resp)
	}
	// OSH: the call at 00:30 on 2 March local is not in; one never dispatched.
	if r := oshG.Intervals["response"]; oshG.Key != "OSH" || oshG.Incidents != 2 || r.N != 1 || r.Missing != 1 {
		t.Errorf("OSH: %+v response %+v, want 2 incidents, 1 measured, 1 missing", oshG, r)
	}

	csvResp := c.get("/reports/response-times.csv?" + march1 + "&group_by=district")
	if csvResp.StatusCode != http.StatusOK {
		t.Fatalf("CSV: status %d", csvResp.StatusCode)
	}
	if ct := csvResp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("CSV Content-Type %q", ct)
	}
	if cd := csvResp.Header.Get("Content-Disposition"); cd != `attachment; filename="response-times_2026-03-01_2026-03-01_district.csv"` {
		t.Errorf("CSV Content-Disposition %q", cd)
	}
	fromJSON, err := report.ReadFigures([]byte(body(t, js)), report.JSON)
	if err != nil {
		t.Fatal(err)
	}
	fromCSV, err := report.ReadFigures([]byte(body(t, csvResp)), report.CSV)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromJSON, fromCSV); diff != "" {
		t.Errorf("JSON and CSV exports differ (-json +csv):\n%s", diff)
	}

	// Both exports are audited, with the query.
	rows, err := f.ts.DB.Pool.Query(context.Background(), `SELECT user_id, outcome, detail->>'format', detail->>'from',
		detail->>'group_by' FROM audit_events WHERE action = 'report.export' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var uid int64
		var outcome, format, from, groupBy string
		if err := rows.Scan(&uid, &outcome, &format, &from, &groupBy); err != nil {
			t.Fatal(err)
		}
		if uid != admin.ID {
			t.Errorf("export audited for user %d, want %d", uid, admin.ID)
		}
		got = append(got, strings.Join([]string{outcome, format, from, groupBy}, " "))
	}
	if diff := cmp.Diff([]string{"ok json 2026-03-01 district", "ok csv 2026-03-01 district"}, got); diff != "" {
		t.Errorf("audit rows (-want +got):\n%s", diff)
	}

	// Without dates: the 28 days ending today (10 March), which hold all six.
	d = decodeExport(t, c.get("/reports/response-times.json?group_by=all"))
	if d.From != "2026-02-11" || d.To != "2026-03-10" || len(d.Groups) != 1 || d.Groups[0].Incidents != 6 {
		t.Errorf("default export: %s to %s, %+v; want 2026-02-11 to 2026-03-10 with 6 incidents", d.From, d.To, d.Groups)
	}
}

func TestResponseTimesExportDistrictScope(t *testing.T) {
	t.Parallel()
	f := newReportExportFixture(t)
	createUser(t, f.ts.DB, "sup-len", account.Supervisor, "LEN")
	lenc := f.ts.client(t)
	lenc.mustLogin("sup-len", testPassword)

	// A supervisor of LEN gets LEN only, whatever the grouping.
	d := decodeExport(t, lenc.get("/reports/response-times.json?"+march1+"&group_by=district"))
	if len(d.Groups) != 1 || d.Groups[0].Key != "LEN" || d.Groups[0].Incidents != 3 {
		t.Errorf("LEN supervisor by district: %+v, want LEN's 3 incidents only", d.Groups)
	}
	if d.Filters["district"] != itoa(f.len) {
		t.Errorf("filters %v, want district %d", d.Filters, f.len)
	}
	d = decodeExport(t, lenc.get("/reports/response-times.json?"+march1+"&group_by=all&district="+itoa(f.len)))
	if d.Groups[0].Incidents != 3 {
		t.Errorf("LEN supervisor asking for LEN: %d incidents, want 3", d.Groups[0].Incidents)
	}

	// Asking for another district is refused, and the refusal audited.
	for _, path := range []string{"/reports/response-times.json", "/reports/response-times.csv"} {
		resp := lenc.get(path + "?" + march1 + "&district=" + itoa(f.osh))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s for OSH as LEN supervisor: status %d, want 403", path, resp.StatusCode)
		}
		if b := body(t, resp); strings.Contains(b, "median_s") || strings.Contains(b, "within_target_pct") {
			t.Errorf("%s refusal carries figures", path)
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'report.export' AND outcome = 'denied'
		AND detail->>'district' = $1`, itoa(f.osh)); n != 2 {
		t.Errorf("%d denied exports audited, want 2", n)
	}
}

func TestResponseTimesExportRefusesBadQuery(t *testing.T) {
	t.Parallel()
	f := newReportExportFixture(t)
	c, _ := adminClient(t, f.ts)
	for _, q := range []string{"from=2026-03-02&to=2026-03-01", "from=01.03.2026", "group_by=officer", "shift=evening",
		"district=LEN", "from=2020-01-01&to=2026-03-01"} {
		resp := c.get("/reports/response-times.json?" + q)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("?%s: status %d, want 422", q, resp.StatusCode)
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'report.export'`); n != 0 {
		t.Errorf("%d exports audited, want none (nothing was exported)", n)
	}
}
