package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The write path's only derived-data maintenance is the report store's
// change log: the triggers of migration 0026 append to report_changes in
// the writing transaction. Issue 15 asks that it cost intake little (with
// it on, pgbench at 16 clients ≥ 0.8 of the rate with it off), so the
// benchmark measures both on one database, alternating rounds so that a
// checkpoint, autovacuum or the machine's other load falls on both sides.

// changeLogFuncs are the trigger functions that write the change log
// (migrations 0026, 0029 and 0031). The triggers are found through them
// rather than by name, so that a trigger added later is switched off too.
var changeLogFuncs = []string{"report_changes_log_rows", "report_changes_log_row", "report_changes_log_links",
	"report_changes_log_follow", "report_changes_reload"}

// onOffRound is one pgbench round with the change log on or off.
type onOffRound struct {
	On        bool
	TPS       float64
	Changes   int64 // rows report_changes gained during the round
	Incidents int64 // incidents inserted during the round
	Tasks     int64 // follow-up tasks inserted during the round
}

// onOffResult is the alternation's outcome.
type onOffResult struct {
	Clients  int
	Duration time.Duration // of each round
	Triggers []string      // table.trigger switched off in the OFF rounds
	Rounds   []onOffRound
	HTTP     float64 // the HTTP intake's incidents/s, for the ratio to OFF
	Missing  string  // set when pgbench is not installed
}

// changeLogTrigger is one trigger that writes the change log.
type changeLogTrigger struct{ Table, Name string }

// changeLogTriggers lists the enabled-or-not triggers on the database that
// write report_changes. It fails the test unless the intake's INSERT into
// incidents is among them: otherwise the OFF rounds would switch nothing
// the script reaches.
func changeLogTriggers(t *testing.T, e *env) []changeLogTrigger {
	t.Helper()
	rows, err := e.DB.Pool.Query(context.Background(), `
		SELECT c.relname, tg.tgname
		FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_proc p ON p.oid = tg.tgfoid
		WHERE NOT tg.tgisinternal AND p.proname = ANY($1)
		ORDER BY 1, 2`, changeLogFuncs)
	if err != nil {
		t.Fatalf("list the change log's triggers: %v", err)
	}
	trs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[changeLogTrigger])
	if err != nil {
		t.Fatalf("list the change log's triggers: %v", err)
	}
	if !slices.Contains(trs, changeLogTrigger{"incidents", "report_changes_insert"}) {
		t.Fatalf("no change log trigger on INSERT into incidents (migration 0026); found %v", trs)
	}
	return trs
}

// setChangeLog enables or disables the change log's triggers. ALTER TABLE
// takes an exclusive lock on each table: called only between rounds.
func setChangeLog(ctx context.Context, e *env, trs []changeLogTrigger, on bool) error {
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	for _, tr := range trs {
		q := fmt.Sprintf("ALTER TABLE %s %s TRIGGER %s",
			pgx.Identifier{tr.Table}.Sanitize(), verb, pgx.Identifier{tr.Name}.Sanitize())
		if _, err := e.DB.Pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// countWrites returns the rows in report_changes, incidents and
// follow_up_tasks. Nothing else writes while pgbench runs, so the
// differences across a round are the round's own.
func countWrites(t *testing.T, e *env) (changes, incidents, tasks int64) {
	t.Helper()
	err := e.DB.Pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM report_changes), (SELECT count(*) FROM incidents), (SELECT count(*) FROM follow_up_tasks)`).
		Scan(&changes, &incidents, &tasks)
	if err != nil {
		t.Fatalf("count report_changes, incidents and follow_up_tasks: %v", err)
	}
	return changes, incidents, tasks
}

// runOnOff runs the intake script with pgbench for rounds pairs of an ON
// and an OFF round, each d long, and checks that the change log grew by one row per
// incident in the ON rounds and not at all in the OFF rounds. The
// triggers are enabled again when the test ends, whatever happened.
func runOnOff(t *testing.T, e *env, c call, clients, rounds int, d time.Duration, httpPerSec float64) onOffResult {
	t.Helper()
	r := onOffResult{Clients: clients, Duration: d, HTTP: httpPerSec}
	if _, ok := findPgbench(); !ok {
		r.Missing = "pgbench is not installed (Debian: apt-get install postgresql-client)"
		return r
	}
	trs := changeLogTriggers(t, e)
	for _, tr := range trs {
		r.Triggers = append(r.Triggers, tr.Table+"."+tr.Name)
	}
	t.Cleanup(func() {
		// A fresh context: the test's may be done. Registered after
		// newEnv's, so it runs before the pool closes.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := setChangeLog(ctx, e, trs, true); err != nil {
			t.Errorf("enable the change log's triggers again: %v", err)
		}
	})
	ctx := context.Background()
	for i := range 2 * rounds {
		// Pairs in turn ON OFF, OFF ON, ...: a drift in the machine's
		// speed during the run (the tables grow, other work comes and
		// goes) then does not always favour the side that runs first.
		on := (i%2 == 0) == (i/2%2 == 0)
		if err := setChangeLog(ctx, e, trs, on); err != nil {
			t.Fatal(err)
		}
		c0, i0, f0 := countWrites(t, e)
		p := runPgbench(t, e, c, clients, d)
		c1, i1, f1 := countWrites(t, e)
		rd := onOffRound{On: on, TPS: p.TPS, Changes: c1 - c0, Incidents: i1 - i0, Tasks: f1 - f0}
		r.Rounds = append(r.Rounds, rd)
		switch {
		case rd.Incidents == 0:
			t.Errorf("change log %s: pgbench inserted no incident", onOff(on))
		case on && rd.Changes != rd.Incidents+rd.Tasks:
			t.Errorf("change log ON: report_changes grew by %d for %d incidents and %d follow-up tasks; want one row each",
				rd.Changes, rd.Incidents, rd.Tasks)
		case !on && rd.Changes != 0:
			t.Errorf("change log OFF: report_changes grew by %d; want 0", rd.Changes)
		}
	}
	return r
}

func onOff(on bool) string {
	if on {
		return "ON"
	}
	return "OFF"
}

// median returns the median of the rounds' tps with the change log on or
// off.
func (r onOffResult) median(on bool) float64 {
	var v []float64
	for _, rd := range r.Rounds {
		if rd.On == on {
			v = append(v, rd.TPS)
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func (r onOffResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "intake writes with the change log on/off (pgbench, %d clients, %s rounds, alternating on one database):\n", r.Clients, r.Duration)
	if r.Missing != "" {
		fmt.Fprintf(&b, "  NOT RUN: %s", r.Missing)
		return b.String()
	}
	var tps, sanity []string
	for _, rd := range r.Rounds {
		tps = append(tps, fmt.Sprintf("%s %.0f", onOff(rd.On), rd.TPS))
		sanity = append(sanity, fmt.Sprintf("%s +%d/+%d+%d", onOff(rd.On), rd.Changes, rd.Incidents, rd.Tasks))
	}
	on, off := r.median(true), r.median(false)
	fmt.Fprintf(&b, "  rounds (tps): %s\n", strings.Join(tps, ", "))
	fmt.Fprintf(&b, "  median ON %.0f tps, OFF %.0f tps; ratio ON/OFF: %s  (issue 15: ≥ 0.80)\n", on, off, ratio(on, off))
	var pairs []string
	for i := 0; i+1 < len(r.Rounds); i += 2 {
		a, z := r.Rounds[i], r.Rounds[i+1]
		if !a.On {
			a, z = z, a
		}
		pairs = append(pairs, ratio(a.TPS, z.TPS))
	}
	fmt.Fprintf(&b, "  ON/OFF by pair, for the noise: %s\n", strings.Join(pairs, ", "))
	fmt.Fprintf(&b, "  HTTP intake / pgbench OFF median: %s  (issue 15: ≥ 0.50)\n", ratio(r.HTTP, off))
	fmt.Fprintf(&b, "  sanity, report_changes rows/incidents+follow-up tasks added per round: %s\n", strings.Join(sanity, ", "))
	fmt.Fprintf(&b, "  (OFF: ALTER TABLE … DISABLE TRIGGER on %s)", strings.Join(r.Triggers, ", "))
	return b.String()
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}
