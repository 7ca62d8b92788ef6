package main

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

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
	db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 2, AuditKey: testAuditKey(t)})
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

// tamper runs sql, which must change one row, as the superuser with the
// append-only trigger disabled for the moment, as an attacker with full
// database rights could.
func tamper(t *testing.T, dbURL, sql string, args ...any) {
	t.Helper()
	tamperRows(t, dbURL, 1, sql, args...)
}

// tamperRows is tamper for sql that must change want rows.
func tamperRows(t *testing.T, dbURL string, want int64, sql string, args ...any) {
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
		if tag.RowsAffected() != want {
			t.Fatalf("%s changed %d rows, want %d", sql, tag.RowsAffected(), want)
		}
		_, err = tx.Exec(ctx, `ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testAuditKey is cmdAuditKey's bytes.
func testAuditKey(t *testing.T) []byte {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(cmdAuditKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// auditHead is the trail's last row as ID:HASH, read from the table.
func auditHead(t *testing.T, dbURL string) string {
	t.Helper()
	return auditHeadAt(t, dbURL, 0)
}

// auditHeadAt is row id (the last row when 0) as ID:HASH.
func auditHeadAt(t *testing.T, dbURL string, id int64) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var h audit.Head
	if err := conn.QueryRow(ctx, `SELECT id, hash FROM audit_events WHERE id = $1 OR $1 = 0 ORDER BY id DESC LIMIT 1`, id).
		Scan(&h.ID, &h.Hash); err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func TestAuditVerifyIntact(t *testing.T) {
	t.Parallel()
	dbURL, ids := auditTrail(t, 5)
	out := newKeyedCLI(t, dbURL).mustRun("", "audit", "verify")
	want := "audit trail intact: " + strconv.Itoa(len(ids)) + " rows verified\nhead: " + auditHead(t, dbURL) + "\n" +
		"5 rows keyed with DVR_AUDIT_KEY (key "
	if !strings.HasPrefix(out, want) || strings.Contains(out, "WARNING") {
		t.Errorf("audit verify printed %q, want it to start %q, with no warning", out, want)
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
			out, _, err := newKeyedCLI(t, dbURL).run(context.Background(), "", "audit", "verify")
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

// rebuildChain changes row changeID's action and recomputes the whole
// chain from the first row, as someone with full database rights could:
// sum sets each row's key ID and hash (the attacker's choice of hash), or
// leaves them as they were.
func rebuildChain(t *testing.T, dbURL string, changeID int64, sum func(*audit.Entry)) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, superuserURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, at, coalesce(user_id, 0), username, role, action, record_type, record_id,
		source_ip, outcome, detail, key_id, hash FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Entry, error) {
		var e audit.Entry
		err := r.Scan(&e.ID, &e.At, &e.Actor.UserID, &e.Actor.Username, &e.Actor.Role, &e.Action, &e.RecordType,
			&e.RecordID, &e.Actor.IP, &e.Outcome, &e.Detail, &e.KeyID, &e.Hash)
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change`); err != nil {
			return err
		}
		prev := audit.Genesis
		for _, e := range entries {
			if e.ID == changeID {
				e.Action = "login"
			}
			e.PrevHash = prev
			sum(&e)
			if _, err := tx.Exec(ctx, `UPDATE audit_events SET action = $2, key_id = $3, prev_hash = $4, hash = $5 WHERE id = $1`,
				e.ID, e.Action, e.KeyID, e.PrevHash, e.Hash); err != nil {
				return err
			}
			prev = e.Hash
		}
		_, err := tx.Exec(ctx, `ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuditVerifyExpect: verify prints the head; --expect with heads
// printed earlier passes on an untouched trail and fails once rows were
// cut off the end, which verify alone cannot see.
func TestAuditVerifyExpect(t *testing.T) {
	t.Parallel()
	dbURL, ids := auditTrail(t, 10)
	c := newKeyedCLI(t, dbURL)
	head, older := auditHead(t, dbURL), auditHeadAt(t, dbURL, ids[2])
	if out := c.mustRun("", "audit", "verify"); !strings.Contains(out, "\nhead: "+head+"\n") {
		t.Errorf("audit verify printed %q, want the head %s", out, head)
	}
	out := c.mustRun("", "audit", "verify", "--expect", head, "--expect", older)
	if !strings.Contains(out, "witnessed head reached: "+head) || !strings.Contains(out, "witnessed head reached: "+older) {
		t.Errorf("audit verify --expect on an untouched trail printed %q, want both heads reached", out)
	}

	// The last 5 rows deleted, as a superuser can.
	tamperRows(t, dbURL, 5, `DELETE FROM audit_events WHERE id > $1`, ids[4])
	out = c.mustRun("", "audit", "verify") // the chain that is left is whole: only a witness shows the cut
	if want := "head: " + auditHeadAt(t, dbURL, ids[4]) + "\n"; !strings.Contains(out, want) {
		t.Errorf("after the cut, audit verify printed %q, want %q", out, want)
	}
	out, _, err := c.run(context.Background(), "", "audit", "verify", "--expect", head)
	if err == nil || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "cut off its end") || !strings.Contains(out, head) {
		t.Errorf("audit verify --expect %s after the last 5 rows were deleted: %v, printed %q; want a failure naming the cut", head, err, out)
	}
	if out := c.mustRun("", "audit", "verify", "--expect", older); !strings.Contains(out, "witnessed head reached") {
		t.Errorf("audit verify --expect with a head before the cut printed %q", out)
	}

	for _, bad := range []string{"12", "x:ab", "3:abcd", "-1:" + strings.Repeat("00", 32)} {
		if _, _, err := c.run(context.Background(), "", "audit", "verify", "--expect", bad); err == nil {
			t.Errorf("audit verify --expect %q: no error, want a usage error", bad)
		}
	}
}

// TestAuditVerifyFindsRebuiltChain: a row changed and the whole chain
// recomputed without DVR_AUDIT_KEY (plain SHA-256, another key, the public
// development key) fails verify, and verify --expect with the head
// witnessed before. Even someone holding the key is caught by the witness.
func TestAuditVerifyFindsRebuiltChain(t *testing.T) {
	t.Parallel()
	real, err := audit.NewKey(testAuditKey(t))
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := audit.NewKey([]byte(strings.Repeat("k", audit.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	with := func(k *audit.Key, keyID string) func(*audit.Entry) {
		return func(e *audit.Entry) {
			e.KeyID = keyID
			e.Hash = k.Sum(e)
		}
	}
	tests := []struct {
		name        string
		sum         func(*audit.Entry)
		verifyFails bool // verify alone, without --expect
	}{
		{"plain SHA-256", func(e *audit.Entry) { e.KeyID = ""; e.Hash = audit.LegacyHash(e) }, true},
		{"another key under its own id", with(wrong, wrong.ID()), true},
		{"another key under the key's id", with(wrong, real.ID()), true},
		{"the public development key", with(audit.DevelopmentKey(), audit.DevelopmentKey().ID()), true},
		{"the key itself (an insider holding it)", with(real, real.ID()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dbURL, ids := auditTrail(t, 5)
			c := newKeyedCLI(t, dbURL)
			head := auditHead(t, dbURL)
			rebuildChain(t, dbURL, ids[1], tt.sum)
			out, _, err := c.run(context.Background(), "", "audit", "verify")
			if tt.verifyFails && (err == nil || !strings.Contains(out, "BROKEN")) {
				t.Errorf("audit verify after a rebuild: %v, printed %q; want it broken", err, out)
			}
			if !tt.verifyFails && err != nil {
				t.Errorf("audit verify after a rebuild with the key: %v, printed %q; want it intact (only a witness shows it)", err, out)
			}
			out, _, err = c.run(context.Background(), "", "audit", "verify", "--expect", head)
			if err == nil || !strings.Contains(out, "BROKEN") {
				t.Errorf("audit verify --expect %s after a rebuild: %v, printed %q; want it broken", head, err, out)
			}
		})
	}
}

// TestAuditVerifyLegacyRows: rows written before migration 0014 (unkeyed
// SHA-256) stay verifiable; migrate up with DVR_AUDIT_KEY appends a keyed
// row that binds them, so that one of them changed and rehashed without
// the key breaks the chain at that keyed row.
func TestAuditVerifyLegacyRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.EmptyURL(t)
	c := newKeyedCLI(t, dbURL)
	c.mustRun("", "migrate", "up")
	c.mustRun("", "migrate", "down", "1") // before 0014: no key_id column

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	prev := audit.Genesis
	for i := range 3 {
		e := audit.Entry{At: time.Date(2026, 3, 1, 10, i, 0, 0, time.UTC), Actor: audit.Actor{Username: "ann", Role: "dispatcher"},
			Action: "incident.view", RecordType: "incident", RecordID: "DV-2026-00000" + strconv.Itoa(i), Outcome: audit.OK, PrevHash: prev}
		e.Hash = audit.LegacyHash(&e)
		if _, err := conn.Exec(ctx, `INSERT INTO audit_events (at, username, role, action, record_type, record_id, outcome,
			prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.At, e.Actor.Username, e.Actor.Role, e.Action,
			e.RecordType, e.RecordID, string(e.Outcome), e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}

	c.mustRun("", "migrate", "up") // with the key: the keyed row after the three
	out := c.mustRun("", "audit", "verify")
	if !strings.HasPrefix(out, "audit trail intact: 4 rows verified") || !strings.Contains(out, "3 rows from before the chain was keyed") ||
		!strings.Contains(out, "1 rows keyed with DVR_AUDIT_KEY") {
		t.Errorf("audit verify after keying printed %q, want 3 legacy rows and 1 keyed", out)
	}
	var action string
	if err := conn.QueryRow(ctx, `SELECT action FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&action); err != nil || action != "audit.keyed" {
		t.Errorf("the last row is %q (%v), want audit.keyed", action, err)
	}

	// A legacy row changed and the legacy rows rehashed: the keyed row no
	// longer links.
	ids := []int64{1, 2, 3}
	rebuildChain(t, dbURL, ids[1], func(e *audit.Entry) {
		if e.ID > ids[2] {
			return // the keyed row: the attacker cannot recompute it; its prev_hash is what they would set
		}
		e.KeyID = ""
		e.Hash = audit.LegacyHash(e)
	})
	out, _, err = c.run(ctx, "", "audit", "verify")
	if err == nil || !strings.Contains(out, "BROKEN at row 4") {
		t.Errorf("audit verify after the legacy rows were rebuilt: %v, printed %q; want it broken at the keyed row 4", err, out)
	}
}
