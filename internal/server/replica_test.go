package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// A real streaming replica (pg_basebackup, lag, pause and resume) is in
// internal/faulttest's TestReportingReplica; these tests need no second
// server.

// openReadDB opens a reporting pool on url, closed at the end of the test.
func openReadDB(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.OpenReplica(context.Background(), url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestReportsReplicaReadsReadDB(t *testing.T) {
	t.Parallel()
	// The "replica" is another database (not in recovery) holding calls
	// that the primary does not: the figures must be the replica's, the
	// audit record of the export the primary's.
	readURL := pgtest.URL(t)
	other, err := postgres.Open(context.Background(), readURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	for _, sql := range []string{
		`INSERT INTO incident_types (code, name, is_dv) VALUES ('DV', 'Domestic violence', true)`,
		`INSERT INTO priorities (level, label, target_response_s) VALUES (1, 'Immediate danger', 600)`,
		`INSERT INTO incidents (number, received_at, dispatched_at, on_scene_at, type_id, priority)
			SELECT 'DV-2026-' || lpad(nextval('incident_number_seq')::text, 6, '0'), t, t + interval '1 min', t + interval '9 min',
				(SELECT id FROM incident_types WHERE code = 'DV'), 1
			FROM generate_series(timestamptz '2026-03-01 08:00Z', '2026-03-01 10:00Z', interval '1 hour') t`,
	} {
		if _, err := other.Pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	ts := newTestServer(t, func(d *Deps) {
		d.ReadDB = openReadDB(t, readURL)
		d.Now = func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }
	})
	c, _ := adminClient(t, ts)
	d := decodeExport(t, c.get("/reports/response-times.json?"+march1+"&group_by=all"))
	if len(d.Groups) != 1 || d.Groups[0].Incidents != 3 || d.Groups[0].Intervals["response"].N != 3 {
		t.Errorf("export with a reporting database: %+v, want its 3 calls (the primary has none)", d.Groups)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'report.export'`); n != 1 {
		t.Errorf("%d report.export audit rows on the primary, want 1", n)
	}
	if n := queryInt(t, other, `SELECT count(*) FROM audit_events WHERE action = 'report.export'`); n != 0 {
		t.Errorf("%d report.export audit rows on the reporting database, want 0", n)
	}

	req := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	if got, want := ts.srv.ReportFreshness(req), "Figures from the reporting database."; got != want {
		t.Errorf("ReportFreshness with a reporting database not in recovery: %q, want %q", got, want)
	}
	resp := c.get("/readyz")
	if b := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, "reporting database: not a replica") {
		t.Errorf("GET /readyz: %d %q, want 200 naming the reporting database", resp.StatusCode, b)
	}
}

func TestReportsReplicaDown(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1.
	ts := newTestServer(t, func(d *Deps) {
		d.ReadDB = openReadDB(t, "postgres://dvr@127.0.0.1:1/dvresponse?sslmode=disable")
	})
	c, _ := adminClient(t, ts)
	for _, path := range []string{"/reports/response-times.json?" + march1, "/reports/response-times.csv?" + march1} {
		resp := c.get(path)
		page := errorText(doc(t, resp))
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "reporting database is unavailable") {
			t.Errorf("GET %s with the replica down: %d %q, want 503 saying the reporting database is unavailable",
				path, resp.StatusCode, page)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s with the replica down: no Retry-After", path)
		}
	}
	// Nothing else depends on it: pages work, the process is ready.
	if resp := c.get("/"); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / with the replica down: %d", resp.StatusCode)
	}
	resp := c.get("/readyz")
	if b := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, "ready (schema") ||
		!strings.Contains(b, "reporting replica unavailable") {
		t.Errorf("GET /readyz with the replica down: %d %q, want 200, ready, and the replica named unavailable", resp.StatusCode, b)
	}
	req := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	if got := ts.srv.ReportFreshness(req); !strings.Contains(got, "reporting database is unavailable") {
		t.Errorf("ReportFreshness with the replica down: %q", got)
	}
	// Panels that read the database directly use reportDB and
	// reportingError the same way.
	if ts.srv.reportDB() == ts.DB {
		t.Error("reportDB with a reporting replica is the primary")
	}
	_, _, err := ts.srv.reportDB().ReplicaLag(context.Background())
	if err = ts.srv.reportingError(err); apperr.CodeOf(err) != apperr.Unavailable || apperr.MessageOf(err).ID != reportingUnavailable {
		t.Errorf("reportingError of the replica down: %v", err)
	}
}

func TestReportsReplicaUnset(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	if got := ts.srv.ReportFreshness(httptest.NewRequest(http.MethodGet, "/dashboard", nil)); got != "" {
		t.Errorf("ReportFreshness without a replica: %q, want nothing", got)
	}
	if b := body(t, ts.client(t).get("/readyz")); strings.Contains(b, "reporting") {
		t.Errorf("GET /readyz without a replica: %q mentions one", b)
	}
	if ts.srv.reportDB() != ts.DB {
		t.Error("reportDB without a reporting replica is not the primary")
	}
	down := apperr.New(apperr.Unavailable, "db.err.unavailable")
	if err := ts.srv.reportingError(down); err != down {
		t.Errorf("reportingError without a replica: %v, want the error unchanged", err)
	}
}

func TestReplicaErrors(t *testing.T) {
	down := apperr.New(apperr.Unavailable, "db.err.unavailable")
	cancelled := apperr.New(apperr.Conflict, "db.err.concurrent")
	invalid := apperr.New(apperr.Invalid, "report.err.from")
	for _, tt := range []struct {
		err      error
		wantCode apperr.Code
		wantMsg  string
	}{
		{down, apperr.Unavailable, reportingUnavailable},
		{cancelled, apperr.Unavailable, reportingBusy}, // canceled by a conflict with recovery: not the user's doing
		{invalid, apperr.Invalid, "report.err.from"},
		{nil, "", ""},
	} {
		got := replicaError(tt.err)
		if apperr.CodeOf(got) != tt.wantCode || (got != nil && apperr.MessageOf(got).ID != tt.wantMsg) || (tt.err != nil && !errors.Is(got, tt.err)) {
			t.Errorf("replicaError(%v) = %v, want code %q message %q wrapping it", tt.err, got, tt.wantCode, tt.wantMsg)
		}
	}
}

func TestReplicaFreshnessText(t *testing.T) {
	tests := []struct {
		lag       time.Duration
		isReplica bool
		err       error
		want      string
	}{
		{0, true, nil, "Figures from the reporting replica, up to date."},
		{900 * time.Millisecond, true, nil, "Figures from the reporting replica, up to date."},
		{12400 * time.Millisecond, true, nil, "Figures from the reporting replica, 12 s behind."},
		{119 * time.Second, true, nil, "Figures from the reporting replica, 119 s behind."},
		{4*time.Minute + 59*time.Second, true, nil, "Figures from the reporting replica, 4 min behind."},
		{7 * time.Minute, true, nil, "Figures from the reporting replica, 7 min behind: the latest calls may be missing from them."},
		{2*time.Hour + 5*time.Minute, true, nil, "Figures from the reporting replica, 2 h 5 min behind: the latest calls may be missing from them."},
		{postgres.LagUnknown, true, nil, "Figures from the reporting replica, which has just started: how far behind it is is not known yet."},
		{0, false, nil, "Figures from the reporting database."},
		{0, false, errors.New("down"), "The reporting database is unavailable, so figures cannot be shown right now. " +
			"Dispatch is not affected. Please try again in a few minutes."},
	}
	en := i18n.Shared().Localizer("en")
	for _, tt := range tests {
		if got := freshness(en, tt.lag, tt.isReplica, tt.err); got != tt.want {
			t.Errorf("freshness(%v, %v, %v) = %q, want %q", tt.lag, tt.isReplica, tt.err, got, tt.want)
		}
	}
}

func TestReplicaFreshnessSpeaksTheReadersLanguage(t *testing.T) {
	ru := i18n.Shared().Localizer("ru")
	if got, want := freshness(ru, 2*time.Hour+5*time.Minute, true, nil),
		"Показатели из реплики отчётности, отставание 2 ч 5 мин: последние вызовы могут в них отсутствовать."; got != want {
		t.Errorf("freshness in Russian = %q, want %q", got, want)
	}
	for _, l := range i18n.Languages {
		if got := freshness(i18n.Shared().Localizer(l.Code), 0, false, errors.New("down")); strings.Contains(got, i18n.MissingMark) || got == "" {
			t.Errorf("freshness in %s with the replica down = %q", l.Code, got)
		}
	}
}
