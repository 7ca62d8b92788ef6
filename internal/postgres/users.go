package postgres

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
)

const userColumns = `u.id, u.username, u.full_name, u.role, u.district_id, coalesce(d.code, ''),
	u.unit_id, coalesce(un.call_sign, ''), u.password_hash, u.session_epoch, u.disabled_at, u.locked_until, u.created_at, coalesce(u.language, '')`

const userFrom = ` FROM users u LEFT JOIN districts d ON d.id = u.district_id LEFT JOIN units un ON un.id = u.unit_id `

func scanUser(row pgx.Row) (*account.User, error) {
	var u account.User
	var role string
	err := row.Scan(&u.ID, &u.Username, &u.FullName, &role, &u.DistrictID, &u.DistrictCode,
		&u.UnitID, &u.UnitCallSign, &u.PasswordHash, &u.SessionEpoch, &u.DisabledAt, &u.LockedUntil, &u.CreatedAt, &u.Language)
	u.Role = account.Role(role)
	return &u, err
}

// UserByID returns the user with the given id.
func (db *DB) UserByID(ctx context.Context, id int64) (*account.User, error) {
	u, err := scanUser(db.Pool.QueryRow(ctx, `SELECT `+userColumns+userFrom+`WHERE u.id = $1`, id))
	return u, mapErr(err, "user")
}

// UserByUsername returns the user with the given (normalised) username.
func (db *DB) UserByUsername(ctx context.Context, username string) (*account.User, error) {
	u, err := scanUser(db.Pool.QueryRow(ctx, `SELECT `+userColumns+userFrom+`WHERE u.username = $1`,
		account.NormalizeUsername(username)))
	return u, mapErr(err, "user")
}

// ListUsers returns every user ordered by username.
func (db *DB) ListUsers(ctx context.Context) ([]*account.User, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+userColumns+userFrom+`ORDER BY u.username`)
	if err != nil {
		return nil, mapErr(err, "")
	}
	defer rows.Close()
	var out []*account.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, mapErr(err, "")
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err(), "")
}

// districtID resolves a district code typed into a user form; "" is NULL.
func districtID(ctx context.Context, q pgx.Tx, code, field string) (*int64, error) {
	if code == "" {
		return nil, nil
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM districts WHERE code = $1`, code).Scan(&id)
	if err == pgx.ErrNoRows {
		return nil, &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{field: apperr.M("account.err.no_district")}}
	}
	return &id, mapErr(err, "")
}

// unitID resolves a unit call sign typed into a user form; "" is NULL.
func unitID(ctx context.Context, q pgx.Tx, callSign string) (*int64, error) {
	if callSign == "" {
		return nil, nil
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM units WHERE call_sign = $1`, callSign).Scan(&id)
	if err == pgx.ErrNoRows {
		return nil, &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{"unit": apperr.M("account.err.no_unit")}}
	}
	return &id, mapErr(err, "")
}

// userFields are a user's fields as the audit trail records them: never
// the password or its hash.
func userFields(u *account.User) map[string]any {
	return map[string]any{"full_name": u.FullName, "role": string(u.Role), "district": u.DistrictCode, "unit": u.UnitCallSign}
}

// userChange locks the user id, makes a change with change (which returns
// the audit detail) and writes the audit row of action, in one
// transaction: no unaudited change. The record is the user's username, as
// in the audit rows of logins.
func (db *DB) userChange(ctx context.Context, id int64, by audit.Actor, action string,
	change func(tx pgx.Tx, before *account.User) (map[string]any, error)) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+userFrom+`WHERE u.id = $1 FOR UPDATE OF u`, id))
		if err != nil {
			return err
		}
		detail, err := change(tx, u)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: action, RecordType: "user", RecordID: u.Username, Detail: detail})
	})
	return mapErr(err, "user")
}

// CreateUser validates d, hashes its password and stores the user, audited
// as by's action ("user.create").
func (db *DB) CreateUser(ctx context.Context, d account.Draft, by audit.Actor) (*account.User, error) {
	if err := d.Validate(true); err != nil {
		return nil, err
	}
	hash, err := account.HashPassword(d.Password)
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "")
	}
	var u *account.User
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		did, err := districtID(ctx, tx, d.District, "district")
		if err != nil {
			return err
		}
		uid, err := unitID(ctx, tx, d.Unit)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO users (username, full_name, role, district_id, unit_id, password_hash)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, d.Username, d.FullName, d.Role, did, uid, hash).Scan(&id); err != nil {
			return err
		}
		if u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+userFrom+`WHERE u.id = $1`, id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "user.create", RecordType: "user", RecordID: u.Username,
			Detail: changeDetail(nil, userFields(u))})
	})
	if err != nil {
		return nil, mapErr(err, "user")
	}
	return u, nil
}

// UpdateUser changes a user's name, role and district, audited as by's
// action ("user.update", with the fields changed before and after). A
// change of role or district ends the user's sessions, so that new rights
// start with a new login.
func (db *DB) UpdateUser(ctx context.Context, id int64, d account.Draft, by audit.Actor) error {
	if err := d.Validate(false); err != nil {
		return err
	}
	return db.userChange(ctx, id, by, "user.update", func(tx pgx.Tx, before *account.User) (map[string]any, error) {
		did, err := districtID(ctx, tx, d.District, "district")
		if err != nil {
			return nil, err
		}
		uid, err := unitID(ctx, tx, d.Unit)
		if err != nil {
			return nil, err
		}
		if err := execOneTx(ctx, tx, `UPDATE users SET full_name = $2, role = $3, district_id = $4, unit_id = $5,
			session_epoch = session_epoch + CASE WHEN role <> $3 OR district_id IS DISTINCT FROM $4 THEN 1 ELSE 0 END,
			updated_at = now() WHERE id = $1`, id, d.FullName, d.Role, did, uid); err != nil {
			return nil, err
		}
		after, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+userFrom+`WHERE u.id = $1`, id))
		if err != nil {
			return nil, err
		}
		detail := changeDetail(userFields(before), userFields(after))
		if after.SessionEpoch != before.SessionEpoch {
			detail["sessions_ended"] = true
		}
		return detail, nil
	})
}

// SetPassword checks and stores a new password, ends every session of
// the user and lifts a lockout (the failed logins were against the old
// password), audited as by's action: "account.password_change" when by is
// the user, "user.password_reset" otherwise. The audit row never holds the
// password or its hash.
func (db *DB) SetPassword(ctx context.Context, id int64, password string, by audit.Actor) error {
	if err := account.PasswordError(password); err != nil {
		return err
	}
	hash, err := account.HashPassword(password)
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "")
	}
	action := "user.password_reset"
	if by.UserID == id {
		action = "account.password_change"
	}
	return db.userChange(ctx, id, by, action, func(tx pgx.Tx, before *account.User) (map[string]any, error) {
		detail := map[string]any{"sessions_ended": true}
		if before.LockedUntil != nil && before.LockedUntil.After(time.Now()) {
			detail["locked_until"] = before.LockedUntil.UTC().Format(time.RFC3339) // the lock lifted
		}
		return detail, execOneTx(ctx, tx, `UPDATE users SET password_hash = $2,
			password_changed_at = now(), session_epoch = session_epoch + 1,
			failed_logins = 0, failed_since = NULL, locked_until = NULL, updated_at = now() WHERE id = $1`, id, hash)
	})
}

// SetDisabled disables (ending every session) or re-enables a user,
// audited as by's action ("user.disable", "user.enable").
func (db *DB) SetDisabled(ctx context.Context, id int64, disabled bool, by audit.Actor) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return db.userChange(ctx, id, by, action, func(tx pgx.Tx, before *account.User) (map[string]any, error) {
		detail := changeDetail(map[string]any{"disabled": before.Disabled()}, map[string]any{"disabled": disabled})
		if disabled {
			detail["sessions_ended"] = true
			return detail, execOneTx(ctx, tx, `UPDATE users SET disabled_at = coalesce(disabled_at, now()),
				session_epoch = session_epoch + 1, updated_at = now() WHERE id = $1`, id)
		}
		return detail, execOneTx(ctx, tx, `UPDATE users SET disabled_at = NULL, updated_at = now() WHERE id = $1`, id)
	})
}

// EndSessions ends every session of the user at their next request,
// audited as by's action ("user.end_sessions").
func (db *DB) EndSessions(ctx context.Context, id int64, by audit.Actor) error {
	return db.userChange(ctx, id, by, "user.end_sessions", func(tx pgx.Tx, _ *account.User) (map[string]any, error) {
		return map[string]any{"sessions_ended": true},
			execOneTx(ctx, tx, `UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1`, id)
	})
}

// execOne runs a statement that must change exactly one row.
func (db *DB) execOne(ctx context.Context, what, sql string, args ...any) error {
	tag, err := db.Pool.Exec(ctx, sql, args...)
	if err != nil {
		return mapErr(err, what)
	}
	if tag.RowsAffected() == 0 {
		return mapErr(pgx.ErrNoRows, what)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their expiry; run it
// periodically (expired sessions are refused anyway, this only reclaims
// space and leaves no stale personal context behind).
func (db *DB) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM sessions WHERE expiry < now()`)
	return tag.RowsAffected(), mapErr(err, "")
}

// RecordLoginFailure counts a failed login; the MaxFailedLogins-th failure
// within FailureWindow locks the account for LockDuration. It returns the
// time the account is locked until, if it is.
func (db *DB) RecordLoginFailure(ctx context.Context, id int64) (*time.Time, error) {
	var locked *time.Time
	err := db.Pool.QueryRow(ctx, `UPDATE users SET
			failed_logins = CASE WHEN failed_since IS NULL OR failed_since < now() - $2 * interval '1 second' THEN 1 ELSE failed_logins + 1 END,
			failed_since = CASE WHEN failed_since IS NULL OR failed_since < now() - $2 * interval '1 second' THEN now() ELSE failed_since END,
			locked_until = CASE WHEN failed_since IS NOT NULL AND failed_since >= now() - $2 * interval '1 second' AND failed_logins + 1 >= $3
				THEN now() + $4 * interval '1 second' ELSE locked_until END
		WHERE id = $1 RETURNING CASE WHEN locked_until > now() THEN locked_until END`,
		id, int(account.FailureWindow.Seconds()), account.MaxFailedLogins, int(account.LockDuration.Seconds())).Scan(&locked)
	return locked, mapErr(err, "user")
}

// nameHash is the key of a username in login_failures: the SHA-256 of
// the normalised name, so that the table holds no typed name in clear.
func nameHash(username string) []byte {
	h := sha256.Sum256([]byte(account.NormalizeUsername(username)))
	return h[:]
}

// NameLockedUntil returns the end of the lock of a username that is no
// account (nil when it is not locked, or was never tried): the lockout of
// RecordLoginFailure, applied to a name, so that trying an unknown name
// answers exactly as trying an account does.
func (db *DB) NameLockedUntil(ctx context.Context, username string) (*time.Time, error) {
	var locked *time.Time
	err := db.Pool.QueryRow(ctx, `SELECT locked_until FROM login_failures WHERE name_hash = $1`, nameHash(username)).Scan(&locked)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	return locked, mapErr(err, "")
}

// RecordNameFailure counts a failed login for a username that is no
// account, by the rule of RecordLoginFailure, without creating a user. It
// returns the time the name is locked until, if it is.
func (db *DB) RecordNameFailure(ctx context.Context, username string) (*time.Time, error) {
	var locked *time.Time
	err := db.Pool.QueryRow(ctx, `INSERT INTO login_failures AS f (name_hash, failed_logins, failed_since) VALUES ($1, 1, now())
		ON CONFLICT (name_hash) DO UPDATE SET
			failed_logins = CASE WHEN f.failed_since IS NULL OR f.failed_since < now() - $2 * interval '1 second' THEN 1 ELSE f.failed_logins + 1 END,
			failed_since = CASE WHEN f.failed_since IS NULL OR f.failed_since < now() - $2 * interval '1 second' THEN now() ELSE f.failed_since END,
			locked_until = CASE WHEN f.failed_since IS NOT NULL AND f.failed_since >= now() - $2 * interval '1 second' AND f.failed_logins + 1 >= $3
				THEN now() + $4 * interval '1 second' ELSE f.locked_until END
		RETURNING CASE WHEN locked_until > now() THEN locked_until END`,
		nameHash(username), int(account.FailureWindow.Seconds()), account.MaxFailedLogins, int(account.LockDuration.Seconds())).Scan(&locked)
	return locked, mapErr(err, "")
}

// DeleteStaleLoginFailures removes the failure counts of unknown names
// whose window and lock have both passed (they count for nothing any
// more); run it periodically.
func (db *DB) DeleteStaleLoginFailures(ctx context.Context) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM login_failures
		WHERE (failed_since IS NULL OR failed_since < now() - $1 * interval '1 second')
		AND (locked_until IS NULL OR locked_until < now())`, int(account.FailureWindow.Seconds()))
	return tag.RowsAffected(), mapErr(err, "")
}

// RecordLoginSuccess clears the failure count.
func (db *DB) RecordLoginSuccess(ctx context.Context, id int64) error {
	return db.execOne(ctx, "user", `UPDATE users SET failed_logins = 0, failed_since = NULL WHERE id = $1`, id)
}

// Unlock lifts a lockout (an administrator's action), audited as by's
// action ("user.unlock", with the lock's end that was lifted, if any).
func (db *DB) Unlock(ctx context.Context, id int64, by audit.Actor) error {
	return db.userChange(ctx, id, by, "user.unlock", func(tx pgx.Tx, before *account.User) (map[string]any, error) {
		var detail map[string]any
		if before.LockedUntil != nil {
			detail = map[string]any{"locked_until": before.LockedUntil.UTC().Format(time.RFC3339)}
		}
		return detail, execOneTx(ctx, tx, `UPDATE users SET failed_logins = 0, failed_since = NULL, locked_until = NULL WHERE id = $1`, id)
	})
}

// SetLanguage stores the language a user chose for the interface ("" for
// the deployment's default). It is a preference, not a security change:
// sessions go on, and it is not audited.
func (db *DB) SetLanguage(ctx context.Context, id int64, lang string) error {
	var v any
	if lang != "" {
		v = lang
	}
	return db.execOne(ctx, "user", `UPDATE users SET language = $2, updated_at = now() WHERE id = $1`, id, v)
}
