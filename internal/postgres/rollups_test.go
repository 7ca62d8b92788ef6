package postgres_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
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
	// thousands of rows through reflection was a good part of the rollup
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

// sameResult compares a rollup result with the naive one: the same
// groups, counts and targets; percentiles at most 1 s above.
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

// The random incidents of the rollup tests are received in
// [rollupTestFrom, rollupTestTo), and the ranges they read cover every way
// rollupPeriods splits a range.
var (
	rollupTestFrom   = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	rollupTestTo     = time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)
	rollupTestRanges = [][2]string{
		{"2026-01-20", "2026-04-09"}, // months and edge days
		{"2026-02-01", "2026-03-31"}, // whole months
		{"2026-02-15", "2026-03-10"}, // days only, across a month
		{"2026-03-01", "2026-03-01"}, // one day
		{"2026-02-01", "2026-02-28"}, // one month
		{"2026-01-05", "2026-03-25"}, // months less the days outside the range
		{"2026-02-02", "2026-02-27"}, // one month less two days
		{"2026-03-09", "2026-04-09"}, // less and plus days
		{"2025-01-01", "2025-12-31"}, // a calendar year: its year rows
		{"2026-01-01", "2026-12-31"}, // the same, a year in progress
		{"2025-04-01", "2026-03-31"}, // a year less months, plus months
		{"2025-03-20", "2025-12-30"}, // a year less months and days, plus days
		{"2025-07-10", "2026-02-20"}, // months, less and plus days, across a year
		{"2026-01-10", "2026-12-31"}, // a year less days
	}
)

func TestRollupsMatchNaive(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	ctx := context.Background()
	ninety := 90
	must(t, f.db.SavePriority(ctx, &refdata.Priority{Level: 2, Label: "Urgent", Targets: map[refdata.Interval]*int{
		refdata.CallProcessing: &ninety, refdata.Travel: &ninety}}, false, 2, f.actor))
	must(t, f.db.RebuildRollups(ctx, f.loc))
	r := rand.New(rand.NewPCG(1, 2))
	// Half loaded with the triggers kept, half then rebuilt.
	randomIncidents(t, f, r, "A", 1200, rollupTestFrom, rollupTestTo)
	must(t, f.db.StopRollups(ctx))
	randomIncidents(t, f, r, "B", 800, rollupTestFrom, rollupTestTo)
	must(t, f.db.RebuildRollups(ctx, f.loc))

	p2 := 2
	filters := []report.Filters{{}, {DVOnly: true}, {Priority: &p2}, {DistrictID: &f.district.ID, DVOnly: true}}
	for _, rg := range rollupTestRanges {
		for _, by := range []report.GroupBy{report.ByPriority, report.ByDistrict, report.ByWeek, report.ByAll} {
			for fi, flt := range filters {
				q := report.Query{Location: f.loc, GroupBy: by, Filters: flt}
				q.From, _ = report.ParseDate(rg[0])
				q.To, _ = report.ParseDate(rg[1])
				want, err := f.db.ResponseTimesNaive(ctx, q)
				must(t, err)
				got, ok, err := f.db.ResponseTimesRollup(ctx, q)
				must(t, err)
				if !ok {
					t.Fatalf("%v: rollups did not answer", q.Values())
				}
				sameResult(t, fmt.Sprintf("%s..%s by %s filters %d", rg[0], rg[1], by, fi), got, want)
			}
		}
	}
	// Targets changed in the middle of the ranges, one dated in the past
	// through SavePriority and one written straight to priority_targets:
	// each incident is judged against the targets in force on its local
	// day, the rollups splitting the range at the changes.
	thirty, tenMin := 30, 600
	must(t, f.db.SavePriority(ctx, &refdata.Priority{Level: 2, Label: "Urgent", TargetsFrom: refdata.Day(2026, 3, 5),
		Targets: map[refdata.Interval]*int{refdata.CallProcessing: &thirty, refdata.Travel: &tenMin}}, false, 2, f.actor))
	_, err := f.db.Pool.Exec(ctx, `INSERT INTO priority_targets (level, effective_from, target_call_processing_s, target_response_s)
		VALUES (1, '2026-02-10', 45, 900)`)
	must(t, err)
	for _, rg := range [][2]string{{"2026-01-20", "2026-04-09"}, {"2026-02-01", "2026-03-31"}, {"2026-03-05", "2026-03-05"},
		{"2026-02-15", "2026-03-10"}} {
		for _, by := range []report.GroupBy{report.ByPriority, report.ByWeek, report.ByAll} {
			for fi, flt := range filters[:3] {
				q := report.Query{Location: f.loc, GroupBy: by, Filters: flt}
				q.From, _ = report.ParseDate(rg[0])
				q.To, _ = report.ParseDate(rg[1])
				want, err := f.db.ResponseTimesNaive(ctx, q)
				must(t, err)
				got, ok, err := f.db.ResponseTimesRollup(ctx, q)
				must(t, err)
				if !ok {
					t.Fatalf("%v: rollups did not answer after a target change", q.Values())
				}
				sameResult(t, fmt.Sprintf("targets changed: %s..%s by %s filters %d", rg[0], rg[1], by, fi), got, want)
			}
		}
	}

	// Another zone, or a grouping the rollups lack: the incidents answer.
	q := report.Query{Location: time.UTC, GroupBy: report.ByDistrict, From: report.Date{Year: 2026, Month: 2, Day: 1},
		To: report.Date{Year: 2026, Month: 2, Day: 28}}
	if _, ok, err := f.db.ResponseTimesRollup(ctx, q); ok || err != nil {
		t.Errorf("rollups in Asia/Bishkek answered a UTC query (%v)", err)
	}
	q.Location, q.GroupBy = f.loc, report.ByShift
	if postgres.RollupServes(q) {
		t.Errorf("RollupServes(by shift) = true")
	}
}

// rollupState reads the rollups with empty rows and trailing zeros left
// out and durations sorted, to compare incremental and rebuilt rollups.
func rollupState(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	read := func(sql string, nkey int, each func(key string, vals []any) string) {
		rows, err := db.Pool.Query(ctx, sql)
		must(t, err)
		for rows.Next() {
			v, err := rows.Values()
			must(t, err)
			key := fmt.Sprint(v[:nkey]...)
			if s := each(key, v); s != "" {
				out[key] = s
			}
		}
		must(t, rows.Err())
	}
	norm := func(a any, sorted bool) string {
		var xs []int32
		switch a := a.(type) {
		case []byte: // packed
			for p := 0; p+4 <= len(a); p += 4 {
				xs = append(xs, int32(binary.BigEndian.Uint32(a[p:])))
			}
		case []any:
			for _, x := range a {
				xs = append(xs, x.(int32))
			}
		}
		if sorted {
			slices.Sort(xs)
		}
		for len(xs) > 0 && xs[len(xs)-1] == 0 && !sorted {
			xs = xs[:len(xs)-1]
		}
		return fmt.Sprint(xs)
	}
	read(`SELECT 'c', grain::text, period::text, district_id, priority, is_dv,
		ARRAY[incidents, corrected] || missing || inconsistent FROM rollup_cells`, 6, func(_ string, v []any) string {
		if s := norm(v[6], false); s != "[]" {
			return s
		}
		return ""
	})
	read(`SELECT 'h', grain::text, month::text, district_id, priority, is_dv, iv, n, hist, over FROM rollup_hist`, 7, func(k string, v []any) string {
		if s, o := norm(v[8], false), norm(v[9], true); v[7].(int32) != 0 || s != "[]" || o != "[]" {
			return fmt.Sprint(v[7], " ", s, " ", o)
		}
		return ""
	})
	read(`SELECT 'f', grain::text, month::text, district_id, priority, is_dv, iv, bucket, counts FROM rollup_fine`, 8, func(_ string, v []any) string {
		if s := norm(v[8], false); s != "[]" {
			return s
		}
		return ""
	})
	read(`SELECT 'd', day::text, district_id, priority, is_dv, iv, vals FROM rollup_days`, 6, func(_ string, v []any) string {
		if s := norm(v[6], true); s != "[]" {
			return s
		}
		return ""
	})
	return out
}

// checkAgainstRebuild compares the rollups the triggers kept with a full
// rebuild.
func checkAgainstRebuild(t *testing.T, db *postgres.DB, loc *time.Location, step string) {
	t.Helper()
	kept := rollupState(t, db)
	must(t, db.RebuildRollups(context.Background(), loc))
	rebuilt := rollupState(t, db)
	if len(rebuilt) == 0 {
		t.Errorf("%s: rebuilt rollups are empty", step)
	}
	for k, v := range rebuilt {
		if kept[k] != v {
			t.Errorf("%s: %s kept %q, rebuilt %q", step, k, kept[k], v)
		}
	}
	for k, v := range kept {
		if _, ok := rebuilt[k]; !ok {
			t.Errorf("%s: %s kept %q, not in the rebuild", step, k, v)
		}
	}
}

func TestRollupsFollowEveryWrite(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	ctx := context.Background()
	must(t, f.db.RebuildRollups(ctx, f.loc))
	dispo := f.disposition(t)

	// Intake, dispatch, the stages, a correction, clearing.
	var ids []int64
	for i := range 6 {
		form := incident.Form{}
		if i%2 == 1 {
			form.TypeID = itoa(f.theft.ID)
			form.Priority = "2"
		}
		id, _, _, err := f.db.CreateIncident(ctx, f.call(t, form), time.UTC, f.actor)
		must(t, err)
		ids = append(ids, id)
	}
	checkAgainstRebuild(t, f.db, f.loc, "intake")
	for _, id := range ids[:4] {
		must(t, f.db.AssignUnit(ctx, id, f.unit.ID, f.actor))
		must(t, f.db.ReleaseUnit(ctx, id, f.unit.ID, f.actor))
	}
	for _, st := range []incident.Stage{incident.EnRoute, incident.OnScene} {
		for _, id := range ids[:3] {
			_, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: st}, f.actor)
			must(t, err)
		}
	}
	checkAgainstRebuild(t, f.db, f.loc, "stages")
	// Spread the calls over two local days and months, then correct one.
	_, err := f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = received_at - (id % 3) * interval '20 days' - interval '2 hours',
		dispatched_at = dispatched_at - (id % 3) * interval '20 days' - interval '1 hour'`)
	must(t, err)
	checkAgainstRebuild(t, f.db, f.loc, "update")
	inc, err := f.db.Incident(ctx, ids[0])
	must(t, err)
	newAt := inc.DispatchedAt.Add(-30 * time.Minute).Truncate(time.Second)
	_, err = f.db.CorrectStage(ctx, ids[0], incident.Correction{Stage: incident.Dispatched, New: &newAt, Reason: "clock"}, time.UTC, f.actor)
	must(t, err)
	checkDashAgainstRebuild(t, f.db, "correction")
	checkAgainstRebuild(t, f.db, f.loc, "correction")
	_, err = f.db.CorrectStage(ctx, ids[0], incident.Correction{Stage: incident.OnScene, New: nil, Reason: "not there"}, time.UTC, f.actor)
	must(t, err)
	checkAgainstRebuild(t, f.db, f.loc, "correction to not recorded")
	for _, id := range ids[:2] {
		_, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.Cleared, DispositionID: &dispo}, f.actor)
		must(t, err)
	}
	checkAgainstRebuild(t, f.db, f.loc, "clear")

	// An import (COPY), with durations out of order and over a day.
	m := mustParse(t, `{"timezone": "Asia/Bishkek", "default_district": "LEN", "columns": {"external_id": "id", "received_at": "received",
		"dispatched_at": "dispatched", "on_scene_at": "onscene", "priority": "pri", "incident_type": "type", "district": "district"}}`)
	csv := "id,received,dispatched,onscene,pri,type,district\n" +
		"1,2026-02-28 23:59:30,2026-03-01 00:00:10,2026-03-01 00:12:00,1,DV-PHYS,LEN\n" +
		"2,2026-03-01 00:00:00,2026-02-28 23:59:00,2026-03-01 00:30:00,2,THEFT,OSH\n" +
		"3,2026-03-01 10:00:00,2026-03-01 10:01:00,2026-03-03 10:00:00,1,Burglary,\n" +
		"4,2026-03-01 10:00:00,,,,,\n"
	_, err = f.db.Import(ctx, strings.NewReader(csv), m, postgres.ImportOptions{Location: f.loc})
	must(t, err)
	checkDashAgainstRebuild(t, f.db, "import")
	checkAgainstRebuild(t, f.db, f.loc, "import")

	// Reference data: a type no longer domestic violence, a priority
	// renumbered, a district changed.
	f.typ.IsDV = false
	must(t, f.db.SaveIncidentType(ctx, &f.typ, f.actor))
	checkAgainstRebuild(t, f.db, f.loc, "type is_dv")
	_, err = f.db.Pool.Exec(ctx, `UPDATE priorities SET level = 5 WHERE level = 2`)
	must(t, err)
	checkAgainstRebuild(t, f.db, f.loc, "priority renumbered")
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET district_id = $1 WHERE id = $2`, f.osh.ID, ids[1])
	must(t, err)
	checkAgainstRebuild(t, f.db, f.loc, "district")

	// Deletes, and statements that change nothing reported.
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET version = version + 1`)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `DELETE FROM incidents WHERE source = 'import' AND external_id IN ('2', '3')`)
	must(t, err)
	checkDashAgainstRebuild(t, f.db, "delete")
	checkAgainstRebuild(t, f.db, f.loc, "delete")

	// And the report agrees with the incidents.
	q := report.Query{Location: f.loc, GroupBy: report.ByPriority, From: report.Date{Year: 2025, Month: 12, Day: 1},
		To: report.DateOf(time.Now().Add(48*time.Hour), f.loc)}
	want, err := f.db.ResponseTimesNaive(ctx, q)
	must(t, err)
	got, ok, err := f.db.ResponseTimesRollup(ctx, q)
	must(t, err)
	if !ok {
		t.Fatal("rollups did not answer")
	}
	sameResult(t, "after every write", got, want)

	// Partial rebuilds give the same as full ones.
	before := rollupState(t, f.db)
	must(t, f.db.RebuildRollupMonths(ctx, report.Date{Year: 2026, Month: 2, Day: 10}, report.Date{Year: 2026, Month: 3, Day: 2}))
	after := rollupState(t, f.db)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("RebuildRollupMonths changed the rollups")
	}
}

func TestRollupsConcurrentWritesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	ctx := context.Background()
	must(t, f.db.RebuildRollups(ctx, f.loc))
	dispo := f.disposition(t)
	var ids []int64
	for range 16 {
		id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
		must(t, err)
		ids = append(ids, id)
	}
	var calls []incident.New
	for w := range 16 {
		calls = append(calls, f.call(t, incident.Form{Priority: fmt.Sprint(1 + w%2)}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 2 {
				id := ids[w*2+k]
				// Intake in the same cells, dispatch (which locks the unit
				// they share) and the stages (which move it).
				if _, _, _, err := f.db.CreateIncident(ctx, calls[w*2+k], time.UTC, f.actor); err != nil {
					errs <- err
					return
				}
				if err := f.db.AssignUnit(ctx, id, f.unit.ID, f.actor); err != nil {
					errs <- fmt.Errorf("assign: %w", err)
					return
				}
				for _, st := range []incident.Stage{incident.EnRoute, incident.OnScene} {
					if _, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: st}, f.actor); err != nil {
						errs <- fmt.Errorf("%s: %w", st, err)
						return
					}
				}
				if _, err := f.db.SetStage(ctx, postgres.StageChange{IncidentID: id, Stage: incident.Cleared, DispositionID: &dispo},
					audit.Actor{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkAgainstRebuild(t, f.db, f.loc, "concurrent")
}

// TestResponseTimesMultiMatchesSeparate checks that several groupings read
// from the rollups at once give exactly what ResponseTimes gives for each
// grouping alone, on random incidents with missing and out-of-order stages,
// and that queries the rollups cannot serve fall back to ResponseTimes.
func TestResponseTimesMultiMatchesSeparate(t *testing.T) {
	t.Parallel()
	f := newReportFixture(t)
	ctx := context.Background()
	ninety := 90
	must(t, f.db.SavePriority(ctx, &refdata.Priority{Level: 2, Label: "Urgent", Targets: map[refdata.Interval]*int{
		refdata.CallProcessing: &ninety, refdata.Travel: &ninety}}, false, 2, f.actor))
	must(t, f.db.RebuildRollups(ctx, f.loc))
	r := rand.New(rand.NewPCG(7, 11))
	randomIncidents(t, f, r, "A", 900, rollupTestFrom, rollupTestTo)
	must(t, f.db.StopRollups(ctx))
	randomIncidents(t, f, r, "B", 600, rollupTestFrom, rollupTestTo)
	must(t, f.db.RebuildRollups(ctx, f.loc))
	p2 := 2
	filters := []report.Filters{{}, {DVOnly: true}, {Priority: &p2}, {DistrictID: &f.district.ID, DVOnly: true},
		{SettlementID: &f.town.ID}} // the last: not from the rollups
	sets := [][]report.GroupBy{
		{report.ByAll, report.ByPriority, report.ByDistrict},
		{report.ByDistrict, report.ByWeek, report.ByAll},
		{report.ByPriority},
		{report.ByAll, report.BySettlement}, // by settlement: not from the rollups
	}
	for _, loc := range []*time.Location{f.loc, time.UTC} { // UTC: not the rollups' zone
		for _, rg := range rollupTestRanges {
			for fi, flt := range filters {
				for _, gbs := range sets {
					q := report.Query{Location: loc, GroupBy: report.ByDistrict, Filters: flt}
					q.From, _ = report.ParseDate(rg[0])
					q.To, _ = report.ParseDate(rg[1])
					got, err := f.db.ResponseTimesMulti(ctx, q, gbs)
					must(t, err)
					if len(got) != len(gbs) {
						t.Fatalf("%d results for %d groupings", len(got), len(gbs))
					}
					for i, gb := range gbs {
						gq := q
						gq.GroupBy = gb
						want, err := f.db.ResponseTimes(ctx, gq)
						must(t, err)
						what := fmt.Sprintf("%s %s..%s filters %d groupings %v: by %s", loc, rg[0], rg[1], fi, gbs, gb)
						if !reflect.DeepEqual(got[i], want) {
							t.Errorf("%s: differs from ResponseTimes:\n got %+v\nwant %+v", what, got[i], want)
						}
						if len(want.Groups) == 0 && rg[0] != "2026-03-01" && flt.SettlementID == nil { // random incidents have no settlement
							t.Errorf("%s: no groups", what)
						}
					}
				}
			}
		}
	}
	// An invalid query is refused as ResponseTimes refuses it.
	bad := report.Query{Location: f.loc, From: report.Date{Year: 2026, Month: 3, Day: 2}, To: report.Date{Year: 2026, Month: 3, Day: 1}}
	if _, err := f.db.ResponseTimesMulti(ctx, bad, []report.GroupBy{report.ByAll}); err == nil {
		t.Errorf("ResponseTimesMulti accepted a range ending before it starts")
	}
}
