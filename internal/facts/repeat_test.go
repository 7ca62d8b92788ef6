package facts

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// TestRepeatRatesExact: on random gaps (ties, whole days, some beyond
// the days counted per day), every group's counts and median equal those
// computed from the sorted gaps, for odd and even counts, with filters.
func TestRepeatRatesExact(t *testing.T) {
	for _, n := range []int{1, 2, 7, 20, 5000} {
		s, q, ref := repeatStore(t, n)
		for _, flt := range []report.Filters{{}, {IDPOnly: true}, {Priority: ptr(2)}} {
			q.Filters = flt
			got, ok := s.RepeatRates(q, report.RepeatGroupings, ref)
			if !ok {
				t.Fatal("not served")
			}
			// Asked again: the sealed days' counts and gaps come from
			// the cache, and give the same.
			again, ok := s.RepeatRates(q, report.RepeatGroupings, ref)
			if !ok || !reflect.DeepEqual(again, got) {
				t.Errorf("n %d filters %+v: asked again %+v, first %+v", n, flt, again, got)
			}
			// The reference: every row of the store, grouped by district.
			type grp struct {
				incidents, repeats int
				gaps               []int32
			}
			want := map[string]*grp{}
			all := &grp{}
			for _, d := range s.days {
				for _, f := range d.rows {
					if f.typ != 1 || flt.IDPOnly && (f.settlement == 0 || f.settlement%4 != 0) ||
						flt.Priority != nil && int(f.prio) != *flt.Priority {
						continue
					}
					key := string(rune('A' + f.district))
					if want[key] == nil {
						want[key] = &grp{}
					}
					for _, x := range []*grp{want[key], all} {
						x.incidents++
						if f.gap >= 0 {
							x.gaps = append(x.gaps, f.gap)
							if f.gap <= 365*86400 {
								x.repeats++
							}
						}
					}
				}
			}
			check := func(what string, g report.RepeatFigure, w *grp) {
				t.Helper()
				if g.Incidents != w.incidents || g.Repeats != w.repeats {
					t.Errorf("n %d %s: %d/%d, want %d/%d", n, what, g.Repeats, g.Incidents, w.repeats, w.incidents)
				}
				if len(w.gaps) == 0 {
					if g.MedianDays != nil {
						t.Errorf("n %d %s: median %v, want none", n, what, *g.MedianDays)
					}
					return
				}
				slices.Sort(w.gaps)
				k := len(w.gaps)
				m := (float64(w.gaps[(k-1)/2]) + float64(w.gaps[k/2])) / 2 / 86400
				if g.MedianDays == nil || *g.MedianDays != m {
					t.Errorf("n %d %s: median %v, want %v", n, what, g.MedianDays, m)
				}
			}
			if all.incidents == 0 {
				if len(got[0]) != 0 {
					t.Errorf("n %d: %d groups of all, want none", n, len(got[0]))
				}
				continue
			}
			if len(got[0]) != 1 {
				t.Fatalf("n %d: %d groups of all", n, len(got[0]))
			}
			check("all", got[0][0], all)
			if len(got[1]) != len(want) {
				t.Errorf("n %d: %d districts, want %d", n, len(got[1]), len(want))
			}
			for _, g := range got[1] {
				if w := want[g.Key]; w == nil {
					t.Errorf("n %d: district %q not in the reference", n, g.Key)
				} else {
					check("district "+g.Key, g, w)
				}
			}
		}
	}
}

func ptr(v int) *int { return &v }

// repeatStore is a store of n incidents over a year, half of them with a
// previous DV incident.
func repeatStore(b testing.TB, n int) (*Store, report.Query, Ref) {
	loc := time.UTC
	s := NewStore(loc)
	l := s.StartLoad()
	r := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
	for i := range n {
		row := Row{ID: int64(i + 1), Received: start.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))),
			Priority: 1 + r.IntN(3), DistrictID: 1 + r.Int64N(20), SettlementID: r.Int64N(40), TypeID: 1 + r.Int64N(2),
			VictimSex: report.Sexes[r.IntN(len(report.Sexes))], VictimAge: r.IntN(90), RepeatGap: NoPrevious}
		switch i % 6 {
		case 0:
			row.RepeatGap = r.Int32N(2 * 365 * 86400)
		case 3:
			row.RepeatGap = 86400 * r.Int32N(400) // whole days, many ties
		case 5:
			if i%30 == 5 {
				row.RepeatGap = gapDays*86400 + r.Int32N(1000) // beyond the days counted
			}
		}
		if err := l.Add(row); err != nil {
			b.Fatal(err)
		}
	}
	s.Replace(l, time.Now())
	ref := Ref{Types: []refdata.IncidentType{{ID: 1, IsDV: true}, {ID: 2}}}
	for i := int64(1); i <= 20; i++ {
		ref.Districts = append(ref.Districts, refdata.District{ID: i, Code: string(rune('A' + i))})
	}
	ref.Priorities = []refdata.Priority{{Level: 1}, {Level: 2}, {Level: 3}}
	for i := int64(1); i < 40; i++ {
		ref.Settlements = append(ref.Settlements, refdata.Settlement{ID: i, IsIDP: i%4 == 0})
	}
	q := report.Query{From: report.Date{Year: 2025, Month: 1, Day: 1}, To: report.Date{Year: 2025, Month: 12, Day: 31},
		Location: loc, GroupBy: report.ByAll}
	return s, q, ref
}

// BenchmarkRepeatRates: a year of 2 M incidents (a 10 M store's year),
// every grouping the dashboard shows, asked again (the sealed days kept).
func BenchmarkRepeatRates(b *testing.B) {
	s, q, ref := repeatStore(b, 2_000_000)
	b.ResetTimer()
	for b.Loop() {
		if _, ok := s.RepeatRates(q, report.RepeatGroupings, ref); !ok {
			b.Fatal("not served")
		}
	}
}

// BenchmarkRepeatRatesFirst: the same, nothing kept (the first request
// for a period).
func BenchmarkRepeatRatesFirst(b *testing.B) {
	s, q, ref := repeatStore(b, 2_000_000)
	b.ResetTimer()
	for b.Loop() {
		s.repeats.clear()
		if _, ok := s.RepeatRates(q, report.RepeatGroupings, ref); !ok {
			b.Fatal("not served")
		}
	}
}
