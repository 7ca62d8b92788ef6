package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// CorrectionResult says what a correction changed.
type CorrectionResult struct {
	Old, New *time.Time // nil: not recorded
}

// CorrectStage changes one stage timestamp of an incident, as a
// supervisor's correction. The incident row is locked, the correction is
// checked against its current times and the database clock
// (incident.CheckCorrection), and in one transaction the column takes the
// new value, the incident's corrections count and version go up, a
// 'correction' event keeps the old value, the new value and the reason in
// the timeline, the audit row is written and the boards are notified.
// Reports read the stage columns, so they use the corrected value.
// loc formats the times quoted in refusal messages.
func (db *DB) CorrectStage(ctx context.Context, incidentID int64, c incident.Correction, loc *time.Location, by audit.Actor) (CorrectionResult, error) {
	var res CorrectionResult
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var number string
		var t incident.StageTimes
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT number, received_at, dispatched_at, en_route_at, on_scene_at, cleared_at, now()
			FROM incidents WHERE id = $1 FOR UPDATE`, incidentID).Scan(&number, &t.Received, &t.Dispatched, &t.EnRoute,
			&t.OnScene, &t.Cleared, &now); err != nil {
			return err
		}
		old, err := incident.CheckCorrection(t, c, now, loc)
		if err != nil {
			return err
		}
		res = CorrectionResult{Old: old, New: c.New}
		// The column name comes from the fixed list of stages, never from input.
		if _, err := tx.Exec(ctx, `UPDATE incidents SET `+c.Stage.Column()+` = $2,
			corrections = corrections + 1, version = version + 1, updated_at = now() WHERE id = $1`,
			incidentID, c.New); err != nil {
			return err
		}
		oldS, newS := incident.CorrectionValue(old), incident.CorrectionValue(c.New)
		if err := addEvent(ctx, tx, incidentID, by.UserID, "correction",
			map[string]any{"field": string(c.Stage), "old": oldS, "new": newS, "reason": c.Reason}); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", incidentID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "incident.correct", RecordType: "incident",
			RecordID: number, Detail: map[string]any{"field": string(c.Stage), "old": oldS, "new": newS}})
	})
	return res, mapErr(err, "incident")
}

// Corrections is how many times an incident's stage times were corrected.
func (db *DB) Corrections(ctx context.Context, incidentID int64) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT corrections FROM incidents WHERE id = $1`, incidentID).Scan(&n)
	return n, mapErr(err, "incident")
}
