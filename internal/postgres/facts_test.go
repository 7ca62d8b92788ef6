package postgres_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

// factIncident inserts an incident of the fixture with the given stamps
// (nil: not recorded) straight into the table and returns its id.
func (f *fixture) factIncident(t *testing.T, received time.Time, stamps ...*time.Time) int64 {
	t.Helper()
	s := make([]*time.Time, 4)
	copy(s, stamps)
	var id int64
	must(t, f.db.Pool.QueryRow(context.Background(), `INSERT INTO incidents (number, received_at, dispatched_at, en_route_at,
			on_scene_at, cleared_at, type_id, priority, district_id)
		VALUES ('F-' || gen_random_uuid(), $1, $2, $3, $4, $5, $6, 1, $7) RETURNING id`,
		received, s[0], s[1], s[2], s[3], f.typ.ID, f.district.ID).Scan(&id))
	return id
}

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := f.db.Pool.Exec(context.Background(), sql, args...)
	must(t, err)
}

func loadFacts(t *testing.T, db *postgres.DB) (map[int64]facts.Row, string) {
	t.Helper()
	rows := map[int64]facts.Row{}
	var last int64
	mark, err := db.LoadFacts(context.Background(), func(r facts.Row) error {
		if r.ID <= last {
			return fmt.Errorf("row %d after %d", r.ID, last)
		}
		last = r.ID
		rows[r.ID] = r
		return nil
	})
	must(t, err)
	return rows, mark
}

// TestLoadFactsRow: the row of an incident with sub-second, missing and
// out-of-order intervals holds report.Duration's seconds rounded up, and
// its other columns; FactRows gives the same row, and none for an
// incident that does not exist.
func TestLoadFactsRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rec := time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC)
	at := func(d time.Duration) *time.Time { t := rec.Add(d); return &t }
	dis := at(1500 * time.Millisecond) // call processing 1.5 s: 2
	ons := at(-10 * time.Second)       // response out of order; no en route: turnout, travel missing
	clr := at(100*time.Second + time.Microsecond)
	id := f.factIncident(t, rec, dis, nil, ons, clr)
	f.exec(t, `UPDATE incidents SET corrections = 2, victim_sex = 'female', victim_age = NULL WHERE id = $1`, id)
	plain := f.factIncident(t, rec.Add(time.Hour), at(time.Hour+time.Second))
	f.exec(t, `UPDATE incidents SET victim_age = 30, district_id = NULL WHERE id = $1`, plain)
	for i, u := range []int64{f.unit2.ID, f.unit.ID, f.unit2.ID} { // unit2 assigned twice: once in Units
		f.exec(t, `INSERT INTO incident_units (incident_id, unit_id, assigned_at) VALUES ($1, $2, $3)`, id, u, rec.Add(time.Duration(i)*time.Minute))
	}

	want := facts.Row{ID: id, Received: rec, Dur: [6]int32{2, facts.Missing, facts.Missing, facts.OutOfOrder, 111, 101},
		Priority: 1, DistrictID: f.district.ID, TypeID: f.typ.ID, Corrected: true, VictimSex: "female", VictimAge: -1,
		Units: []int64{min(f.unit.ID, f.unit2.ID), max(f.unit.ID, f.unit2.ID)}, RepeatGap: facts.NoPrevious}
	// The figures must be report.Duration's, rounded up.
	stamps := report.Stamps{Received: rec, Dispatched: dis, OnScene: ons, Cleared: clr}
	for i, d := range report.Definitions {
		secs, s := stamps.Interval(d)
		w := map[report.Status]int32{report.Missing: facts.Missing, report.Inconsistent: facts.OutOfOrder}[s]
		if s == report.Measured {
			w = int32(math.Ceil(secs))
		}
		if want.Dur[i] != w {
			t.Fatalf("test's own figure of %s: %d, report.Duration gives %d", d.Interval, want.Dur[i], w)
		}
	}

	rows, mark := loadFacts(t, f.db)
	if mark == "" {
		t.Error("no mark")
	}
	check := func(how string, got facts.Row) {
		t.Helper()
		if !got.Received.Equal(want.Received) {
			t.Errorf("%s: received %v, want %v", how, got.Received, want.Received)
		}
		got.Received = want.Received
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", how, got, want)
		}
	}
	check("LoadFacts", rows[id])
	p := rows[plain]
	if p.DistrictID != 0 || p.VictimAge != 30 || p.VictimSex != "" || p.Corrected || p.Units != nil ||
		p.Dur != [6]int32{1, facts.Missing, facts.Missing, facts.Missing, facts.Missing, facts.Missing} {
		t.Errorf("plain incident: %+v", p)
	}
	if len(rows) != 2 {
		t.Errorf("%d rows, want 2", len(rows))
	}

	var got []facts.Row
	must(t, f.db.FactRows(ctx, []int64{plain + 1000, id}, func(r facts.Row) error {
		got = append(got, r)
		return nil
	}))
	if len(got) != 1 {
		t.Fatalf("FactRows: %d rows, want 1", len(got))
	}
	check("FactRows", got[0])
}

// changes polls the change log from *mark, moves *mark on and returns the
// incidents' ids.
func changes(t *testing.T, db *postgres.DB, mark *string) []int64 {
	t.Helper()
	return allChanges(t, db, mark).Incidents
}

// allChanges is changes with the tasks' and orders' ids.
func allChanges(t *testing.T, db *postgres.DB, mark *string) facts.Changes {
	t.Helper()
	ch, next, reload, err := db.FactChanges(context.Background(), *mark)
	must(t, err)
	if reload {
		t.Fatal("reload asked")
	}
	if next == "" {
		t.Fatalf("no next mark after %s", *mark)
	}
	for _, ids := range [][]int64{ch.Incidents, ch.Tasks, ch.Orders} {
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Fatalf("ids not sorted and distinct: %v", ids)
		}
	}
	*mark = next
	return ch
}

// TestFactChangesLog: every change a report sees is logged in the
// changing transaction, and only those; a poll returns them once
// committed. (A poll may also return changes an earlier one did: while
// any transaction on the server that began before them runs, such as
// another test's, the mark stays below them.)
func TestFactChangesLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rec := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	old := f.factIncident(t, rec)
	_, mark := loadFacts(t, f.db)
	// step runs a statement (none: it ran) on an empty log, checks the incidents it
	// logged and that a poll returns them.
	step := func(what, sql string, args []any, want ...int64) {
		t.Helper()
		if sql != "" {
			f.exec(t, `DELETE FROM report_changes`)
			f.exec(t, sql, args...)
		}
		var got []int64
		must(t, f.db.Pool.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT incident_id ORDER BY incident_id), '{}')
			FROM report_changes`).Scan(&got))
		if want == nil {
			want = []int64{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: logged %v, want %v", what, got, want)
		}
		if ids := changes(t, f.db, &mark); !isSubset(want, ids) {
			t.Errorf("%s: poll %v lacks some of %v", what, ids, want)
		}
	}
	f.exec(t, `DELETE FROM report_changes`)
	id := f.factIncident(t, rec.Add(time.Minute))
	step("insert", "", nil, id)
	step("stage", `UPDATE incidents SET dispatched_at = received_at + interval '1 s' WHERE id = $1`, []any{id}, id)
	step("narrative, a stage set unchanged", `UPDATE incidents SET dispatched_at = dispatched_at, narrative = 'x' WHERE id = $1`, []any{id})
	step("victim of two", `UPDATE incidents SET victim_sex = 'male' WHERE id IN ($1, $2)`, []any{id, old}, old, id)
	step("units assigned", `INSERT INTO incident_units (incident_id, unit_id, assigned_at) VALUES ($1, $2, now()), ($1, $3, now())`,
		[]any{id, f.unit.ID, f.unit2.ID}, id)
	step("units released", `UPDATE incident_units SET released_at = now() WHERE incident_id = $1`, []any{id})
	step("unit moved", `UPDATE incident_units SET incident_id = $2 WHERE incident_id = $1 AND unit_id = $3`,
		[]any{id, old, f.unit.ID}, old, id)
	step("unit removed", `DELETE FROM incident_units WHERE incident_id = $1`, []any{id}, id)
	step("delete", `DELETE FROM incidents WHERE id = $1`, []any{id}, id)
	var n int
	must(t, f.db.FactRows(ctx, []int64{id}, func(facts.Row) error { n++; return nil }))
	if n != 0 {
		t.Errorf("FactRows of a deleted incident: %d rows", n)
	}
}

func isSubset(a, b []int64) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// TestFactChangesSeesLateCommit: a transaction that wrote before a poll
// and commits after it is seen by the next poll, though transactions that
// began after it committed before it (the xmin rule).
func TestFactChangesSeesLateCommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rec := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	slow := f.factIncident(t, rec)
	_, mark := loadFacts(t, f.db)
	// Only the slow transaction's entry for slow, not its insert's (which
	// a poll may return again while other transactions run).
	f.exec(t, `DELETE FROM report_changes`)

	tx, err := f.db.Pool.Begin(ctx)
	must(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, `UPDATE incidents SET cleared_at = received_at + interval '1 h' WHERE id = $1`, slow)
	must(t, err)
	quick := f.factIncident(t, rec.Add(time.Minute)) // another connection, committed at once
	if ids := changes(t, f.db, &mark); !slices.Contains(ids, quick) || slices.Contains(ids, slow) {
		t.Fatalf("while the slow transaction runs: %v, want %d and not %d", ids, quick, slow)
	}
	must(t, tx.Commit(ctx))
	// quick may come again: its xid is above the running slow one's.
	if ids := changes(t, f.db, &mark); !slices.Contains(ids, slow) {
		t.Fatalf("after the slow transaction committed: %v, want %d among them", ids, slow)
	}
}

// TestFactChangesReload: a bulk load's marker, or more changes than are
// worth reading one by one, ask for a full load; the mark goes past them.
func TestFactChangesReload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	_, mark := loadFacts(t, f.db)
	i := 0
	_, err := f.db.SeedScale(ctx, 10, func(in *postgres.ScaleIncident) bool {
		i++
		*in = postgres.ScaleIncident{Number: fmt.Sprintf("%sr-%d", postgres.ScalePrefix, i), ExternalID: fmt.Sprint(i),
			ReceivedAt: time.Date(2026, 3, 1, 8, i, 0, 0, time.UTC), TypeID: f.typ.ID, Priority: 1, Address: "1 Main St"}
		return i <= 3
	}, nil)
	must(t, err)
	ch, next, reload, err := f.db.FactChanges(ctx, mark)
	must(t, err)
	if !reload || next == "" {
		t.Fatalf("after SeedScale: changes %v, next %s (from %s), reload %v; want reload", ch, next, mark, reload)
	}
	rows, mark := loadFacts(t, f.db)
	if len(rows) != 3 {
		t.Fatalf("reloaded %d rows, want 3", len(rows))
	}

	f.exec(t, `INSERT INTO report_changes (incident_id) SELECT g FROM generate_series(1, 200001) g`)
	if _, _, reload, err := f.db.FactChanges(ctx, mark); err != nil || !reload {
		t.Fatalf("200,001 changes: reload %v, err %v; want reload", reload, err)
	}
}

// TestPruneFactChanges deletes only the entries older than the age.
func TestPruneFactChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.exec(t, `INSERT INTO report_changes (incident_id, at) VALUES (1, now() - interval '2 h'), (2, now() - interval '10 min')`)
	must(t, f.db.PruneFactChanges(ctx, time.Hour))
	var left []int64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT array_agg(incident_id) FROM report_changes`).Scan(&left))
	if !slices.Equal(left, []int64{2}) {
		t.Fatalf("left %v, want [2]", left)
	}
}

// TestPruneFactChangesVacuums replays a bulk change with autovacuum off:
// once pruned, the log's dead rows are vacuumed away and its statistics
// renewed, so that the next poll reads neither.
func TestPruneFactChangesVacuums(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.exec(t, `ALTER TABLE report_changes SET (autovacuum_enabled = false)`)
	f.exec(t, `INSERT INTO report_changes (incident_id, at) VALUES (7, now())`)
	f.exec(t, `INSERT INTO report_changes (incident_id, at) SELECT g, now() - interval '2 h' FROM generate_series(1, 20000) g`)
	f.exec(t, `ANALYZE report_changes`)
	size := func() (pages int64, tuples float64) {
		t.Helper()
		must(t, f.db.Pool.QueryRow(ctx, `SELECT pg_relation_size('report_changes') / current_setting('block_size')::int, reltuples
			FROM pg_class WHERE oid = 'report_changes'::regclass`).Scan(&pages, &tuples))
		return pages, tuples
	}
	before, _ := size()
	must(t, f.db.PruneFactChanges(ctx, time.Hour))
	after, tuples := size()
	// VACUUM truncates the empty pages after the row left (the first
	// page's); ANALYZE sets reltuples to that one row.
	if after*4 > before || tuples != 1 {
		t.Fatalf("after pruning 20,000 rows: %d pages (%d before), reltuples %v; want the table vacuumed and analysed",
			after, before, tuples)
	}
	var left []int64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT array_agg(incident_id) FROM report_changes`).Scan(&left))
	if !slices.Equal(left, []int64{7}) {
		t.Fatalf("left %v, want [7]", left)
	}
}

// TestLoadFactsSpeed times LoadFacts over DVR_FACTS_BENCH incidents
// (about half with two units) made with generate_series; skipped unless
// set.
func TestLoadFactsSpeed(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DVR_FACTS_BENCH"))
	if n <= 0 {
		t.Skip("DVR_FACTS_BENCH not set")
	}
	f := newFixture(t)
	ctx := context.Background()
	began := time.Now()
	tx, err := f.db.Pool.Begin(ctx)
	must(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit: a no-op
	// The change log's triggers, and the indexes LoadFacts does
	// not read, are not what is timed (the test's role owns the tables).
	_, err = tx.Exec(ctx, `ALTER TABLE incidents DISABLE TRIGGER USER`)
	must(t, err)
	_, err = tx.Exec(ctx, `ALTER TABLE incident_units DISABLE TRIGGER USER`)
	must(t, err)
	_, err = tx.Exec(ctx, `DO $$ DECLARE i regclass; BEGIN
		FOR i IN SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'incidents'::regclass AND NOT indisunique LOOP
			EXECUTE 'DROP INDEX ' || i;
		END LOOP; END $$`)
	must(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO incidents (number, received_at, dispatched_at, en_route_at, on_scene_at, cleared_at,
			type_id, priority, district_id, victim_sex, victim_age, corrections)
		SELECT 'B-' || g, r, r + interval '37.5 s', r + interval '95 s', CASE WHEN g % 7 <> 0 THEN r + interval '600.25 s' END,
			r + interval '3600 s', $2, 1, $3, CASE WHEN g % 2 = 0 THEN 'female' END, CASE WHEN g % 3 = 0 THEN 30 END, g % 11
		FROM generate_series(1, $1) g, LATERAL (SELECT timestamptz '2025-01-01' + g * interval '3 s' AS r) x`, n, f.typ.ID, f.district.ID)
	must(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO incident_units (incident_id, unit_id, assigned_at)
		SELECT id, u, received_at FROM incidents, LATERAL (VALUES ($1::bigint), ($2::bigint)) v(u) WHERE id % 2 = 0 OR u = $1`,
		f.unit.ID, f.unit2.ID)
	must(t, err)
	must(t, tx.Commit(ctx))
	_, err = f.db.Pool.Exec(ctx, `VACUUM ANALYZE incidents, incident_units`)
	must(t, err)
	t.Logf("made %d incidents in %v", n, time.Since(began).Round(time.Millisecond))

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	began = time.Now()
	var rows, units int
	_, err = f.db.LoadFacts(ctx, func(r facts.Row) error {
		rows++
		units += len(r.Units)
		return nil
	})
	must(t, err)
	took := time.Since(began)
	runtime.ReadMemStats(&ms1)
	if rows != n {
		t.Fatalf("%d rows, want %d", rows, n)
	}
	t.Logf("LoadFacts: %d incidents, %d units in %v (%.0f ns/row, %.2f allocs/row)", rows, units, took.Round(time.Millisecond),
		float64(took.Nanoseconds())/float64(n), float64(ms1.Mallocs-ms0.Mallocs)/float64(n))
}
