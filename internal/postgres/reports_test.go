package postgres_test

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// reportFixture adds to the incident fixture what the report filters need:
// a second district, a call type that is not domestic violence, an IDP
// and an ordinary settlement, and a second priority without targets.
type reportFixture struct {
	*fixture
	loc   *time.Location
	osh   refdata.District
	theft refdata.IncidentType
	idp   refdata.Settlement
	town  refdata.Settlement
}

func newReportFixture(t *testing.T) *reportFixture {
	t.Helper()
	ctx := context.Background()
	loc, err := time.LoadLocation("Asia/Bishkek")
	must(t, err)
	f := &reportFixture{fixture: newFixture(t), loc: loc}
	f.osh = refdata.District{Code: "OSH", Name: "Osh city", Active: true}
	must(t, f.db.SaveDistrict(ctx, &f.osh, f.actor))
	f.theft = refdata.IncidentType{Code: "THEFT", Name: "Theft", Active: true}
	must(t, f.db.SaveIncidentType(ctx, &f.theft, f.actor))
	f.idp = refdata.Settlement{DistrictID: f.district.ID, Name: "Ak-Jol", IsIDP: true, Active: true}
	must(t, f.db.SaveSettlement(ctx, &f.idp, f.actor))
	f.town = refdata.Settlement{DistrictID: f.district.ID, Name: "Kara-Balta", Active: true}
	must(t, f.db.SaveSettlement(ctx, &f.town, f.actor))
	// The fixture's priority 1 has a 60 s call-processing target; give it
	// a response target too.
	sixty, tenMin := 60, 600
	must(t, f.db.SavePriority(ctx, &refdata.Priority{Level: 1, Label: "Immediate", Targets: map[refdata.Interval]*int{
		refdata.CallProcessing: &sixty, refdata.Response: &tenMin}}, false, 1, f.actor))
	must(t, f.db.SavePriority(ctx, &refdata.Priority{Level: 2, Label: "Urgent", Targets: map[refdata.Interval]*int{}}, true, 0, f.actor))
	return f
}

// add logs a call and then sets its stage times directly: received, and
// seconds after it for dispatched, en route, on scene and cleared (-1: not
// recorded; a negative offset other than -1 puts the stage before the
// call).
func (f *reportFixture) add(t *testing.T, received time.Time, form incident.Form, offsets [4]int) int64 {
	t.Helper()
	ctx := context.Background()
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, form), time.UTC, f.actor)
	must(t, err)
	at := func(s int) *time.Time {
		if s == -1 {
			return nil
		}
		x := received.Add(time.Duration(s) * time.Second)
		return &x
	}
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = $2, dispatched_at = $3, en_route_at = $4,
		on_scene_at = $5, cleared_at = $6 WHERE id = $1`, id, received, at(offsets[0]), at(offsets[1]), at(offsets[2]), at(offsets[3]))
	must(t, err)
	return id
}

func (f *reportFixture) query(t *testing.T, from, to string, by report.GroupBy, filters report.Filters) report.Result {
	t.Helper()
	q := report.Query{Location: f.loc, GroupBy: by, Filters: filters}
	var err error
	q.From, err = report.ParseDate(from)
	must(t, err)
	q.To, err = report.ParseDate(to)
	must(t, err)
	res, err := f.db.ResponseTimes(context.Background(), q)
	must(t, err)
	return res
}

func incidents(res report.Result) int {
	n := 0
	for _, g := range res.Groups {
		n += g.Incidents
	}
	return n
}

func TestReportDayBoundariesFollowTimeZone(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	f.add(t, time.Date(2026, 3, 1, 23, 30, 0, 0, f.loc), incident.Form{}, [4]int{10, -1, -1, -1})     // 1 March, late evening
	f.add(t, time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC), incident.Form{}, [4]int{20, -1, -1, -1}) // 05:30 local, 1 March
	f.add(t, time.Date(2026, 3, 1, 18, 30, 0, 0, time.UTC), incident.Form{}, [4]int{40, -1, -1, -1})  // 00:30 local, 2 March
	f.add(t, time.Date(2026, 2, 28, 17, 59, 0, 0, time.UTC), incident.Form{}, [4]int{80, -1, -1, -1}) // 23:59 local, 28 February

	res := f.query(t, "2026-03-01", "2026-03-01", report.ByAll, report.Filters{})
	g, _ := res.Group("all")
	if g.Incidents != 2 {
		t.Fatalf("1 March (Bishkek): %d incidents, want 2 (23:30 local and 23:30 UTC the day before)", g.Incidents)
	}
	if s := g.Intervals[refdata.CallProcessing]; s.Median == nil || *s.Median != 15 {
		t.Errorf("1 March call processing median %v, want 15 (the 10 s and 20 s calls)", s.Median)
	}
	if n := incidents(f.query(t, "2026-03-02", "2026-03-02", report.ByAll, report.Filters{})); n != 1 {
		t.Errorf("2 March: %d incidents, want 1 (00:30 local)", n)
	}
	if n := incidents(f.query(t, "2026-02-28", "2026-02-28", report.ByAll, report.Filters{})); n != 1 {
		t.Errorf("28 February: %d incidents, want 1 (23:59 local)", n)
	}
	if n := incidents(f.query(t, "2026-02-28", "2026-03-02", report.ByAll, report.Filters{})); n != 4 {
		t.Errorf("28 February to 2 March: %d incidents, want 4", n)
	}
}

func TestReportHandComputed(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	r := time.Date(2026, 3, 1, 10, 0, 0, 0, f.loc)
	f.add(t, r, incident.Form{}, [4]int{30, 90, 300, 1800})
	f.add(t, r, incident.Form{}, [4]int{60, 120, 600, 2400})
	f.add(t, r, incident.Form{}, [4]int{90, -1, 601, 3000})       // no en route
	id := f.add(t, r, incident.Form{}, [4]int{120, 100, 900, -1}) // en route before dispatch; open
	f.add(t, r, incident.Form{}, [4]int{-1, -1, -1, -1})          // never dispatched
	f.add(t, r, incident.Form{Priority: "2"}, [4]int{10, 20, 400, 400})
	_, err := f.db.Pool.Exec(context.Background(), `UPDATE incidents SET corrections = 1 WHERE id = $1`, id)
	must(t, err)

	res := f.query(t, "2026-03-01", "2026-03-01", report.ByPriority, report.Filters{})
	if len(res.Groups) != 2 {
		t.Fatalf("%d groups, want priorities 1 and 2", len(res.Groups))
	}
	p1 := res.Groups[0]
	if p1.Key != "1" || p1.Label != "Immediate" || p1.Incidents != 5 || p1.Corrected != 1 {
		t.Errorf("priority 1: %q %q incidents %d corrected %d", p1.Key, p1.Label, p1.Incidents, p1.Corrected)
	}
	type fig struct {
		n, missing, inconsistent int
		median, p90, p95         float64
		target                   int     // 0: none
		within                   float64 // -1: none
	}
	want := map[refdata.Interval]fig{
		refdata.CallProcessing: {4, 1, 0, 75, 111, 115.5, 60, 50},
		refdata.Turnout:        {2, 2, 1, 60, 60, 60, 0, -1},
		refdata.Travel:         {3, 2, 0, 480, 736, 768, 0, -1},
		refdata.Response:       {4, 1, 0, 600.5, 810.3, 855.15, 600, 50},
		refdata.OnScene:        {3, 2, 0, 1800, 2279.2, 2339.1, 0, -1},
		refdata.Total:          {3, 2, 0, 2400, 2880, 2940, 0, -1},
	}
	for iv, w := range want {
		s := p1.Intervals[iv]
		if s.N != w.n || s.Missing != w.missing || s.Inconsistent != w.inconsistent {
			t.Errorf("%s: n=%d missing=%d inconsistent=%d, want %d %d %d", iv, s.N, s.Missing, s.Inconsistent, w.n, w.missing, w.inconsistent)
		}
		for name, got := range map[string]*float64{"median": s.Median, "p90": s.P90, "p95": s.P95} {
			wv := map[string]float64{"median": w.median, "p90": w.p90, "p95": w.p95}[name]
			if got == nil || math.Abs(*got-wv) > 1e-6 {
				t.Errorf("%s %s = %v, want %v", iv, name, got, wv)
			}
		}
		if (w.target == 0) != (s.TargetS == nil) || (s.TargetS != nil && *s.TargetS != w.target) {
			t.Errorf("%s target %v, want %d", iv, s.TargetS, w.target)
		}
		if (w.within < 0) != (s.WithinTargetPct == nil) || (s.WithinTargetPct != nil && *s.WithinTargetPct != w.within) {
			t.Errorf("%s within target %v, want %v", iv, s.WithinTargetPct, w.within)
		}
	}
}

// TestReportPercentilesMatchPostgres compares every figure with
// PostgreSQL's own percentile_cont over the same incidents.
func TestReportPercentilesMatchPostgres(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, f.loc)
	// A deterministic spread: some stages missing, some out of order,
	// fractions of seconds, two priorities, three weeks.
	seed := uint64(20260302)
	next := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(n))
	}
	for i := 0; i < 60; i++ {
		received := base.Add(time.Duration(next(21*24*3600))*time.Second + time.Duration(next(1000))*time.Millisecond)
		disp := next(300)
		enr := disp + next(120) - 10 // sometimes before dispatch
		ons := enr + 60 + next(1500)
		clr := ons + next(5000)
		offs := [4]int{disp, enr, ons, clr}
		if next(6) == 0 {
			offs[next(4)] = -1
		}
		prio := strconv.Itoa(1 + next(2))
		f.add(t, received, incident.Form{Priority: prio}, offs)
	}
	// Sub-second stage times, as the server clock records them.
	_, err := f.db.Pool.Exec(context.Background(), `UPDATE incidents SET on_scene_at = on_scene_at + interval '0.437 seconds'`)
	must(t, err)

	var sawMissing, sawInconsistent bool
	for _, by := range []report.GroupBy{report.ByPriority, report.ByAll} {
		res := f.query(t, "2026-03-02", "2026-03-22", by, report.Filters{})
		start, end := res.Query.Range()
		for _, g := range res.Groups {
			cond := "true"
			if by == report.ByPriority {
				cond = "priority = " + g.Key
			}
			for _, d := range report.Definitions {
				from, to := d.From.Column(), d.To.Column()
				var n, missing, inconsistent int
				var pct []float64
				err := f.db.Pool.QueryRow(context.Background(), `SELECT
					count(*) FILTER (WHERE `+to+` >= `+from+`),
					count(*) FILTER (WHERE `+to+` IS NULL OR `+from+` IS NULL),
					count(*) FILTER (WHERE `+to+` < `+from+`),
					percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY extract(epoch FROM `+to+` - `+from+`))
						FILTER (WHERE `+to+` >= `+from+`)
					FROM incidents WHERE received_at >= $1 AND received_at < $2 AND `+cond, start, end).
					Scan(&n, &missing, &inconsistent, &pct)
				must(t, err)
				s := g.Intervals[d.Interval]
				sawMissing, sawInconsistent = sawMissing || missing > 0, sawInconsistent || inconsistent > 0
				if s.N != n || s.Missing != missing || s.Inconsistent != inconsistent {
					t.Errorf("%s %s %s: n=%d missing=%d inconsistent=%d; PostgreSQL %d %d %d", by, g.Key, d.Interval,
						s.N, s.Missing, s.Inconsistent, n, missing, inconsistent)
				}
				for i, got := range []*float64{s.Median, s.P90, s.P95} {
					var want *float64
					if pct != nil {
						want = &pct[i]
					}
					switch {
					case (got == nil) != (want == nil):
						t.Errorf("%s %s %s percentile %d: %v, PostgreSQL %v", by, g.Key, d.Interval, i, got, want)
					case got != nil && math.Abs(*got-*want) > 1:
						t.Errorf("%s %s %s percentile %d: %v, PostgreSQL %v (more than 1 s apart)", by, g.Key, d.Interval, i, *got, *want)
					case got != nil && math.Abs(*got-*want) > 1e-6:
						t.Logf("%s %s %s percentile %d: %v, PostgreSQL %v", by, g.Key, d.Interval, i, *got, *want)
					}
				}
			}
		}
	}
	if !sawMissing || !sawInconsistent {
		t.Errorf("the data set has missing stages: %v, stages out of order: %v; want both", sawMissing, sawInconsistent)
	}
}

func TestReportFilters(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	ctx := context.Background()
	day := func(h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, f.loc) }
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	lenDV := f.add(t, day(9), incident.Form{}, [4]int{60, -1, -1, -1})                                                        // day shift
	f.add(t, day(21), incident.Form{SettlementID: id(f.idp.ID)}, [4]int{60, -1, -1, -1})                                      // night, IDP
	f.add(t, day(10), incident.Form{SettlementID: id(f.town.ID), Priority: "2"}, [4]int{60, -1, -1, -1})                      // day
	f.add(t, day(3), incident.Form{DistrictID: id(f.osh.ID), TypeID: id(f.theft.ID)}, [4]int{60, -1, -1, -1})                 // night, OSH, theft
	f.add(t, day(12), incident.Form{DistrictID: id(f.osh.ID), TypeID: id(f.theft.ID), Priority: "2"}, [4]int{-1, -1, -1, -1}) // day
	f.add(t, day(13), incident.Form{Address: "ul. Lenina 1"}, [4]int{60, -1, -1, -1})                                         // no district
	must(t, f.db.AssignUnit(ctx, lenDV, f.unit.ID, f.actor))

	ptr := func(n int64) *int64 { return &n }
	two := 2
	tests := []struct {
		name    string
		filters report.Filters
		want    int
	}{
		{"none", report.Filters{}, 6},
		{"district LEN", report.Filters{DistrictID: &f.district.ID}, 3},
		{"district OSH", report.Filters{DistrictID: &f.osh.ID}, 2},
		{"settlement", report.Filters{SettlementID: &f.town.ID}, 1},
		{"IDP settlements only", report.Filters{IDPOnly: true}, 1},
		{"priority 2", report.Filters{Priority: &two}, 2},
		{"type theft", report.Filters{TypeID: &f.theft.ID}, 2},
		{"DV only", report.Filters{DVOnly: true}, 4},
		{"day shift", report.Filters{Shift: report.DayShift}, 4},
		{"night shift", report.Filters{Shift: report.NightShift}, 2},
		{"unit", report.Filters{UnitID: &f.unit.ID}, 1},
		{"other unit", report.Filters{UnitID: &f.unit2.ID}, 0},
		{"unknown district", report.Filters{DistrictID: ptr(999999)}, 0},
		{"combined", report.Filters{DistrictID: &f.district.ID, DVOnly: true, Shift: report.DayShift}, 2},
	}
	for _, tt := range tests {
		if got := incidents(f.query(t, "2026-03-01", "2026-03-01", report.ByAll, tt.filters)); got != tt.want {
			t.Errorf("%s: %d incidents, want %d", tt.name, got, tt.want)
		}
	}

	// Group keys and labels.
	res := f.query(t, "2026-03-01", "2026-03-01", report.BySettlement, report.Filters{})
	var keys, labels []string
	for _, g := range res.Groups {
		keys, labels = append(keys, g.Key), append(labels, g.Label)
	}
	if got, want := len(keys), 3; got != want || keys[0] != "LEN/Ak-Jol" || keys[1] != "LEN/Kara-Balta" || keys[2] != report.NoneKey {
		t.Errorf("settlement keys %q, want LEN/Ak-Jol, LEN/Kara-Balta, none", keys)
	} else if labels[0] != "Ak-Jol (IDP settlement)" {
		t.Errorf("IDP settlement label %q", labels[0])
	}
	res = f.query(t, "2026-03-01", "2026-03-01", report.ByDistrict, report.Filters{})
	if len(res.Groups) != 3 || res.Groups[0].Key != "LEN" || res.Groups[1].Key != "OSH" || res.Groups[2].Key != report.NoneKey {
		t.Errorf("district groups %+v, want LEN, OSH, none", res.Groups)
	}
	res = f.query(t, "2026-03-01", "2026-03-01", report.ByType, report.Filters{})
	if len(res.Groups) != 2 || res.Groups[0].Key != f.typ.Code || res.Groups[1].Key != "THEFT" || res.Groups[1].Incidents != 2 {
		t.Errorf("type groups %+v", res.Groups)
	}
}

func TestReportRefusesInvalidQuery(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	_, err := f.db.ResponseTimes(context.Background(), report.Query{From: report.Date{Year: 2026, Month: 3, Day: 2},
		To: report.Date{Year: 2026, Month: 3, Day: 1}, Location: f.loc, GroupBy: report.ByAll})
	if err == nil {
		t.Error("a query whose last day comes before its first was computed")
	}
}

// TestResponseTimesMultiMatchesSeparate checks that several groupings
// computed at once give exactly what ResponseTimes gives for each grouping
// alone, on random incidents with missing and out-of-order stages.
func TestResponseTimesMultiMatchesSeparate(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	ctx := context.Background()
	ninety := 90
	must(t, f.db.SavePriority(ctx, &refdata.Priority{Level: 2, Label: "Urgent", Targets: map[refdata.Interval]*int{
		refdata.CallProcessing: &ninety, refdata.Travel: &ninety}}, false, 2, f.actor))
	r := rand.New(rand.NewPCG(7, 11))
	randomIncidents(t, f, r, "A", 900, reportTestFrom, reportTestTo)
	p2 := 2
	filters := []report.Filters{{}, {Priority: &p2}, {DistrictID: &f.district.ID, DVOnly: true}}
	sets := [][]report.GroupBy{
		{report.ByAll, report.ByPriority, report.ByDistrict},
		{report.ByDistrict, report.ByWeek, report.ByAll, report.BySettlement},
	}
	for _, rg := range reportTestRanges[:4] {
		for fi, flt := range filters {
			for _, gbs := range sets {
				q := report.Query{Location: f.loc, GroupBy: report.ByDistrict, Filters: flt}
				q.From, _ = report.ParseDate(rg[0])
				q.To, _ = report.ParseDate(rg[1])
				got, err := f.db.ResponseTimesMulti(ctx, q, gbs)
				must(t, err)
				if len(got) != len(gbs) {
					t.Fatalf("%d results for %d groupings", len(got), len(gbs))
				}
				for i, gb := range gbs {
					gq := q
					gq.GroupBy = gb
					want, err := f.db.ResponseTimes(ctx, gq)
					must(t, err)
					if !reflect.DeepEqual(got[i], want) {
						t.Errorf("%s..%s filters %d groupings %v: by %s differs from ResponseTimes:\n got %+v\nwant %+v",
							rg[0], rg[1], fi, gbs, gb, got[i], want)
					}
				}
			}
		}
	}
	// An invalid query is refused as ResponseTimes refuses it.
	bad := report.Query{Location: f.loc, From: report.Date{Year: 2026, Month: 3, Day: 2}, To: report.Date{Year: 2026, Month: 3, Day: 1}}
	if _, err := f.db.ResponseTimesMulti(ctx, bad, []report.GroupBy{report.ByAll}); err == nil {
		t.Errorf("ResponseTimesMulti accepted a range ending before it starts")
	}
}
