package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/internal/seed"
)

// The report benchmark (make bench): the response-time report from the
// rollups at 1 million and 10 million incidents over five years, next to
// PostgreSQL's percentile_cont over the raw incidents for the same query.
//
// The databases are DVR_BENCH_SCALE_URL_1M and DVR_BENCH_SCALE_URL (the
// Makefile creates dvresponse_bench_scale_1m and dvresponse_bench_scale
// through .ci/postgres.sh); each is migrated and seeded (`seed
// --incidents`) only up to what it lacks, so a second run reuses them.

// reportSizes are the report benchmark's parameters.
type reportSizes struct {
	Runs   int // measured runs per query (after 3 warm-up runs)
	Naive  int // runs of the naive query
	Years  int
	Scales []reportScale
}

type reportScale struct {
	Label     string
	URL       string
	Incidents int
}

// TestBenchReport is the report half of `make bench`: only with
// DVR_BENCH_REPORT=1.
func TestBenchReport(t *testing.T) {
	if os.Getenv("DVR_BENCH_REPORT") == "" {
		t.Skip("the report benchmark runs with DVR_BENCH_REPORT=1 (make bench); TestBenchReportSmoke covers the harness")
	}
	u1, u10 := os.Getenv("DVR_BENCH_SCALE_URL_1M"), os.Getenv("DVR_BENCH_SCALE_URL")
	if u1 == "" || u10 == "" || u1 == u10 {
		t.Fatal("set DVR_BENCH_SCALE_URL_1M and DVR_BENCH_SCALE_URL to two databases (make bench does)")
	}
	out := runReport(t, reportSizes{Runs: envInt(t, "DVR_BENCH_REPORT_RUNS", 40), Naive: 3, Years: 5, Scales: []reportScale{
		{"1M", u1, envInt(t, "DVR_BENCH_SCALE_SMALL", 1_000_000)},
		{"10M", u10, envInt(t, "DVR_BENCH_SCALE_LARGE", 10_000_000)},
	}})
	fmt.Printf("\n===== dvresponse report benchmark =====\n%s=======================================\n\n", out)
}

// TestBenchReportSmoke runs the same harness on a small database.
func TestBenchReportSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a database; skipped with -short")
	}
	t.Parallel()
	out := runReport(t, reportSizes{Runs: 3, Naive: 1, Years: 2, Scales: []reportScale{{"4k", pgtest.URL(t), 4_000}}})
	t.Logf("\n%s", out)
}

// benchQuery is one measured report.
type benchQuery struct {
	name string
	q    report.Query
}

func runReport(t *testing.T, sz reportSizes) string {
	t.Helper()
	ctx := context.Background()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	year := now.In(loc).Year() - 1
	today := report.DateOf(now, loc)
	queries := []benchQuery{
		{fmt.Sprintf("report: year %d, all districts, by district", year), report.Query{Location: loc, GroupBy: report.ByDistrict,
			From: report.Date{Year: year, Month: 1, Day: 1}, To: report.Date{Year: year, Month: 12, Day: 31}}},
		{"report: last 365 days, by district (edge days)", report.Query{Location: loc, GroupBy: report.ByDistrict,
			From: today.AddDays(-364), To: today}},
		{"dashboard default: last 28 days, by priority", report.Query{Location: loc, GroupBy: report.ByPriority,
			From: today.AddDays(-(report.DefaultDays - 1)), To: today}},
		{"dashboard: last 28 days, by week, DV only", report.Query{Location: loc, GroupBy: report.ByWeek,
			From: today.AddDays(-(report.DefaultDays - 1)), To: today, Filters: report.Filters{DVOnly: true}}},
	}

	var b strings.Builder
	type figures struct{ med, p95 time.Duration }
	headline, dashHeadline := map[string]figures{}, map[string]figures{}
	for _, sc := range sz.Scales {
		db, err := postgres.Open(ctx, sc.URL, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatalf("open %s: %v", sc.Label, err)
		}
		m, err := postgres.NewMigrator(sc.URL)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Up(); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		m.Close()
		// Keys stored under older matching rules are recomputed, as
		// `dvresponse migrate` does, and the time is reported.
		db.SetMatchRules(match.Rules{Region: "KG"})
		keysBegan := time.Now()
		rekeyed, err := db.RecomputeKeys(ctx)
		if err != nil {
			t.Fatalf("recompute history keys: %v", err)
		}
		keysTook := time.Since(keysBegan)
		var log strings.Builder
		began := time.Now()
		if err := seed.Scale(ctx, db, loc, seed.ScaleOptions{Incidents: sc.Incidents, Years: sz.Years, Progress: time.Minute},
			io.MultiWriter(&log, testWriter{t})); err != nil {
			t.Fatalf("seed %s: %v", sc.Label, err)
		}
		var total int64
		var incSize string
		if err := db.Pool.QueryRow(ctx, `SELECT count(*), pg_size_pretty(pg_total_relation_size('incidents')) FROM incidents`).
			Scan(&total, &incSize); err != nil {
			t.Fatal(err)
		}
		sizes, err := db.RollupSizes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "--- %s: %d incidents over %d years (incidents table %s)\n", sc.Label, total, sz.Years, incSize)
		for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
			fmt.Fprintf(&b, "    seed: %s\n", strings.TrimPrefix(line, "scale: "))
		}
		fmt.Fprintf(&b, "    seed step took %.1fs in this run\n", time.Since(began).Seconds())
		fmt.Fprintf(&b, "    history keys recomputed for %d incidents in %.1fs (0: already under these rules)\n", rekeyed, keysTook.Seconds())
		// What the migrate step costs when the rules change, timed on
		// every run: every incident keyed again, the key indexes rebuilt,
		// with no key changing and with every key changing.
		fmt.Fprintf(&b, "    load average before the recomputes: %s\n", loadAverage())
		for _, line := range rekeyFigures(t, db) {
			fmt.Fprintf(&b, "    %s\n", line)
		}
		fmt.Fprintf(&b, "    rollups: %s\n", sizes)

		prios, err := db.Priorities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, bq := range queries {
			// Warm: the report's pages in the cache, plans prepared.
			for range 3 {
				if _, ok, err := db.ResponseTimesRollup(ctx, bq.q); err != nil || !ok {
					t.Fatalf("%s: rollups did not answer (%v)", bq.name, err)
				}
			}
			var ds []time.Duration
			for range sz.Runs {
				t0 := time.Now()
				if err := report.Export(ctx, db, bq.q, report.JSON, io.Discard); err != nil {
					t.Fatalf("%s: %v", bq.name, err)
				}
				ds = append(ds, time.Since(t0))
			}
			med, p95 := percentile(ds, 0.5), percentile(ds, 0.95)
			naive, naiveN := naiveQuery(t, db, bq.q, prios, sz.Naive)
			fmt.Fprintf(&b, "    %-52s rollups median %8s  p95 %8s | naive percentile_cont %9s (%d incidents) | ratio naive/p95 %6.0fx\n",
				bq.name, ms(med), ms(p95), ms(naive), naiveN, float64(naive)/float64(p95))
			if i == 0 {
				headline[sc.Label] = figures{med, p95}
				checkAgainstNaive(t, db, bq)
			}
		}
		// The dashboard: the same database calls GET /dashboard makes
		// (server.loadDashboard), warm, for the default interval.
		for _, dq := range dashQueries(t, db, loc, year, today) {
			for range 3 {
				if _, err := dashboardOnce(ctx, db, dq.q); err != nil {
					t.Fatalf("%s: %v", dq.name, err)
				}
			}
			var ds []time.Duration
			var rollups bool
			for range sz.Runs {
				t0 := time.Now()
				fig, err := dashboardOnce(ctx, db, dq.q)
				if err != nil {
					t.Fatalf("%s: %v", dq.name, err)
				}
				ds = append(ds, time.Since(t0))
				rollups = fig.FromRollups
			}
			med, p95 := percentile(ds, 0.5), percentile(ds, 0.95)
			nq := dq.q
			nq.GroupBy = report.ByDistrict
			naive, naiveN := naiveQuery(t, db, nq, prios, sz.Naive)
			fmt.Fprintf(&b, "    %-52s median %8s  p95 %8s | naive percentile_cont by district %9s (%d incidents) | ratio naive/p95 %6.0fx%s\n",
				dq.name, ms(med), ms(p95), ms(naive), naiveN, float64(naive)/float64(p95), map[bool]string{false: " (NOT from rollups)"}[rollups])
			dashHeadline[sc.Label+dq.name] = figures{med, p95}
		}
		// The history panel's lookup through HTTP, as the dispatcher types.
		hf := historyLatency(t, db, sz.Runs)
		fmt.Fprintf(&b, "    %-52s median %8s  p95 %8s (target p95 <= 50 ms at 10 M)\n", "POST /incidents/history (address)", ms(hf.med), ms(hf.p95))
		fmt.Fprintf(&b, "      phases, median/p95: %s\n", hf.phasesLine())
		// Repeat victimisation: the intake's counts and the dashboard's rates.
		repeatBench(t, db, queries[0].q, sz.Runs, &b)
		db.Close()
	}
	if len(sz.Scales) == 2 {
		for _, name := range dashNames {
			a, c := dashHeadline[sz.Scales[0].Label+name], dashHeadline[sz.Scales[1].Label+name]
			fmt.Fprintf(&b, "%s, %s vs %s: p95 %s vs %s (x%.2f)\n", name, sz.Scales[1].Label, sz.Scales[0].Label,
				ms(c.p95), ms(a.p95), float64(c.p95)/float64(a.p95))
		}
		a, c := headline[sz.Scales[0].Label], headline[sz.Scales[1].Label]
		fmt.Fprintf(&b, "year by district, %s vs %s: p95 %s vs %s (x%.2f; target < 100 ms and < x2)\n", sz.Scales[1].Label,
			sz.Scales[0].Label, ms(c.p95), ms(a.p95), float64(c.p95)/float64(a.p95))
	}
	fmt.Fprintln(&b, "(rollups: report.Export to JSON through db.ResponseTimes, warm, one client; naive: PostgreSQL alone,")
	fmt.Fprintln(&b, " percentile_cont of all six intervals with counts, missing, out of order and within target, same range and grouping)")
	fmt.Fprintf(&b, "(%d CPUs; PostgreSQL on the same machine over loopback)\n", runtime.NumCPU())
	return b.String()
}

// naiveQuery times PostgreSQL computing q's figures from the incidents with
// percentile_cont (the median of runs), and counts the incidents.
func naiveQuery(t *testing.T, db *postgres.DB, q report.Query, prios []refdata.Priority, runs int) (time.Duration, int64) {
	t.Helper()
	ctx := context.Background()
	start, end := q.Range()
	group := map[report.GroupBy]string{
		report.ByDistrict: "coalesce(d.code, 'none')", report.ByPriority: "i.priority::text",
		report.ByWeek: "to_char((i.received_at AT TIME ZONE $3)::date, 'IYYY-\"W\"IW')", report.ByAll: "'all'",
	}[q.GroupBy]
	var cols []string
	for _, d := range report.Definitions {
		from, to := "i."+d.From.Column(), "i."+d.To.Column()
		dur := fmt.Sprintf("extract(epoch FROM %s - %s)", to, from)
		ok := fmt.Sprintf("%s >= %s", to, from)
		target := "p.target_" + string(d.Interval) + "_s"
		cols = append(cols, fmt.Sprintf(`percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY %s) FILTER (WHERE %s),
			count(*) FILTER (WHERE %s IS NULL OR %s IS NULL), count(*) FILTER (WHERE %s < %s),
			count(*) FILTER (WHERE %s AND %s IS NOT NULL AND %s <= %s)`,
			dur, ok, from, to, to, from, ok, target, dur, target))
	}
	where := ""
	if q.DVOnly {
		where = " AND t.is_dv"
	}
	sql := `SELECT ` + group + `, count(*), count(*) FILTER (WHERE i.corrections > 0), ` + strings.Join(cols, ", ") + `
		FROM incidents i JOIN incident_types t ON t.id = i.type_id JOIN priorities p ON p.level = i.priority
		LEFT JOIN districts d ON d.id = i.district_id
		WHERE i.received_at >= $1 AND i.received_at < $2` + where + ` GROUP BY 1`
	args := []any{start, end}
	if q.GroupBy == report.ByWeek {
		args = append(args, q.Location.String())
	}
	if q.DistrictID != nil {
		args = append(args, *q.DistrictID)
		sql = strings.Replace(sql, " GROUP BY 1", fmt.Sprintf(" AND i.district_id = $%d GROUP BY 1", len(args)), 1)
	}
	_ = prios
	var ds []time.Duration
	var n int64
	for range runs {
		t0 := time.Now()
		rows, err := db.Pool.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("naive query: %v", err)
		}
		n = 0
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			n += v[1].(int64)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("naive query: %v", err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], n
}

// checkAgainstNaive compares the rollups' figures with the exact path's
// (report.Builder over every incident): the same counts, percentiles at
// most 1 s above.
func checkAgainstNaive(t *testing.T, db *postgres.DB, bq benchQuery) {
	t.Helper()
	ctx := context.Background()
	got, ok, err := db.ResponseTimesRollup(ctx, bq.q)
	if err != nil || !ok {
		t.Fatalf("%s: rollups: %v", bq.name, err)
	}
	want, err := db.ResponseTimesNaive(ctx, bq.q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Groups) != len(want.Groups) {
		t.Fatalf("%s: %d groups, naive %d", bq.name, len(got.Groups), len(want.Groups))
	}
	for i, w := range want.Groups {
		g := got.Groups[i]
		if g.Key != w.Key || g.Incidents != w.Incidents {
			t.Errorf("%s: group %s %d incidents, naive %s %d", bq.name, g.Key, g.Incidents, w.Key, w.Incidents)
		}
		for iv, ws := range w.Intervals {
			gs := g.Intervals[iv]
			if gs.N != ws.N || gs.Missing != ws.Missing || gs.Inconsistent != ws.Inconsistent {
				t.Errorf("%s: %s %s counts %d/%d/%d, naive %d/%d/%d", bq.name, w.Key, iv, gs.N, gs.Missing, gs.Inconsistent,
					ws.N, ws.Missing, ws.Inconsistent)
			}
			for _, p := range [][2]*float64{{gs.Median, ws.Median}, {gs.P90, ws.P90}, {gs.P95, ws.P95}} {
				if (p[0] == nil) != (p[1] == nil) || p[0] != nil && !(*p[0] >= *p[1]-1e-6 && *p[0] < *p[1]+1) {
					t.Errorf("%s: %s %s percentile %v, naive %v", bq.name, w.Key, iv, p[0], p[1])
				}
			}
		}
	}
}

// testWriter sends seed progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// dashNames are the dashboard views measured, in order.
var dashNames = []string{"dashboard: calendar year, all districts", "dashboard: calendar year, one district",
	"dashboard: last 28 days, all districts", "dashboard: last 28 days, one district", "dashboard: calendar year, DV only"}

type dashQuery struct {
	name string
	q    report.Query
}

// dashQueries are the dashboard's default views: a calendar year and the
// last 28 days, all districts and the first district; and a calendar year
// of domestic-violence types only.
func dashQueries(t *testing.T, db *postgres.DB, loc *time.Location, year int, today report.Date) []dashQuery {
	t.Helper()
	ds, err := db.Districts(context.Background())
	if err != nil || len(ds) == 0 {
		t.Fatalf("districts: %v", err)
	}
	one := ds[0].ID
	yq := report.Query{Location: loc, GroupBy: report.ByPriority, From: report.Date{Year: year, Month: 1, Day: 1}, To: report.Date{Year: year, Month: 12, Day: 31}}
	dq := report.Query{Location: loc, GroupBy: report.ByPriority, From: today.AddDays(-(report.DefaultDays - 1)), To: today}
	out := []dashQuery{{dashNames[0], yq}, {dashNames[1], yq}, {dashNames[2], dq}, {dashNames[3], dq}, {dashNames[4], yq}}
	out[1].q.DistrictID, out[3].q.DistrictID = &one, &one
	out[4].q.DVOnly = true
	return out
}

// dashboardOnce makes the database calls of one GET /dashboard as
// server.loadDashboard does: the report by all, priority and district from
// one ResponseTimesMulti, the extras with the settlement and weekly tables, and
// those two from report.Source when the rollups could not give them.
func dashboardOnce(ctx context.Context, db *postgres.DB, q report.Query) (postgres.DashboardFigures, error) {
	byExtras := []report.GroupBy{report.BySettlement, report.ByWeek}
	groupings := []report.GroupBy{report.ByAll, report.ByPriority, report.ByDistrict}
	errs := make([]error, len(groupings)+len(byExtras)+1)
	var fig postgres.DashboardFigures
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = db.ResponseTimesMulti(ctx, q, groupings) })
	wg.Go(func() {
		fig, errs[len(groupings)] = db.DashboardExtras(ctx, q, postgres.DashboardOptions{Reports: byExtras})
		if errs[len(groupings)] != nil {
			return
		}
		for i, g := range byExtras {
			if _, ok := fig.Reports[g]; !ok {
				wg.Go(func() {
					gq := q
					gq.GroupBy = g
					_, errs[len(groupings)+1+i] = db.ResponseTimes(ctx, gq)
				})
			}
		}
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fig, err
		}
	}
	return fig, nil
}
