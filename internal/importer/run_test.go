package importer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/importer"
	"github.com/dvresponse/dvresponse/internal/importer/importtest"
)

// memSink keeps external ids it has seen, like the database's unique key.
type memSink struct {
	ids     map[string]bool
	rows    []importer.Row // every row stored, when keep is set
	keep    bool
	batches int
	maxLen  int
}

func newMemSink(keep bool) *memSink { return &memSink{ids: map[string]bool{}, keep: keep} }

func (s *memSink) Store(_ context.Context, rows []importer.Row, inserted []bool) error {
	s.batches++
	s.maxLen = max(s.maxLen, len(rows))
	for i, r := range rows {
		if s.ids[r.ExternalID] {
			continue
		}
		s.ids[r.ExternalID] = true
		inserted[i] = true
		if s.keep {
			s.rows = append(s.rows, r)
		}
	}
	return nil
}

func mustMapping(t *testing.T, js string) *importer.Mapping {
	t.Helper()
	m, err := importer.ParseMapping(strings.NewReader(js))
	if err != nil {
		t.Fatalf("ParseMapping: %v", err)
	}
	return m
}

const smallMapping = `{"timezone": "UTC", "null_values": ["NULL", "n/a"], "default_district": "OKT",
  "columns": {"external_id": "Call No", "received_at": "Received", "dispatched_at": "Dispatched",
    "priority": "Pri", "incident_type": "Type", "district": "Beat", "address": "Address"}}`

func TestRunAccountsForEveryRow(t *testing.T) {
	csv := "\ufeffCall No,Received,Dispatched,Pri,Type,Beat,Address,Other\n" +
		"A1,2025-04-01 10:00:00,2025-04-01 10:01:30,1,DOMESTIC VIOL,LEN,ul. Chui 12,x\n" +
		"A2,2025-04-01 10:05:00,NULL,2,THEFT,,,x\n" + // no dispatch: stays empty; no district: the default
		"A3,2025-04-01 10:10:00,2025-04-01 10:09:00,3,THEFT,OKT,,x\n" + // dispatched before received
		"A1,2025-04-01 10:00:00,2025-04-01 10:01:30,1,DOMESTIC VIOL,LEN,ul. Chui 12,x\n" + // repeated
		"A4,yesterday,,1,THEFT,,,x\n" + // bad time
		"A5,2025-04-01 10:20:00,,1200,THEFT,,,x\n" + // bad priority
		"A6,2025-04-01 10:25:00,,1,THEFT,,x\n" + // a field short
		",2025-04-01 10:30:00,,1,THEFT,,,x\n" + // no id
		"A7,n/a,,1,THEFT,,,x\n" + // no received time
		"A8,2025-04-01 10:40:00,,,,,,\"multi\nline\"\n" + // no priority, no type
		"A9,2099-04-01 10:00:00,,1,THEFT,,,x\n" // in the future
	sink := newMemSink(true)
	var streamed []importer.Rejection
	sum, err := importer.Run(context.Background(), strings.NewReader(csv), mustMapping(t, smallMapping), sink,
		importer.Options{BatchSize: 2, OnReject: func(r importer.Rejection) { streamed = append(streamed, r) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsRead != 11 || sum.Imported != 4 || sum.Duplicates != 1 || sum.Rejected != 6 || !sum.Balanced() {
		t.Errorf("read %d = imported %d + duplicates %d + rejected %d; want 11 = 4 + 1 + 6",
			sum.RowsRead, sum.Imported, sum.Duplicates, sum.Rejected)
	}
	wantRejected := map[int]string{
		5:  `received_at: "yesterday" is not a recognised time`,
		6:  `priority: "1200" is not a level from 1 (most urgent) to 999`,
		7:  "has 7 fields, the header has 8",
		8:  "external_id: is empty",
		9:  "received_at: is empty",
		11: `received_at: "2099-04-01 10:00:00" is in the future`,
	}
	if len(sum.Rejections) != len(wantRejected) {
		t.Errorf("Rejections = %v, want rows %v", sum.Rejections, wantRejected)
	}
	for _, r := range sum.Rejections {
		if want, ok := wantRejected[r.Row]; !ok || !strings.Contains(r.Reason(nil), want) {
			t.Errorf("rejected row %d: reason %q, want it to say %q", r.Row, r.Reason(nil), want)
		}
		wantLine := r.Row + 1 // the header is line 1
		if r.Row > 10 {
			wantLine++ // row 10 spans two lines
		}
		if r.Line != wantLine {
			t.Errorf("rejected row %d on line %d, want line %d", r.Row, r.Line, wantLine)
		}
	}
	if diff := cmp.Diff(sum.Rejections, streamed); diff != "" {
		t.Errorf("OnReject saw other rejections than the summary (-summary +streamed):\n%s", diff)
	}
	if sum.Inconsistent != 1 || len(sum.Pairs) != 1 || sum.Pairs[0].Pair.String() != "dispatched before received" {
		t.Errorf("Inconsistent = %d, Pairs = %v; want 1 dispatched before received", sum.Inconsistent, sum.Pairs)
	}
	if sum.WithoutPriority != 1 || sum.WithoutType != 1 {
		t.Errorf("WithoutPriority = %d, WithoutType = %d; want 1, 1", sum.WithoutPriority, sum.WithoutType)
	}
	if want := []string{"en_route_at", "on_scene_at", "cleared_at", "disposition"}; !cmp.Equal(sum.Unmapped, want) {
		t.Errorf("Unmapped = %v, want %v", sum.Unmapped, want)
	}

	a1 := sink.rows[0]
	want := importer.Row{RowNo: 1, Line: 2, ExternalID: "A1", Priority: 1, IncidentType: "DOMESTIC VIOL",
		District: "LEN", Address: "ul. Chui 12"}
	want.Times[importer.Received] = time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)
	want.Times[importer.Dispatched] = time.Date(2025, 4, 1, 10, 1, 30, 0, time.UTC)
	if diff := cmp.Diff(want, a1); diff != "" {
		t.Errorf("row A1 (-want +got):\n%s", diff)
	}
	if a2 := sink.rows[1]; !a2.Times[importer.Dispatched].IsZero() || a2.District != "OKT" {
		t.Errorf("row A2: dispatched %v district %q, want no dispatch and the default district OKT", a2.Times[importer.Dispatched], a2.District)
	}
	if a8 := sink.rows[3]; a8.ExternalID != "A8" || a8.Line != 11 || a8.Priority != 0 {
		t.Errorf("row A8: %+v, want line 11 and no priority", a8)
	}

	var out bytes.Buffer
	sum.File = "calls.csv"
	if err := sum.Format(&out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"rows read            11", "imported            4", "duplicates          1",
		"rejected            6", "dispatched before received:", "row 5 (line 6): received_at:"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the printed summary lacks %q:\n%s", s, out.String())
		}
	}

	// The same file again adds nothing.
	again, err := importer.Run(context.Background(), strings.NewReader(csv), mustMapping(t, smallMapping), sink, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Imported != 0 || again.Duplicates != 5 || again.Rejected != 6 {
		t.Errorf("re-import: imported %d duplicates %d rejected %d, want 0, 5, 6", again.Imported, again.Duplicates, again.Rejected)
	}
}

func TestRunWithoutExternalIDColumn(t *testing.T) {
	m := mustMapping(t, `{"default_district": "LEN", "columns": {"received_at": "t", "priority": "p"}}`)
	csv := "t,p\n2025-04-01 10:00:00,1\n2025-04-01 10:00:00,2\n2025-04-01 10:00:00,1\n"
	sink := newMemSink(true)
	sum, err := importer.Run(context.Background(), strings.NewReader(csv), m, sink, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 2 || sum.Duplicates != 1 {
		t.Errorf("imported %d duplicates %d, want 2 and 1 (the third row repeats the first)", sum.Imported, sum.Duplicates)
	}
	if id := sink.rows[0].ExternalID; !strings.HasPrefix(id, "row-") || len(id) != 36 {
		t.Errorf("derived external id %q, want row- and 32 hex digits", id)
	}
	again, _ := importer.Run(context.Background(), strings.NewReader(csv), m, sink, importer.Options{})
	if again.Imported != 0 {
		t.Errorf("re-import without an id column imported %d rows, want 0", again.Imported)
	}
}

func TestRunRefusesWhatDoesNotFit(t *testing.T) {
	tests := []struct{ name, mapping, csv, want string }{
		{"missing column", smallMapping, "Call No,Received\nA1,2025-04-01 10:00:00\n",
			`column "Dispatched" (dispatched_at) is not in the file's header`},
		{"empty file", smallMapping, "", "The file is empty"},
		{"twice", `{"default_district": "LEN", "columns": {"received_at": "t"}}`, "t,t\n1,2\n", `column "t" (received_at) appears 2 times`},
		{"case", `{"default_district": "LEN", "columns": {"received_at": "T"}}`, "t\n2025-04-01 10:00:00\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := importer.Run(context.Background(), strings.NewReader(tt.csv), mustMapping(t, tt.mapping), newMemSink(false), importer.Options{})
			if tt.want == "" {
				if err != nil {
					t.Errorf("Run: %v, want success", err)
				}
				return
			}
			if err == nil || apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(english(err), tt.want) {
				t.Errorf("Run: %v, want an Invalid error saying %q", err, tt.want)
			}
		})
	}
}

func TestRunReadsOnAfterBrokenQuotes(t *testing.T) {
	csv := "id,t\nA1,2025-04-01 10:00:00\nA2,2025-04-01 \"10:00:00\nA3,2025-04-01 10:02:00\n"
	sum, err := importer.Run(context.Background(), strings.NewReader(csv), mustMapping(t, `{"default_district": "LEN", "columns": {"external_id": "id", "received_at": "t"}}`),
		newMemSink(false), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsRead != 3 || sum.Imported != 2 || sum.Rejected != 1 || !strings.Contains(sum.Rejections[0].Reason(nil), "cannot be read as CSV") {
		t.Errorf("summary %+v, want 3 read, 2 imported, row 2 rejected as unreadable CSV", sum)
	}
}

func TestRunStopsOnSinkError(t *testing.T) {
	boom := errors.New("boom")
	_, err := importer.Run(context.Background(), strings.NewReader("t\n2025-04-01 10:00:00\n"),
		mustMapping(t, `{"default_district": "LEN", "columns": {"received_at": "t"}}`), failSink{boom}, importer.Options{})
	if !errors.Is(err, boom) {
		t.Errorf("Run: %v, want the sink's error", err)
	}
}

type failSink struct{ err error }

func (f failSink) Store(context.Context, []importer.Row, []bool) error { return f.err }

func TestParseMapping(t *testing.T) {
	for _, tt := range []struct{ js, want string }{
		{`{"columns": {"recieved_at": "x"}}`, `unknown key "recieved_at"`},
		{`{"columns": {}}`, `The mapping is not valid: "columns" must name the "received_at" column: every incident needs its received time.`},
		{`{"timezone": "Mars/Olympus", "columns": {"received_at": "x"}}`, `"Mars/Olympus" is not a known time zone`},
		{`{"time_format": "%Y", "columns": {"received_at": "x"}}`, `does not give the year, month, day, hour and minute`},
		{`{"default_priority": 1200, "columns": {"received_at": "x"}}`, `not a level from 1 to 999`},
		{`{"columns": {"received_at": 3}}`, `should be string`},
		{`{"columns": `, `ends too early`},
		{``, `The mapping is empty`},
		{`{"columns": {"received_at": "x"}} {}`, `more text after`},
	} {
		_, err := importer.ParseMapping(strings.NewReader(tt.js))
		if err == nil || !strings.Contains(english(err), tt.want) {
			t.Errorf("ParseMapping(%s) = %v (%q), want an error saying %q", tt.js, err, english(err), tt.want)
		}
	}
}

func TestExampleMappingReadsFixture(t *testing.T) {
	path := importtest.FixturePath(t)
	mf, err := os.Open(importtest.MappingPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	m, err := importer.ParseMapping(mf)
	if err != nil {
		t.Fatalf("the example mapping: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sink := newMemSink(true)
	sum, err := importer.Run(context.Background(), f, m, sink, importer.Options{BatchSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsRead != 1000 || sum.Imported != 1000 || !sum.Balanced() {
		t.Errorf("fixture: read %d imported %d duplicates %d rejected %d, want all 1000 imported (%v)",
			sum.RowsRead, sum.Imported, sum.Duplicates, sum.Rejected, sum.Rejections)
	}
	if sink.batches != 4 || sink.maxLen != 300 {
		t.Errorf("%d batches of at most %d rows, want 4 of at most 300", sink.batches, sink.maxLen)
	}
	dv := 0
	for _, r := range sink.rows {
		if importer.IsDVName(r.IncidentType) {
			dv++
		}
		if !r.Times[importer.OnScene].IsZero() {
			t.Fatalf("row %d has an on-scene time, but the fixture has no such column", r.RowNo)
		}
	}
	if dv != 33 {
		t.Errorf("%d rows have a domestic-violence type, want 33 (data/README.md)", dv)
	}
}

// TestRunStreams reads a 20,000-row export in batches of 1000 through a
// sink that keeps nothing and logs the heap: it holds one batch, not the
// file. (The 100,000-row import into PostgreSQL, timed, is internal/bench
// TestBenchImport.)
func TestRunStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 20,000-row file")
	}
	path := filepath.Join(t.TempDir(), "big.csv")
	want := importtest.WriteSynthetic(t, path, 20_000, 1)
	st, _ := os.Stat(path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := importtest.HeapReport()
	sink := &heapSink{}
	start := time.Now()
	sum, err := importer.Run(context.Background(), f, mustMapping(t, importtest.SyntheticMapping), sink, importer.Options{BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if sink.n != 20 {
		t.Errorf("%d batches, want 20 of 1000 rows", sink.n)
	}
	t.Logf("%d rows (%.1f MiB) converted in %v (%.0f rows/s); heap after GC: before %.1f MiB, after batches %v MiB",
		sum.RowsRead, float64(st.Size())/(1<<20), took.Round(time.Millisecond), float64(sum.RowsRead)/took.Seconds(),
		float64(before)/(1<<20), sink.samples)
	if sum.RowsRead != want.Rows || sum.Rejected != want.Bad || sum.Imported != want.Rows-want.Bad || !sum.Balanced() {
		t.Errorf("read %d imported %d rejected %d, want %d, %d, %d", sum.RowsRead, sum.Imported, sum.Rejected,
			want.Rows, want.Rows-want.Bad, want.Bad)
	}
	if sum.Inconsistent != want.Reordered {
		t.Errorf("Inconsistent = %d, want %d", sum.Inconsistent, want.Reordered)
	}
}

// heapSink samples the heap every fifth batch. It keeps nothing (the
// synthetic ids are distinct), so the heap is the importer's own.
type heapSink struct {
	n       int
	samples []string
}

func (h *heapSink) Store(_ context.Context, rows []importer.Row, inserted []bool) error {
	h.n++
	if h.n%5 == 0 {
		h.samples = append(h.samples, fmt.Sprintf("%.1f", float64(importtest.HeapReport())/(1<<20)))
	}
	for i := range inserted {
		inserted[i] = true
	}
	return nil
}

// english renders an error's message as the command line shows it.
func english(err error) string {
	m := apperr.MessageOf(err)
	return i18n.Shared().Localizer("en").T(m.ID, m.Args...)
}

func TestParseMappingNamesEveryProblem(t *testing.T) {
	_, err := importer.ParseMapping(strings.NewReader(`{"timezone": "Mars/Olympus", "default_priority": 1200, "columns": {}}`))
	if got, want := english(err), `The mapping is not valid: "columns" must name the "received_at" column`; !strings.HasPrefix(got, want) {
		t.Errorf("message %q, want the first problem, %q...", got, want)
	}
	f := apperr.FieldsOf(err)
	for key, want := range map[string]string{"columns": "import.err.mapping_received_at",
		"timezone": "import.err.mapping_zone_unknown", "default_priority": "import.err.mapping_priority"} {
		if f[key].ID != want {
			t.Errorf("problem at %s: %q, want %q (all: %v)", key, f[key].ID, want, f)
		}
	}
}

// TestEveryRowNeedsADistrict: a mapping that maps no district column and
// sets no default_district is refused before any row, with a message
// that says what to do; with a district column but no default, a row
// whose district is empty is rejected, and one with a district imported.
func TestEveryRowNeedsADistrict(t *testing.T) {
	_, err := importer.ParseMapping(strings.NewReader(`{"columns": {"received_at": "Received"}}`))
	if msg := apperr.MessageOf(err); msg.ID != "import.err.mapping_district" || apperr.FieldsOf(err)["default_district"].ID == "" {
		t.Fatalf("a mapping without a district: %v (%v), want import.err.mapping_district at default_district", err, apperr.FieldsOf(err))
	}
	m := mustMapping(t, `{"timezone": "UTC", "columns": {"external_id": "id", "received_at": "Received", "district": "Beat"}}`)
	sink := newMemSink(true)
	sum, err := importer.Run(context.Background(), strings.NewReader("id,Received,Beat\nB1,2025-04-01 10:00:00,LEN\nB2,2025-04-01 10:05:00,\n"),
		m, sink, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 1 || sum.Rejected != 1 || len(sum.Rejections) != 1 || sum.Rejections[0].Row != 2 ||
		!strings.Contains(sum.Rejections[0].Reason(nil), "district: is empty, and the mapping sets no default_district") {
		t.Errorf("imported %d, rejected %v; want B1 imported and B2 rejected for its empty district", sum.Imported, sum.Rejections)
	}
	m = mustMapping(t, `{"timezone": "UTC", "default_district": " Oktyabrsky ", "columns": {"external_id": "id", "received_at": "Received"}}`)
	sink = newMemSink(true)
	if _, err := importer.Run(context.Background(), strings.NewReader("id,Received\nC1,2025-04-01 10:00:00\n"), m, sink, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	if len(sink.rows) != 1 || sink.rows[0].District != "Oktyabrsky" {
		t.Errorf("rows %+v, want C1 in the default district Oktyabrsky", sink.rows)
	}
}
