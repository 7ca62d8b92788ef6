package postgres_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

// yearSpec names a rollup table's columns for the year-row tests, which
// read them independently of the code under test.
type yearSpec struct {
	name, period string
	keys         []string // the key columns besides grain and period
	sums         []string // the summed columns; "over" is a multiset, the others add element-wise
}

var yearSpecs = []yearSpec{
	{"rollup_cells", "period", []string{"district_id", "priority", "is_dv"}, []string{"incidents", "corrected", "missing", "inconsistent"}},
	{"rollup_hist", "month", []string{"district_id", "priority", "is_dv", "iv"}, []string{"n", "hist", "over"}},
	{"rollup_fine", "month", []string{"iv", "district_id", "priority", "is_dv", "bucket"}, []string{"counts"}},
	{"dash_cells", "month", []string{"dim", "district_id", "dv", "key"},
		[]string{"incidents", "corrected", "prios", "missing", "inconsistent", "with_target", "within"}},
	{"dash_hist", "month", []string{"dim", "district_id", "dv", "iv", "key"}, []string{"n", "hist", "over"}},
	{"dash_fine", "month", []string{"dim", "district_id", "dv", "iv", "key", "bucket"}, []string{"counts"}},
}

// yearRow is a row of a rollup table: its key as text, grain, period and
// summed columns as integers (an integer column as one).
type yearRow struct {
	key, grain string
	period     time.Time
	vals       [][]int32
}

// readYearRows reads every row of s's table. The summed columns are
// decoded from their binary form by hand (int4, int4[], packed bytea):
// under the race detector, pgx's generic decoding of the hundreds of
// thousands of values the year tests read was most of their time.
func readYearRows(t *testing.T, db *postgres.DB, s yearSpec) []yearRow {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT concat_ws(' ', `+strings.Join(s.keys, ", ")+`), grain::text, `+
		s.period+`::text, `+strings.Join(s.sums, ", ")+` FROM `+s.name)
	must(t, err)
	defer rows.Close()
	fds := rows.FieldDescriptions()
	var out []yearRow
	for rows.Next() {
		raw := rows.RawValues()
		period, err := time.Parse(time.DateOnly, string(raw[2]))
		must(t, err)
		r := yearRow{key: string(raw[0]), grain: string(raw[1]), period: period, vals: make([][]int32, 0, len(raw)-3)}
		for i, b := range raw[3:] {
			r.vals = append(r.vals, rawInts(t, fds[3+i], b))
		}
		out = append(out, r)
	}
	must(t, rows.Err())
	return out
}

// rawInts decodes an integer, an int4[] or packed integers from a
// column's binary value.
func rawInts(t *testing.T, fd pgconn.FieldDescription, b []byte) []int32 {
	t.Helper()
	be := func(p int) int32 { return int32(binary.BigEndian.Uint32(b[p:])) }
	if fd.Format != pgx.BinaryFormatCode {
		t.Fatalf("column %s in text format", fd.Name)
	}
	switch fd.DataTypeOID {
	case pgtype.Int4OID:
		return []int32{be(0)}
	case pgtype.ByteaOID:
		if len(b)%4 != 0 {
			t.Fatalf("packed integers of %d bytes", len(b))
		}
		out := make([]int32, 0, len(b)/4)
		for p := 0; p < len(b); p += 4 {
			out = append(out, be(p))
		}
		return out
	case pgtype.Int4ArrayOID:
		// ndim, has-nulls flag, element type, then per dimension its
		// length and lower bound, then each element's length and value.
		ndim := be(0)
		if ndim == 0 {
			return []int32{}
		}
		if ndim != 1 || be(4) != 0 {
			t.Fatalf("column %s: %d-dimensional array or nulls", fd.Name, ndim)
		}
		n := int(be(12))
		out := make([]int32, 0, n)
		for p := 20; len(out) < n; p += 8 {
			if be(p) != 4 {
				t.Fatalf("column %s: element of %d bytes", fd.Name, be(p))
			}
			out = append(out, be(p+4))
		}
		return out
	}
	t.Fatalf("unexpected column %s of type %d", fd.Name, fd.DataTypeOID)
	return nil
}

// fmtInts formats vals as fmt.Sprint does ("[[1 2] [3]]"), without its
// reflection (the year tests format every row they read).
func fmtInts(vals [][]int32) string {
	b := make([]byte, 0, 64)
	b = append(b, '[')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, '[')
		for j, x := range v {
			if j > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendInt(b, int64(x), 10)
		}
		b = append(b, ']')
	}
	return string(append(b, ']'))
}

// sameInts tells whether a and b print alike: the same number of lists,
// each with the same elements.
func sameInts(a, b [][]int32) bool {
	return slices.EqualFunc(a, b, func(x, y []int32) bool { return slices.Equal(x, y) })
}

// yearStart is the first of January of t's year, as the rollups keep it.
func yearStart(t time.Time) time.Time { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC) }

// checkYearSums checks that the year rows of every table are the sums of
// its month rows: a year row for each key and year with month rows and no
// other, integers and arrays added element-wise (lengths those of the
// longest), the long durations of the months together, sorted. It returns
// the years that have year rows, by table.
func checkYearSums(t *testing.T, db *postgres.DB, what string) map[string]map[int]bool {
	t.Helper()
	return checkYearSumsOf(t, readYearTables(t, db), what)
}

// readYearTables reads every row of every table of yearSpecs, in order.
func readYearTables(t *testing.T, db *postgres.DB) [][]yearRow {
	t.Helper()
	out := make([][]yearRow, len(yearSpecs))
	for i, s := range yearSpecs {
		out[i] = readYearRows(t, db, s)
	}
	return out
}

// checkYearSumsOf is checkYearSums of the rows readYearTables read.
func checkYearSumsOf(t *testing.T, tables [][]yearRow, what string) map[string]map[int]bool {
	t.Helper()
	years := map[string]map[int]bool{}
	for ti, s := range yearSpecs {
		want, got := map[string][][]int32{}, map[string][][]int32{}
		years[s.name] = map[int]bool{}
		for _, r := range tables[ti] {
			k := r.key + " " + strconv.Itoa(r.period.Year())
			switch r.grain {
			case "y":
				if !r.period.Equal(yearStart(r.period)) {
					t.Errorf("%s: %s year row %s on %s, not the first of January", what, s.name, r.key, r.period.Format(time.DateOnly))
				}
				if _, dup := got[k]; dup {
					t.Errorf("%s: %s: two year rows %s", what, s.name, k)
				}
				got[k] = r.vals
				years[s.name][r.period.Year()] = true
			case "m":
				sum := want[k]
				if sum == nil {
					sum = make([][]int32, len(s.sums))
					want[k] = sum
				}
				for i, col := range s.sums {
					if col == "over" {
						sum[i] = append(sum[i], r.vals[i]...)
						continue
					}
					for j, x := range r.vals[i] {
						if j == len(sum[i]) {
							sum[i] = append(sum[i], 0)
						}
						sum[i][j] += x
					}
				}
			}
		}
		for k, w := range want {
			for i, col := range s.sums {
				if col == "over" {
					slices.Sort(w[i])
				}
			}
			g, ok := got[k]
			switch {
			case !ok:
				t.Errorf("%s: %s %s: no year row, want %v", what, s.name, k, w)
			case !sameInts(g, w):
				t.Errorf("%s: %s %s: year row %v, want the months' sum %v", what, s.name, k, g, w)
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: %s %s: year row %v without month rows", what, s.name, k, g)
			}
		}
	}
	return years
}

// yearState reads every rollup table with year rows, by table, key,
// grain and period, for comparing rollups kept by the triggers with
// rebuilt ones: rows of zeros left out (the triggers leave a row behind
// when its incidents go), trailing zeros trimmed (they leave arrays at the
// length they reached), long durations sorted (a multiset).
func yearState(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	return yearStateOf(readYearTables(t, db))
}

// yearStateOf is yearState of the rows readYearTables read, which it
// leaves as they are.
func yearStateOf(tables [][]yearRow) map[string]string {
	out := map[string]string{}
	for ti, s := range yearSpecs {
		for _, r := range tables[ti] {
			zero := true
			vals := make([][]int32, len(s.sums))
			for i, col := range s.sums {
				v := r.vals[i]
				if col == "over" {
					v = slices.Clone(v)
					slices.Sort(v)
				}
				for len(v) > 0 && v[len(v)-1] == 0 {
					v = v[:len(v)-1]
				}
				vals[i] = v
				zero = zero && len(v) == 0
			}
			if !zero {
				out[s.name+" "+r.grain+" "+r.period.Format(time.DateOnly)+" "+r.key] = fmtInts(vals)
			}
		}
	}
	return out
}

// sameState reports the differences between two states of the rollups
// (yearState, dashState) kept by the triggers and rebuilt.
func sameState(t *testing.T, what string, kept, rebuilt map[string]string) {
	t.Helper()
	var diffs []string
	for k, v := range rebuilt {
		if kept[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: kept %q, rebuilt %q", k, kept[k], v))
		}
	}
	for k, v := range kept {
		if _, ok := rebuilt[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: kept %q, not rebuilt", k, v))
		}
	}
	slices.Sort(diffs)
	for i, d := range diffs {
		if i == 10 {
			t.Errorf("%s: %d more differences", what, len(diffs)-10)
			break
		}
		t.Errorf("%s: %s", what, d)
	}
}

// yearCount counts the year rows of a yearState.
func yearCount(state map[string]string) int {
	n := 0
	for k := range state {
		if strings.Fields(k)[1] == "y" {
			n++
		}
	}
	return n
}

// varyVictims gives the incidents selected by where settlements, victims'
// sex and age, so that every dashboard dimension has several keys.
func varyVictims(t *testing.T, f *reportFixture, where string) {
	t.Helper()
	_, err := f.db.Pool.Exec(context.Background(), `UPDATE incidents SET
		settlement_id = (ARRAY[NULL, $1, $2]::bigint[])[1 + id % 3],
		victim_sex = (ARRAY[NULL, 'female', 'male', 'other'])[1 + id % 4],
		victim_age = CASE WHEN id % 5 = 0 THEN NULL ELSE (id * 37) % 100 END
		WHERE `+where, f.idp.ID, f.town.ID)
	must(t, err)
}

// yearsFixture is a report fixture with random incidents received from
// mid-November 2024 to early February 2026 (three calendar years), some
// of them at the turn of a year, loaded with the rollups stopped.
func yearsFixture(t *testing.T, seed uint64, n int) *reportFixture {
	t.Helper()
	f := newReportFixture(t)
	ctx := context.Background()
	must(t, f.db.StopRollups(ctx))
	r := rand.New(rand.NewPCG(seed, 2025))
	randomIncidents(t, f, r, "Y", n, time.Date(2024, 11, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC))
	// A few at the last and first instants of local years.
	_, err := f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = CASE id % 4
			WHEN 0 THEN timestamptz '2024-12-31 23:59:59.999999+06' WHEN 1 THEN timestamptz '2025-01-01 00:00:00+06'
			WHEN 2 THEN timestamptz '2025-12-31 23:59:59.5+06' ELSE timestamptz '2026-01-01 00:00:00+06' END
		WHERE id % 50 = 7 AND dispatched_at IS NULL`)
	must(t, err)
	varyVictims(t, f, "true")
	return f
}

// TestYearRowsAreSumsOfMonths checks that RebuildRollups writes, for every
// rollup table, year rows that are the sums of its month rows, over three
// calendar years of incidents with missing, out-of-order and long stages,
// districts and none, two priorities and both kinds of type.
func TestYearRowsAreSumsOfMonths(t *testing.T) {
	t.Parallel()
	f := yearsFixture(t, 3, 3000)
	ctx := context.Background()
	start := time.Now()
	must(t, f.db.RebuildRollups(ctx, f.loc))
	t.Logf("RebuildRollups of 3000 incidents over 3 years: %v", time.Since(start))
	years := checkYearSums(t, f.db, "rebuilt")
	for _, s := range yearSpecs {
		if len(years[s.name]) != 3 {
			t.Errorf("%s: year rows of %d years, want 3 (2024-2026)", s.name, len(years[s.name]))
		}
	}
	// The data exercise what is summed: long durations, missing and out
	// of order stages in year rows.
	var over, missing, inconsistent int
	must(t, f.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM rollup_hist WHERE grain = 'y' AND cardinality(over) > 0),
		(SELECT count(*) FROM rollup_cells WHERE grain = 'y' AND missing <> '{0,0,0,0,0,0}'),
		(SELECT count(*) FROM rollup_cells WHERE grain = 'y' AND inconsistent <> '{0,0,0,0,0,0}')`).Scan(&over, &missing, &inconsistent))
	if over == 0 || missing == 0 || inconsistent == 0 {
		t.Errorf("year rows with long durations %d, missing %d, out of order %d: want some of each", over, missing, inconsistent)
	}

	// The dashboard rollups rebuilt alone get their year rows again.
	_, err := f.db.Pool.Exec(ctx, `DELETE FROM dash_hist WHERE grain = 'y'`)
	must(t, err)
	must(t, f.db.RebuildDashRollups(ctx))
	checkYearSums(t, f.db, "dashboard rebuilt alone")
}

// TestYearRowsFollowTriggers checks that the year rows the triggers keep
// after a rebuild, through inserts, updates (across the turn of a year
// too) and deletes, are the ones a rebuild makes.
func TestYearRowsFollowTriggers(t *testing.T) {
	t.Parallel()
	f := yearsFixture(t, 5, 1500)
	ctx := context.Background()
	must(t, f.db.RebuildRollups(ctx, f.loc))
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := f.db.Pool.Exec(ctx, sql, args...)
		must(t, err)
	}
	check := func(step string) {
		t.Helper()
		kept := yearState(t, f.db)
		must(t, f.db.RebuildRollups(ctx, f.loc))
		tables := readYearTables(t, f.db) // the rebuilt rollups, read once for both checks
		rebuilt := yearStateOf(tables)
		if yearCount(rebuilt) == 0 {
			t.Fatalf("%s: no year rows rebuilt", step)
		}
		sameState(t, step, kept, rebuilt)
		checkYearSumsOf(t, tables, step)
	}

	// Inserts (a COPY: one statement), in three years.
	r := rand.New(rand.NewPCG(8, 13))
	randomIncidents(t, f, r, "T", 400, time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC))
	varyVictims(t, f, "number LIKE 'T-%'")
	check("insert")

	// Stages changed: removed, put out of order, made longer than a day.
	exec(`UPDATE incidents SET dispatched_at = NULL, corrections = corrections + 1 WHERE id % 7 = 1`)
	exec(`UPDATE incidents SET on_scene_at = received_at - interval '30 seconds' WHERE id % 11 = 2`)
	exec(`UPDATE incidents SET cleared_at = received_at + interval '3 days 10.5 seconds' WHERE id % 13 = 3`)
	// Moved across the turn of a year, both ways, and between months.
	exec(`UPDATE incidents SET received_at = received_at + interval '40 days', dispatched_at = dispatched_at + interval '40 days'
		WHERE id % 9 = 4 AND received_at >= '2024-12-01' AND received_at < '2024-12-31'`)
	exec(`UPDATE incidents SET received_at = received_at - interval '25 days' WHERE id % 10 = 5
		AND received_at >= '2026-01-01' AND received_at < '2026-01-20'`)
	// Cells and dashboard keys changed.
	exec(`UPDATE incidents SET district_id = $1, priority = 3 - priority WHERE id % 8 = 6`, f.osh.ID)
	exec(`UPDATE incidents SET victim_sex = 'other', victim_age = 70, settlement_id = NULL WHERE id % 6 = 0`)
	check("updates")

	// Deletes, among them whole cells of a month.
	exec(`DELETE FROM incidents WHERE id % 5 = 1 OR (district_id = $1 AND received_at >= '2025-03-01' AND received_at < '2025-04-01')`, f.osh.ID)
	check("deletes")
}

// TestRebuildRollupMonthsYears checks that RebuildRollupMonths over the
// turn of a year keeps every year row right: those of the years it
// touches made again from their months (incidents loaded without the
// triggers included), those of the others left as they were.
func TestRebuildRollupMonthsYears(t *testing.T) {
	t.Parallel()
	f := yearsFixture(t, 7, 1500)
	ctx := context.Background()
	must(t, f.db.RebuildRollups(ctx, f.loc))
	// The rows of 2026's year rows, to tell that they were not rewritten.
	ctids := func() string {
		var s string
		must(t, f.db.Pool.QueryRow(ctx, `SELECT concat_ws(' ',
			(SELECT string_agg(ctid::text, ',' ORDER BY ctid) FROM rollup_cells WHERE grain = 'y' AND period = '2026-01-01'),
			(SELECT string_agg(ctid::text, ',' ORDER BY ctid) FROM rollup_hist WHERE grain = 'y' AND month = '2026-01-01'),
			(SELECT string_agg(ctid::text, ',' ORDER BY ctid) FROM rollup_fine WHERE grain = 'y' AND month = '2026-01-01'),
			(SELECT string_agg(ctid::text, ',' ORDER BY ctid) FROM dash_cells WHERE grain = 'y' AND month = '2026-01-01'),
			(SELECT string_agg(ctid::text, ',' ORDER BY ctid) FROM dash_hist WHERE grain = 'y' AND month = '2026-01-01'),
			(SELECT string_agg(ctid::text, ',' ORDER BY ctid) FROM dash_fine WHERE grain = 'y' AND month = '2026-01-01'))`).Scan(&s))
		return s
	}
	before := ctids()

	// Incidents of December 2024 and January 2025 loaded with the
	// triggers' work left out (the rollups stopped meanwhile).
	must(t, f.db.StopRollups(ctx))
	r := rand.New(rand.NewPCG(21, 34))
	randomIncidents(t, f, r, "M", 500, time.Date(2024, 12, 5, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 25, 0, 0, 0, 0, time.UTC))
	varyVictims(t, f, "number LIKE 'M-%'")
	_, err := f.db.Pool.Exec(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)`, postgres.RollupZoneKey, f.loc.String())
	must(t, err)
	must(t, f.db.RebuildRollupMonths(ctx, report.Date{Year: 2024, Month: 12, Day: 5}, report.Date{Year: 2025, Month: 1, Day: 25}))

	years := checkYearSums(t, f.db, "months rebuilt")
	for _, s := range yearSpecs {
		if len(years[s.name]) != 3 {
			t.Errorf("%s: year rows of %d years after RebuildRollupMonths, want 3", s.name, len(years[s.name]))
		}
	}
	if after := ctids(); after != before {
		t.Errorf("RebuildRollupMonths of December 2024 to January 2025 rewrote 2026's year rows")
	}
	partial := yearState(t, f.db)
	must(t, f.db.RebuildRollups(ctx, f.loc))
	sameState(t, "RebuildRollupMonths against RebuildRollups", partial, yearState(t, f.db))
}
