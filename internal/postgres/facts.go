package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/report"
)

// The reporting engine's feed (facts.Feed): its rows and the change log
// report_changes (migration 0026) that keeps them current.

var _ facts.Feed = (*DB)(nil)

// maxFactChanges is how many change-log rows FactChanges returns at most;
// past it, it asks for a full load instead: reading a few hundred thousand
// incidents again one by one is no faster than loading them all.
const maxFactChanges = 200_000

// factsSQL reads the columns of facts.Row; the NULLs the row has no room
// for are mapped here, the stamps stay NULL (Missing).
const factsSQL = `SELECT id, received_at, dispatched_at, en_route_at, on_scene_at, cleared_at,
	priority, coalesce(district_id, 0), coalesce(settlement_id, 0), type_id, corrections > 0,
	coalesce(victim_sex, ''), coalesce(victim_age, -1), source = 'import',
	protection_order_id IS NOT NULL, violation_found_by IS NOT DISTINCT FROM 'police_check'
FROM incidents`

// factUnitsSQL reads the units of incidents, in the order of factsSQL's
// rows (a unit assigned twice counts once).
const factUnitsSQL = `SELECT DISTINCT incident_id, unit_id FROM incident_units`

// factGapsSQL gives, for each incident whose victim is linked to a person
// with an earlier DV incident, the seconds since her latest strictly
// earlier one, rounded up (facts.Row.RepeatGap): what
// RepeatRatesMulti's "prev" measures. Only DV incidents are counted as
// previous ones; the incidents given are those of every type.
const factGapsSQL = `SELECT incident_id, ceil(extract(epoch FROM received_at - prev))::int8 FROM (
	SELECT ip.incident_id, i.received_at, max(i.received_at) FILTER (WHERE t.is_dv) OVER (PARTITION BY ip.person_id
		ORDER BY i.received_at RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond' PRECEDING) AS prev
	FROM incident_persons ip
	JOIN incidents i ON i.id = ip.incident_id
	JOIN incident_types t ON t.id = i.type_id
	WHERE ip.role = 'victim') g
WHERE prev IS NOT NULL`

// factGapsOfSQL gives the same for the incidents $1 only: each one's
// previous DV incident found by the person index.
const factGapsOfSQL = `SELECT b.incident_id, ceil(extract(epoch FROM bi.received_at - (
		SELECT max(j.received_at) FROM incident_persons x
		JOIN incidents j ON j.id = x.incident_id
		JOIN incident_types jt ON jt.id = j.type_id AND jt.is_dv
		WHERE x.person_id = b.person_id AND x.role = 'victim' AND j.received_at < bi.received_at)))::int8 AS gap
	FROM incident_persons b JOIN incidents bi ON bi.id = b.incident_id
	WHERE b.role = 'victim' AND b.incident_id = ANY($1)`

// factActionsSQL gives, for each incident with any, its referrals (and
// how many were accepted), danger screens (and whether one found high
// danger) and protection orders (facts.Row.Actions), in order of incident;
// %[1]s and %[2]s narrow each table's rows (WHERE …, AND …).
const factActionsSQL = `SELECT incident_id, sum(refs)::int4, sum(acc)::int4, sum(scr)::int4, bool_or(high), sum(ord)::int4 FROM (
	SELECT incident_id, 1 AS refs, (accepted_at IS NOT NULL)::int AS acc, 0 AS scr, false AS high, 0 AS ord FROM referrals%[1]s
	UNION ALL SELECT incident_id, 0, 0, 1, high_danger, 0 FROM danger_screens%[1]s
	UNION ALL SELECT incident_id, 0, 0, 0, false, 1 FROM protection_orders WHERE incident_id IS NOT NULL%[2]s) a
GROUP BY incident_id ORDER BY incident_id`

// factActs is one incident's actions.
type factActs struct {
	id int64
	a  facts.Actions
}

// readActs reads the rows of factActionsSQL.
func readActs(rows pgx.Rows) ([]factActs, error) {
	var out []factActs
	var x factActs
	_, err := pgx.ForEachRow(rows, []any{&x.id, &x.a.Referrals, &x.a.ReferralsAccepted, &x.a.Screens, &x.a.HighDanger, &x.a.Orders},
		func() error {
			out = append(out, x)
			return nil
		})
	return out, err
}

// readPairs reads the (incident, value) rows of a query, in its order;
// a NULL value leaves its row out.
func readPairs(rows pgx.Rows) ([][2]int64, error) {
	var out [][2]int64
	var id int64
	var v pgtype.Int8 // no allocation per row: millions of them at a full load
	_, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
		if v.Valid {
			out = append(out, [2]int64{id, v.Int64})
		}
		return nil
	})
	return out, err
}

// LoadFacts calls fn for every incident, in order of id, read in one
// snapshot, and returns that snapshot as the mark for FactChanges.
// The incidents and their units are read on two connections sharing the
// snapshot (pg_export_snapshot), both in order of incident, and merged:
// one pass over each table, with no per-incident subquery.
func (db *DB) LoadFacts(ctx context.Context, fn func(facts.Row) error) (mark string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return "", mapErr(err, "")
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return "", mapErr(err, "")
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	// The first statement takes the transaction's snapshot: it is the
	// mark.
	var snap string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot(), pg_current_snapshot()::text`).Scan(&snap, &mark); err != nil {
		return "", mapErr(err, "")
	}

	uconn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return "", mapErr(err, "")
	}
	defer uconn.Release()
	utx, err := uconn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return "", mapErr(err, "")
	}
	defer utx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	// SET takes no parameters; an exported snapshot's name is hex digits
	// and dashes.
	if !validSnapshotName(snap) {
		return "", fmt.Errorf("unexpected snapshot name %q", snap)
	}
	if _, err := utx.Exec(ctx, `SET TRANSACTION SNAPSHOT '`+snap+`'`); err != nil {
		return "", mapErr(err, "")
	}
	// The repeat gaps are a third of the DV incidents at most: read whole
	// on the units' connection before the units (a third connection
	// could wait for ever on a pool of two).
	grows, err := utx.Query(ctx, factGapsSQL+` ORDER BY incident_id`)
	if err != nil {
		return "", mapErr(err, "")
	}
	gaps, err := readPairs(grows)
	if err != nil {
		return "", mapErr(err, "")
	}
	arows, err := utx.Query(ctx, fmt.Sprintf(factActionsSQL, "", ""))
	if err != nil {
		return "", mapErr(err, "")
	}
	acts, err := readActs(arows)
	if err != nil {
		return "", mapErr(err, "")
	}
	urows, err := utx.Query(ctx, factUnitsSQL+` ORDER BY incident_id, unit_id`)
	if err != nil {
		return "", mapErr(err, "")
	}
	defer urows.Close()
	rows, err := tx.Query(ctx, factsSQL+` ORDER BY id`)
	if err != nil {
		return "", mapErr(err, "")
	}
	defer rows.Close()
	if err := scanFacts(rows, rowsUnits(urows), gaps, acts, fn); err != nil {
		// Closing the queries would read the rest of both tables:
		// cancelling drops the connections instead.
		cancel()
		return "", mapErr(err, "")
	}
	return mark, nil
}

func validSnapshotName(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'F' || r >= 'a' && r <= 'f' || r == '-') {
			return false
		}
	}
	return s != ""
}

// FactChanges returns what the change-log rows written by transactions
// with an xid of at least mark name (each once, in order of id): the
// incidents, with the other incidents of each one's victim (whose repeat
// gaps may follow from its time or type); the follow-up tasks and
// protection orders, with those of each incident changed (they copy its
// facts). As next mark it returns the xmin of the snapshot they were read
// in: every transaction that snapshot does not see has an xid at least
// that, so the next call sees its rows. reload is true when a bulk load's
// marker (incident 0) is among them, or there are more than
// maxFactChanges ids.
func (db *DB) FactChanges(ctx context.Context, mark string) (ch facts.Changes, next string, reload bool, err error) {
	// One statement, one snapshot: the rows read and the next mark. A
	// change is new when its transaction was not visible to the mark's
	// snapshot (and, being read now, has committed): exact, however long
	// another transaction stays open. The simple protocol plans it for
	// the mark at hand each time: a generic plan, which a prepared
	// statement turns to after a few runs, would not know that the xid
	// bound is a few recent rows and read the whole log every poll.
	err = db.Pool.QueryRow(ctx, `WITH c AS MATERIALIZED (SELECT incident_id, kind FROM report_changes
			WHERE xid >= pg_snapshot_xmin($1::text::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $1::text::pg_snapshot)),
		ci AS MATERIALIZED (SELECT DISTINCT incident_id FROM c WHERE kind = 'i' LIMIT $2)
		SELECT pg_current_snapshot()::text, EXISTS (SELECT FROM c WHERE incident_id = 0 AND kind = 'i'), ARRAY(
			SELECT incident_id FROM ci
			UNION
			SELECT x.incident_id FROM incident_persons p JOIN incident_persons x ON x.person_id = p.person_id AND x.role = 'victim'
			WHERE p.role = 'victim' AND p.incident_id IN (SELECT incident_id FROM ci)
			LIMIT $2), ARRAY(
			SELECT incident_id FROM c WHERE kind = 't'
			UNION
			SELECT t.id FROM follow_up_tasks t WHERE t.incident_id IN (SELECT incident_id FROM ci)
			LIMIT $2), ARRAY(
			SELECT incident_id FROM c WHERE kind = 'o'
			UNION
			SELECT o.id FROM protection_orders o WHERE o.incident_id IN (SELECT incident_id FROM ci)
			LIMIT $2)`,
		pgx.QueryExecModeSimpleProtocol, mark, maxFactChanges+1).Scan(&next, &reload, &ch.Incidents, &ch.Tasks, &ch.Orders)
	if err != nil {
		return facts.Changes{}, "", false, mapErr(err, "")
	}
	if reload || len(ch.Incidents)+len(ch.Tasks)+len(ch.Orders) > maxFactChanges {
		return facts.Changes{}, next, true, nil
	}
	for _, ids := range []*[]int64{&ch.Incidents, &ch.Tasks, &ch.Orders} {
		slices.Sort(*ids)
		*ids = slices.Compact(*ids)
	}
	return ch, next, false, nil
}

// FactRows calls fn for each incident of ids that exists, in order of id,
// read in one snapshot.
func (db *DB) FactRows(ctx context.Context, ids []int64, fn func(facts.Row) error) error {
	if len(ids) == 0 {
		return nil
	}
	return mapErr(pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		urows, err := tx.Query(ctx, factUnitsSQL+` WHERE incident_id = ANY($1) ORDER BY incident_id, unit_id`, ids)
		if err != nil {
			return err
		}
		var units [][2]int64
		var u [2]int64
		if _, err := pgx.ForEachRow(urows, []any{&u[0], &u[1]}, func() error {
			units = append(units, u)
			return nil
		}); err != nil {
			return err
		}
		grows, err := tx.Query(ctx, factGapsOfSQL+` ORDER BY 1`, ids)
		if err != nil {
			return err
		}
		gaps, err := readPairs(grows)
		if err != nil {
			return err
		}
		arows, err := tx.Query(ctx, fmt.Sprintf(factActionsSQL, ` WHERE incident_id = ANY($1)`, ` AND incident_id = ANY($1)`), ids)
		if err != nil {
			return err
		}
		acts, err := readActs(arows)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, factsSQL+` WHERE id = ANY($1) ORDER BY id`, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		return scanFacts(rows, sliceUnits(units), gaps, acts, fn)
	}), "")
}

// The follow-up tasks and protection orders as facts.TaskRow and
// facts.OrderRow give them.
const (
	factTasksSQL = `SELECT id, incident_id, coalesce(district_id, 0), due_at, closed_at, coalesce(outcome, '')
		FROM follow_up_tasks`
	factOrdersSQL = `SELECT o.id, coalesce(o.incident_id, 0), coalesce(o.district_id, 0), o.issued_at, o.starts_at, o.ends_at,
			o.ended_at, coalesce(ceil(extract(epoch FROM o.issued_at - i.received_at)), 0)::int8
		FROM protection_orders o LEFT JOIN incidents i ON i.id = o.incident_id`
)

// LoadFollow calls task for every follow-up task and order for every
// protection order, read in one snapshot.
func (db *DB) LoadFollow(ctx context.Context, task func(facts.TaskRow) error, order func(facts.OrderRow) error) error {
	return db.followRows(ctx, true, nil, nil, task, order)
}

// FollowRows calls task for each follow-up task of tasks that exists and
// order for each protection order of orders that exists, in order of id,
// read in one snapshot.
func (db *DB) FollowRows(ctx context.Context, tasks, orders []int64, task func(facts.TaskRow) error, order func(facts.OrderRow) error) error {
	if len(tasks)+len(orders) == 0 {
		return nil
	}
	return db.followRows(ctx, false, tasks, orders, task, order)
}

// followRows reads every task and order when all is set, else those of
// tasks and orders.
func (db *DB) followRows(ctx context.Context, all bool, tasks, orders []int64,
	task func(facts.TaskRow) error, order func(facts.OrderRow) error) error {
	tq, oq, targs, oargs := factTasksSQL, factOrdersSQL, []any(nil), []any(nil)
	if !all {
		tq, oq, targs, oargs = tq+` WHERE id = ANY($1)`, oq+` WHERE o.id = ANY($1)`, []any{tasks}, []any{orders}
	}
	return mapErr(pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if all || len(tasks) > 0 {
			rows, err := tx.Query(ctx, tq+` ORDER BY id`, targs...)
			if err != nil {
				return err
			}
			var r facts.TaskRow
			var due, closed pgtype.Timestamptz
			if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.IncidentID, &r.DistrictID, &due, &closed, &r.Outcome}, func() error {
				r.Due, r.Closed = due.Time, time.Time{}
				if closed.Valid {
					r.Closed = closed.Time
				}
				return task(r)
			}); err != nil {
				return err
			}
		}
		if all || len(orders) > 0 {
			rows, err := tx.Query(ctx, oq+` ORDER BY o.id`, oargs...)
			if err != nil {
				return err
			}
			var r facts.OrderRow
			var ended pgtype.Timestamptz
			var secs int64
			if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.IncidentID, &r.DistrictID, &r.Issued, &r.Starts, &r.Ends, &ended, &secs}, func() error {
				r.Ended = time.Time{}
				if ended.Valid {
					r.Ended = ended.Time
				}
				r.CallToOrder = int32(max(min(secs, math.MaxInt32), math.MinInt32))
				return order(r)
			}); err != nil {
				return err
			}
		}
		return nil
	}), "")
}

// PruneFactChanges deletes change-log entries written more than age ago.
// age must be well over the time between two polls of any reader (and
// the longest transaction): a reader that has not yet read an entry
// pruned misses its change.
//
// When it deleted pruneVacuumRows or more, it vacuums and analyses the log
// itself rather than wait for autovacuum, which may be off (as on our CI
// machines) or busy for hours with the big tables after a bulk change:
// until then every poll's plan rests on statistics from before the
// deletion and reads the dead rows (at 10 M incidents, after the units were
// bulk-assigned, 800 MB a poll, a second of a core every second).
// SKIP_LOCKED leaves it to another server's pruner or autovacuum when
// either is at it; a role that does not own the table gets a warning
// from PostgreSQL and nothing is done.
func (db *DB) PruneFactChanges(ctx context.Context, age time.Duration) error {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM report_changes WHERE at < now() - $1 * interval '1 microsecond'`, age.Microseconds())
	if err != nil || tag.RowsAffected() < pruneVacuumRows {
		return mapErr(err, "")
	}
	_, err = db.Pool.Exec(ctx, `VACUUM (SKIP_LOCKED, ANALYZE) report_changes`, pgx.QueryExecModeSimpleProtocol)
	return mapErr(err, "")
}

// pruneVacuumRows is how many deleted rows make PruneFactChanges vacuum
// the log: migration 0031's autovacuum threshold.
const pruneVacuumRows = 10_000

// unitSource yields (incident, unit) pairs in order of incident; ok is
// false at the end.
type unitSource func() (incident, unit int64, ok bool, err error)

func rowsUnits(rows pgx.Rows) unitSource {
	// Scanned into the same two values each time: none escapes per row.
	var inc, unit int64
	dest := []any{&inc, &unit}
	return func() (int64, int64, bool, error) {
		if !rows.Next() {
			return 0, 0, false, rows.Err()
		}
		err := rows.Scan(dest...)
		return inc, unit, err == nil, err
	}
}

func sliceUnits(units [][2]int64) unitSource {
	return func() (int64, int64, bool, error) {
		if len(units) == 0 {
			return 0, 0, false, nil
		}
		u := units[0]
		units = units[1:]
		return u[0], u[1], true, nil
	}
}

// scanFacts reads rows of factsSQL in order of id, takes each one's units
// from units, its repeat gap from gaps and its actions from acts (all in
// the same order) and calls fn. Rows are built without a
// heap allocation each: the stamps are scanned into values, the units
// carved from shared blocks.
func scanFacts(rows pgx.Rows, units unitSource, gaps [][2]int64, acts []factActs, fn func(facts.Row) error) error {
	var (
		r       facts.Row
		stamps  [5]pgtype.Timestamptz // received, dispatched, en route, on scene, cleared
		prio    int32
		sex     string
		age     int32
		block   []int64 // the rest of the block Units are carved from
		these   []int64
		uInc    int64
		uUnit   int64
		uOK     bool
		uErr    error
		started bool
	)
	dest := []any{&r.ID, &stamps[0], &stamps[1], &stamps[2], &stamps[3], &stamps[4],
		&prio, &r.DistrictID, &r.SettlementID, &r.TypeID, &r.Corrected, &sex, &age, &r.Imported,
		&r.Violation, &r.FoundByPolice}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		r.Received = stamps[0].Time
		factDurations(&r.Dur, &stamps)
		r.Priority, r.VictimAge = int(prio), int(age)
		r.VictimSex = internSex(sex)

		if !started {
			uInc, uUnit, uOK, uErr = units()
			started = true
		}
		these = these[:0]
		for ; uOK && uInc <= r.ID; uInc, uUnit, uOK, uErr = units() {
			if uInc == r.ID {
				these = append(these, uUnit)
			}
		}
		if uErr != nil {
			return uErr
		}
		for len(gaps) > 0 && gaps[0][0] < r.ID {
			gaps = gaps[1:]
		}
		r.RepeatGap = facts.NoPrevious
		if len(gaps) > 0 && gaps[0][0] == r.ID {
			r.RepeatGap = int32(min(gaps[0][1], math.MaxInt32))
		}
		for len(acts) > 0 && acts[0].id < r.ID {
			acts = acts[1:]
		}
		r.Actions = facts.Actions{}
		if len(acts) > 0 && acts[0].id == r.ID {
			r.Actions = acts[0].a
		}
		r.Units = nil
		if len(these) > 0 {
			if len(block) < len(these) {
				block = make([]int64, max(4096, len(these)))
			}
			r.Units = block[:len(these):len(these)]
			copy(r.Units, these)
			block = block[len(these):]
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// factDurations fills dur with the intervals of report.Definitions from
// the stamps, as report.Duration measures them (microseconds, as stored),
// rounded up to whole seconds.
func factDurations(dur *[6]int32, s *[5]pgtype.Timestamptz) {
	for i, iv := range factIntervals {
		dur[i] = factDuration(&s[iv[0]], &s[iv[1]])
	}
}

// factIntervals are the stamps (indexes in factsSQL's order) bounding each
// interval of report.Definitions.
var factIntervals = func() (ivs [len(facts.Row{}.Dur)][2]int) {
	stamp := map[incident.Stage]int{incident.Received: 0, incident.Dispatched: 1, incident.EnRoute: 2,
		incident.OnScene: 3, incident.Cleared: 4}
	if len(report.Definitions) != len(ivs) {
		panic("facts.Row.Dur does not hold every interval of report.Definitions")
	}
	for i, d := range report.Definitions {
		from, ok1 := stamp[d.From]
		to, ok2 := stamp[d.To]
		if !ok1 || !ok2 {
			panic("report.Definitions names a stage facts.Row lacks")
		}
		ivs[i] = [2]int{from, to}
	}
	return ivs
}()

func factDuration(from, to *pgtype.Timestamptz) int32 {
	if !from.Valid || !to.Valid || from.InfinityModifier != pgtype.Finite || to.InfinityModifier != pgtype.Finite {
		return facts.Missing
	}
	d := to.Time.Sub(from.Time)
	if d < 0 {
		return facts.OutOfOrder
	}
	return int32(min(math.Ceil(d.Seconds()), math.MaxInt32))
}

// internSex returns the constant of a victim_sex value, so that rows kept
// for long share three strings rather than hold one each.
func internSex(s string) string {
	switch s {
	case "":
		return ""
	case "female":
		return "female"
	case "male":
		return "male"
	case "other":
		return "other"
	}
	return s
}
