package main

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// superuserURL is dbURL (a test database, reached as pgtestdb's
// non-superuser role) with the user and password of DATABASE_URL, the
// superuser: tampering with the audit trail takes rights the application
// does not have.
func superuserURL(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	su, err := url.Parse(pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = su.User
	return u.String()
}

// auditTrail makes a test database with n audit rows and returns its URL
// and the rows' ids, oldest first.
func auditTrail(t *testing.T, n int) (string, []int64) {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		e := audit.Entry{Actor: audit.Actor{UserID: int64(i + 1), Username: "user" + strconv.Itoa(i), Role: "dispatcher", IP: "192.0.2.1"},
			Action: "incident.view", RecordType: "incident", RecordID: "DV-2026-00000" + strconv.Itoa(i),
			Detail: map[string]any{"n": i, "note": "<&>"}}
		if err := db.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	rows, err := db.Pool.Query(ctx, `SELECT id FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return dbURL, ids
}

// tamper runs sql as the superuser with the append-only trigger disabled
// for the moment, as an attacker with full database rights could.
func tamper(t *testing.T, dbURL, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, superuserURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			t.Fatalf("%s changed %d rows, want 1", sql, tag.RowsAffected())
		}
		_, err = tx.Exec(ctx, `ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuditVerifyIntact(t *testing.T) {
	t.Parallel()
	dbURL, ids := auditTrail(t, 5)
	out := newCLI(t, dbURL).mustRun("", "audit", "verify")
	if want := "audit trail intact: " + strconv.Itoa(len(ids)) + " rows verified\n"; out != want {
		t.Errorf("audit verify printed %q, want %q", out, want)
	}
}

// TestAuditVerifyFindsTampering: a changed field of any kind, or a deleted
// row, makes verify fail and name the first row that no longer fits.
func TestAuditVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sql  string
		// row is the index of the row acted upon; named is the index of
		// the row verify must name.
		row, named int
		reason     string
	}{
		{"changed action", `UPDATE audit_events SET action = 'login' WHERE id = $1`, 2, 2, "was altered"},
		{"changed outcome", `UPDATE audit_events SET outcome = 'denied' WHERE id = $1`, 2, 2, "was altered"},
		{"changed user", `UPDATE audit_events SET username = 'someone', user_id = 99 WHERE id = $1`, 0, 0, "was altered"},
		{"changed time", `UPDATE audit_events SET at = at - interval '1 hour' WHERE id = $1`, 3, 3, "was altered"},
		{"changed detail", `UPDATE audit_events SET detail = '{"n": 7, "note": "<&>"}' WHERE id = $1`, 1, 1, "was altered"},
		{"changed source", `UPDATE audit_events SET source_ip = '198.51.100.9' WHERE id = $1`, 4, 4, "was altered"},
		{"rehashed row", `UPDATE audit_events SET record_id = 'X', hash = sha256(hash) WHERE id = $1`, 2, 2, "was altered"},
		{"deleted middle row", `DELETE FROM audit_events WHERE id = $1`, 2, 3, "does not link"},
		{"deleted first row", `DELETE FROM audit_events WHERE id = $1`, 0, 1, "does not link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dbURL, ids := auditTrail(t, 5)
			tamper(t, dbURL, tt.sql, ids[tt.row])
			out, _, err := newCLI(t, dbURL).run(context.Background(), "", "audit", "verify")
			if err == nil {
				t.Fatalf("audit verify passed after tampering; it printed %q", out)
			}
			want := "audit trail BROKEN at row " + strconv.FormatInt(ids[tt.named], 10) + ":"
			if !strings.HasPrefix(out, want) || !strings.Contains(out, tt.reason) {
				t.Errorf("audit verify printed %q, want it to start %q and say %q", out, want, tt.reason)
			}
		})
	}
}

// TestAuditVerifyAfterAuditedCommands: the rows the user commands write
// (as "cli") extend the chain that verify checks.
func TestAuditVerifyAfterAuditedCommands(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	c := newCLI(t, dbURL)
	c.mustRun(annPassword+"\n", "user", "add", "--username", "ann", "--role", "dispatcher")
	c.mustRun("", "user", "disable", "ann")
	c.mustRun(annPassword+"-new\n", "user", "reset-password", "ann")
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, _, err := db.AuditEvents(ctx, postgres.AuditFilter{Username: "cli"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rows {
		got = append(got, e.Action+" "+e.RecordType+" "+e.RecordID)
	}
	want := "user.password_reset user ann,user.disable user ann,user.create user ann"
	if strings.Join(got, ",") != want {
		t.Errorf("the user commands wrote %q, want %q", strings.Join(got, ","), want)
	}
	if out := c.mustRun("", "audit", "verify"); !strings.HasPrefix(out, "audit trail intact: 3 rows verified") {
		t.Errorf("audit verify printed %q", out)
	}
}
