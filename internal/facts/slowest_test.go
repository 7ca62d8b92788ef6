package facts

import (
	"slices"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// TestSlowestCandidates: the slowest list's candidates are every incident
// at least as slow, rounded up to the second, as the n-th slowest, also
// when more of them tie than a worker keeps (pass 2 then lists them).
func TestSlowestCandidates(t *testing.T) {
	loc := time.UTC
	ref := Ref{Priorities: []refdata.Priority{{Level: 1, Label: "P1"}}, Types: []refdata.IncidentType{{ID: 1, Code: "DV"}}}
	day := time.Date(2026, 3, 2, 10, 0, 0, 0, loc)
	q := report.Query{Location: loc, From: report.Date{Year: 2026, Month: 3, Day: 1}, To: report.Date{Year: 2026, Month: 3, Day: 31}}
	for _, c := range []struct {
		name  string
		durs  func(i int) int32 // response of incident i
		rows  int
		wants func(ids []int64) bool
	}{
		{"distinct", func(i int) int32 { return int32(i) }, 100_000, func(ids []int64) bool {
			slices.Sort(ids)
			return slices.Equal(ids, []int64{99_991, 99_992, 99_993, 99_994, 99_995, 99_996, 99_997, 99_998, 99_999, 100_000})
		}},
		// 200 incidents tie at the longest (ids 99,801 to 100,000): more than
		// n + topMargin.
		{"ties", func(i int) int32 { return int32(min(i, 99_800)) }, 100_000, func(ids []int64) bool { return len(ids) == 200 && slices.Min(ids) == 99_801 }},
	} {
		s := NewStore(loc)
		l := s.StartLoad()
		for i := range c.rows {
			var r Row
			r.ID, r.Received, r.Priority, r.TypeID, r.VictimAge = int64(i+1), day.Add(time.Duration(i%20)*24*time.Hour), 1, 1, -1
			for k := range r.Dur {
				r.Dur[k] = Missing
			}
			r.Dur[3] = c.durs(i)
			if err := l.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		s.Replace(l, time.Now())
		b, ok := s.Breakdowns(q, refdata.Response, nil, nil, 10, ref)
		if !ok {
			t.Fatalf("%s: not served", c.name)
		}
		if !c.wants(b.Slowest) {
			t.Errorf("%s: %d candidates %v", c.name, len(b.Slowest), b.Slowest[:min(len(b.Slowest), 20)])
		}
	}
}

// TestStoreConcurrentApplyAndQuery: changes put in place while queries
// scan, response times and repeat rates, some at once (run with -race, as
// make test does); the counts add up after.
func TestStoreConcurrentApplyAndQuery(t *testing.T) {
	loc := time.UTC
	ref := Ref{Priorities: []refdata.Priority{{Level: 1, Label: "P1"}}, Types: []refdata.IncidentType{{ID: 1, Code: "DV", IsDV: true}}}
	q := report.Query{Location: loc, From: report.Date{Year: 2026, Month: 3, Day: 1}, To: report.Date{Year: 2026, Month: 3, Day: 31},
		GroupBy: report.ByAll}
	row := func(id int) Row {
		r := Row{ID: int64(id), Received: time.Date(2026, 3, 1+id%28, 10, 0, 0, 0, loc), Priority: 1, TypeID: 1, VictimAge: -1,
			Dur: [6]int32{int32(id % 300), 5, 6, 7, 8, 9}, RepeatGap: NoPrevious}
		if id%5 == 0 {
			r.RepeatGap = int32(id * 100)
		}
		return r
	}
	s := NewStore(loc)
	l := s.StartLoad()
	for id := 1; id <= 2000; id++ {
		if err := l.Add(row(id)); err != nil {
			t.Fatal(err)
		}
	}
	s.Replace(l, time.Now())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := 2001; id <= 3000; id++ {
			moved := row(id - 2000)
			moved.Received = moved.Received.AddDate(0, 0, 1) // another day
			s.Apply([]Row{row(id), moved}, []int64{int64(id - 1000)})
		}
	}()
	repeats := make(chan bool)
	go func() {
		for range 50 {
			_, ok := s.RepeatRates(q, report.RepeatGroupings, ref)
			repeats <- ok
		}
		close(repeats)
	}()
	for range 50 {
		if _, ok := s.ResponseTimes(q, []report.GroupBy{report.ByWeek, report.ByAll}, ref); !ok {
			t.Fatal("not served")
		}
		if _, ok := s.RepeatRates(q, report.RepeatGroupings, ref); !ok {
			t.Fatal("repeat rates not served")
		}
	}
	for ok := range repeats {
		if !ok {
			t.Fatal("repeat rates not served")
		}
	}
	<-done
	if rep, _ := s.RepeatRates(q, []string{report.RepeatByAll}, ref); rep[0][0].Incidents != 2000 {
		t.Errorf("%d DV incidents in the repeat rates; want 2000", rep[0][0].Incidents)
	}
	res, _ := s.ResponseTimes(q, []report.GroupBy{report.ByAll}, ref)
	// 3,000 added, 1,000 (ids 1,001 to 2,000) removed; the moved stay in
	// March.
	if got := res[0].Groups[0].Incidents; got != 2000 || s.Len() != 2000 {
		t.Errorf("%d incidents in March, %d held; want 2000", got, s.Len())
	}
}
