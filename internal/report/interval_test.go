package report

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

func TestPercentileHandComputed(t *testing.T) {
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"median of four", []float64{1, 2, 3, 4}, 0.5, 2.5},
		{"p90 of four", []float64{1, 2, 3, 4}, 0.9, 3.7},
		{"p95 of four", []float64{1, 2, 3, 4}, 0.95, 3.85},
		{"p0 is the minimum", []float64{1, 2, 3, 4}, 0, 1},
		{"p100 is the maximum", []float64{1, 2, 3, 4}, 1, 4},
		{"median of an odd count is the middle", []float64{10, 20, 90}, 0.5, 20},
		{"single value, median", []float64{7}, 0.5, 7},
		{"single value, p95", []float64{7}, 0.95, 7},
		{"two values", []float64{0, 10}, 0.9, 9},
		{"ties", []float64{5, 5, 5, 5, 100}, 0.9, 62},
	}
	for _, tt := range tests {
		got, ok := Percentile(tt.sorted, tt.p)
		if !ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: Percentile(%v, %v) = %v, %v; want %v, true", tt.name, tt.sorted, tt.p, got, ok, tt.want)
		}
	}
	for _, tt := range []struct {
		sorted []float64
		p      float64
	}{{nil, 0.5}, {[]float64{}, 0.9}, {[]float64{1}, -0.1}, {[]float64{1}, 1.1}, {[]float64{1}, math.NaN()}} {
		if got, ok := Percentile(tt.sorted, tt.p); ok {
			t.Errorf("Percentile(%v, %v) = %v, true; want no value", tt.sorted, tt.p, got)
		}
	}
}

func TestDuration(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	tests := []struct {
		name     string
		from, to *time.Time
		want     float64
		status   Status
	}{
		{"both ends", at(0), at(90 * time.Second), 90, Measured},
		{"sub-second precision", at(0), at(1500 * time.Millisecond), 1.5, Measured},
		{"same instant is zero, not missing", at(0), at(0), 0, Measured},
		{"no end", at(0), nil, 0, Missing},
		{"no start", nil, at(0), 0, Missing},
		{"neither", nil, nil, 0, Missing},
		{"end before start", at(time.Minute), at(0), 0, Inconsistent},
	}
	for _, tt := range tests {
		got, st := Duration(tt.from, tt.to)
		if got != tt.want || st != tt.status {
			t.Errorf("%s: Duration = %v, %v; want %v, %v", tt.name, got, st, tt.want, tt.status)
		}
	}
}

func TestDefinitionsFollowDesign(t *testing.T) {
	want := map[refdata.Interval][2]incident.Stage{
		refdata.CallProcessing: {incident.Received, incident.Dispatched},
		refdata.Turnout:        {incident.Dispatched, incident.EnRoute},
		refdata.Travel:         {incident.EnRoute, incident.OnScene},
		refdata.Response:       {incident.Received, incident.OnScene},
		refdata.OnScene:        {incident.OnScene, incident.Cleared},
		refdata.Total:          {incident.Received, incident.Cleared},
	}
	if len(Definitions) != len(refdata.Intervals) {
		t.Fatalf("%d definitions for %d intervals", len(Definitions), len(refdata.Intervals))
	}
	for i, d := range Definitions {
		if d.Interval != refdata.Intervals[i] {
			t.Errorf("definition %d is %s, want %s (report order)", i, d.Interval, refdata.Intervals[i])
		}
		if w := want[d.Interval]; d.From != w[0] || d.To != w[1] {
			t.Errorf("%s runs %s→%s, want %s→%s", d.Interval, d.From, d.To, w[0], w[1])
		}
	}
	if _, ok := DefinitionOf("nonsense"); ok {
		t.Error("DefinitionOf(nonsense) found a definition")
	}
}

// handIncidents is a small data set whose figures are worked out by hand
// in TestBuilderHandComputed. All are received at 10:00 Bishkek time;
// offsets are seconds after that, -1 for a stage not recorded.
func handIncidents() []Incident {
	r := time.Date(2026, 3, 1, 10, 0, 0, 0, bishkek)
	at := func(s int) *time.Time {
		if s < 0 {
			return nil
		}
		x := r.Add(time.Duration(s) * time.Second)
		return &x
	}
	mk := func(prio, disp, enr, ons, clr int, corrected bool) Incident {
		return Incident{Stamps: Stamps{Received: r, Dispatched: at(disp), EnRoute: at(enr), OnScene: at(ons), Cleared: at(clr)},
			Priority: prio, DistrictCode: "LEN", DistrictName: "Leninsky", TypeCode: "DV", TypeName: "Domestic violence",
			Corrected: corrected}
	}
	return []Incident{
		mk(1, 30, 90, 300, 1800, false),  // A
		mk(1, 60, 120, 600, 2400, false), // B
		mk(1, 90, -1, 601, 3000, false),  // C: no en route
		mk(1, 120, 100, 900, -1, true),   // D: en route before dispatch; not cleared
		mk(1, -1, -1, -1, -1, false),     // E: never dispatched
		mk(2, 10, 20, 400, 400, true),    // F: cleared the moment it arrived
	}
}

var bishkek = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		panic(err)
	}
	return loc
}()

func handPriorities() []refdata.Priority {
	sixty, tenMin := 60, 600
	return []refdata.Priority{
		{Level: 1, Label: "Immediate danger", Targets: map[refdata.Interval]*int{refdata.CallProcessing: &sixty, refdata.Response: &tenMin}},
		{Level: 2, Label: "Urgent", Targets: map[refdata.Interval]*int{}},
	}
}

func fp(v float64) *float64 { return &v }
func ip(v int) *int         { return &v }

func TestBuilderHandComputed(t *testing.T) {
	q := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, Location: bishkek, GroupBy: ByPriority}
	b := NewBuilder(q, handPriorities())
	for _, in := range handIncidents() {
		b.Add(in)
	}
	res := b.Result()
	if len(res.Groups) != 2 || res.Groups[0].Key != "1" || res.Groups[1].Key != "2" {
		t.Fatalf("groups %+v, want priorities 1 and 2 in order", res.Groups)
	}
	p1, p2 := res.Groups[0], res.Groups[1]
	if p1.Label != "Immediate danger" || p1.Incidents != 5 || p1.Corrected != 1 {
		t.Errorf("priority 1: label %q incidents %d corrected %d, want Immediate danger 5 1", p1.Label, p1.Incidents, p1.Corrected)
	}
	if p2.Label != "Urgent" || p2.Incidents != 1 || p2.Corrected != 1 {
		t.Errorf("priority 2: label %q incidents %d corrected %d, want Urgent 1 1", p2.Label, p2.Incidents, p2.Corrected)
	}
	want1 := map[refdata.Interval]Summary{
		// 30, 60, 90, 120; E missing. Target 60: 30 and 60 are within.
		refdata.CallProcessing: {N: 4, Missing: 1, Median: fp(75), P90: fp(111), P95: fp(115.5), TargetS: ip(60), WithinTargetPct: fp(50)},
		// 60, 60; C and E missing, D's en route comes before its dispatch.
		refdata.Turnout: {N: 2, Missing: 2, Inconsistent: 1, Median: fp(60), P90: fp(60), P95: fp(60)},
		// 210, 480, 800 (D's travel from its recorded en route); C and E missing.
		refdata.Travel: {N: 3, Missing: 2, Median: fp(480), P90: fp(736), P95: fp(768)},
		// 300, 600, 601, 900; target 600: 300 and 600 (equal counts as within).
		refdata.Response: {N: 4, Missing: 1, Median: fp(600.5), P90: fp(810.3), P95: fp(855.15), TargetS: ip(600), WithinTargetPct: fp(50)},
		// 1500, 1800, 2399; D and E never cleared.
		refdata.OnScene: {N: 3, Missing: 2, Median: fp(1800), P90: fp(2279.2), P95: fp(2339.1)},
		refdata.Total:   {N: 3, Missing: 2, Median: fp(2400), P90: fp(2880), P95: fp(2940)},
	}
	checkSummaries(t, "priority 1", p1.Intervals, want1)
	want2 := map[refdata.Interval]Summary{
		refdata.CallProcessing: {N: 1, Median: fp(10), P90: fp(10), P95: fp(10)},
		refdata.Turnout:        {N: 1, Median: fp(10), P90: fp(10), P95: fp(10)},
		refdata.Travel:         {N: 1, Median: fp(380), P90: fp(380), P95: fp(380)},
		refdata.Response:       {N: 1, Median: fp(400), P90: fp(400), P95: fp(400)},
		refdata.OnScene:        {N: 1, Median: fp(0), P90: fp(0), P95: fp(0)},
		refdata.Total:          {N: 1, Median: fp(400), P90: fp(400), P95: fp(400)},
	}
	checkSummaries(t, "priority 2", p2.Intervals, want2)

	// All together: the target differs between the priorities, so none is
	// shown; the share within target counts only incidents with a target.
	q.GroupBy = ByAll
	b = NewBuilder(q, handPriorities())
	for _, in := range handIncidents() {
		b.Add(in)
	}
	all, ok := b.Result().Group("all")
	if !ok || all.Incidents != 6 || all.Corrected != 2 {
		t.Fatalf("all: %+v, want 6 incidents, 2 corrected", all)
	}
	checkSummaries(t, "all", map[refdata.Interval]Summary{refdata.CallProcessing: all.Intervals[refdata.CallProcessing]},
		map[refdata.Interval]Summary{refdata.CallProcessing: {N: 5, Missing: 1, Median: fp(60), P90: fp(108), P95: fp(114), WithinTargetPct: fp(50)}})
}

func checkSummaries(t *testing.T, what string, got, want map[refdata.Interval]Summary) {
	t.Helper()
	for iv, w := range want {
		g, ok := got[iv]
		if !ok {
			t.Errorf("%s %s: no summary", what, iv)
			continue
		}
		if g.N != w.N || g.Missing != w.Missing || g.Inconsistent != w.Inconsistent {
			t.Errorf("%s %s: n=%d missing=%d inconsistent=%d, want %d %d %d", what, iv, g.N, g.Missing, g.Inconsistent, w.N, w.Missing, w.Inconsistent)
		}
		for _, f := range []struct {
			name      string
			got, want *float64
		}{{"median", g.Median, w.Median}, {"p90", g.P90, w.P90}, {"p95", g.P95, w.P95}, {"within target", g.WithinTargetPct, w.WithinTargetPct}} {
			switch {
			case (f.got == nil) != (f.want == nil):
				t.Errorf("%s %s: %s = %v, want %v", what, iv, f.name, show(f.got), show(f.want))
			case f.got != nil && math.Abs(*f.got-*f.want) > 1e-9:
				t.Errorf("%s %s: %s = %v, want %v", what, iv, f.name, *f.got, *f.want)
			}
		}
		if (g.TargetS == nil) != (w.TargetS == nil) || (g.TargetS != nil && *g.TargetS != *w.TargetS) {
			t.Errorf("%s %s: target = %v, want %v", what, iv, showInt(g.TargetS), showInt(w.TargetS))
		}
	}
}

func show(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func showInt(v *int) string {
	if v == nil {
		return "null"
	}
	return strconv.Itoa(*v)
}

func TestInconsistentResponseIsLeftOutAndCounted(t *testing.T) {
	r := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	before, after := r.Add(-time.Minute), r.Add(5*time.Minute)
	q := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, Location: time.UTC, GroupBy: ByAll}
	b := NewBuilder(q, handPriorities())
	// A corrected on-scene time that lands before the call.
	b.Add(Incident{Stamps: Stamps{Received: r, OnScene: &before}, Priority: 1})
	b.Add(Incident{Stamps: Stamps{Received: r, OnScene: &after}, Priority: 1})
	g, _ := b.Result().Group("all")
	s := g.Intervals[refdata.Response]
	if s.N != 1 || s.Inconsistent != 1 || s.Missing != 0 || s.Median == nil || *s.Median != 300 {
		t.Errorf("response: %+v, want one measured (300 s) and one inconsistent", s)
	}
	if s.WithinTargetPct == nil || *s.WithinTargetPct != 100 {
		t.Errorf("within target %v, want 100 (the inconsistent incident is not counted against it)", show(s.WithinTargetPct))
	}
	// Travel: en route missing on both (not inconsistent).
	if tr := g.Intervals[refdata.Travel]; tr.N != 0 || tr.Missing != 2 || tr.Median != nil || tr.P90 != nil || tr.P95 != nil || tr.WithinTargetPct != nil {
		t.Errorf("travel: %+v, want nothing measured, 2 missing, no figures", tr)
	}
}

func TestEmptyGroupHasNoFigures(t *testing.T) {
	q := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, Location: time.UTC, GroupBy: ByAll}
	res := NewBuilder(q, handPriorities()).Result()
	if len(res.Groups) != 1 {
		t.Fatalf("%d groups, want the one group all", len(res.Groups))
	}
	for _, iv := range refdata.Intervals {
		s, ok := res.Groups[0].Intervals[iv]
		if !ok || s.N != 0 || s.Median != nil || s.P90 != nil || s.P95 != nil || s.WithinTargetPct != nil || s.TargetS != nil {
			t.Errorf("%s: %+v, want n=0 and no figures", iv, s)
		}
	}
	q.GroupBy = ByDistrict
	if res := NewBuilder(q, nil).Result(); len(res.Groups) != 0 || res.Groups == nil {
		t.Errorf("by district with no incidents: %#v, want an empty, non-nil list", res.Groups)
	}
}

// TestPercentilesAskOnlyTheRanksTheyNeed: Percentiles of values given by
// rank equal Percentile of the same values, and read only the one or two
// ranks each percentile interpolates between (a Source holding counts per
// second finds each rank by counting).
func TestPercentilesAskOnlyTheRanksTheyNeed(t *testing.T) {
	vals := []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110}
	asked := map[int64]bool{}
	med, p90, p95 := Percentiles(int64(len(vals)), func(i int64) float64 { asked[i] = true; return vals[i] })
	for _, c := range []struct {
		p   float64
		got *float64
	}{{0.5, med}, {0.9, p90}, {0.95, p95}} {
		want, _ := Percentile(vals, c.p)
		if c.got == nil || *c.got != want {
			t.Errorf("p%v = %v, want %v", c.p, c.got, want)
		}
	}
	// Ranks 5, 6 (the median: position 5), 9, 10 (p90: 9; p95: 9.5).
	if len(asked) != 4 || !asked[5] || !asked[6] || !asked[9] || !asked[10] {
		t.Errorf("ranks asked %v, want 5, 6, 9 and 10", asked)
	}
	if m, a, b := Percentiles(0, func(int64) float64 { t.Fatal("a rank of nothing asked"); return 0 }); m != nil || a != nil || b != nil {
		t.Errorf("percentiles of nothing: %v %v %v", m, a, b)
	}
}

func TestCommonTarget(t *testing.T) {
	n := func(v int) *int { return &v }
	for _, c := range []struct {
		name    string
		targets []*int
		want    *int
	}{
		{"none", nil, nil},
		{"one", []*int{n(600)}, n(600)},
		{"all the same", []*int{n(600), n(600), n(600)}, n(600)},
		{"different", []*int{n(600), n(900)}, nil},
		{"a level without one", []*int{n(600), nil}, nil},
		{"none has one", []*int{nil, nil}, nil},
	} {
		got := CommonTarget(c.targets)
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
