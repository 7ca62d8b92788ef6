package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// The dashboard's figures beyond the response-time report (report.Source):
// the chosen interval by the victim's sex and age band and by hour of day
// and day of week, the slowest incidents of the period, the incidents open
// right now past a target, and the referrals, danger screens and
// protection orders of the period's incidents.
//
// Every query selects the incidents of a report.Query exactly as the
// report does (reportFilter): received in q.Range(), passing every filter,
// the shift by the local hour of received_at in q.Location. Percentiles
// are PostgreSQL's percentile_cont, which is report.Percentile's linear
// interpolation; an incident lacking either stage of the interval, or
// with them out of order, is counted as such and left out of the figures,
// as the report does; the share within target compares each measured
// incident with its own priority's current target.

// DashboardOptions is what the dashboard asks besides the query.
type DashboardOptions struct {
	Interval  refdata.Interval // of the breakdowns, the grid and the slowest list; default response
	Now       time.Time        // the instant "open right now" is judged at; default the database's clock
	Slowest   int              // how many slowest incidents to list; default 10
	OpenLimit int              // at most this many open incidents past target to list; default 50
	// Breakdowns, when set, are computed elsewhere (the report store,
	// internal/facts): DashboardExtras then reads neither the breakdowns
	// nor the slowest list's durations from the incidents of the range.
	Breakdowns *DashboardBreakdowns
	// Actions, when set, are the referral, screen and order counts computed
	// elsewhere (the report store; Incidents is taken from the breakdowns).
	Actions *ActionCounts
}

// DashboardBreakdowns are All, BySex, ByAgeBand and ByHour as
// DashboardFigures defines them, and the incidents the slowest list is
// chosen among: every one that can be on it.
type DashboardBreakdowns struct {
	All          DashboardGroup
	BySex        []DashboardGroup
	ByAgeBand    []DashboardGroup
	ByHour       []DashboardCell
	SlowestAmong []int64
}

// DashboardGroup is one group's figures for the interval: how many
// incidents it holds and the interval's summary over them.
type DashboardGroup struct {
	Key       string // see DashboardFigures
	Incidents int
	report.Summary
}

// DashboardCell is the figures of the incidents received in one hour of
// one day of the week (local time).
type DashboardCell struct {
	Weekday int // ISO: 1 Monday … 7 Sunday
	Hour    int // 0–23
	DashboardGroup
}

// Place is where an incident happened, as lists show it: district and
// settlement, never the address.
type Place struct {
	DistrictCode   string // "" when none
	DistrictName   string
	SettlementName string // "" when none
	SettlementIDP  bool
}

// SlowIncident is one of the slowest incidents of the period for the
// interval: what a list may show, no names, phones or addresses.
type SlowIncident struct {
	ID       int64
	Number   string
	Received time.Time
	Priority int
	TypeID   int64
	TypeName string
	TypeDV   bool
	Place
	Seconds float64 // the interval's duration
	TargetS *int    // the priority's target for the interval, if any
}

// Overdue is an interval of an open incident that has run past its
// priority's target.
type Overdue struct {
	Interval refdata.Interval
	Elapsed  time.Duration // since the interval's first stage, at DashboardOptions.Now
	TargetS  int
}

// Over is how far past the target the interval is.
func (o Overdue) Over() time.Duration { return o.Elapsed - time.Duration(o.TargetS)*time.Second }

// OpenIncident is an incident open right now with the intervals that are
// past their targets, most overrun first.
type OpenIncident struct {
	ID       int64
	Number   string
	Received time.Time
	Priority int
	TypeID   int64
	TypeName string
	TypeDV   bool
	Place
	Stage   incident.Stage
	Overdue []Overdue
}

// ActionCounts are the dashboard's counts of referrals, danger screens
// and protection orders (report.ActionCounts).
type ActionCounts = report.ActionCounts

// DashboardFigures is DashboardExtras's answer.
type DashboardFigures struct {
	Interval refdata.Interval
	// All is every incident of the query: the groups below add up to it.
	All DashboardGroup
	// BySex has a group per victim's sex recorded (female, male, other,
	// in that order) and "" for not recorded; only groups with incidents.
	BySex []DashboardGroup
	// ByAgeBand has a group per report.AgeBands key, in order, and "" for not
	// recorded; only groups with incidents.
	ByAgeBand []DashboardGroup
	// ByHour has a cell per hour and day of the week with incidents,
	// ordered by day and hour.
	ByHour  []DashboardCell
	Slowest []SlowIncident
	// Open lists the incidents open right now that pass the query's
	// filters (whenever received: the dates do not apply) and have an
	// interval past target, most overrun first, at most OpenLimit;
	// OpenPastTarget counts them all and OpenChecked counts the open
	// incidents looked at.
	Open           []OpenIncident
	OpenPastTarget int
	OpenChecked    int
	Actions        ActionCounts
}

// stageColumns are the incidents' columns of the stages.
var stageColumns = map[incident.Stage]string{
	incident.Received: "received_at", incident.Dispatched: "dispatched_at", incident.EnRoute: "en_route_at",
	incident.OnScene: "on_scene_at", incident.Cleared: "cleared_at",
}

// intervalSQL gives, for interval iv, the SQL of its start and end
// columns (of incidents i) and of its target column: that of the periods
// pt of targetPeriodsSQL, the target in force when the incident was
// received.
func intervalSQL(iv refdata.Interval) (from, to, target string, err error) {
	d, ok := report.DefinitionOf(iv)
	if !ok {
		return "", "", "", apperr.New(apperr.Invalid, "dashboard.err.interval")
	}
	return "i." + stageColumns[d.From], "i." + stageColumns[d.To], "pt.target_" + string(iv) + "_s", nil
}

// targetPeriodsSQL is a join of incidents i to the period of their
// priority's targets in force when they were received (priority_targets,
// migration 0019; local days in zone tz, a placeholder), as pt: a hash
// join on the level with a range check, far cheaper per incident than a
// lookup each.
func targetPeriodsSQL(tz string) string {
	return `LEFT JOIN (SELECT *, CASE WHEN effective_from = '-infinity' THEN '-infinity'::timestamptz
			ELSE effective_from::timestamp AT TIME ZONE ` + tz + ` END AS start_at,
		coalesce((lead(effective_from) OVER (PARTITION BY level ORDER BY effective_from))::timestamp AT TIME ZONE ` + tz + `,
			'infinity'::timestamptz) AS end_at
		FROM priority_targets) pt ON pt.level = i.priority AND i.received_at >= pt.start_at AND i.received_at < pt.end_at`
}

// rangeTargetsSQL joins incidents i to their priority's target of iv over
// q's whole range as rt.t (-1 when it changed within the range; see
// report.RangeTarget), for the common target of a group.
func rangeTargetsSQL(ctx context.Context, tx pgx.Tx, q report.Query, iv refdata.Interval, args *sqlArgs) (string, error) {
	rows, err := tx.Query(ctx, prioritySelect)
	if err != nil {
		return "", err
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (refdata.Priority, error) { return scanPriority(r) })
	if err != nil {
		return "", err
	}
	if err := addTargetHistory(ctx, tx, ps); err != nil {
		return "", err
	}
	levels, targets := make([]int32, len(ps)), make([]*int32, len(ps))
	first := refdata.Day(q.From.Year, q.From.Month, q.From.Day)
	last := refdata.Day(q.To.Year, q.To.Month, q.To.Day)
	for i, p := range ps {
		levels[i] = int32(p.Level)
		switch t, same := p.TargetOver(iv, first, last); {
		case !same:
			targets[i] = new(int32(-1))
		case t != nil:
			targets[i] = new(int32(*t))
		}
	}
	return `LEFT JOIN unnest(` + args.add(levels) + `::integer[], ` + args.add(targets) + `::integer[]) rt(level, t)
		ON rt.level = i.priority`, nil
}

// sqlArgs collects the arguments of a statement.
type sqlArgs []any

// add appends v and returns its placeholder.
func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// zoneName is the name PostgreSQL knows loc by: an IANA name, as
// config.FromEnv loads (time.LoadLocation), or UTC.
func zoneName(loc *time.Location) (string, error) {
	if loc == nil {
		return "UTC", nil
	}
	name := loc.String()
	if name == "" || name == "Local" {
		return "", fmt.Errorf("postgres: time zone %q has no IANA name for PostgreSQL", name)
	}
	return name, nil
}

// reportFilter is the one selection of a report's incidents in SQL, for
// every dashboard query: the conditions (on incidents i) that hold for an
// incident received in q.Range() that passes every filter of q, exactly
// as DB.ResponseTimes selects them. Without withRange the dates are left
// out (incidents open now). The shift is by the local hour of received_at
// in q.Location: day from report.DayStartHour to report.NightStartHour,
// as report.ShiftOf.
func reportFilter(q report.Query, args *sqlArgs, withRange bool) (string, error) {
	var where []string
	if withRange {
		start, end := q.Range()
		where = append(where, "i.received_at >= "+args.add(start), "i.received_at < "+args.add(end))
	}
	if q.DistrictID != nil {
		where = append(where, "i.district_id = "+args.add(*q.DistrictID))
	}
	if q.SettlementID != nil {
		where = append(where, "i.settlement_id = "+args.add(*q.SettlementID))
	}
	if q.IDPOnly {
		where = append(where, "EXISTS (SELECT 1 FROM settlements fs WHERE fs.id = i.settlement_id AND fs.is_idp)")
	}
	if q.Priority != nil {
		where = append(where, "i.priority = "+args.add(*q.Priority))
	}
	if q.TypeID != nil {
		where = append(where, "i.type_id = "+args.add(*q.TypeID))
	}
	if q.DVOnly {
		where = append(where, "EXISTS (SELECT 1 FROM incident_types ft WHERE ft.id = i.type_id AND ft.is_dv)")
	}
	if q.UnitID != nil {
		where = append(where, "EXISTS (SELECT 1 FROM incident_units fu WHERE fu.incident_id = i.id AND fu.unit_id = "+args.add(*q.UnitID)+")")
	}
	if q.Shift != "" {
		zone, err := zoneName(q.Location)
		if err != nil {
			return "", err
		}
		hour := "extract(hour FROM i.received_at AT TIME ZONE " + args.add(zone) + ")"
		day := hour + " >= " + strconv.Itoa(report.DayStartHour) + " AND " + hour + " < " + strconv.Itoa(report.NightStartHour)
		switch q.Shift {
		case report.DayShift:
			where = append(where, "("+day+")")
		case report.NightShift:
			where = append(where, "NOT ("+day+")")
		default:
			return "", apperr.New(apperr.Invalid, "report.err.shift")
		}
	}
	if len(where) == 0 {
		return "true", nil
	}
	return strings.Join(where, " AND "), nil
}

// DashboardExtras computes the dashboard's figures beyond the report for
// query q (valid, as for report.Source) in one read-only snapshot.
func (db *DB) DashboardExtras(ctx context.Context, q report.Query, opt DashboardOptions) (DashboardFigures, error) {
	if err := q.Validate(); err != nil {
		return DashboardFigures{}, err
	}
	if opt.Interval == "" {
		opt.Interval = refdata.Response
	}
	if opt.Slowest <= 0 {
		opt.Slowest = 10
	}
	if opt.OpenLimit <= 0 {
		opt.OpenLimit = 50
	}
	fig := DashboardFigures{Interval: opt.Interval}
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if opt.Now.IsZero() {
			if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&opt.Now); err != nil {
				return err
			}
		}
		if b := opt.Breakdowns; b != nil {
			fig.All, fig.BySex, fig.ByAgeBand, fig.ByHour = b.All, b.BySex, b.ByAgeBand, b.ByHour
		} else if err := breakdowns(ctx, tx, q, opt, &fig); err != nil {
			return err
		}
		if err := slowest(ctx, tx, q, opt, &fig); err != nil {
			return err
		}
		if err := openPastTarget(ctx, tx, q, opt, &fig); err != nil {
			return err
		}
		if opt.Actions != nil {
			fig.Actions = *opt.Actions
			fig.Actions.Incidents = fig.All.Incidents
			return nil
		}
		return actionCounts(ctx, tx, q, &fig)
	})
	if err != nil {
		return DashboardFigures{}, mapErr(err, "")
	}
	return fig, nil
}

// Grouping-set ids of breakdowns: GROUPING(sex, band, dow, hour) is a bit
// mask of the columns left out of the set, sex the highest.
const (
	setSex  = 0b0111
	setBand = 0b1011
	setHour = 0b1100
	setAll  = 0b1111
)

// breakdowns computes All, BySex, ByAgeBand and ByHour in one pass.
func breakdowns(ctx context.Context, tx pgx.Tx, q report.Query, opt DashboardOptions, fig *DashboardFigures) error {
	from, to, target, err := intervalSQL(opt.Interval)
	if err != nil {
		return err
	}
	zone, err := zoneName(q.Location)
	if err != nil {
		return err
	}
	var args sqlArgs
	where, err := reportFilter(q, &args, true)
	if err != nil {
		return err
	}
	tz := args.add(zone)
	rangeJoin, err := rangeTargetsSQL(ctx, tx, q, opt.Interval, &args)
	if err != nil {
		return err
	}
	var band strings.Builder
	band.WriteString("CASE WHEN i.victim_age IS NULL THEN ''")
	for _, b := range report.AgeBands {
		fmt.Fprintf(&band, " WHEN i.victim_age BETWEEN %d AND %d THEN '%s'", b.From, b.To, b.Key)
	}
	band.WriteString(" ELSE '' END")
	sql := `WITH sel AS (
		SELECT CASE WHEN ` + from + ` IS NULL OR ` + to + ` IS NULL THEN 1 WHEN ` + to + ` < ` + from + ` THEN 2 ELSE 0 END AS st,
			extract(epoch FROM ` + to + ` - ` + from + `)::float8 AS secs,
			` + target + ` AS target, rt.t AS rtarget,
			coalesce(i.victim_sex, '') AS sex,
			` + band.String() + ` AS band,
			extract(isodow FROM i.received_at AT TIME ZONE ` + tz + `)::int AS dow,
			extract(hour FROM i.received_at AT TIME ZONE ` + tz + `)::int AS hour
		FROM incidents i ` + targetPeriodsSQL(tz) + `
			` + rangeJoin + `
		WHERE ` + where + `)
	SELECT GROUPING(sex, band, dow, hour), coalesce(sex, ''), coalesce(band, ''), coalesce(dow, 0), coalesce(hour, 0),
		count(*), count(*) FILTER (WHERE st = 0), count(*) FILTER (WHERE st = 1), count(*) FILTER (WHERE st = 2),
		percentile_cont(ARRAY[0.5, 0.9, 0.95]::float8[]) WITHIN GROUP (ORDER BY secs) FILTER (WHERE st = 0),
		count(*) FILTER (WHERE st = 0 AND target IS NOT NULL),
		count(*) FILTER (WHERE st = 0 AND target IS NOT NULL AND secs <= target),
		CASE WHEN count(rtarget) = count(*) AND min(rtarget) = max(rtarget) AND min(rtarget) >= 0 THEN min(rtarget) END
	FROM sel
	GROUP BY GROUPING SETS ((sex), (band), (dow, hour), ())`
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	sexes, bands := map[string]DashboardGroup{}, map[string]DashboardGroup{}
	fig.All = DashboardGroup{Key: "all"}
	for rows.Next() {
		var set, dow, hour, withTarget, within int
		var sex, bandKey string
		var g DashboardGroup
		var pcts []float64
		var common *int
		if err := rows.Scan(&set, &sex, &bandKey, &dow, &hour, &g.Incidents, &g.N, &g.Missing, &g.Inconsistent, &pcts,
			&withTarget, &within, &common); err != nil {
			return err
		}
		if len(pcts) == 3 {
			g.Median, g.P90, g.P95 = &pcts[0], &pcts[1], &pcts[2]
		}
		g.TargetS = common
		if withTarget > 0 {
			v := 100 * float64(within) / float64(withTarget)
			g.WithinTargetPct = &v
		}
		switch set {
		case setSex:
			g.Key = sex
			sexes[sex] = g
		case setBand:
			g.Key = bandKey
			bands[bandKey] = g
		case setHour:
			g.Key = fmt.Sprintf("%d-%02d", dow, hour)
			fig.ByHour = append(fig.ByHour, DashboardCell{Weekday: dow, Hour: hour, DashboardGroup: g})
		case setAll:
			g.Key = "all"
			fig.All = g
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range append(slices.Clone(report.Sexes), "") {
		if g, ok := sexes[k]; ok {
			fig.BySex = append(fig.BySex, g)
		}
	}
	for _, b := range report.AgeBands {
		if g, ok := bands[b.Key]; ok {
			fig.ByAgeBand = append(fig.ByAgeBand, g)
		}
	}
	if g, ok := bands[""]; ok {
		fig.ByAgeBand = append(fig.ByAgeBand, g)
	}
	slices.SortFunc(fig.ByHour, func(a, b DashboardCell) int {
		if a.Weekday != b.Weekday {
			return a.Weekday - b.Weekday
		}
		return a.Hour - b.Hour
	})
	return nil
}

// placeColumns are the columns of Place, for the joins of placeJoins.
const (
	placeColumns = `coalesce(d.code, ''), coalesce(d.name, ''), coalesce(s.name, ''), coalesce(s.is_idp, false)`
	placeJoins   = `JOIN incident_types t ON t.id = i.type_id
		JOIN priorities p ON p.level = i.priority
		LEFT JOIN districts d ON d.id = i.district_id
		LEFT JOIN settlements s ON s.id = i.settlement_id`
)

// slowest lists the incidents with the longest measured interval. The
// order is that of the partial indexes incidents_slow_*_idx (0009), so that
// PostgreSQL walks the longest durations first and stops at the limit
// instead of sorting the period's incidents.
func slowest(ctx context.Context, tx pgx.Tx, q report.Query, opt DashboardOptions, fig *DashboardFigures) error {
	from, to, target, err := intervalSQL(opt.Interval)
	if err != nil {
		return err
	}
	zone, err := zoneName(q.Location)
	if err != nil {
		return err
	}
	var args sqlArgs
	where, err := reportFilter(q, &args, true)
	if err != nil {
		return err
	}
	if b := opt.Breakdowns; b != nil {
		if len(b.SlowestAmong) == 0 {
			return nil
		}
		where += " AND i.id = ANY(" + args.add(b.SlowestAmong) + ")"
	}
	sql := `SELECT i.id, i.number, i.received_at, i.priority, i.type_id, t.name, t.is_dv, ` + placeColumns + `,
			extract(epoch FROM ` + to + ` - ` + from + `)::float8 AS secs, ` + target + `
		FROM incidents i ` + placeJoins + `
		` + targetPeriodsSQL(args.add(zone)) + `
		WHERE ` + where + ` AND ` + to + ` >= ` + from + `
		ORDER BY extract(epoch FROM ` + to + ` - ` + from + `)::float8 DESC, i.id
		LIMIT ` + args.add(opt.Slowest)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s SlowIncident
		if err := rows.Scan(&s.ID, &s.Number, &s.Received, &s.Priority, &s.TypeID, &s.TypeName, &s.TypeDV, &s.DistrictCode,
			&s.DistrictName, &s.SettlementName, &s.SettlementIDP, &s.Seconds, &s.TargetS); err != nil {
			return err
		}
		fig.Slowest = append(fig.Slowest, s)
	}
	return rows.Err()
}

// openPastTarget finds the open incidents (cleared_at not recorded) that
// pass the query's filters and have run past a target: the interval of
// their current stage (what the live board times), the response while no
// unit is on scene, and the total.
func openPastTarget(ctx context.Context, tx pgx.Tx, q report.Query, opt DashboardOptions, fig *DashboardFigures) error {
	var args sqlArgs
	where, err := reportFilter(q, &args, false)
	if err != nil {
		return err
	}
	var targetCols []string
	for _, iv := range refdata.Intervals {
		targetCols = append(targetCols, "p.target_"+string(iv)+"_s")
	}
	sql := `SELECT i.id, i.number, i.received_at, i.dispatched_at, i.en_route_at, i.on_scene_at, i.priority, i.type_id, t.name, t.is_dv,
			` + placeColumns + `, ` + strings.Join(targetCols, ", ") + `
		FROM incidents i ` + placeJoins + `
		WHERE i.cleared_at IS NULL AND ` + where
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o OpenIncident
		var st incident.Times
		targets := make([]*int, len(refdata.Intervals))
		dest := []any{&o.ID, &o.Number, &o.Received, &st.Dispatched, &st.EnRoute, &st.OnScene, &o.Priority, &o.TypeID,
			&o.TypeName, &o.TypeDV, &o.DistrictCode, &o.DistrictName, &o.SettlementName, &o.SettlementIDP}
		for i := range targets {
			dest = append(dest, &targets[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fig.OpenChecked++
		target := map[refdata.Interval]*int{}
		for i, iv := range refdata.Intervals {
			target[iv] = targets[i]
		}
		o.Stage = incident.StageOf(st.Dispatched, st.EnRoute, st.OnScene, nil)
		o.Overdue = overdue(o.Stage, o.Received, st, target, opt.Now)
		if len(o.Overdue) > 0 {
			fig.Open = append(fig.Open, o)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	slices.SortFunc(fig.Open, func(a, b OpenIncident) int {
		if c := b.Overdue[0].Over() - a.Overdue[0].Over(); c != 0 {
			if c > 0 {
				return 1
			}
			return -1
		}
		return int(a.ID - b.ID)
	})
	fig.OpenPastTarget = len(fig.Open)
	if len(fig.Open) > opt.OpenLimit {
		fig.Open = fig.Open[:opt.OpenLimit]
	}
	return nil
}

// overdue lists the intervals of an open incident past their targets at
// now, most overrun first: its current stage's interval, the response
// while no unit is on scene, and the total.
func overdue(stage incident.Stage, received time.Time, st incident.Times, target map[refdata.Interval]*int, now time.Time) []Overdue {
	var out []Overdue
	check := func(iv refdata.Interval, since time.Time) {
		t := target[iv]
		if t == nil || slices.ContainsFunc(out, func(o Overdue) bool { return o.Interval == iv }) {
			return
		}
		if elapsed := now.Sub(since); elapsed > time.Duration(*t)*time.Second {
			out = append(out, Overdue{Interval: iv, Elapsed: elapsed, TargetS: *t})
		}
	}
	stageStart := map[incident.Stage]*time.Time{incident.Received: &received, incident.Dispatched: st.Dispatched,
		incident.EnRoute: st.EnRoute, incident.OnScene: st.OnScene}[stage]
	if iv := refdata.Interval(incident.StageInterval(stage)); iv != "" && stageStart != nil {
		check(iv, *stageStart)
	}
	if st.OnScene == nil {
		check(refdata.Response, received)
	}
	check(refdata.Total, received)
	slices.SortStableFunc(out, func(a, b Overdue) int {
		switch {
		case a.Over() > b.Over():
			return -1
		case a.Over() < b.Over():
			return 1
		}
		return 0
	})
	return out
}

// actionCounts counts the referrals, danger screens and protection orders
// of the query's incidents: from the action tables, each joined to its
// incident (few actions per period; the period's incidents are not
// read), and the incidents themselves from the breakdowns (fig.All: the
// same selection in the same snapshot), so they are not counted twice.
func actionCounts(ctx context.Context, tx pgx.Tx, q report.Query, fig *DashboardFigures) error {
	var args sqlArgs
	where, err := reportFilter(q, &args, true)
	if err != nil {
		return err
	}
	count := args.add(fig.All.Incidents) + `::bigint`
	sql := `WITH r AS (SELECT count(*) AS n, count(*) FILTER (WHERE r.accepted_at IS NOT NULL) AS accepted,
			count(DISTINCT r.incident_id) AS incidents FROM referrals r JOIN incidents i ON i.id = r.incident_id WHERE ` + where + `),
		ds AS (SELECT count(*) AS n, count(DISTINCT ds.incident_id) AS incidents,
			count(DISTINCT ds.incident_id) FILTER (WHERE ds.high_danger) AS high
			FROM danger_screens ds JOIN incidents i ON i.id = ds.incident_id WHERE ` + where + `),
		po AS (SELECT count(*) AS n, count(DISTINCT po.incident_id) AS incidents
			FROM protection_orders po JOIN incidents i ON i.id = po.incident_id WHERE ` + where + `)
	SELECT ` + count + `, r.n, r.accepted, r.incidents, ds.n, ds.incidents, ds.high, po.n, po.incidents
	FROM r, ds, po`
	a := &fig.Actions
	return tx.QueryRow(ctx, sql, args...).Scan(&a.Incidents, &a.Referrals, &a.ReferralsAccepted, &a.IncidentsReferred,
		&a.Screens, &a.IncidentsScreened, &a.IncidentsHighRisk, &a.Orders, &a.IncidentsWithOrder)
}
