package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
)

// pgbenchScript is the direct-SQL equivalent of one HTTP intake.
const pgbenchScript = "testdata/intake.pgbench.sql"

// pgbenchResult is what pgbench measured, or why it did not run.
type pgbenchResult struct {
	Clients  int
	Duration time.Duration
	TPS      float64
	Latency  string // pgbench's "latency average"
	Missing  string // set when pgbench is not installed
}

// findPgbench looks for pgbench on PATH, then in Debian's versioned
// PostgreSQL directories.
func findPgbench() (string, bool) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, true
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(ms) > 0 {
		return ms[len(ms)-1], true
	}
	return "", false
}

var (
	tpsRE     = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	latencyRE = regexp.MustCompile(`(?m)^latency average = (.+)$`)
	failedRE  = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
)

// runPgbench runs the intake script with pgbench on the environment's
// database: clients connections, 2 threads, for d. The script's values are
// those the HTTP benchmark's form c submits, normalised as the server
// would normalise them.
func runPgbench(t *testing.T, e *env, c call, clients int, d time.Duration) pgbenchResult {
	t.Helper()
	r := pgbenchResult{Clients: clients, Duration: d}
	bin, ok := findPgbench()
	if !ok {
		r.Missing = "pgbench is not installed (Debian: apt-get install postgresql-client)"
		return r
	}
	v := c.values("")
	keys := incident.KeysOf(match.Rules{Region: "KG"}, v.Get("address"), v.Get("caller_phone"), v.Get("caller_name"), v.Get("victim_name"), v.Get("suspect_name"))
	defs := map[string]string{
		"uid0": strconv.FormatInt(e.Users[0].ID, 10), "nusers": strconv.Itoa(len(e.Users)),
		"year": strconv.Itoa(time.Now().UTC().Year()), "district": c.District, "type": c.Type, "priority": c.Priority,
		"address": v.Get("address"), "caller_name": v.Get("caller_name"), "caller_phone": v.Get("caller_phone"),
		"victim_name": v.Get("victim_name"), "suspect_name": v.Get("suspect_name"), "narrative": v.Get("narrative"),
		"address_key": keys.Flat, "building_key": keys.Building, "phone_key": keys.Phone, "caller_key": keys.Caller,
		"victim_key": keys.Victim, "suspect_key": keys.Suspect,
	}
	threads := min(2, clients)
	args := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(max(1, int(d.Seconds()))), "-f", pgbenchScript}
	for k, val := range defs {
		args = append(args, "-D", k+"="+val)
	}
	args = append(args, e.DBURL)
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("pgbench printed no tps:\n%s", out)
	}
	r.TPS, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := latencyRE.FindSubmatch(out); m != nil {
		r.Latency = strings.TrimSpace(string(m[1]))
	}
	if m := failedRE.FindSubmatch(out); m != nil && string(m[1]) != "0" {
		t.Fatalf("pgbench: %s transactions failed:\n%s", m[1], out)
	}
	t.Logf("pgbench output:\n%s", out)
	return r
}

func (r pgbenchResult) String() string {
	if r.Missing != "" {
		return fmt.Sprintf("same inserts via pgbench: NOT RUN: %s", r.Missing)
	}
	return fmt.Sprintf("same inserts via pgbench (%d clients, %s): %.0f tps  (latency average %s)", r.Clients, r.Duration, r.TPS, r.Latency)
}
