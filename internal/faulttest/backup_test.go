package faulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
)

// TestBackupRestore follows the documented backup procedure: pg_dump in
// the custom format without session data, pg_restore --no-owner into a
// new database as a superuser. The restored database must hold every incident (the same
// numbers and contents), every other row, an audit chain that verifies
// over the same number of rows and is still append-only, the current
// schema version, and sequences that go on where they stopped.
func TestBackupRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("dumps and restores a seeded database; skipped with -short")
	}
	t.Parallel()
	ctx := context.Background()
	srcURL := pgtest.URL(t)
	src := openDB(t, srcURL, 5)
	if err := seed.Demo(ctx, src, time.UTC, io.Discard); err != nil {
		t.Fatalf("seed demo data: %v", err)
	}
	// A few calls and other audited actions on top of the demo data.
	u := createDispatchers(t, src, "backup.dispatcher", 1)[0]
	actor := audit.Actor{UserID: u.ID, Username: u.Username, Role: string(u.Role), IP: "10.79.0.1"}
	for i := range 3 {
		logCall(t, src, u.ID, actor, fmt.Sprintf("ul. Backup %d", i+1))
	}
	if err := src.Audit(ctx, audit.Entry{Actor: actor, Action: "login", RecordType: "user", RecordID: u.Username}); err != nil {
		t.Fatal(err)
	}
	// A live session: the backup leaves session data out (a leaked dump
	// must not hold tokens that log in).
	if err := src.SessionStore().CommitCtx(ctx, "backup-test-session-token", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	before := snapshotOf(t, src)
	if before.Incidents < 4 || before.AuditRows < 4 {
		t.Fatalf("the source database holds %d incidents and %d audit rows; the test needs a real data set", before.Incidents, before.AuditRows)
	}

	// The backup: pg_dump of the server's major version, custom format.
	major := serverMajor(t, src)
	pgDump, pgRestore := pgClientTool(t, "pg_dump", major), pgClientTool(t, "pg_restore", major)
	dump := filepath.Join(t.TempDir(), "dvresponse.dump")
	began := time.Now()
	runTool(t, pgDump, "--format=custom", "--exclude-table-data=sessions", "--file="+dump, "--dbname="+srcURL)
	dumped := time.Since(began)
	st, err := os.Stat(dump)
	if err != nil {
		t.Fatal(err)
	}

	// The restore: a new database, pg_restore --no-owner as the superuser
	// of DATABASE_URL.
	name := "dvr_restore_" + randomHex(t, 6)
	admin := pgtest.ServerURL(t)
	createDatabase(t, admin, name)
	t.Cleanup(func() { dropDatabase(t, admin, name) })
	restoreURL := withDatabase(t, admin, name)
	began = time.Now()
	runTool(t, pgRestore, "--no-owner", "--exit-on-error", "--dbname="+restoreURL, dump)
	restored := time.Since(began)
	dst := openDB(t, restoreURL, 5)
	after := snapshotOf(t, dst)

	t.Logf("pg_dump %s (server %d): %d bytes in %v; pg_restore into %s in %v",
		pgDump, major, st.Size(), dumped.Round(time.Millisecond), name, restored.Round(time.Millisecond))
	t.Logf("source:   %d incidents, %d audit rows (chain intact: %v), schema %d, %d tables",
		before.Incidents, before.AuditRows, before.AuditIntact, before.Schema, len(before.Tables))
	t.Logf("restored: %d incidents, %d audit rows (chain intact: %v), schema %d, %d tables",
		after.Incidents, after.AuditRows, after.AuditIntact, after.Schema, len(after.Tables))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the restored database differs from the source (-source +restored):\n%s", diff)
	}
	var sessions int
	if err := dst.Pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&sessions); err != nil || sessions != 0 {
		t.Errorf("restored database: %d sessions (err %v), want none: the dump leaves session data out", sessions, err)
	}
	if !after.AuditIntact || !after.SchemaCurrent {
		t.Errorf("restored database: audit chain intact %v, schema current %v; want both", after.AuditIntact, after.SchemaCurrent)
	}

	// The audit trail is still append-only: the triggers came back, enabled.
	var enabled []string
	rows, err := dst.Pool.Query(ctx, `SELECT tgname || ':' || tgenabled::text FROM pg_trigger
		WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal ORDER BY tgname`)
	if err != nil {
		t.Fatal(err)
	}
	enabled, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"audit_events_no_change:O", "audit_events_no_truncate:O"}; !slices.Equal(enabled, want) {
		t.Errorf("audit_events triggers after restore: %v, want %v", enabled, want)
	}
	for _, q := range []string{`DELETE FROM audit_events WHERE id = (SELECT min(id) FROM audit_events)`,
		`UPDATE audit_events SET outcome = outcome WHERE id = (SELECT max(id) FROM audit_events)`, `TRUNCATE audit_events`} {
		err := pgx.BeginFunc(ctx, dst.Pool, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, q); return err })
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("restored database: %s: err %v, want the append-only refusal", q, err)
		}
	}

	// Work goes on in the restored database: the next call gets a new
	// number and extends the chain.
	number := logCall(t, dst, u.ID, actor, "ul. After restore 1")
	if slices.Contains(before.Numbers, number) {
		t.Errorf("the first call after the restore got number %s, already taken", number)
	}
	n, problem, err := dst.VerifyAudit(ctx)
	if err != nil || problem != nil || n != before.AuditRows+1 {
		t.Errorf("audit chain after a new call in the restored database: %d rows, problem %+v, err %v; want %d rows intact",
			n, problem, err, before.AuditRows+1)
	}
}

// snapshot is what a backup must preserve.
type snapshot struct {
	Incidents     int64
	Numbers       []string // every incident number, sorted
	AuditRows     int64
	AuditIntact   bool
	Schema        uint
	SchemaCurrent bool
	Tables        map[string]string // table -> md5 of every row's text, in order (sessions aside)
	Sequences     map[string]int64  // sequence -> last value
}

func snapshotOf(t *testing.T, db *postgres.DB) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	rows, err := db.Pool.Query(ctx, `SELECT number FROM incidents ORDER BY number`)
	if err != nil {
		t.Fatal(err)
	}
	if s.Numbers, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	s.Incidents = int64(len(s.Numbers))
	n, problem, err := db.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("verify audit: %v", err)
	}
	s.AuditRows, s.AuditIntact = n, problem == nil
	st, err := db.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Schema, s.SchemaCurrent = st.Version, st.Current()
	rows, err = db.Pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	s.Tables = map[string]string{}
	for _, tb := range tables {
		if tb == "sessions" {
			continue // left out of backups
		}
		var sum string
		id := pgx.Identifier{tb}.Sanitize()
		if err := db.Pool.QueryRow(ctx, `SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM `+id+` t`).Scan(&sum); err != nil {
			t.Fatalf("digest of %s: %v", tb, err)
		}
		s.Tables[tb] = sum
	}
	rows, err = db.Pool.Query(ctx, `SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	s.Sequences = map[string]int64{}
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			t.Fatal(err)
		}
		s.Sequences[name] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// logCall logs a call as the intake does (draft, validation, store) and
// returns its number.
func logCall(t *testing.T, db *postgres.DB, userID int64, by audit.Actor, address string) string {
	t.Helper()
	ctx := context.Background()
	var district, typ int64
	var prio int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT min(id) FROM districts), (SELECT min(id) FROM incident_types),
		(SELECT min(level) FROM priorities)`).Scan(&district, &typ, &prio); err != nil {
		t.Fatal(err)
	}
	key, at, err := db.CreateDraft(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	now, err := db.NowUTC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := incident.Form{Key: key, Address: address, DistrictID: strconv.FormatInt(district, 10),
		TypeID: strconv.FormatInt(typ, 10), Priority: strconv.Itoa(prio), CallerName: "Backup caller"}.Validate(at, now, time.UTC, match.Rules{Region: "KG"})
	if err != nil {
		t.Fatalf("validate call: %v", err)
	}
	_, number, created, err := db.CreateIncident(ctx, n, time.UTC, by)
	if err != nil || !created {
		t.Fatalf("log call: created %v, err %v", created, err)
	}
	return number
}

// serverMajor is the PostgreSQL server's major version.
func serverMajor(t *testing.T, db *postgres.DB) int {
	t.Helper()
	var num int
	if err := db.Pool.QueryRow(context.Background(), `SELECT current_setting('server_version_num')::int`).Scan(&num); err != nil {
		t.Fatal(err)
	}
	return num / 10000
}

var versionRE = regexp.MustCompile(`\) (\d+)`)

// pgClientTool finds pg_dump or pg_restore for a server of the given major
// version: that version's own (/usr/lib/postgresql/MAJOR/bin), else the one
// on PATH if it is at least as new (an older pg_dump refuses a newer server).
func pgClientTool(t *testing.T, name string, major int) string {
	t.Helper()
	if p := filepath.Join("/usr/lib/postgresql", strconv.Itoa(major), "bin", name); isExecutable(p) {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, "%s not found (install postgresql-client-%d)", name, major)
	}
	out, err := exec.Command(p, "--version").Output()
	if m := versionRE.FindStringSubmatch(string(out)); err != nil || m == nil {
		t.Fatalf("%s --version: %v: %s", p, err, out)
	} else if v, _ := strconv.Atoi(m[1]); v < major {
		skipOrFail(t, "%s is version %d, older than the server (%d); install postgresql-client-%d", p, v, major, major)
	}
	return p
}

func runTool(t *testing.T, prog string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(prog), err, out)
	}
}

// withDatabase is the server URL u with database name instead of its own.
func withDatabase(t *testing.T, u, name string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal("DATABASE_URL does not parse as a URL")
	}
	pu.Path = "/" + name
	return pu.String()
}

func dropDatabase(t *testing.T, adminURL, name string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Errorf("drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
		t.Errorf("drop database %s: %v", name, err)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// skipOrFail skips on a developer's machine that lacks a tool, but fails in
// CI, where .ci/run installs it: a backup test that CI skips proves nothing.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}
