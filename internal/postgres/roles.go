package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// RoleInfo is what the connected role may do to the audit trail beyond
// appending to it and reading it.
type RoleInfo struct {
	Name      string
	Superuser bool // may do anything, disable the append-only triggers included
	OwnsAudit bool // owns audit_events, or may become its owner: may disable or drop its triggers
	// MayChangeAudit: holds UPDATE, DELETE or TRUNCATE on audit_events
	// (only the triggers stop them).
	MayChangeAudit bool
}

// AuditRole reports what the role the pool connects as may do to
// audit_events.
func (db *DB) AuditRole(ctx context.Context) (RoleInfo, error) {
	var r RoleInfo
	err := db.Pool.QueryRow(ctx, `SELECT current_user, r.rolsuper, pg_has_role(current_user, c.relowner, 'MEMBER'),
			has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE')
		FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.oid = 'audit_events'::regclass`).
		Scan(&r.Name, &r.Superuser, &r.OwnsAudit, &r.MayChangeAudit)
	return r, mapErr(err, "")
}

// GrantAppRole gives role (created, with LOGIN, when missing) what `serve`
// needs and no more: SELECT, INSERT, UPDATE, DELETE and TRUNCATE on every
// table of the schema but two, only SELECT and INSERT on audit_events (so
// it can neither change nor remove a row, nor alter or disable a trigger,
// which takes the owner), only SELECT on schema_migrations, and the
// sequences of the tables it writes. A password, when given, is set
// (hashed with SCRAM-SHA-256 here, so that the clear password never
// reaches the server or its logs). Run it as the schema's owner after
// every migration, since new tables need the grants too. It refuses a role
// that is a superuser, the owner, or the connected role: those could
// disable the triggers. It reports whether it created the role.
func (db *DB) GrantAppRole(ctx context.Context, role, password string) (bool, error) {
	if role == "" {
		return false, errors.New("no application role named")
	}
	verifier := ""
	if password != "" {
		var err error
		if verifier, err = scramVerifier(password); err != nil {
			return false, err
		}
	}
	ident := pgx.Identifier{role}.Sanitize()
	created := false
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var super, owner, self bool
		err := tx.QueryRow(ctx, `SELECT r.rolsuper, pg_has_role(r.oid, c.relowner, 'MEMBER'), r.rolname = current_user
			FROM pg_roles r, pg_class c WHERE r.rolname = $1 AND c.oid = 'audit_events'::regclass`, role).Scan(&super, &owner, &self)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := tx.Exec(ctx, `CREATE ROLE `+ident+` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`); err != nil {
				return fmt.Errorf("create role %s (the role running migrate needs CREATEROLE; or create it first: "+
					"CREATE ROLE %s LOGIN): %w", role, ident, err)
			}
			created = true
		case err != nil:
			return err
		case super || owner || self:
			return fmt.Errorf("the application role %s is a superuser, owns audit_events or is the role running migrate: "+
				"it could disable the audit trail's append-only triggers; name another role", role)
		}
		if verifier != "" {
			// The verifier holds only [A-Za-z0-9+/=:$-]: nothing to escape.
			if _, err := tx.Exec(ctx, `ALTER ROLE `+ident+` PASSWORD '`+verifier+`'`); err != nil {
				return fmt.Errorf("set the password of role %s: %w", role, err)
			}
		}
		for _, q := range []string{
			`GRANT USAGE ON SCHEMA public TO ` + ident,
			`GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO ` + ident,
			`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ` + ident,
			`REVOKE ALL ON audit_events FROM ` + ident,
			`GRANT SELECT, INSERT ON audit_events TO ` + ident,
			`REVOKE ALL ON schema_migrations FROM ` + ident,
			`GRANT SELECT ON schema_migrations TO ` + ident,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("grant role %s: %w", role, err)
			}
		}
		// audit_events' identity sequence: INSERT alone assigns ids; the
		// role must not draw (and so skip) any.
		var seq *string
		if err := tx.QueryRow(ctx, `SELECT pg_get_serial_sequence('audit_events', 'id')`).Scan(&seq); err != nil {
			return err
		}
		if seq != nil {
			if _, err := tx.Exec(ctx, `REVOKE ALL ON SEQUENCE `+*seq+` FROM `+ident); err != nil {
				return fmt.Errorf("grant role %s: %w", role, err)
			}
		}
		return nil
	})
	return created, err
}

// scramIterations is PostgreSQL's own default (scram_iterations).
const scramIterations = 4096

// scramVerifier returns the SCRAM-SHA-256 verifier of password as
// PostgreSQL stores it (RFC 5802, RFC 7677), so that ALTER ROLE ... PASSWORD
// sends no clear password. Only printable ASCII is accepted: PostgreSQL
// normalises other passwords (SASLprep) before hashing, and this does not.
func scramVerifier(password string) (string, error) {
	for _, r := range password {
		if r < 0x21 || r > 0x7e {
			return "", errors.New("the application role's password: use printable ASCII without spaces (e.g. openssl rand -base64 24)")
		}
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(scramIterations) + ":" + b64(salt) + "$" + b64(stored[:]) + ":" +
		b64(mac(salted, "Server Key")), nil
}
