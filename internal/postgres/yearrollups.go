package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Year rows (migrations/0011_year_rollups.up.sql): a year row of a rollup
// table is the element-wise sum of the month rows of that local calendar
// year with the same key. The triggers keep both grains; the rebuilds
// write month rows and then make the year rows from them here, so that the
// two are sums of the same data by construction.

// yearFetch is the number of month rows read per FETCH: enough that the
// round trips cost little, few enough that a batch and its sums stay small
// whatever the size of the table.
const yearFetch = 20000

// yearSum is a summed column of a rollup table and how it adds up.
type yearSum struct {
	col string
	// kind: 'i' an integer; 'a' an int4[], element-wise; 'p' packed
	// integers (bytea), element-wise, the shorter padded with zeros; 'o'
	// an int4[] multiset of long durations, concatenated and sorted.
	kind byte
}

// yearTable describes one rollup table for the making of its year rows.
type yearTable struct {
	name   string
	period string // the column holding the first day of the month, or of the year
	// keys are the key columns besides grain and period, in the order the
	// month rows are read and the year rows written (the primary key's
	// where it leads with them, so that the read can follow the index and
	// the writes land in key order). A "char" column is written "dim::text":
	// read as text, since pgx has no Go type for "char", and copied back
	// as a string.
	keys []string
	sums []yearSum
	dash bool // a dashboard rollup (0009), rebuilt on its own at times
}

// yearTables are the rollup tables that have year rows.
var yearTables = []yearTable{
	{name: "rollup_cells", period: "period", keys: []string{"district_id", "priority", "is_dv"},
		sums: []yearSum{{"incidents", 'i'}, {"corrected", 'i'}, {"missing", 'a'}, {"inconsistent", 'a'}}},
	{name: "rollup_hist", period: "month", keys: []string{"district_id", "priority", "is_dv", "iv"},
		sums: []yearSum{{"n", 'i'}, {"hist", 'p'}, {"over", 'o'}}},
	{name: "rollup_fine", period: "month", keys: []string{"iv", "district_id", "priority", "is_dv", "bucket"},
		sums: []yearSum{{"counts", 'p'}}},
	{name: "dash_cells", period: "month", keys: []string{"dim::text", "district_id", "dv", "key"}, dash: true,
		sums: []yearSum{{"incidents", 'i'}, {"corrected", 'i'}, {"prios", 'a'}, {"missing", 'a'}, {"inconsistent", 'a'},
			{"with_target", 'a'}, {"within", 'a'}}},
	{name: "dash_hist", period: "month", keys: []string{"dim::text", "district_id", "dv", "iv", "key"}, dash: true,
		sums: []yearSum{{"n", 'i'}, {"hist", 'p'}, {"over", 'o'}}},
	{name: "dash_fine", period: "month", keys: []string{"dim::text", "district_id", "dv", "iv", "key", "bucket"}, dash: true,
		sums: []yearSum{{"counts", 'p'}}},
}

// rebuildYears recomputes the year rows of the calendar years from
// from.Year() to to.Year() (dates at midnight UTC naming local days) from
// the month rows, which must be complete for those years: of the report
// rollups (0008) or, with dash, of the dashboard rollups (0009), which are
// sometimes rebuilt alone.
func rebuildYears(ctx context.Context, tx pgx.Tx, from, to time.Time, dash bool) error {
	y0 := time.Date(from.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	y1 := time.Date(to.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, t := range yearTables {
		if t.dash != dash {
			continue
		}
		if err := t.rebuild(ctx, tx, y0, y1); err != nil {
			return fmt.Errorf("rollups: year rows of %s: %w", t.name, err)
		}
	}
	return nil
}

// rebuild replaces t's year rows of the years from y0 (included) to y1
// (excluded) with the sums of their month rows. The month rows are read
// through a cursor in key order, so that a year's rows of a key are
// consecutive and only one sum is open at a time; each batch's finished
// sums are copied in before the next batch is fetched (the connection
// cannot read and copy at once).
func (t yearTable) rebuild(ctx context.Context, tx pgx.Tx, y0, y1 time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM `+t.name+` WHERE grain = 'y' AND `+t.period+` >= $1 AND `+t.period+` < $2`,
		y0, y1); err != nil {
		return err
	}
	// Neither statement goes through pgx's statement cache: a FETCH's
	// columns are those of whichever cursor has the name when it runs.
	if _, err := tx.Exec(ctx, `DECLARE rollup_months NO SCROLL CURSOR FOR `+t.monthsSQL(), pgx.QueryExecModeDescribeExec,
		y0, y1); err != nil {
		return err
	}
	s := newYearSummer(t)
	for {
		rows, err := tx.Query(ctx, fmt.Sprintf(`FETCH FORWARD %d FROM rollup_months`, yearFetch), pgx.QueryExecModeDescribeExec)
		if err != nil {
			return err
		}
		n, err := s.read(rows)
		if err != nil {
			return err
		}
		last := n < yearFetch
		if last {
			s.finish()
		}
		if err := s.copy(ctx, tx); err != nil {
			return err
		}
		if last {
			break
		}
	}
	_, err := tx.Exec(ctx, `CLOSE rollup_months`)
	return err
}

// monthsSQL selects t's month rows of the years from $1 to $2: the key
// columns, the first day of the row's year, then the summed columns;
// ordered by key, then month.
func (t yearTable) monthsSQL() string {
	sel := slices.Clone(t.keys)
	sel = append(sel, `make_date(extract(year FROM `+t.period+`)::integer, 1, 1)`)
	for _, s := range t.sums {
		sel = append(sel, s.col)
	}
	// Ordered by the table's columns, not the text the "char" ones are
	// read as (which an unqualified name would mean), so that an index in
	// that order can serve.
	var order []string
	for _, c := range append(t.keyCols(), t.period) {
		order = append(order, t.name+"."+c)
	}
	return `SELECT ` + strings.Join(sel, ", ") + ` FROM ` + t.name + ` WHERE grain = 'm' AND ` + t.period + ` >= $1 AND ` +
		t.period + ` < $2 ORDER BY ` + strings.Join(order, ", ")
}

// keyCols are the names of t's key columns (without a cast).
func (t yearTable) keyCols() []string {
	cols := make([]string, len(t.keys))
	for i, k := range t.keys {
		cols[i], _, _ = strings.Cut(k, "::")
	}
	return cols
}

// copyCols are the columns of the year rows as yearSummer makes them.
func (t yearTable) copyCols() []string {
	cols := append([]string{"grain"}, t.keyCols()...)
	cols = append(cols, t.period)
	for _, s := range t.sums {
		cols = append(cols, s.col)
	}
	return cols
}

// yearSummer sums consecutive month rows of the same key and year into
// year rows.
type yearSummer struct {
	t    yearTable
	nkey int       // key columns read, the year included
	open bool      // a sum is being made
	raw  [][]byte  // the open sum's key as read: a row of another key starts the next sum
	key  []any     // the open sum's key values, for the copy
	dest []any     // scans the key into key, skipping the summed columns
	sums [][]int32 // per summed column; an 'i' column has one element
	buf  []int32   // a row's array, decoded
	done [][]any   // finished year rows, not yet copied
}

// newYearSummer is a yearSummer of t's month rows.
func newYearSummer(t yearTable) *yearSummer {
	s := &yearSummer{t: t, nkey: len(t.keys) + 1}
	s.raw = make([][]byte, s.nkey)
	s.key = make([]any, s.nkey)
	s.dest = make([]any, s.nkey+len(t.sums))
	for i := range s.key {
		s.dest[i] = &s.key[i]
	}
	s.sums = make([][]int32, len(t.sums))
	return s
}

var errYearRowNull = errors.New("a month row holds a NULL")

// read adds the month rows of rows to the sums and returns how many it
// read. The key is compared as the bytes PostgreSQL sent, which are equal
// exactly when the values are, and decoded only when a sum starts.
func (s *yearSummer) read(rows pgx.Rows) (int, error) {
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		raw := rows.RawValues()
		if len(raw) != len(s.dest) {
			return n, fmt.Errorf("%d columns, want %d", len(raw), len(s.dest))
		}
		if !s.open || !sameRaw(s.raw, raw[:s.nkey]) {
			s.finish()
			if err := rows.Scan(s.dest...); err != nil {
				return n, err
			}
			for i, b := range raw[:s.nkey] {
				s.raw[i] = append(s.raw[i][:0], b...)
			}
			s.open = true
		}
		for i, sum := range s.t.sums {
			if err := s.add(i, sum.kind, raw[s.nkey+i]); err != nil {
				return n, fmt.Errorf("%s: %w", sum.col, err)
			}
		}
	}
	return n, rows.Err()
}

// sameRaw reports whether two keys as read are the same.
func sameRaw(a, b [][]byte) bool {
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}

// add adds summed column i of a month row, as read (binary), to its sum.
func (s *yearSummer) add(i int, kind byte, b []byte) error {
	if b == nil {
		return errYearRowNull
	}
	var err error
	switch kind {
	case 'i':
		if len(b) != 4 {
			return fmt.Errorf("an integer of %d bytes", len(b))
		}
		if len(s.sums[i]) == 0 {
			s.sums[i] = append(s.sums[i], 0)
		}
		s.sums[i][0] += int32(binary.BigEndian.Uint32(b))
		return nil
	case 'o':
		s.sums[i], err = int4s(s.sums[i], b)
		return err
	case 'p':
		s.buf, err = unpack(s.buf[:0], b)
	default:
		s.buf, err = int4s(s.buf[:0], b)
	}
	if err != nil {
		return err
	}
	s.sums[i] = addPadded(s.sums[i], s.buf)
	return nil
}

// addPadded adds xs to sum element by element, the shorter counting as
// padded with zeros, and returns the sum.
func addPadded(sum, xs []int32) []int32 {
	if len(xs) > len(sum) {
		sum = append(sum, make([]int32, len(xs)-len(sum))...)
	}
	for j, x := range xs {
		sum[j] += x
	}
	return sum
}

// finish turns the open sum, if any, into a year row waiting to be copied.
func (s *yearSummer) finish() {
	if !s.open {
		return
	}
	row := make([]any, 0, 1+s.nkey+len(s.sums))
	row = append(row, "y")
	row = append(row, s.key...)
	for i, sum := range s.t.sums {
		switch sum.kind {
		case 'i':
			row = append(row, s.sums[i][0])
		case 'p':
			row = append(row, pack(s.sums[i]))
		case 'o':
			// A multiset: sorted so that a rebuild always writes the same.
			o := slices.Clone(s.sums[i])
			if o == nil {
				o = []int32{} // NOT NULL
			}
			slices.Sort(o)
			row = append(row, o)
		default:
			row = append(row, slices.Clone(s.sums[i]))
		}
		s.sums[i] = s.sums[i][:0]
	}
	s.done = append(s.done, row)
	s.open = false
}

// copy writes the finished year rows and forgets them.
func (s *yearSummer) copy(ctx context.Context, tx pgx.Tx) error {
	if len(s.done) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{s.t.name}, s.t.copyCols(), pgx.CopyFromRows(s.done))
	clear(s.done)
	s.done = s.done[:0]
	return err
}
