package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/report"
)

// FollowThroughFigures are issue 17's figures for a period (the query's
// local days, [start, end)) and the query's filters, read from the
// records themselves. The filters select incidents as the response-time
// report does (reportFilter, without its dates); a task or an order
// counts when its incident passes them. The district filter is the
// task's district, and for an order in force its incident's district, else
// the order's own; an order with no incident passes no other filter.
//
//   - Due: follow-up tasks due in the period, not superseded by a later
//     screen. OnTime: of those, closed with an outcome at or before their
//     due time; Late: closed after it; Overdue: still open at now and
//     past due. Outcomes: those closed, by outcome.
//   - Call to order: orders issued in the period on an incident, issued
//     time − the incident's received time: median and p90 (percentile_cont),
//     and how many within 24 h (of Orders timed).
//   - Orders per DV incident: orders issued in the period on an incident
//     / DV incidents received in the period (not imported).
//   - Violations per 100 orders in force: incidents received in the period
//     linked to a violated order × 100 / orders in force at some time of
//     the period (started before its end, not ended or expired before its
//     start).
//   - Found by police: of those violations, how many a police check found.
type FollowThroughFigures = report.FollowThrough

// FollowThrough reads the figures of q at now from the records: the
// reference the report store's (facts.Store.FollowThrough) is tested
// against, and the answer while the store is not loaded.
func (db *DB) FollowThrough(ctx context.Context, q report.Query, now time.Time) (FollowThroughFigures, error) {
	start, end := q.Range()
	f := FollowThroughFigures{Outcomes: map[string]int64{}}
	d := q.DistrictID
	rest := q
	rest.DistrictID = nil
	// Each statement's arguments: $1 start, $2 end, $3 district, $4 now,
	// then the filters' (on incidents i) of the district-less query.
	args := sqlArgs{start, end, d, now}
	other, err := reportFilter(rest, &args, false)
	if err != nil {
		return f, err
	}
	// all is other and the district, on the incident.
	all := "($3::bigint IS NULL OR i.district_id = $3) AND " + other
	// Tasks are joined to their incidents only for a filter that needs them.
	taskFrom := "follow_up_tasks t JOIN incidents i ON i.id = t.incident_id"
	if other == "true" {
		taskFrom = "follow_up_tasks t"
	}
	dvCount := `(SELECT count(*) FROM incidents i JOIN incident_types dt ON dt.id = i.type_id
				WHERE dt.is_dv AND i.source <> 'import' AND i.received_at >= $1 AND i.received_at < $2 AND ` + all + `)`
	// One statement, so one snapshot. The tasks are read once (0030's
	// index of due times holds what is counted); their outcomes are
	// counted by name, the four that may close a task besides superseded
	// (0021's check). A period's orders find their incidents by key
	// (OFFSET 0 keeps the planner from hashing every incident instead).
	// Without JIT: at 10 M incidents the plan's cost made PostgreSQL
	// compile and optimise it, which took longer than running it.
	var outcomes [4]int64
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `WITH tk AS (
			SELECT count(*) AS due,
				count(*) FILTER (WHERE t.closed_at <= t.due_at) AS on_time,
				count(*) FILTER (WHERE t.closed_at > t.due_at) AS late,
				count(*) FILTER (WHERE t.closed_at IS NULL AND t.due_at <= $4) AS overdue,
				count(*) FILTER (WHERE t.outcome = 'reached_safe') AS safe,
				count(*) FILTER (WHERE t.outcome = 'not_reached') AS not_reached,
				count(*) FILTER (WHERE t.outcome = 'unsafe_contact') AS unsafe,
				count(*) FILTER (WHERE t.outcome = 'rescreened') AS rescreened
			FROM `+taskFrom+`
			WHERE t.due_at >= $1 AND t.due_at < $2 AND t.outcome IS DISTINCT FROM 'superseded'
				AND ($3::bigint IS NULL OR t.district_id = $3) AND `+other+`),
		od AS (
			SELECT count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS median,
				percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90, count(*) FILTER (WHERE s <= 86400) AS within
			FROM (SELECT extract(epoch FROM o.issued_at - i.received_at)::float8 AS s
				FROM protection_orders o
				CROSS JOIN LATERAL (SELECT * FROM incidents i WHERE i.id = o.incident_id OFFSET 0) i
				WHERE o.issued_at >= $1 AND o.issued_at < $2 AND `+all+`) s)
		SELECT tk.due, tk.on_time, tk.late, tk.overdue, tk.safe, tk.not_reached, tk.unsafe, tk.rescreened,
			od.n, od.median, od.p90, od.within, `+dvCount+`,
			(SELECT count(*) FROM protection_orders o LEFT JOIN incidents i ON i.id = o.incident_id
				WHERE o.ends_at > $1 AND o.starts_at < $2 AND (o.ended_at IS NULL OR o.ended_at > $1)
				AND ($3::bigint IS NULL OR coalesce(i.district_id, o.district_id) = $3) AND `+other+`),
			(SELECT count(*) FROM incidents i WHERE i.protection_order_id IS NOT NULL
				AND i.received_at >= $1 AND i.received_at < $2 AND `+all+`),
			(SELECT count(*) FROM incidents i WHERE i.protection_order_id IS NOT NULL AND i.violation_found_by = 'police_check'
				AND i.received_at >= $1 AND i.received_at < $2 AND `+all+`)
		FROM tk, od`, args...).Scan(&f.Due, &f.OnTime, &f.Late, &f.Overdue, &outcomes[0], &outcomes[1], &outcomes[2], &outcomes[3],
			&f.OrdersTimed, &f.CallToOrderMedian, &f.CallToOrderP90, &f.OrdersWithin24h,
			&f.DVIncidents, &f.OrdersInForce, &f.Violations, &f.ViolationsByPolice)
	})
	if err != nil {
		return f, mapErr(err, "")
	}
	for k, o := range []string{"reached_safe", "not_reached", "unsafe_contact", "rescreened"} {
		if outcomes[k] > 0 {
			f.Outcomes[o] = outcomes[k]
		}
	}
	f.OrdersIssued = f.OrdersTimed
	return f, nil
}
