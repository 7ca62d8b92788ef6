package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
)

// The scale benchmark (make bench): at 1 million and 10 million incidents
// over five years, the seed, recomputing the history keys, the history
// lookup and the intake's repeat-victimisation counts. The response-time
// and repeat-rate figures are TestBenchEngine's (engine_test.go), over
// HTTP with the report store.
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

func runReport(t *testing.T, sz reportSizes) string {
	t.Helper()
	ctx := context.Background()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}

	var b strings.Builder
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

		// The report's and the dashboard's latency are TestBenchEngine's
		// (over HTTP, with the report store), not timed here.
		// The history panel's lookup through HTTP, as the dispatcher types.
		hf := historyLatency(t, db, sz.Runs)
		fmt.Fprintf(&b, "    %-52s median %8s  p95 %8s (target p95 <= 50 ms at 10 M)\n", "POST /incidents/history (address)", ms(hf.med), ms(hf.p95))
		fmt.Fprintf(&b, "      phases, median/p95: %s\n", hf.phasesLine())
		// Repeat victimisation: the intake's counts (the dashboard's rates
		// are TestBenchEngine's).
		repeatBench(t, db, sz.Runs, &b)
		db.Close()
	}
	fmt.Fprintf(&b, "(%d CPUs; PostgreSQL on the same machine over loopback)\n", runtime.NumCPU())
	return b.String()
}

// testWriter sends seed progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
