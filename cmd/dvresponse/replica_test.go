package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

// A real streaming replica is started in internal/faulttest
// (TestReportingReplica); here DATABASE_READ_URL names another database.

// downReadURL is a reporting database nobody answers at.
const downReadURL = "postgres://dvr@127.0.0.1:1/dvresponse?sslmode=disable"

func TestReportCommandReadsReplica(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	// The reporting database holds the calls; the primary holds none.
	readURL, primaryURL := pgtest.URL(t), pgtest.URL(t)
	rdb, err := postgres.Open(context.Background(), readURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rdb.Close)
	seedReportData(t, rdb, loc)
	primary, err := postgres.Open(context.Background(), primaryURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(primary.Close)

	c := newCLI(t, primaryURL)
	c.env["DVR_TIME_ZONE"] = "Asia/Bishkek"
	c.env["DATABASE_READ_URL"] = readURL
	out, stderr, err := c.run(context.Background(), "", "report", "--from", "2026-03-01", "--to", "2026-03-01",
		"--group-by", "all", "--format", "csv")
	if err != nil {
		t.Fatalf("report with DATABASE_READ_URL: %v\n%s", err, stderr)
	}
	fig, err := report.ReadFigures([]byte(out), report.CSV)
	if err != nil {
		t.Fatal(err)
	}
	if got := fig["all|response"]["incidents"]; got != "8" {
		t.Errorf("report with DATABASE_READ_URL: %s incidents, want the reporting database's 8", got)
	}
	if !strings.Contains(stderr, "DATABASE_READ_URL") {
		t.Errorf("stderr %q does not say where the figures came from", stderr)
	}
	var onPrimary, onReplica int
	q := `SELECT count(*) FROM audit_events WHERE action = 'report.export'`
	if err := primary.Pool.QueryRow(context.Background(), q).Scan(&onPrimary); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Pool.QueryRow(context.Background(), q).Scan(&onReplica); err != nil {
		t.Fatal(err)
	}
	if onPrimary != 1 || onReplica != 0 {
		t.Errorf("report.export audit rows: %d on the primary, %d on the reporting database; want 1 and 0", onPrimary, onReplica)
	}

	// The reporting database down: a clear error, nothing on stdout, no
	// silent read of the primary.
	c.env["DATABASE_READ_URL"] = downReadURL
	out, _, err = c.run(context.Background(), "", "report", "--from", "2026-03-01", "--to", "2026-03-01")
	if err == nil || !strings.Contains(err.Error(), "reporting database (DATABASE_READ_URL) is unavailable") || out != "" {
		t.Errorf("report with the reporting database down: %v, stdout %q; want an error naming DATABASE_READ_URL, no output", err, out)
	}
}

func TestServeReplicaDownStillReady(t *testing.T) {
	t.Parallel()
	c := newCLI(t, pgtest.URL(t))
	c.env["DATABASE_READ_URL"] = downReadURL
	addr := freeAddr(t)
	c.env["DVR_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var stderr string
	go func() {
		var err error
		_, stderr, err = c.run(ctx, "", "serve")
		done <- err
	}()
	// serve starts without its reporting replica and is ready; /readyz
	// says the replica is unavailable.
	deadline := time.Now().Add(20 * time.Second)
	var body string
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if body = string(b); resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve with its reporting replica down ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve with its reporting replica down not ready after 20 s (last: %v %q)", err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, "reporting replica unavailable") {
		t.Errorf("GET /readyz: %q, want the replica named unavailable", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if !strings.Contains(stderr, "reporting replica (DATABASE_READ_URL) unavailable") {
		t.Errorf("serve's log does not warn about the replica:\n%s", stderr)
	}
}
