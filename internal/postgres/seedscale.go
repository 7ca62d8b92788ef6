package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ScalePrefix starts the external ids of the incidents `seed --incidents`
// loads ("scale-00000001"): SeedBatchPresent(SeedBatch{Prefix:
// ScalePrefix}) counts them.
const ScalePrefix = "scale-"

// ScaleIncident is one incident of a load-test seed: the columns reports,
// the dashboard and the lists read. Names, phones, narratives and the
// history-matching keys are left empty, to keep ten million rows small.
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

var scaleColumns = []string{"number", "source", "external_id", "received_at", "dispatched_at", "en_route_at", "on_scene_at",
	"cleared_at", "type_id", "priority", "disposition_id", "district_id", "settlement_id", "address", "latitude", "longitude",
	"caller_language", "weapons", "children_present", "injuries", "victim_sex", "victim_age", "high_danger",
	"created_at", "updated_at"}

// SeedScale copies the incidents next yields into incidents with COPY, in
// one transaction per batch rows (so a long load shows progress and an
// interrupted one keeps its whole batches), calling progress after each
// batch with the total so far. next fills in and returns false at the end.
//
// The rollup triggers are left out of the load's statements
// (session_replication_role replica, which also skips the foreign-key
// checks of rows built from the reference data's own ids) when the role
// may do so; the caller rebuilds the rollups afterwards (StopRollups
// before, RebuildRollups after).
func (db *DB) SeedScale(ctx context.Context, batch int, next func(*ScaleIncident) bool, progress func(int64)) (int64, error) {
	if batch <= 0 {
		batch = 250_000
	}
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
			n := 0
			copied, err := tx.CopyFrom(ctx, pgx.Identifier{"incidents"}, scaleColumns, pgx.CopyFromFunc(func() ([]any, error) {
				if !more || n >= batch {
					return nil, nil
				}
				n++
				updated := in.ReceivedAt
				for _, t := range []*time.Time{in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt} {
					if t != nil && t.After(updated) {
						updated = *t
					}
				}
				vals[0], vals[1], vals[2] = in.Number, "seed", in.ExternalID
				vals[3], vals[4], vals[5], vals[6], vals[7] = in.ReceivedAt, in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt
				vals[8], vals[9], vals[10], vals[11], vals[12] = in.TypeID, in.Priority, in.DispositionID, in.DistrictID, in.SettlementID
				vals[13], vals[14], vals[15] = in.Address, in.Latitude, in.Longitude
				vals[16], vals[17], vals[18], vals[19] = in.CallerLanguage, in.Weapons, in.ChildrenPresent, in.Injuries
				vals[20], vals[21], vals[22] = nullText(in.VictimSex), in.VictimAge, in.HighDanger
				vals[23], vals[24] = in.ReceivedAt, updated
				// The values are copied into the COPY buffer before the
				// next call, so in can be reused.
				row := vals
				in = ScaleIncident{}
				more = next(&in)
				return row, nil
			}))
			total += copied
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

// Analyze refreshes the planner's statistics of incidents and vacuums the
// rollups, whose fine rows a report then reads by index-only scans.
func (db *DB) Analyze(ctx context.Context) error {
	_, err := db.Pool.Exec(ctx, `ANALYZE incidents`)
	if err == nil {
		_, err = db.Pool.Exec(ctx, `VACUUM (ANALYZE) rollup_cells, rollup_hist, rollup_fine, rollup_days, dash_cells, dash_hist, dash_fine, dash_days`)
	}
	return mapErr(err, "")
}
