package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/postgres"
)

// incidentIndexes are the definitions of the indexes on incidents, by name.
func incidentIndexes(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'incidents'`)
	must(t, err)
	out := map[string]string{}
	for rows.Next() {
		var n, d string
		must(t, rows.Scan(&n, &d))
		out[n] = d
	}
	must(t, rows.Err())
	return out
}

// TestSeedScaleRebuildsTheIndexesItDrops checks that a bulk load into an
// empty incidents table drops the indexes that back no constraint while
// it copies, and has every one of them again, the same, when it ends:
// after a load that succeeds, after one that fails, and (RestoreIndexes)
// after one that died with them dropped; and that a load into a table
// already holding incidents leaves the indexes alone.
func TestSeedScaleRebuildsTheIndexesItDrops(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	before := incidentIndexes(t, f.db)
	if _, ok := before["incidents_slow_response_idx"]; !ok {
		t.Fatalf("no incidents_slow_response_idx among %v", before)
	}
	received := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	load := func(n int, dup bool, during func()) (int64, error) {
		i := 0
		return f.db.SeedScale(ctx, 2, func(in *postgres.ScaleIncident) bool {
			if i == n {
				return false
			}
			if i == 1 && during != nil {
				during()
			}
			i++
			num := fmt.Sprintf("%s%d-%d", postgres.ScalePrefix, n, i)
			if dup {
				num = postgres.ScalePrefix + "dup"
			}
			*in = postgres.ScaleIncident{Number: num, ExternalID: num, ReceivedAt: received.Add(time.Duration(i) * time.Minute),
				TypeID: f.typ.ID, Priority: 1, DistrictID: &f.district.ID, Address: "1 Main St"}
			return true
		}, nil)
	}
	var during map[string]string
	n, err := load(5, false, func() { during = incidentIndexes(t, f.db) })
	must(t, err)
	if n != 5 {
		t.Fatalf("loaded %d incidents, want 5", n)
	}
	if _, ok := during["incidents_slow_response_idx"]; ok {
		t.Errorf("incidents_slow_response_idx kept during a load into an empty table")
	}
	if _, ok := during["incidents_number_key"]; !ok {
		t.Errorf("the unique key on number was dropped during the load")
	}
	sameIndexes := func(step string) {
		t.Helper()
		after := incidentIndexes(t, f.db)
		for name, def := range before {
			if after[name] != def {
				t.Errorf("%s: index %s is %q, want %q", step, name, after[name], def)
			}
		}
		if len(after) != len(before) {
			t.Errorf("%s: %d indexes, want %d", step, len(after), len(before))
		}
	}
	sameIndexes("after a load")

	// A load into a table with incidents keeps its indexes.
	_, err = load(3, false, func() { during = incidentIndexes(t, f.db) })
	must(t, err)
	if len(during) != len(before) {
		t.Errorf("a load into a table in use dropped indexes: %d of %d left", len(during), len(before))
	}

	// A failed load (a duplicate number) still ends with the indexes.
	exec(t, f.db, `TRUNCATE incidents CASCADE`)
	if _, err := load(4, true, nil); err == nil {
		t.Fatal("a load of duplicate numbers succeeded")
	}
	sameIndexes("after a failed load")

	// A load that died with the indexes dropped: the next RestoreIndexes
	// builds them.
	exec(t, f.db, `INSERT INTO app_settings (key, value) VALUES ('load_dropped_indexes', json_build_array($1::text)::text)`,
		before["incidents_slow_response_idx"])
	exec(t, f.db, `DROP INDEX incidents_slow_response_idx`)
	must(t, f.db.RestoreIndexes(ctx))
	sameIndexes("after RestoreIndexes")
	must(t, f.db.RestoreIndexes(ctx)) // nothing left to do
}

func exec(t *testing.T, db *postgres.DB, sql string, args ...any) {
	t.Helper()
	_, err := db.Pool.Exec(context.Background(), sql, args...)
	must(t, err)
}
