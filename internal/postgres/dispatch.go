package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// UnitChoice is a unit offered for dispatch, with whether it is free and
// whether it belongs to the incident's district.
type UnitChoice struct {
	refdata.Unit
	SameDistrict bool
	Incident     string    // number of the incident it is assigned to, if any
	StatusSince  time.Time // when it went into its status
}

// UnitsForDispatch lists active units, those of the given district first,
// then available before busy ones.
func (db *DB) UnitsForDispatch(ctx context.Context, districtID *int64) ([]UnitChoice, error) {
	rows, err := db.Pool.Query(ctx, `SELECT u.id, u.call_sign, u.district_id, d.code, u.status, u.active, u.status_since,
			u.district_id = $1 AS same,
			coalesce((SELECT i.number FROM incident_units iu JOIN incidents i ON i.id = iu.incident_id
				WHERE iu.unit_id = u.id AND iu.released_at IS NULL ORDER BY iu.assigned_at DESC LIMIT 1), '')
		FROM units u JOIN districts d ON d.id = u.district_id
		WHERE u.active
		ORDER BY (u.district_id = $1) DESC NULLS LAST, (u.status = 'available') DESC, u.call_sign`, districtID)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (UnitChoice, error) {
		var c UnitChoice
		var status string
		var same *bool
		err := r.Scan(&c.ID, &c.CallSign, &c.DistrictID, &c.DistrictCode, &status, &c.Active, &c.StatusSince, &same, &c.Incident)
		c.Status = refdata.UnitStatus(status)
		c.SameDistrict = same != nil && *same
		return c, err
	})
	return out, mapErr(err, "")
}

// lockIncident locks an incident row for a change and returns its number
// and whether it is cleared.
func lockIncident(ctx context.Context, tx pgx.Tx, id int64) (number string, cleared bool, err error) {
	err = tx.QueryRow(ctx, `SELECT number, cleared_at IS NOT NULL FROM incidents WHERE id = $1 FOR UPDATE`, id).Scan(&number, &cleared)
	return number, cleared, err
}

// AssignUnit assigns a unit to an incident. The first assignment sets
// dispatched_at (once: later assignments leave it alone) and the unit goes
// to "dispatched". Assigning a unit already on the incident changes
// nothing and is not an error (a retried request).
func (db *DB) AssignUnit(ctx context.Context, incidentID, unitID int64, by audit.Actor) error {
	return db.assignUnit(ctx, incidentID, unitID, false, by)
}

// MoveUnit assigns a unit that is busy elsewhere: it takes the unit off
// every other open incident it is on (each of those timelines records the
// move) and assigns it here, recording where it came from.
func (db *DB) MoveUnit(ctx context.Context, incidentID, unitID int64, by audit.Actor) error {
	return db.assignUnit(ctx, incidentID, unitID, true, by)
}

// UnitState is where a unit is: its status and since when, and the open
// incident it is on other than the one asking, if any.
type UnitState struct {
	CallSign    string
	Status      refdata.UnitStatus
	StatusSince time.Time
	Elsewhere   string // number of another open incident it is on
}

// Busy reports whether assigning the unit should be confirmed: it is on
// another open incident, or not available (on a break, out of service,
// off duty, busy).
func (s UnitState) Busy() bool {
	return s.Elsewhere != "" || (s.Status != refdata.UnitAvailable && s.Status != refdata.UnitDispatched &&
		s.Status != refdata.UnitEnRoute && s.Status != refdata.UnitOnScene)
}

// UnitStateFor reads unit's state as seen from incidentID.
func (db *DB) UnitStateFor(ctx context.Context, unitID, incidentID int64) (UnitState, error) {
	var st UnitState
	var status string
	err := db.Pool.QueryRow(ctx, `SELECT u.call_sign, u.status, u.status_since,
			coalesce((SELECT i.number FROM incident_units iu JOIN incidents i ON i.id = iu.incident_id
				WHERE iu.unit_id = u.id AND iu.released_at IS NULL AND iu.incident_id <> $2 AND i.cleared_at IS NULL
				ORDER BY iu.assigned_at DESC LIMIT 1), '')
		FROM units u WHERE u.id = $1`, unitID, incidentID).Scan(&st.CallSign, &status, &st.StatusSince, &st.Elsewhere)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, apperr.New(apperr.Invalid, "dispatch.err.no_unit")
	}
	st.Status = refdata.UnitStatus(status)
	return st, mapErr(err, "")
}

func (db *DB) assignUnit(ctx context.Context, incidentID, unitID int64, move bool, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		number, cleared, err := lockIncident(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		if cleared {
			return apperr.New(apperr.Conflict, "dispatch.err.cleared")
		}
		var callSign string
		var active bool
		if err := tx.QueryRow(ctx, `SELECT call_sign, active FROM units WHERE id = $1 FOR UPDATE`, unitID).Scan(&callSign, &active); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return apperr.New(apperr.Invalid, "dispatch.err.no_unit")
			}
			return err
		}
		if !active {
			return apperr.New(apperr.Invalid, "dispatch.err.out_of_service", "CallSign", callSign)
		}
		var already bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_units WHERE incident_id = $1 AND unit_id = $2
			AND released_at IS NULL)`, incidentID, unitID).Scan(&already); err != nil {
			return err
		}
		if already {
			return nil
		}
		detail := map[string]any{"unit_id": unitID, "call_sign": callSign}
		if move {
			from, err := db.moveOff(ctx, tx, incidentID, number, unitID, callSign, by)
			if err != nil {
				return err
			}
			if len(from) > 0 {
				detail["moved_from"] = from
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO incident_units (incident_id, unit_id, assigned_at, assigned_by)
			VALUES ($1, $2, now(), $3)`, incidentID, unitID, nullID(by.UserID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET dispatched_at = coalesce(dispatched_at, now()),
			version = version + 1, updated_at = now() WHERE id = $1`, incidentID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE units SET status = 'dispatched' WHERE id = $1`, unitID); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "unit_assigned", detail); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", incidentID); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "unit", unitID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "unit.assign", RecordType: "incident", RecordID: number, Detail: detail})
	})
	return mapErr(err, "incident")
}

// moveOff takes a unit off the open incidents other than incidentID
// (number) it is on, recording on each that it was moved to number, and
// returns their numbers.
func (db *DB) moveOff(ctx context.Context, tx pgx.Tx, incidentID int64, number string, unitID int64, callSign string, by audit.Actor) ([]string, error) {
	rows, err := tx.Query(ctx, `UPDATE incident_units iu SET released_at = now() FROM incidents i
		WHERE i.id = iu.incident_id AND iu.unit_id = $1 AND iu.released_at IS NULL AND iu.incident_id <> $2
		RETURNING i.id, i.number`, unitID, incidentID)
	if err != nil {
		return nil, err
	}
	type off struct {
		id     int64
		number string
	}
	offs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (off, error) {
		var o off
		return o, r.Scan(&o.id, &o.number)
	})
	if err != nil {
		return nil, err
	}
	var from []string
	for _, o := range offs {
		detail := map[string]any{"unit_id": unitID, "call_sign": callSign, "moved_to": number}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET version = version + 1, updated_at = now() WHERE id = $1`, o.id); err != nil {
			return nil, err
		}
		if err := addEvent(ctx, tx, o.id, by.UserID, "unit_released", detail); err != nil {
			return nil, err
		}
		if err := Notify(ctx, tx, "incident", o.id); err != nil {
			return nil, err
		}
		if err := appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "unit.release", RecordType: "incident", RecordID: o.number, Detail: detail}); err != nil {
			return nil, err
		}
		from = append(from, o.number)
	}
	return from, nil
}

// ReleaseUnit takes a unit off an incident; the unit becomes available.
// Releasing a unit that is not on the incident is not an error (a retry).
func (db *DB) ReleaseUnit(ctx context.Context, incidentID, unitID int64, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		number, _, err := lockIncident(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		var callSign string
		err = tx.QueryRow(ctx, `UPDATE incident_units iu SET released_at = now() FROM units u
			WHERE iu.incident_id = $1 AND iu.unit_id = $2 AND iu.released_at IS NULL AND u.id = iu.unit_id
			RETURNING u.call_sign`, incidentID, unitID).Scan(&callSign)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// The unit is free unless it is still on another open incident.
		if _, err := tx.Exec(ctx, `UPDATE units SET status = 'available' WHERE id = $1 AND NOT EXISTS (
			SELECT 1 FROM incident_units WHERE unit_id = $1 AND released_at IS NULL)`, unitID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET version = version + 1, updated_at = now() WHERE id = $1`, incidentID); err != nil {
			return err
		}
		detail := map[string]any{"unit_id": unitID, "call_sign": callSign}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "unit_released", detail); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", incidentID); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "unit", unitID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "unit.release", RecordType: "incident", RecordID: number, Detail: detail})
	})
	return mapErr(err, "incident")
}

// OwnUnitStatuses are the statuses an officer may put their own unit in
// (SetOwnUnitStatus): back to available, on a break, out of service.
var OwnUnitStatuses = []refdata.UnitStatus{refdata.UnitAvailable, refdata.UnitOnBreak, refdata.UnitOutOfService}

// SetOwnUnitStatus puts an officer's unit on a break, out of service or
// back to available. A unit on an incident (not released) keeps its
// stage status: it clears first. The change is audited, and the boards
// hear of it (their Units panel shows the status and the time in it).
func (db *DB) SetOwnUnitStatus(ctx context.Context, unitID int64, status refdata.UnitStatus, by audit.Actor) error {
	if !slices.Contains(OwnUnitStatuses, status) {
		return apperr.New(apperr.Invalid, "dispatch.err.unit_status")
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var callSign, from string
		if err := tx.QueryRow(ctx, `SELECT call_sign, status FROM units WHERE id = $1 FOR UPDATE`, unitID).Scan(&callSign, &from); err != nil {
			return err
		}
		var onCall bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_units iu JOIN incidents i ON i.id = iu.incident_id
			WHERE iu.unit_id = $1 AND iu.released_at IS NULL AND i.cleared_at IS NULL)`, unitID).Scan(&onCall); err != nil {
			return err
		}
		if onCall {
			return apperr.New(apperr.Conflict, "dispatch.err.unit_on_call", "CallSign", callSign)
		}
		if from == string(status) {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE units SET status = $2 WHERE id = $1`, unitID, string(status)); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "unit", unitID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "unit.status", RecordType: "unit", RecordID: idText(unitID),
			Detail: map[string]any{"call_sign": callSign, "from": from, "to": string(status)}})
	})
	return mapErr(err, "unit")
}
