package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/refdata"
)

func handResult(t *testing.T) Result {
	t.Helper()
	q := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, Location: bishkek, GroupBy: ByPriority,
		Filters: Filters{DVOnly: true}}
	b := NewBuilder(q, handPriorities())
	for _, in := range handIncidents() {
		b.Add(in)
	}
	return b.Result()
}

func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, handResult(t), JSON); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if diff := cmp.Diff([]string{"filters", "from", "group_by", "groups", "time_zone", "to"}, keys(doc)); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	if doc["from"] != "2026-03-01" || doc["to"] != "2026-03-01" || doc["group_by"] != "priority" || doc["time_zone"] != "Asia/Bishkek" {
		t.Errorf("header: %v %v %v %v", doc["from"], doc["to"], doc["group_by"], doc["time_zone"])
	}
	if diff := cmp.Diff(map[string]any{"dv_only": "1"}, doc["filters"]); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	groups := doc["groups"].([]any)
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2", len(groups))
	}
	g := groups[0].(map[string]any)
	if diff := cmp.Diff([]string{"corrected", "incidents", "intervals", "key", "label"}, keys(g)); diff != "" {
		t.Errorf("group keys (-want +got):\n%s", diff)
	}
	if g["key"] != "1" || g["incidents"] != 5.0 || g["corrected"] != 1.0 {
		t.Errorf("group: %v", g)
	}
	ivs := g["intervals"].(map[string]any)
	if len(ivs) != len(refdata.Intervals) {
		t.Errorf("%d intervals, want %d", len(ivs), len(refdata.Intervals))
	}
	// Report order is kept in the text.
	text := buf.String()
	last := -1
	for _, iv := range refdata.Intervals {
		i := strings.Index(text, `"`+string(iv)+`":`)
		if i < last {
			t.Errorf("interval %s out of report order", iv)
		}
		last = i
	}
	want := map[string]any{"n": 4.0, "missing": 1.0, "inconsistent": 0.0, "median_s": 600.5, "p90_s": 810.3,
		"p95_s": 855.15, "target_s": 600.0, "within_target_pct": 50.0}
	if diff := cmp.Diff(want, ivs["response"]); diff != "" {
		t.Errorf("priority 1 response (-want +got):\n%s", diff)
	}
	// No target for turnout: null, not 0 and not left out.
	want = map[string]any{"n": 2.0, "missing": 2.0, "inconsistent": 1.0, "median_s": 60.0, "p90_s": 60.0,
		"p95_s": 60.0, "target_s": nil, "within_target_pct": nil}
	if diff := cmp.Diff(want, ivs["turnout"]); diff != "" {
		t.Errorf("priority 1 turnout (-want +got):\n%s", diff)
	}
}

func TestJSONEmptyFiguresAreNull(t *testing.T) {
	q := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, Location: time.UTC, GroupBy: ByAll}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, NewBuilder(q, nil).Result()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Intervals map[string]map[string]any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Groups[0].Intervals["response"]
	for _, k := range []string{"median_s", "p90_s", "p95_s", "target_s", "within_target_pct"} {
		v, ok := s[k]
		if !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if s["n"] != 0.0 {
		t.Errorf("n = %v, want 0", s["n"])
	}
	// An empty grouping is an empty list, not null.
	q.GroupBy = ByDistrict
	buf.Reset()
	WriteJSON(&buf, NewBuilder(q, nil).Result())
	if !strings.Contains(buf.String(), `"groups": []`) {
		t.Errorf("empty report: %s, want \"groups\": []", buf.String())
	}
}

func TestCSVMatchesJSON(t *testing.T) {
	res := handResult(t)
	var jb, cb bytes.Buffer
	if err := Write(&jb, res, JSON); err != nil {
		t.Fatal(err)
	}
	if err := Write(&cb, res, CSV); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(cb.String(), "\r\n") {
		t.Error("CSV lines do not end in CRLF")
	}
	rows, err := csv.NewReader(bytes.NewReader(cb.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(CSVHeader, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if len(rows) != 1+2*len(refdata.Intervals) {
		t.Fatalf("%d rows, want a header and one row per group and interval", len(rows))
	}
	if len(fromJSONCount(t, jb.Bytes())) != len(rows)-1 {
		t.Errorf("JSON and CSV have different numbers of group intervals")
	}
	fromJSON, err := ReadFigures(jb.Bytes(), JSON)
	if err != nil {
		t.Fatal(err)
	}
	fromCSV, err := ReadFigures(cb.Bytes(), CSV)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromJSON, fromCSV); diff != "" {
		t.Errorf("JSON and CSV figures differ (-json +csv):\n%s", diff)
	}
	if got := fromCSV["2|turnout"]; got["target_s"] != "" || got["median_s"] != "10" {
		t.Errorf("priority 2 turnout: %v, want no target (empty cell) and median 10", got)
	}
}

func fromJSONCount(t *testing.T, b []byte) Figures {
	t.Helper()
	f, err := ReadFigures(b, JSON)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCSVDefusesFormulas(t *testing.T) {
	q := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, Location: time.UTC, GroupBy: ByType}
	b := NewBuilder(q, nil)
	b.Add(Incident{Stamps: Stamps{Received: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, Priority: 1,
		TypeCode: "X", TypeName: "=HYPERLINK(\"http://evil\")"})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, b.Result()); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&buf).ReadAll()
	if got := rows[1][4]; got != `'=HYPERLINK("http://evil")` {
		t.Errorf("label cell %q, want it prefixed with '", got)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"json": JSON, "CSV": CSV, " csv ": CSV} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xlsx"); err == nil {
		t.Error("ParseFormat(xlsx) succeeded")
	}
}
