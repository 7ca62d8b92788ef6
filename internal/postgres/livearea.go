package postgres

import (
	"context"
	"fmt"
)

// The live streams send a client only the ids of records in its area (see
// server.boardArea). These queries answer, for one id named in a change
// notification, whether it is one of them.

// inArea is the SQL condition that incident i lies in a BoardArea whose
// district and logging user are the parameters $n and $n+1: the one
// statement of the rule for the board, its stream and the units.
func inArea(n int) string {
	return fmt.Sprintf("(i.district_id = $%d OR ($%d <> 0 AND i.created_by = $%d))", n, n+1, n+1)
}

// IncidentInArea reports whether incident id lies in area a, by the rule
// of OpenIncidentsIn: the district, and optionally the incidents a's user
// logged.
func (db *DB) IncidentInArea(ctx context.Context, id int64, a BoardArea) (bool, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incidents i WHERE i.id = $1
		AND `+inArea(2)+`)`, id, a.DistrictID, a.LoggedBy).Scan(&ok)
	return ok, mapErr(err, "")
}

// UnitInArea reports whether unit id is one the board of area a lists: a
// unit of a's district, or one assigned to an open incident of the area.
func (db *DB) UnitInArea(ctx context.Context, id int64, a BoardArea) (bool, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM units WHERE id = $1 AND district_id = $2)
		OR EXISTS (SELECT 1 FROM incident_units iu JOIN incidents i ON i.id = iu.incident_id
			WHERE iu.unit_id = $1 AND iu.released_at IS NULL AND i.cleared_at IS NULL
			AND `+inArea(2)+`)`, id, a.DistrictID, a.LoggedBy).Scan(&ok)
	return ok, mapErr(err, "")
}

// IncidentHasUnit reports whether unit has been assigned to the incident,
// now or earlier (an officer's list drops an incident their unit was
// released from, so that change concerns them too).
func (db *DB) IncidentHasUnit(ctx context.Context, incidentID, unitID int64) (bool, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_units WHERE incident_id = $1 AND unit_id = $2)`,
		incidentID, unitID).Scan(&ok)
	return ok, mapErr(err, "")
}

// IncidentHasWork reports whether the incident has a follow-up task, or
// an order with a check, that is the unit's or the pool's of district
// (nil: no pool), open or not: a change of it may change the officer's
// "My follow-ups and checks".
func (db *DB) IncidentHasWork(ctx context.Context, incidentID, unitID int64, districtID *int64) (bool, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM follow_up_tasks
			WHERE incident_id = $1 AND (unit_id = $2 OR unit_id IS NULL AND district_id = $3))
		OR EXISTS (SELECT 1 FROM order_checks c JOIN protection_orders o ON o.id = c.order_id
			WHERE o.incident_id = $1 AND (c.unit_id = $2 OR c.unit_id IS NULL AND c.district_id = $3))`,
		incidentID, unitID, districtID).Scan(&ok)
	return ok, mapErr(err, "")
}
