package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
)

// SetAddressConfidential flags (on) or unflags an incident's address as
// confidential. The caller has checked who may do which (anyone on the
// incident may set the flag, only a supervisor may lift it) and the reason
// a lift needs. In one transaction the flag and the incident's version
// change, the timeline gets an event (a lift keeps its reason there), the
// audit row is written ("incident.confidential_set" or
// "incident.confidential_lift" with the reason) and the boards are
// notified. Setting a flag that is already set, or lifting one that is not,
// changes and records nothing: changed is false.
func (db *DB) SetAddressConfidential(ctx context.Context, incidentID int64, on bool, reason string, by audit.Actor) (changed bool, err error) {
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var number string
		var now bool
		if err := tx.QueryRow(ctx, `SELECT number, address_confidential FROM incidents WHERE id = $1 FOR UPDATE`,
			incidentID).Scan(&number, &now); err != nil {
			return err
		}
		if now == on {
			return nil
		}
		changed = true
		if _, err := tx.Exec(ctx, `UPDATE incidents SET address_confidential = $2, version = version + 1, updated_at = now()
			WHERE id = $1`, incidentID, on); err != nil {
			return err
		}
		kind, action, detail := "address_confidential", "incident.confidential_set", map[string]any{}
		if !on {
			kind, action, detail = "address_confidential_lifted", "incident.confidential_lift", map[string]any{"reason": reason}
		}
		if err := addEvent(ctx, tx, incidentID, by.UserID, kind, detail); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", incidentID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: action, RecordType: "incident",
			RecordID: number, Detail: detail})
	})
	return changed, mapErr(err, "incident")
}
