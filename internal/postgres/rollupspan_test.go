package postgres

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/report"
)

// netDays is how many times the span counts each day: its year and month
// rows counted for each of their days, with their signs, and its day rows.
func netDays(s rollupSpan) map[time.Time]int64 {
	out := map[time.Time]int64{}
	for _, p := range s.periods {
		end := p.start.AddDate(0, 1, 0)
		if p.grain == "y" {
			end = p.start.AddDate(1, 0, 0)
		}
		for d := p.start; d.Before(end); d = d.AddDate(0, 0, 1) {
			out[d] += p.sign
		}
	}
	for _, d := range s.days {
		out[d] += s.sign("d", d)
	}
	return out
}

// TestRollupPeriodsCountEachDayOnce checks that every split of a range
// into year, month and day rows, added and subtracted, counts each day of
// the range once and no other day, and that years and months are read
// from their own rows.
func TestRollupPeriodsCountEachDayOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 29))
	day := func(s string) report.Date {
		d, err := report.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	type tc struct {
		from, to      string
		periods, days int // rows read; -1: not checked
	}
	cases := []tc{
		{"2025-01-01", "2025-12-31", 1, 0},  // a calendar year
		{"2024-01-01", "2024-12-31", 1, 0},  // a leap year
		{"2025-02-01", "2025-02-28", 1, 0},  // a month
		{"2025-01-10", "2025-12-31", 1, 9},  // a year less nine days
		{"2025-04-01", "2026-03-31", 7, 0},  // a year less three months, plus three
		{"2025-11-02", "2025-11-29", 1, 2},  // "the last 28 days": a month less two days
		{"2025-03-20", "2025-12-30", 4, 13}, // year - Jan - Feb - Mar + 12 days of March - Dec 31
		{"2025-07-10", "2026-02-20", -1, -1},
		{"2025-06-01", "2025-06-01", 0, 1},
	}
	for range 400 {
		a := day("2023-06-01").AddDays(r.IntN(1200))
		b := a.AddDays(r.IntN(800))
		cases = append(cases, tc{a.String(), b.String(), -1, -1})
	}
	for _, c := range cases {
		q := report.Query{From: day(c.from), To: day(c.to)}
		s := rollupPeriods(q, false)
		net := netDays(s)
		for d := q.From.AddDays(-400); !q.To.AddDays(400).Before(d); d = d.AddDays(1) {
			want := int64(0)
			if !d.Before(q.From) && !q.To.Before(d) {
				want = 1
			}
			if got := net[dateUTC(d)]; got != want {
				t.Fatalf("%s..%s: day %s counted %d times, want %d (%+v)", c.from, c.to, d, got, want, s)
			}
		}
		if c.periods >= 0 && (len(s.periods) != c.periods || len(s.days) != c.days) {
			t.Errorf("%s..%s: %d periods and %d days read, want %d and %d (%+v)", c.from, c.to, len(s.periods), len(s.days),
				c.periods, c.days, s)
		}
		// A weekly series reads every day, added.
		w := rollupPeriods(q, true)
		if len(w.periods) != 0 || len(w.days) != q.Days() || len(w.minus) != 0 {
			t.Errorf("%s..%s by week: %d periods, %d days (%d less), want 0, %d, 0", c.from, c.to, len(w.periods), len(w.days),
				len(w.minus), q.Days())
		}
	}
}
