package main

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// asRole is dbURL reached as role, without a password (the test server
// trusts local connections).
func asRole(t *testing.T, dbURL, role string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// appRole names a role for one test (roles are shared by every database
// of the server, and by the tests of other checkouts) and drops it when
// the test ends.
func appRole(t *testing.T, dbURL string) string {
	t.Helper()
	role := "dvr_app_test_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, superuserURL(t, dbURL))
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP OWNED BY `+pgx.Identifier{role}.Sanitize()+`; DROP ROLE IF EXISTS `+
			pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	return role
}

// TestAppRoleCannotTouchAuditTrail: `migrate up` with DVR_APP_ROLE makes
// an application role that serve runs as, without a warning, and that can
// append to the audit trail and read it but not change, delete or empty it,
// nor alter, drop or bypass its triggers.
func TestAppRoleCannotTouchAuditTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, _ := auditTrail(t, 3)
	role := appRole(t, dbURL)
	owner := newKeyedCLI(t, superuserURL(t, dbURL)) // the role that runs migrations (and may create roles)
	owner.env["DVR_APP_ROLE"] = role
	owner.env["DVR_APP_PASSWORD"] = "app-role-password-0123"
	if out := owner.mustRun("", "migrate", "up"); !strings.Contains(out, "application role "+role+" created and granted") {
		t.Errorf("migrate up with DVR_APP_ROLE printed %q, want the role created", out)
	}
	if out := owner.mustRun("", "migrate", "up"); !strings.Contains(out, "application role "+role+" granted") {
		t.Errorf("migrate up again printed %q, want the role granted again", out)
	}
	var verifier string
	su, err := pgx.Connect(ctx, superuserURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(ctx)
	if err := su.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&verifier); err != nil ||
		!strings.HasPrefix(verifier, "SCRAM-SHA-256$4096:") || strings.Contains(verifier, "app-role-password") {
		t.Errorf("the role's stored password is %q (%v), want a SCRAM-SHA-256 verifier", verifier, err)
	}

	appURL := asRole(t, dbURL, role)
	db, err := postgres.Open(ctx, appURL, postgres.Options{MaxConns: 2, AuditKey: testAuditKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Audit(ctx, audit.Entry{Actor: audit.Actor{Username: "ann"}, Action: "login"}); err != nil {
		t.Errorf("the application role cannot append to the audit trail: %v", err)
	}
	if n, problem, err := db.VerifyAudit(ctx); err != nil || problem != nil || n != 4 {
		t.Errorf("the application role reads %d rows of the trail, problem %+v, err %v; want 4 intact", n, problem, err)
	}

	for _, q := range []string{
		`UPDATE audit_events SET outcome = 'denied'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change`,
		`ALTER TABLE audit_events DISABLE TRIGGER ALL`,
		`DROP TRIGGER audit_events_no_change ON audit_events`,
		`CREATE TRIGGER sneak BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`,
		`CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
		`ALTER TABLE audit_events DROP COLUMN key_id`,
		`DROP TABLE audit_events`,
		`SET session_replication_role = replica`,
		`SELECT nextval(pg_get_serial_sequence('audit_events', 'id'))`,
		`UPDATE schema_migrations SET version = version`,
	} {
		_, err := db.Pool.Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("as the application role, %s: %v, want insufficient_privilege (42501)", q, err)
		}
	}

	// serve runs as that role and says nothing about its role.
	app := newKeyedCLI(t, appURL)
	if logged := serveUntilReady(t, app); strings.Contains(logged, "database role") {
		t.Errorf("serve as the application role logged %q, want no warning about its role", logged)
	}

	// migrate refuses to make the owner, or itself, the application role.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	owner.env["DVR_APP_ROLE"] = u.User.Username() // pgtestdb's role, which owns the tables
	if _, _, err := owner.run(ctx, "", "migrate", "up"); err == nil || !strings.Contains(err.Error(), "could disable") {
		t.Errorf("migrate up with the tables' owner as DVR_APP_ROLE: %v, want a refusal", err)
	}
}

// TestServeWarnings: serve warns at every start while its role can undo
// the audit trail's protection, while a demo account has its public
// password, and while the audit chain has no key; and it logs the trail's
// head.
func TestServeWarnings(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	c := newKeyedCLI(t, dbURL) // as the tables' owner, as pgtestdb makes them
	c.mustRun("dispatch-demo-2026\n", "user", "add", "--username", "dispatcher", "--role", "dispatcher")
	logged := serveUntilReady(t, c)
	for _, want := range []string{
		"serve's database role owns audit_events",
		"demo accounts with public passwords are enabled",
		"accounts=dispatcher",
		"audit trail head",
		"head=" + auditHead(t, dbURL),
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("serve logged %q, want %q in it", logged, want)
		}
	}
	if strings.Contains(logged, "development key") {
		t.Errorf("serve with DVR_AUDIT_KEY logged %q, want no warning about the development key", logged)
	}

	// Its password changed, the account is no longer a public one.
	c.mustRun("a-new-password-2026\n", "user", "reset-password", "dispatcher")
	if logged := serveUntilReady(t, c); strings.Contains(logged, "demo accounts") {
		t.Errorf("serve after the demo password changed logged %q, want no demo-account warning", logged)
	}

	// As the superuser.
	su := newKeyedCLI(t, superuserURL(t, dbURL))
	if logged := serveUntilReady(t, su); !strings.Contains(logged, "serve's database role is a superuser") {
		t.Errorf("serve as a superuser logged %q, want a warning", logged)
	}

	// Without the key, on a trail keyed with it: refused.
	delete(c.env, "DVR_AUDIT_KEY")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := c.run(ctx, "", "serve"); err == nil || !strings.Contains(err.Error(), "DVR_AUDIT_KEY is not set") {
		t.Errorf("serve without the key on a keyed trail: %v, want a refusal naming DVR_AUDIT_KEY", err)
	}
	c.env["DVR_AUDIT_KEY"] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=" // another key
	if _, _, err := c.run(ctx, "", "serve"); err == nil || !strings.Contains(err.Error(), "not under DVR_AUDIT_KEY") {
		t.Errorf("serve with another key on a keyed trail: %v, want a refusal", err)
	}

	// Without a key on a fresh trail: the development key, with a warning.
	fresh := newKeyedCLI(t, pgtest.URL(t))
	delete(fresh.env, "DVR_AUDIT_KEY")
	if logged := serveUntilReady(t, fresh); !strings.Contains(logged, "PUBLIC development key") {
		t.Errorf("serve without DVR_AUDIT_KEY logged %q, want a warning about the development key", logged)
	}
}
