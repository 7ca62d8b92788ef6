package seed

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

func TestScaleLoadsTopsUpAndRebuildsRollups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	if err := Scale(ctx, db, bishkekZone, ScaleOptions{Incidents: 3000, Years: 1, Batch: 1000, Now: now}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3,000 incidents copied") || !strings.Contains(out.String(), "rollups rebuilt") {
		t.Errorf("output:\n%s", out.String())
	}
	var n, open, early, outOfRange int64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE cleared_at IS NULL),
		count(*) FILTER (WHERE received_at < $1), count(*) FILTER (WHERE received_at > $2)
		FROM incidents WHERE source = 'seed'`, now.AddDate(-1, 0, -1), now).Scan(&n, &open, &early, &outOfRange); err != nil {
		t.Fatal(err)
	}
	if n != 3000 || open != 0 || early != 0 || outOfRange != 0 {
		t.Errorf("%d incidents, %d open, %d too early, %d in the future; want 3000 cleared within the year", n, open, early, outOfRange)
	}
	// Topping up adds only what is missing; again adds nothing.
	out.Reset()
	if err := Scale(ctx, db, bishkekZone, ScaleOptions{Incidents: 3500, Years: 1, Now: now}, &out); err != nil {
		t.Fatal(err)
	}
	if err := Scale(ctx, db, bishkekZone, ScaleOptions{Incidents: 3500, Years: 1, Now: now}, &out); err != nil {
		t.Fatal(err)
	}
	if c, err := db.SeedBatchPresent(ctx, postgres.SeedBatch{Prefix: postgres.ScalePrefix}); err != nil || c != 3500 {
		t.Fatalf("%d scale incidents (%v), want 3500\n%s", c, err, out.String())
	}
	// The rollups are kept in the zone and agree with the incidents.
	if z, err := db.RollupZone(ctx); err != nil || z != bishkekZone.String() {
		t.Errorf("rollup zone %q (%v)", z, err)
	}
	q := report.Query{Location: bishkekZone, GroupBy: report.ByDistrict, From: report.Date{Year: 2025, Month: 3, Day: 1},
		To: report.Date{Year: 2026, Month: 3, Day: 8}}
	got, ok, err := db.ResponseTimesRollup(ctx, q)
	if err != nil || !ok {
		t.Fatalf("rollups: %v %v", ok, err)
	}
	want, err := db.ResponseTimesNaive(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Groups) != 5 || len(got.Groups) != len(want.Groups) {
		t.Fatalf("%d groups, naive %d, want 5 districts", len(got.Groups), len(want.Groups))
	}
	for i, w := range want.Groups {
		g := got.Groups[i]
		r, wr := g.Intervals["response"], w.Intervals["response"]
		if g.Key != w.Key || g.Incidents != w.Incidents || r.N != wr.N || r.Missing != wr.Missing ||
			*r.Median < *wr.Median || *r.Median >= *wr.Median+1 {
			t.Errorf("group %s: %d incidents, response %+v; naive %s %d %+v", g.Key, g.Incidents, r, w.Key, w.Incidents, wr)
		}
	}
}
