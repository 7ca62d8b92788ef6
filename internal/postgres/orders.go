package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

const orderSelect = `SELECT o.id, o.number, o.kind, o.incident_id, coalesce(i.number, ''), o.district_id, coalesce(d.code, ''),
	o.protected_name, o.restrained_name, o.address, o.conditions, o.starts_at, o.ends_at,
	coalesce(u.username, ''), coalesce(nullif(u.full_name, ''), u.username, ''), o.issued_at, o.ended_at, o.end_reason, o.extensions
	FROM protection_orders o
	LEFT JOIN incidents i ON i.id = o.incident_id
	LEFT JOIN districts d ON d.id = o.district_id
	LEFT JOIN users u ON u.id = o.issued_by `

func scanOrder(r pgx.Row) (incident.Order, error) {
	var o incident.Order
	var kind string
	err := r.Scan(&o.ID, &o.Number, &kind, &o.IncidentID, &o.IncidentNumber, &o.DistrictID, &o.DistrictCode,
		&o.ProtectedName, &o.RestrainedName, &o.Address, &o.Conditions, &o.StartsAt, &o.EndsAt,
		&o.IssuedBy, &o.IssuedByName, &o.IssuedAt, &o.EndedAt, &o.EndReason, &o.Extensions)
	o.Kind = incident.OrderKind(kind)
	return o, err
}

// orders reads the orders selected by tail (WHERE ... ORDER BY ...).
func (db *DB) orders(ctx context.Context, tail string, args ...any) ([]incident.Order, error) {
	rows, err := db.Pool.Query(ctx, orderSelect+tail, args...)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Order, error) { return scanOrder(r) })
	return out, mapErr(err, "")
}

// IssueOrder stores a validated protection order with the next number of
// the year (in loc) of its issue. The order, the event on its incident,
// the audit row and the notification commit together.
func (db *DB) IssueOrder(ctx context.Context, n incident.NewOrder, loc *time.Location, by audit.Actor) (id int64, number string, err error) {
	if loc == nil {
		loc = time.UTC
	}
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO protection_orders (number, kind, incident_id, district_id,
				protected_name, restrained_name, address, conditions, starts_at, ends_at, issued_by,
				address_key, protected_key, restrained_key)
			VALUES ('PO-' || lpad($1::text, 4, '0') || '-' || lpad(nextval('protection_order_number_seq')::text, 6, '0'),
				$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			RETURNING id, number`,
			strconv.Itoa(now.In(loc).Year()), string(n.Kind), n.IncidentID, n.DistrictID,
			n.ProtectedName, n.RestrainedName, n.Address, n.Conditions, n.StartsAt, n.EndsAt, nullID(by.UserID),
			n.AddressKey, n.ProtectedKey, n.RestrainedKey).Scan(&id, &number)
		if err != nil {
			return err
		}
		// Follow-through (followup.go): the order's checks, to the issuing
		// officer's unit.
		unit, err := orderIssuerUnit(ctx, tx, by.UserID, n.IncidentID)
		if err != nil {
			return err
		}
		if err := scheduleOrderChecks(ctx, tx, id, unit); err != nil {
			return err
		}
		if n.IncidentID != nil {
			if err := addEvent(ctx, tx, *n.IncidentID, by.UserID, "order_issued", map[string]any{
				"order_id": id, "number": number, "kind": string(n.Kind),
				"starts_at": n.StartsAt.UTC().Format(time.RFC3339), "ends_at": n.EndsAt.UTC().Format(time.RFC3339),
			}); err != nil {
				return err
			}
			if err := Notify(ctx, tx, "incident", *n.IncidentID); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "order.issue", RecordType: "protection_order",
			RecordID: number, Detail: map[string]any{"kind": string(n.Kind), "incident_id": n.IncidentID}})
	})
	return id, number, mapErr(err, "incident")
}

// Order returns one protection order.
func (db *DB) Order(ctx context.Context, id int64) (*incident.Order, error) {
	o, err := scanOrder(db.Pool.QueryRow(ctx, orderSelect+`WHERE o.id = $1`, id))
	if err != nil {
		return nil, mapErr(err, "protection order")
	}
	return &o, nil
}

// IncidentOrders lists the orders recorded on an incident, newest first.
func (db *DB) IncidentOrders(ctx context.Context, incidentID int64) ([]incident.Order, error) {
	return db.orders(ctx, `WHERE o.incident_id = $1 ORDER BY o.issued_at DESC, o.id DESC`, incidentID)
}

// lockOrder reads an order for change inside tx, with the database clock.
func lockOrder(ctx context.Context, tx pgx.Tx, id int64) (incident.Order, time.Time, error) {
	o, err := scanOrder(tx.QueryRow(ctx, orderSelect+`WHERE o.id = $1 FOR UPDATE OF o`, id))
	if err != nil {
		return o, time.Time{}, err
	}
	var now time.Time
	err = tx.QueryRow(ctx, `SELECT now()`).Scan(&now)
	return o, now, err
}

// orderChanged appends the event on the order's incident, notifies and
// audits a change of an order.
func orderChanged(ctx context.Context, tx pgx.Tx, o incident.Order, by audit.Actor, kind, action string, data, detail map[string]any) error {
	if o.IncidentID != nil {
		if err := addEvent(ctx, tx, *o.IncidentID, by.UserID, kind, data); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", *o.IncidentID); err != nil {
			return err
		}
	}
	return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: action, RecordType: "protection_order",
		RecordID: o.Number, Detail: detail})
}

// ExtendOrder moves an active order's end later, within its kind's
// maximum length (checked against the database clock, with the row
// locked, so that two extensions cannot together exceed it).
func (db *DB) ExtendOrder(ctx context.Context, id int64, newEnd time.Time, loc *time.Location, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		o, now, err := lockOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := o.CheckExtend(newEnd, now, loc); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE protection_orders SET ends_at = $2, extensions = extensions + 1 WHERE id = $1`,
			id, newEnd); err != nil {
			return err
		}
		if err := scheduleOrderChecks(ctx, tx, id, nil); err != nil { // the longer span's checks
			return err
		}
		old, nw := o.EndsAt.UTC().Format(time.RFC3339), newEnd.UTC().Format(time.RFC3339)
		return orderChanged(ctx, tx, o, by, "order_extended", "order.extend",
			map[string]any{"order_id": o.ID, "number": o.Number, "old_ends_at": old, "ends_at": nw},
			map[string]any{"old_ends_at": old, "ends_at": nw})
	})
	return mapErr(err, "protection order")
}

// EndOrder ends an active order early, now, for the given reason.
func (db *DB) EndOrder(ctx context.Context, id int64, reason string, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		o, now, err := lockOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		reason, err := o.CheckEnd(reason, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE protection_orders SET ended_at = now(), end_reason = $2 WHERE id = $1`,
			id, reason); err != nil {
			return err
		}
		// Its remaining checks are cancelled (followup.go).
		if _, err := tx.Exec(ctx, `UPDATE order_checks SET done_at = now(), done_by = $2, result = 'cancelled'
			WHERE order_id = $1 AND done_at IS NULL`, id, nullID(by.UserID)); err != nil {
			return err
		}
		// The reason stays on the incident's timeline (seen by those who may
		// see the incident), not in the audit trail.
		return orderChanged(ctx, tx, o, by, "order_ended", "order.end",
			map[string]any{"order_id": o.ID, "number": o.Number, "reason": reason},
			map[string]any{"ends_at": o.EndsAt.UTC().Format(time.RFC3339)})
	})
	return mapErr(err, "protection order")
}

// ExpiringOrders lists the active orders whose end falls within the next
// `within`, soonest first; districtID limits them to one district (nil:
// all).
func (db *DB) ExpiringOrders(ctx context.Context, within time.Duration, districtID *int64) ([]incident.Order, error) {
	return db.orders(ctx, `WHERE o.ended_at IS NULL AND o.ends_at > now() AND o.ends_at <= now() + $1 * interval '1 second'
		AND ($2::bigint IS NULL OR o.district_id = $2)
		ORDER BY o.ends_at, o.id`, int64(within/time.Second), districtID)
}

// OrderCandidates lists the active orders an incident reporting a
// violation may concern: those at its address or naming its victim or
// suspect (as either person), newest first.
func (db *DB) OrderCandidates(ctx context.Context, k incident.Keys) ([]incident.Order, error) {
	names := nonEmptyKeys(k.Victim, k.Suspect, k.Caller)
	if k.Flat == "" && len(names) == 0 {
		return nil, nil
	}
	return db.orders(ctx, `WHERE o.ended_at IS NULL AND o.ends_at > now()
		AND (($1 <> '' AND o.address_key = $1) OR o.protected_key = ANY($2) OR o.restrained_key = ANY($2))
		ORDER BY o.issued_at DESC, o.id DESC LIMIT 50`, k.Flat, names)
}

// OrderScopes returns, for each of the orders ids that exists, what the
// access rule judges it by: the record of the incident it was recorded on
// (district, who logged it, the units sent to it), or for an order
// recorded without an incident a record with only the order's district.
func (db *DB) OrderScopes(ctx context.Context, ids []int64) (map[int64]access.Record, error) {
	rows, err := db.Pool.Query(ctx, `SELECT o.id, CASE WHEN o.incident_id IS NULL THEN o.district_id ELSE i.district_id END, i.created_by,
			coalesce(array_agg(iu.unit_id ORDER BY iu.assigned_at) FILTER (WHERE iu.unit_id IS NOT NULL), '{}'),
			coalesce(array_agg(iu.released_at IS NULL ORDER BY iu.assigned_at) FILTER (WHERE iu.unit_id IS NOT NULL), '{}')
		FROM protection_orders o
		LEFT JOIN incidents i ON i.id = o.incident_id
		LEFT JOIN incident_units iu ON iu.incident_id = i.id
		WHERE o.id = ANY($1)
		GROUP BY o.id, i.id`, ids)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out := map[int64]access.Record{}
	var id int64
	var rec access.Record
	var units []int64
	var active []bool
	_, err = pgx.ForEachRow(rows, []any{&id, &rec.District, &rec.CreatedBy, &units, &active}, func() error {
		r := access.Record{District: rec.District, CreatedBy: rec.CreatedBy}
		for i, u := range units {
			r.Units = append(r.Units, access.Unit{ID: u, Active: active[i]})
		}
		out[id] = r
		return nil
	})
	if err != nil {
		return nil, mapErr(err, "")
	}
	return out, nil
}

// OrderByNumber finds an order by its number (case and spaces do not
// matter).
func (db *DB) OrderByNumber(ctx context.Context, number string) (*incident.Order, error) {
	o, err := scanOrder(db.Pool.QueryRow(ctx, orderSelect+`WHERE o.number = upper(btrim($1))`, number))
	if err != nil {
		return nil, mapErr(err, "protection order")
	}
	return &o, nil
}

// ViolatedOrder returns the order an incident is linked to as violated,
// or nil.
func (db *DB) ViolatedOrder(ctx context.Context, incidentID int64) (*incident.Order, error) {
	o, err := scanOrder(db.Pool.QueryRow(ctx, orderSelect+`WHERE o.id = (SELECT protection_order_id FROM incidents WHERE id = $1)`, incidentID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, mapErr(err, "")
	}
	return &o, nil
}

// LinkViolatedOrder records that incident incidentID reports a violation
// of order orderID. The order must have been in force when the call came
// in, or still be active.
func (db *DB) LinkViolatedOrder(ctx context.Context, incidentID, orderID int64, by audit.Actor) error {
	return db.LinkViolatedOrderFoundBy(ctx, incidentID, orderID, incident.FoundByVictim, by)
}

// LinkViolatedOrderFoundBy is LinkViolatedOrder recording who reported
// the violation (incident.FoundByVictim or FoundByOthers; a police check
// records its own, RecordOrderCheck).
func (db *DB) LinkViolatedOrderFoundBy(ctx context.Context, incidentID, orderID int64, foundBy string, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var number string
		var received, now time.Time
		var old *int64
		err := tx.QueryRow(ctx, `SELECT number, received_at, protection_order_id, now() FROM incidents WHERE id = $1 FOR UPDATE`,
			incidentID).Scan(&number, &received, &old, &now)
		if err != nil {
			return err
		}
		o, err := scanOrder(tx.QueryRow(ctx, orderSelect+`WHERE o.id = $1`, orderID))
		if errors.Is(err, pgx.ErrNoRows) {
			return &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
				Fields: map[string]apperr.Msg{"order": apperr.M("order.err.no_such")}}
		}
		if err != nil {
			return err
		}
		if old != nil && *old == orderID {
			// Already linked: only who reported it may change.
			_, err := tx.Exec(ctx, `UPDATE incidents SET violation_found_by = $2 WHERE id = $1
				AND violation_found_by IS DISTINCT FROM 'police_check'`, incidentID, foundBy)
			return err
		}
		if err := o.CheckViolationLink(received, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET protection_order_id = $2, violation_found_by = $3,
			version = version + 1, updated_at = now() WHERE id = $1`,
			incidentID, orderID, foundBy); err != nil {
			return err
		}
		data := map[string]any{"order_id": o.ID, "number": o.Number, "found_by": foundBy}
		if old != nil {
			var oldNumber string
			if err := tx.QueryRow(ctx, `SELECT number FROM protection_orders WHERE id = $1`, *old).Scan(&oldNumber); err != nil {
				return err
			}
			data["old_number"] = oldNumber
		}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "order_violation_linked", data); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", incidentID); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "incident.link_order", RecordType: "incident",
			RecordID: number, Detail: data}); err != nil {
			return err
		}
		// The order's own record hears of it too, so that the order's
		// district sees in its audit trail who linked its order where.
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "order.link_violation", RecordType: "protection_order",
			RecordID: o.Number, Detail: map[string]any{"incident": number}})
	})
	return mapErr(err, "incident")
}

// activeOrdersMatching finds the active orders (not ended, not expired)
// at the flat key or naming one of names, as the protected or the
// restrained person, for the history lookup, with what decides who may
// see each (its incident's district, else its own; creator; units when
// withUnits; confidential address); orders recorded on the incident
// exclude (the one being viewed) are left out.
func (db *DB) activeOrdersMatching(ctx context.Context, address string, names []string, exclude int64, withUnits bool) ([]incident.OrderSummary, error) {
	if address == "" && len(names) == 0 {
		return nil, nil
	}
	rows, err := db.Pool.Query(ctx, `SELECT o.id, o.number, o.kind, o.protected_name, o.restrained_name, o.starts_at, o.ends_at,
			($1 <> '' AND o.address_key = $1), o.protected_key = ANY($2), o.restrained_key = ANY($2),
			coalesce(i.district_id, o.district_id), coalesce(d.name, ''), o.incident_id, i.created_by,
			coalesce(i.address_confidential, false),
			CASE WHEN $4 AND o.incident_id IS NOT NULL THEN ARRAY(SELECT iu.unit_id FROM incident_units iu WHERE iu.incident_id = o.incident_id AND iu.released_at IS NULL) END
		FROM protection_orders o
		LEFT JOIN incidents i ON i.id = o.incident_id
		LEFT JOIN districts d ON d.id = coalesce(i.district_id, o.district_id)
		WHERE o.ended_at IS NULL AND o.ends_at > now() AND o.incident_id IS DISTINCT FROM $3
			AND (($1 <> '' AND o.address_key = $1) OR o.protected_key = ANY($2) OR o.restrained_key = ANY($2))
		ORDER BY o.ends_at DESC, o.id DESC LIMIT 20`, pgx.QueryExecModeExec, address, names, exclude, withUnits)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.OrderSummary, error) {
		var s incident.OrderSummary
		var kind string
		var byAddr, byProt, byRestr bool
		err := r.Scan(&s.ID, &s.Number, &kind, &s.ProtectedName, &s.RestrainedName, &s.StartsAt, &s.EndsAt, &byAddr, &byProt, &byRestr,
			&s.DistrictID, &s.DistrictName, &s.IncidentID, &s.CreatedBy, &s.Confidential, &s.UnitIDs)
		s.Kind = incident.OrderKind(kind)
		for _, m := range []struct {
			on   bool
			name string
		}{{byAddr, "address"}, {byProt, "protected person"}, {byRestr, "restrained person"}} {
			if m.on {
				s.MatchedOn = append(s.MatchedOn, m.name)
			}
		}
		return s, err
	})
}

// nonEmptyKeys returns the non-empty keys, never nil (= ANY(NULL) would be
// NULL).
func nonEmptyKeys(keys ...string) []string {
	out := []string{}
	for _, k := range keys {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}
