package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

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

// deleteByID deletes one row of table; a row still referenced is a conflict.
func (db *DB) deleteByID(ctx context.Context, table, what string, id any) error {
	key := "id"
	if table == "priorities" {
		key = "level"
	}
	return db.execOne(ctx, what, `DELETE FROM `+table+` WHERE `+key+` = $1`, id)
}

// ---- districts

func scanDistrict(r pgx.Row) (refdata.District, error) {
	var d refdata.District
	return d, r.Scan(&d.ID, &d.Code, &d.Name, &d.Active)
}

// Districts lists districts by code.
func (db *DB) Districts(ctx context.Context) ([]refdata.District, error) {
	return collect(ctx, db, scanDistrict, `SELECT id, code, name, active FROM districts ORDER BY code`)
}

// District returns one district.
func (db *DB) District(ctx context.Context, id int64) (refdata.District, error) {
	d, err := scanDistrict(db.Pool.QueryRow(ctx, `SELECT id, code, name, active FROM districts WHERE id = $1`, id))
	return d, mapErr(err, "district")
}

// SaveDistrict validates and inserts (ID 0) or updates d.
func (db *DB) SaveDistrict(ctx context.Context, d *refdata.District) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if d.ID == 0 {
		return mapErr(db.Pool.QueryRow(ctx, `INSERT INTO districts (code, name, active) VALUES ($1, $2, $3) RETURNING id`,
			d.Code, d.Name, d.Active).Scan(&d.ID), "district")
	}
	return db.execOne(ctx, "district", `UPDATE districts SET code = $2, name = $3, active = $4 WHERE id = $1`,
		d.ID, d.Code, d.Name, d.Active)
}

// DeleteDistrict deletes an unreferenced district.
func (db *DB) DeleteDistrict(ctx context.Context, id int64) error {
	return db.deleteByID(ctx, "districts", "district", id)
}

// ---- settlements

const settlementSelect = `SELECT s.id, s.district_id, d.code, s.name, s.is_idp, s.active
	FROM settlements s JOIN districts d ON d.id = s.district_id `

func scanSettlement(r pgx.Row) (refdata.Settlement, error) {
	var s refdata.Settlement
	return s, r.Scan(&s.ID, &s.DistrictID, &s.DistrictCode, &s.Name, &s.IsIDP, &s.Active)
}

// Settlements lists settlements by district and name.
func (db *DB) Settlements(ctx context.Context) ([]refdata.Settlement, error) {
	return collect(ctx, db, scanSettlement, settlementSelect+`ORDER BY d.code, s.name`)
}

// Settlement returns one settlement.
func (db *DB) Settlement(ctx context.Context, id int64) (refdata.Settlement, error) {
	s, err := scanSettlement(db.Pool.QueryRow(ctx, settlementSelect+`WHERE s.id = $1`, id))
	return s, mapErr(err, "settlement")
}

// SaveSettlement validates and inserts (ID 0) or updates s.
func (db *DB) SaveSettlement(ctx context.Context, s *refdata.Settlement) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.ID == 0 {
		return mapErr(db.Pool.QueryRow(ctx, `INSERT INTO settlements (district_id, name, is_idp, active)
			VALUES ($1, $2, $3, $4) RETURNING id`, s.DistrictID, s.Name, s.IsIDP, s.Active).Scan(&s.ID), "settlement")
	}
	return db.execOne(ctx, "settlement", `UPDATE settlements SET district_id = $2, name = $3, is_idp = $4, active = $5
		WHERE id = $1`, s.ID, s.DistrictID, s.Name, s.IsIDP, s.Active)
}

// DeleteSettlement deletes an unreferenced settlement.
func (db *DB) DeleteSettlement(ctx context.Context, id int64) error {
	return db.deleteByID(ctx, "settlements", "settlement", id)
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

// Units lists units by call sign.
func (db *DB) Units(ctx context.Context) ([]refdata.Unit, error) {
	return collect(ctx, db, scanUnit, unitSelect+`ORDER BY u.call_sign`)
}

// Unit returns one unit.
func (db *DB) Unit(ctx context.Context, id int64) (refdata.Unit, error) {
	u, err := scanUnit(db.Pool.QueryRow(ctx, unitSelect+`WHERE u.id = $1`, id))
	return u, mapErr(err, "unit")
}

// SaveUnit validates and inserts (ID 0) or updates u.
func (db *DB) SaveUnit(ctx context.Context, u *refdata.Unit) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if u.ID == 0 {
		return mapErr(db.Pool.QueryRow(ctx, `INSERT INTO units (call_sign, district_id, status, active)
			VALUES ($1, $2, $3, $4) RETURNING id`, u.CallSign, u.DistrictID, u.Status, u.Active).Scan(&u.ID), "unit")
	}
	return db.execOne(ctx, "unit", `UPDATE units SET call_sign = $2, district_id = $3, status = $4, active = $5
		WHERE id = $1`, u.ID, u.CallSign, u.DistrictID, u.Status, u.Active)
}

// DeleteUnit deletes an unreferenced unit.
func (db *DB) DeleteUnit(ctx context.Context, id int64) error {
	return db.deleteByID(ctx, "units", "unit", id)
}

// ---- incident types

func scanIncidentType(r pgx.Row) (refdata.IncidentType, error) {
	var t refdata.IncidentType
	return t, r.Scan(&t.ID, &t.Code, &t.Name, &t.IsDV, &t.Active)
}

// IncidentTypes lists incident types by code.
func (db *DB) IncidentTypes(ctx context.Context) ([]refdata.IncidentType, error) {
	return collect(ctx, db, scanIncidentType, `SELECT id, code, name, is_dv, active FROM incident_types ORDER BY code`)
}

// IncidentType returns one incident type.
func (db *DB) IncidentType(ctx context.Context, id int64) (refdata.IncidentType, error) {
	t, err := scanIncidentType(db.Pool.QueryRow(ctx, `SELECT id, code, name, is_dv, active FROM incident_types WHERE id = $1`, id))
	return t, mapErr(err, "incident type")
}

// SaveIncidentType validates and inserts (ID 0) or updates t.
func (db *DB) SaveIncidentType(ctx context.Context, t *refdata.IncidentType) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if t.ID == 0 {
		return mapErr(db.Pool.QueryRow(ctx, `INSERT INTO incident_types (code, name, is_dv, active)
			VALUES ($1, $2, $3, $4) RETURNING id`, t.Code, t.Name, t.IsDV, t.Active).Scan(&t.ID), "incident type")
	}
	return db.execOne(ctx, "incident type", `UPDATE incident_types SET code = $2, name = $3, is_dv = $4, active = $5
		WHERE id = $1`, t.ID, t.Code, t.Name, t.IsDV, t.Active)
}

// DeleteIncidentType deletes an unreferenced incident type.
func (db *DB) DeleteIncidentType(ctx context.Context, id int64) error {
	return db.deleteByID(ctx, "incident_types", "incident type", id)
}

// ---- priorities

const prioritySelect = `SELECT level, label, target_call_processing_s, target_turnout_s, target_travel_s,
	target_response_s, target_on_scene_s, target_total_s FROM priorities `

func scanPriority(r pgx.Row) (refdata.Priority, error) {
	p := refdata.Priority{Targets: map[refdata.Interval]*int{}}
	t := make([]*int, len(refdata.Intervals))
	err := r.Scan(&p.Level, &p.Label, &t[0], &t[1], &t[2], &t[3], &t[4], &t[5])
	for i, iv := range refdata.Intervals {
		p.Targets[iv] = t[i]
	}
	return p, err
}

func targetArgs(p *refdata.Priority) []any {
	args := []any{p.Level, p.Label}
	for _, iv := range refdata.Intervals {
		args = append(args, p.Targets[iv])
	}
	return args
}

// Priorities lists priorities, most urgent first.
func (db *DB) Priorities(ctx context.Context) ([]refdata.Priority, error) {
	return collect(ctx, db, scanPriority, prioritySelect+`ORDER BY level`)
}

// Priority returns one priority level.
func (db *DB) Priority(ctx context.Context, level int64) (refdata.Priority, error) {
	p, err := scanPriority(db.Pool.QueryRow(ctx, prioritySelect+`WHERE level = $1`, level))
	return p, mapErr(err, "priority")
}

// SavePriority validates and inserts (create) or updates the level that
// oldLevel names, which may move to p.Level.
func (db *DB) SavePriority(ctx context.Context, p *refdata.Priority, create bool, oldLevel int) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if create {
		_, err := db.Pool.Exec(ctx, `INSERT INTO priorities (level, label, target_call_processing_s, target_turnout_s,
			target_travel_s, target_response_s, target_on_scene_s, target_total_s)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, targetArgs(p)...)
		return mapErr(err, "priority")
	}
	return db.execOne(ctx, "priority", `UPDATE priorities SET level = $1, label = $2, target_call_processing_s = $3,
		target_turnout_s = $4, target_travel_s = $5, target_response_s = $6, target_on_scene_s = $7,
		target_total_s = $8 WHERE level = $9`, append(targetArgs(p), oldLevel)...)
}

// DeletePriority deletes an unreferenced priority level.
func (db *DB) DeletePriority(ctx context.Context, level int64) error {
	return db.deleteByID(ctx, "priorities", "priority", level)
}

// ---- dispositions

func scanDisposition(r pgx.Row) (refdata.Disposition, error) {
	var d refdata.Disposition
	return d, r.Scan(&d.ID, &d.Code, &d.Name, &d.Active)
}

// Dispositions lists disposition codes by code.
func (db *DB) Dispositions(ctx context.Context) ([]refdata.Disposition, error) {
	return collect(ctx, db, scanDisposition, `SELECT id, code, name, active FROM dispositions ORDER BY code`)
}

// Disposition returns one disposition code.
func (db *DB) Disposition(ctx context.Context, id int64) (refdata.Disposition, error) {
	d, err := scanDisposition(db.Pool.QueryRow(ctx, `SELECT id, code, name, active FROM dispositions WHERE id = $1`, id))
	return d, mapErr(err, "disposition")
}

// SaveDisposition validates and inserts (ID 0) or updates d.
func (db *DB) SaveDisposition(ctx context.Context, d *refdata.Disposition) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if d.ID == 0 {
		return mapErr(db.Pool.QueryRow(ctx, `INSERT INTO dispositions (code, name, active) VALUES ($1, $2, $3) RETURNING id`,
			d.Code, d.Name, d.Active).Scan(&d.ID), "disposition")
	}
	return db.execOne(ctx, "disposition", `UPDATE dispositions SET code = $2, name = $3, active = $4 WHERE id = $1`,
		d.ID, d.Code, d.Name, d.Active)
}

// DeleteDisposition deletes an unreferenced disposition code.
func (db *DB) DeleteDisposition(ctx context.Context, id int64) error {
	return db.deleteByID(ctx, "dispositions", "disposition", id)
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

// Partners lists partner organisations by name.
func (db *DB) Partners(ctx context.Context) ([]refdata.Partner, error) {
	return collect(ctx, db, scanPartner, partnerSelect+`ORDER BY p.name`)
}

// Partner returns one partner organisation.
func (db *DB) Partner(ctx context.Context, id int64) (refdata.Partner, error) {
	p, err := scanPartner(db.Pool.QueryRow(ctx, partnerSelect+`WHERE p.id = $1`, id))
	return p, mapErr(err, "organisation")
}

// SavePartner validates and inserts (ID 0) or updates p.
func (db *DB) SavePartner(ctx context.Context, p *refdata.Partner) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.ID == 0 {
		return mapErr(db.Pool.QueryRow(ctx, `INSERT INTO partner_orgs (name, kind, district_id, contact, active)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, p.Name, p.Kind, p.DistrictID, p.Contact, p.Active).Scan(&p.ID), "organisation")
	}
	return db.execOne(ctx, "organisation", `UPDATE partner_orgs SET name = $2, kind = $3, district_id = $4, contact = $5,
		active = $6 WHERE id = $1`, p.ID, p.Name, p.Kind, p.DistrictID, p.Contact, p.Active)
}

// DeletePartner deletes an unreferenced partner organisation.
func (db *DB) DeletePartner(ctx context.Context, id int64) error {
	return db.deleteByID(ctx, "partner_orgs", "organisation", id)
}
