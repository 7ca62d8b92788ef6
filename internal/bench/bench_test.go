package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sizes are the benchmark's parameters.
type sizes struct {
	Clients        int           // concurrent intake clients, each its own dispatcher
	Warmup, Window time.Duration // intake warm-up, then the measured interval (pgbench runs as long)
	Boards         int           // connected live-board streams
	Incidents      int           // incidents logged one at a time for the fan-out
	Spacing        time.Duration // between those incidents
	PrintToStdout  bool          // print the summary block to standard output
	Demo           bool          // load the demo data (a year of history) first
	// pgbench with the change log's triggers on and off: OnOffRounds
	// of each, alternating, each OnOffWindow long, at OnOffClients.
	OnOffClients, OnOffRounds int
	OnOffWindow               time.Duration
}

// TestBench is `make bench`: the full-size run, only with DVR_BENCH=1.
func TestBench(t *testing.T) {
	if os.Getenv("DVR_BENCH") == "" {
		t.Skip("the full benchmark runs with DVR_BENCH=1 (make bench); TestBenchSmoke covers the harness")
	}
	run(t, sizes{
		Clients:       envInt(t, "DVR_BENCH_CLIENTS", 16),
		Warmup:        envDuration(t, "DVR_BENCH_WARMUP", 2*time.Second),
		Window:        envDuration(t, "DVR_BENCH_DURATION", 10*time.Second),
		Boards:        envInt(t, "DVR_BENCH_BOARDS", 200),
		Incidents:     envInt(t, "DVR_BENCH_INCIDENTS", 50),
		Spacing:       envDuration(t, "DVR_BENCH_SPACING", 100*time.Millisecond),
		OnOffClients:  16, // issue 15's acceptance figure is at 16 clients
		OnOffRounds:   envInt(t, "DVR_BENCH_ONOFF_ROUNDS", 3),
		OnOffWindow:   envDuration(t, "DVR_BENCH_DURATION", 10*time.Second),
		PrintToStdout: true, Demo: true,
	})
}

// TestBenchSmoke runs the same harness at a tiny size, so that `go test
// ./...` keeps it working.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a database and loads a server; skipped with -short")
	}
	t.Parallel()
	run(t, sizes{Clients: 2, Warmup: 200 * time.Millisecond, Window: time.Second,
		Boards: 5, Incidents: 3, Spacing: 20 * time.Millisecond,
		OnOffClients: 2, OnOffRounds: 1, OnOffWindow: time.Second})
}

// run measures, in order: the HTTP intake, pgbench on the same database,
// pgbench with the change log on and off, the board fan-out; then reports.
func run(t *testing.T, sz sizes) {
	t.Helper()
	e := newEnv(t, sz.Clients, sz.Demo)
	t.Logf("database seeded in %v (demo data: %v)", e.Seeded.Round(time.Millisecond), sz.Demo)

	in := runIntake(t, e, sz.Clients, sz.Warmup, sz.Window)
	if in.Errors > 0 {
		t.Errorf("%d intake requests failed; first: %s", in.Errors, in.FirstErr)
	}
	if in.Logged == 0 {
		t.Errorf("no incident was logged through HTTP in %v", sz.Window)
	}

	pgb := runPgbench(t, e, in.Call, sz.Clients, sz.Window)
	onoff := runOnOff(t, e, in.Call, sz.OnOffClients, sz.OnOffRounds, sz.OnOffWindow, in.PerSec)

	fo := runFanout(t, e, in.Call, sz.Boards, sz.Incidents, sz.Spacing)
	if fo.Missed > 0 {
		t.Errorf("board fan-out: %d of %d deliveries missed", fo.Missed, sz.Boards*sz.Incidents)
	}

	var b strings.Builder
	fmt.Fprintln(&b, in)
	fmt.Fprintln(&b, pgb)
	if pgb.Missing == "" && pgb.TPS > 0 {
		fmt.Fprintf(&b, "ratio HTTP/pgbench: %.2f\n", in.PerSec/pgb.TPS)
	} else {
		fmt.Fprintln(&b, "ratio HTTP/pgbench: n/a (pgbench did not run)")
	}
	fmt.Fprintln(&b, onoff)
	fmt.Fprintln(&b, fo)
	fmt.Fprintln(&b, "(pgbench runs the intake's database statements: the draft insert, the draft and clock reads and")
	fmt.Fprintln(&b, " CreateIncident's transaction with the DV follow-ups, up to 14 statements; HTTP adds the session,")
	fmt.Fprintln(&b, " user and form-list reads, the cross-origin check, validation and page rendering)")
	fmt.Fprintf(&b, "(%d CPUs, GOMAXPROCS %d; server, clients and PostgreSQL on one machine over loopback; %d boards connected in %v)\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), fo.Boards, fo.Connect.Round(time.Millisecond))
	if sz.PrintToStdout {
		fmt.Printf("\n===== dvresponse benchmark =====\n%s================================\n\n", b.String())
	} else {
		t.Logf("\n%s", b.String())
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration like 10s", name, v)
	}
	return d
}
