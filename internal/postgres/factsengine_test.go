package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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
		i.protection_order_id IS NOT NULL, coalesce(i.violation_found_by = 'police_check', false),
		(SELECT count(*) FROM referrals x WHERE x.incident_id = i.id)::int4,
		(SELECT count(*) FROM referrals x WHERE x.incident_id = i.id AND x.accepted_at IS NOT NULL)::int4,
		(SELECT count(*) FROM danger_screens x WHERE x.incident_id = i.id)::int4,
		coalesce((SELECT bool_or(x.high_danger) FROM danger_screens x WHERE x.incident_id = i.id), false),
		(SELECT count(*) FROM protection_orders x WHERE x.incident_id = i.id)::int4,
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
			&r.DistrictID, &r.SettlementID, &r.TypeID, &r.Corrected, &r.VictimSex, &r.VictimAge, &r.Imported,
			&r.Violation, &r.FoundByPolice, &r.Actions.Referrals, &r.Actions.ReferralsAccepted, &r.Actions.Screens,
			&r.Actions.HighDanger, &r.Actions.Orders, &r.Units, &gap))
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

// loadStore fills a store from rows, and the follow-up tasks and
// protection orders of db when it is not nil, as a Syncer's full load does.
func loadStore(t *testing.T, loc *time.Location, rows []facts.Row, db *postgres.DB) *facts.Store {
	s := facts.NewStore(loc)
	l := s.StartLoad()
	for _, r := range rows {
		must(t, l.Add(r))
	}
	if db != nil {
		must(t, db.LoadFollow(context.Background(), l.AddTask, l.AddOrder))
	}
	s.Replace(l, time.Now())
	return s
}

// followData gives the random incidents follow-up tasks (none to three
// each, due from a week after the call, some closed early, on time or
// late, with every outcome, some without a district), protection orders
// (on a fifth of them, some ended early; and three without an incident)
// and violations of them (found by a police check, the victim, others),
// so that every filter selects some of each. k varies them.
func followData(t *testing.T, f *reportFixture, k int) {
	t.Helper()
	ctx := context.Background()
	_, err := f.db.Pool.Exec(ctx, `INSERT INTO follow_up_tasks (incident_id, district_id, reason, trigger_key, seq, due_at, closed_at, outcome)
		SELECT i.id, CASE WHEN n = 3 THEN NULL ELSE i.district_id END, 'standard', 'e' || $1::int || ':' || i.id, n,
			i.received_at + make_interval(hours => (24 * 7 * n + (i.id * 31) % 100)::int, secs => 0.5),
			CASE WHEN (i.id + n) % 3 > 0 THEN i.received_at + make_interval(hours => (24 * 7 * n + (i.id * 31) % 100 + (i.id * 13) % 9 - 4)::int,
				secs => 0.5) END,
			CASE WHEN (i.id + n) % 3 > 0 THEN (ARRAY['reached_safe', 'not_reached', 'unsafe_contact', 'rescreened', 'superseded'])[1 + (i.id + n) % 5] END
		FROM incidents i CROSS JOIN generate_series(1, 3) n WHERE n <= (i.id + $1::int) % 4`, k)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `INSERT INTO protection_orders (number, kind, incident_id, district_id, protected_name, restrained_name,
			starts_at, ends_at, issued_at, ended_at)
		SELECT 'PO-E' || $1::int || '-' || i.id, 'restraining', i.id, CASE WHEN i.id % 7 <> 0 THEN coalesce(i.district_id, $2) END, 'A', 'B',
			i.received_at + make_interval(secs => (i.id * 7919) % 200000 + 0.25::float8),
			i.received_at + make_interval(days => (1 + i.id % 40)::int, secs => (i.id * 7919) % 200000 + 0.25::float8),
			i.received_at + make_interval(secs => (i.id * 7919) % 200000 + 0.25::float8),
			CASE WHEN i.id % 4 = 0 THEN i.received_at + make_interval(days => (i.id % 10)::int, secs => 1) END
		FROM incidents i WHERE (i.id + $1::int) % 5 = 1 AND NOT EXISTS (SELECT 1 FROM protection_orders o WHERE o.incident_id = i.id)`, k, f.osh.ID)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `INSERT INTO protection_orders (number, kind, district_id, protected_name, restrained_name,
			starts_at, ends_at, issued_at)
		SELECT 'PO-L' || $1::int || '-' || n, 'court', (ARRAY[$2, $3, NULL]::bigint[])[n], 'A', 'B',
			timestamptz '2026-01-10 10:00Z' + make_interval(days => 20 * n), timestamptz '2026-03-10 10:00Z' + make_interval(days => 20 * n),
			timestamptz '2026-01-10 10:00Z' + make_interval(days => 20 * n)
		FROM generate_series(1, 3) n`, k, f.district.ID, f.osh.ID)
	must(t, err)
	// Danger screens (one or two on some incidents, some at high danger)
	// and referrals (some accepted) to a partner.
	_, err = f.db.Pool.Exec(ctx, `INSERT INTO danger_screens (incident_id, answers, yes_count, threshold, high_danger)
		SELECT i.id, '[]', 0, 7, (i.id + n) % 3 = 0 FROM incidents i CROSS JOIN generate_series(1, 2) n
		WHERE n <= (i.id + $1::int) % 5 - 2`, k)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `INSERT INTO partner_orgs (name, kind) VALUES ('Engine shelter', 'shelter') ON CONFLICT DO NOTHING`)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `INSERT INTO referrals (incident_id, partner_id, accepted_at)
		SELECT i.id, (SELECT id FROM partner_orgs WHERE name = 'Engine shelter'), CASE WHEN i.id % 3 = 0 THEN i.received_at END
		FROM incidents i WHERE (i.id + $1::int) % 6 = 4`, k)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET protection_order_id = (SELECT min(id) FROM protection_orders),
			violation_found_by = (ARRAY['police_check', 'victim', 'others'])[1 + id % 3]
		WHERE (id + $1::int) % 10 = 3`, k)
	must(t, err)
}

// followDiff says how the store's follow-through figures got differ from
// the database's want ("" when they agree: counts exactly, the call to
// order's percentiles within 1 s).
func followDiff(got, want report.FollowThrough) string {
	var diffs []string
	for name, p := range map[string][2]int64{"due": {got.Due, want.Due}, "on time": {got.OnTime, want.OnTime},
		"late": {got.Late, want.Late}, "overdue": {got.Overdue, want.Overdue}, "orders timed": {got.OrdersTimed, want.OrdersTimed},
		"orders issued": {got.OrdersIssued, want.OrdersIssued}, "within 24 h": {got.OrdersWithin24h, want.OrdersWithin24h},
		"DV incidents": {got.DVIncidents, want.DVIncidents}, "in force": {got.OrdersInForce, want.OrdersInForce},
		"violations": {got.Violations, want.Violations}, "by police": {got.ViolationsByPolice, want.ViolationsByPolice}} {
		if p[0] != p[1] {
			diffs = append(diffs, fmt.Sprintf("%s %d, want %d", name, p[0], p[1]))
		}
	}
	if fmt.Sprint(got.Outcomes) != fmt.Sprint(want.Outcomes) {
		diffs = append(diffs, fmt.Sprintf("outcomes %v, want %v", got.Outcomes, want.Outcomes))
	}
	for name, p := range map[string][2]*float64{"median": {got.CallToOrderMedian, want.CallToOrderMedian},
		"p90": {got.CallToOrderP90, want.CallToOrderP90}} {
		if (p[0] == nil) != (p[1] == nil) || p[0] != nil && math.Abs(*p[0]-*p[1]) > 1 {
			diffs = append(diffs, fmt.Sprintf("call to order %s %v, want %v", name, fmtPtr(p[0]), fmtPtr(p[1])))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "; ")
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
	// A few incidents without a district: their orders in force count in
	// the order's own.
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET district_id = NULL, settlement_id = NULL WHERE id % 37 = 5`)
	must(t, err)
	followData(t, f, 0)
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
	store := loadStore(t, f.loc, ref, f.db)
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
			// The follow-through figures (of these incidents: the DV ones
			// logged here and the violations; the tasks and orders are
			// TestFollowThroughFiguresMatchReference's).
			now := time.Now()
			ft, ok, err := src.FollowThrough(ctx, q, now, nil)
			must(t, err)
			want, err := f.db.FollowThrough(ctx, q, now)
			must(t, err)
			if !ok {
				t.Errorf("%s..%s filters %d: the store did not give the follow-through figures", rg[0], rg[1], fi)
			} else if msg := followDiff(ft, want); msg != "" {
				t.Errorf("%s..%s filters %d: follow-through: %s", rg[0], rg[1], fi, msg)
			}
			// The dashboard's action counts.
			acts, ok, err := src.ActionCounts(ctx, q, nil)
			must(t, err)
			aq := q
			aq.GroupBy = report.ByAll
			extras, err := f.db.DashboardExtras(ctx, aq, postgres.DashboardOptions{})
			must(t, err)
			wantActs := extras.Actions
			wantActs.Incidents = 0
			if !ok || acts != wantActs {
				t.Errorf("%s..%s filters %d: action counts %+v (served %v), the database %+v", rg[0], rg[1], fi, acts, ok, wantActs)
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
	store := loadStore(t, f.loc, referenceFacts(t, f.db), nil)
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
	var followBefore [2][]int64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT ARRAY(SELECT id FROM follow_up_tasks), ARRAY(SELECT id FROM protection_orders)`).Scan(
		&followBefore[0], &followBefore[1]))
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
	// Tasks closed, moved to another district, superseded; orders ended,
	// moved to another incident; violations found otherwise, or undone.
	exec(`UPDATE follow_up_tasks SET closed_at = due_at + make_interval(hours => (id % 7 - 3)::int), outcome = 'not_reached'
		WHERE closed_at IS NULL AND (id + $1) % 3 = 0`, k)
	exec(`UPDATE follow_up_tasks SET district_id = $2 WHERE (id + $1) % 5 = 1`, k, f.osh.ID)
	exec(`UPDATE follow_up_tasks SET outcome = 'superseded', closed_at = coalesce(closed_at, due_at) WHERE (id + $1) % 11 = 4`, k)
	exec(`UPDATE protection_orders SET ended_at = starts_at + interval '1 day' WHERE ended_at IS NULL AND (id + $1) % 4 = 2`, k)
	exec(`UPDATE protection_orders SET incident_id = (SELECT max(id) FROM incidents WHERE (id + $1) % 23 <> 6)
		WHERE incident_id IS NOT NULL AND (id + $1) % 9 = 5`, k)
	exec(`UPDATE incidents SET violation_found_by = CASE WHEN violation_found_by = 'police_check' THEN 'others' ELSE 'police_check' END
		WHERE protection_order_id IS NOT NULL AND (id + $1) % 3 = 1`, k)
	exec(`UPDATE incidents SET protection_order_id = NULL, violation_found_by = NULL WHERE protection_order_id IS NOT NULL AND (id + $1) % 7 = 2`, k)
	// Referrals accepted, screens removed or found otherwise.
	exec(`UPDATE referrals SET accepted_at = now() WHERE accepted_at IS NULL AND (id + $1) % 2 = 0`, k)
	exec(`DELETE FROM danger_screens WHERE (id + $1) % 7 = 3`, k)
	exec(`UPDATE danger_screens SET high_danger = NOT high_danger WHERE (id + $1) % 5 = 1`, k)
	// The incidents deleted below lose their tasks, orders and actions first.
	exec(`DELETE FROM referrals WHERE incident_id IN (SELECT id FROM incidents WHERE (id + $1) % 23 = 6)`, k)
	exec(`DELETE FROM danger_screens WHERE incident_id IN (SELECT id FROM incidents WHERE (id + $1) % 23 = 6)`, k)
	exec(`DELETE FROM follow_up_tasks WHERE incident_id IN (SELECT id FROM incidents WHERE (id + $1) % 23 = 6)`, k)
	exec(`UPDATE incidents SET protection_order_id = NULL, violation_found_by = NULL
		WHERE protection_order_id IN (SELECT o.id FROM protection_orders o JOIN incidents i ON i.id = o.incident_id WHERE (i.id + $1) % 23 = 6)`, k)
	exec(`DELETE FROM protection_orders WHERE incident_id IN (SELECT id FROM incidents WHERE (id + $1) % 23 = 6)`, k)
	exec(`DELETE FROM incident_units WHERE incident_id IN (SELECT id FROM incidents WHERE (id + $1) % 23 = 6)`, k)
	exec(`DELETE FROM incident_persons WHERE incident_id IN (SELECT id FROM incidents WHERE (id + $1) % 23 = 6)`, k)
	exec(`DELETE FROM incidents WHERE (id + $1) % 23 = 6`, k)
	randomIncidents(t, f, r, fmt.Sprintf("N%d", k), 200, reportTestFrom, reportTestTo)
	linkVictims(t, f, k+1)
	followData(t, f, k+1)
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
	// Every task and order again: each takes a copy of its incident's
	// fact as it is now (the Syncer is given those of the changed
	// incidents by the change log: TestFollowThroughStoreFollowsChanges).
	var tasks []facts.TaskRow
	var orders []facts.OrderRow
	must(t, f.db.LoadFollow(ctx, func(r facts.TaskRow) error { tasks = append(tasks, r); return nil },
		func(r facts.OrderRow) error { orders = append(orders, r); return nil }))
	var goneTasks, goneOrders []int64
	for _, id := range followBefore[0] {
		if !slices.ContainsFunc(tasks, func(r facts.TaskRow) bool { return r.ID == id }) {
			goneTasks = append(goneTasks, id)
		}
	}
	for _, id := range followBefore[1] {
		if !slices.ContainsFunc(orders, func(r facts.OrderRow) bool { return r.ID == id }) {
			goneOrders = append(goneOrders, id)
		}
	}
	if len(goneTasks) == 0 || len(goneOrders) == 0 {
		t.Fatalf("%d tasks and %d orders deleted; want some of each", len(goneTasks), len(goneOrders))
	}
	store.ApplyFollow(tasks, goneTasks, orders, goneOrders)
	if store.Len() != len(after) {
		t.Fatalf("store holds %d incidents, the database %d", store.Len(), len(after))
	}
}
