package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dvresponse/dvresponse/internal/incident"
)

// SeedFollowThroughResult counts what SeedFollowThrough added.
type SeedFollowThroughResult struct {
	Tasks, Orders, Checks, Violations int64
}

// SeedFollowThrough gives the demo's open DV incidents follow-up tasks
// and protection orders with checks, relative to now, so that each role
// sees the work lists at once: per district, tasks overdue, due and done,
// and orders whose checks are done, due and overdue, one with a breach
// found (a violation incident). Tasks go to the unit of the district's
// first officer (the demo officer), one to the district's pool. Once per
// database: nothing is added when demo tasks exist.
func (db *DB) SeedFollowThrough(ctx context.Context, now time.Time, loc *time.Location) (SeedFollowThroughResult, error) {
	var res SeedFollowThroughResult
	if loc == nil {
		loc = time.UTC
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := lockSeed(ctx, tx); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM follow_up_tasks WHERE trigger_key LIKE 'demo:%')`).Scan(&done); err != nil || done {
			return err
		}
		type pick struct {
			id, district                      int64
			victim, suspect, address          string
			addressKey, victimKey, suspectKey string
			unit                              *int64
			n                                 int
		}
		// Tasks go on the open DV incidents; orders on DV incidents received
		// 4.5 to 8 days ago, so that each order is issued after its call
		// (the demo orders are issued 30 to 100 hours before now).
		pickSQL := `SELECT i.id, i.district_id, coalesce(nullif(i.victim_name, ''), 'not recorded'),
				coalesce(nullif(i.suspect_name, ''), 'not recorded'), i.address,
				k.address_key, k.victim_key, k.suspect_key,
				coalesce((SELECT u.unit_id FROM users u WHERE u.role = 'officer' AND u.district_id = i.district_id
					AND u.unit_id IS NOT NULL ORDER BY u.id LIMIT 1),
					(SELECT iu.unit_id FROM incident_units iu WHERE iu.incident_id = i.id ORDER BY iu.assigned_at LIMIT 1)),
				row_number() OVER (PARTITION BY i.district_id ORDER BY i.received_at, i.id)
			FROM incidents i JOIN incident_keys k ON k.incident_id = i.id JOIN incident_types t ON t.id = i.type_id
			WHERE i.source = 'seed' AND t.is_dv AND i.district_id IS NOT NULL AND %s
			ORDER BY i.district_id, i.received_at, i.id`
		var picks []pick
		read := func(where string, args []any, keep func(n int) (int, bool)) error {
			rows, err := tx.Query(ctx, fmt.Sprintf(pickSQL, where), args...)
			if err != nil {
				return err
			}
			var p pick
			_, err = pgx.ForEachRow(rows, []any{&p.id, &p.district, &p.victim, &p.suspect, &p.address, &p.addressKey, &p.victimKey,
				&p.suspectKey, &p.unit, &p.n}, func() error {
				if n, ok := keep(p.n); ok {
					q := p
					q.n = n
					picks = append(picks, q)
				}
				return nil
			})
			return err
		}
		// Cases 1, 4 and 5 (tasks): the first, fourth and fifth open DV
		// incident of each district.
		if err := read(`i.cleared_at IS NULL`, nil, func(n int) (int, bool) { return n, n == 1 || n == 4 || n == 5 }); err != nil {
			return err
		}
		// Cases 2, 6 and 3 (orders): the district's first three DV incidents
		// received 4.5 to 8 days before now.
		orderCase := map[int]int{1: 2, 2: 6, 3: 3}
		if err := read(`i.received_at BETWEEN $1::timestamptz - interval '8 days' AND $1::timestamptz - interval '108 hours'`,
			[]any{now}, func(n int) (int, bool) { c, ok := orderCase[n]; return c, ok }); err != nil {
			return err
		}
		task := func(p pick, seq int, reason incident.TaskReason, due time.Time, unit *int64, closed *time.Time, outcome string) error {
			var out *string
			if outcome != "" {
				out = &outcome
			}
			_, err := tx.Exec(ctx, `INSERT INTO follow_up_tasks (incident_id, district_id, reason, trigger_key, seq, due_at, unit_id,
					created_at, closed_at, outcome)
				VALUES ($1, $2, $3, $4, $5, $6, $7, least($6, $8::timestamptz) - interval '1 day', $8, $9)`,
				p.id, p.district, string(reason), "demo:"+strconv.FormatInt(p.id, 10), seq, due, unit, closed, out)
			res.Tasks++
			return err
		}
		order := func(p pick, issued time.Time) (incident.Order, error) {
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO protection_orders (number, kind, incident_id, district_id, protected_name,
					restrained_name, address, starts_at, ends_at, issued_at, address_key, protected_key, restrained_key)
				VALUES ('PO-' || lpad($1::text, 4, '0') || '-' || lpad(nextval('protection_order_number_seq')::text, 6, '0'),
					'restraining', $2, $3, $4, $5, $6, $7, $8, $7, $9, $10, $11) RETURNING id`,
				strconv.Itoa(issued.In(loc).Year()), p.id, p.district, p.victim, p.suspect, p.address, issued,
				issued.Add(30*24*time.Hour), p.addressKey, p.victimKey, p.suspectKey).Scan(&id)
			if err != nil {
				return incident.Order{}, err
			}
			res.Orders++
			if err := scheduleOrderChecks(ctx, tx, id, p.unit); err != nil {
				return incident.Order{}, err
			}
			return scanOrder(tx.QueryRow(ctx, orderSelect+`WHERE o.id = $1`, id))
		}
		checkDone := func(orderID int64, seq int, result string) error {
			_, err := tx.Exec(ctx, `UPDATE order_checks SET done_at = due_at + interval '2 hours', result = $3
				WHERE order_id = $1 AND seq = $2`, orderID, seq, result)
			res.Checks++
			return err
		}
		hours := func(h int) time.Time { return now.Add(time.Duration(h) * time.Hour) }
		for _, p := range picks {
			var err error
			switch p.n {
			case 1: // high danger: the first contact overdue, the next within a week
				// and the re-screen done the day before
				done := hours(-26)
				if err = task(p, 1, incident.RescreenFollowUp, hours(-30), p.unit, &done, string(incident.ReachedSafe)); err == nil {
					if err = task(p, 2, incident.HighDangerFollowUp, hours(-5), p.unit, nil, ""); err == nil {
						err = task(p, 3, incident.HighDangerFollowUp, hours(7*24-5), p.unit, nil, "")
					}
				}
			case 4: // a standard follow-up due tomorrow, in the district's pool
				err = task(p, 1, incident.StandardFollowUp, hours(20), nil, nil, "")
			case 5: // a follow-up due in three days
				err = task(p, 1, incident.StandardFollowUp, hours(72), p.unit, nil, "")
			case 2: // an order: its first check done, the next due in two days
				var o incident.Order
				if o, err = order(p, hours(-50)); err == nil {
					err = checkDone(o.ID, 1, string(incident.Complied))
				}
			case 6: // an order whose first check is overdue
				_, err = order(p, hours(-30))
			case 3: // an order whose second check found a breach
				var o incident.Order
				if o, err = order(p, hours(-100)); err == nil {
					if err = checkDone(o.ID, 1, string(incident.Complied)); err == nil {
						err = checkDone(o.ID, 2, string(incident.BreachFound))
					}
				}
				if err == nil {
					// The violation the check found: the district's latest
					// demo incident of the violation type, linked to the order
					// (the demo's incidents keep their numbers and times).
					var tag pgconn.CommandTag
					tag, err = tx.Exec(ctx, `WITH v AS (
							SELECT i.id FROM incidents i JOIN incident_types t ON t.id = i.type_id
							WHERE i.source = 'seed' AND t.code = 'PO-VIOL' AND i.district_id = $2 AND i.protection_order_id IS NULL
							ORDER BY i.received_at DESC, i.id DESC LIMIT 1),
						l AS (UPDATE incidents SET protection_order_id = $1, violation_found_by = 'police_check'
							WHERE id = (SELECT id FROM v) RETURNING id)
						UPDATE order_checks SET violation_incident_id = (SELECT id FROM l) WHERE order_id = $1 AND seq = 2
							AND EXISTS (SELECT 1 FROM l)`, o.ID, p.district)
					res.Violations += tag.RowsAffected()
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return res, mapErr(err, "")
}
