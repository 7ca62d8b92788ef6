package postgres

import (
	"bytes"
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
)

// auditLockKey serialises appends to the audit chain: each entry's hash
// includes the previous entry's, so two transactions must not both extend
// the same head. The lock is taken as late as possible (audit rows are
// written last in a transaction) and released at commit.
const auditLockKey = 7268210001

// appendAudit writes e as the new head of the audit chain inside tx. The
// action and the audit row commit or fail together: no unaudited change.
func appendAudit(ctx context.Context, tx pgx.Tx, e *audit.Entry) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
		return err
	}
	prev := audit.Genesis
	err := tx.QueryRow(ctx, `SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && err != pgx.ErrNoRows {
		return err
	}
	e.PrevHash = prev
	e.At = time.Now().UTC().Truncate(time.Microsecond)
	if e.Outcome == "" {
		e.Outcome = audit.OK
	}
	e.Hash = audit.ComputeHash(e)
	var uid *int64
	if e.Actor.UserID != 0 {
		uid = &e.Actor.UserID
	}
	return tx.QueryRow(ctx, `INSERT INTO audit_events (at, user_id, username, role, action, record_type, record_id,
		source_ip, outcome, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		e.At, uid, e.Actor.Username, e.Actor.Role, e.Action, e.RecordType, e.RecordID, e.Actor.IP, string(e.Outcome),
		string(audit.CanonicalDetail(e.Detail)), e.PrevHash, e.Hash).Scan(&e.ID)
}

// Audit records an action that changes nothing else (a login, a refused
// access, a view) in its own transaction.
func (db *DB) Audit(ctx context.Context, e audit.Entry) error {
	return mapErr(pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return appendAudit(ctx, tx, &e) }), "")
}

// AuditProblem is the first audit row whose hash does not match.
type AuditProblem struct {
	ID     int64
	Reason string
}

// VerifyAudit recomputes the hash chain over every audit row in id order.
// It returns the number of rows checked and the first problem (nil when the
// chain is intact): a changed row fails its own hash; a deleted row breaks
// the next row's link to its predecessor.
func (db *DB) VerifyAudit(ctx context.Context) (int64, *AuditProblem, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, at, coalesce(user_id, 0), username, role, action, record_type, record_id,
		source_ip, outcome, detail, prev_hash, hash FROM audit_events ORDER BY id`)
	if err != nil {
		return 0, nil, mapErr(err, "")
	}
	defer rows.Close()
	prev := audit.Genesis
	var n int64
	for rows.Next() {
		var e audit.Entry
		var outcome string
		if err := rows.Scan(&e.ID, &e.At, &e.Actor.UserID, &e.Actor.Username, &e.Actor.Role, &e.Action, &e.RecordType,
			&e.RecordID, &e.Actor.IP, &outcome, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return n, nil, mapErr(err, "")
		}
		e.Outcome = audit.Outcome(outcome)
		n++
		if !bytes.Equal(e.PrevHash, prev) {
			return n, &AuditProblem{ID: e.ID, Reason: "does not link to the previous row (a row before it was deleted or changed)"}, nil
		}
		if !bytes.Equal(audit.ComputeHash(&e), e.Hash) {
			return n, &AuditProblem{ID: e.ID, Reason: "its content does not match its hash (the row was altered)"}, nil
		}
		prev = e.Hash
	}
	return n, nil, mapErr(rows.Err(), "")
}
