package olapspike

// The OLAP spike of issue 15: an embedded columnar engine (DuckDB through
// github.com/duckdb/duckdb-go/v2, cgo, bundled library) holding a narrow
// copy of the incidents, measured against the naive report.
//
// A module of its own (go.mod here), so that the application's build,
// its go.mod and `make test` never see DuckDB; run from this directory:
//
//	DVR_BENCH_OLAP=1 \
//	DVR_BENCH_SCALE_URL_1M=postgres://…/dvresponse_bench_scale_1m \
//	DVR_BENCH_SCALE_URL=postgres://…/dvresponse_bench_scale \
//	DVR_BENCH_OLAP_DIR=/work/duck \
//	go test -count=1 -timeout 2h -run '^TestBenchOLAP$' -v .
//
// It reads the databases only (no migration, no seeding): each must hold
// its incidents already. Knobs: DVR_BENCH_OLAP_RUNS (20 per cell),
// DVR_BENCH_OLAP_THREADS (2), DVR_BENCH_OLAP_SCALES ("1M,10M").
//
// TestBenchOLAPSmoke (DATABASE_URL as for the other tests) checks every
// cell of the matrix against ResponseTimesNaive on a small seeded database
// with stages missing and out of order, corrections, units and a target
// change in the middle of the range.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/internal/seed"
)

// olapFactDDL is the fact table: one row per incident, what every filter
// and grouping needs, local day and hour in the deployment's zone as
// report.DateOf and report.ShiftOf compute them, and the six durations in
// whole seconds rounded up, NULL when not measured (a stage missing, or
// out of order: bad's bit i says which, so both counts stay exact).
// Rounding up keeps "duration <= target" exact for whole-second targets
// and moves each percentile by less than 1 s. NULL rather than a sentinel
// lets every aggregate run without a FILTER clause, which DuckDB pays for
// dearly (measured: a FILTER per quantile doubles its cost).
const olapFactDDL = `CREATE TABLE %s (
	id                BIGINT NOT NULL,
	received_at       TIMESTAMP NOT NULL, -- UTC
	day               DATE NOT NULL,      -- local day
	hour              UTINYINT NOT NULL,  -- local hour
	priority          SMALLINT NOT NULL,
	district_id       INTEGER,
	settlement_id     INTEGER,
	type_id           INTEGER NOT NULL,
	corrected         BOOLEAN NOT NULL,
	victim_sex        UTINYINT,           -- dashboard breakdown: 1 female, 2 male, 3 other
	victim_age        UTINYINT,
	d_call_processing INTEGER,
	d_turnout         INTEGER,
	d_travel          INTEGER,
	d_response        INTEGER,
	d_on_scene        INTEGER,
	d_total           INTEGER,
	bad               UTINYINT NOT NULL)  -- bit i: interval i's stages out of order`

// olapSelect reads what the fact needs from PostgreSQL.
const olapSelect = `SELECT id, received_at, dispatched_at, en_route_at, on_scene_at, cleared_at, priority,
	district_id, settlement_id, type_id, corrections > 0, victim_sex, victim_age FROM incidents`

// olapStore is the DuckDB copy and the reference data it labels with.
type olapStore struct {
	db    *sql.DB
	path  string
	loc   *time.Location
	prios []refdata.Priority
	prio  map[int]refdata.Priority
	dists map[int64]refdata.District
	sets  map[int64]refdata.Settlement
	types map[int64]refdata.IncidentType
	idp   []int64 // IDP settlements
	dv    []int64 // DV types
}

// factRow turns one PostgreSQL row into the fact's values.
func factRow(rows pgx.Rows, loc *time.Location, out []driver.Value) error {
	var id int64
	var rec time.Time
	var disp, enr, ons, clr *time.Time
	var prio int32
	var did, sid *int64
	var tid int64
	var corrected bool
	var sex *string
	var age *int32
	if err := rows.Scan(&id, &rec, &disp, &enr, &ons, &clr, &prio, &did, &sid, &tid, &corrected, &sex, &age); err != nil {
		return err
	}
	lt := rec.In(loc)
	y, m, d := lt.Date()
	out[0], out[1] = id, rec.UTC()
	out[2], out[3] = time.Date(y, m, d, 0, 0, 0, 0, time.UTC), uint8(lt.Hour())
	out[4] = int16(prio)
	out[5], out[6] = nullInt32(did), nullInt32(sid)
	out[7], out[8] = int32(tid), corrected
	out[9], out[10] = nil, nil
	if sex != nil {
		out[9] = uint8(map[string]int{"female": 1, "male": 2, "other": 3}[*sex])
	}
	if age != nil {
		out[10] = uint8(*age)
	}
	st := report.Stamps{Received: rec, Dispatched: disp, EnRoute: enr, OnScene: ons, Cleared: clr}
	var bad uint8
	for i, def := range report.Definitions {
		v, ok := ceilSeconds(st.At(def.From), st.At(def.To))
		out[11+i] = v
		if !ok {
			bad |= 1 << i
		}
	}
	out[17] = bad
	return nil
}

func nullInt32(p *int64) driver.Value {
	if p == nil {
		return nil
	}
	return int32(*p)
}

// ceilSeconds is an interval in whole seconds rounded up; nil when a stage
// is missing or out of order (ok false: out of order), as report.Duration.
func ceilSeconds(from, to *time.Time) (v driver.Value, ok bool) {
	if from == nil || to == nil {
		return nil, true
	}
	d := to.Sub(*from)
	if d < 0 {
		return nil, false
	}
	return int32((d + time.Second - 1) / time.Second), true
}

// olapLoadTimes are the phases of a full load.
type olapLoadTimes struct {
	rows           int64
	copy, sort     time.Duration // PostgreSQL → staging (appender); staging → fact sorted by received_at
	units          time.Duration
	total          time.Duration
	fileSize       int64
	unitRows       int64
	syntheticUnits bool
}

// openOLAP creates a fresh DuckDB file at path and loads the incidents of
// pg into it: appended to a staging database, then copied sorted by
// received_at (zone maps then prune a range to its row groups).
func openOLAP(ctx context.Context, t testing.TB, pg *postgres.DB, path string, loc *time.Location, threads int, synthUnits bool) (*olapStore, olapLoadTimes) {
	t.Helper()
	var lt olapLoadTimes
	stage := path + ".stage"
	for _, p := range []string{path, path + ".wal", stage, stage + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	began := time.Now()
	db, err := sql.Open("duckdb", path+"?threads="+strconv.Itoa(threads))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &olapStore{db: db, path: path, loc: loc}
	s.refresh(ctx, t, pg)

	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustExec(t, conn, `ATTACH '`+stage+`' AS stage`)
	mustExec(t, conn, fmt.Sprintf(olapFactDDL, "stage.fact_load"))
	lt.rows = appendFacts(ctx, t, conn, pg, "stage", "fact_load", olapSelect, nil, loc)
	lt.copy = time.Since(began)
	t0 := time.Now()
	mustExec(t, conn, `CREATE TABLE fact AS SELECT * FROM stage.fact_load ORDER BY received_at`)
	mustExec(t, conn, `DETACH stage`)
	for _, p := range []string{stage, stage + ".wal"} {
		os.Remove(p)
	}
	lt.sort = time.Since(t0)

	// The unit filter: incidents a unit was ever assigned to.
	t0 = time.Now()
	mustExec(t, conn, `CREATE TABLE units (incident_id BIGINT NOT NULL, unit_id INTEGER NOT NULL)`)
	if err := conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "units")
		if err != nil {
			return err
		}
		rows, err := pg.Pool.Query(ctx, `SELECT DISTINCT incident_id, unit_id FROM incident_units ORDER BY 1`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var iid, uid int64
			if err := rows.Scan(&iid, &uid); err != nil {
				return err
			}
			if err := a.AppendRow(iid, int32(uid)); err != nil {
				return err
			}
			lt.unitRows++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return a.Close()
	}); err != nil {
		t.Fatalf("load units: %v", err)
	}
	if lt.unitRows == 0 && synthUnits {
		// The scale seed assigns no units: for timing only, give every
		// incident one of 14 units (ids 1–14) so that the filter selects
		// about 1/14 of the rows, as a real unit of 14 would.
		mustExec(t, conn, `INSERT INTO units SELECT id, (hash(id) % 14) + 1 FROM fact ORDER BY id`)
		lt.syntheticUnits = true
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM units`).Scan(&lt.unitRows); err != nil {
			t.Fatal(err)
		}
	}
	lt.units = time.Since(t0)
	mustExec(t, conn, `CHECKPOINT`)
	lt.total = time.Since(began)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	lt.fileSize = fi.Size()
	return s, lt
}

// appendFacts streams sel (with args) from PostgreSQL into catalog.table
// through DuckDB's appender and returns the rows appended.
func appendFacts(ctx context.Context, t testing.TB, conn *sql.Conn, pg *postgres.DB, catalog, table, sel string, args []any, loc *time.Location) int64 {
	t.Helper()
	var n int64
	if err := conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), catalog, "", table)
		if err != nil {
			return err
		}
		rows, err := pg.Pool.Query(ctx, sel, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]driver.Value, 18)
		for rows.Next() {
			if err := factRow(rows, loc, vals); err != nil {
				return err
			}
			if err := a.AppendRow(vals...); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return a.Close()
	}); err != nil {
		t.Fatalf("append facts: %v", err)
	}
	return n
}

func mustExec(t testing.TB, conn *sql.Conn, q string) {
	t.Helper()
	if _, err := conn.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", strings.SplitN(q, "\n", 2)[0], err)
	}
}

// refresh reads the reference data the queries label and filter with.
func (s *olapStore) refresh(ctx context.Context, t testing.TB, pg *postgres.DB) {
	t.Helper()
	var err error
	if s.prios, err = pg.Priorities(ctx); err != nil {
		t.Fatal(err)
	}
	s.prio = map[int]refdata.Priority{}
	for _, p := range s.prios {
		s.prio[p.Level] = p
	}
	ds, err := pg.Districts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.dists = map[int64]refdata.District{}
	for _, d := range ds {
		s.dists[d.ID] = d
	}
	ss, err := pg.Settlements(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.sets, s.idp = map[int64]refdata.Settlement{}, nil
	for _, x := range ss {
		s.sets[x.ID] = x
		if x.IsIDP {
			s.idp = append(s.idp, x.ID)
		}
	}
	ts, err := pg.IncidentTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.types, s.dv = map[int64]refdata.IncidentType{}, nil
	for _, x := range ts {
		s.types[x.ID] = x
		if x.IsDV {
			s.dv = append(s.dv, x.ID)
		}
	}
}

// targetsCTE is the priorities' targets over q's days as a tiny table
// tg(priority, from_day, to_day, t_0 … t_5), one row per priority and
// period in force within the range (from_day inclusive, to_day exclusive),
// that the fact joins on its priority and local day: each incident meets
// the targets in force on the day it was received. "" when no priority
// has targets.
func (s *olapStore) targetsCTE(q report.Query) string {
	first := refdata.Day(q.From.Year, q.From.Month, q.From.Day)
	last := refdata.Day(q.To.Year, q.To.Month, q.To.Day)
	var rows []string
	row := func(level int, from, to time.Time, ts map[refdata.Interval]*int) {
		if !from.IsZero() && from.After(last) || !to.IsZero() && !to.After(first) {
			return
		}
		day := func(d time.Time, inf string) string {
			if d.IsZero() {
				return "DATE '" + inf + "'"
			}
			return "DATE '" + d.Format(report.DateLayout) + "'"
		}
		vals := []string{fmt.Sprintf("%d::SMALLINT", level), day(from, "-infinity"), day(to, "infinity")}
		for _, d := range report.Definitions {
			v := "NULL::INTEGER"
			if x := ts[d.Interval]; x != nil {
				v = strconv.Itoa(*x) + "::INTEGER"
			}
			vals = append(vals, v)
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	for _, p := range s.prios {
		if len(p.History) == 0 {
			row(p.Level, time.Time{}, time.Time{}, p.Targets)
			continue
		}
		for i, h := range p.History {
			var to time.Time
			if i+1 < len(p.History) {
				to = p.History[i+1].From
			}
			row(p.Level, h.From, to, h.Targets)
		}
	}
	if len(rows) == 0 {
		return ""
	}
	return "WITH tg(priority, from_day, to_day, t_0, t_1, t_2, t_3, t_4, t_5) AS (VALUES " + strings.Join(rows, ", ") + ") "
}

func idList(ids []int64) string {
	if len(ids) == 0 {
		return "NULL"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

// querySQL is the DuckDB query of q over the intervals ivs (indexes into
// report.Definitions): per group its key, incidents, corrected, its
// priorities and per interval measured, out of order, the three
// percentiles, measured with a target and within it (missing is the rest).
func (s *olapStore) querySQL(q report.Query, ivs []int) string {
	group := map[report.GroupBy]string{
		report.ByPriority: "f.priority::BIGINT", report.ByDistrict: "district_id::BIGINT",
		report.BySettlement: "settlement_id::BIGINT", report.ByType: "type_id::BIGINT",
		report.ByWeek:  "(date_diff('day', DATE '1970-01-01', date_trunc('week', day)::DATE))::BIGINT",
		report.ByShift: fmt.Sprintf("CASE WHEN hour >= %d AND hour < %d THEN 0 ELSE 1 END::BIGINT", report.DayStartHour, report.NightStartHour),
		report.ByAll:   "0::BIGINT",
	}[q.GroupBy]
	where := []string{fmt.Sprintf("day BETWEEN DATE '%s' AND DATE '%s'", q.From, q.To)}
	if q.DistrictID != nil {
		where = append(where, fmt.Sprintf("district_id = %d", *q.DistrictID))
	}
	if q.SettlementID != nil {
		where = append(where, fmt.Sprintf("settlement_id = %d", *q.SettlementID))
	}
	if q.IDPOnly {
		where = append(where, "settlement_id IN ("+idList(s.idp)+")")
	}
	if q.Priority != nil {
		where = append(where, fmt.Sprintf("f.priority = %d", *q.Priority))
	}
	if q.TypeID != nil {
		where = append(where, fmt.Sprintf("type_id = %d", *q.TypeID))
	}
	if q.DVOnly {
		where = append(where, "type_id IN ("+idList(s.dv)+")")
	}
	switch q.Shift {
	case report.DayShift:
		where = append(where, fmt.Sprintf("hour >= %d AND hour < %d", report.DayStartHour, report.NightStartHour))
	case report.NightShift:
		where = append(where, fmt.Sprintf("(hour < %d OR hour >= %d)", report.DayStartHour, report.NightStartHour))
	}
	if q.UnitID != nil {
		where = append(where, fmt.Sprintf("id IN (SELECT incident_id FROM units WHERE unit_id = %d)", *q.UnitID))
	}
	cte := s.targetsCTE(q)
	cols := []string{group + " AS g", "count(*)", "count(*) FILTER (WHERE corrected)", "list(DISTINCT f.priority)"}
	for _, i := range ivs {
		d := "d_" + string(report.Definitions[i].Interval)
		tg := "NULL::INTEGER"
		if cte != "" {
			tg = "tg.t_" + strconv.Itoa(i)
		}
		cols = append(cols,
			fmt.Sprintf("count(%s)", d), fmt.Sprintf("coalesce(sum(((bad >> %d) & 1)::INTEGER), 0)", i),
			fmt.Sprintf("quantile_cont(%s, [0.5, 0.9, 0.95])", d),
			fmt.Sprintf("count(%s + %s)", d, tg),
			fmt.Sprintf("coalesce(sum((%s <= %s)::INTEGER), 0)", d, tg))
	}
	from := " FROM fact f"
	if cte != "" {
		from += " LEFT JOIN tg ON f.priority = tg.priority AND f.day >= tg.from_day AND f.day < tg.to_day"
	}
	return cte + "SELECT " + strings.Join(cols, ", ") + from + " WHERE " + strings.Join(where, " AND ") + " GROUP BY g"
}

// allIntervals are every interval's indexes.
var allIntervals = []int{0, 1, 2, 3, 4, 5}

// ResponseTimes makes the store a report.Source (all six intervals).
func (s *olapStore) ResponseTimes(ctx context.Context, q report.Query) (report.Result, error) {
	return s.query(ctx, q, allIntervals)
}

// query computes q for intervals ivs; the others are left empty.
func (s *olapStore) query(ctx context.Context, q report.Query, ivs []int) (report.Result, error) {
	rows, err := s.db.QueryContext(ctx, s.querySQL(q, ivs))
	if err != nil {
		return report.Result{}, err
	}
	defer rows.Close()
	b := report.NewBuilder(q, s.prios)
	dest := make([]any, 4+5*len(ivs))
	var key sql.NullInt64
	var incidents, corrected int64
	var levels []any
	dest[0], dest[1], dest[2], dest[3] = &key, &incidents, &corrected, &levels
	type ivCols struct {
		n, incons, withT, within int64
		pct                      any // []any, or nil when none measured
	}
	ic := make([]ivCols, len(ivs))
	for j := range ivs {
		c := &ic[j]
		dest[4+5*j], dest[5+5*j], dest[6+5*j], dest[7+5*j], dest[8+5*j] = &c.n, &c.incons, &c.pct, &c.withT, &c.within
	}
	for rows.Next() {
		for j := range ic {
			ic[j].pct = nil
		}
		if err := rows.Scan(dest...); err != nil {
			return report.Result{}, err
		}
		in := s.groupIncident(q.GroupBy, key)
		f := report.GroupFigures{Incidents: int(incidents), Corrected: int(corrected), Intervals: make([]report.Summary, len(report.Definitions))}
		for j, i := range ivs {
			c := ic[j]
			sum := report.Summary{N: int(c.n), Missing: int(incidents - c.n - c.incons), Inconsistent: int(c.incons)}
			if l, ok := c.pct.([]any); ok && len(l) == 3 {
				p := make([]float64, 3)
				for k, v := range l {
					p[k] = v.(float64)
				}
				sum.Median, sum.P90, sum.P95 = &p[0], &p[1], &p[2]
			}
			if c.withT > 0 {
				v := 100 * float64(c.within) / float64(c.withT)
				sum.WithinTargetPct = &v
			}
			targets := make([]*int, 0, len(levels))
			for _, l := range levels {
				lv := asInt(l)
				var tg *int
				if p, ok := s.prio[lv]; ok {
					tg = report.RangeTarget(q, p, report.Definitions[i].Interval)
				}
				targets = append(targets, tg)
			}
			sum.TargetS = report.CommonTarget(targets)
			f.Intervals[i] = sum
		}
		b.AddFigures(in, f)
	}
	if err := rows.Err(); err != nil {
		return report.Result{}, err
	}
	return b.Result(), nil
}

func asInt(v any) int {
	switch x := v.(type) {
	case int16:
		return int(x)
	case int32:
		return int(x)
	case int64:
		return int(x)
	}
	panic(fmt.Sprintf("priority of type %T", v))
}

// groupIncident is an incident with the fields the grouping keys on.
func (s *olapStore) groupIncident(gb report.GroupBy, key sql.NullInt64) report.Incident {
	var in report.Incident
	switch gb {
	case report.ByPriority:
		in.Priority = int(key.Int64)
	case report.ByDistrict:
		if key.Valid {
			d := s.dists[key.Int64]
			in.DistrictCode, in.DistrictName = d.Code, d.Name
		}
	case report.BySettlement:
		if key.Valid {
			x := s.sets[key.Int64]
			in.SettlementKey, in.SettlementName, in.SettlementIDP = report.SettlementKey(x.DistrictCode, x.Name), x.Name, x.IsIDP
		}
	case report.ByType:
		x := s.types[key.Int64]
		in.TypeCode, in.TypeName = x.Code, x.Name
	case report.ByWeek:
		d := time.Unix(key.Int64*86400, 0).UTC()
		in.Received = time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, s.loc)
	case report.ByShift:
		h := 12
		if key.Int64 == 1 {
			h = 23
		}
		in.Received = time.Date(2025, 1, 1, h, 0, 0, 0, s.loc)
	}
	return in
}

// olapCell is one cell of the matrix.
type olapCell struct {
	name  string
	q     report.Query
	ivs   []int // intervals computed (the dashboard's one, or all six)
	naive bool  // also time ResponseTimesNaive and compare, at every scale
	// naiveSmall: time and compare at the small scale only.
	naiveSmall bool
}

// olapPeriod is a range of the matrix.
type olapPeriod struct {
	name     string
	from, to report.Date
}

func olapPeriods(year int, today report.Date) []olapPeriod {
	return []olapPeriod{
		{fmt.Sprintf("year %d", year), report.Date{Year: year, Month: 1, Day: 1}, report.Date{Year: year, Month: 12, Day: 31}},
		{"rolling year", today.AddDays(-364), today},
		{"last 28 days", today.AddDays(-(report.DefaultDays - 1)), today},
	}
}

// olapMatrix is issue 15's matrix: each interval alone (by priority, as
// the dashboard's headline table); all six intervals grouped each way; all
// six by priority under each filter; over each period. Filter values are
// the first district, its first settlement, the first DV type, night,
// priority 1, unit 1.
func olapMatrix(t testing.TB, s *olapStore, periods []olapPeriod, unit int64) []olapCell {
	t.Helper()
	var dist, sett, typ int64
	for _, d := range sortedKeys(s.dists) {
		dist = d
		break
	}
	for _, id := range sortedKeys(s.sets) {
		if s.sets[id].DistrictID == dist {
			sett = id
			break
		}
	}
	if len(s.dv) > 0 {
		typ = slices.Min(s.dv)
	}
	if dist == 0 || sett == 0 || typ == 0 {
		t.Fatalf("reference data lacks a district (%d), a settlement in it (%d) or a DV type (%d)", dist, sett, typ)
	}
	p1 := 1
	var out []olapCell
	for pi, p := range periods {
		base := report.Query{From: p.from, To: p.to, Location: s.loc, GroupBy: report.ByPriority}
		add := func(name string, q report.Query, ivs []int, naive, naiveSmall bool) {
			out = append(out, olapCell{name: p.name + ": " + name, q: q, ivs: ivs, naive: naive || pi == 2, naiveSmall: naiveSmall || pi == 2})
		}
		for i, d := range report.Definitions {
			add("interval "+string(d.Interval)+" (one interval, by priority)", base, []int{i}, pi == 0 && d.Interval == refdata.CallProcessing, pi == 0)
		}
		for _, g := range []report.GroupBy{report.ByPriority, report.ByDistrict, report.BySettlement, report.ByType, report.ByShift, report.ByWeek} {
			q := base
			q.GroupBy = g
			add("by "+string(g), q, allIntervals, pi == 0 && g == report.ByPriority || pi == 1 && g == report.ByDistrict, pi < 2)
		}
		filters := []struct {
			name  string
			f     report.Filters
			naive bool
		}{
			{"district", report.Filters{DistrictID: &dist}, false},
			{"settlement", report.Filters{SettlementID: &sett}, false},
			{"IDP only", report.Filters{IDPOnly: true}, false},
			{"priority 1", report.Filters{Priority: &p1}, false},
			{"type", report.Filters{TypeID: &typ}, true},
			{"shift night", report.Filters{Shift: report.NightShift}, true},
			{"unit", report.Filters{UnitID: &unit}, false},
			{"DV only", report.Filters{DVOnly: true}, false},
			{"district+type", report.Filters{DistrictID: &dist, TypeID: &typ}, false},
			{"DV only+priority 1+night", report.Filters{DVOnly: true, Priority: &p1, Shift: report.NightShift}, false},
		}
		for _, f := range filters {
			q := base
			q.Filters = f.f
			add("filter "+f.name, q, allIntervals, pi == 0 && f.naive, pi < 2)
		}
	}
	return out
}

func sortedKeys[V any](m map[int64]V) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// compareResults checks got against the naive want for intervals ivs:
// the same groups, counts, targets and within-target shares, and
// percentiles at most 1 s above. It returns the problems found.
func compareResults(got, want report.Result, ivs []int) []string {
	var errs []string
	if len(got.Groups) != len(want.Groups) {
		return []string{fmt.Sprintf("%d groups, naive %d", len(got.Groups), len(want.Groups))}
	}
	eq := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	for gi, w := range want.Groups {
		g := got.Groups[gi]
		if g.Key != w.Key || g.Label != w.Label || g.Incidents != w.Incidents || g.Corrected != w.Corrected {
			errs = append(errs, fmt.Sprintf("group %q %q %d/%d, naive %q %q %d/%d", g.Key, g.Label, g.Incidents, g.Corrected,
				w.Key, w.Label, w.Incidents, w.Corrected))
			continue
		}
		for _, i := range ivs {
			iv := report.Definitions[i].Interval
			gs, ws := g.Intervals[iv], w.Intervals[iv]
			if gs.N != ws.N || gs.Missing != ws.Missing || gs.Inconsistent != ws.Inconsistent {
				errs = append(errs, fmt.Sprintf("%s %s counts %d/%d/%d, naive %d/%d/%d", w.Key, iv, gs.N, gs.Missing, gs.Inconsistent,
					ws.N, ws.Missing, ws.Inconsistent))
			}
			for _, p := range [][2]*float64{{gs.Median, ws.Median}, {gs.P90, ws.P90}, {gs.P95, ws.P95}} {
				if (p[0] == nil) != (p[1] == nil) || p[0] != nil && !(*p[0] >= *p[1]-1e-6 && *p[0] < *p[1]+1) {
					errs = append(errs, fmt.Sprintf("%s %s percentile %v, naive %v", w.Key, iv, fptr(p[0]), fptr(p[1])))
				}
			}
			if !eq(gs.WithinTargetPct, ws.WithinTargetPct) {
				errs = append(errs, fmt.Sprintf("%s %s within target %v, naive %v", w.Key, iv, fptr(gs.WithinTargetPct), fptr(ws.WithinTargetPct)))
			}
			if (gs.TargetS == nil) != (ws.TargetS == nil) || gs.TargetS != nil && *gs.TargetS != *ws.TargetS {
				errs = append(errs, fmt.Sprintf("%s %s target %v, naive %v", w.Key, iv, gs.TargetS, ws.TargetS))
			}
		}
	}
	return errs
}

func fptr(p *float64) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatFloat(*p, 'f', 3, 64)
}

// TestBenchOLAP is the spike's benchmark; only with DVR_BENCH_OLAP=1.
func TestBenchOLAP(t *testing.T) {
	if os.Getenv("DVR_BENCH_OLAP") == "" {
		t.Skip("the OLAP spike runs with DVR_BENCH_OLAP=1")
	}
	ctx := context.Background()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("DVR_BENCH_OLAP_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	runs := envInt(t, "DVR_BENCH_OLAP_RUNS", 20)
	threads := envInt(t, "DVR_BENCH_OLAP_THREADS", 2)
	type scale struct{ label, env string }
	var scales []scale
	want := os.Getenv("DVR_BENCH_OLAP_SCALES")
	if want == "" {
		want = "1M,10M"
	}
	for _, l := range strings.Split(want, ",") {
		switch l {
		case "1M":
			scales = append(scales, scale{"1M", "DVR_BENCH_SCALE_URL_1M"})
		case "10M":
			scales = append(scales, scale{"10M", "DVR_BENCH_SCALE_URL"})
		default:
			t.Fatalf("DVR_BENCH_OLAP_SCALES: unknown scale %q", l)
		}
	}
	now := time.Now()
	today := report.DateOf(now, loc)
	periods := olapPeriods(today.Year-1, today)
	p95s := map[string]map[string]time.Duration{}
	// Lines go out as they are made (a run takes many minutes), and again
	// together at the end.
	var out strings.Builder
	b := io.MultiWriter(os.Stdout, &out)
	for _, sc := range scales {
		url := os.Getenv(sc.env)
		if url == "" {
			t.Fatalf("set %s", sc.env)
		}
		pg, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		p95s[sc.label] = map[string]time.Duration{}
		runOLAPScale(t, pg, sc.label, filepath.Join(dir, "olap-"+sc.label+".duckdb"), loc, periods, runs, threads, sc.label == scales[0].label, p95s[sc.label], b)
		pg.Close()
	}
	if len(scales) == 2 {
		a, c := scales[0].label, scales[1].label
		fmt.Fprintf(b, "\n--- growth %s → %s (p95 ratio per cell)\n", a, c)
		var worst float64
		var worstCell string
		var over100 int
		for _, name := range olapOrder {
			x, y := p95s[a][name], p95s[c][name]
			if x == 0 || y == 0 {
				continue
			}
			g := float64(y) / float64(x)
			if g > worst {
				worst, worstCell = g, name
			}
			if y > 100*time.Millisecond {
				over100++
			}
			fmt.Fprintf(b, "    %-72s %9s → %9s  x%.2f\n", name, ms(x), ms(y), g)
		}
		fmt.Fprintf(b, "    worst growth x%.2f (%s); cells over 100 ms p95 at %s: %d of %d\n", worst, worstCell, c, over100, len(olapOrder))
	}
	fmt.Printf("\n===== dvresponse OLAP spike (DuckDB) =====\n%s==========================================\n\n", out.String())
}

// olapOrder is the matrix's cell names in order, for the growth table.
var olapOrder []string

func runOLAPScale(t *testing.T, pg *postgres.DB, label, path string, loc *time.Location, periods []olapPeriod, runs, threads int, first bool,
	p95s map[string]time.Duration, b io.Writer) {
	t.Helper()
	ctx := context.Background()
	var incSize, incHeap int64
	var total int64
	if err := pg.Pool.QueryRow(ctx, `SELECT count(*), pg_total_relation_size('incidents'), pg_relation_size('incidents') FROM incidents`).
		Scan(&total, &incSize, &incHeap); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(b, "--- %s: %d incidents; incidents table %s in all (%s heap); load avg before: %s\n", label, total,
		mb(incSize), mb(incHeap), loadAvg())
	s, lt := openOLAP(ctx, t, pg, path, loc, threads, true)
	fmt.Fprintf(b, "    full load: %d rows in %.1fs (PostgreSQL → staging via appender %.1fs, sorted copy %.1fs, units %.1fs%s), %.0f rows/s\n",
		lt.rows, lt.total.Seconds(), lt.copy.Seconds(), lt.sort.Seconds(), lt.units.Seconds(),
		map[bool]string{true: fmt.Sprintf(", %d SYNTHETIC unit rows: the seed assigns none", lt.unitRows)}[lt.syntheticUnits],
		float64(lt.rows)/lt.total.Seconds())
	fmt.Fprintf(b, "    DuckDB file %s = %.1f%% of pg_total_relation_size('incidents') (%.1f%% of its heap); load avg after load: %s\n",
		mb(lt.fileSize), 100*float64(lt.fileSize)/float64(incSize), 100*float64(lt.fileSize)/float64(incHeap), loadAvg())
	olapColumnSizes(t, s, b)

	cells := olapMatrix(t, s, periods, 1)
	fmt.Fprintf(b, "    matrix: %d cells, %d runs each after 2 warm-up runs; report.Export to JSON (io.Discard) through the DuckDB Source, threads=%d\n",
		len(cells), runs, threads)
	fmt.Fprintf(b, "    %-72s %9s %9s %8s | %s\n", "cell", "median", "p95", "groups", "naive (ResponseTimesNaive, 1 run) / exact?")
	for _, c := range cells {
		src := olapOneSource{s, c.ivs}
		for range 2 {
			if err := report.Export(ctx, src, c.q, report.JSON, io.Discard); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		var ds []time.Duration
		for range runs {
			t0 := time.Now()
			if err := report.Export(ctx, src, c.q, report.JSON, io.Discard); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			ds = append(ds, time.Since(t0))
		}
		med, p95 := percentile(ds, 0.5), percentile(ds, 0.95)
		p95s[c.name] = p95
		if first {
			olapOrder = append(olapOrder, c.name)
		}
		got, err := s.query(ctx, c.q, c.ivs)
		if err != nil {
			t.Fatal(err)
		}
		naive := ""
		if lt.syntheticUnits && c.q.UnitID != nil {
			naive = "(synthetic units in DuckDB only: not compared)"
		} else if c.naive || first && c.naiveSmall {
			t0 := time.Now()
			want, err := pg.ResponseTimesNaive(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(t0)
			errs := compareResults(got, want, c.ivs)
			verdict := "exact"
			if len(errs) > 0 {
				verdict = fmt.Sprintf("DIFFERS (%d): %s", len(errs), strings.Join(errs[:min(3, len(errs))], "; "))
				t.Errorf("%s %s: %s", label, c.name, verdict)
			}
			naive = fmt.Sprintf("%9s  %s", ms(took), verdict)
		}
		fmt.Fprintf(b, "    %-72s %9s %9s %8d | %s\n", c.name, ms(med), ms(p95), len(got.Groups), naive)
	}
	fmt.Fprintf(b, "    load avg after matrix: %s\n", loadAvg())
	olapSync(t, pg, s, b)
}

// olapOneSource is the store computing only some intervals.
type olapOneSource struct {
	s   *olapStore
	ivs []int
}

func (o olapOneSource) ResponseTimes(ctx context.Context, q report.Query) (report.Result, error) {
	return o.s.query(ctx, q, o.ivs)
}

// olapColumnSizes prints the compressed size per column.
func olapColumnSizes(t *testing.T, s *olapStore, b io.Writer) {
	t.Helper()
	rows, err := s.db.Query(`SELECT column_name, count(DISTINCT block_id) * 262144, list(DISTINCT compression ORDER BY compression)
		FROM pragma_storage_info('fact') GROUP BY column_name ORDER BY 2 DESC`)
	if err != nil {
		fmt.Fprintf(b, "    (storage info: %v)\n", err)
		return
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var name string
		var size int64
		var comp []any
		if err := rows.Scan(&name, &size, &comp); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s ≤%s", name, mb(size)))
	}
	fmt.Fprintf(b, "    fact blocks touched per column (blocks are shared, so an upper bound): %s\n", strings.Join(parts, ", "))
}

// olapSync measures keeping the copy fresh: finding changed rows in
// PostgreSQL by updated_at (no index on it today), and applying a change
// set of n incidents (fetched by id, as a change log would give them) in
// one DuckDB transaction.
func olapSync(t *testing.T, pg *postgres.DB, s *olapStore, b io.Writer) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now()
	var changed int64
	if err := pg.Pool.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE updated_at > now() - interval '5 seconds'`).Scan(&changed); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(b, "    sync: finding rows by updated_at > watermark (no index on updated_at): %s (%d rows)\n", ms(time.Since(t0)), changed)

	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustExec(t, conn, strings.Replace(fmt.Sprintf(olapFactDDL, "chg"), "CREATE TABLE", "CREATE TEMP TABLE", 1))
	var ids []int64
	rows, err := pg.Pool.Query(ctx, `SELECT id FROM incidents WHERE received_at > now() - interval '3 days'`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var before int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM fact`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10, 1000} {
		if len(ids) < n {
			fmt.Fprintf(b, "    sync of %d changed incidents: only %d recent incidents, skipped\n", n, len(ids))
			continue
		}
		var fetch, apply, all []time.Duration
		for range 20 {
			r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			set := ids[:n]
			t0 := time.Now()
			mustExec(t, conn, `DELETE FROM temp.chg`)
			got := appendFacts(ctx, t, conn, pg, "temp", "chg", olapSelect+` WHERE id = ANY($1)`, []any{set}, s.loc)
			t1 := time.Now()
			if got != int64(n) {
				t.Fatalf("fetched %d of %d changed incidents", got, n)
			}
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM fact WHERE id IN (SELECT id FROM temp.chg)`); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO fact SELECT * FROM temp.chg`); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			t2 := time.Now()
			fetch, apply, all = append(fetch, t1.Sub(t0)), append(apply, t2.Sub(t1)), append(all, t2.Sub(t0))
		}
		fmt.Fprintf(b, "    sync of %4d changed incidents (20 runs): fetch from PostgreSQL by id median %s p95 %s; apply in DuckDB (delete+insert, one tx) median %s p95 %s; total median %s p95 %s\n",
			n, ms(percentile(fetch, 0.5)), ms(percentile(fetch, 0.95)), ms(percentile(apply, 0.5)), ms(percentile(apply, 0.95)),
			ms(percentile(all, 0.5)), ms(percentile(all, 0.95)))
	}
	var after int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM fact`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("fact has %d rows after the syncs, %d before", after, before)
	}
	// What the re-appended rows (now out of received_at order) cost a
	// query: the rolling year by priority again.
	q := report.Query{Location: s.loc, GroupBy: report.ByPriority, From: report.DateOf(time.Now(), s.loc).AddDays(-364), To: report.DateOf(time.Now(), s.loc)}
	var ds []time.Duration
	for range 10 {
		t0 := time.Now()
		if _, err := s.query(ctx, q, allIntervals); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	t0 = time.Now()
	mustExec(t, conn, `CHECKPOINT`)
	fmt.Fprintf(b, "    after the syncs: rolling year by priority median %s p95 %s; CHECKPOINT %s\n", ms(percentile(ds, 0.5)), ms(percentile(ds, 0.95)), ms(time.Since(t0)))
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ") + fmt.Sprintf(" (%d CPUs)", runtime.NumCPU())
}

// TestBenchOLAPSmoke checks every cell of the matrix against
// ResponseTimesNaive on a small database whose incidents have stages
// missing and out of order, corrections, units, and a priority whose
// targets change inside the ranges.
func TestBenchOLAPSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a database; skipped with -short")
	}
	ctx := context.Background()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.URL(t)
	pg, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	if err := seed.Scale(ctx, pg, loc, seed.ScaleOptions{Incidents: 6000, Years: 2}, io.Discard); err != nil {
		t.Fatal(err)
	}
	today := report.DateOf(time.Now(), loc)
	changeDay := today.AddDays(-10)
	for _, q := range []string{
		// Out of order and missing stages, corrections.
		`UPDATE incidents SET dispatched_at = received_at - interval '3.5 seconds' WHERE id % 13 = 0`,
		`UPDATE incidents SET on_scene_at = en_route_at - interval '0.4 seconds' WHERE id % 17 = 0 AND en_route_at IS NOT NULL`,
		`UPDATE incidents SET cleared_at = NULL WHERE id % 11 = 0`,
		`UPDATE incidents SET corrections = 1 WHERE id % 7 = 0`,
		// Durations of exactly a target and just above it.
		`UPDATE incidents SET on_scene_at = received_at + interval '600 seconds' WHERE id % 19 = 0 AND priority = 1`,
		`UPDATE incidents SET on_scene_at = received_at + interval '600.000001 seconds' WHERE id % 23 = 0 AND priority = 1`,
		// Units: each of three units on some incidents, some on two.
		`INSERT INTO incident_units (incident_id, unit_id, assigned_at)
		 SELECT i.id, u.id, i.received_at FROM incidents i JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM units) u
		 ON u.n <= 3 AND (i.id + u.n) % 4 = 0`,
		// Priority 1's targets change ten days ago (and in the calendar year).
		fmt.Sprintf(`INSERT INTO priority_targets (level, effective_from, target_call_processing_s, target_turnout_s, target_travel_s, target_response_s)
		 VALUES (1, DATE '%s', 30, 45, 300, 420), (1, DATE '%d-06-01', 50, 60, 400, 500)`, changeDay, today.Year-1),
	} {
		if _, err := pg.Pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var unit int64
	if err := pg.Pool.QueryRow(ctx, `SELECT min(unit_id) FROM incident_units`).Scan(&unit); err != nil {
		t.Fatal(err)
	}
	s, lt := openOLAP(ctx, t, pg, filepath.Join(t.TempDir(), "olap.duckdb"), loc, 2, false)
	if lt.rows != 6000 {
		t.Fatalf("loaded %d incidents, want 6000", lt.rows)
	}
	periods := olapPeriods(today.Year-1, today)
	periods = append(periods, olapPeriod{"across years", report.Date{Year: today.Year - 1, Month: 12, Day: 20}, report.Date{Year: today.Year, Month: 1, Day: 10}})
	cells := olapMatrix(t, s, periods, unit)
	for _, c := range cells {
		got, err := s.query(ctx, c.q, c.ivs)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want, err := pg.ResponseTimesNaive(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if errs := compareResults(got, want, c.ivs); len(errs) > 0 {
			t.Errorf("%s: %d differences, e.g. %s", c.name, len(errs), strings.Join(errs[:min(3, len(errs))], "; "))
		}
	}
	// The sync path runs (its figures mean little at this size).
	var sync strings.Builder
	olapSync(t, pg, s, &sync)
	t.Log(sync.String())
}
