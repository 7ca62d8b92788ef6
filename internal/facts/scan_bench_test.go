package facts

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// BenchmarkBreakdownsYear times the dashboard's scan of a year of
// DVR-like synthetic incidents (2 M, as a year holds at 10 M over five
// years), first with nothing kept (cold: every request counts the year
// again) and then as requests after the first are served (warm). The
// durations are drawn so that the long tails reach past 4.5 hours, as
// the seed's do, so the second pass runs too.
func BenchmarkBreakdownsYear(b *testing.B) {
	loc := time.UTC
	const n = 2_000_000
	ref := Ref{Priorities: []refdata.Priority{{Level: 1, Label: "P1"}, {Level: 2, Label: "P2"}, {Level: 3, Label: "P3"}}}
	for i := range 12 {
		ref.Districts = append(ref.Districts, refdata.District{ID: int64(i + 1), Code: string(rune('A' + i))})
		for j := range 8 {
			ref.Settlements = append(ref.Settlements, refdata.Settlement{ID: int64(i*8 + j + 1), DistrictID: int64(i + 1), IsIDP: j == 0})
		}
	}
	for i := range 6 {
		ref.Types = append(ref.Types, refdata.IncidentType{ID: int64(i + 1), Code: string(rune('a' + i)), IsDV: i < 3})
	}
	s := NewStore(loc)
	l := s.StartLoad()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
	dur := func(median float64) int32 {
		v := median * (0.3 + rng.ExpFloat64())
		if rng.IntN(50) == 0 {
			v *= 30 // a long tail
		}
		return int32(v) + 1
	}
	for i := range n {
		var r Row
		d := int64(rng.IntN(12))
		r.ID, r.Received = int64(i+1), start.Add(time.Duration(rng.Int64N(int64(365*24*time.Hour))))
		r.Priority, r.TypeID, r.DistrictID, r.SettlementID = 1+rng.IntN(3), int64(1+rng.IntN(6)), d+1, d*8+int64(rng.IntN(8))+1
		r.VictimAge, r.VictimSex, r.RepeatGap = 18+rng.IntN(60), "f", NoPrevious
		for k, m := range []float64{60, 120, 300, 480, 1800, 3600} {
			r.Dur[k] = dur(m)
		}
		if err := l.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	s.Replace(l, time.Now())
	q := report.Query{Location: loc, From: report.Date{Year: 2025, Month: 1, Day: 1}, To: report.Date{Year: 2025, Month: 12, Day: 31}}
	full := []report.GroupBy{report.ByAll, report.ByPriority, report.ByDistrict}
	one := []report.GroupBy{report.BySettlement, report.ByWeek}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			s.cache.clear()
			if _, ok := s.Breakdowns(q, refdata.Total, full, one, 10, ref); !ok {
				b.Fatal("not served")
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			if _, ok := s.Breakdowns(q, refdata.Total, full, one, 10, ref); !ok {
				b.Fatal("not served")
			}
		}
	})
}
