package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// StageChange is a request to record a stage.
type StageChange struct {
	IncidentID    int64
	Stage         incident.Stage
	DispositionID *int64 // required for Cleared
	// UnitID is the unit whose status follows the stage (an officer's
	// unit); nil moves every unit on the incident.
	UnitID *int64
	// Key makes the request idempotent: a retried request with the same
	// key is answered with the first result.
	Key string
}

// StageResult says what happened.
type StageResult struct {
	AlreadyDone bool      // the stage was recorded before (another officer, or a retry)
	At          time.Time // when the stage was recorded
	// UnitOnly: the unit cleared itself and the incident stays open,
	// because other units are still on it.
	UnitOnly bool
}

// SetStage records a stage on an incident from the database clock, moving
// the unit statuses with it. The incident row is locked, so that of two
// officers pressing "On scene" together the first time stands and the
// second is answered as already done; nothing is lost or recorded twice.
func (db *DB) SetStage(ctx context.Context, c StageChange, by audit.Actor) (StageResult, error) {
	var res StageResult
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var number string
		var t incident.Times
		err := tx.QueryRow(ctx, `SELECT number, dispatched_at, en_route_at, on_scene_at, cleared_at
			FROM incidents WHERE id = $1 FOR UPDATE`, c.IncidentID).Scan(&number, &t.Dispatched, &t.EnRoute, &t.OnScene, &t.Cleared)
		if err != nil {
			return err
		}
		if c.Key != "" {
			tag, err := tx.Exec(ctx, `INSERT INTO stage_requests (key, incident_id, stage, user_id) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key) DO NOTHING`, c.Key, c.IncidentID, string(c.Stage), nullID(by.UserID))
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "22P02" { // not a uuid
				return apperr.New(apperr.Invalid, "stage.err.key")
			}
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				// A retry of a request that already went through.
				if at := t.At(c.Stage); at != nil {
					res = StageResult{AlreadyDone: true, At: *at}
					return nil
				}
			}
		}
		// A unit clearing itself while other units are still on the
		// incident clears only itself; the last unit to clear (with a
		// disposition) closes the incident, as the dispatcher does.
		if c.Stage == incident.Cleared && c.UnitID != nil && t.Cleared == nil {
			var others bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_units WHERE incident_id = $1
				AND released_at IS NULL AND unit_id <> $2)`, c.IncidentID, *c.UnitID).Scan(&others); err != nil {
				return err
			}
			if others {
				res.UnitOnly = true
				return db.clearUnit(ctx, tx, c, by, number, &res)
			}
		}
		done, err := incident.CheckStage(t, c.Stage, c.DispositionID != nil)
		if err != nil {
			return err
		}
		if done {
			res = StageResult{AlreadyDone: true, At: *t.At(c.Stage)}
			// The stage stands; still let this officer's unit catch up.
			return db.moveUnits(ctx, tx, c, by, number, false)
		}
		if c.Stage == incident.Cleared {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dispositions WHERE id = $1)`, *c.DispositionID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return &apperr.Error{Code: apperr.Invalid, Message: "stage.err.disposition",
					Fields: map[string]apperr.Msg{"disposition_id": apperr.M("stage.err.no_disposition")}}
			}
		}
		column := map[incident.Stage]string{incident.EnRoute: "en_route_at", incident.OnScene: "on_scene_at", incident.Cleared: "cleared_at"}[c.Stage]
		if err := tx.QueryRow(ctx, `UPDATE incidents SET `+column+` = now(),
			disposition_id = CASE WHEN $2::bigint IS NULL THEN disposition_id ELSE $2 END,
			version = version + 1, updated_at = now() WHERE id = $1 RETURNING `+column, c.IncidentID, c.DispositionID).Scan(&res.At); err != nil {
			return err
		}
		return db.moveUnits(ctx, tx, c, by, number, true)
	})
	return res, mapErr(err, "incident")
}

// moveUnits moves the unit statuses with a stage, appends the timeline
// event (when recorded is true or a unit moved) and the audit row, and
// notifies the boards.
func (db *DB) moveUnits(ctx context.Context, tx pgx.Tx, c StageChange, by audit.Actor, number string, recorded bool) error {
	var moved []int64
	var err error
	switch c.Stage {
	case incident.Cleared:
		// Closing the incident clears every unit still on it.
		moved, err = collectIDs(ctx, tx, `UPDATE incident_units SET released_at = now(), cleared_at = now()
			WHERE incident_id = $1 AND released_at IS NULL RETURNING unit_id`, c.IncidentID)
		if err == nil && len(moved) > 0 {
			_, err = tx.Exec(ctx, `UPDATE units u SET status = 'available' WHERE u.id = ANY($1) AND NOT EXISTS (
				SELECT 1 FROM incident_units iu WHERE iu.unit_id = u.id AND iu.released_at IS NULL)`, moved)
		}
	default:
		// Units on the incident (only the given one, if any) whose status
		// is behind the stage move forward; a unit never moves back.
		behind := []string{"dispatched"}
		if c.Stage == incident.OnScene {
			behind = append(behind, "en_route")
		}
		moved, err = collectIDs(ctx, tx, `UPDATE units u SET status = $2 FROM incident_units iu
			WHERE iu.unit_id = u.id AND iu.incident_id = $1 AND iu.released_at IS NULL
			AND ($3::bigint IS NULL OR u.id = $3) AND u.status = ANY($4) RETURNING u.id`,
			c.IncidentID, string(c.Stage), c.UnitID, behind)
		if err == nil {
			// Each assignment keeps its own time of the stage: the given
			// unit's, or those of the units that moved with it.
			column := map[incident.Stage]string{incident.EnRoute: "en_route_at", incident.OnScene: "on_scene_at"}[c.Stage]
			_, err = tx.Exec(ctx, `UPDATE incident_units SET `+column+` = now()
				WHERE incident_id = $1 AND released_at IS NULL AND `+column+` IS NULL
				AND (unit_id = ANY($2) OR unit_id = $3)`, c.IncidentID, moved, c.UnitID)
		}
	}
	if err != nil {
		return err
	}
	if !recorded && len(moved) == 0 {
		return nil
	}
	detail := map[string]any{"stage": string(c.Stage)}
	if c.UnitID != nil {
		detail["unit_id"] = *c.UnitID
	}
	if c.DispositionID != nil && recorded {
		detail["disposition_id"] = *c.DispositionID
	}
	if !recorded {
		detail["unit_only"] = true
	}
	if err := addEvent(ctx, tx, c.IncidentID, by.UserID, "status_changed", detail); err != nil {
		return err
	}
	if err := Notify(ctx, tx, "incident", c.IncidentID); err != nil {
		return err
	}
	for _, id := range moved {
		if err := Notify(ctx, tx, "unit", id); err != nil {
			return err
		}
	}
	return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "incident.stage", RecordType: "incident", RecordID: number, Detail: detail})
}

// clearUnit clears one unit from an incident that stays open (other
// units are still on it): its assignment's cleared time, its status
// (available unless it is on another open incident), the timeline, the
// audit trail and the boards.
func (db *DB) clearUnit(ctx context.Context, tx pgx.Tx, c StageChange, by audit.Actor, number string, res *StageResult) error {
	err := tx.QueryRow(ctx, `UPDATE incident_units SET cleared_at = now(), released_at = now()
		WHERE incident_id = $1 AND unit_id = $2 AND released_at IS NULL RETURNING cleared_at`,
		c.IncidentID, *c.UnitID).Scan(&res.At)
	if errors.Is(err, pgx.ErrNoRows) {
		// Not on the incident (any more): a retry, or released meanwhile.
		res.AlreadyDone, res.At = true, time.Now()
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE units SET status = 'available' WHERE id = $1 AND NOT EXISTS (
		SELECT 1 FROM incident_units WHERE unit_id = $1 AND released_at IS NULL)`, *c.UnitID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE incidents SET version = version + 1, updated_at = now() WHERE id = $1`, c.IncidentID); err != nil {
		return err
	}
	detail := map[string]any{"stage": string(incident.Cleared), "unit_id": *c.UnitID, "unit_only": true}
	if c.DispositionID != nil {
		detail["disposition_id"] = *c.DispositionID
	}
	if err := addEvent(ctx, tx, c.IncidentID, by.UserID, "status_changed", detail); err != nil {
		return err
	}
	if err := Notify(ctx, tx, "incident", c.IncidentID); err != nil {
		return err
	}
	if err := Notify(ctx, tx, "unit", *c.UnitID); err != nil {
		return err
	}
	return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "incident.stage", RecordType: "incident", RecordID: number, Detail: detail})
}

func collectIDs(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]int64, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// MyIncidents lists the open incidents a unit is assigned to, newest
// first.
func (db *DB) MyIncidents(ctx context.Context, unitID int64) ([]incident.Summary, error) {
	return db.openSummaries(ctx, `AND EXISTS (SELECT 1 FROM incident_units iu
		WHERE iu.incident_id = i.id AND iu.unit_id = $1 AND iu.released_at IS NULL)
		ORDER BY i.received_at DESC`, unitID)
}
