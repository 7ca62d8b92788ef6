package postgres_test

// Helpers of the tests that compare report paths with the naive query.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/report"
)

// randomIncidents copies n incidents received between from and to (UTC
// instants) with random stage times: fractions of seconds, stages
// missing, out of order, durations near the targets and beyond a day.
func randomIncidents(t *testing.T, f *reportFixture, r *rand.Rand, prefix string, n int, from, to time.Time) {
	t.Helper()
	ctx := context.Background()
	types := []int64{f.typ.ID, f.theft.ID}
	dists := []*int64{&f.district.ID, &f.osh.ID, nil}
	rows := make([][]any, 0, n)
	span := to.Sub(from)
	for i := range n {
		rec := from.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Microsecond)
		if r.IntN(20) == 0 { // exactly at a local midnight
			d := report.DateOf(rec, f.loc)
			rec = d.Start(f.loc)
		}
		stamps := make([]any, 4)
		prev := rec
		for s := range 4 {
			var secs float64
			switch x := r.IntN(100); {
			case x < 6:
				continue // not recorded
			case x < 9:
				secs = -r.Float64() * 120 // out of order
			case x < 11:
				secs = 86400 + r.Float64()*200000 // more than a day
			case x < 25:
				secs = float64(55+r.IntN(10)) + float64(r.IntN(3))*0.5 // about the targets
			default:
				secs = math.Exp(2 + r.Float64()*6)
			}
			at := prev.Add(time.Duration(secs * 1e9)).Truncate(time.Microsecond)
			stamps[s] = at
			if secs >= 0 {
				prev = at
			}
		}
		prio := 1 + r.IntN(2)
		rows = append(rows, []any{fmt.Sprintf("%s-%06d", prefix, i), rec, stamps[0], stamps[1], stamps[2], stamps[3],
			types[r.IntN(2)], prio, dists[r.IntN(3)], r.IntN(10) == 0})
	}
	// COPY in text form, written by hand: pgx's binary encoding of
	// thousands of rows through reflection was a good part of the report
	// tests' CPU under the race detector.
	var buf bytes.Buffer
	stamp := func(v any) {
		if at, ok := v.(time.Time); ok {
			buf.WriteString(at.UTC().Format("2006-01-02 15:04:05.999999-07"))
		} else {
			buf.WriteString(`\N`)
		}
	}
	for _, row := range rows {
		buf.WriteString(row[0].(string))
		for _, v := range row[1:6] {
			buf.WriteByte('\t')
			stamp(v)
		}
		fmt.Fprintf(&buf, "\t%d\t%d\t", row[6].(int64), row[7].(int))
		if d := row[8].(*int64); d != nil {
			buf.WriteString(strconv.FormatInt(*d, 10))
		} else {
			buf.WriteString(`\N`)
		}
		if row[9].(bool) {
			buf.WriteString("\t1\n")
		} else {
			buf.WriteString("\t0\n")
		}
	}
	conn, err := f.db.Pool.Acquire(ctx)
	must(t, err)
	defer conn.Release()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, &buf, `COPY incidents (number, received_at, dispatched_at, en_route_at,
		on_scene_at, cleared_at, type_id, priority, district_id, corrections) FROM STDIN`)
	must(t, err)
	if tag.RowsAffected() != int64(n) {
		t.Fatalf("copied %d incidents, want %d", tag.RowsAffected(), n)
	}
}

// sameResult compares a result with the naive one: the same groups,
// counts and targets; percentiles at most 1 s above (an engine that keeps
// whole seconds may round up).
func sameResult(t *testing.T, what string, got, want report.Result) {
	t.Helper()
	if len(got.Groups) != len(want.Groups) {
		t.Errorf("%s: %d groups, want %d", what, len(got.Groups), len(want.Groups))
		return
	}
	for i, w := range want.Groups {
		g := got.Groups[i]
		if g.Key != w.Key || g.Label != w.Label || g.Incidents != w.Incidents || g.Corrected != w.Corrected {
			t.Errorf("%s: group %d is %s %q %d/%d, want %s %q %d/%d", what, i, g.Key, g.Label, g.Incidents, g.Corrected,
				w.Key, w.Label, w.Incidents, w.Corrected)
			continue
		}
		for _, d := range report.Definitions {
			gs, ws := g.Intervals[d.Interval], w.Intervals[d.Interval]
			where := fmt.Sprintf("%s: group %s %s", what, w.Key, d.Interval)
			if gs.N != ws.N || gs.Missing != ws.Missing || gs.Inconsistent != ws.Inconsistent {
				t.Errorf("%s: N/missing/inconsistent %d/%d/%d, want %d/%d/%d", where, gs.N, gs.Missing, gs.Inconsistent,
					ws.N, ws.Missing, ws.Inconsistent)
			}
			if (gs.TargetS == nil) != (ws.TargetS == nil) || gs.TargetS != nil && *gs.TargetS != *ws.TargetS {
				t.Errorf("%s: target %v, want %v", where, fmtPtr(gs.TargetS), fmtPtr(ws.TargetS))
			}
			if (gs.WithinTargetPct == nil) != (ws.WithinTargetPct == nil) ||
				gs.WithinTargetPct != nil && math.Abs(*gs.WithinTargetPct-*ws.WithinTargetPct) > 1e-9 {
				t.Errorf("%s: within target %v, want %v", where, fmtPtr(gs.WithinTargetPct), fmtPtr(ws.WithinTargetPct))
			}
			for _, p := range []struct {
				name      string
				got, want *float64
			}{{"median", gs.Median, ws.Median}, {"p90", gs.P90, ws.P90}, {"p95", gs.P95, ws.P95}} {
				if (p.got == nil) != (p.want == nil) {
					t.Errorf("%s: %s %v, want %v", where, p.name, fmtPtr(p.got), fmtPtr(p.want))
				} else if p.got != nil && !(*p.got >= *p.want-1e-6 && *p.got < *p.want+1) {
					t.Errorf("%s: %s %.6f, want %.6f (+1 s)", where, p.name, *p.got, *p.want)
				}
			}
		}
	}
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// The random incidents of the report tests are received in
// [reportTestFrom, reportTestTo), and the ranges they read cover whole and
// part months and years, single days and weeks, and ranges across a year.
var (
	reportTestFrom   = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	reportTestTo     = time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)
	reportTestRanges = [][2]string{
		{"2026-01-20", "2026-04-09"}, // months and edge days
		{"2026-02-01", "2026-03-31"}, // whole months
		{"2026-02-15", "2026-03-10"}, // days only, across a month
		{"2026-03-01", "2026-03-01"}, // one day
		{"2026-02-01", "2026-02-28"}, // one month
		{"2026-01-05", "2026-03-25"}, // months less the days outside the range
		{"2026-02-02", "2026-02-27"}, // one month less two days
		{"2026-03-09", "2026-04-09"}, // less and plus days
		{"2025-01-01", "2025-12-31"}, // a calendar year
		{"2026-01-01", "2026-12-31"}, // a year in progress
		{"2025-04-01", "2026-03-31"}, // a year less months, plus months
		{"2025-03-20", "2025-12-30"}, // a year less months and days, plus days
		{"2025-07-10", "2026-02-20"}, // months, less and plus days, across a year
		{"2026-01-10", "2026-12-31"}, // a year less days
	}
)
