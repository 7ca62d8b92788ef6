package postgres_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/importer"
	"github.com/dvresponse/dvresponse/internal/importer/importtest"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

func readMapping(t *testing.T, path string) *importer.Mapping {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := importer.ParseMapping(f)
	if err != nil {
		t.Fatalf("mapping %s: %v", path, err)
	}
	return m
}

func importFile(t *testing.T, db *postgres.DB, path string, m *importer.Mapping, opt postgres.ImportOptions) *importer.Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if opt.FileName == "" {
		opt.FileName = path
	}
	sum, err := db.Import(context.Background(), f, m, opt)
	if err != nil {
		t.Fatalf("import %s: %v", filepath.Base(path), err)
	}
	return sum
}

func queryCount(t *testing.T, db *postgres.DB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestImportFixture is the acceptance test of the historic import: the
// shared fixture export with its example mapping. The summary adds up, a
// re-import adds nothing, and the median and 90th percentile of call
// processing per priority, as PostgreSQL computes them over the imported
// incidents, equal a computation in plain Go over the CSV rows.
func TestImportFixture(t *testing.T) {
	t.Parallel()
	path := importtest.FixturePath(t)
	m := readMapping(t, importtest.MappingPath(t))
	db := pgtest.DB(t)
	ctx := context.Background()
	admin := audit.Actor{Username: "root", Role: "admin", IP: "127.0.0.1"}

	sum := importFile(t, db, path, m, postgres.ImportOptions{By: admin})
	var out strings.Builder
	if err := sum.Format(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("summary:\n%s", out.String())
	if sum.RowsRead != 1000 || sum.Imported != 1000 || sum.Duplicates != 0 || sum.Rejected != 0 || !sum.Balanced() {
		t.Errorf("first import: read %d = imported %d + duplicates %d + rejected %d; want 1000 = 1000 + 0 + 0",
			sum.RowsRead, sum.Imported, sum.Duplicates, sum.Rejected)
	}
	if sum.File != filepath.Base(path) || sum.TimeZone != "America/New_York" {
		t.Errorf("File %q TimeZone %q", sum.File, sum.TimeZone)
	}
	if want := []int{1, 2, 3, 4, 5}; !cmp.Equal(sortedInts(sum.Created.Priorities), want) {
		t.Errorf("created priorities %v, want %v", sum.Created.Priorities, want)
	}
	var dvTypes []string
	for _, ty := range sum.Created.IncidentTypes {
		if ty.IsDV {
			dvTypes = append(dvTypes, ty.Name)
		}
	}
	slices.Sort(dvTypes)
	if len(sum.Created.IncidentTypes) != 98 || !cmp.Equal(dvTypes, []string{"DOMESTIC VIOL NO INJ", "DOMESTIC VIOL WITH INJ"}) {
		t.Errorf("created %d types, DV ones %v; want 98 with the two DOMESTIC VIOL types flagged", len(sum.Created.IncidentTypes), dvTypes)
	}
	if n := queryCount(t, db, `SELECT count(*) FROM incidents i JOIN incident_types t ON t.id = i.type_id
		WHERE i.source = 'import' AND t.is_dv`); n != 33 {
		t.Errorf("%d imported DV incidents, want 33 (data/README.md)", n)
	}
	// The export names no district: every row is in the mapping's
	// default_district, created by the import.
	if n := queryCount(t, db, `SELECT count(*) FROM incidents i JOIN districts d ON d.id = i.district_id
		WHERE i.source = 'import' AND d.name = 'Synthetic County'`); n != 1000 {
		t.Errorf("%d imported incidents in the default district, want 1000", n)
	}
	if n := queryCount(t, db, `SELECT count(*) FROM incidents WHERE source = 'import' AND (on_scene_at IS NOT NULL
		OR district_id IS NULL OR disposition_id IS NOT NULL OR received_manual
		OR NOT EXISTS (SELECT 1 FROM incident_keys k WHERE k.incident_id = incidents.id AND k.address_key <> '')
		OR number !~ '^IM-2025-[0-9]{6}$' OR dispatched_at IS NULL OR cleared_at IS NULL)`); n != 0 {
		t.Errorf("%d imported incidents have an unexpected field (on scene, district, manual time, number ...)", n)
	}
	// A known row: "25-L025237" received 2025-04-01 00:30:50 in New York.
	var received, dispatched time.Time
	var prio int
	var addr string
	if err := db.Pool.QueryRow(ctx, `SELECT received_at, dispatched_at, priority, address FROM incidents
		WHERE source = 'import' AND external_id = '25-L025237'`).Scan(&received, &dispatched, &prio, &addr); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 4, 1, 4, 30, 50, 0, time.UTC); !received.Equal(want) || dispatched.Sub(received) != 95*time.Second ||
		prio != 5 || addr != "0282 Tony Burg" {
		t.Errorf("25-L025237: received %v dispatched +%v priority %d address %q", received, dispatched.Sub(received), prio, addr)
	}

	// Again: nothing new.
	again := importFile(t, db, path, m, postgres.ImportOptions{By: admin})
	if again.RowsRead != 1000 || again.Imported != 0 || again.Duplicates != 1000 || again.Rejected != 0 ||
		len(again.Created.IncidentTypes)+len(again.Created.Priorities) != 0 {
		t.Errorf("re-import: read %d imported %d duplicates %d rejected %d created %+v; want 1000 duplicates and nothing created",
			again.RowsRead, again.Imported, again.Duplicates, again.Rejected, again.Created)
	}
	if n := queryCount(t, db, `SELECT count(*) FROM incidents`); n != 1000 {
		t.Errorf("%d incidents after the re-import, want 1000", n)
	}

	// Percentiles: PostgreSQL over the imported rows against plain Go over
	// the CSV.
	loc, _ := time.LoadLocation("America/New_York")
	want := importtest.CallProcessing(t, path, "event_time", "time_call_dispatched", "priority_number", "2006-01-02 15:04:05", loc)
	rows, err := db.Pool.Query(ctx, `SELECT priority, count(*),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - received_at)),
			percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - received_at))
		FROM incidents WHERE source = 'import' AND dispatched_at >= received_at GROUP BY priority ORDER BY priority`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]importtest.Stats{}
	for rows.Next() {
		var p int
		var s importtest.Stats
		if err := rows.Scan(&p, &s.N, &s.Median, &s.P90); err != nil {
			t.Fatal(err)
		}
		got[p] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || len(want) != 5 {
		t.Fatalf("priorities: database %v, CSV %v; want 1 to 5 in both", got, want)
	}
	for p, w := range want {
		g := got[p]
		t.Logf("priority %d: call processing n=%d median %.1fs p90 %.1fs (database: n=%d median %.1fs p90 %.1fs)",
			p, w.N, w.Median, w.P90, g.N, g.Median, g.P90)
		if g.N != w.N || math.Abs(g.Median-w.Median) > 1 || math.Abs(g.P90-w.P90) > 1 {
			t.Errorf("priority %d: database n=%d median %.2f p90 %.2f; CSV n=%d median %.2f p90 %.2f", p, g.N, g.Median, g.P90,
				w.N, w.Median, w.P90)
		}
	}

	// Both runs are in the audit trail, which stays intact.
	if n := queryCount(t, db, `SELECT count(*) FROM audit_events WHERE action = 'import.run' AND username = 'root'
		AND record_id = $1 AND outcome = 'ok'`, filepath.Base(path)); n != 2 {
		t.Errorf("%d import.run audit rows, want 2", n)
	}
	var imported int64
	if err := db.Pool.QueryRow(ctx, `SELECT (detail->>'imported')::bigint FROM audit_events WHERE action = 'import.run'
		ORDER BY id LIMIT 1`).Scan(&imported); err != nil || imported != 1000 {
		t.Errorf("the first audit row's detail says imported %d (%v), want 1000", imported, err)
	}
	if _, problem, err := db.VerifyAudit(ctx); err != nil || problem != nil {
		t.Errorf("VerifyAudit: %v %+v", err, problem)
	}
}

func sortedInts(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestImportReferenceData: existing records are found by name or code,
// new ones created (with derived codes, DV flag by name), rows without a
// priority or type get the fallbacks, and times out of order are stored
// as given.
func TestImportReferenceData(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO districts (code, name) VALUES ('LEN', 'Leninsky')`,
		`INSERT INTO incident_types (code, name, is_dv) VALUES ('DV-PHYS', 'Domestic violence - physical', true)`,
		`INSERT INTO incident_types (code, name) VALUES ('THEFT', 'Theft')`,
		`INSERT INTO priorities (level, label) VALUES (1, 'Immediate'), (3, 'Routine')`,
		`INSERT INTO dispositions (code, name) VALUES ('ARREST', 'Arrest made')`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	csv := "id,received,dispatched,enroute,pri,type,disp,district,address\n" +
		"1,2025-04-01 10:00:00,2025-04-01 10:01:00,2025-04-01 10:00:30,1,dv-phys,Arrest made,leninsky,ul. Chui 12 kv 3\n" +
		"2,2025-04-01 11:00:00,2025-04-01 10:59:00,,7,THEFT,ARREST,Leninsky,\n" +
		"3,2025-04-01 12:00:00,,,,,Warned,Свердловский район,\n" +
		"4,2025-04-01 13:00:00,,,3,Семейное насилие,,PERVOMAISKY DISTRICT NORTH,\n" +
		"5,2025-04-01 14:00:00,,,3,Noise,,Beat 7,\n"
	path := filepath.Join(t.TempDir(), "calls.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := importer.ParseMapping(strings.NewReader(`{"timezone": "Asia/Bishkek", "columns": {"external_id": "id",
		"received_at": "received", "dispatched_at": "dispatched", "en_route_at": "enroute", "priority": "pri",
		"incident_type": "type", "disposition": "disp", "district": "district", "address": "address"}}`))
	if err != nil {
		t.Fatal(err)
	}
	sum := importFile(t, db, path, m, postgres.ImportOptions{})
	if sum.Imported != 5 || sum.Inconsistent != 2 || sum.WithoutPriority != 1 || sum.WithoutType != 1 || sum.DefaultPriority != 3 {
		t.Errorf("imported %d inconsistent %d without priority %d (given %d) without type %d; want 5, 2, 1 (3), 1",
			sum.Imported, sum.Inconsistent, sum.WithoutPriority, sum.DefaultPriority, sum.WithoutType)
	}
	var pairs []string
	for _, p := range sum.Pairs {
		pairs = append(pairs, p.Pair.String())
	}
	if want := []string{"dispatched before received", "en route before dispatched"}; !cmp.Equal(pairs, want) {
		t.Errorf("pairs out of order %v, want %v", pairs, want)
	}
	if !cmp.Equal(sum.Created.Priorities, []int{7}) {
		t.Errorf("created priorities %v, want [7]", sum.Created.Priorities)
	}
	type ref struct {
		Code, Name string
		DV         bool
	}
	var types []ref
	for _, ty := range sum.Created.IncidentTypes {
		types = append(types, ref{ty.Code, ty.Name, ty.IsDV})
	}
	wantTypes := []ref{ // by code
		{importer.CodeFor("Семейное насилие", 32), "Семейное насилие", true},
		{"NOISE", "Noise", false},
		{"NOT_RECORDED", "Not recorded", false},
	}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("created types (-want +got):\n%s", diff)
	}
	if c := wantTypes[0].Code; !regexp.MustCompile(`^IMP-[0-9A-F]{6}$`).MatchString(c) {
		t.Errorf("the Cyrillic type got code %q, want IMP- and six hex digits", c)
	}
	var dists []string
	for _, d := range sum.Created.Districts {
		dists = append(dists, d.Code+"="+d.Name)
	}
	wantDists := []string{"BEAT_7=Beat 7", importer.CodeFor("Свердловский район", 16) + "=Свердловский район",
		importer.CodeFor("PERVOMAISKY DISTRICT NORTH", 16) + "=PERVOMAISKY DISTRICT NORTH"}
	if !cmp.Equal(dists, wantDists) {
		t.Errorf("created districts %v, want %v", dists, wantDists)
	}
	if len(sum.Created.Dispositions) != 1 || sum.Created.Dispositions[0].Code != "WARNED" {
		t.Errorf("created dispositions %+v, want WARNED only", sum.Created.Dispositions)
	}

	check := func(ext, what, sql string, want any) {
		t.Helper()
		var got any
		if err := db.Pool.QueryRow(ctx, `SELECT `+sql+` FROM incidents i
			LEFT JOIN incident_types t ON t.id = i.type_id LEFT JOIN districts d ON d.id = i.district_id
			LEFT JOIN dispositions dp ON dp.id = i.disposition_id WHERE i.source = 'import' AND i.external_id = $1`, ext).Scan(&got); err != nil {
			t.Fatalf("%s of %s: %v", what, ext, err)
		}
		if !cmp.Equal(got, want) {
			t.Errorf("incident %s: %s = %v, want %v", ext, what, got, want)
		}
	}
	check("1", "type", "t.code", "DV-PHYS")
	check("1", "district", "d.code", "LEN")
	check("1", "disposition", "dp.code", "ARREST")
	var address string
	must(t, db.Pool.QueryRow(context.Background(), `SELECT address FROM incidents WHERE source = 'import' AND external_id = '1'`).Scan(&address))
	flat, building := match.Address(address)
	check("1", "flat key", "(SELECT k.address_key FROM incident_keys k WHERE k.incident_id = i.id)", flat)
	check("1", "building key", "(SELECT k.building_key FROM incident_keys k WHERE k.incident_id = i.id)", building)
	check("1", "number", "i.number", "IM-2025-000001")
	check("2", "type", "t.code", "THEFT")
	check("2", "disposition", "dp.code", "ARREST")
	check("2", "call processing (stored as given)", "extract(epoch FROM i.dispatched_at - i.received_at)::int", int32(-60))
	check("3", "priority", "i.priority", int32(3))
	check("3", "type", "t.code", "NOT_RECORDED")
	check("3", "received (Bishkek is UTC+6)", "to_char(i.received_at AT TIME ZONE 'UTC', 'HH24:MI')", "06:00")
	check("5", "number", "i.number", "IM-2025-000005")

	// The numbers go on from the highest of the year.
	csv2 := "id,received\n6,2025-12-31 23:30:00\n7,2026-01-01 00:30:00\n"
	sum2, err := db.Import(ctx, strings.NewReader(csv2), mustParse(t, `{"timezone": "Asia/Bishkek", "default_district": "LEN", "columns": {"external_id": "id", "received_at": "received"}}`),
		postgres.ImportOptions{Location: mustZone(t, "Asia/Bishkek")})
	if err != nil || sum2.Imported != 2 {
		t.Fatalf("second import: %v %+v", err, sum2)
	}
	check("6", "number", "i.number", "IM-2025-000006")
	check("7", "number", "i.number", "IM-2026-000001")
	check("6", "priority (no priority, no default)", "i.priority", int32(7))
}

func mustParse(t *testing.T, js string) *importer.Mapping {
	t.Helper()
	m, err := importer.ParseMapping(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestImportRefusedStoresNothing: a file that does not fit the mapping is
// refused before any row, nothing is stored and the refusal is audited.
func TestImportRefusedStoresNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	m := mustParse(t, `{"default_district": "LEN", "columns": {"external_id": "id", "received_at": "received", "priority": "prio"}}`)
	_, err := db.Import(context.Background(), strings.NewReader("id,received\n1,2025-04-01 10:00:00\n"), m,
		postgres.ImportOptions{FileName: "/tmp/x/calls.csv"})
	msg := apperr.MessageOf(err)
	if got := i18n.Shared().Localizer("en").T(msg.ID, msg.Args...); apperr.CodeOf(err) != apperr.Invalid ||
		!strings.Contains(got, `column "prio" (priority) is not in the file's header`) {
		t.Errorf("Import: %v (%q), want Invalid naming the missing column", err, got)
	}
	if n := queryCount(t, db, `SELECT count(*) FROM incidents`); n != 0 {
		t.Errorf("%d incidents stored by a refused import", n)
	}
	if n := queryCount(t, db, `SELECT count(*) FROM audit_events WHERE action = 'import.run' AND outcome = 'invalid'
		AND record_id = 'calls.csv'`); n != 1 {
		t.Errorf("%d audit rows for the refused import, want 1", n)
	}

	// A sink failure half-way rolls every batch back.
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelAfter{r: strings.NewReader("id,received\n1,2025-04-01 10:00:00\n2,2025-04-01 10:00:00\n3,2025-04-01 10:00:00\n"), cancel: cancel}
	m2 := mustParse(t, `{"default_district": "LEN", "columns": {"external_id": "id", "received_at": "received"}}`)
	if _, err := db.Import(ctx, r, m2, postgres.ImportOptions{Run: importer.Options{BatchSize: 1}}); err == nil {
		t.Errorf("an import whose context ended succeeded")
	}
	if n := queryCount(t, db, `SELECT count(*) FROM incidents`); n != 0 {
		t.Errorf("%d incidents stored by a failed import, want 0", n)
	}
}

// cancelAfter cancels its context once it has been read to the end.
type cancelAfter struct {
	r      *strings.Reader
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.r.Len() == 0 {
		c.cancel()
	}
	return n, err
}

// TestImportConcurrent: two imports of one file at the same time store
// each incident once.
func TestImportConcurrent(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	path := filepath.Join(t.TempDir(), "calls.csv")
	importtest.WriteSynthetic(t, path, 3000, 7)
	m := mustParse(t, importtest.SyntheticMapping)
	var wg sync.WaitGroup
	sums := make([]*importer.Summary, 2)
	for i := range sums {
		wg.Go(func() { sums[i] = importFile(t, db, path, m, postgres.ImportOptions{}) })
	}
	wg.Wait()
	if sums[0] == nil || sums[1] == nil {
		t.FailNow()
	}
	if got := sums[0].Imported + sums[1].Imported; got != 2997 || sums[0].Imported*sums[1].Imported != 0 {
		t.Errorf("imported %d and %d, want 2997 once", sums[0].Imported, sums[1].Imported)
	}
	if n := queryCount(t, db, `SELECT count(*) FROM incidents`); n != 2997 {
		t.Errorf("%d incidents, want 2997", n)
	}
}

// TestImportSynthetic imports a generated export of 12,000 rows (three
// batches of the importer) and imports it again: every row accounted for,
// the rejected and out-of-order rows counted, nothing added the second
// time. The 100,000-row run with its time, rate and heap is a benchmark:
// internal/bench TestBenchImport (make bench).
func TestImportSynthetic(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	path := filepath.Join(t.TempDir(), "synthetic.csv")
	want := importtest.WriteSynthetic(t, path, 12_000, 42)
	if want.Bad == 0 || want.Reordered == 0 {
		t.Fatalf("the synthetic file has %d bad and %d out-of-order rows; want some of each", want.Bad, want.Reordered)
	}
	m := mustParse(t, importtest.SyntheticMapping)
	sum := importFile(t, db, path, m, postgres.ImportOptions{})
	if sum.RowsRead != want.Rows || sum.Imported != want.Rows-want.Bad || sum.Rejected != want.Bad || !sum.Balanced() {
		t.Errorf("read %d imported %d duplicates %d rejected %d; want %d, %d, 0, %d", sum.RowsRead, sum.Imported,
			sum.Duplicates, sum.Rejected, want.Rows, want.Rows-want.Bad, want.Bad)
	}
	if sum.Inconsistent != want.Reordered {
		t.Errorf("out of order %d, want %d", sum.Inconsistent, want.Reordered)
	}
	again := importFile(t, db, path, m, postgres.ImportOptions{})
	if again.Imported != 0 || again.Duplicates != want.Rows-want.Bad {
		t.Errorf("re-import: imported %d duplicates %d", again.Imported, again.Duplicates)
	}
	if n := queryCount(t, db, `SELECT count(*) FROM incidents WHERE source = 'import'`); n != int64(want.Rows-want.Bad) {
		t.Errorf("%d incidents stored, want %d", n, want.Rows-want.Bad)
	}
}

// TestImportPrioritiesOneToTen imports an export whose priorities run 1 to
// 10, as a real CAD centre's does: every row is kept, level 10 is created,
// and the report shows P10.
func TestImportPrioritiesOneToTen(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	loc := mustZone(t, "Asia/Bishkek")
	for _, sql := range []string{
		`INSERT INTO districts (code, name) VALUES ('LEN', 'Leninsky')`,
		`INSERT INTO priorities (level, label, target_call_processing_s) VALUES (1, 'Immediate', 60)`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	csv := "id,received,dispatched,pri\n"
	for p := 1; p <= 10; p++ {
		csv += fmt.Sprintf("%d,2025-04-%02d 10:00:00,2025-04-%02d 10:%02d:00,%d\n", p, p, p, p, p)
	}
	path := filepath.Join(t.TempDir(), "calls.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, `{"timezone": "Asia/Bishkek", "default_district": "LEN", "columns": {"external_id": "id",
		"received_at": "received", "dispatched_at": "dispatched", "priority": "pri"}}`)
	// While listening, the priorities are kept in memory (refcache.go):
	// those the import creates are read at once all the same.
	startListen(t, db).waitConnect(t)
	if ps, err := db.Priorities(ctx); err != nil || len(ps) != 1 {
		t.Fatalf("priorities before the import: %d, %v; want 1", len(ps), err)
	}
	sum := importFile(t, db, path, m, postgres.ImportOptions{})
	if sum.RowsRead != 10 || sum.Imported != 10 || sum.Rejected != 0 {
		t.Fatalf("read %d, imported %d, rejected %d; want 10, 10, 0", sum.RowsRead, sum.Imported, sum.Rejected)
	}
	if ps, err := db.Priorities(ctx); err != nil || len(ps) != 10 {
		t.Fatalf("priorities read right after the import: %d, %v; want 10", len(ps), err)
	}
	if n := queryCount(t, db, `SELECT count(*) FROM incidents WHERE priority = 10`); n != 1 {
		t.Errorf("%d incidents of priority 10, want 1", n)
	}
	q := report.Query{Location: loc, GroupBy: report.ByPriority, From: report.Date{Year: 2025, Month: 4, Day: 1},
		To: report.Date{Year: 2025, Month: 4, Day: 30}}
	got, err := db.ResponseTimes(ctx, q)
	must(t, err)
	g, found := got.Group("10")
	if s := g.Intervals[refdata.CallProcessing]; !found || g.Incidents != 1 || s.Median == nil || *s.Median != 600 {
		t.Errorf("P10 group %+v (found %v), want 1 incident, call processing 600 s", g, found)
	}
}
