package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/server"
)

// historyPhases are the parts a history lookup's time is split into, in
// the order printed: its own queries (the matches and the protection
// orders), the audit row (its transaction, commit included), the session
// (read, and saved again: the idle deadline moves), the other statements
// (the user and the second-factor check), and the time outside the
// database (routing, matching rules, the template, HTTP).
var historyPhases = []string{"lookup SQL", "audit", "session", "other SQL", "outside SQL"}

// historyPhase names the phase of a statement the pool ran.
func historyPhase(sql string) string {
	s := strings.TrimSpace(sql)
	switch {
	case strings.Contains(s, "WITH hit AS"), strings.Contains(s, "FROM protection_orders"),
		strings.EqualFold(s, "begin read only"):
		return "lookup SQL"
	case strings.EqualFold(s, "begin"), strings.EqualFold(s, "commit"), strings.Contains(s, "pg_advisory_xact_lock"),
		strings.Contains(s, "audit_events"):
		// The audit's transaction (and the lookup's read-only commit,
		// which waits for no disk).
		return "audit"
	case strings.Contains(s, "sessions"):
		return "session"
	}
	return "other SQL"
}

// historyFigures are a history lookup's latency, and each phase's.
type historyFigures struct {
	med, p95 time.Duration
	phases   map[string][2]time.Duration // median, p95
}

// historyLatency measures POST /incidents/history (the intake panel's
// lookup, audited as in production) on db: runs lookups of addresses of
// stored incidents, warm, by a dispatcher with no district (the full
// panel). A fresh user per 50 lookups keeps under the per-user limit.
// Each lookup's time is split into phases by the statements it ran.
func historyLatency(t *testing.T, db *postgres.DB, runs int) historyFigures {
	t.Helper()
	ctx := context.Background()
	srv := server.NewServer(server.Deps{DB: db, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})), Location: time.UTC})
	hs := httptest.NewServer(srv)
	defer func() { srv.Close(); hs.Close() }()
	var addrs []string
	for _, sample := range []string{"TABLESAMPLE SYSTEM (1)", ""} { // a small table may sample nothing
		rows, err := db.Pool.Query(ctx, `SELECT address FROM incidents `+sample+` WHERE address <> '' LIMIT $1`, runs+3)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			addrs = append(addrs, a)
		}
		if len(addrs) > 0 {
			break
		}
	}
	if len(addrs) == 0 {
		t.Fatal("no addresses to look up")
	}
	// One lookup at a time: every statement timed belongs to it.
	var mu sync.Mutex
	spent := map[string]time.Duration{}
	db.SetStatementTimer(func(sql string, took time.Duration) {
		mu.Lock()
		spent[historyPhase(sql)] += took
		mu.Unlock()
	})
	defer db.SetStatementTimer(nil)
	var b *browser
	var ds []time.Duration
	byPhase := map[string][]time.Duration{}
	for i := range runs + 3 {
		if i%50 == 0 {
			name := fmt.Sprintf("bench.history%d.%d", time.Now().UnixNano(), i)
			if _, err := db.CreateUser(ctx, account.Draft{Username: name, Role: string(account.Dispatcher), Password: benchPassword}, audit.Actor{}); err != nil {
				t.Fatal(err)
			}
			jar, _ := cookiejar.New(nil)
			b = &browser{base: hs.URL, jar: jar, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			b.login(t, name)
		}
		mu.Lock()
		clear(spent)
		mu.Unlock()
		t0 := time.Now()
		resp, _, err := b.post(ctx, "/incidents/history", url.Values{"address": {addrs[i%len(addrs)]}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /incidents/history: %v %v", err, resp)
		}
		took := time.Since(t0)
		if i < 3 { // the first three warm the cache and the plans
			continue
		}
		ds = append(ds, took)
		mu.Lock()
		inSQL := time.Duration(0)
		for _, p := range historyPhases[:len(historyPhases)-1] {
			byPhase[p] = append(byPhase[p], spent[p])
			inSQL += spent[p]
		}
		mu.Unlock()
		byPhase["outside SQL"] = append(byPhase["outside SQL"], took-inSQL)
	}
	f := historyFigures{med: percentile(ds, 0.5), p95: percentile(ds, 0.95), phases: map[string][2]time.Duration{}}
	for p, pd := range byPhase {
		f.phases[p] = [2]time.Duration{percentile(pd, 0.5), percentile(pd, 0.95)}
	}
	return f
}

// phasesLine prints the phases' medians and 95th percentiles.
func (f historyFigures) phasesLine() string {
	var parts []string
	for _, p := range historyPhases {
		parts = append(parts, fmt.Sprintf("%s %s/%s", p, ms(f.phases[p][0]), ms(f.phases[p][1])))
	}
	return strings.Join(parts, ", ")
}

// TestBenchHistory is the history part of the report benchmark alone, on
// the scale databases `make bench` built (DVR_BENCH_SCALE_URL_1M,
// DVR_BENCH_SCALE_URL; either may be left out), migrated but not seeded:
// only with DVR_BENCH_HISTORY=1. With DVR_BENCH_REKEY=1 it times
// recomputing the keys of every incident first, with no key changing and
// with every key changing (rekeyFigures).
// DVR_BENCH_HISTORY_REPEAT measures each
// database that many times over (default 1), DVR_BENCH_REPORT_RUNS
// lookups a time (default 200).
//
//	DVR_BENCH_HISTORY=1 DVR_BENCH_SCALE_URL=... go test -run '^TestBenchHistory$' -v ./internal/bench/
func TestBenchHistory(t *testing.T) {
	if os.Getenv("DVR_BENCH_HISTORY") == "" {
		t.Skip("the history benchmark alone runs with DVR_BENCH_HISTORY=1 on databases `make bench` built")
	}
	ctx := context.Background()
	runs, repeat := envInt(t, "DVR_BENCH_REPORT_RUNS", 200), envInt(t, "DVR_BENCH_HISTORY_REPEAT", 1)
	var out strings.Builder
	for _, sc := range []struct{ label, env string }{{"1M", "DVR_BENCH_SCALE_URL_1M"}, {"10M", "DVR_BENCH_SCALE_URL"}} {
		u := os.Getenv(sc.env)
		if u == "" {
			continue
		}
		m, err := postgres.NewMigrator(u)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Up(); err != nil {
			t.Fatalf("migrate %s: %v", sc.label, err)
		}
		m.Close()
		db, err := postgres.Open(ctx, u, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatalf("open %s: %v", sc.label, err)
		}
		db.SetMatchRules(match.Rules{Region: "KG"})
		var n int64
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM incidents`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if os.Getenv("DVR_BENCH_REKEY") != "" {
			fmt.Fprintf(&out, "%s: load average before: %s\n", sc.label, loadAverage())
			for _, line := range rekeyFigures(t, db) {
				fmt.Fprintf(&out, "%s: %s\n", sc.label, line)
			}
			fmt.Fprintf(&out, "%s: load average after: %s\n", sc.label, loadAverage())
		}
		for i := range repeat {
			f := historyLatency(t, db, runs)
			fmt.Fprintf(&out, "%s (%d incidents) run %d: POST /incidents/history median %s p95 %s\n    phases, median/p95: %s\n",
				sc.label, n, i+1, ms(f.med), ms(f.p95), f.phasesLine())
		}
		db.Close()
	}
	fmt.Printf("\n===== history lookups (%d CPUs) =====\n%s", runtime.NumCPU(), out.String())
}

// rekeyFigures times what `dvresponse migrate` does after the matching
// rules change (postgres.RecomputeKeys), three ways: forced with no key
// changing (the stored rules version cleared), then with every key
// changing twice: under a variant of the rules whose every non-empty key
// differs (every key prefixed), and back under the deployment's rules. It
// checks a sample of the keys against those computed in Go, and returns
// one line per way with its phases.
func rekeyFigures(t *testing.T, db *postgres.DB) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `DELETE FROM app_settings WHERE key = $1`, postgres.MatchKeysVersionKey); err != nil {
		t.Fatal(err)
	}
	var lines []string
	n, took, steps := rekeyTimed(t, db, db.RecomputeKeys)
	lines = append(lines, fmt.Sprintf("history keys recomputed, forced, no key changing: %d incidents in %.1fs (%s)",
		n, took.Seconds(), steps))
	checkKeys(t, db, db.MatchRules().Keys)
	rules := db.MatchRules()
	variant := func(address, phone, caller, victim, suspect string) match.Keys {
		k := rules.Keys(address, phone, caller, victim, suspect)
		for _, s := range []*string{&k.Flat, &k.Building, &k.Phone, &k.Caller, &k.Victim, &k.Suspect} {
			if *s != "" {
				*s = "v:" + *s
			}
		}
		return k
	}
	n, took, steps = rekeyTimed(t, db, func(ctx context.Context) (int64, error) {
		return db.RecomputeKeysWith(ctx, "bench-variant:"+rules.Version(), variant)
	})
	lines = append(lines, fmt.Sprintf("history keys recomputed, every key changing (rules variant): %d incidents in %.1fs (%s)",
		n, took.Seconds(), steps))
	checkKeys(t, db, variant)
	n, took, steps = rekeyTimed(t, db, db.RecomputeKeys)
	lines = append(lines, fmt.Sprintf("history keys recomputed, every key changing (back to the rules): %d incidents in %.1fs (%s)",
		n, took.Seconds(), steps))
	checkKeys(t, db, db.MatchRules().Keys)
	return lines
}

// checkKeys compares the stored keys of a sample of incidents with those
// keys computes.
func checkKeys(t *testing.T, db *postgres.DB, keys func(address, phone, caller, victim, suspect string) match.Keys) {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT i.address, i.caller_phone, i.caller_name, i.victim_name, i.suspect_name,
			k.address_key, k.building_key, k.phone_key, k.caller_key, k.victim_key, k.suspect_key
		FROM incidents i TABLESAMPLE SYSTEM (0.1) JOIN incident_keys k ON k.incident_id = i.id LIMIT 1000`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, p, c, v, s string
		var got match.Keys
		if err := rows.Scan(&a, &p, &c, &v, &s, &got.Flat, &got.Building, &got.Phone, &got.Caller, &got.Victim, &got.Suspect); err != nil {
			t.Fatal(err)
		}
		if want := keys(a, p, c, v, s); got != want {
			t.Fatalf("stored keys of %q: %+v, want %+v", a, got, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// rekeyTimed times recompute (a recompute of the history keys, which
// writes every row of incident_keys whether its keys change or not) and
// splits it: reading and keying the incidents, the key indexes built
// again, the statistics (ANALYZE), the other statements, and the rest (the
// COPY of the keys into incident_keys, and the time in Go).
func rekeyTimed(t *testing.T, db *postgres.DB, recompute func(context.Context) (int64, error)) (n int64, took time.Duration, steps string) {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var read, index, analyze, other time.Duration
	db.SetStatementTimer(func(sql string, d time.Duration) {
		s := strings.TrimSpace(sql)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(s, "SELECT id, received_at, address"):
			read += d // the batches read, keyed as they arrive
		case strings.HasPrefix(s, "CREATE INDEX"):
			index += d
		case strings.HasPrefix(s, "ANALYZE"):
			analyze += d
		default:
			other += d
		}
	})
	began := time.Now()
	n, err := recompute(ctx)
	took = time.Since(began)
	db.SetStatementTimer(nil)
	if err != nil {
		t.Fatalf("recompute history keys: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	steps = fmt.Sprintf("read and keyed %.1fs, key indexes %.1fs, ANALYZE %.1fs, other statements %.1fs, COPY and rest %.1fs",
		read.Seconds(), index.Seconds(), analyze.Seconds(), other.Seconds(), (took - read - index - analyze - other).Seconds())
	return n, took, steps
}

// loadAverage is the machine's load average (/proc/loadavg), or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
