package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// spreadIncidents adds n incidents received between 20 January and 10
// April 2026 (Bishkek): some at a local midnight, stage times with
// fractions of seconds, missing, out of order, near the targets and over
// a day, every place, both types, victims' sex and age recorded or not.
func (f *dashFixture) spreadIncidents(t *testing.T, r *rand.Rand, n int) []int64 {
	t.Helper()
	start := time.Date(2025, 10, 1, 0, 0, 0, 0, f.loc)
	span := time.Date(2026, 4, 10, 0, 0, 0, 0, f.loc).Sub(start)
	places := []struct{ district, settlement string }{{"LEN", ""}, {"LEN", "Ak-Jol"}, {"LEN", "Kara-Balta"}, {"OSH", ""},
		{"OSH", "Nur"}, {"", ""}, {"OSH", "Ak-Jol"}} // the last: a settlement of another district
	var ids []int64
	for range n {
		rec := start.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Microsecond)
		if r.IntN(15) == 0 {
			rec = report.DateOf(rec, f.loc).Start(f.loc)
		}
		in := dashIncident{received: rec, typ: "DV", priority: 1 + r.IntN(3)}
		if r.IntN(4) == 0 {
			in.typ = "THEFT"
		}
		p := places[r.IntN(len(places))]
		in.district, in.settlement = p.district, p.settlement
		switch r.IntN(5) {
		case 0:
		case 1:
			in.sex = "male"
		case 2:
			in.sex = "other"
		default:
			in.sex = "female"
		}
		if r.IntN(4) > 0 {
			in.age = sec(r.IntN(100))
		}
		id := f.add(t, in)
		// Stage times with fractions, set directly.
		var stamps [4]*time.Time
		prev := rec
		for s := range 4 {
			var secs float64
			switch x := r.IntN(100); {
			case x < 7:
				continue
			case x < 10:
				secs = -r.Float64() * 120
			case x < 12:
				secs = 86400 + r.Float64()*200000
			case x < 30:
				secs = float64(55+r.IntN(10)) + float64(r.IntN(3))*0.5 + 540*float64(r.IntN(3))
			default:
				secs = math.Exp(2 + r.Float64()*6)
			}
			at := prev.Add(time.Duration(secs * 1e9)).Truncate(time.Microsecond)
			stamps[s] = &at
			if secs >= 0 {
				prev = at
			}
		}
		f.exec(t, `UPDATE incidents SET dispatched_at = $2, en_route_at = $3, on_scene_at = $4, cleared_at = $5 WHERE id = $1`,
			id, stamps[0], stamps[1], stamps[2], stamps[3])
		ids = append(ids, id)
	}
	return ids
}

// dashNaive computes the dashboard's figures from the incidents, the
// dashboard rollups switched off for the call.
func dashNaive(t *testing.T, f *dashFixture, q report.Query, opt postgres.DashboardOptions) postgres.DashboardFigures {
	t.Helper()
	ctx := context.Background()
	var saved string
	must(t, f.db.Pool.QueryRow(ctx, `DELETE FROM app_settings WHERE key = $1 RETURNING value`, postgres.DashTargetsKey).Scan(&saved))
	defer f.exec(t, `INSERT INTO app_settings (key, value) VALUES ($1, $2)`, postgres.DashTargetsKey, saved)
	fig, err := f.db.DashboardExtras(ctx, q, opt)
	must(t, err)
	if fig.FromRollups || len(fig.Reports) > 0 {
		t.Fatal("the dashboard rollups answered with their state removed")
	}
	return fig
}

// nearSummary compares a rollup summary with the exact one: counts and
// targets equal, within target to 1e-9, percentiles at most 1 s above.
func nearSummary(t *testing.T, what string, got, want report.Summary) {
	t.Helper()
	bad := got.N != want.N || got.Missing != want.Missing || got.Inconsistent != want.Inconsistent ||
		(got.TargetS == nil) != (want.TargetS == nil) || got.TargetS != nil && *got.TargetS != *want.TargetS ||
		(got.WithinTargetPct == nil) != (want.WithinTargetPct == nil) ||
		got.WithinTargetPct != nil && math.Abs(*got.WithinTargetPct-*want.WithinTargetPct) > 1e-9
	for _, p := range [][2]*float64{{got.Median, want.Median}, {got.P90, want.P90}, {got.P95, want.P95}} {
		if (p[0] == nil) != (p[1] == nil) || p[0] != nil && !(*p[0] >= *p[1]-1e-6 && *p[0] < *p[1]+1) {
			bad = true
		}
	}
	if bad {
		t.Errorf("%s:\n got %s\nwant %s", what, fmtSummary(got), fmtSummary(want))
	}
}

func sameGroups(t *testing.T, what string, got, want []postgres.DashboardGroup) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d groups, want %d", what, len(got), len(want))
		return
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].Incidents != want[i].Incidents {
			t.Errorf("%s: group %d is %q/%d, want %q/%d", what, i, got[i].Key, got[i].Incidents, want[i].Key, want[i].Incidents)
			continue
		}
		nearSummary(t, what+" "+want[i].Key, got[i].Summary, want[i].Summary)
	}
}

// compareDashboard checks the rollup-backed figures against the naive ones
// and the report groupings against ResponseTimesNaive, for every interval.
func compareDashboard(t *testing.T, f *dashFixture, q report.Query, what string, ivs []refdata.Interval) {
	t.Helper()
	ctx := context.Background()
	for _, iv := range ivs {
		opt := postgres.DashboardOptions{Interval: iv, Now: time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC),
			Reports: []report.GroupBy{report.BySettlement, report.ByWeek}}
		got, err := f.db.DashboardExtras(ctx, q, opt)
		must(t, err)
		w := fmt.Sprintf("%s %s..%s %s", what, q.From, q.To, iv)
		if !got.FromRollups {
			t.Fatalf("%s: the dashboard rollups did not answer", w)
		}
		want := dashNaive(t, f, q, opt)
		sameGroups(t, w+" all", []postgres.DashboardGroup{got.All}, []postgres.DashboardGroup{want.All})
		sameGroups(t, w+" by sex", got.BySex, want.BySex)
		sameGroups(t, w+" by age", got.ByAgeBand, want.ByAgeBand)
		sameGroups(t, w+" by hour", cellGroups(got.ByHour), cellGroups(want.ByHour))
		if got.Actions != want.Actions {
			t.Errorf("%s: actions %+v, want %+v", w, got.Actions, want.Actions)
		}
		slow := func(xs []postgres.SlowIncident) string {
			var out []string
			for _, x := range xs {
				out = append(out, fmt.Sprintf("%d:%v:%v", x.ID, x.Seconds, fmtPtr(x.TargetS)))
			}
			return fmt.Sprint(out)
		}
		if a, b := slow(got.Slowest), slow(want.Slowest); a != b {
			t.Errorf("%s: slowest %s, want %s", w, a, b)
		}
		for _, by := range opt.Reports {
			res, ok := got.Reports[by]
			if !ok {
				t.Errorf("%s: no %s report from the rollups", w, by)
				continue
			}
			gq := q
			gq.GroupBy = by
			exact, err := f.db.ResponseTimesNaive(ctx, gq)
			must(t, err)
			if len(res.Groups) != len(exact.Groups) {
				t.Errorf("%s by %s: %d groups, want %d", w, by, len(res.Groups), len(exact.Groups))
				continue
			}
			for i, eg := range exact.Groups {
				g := res.Groups[i]
				if g.Key != eg.Key || g.Label != eg.Label || g.Incidents != eg.Incidents || g.Corrected != eg.Corrected {
					t.Errorf("%s by %s: group %d %q %q %d/%d, want %q %q %d/%d", w, by, i, g.Key, g.Label, g.Incidents, g.Corrected,
						eg.Key, eg.Label, eg.Incidents, eg.Corrected)
					continue
				}
				nearSummary(t, fmt.Sprintf("%s by %s %s", w, by, eg.Key), g.Intervals[iv], eg.Intervals[iv])
			}
		}
	}
}

// dashState reads the dashboard rollups (empty rows left out, durations
// and records sorted), to compare kept and rebuilt ones.
func dashState(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, sql := range []string{
		`SELECT concat_ws(' ', 'c', dim, district_id, dv, grain, month, key), concat_ws(' ', incidents, corrected, prios::text, missing::text,
			inconsistent::text, with_target::text, within::text) FROM dash_cells
			WHERE incidents <> 0 OR corrected <> 0 OR prios <> '{0,0,0,0,0,0,0,0,0}'`,
		`SELECT concat_ws(' ', 'h', dim, district_id, dv, iv, grain, month, key), concat_ws(' ', n, rtrim(encode(hist, 'hex'), '0'),
			(SELECT array_agg(x ORDER BY x) FROM unnest(over) x)::text) FROM dash_hist WHERE n <> 0 OR cardinality(over) > 0`,
		`SELECT concat_ws(' ', 'f', dim, district_id, dv, iv, key, bucket, grain, month), encode(counts, 'hex') FROM dash_fine
			WHERE counts <> ''::bytea AND ltrim(encode(counts, 'hex'), '0') <> ''`,
		`SELECT concat_ws(' ', 'd', day, district_id, is_dv), (SELECT string_agg(encode(substring(recs FROM 32 * i + 1 FOR 32), 'hex'), ','
			ORDER BY encode(substring(recs FROM 32 * i + 1 FOR 32), 'hex')) FROM generate_series(0, length(recs) / 32 - 1) i)
			FROM dash_days WHERE length(recs) > 0`,
	} {
		rows, err := db.Pool.Query(ctx, sql)
		must(t, err)
		for rows.Next() {
			var k, v string
			must(t, rows.Scan(&k, &v))
			out[k] = v
		}
		must(t, rows.Err())
	}
	return out
}

func checkDashAgainstRebuild(t *testing.T, db *postgres.DB, step string) {
	t.Helper()
	kept := dashState(t, db)
	must(t, db.RebuildDashRollups(context.Background()))
	rebuilt := dashState(t, db)
	if len(rebuilt) == 0 {
		t.Fatalf("%s: rebuilt dashboard rollups are empty", step)
	}
	sameState(t, step, kept, rebuilt)
}

func TestDashboardRollupsMatchNaive(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(9, 2026))
	// Half written before the rollups are built, half after (triggers).
	ids := f.spreadIncidents(t, r, 250)
	must(t, f.db.RebuildRollups(ctx, f.loc))
	ids = append(ids, f.spreadIncidents(t, r, 250)...)
	checkDashAgainstRebuild(t, f.db, "intake")

	// Corrections after the fact, moves between districts and settlements,
	// victims' details changed, received times moved over a local
	// midnight and a month end, deletes, a type no longer DV.
	for i, id := range ids[:120] {
		switch i % 6 {
		case 0:
			f.exec(t, `UPDATE incidents SET on_scene_at = on_scene_at - interval '95 seconds', corrections = corrections + 1 WHERE id = $1`, id)
		case 1:
			f.exec(t, `UPDATE incidents SET district_id = $2, settlement_id = $3 WHERE id = $1`, id, f.ids["district:OSH"], f.ids["settlement:Nur"])
		case 2:
			f.exec(t, `UPDATE incidents SET victim_sex = NULL, victim_age = 61 WHERE id = $1`, id)
		case 3:
			f.exec(t, `UPDATE incidents SET received_at = date_trunc('day', received_at AT TIME ZONE 'Asia/Bishkek') AT TIME ZONE 'Asia/Bishkek'
				- interval '1 microsecond', dispatched_at = NULL, corrections = corrections + 1 WHERE id = $1`, id)
		case 4:
			f.exec(t, `UPDATE incidents SET district_id = NULL, settlement_id = NULL WHERE id = $1`, id)
		case 5:
			f.exec(t, `DELETE FROM incidents WHERE id = $1`, id)
		}
	}
	f.exec(t, `UPDATE incidents SET received_at = timestamptz '2026-02-28 23:59:59.5+06', en_route_at = NULL WHERE id = $1`, ids[200])
	checkDashAgainstRebuild(t, f.db, "corrections and moves")
	f.exec(t, `UPDATE incident_types SET is_dv = false WHERE code = 'THEFT'`) // no-op: it is not
	f.exec(t, `UPDATE incident_types SET is_dv = NOT is_dv WHERE code = 'DV'`)
	f.exec(t, `UPDATE incident_types SET is_dv = NOT is_dv WHERE code = 'DV'`)
	checkDashAgainstRebuild(t, f.db, "type is_dv flipped and back")

	id := func(key string) *int64 { v := f.ids[key]; return &v }
	filters := map[string]report.Filters{
		"none":              {},
		"district":          {DistrictID: id("district:LEN")},
		"DV only":           {DVOnly: true},
		"district, DV only": {DistrictID: id("district:LEN"), DVOnly: true},
		"settlement (s/w)":  {SettlementID: id("settlement:Ak-Jol")},
		"IDP only (s/w)":    {IDPOnly: true},
	}
	ranges := [][2]string{
		{"2026-01-20", "2026-04-09"}, // months and edge days
		{"2026-02-01", "2026-03-31"}, // whole months
		{"2026-02-15", "2026-03-10"}, // days only
		{"2026-03-01", "2026-03-01"}, // one day
		{"2026-01-05", "2026-03-25"}, // a month less days
		{"2025-01-01", "2025-12-31"}, // a calendar year: its year rows
		{"2025-04-01", "2026-03-31"}, // a year less months, plus months
		{"2025-03-20", "2025-12-30"}, // a year less months and days, plus days
		{"2025-07-10", "2026-02-20"}, // months, less and plus days, across a year
		{"2026-01-10", "2026-12-31"}, // a year less days
	}
	for name, fl := range filters {
		for _, rg := range ranges {
			q := f.query(t, rg[0], rg[1], fl)
			if fl.SettlementID != nil || fl.IDPOnly {
				// Only the settlement grouping comes from the rollups; the
				// breakdowns and the weeks read the incidents.
				opt := postgres.DashboardOptions{Interval: refdata.Response, Reports: []report.GroupBy{report.BySettlement, report.ByWeek}}
				got, err := f.db.DashboardExtras(ctx, q, opt)
				must(t, err)
				if _, ok := got.Reports[report.BySettlement]; got.FromRollups || len(got.Reports) != 1 || !ok {
					t.Errorf("%s: from rollups %v, %d reports", name, got.FromRollups, len(got.Reports))
				}
				gq := q
				gq.GroupBy = report.BySettlement
				exact, err := f.db.ResponseTimesNaive(ctx, gq)
				must(t, err)
				res := got.Reports[report.BySettlement]
				if len(res.Groups) != len(exact.Groups) {
					t.Fatalf("%s: %d settlement groups, want %d", name, len(res.Groups), len(exact.Groups))
				}
				for i, eg := range exact.Groups {
					if g := res.Groups[i]; g.Key != eg.Key || g.Incidents != eg.Incidents {
						t.Errorf("%s: settlement group %q %d, want %q %d", name, g.Key, g.Incidents, eg.Key, eg.Incidents)
					} else {
						nearSummary(t, name+" "+eg.Key, g.Intervals[refdata.Response], eg.Intervals[refdata.Response])
					}
				}
				continue
			}
			compareDashboard(t, f, q, name, []refdata.Interval{refdata.Response})
		}
	}

	// Other intervals and a priority filter read the incidents.
	p1 := 1
	for _, c := range []struct {
		iv refdata.Interval
		f  report.Filters
	}{{refdata.Total, report.Filters{}}, {refdata.Response, report.Filters{Priority: &p1}}} {
		fig, err := f.db.DashboardExtras(ctx, f.query(t, "2026-02-01", "2026-03-31", c.f),
			postgres.DashboardOptions{Interval: c.iv, Reports: []report.GroupBy{report.BySettlement}})
		must(t, err)
		if fig.FromRollups || len(fig.Reports) > 0 {
			t.Errorf("%s %+v: the dashboard rollups answered", c.iv, c.f)
		}
	}

	// A target change keeps the dashboard on its rollups (migration 0019):
	// the incidents it applies to are re-judged in the same transaction.
	// One from today (written to priorities directly), one dated in the
	// past in the middle of the range, then that one moved and removed.
	f.exec(t, `UPDATE priorities SET target_response_s = 700 WHERE level = 1`)
	f.exec(t, `INSERT INTO priority_targets (level, effective_from, target_call_processing_s, target_response_s)
		VALUES (2, '2026-03-10', 20, 400)`)
	q := f.query(t, "2026-02-01", "2026-03-31", report.Filters{})
	compareDashboard(t, f, q, "after a past-dated target change", []refdata.Interval{refdata.Response})
	checkDashAgainstRebuild(t, f.db, "after a past-dated target change")
	f.exec(t, `UPDATE priority_targets SET effective_from = '2026-02-20' WHERE level = 2 AND effective_from = '2026-03-10'`)
	compareDashboard(t, f, f.query(t, "2026-02-15", "2026-03-20", report.Filters{}), "after a change moved",
		[]refdata.Interval{refdata.Response})
	f.exec(t, `DELETE FROM priority_targets WHERE level = 2 AND effective_from = '2026-02-20'`)
	checkDashAgainstRebuild(t, f.db, "after a change removed")
}
