package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
)

// The audit chain is computed here, in Go, at insert time: each row's hash
// is HMAC-SHA-256 (audit.Key.Sum) under the key given to Open
// (Options.AuditKey, from DVR_AUDIT_KEY), over the row and the previous
// row's hash. The key never reaches the database; each row stores only the
// key's ID. The chain stays linear under concurrency because every append
// takes one transaction-level advisory lock before it reads the head, and
// holds it until its transaction ends.

// auditLockKey serialises appends to the audit chain: each entry's hash
// includes the previous entry's, so two transactions must not both extend
// the same head. The lock is taken as late as possible (audit rows are
// written last in a transaction) and released at commit.
const auditLockKey = 7268210001

// chainKeyData is the key, in each pooled connection's custom data, of the
// audit chain's key (set by Open): appendAudit sees only the transaction.
const chainKeyData = "dvresponse.audit_chain_key"

// appendAudit writes e as the new head of the audit chain inside tx. The
// action and the audit row commit or fail together: no unaudited change.
func appendAudit(ctx context.Context, tx pgx.Tx, e *audit.Entry) error {
	key, ok := tx.Conn().PgConn().CustomData()[chainKeyData].(*audit.Key)
	if !ok {
		return apperr.Wrap(apperr.Internal, errors.New("audit: the connection has no chain key (not opened by postgres.Open)"), "")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
		return err
	}
	prev, prevKey := audit.Genesis, ""
	err := tx.QueryRow(ctx, `SELECT hash, key_id FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&prev, &prevKey)
	if err != nil && err != pgx.ErrNoRows {
		return err
	}
	if err := audit.CanFollow(key, prevKey); err != nil {
		return apperr.Wrap(apperr.Internal, err, "")
	}
	e.PrevHash = prev
	e.At = time.Now().UTC().Truncate(time.Microsecond)
	if e.Outcome == "" {
		e.Outcome = audit.OK
	}
	e.KeyID = key.ID()
	e.Hash = key.Sum(e)
	var uid *int64
	if e.Actor.UserID != 0 {
		uid = &e.Actor.UserID
	}
	return tx.QueryRow(ctx, `INSERT INTO audit_events (at, user_id, username, role, action, record_type, record_id,
		source_ip, outcome, detail, key_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		e.At, uid, e.Actor.Username, e.Actor.Role, e.Action, e.RecordType, e.RecordID, e.Actor.IP, string(e.Outcome),
		string(audit.CanonicalDetail(e.Detail)), e.KeyID, e.PrevHash, e.Hash).Scan(&e.ID)
}

// Audit records an action that changes nothing else (a login, a refused
// access, a view) in its own transaction.
func (db *DB) Audit(ctx context.Context, e audit.Entry) error {
	return mapErr(pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return appendAudit(ctx, tx, &e) }), "")
}

// AuditKeyID is the ID of the key the DB chains with: DVR_AUDIT_KEY's, or
// the development key's.
func (db *DB) AuditKeyID() string {
	if db.auditKey == nil {
		return audit.DevelopmentKey().ID()
	}
	return db.auditKey.ID()
}

// AuditHead returns the trail's last row (ID 0 when it is empty) and the
// ID of the key it is under.
func (db *DB) AuditHead(ctx context.Context) (audit.Head, string, error) {
	var h audit.Head
	var keyID string
	err := db.Pool.QueryRow(ctx, `SELECT id, hash, key_id FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&h.ID, &h.Hash, &keyID)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Head{}, "", nil
	}
	return h, keyID, mapErr(err, "")
}

// PrepareAuditChain checks, before a process appends to the trail, that
// its key may extend it (audit.CanFollow); when the DB has a key and the
// trail's last row is not under it (rows from before keying, or under the
// development key), it appends a row under the key (action audit.keyed, by
// actor) that binds the rows before it, and reports true.
func (db *DB) PrepareAuditChain(ctx context.Context, actor audit.Actor) (bool, error) {
	head, keyID, err := db.AuditHead(ctx)
	if err != nil {
		return false, err
	}
	if err := audit.CanFollow(db.auditKey, keyID); err != nil {
		return false, err
	}
	if db.auditKey == nil || head.ID == 0 || keyID == db.auditKey.ID() {
		return false, nil
	}
	err = db.Audit(ctx, audit.Entry{Actor: actor, Action: "audit.keyed", RecordType: "audit", RecordID: db.auditKey.ID(),
		Detail: map[string]any{"after_id": head.ID}})
	return err == nil, err
}

// AuditProblem is the first audit row that fails verification.
type AuditProblem = audit.Problem

// VerifyAudit checks the whole chain under the DB's key (see CheckAudit)
// and returns the number of rows read and the first problem (nil when the
// chain is intact).
func (db *DB) VerifyAudit(ctx context.Context) (int64, *AuditProblem, error) {
	c, problem, err := db.CheckAudit(ctx)
	return c.Rows, problem, err
}

// CheckAudit reads every audit row in id order through an audit.Checker
// under the DB's key that must reach the witnessed heads in expect, and
// returns the checker (its counts and head) and the first problem (nil
// when the chain is intact): a changed row fails its own hash; a deleted
// row breaks the next row's link to its predecessor; a rebuilt chain fails
// its keyed rows, or the witnessed heads; a cut end fails the witnessed
// heads, or leaves a last row that is not under the key.
func (db *DB) CheckAudit(ctx context.Context, expect ...audit.Head) (*audit.Checker, *AuditProblem, error) {
	c := audit.NewChecker(db.auditKey, expect...)
	rows, err := db.Pool.Query(ctx, `SELECT id, at, coalesce(user_id, 0), username, role, action, record_type, record_id,
		source_ip, outcome, detail, key_id, prev_hash, hash FROM audit_events ORDER BY id`)
	if err != nil {
		return c, nil, mapErr(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var e audit.Entry
		var outcome string
		if err := rows.Scan(&e.ID, &e.At, &e.Actor.UserID, &e.Actor.Username, &e.Actor.Role, &e.Action, &e.RecordType,
			&e.RecordID, &e.Actor.IP, &outcome, &e.Detail, &e.KeyID, &e.PrevHash, &e.Hash); err != nil {
			return c, nil, mapErr(err, "")
		}
		e.Outcome = audit.Outcome(outcome)
		if p := c.Add(&e); p != nil {
			return c, p, nil
		}
	}
	if err := rows.Err(); err != nil {
		return c, nil, mapErr(err, "")
	}
	return c, c.Finish(), nil
}
