package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
)

const userColumns = `u.id, u.username, u.full_name, u.role, u.district_id, coalesce(d.code, ''),
	u.unit_id, coalesce(un.call_sign, ''), u.password_hash, u.session_epoch, u.disabled_at, u.locked_until, u.created_at`

const userFrom = ` FROM users u LEFT JOIN districts d ON d.id = u.district_id LEFT JOIN units un ON un.id = u.unit_id `

func scanUser(row pgx.Row) (*account.User, error) {
	var u account.User
	var role string
	err := row.Scan(&u.ID, &u.Username, &u.FullName, &role, &u.DistrictID, &u.DistrictCode,
		&u.UnitID, &u.UnitCallSign, &u.PasswordHash, &u.SessionEpoch, &u.DisabledAt, &u.LockedUntil, &u.CreatedAt)
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
		return nil, &apperr.Error{Code: apperr.Invalid, Message: "Please correct the fields marked below.",
			Fields: map[string]string{field: "No district has this code."}}
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
		return nil, &apperr.Error{Code: apperr.Invalid, Message: "Please correct the fields marked below.",
			Fields: map[string]string{"unit": "No unit has this call sign."}}
	}
	return &id, mapErr(err, "")
}

// CreateUser validates d, hashes its password and stores the user.
func (db *DB) CreateUser(ctx context.Context, d account.Draft) (*account.User, error) {
	if err := d.Validate(true); err != nil {
		return nil, err
	}
	hash, err := account.HashPassword(d.Password)
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "")
	}
	var id int64
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		did, err := districtID(ctx, tx, d.District, "district")
		if err != nil {
			return err
		}
		uid, err := unitID(ctx, tx, d.Unit)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO users (username, full_name, role, district_id, unit_id, password_hash)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, d.Username, d.FullName, d.Role, did, uid, hash).Scan(&id)
	})
	if err != nil {
		return nil, mapErr(err, "user")
	}
	return db.UserByID(ctx, id)
}

// UpdateUser changes a user's name, role and district. A change of role or
// district ends the user's sessions, so that new rights start with a new
// login.
func (db *DB) UpdateUser(ctx context.Context, id int64, d account.Draft) error {
	if err := d.Validate(false); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		did, err := districtID(ctx, tx, d.District, "district")
		if err != nil {
			return err
		}
		uid, err := unitID(ctx, tx, d.Unit)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET full_name = $2, role = $3, district_id = $4, unit_id = $5,
			session_epoch = session_epoch + CASE WHEN role <> $3 OR district_id IS DISTINCT FROM $4 THEN 1 ELSE 0 END,
			updated_at = now() WHERE id = $1`, id, d.FullName, d.Role, did, uid)
		if err == nil && tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return err
	})
	return mapErr(err, "user")
}

// SetPassword checks and stores a new password and ends every session of
// the user.
func (db *DB) SetPassword(ctx context.Context, id int64, password string) error {
	if msg := account.PasswordProblem(password); msg != "" {
		return &apperr.Error{Code: apperr.Invalid, Message: msg, Fields: map[string]string{"password": msg}}
	}
	hash, err := account.HashPassword(password)
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "")
	}
	return db.execOne(ctx, "user", `UPDATE users SET password_hash = $2, password_changed_at = now(),
		session_epoch = session_epoch + 1, updated_at = now() WHERE id = $1`, id, hash)
}

// SetDisabled disables (ending every session) or re-enables a user.
func (db *DB) SetDisabled(ctx context.Context, id int64, disabled bool) error {
	if disabled {
		return db.execOne(ctx, "user", `UPDATE users SET disabled_at = coalesce(disabled_at, now()),
			session_epoch = session_epoch + 1, updated_at = now() WHERE id = $1`, id)
	}
	return db.execOne(ctx, "user", `UPDATE users SET disabled_at = NULL, updated_at = now() WHERE id = $1`, id)
}

// EndSessions ends every session of the user at their next request.
func (db *DB) EndSessions(ctx context.Context, id int64) error {
	return db.execOne(ctx, "user", `UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1`, id)
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

// RecordLoginSuccess clears the failure count.
func (db *DB) RecordLoginSuccess(ctx context.Context, id int64) error {
	return db.execOne(ctx, "user", `UPDATE users SET failed_logins = 0, failed_since = NULL WHERE id = $1`, id)
}

// Unlock lifts a lockout (an administrator's action).
func (db *DB) Unlock(ctx context.Context, id int64) error {
	return db.execOne(ctx, "user", `UPDATE users SET failed_logins = 0, failed_since = NULL, locked_until = NULL WHERE id = $1`, id)
}
