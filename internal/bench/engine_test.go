package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/internal/seed"
	"github.com/dvresponse/dvresponse/internal/server"
)

// The engine benchmark (make bench, DVR_BENCH_ENGINE=1): issue 15's matrix
// measured through HTTP, as a supervisor of every district sees it, with
// the reporting engine (internal/facts) loaded beside the server: the JSON
// export and the dashboard page for every grouping, interval and filter
// the issue names, over a calendar year, a rolling year and the last 28
// days, at 1 M and 10 M incidents (the report benchmark's databases). Each
// cell's median and 95th percentile stand beside one run of the naive
// query (ResponseTimesNaive) for the same report, and the served JSON is
// compared with the naive result wherever the naive query ran.

// engineSizes are the engine benchmark's parameters.
type engineSizes struct {
	Runs    int           // measured requests per cell, after engineWarmups
	Years   int           // the seed's span
	Wait    time.Duration // how long the store may take to load
	Slow    time.Duration // a warm-up slower than this: the cell is not measured further
	Scales  []engineScale
	Warmups int
	// DashRanges, when set, are the only ranges the dashboard rows are
	// measured over (the smoke test's time goes mostly to the page).
	DashRanges []string
}

type engineScale struct {
	Label     string
	URL       string
	Incidents int
	// NaiveAll times the naive query on every cell; otherwise only on
	// the cells engineNaiveSome names (a year takes 5-10 s at 10 M).
	NaiveAll bool
}

// engineNaiveSome are the cells the naive query runs on when a scale's
// NaiveAll is false: one per range and kind of row, the slowest kinds of
// today's fallback among them.
var engineNaiveSome = map[string]bool{
	"calendar year|json: by priority":         true,
	"calendar year|json: filter shift=night":  true,
	"rolling year|json: by district":          true,
	"last 28 days|json: filter unit":          true,
	"last 28 days|json: filter dv+prio+night": true,
}

// TestBenchEngine is the engine half of `make bench`: only with
// DVR_BENCH_ENGINE=1.
func TestBenchEngine(t *testing.T) {
	if os.Getenv("DVR_BENCH_ENGINE") == "" {
		t.Skip("the engine benchmark runs with DVR_BENCH_ENGINE=1 (make bench); TestBenchEngineSmoke covers the harness")
	}
	u1, u10 := os.Getenv("DVR_BENCH_SCALE_URL_1M"), os.Getenv("DVR_BENCH_SCALE_URL")
	if u1 == "" || u10 == "" || u1 == u10 {
		t.Fatal("set DVR_BENCH_SCALE_URL_1M and DVR_BENCH_SCALE_URL to two databases (make bench does)")
	}
	slow, err := time.ParseDuration(cmp.Or(os.Getenv("DVR_BENCH_ENGINE_SLOW"), "5s"))
	if err != nil {
		t.Fatalf("DVR_BENCH_ENGINE_SLOW: %v", err)
	}
	sz := engineSizes{Runs: envInt(t, "DVR_BENCH_ENGINE_RUNS", 40), Warmups: 2, Years: 5, Wait: 10 * time.Minute, Slow: slow,
		Scales: []engineScale{
			{"1M", u1, envInt(t, "DVR_BENCH_SCALE_SMALL", 1_000_000), true},
			// Every cell's naive query at 10 M adds about 3 minutes;
			// DVR_BENCH_ENGINE_NAIVE=some runs only engineNaiveSome's.
			{"10M", u10, envInt(t, "DVR_BENCH_SCALE_LARGE", 10_000_000), os.Getenv("DVR_BENCH_ENGINE_NAIVE") != "some"},
		}}
	if s := os.Getenv("DVR_BENCH_ENGINE_SCALES"); s != "" { // e.g. "1M" for a dry run
		sz.Scales = slices.DeleteFunc(sz.Scales, func(sc engineScale) bool { return !slices.Contains(strings.Split(s, ","), sc.Label) })
	}
	out := runEngine(t, sz, os.Stdout)
	fmt.Printf("\n===== dvresponse engine benchmark (issue 15 matrix, over HTTP) =====\n%s====================================================================\n\n", out)
}

// TestBenchEngineSmoke runs the same harness on a small database, every
// cell once, the naive query and the comparison on every JSON cell.
func TestBenchEngineSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a database; skipped with -short")
	}
	t.Parallel()
	out := runEngine(t, engineSizes{Runs: 1, Warmups: 0, Years: 2, Wait: 30 * time.Second, Slow: time.Minute, DashRanges: []string{"last 28 days"},
		Scales: []engineScale{{"4k", pgtest.URL(t), 4_000, true}}}, io.Discard)
	t.Logf("\n%s", out)
}

// engineRange is a column of the matrix.
type engineRange struct {
	name     string
	from, to report.Date
}

// engineRow is a row of the matrix: a JSON export or a dashboard page.
type engineRow struct {
	name     string
	json     bool
	interval string // the dashboard's interval parameter ("": its default)
	groupBy  report.GroupBy
	filters  report.Filters
}

// engineCell is what one cell measured.
type engineCell struct {
	med, p95 time.Duration
	runs     int
	sql      time.Duration // median time of a request's statements, summed (they may overlap)
	short    bool          // stopped after a slow warm-up
	naive    string        // the naive query's time and verdict, "" when not run
	first    time.Duration // the first warm-up: nothing of the cell's period kept yet
}

// engineValues are the filter values of the matrix.
type engineValues struct {
	district, settlement, dvType, unit int64
}

func engineRows(v engineValues) []engineRow {
	p1 := 1
	filters := []struct {
		name string
		f    report.Filters
	}{
		{"district", report.Filters{DistrictID: &v.district}},
		{"settlement", report.Filters{SettlementID: &v.settlement}},
		{"idp_only", report.Filters{IDPOnly: true}},
		{"priority=1", report.Filters{Priority: &p1}},
		{"type", report.Filters{TypeID: &v.dvType}},
		{"shift=night", report.Filters{Shift: report.NightShift}},
		{"unit", report.Filters{UnitID: &v.unit}},
		{"dv_only", report.Filters{DVOnly: true}},
		{"district+type", report.Filters{DistrictID: &v.district, TypeID: &v.dvType}},
		{"dv+prio+night", report.Filters{DVOnly: true, Priority: &p1, Shift: report.NightShift}},
	}
	var rows []engineRow
	for _, g := range []report.GroupBy{report.ByPriority, report.ByDistrict, report.BySettlement, report.ByType, report.ByShift, report.ByWeek} {
		rows = append(rows, engineRow{name: "json: by " + string(g), json: true, groupBy: g})
	}
	for _, f := range filters {
		rows = append(rows, engineRow{name: "json: filter " + f.name, json: true, groupBy: report.ByPriority, filters: f.f})
	}
	for _, iv := range refdata.Intervals {
		rows = append(rows, engineRow{name: "dashboard: interval=" + string(iv), interval: string(iv), groupBy: report.ByPriority})
	}
	for _, f := range filters {
		rows = append(rows, engineRow{name: "dashboard: filter " + f.name, groupBy: report.ByPriority, filters: f.f})
	}
	return rows
}

func engineRanges(loc *time.Location) []engineRange {
	today := report.DateOf(time.Now(), loc)
	year := today.Year - 1
	return []engineRange{
		{"calendar year", report.Date{Year: year, Month: 1, Day: 1}, report.Date{Year: year, Month: 12, Day: 31}},
		{"rolling year", today.AddDays(-364), today},
		{"last 28 days", today.AddDays(-(report.DefaultDays - 1)), today},
	}
}

// path is the request of row r over range g.
func (r engineRow) path(g engineRange, loc *time.Location) (string, report.Query) {
	q := report.Query{From: g.from, To: g.to, Location: loc, GroupBy: r.groupBy, Filters: r.filters}
	v := q.Values()
	if r.json {
		return "/reports/response-times.json?" + v.Encode(), q
	}
	v.Del(report.ParamGroupBy) // the dashboard's own grouping
	if r.interval != "" {
		v.Set("interval", r.interval)
	}
	return "/dashboard?" + v.Encode(), q
}

// runEngine measures every scale and returns the Markdown report; live
// gets each scale's part as it is done (a run takes many minutes).
func runEngine(t *testing.T, sz engineSizes, live io.Writer) string {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	w := io.MultiWriter(&b, live)
	ranges := engineRanges(loc)
	p95s := map[string]map[string]time.Duration{}   // scale → range|row → p95
	firsts := map[string]map[string]time.Duration{} // scale → range|row → first request
	var order []string
	for i, sc := range sz.Scales {
		cells, names := engineScaleRun(t, sz, sc, loc, ranges, w)
		p95s[sc.Label], firsts[sc.Label] = map[string]time.Duration{}, map[string]time.Duration{}
		for k, c := range cells {
			p95s[sc.Label][k], firsts[sc.Label][k] = c.p95, c.first
		}
		if i == 0 {
			order = names
		}
	}
	if len(sz.Scales) == 2 {
		a, c := sz.Scales[0].Label, sz.Scales[1].Label
		fmt.Fprintf(w, "\n### Growth of p95, %s → %s\n\n", a, c)
		fmt.Fprintf(w, "| row |")
		for _, g := range ranges {
			fmt.Fprintf(w, " %s |", g.name)
		}
		fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" ---: |", len(ranges)))
		var worst float64
		var worstCell string
		over, n := 0, 0
		for _, row := range uniqueRows(order) {
			fmt.Fprintf(w, "| %s |", row)
			for _, g := range ranges {
				k := g.name + "|" + row
				x, y := p95s[a][k], p95s[c][k]
				if x == 0 || y == 0 {
					fmt.Fprintf(w, " |")
					continue
				}
				n++
				if y > 100*time.Millisecond {
					over++
				}
				gr := float64(y) / float64(x)
				if gr > worst {
					worst, worstCell = gr, k
				}
				fmt.Fprintf(w, " ×%.2f |", gr)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "\n**Summary:** cells over 100 ms p95 at %s: %d of %d; max growth %s → %s ×%.2f (%s). Goal: 0 cells over 100 ms, growth ≤ ×2.\n",
			c, over, n, a, c, worst, worstCell)
		// The growth of p95 over the cells, and of first requests.
		var gp, gf []float64
		for k, y := range p95s[c] {
			if x := p95s[a][k]; x > 0 && y > 0 {
				gp = append(gp, float64(y)/float64(x))
			}
			if x, y := firsts[a][k], firsts[c][k]; x > 0 && y > 0 {
				gf = append(gf, float64(y)/float64(x))
			}
		}
		over2 := func(gs []float64) int {
			n := 0
			for _, g := range gs {
				if g > 2 {
					n++
				}
			}
			return n
		}
		slices.Sort(gp)
		slices.Sort(gf)
		if len(gp) > 0 && len(gf) > 0 {
			fmt.Fprintf(w, "Growth %s → %s over the cells: p95 median ×%.2f, over ×2 in %d of %d; first requests median ×%.2f, max ×%.2f, over ×2 in %d of %d.\n",
				a, c, gp[len(gp)/2], over2(gp), len(gp), gf[len(gf)/2], gf[len(gf)-1], over2(gf), len(gf))
		}
	}
	fmt.Fprintf(w, "\n(%d CPUs; PostgreSQL and the server on the same machine, over loopback; one client, one request at a time)\n", runtime.NumCPU())
	return b.String()
}

// uniqueRows turns "range|row" keys into the rows in first-seen order.
func uniqueRows(keys []string) []string {
	var rows []string
	for _, k := range keys {
		_, row, _ := strings.Cut(k, "|")
		if !slices.Contains(rows, row) {
			rows = append(rows, row)
		}
	}
	return rows
}

// engineScaleRun measures one scale: migrate, seed up to the size, give
// units when none, load the store, then the matrix. It returns the cells
// by "range|row" and their keys in order.
func engineScaleRun(t *testing.T, sz engineSizes, sc engineScale, loc *time.Location, ranges []engineRange, w io.Writer) (map[string]engineCell, []string) {
	t.Helper()
	ctx := context.Background()
	m, err := postgres.NewMigrator(sc.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("migrate %s: %v", sc.Label, err)
	}
	m.Close()
	db, err := postgres.Open(ctx, sc.URL, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("open %s: %v", sc.Label, err)
	}
	defer db.Close()
	db.SetMatchRules(match.Rules{Region: "KG"})
	if err := seed.Scale(ctx, db, loc, seed.ScaleOptions{Incidents: sc.Incidents, Years: sz.Years, Progress: time.Minute}, testWriter{t}); err != nil {
		t.Fatalf("seed %s: %v", sc.Label, err)
	}
	unitNote, err := ensureUnits(ctx, db)
	if err != nil {
		t.Fatalf("%s: units: %v", sc.Label, err)
	}
	var total, incBytes, logBytes int64
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM incidents), pg_total_relation_size('incidents'),
			coalesce(pg_total_relation_size(to_regclass('report_changes')), 0)`).Scan(&total, &incBytes, &logBytes); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "\n## %s: %d incidents over %d years\n\n", sc.Label, total, sz.Years)
	fmt.Fprintf(w, "- pg_total_relation_size('incidents'): %s; change log (report_changes): %s\n", mb(incBytes), mb(logBytes))
	fmt.Fprintf(w, "- units: %s\n", unitNote)
	// Victims linked as in the repeat benchmark (a third of the DV
	// incidents repeat an earlier one), before the store loads them.
	linkNote, err := linkRepeatVictims(ctx, db)
	if err != nil {
		t.Fatalf("%s: link repeat victims: %v", sc.Label, err)
	}
	fmt.Fprintf(w, "- %s\n", linkNote)
	fmt.Fprintf(w, "- load average before the store loads: %s\n", loadAverage())

	// The engine: loaded beside the server, as serve runs it.
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var store *facts.Store
	stopSync := func() {}
	{
		var feed facts.Feed = db
		store = facts.NewStore(loc)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		began := time.Now()
		go func() { done <- (&facts.Syncer{Feed: feed, Store: store, Poll: time.Second, Logger: log}).Run(sctx) }()
		stopSync = func() { cancel(); <-done }
		deadline := time.Now().Add(sz.Wait)
		for !store.Ready() {
			select {
			case err := <-done:
				cancel()
				t.Fatalf("%s: the facts syncer ended before the store was loaded: %v", sc.Label, err)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				stopSync()
				t.Fatalf("%s: the facts store is not loaded after %s", sc.Label, sz.Wait)
			}
		}
		took := time.Since(began)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		delta := int64(after.HeapInuse) - int64(before.HeapInuse)
		fmt.Fprintf(w, "- facts store loaded in %.1f s (%.0f incidents/s); Go heap in use after load %s, of which the store %s (HeapInuse delta) = %.1f%% of the incidents table, %.0f bytes/incident\n",
			took.Seconds(), float64(total)/took.Seconds(), mb(int64(after.HeapInuse)), mb(delta),
			100*float64(delta)/float64(incBytes), float64(delta)/float64(max(total, 1)))
	}
	defer stopSync()

	// The live hub listens as serve's does (which also keeps the reference
	// data in memory: internal/postgres/refcache.go).
	hub := pgtest.RunHub(t, db, log)
	srv := server.NewServer(server.Deps{DB: db, Facts: store, Logger: log, Location: loc, Hub: hub})
	hs := httptest.NewServer(srv)
	defer func() { srv.Close(); hs.Close() }()
	name := fmt.Sprintf("bench.supervisor%d", time.Now().UnixNano())
	if _, err := db.CreateUser(ctx, account.Draft{Username: name, FullName: "Bench supervisor", Role: string(account.Supervisor),
		Password: benchPassword}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	br := &browser{base: hs.URL, jar: jar, hc: &http.Client{Jar: jar, Timeout: 5 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	br.login(t, name)

	vals := engineFilterValues(t, db)
	rows := engineRows(vals)
	if os.Getenv("DVR_BENCH_ENGINE_ONLY") == "repeats" {
		rows = nil // the repeat-rate cells alone
	}
	cells := map[string]engineCell{}
	var order []string
	type naiveRun struct {
		took time.Duration
		res  report.Result
	}
	naives := map[string]naiveRun{} // by query, shared by a JSON row and its dashboard twin
	var naiveNamed []string
	// The statements of each request, one request at a time: what is left
	// in PostgreSQL (sessions, audit, the dashboard's other figures) once
	// the engine answers. The syncer's polls are counted too (a few ms a
	// second).
	var mu sync.Mutex
	var reqSQL time.Duration
	naiveRunning := false // the naive query's statements are not the requests'
	stmtTotal, stmtCount := map[string]time.Duration{}, map[string]int{}
	db.SetStatementTimer(func(sql string, took time.Duration) {
		k := strings.Join(strings.Fields(sql), " ")
		if len(k) > 90 {
			k = k[:90] + "…"
		}
		mu.Lock()
		if naiveRunning {
			mu.Unlock()
			return
		}
		reqSQL += took
		stmtTotal[k] += took
		stmtCount[k]++
		mu.Unlock()
	})
	defer db.SetStatementTimer(nil)
	for _, g := range ranges {
		for _, row := range rows {
			if !row.json && sz.DashRanges != nil && !slices.Contains(sz.DashRanges, g.name) {
				continue
			}
			k := g.name + "|" + row.name
			path, q := row.path(g, loc)
			var c engineCell
			var body string
			var warm, ds, sqls []time.Duration
			for i := range sz.Warmups + sz.Runs {
				if i == sz.Warmups && len(warm) > 0 && slices.Max(warm) > sz.Slow {
					// Today's slow paths take tens of seconds a request at
					// 10 M: the warm-ups stand for the cell.
					c.short, ds = true, warm
					break
				}
				mu.Lock()
				reqSQL = 0
				mu.Unlock()
				t0 := time.Now()
				code, b, err := br.get(ctx, path)
				took := time.Since(t0)
				mu.Lock()
				sqls = append(sqls, reqSQL)
				mu.Unlock()
				if err != nil || code != http.StatusOK {
					t.Fatalf("%s: GET %s: status %d, %v\n%s", sc.Label, path, code, err, snippet(b))
				}
				body = b
				if i < sz.Warmups {
					warm = append(warm, took)
				} else {
					ds = append(ds, took)
				}
			}
			c.runs, c.med, c.p95 = len(ds), percentile(ds, 0.5), percentile(ds, 0.95)
			if len(warm) > 0 {
				c.first = warm[0]
			}
			c.sql = percentile(sqls[len(sqls)-len(ds):], 0.5)
			qk := q.Values().Encode()
			nr, have := naives[qk]
			if !have && (sc.NaiveAll || engineNaiveSome[k]) {
				mu.Lock()
				naiveRunning = true
				mu.Unlock()
				t0 := time.Now()
				res, err := db.ResponseTimesNaive(ctx, q)
				mu.Lock()
				naiveRunning = false
				mu.Unlock()
				if err != nil {
					t.Fatalf("%s: naive %s: %v", sc.Label, k, err)
				}
				nr, have = naiveRun{time.Since(t0), res}, true
				naives[qk] = nr
				if !sc.NaiveAll {
					naiveNamed = append(naiveNamed, k)
				}
			}
			if have {
				c.naive = fmt.Sprintf("%.2f s", nr.took.Seconds())
				if row.json {
					if errs := compareServed(body, nr.res); len(errs) > 0 {
						c.naive += fmt.Sprintf(" **DIFFERS** (%d)", len(errs))
						t.Errorf("%s %s: served JSON differs from the naive query: %s", sc.Label, k, strings.Join(errs[:min(3, len(errs))], "; "))
					} else {
						c.naive += " exact"
					}
				}
			}
			cells[k] = c
			order = append(order, k)
			t.Logf("%s %s: median %s p95 %s (%d runs%s) SQL %s naive %s", sc.Label, k, ms(c.med), ms(c.p95), c.runs,
				map[bool]string{true: ", warm-ups only"}[c.short], ms(c.sql), c.naive)
		}
	}

	fmt.Fprintf(w, "- matrix: %d cells, %d requests each after %d warm-ups (a cell whose warm-up took over %s: the warm-ups only, marked †), one logged-in supervisor of every district\n",
		len(order), sz.Runs, sz.Warmups, sz.Slow)
	fmt.Fprintf(w, "- filter values: district %d, settlement %d (of that district), type %d (a DV type), unit %d, priority 1, shift night; JSON rows grouped by priority unless named; dashboard rows: its default grouping, interval response unless named\n",
		vals.district, vals.settlement, vals.dvType, vals.unit)
	if sc.NaiveAll {
		fmt.Fprintf(w, "- naive: one run of ResponseTimesNaive per distinct query (a dashboard row shares its JSON twin's); \"exact\": the served JSON matches it (counts, targets and within-target equal, percentiles in [naive, naive + 1 s]); a dashboard row's naive is its report's time, the page is not compared\n")
	} else {
		fmt.Fprintf(w, "- naive: one run of ResponseTimesNaive on these cells only (10-40 s each at this size): %s; \"exact\" as above\n", strings.Join(naiveNamed, "; "))
	}
	fmt.Fprintf(w, "- load average after the matrix: %s\n\n", loadAverage())
	fmt.Fprintf(w, "| %s: row |", sc.Label)
	for _, g := range ranges {
		fmt.Fprintf(w, " %s median | p95 | SQL | naive |", g.name)
	}
	fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" ---: | ---: | ---: | --- |", len(ranges)))
	over := 0
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |", row.name)
		for _, g := range ranges {
			c, ok := cells[g.name+"|"+row.name]
			if !ok {
				fmt.Fprintf(w, " | | | not measured |")
				continue
			}
			mark := ""
			if c.short {
				mark = fmt.Sprintf(" †%d", c.runs)
			}
			if c.p95 > 100*time.Millisecond {
				over++
			}
			fmt.Fprintf(w, " %.1f%s | %.1f | %.1f | %s |", msf(c.med), mark, msf(c.p95), msf(c.sql), c.naive)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n%s: cells over 100 ms p95: %d of %d. SQL: the median of a request's statements' times summed (the dashboard runs some at once).\n", sc.Label, over, len(order))
	// The first request of each cell (its first warm-up) found nothing of
	// its period kept: it read every row in range.
	firstOver, firstMax, firstMaxCell := 0, time.Duration(0), ""
	for _, k := range order {
		c := cells[k]
		if c.first > 100*time.Millisecond {
			firstOver++
		}
		if c.first > firstMax {
			firstMax, firstMaxCell = c.first, k
		}
	}
	fmt.Fprintf(w, "%s: first requests (nothing of the period kept) over 100 ms: %d of %d; the slowest %.1f ms (%s).\n",
		sc.Label, firstOver, len(order), msf(firstMax), firstMaxCell)
	mu.Lock()
	stmts := make([]string, 0, len(stmtTotal))
	for k := range stmtTotal {
		stmts = append(stmts, k)
	}
	slices.SortFunc(stmts, func(a, b string) int { return cmp.Compare(stmtTotal[b], stmtTotal[a]) })
	fmt.Fprintf(w, "\nStatements taking the most time in the matrix's requests (%s; the naive queries left out):\n\n| total | count | mean | statement |\n| ---: | ---: | ---: | --- |\n", sc.Label)
	for _, k := range stmts[:min(8, len(stmts))] {
		fmt.Fprintf(w, "| %.1f s | %d | %.1f ms | `%s` |\n", stmtTotal[k].Seconds(), stmtCount[k],
			msf(stmtTotal[k])/float64(stmtCount[k]), strings.ReplaceAll(k, "|", "\\|"))
	}
	mu.Unlock()
	engineRepeats(t, sz, sc.Label, br, db, store, loc, ranges, vals, w)
	return cells, order
}

// engineRepeats measures the dashboard's repeat-rate section (GET
// /dashboard/repeats, as htmx loads it) over each range, for all districts,
// one district and IDP settlements only, and compares the store's figures
// with the database's query on two cells.
func engineRepeats(t *testing.T, sz engineSizes, label string, br *browser, db *postgres.DB, store *facts.Store,
	loc *time.Location, ranges []engineRange, vals engineValues, w io.Writer) {
	t.Helper()
	ctx := context.Background()
	fmt.Fprintf(w, "\nRepeat-rate figures (issue 16) over HTTP, %d requests each after %d warm-ups, load average %s:\n\n", sz.Runs, sz.Warmups, loadAverage())
	fmt.Fprintf(w, "| %s: repeat rates | first request | median | p95 | DV incidents | from the database |\n| --- | ---: | ---: | ---: | ---: | --- |\n", label)
	for _, g := range ranges {
		for _, f := range []struct {
			name string
			f    report.Filters
		}{{"all districts", report.Filters{}}, {"one district", report.Filters{DistrictID: &vals.district}}, {"idp_only", report.Filters{IDPOnly: true}}} {
			q := report.Query{From: g.from, To: g.to, Location: loc, GroupBy: report.ByAll, Filters: f.f}
			v := q.Values()
			v.Del(report.ParamGroupBy)
			path := "/dashboard/repeats?" + v.Encode()
			var ds []time.Duration
			var first time.Duration // nothing of the period kept yet
			for i := range sz.Warmups + sz.Runs {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, br.base+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				req.Header.Set("HX-Request", "true")
				t0 := time.Now()
				code, b, err := br.do(req)
				took := time.Since(t0)
				if err != nil || code != http.StatusOK || !strings.Contains(b, "repeat-table") {
					t.Fatalf("%s: GET %s: status %d, %v\n%s", label, path, code, err, snippet(b))
				}
				if i == 0 {
					first = took
				}
				if i >= sz.Warmups {
					ds = append(ds, took)
				}
			}
			src := facts.Source{Store: store, Ref: db}
			got, ok, err := src.RepeatRates(ctx, q, report.RepeatGroupings, nil)
			if err != nil || !ok {
				t.Fatalf("%s: the store did not give the repeat rates: %v", label, err)
			}
			n := 0
			for _, x := range got[0] {
				n += x.Incidents
			}
			naive := ""
			if g.name == "calendar year" && f.name != "idp_only" {
				t0 := time.Now()
				want, err := db.RepeatRatesMulti(ctx, q, report.RepeatGroupings)
				if err != nil {
					t.Fatalf("%s: the database's repeat rates: %v", label, err)
				}
				naive = fmt.Sprintf("%.2f s", time.Since(t0).Seconds())
				if diff := repeatDiff(got, want); diff != "" {
					naive += " **DIFFERS**"
					t.Errorf("%s %s %s: the store's repeat rates differ from the database's: %s", label, g.name, f.name, diff)
				} else {
					naive += " exact"
				}
			}
			fmt.Fprintf(w, "| %s, %s | %.1f | %.1f | %.1f | %d | %s |\n", g.name, f.name, msf(first), msf(percentile(ds, 0.5)),
				msf(percentile(ds, 0.95)), n, naive)
		}
	}
}

// repeatDiff says how two sets of repeat-rate figures differ beyond the
// store's rounding (counts exact, medians within 1 s); "" when they agree.
func repeatDiff(got, want [][]report.RepeatFigure) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d groupings, want %d", len(got), len(want))
	}
	for g := range want {
		if len(got[g]) != len(want[g]) {
			return fmt.Sprintf("grouping %d: %d groups, want %d", g, len(got[g]), len(want[g]))
		}
		for i, w := range want[g] {
			x := got[g][i]
			if x.Key != w.Key || x.Incidents != w.Incidents || x.Repeats != w.Repeats || (x.MedianDays == nil) != (w.MedianDays == nil) ||
				x.MedianDays != nil && math.Abs(*x.MedianDays-*w.MedianDays) > 1.0/86400+1e-9 {
				return fmt.Sprintf("grouping %d: %+v, want %+v", g, x, w)
			}
		}
	}
	return ""
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// engineFilterValues picks the matrix's filter values: the first
// district, its first settlement, the first DV type, and the unit with the
// most incidents.
func engineFilterValues(t *testing.T, db *postgres.DB) engineValues {
	t.Helper()
	var v engineValues
	if err := db.Pool.QueryRow(context.Background(), `SELECT d.id,
			(SELECT min(s.id) FROM settlements s WHERE s.district_id = d.id),
			(SELECT min(id) FROM incident_types WHERE is_dv),
			(SELECT unit_id FROM incident_units GROUP BY unit_id ORDER BY count(*) DESC, unit_id LIMIT 1)
		FROM districts d ORDER BY d.id LIMIT 1`).Scan(&v.district, &v.settlement, &v.dvType, &v.unit); err != nil {
		t.Fatalf("filter values (a district with a settlement, a DV type, a unit with incidents): %v", err)
	}
	return v
}

// ensureUnits gives units to incidents when no incident has one (the
// scale seed assigns none), so that the unit filter selects something:
// every tenth incident (by id) with a district gets one of its district's
// units, picked by id, assigned when received and released when cleared.
// One set-based statement; nothing is done when incident_units has rows.
func ensureUnits(ctx context.Context, db *postgres.DB) (string, error) {
	var have bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_units)`).Scan(&have); err != nil {
		return "", err
	}
	if have {
		var n int64
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM incident_units`).Scan(&n); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d incident_units rows present, used as they are", n), nil
	}
	began := time.Now()
	tag, err := db.Pool.Exec(ctx, `INSERT INTO incident_units (incident_id, unit_id, assigned_at, released_at)
		SELECT i.id, u.ids[1 + i.id % cardinality(u.ids)], i.received_at, coalesce(i.cleared_at, i.received_at + interval '1 hour')
		FROM incidents i
		JOIN (SELECT district_id, array_agg(id ORDER BY id) AS ids FROM units GROUP BY district_id) u ON u.district_id = i.district_id
		WHERE i.id % 10 = 0`)
	if err != nil {
		return "", err
	}
	if _, err := db.Pool.Exec(ctx, `ANALYZE incident_units`); err != nil {
		return "", err
	}
	return fmt.Sprintf("incident_units was empty: GAVE %d incidents (every tenth by id, with a district) one unit of their district, set-based, in %.1f s",
		tag.RowsAffected(), time.Since(began).Seconds()), nil
}

// compareServed checks a served JSON export against the naive result:
// the same groups, incidents, corrected, counts, targets and within-target
// shares (as the export writes them), and percentiles at least the naive
// one's and at most 1 s above (both rounded to the millisecond as
// exported). It returns the differences.
func compareServed(body string, naive report.Result) []string {
	got, err := report.ReadFigures([]byte(body), report.JSON)
	if err != nil {
		return []string{"served JSON unreadable: " + err.Error()}
	}
	var nb strings.Builder
	if err := report.WriteJSON(&nb, naive); err != nil {
		return []string{"naive result: " + err.Error()}
	}
	want, err := report.ReadFigures([]byte(nb.String()), report.JSON)
	if err != nil {
		return []string{"naive JSON: " + err.Error()}
	}
	var errs []string
	if len(got) != len(want) {
		errs = append(errs, fmt.Sprintf("%d group×interval figures, naive %d", len(got), len(want)))
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w, g := want[k], got[k]
		if g == nil {
			errs = append(errs, k+": missing")
			continue
		}
		for _, col := range []string{"incidents", "corrected", "n", "missing", "inconsistent", "target_s", "within_target_pct"} {
			if g[col] != w[col] {
				errs = append(errs, fmt.Sprintf("%s %s %q, naive %q", k, col, g[col], w[col]))
			}
		}
		for _, col := range []string{"median_s", "p90_s", "p95_s"} {
			if (g[col] == "") != (w[col] == "") {
				errs = append(errs, fmt.Sprintf("%s %s %q, naive %q", k, col, g[col], w[col]))
				continue
			}
			if g[col] == "" {
				continue
			}
			gv, err1 := strconv.ParseFloat(g[col], 64)
			wv, err2 := strconv.ParseFloat(w[col], 64)
			if err1 != nil || err2 != nil || gv < wv-1e-9 || gv > wv+1+1e-9 {
				errs = append(errs, fmt.Sprintf("%s %s %s, naive %s", k, col, g[col], w[col]))
			}
		}
	}
	return errs
}

// TestCompareServed checks that the exactness check can fail: a
// percentile 1 s or more above, or a count or within-target share that
// differs, is reported; a percentile just under 1 s above is not.
func TestCompareServed(t *testing.T) {
	loc := time.UTC
	mk := func(p95 float64, n int, pct float64) report.Result {
		med, p90 := 10.0, 20.0
		return report.Result{Query: report.Query{From: report.Date{Year: 2025, Month: 1, Day: 1}, To: report.Date{Year: 2025, Month: 1, Day: 31},
			Location: loc, GroupBy: report.ByPriority},
			Groups: []report.Group{{Key: "1", Label: "P1", Incidents: 5, Intervals: map[refdata.Interval]report.Summary{
				refdata.Response: {N: n, Median: &med, P90: &p90, P95: &p95, WithinTargetPct: &pct}}}}}
	}
	served := func(r report.Result) string {
		var b strings.Builder
		if err := report.WriteJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	naive := mk(30, 5, 80)
	for _, c := range []struct {
		name string
		got  report.Result
		bad  bool
	}{
		{"same", mk(30, 5, 80), false},
		{"p95 0.999 s above", mk(30.999, 5, 80), false},
		{"p95 1.5 s above", mk(31.5, 5, 80), true},
		{"p95 below", mk(29.9, 5, 80), true},
		{"count", mk(30, 4, 80), true},
		{"within target", mk(30, 5, 60), true},
	} {
		if errs := compareServed(served(c.got), naive); (len(errs) > 0) != c.bad {
			t.Errorf("%s: differences %v, want some: %v", c.name, errs, c.bad)
		}
	}
}
