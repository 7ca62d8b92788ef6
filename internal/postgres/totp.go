package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
)

// The shared TOTP secret is sealed (AES-256-GCM, bound to the user's id;
// see account.SealTOTPSecret) under the key given to SetTOTPKey, which
// comes from configuration (DVR_TOTP_KEY) and never from the database.
// Without a key it is stored in clear, as before migration 0012. Callers
// see only the opened base32 secret.

// SetTOTPKey sets the key (account.TOTPKeySize bytes) that seals the
// users' TOTP secrets; nil stores them in clear. Set it before the DB is
// used: it is not safe to change while other calls run.
func (db *DB) SetTOTPKey(key []byte) { db.totpKey = key }

// openTOTP opens userID's stored secret ("" stays "").
func (db *DB) openTOTP(userID int64, stored string) (string, error) {
	if stored == "" {
		return "", nil
	}
	s, err := account.OpenTOTPSecret(db.totpKey, userID, stored)
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, fmt.Errorf("user %d: %w", userID, err), "")
	}
	return s, nil
}

// sealTOTP is userID's secret as it is stored: sealed when there is a key.
func (db *DB) sealTOTP(userID int64, secret string) (string, error) {
	if db.totpKey == nil {
		return secret, nil
	}
	s, err := account.SealTOTPSecret(db.totpKey, userID, secret)
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "")
	}
	return s, nil
}

// SealTOTPSecret is userID's secret sealed as the store seals it (in
// clear without a key), for a secret kept outside the users table: the
// one a set-up holds in its session until a code confirms it.
func (db *DB) SealTOTPSecret(userID int64, secret string) (string, error) {
	return db.sealTOTP(userID, secret)
}

// OpenTOTPSecret opens what SealTOTPSecret returned for userID.
func (db *DB) OpenTOTPSecret(userID int64, stored string) (string, error) {
	return db.openTOTP(userID, stored)
}

// SecondFactor returns the user's TOTP enrolment, the number of their
// latest set-up and whether their role requires a second factor.
func (db *DB) SecondFactor(ctx context.Context, userID int64) (account.SecondFactor, error) {
	var f account.SecondFactor
	var stored string
	err := db.Pool.QueryRow(ctx, `SELECT coalesce(u.totp_secret, ''), u.totp_enabled_at, coalesce(u.totp_last_step, 0),
			u.totp_setup, coalesce(p.require_totp, false)
		FROM users u LEFT JOIN role_policy p ON p.role = u.role WHERE u.id = $1`, userID).
		Scan(&stored, &f.EnabledAt, &f.LastStep, &f.Setup, &f.Required)
	if err != nil {
		return f, mapErr(err, "user")
	}
	f.Secret, err = db.openTOTP(userID, stored)
	return f, err
}

// StartTOTPSetup starts a new set-up of the user's second factor and
// returns its number: from now on only a secret confirmed under that
// number can be turned on (EnableTOTP), so the secret of any earlier
// set-up (another login, another browser) is worthless. The secret itself
// is not stored. It is a Conflict when the user's second factor is
// already on.
func (db *DB) StartTOTPSetup(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := db.Pool.QueryRow(ctx, `UPDATE users SET totp_setup = totp_setup + 1
		WHERE id = $1 AND totp_enabled_at IS NULL RETURNING totp_setup`, userID).Scan(&n)
	if err == pgx.ErrNoRows {
		if _, err := db.UserByID(ctx, userID); err != nil {
			return 0, err
		}
		return 0, apperr.New(apperr.Conflict, "totp.err.already_on")
	}
	return n, mapErr(err, "user")
}

// EnableTOTP turns the user's second factor on with secret, the secret of
// set-up number setup, which a code (of time step step, recorded as the
// last one used) confirmed; it stores the secret (sealed) and audits it.
// It is a Conflict when setup is no longer the user's latest set-up, or
// the second factor is already on.
func (db *DB) EnableTOTP(ctx context.Context, userID int64, secret string, setup, step int64, by audit.Actor) error {
	if secret == "" {
		return apperr.New(apperr.Invalid, "totp.err.setup_changed")
	}
	sealed, err := db.sealTOTP(userID, secret)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var username string
		var latest int64
		err := tx.QueryRow(ctx, `SELECT username, totp_setup FROM users
			WHERE id = $1 AND totp_enabled_at IS NULL FOR UPDATE`, userID).Scan(&username, &latest)
		if err == pgx.ErrNoRows {
			return apperr.New(apperr.Conflict, "totp.err.setup_changed")
		}
		if err != nil {
			return err
		}
		if latest != setup {
			return apperr.New(apperr.Conflict, "totp.err.setup_changed")
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3, updated_at = now()
			WHERE id = $1`, userID, sealed, step); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "totp.enable", RecordType: "user", RecordID: username})
	})
	return mapErr(err, "user")
}

// SealTOTPSecrets seals, in one transaction, every TOTP secret still
// stored in clear (from before the key was set), and returns how many it
// sealed; a second run seals none. It also checks that every sealed
// secret opens with the key, and returns an error saying how many do not
// (a key other than the one that sealed them: their users could not log
// in). It needs a key (SetTOTPKey).
func (db *DB) SealTOTPSecrets(ctx context.Context) (int64, error) {
	if db.totpKey == nil {
		return 0, errors.New("no key to seal second-factor secrets with (DVR_TOTP_KEY)")
	}
	var n int64
	var unopened int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL ORDER BY id FOR UPDATE`)
		if err != nil {
			return err
		}
		ids, sealed := []int64{}, []string{}
		for rows.Next() {
			var id int64
			var stored string
			if err := rows.Scan(&id, &stored); err != nil {
				rows.Close()
				return err
			}
			if account.IsSealedTOTPSecret(stored) {
				if _, err := account.OpenTOTPSecret(db.totpKey, id, stored); err != nil {
					unopened++
				}
				continue
			}
			s, err := account.SealTOTPSecret(db.totpKey, id, stored)
			if err != nil {
				rows.Close()
				return err
			}
			ids, sealed = append(ids, id), append(sealed, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE users u SET totp_secret = s.secret
			FROM unnest($1::bigint[], $2::text[]) AS s(id, secret) WHERE u.id = s.id`, ids, sealed)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, mapErr(err, "")
	}
	if unopened > 0 {
		return n, fmt.Errorf("%d sealed second-factor secrets do not open with DVR_TOTP_KEY: is it the key that sealed them?", unopened)
	}
	return n, nil
}

// SealedTOTPSecrets counts the sealed TOTP secrets: without a key, their
// users cannot log in.
func (db *DB) SealedTOTPSecrets(ctx context.Context) (int64, error) {
	var n int64
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE totp_secret LIKE 'v1:%'`).Scan(&n)
	return n, mapErr(err, "")
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
