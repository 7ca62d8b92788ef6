package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// collect runs a query and scans each row with scan.
func collect[T any](ctx context.Context, db *DB, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	return out, mapErr(err, "")
}

// ---- audited changes
//
// Every create, update and delete of reference data writes its audit row
// in the same transaction as the change (no unaudited change): a create
// records the new record's fields ("new"), an update the fields that
// changed with their values before and after ("changed"), a delete the
// fields of the record that is gone ("old"). The action is
// "<record type>.create", ".update" or ".delete".

// refChange is one audited change of a record of reference data.
type refChange struct {
	what       string // the noun of error messages ("district")
	recordType string // the audit trail's record type ("district")
	// lock, for an update or delete, locks the record and returns its
	// fields before the change; nil for a create.
	lock func(ctx context.Context, tx pgx.Tx) (map[string]any, error)
	// write makes the change and returns the record's id as the audit
	// trail names it.
	write func(ctx context.Context, tx pgx.Tx) (string, error)
	// after is the record's fields after the change; nil for a delete.
	after map[string]any
}

// run makes the change and writes its audit row in one transaction.
func (c refChange) run(ctx context.Context, db *DB, by audit.Actor) error {
	verb := "update"
	switch {
	case c.lock == nil:
		verb = "create"
	case c.after == nil:
		verb = "delete"
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var before map[string]any
		if c.lock != nil {
			var err error
			if before, err = c.lock(ctx, tx); err != nil {
				return err
			}
		}
		id, err := c.write(ctx, tx)
		if err != nil {
			return err
		}
		// Open boards re-read (targets, units, labels): a kind of its
		// own, whose id says nothing.
		if err := Notify(ctx, tx, RefdataKind, 1); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: c.recordType + "." + verb, RecordType: c.recordType,
			RecordID: id, Detail: changeDetail(before, c.after)})
	})
	// This process's next request reads the change, whenever the
	// notification reaches its listener (refcache.go).
	db.ref.changed()
	return mapErr(err, c.what)
}

// changeDetail is the audit detail of a change: the new record's fields
// (before is nil), the deleted record's fields (after is nil), or the
// fields that changed with their values before and after.
func changeDetail(before, after map[string]any) map[string]any {
	switch {
	case before == nil:
		return map[string]any{"new": after}
	case after == nil:
		return map[string]any{"old": before}
	}
	return map[string]any{"changed": fieldChanges(before, after)}
}

// fieldChanges lists the fields whose values differ between before and
// after as {"field": {"before": x, "after": y}}. Values are compared as the
// audit trail stores them (JSON), so an *int and an int of one value are
// equal.
func fieldChanges(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, a := range after {
		b, ok := before[k]
		if ok && jsonEqual(a, b) {
			continue
		}
		out[k] = map[string]any{"before": b, "after": a}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok {
			out[k] = map[string]any{"before": b, "after": nil}
		}
	}
	return out
}

func jsonEqual(a, b any) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && string(ja) == string(jb)
}

// lockRecord returns a refChange.lock that reads one row with sql (which
// ends FOR UPDATE) and returns fields of it.
func lockRecord[T any](scan func(pgx.Row) (T, error), fields func(*T) map[string]any, sql string, id any) func(context.Context, pgx.Tx) (map[string]any, error) {
	return func(ctx context.Context, tx pgx.Tx) (map[string]any, error) {
		x, err := scan(tx.QueryRow(ctx, sql, id))
		if err != nil {
			return nil, err
		}
		return fields(&x), nil
	}
}

// execOneTx runs a statement in tx that must change exactly one row.
func execOneTx(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	tag, err := tx.Exec(ctx, sql, args...)
	if err == nil && tag.RowsAffected() == 0 {
		return pgx.ErrNoRows
	}
	return err
}

// insertID runs an INSERT ... RETURNING id into *id and returns the id as
// text; on failure *id stays 0 (the row was never stored).
func insertID(ctx context.Context, tx pgx.Tx, id *int64, sql string, args ...any) (string, error) {
	if err := tx.QueryRow(ctx, sql, args...).Scan(id); err != nil {
		*id = 0
		return "", err
	}
	return strconv.FormatInt(*id, 10), nil
}

// deleteRecord deletes one row of table by key inside tx; a row still
// referenced is a conflict (mapErr).
func deleteRecord(table, key string, id any) func(context.Context, pgx.Tx) (string, error) {
	return func(ctx context.Context, tx pgx.Tx) (string, error) {
		return idText(id), execOneTx(ctx, tx, `DELETE FROM `+table+` WHERE `+key+` = $1`, id)
	}
}

func idText(id any) string {
	switch v := id.(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	}
	return ""
}

// names is a record's names per language as stored: never nil, since the
// column holds a JSON object.
func names(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// saved passes err on and, when a create failed, clears the id the insert
// had given (its row was rolled back).
func saved(err error, id *int64, create bool) error {
	if err != nil && create {
		*id = 0
	}
	return err
}

// ---- districts

func scanDistrict(r pgx.Row) (refdata.District, error) {
	var d refdata.District
	return d, r.Scan(&d.ID, &d.Code, &d.Name, &d.Active)
}

func districtFields(d *refdata.District) map[string]any {
	return map[string]any{"code": d.Code, "name": d.Name, "active": d.Active}
}

// Districts lists districts by code.
func (db *DB) Districts(ctx context.Context) ([]refdata.District, error) {
	return refCached(&db.ref, refDistricts, func() ([]refdata.District, error) {
		return collect(ctx, db, scanDistrict, `SELECT id, code, name, active FROM districts ORDER BY code`)
	}, cloneDistricts)
}

// District returns one district.
func (db *DB) District(ctx context.Context, id int64) (refdata.District, error) {
	d, err := scanDistrict(db.Pool.QueryRow(ctx, `SELECT id, code, name, active FROM districts WHERE id = $1`, id))
	return d, mapErr(err, "district")
}

const lockDistrict = `SELECT id, code, name, active FROM districts WHERE id = $1 FOR UPDATE`

// SaveDistrict validates and inserts (ID 0) or updates d, audited as by's
// action.
func (db *DB) SaveDistrict(ctx context.Context, d *refdata.District, by audit.Actor) error {
	if err := d.Validate(); err != nil {
		return err
	}
	create := d.ID == 0
	c := refChange{what: "district", recordType: "district", after: districtFields(d)}
	if create {
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return insertID(ctx, tx, &d.ID, `INSERT INTO districts (code, name, active) VALUES ($1, $2, $3) RETURNING id`,
				d.Code, d.Name, d.Active)
		}
	} else {
		c.lock = lockRecord(scanDistrict, districtFields, lockDistrict, d.ID)
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return idText(d.ID), execOneTx(ctx, tx, `UPDATE districts SET code = $2, name = $3, active = $4 WHERE id = $1`,
				d.ID, d.Code, d.Name, d.Active)
		}
	}
	return saved(c.run(ctx, db, by), &d.ID, create)
}

// DeleteDistrict deletes an unreferenced district, audited as by's action.
func (db *DB) DeleteDistrict(ctx context.Context, id int64, by audit.Actor) error {
	return refChange{what: "district", recordType: "district", lock: lockRecord(scanDistrict, districtFields, lockDistrict, id),
		write: deleteRecord("districts", "id", id)}.run(ctx, db, by)
}

// ---- settlements

const settlementSelect = `SELECT s.id, s.district_id, d.code, s.name, s.is_idp, s.active
	FROM settlements s JOIN districts d ON d.id = s.district_id `

func scanSettlement(r pgx.Row) (refdata.Settlement, error) {
	var s refdata.Settlement
	return s, r.Scan(&s.ID, &s.DistrictID, &s.DistrictCode, &s.Name, &s.IsIDP, &s.Active)
}

func settlementFields(s *refdata.Settlement) map[string]any {
	return map[string]any{"district_id": s.DistrictID, "name": s.Name, "is_idp": s.IsIDP, "active": s.Active}
}

// Settlements lists settlements by district and name.
func (db *DB) Settlements(ctx context.Context) ([]refdata.Settlement, error) {
	return refCached(&db.ref, refSettlements, func() ([]refdata.Settlement, error) {
		return collect(ctx, db, scanSettlement, settlementSelect+`ORDER BY d.code, s.name`)
	}, cloneSettlements)
}

// Settlement returns one settlement.
func (db *DB) Settlement(ctx context.Context, id int64) (refdata.Settlement, error) {
	s, err := scanSettlement(db.Pool.QueryRow(ctx, settlementSelect+`WHERE s.id = $1`, id))
	return s, mapErr(err, "settlement")
}

const lockSettlement = settlementSelect + `WHERE s.id = $1 FOR UPDATE OF s`

// SaveSettlement validates and inserts (ID 0) or updates s, audited as
// by's action.
func (db *DB) SaveSettlement(ctx context.Context, s *refdata.Settlement, by audit.Actor) error {
	if err := s.Validate(); err != nil {
		return err
	}
	create := s.ID == 0
	c := refChange{what: "settlement", recordType: "settlement", after: settlementFields(s)}
	if create {
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return insertID(ctx, tx, &s.ID, `INSERT INTO settlements (district_id, name, is_idp, active)
				VALUES ($1, $2, $3, $4) RETURNING id`, s.DistrictID, s.Name, s.IsIDP, s.Active)
		}
	} else {
		c.lock = lockRecord(scanSettlement, settlementFields, lockSettlement, s.ID)
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return idText(s.ID), execOneTx(ctx, tx, `UPDATE settlements SET district_id = $2, name = $3, is_idp = $4, active = $5
				WHERE id = $1`, s.ID, s.DistrictID, s.Name, s.IsIDP, s.Active)
		}
	}
	return saved(c.run(ctx, db, by), &s.ID, create)
}

// DeleteSettlement deletes an unreferenced settlement, audited as by's
// action.
func (db *DB) DeleteSettlement(ctx context.Context, id int64, by audit.Actor) error {
	return refChange{what: "settlement", recordType: "settlement", lock: lockRecord(scanSettlement, settlementFields, lockSettlement, id),
		write: deleteRecord("settlements", "id", id)}.run(ctx, db, by)
}

// ---- units

const unitSelect = `SELECT u.id, u.call_sign, u.district_id, d.code, u.status, u.active
	FROM units u JOIN districts d ON d.id = u.district_id `

func scanUnit(r pgx.Row) (refdata.Unit, error) {
	var u refdata.Unit
	var status string
	err := r.Scan(&u.ID, &u.CallSign, &u.DistrictID, &u.DistrictCode, &status, &u.Active)
	u.Status = refdata.UnitStatus(status)
	return u, err
}

func unitFields(u *refdata.Unit) map[string]any {
	return map[string]any{"call_sign": u.CallSign, "district_id": u.DistrictID, "status": string(u.Status), "active": u.Active}
}

// Units lists units by call sign.
func (db *DB) Units(ctx context.Context) ([]refdata.Unit, error) {
	return collect(ctx, db, scanUnit, unitSelect+`ORDER BY u.call_sign`)
}

// Unit returns one unit.
func (db *DB) Unit(ctx context.Context, id int64) (refdata.Unit, error) {
	u, err := scanUnit(db.Pool.QueryRow(ctx, unitSelect+`WHERE u.id = $1`, id))
	return u, mapErr(err, "unit")
}

const lockUnit = unitSelect + `WHERE u.id = $1 FOR UPDATE OF u`

// SaveUnit validates and inserts (ID 0) or updates u, audited as by's
// action.
func (db *DB) SaveUnit(ctx context.Context, u *refdata.Unit, by audit.Actor) error {
	if err := u.Validate(); err != nil {
		return err
	}
	create := u.ID == 0
	c := refChange{what: "unit", recordType: "unit", after: unitFields(u)}
	if create {
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return insertID(ctx, tx, &u.ID, `INSERT INTO units (call_sign, district_id, status, active)
				VALUES ($1, $2, $3, $4) RETURNING id`, u.CallSign, u.DistrictID, u.Status, u.Active)
		}
	} else {
		c.lock = lockRecord(scanUnit, unitFields, lockUnit, u.ID)
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return idText(u.ID), execOneTx(ctx, tx, `UPDATE units SET call_sign = $2, district_id = $3, status = $4, active = $5
				WHERE id = $1`, u.ID, u.CallSign, u.DistrictID, u.Status, u.Active)
		}
	}
	return saved(c.run(ctx, db, by), &u.ID, create)
}

// DeleteUnit deletes an unreferenced unit, audited as by's action.
func (db *DB) DeleteUnit(ctx context.Context, id int64, by audit.Actor) error {
	return refChange{what: "unit", recordType: "unit", lock: lockRecord(scanUnit, unitFields, lockUnit, id),
		write: deleteRecord("units", "id", id)}.run(ctx, db, by)
}

// ---- incident types

func scanIncidentType(r pgx.Row) (refdata.IncidentType, error) {
	var t refdata.IncidentType
	return t, r.Scan(&t.ID, &t.Code, &t.Name, &t.Names, &t.IsDV, &t.Active)
}

func incidentTypeFields(t *refdata.IncidentType) map[string]any {
	return map[string]any{"code": t.Code, "name": t.Name, "names": names(t.Names), "is_dv": t.IsDV, "active": t.Active}
}

// IncidentTypes lists incident types by code.
func (db *DB) IncidentTypes(ctx context.Context) ([]refdata.IncidentType, error) {
	return refCached(&db.ref, refTypes, func() ([]refdata.IncidentType, error) {
		return collect(ctx, db, scanIncidentType, `SELECT id, code, name, names, is_dv, active FROM incident_types ORDER BY code`)
	}, cloneTypes)
}

// IncidentType returns one incident type.
func (db *DB) IncidentType(ctx context.Context, id int64) (refdata.IncidentType, error) {
	t, err := scanIncidentType(db.Pool.QueryRow(ctx, `SELECT id, code, name, names, is_dv, active FROM incident_types WHERE id = $1`, id))
	return t, mapErr(err, "incident type")
}

const lockIncidentType = `SELECT id, code, name, names, is_dv, active FROM incident_types WHERE id = $1 FOR UPDATE`

// SaveIncidentType validates and inserts (ID 0) or updates t, audited as
// by's action.
func (db *DB) SaveIncidentType(ctx context.Context, t *refdata.IncidentType, by audit.Actor) error {
	if err := t.Validate(); err != nil {
		return err
	}
	create := t.ID == 0
	c := refChange{what: "incident type", recordType: "incident_type", after: incidentTypeFields(t)}
	if create {
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return insertID(ctx, tx, &t.ID, `INSERT INTO incident_types (code, name, is_dv, active, names)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, t.Code, t.Name, t.IsDV, t.Active, names(t.Names))
		}
	} else {
		c.lock = lockRecord(scanIncidentType, incidentTypeFields, lockIncidentType, t.ID)
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return idText(t.ID), execOneTx(ctx, tx, `UPDATE incident_types SET code = $2, name = $3, is_dv = $4, active = $5,
				names = $6 WHERE id = $1`, t.ID, t.Code, t.Name, t.IsDV, t.Active, names(t.Names))
		}
	}
	return saved(c.run(ctx, db, by), &t.ID, create)
}

// DeleteIncidentType deletes an unreferenced incident type, audited as
// by's action.
func (db *DB) DeleteIncidentType(ctx context.Context, id int64, by audit.Actor) error {
	return refChange{what: "incident type", recordType: "incident_type",
		lock:  lockRecord(scanIncidentType, incidentTypeFields, lockIncidentType, id),
		write: deleteRecord("incident_types", "id", id)}.run(ctx, db, by)
}

// ---- priorities

const prioritySelect = `SELECT level, label, names, target_call_processing_s, target_turnout_s, target_travel_s,
	target_response_s, target_on_scene_s, target_total_s FROM priorities `

func scanPriority(r pgx.Row) (refdata.Priority, error) {
	p := refdata.Priority{Targets: map[refdata.Interval]*int{}}
	t := make([]*int, len(refdata.Intervals))
	err := r.Scan(&p.Level, &p.Label, &p.Names, &t[0], &t[1], &t[2], &t[3], &t[4], &t[5])
	for i, iv := range refdata.Intervals {
		p.Targets[iv] = t[i]
	}
	return p, err
}

func priorityFields(p *refdata.Priority) map[string]any {
	m := map[string]any{"level": p.Level, "label": p.Label, "names": names(p.Names)}
	for _, iv := range refdata.Intervals {
		m["target_"+string(iv)] = p.Targets[iv]
	}
	if !p.TargetsFrom.IsZero() {
		m["targets_from"] = p.TargetsFrom.Format(time.DateOnly)
	}
	return m
}

// targetsFromSQL is p.TargetsFrom as a date for priority_targets.
func targetsFromSQL(p *refdata.Priority) string {
	if p.TargetsFrom.IsZero() {
		return "-infinity"
	}
	return p.TargetsFrom.Format(time.DateOnly)
}

// Rejudged counts the incidents of priority level whose targets a change
// from local day from (zone zone) would apply to: those received from that
// day on, up to the level's next change after it.
func (db *DB) Rejudged(ctx context.Context, level int, from time.Time, zone string) (int64, error) {
	var n int64
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM incidents i
		WHERE i.priority = $1 AND i.received_at >= ($2::date)::timestamp AT TIME ZONE $3
			AND i.received_at < coalesce((SELECT min(t.effective_from) FROM priority_targets t
				WHERE t.level = $1 AND t.effective_from > $2::date)::timestamp AT TIME ZONE $3, 'infinity')`,
		level, from.Format(time.DateOnly), zone).Scan(&n)
	return n, mapErr(err, "")
}

func targetArgs(p *refdata.Priority) []any {
	args := []any{p.Level, p.Label}
	for _, iv := range refdata.Intervals {
		args = append(args, p.Targets[iv])
	}
	return args
}

// Priorities lists priorities, most urgent first, each with its history
// of targets (priority_targets, migration 0019).
func (db *DB) Priorities(ctx context.Context) ([]refdata.Priority, error) {
	return refCached(&db.ref, refPriorities, func() ([]refdata.Priority, error) {
		ps, err := collect(ctx, db, scanPriority, prioritySelect+`ORDER BY level`)
		if err != nil {
			return nil, err
		}
		return ps, addTargetHistory(ctx, db.Pool, ps)
	}, clonePriorities)
}

// addTargetHistory reads the target changes of ps.
func addTargetHistory(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, ps []refdata.Priority) error {
	at := map[int]int{}
	for i, p := range ps {
		at[p.Level] = i
	}
	rows, err := q.Query(ctx, `SELECT t.level, CASE WHEN t.effective_from = '-infinity' THEN NULL ELSE t.effective_from END AS since,
		t.target_call_processing_s, t.target_turnout_s, t.target_travel_s, t.target_response_s, t.target_on_scene_s,
		t.target_total_s
		FROM priority_targets t ORDER BY t.level, t.effective_from`)
	if err != nil {
		return mapErr(err, "")
	}
	var level int
	var from *time.Time
	t := make([]*int, len(refdata.Intervals))
	_, err = pgx.ForEachRow(rows, []any{&level, &from, &t[0], &t[1], &t[2], &t[3], &t[4], &t[5]}, func() error {
		i, ok := at[level]
		if !ok {
			return nil
		}
		h := refdata.TargetPeriod{Targets: map[refdata.Interval]*int{}}
		if from != nil {
			h.From = refdata.Day(from.Year(), from.Month(), from.Day())
		}
		for j, iv := range refdata.Intervals {
			if t[j] != nil {
				v := *t[j]
				h.Targets[iv] = &v
			}
		}
		ps[i].History = append(ps[i].History, h)
		return nil
	})
	return mapErr(err, "")
}

// Priority returns one priority level.
func (db *DB) Priority(ctx context.Context, level int64) (refdata.Priority, error) {
	p, err := scanPriority(db.Pool.QueryRow(ctx, prioritySelect+`WHERE level = $1`, level))
	return p, mapErr(err, "priority")
}

const lockPriority = prioritySelect + `WHERE level = $1 FOR UPDATE`

// SavePriority validates and inserts (create) or updates the level that
// oldLevel names, which may move to p.Level; audited as by's action, with
// the record named by its level before the change.
func (db *DB) SavePriority(ctx context.Context, p *refdata.Priority, create bool, oldLevel int, by audit.Actor) error {
	if err := p.Validate(); err != nil {
		return err
	}
	c := refChange{what: "priority", recordType: "priority", after: priorityFields(p)}
	if create {
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			_, err := tx.Exec(ctx, `INSERT INTO priorities (level, label, target_call_processing_s, target_turnout_s,
				target_travel_s, target_response_s, target_on_scene_s, target_total_s, names)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, append(targetArgs(p), names(p.Names))...)
			return strconv.Itoa(p.Level), err
		}
	} else {
		c.lock = lockRecord(scanPriority, priorityFields, lockPriority, oldLevel)
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			if err := execOneTx(ctx, tx, `UPDATE priorities SET level = $1, label = $2, names = $3 WHERE level = $4`,
				p.Level, p.Label, names(p.Names), oldLevel); err != nil {
				return strconv.Itoa(oldLevel), err
			}
			// The targets from p.TargetsFrom on, when they differ from
			// those then in force: a change of priority_targets, whose
			// trigger copies the latest to priorities (migrations 0019,
			// 0027). Reports judge each incident when they read it, so
			// nothing derived needs re-judging.
			_, err := tx.Exec(ctx, `INSERT INTO priority_targets AS t (level, effective_from, target_call_processing_s,
					target_turnout_s, target_travel_s, target_response_s, target_on_scene_s, target_total_s)
				SELECT $1, $8::date, $2::integer, $3::integer, $4::integer, $5::integer, $6::integer, $7::integer
				WHERE ARRAY[$2, $3, $4, $5, $6, $7]::integer[] IS DISTINCT FROM priority_targets_at($1, $8::date)
				ON CONFLICT (level, effective_from) DO UPDATE SET target_call_processing_s = excluded.target_call_processing_s,
					target_turnout_s = excluded.target_turnout_s, target_travel_s = excluded.target_travel_s,
					target_response_s = excluded.target_response_s, target_on_scene_s = excluded.target_on_scene_s,
					target_total_s = excluded.target_total_s`, append(append([]any{p.Level}, targetArgs(p)[2:]...), targetsFromSQL(p))...)
			return strconv.Itoa(oldLevel), err
		}
	}
	return c.run(ctx, db, by)
}

// DeletePriority deletes an unreferenced priority level, audited as by's
// action.
func (db *DB) DeletePriority(ctx context.Context, level int64, by audit.Actor) error {
	return refChange{what: "priority", recordType: "priority", lock: lockRecord(scanPriority, priorityFields, lockPriority, level),
		write: deleteRecord("priorities", "level", level)}.run(ctx, db, by)
}

// ---- dispositions

func scanDisposition(r pgx.Row) (refdata.Disposition, error) {
	var d refdata.Disposition
	return d, r.Scan(&d.ID, &d.Code, &d.Name, &d.Names, &d.Active)
}

func dispositionFields(d *refdata.Disposition) map[string]any {
	return map[string]any{"code": d.Code, "name": d.Name, "names": names(d.Names), "active": d.Active}
}

// Dispositions lists disposition codes by code.
func (db *DB) Dispositions(ctx context.Context) ([]refdata.Disposition, error) {
	return collect(ctx, db, scanDisposition, `SELECT id, code, name, names, active FROM dispositions ORDER BY code`)
}

// Disposition returns one disposition code.
func (db *DB) Disposition(ctx context.Context, id int64) (refdata.Disposition, error) {
	d, err := scanDisposition(db.Pool.QueryRow(ctx, `SELECT id, code, name, names, active FROM dispositions WHERE id = $1`, id))
	return d, mapErr(err, "disposition")
}

const lockDisposition = `SELECT id, code, name, names, active FROM dispositions WHERE id = $1 FOR UPDATE`

// SaveDisposition validates and inserts (ID 0) or updates d, audited as
// by's action.
func (db *DB) SaveDisposition(ctx context.Context, d *refdata.Disposition, by audit.Actor) error {
	if err := d.Validate(); err != nil {
		return err
	}
	create := d.ID == 0
	c := refChange{what: "disposition", recordType: "disposition", after: dispositionFields(d)}
	if create {
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return insertID(ctx, tx, &d.ID, `INSERT INTO dispositions (code, name, active, names) VALUES ($1, $2, $3, $4) RETURNING id`,
				d.Code, d.Name, d.Active, names(d.Names))
		}
	} else {
		c.lock = lockRecord(scanDisposition, dispositionFields, lockDisposition, d.ID)
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return idText(d.ID), execOneTx(ctx, tx, `UPDATE dispositions SET code = $2, name = $3, active = $4, names = $5 WHERE id = $1`,
				d.ID, d.Code, d.Name, d.Active, names(d.Names))
		}
	}
	return saved(c.run(ctx, db, by), &d.ID, create)
}

// DeleteDisposition deletes an unreferenced disposition code, audited as
// by's action.
func (db *DB) DeleteDisposition(ctx context.Context, id int64, by audit.Actor) error {
	return refChange{what: "disposition", recordType: "disposition",
		lock:  lockRecord(scanDisposition, dispositionFields, lockDisposition, id),
		write: deleteRecord("dispositions", "id", id)}.run(ctx, db, by)
}

// ---- partner organisations

const partnerSelect = `SELECT p.id, p.name, p.kind, p.district_id, coalesce(d.code, ''), p.contact, p.active
	FROM partner_orgs p LEFT JOIN districts d ON d.id = p.district_id `

func scanPartner(r pgx.Row) (refdata.Partner, error) {
	var p refdata.Partner
	var kind string
	err := r.Scan(&p.ID, &p.Name, &kind, &p.DistrictID, &p.DistrictCode, &p.Contact, &p.Active)
	p.Kind = refdata.PartnerKind(kind)
	return p, err
}

func partnerFields(p *refdata.Partner) map[string]any {
	return map[string]any{"name": p.Name, "kind": string(p.Kind), "district_id": p.DistrictID, "contact": p.Contact, "active": p.Active}
}

// Partners lists partner organisations by name.
func (db *DB) Partners(ctx context.Context) ([]refdata.Partner, error) {
	return collect(ctx, db, scanPartner, partnerSelect+`ORDER BY p.name`)
}

// Partner returns one partner organisation.
func (db *DB) Partner(ctx context.Context, id int64) (refdata.Partner, error) {
	p, err := scanPartner(db.Pool.QueryRow(ctx, partnerSelect+`WHERE p.id = $1`, id))
	return p, mapErr(err, "organisation")
}

const lockPartner = partnerSelect + `WHERE p.id = $1 FOR UPDATE OF p`

// SavePartner validates and inserts (ID 0) or updates p, audited as by's
// action.
func (db *DB) SavePartner(ctx context.Context, p *refdata.Partner, by audit.Actor) error {
	if err := p.Validate(); err != nil {
		return err
	}
	create := p.ID == 0
	c := refChange{what: "organisation", recordType: "partner_org", after: partnerFields(p)}
	if create {
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return insertID(ctx, tx, &p.ID, `INSERT INTO partner_orgs (name, kind, district_id, contact, active)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, p.Name, p.Kind, p.DistrictID, p.Contact, p.Active)
		}
	} else {
		c.lock = lockRecord(scanPartner, partnerFields, lockPartner, p.ID)
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return idText(p.ID), execOneTx(ctx, tx, `UPDATE partner_orgs SET name = $2, kind = $3, district_id = $4, contact = $5,
				active = $6 WHERE id = $1`, p.ID, p.Name, p.Kind, p.DistrictID, p.Contact, p.Active)
		}
	}
	return saved(c.run(ctx, db, by), &p.ID, create)
}

// DeletePartner deletes an unreferenced partner organisation, audited as
// by's action.
func (db *DB) DeletePartner(ctx context.Context, id int64, by audit.Actor) error {
	return refChange{what: "organisation", recordType: "partner_org", lock: lockRecord(scanPartner, partnerFields, lockPartner, id),
		write: deleteRecord("partner_orgs", "id", id)}.run(ctx, db, by)
}
