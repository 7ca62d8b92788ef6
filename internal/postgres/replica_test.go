package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

// The lag of a real streaming replica is tested in internal/faulttest
// (TestReportingReplica), which starts one with pg_basebackup.

// oneDayQuery is a report of 1 March 2026 in UTC.
func oneDayQuery(t *testing.T) report.Query {
	t.Helper()
	q, err := report.ParseQuery(url.Values{report.ParamFrom: {"2026-03-01"}, report.ParamTo: {"2026-03-01"}}, time.UTC, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestReplicaLagOnPrimary(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	lag, isReplica, err := db.ReplicaLag(context.Background())
	if err != nil || isReplica || lag != 0 {
		t.Errorf("ReplicaLag on a primary: %v, %v, %v; want 0, false, nil", lag, isReplica, err)
	}
}

func TestOpenReplicaIsReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	db, err := postgres.OpenReplica(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	// It reads...
	q := oneDayQuery(t)
	if _, err := db.ResponseTimes(ctx, q); err != nil {
		t.Fatalf("ResponseTimes on the read pool: %v", err)
	}
	// ...but a write sent to it by mistake fails, even on a primary.
	_, err = db.Pool.Exec(ctx, `INSERT INTO districts (code, name) VALUES ('RO', 'Read only')`)
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("INSERT through the read pool: %v, want a read-only transaction error", err)
	}
	var name string
	if err := db.Pool.QueryRow(ctx, `SELECT current_setting('application_name')`).Scan(&name); err != nil || name != "dvresponse-reports" {
		t.Errorf("application_name %q (%v), want dvresponse-reports", name, err)
	}
}

func TestOpenReplicaDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Nothing listens on port 1: OpenReplica still succeeds (a reporting
	// replica that is down must not stop the application), and every
	// use fails Unavailable, quickly.
	db, err := postgres.OpenReplica(ctx, "postgres://dvr@127.0.0.1:1/dvresponse?sslmode=disable", postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatalf("OpenReplica with the replica down: %v", err)
	}
	t.Cleanup(db.Close)
	began := time.Now()
	if _, _, err := db.ReplicaLag(ctx); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("ReplicaLag with the replica down: %v, want Unavailable", err)
	}
	q := oneDayQuery(t)
	if _, err := db.ResponseTimes(ctx, q); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("ResponseTimes with the replica down: %v, want Unavailable", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("failing took %v", d)
	}
}

func TestOpenReplicaBadURL(t *testing.T) {
	t.Parallel()
	_, err := postgres.OpenReplica(context.Background(), "postgres://dvr:s3cret@db:notaport/x", postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "DATABASE_READ_URL") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("OpenReplica with a bad URL: %v, want an error naming DATABASE_READ_URL and not the password", err)
	}
}
