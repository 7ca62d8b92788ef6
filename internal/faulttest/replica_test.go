package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/internal/seed"
	"github.com/dvresponse/dvresponse/internal/server"
)

// TestReportingReplica runs the server as `serve` does with
// DATABASE_READ_URL set: DB a private primary cluster, ReadDB a streaming
// replica of it that the test makes with pg_basebackup. The exports show
// the primary's figures once the replica has replayed; a call logged and
// cleared on the primary shows in them after replay; the replica's lag is
// reported, grows while replay is paused and returns to 0 when it
// resumes; with the replica down, reports answer 503 "reporting database
// unavailable" (they never read the primary instead) while the rest of
// the application, /readyz included, works on; and they come back with it.
func TestReportingReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL primary and a streaming replica; skipped with -short")
	}
	t.Parallel()
	ctx := context.Background()
	began := time.Now()
	if bin, err := serverBinDir(); err == nil && !isExecutable(filepath.Join(bin, "pg_basebackup")) {
		t.Skipf("skipping: no pg_basebackup in %s to make a replica with (install the postgresql package; CI's .ci/run installs it)", bin)
	}
	primary := newCluster(t) // skips without initdb
	// initdb's defaults are what a replica needs: wal_level = replica,
	// max_wal_senders = 10, and (with -A trust) replication connections
	// from 127.0.0.1 trusted.
	standby := newStandby(t, primary, "dvr_reports")
	standbyAdmin := openDB(t, standby.URL("postgres"), 2)
	var inRecovery bool
	if err := standbyAdmin.Pool.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("the standby: in recovery %v (%v), want true", inRecovery, err)
	}
	clusters := time.Since(began)

	// The application's database, made and filled on the primary only.
	createDatabase(t, primary.URL("postgres"), "dvresponse")
	migrateUp(t, primary.URL("dvresponse"))
	db := openDB(t, primary.URL("dvresponse"), 10)
	if err := seed.Demo(ctx, db, time.UTC, &bytes.Buffer{}); err != nil {
		t.Fatalf("seed demo data: %v", err)
	}
	// An administrator reads the reports (a supervisor would see one
	// district only); a dispatcher takes calls.
	u, err := createUser(db, account.Draft{Username: "replica.admin", FullName: "Replica test administrator",
		Role: string(account.Admin), Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	dispatcher := createDispatchers(t, db, "replica.dispatcher", 1)[0]
	actor := audit.Actor{UserID: u.ID, Username: u.Username, Role: string(u.Role), IP: "10.78.0.1"}
	waitReplayed(t, db, standbyAdmin)
	seeded := time.Since(began)

	readDB, err := postgres.OpenReplica(ctx, standby.URL("dvresponse"), postgres.Options{MaxConns: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(readDB.Close)
	logs := newLogCounter(nil)
	srv := server.NewServer(server.Deps{DB: db, ReadDB: readDB, Logger: slog.New(logs), Location: time.UTC,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	b := (&app{URL: hs.URL}).browser(t, "10.78.0.2")
	b.mustLogin(t, u.Username)
	desk := (&app{URL: hs.URL}).browser(t, "10.78.0.3")
	desk.mustLogin(t, dispatcher.Username)

	// The last 28 days and tomorrow (should the test run over midnight).
	today := time.Now().UTC()
	params := url.Values{report.ParamFrom: {today.AddDate(0, 0, -27).Format(time.DateOnly)},
		report.ParamTo: {today.AddDate(0, 0, 1).Format(time.DateOnly)}, report.ParamGroupBy: {"priority"}}
	exportPath := "/reports/response-times.json?" + params.Encode()
	export := func() (report.Figures, response) {
		t.Helper()
		r := b.get(ctx, exportPath)
		if r.Err != nil || r.Status != http.StatusOK {
			return nil, r
		}
		fig, err := report.ReadFigures([]byte(r.Body), report.JSON)
		if err != nil {
			t.Fatalf("GET %s: %v", exportPath, err)
		}
		return fig, r
	}
	onPrimary := func() report.Figures {
		t.Helper()
		q, err := report.ParseQuery(params, time.UTC, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := report.Export(ctx, db, q, report.JSON, &buf); err != nil {
			t.Fatalf("report on the primary: %v", err)
		}
		fig, err := report.ReadFigures(buf.Bytes(), report.JSON)
		if err != nil {
			t.Fatal(err)
		}
		return fig
	}
	// exportMatchesPrimary polls the export until its figures are the
	// primary's (replay takes a moment).
	exportMatchesPrimary := func(what string) report.Figures {
		t.Helper()
		want := onPrimary()
		var diff string
		poll(t, 15*time.Second, what, func() (bool, string) {
			got, r := export()
			if got == nil {
				return false, fmt.Sprintf("GET %s: status %d, err %v: %s", exportPath, r.Status, r.Err, snippet(r.Body))
			}
			diff = cmp.Diff(want, got)
			return diff == "", "the export differs from the primary's report (-primary +export):\n" + diff
		})
		return want
	}
	lagOf := func() (time.Duration, bool) {
		t.Helper()
		lag, isReplica, err := readDB.ReplicaLag(ctx)
		if err != nil {
			t.Fatalf("ReplicaLag: %v", err)
		}
		return lag, isReplica
	}
	freshness := func() string {
		return srv.ReportFreshness(httptest.NewRequestWithContext(ctx, http.MethodGet, "/dashboard", nil))
	}
	incidents := func(f report.Figures) (n int) {
		for k, row := range f {
			if strings.HasSuffix(k, "|response") {
				c, _ := strconv.Atoi(row["incidents"])
				n += c
			}
		}
		return n
	}

	// 1. The export, read from the replica, gives the primary's figures.
	first := exportMatchesPrimary("the export from the replica to equal the primary's report")
	if incidents(first) == 0 {
		t.Fatalf("the demo data has no incident in %s..%s: the comparison would prove nothing", params.Get("from"), params.Get("to"))
	}
	if lag, isReplica := lagOf(); !isReplica {
		t.Errorf("ReplicaLag on the standby: not a replica (lag %v)", lag)
	}
	if _, isReplica, err := db.ReplicaLag(ctx); isReplica || err != nil {
		t.Errorf("ReplicaLag on the primary: replica %v, err %v; want false, nil", isReplica, err)
	}
	// (Polled: WAL the primary writes in the background, autovacuum's
	// say, makes the replica behind for the moment it takes to replay.)
	poll(t, 10*time.Second, "the lag of the caught-up replica to be under 1 s", func() (bool, string) {
		lag, _ := lagOf()
		return lag >= 0 && lag < time.Second, fmt.Sprintf("lag %v", lag)
	})
	poll(t, 10*time.Second, "ReportFreshness to say the caught-up replica is up to date", func() (bool, string) {
		got := freshness()
		return got == "Figures from the reporting replica, up to date.", got
	})
	if r := b.get(ctx, "/readyz"); r.Status != http.StatusOK || !strings.Contains(r.Body, "reporting replica: ") {
		t.Errorf("GET /readyz: %d %q, want 200 with the replica's lag", r.Status, r.Body)
	}

	// 2. A call logged and cleared on the primary shows in the export
	// after replay.
	clearCall(t, db, actor, "ul. Replica 1")
	second := exportMatchesPrimary("the export to show the call cleared on the primary")
	if incidents(second) != incidents(first)+1 {
		t.Errorf("after one call: %d incidents in the export, want %d", incidents(second), incidents(first)+1)
	}

	// 3. Replay paused: the replica receives the next call but does not
	// apply it. The export stays as it was and the lag grows; on resume
	// the call shows and the lag returns to 0.
	if _, err := standbyAdmin.Pool.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	clearCall(t, db, actor, "ul. Replica 2")
	var pausedLag time.Duration
	poll(t, 15*time.Second, "the lag to pass 1 s with replay paused", func() (bool, string) {
		pausedLag, _ = lagOf()
		return pausedLag >= time.Second, fmt.Sprintf("lag %v", pausedLag)
	})
	if got := freshness(); !strings.HasPrefix(got, "Figures from the reporting replica, ") || !strings.Contains(got, " s behind") {
		t.Errorf("ReportFreshness with replay paused (lag %v): %q, want \"N s behind\"", pausedLag, got)
	}
	if got, r := export(); got == nil || incidents(got) != incidents(second) {
		t.Errorf("export with replay paused: %d incidents (status %d), want the replica's %d: reports read the replica, not the primary",
			incidents(got), r.Status, incidents(second))
	}
	if _, err := standbyAdmin.Pool.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	third := exportMatchesPrimary("the export to show the call logged while replay was paused")
	if incidents(third) != incidents(second)+1 {
		t.Errorf("after resuming: %d incidents in the export, want %d", incidents(third), incidents(second)+1)
	}
	poll(t, 10*time.Second, "the lag to return under 1 s after resuming", func() (bool, string) {
		lag, _ := lagOf()
		return lag >= 0 && lag < time.Second, fmt.Sprintf("lag %v", lag)
	})
	t.Logf("lag with replay paused: %v after %v paused; back under 1 s after resuming", pausedLag.Round(time.Millisecond),
		time.Since(paused).Round(time.Millisecond))

	// 4. The replica down: reports fail clearly, nothing else does.
	standby.stop()
	r := b.get(ctx, exportPath)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "reporting database is unavailable") || hasInternals(r.Body) {
		t.Errorf("export with the replica down: %d %s, want 503 saying the reporting database is unavailable", r.Status, snippet(r.Body))
	}
	if r := b.get(ctx, "/readyz"); r.Status != http.StatusOK || !strings.Contains(r.Body, "reporting replica unavailable") {
		t.Errorf("GET /readyz with the replica down: %d %q, want 200 naming the replica unavailable", r.Status, r.Body)
	}
	if r := desk.get(ctx, "/incidents/new"); r.Status != http.StatusOK {
		t.Errorf("GET /incidents/new with the replica down: %d, want 200 (dispatch does not need the replica)", r.Status)
	}
	if got := freshness(); !strings.Contains(got, "reporting database is unavailable") {
		t.Errorf("ReportFreshness with the replica down: %q", got)
	}
	clearCall(t, db, actor, "ul. Replica 3")

	// ...and come back with it, the call logged meanwhile included.
	standby.start()
	fourth := exportMatchesPrimary("the export to work again once the replica is back")
	if incidents(fourth) != incidents(third)+1 {
		t.Errorf("after the replica came back: %d incidents in the export, want %d", incidents(fourth), incidents(third)+1)
	}

	var audited int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'report.export'`).Scan(&audited); err != nil || audited == 0 {
		t.Errorf("report.export audit rows on the primary: %d (%v), want some", audited, err)
	}
	t.Logf("clusters (initdb, pg_basebackup, both started) %v; migrated, seeded and replayed at %v; whole test %v; server logs: %s",
		clusters.Round(time.Millisecond), seeded.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), logs.summary())
}

// newStandby makes a streaming replica of primary with pg_basebackup
// (-R: standby.signal and primary_conninfo; a replication slot, so that
// the primary keeps the WAL the replica has yet to receive), starts it on
// a port of its own and waits until it accepts connections. It is
// stopped and deleted when the test ends.
func newStandby(t *testing.T, primary *cluster, slot string) *cluster {
	t.Helper()
	c := newClusterDir(t, primary.bin, "dvr-replica-")
	if out, err := c.run("pg_basebackup", "-D", c.data, "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
		"-R", "-X", "stream", "-C", "-S", slot, "--checkpoint=fast", "--no-sync"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	// The copied postgresql.conf names the primary's port; the last
	// setting wins.
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(f, "\n# the replica\nport = %d\nhot_standby = on\n", c.port); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	c.start()
	t.Cleanup(c.stopIfRunning)
	return c
}

// stop stops the cluster (fast shutdown) and waits until it is down.
func (c *cluster) stop() {
	c.t.Helper()
	if out, err := c.run("pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w", "-t", "30"); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s\nserver log:\n%s", err, out, c.logTail())
	}
}

// stopIfRunning stops the cluster at the end of a test, if it runs.
func (c *cluster) stopIfRunning() {
	if _, err := os.Stat(filepath.Join(c.data, "postmaster.pid")); err == nil {
		c.run("pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w", "-t", "30")
	}
}

// waitReplayed waits until the standby has replayed all the WAL the
// primary had written when it was called.
func waitReplayed(t *testing.T, primary, standby *postgres.DB) {
	t.Helper()
	ctx := context.Background()
	var lsn string
	if err := primary.Pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	poll(t, 30*time.Second, "the standby to replay the primary's WAL up to "+lsn, func() (bool, string) {
		var replayed *string
		var done bool
		err := standby.Pool.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn()::text,
			coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`, lsn).Scan(&replayed, &done)
		return err == nil && done, fmt.Sprintf("replayed up to %v (err %v)", deref(replayed), err)
	})
}

func deref(s *string) string {
	if s == nil {
		return "nothing"
	}
	return *s
}

// poll calls f every 50 ms until it returns true, and fails the test with
// f's last word if that takes longer than limit.
func poll(t *testing.T, limit time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, last := f()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last: %s", limit, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clearCall logs a call on db and takes it through every stage to
// cleared, as a dispatcher and a unit would.
func clearCall(t *testing.T, db *postgres.DB, by audit.Actor, address string) {
	t.Helper()
	ctx := context.Background()
	number := logCall(t, db, by.UserID, by, address)
	var id, unit, disposition int64
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT id FROM incidents WHERE number = $1),
		(SELECT min(id) FROM units WHERE active), (SELECT min(id) FROM dispositions)`, number).Scan(&id, &unit, &disposition); err != nil {
		t.Fatal(err)
	}
	if err := db.AssignUnit(ctx, id, unit, by); err != nil {
		t.Fatalf("dispatch %s: %v", number, err)
	}
	for _, st := range []incident.Stage{incident.EnRoute, incident.OnScene, incident.Cleared} {
		c := postgres.StageChange{IncidentID: id, Stage: st}
		if st == incident.Cleared {
			c.DispositionID = &disposition
		}
		if _, err := db.SetStage(ctx, c, by); err != nil {
			t.Fatalf("%s %s: %v", number, st, err)
		}
	}
}
