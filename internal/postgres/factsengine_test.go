package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// referenceFacts reads every incident as a facts.Row the plain way (one
// query, durations by report.Duration): what LoadFacts must give.
func referenceFacts(t *testing.T, db *postgres.DB) []facts.Row {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Pool.Query(ctx, `SELECT i.id, i.received_at, i.dispatched_at, i.en_route_at, i.on_scene_at, i.cleared_at,
		i.priority, coalesce(i.district_id, 0), coalesce(i.settlement_id, 0), i.type_id, i.corrections > 0,
		coalesce(i.victim_sex, ''), coalesce(i.victim_age, -1), i.source = 'import',
		coalesce((SELECT array_agg(DISTINCT u.unit_id ORDER BY u.unit_id) FROM incident_units u WHERE u.incident_id = i.id), '{}'),
		coalesce(ceil(extract(epoch FROM i.received_at - (SELECT max(j.received_at) FROM incident_persons b
			JOIN incident_persons x ON x.person_id = b.person_id AND x.role = 'victim'
			JOIN incidents j ON j.id = x.incident_id JOIN incident_types jt ON jt.id = j.type_id AND jt.is_dv
			WHERE b.incident_id = i.id AND b.role = 'victim' AND j.received_at < i.received_at)))::int8, -1)
		FROM incidents i ORDER BY i.id`)
	must(t, err)
	defer rows.Close()
	var out []facts.Row
	for rows.Next() {
		var r facts.Row
		var st report.Stamps
		var gap int64
		must(t, rows.Scan(&r.ID, &st.Received, &st.Dispatched, &st.EnRoute, &st.OnScene, &st.Cleared, &r.Priority,
			&r.DistrictID, &r.SettlementID, &r.TypeID, &r.Corrected, &r.VictimSex, &r.VictimAge, &r.Imported, &r.Units, &gap))
		r.Received = st.Received
		r.RepeatGap = int32(min(gap, math.MaxInt32))
		for i, d := range report.Definitions {
			secs, s := st.Interval(d)
			switch s {
			case report.Missing:
				r.Dur[i] = facts.Missing
			case report.Inconsistent:
				r.Dur[i] = facts.OutOfOrder
			default:
				r.Dur[i] = int32(math.Ceil(secs))
			}
		}
		out = append(out, r)
	}
	must(t, rows.Err())
	return out
}

// loadStore fills a store from rows, as a Syncer's full load does.
func loadStore(t *testing.T, loc *time.Location, rows []facts.Row) *facts.Store {
	s := facts.NewStore(loc)
	l := s.StartLoad()
	for _, r := range rows {
		must(t, l.Add(r))
	}
	s.Replace(l, time.Now())
	return s
}

// engineData gives the random incidents of randomIncidents settlements,
// victims and units, so that every filter and grouping selects some.
func engineData(t *testing.T, f *reportFixture, r *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	_, err := f.db.Pool.Exec(ctx, `UPDATE incidents SET
		settlement_id = CASE WHEN district_id = $1 THEN (ARRAY[$2, $3, NULL]::bigint[])[1 + id % 3] END,
		victim_sex = (ARRAY['female', 'male', 'other', NULL])[1 + id % 4],
		victim_age = CASE WHEN id % 5 = 0 THEN NULL ELSE (id * 7) % 90 END,
		source = CASE WHEN id % 9 = 0 THEN 'import' ELSE source END`, f.district.ID, f.idp.ID, f.town.ID)
	must(t, err)
	// A fifth stay on scene 4.5 to 18 hours, so that the 90th and 95th
	// percentiles of on scene and total fall where the store counts
	// durations by the minute and reads the seconds in a second pass.
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET cleared_at = on_scene_at
		+ make_interval(secs => 16384 + (id * 7919) % 49000 + (id % 1000) / 1000.0)
		WHERE id % 5 = 2 AND on_scene_at IS NOT NULL`)
	must(t, err)
	// Units: none, one, two or three (the store keeps two on the row and
	// the rest aside), some assigned twice.
	_, err = f.db.Pool.Exec(ctx, `INSERT INTO incident_units (incident_id, unit_id, assigned_at)
		SELECT i.id, u.id, i.received_at + make_interval(secs => n)
		FROM incidents i CROSS JOIN generate_series(1, 3) n
		JOIN units u ON u.id = (ARRAY[$1, $2]::bigint[])[1 + (i.id + n) % 2]
		WHERE n <= i.id % 4`, f.unit.ID, f.unit2.ID)
	must(t, err)
	linkVictims(t, f, 0)
	_ = r
}

// linkVictims links the victims of most incidents to 60 persons (k moves
// who is whom), so that many have an earlier DV incident, some within a
// year and some not, some of other types.
func linkVictims(t *testing.T, f *reportFixture, k int) {
	t.Helper()
	ctx := context.Background()
	_, err := f.db.Pool.Exec(ctx, `WITH p AS (INSERT INTO persons (created_at) SELECT now() FROM generate_series(1, 60) RETURNING id),
			n AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM p)
		INSERT INTO incident_persons (incident_id, role, person_id)
		SELECT i.id, 'victim', n.id FROM incidents i JOIN n ON n.k = (i.id * 7 + $1) % 60
		WHERE i.id % 6 <> 0 AND NOT EXISTS (SELECT 1 FROM incident_persons x WHERE x.incident_id = i.id AND x.role = 'victim')`, k)
	must(t, err)
}

func TestFactsEngineMatchesNaive(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	randomIncidents(t, f, r, "E", 1500, reportTestFrom, reportTestTo)
	engineData(t, f, r)
	// Targets changed within the ranges: each incident is judged by the
	// target in force on its local day.
	thirty := 30
	must(t, f.db.SavePriority(ctx, &refdata.Priority{Level: 2, Label: "Urgent", TargetsFrom: refdata.Day(2026, 3, 5),
		Targets: map[refdata.Interval]*int{refdata.CallProcessing: &thirty}}, false, 2, f.actor))

	ref := referenceFacts(t, f.db)
	// The feed's rows are the reference's.
	fed, _ := loadFacts(t, f.db)
	if len(fed) != len(ref) {
		t.Fatalf("LoadFacts gave %d rows, the reference %d", len(fed), len(ref))
	}
	for _, want := range ref {
		if got := fed[want.ID]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("LoadFacts row %+v, want %+v", got, want)
		}
	}
	store := loadStore(t, f.loc, ref)
	// "Today" is inside the ranges: the days before it are sealed and come
	// from the cache once counted, the others are read each time.
	store.SetClock(func() time.Time { return time.Date(2026, 3, 20, 12, 0, 0, 0, f.loc) })
	src := facts.Source{Store: store, Ref: f.db, Fallback: failingFallback{t}}
	applyChanges(t, f, store, r, 0)
	p1, p2 := 1, 2
	filters := []report.Filters{{}, {DVOnly: true}, {Priority: &p2}, {DistrictID: &f.district.ID, DVOnly: true},
		{SettlementID: &f.idp.ID}, {IDPOnly: true}, {TypeID: &f.theft.ID}, {Shift: report.NightShift},
		{Shift: report.DayShift, Priority: &p1}, {UnitID: &f.unit.ID}, {UnitID: &f.unit2.ID, DVOnly: true},
		{DistrictID: &f.osh.ID, TypeID: &f.typ.ID}}
	ranges := append(reportTestRanges[:0:0], reportTestRanges...)
	ranges = append(ranges, [2]string{"2025-12-29", "2026-01-04"}, [2]string{"2024-06-01", "2026-05-31"})
	engineRound(t, f, src, ranges, filters, 0)
	// The sealed-days cache: a few queries (their counts fit the cache)
	// are counted and kept; changes to sealed and open days are put in
	// place, and entries of changed days must not be used; then the same
	// queries come from the cache.
	ranges, filters = ranges[:4], filters[:3]
	engineRound(t, f, src, ranges, filters, 0)
	hits0, _ := store.CacheStats()
	applyChanges(t, f, store, r, 1)
	engineRound(t, f, src, ranges, filters, 1)
	engineRound(t, f, src, ranges, filters, 2)
	if hits, misses := store.CacheStats(); hits-hits0 < len(ranges)*len(filters) {
		t.Errorf("the sealed-days cache answered %d times (%d misses); want at least every query of the last round", hits-hits0, misses)
	}
}

func engineRound(t *testing.T, f *reportFixture, src facts.Source, ranges [][2]string, filters []report.Filters, round int) {
	t.Helper()
	ctx := context.Background()
	for _, rg := range ranges {
		for fi, flt := range filters {
			q := report.Query{Location: f.loc, Filters: flt}
			q.From, _ = report.ParseDate(rg[0])
			q.To, _ = report.ParseDate(rg[1])
			got, err := src.ResponseTimesMulti(ctx, q, report.GroupBys)
			must(t, err)
			if round == 2 { // asked again at once: from the cache
				got, err = src.ResponseTimesMulti(ctx, q, report.GroupBys)
				must(t, err)
			}
			// The DV incidents logged here, as the follow-through figures
			// count them.
			dv, ok, err := src.CountDV(ctx, q, nil)
			must(t, err)
			want, err := f.db.FollowThrough(ctx, q, time.Now())
			must(t, err)
			if !ok || dv != want.DVIncidents {
				t.Errorf("%s..%s filters %d: %d DV incidents (served %v), the database %d", rg[0], rg[1], fi, dv, ok, want.DVIncidents)
			}
			// The repeat-rate figures, every grouping.
			rq := q
			rq.GroupBy = report.ByAll
			reps, ok, err := src.RepeatRates(ctx, rq, report.RepeatGroupings, nil)
			must(t, err)
			wantReps, err := f.db.RepeatRatesMulti(ctx, rq, report.RepeatGroupings)
			must(t, err)
			if !ok {
				t.Errorf("%s..%s filters %d: the store did not give the repeat rates", rg[0], rg[1], fi)
			} else {
				sameRepeats(t, fmt.Sprintf("round %d: %s..%s filters %d", round, rg[0], rg[1], fi), reps, wantReps)
			}
			for i, by := range report.GroupBys {
				q.GroupBy = by
				want, err := f.db.ResponseTimesNaive(ctx, q)
				must(t, err)
				sameResult(t, fmt.Sprintf("round %d: %s..%s by %s filters %d", round, rg[0], rg[1], by, fi), got[i], want)
			}
		}
	}
}

// sameRepeats compares the store's repeat-rate figures with the
// database's: counts exact, medians within the 1 s the store rounds to.
func sameRepeats(t *testing.T, what string, got, want [][]report.RepeatFigure) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d groupings, want %d", what, len(got), len(want))
	}
	for g := range want {
		if len(got[g]) != len(want[g]) {
			t.Errorf("%s grouping %d: %d groups %+v, want %d %+v", what, g, len(got[g]), got[g], len(want[g]), want[g])
			continue
		}
		for i, w := range want[g] {
			x := got[g][i]
			if x.Key != w.Key || x.Label != w.Label || x.Incidents != w.Incidents || x.Repeats != w.Repeats {
				t.Errorf("%s grouping %d: %q %q %d/%d, want %q %q %d/%d", what, g, x.Key, x.Label, x.Repeats, x.Incidents,
					w.Key, w.Label, w.Repeats, w.Incidents)
			}
			if (x.MedianDays == nil) != (w.MedianDays == nil) ||
				x.MedianDays != nil && math.Abs(*x.MedianDays-*w.MedianDays) > 1.0/86400+1e-9 {
				t.Errorf("%s grouping %d %q: median %v days, want %v", what, g, w.Key, fmtPtr(x.MedianDays), fmtPtr(w.MedianDays))
			}
		}
	}
}

// failingFallback fails the test when the store did not answer.
type failingFallback struct{ t *testing.T }

func (f failingFallback) ResponseTimes(ctx context.Context, q report.Query) (report.Result, error) {
	f.t.Fatalf("the store did not answer %v", q.Values())
	return report.Result{}, nil
}

func (f failingFallback) ResponseTimesMulti(ctx context.Context, q report.Query, gbs []report.GroupBy) ([]report.Result, error) {
	f.t.Fatalf("the store did not answer %v", q.Values())
	return nil, nil
}

// sameGroup compares a store's breakdown group with the database's.
func sameGroup(t *testing.T, what string, got facts.Group, want postgres.DashboardGroup) {
	t.Helper()
	if got.Key != want.Key || got.Incidents != want.Incidents || got.N != want.N || got.Missing != want.Missing ||
		got.Inconsistent != want.Inconsistent {
		t.Errorf("%s: %q %d incidents %d/%d/%d, want %q %d incidents %d/%d/%d", what, got.Key, got.Incidents, got.N, got.Missing,
			got.Inconsistent, want.Key, want.Incidents, want.N, want.Missing, want.Inconsistent)
		return
	}
	if (got.TargetS == nil) != (want.TargetS == nil) || got.TargetS != nil && *got.TargetS != *want.TargetS {
		t.Errorf("%s: target %v, want %v", what, fmtPtr(got.TargetS), fmtPtr(want.TargetS))
	}
	if (got.WithinTargetPct == nil) != (want.WithinTargetPct == nil) ||
		got.WithinTargetPct != nil && math.Abs(*got.WithinTargetPct-*want.WithinTargetPct) > 1e-9 {
		t.Errorf("%s: within target %v, want %v", what, fmtPtr(got.WithinTargetPct), fmtPtr(want.WithinTargetPct))
	}
	for _, p := range []struct {
		name      string
		got, want *float64
	}{{"median", got.Median, want.Median}, {"p90", got.P90, want.P90}, {"p95", got.P95, want.P95}} {
		if (p.got == nil) != (p.want == nil) {
			t.Errorf("%s: %s %v, want %v", what, p.name, fmtPtr(p.got), fmtPtr(p.want))
		} else if p.got != nil && !(*p.got >= *p.want-1e-6 && *p.got < *p.want+1) {
			t.Errorf("%s: %s %.6f, want %.6f (+1 s)", what, p.name, *p.got, *p.want)
		}
	}
}

func TestFactsBreakdownsMatchDatabase(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	randomIncidents(t, f, r, "K", 1200, reportTestFrom, reportTestTo)
	engineData(t, f, r)
	store := loadStore(t, f.loc, referenceFacts(t, f.db))
	src := facts.Source{Store: store, Ref: f.db, Fallback: failingFallback{t}}
	p2 := 2
	for _, rg := range [][2]string{{"2026-01-20", "2026-04-09"}, {"2025-10-01", "2026-04-09"}, {"2026-03-01", "2026-03-01"}} {
		for fi, flt := range []report.Filters{{}, {DVOnly: true}, {Priority: &p2, Shift: report.NightShift}, {UnitID: &f.unit.ID},
			{IDPOnly: true}} {
			for _, d := range report.Definitions {
				q := report.Query{Location: f.loc, GroupBy: report.ByPriority, Filters: flt}
				q.From, _ = report.ParseDate(rg[0])
				q.To, _ = report.ParseDate(rg[1])
				what := fmt.Sprintf("%s..%s filters %d %s", rg[0], rg[1], fi, d.Interval)
				got, ok, err := src.Breakdowns(ctx, q, d.Interval, []report.GroupBy{report.ByAll, report.ByPriority, report.ByDistrict},
					[]report.GroupBy{report.BySettlement, report.ByWeek}, 10, nil)
				must(t, err)
				if !ok {
					t.Fatalf("%s: the store did not answer", what)
				}
				want, err := f.db.DashboardExtras(ctx, q, postgres.DashboardOptions{Interval: d.Interval, Slowest: 10})
				must(t, err)
				sameGroup(t, what+" all", got.All, want.All)
				if len(got.BySex) != len(want.BySex) || len(got.ByAgeBand) != len(want.ByAgeBand) || len(got.ByHour) != len(want.ByHour) {
					t.Errorf("%s: %d/%d/%d sex/age/hour groups, want %d/%d/%d", what, len(got.BySex), len(got.ByAgeBand),
						len(got.ByHour), len(want.BySex), len(want.ByAgeBand), len(want.ByHour))
					continue
				}
				for i := range want.BySex {
					sameGroup(t, what+" sex", got.BySex[i], want.BySex[i])
				}
				for i := range want.ByAgeBand {
					sameGroup(t, what+" age", got.ByAgeBand[i], want.ByAgeBand[i])
				}
				for i, w := range want.ByHour {
					g := got.ByHour[i]
					if g.Weekday != w.Weekday || g.Hour != w.Hour {
						t.Errorf("%s: cell %d is %d-%d, want %d-%d", what, i, g.Weekday, g.Hour, w.Weekday, w.Hour)
						continue
					}
					sameGroup(t, what+" hour", g.Group, w.DashboardGroup)
				}
				// Every incident of the slowest list is among the candidates.
				for _, s := range want.Slowest {
					if !slices.Contains(got.Slowest, s.ID) {
						t.Errorf("%s: slowest incident %d (%.1f s) not among the %d candidates", what, s.ID, s.Seconds, len(got.Slowest))
					}
				}
				if len(want.Slowest) == 10 && len(got.Slowest) > 40 {
					t.Errorf("%s: %d candidates for a list of 10", what, len(got.Slowest))
				}
				// The groupings for every interval equal the report's.
				for _, gb := range []report.GroupBy{report.ByAll, report.ByPriority, report.ByDistrict} {
					q.GroupBy = gb
					want, err := f.db.ResponseTimesNaive(ctx, q)
					must(t, err)
					sameResult(t, what+" "+string(gb), got.Reports[gb], want)
				}
				// The groupings for one interval equal the report's for
				// that interval, and leave the others empty.
				for _, gb := range []report.GroupBy{report.BySettlement, report.ByWeek} {
					q.GroupBy = gb
					want, err := f.db.ResponseTimesNaive(ctx, q)
					must(t, err)
					for _, g := range want.Groups {
						for _, other := range report.Definitions {
							if other.Interval != d.Interval {
								g.Intervals[other.Interval] = report.Summary{}
							}
						}
					}
					sameResult(t, what+" "+string(gb), got.Reports[gb], want)
				}
			}
		}
	}
}

// applyChanges changes a third of the incidents in the database (stages,
// received days, priorities, units; some deleted, some added) and puts
// only those in the store, as a Syncer does from the change log.
func applyChanges(t *testing.T, f *reportFixture, store *facts.Store, r *rand.Rand, k int) {
	t.Helper()
	ctx := context.Background()
	before := referenceFacts(t, f.db)
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := f.db.Pool.Exec(ctx, sql, args...)
		must(t, err)
	}
	exec(`UPDATE incidents SET on_scene_at = on_scene_at + interval '97.5 seconds' WHERE (id + $1) % 7 = 1`, k)
	exec(`UPDATE incidents SET received_at = received_at - interval '3 days', priority = 3 - priority WHERE (id + $1) % 11 = 2`, k)
	exec(`UPDATE incidents SET dispatched_at = NULL, corrections = corrections + 1 WHERE (id + $1) % 13 = 3`, k)
	exec(`DELETE FROM incident_units WHERE (incident_id + $1) % 17 = 4`, k)
	exec(`INSERT INTO incident_units (incident_id, unit_id, assigned_at)
		SELECT id, $1, received_at FROM incidents WHERE (id + $2) % 19 = 5 ON CONFLICT DO NOTHING`, f.unit2.ID, k)
	// Links undone, persons merged, incidents changing type.
	exec(`DELETE FROM incident_persons WHERE (incident_id + $1) % 29 = 7`, k)
	exec(`UPDATE incident_persons SET person_id = (SELECT min(person_id) FROM incident_persons)
		WHERE person_id IN (SELECT DISTINCT person_id FROM incident_persons ORDER BY person_id DESC LIMIT 3)`)
	exec(`UPDATE incidents SET type_id = CASE WHEN type_id = $2 THEN $3 ELSE $2 END WHERE (id + $1) % 31 = 8`, k, f.theft.ID, f.typ.ID)
	exec(`DELETE FROM incident_units WHERE incident_id IN (SELECT id FROM incidents WHERE (id + $1) % 23 = 6)`, k)
	exec(`DELETE FROM incident_persons WHERE incident_id IN (SELECT id FROM incidents WHERE (id + $1) % 23 = 6)`, k)
	exec(`DELETE FROM incidents WHERE (id + $1) % 23 = 6`, k)
	randomIncidents(t, f, r, fmt.Sprintf("N%d", k), 200, reportTestFrom, reportTestTo)
	linkVictims(t, f, k+1)
	after := referenceFacts(t, f.db)
	old := map[int64]facts.Row{}
	for _, row := range before {
		old[row.ID] = row
	}
	var changed []facts.Row
	for _, row := range after {
		if o, ok := old[row.ID]; !ok || fmt.Sprint(o) != fmt.Sprint(row) {
			changed = append(changed, row)
		}
		delete(old, row.ID)
	}
	var gone []int64
	for id := range old {
		gone = append(gone, id)
	}
	if len(changed) < 300 || len(gone) < 40 {
		t.Fatalf("only %d changed and %d deleted incidents", len(changed), len(gone))
	}
	store.Apply(changed, gone)
	if store.Len() != len(after) {
		t.Fatalf("store holds %d incidents, the database %d", store.Len(), len(after))
	}
}
