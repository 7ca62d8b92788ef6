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

func TestScaleLoadsAndTopsUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	if err := Scale(ctx, db, bishkekZone, ScaleOptions{Incidents: 3000, Years: 1, Batch: 1000, Now: now}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3,000 incidents copied") || !strings.Contains(out.String(), "analyzed") {
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
	// The reports see every one of them, in the deployments' five
	// districts.
	q := report.Query{Location: bishkekZone, GroupBy: report.ByDistrict, From: report.Date{Year: 2025, Month: 3, Day: 1},
		To: report.Date{Year: 2026, Month: 3, Day: 8}}
	got, err := db.ResponseTimes(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, g := range got.Groups {
		sum += g.Incidents
	}
	if len(got.Groups) != 5 || sum != 3500 {
		t.Errorf("%d groups, %d incidents; want 5 districts, 3500", len(got.Groups), sum)
	}
}
