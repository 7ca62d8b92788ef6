package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// Response-time rollups: see internal/report/ROLLUPS.md and
// migrations/0008_rollups.up.sql. The triggers keep them current in the
// transaction of every change to incidents; the functions here build them
// (RebuildRollups, RebuildRollupMonths) and read them (ResponseTimesRollup).

// RollupZoneKey is the app_settings key holding the IANA zone the rollups
// are kept in. Without the row the triggers do nothing and reports read
// the incidents.
const RollupZoneKey = "rollup_time_zone"

// Layout of the rollups, as in the migration.
const (
	rollupBucketSecs = 60    // a coarse bucket, and the length of a fine row
	rollupOverSecs   = 86400 // durations from here on are kept one by one
	rollupBuckets    = rollupOverSecs / rollupBucketSecs
	rollupLockKey    = int64(0x6476726f6c6c) // "dvroll": one rebuild at a time
)

// RollupZone is the zone the rollups are kept in, "" when they are not.
func (db *DB) RollupZone(ctx context.Context) (string, error) {
	var z *string
	err := db.Pool.QueryRow(ctx, `SELECT rollup_zone()`).Scan(&z)
	if err != nil || z == nil {
		return "", mapErr(err, "")
	}
	return *z, nil
}

// EnsureRollups makes sure the rollups are kept in loc's zone: it does
// nothing when they are, and rebuilds them all otherwise (serve, migrate
// and seed call it at start with DVR_TIME_ZONE).
func (db *DB) EnsureRollups(ctx context.Context, loc *time.Location) error {
	z, err := db.RollupZone(ctx)
	if err != nil {
		return err
	}
	if loc != nil && z == loc.String() {
		// The dashboard rollups stop when a priority is renumbered (a
		// target change re-judges them instead); rebuild them alone then.
		var kept bool
		if err := db.Pool.QueryRow(ctx, `SELECT coalesce(dash_state() = dash_targets(), false)`).Scan(&kept); err != nil || kept {
			return mapErr(err, "")
		}
		return db.RebuildDashRollups(ctx)
	}
	return db.RebuildRollups(ctx, loc)
}

// StopRollups stops keeping the rollups (reports read the incidents) until
// the next RebuildRollups: for bulk loads, which rebuild once at the end.
func (db *DB) StopRollups(ctx context.Context) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM app_settings WHERE key = $1`, RollupZoneKey)
	return mapErr(err, "")
}

// RebuildRollups recomputes every rollup from the incidents, in loc's zone,
// and keeps them from then on. Writers to incidents wait until it commits.
func (db *DB) RebuildRollups(ctx context.Context, loc *time.Location) error {
	if loc == nil {
		return apperr.New(apperr.Invalid, "db.err.no_time_zone")
	}
	zone := loc.String()
	if _, err := db.Pool.Exec(ctx, `SELECT now() AT TIME ZONE $1`, zone); err != nil {
		return apperr.New(apperr.Invalid, "db.err.time_zone_unknown", "Zone", zone)
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := lockRollups(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`, RollupZoneKey, zone); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `TRUNCATE rollup_cells, rollup_hist, rollup_fine, rollup_days`); err != nil {
			return err
		}
		var first, last *time.Time
		if err := tx.QueryRow(ctx, `SELECT min(received_at), max(received_at) FROM incidents`).Scan(&first, &last); err != nil {
			return err
		}
		if first != nil {
			from, to := report.DateOf(*first, loc), report.DateOf(*last, loc)
			if err := applyMonths(ctx, tx, zone, loc, from, to); err != nil {
				return err
			}
			if err := rebuildYears(ctx, tx, monthOf(from), monthOf(to), false); err != nil {
				return err
			}
		}
		return rebuildAllDash(ctx, tx, zone, loc, first, last)
	})
	return mapErr(err, "")
}

// RebuildRollupMonths recomputes the rollups of the months (local, in the
// rollups' zone) from the one holding from to the one holding to, for a
// load that wrote incidents with the triggers' work left out. It does
// nothing when the rollups are not kept.
func (db *DB) RebuildRollupMonths(ctx context.Context, from, to report.Date) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := lockRollups(ctx, tx); err != nil {
			return err
		}
		var zone *string
		if err := tx.QueryRow(ctx, `SELECT rollup_zone()`).Scan(&zone); err != nil || zone == nil {
			return err
		}
		loc, err := time.LoadLocation(*zone)
		if err != nil {
			return fmt.Errorf("rollups: zone %q: %w", *zone, err)
		}
		// The month and day rows of those months; the year rows (whose
		// month, the first of January, may be in the range) are made again
		// from all of their year's months after.
		m0, m1 := monthOf(from), monthOf(to).AddDate(0, 1, 0)
		for _, sql := range []string{
			`DELETE FROM rollup_cells WHERE grain IN ('m', 'd') AND period >= $1 AND period < $2`,
			`DELETE FROM rollup_hist WHERE grain = 'm' AND month >= $1 AND month < $2`,
			`DELETE FROM rollup_fine WHERE grain = 'm' AND month >= $1 AND month < $2`,
			`DELETE FROM rollup_days WHERE day >= $1 AND day < $2`,
		} {
			if _, err := tx.Exec(ctx, sql, m0, m1); err != nil {
				return err
			}
		}
		if err := applyMonths(ctx, tx, *zone, loc, from, to); err != nil {
			return err
		}
		if err := rebuildYears(ctx, tx, m0, monthOf(to), false); err != nil {
			return err
		}
		var kept bool
		if err := tx.QueryRow(ctx, `SELECT coalesce(dash_state() = dash_targets(), false)`).Scan(&kept); err != nil {
			return err
		}
		if !kept { // stale: rebuilt whole by the next EnsureRollups
			return nil
		}
		for _, sql := range []string{
			`DELETE FROM dash_cells WHERE grain = 'm' AND month >= $1 AND month < $2`,
			`DELETE FROM dash_hist WHERE grain = 'm' AND month >= $1 AND month < $2`,
			`DELETE FROM dash_fine WHERE grain = 'm' AND month >= $1 AND month < $2`,
			`DELETE FROM dash_days WHERE day >= $1 AND day < $2`,
		} {
			if _, err := tx.Exec(ctx, sql, m0, m1); err != nil {
				return err
			}
		}
		return rebuildDash(ctx, tx, *zone, loc, from, to)
	})
	return mapErr(err, "")
}

// lockRollups serialises rebuilds and holds writers to incidents off (a
// SHARE lock lets readers on) until the transaction ends.
func lockRollups(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, rollupLockKey); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `LOCK TABLE incidents IN SHARE MODE`)
	return err
}

// applyMonths adds the incidents received in the local months from the
// one holding from to the one holding to, to rollups that hold none of
// them: a month at a time, the durations and local day computed by
// PostgreSQL as the triggers compute them (rollup_secs, AT TIME ZONE), the
// sums made here and copied in. It does what rollup_apply does, many times
// faster for a whole month.
func applyMonths(ctx context.Context, tx pgx.Tx, zone string, loc *time.Location, from, to report.Date) error {
	for m := monthOf(from); !m.After(monthOf(to)); m = m.AddDate(0, 1, 0) {
		start := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, loc)
		if err := rebuildMonth(ctx, tx, zone, m, start, start.AddDate(0, 1, 0)); err != nil {
			return err
		}
	}
	return nil
}

// Rollup rows as rebuildMonth sums them.
type (
	cellSum struct {
		incidents, corrected  int32
		missing, inconsistent [6]int32
	}
	periodCell struct {
		grain  string
		period time.Time
		cell   rollupCell
	}
	cellIV struct {
		cell rollupCell
		iv   int
	}
	// histSum is a coarse histogram being built: counts per 60-second
	// bucket below rollupOverSecs, longer durations one by one.
	histSum struct {
		n          int32
		hist, over []int32
	}
	fineCell struct {
		cellIV
		bucket int
	}
	dayCell struct {
		day time.Time
		cellIV
	}
)

// add counts a duration of v seconds: in its 60-second bucket, or one by
// one when it is rollupOverSecs or more. It returns the bucket, and false
// for a long duration, which has no per-second counts.
func (h *histSum) add(v int32) (bucket int, fine bool) {
	h.n++
	if v >= rollupOverSecs {
		h.over = append(h.over, v)
		return 0, false
	}
	b := int(v) / rollupBucketSecs
	if b >= len(h.hist) {
		h.hist = append(h.hist, make([]int32, b+1-len(h.hist))...)
	}
	h.hist[b]++
	return b, true
}

// addFine counts a duration of v seconds in the per-second row k of a fine
// histogram.
func addFine[K comparable](m map[K]*[rollupBucketSecs]int32, k K, v int32) {
	f := m[k]
	if f == nil {
		f = new([rollupBucketSecs]int32)
		m[k] = f
	}
	f[int(v)%rollupBucketSecs]++
}

func rebuildMonth(ctx context.Context, tx pgx.Tx, zone string, month, start, end time.Time) error {
	cells := map[periodCell]*cellSum{}
	hists := map[cellIV]*histSum{}
	fines := map[fineCell]*[rollupBucketSecs]int32{}
	days := map[dayCell][]int32{}
	rows, err := tx.Query(ctx, `SELECT (i.received_at AT TIME ZONE $1)::date, coalesce(i.district_id, 0), i.priority, t.is_dv,
		i.corrections > 0, rollup_secs(i.received_at, i.dispatched_at), rollup_secs(i.dispatched_at, i.en_route_at),
		rollup_secs(i.en_route_at, i.on_scene_at), rollup_secs(i.received_at, i.on_scene_at),
		rollup_secs(i.on_scene_at, i.cleared_at), rollup_secs(i.received_at, i.cleared_at)
		FROM incidents i JOIN incident_types t ON t.id = i.type_id
		WHERE i.received_at >= $2 AND i.received_at < $3`, zone, start, end)
	if err != nil {
		return err
	}
	var day time.Time
	var c rollupCell
	var corrected bool
	var secs [6]*int32
	if _, err := pgx.ForEachRow(rows, []any{&day, &c.district, &c.priority, &c.dv, &corrected,
		&secs[0], &secs[1], &secs[2], &secs[3], &secs[4], &secs[5]}, func() error {
		for _, pc := range []periodCell{{"m", month, c}, {"d", day, c}} {
			cs := cells[pc]
			if cs == nil {
				cs = &cellSum{}
				cells[pc] = cs
			}
			cs.incidents++
			if corrected {
				cs.corrected++
			}
			for iv, s := range secs {
				switch {
				case s == nil:
					cs.missing[iv]++
				case *s < 0:
					cs.inconsistent[iv]++
				}
			}
		}
		for iv, s := range secs {
			if s == nil || *s < 0 {
				continue
			}
			v := *s
			ci := cellIV{c, iv}
			h := hists[ci]
			if h == nil {
				h = &histSum{}
				hists[ci] = h
			}
			dc := dayCell{day, ci}
			days[dc] = append(days[dc], v)
			if b, fine := h.add(v); fine {
				addFine(fines, fineCell{ci, b}, v)
			}
		}
		return nil
	}); err != nil {
		return err
	}

	var out [][]any
	for k, v := range cells {
		out = append(out, []any{k.grain, k.period, k.cell.district, k.cell.priority, k.cell.dv, v.incidents, v.corrected,
			v.missing[:], v.inconsistent[:]})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rollup_cells"}, []string{"grain", "period", "district_id", "priority",
		"is_dv", "incidents", "corrected", "missing", "inconsistent"}, pgx.CopyFromRows(out)); err != nil {
		return err
	}
	out = out[:0]
	for k, v := range hists {
		if v.over == nil {
			v.over = []int32{}
		}
		if v.hist == nil {
			v.hist = []int32{}
		}
		out = append(out, []any{month, k.cell.district, k.cell.priority, k.cell.dv, int16(k.iv), v.n, pack(v.hist), v.over})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rollup_hist"}, []string{"month", "district_id", "priority", "is_dv",
		"iv", "n", "hist", "over"}, pgx.CopyFromRows(out)); err != nil {
		return err
	}
	// The fine rows in key order, so that a report's lookups of one cell
	// and bucket over months find them on few pages.
	keys := make([]fineCell, 0, len(fines))
	for k := range fines {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return fineLess(fineKey{keys[i].iv, keys[i].bucket, keys[i].cell}, fineKey{keys[j].iv, keys[j].bucket, keys[j].cell})
	})
	i := 0
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rollup_fine"}, []string{"iv", "district_id", "priority", "is_dv",
		"bucket", "month", "counts"}, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(keys) {
			return nil, nil
		}
		k := keys[i]
		i++
		return []any{int16(k.iv), k.cell.district, k.cell.priority, k.cell.dv, int16(k.bucket), month, pack(fines[k][:])}, nil
	})); err != nil {
		return err
	}
	out = out[:0]
	for k, v := range days {
		out = append(out, []any{k.day, k.cell.district, k.cell.priority, k.cell.dv, int16(k.iv), pack(v)})
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"rollup_days"}, []string{"day", "district_id", "priority", "is_dv", "iv", "vals"},
		pgx.CopyFromRows(out))
	return err
}

// monthOf is the first of d's month, as a date at midnight UTC.
func monthOf(d report.Date) time.Time { return time.Date(d.Year, d.Month, 1, 0, 0, 0, 0, time.UTC) }

func dateUTC(d report.Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// RollupServes reports whether the rollups can answer q: grouped by
// priority, district, week or not at all, filtered by district, priority
// or domestic violence only. Other queries (by settlement, type or shift;
// filtered by settlement, IDP, type, shift or unit) read the incidents.
func RollupServes(q report.Query) bool {
	switch q.GroupBy {
	case report.ByAll, report.ByPriority, report.ByDistrict, report.ByWeek:
	default:
		return false
	}
	f := q.Filters
	return f.SettlementID == nil && !f.IDPOnly && f.TypeID == nil && f.Shift == "" && f.UnitID == nil
}

// rollupCell is a cell of the rollups.
type rollupCell struct {
	district int64 // 0: none
	priority int
	dv       bool
}

// ivKey names one interval of one priority within a group.
type ivKey struct {
	group    string
	iv       int
	priority int
}

// durations gathers the durations of one interval read from the rollups,
// each row added (sign 1) or subtracted (-1) as its period is: the coarse
// counts, the long durations, and the day rows' durations themselves.
type durations struct {
	n       int64
	coarse  []int64 // per bucket, from coarse rows and days
	over    []int32 // durations of rollupOverSecs and more
	dayVals []int32 // durations below rollupOverSecs from day rows
	// Those of subtracted rows.
	dayMinus, overMinus []int32
}

func (d *durations) addCoarse(b int, n int64) {
	if b >= len(d.coarse) {
		d.coarse = append(d.coarse, make([]int64, b+1-len(d.coarse))...)
	}
	d.coarse[b] += n
}

// addRow adds (sg 1) or subtracts (-1) a coarse row: its count, its counts
// per bucket and its long durations.
func (d *durations) addRow(sg, n int64, hist, over []int32) {
	d.n += sg * n
	for i, x := range hist {
		if x != 0 {
			d.addCoarse(i, sg*int64(x))
		}
	}
	if sg > 0 {
		d.over = append(d.over, over...)
	} else {
		d.overMinus = append(d.overMinus, over...)
	}
}

// addDay adds (sg 1) or subtracts (-1) one measured duration of a day row.
func (d *durations) addDay(sg int64, v int32) {
	d.n += sg
	switch {
	case v >= rollupOverSecs && sg > 0:
		d.over = append(d.over, v)
	case v >= rollupOverSecs:
		d.overMinus = append(d.overMinus, v)
	case sg > 0:
		d.addCoarse(int(v)/rollupBucketSecs, 1)
		d.dayVals = append(d.dayVals, v)
	default:
		d.addCoarse(int(v)/rollupBucketSecs, -1)
		d.dayMinus = append(d.dayMinus, v)
	}
}

// ivAcc gathers one interval's durations of one priority in one group.
type ivAcc struct {
	durations
	dayFine map[int]*[rollupBucketSecs]int64 // of dayVals, per second in the buckets a report needs
	cells   map[rollupCell]bool
}

// groupAcc gathers a group's counts.
type groupAcc struct {
	in           report.Incident // its grouping fields
	incidents    int
	corrected    int
	missing      [6]int
	inconsistent [6]int
	priorities   map[int]int // incidents by priority
}

// fineKey names the fine row sums of one cell, interval and bucket.
type fineKey struct {
	iv, bucket int
	cell       rollupCell
}

// ResponseTimesRollup computes q from the rollups. ok is false, with no
// error, when they cannot answer it: the query is not one RollupServes,
// or the rollups are not kept in q.Location's zone.
func (db *DB) ResponseTimesRollup(ctx context.Context, q report.Query) (res report.Result, ok bool, err error) {
	if err := q.Validate(); err != nil {
		return report.Result{}, false, err
	}
	if !RollupServes(q) {
		return report.Result{}, false, nil
	}
	prios, err := db.Priorities(ctx)
	if err != nil {
		return report.Result{}, false, err
	}
	// One snapshot for every read, so that a change committed meanwhile is
	// counted everywhere or nowhere.
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return report.Result{}, false, mapErr(err, "")
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	res, ok, err = rollupReport(ctx, tx, q, prios)
	return res, ok, mapErr(err, "")
}

// responseTimesRollups is ResponseTimesRollup for several groupings of
// q, from one read in one snapshot.
func (db *DB) responseTimesRollups(ctx context.Context, q report.Query, gbs []report.GroupBy) (res []report.Result, ok bool, err error) {
	prios, err := db.Priorities(ctx)
	if err != nil {
		return nil, false, err
	}
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, false, mapErr(err, "")
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	res, ok, err = rollupReports(ctx, tx, q, gbs, prios)
	return res, ok, mapErr(err, "")
}

func rollupReport(ctx context.Context, tx pgx.Tx, q report.Query, prios []refdata.Priority) (report.Result, bool, error) {
	res, ok, err := rollupReports(ctx, tx, q, []report.GroupBy{q.GroupBy}, prios)
	if err != nil || !ok {
		return report.Result{}, ok, err
	}
	return res[0], true, nil
}

// rollupReports computes q grouped by each of gbs (q.GroupBy is ignored)
// from one read of the rollups: the cells, histograms and day rows are
// read once and gathered per cell (district, priority, DV) and interval
// (and ISO week, when a weekly series is asked for), then merged per group
// of each grouping; the fine rows every grouping needs are read in one
// query. Counts and histograms add up exactly, so each result is the one
// rollupReport gives for that grouping alone.
//
// When a priority's targets change within the range (refdata.TargetPeriod:
// a change applies from a local day on, and the rollups' periods are local
// days, months and years), the range is split at those days and the
// within-target counts are read per part, each against the targets then in
// force, and added up; the rest is read once for the whole range.
func rollupReports(ctx context.Context, tx pgx.Tx, q report.Query, gbs []report.GroupBy, prios []refdata.Priority) ([]report.Result, bool, error) {
	cuts := targetCuts(q, prios)
	if len(cuts) == 0 {
		return rollupRead(ctx, tx, q, gbs, prios, nil, nil)
	}
	sums := make(withinSums, len(gbs))
	for i := range sums {
		sums[i] = map[string]*[6][2]int64{}
	}
	from := q.From
	for _, c := range append(cuts, q.To.AddDays(1)) {
		part := q
		part.From, part.To = from, c.AddDays(-1)
		if _, ok, err := rollupRead(ctx, tx, part, gbs, prios, sums, nil); err != nil || !ok {
			return nil, ok, err
		}
		from = c
	}
	return rollupRead(ctx, tx, q, gbs, prios, nil, sums)
}

// withinSums holds, per grouping, group and interval, the measured
// incidents with a target and those within it.
type withinSums []map[string]*[6][2]int64

// targetCuts lists the days after q.From and up to q.To on which a
// priority's targets change, in order.
func targetCuts(q report.Query, prios []refdata.Priority) []report.Date {
	first, last := refdata.Day(q.From.Year, q.From.Month, q.From.Day), refdata.Day(q.To.Year, q.To.Month, q.To.Day)
	var days []time.Time
	for _, p := range prios {
		if q.Priority != nil && p.Level != *q.Priority {
			continue
		}
		days = append(days, p.Changes(first, last)...)
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	days = slices.Compact(days)
	out := make([]report.Date, len(days))
	for i, d := range days {
		out[i] = report.DateOf(d, time.UTC)
	}
	return out
}

// rollupRead is rollupReports for a range within which no target changes
// (collect non-nil: only the within-target counts are wanted, and are
// added to collect), or whose within-target counts are given (use).
func rollupRead(ctx context.Context, tx pgx.Tx, q report.Query, gbs []report.GroupBy, prios []refdata.Priority,
	collect, use withinSums) ([]report.Result, bool, error) {
	needWeek := slices.Contains(gbs, report.ByWeek)
	// The periods: year and month rows added or subtracted, and day rows
	// (rollupPeriods), so that a year or "the last 28 days" read a few
	// rows per cell. A weekly series reads day rows only.
	span := rollupPeriods(q, needWeek)
	years, months, days := span.starts("y"), span.starts("m"), span.days
	// filter is the query's filters as SQL, their arguments numbered after
	// the first ones.
	filter := func(first ...any) (string, []any) {
		where, args := "", first
		if q.DistrictID != nil {
			args = append(args, *q.DistrictID)
			where += " AND district_id = $" + strconv.Itoa(len(args))
		}
		if q.Priority != nil {
			args = append(args, *q.Priority)
			where += " AND priority = $" + strconv.Itoa(len(args))
		}
		if q.DVOnly {
			where += " AND is_dv"
		}
		return where, args
	}
	b := &pgx.Batch{}
	var zone *string
	b.Queue(`SELECT rollup_zone()`).QueryRow(func(r pgx.Row) error { return r.Scan(&zone) })
	districts := map[int64][2]string{}
	b.Queue(`SELECT id, code, name FROM districts`).Query(func(rows pgx.Rows) error {
		var id int64
		var code, name string
		_, err := pgx.ForEachRow(rows, []any{&id, &code, &name}, func() error {
			districts[id] = [2]string{code, name}
			return nil
		})
		return err
	})
	type cellRow struct {
		grain                 string
		period                time.Time
		cell                  rollupCell
		incidents, corrected  int
		missing, inconsistent [6]int32
	}
	var cells []cellRow
	where, args := filter(years, months, days)
	b.Queue(`SELECT grain::text, period, district_id, priority, is_dv, incidents, corrected, missing, inconsistent
		FROM rollup_cells WHERE ((grain = 'y' AND period = ANY($1)) OR (grain = 'm' AND period = ANY($2))
			OR (grain = 'd' AND period = ANY($3)))`+where, args...).
		Query(func(rows pgx.Rows) error {
			var c cellRow
			return forEachRowArrays(rows, []any{&c.grain, &c.period, &c.cell.district, &c.cell.priority, &c.cell.dv,
				&c.incidents, &c.corrected}, "aa", func(arrs [][]int32) error {
				copy(c.missing[:], arrs[0])
				copy(c.inconsistent[:], arrs[1])
				cells = append(cells, c)
				return nil
			})
		})
	// The durations read, per cell, interval and (for a weekly series)
	// week; merged per group of each grouping below.
	type cellIv struct {
		cell rollupCell
		week string
		iv   int
	}
	weekOf := func(day time.Time) string {
		if needWeek {
			return report.DateOf(day, time.UTC).ISOWeek()
		}
		return ""
	}
	raw := map[cellIv]*ivAcc{}
	acc := func(k cellIv) *ivAcc {
		a := raw[k]
		if a == nil {
			a = &ivAcc{cells: map[rollupCell]bool{}}
			raw[k] = a
		}
		return a
	}
	groupOf := func(gb report.GroupBy, c rollupCell, week string) string {
		switch gb {
		case report.ByPriority:
			return strconv.Itoa(c.priority)
		case report.ByDistrict:
			return strconv.FormatInt(c.district, 10)
		case report.ByWeek:
			return week
		}
		return ""
	}
	// The buckets each cell, interval and period holds durations in: only
	// those have fine rows worth looking up.
	nonEmpty := bucketSets[histPeriod]{}
	where, args = filter(years, months)
	b.Queue(`SELECT grain::text, month, district_id, priority, is_dv, iv, n, hist, over FROM rollup_hist
		WHERE ((grain = 'y' AND month = ANY($1)) OR (grain = 'm' AND month = ANY($2)))`+where, args...).
		Query(func(rows pgx.Rows) error {
			var grain string
			var month time.Time
			var c rollupCell
			var iv int
			var n int64
			return forEachRowArrays(rows, []any{&grain, &month, &c.district, &c.priority, &c.dv, &iv, &n}, "pa", func(arrs [][]int32) error {
				hist, over := arrs[0], arrs[1]
				if n == 0 {
					return nil
				}
				a := acc(cellIv{c, "", iv})
				a.addRow(span.sign(grain, month), n, hist, over)
				a.cells[c] = true
				nonEmpty.row(histPeriod{c, iv, grain, month.Unix()}).setNonZero(hist)
				return nil
			})
		})
	where, args = filter(days)
	b.Queue(`SELECT day, district_id, priority, is_dv, iv, vals FROM rollup_days WHERE day = ANY($1)`+where, args...).
		Query(func(rows pgx.Rows) error {
			var c rollupCell
			var day time.Time
			var iv int
			return forEachRowArrays(rows, []any{&day, &c.district, &c.priority, &c.dv, &iv}, "p", func(arrs [][]int32) error {
				vals := arrs[0]
				a := acc(cellIv{c, weekOf(day), iv})
				sg := span.sign("d", day)
				for _, v := range vals {
					a.addDay(sg, v)
				}
				return nil
			})
		})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, false, err
	}
	if zone == nil || *zone != q.Location.String() {
		return nil, false, nil
	}
	prioBy := map[int]refdata.Priority{}
	for _, p := range prios {
		prioBy[p.Level] = p
	}
	// The targets in force (the same over the whole range unless use
	// gives the within-target counts).
	first := refdata.Day(q.From.Year, q.From.Month, q.From.Day)
	target := func(level, iv int) *int {
		if p, ok := prioBy[level]; ok && use == nil {
			return p.TargetOn(report.Definitions[iv].Interval, first)
		}
		return nil
	}
	rangeTarget := func(level, iv int) *int {
		if p, ok := prioBy[level]; ok {
			return report.RangeTarget(q, p, report.Definitions[iv].Interval)
		}
		return nil
	}
	type giKey struct {
		group string
		iv    int
	}
	// The ranks each group and interval needs, and the buckets holding
	// them or a target: those buckets' fine rows are read next.
	type need struct {
		group    string
		iv       int
		priority int // -1: every priority of the group
		bucket   int
	}
	type ranked struct {
		n      int64
		coarse []int64
		over   []int32
	}
	// grouping is one grouping's accumulators, groups and needs.
	type grouping struct {
		gb     report.GroupBy
		accs   map[ivKey]*ivAcc
		groups map[string]*groupAcc
		byGI   map[giKey][]ivKey
		needs  map[need]bool
		merged map[giKey]*ranked
	}
	gs := make([]*grouping, len(gbs))
	for gi, gb := range gbs {
		gs[gi] = &grouping{gb: gb}
		accs := map[ivKey]*ivAcc{}
		for k, ra := range raw {
			key := ivKey{groupOf(gb, k.cell, k.week), k.iv, k.cell.priority}
			a := accs[key]
			if a == nil {
				a = &ivAcc{cells: map[rollupCell]bool{}}
				accs[key] = a
			}
			a.n += ra.n
			if len(ra.coarse) > len(a.coarse) {
				a.coarse = append(a.coarse, make([]int64, len(ra.coarse)-len(a.coarse))...)
			}
			for i, x := range ra.coarse {
				a.coarse[i] += x
			}
			a.over = append(a.over, ra.over...)
			a.overMinus = append(a.overMinus, ra.overMinus...)
			a.dayVals = append(a.dayVals, ra.dayVals...)
			a.dayMinus = append(a.dayMinus, ra.dayMinus...)
			for c := range ra.cells {
				a.cells[c] = true
			}
		}
		for _, a := range accs {
			a.over = subtract(a.over, a.overMinus)
		}
		gs[gi].accs = accs
	}
	for _, g := range gs {
		g.groups, g.byGI, g.needs, g.merged = map[string]*groupAcc{}, map[giKey][]ivKey{}, map[need]bool{}, map[giKey]*ranked{}
		groups, accs, byGI, needs, merged := g.groups, g.accs, g.byGI, g.needs, g.merged

		// The groups and their counts.
		for _, c := range cells {
			if c.incidents == 0 && c.corrected == 0 {
				continue
			}
			if span.sign(c.grain, c.period) < 0 {
				c.incidents, c.corrected = -c.incidents, -c.corrected
				for i := range 6 {
					c.missing[i], c.inconsistent[i] = -c.missing[i], -c.inconsistent[i]
				}
			}
			key := groupOf(g.gb, c.cell, weekOf(c.period))
			ga := groups[key]
			if ga == nil {
				ga = &groupAcc{priorities: map[int]int{}}
				ga.in.Priority = c.cell.priority
				if d, ok := districts[c.cell.district]; ok {
					ga.in.DistrictCode, ga.in.DistrictName = d[0], d[1]
				}
				ga.in.Received = report.DateOf(c.period, time.UTC).Start(q.Location).Add(12 * time.Hour)
				groups[key] = ga
			}
			ga.incidents += c.incidents
			ga.corrected += c.corrected
			for i := range 6 {
				ga.missing[i] += int(c.missing[i])
				ga.inconsistent[i] += int(c.inconsistent[i])
			}
			ga.priorities[c.cell.priority] += c.incidents
		}

		// The accumulators of each group and interval.
		for k := range accs {
			gi := giKey{k.group, k.iv}
			byGI[gi] = append(byGI[gi], k)
		}

		for key := range groups {
			for iv := range 6 {
				r := &ranked{}
				for _, k := range byGI[giKey{key, iv}] {
					a := accs[k]
					r.n += a.n
					if len(a.coarse) > len(r.coarse) {
						r.coarse = append(r.coarse, make([]int64, len(a.coarse)-len(r.coarse))...)
					}
					for i, x := range a.coarse {
						r.coarse[i] += x
					}
					r.over = append(r.over, a.over...)
					if t := target(k.priority, iv); t != nil && *t < rollupOverSecs && a.n > 0 {
						needs[need{key, iv, k.priority, *t / rollupBucketSecs}] = true
					}
				}
				slices.Sort(r.over)
				merged[giKey{key, iv}] = r
				if collect != nil {
					continue // no percentiles wanted
				}
				for _, rank := range percentileRanks(r.n) {
					if b, _, inOver := locate(r.coarse, rank); !inOver {
						needs[need{key, iv, -1, b}] = true
					}
				}
			}
		}

	}

	// Fine rows of the month cells for the buckets any grouping needs.
	fine := map[fineKey]*[rollupBucketSecs]int64{}
	want := map[fineKey]bool{}
	for _, g := range gs {
		for nd := range g.needs {
			for _, k := range g.byGI[giKey{nd.group, nd.iv}] {
				if a := g.accs[k]; nd.priority < 0 || nd.priority == k.priority {
					for c := range a.cells {
						want[fineKey{nd.iv, nd.bucket, c}] = true
					}
				}
			}
		}
	}
	if len(span.periods) > 0 && len(want) > 0 {
		keys := make([]fineKey, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return fineLess(keys[i], keys[j]) })
		// One lookup per key and period, by the whole primary key: the
		// planner, which cannot see into the arrays, would otherwise read
		// every period of a key and join them after.
		n := len(keys) * len(span.periods)
		ivs, buckets, dists, ps, dvs := make([]int16, 0, n), make([]int16, 0, n), make([]int64, 0, n), make([]int32, 0, n),
			make([]bool, 0, n)
		ks, grains, starts, signs := make([]int32, 0, n), make([]string, 0, n), make([]time.Time, 0, n), make([]int32, 0, n)
		for i, k := range keys {
			for _, p := range span.periods {
				if !nonEmpty[histPeriod{k.cell, k.iv, p.grain, p.start.Unix()}].has(k.bucket) {
					continue
				}
				ivs, buckets, dists = append(ivs, int16(k.iv)), append(buckets, int16(k.bucket)), append(dists, k.cell.district)
				ps, dvs, ks = append(ps, int32(k.cell.priority)), append(dvs, k.cell.dv), append(ks, int32(i))
				grains, starts, signs = append(grains, p.grain), append(starts, p.start), append(signs, int32(p.sign))
			}
		}
		rows, err := tx.Query(ctx, `SELECT r.k, r.sign, f.counts
			FROM unnest($1::smallint[], $2::smallint[], $3::bigint[], $4::integer[], $5::boolean[], $6::text[], $7::date[],
				$8::integer[], $9::integer[]) r(iv, bucket, d, p, dv, grain, month, sign, k)
			JOIN rollup_fine f ON f.iv = r.iv AND f.district_id = r.d AND f.priority = r.p AND f.is_dv = r.dv
				AND f.bucket = r.bucket AND f.grain = r.grain::"char" AND f.month = r.month`,
			ivs, buckets, dists, ps, dvs, grains, starts, signs, ks)
		if err != nil {
			return nil, false, err
		}
		var k int
		var sg int64
		if err := forEachRowArrays(rows, []any{&k, &sg}, "p", func(arrs [][]int32) error {
			counts := arrs[0]
			fk := keys[k]
			sum := fine[fk]
			if sum == nil {
				sum = new([rollupBucketSecs]int64)
				fine[fk] = sum
			}
			for i, x := range counts {
				if i < rollupBucketSecs {
					sum[i] += sg * int64(x)
				}
			}
			return nil
		}); err != nil {
			return nil, false, err
		}
	}
	results := make([]report.Result, len(gs))
	for gi, g := range gs {
		accs, byGI, needs, merged, groups := g.accs, g.byGI, g.needs, g.merged, g.groups
		// perSecond is the count of each second of bucket b of a group's
		// interval, for one priority or all (-1).
		// The days' durations in the needed buckets, per second: one pass
		// over each accumulator's durations.
		want := make([]bool, rollupBuckets)
		for k, a := range accs {
			if len(a.dayVals) == 0 && len(a.dayMinus) == 0 {
				continue
			}
			clear(want)
			wanted := false
			for nd := range needs {
				if nd.group == k.group && nd.iv == k.iv && (nd.priority < 0 || nd.priority == k.priority) {
					want[nd.bucket], wanted = true, true
				}
			}
			if !wanted {
				continue
			}
			a.dayFine = map[int]*[rollupBucketSecs]int64{}
			for sg, vals := range [2][]int32{a.dayMinus, a.dayVals} {
				for _, v := range vals {
					b := int(v) / rollupBucketSecs
					if !want[b] {
						continue
					}
					c := a.dayFine[b]
					if c == nil {
						c = new([rollupBucketSecs]int64)
						a.dayFine[b] = c
					}
					c[int(v)%rollupBucketSecs] += int64(2*sg - 1)
				}
			}
		}
		seconds := map[need]*[rollupBucketSecs]int64{}
		perSecond := func(group string, iv, priority, b int) *[rollupBucketSecs]int64 {
			nd := need{group, iv, priority, b}
			if out := seconds[nd]; out != nil {
				return out
			}
			out := new([rollupBucketSecs]int64)
			seconds[nd] = out
			for _, k := range byGI[giKey{group, iv}] {
				a := accs[k]
				if priority >= 0 && k.priority != priority {
					continue
				}
				for c := range a.cells {
					if s := fine[fineKey{iv, b, c}]; s != nil {
						for i, x := range s {
							out[i] += x
						}
					}
				}
				if c := a.dayFine[b]; c != nil {
					for i, x := range c {
						out[i] += x
					}
				}
			}
			return out
		}

		gq := q
		gq.GroupBy = g.gb
		bld := report.NewBuilder(gq, prios)
		for key, g := range groups {
			if g.incidents == 0 {
				continue
			}
			f := report.GroupFigures{Incidents: g.incidents, Corrected: g.corrected, Intervals: make([]report.Summary, 6)}
			for iv := range 6 {
				r := merged[giKey{key, iv}]
				s := report.Summary{N: int(r.n), Missing: g.missing[iv], Inconsistent: g.inconsistent[iv]}
				if collect == nil {
					s.Median, s.P90, s.P95 = report.Percentiles(r.n, func(rank int64) float64 {
						return rankValue(r.coarse, r.over, rank, func(b int) *[rollupBucketSecs]int64 { return perSecond(key, iv, -1, b) })
					})
				}
				var targets []*int
				for level, n := range g.priorities {
					if n > 0 {
						targets = append(targets, rangeTarget(level, iv))
					}
				}
				s.TargetS = report.CommonTarget(targets)
				var withTarget, within int64
				if use != nil {
					if w := use[gi][key]; w != nil {
						withTarget, within = w[iv][0], w[iv][1]
					}
				}
				for _, k := range byGI[giKey{key, iv}] {
					a := accs[k]
					if a.n == 0 {
						continue
					}
					t := target(k.priority, iv)
					if t == nil {
						continue
					}
					withTarget += a.n
					if *t >= rollupOverSecs {
						within += a.n - int64(len(a.over))
						for _, v := range a.over {
							if int(v) <= *t {
								within++
							}
						}
						continue
					}
					bt := *t / rollupBucketSecs
					for i := 0; i < bt && i < len(a.coarse); i++ {
						within += a.coarse[i]
					}
					ps := perSecond(key, iv, k.priority, bt)
					for sec := 0; sec <= *t%rollupBucketSecs; sec++ {
						within += ps[sec]
					}
				}
				if collect != nil {
					w := collect[gi][key]
					if w == nil {
						w = new([6][2]int64)
						collect[gi][key] = w
					}
					w[iv][0] += withTarget
					w[iv][1] += within
				}
				if withTarget > 0 {
					v := 100 * float64(within) / float64(withTarget)
					s.WithinTargetPct = &v
				}
				f.Intervals[iv] = s
			}
			bld.AddFigures(g.in, f)
		}
		results[gi] = bld.Result()
	}
	return results, true, nil
}

// histPeriod names the coarse row of a cell and interval in a period
// (grain, first day as Unix seconds).
type histPeriod struct {
	cell  rollupCell
	iv    int
	grain string
	start int64
}

// bucketSet is a set of coarse buckets (0 to rollupBuckets-1).
type bucketSet [(rollupBuckets + 63) / 64]uint64

// setNonZero adds the buckets of a coarse row's counts that are not zero.
func (b *bucketSet) setNonZero(hist []int32) {
	for i, x := range hist {
		if x != 0 && i < rollupBuckets {
			b[i/64] |= 1 << (i % 64)
		}
	}
}

// has reports whether bucket i is in b; a nil set holds none.
func (b *bucketSet) has(i int) bool {
	return b != nil && i >= 0 && i < rollupBuckets && b[i/64]&(1<<(i%64)) != 0
}

// bucketSets are the non-empty buckets of coarse rows, by row.
type bucketSets[K comparable] map[K]*bucketSet

// row is k's set, made empty on first use.
func (m bucketSets[K]) row(k K) *bucketSet {
	b := m[k]
	if b == nil {
		b = new(bucketSet)
		m[k] = b
	}
	return b
}

// rollupPeriod is a local year or month whose rows a range reads, added
// (sign 1) or subtracted (-1).
type rollupPeriod struct {
	grain string    // "y" or "m"
	start time.Time // its first day, at midnight UTC
	sign  int64
}

// rollupSpan is how a range is read from the rollups: year and month rows
// added or subtracted, and day rows (those in minus subtracted).
type rollupSpan struct {
	periods []rollupPeriod
	days    []time.Time
	minus   map[time.Time]bool
}

// starts are the first days of the span's periods of grain g, for a
// query's "= ANY" test.
func (s rollupSpan) starts(g string) []time.Time {
	out := []time.Time{}
	for _, p := range s.periods {
		if p.grain == g {
			out = append(out, p.start)
		}
	}
	return out
}

// sign is the sign of the row of grain g ("y", "m" or "d") starting on
// start: 1 added, -1 subtracted.
func (s rollupSpan) sign(g string, start time.Time) int64 {
	if g == "d" {
		if s.minus[start] {
			return -1
		}
		return 1
	}
	for _, p := range s.periods {
		if p.grain == g && p.start.Equal(start) {
			return p.sign
		}
	}
	return 1
}

// rollupPeriods splits q's range into the rows that read it with the
// fewest rows, every count adding and subtracting exactly: a local year
// wholly in the range from its year rows; one more than half in it from
// its year rows less the parts outside the range; the others by month.
// Likewise a month wholly in a part from its month rows, one more than
// half in it from its month rows less its other days' day rows, the others
// from their days' rows. So a calendar year reads one row per cell, a
// rolling year a year, a month or two and a few days, "the last 28 days"
// a month and a few days. With daysOnly (a weekly series) every day is
// read from its day rows.
func rollupPeriods(q report.Query, daysOnly bool) rollupSpan {
	s := rollupSpan{minus: map[time.Time]bool{}}
	if daysOnly {
		for d := q.From; !q.To.Before(d); d = d.AddDays(1) {
			s.days = append(s.days, dateUTC(d))
		}
		return s
	}
	for y := q.From.Year; y <= q.To.Year; y++ {
		first, last := report.Date{Year: y, Month: 1, Day: 1}, report.Date{Year: y, Month: 12, Day: 31}
		lo, hi := first, last
		if lo.Before(q.From) {
			lo = q.From
		}
		if q.To.Before(hi) {
			hi = q.To
		}
		in, all := lo.DaysUntil(hi)+1, first.DaysUntil(last)+1
		switch {
		case in == all:
			s.periods = append(s.periods, rollupPeriod{"y", dateUTC(first), 1})
		case 2*in > all:
			s.periods = append(s.periods, rollupPeriod{"y", dateUTC(first), 1})
			if first.Before(lo) {
				s.addMonths(first, lo.AddDays(-1), -1)
			}
			if hi.Before(last) {
				s.addMonths(hi.AddDays(1), last, -1)
			}
		default:
			s.addMonths(lo, hi, 1)
		}
	}
	return s
}

// addMonths adds (sign 1) or subtracts (-1) the days from lo to hi, within
// one year, by month: a whole month from its month rows; a month more than
// half covered from its month rows and its other days' day rows with the
// opposite sign; the others from their days' rows.
func (s *rollupSpan) addMonths(lo, hi report.Date, sign int64) {
	for d := lo; !hi.Before(d); {
		first := report.Date{Year: d.Year, Month: d.Month, Day: 1}
		next := first.AddDays(32)
		next = report.Date{Year: next.Year, Month: next.Month, Day: 1}
		end := next.AddDays(-1)
		if hi.Before(end) {
			end = hi
		}
		in, all := d.DaysUntil(end)+1, first.DaysUntil(next)
		switch {
		case in == all:
			s.periods = append(s.periods, rollupPeriod{"m", monthOf(d), sign})
		case 2*in > all:
			s.periods = append(s.periods, rollupPeriod{"m", monthOf(d), sign})
			for x := first; x.Before(next); x = x.AddDays(1) {
				if x.Before(d) || end.Before(x) {
					s.addDay(x, -sign)
				}
			}
		default:
			for x := d; !end.Before(x); x = x.AddDays(1) {
				s.addDay(x, sign)
			}
		}
		d = next
	}
}

func (s *rollupSpan) addDay(d report.Date, sign int64) {
	s.days = append(s.days, dateUTC(d))
	if sign < 0 {
		s.minus[dateUTC(d)] = true
	}
}

// forEachRowArrays is pgx.ForEachRow for rows whose last columns hold
// integers, one letter of kinds each: 'a' an int4[], 'p' a packed bytea
// (4-byte big-endian integers). The other columns are scanned into dest;
// the integers are decoded from the wire (far faster than scanning an
// int4[] into a slice) into arrs, which are reused from row to row.
func forEachRowArrays(rows pgx.Rows, dest []any, kinds string, fn func(arrs [][]int32) error) error {
	defer rows.Close()
	all := append(slices.Clone(dest), make([]any, len(kinds))...) // nil: skipped by Scan
	arrs := make([][]int32, len(kinds))
	for rows.Next() {
		if err := rows.Scan(all...); err != nil {
			return err
		}
		raw := rows.RawValues()
		for i := range kinds {
			var err error
			if kinds[i] == 'p' {
				arrs[i], err = unpack(arrs[i][:0], raw[len(dest)+i])
			} else {
				arrs[i], err = int4s(arrs[i][:0], raw[len(dest)+i])
			}
			if err != nil {
				return err
			}
		}
		if err := fn(arrs); err != nil {
			return err
		}
	}
	return rows.Err()
}

// pack writes integers as 4-byte big-endian, as the rollups keep them.
func pack(xs []int32) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.BigEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

// unpack appends the integers packed in b to buf.
func unpack(buf []int32, b []byte) ([]int32, error) {
	if len(b)%4 != 0 {
		return buf, errNotPacked
	}
	for p := 0; p < len(b); p += 4 {
		buf = append(buf, int32(binary.BigEndian.Uint32(b[p:])))
	}
	return buf, nil
}

var errNotPacked = errors.New("rollups: packed integers of a length not a multiple of 4")

var errNotInt4s = errors.New("rollups: an array is not a binary int4[] without NULLs")

// int4s appends the elements of a one-dimensional int4[] without NULLs in
// PostgreSQL's binary format to buf.
func int4s(buf []int32, b []byte) ([]int32, error) {
	if len(b) < 12 {
		return buf, errNotInt4s
	}
	if binary.BigEndian.Uint32(b) == 0 { // no dimensions: empty
		return buf, nil
	}
	if binary.BigEndian.Uint32(b) != 1 || len(b) < 20 {
		return buf, errNotInt4s
	}
	n := int(binary.BigEndian.Uint32(b[12:]))
	if len(b) != 20+8*n {
		return buf, errNotInt4s
	}
	for p := 20; p < len(b); p += 8 {
		if binary.BigEndian.Uint32(b[p:]) != 4 {
			return buf, errNotInt4s
		}
		buf = append(buf, int32(binary.BigEndian.Uint32(b[p+4:])))
	}
	return buf, nil
}

// subtract takes one of each of del out of xs (a multiset).
func subtract(xs, del []int32) []int32 {
	if len(del) == 0 {
		return xs
	}
	n := map[int32]int{}
	for _, x := range del {
		n[x]++
	}
	out := xs[:0:0]
	for _, x := range xs {
		if n[x] > 0 {
			n[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}

// percentileRanks are the 0-based ranks the median, 90th and 95th
// percentiles of n durations interpolate between.
func percentileRanks(n int64) []int64 {
	if n == 0 {
		return nil
	}
	var out []int64
	for _, p := range []float64{0.5, 0.9, 0.95} {
		i := int64(math.Floor(p * float64(n-1)))
		out = append(out, min(i, n-1), min(i+1, n-1))
	}
	return out
}

// rankValue is the duration of 0-based rank in a two-level histogram: the
// counts per coarse bucket, the long durations past them (sorted), and
// perSecond giving a bucket's counts per second.
func rankValue(coarse []int64, over []int32, rank int64, perSecond func(bucket int) *[rollupBucketSecs]int64) float64 {
	b, off, inOver := locate(coarse, rank)
	if inOver {
		return float64(over[off])
	}
	for sec, x := range perSecond(b) {
		if off < x {
			return float64(b*rollupBucketSecs + sec)
		}
		off -= x
	}
	// The coarse and fine rows disagree: the rollups are corrupt, and no
	// figure read from them can be trusted.
	panic(fmt.Sprintf("rollups: rank %d not in bucket %d", rank, b))
}

// locate finds rank (0-based) in a coarse histogram followed by the
// durations kept one by one: the bucket and the rank within it, or the
// index among the others.
func locate(coarse []int64, rank int64) (bucket int, off int64, inOver bool) {
	for b, x := range coarse {
		if rank < x {
			return b, rank, false
		}
		rank -= x
	}
	return 0, rank, true
}

func fineLess(a, b fineKey) bool {
	switch {
	case a.iv != b.iv:
		return a.iv < b.iv
	case a.cell.district != b.cell.district:
		return a.cell.district < b.cell.district
	case a.cell.priority != b.cell.priority:
		return a.cell.priority < b.cell.priority
	case a.cell.dv != b.cell.dv:
		return !a.cell.dv
	}
	return a.bucket < b.bucket
}

// RollupSizes describes the rollup tables: rows and bytes on disk
// (indexes and TOAST included), by table.
func (db *DB) RollupSizes(ctx context.Context) (string, error) {
	var parts []string
	var total int64
	for _, t := range []string{"rollup_cells", "rollup_hist", "rollup_fine", "rollup_days", "dash_cells", "dash_hist", "dash_fine",
		"dash_days"} {
		var n, bytes int64
		var pretty string
		if err := db.Pool.QueryRow(ctx, `SELECT count(*), pg_size_pretty(pg_total_relation_size('`+t+`')),
			pg_total_relation_size('`+t+`') FROM `+t).Scan(&n, &pretty, &bytes); err != nil {
			return "", mapErr(err, "")
		}
		parts = append(parts, fmt.Sprintf("%s %s (%d rows)", t, pretty, n))
		total += bytes
	}
	return fmt.Sprintf("%s; total %.0f MB", strings.Join(parts, ", "), float64(total)/1e6), nil
}
