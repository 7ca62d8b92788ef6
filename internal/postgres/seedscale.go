package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/match"
)

// ScalePrefix starts the external ids of the incidents `seed --incidents`
// loads ("scale-00000001"): SeedBatchPresent(SeedBatch{Prefix:
// ScalePrefix}) counts them.
const ScalePrefix = "scale-"

// ScaleIncident is one incident of a load-test seed: the columns reports,
// the dashboard and the lists read. Names, phones, narratives and the
// name and phone keys are left empty, to keep ten million rows small.
type ScaleIncident struct {
	Number     string
	ExternalID string

	ReceivedAt   time.Time
	DispatchedAt *time.Time
	EnRouteAt    *time.Time
	OnSceneAt    *time.Time
	ClearedAt    *time.Time

	TypeID        int64
	Priority      int
	DispositionID *int64
	DistrictID    *int64
	SettlementID  *int64
	Address       string
	Latitude      float64
	Longitude     float64

	CallerLanguage  string
	Weapons         *bool
	ChildrenPresent *bool
	Injuries        *bool
	VictimSex       string // "" not recorded
	VictimAge       *int
	HighDanger      bool
}

var scaleColumns = []string{"id", "number", "source", "external_id", "received_at", "dispatched_at", "en_route_at", "on_scene_at",
	"cleared_at", "type_id", "priority", "disposition_id", "district_id", "settlement_id", "address", "latitude", "longitude",
	"caller_language", "weapons", "children_present", "injuries", "victim_sex", "victim_age", "high_danger",
	"created_at", "updated_at"}

// SeedScale copies the incidents next yields into incidents with COPY, in
// one transaction per batch rows (so a long load shows progress and an
// interrupted one keeps its whole batches), calling progress after each
// batch with the total so far. next fills in and returns false at the end.
//
// The load runs with session_replication_role replica when the role may,
// which skips the foreign-key checks of rows built from the reference
// data's own ids, and also every trigger: instead of one change-log entry
// per incident, each batch writes one reload marker to report_changes, so
// that a running report store loads again. Into an empty table, the
// secondary indexes are dropped for the load and built again at its end
// (dropLoadIndexes).
func (db *DB) SeedScale(ctx context.Context, batch int, next func(*ScaleIncident) bool, progress func(int64)) (n int64, err error) {
	if batch <= 0 {
		batch = 250_000
	}
	if err := db.RestoreIndexes(ctx); err != nil {
		return 0, err
	}
	if err := db.dropLoadIndexes(ctx); err != nil {
		return 0, err
	}
	defer func() {
		// Also after a failed or cancelled load: the indexes are the
		// application's, not the load's.
		if rerr := db.RestoreIndexes(context.WithoutCancel(ctx)); err == nil {
			err = rerr
		}
	}()
	var total int64
	var in ScaleIncident
	more := next(&in)
	vals := make([]any, len(scaleColumns))
	for more {
		err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
			// Only a superuser (or a role granted the setting) may skip
			// triggers; others load with them, which is slower.
			if _, err := tx.Exec(ctx, `SAVEPOINT replica`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT replica`); err != nil {
					return err
				}
			}
			// The batch's ids are taken first (those left unused at the
			// end are a gap), so that its keys are copied with them.
			rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, $1)`, batch)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			slices.Sort(ids)
			keys := make([][]any, 0, batch)
			n := 0
			copied, err := tx.CopyFrom(ctx, pgx.Identifier{"incidents"}, scaleColumns, pgx.CopyFromFunc(func() ([]any, error) {
				if !more || n >= batch {
					return nil, nil
				}
				id := ids[n]
				n++
				updated := in.ReceivedAt
				for _, t := range []*time.Time{in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt} {
					if t != nil && t.After(updated) {
						updated = *t
					}
				}
				vals[0], vals[1], vals[2], vals[3] = id, in.Number, "seed", in.ExternalID
				vals[4], vals[5], vals[6], vals[7], vals[8] = in.ReceivedAt, in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt
				vals[9], vals[10], vals[11], vals[12], vals[13] = in.TypeID, in.Priority, in.DispositionID, in.DistrictID, in.SettlementID
				vals[14], vals[15], vals[16] = in.Address, in.Latitude, in.Longitude
				vals[17], vals[18], vals[19], vals[20] = in.CallerLanguage, in.Weapons, in.ChildrenPresent, in.Injuries
				vals[21], vals[22], vals[23] = nullText(in.VictimSex), in.VictimAge, in.HighDanger
				vals[24], vals[25] = in.ReceivedAt, updated
				// The history lookup finds load-test incidents by their
				// flat and building (they have no phones or names).
				flat, building := match.Address(in.Address)
				keys = append(keys, keyRow(id, in.ReceivedAt, match.Keys{Flat: flat, Building: building}))
				// The values are copied into the COPY buffer before the
				// next call, so in can be reused.
				row := vals
				in = ScaleIncident{}
				more = next(&in)
				return row, nil
			}))
			total += copied
			if err != nil {
				return err
			}
			if _, err = tx.CopyFrom(ctx, pgx.Identifier{"incident_keys"}, keyColumns, pgx.CopyFromRows(keys)); err != nil {
				return err
			}
			// The change log's triggers were skipped with the others
			// (or logged every row): one marker, committed with the
			// batch, tells its readers to load everything again.
			_, err = tx.Exec(ctx, `INSERT INTO report_changes (incident_id) VALUES (0)`)
			return err
		})
		if err != nil {
			return total, mapErr(err, "")
		}
		if progress != nil {
			progress(total)
		}
	}
	return total, nil
}

// loadIndexesKey is the app_settings key holding the definitions of the
// indexes on incidents a bulk load dropped, until RestoreIndexes makes
// them again.
const loadIndexesKey = "load_dropped_indexes"

// dropLoadIndexes drops the indexes of incidents and of its history keys
// (incident_keys) that back no constraint
// when incidents is empty (a new database being loaded, not one in use),
// recording their definitions first in the same transaction, so that a
// load that dies half way has them made again by the next RestoreIndexes.
// Building an index once from the loaded rows is many times faster than
// updating it row by row: the six incidents_slow_* indexes are ordered by
// duration, so every row lands on a random page of each. The primary key
// and unique keys stay: they check the load.
func (db *DB) dropLoadIndexes(ctx context.Context) error {
	return mapErr(pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var empty bool
		if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT FROM incidents)`).Scan(&empty); err != nil || !empty {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
			WHERE i.indrelid IN ('incidents'::regclass, 'incident_keys'::regclass) AND NOT i.indisunique AND NOT i.indisprimary
				AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
			ORDER BY 1`)
		if err != nil {
			return err
		}
		var names, defs []string
		var name, def string
		if _, err := pgx.ForEachRow(rows, []any{&name, &def}, func() error {
			names, defs = append(names, name), append(defs, def)
			return nil
		}); err != nil || len(defs) == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, array_to_json($2::text[])::text)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`, loadIndexesKey, defs); err != nil {
			return err
		}
		for _, n := range names {
			if _, err := tx.Exec(ctx, `DROP INDEX `+pgx.Identifier{n}.Sanitize()); err != nil {
				return err
			}
		}
		return nil
	}), "")
}

// RestoreIndexes builds again the indexes of incidents a bulk load
// dropped (dropLoadIndexes), if any: at the end of the load, and at the
// start of the next load or migration after one that died.
func (db *DB) RestoreIndexes(ctx context.Context) error {
	return mapErr(pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var defs []string
		err := tx.QueryRow(ctx, `SELECT ARRAY(SELECT json_array_elements_text(value::json)) FROM app_settings
			WHERE key = $1 FOR UPDATE`, loadIndexesKey).Scan(&defs)
		if err == pgx.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		// Sorting in memory: the big indexes are built in seconds.
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
			return err
		}
		for _, def := range defs {
			if _, err := tx.Exec(ctx, strings.Replace(def, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM app_settings WHERE key = $1`, loadIndexesKey)
		return err
	}), "")
}

// Analyze refreshes the planner's statistics of incidents and their keys
// after a bulk load.
func (db *DB) Analyze(ctx context.Context) error {
	_, err := db.Pool.Exec(ctx, `ANALYZE incidents, incident_keys`)
	return mapErr(err, "")
}
