package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
)

// The shared TOTP secret is stored as text. Encrypting it at rest would
// need a key kept outside the database (configuration); see the note at
// users.totp_secret in migrations/0007_totp.up.sql.

// SecondFactor returns the user's TOTP enrolment and whether their role
// requires one.
func (db *DB) SecondFactor(ctx context.Context, userID int64) (account.SecondFactor, error) {
	var f account.SecondFactor
	err := db.Pool.QueryRow(ctx, `SELECT coalesce(u.totp_secret, ''), u.totp_enabled_at, coalesce(u.totp_last_step, 0),
			coalesce(p.require_totp, false)
		FROM users u LEFT JOIN role_policy p ON p.role = u.role WHERE u.id = $1`, userID).
		Scan(&f.Secret, &f.EnabledAt, &f.LastStep, &f.Required)
	return f, mapErr(err, "user")
}

// PendingTOTPSecret returns the secret the user is enrolling with, storing
// secret as that one when there is none yet (so a reloaded enrolment page
// shows the secret the user may already have scanned). It is a Conflict
// when the user's second factor is already on.
func (db *DB) PendingTOTPSecret(ctx context.Context, userID int64, secret string) (string, error) {
	var got string
	err := db.Pool.QueryRow(ctx, `UPDATE users SET totp_secret = coalesce(totp_secret, $2)
		WHERE id = $1 AND totp_enabled_at IS NULL RETURNING totp_secret`, userID, secret).Scan(&got)
	if err == pgx.ErrNoRows {
		if _, err := db.UserByID(ctx, userID); err != nil {
			return "", err
		}
		return "", apperr.New(apperr.Conflict, "totp.err.already_on")
	}
	return got, mapErr(err, "user")
}

// EnableTOTP turns the user's pending secret on, recording step (that of
// the code that confirmed it) as the last one used, and audits it. The
// secret must still be the one the code was checked against.
func (db *DB) EnableTOTP(ctx context.Context, userID int64, secret string, step int64, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var username string
		err := tx.QueryRow(ctx, `UPDATE users SET totp_enabled_at = now(), totp_last_step = $3, updated_at = now()
			WHERE id = $1 AND totp_secret = $2 AND totp_enabled_at IS NULL RETURNING username`,
			userID, secret, step).Scan(&username)
		if err == pgx.ErrNoRows {
			return apperr.New(apperr.Conflict, "totp.err.setup_changed")
		}
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "totp.enable", RecordType: "user", RecordID: username})
	})
	return mapErr(err, "user")
}

// AcceptTOTPStep records step as the user's last accepted code, if it is
// later than the last one: it reports false for a code of a step already
// used (a replay), even when two requests race with the same code.
func (db *DB) AcceptTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `UPDATE users SET totp_last_step = $2
		WHERE id = $1 AND totp_enabled_at IS NOT NULL AND coalesce(totp_last_step, -1) < $2`, userID, step)
	if err != nil {
		return false, mapErr(err, "user")
	}
	return tag.RowsAffected() == 1, nil
}

// DisableTOTP removes the user's second factor (on or pending) and audits
// it. endSessions also ends every session of the user: an administrator's
// reset after a lost phone.
func (db *DB) DisableTOTP(ctx context.Context, userID int64, endSessions bool, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var username string
		var was bool
		err := tx.QueryRow(ctx, `UPDATE users u SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL,
				session_epoch = u.session_epoch + CASE WHEN $2 AND old.totp_enabled_at IS NOT NULL THEN 1 ELSE 0 END, updated_at = now()
			FROM users old WHERE old.id = u.id AND u.id = $1
			RETURNING u.username, old.totp_enabled_at IS NOT NULL`, userID, endSessions).Scan(&username, &was)
		if err != nil {
			return err
		}
		if !was {
			return nil // nothing was on: nothing to audit
		}
		detail := map[string]any{}
		if by.UserID != userID {
			detail["reset_by_admin"] = true
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "totp.disable", RecordType: "user", RecordID: username,
			Detail: detail})
	})
	return mapErr(err, "user")
}

// RolePolicies returns, for every role, whether it requires a second
// factor.
func (db *DB) RolePolicies(ctx context.Context) (map[account.Role]bool, error) {
	out := map[account.Role]bool{}
	for _, r := range account.Roles {
		out[r] = false
	}
	rows, err := db.Pool.Query(ctx, `SELECT role, require_totp FROM role_policy`)
	if err != nil {
		return nil, mapErr(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var role string
		var req bool
		if err := rows.Scan(&role, &req); err != nil {
			return nil, mapErr(err, "")
		}
		out[account.Role(role)] = req
	}
	return out, mapErr(rows.Err(), "")
}

// SetRolePolicies stores which roles require a second factor and audits
// the change. Users of a role that newly requires one and who have none
// are logged out everywhere: their next login makes them set it up. It
// returns how many users that logged out.
func (db *DB) SetRolePolicies(ctx context.Context, require map[account.Role]bool, by audit.Actor) (int64, error) {
	var ended int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// Serialise policy changes: each reads the old policy to know
		// which roles are newly required.
		if _, err := tx.Exec(ctx, `LOCK TABLE role_policy IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		old := map[string]bool{}
		rows, err := tx.Query(ctx, `SELECT role, require_totp FROM role_policy`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var role string
			var req bool
			if err := rows.Scan(&role, &req); err != nil {
				rows.Close()
				return err
			}
			old[role] = req
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var newly, required []string
		for _, r := range account.Roles {
			req := require[r]
			if req {
				required = append(required, string(r))
				if !old[string(r)] {
					newly = append(newly, string(r))
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO role_policy (role, require_totp) VALUES ($1, $2)
				ON CONFLICT (role) DO UPDATE SET require_totp = excluded.require_totp`, string(r), req); err != nil {
				return err
			}
		}
		if len(newly) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE users SET session_epoch = session_epoch + 1
				WHERE role = ANY($1) AND totp_enabled_at IS NULL AND disabled_at IS NULL`, newly)
			if err != nil {
				return err
			}
			ended = tag.RowsAffected()
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "totp.policy", RecordType: "role_policy",
			RecordID: "require_totp", Detail: map[string]any{"require_totp": strings.Join(required, ","), "sessions_ended": ended}})
	})
	return ended, mapErr(err, "")
}

// SecondFactorUser is a user with a second factor on, for the
// administrators' list.
type SecondFactorUser struct {
	ID        int64
	Username  string
	Role      account.Role
	EnabledAt time.Time
}

// SecondFactorUsers lists the users whose second factor is on.
func (db *DB) SecondFactorUsers(ctx context.Context) ([]SecondFactorUser, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, username, role, totp_enabled_at FROM users
		WHERE totp_enabled_at IS NOT NULL ORDER BY username`)
	if err != nil {
		return nil, mapErr(err, "")
	}
	defer rows.Close()
	var out []SecondFactorUser
	for rows.Next() {
		var u SecondFactorUser
		var role string
		if err := rows.Scan(&u.ID, &u.Username, &role, &u.EnabledAt); err != nil {
			return nil, mapErr(err, "")
		}
		u.Role = account.Role(role)
		out = append(out, u)
	}
	return out, mapErr(rows.Err(), "")
}
