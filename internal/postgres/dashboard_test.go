package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// dashFixture is a database with the reference data the report filters
// need and a way to add incidents with every field the dashboard reads,
// stage times set directly.
type dashFixture struct {
	db  *postgres.DB
	loc *time.Location
	ids map[string]int64 // "district:LEN", "settlement:Ak-Jol", "type:DV", "unit:LEN-1", "partner"
}

func newDashFixture(t *testing.T) *dashFixture {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Bishkek")
	must(t, err)
	f := &dashFixture{db: pgtest.DB(t), loc: loc, ids: map[string]int64{}}
	id := func(key, sql string, args ...any) {
		t.Helper()
		var n int64
		if err := f.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		f.ids[key] = n
	}
	id("district:LEN", `INSERT INTO districts (code, name) VALUES ('LEN', 'Leninsky') RETURNING id`)
	id("district:OSH", `INSERT INTO districts (code, name) VALUES ('OSH', 'Osh city') RETURNING id`)
	id("settlement:Ak-Jol", `INSERT INTO settlements (district_id, name, is_idp) VALUES ($1, 'Ak-Jol', true) RETURNING id`, f.ids["district:LEN"])
	id("settlement:Kara-Balta", `INSERT INTO settlements (district_id, name) VALUES ($1, 'Kara-Balta') RETURNING id`, f.ids["district:LEN"])
	id("settlement:Nur", `INSERT INTO settlements (district_id, name, is_idp) VALUES ($1, 'Nur', true) RETURNING id`, f.ids["district:OSH"])
	id("type:DV", `INSERT INTO incident_types (code, name, is_dv) VALUES ('DV', 'Domestic violence', true) RETURNING id`)
	id("type:THEFT", `INSERT INTO incident_types (code, name) VALUES ('THEFT', 'Theft') RETURNING id`)
	id("unit:LEN-1", `INSERT INTO units (call_sign, district_id) VALUES ('LEN-1', $1) RETURNING id`, f.ids["district:LEN"])
	id("unit:OSH-1", `INSERT INTO units (call_sign, district_id) VALUES ('OSH-1', $1) RETURNING id`, f.ids["district:OSH"])
	id("partner", `INSERT INTO partner_orgs (name, kind) VALUES ('Safe House', 'shelter') RETURNING id`)
	f.exec(t, `INSERT INTO priorities (level, label, target_call_processing_s, target_response_s, target_total_s) VALUES
		(1, 'Immediate danger', 60, 600, 3600), (2, 'Urgent', NULL, 1200, NULL), (3, 'Routine', NULL, NULL, NULL)`)
	return f
}

func (f *dashFixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// dashIncident is one incident to add: offsets in seconds after received
// for dispatched, en route, on scene and cleared (nil: not recorded).
type dashIncident struct {
	received   time.Time
	offsets    [4]*int
	typ        string // DV or THEFT
	priority   int
	district   string // "" for none
	settlement string // "" for none
	sex        string // "" for not recorded
	age        *int
	unit       string // "" for none
}

func sec(n int) *int { return &n }

// add stores in and returns its id.
func (f *dashFixture) add(t *testing.T, in dashIncident) int64 {
	t.Helper()
	var at [4]*time.Time
	for i, o := range in.offsets {
		if o != nil {
			x := in.received.Add(time.Duration(*o) * time.Second)
			at[i] = &x
		}
	}
	opt := func(key string) *int64 {
		if v, ok := f.ids[key]; ok {
			return &v
		}
		return nil
	}
	var sex *string
	if in.sex != "" {
		sex = &in.sex
	}
	var id int64
	if err := f.db.Pool.QueryRow(context.Background(), `INSERT INTO incidents (number, received_at, dispatched_at, en_route_at,
		on_scene_at, cleared_at, type_id, priority, district_id, settlement_id, victim_name, victim_sex, victim_age, address)
		VALUES ('DV-2026-' || lpad(nextval('incident_number_seq')::text, 6, '0'), $1, $2, $3, $4, $5, $6, $7, $8, $9,
			'Victim Name', $10, $11, 'ul. Secret 1') RETURNING id`,
		in.received, at[0], at[1], at[2], at[3], f.ids["type:"+in.typ], in.priority, opt("district:"+in.district),
		opt("settlement:"+in.settlement), sex, in.age).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if in.unit != "" {
		f.exec(t, `INSERT INTO incident_units (incident_id, unit_id, assigned_at) VALUES ($1, $2, $3)`, id, f.ids["unit:"+in.unit], in.received)
	}
	return id
}

// query is a report query over local days from–to.
func (f *dashFixture) query(t *testing.T, from, to string, filters report.Filters) report.Query {
	t.Helper()
	q := report.Query{Location: f.loc, GroupBy: report.ByAll, Filters: filters}
	var err error
	q.From, err = report.ParseDate(from)
	must(t, err)
	q.To, err = report.ParseDate(to)
	must(t, err)
	return q
}

// randomIncidents adds n incidents over 1–14 March 2026 (Bishkek), with
// every combination the filters and the figures care about: stages
// missing and out of order, districts and settlements (IDP or not, or
// none), both types, three priorities, units, victims' sex and age
// recorded or not, and referrals, screens and orders on some.
func (f *dashFixture) randomIncidents(t *testing.T, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(20260301, 7))
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, f.loc)
	places := []struct{ district, settlement string }{{"LEN", ""}, {"LEN", "Ak-Jol"}, {"LEN", "Kara-Balta"}, {"OSH", ""},
		{"OSH", "Nur"}, {"", ""}}
	for range n {
		in := dashIncident{received: start.Add(time.Duration(r.IntN(14*24*3600)) * time.Second), typ: "DV",
			priority: 1 + r.IntN(3)}
		if r.IntN(4) == 0 {
			in.typ = "THEFT"
		}
		p := places[r.IntN(len(places))]
		in.district, in.settlement = p.district, p.settlement
		elapsed := 0
		for i := range in.offsets {
			elapsed += 10 + r.IntN(900)
			switch r.IntN(12) {
			case 0: // not recorded
			case 1: // before the call: out of order
				in.offsets[i] = sec(-30)
			default:
				in.offsets[i] = sec(elapsed)
			}
		}
		switch r.IntN(4) {
		case 0:
		case 1:
			in.sex = "male"
		default:
			in.sex = "female"
		}
		if r.IntN(3) > 0 {
			in.age = sec(r.IntN(90))
		}
		if in.district != "" && r.IntN(2) == 0 {
			in.unit = in.district + "-1"
		}
		id := f.add(t, in)
		if r.IntN(3) == 0 {
			f.exec(t, `INSERT INTO referrals (incident_id, partner_id, consent, status, accepted_at)
				VALUES ($1, $2, 'given', CASE WHEN $3 THEN 'accepted' ELSE 'offered' END, CASE WHEN $3 THEN now() END)`,
				id, f.ids["partner"], r.IntN(2) == 0)
		}
		if r.IntN(4) == 0 {
			f.exec(t, `INSERT INTO danger_screens (incident_id, answers, yes_count, threshold, high_danger) VALUES ($1, '[]', 0, 4, $2)`,
				id, r.IntN(2) == 0)
		}
	}
}

// sameSummary fails the test unless the dashboard's figures for a group
// are the report's (percentiles to a microsecond: the same interpolation).
func sameSummary(t *testing.T, what string, got report.Summary, want report.Summary) {
	t.Helper()
	near := func(a, b *float64) bool {
		return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) < 1e-6)
	}
	sameInt := func(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	if got.N != want.N || got.Missing != want.Missing || got.Inconsistent != want.Inconsistent ||
		!near(got.Median, want.Median) || !near(got.P90, want.P90) || !near(got.P95, want.P95) ||
		!near(got.WithinTargetPct, want.WithinTargetPct) || !sameInt(got.TargetS, want.TargetS) {
		t.Errorf("%s:\n got %s\nwant %s", what, fmtSummary(got), fmtSummary(want))
	}
}

func fmtSummary(s report.Summary) string {
	f := func(v *float64) string {
		if v == nil {
			return "nil"
		}
		return fmt.Sprintf("%.6f", *v)
	}
	target := "nil"
	if s.TargetS != nil {
		target = fmt.Sprint(*s.TargetS)
	}
	return fmt.Sprintf("n %d missing %d inconsistent %d median %s p90 %s p95 %s target %s within %s",
		s.N, s.Missing, s.Inconsistent, f(s.Median), f(s.P90), f(s.P95), target, f(s.WithinTargetPct))
}

// TestDashboardFiltersMatchReport checks the dashboard's one SQL filter
// against the report Source: for every filter alone and a few together,
// the dashboard's figures over all incidents are the report's, for every
// interval, and its breakdowns add up to them.
func TestDashboardFiltersMatchReport(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	f.randomIncidents(t, 400)
	ctx := context.Background()
	id := func(key string) *int64 { v := f.ids[key]; return &v }
	one, two := 1, 2
	filters := map[string]report.Filters{
		"none":                  {},
		"district":              {DistrictID: id("district:LEN")},
		"settlement":            {SettlementID: id("settlement:Ak-Jol")},
		"IDP only":              {IDPOnly: true},
		"priority":              {Priority: &two},
		"type":                  {TypeID: id("type:THEFT")},
		"DV only":               {DVOnly: true},
		"day shift":             {Shift: report.DayShift},
		"night shift":           {Shift: report.NightShift},
		"unit":                  {UnitID: id("unit:LEN-1")},
		"district, DV, night":   {DistrictID: id("district:OSH"), DVOnly: true, Shift: report.NightShift},
		"IDP, priority 1, unit": {IDPOnly: true, Priority: &one, UnitID: id("unit:LEN-1")},
	}
	for name, fl := range filters {
		for _, days := range [][2]string{{"2026-03-01", "2026-03-14"}, {"2026-03-03", "2026-03-05"}} {
			q := f.query(t, days[0], days[1], fl)
			rep, err := f.db.ResponseTimes(ctx, q)
			must(t, err)
			all, _ := rep.Group("all")
			for _, iv := range refdata.Intervals {
				fig, err := f.db.DashboardExtras(ctx, q, postgres.DashboardOptions{Interval: iv})
				must(t, err)
				what := fmt.Sprintf("%s, %s to %s, %s", name, days[0], days[1], iv)
				if fig.All.Incidents != all.Incidents || fig.Actions.Incidents != all.Incidents {
					t.Errorf("%s: dashboard %d incidents (actions rest on %d), report %d", what, fig.All.Incidents,
						fig.Actions.Incidents, all.Incidents)
				}
				sameSummary(t, what, fig.All.Summary, all.Intervals[iv])
				for _, parts := range []struct {
					name string
					gs   []postgres.DashboardGroup
				}{{"sex", fig.BySex}, {"age band", fig.ByAgeBand}, {"hour", cellGroups(fig.ByHour)}} {
					var inc, n, missing, inconsistent int
					for _, g := range parts.gs {
						inc, n, missing, inconsistent = inc+g.Incidents, n+g.N, missing+g.Missing, inconsistent+g.Inconsistent
					}
					if inc != all.Incidents || n != all.Intervals[iv].N || missing != all.Intervals[iv].Missing ||
						inconsistent != all.Intervals[iv].Inconsistent {
						t.Errorf("%s: by %s adds up to %d incidents, n %d, missing %d, inconsistent %d; report %d, %+v", what,
							parts.name, inc, n, missing, inconsistent, all.Incidents, all.Intervals[iv])
					}
				}
				if len(fig.Slowest) > 0 && all.Intervals[iv].N > 0 {
					// The slowest is the report's maximum, the 100th percentile.
					if got := fig.Slowest[0].Seconds; got < *all.Intervals[iv].P95 {
						t.Errorf("%s: slowest %v s is below the 95th percentile %v s", what, got, *all.Intervals[iv].P95)
					}
				}
				if len(fig.Slowest) != min(10, all.Intervals[iv].N) {
					t.Errorf("%s: %d slowest incidents listed, want %d", what, len(fig.Slowest), min(10, all.Intervals[iv].N))
				}
			}
		}
	}
}

func cellGroups(cs []postgres.DashboardCell) []postgres.DashboardGroup {
	out := make([]postgres.DashboardGroup, len(cs))
	for i, c := range cs {
		out[i] = c.DashboardGroup
	}
	return out
}

// TestDashboardExtrasHandComputed checks each figure on a handful of
// incidents worked out by hand.
func TestDashboardExtrasHandComputed(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	ctx := context.Background()
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, f.loc) }
	age := func(n int) *int { return &n }
	// Response times (received → on scene): 300, 700, 500 s for women
	// aged 30, 31 and unknown; 1200 s for a man of 70; one woman of 16
	// never reached (missing); one with on scene before the call.
	a := f.add(t, dashIncident{received: day(2, 9, 0), offsets: [4]*int{sec(30), sec(60), sec(300), sec(2000)}, typ: "DV",
		priority: 1, district: "LEN", settlement: "Ak-Jol", sex: "female", age: age(30)})
	b := f.add(t, dashIncident{received: day(2, 9, 40), offsets: [4]*int{sec(60), nil, sec(700), sec(3000)}, typ: "DV",
		priority: 1, district: "LEN", sex: "female", age: age(31)})
	f.add(t, dashIncident{received: day(3, 23, 30), offsets: [4]*int{sec(90), sec(100), sec(500), nil}, typ: "DV",
		priority: 2, district: "LEN", settlement: "Kara-Balta", sex: "female"})
	d := f.add(t, dashIncident{received: day(4, 1, 15), offsets: [4]*int{sec(45), sec(50), sec(1200), sec(1300)}, typ: "DV",
		priority: 1, district: "OSH", settlement: "Nur", sex: "male", age: age(70)})
	f.add(t, dashIncident{received: day(4, 2, 0), offsets: [4]*int{nil, nil, nil, nil}, typ: "DV", priority: 1,
		district: "OSH", sex: "female", age: age(16)})
	f.add(t, dashIncident{received: day(5, 12, 0), offsets: [4]*int{sec(10), sec(20), sec(-5), sec(100)}, typ: "DV",
		priority: 3, district: "OSH"})
	// Outside the period (6 March), and still open: past its targets.
	open := f.add(t, dashIncident{received: day(6, 10, 0), offsets: [4]*int{sec(120), nil, nil, nil}, typ: "DV", priority: 1,
		district: "LEN"})
	// Open, in another district and within its target at "now".
	f.add(t, dashIncident{received: day(6, 11, 55), offsets: [4]*int{nil, nil, nil, nil}, typ: "THEFT", priority: 2,
		district: "OSH"})
	f.exec(t, `INSERT INTO referrals (incident_id, partner_id, consent, status, accepted_at) VALUES
		($1, $3, 'given', 'accepted', now()), ($1, $3, 'pending', 'offered', NULL), ($2, $3, 'given', 'sent', now())`, a, b, f.ids["partner"])
	f.exec(t, `INSERT INTO danger_screens (incident_id, answers, yes_count, threshold, high_danger) VALUES
		($1, '[]', 5, 4, true), ($1, '[]', 2, 4, false), ($2, '[]', 1, 4, false)`, a, d)
	f.exec(t, `INSERT INTO protection_orders (number, kind, incident_id, protected_name, restrained_name, starts_at, ends_at)
		VALUES ('PO-1', 'temporary', $1, 'A', 'B', now(), now() + interval '3 days')`, d)

	q := f.query(t, "2026-03-01", "2026-03-05", report.Filters{})
	now := day(6, 12, 0)
	fig, err := f.db.DashboardExtras(ctx, q, postgres.DashboardOptions{Now: now, Slowest: 3})
	must(t, err)

	if fig.All.Incidents != 6 || fig.All.N != 4 || fig.All.Missing != 1 || fig.All.Inconsistent != 1 {
		t.Errorf("all: %+v, want 6 incidents, 4 measured, 1 missing, 1 inconsistent", fig.All)
	}
	// 300, 500, 700, 1200: median 600, p90 1050, p95 1125. Targets: 600
	// (P1) for 300, 700, 1200 and 1200 (P2) for 500: 300 and 500 within.
	f64 := func(v float64) *float64 { return &v }
	sameSummary(t, "all", fig.All.Summary, report.Summary{N: 4, Missing: 1, Inconsistent: 1, Median: f64(600), P90: f64(1050),
		P95: f64(1125), WithinTargetPct: f64(50)})

	keys := func(gs []postgres.DashboardGroup) []string {
		var out []string
		for _, g := range gs {
			out = append(out, fmt.Sprintf("%s:%d/%d", g.Key, g.Incidents, g.N))
		}
		return out
	}
	if got, want := fmt.Sprint(keys(fig.BySex)), "[female:4/3 male:1/1 :1/0]"; got != want {
		t.Errorf("by sex %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(keys(fig.ByAgeBand)), "[0-17:1/0 25-34:2/2 60+:1/1 :2/1]"; got != want {
		t.Errorf("by age band %s, want %s", got, want)
	}
	// Women: 300, 700, 500 → median 500, p90 660; targets 600, 600, 1200:
	// two of three within. Only priority 1 among the 25–34 band: target 600.
	sameSummary(t, "women", fig.BySex[0].Summary, report.Summary{N: 3, Missing: 1, Median: f64(500), P90: f64(660),
		P95: f64(680), WithinTargetPct: f64(200.0 / 3)})
	six := 600
	sameSummary(t, "25-34", fig.ByAgeBand[1].Summary, report.Summary{N: 2, Median: f64(500), P90: f64(660), P95: f64(680),
		TargetS: &six, WithinTargetPct: f64(50)})

	// Local hours and ISO weekdays (2 March 2026 is a Monday).
	var cells []string
	for _, c := range fig.ByHour {
		cells = append(cells, fmt.Sprintf("%d@%02d:%d", c.Weekday, c.Hour, c.Incidents))
	}
	if got, want := fmt.Sprint(cells), "[1@09:2 2@23:1 3@01:1 3@02:1 4@12:1]"; got != want {
		t.Errorf("hour cells %s, want %s", got, want)
	}

	var slow []string
	for _, s := range fig.Slowest {
		slow = append(slow, fmt.Sprintf("%d:%v", s.ID, s.Seconds))
	}
	if got, want := fmt.Sprint(slow), fmt.Sprintf("[%d:1200 %d:700 %d:500]", d, b, b+1); got != want {
		t.Errorf("slowest %s, want %s", got, want)
	}
	if s := fig.Slowest[0]; s.Number == "" || s.DistrictCode != "OSH" || s.SettlementName != "Nur" || !s.SettlementIDP ||
		s.TargetS == nil || *s.TargetS != 600 || !s.Received.Equal(day(4, 1, 15)) {
		t.Errorf("slowest incident %+v", s)
	}

	// Open now (6 March, 12:00; dates do not apply): the 6 March call
	// dispatched at 10:02 and waiting for a unit: response (2 h > 10 min)
	// and total (2 h > 1 h); turnout has no target. The 4 March 02:00
	// call never dispatched: call processing, response and total. The
	// 3 March call is on scene (P2: no on-scene or total target) and the
	// 11:55 theft (P2, 5 min, response target 20 min) is within.
	byID := map[int64]postgres.OpenIncident{}
	for _, o := range fig.Open {
		byID[o.ID] = o
	}
	o, ok := byID[open]
	if !ok {
		t.Fatalf("open incident %d not listed past target: %+v", open, fig.Open)
	}
	if o.Stage != incident.Dispatched || len(o.Overdue) != 2 || o.Overdue[0].Interval != refdata.Response ||
		o.Overdue[0].Elapsed != 2*time.Hour || o.Overdue[0].TargetS != 600 || o.Overdue[1].Interval != refdata.Total {
		t.Errorf("open incident: %+v", o)
	}
	if fig.OpenChecked != 4 || fig.OpenPastTarget != 2 || len(fig.Open) != 2 {
		t.Errorf("open: %d checked, %d past target, %d listed; want 4, 2, 2", fig.OpenChecked, fig.OpenPastTarget, len(fig.Open))
	}
	// Most overrun first: the 4 March call, waiting for dispatch for 58 h.
	if first := fig.Open[0]; !first.Received.Equal(day(4, 2, 0)) || first.Stage != incident.Received ||
		len(first.Overdue) != 3 || first.Overdue[0].Interval != refdata.CallProcessing {
		t.Errorf("first open incident %+v, want the 4 March call, call processing first", first)
	}

	if got, want := fig.Actions, (postgres.ActionCounts{Incidents: 6, Referrals: 3, ReferralsAccepted: 2, IncidentsReferred: 2,
		Screens: 3, IncidentsScreened: 2, IncidentsHighRisk: 1, Orders: 1, IncidentsWithOrder: 1}); got != want {
		t.Errorf("actions %+v, want %+v", got, want)
	}

	// Filters apply to the open list too, dates do not: OSH only leaves
	// the 4 March 02:00 call.
	osh := f.ids["district:OSH"]
	q.DistrictID = &osh
	fig, err = f.db.DashboardExtras(ctx, q, postgres.DashboardOptions{Now: now, Interval: refdata.CallProcessing})
	must(t, err)
	if fig.OpenChecked != 2 || fig.OpenPastTarget != 1 || fig.Open[0].Received.Equal(day(6, 10, 0)) {
		t.Errorf("OSH open: %d checked, %d past target (%+v)", fig.OpenChecked, fig.OpenPastTarget, fig.Open)
	}
	if fig.Interval != refdata.CallProcessing || fig.All.N != 2 || fig.All.Missing != 1 {
		t.Errorf("OSH call processing: %+v", fig.All)
	}
}

func TestDashboardExtrasRefusesBadQuery(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	q := f.query(t, "2026-03-02", "2026-03-01", report.Filters{})
	if _, err := f.db.DashboardExtras(context.Background(), q, postgres.DashboardOptions{}); err == nil {
		t.Error("a query whose last day comes before its first was accepted")
	}
	q = f.query(t, "2026-03-01", "2026-03-01", report.Filters{})
	if _, err := f.db.DashboardExtras(context.Background(), q, postgres.DashboardOptions{Interval: "lunch"}); err == nil {
		t.Error("an unknown interval was accepted")
	}
}
