package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/dvresponse/dvresponse/internal/report"
)

// ResponseTimes computes a response-time report (report.Source) from the
// incidents themselves (ResponseTimesNaive): the database's exact path.
// The application's figures come from the in-memory report store
// (internal/facts, see internal/report/ENGINE.md), and from here until it
// is loaded.
func (db *DB) ResponseTimes(ctx context.Context, q report.Query) (report.Result, error) {
	return db.ResponseTimesNaive(ctx, q)
}

// ResponseTimesMulti computes q grouped by each of gbs (q.GroupBy is
// ignored): the results are those of ResponseTimes for each grouping,
// computed at once (one query each; they share no work).
func (db *DB) ResponseTimesMulti(ctx context.Context, q report.Query, gbs []report.GroupBy) ([]report.Result, error) {
	qs := make([]report.Query, len(gbs))
	for i, gb := range gbs {
		qs[i] = q
		qs[i].GroupBy = gb
		if err := qs[i].Validate(); err != nil {
			return nil, err
		}
	}
	out := make([]report.Result, len(gbs))
	errs := make([]error, len(gbs))
	var wg sync.WaitGroup
	for i := range qs {
		wg.Go(func() { out[i], errs[i] = db.ResponseTimes(ctx, qs[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ResponseTimesNaive computes a response-time report the straightforward
// way: the exact reference that every other path is tested against. It
// selects one row per incident received in the query's range that passes
// its filters (in SQL, except the shift, which needs the Go time zone
// database and is checked per row) and adds the rows up in
// Go with report.Builder, so percentiles are exact. Rows are streamed, not
// held: memory grows with the number of durations, not of rows.
//
// Labels are the current reference data; each incident is judged against
// its priority's targets in force on the local day it was received.
func (db *DB) ResponseTimesNaive(ctx context.Context, q report.Query) (report.Result, error) {
	if err := q.Validate(); err != nil {
		return report.Result{}, err
	}
	prios, err := db.Priorities(ctx)
	if err != nil {
		return report.Result{}, err
	}
	sql, args := responseTimesSQL(q)
	rows, err := db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return report.Result{}, mapErr(err, "")
	}
	defer rows.Close()
	b := report.NewBuilder(q, prios)
	for rows.Next() {
		var in report.Incident
		var settlementDistrict string
		if err := rows.Scan(&in.Received, &in.Dispatched, &in.EnRoute, &in.OnScene, &in.Cleared, &in.Priority,
			&in.DistrictCode, &in.DistrictName, &settlementDistrict, &in.SettlementName, &in.SettlementIDP,
			&in.TypeCode, &in.TypeName, &in.Corrected); err != nil {
			return report.Result{}, mapErr(err, "")
		}
		if q.Shift != "" && report.ShiftOf(in.Received, q.Location) != q.Shift {
			continue
		}
		if in.SettlementName != "" {
			in.SettlementKey = report.SettlementKey(settlementDistrict, in.SettlementName)
		}
		b.Add(in)
	}
	if err := rows.Err(); err != nil {
		return report.Result{}, mapErr(err, "")
	}
	return b.Result(), nil
}

// responseTimesSQL is the selection of a report's incidents.
func responseTimesSQL(q report.Query) (string, []any) {
	start, end := q.Range()
	args := []any{start, end}
	where := []string{"i.received_at >= $1", "i.received_at < $2"}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.DistrictID != nil {
		where = append(where, "i.district_id = "+arg(*q.DistrictID))
	}
	if q.SettlementID != nil {
		where = append(where, "i.settlement_id = "+arg(*q.SettlementID))
	}
	if q.IDPOnly {
		where = append(where, "s.is_idp")
	}
	if q.Priority != nil {
		where = append(where, "i.priority = "+arg(*q.Priority))
	}
	if q.TypeID != nil {
		where = append(where, "i.type_id = "+arg(*q.TypeID))
	}
	if q.DVOnly {
		where = append(where, "t.is_dv")
	}
	if q.UnitID != nil {
		where = append(where, "EXISTS (SELECT 1 FROM incident_units iu WHERE iu.incident_id = i.id AND iu.unit_id = "+arg(*q.UnitID)+")")
	}
	return `SELECT i.received_at, i.dispatched_at, i.en_route_at, i.on_scene_at, i.cleared_at, i.priority,
		coalesce(d.code, ''), coalesce(d.name, ''), coalesce(sd.code, ''), coalesce(s.name, ''), coalesce(s.is_idp, false),
		t.code, t.name, i.corrections > 0
		FROM incidents i
		JOIN incident_types t ON t.id = i.type_id
		LEFT JOIN districts d ON d.id = i.district_id
		LEFT JOIN settlements s ON s.id = i.settlement_id
		LEFT JOIN districts sd ON sd.id = s.district_id
		WHERE ` + strings.Join(where, " AND "), args
}
