package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// CreateDraft starts an intake: the call's received time is the database
// server's clock now. The returned key identifies the draft in the form.
func (db *DB) CreateDraft(ctx context.Context, userID int64) (key string, receivedAt time.Time, err error) {
	err = db.Pool.QueryRow(ctx, `INSERT INTO intake_drafts (user_id) VALUES ($1) RETURNING key::text, received_at`,
		userID).Scan(&key, &receivedAt)
	return key, receivedAt, mapErr(err, "")
}

// DraftReceivedAt returns the received time of the user's intake draft.
func (db *DB) DraftReceivedAt(ctx context.Context, key string, userID int64) (time.Time, error) {
	var t time.Time
	err := db.Pool.QueryRow(ctx, `SELECT received_at FROM intake_drafts WHERE key::text = $1 AND user_id = $2`,
		key, userID).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, apperr.New(apperr.Invalid, "intake.err.unknown_draft")
	}
	return t, mapErr(err, "")
}

// NowUTC is the database server's clock, the one every stage timestamp uses.
func (db *DB) NowUTC(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := db.Pool.QueryRow(ctx, `SELECT now()`).Scan(&t)
	return t.UTC(), mapErr(err, "")
}

// CreateIncident stores a validated call exactly once per intake key: a
// retried or doubled submission returns the incident the first one
// created, with created = false. The incident, its first timeline event,
// the audit row and the change notification commit together.
func (db *DB) CreateIncident(ctx context.Context, n incident.New, loc *time.Location, by audit.Actor) (id int64, number string, created bool, err error) {
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := settlementInDistrict(ctx, tx, n.SettlementID, n.DistrictID); err != nil {
			return err
		}
		year := n.ReceivedAt.In(loc).Year()
		// The incident and its history keys (incident_keys) in one statement.
		err := tx.QueryRow(ctx, `WITH ins AS (INSERT INTO incidents (
				number, idempotency_key, source, received_at, received_manual,
				type_id, priority, district_id, settlement_id, address, location_notes, latitude, longitude,
				caller_name, caller_phone, caller_relation, caller_safe_to_call, caller_anonymous, caller_language,
				weapons, children_present, injuries,
				victim_name, victim_sex, victim_age, suspect_name, suspect_sex, suspect_age, relationship, narrative, created_by)
			VALUES ('DV-' || lpad($1::text, 4, '0') || '-' || (SELECT lpad(n::text, greatest(6, length(n::text)), '0')
					FROM nextval('incident_number_seq') AS n),
				$2, 'intake', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
				$22, nullif($23, ''), $24, $25, nullif($26, ''), $27, $28, $29, $30)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING id, number, received_at),
			k AS (INSERT INTO incident_keys (incident_id, received_at, address_key, building_key, phone_key, caller_key, victim_key,
				suspect_key)
				SELECT id, received_at, $31, $32, $33, $34, $35, $36 FROM ins)
			SELECT id, number FROM ins`,
			strconv.Itoa(year), n.Key, n.ReceivedAt, n.ReceivedManual,
			n.TypeID, n.Priority, n.DistrictID, n.SettlementID, n.Address, n.LocationNotes, n.Latitude, n.Longitude,
			n.Caller.Name, n.Caller.Phone, n.Caller.Relation, n.Caller.SafeToCall, n.Caller.Anonymous, n.Caller.Language,
			n.Weapons, n.ChildrenPresent, n.Injuries,
			n.Victim.Name, n.Victim.Sex, n.Victim.Age, n.Suspect.Name, n.Suspect.Sex, n.Suspect.Age, n.Relationship, n.Narrative,
			nullID(by.UserID), n.Keys.Flat, n.Keys.Building, n.Keys.Phone, n.Keys.Caller, n.Keys.Victim, n.Keys.Suspect,
		).Scan(&id, &number)
		if errors.Is(err, pgx.ErrNoRows) {
			// Another submission with this key committed first.
			return tx.QueryRow(ctx, `SELECT id, number FROM incidents WHERE idempotency_key = $1`, n.Key).Scan(&id, &number)
		}
		if err != nil {
			return err
		}
		created = true
		detail := map[string]any{"priority": n.Priority, "type_id": n.TypeID}
		if n.ReceivedManual {
			detail["received_manual"] = true
		}
		if err := addEvent(ctx, tx, id, by.UserID, "created", detail); err != nil {
			return err
		}
		// Follow-through (followup.go): the DV incident's follow-up and a
		// re-screen when the flat has DV history, in this transaction.
		if _, err := followUpsForNewIncident(ctx, tx, id, n.ReceivedAt, n.Keys.Flat); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "incident.create", RecordType: "incident",
			RecordID: number, Detail: detail})
	})
	return id, number, created, mapErr(err, "incident")
}

// settlementInDistrict refuses a settlement that is not in the incident's
// district (or one given without a district): the message, next to the
// settlement, names the settlement's district.
func settlementInDistrict(ctx context.Context, tx pgx.Tx, settlement, district *int64) error {
	if settlement == nil {
		return nil
	}
	var in int64
	var code string
	err := tx.QueryRow(ctx, `SELECT s.district_id, d.code FROM settlements s JOIN districts d ON d.id = s.district_id WHERE s.id = $1`,
		*settlement).Scan(&in, &code)
	if errors.Is(err, pgx.ErrNoRows) {
		return &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{"settlement_id": apperr.M("err.choose_list")}}
	}
	if err != nil {
		return err
	}
	if district == nil || *district != in {
		return &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{"settlement_id": apperr.M("dispatch.err.settlement_district", "District", code)}}
	}
	return nil
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// addEvent appends to an incident's timeline.
func addEvent(ctx context.Context, tx pgx.Tx, incidentID, userID int64, kind string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO incident_events (incident_id, at, user_id, kind, data) VALUES ($1, now(), $2, $3, $4)`,
		incidentID, nullID(userID), kind, data)
	return err
}

const incidentSelect = `SELECT i.id, i.number, i.received_at, i.received_manual, i.dispatched_at, i.en_route_at,
	i.on_scene_at, i.cleared_at, i.type_id, t.name, t.is_dv, i.priority, p.label, coalesce(dp.name, ''),
	t.names, p.names, coalesce(dp.names, '{}'),
	i.district_id, coalesce(d.code, ''), i.settlement_id, coalesce(s.name, ''), coalesce(s.is_idp, false),
	i.address, i.location_notes, i.latitude, i.longitude,
	i.caller_name, i.caller_phone, i.caller_relation, i.caller_safe_to_call, i.caller_anonymous, i.caller_language,
	i.weapons, i.children_present, i.injuries,
	i.victim_name, coalesce(i.victim_sex, ''), i.victim_age, i.suspect_name, coalesce(i.suspect_sex, ''), i.suspect_age,
	i.relationship, i.narrative, i.high_danger, i.version, i.address_confidential, i.created_by
	FROM incidents i
	JOIN incident_types t ON t.id = i.type_id
	JOIN priorities p ON p.level = i.priority
	LEFT JOIN dispositions dp ON dp.id = i.disposition_id
	LEFT JOIN districts d ON d.id = i.district_id
	LEFT JOIN settlements s ON s.id = i.settlement_id `

// Incident returns one incident with its units and timeline.
func (db *DB) Incident(ctx context.Context, id int64) (*incident.Incident, error) {
	var in incident.Incident
	err := db.Pool.QueryRow(ctx, incidentSelect+`WHERE i.id = $1`, id).Scan(
		&in.ID, &in.Number, &in.ReceivedAt, &in.ReceivedManual, &in.DispatchedAt, &in.EnRouteAt,
		&in.OnSceneAt, &in.ClearedAt, &in.TypeID, &in.TypeName, &in.TypeIsDV, &in.Priority, &in.PriorityLabel, &in.Disposition,
		&in.TypeNames, &in.PriorityNames, &in.DispositionNames,
		&in.DistrictID, &in.DistrictCode, &in.SettlementID, &in.SettlementName, &in.SettlementIDP,
		&in.Address, &in.LocationNotes, &in.Latitude, &in.Longitude,
		&in.Caller.Name, &in.Caller.Phone, &in.Caller.Relation, &in.Caller.SafeToCall, &in.Caller.Anonymous, &in.Caller.Language,
		&in.Weapons, &in.ChildrenPresent, &in.Injuries,
		&in.Victim.Name, &in.Victim.Sex, &in.Victim.Age, &in.Suspect.Name, &in.Suspect.Sex, &in.Suspect.Age,
		&in.Relationship, &in.Narrative, &in.HighDanger, &in.Version, &in.AddressConfidential, &in.CreatedBy)
	if err != nil {
		return nil, mapErr(err, "incident")
	}
	// Each unit's status on this incident comes from its own times: a
	// past incident shows what each unit did there, not where it is now.
	rows, err := db.Pool.Query(ctx, `SELECT iu.unit_id, u.call_sign,
			CASE WHEN iu.cleared_at IS NOT NULL THEN 'cleared' WHEN iu.released_at IS NOT NULL THEN 'released'
				WHEN iu.on_scene_at IS NOT NULL THEN 'on_scene' WHEN iu.en_route_at IS NOT NULL THEN 'en_route'
				ELSE 'dispatched' END,
			iu.assigned_at, iu.en_route_at, iu.on_scene_at, iu.cleared_at, iu.released_at
		FROM incident_units iu JOIN units u ON u.id = iu.unit_id WHERE iu.incident_id = $1 ORDER BY iu.assigned_at`, id)
	if err != nil {
		return nil, mapErr(err, "")
	}
	in.Units, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Assignment, error) {
		var a incident.Assignment
		return a, r.Scan(&a.UnitID, &a.CallSign, &a.UnitStatus, &a.AssignedAt, &a.EnRouteAt, &a.OnSceneAt, &a.ClearedAt, &a.ReleasedAt)
	})
	if err != nil {
		return nil, mapErr(err, "")
	}
	rows, err = db.Pool.Query(ctx, `SELECT e.at, coalesce(u.username, ''), e.kind, e.data
		FROM incident_events e LEFT JOIN users u ON u.id = e.user_id WHERE e.incident_id = $1 ORDER BY e.at, e.id`, id)
	if err != nil {
		return nil, mapErr(err, "")
	}
	in.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Event, error) {
		var ev incident.Event
		var data map[string]any
		err := r.Scan(&ev.At, &ev.Username, &ev.Kind, &data)
		ev.Data = data
		return ev, err
	})
	return &in, mapErr(err, "")
}

// OpenIncidents lists every incident not yet cleared, most urgent and
// oldest first, as the live board shows them.
func (db *DB) OpenIncidents(ctx context.Context) ([]incident.Summary, error) {
	return db.openSummaries(ctx, `ORDER BY i.priority, i.received_at`)
}

// BoardArea limits the board to part of the incidents (access.AreaOf):
// those of a district, and those a given user logged. An incident with no
// district is in no district's area.
type BoardArea struct {
	DistrictID int64
	LoggedBy   int64 // also incidents this user logged; 0: none
}

// OpenIncidentsIn lists the open incidents of an area, in the order of
// OpenIncidents.
func (db *DB) OpenIncidentsIn(ctx context.Context, a BoardArea) ([]incident.Summary, error) {
	return db.openSummaries(ctx, `AND `+inArea(1)+`
		ORDER BY i.priority, i.received_at`, a.DistrictID, a.LoggedBy)
}

// openSummaries reads open incidents as board rows; tail adds conditions
// (starting with AND) and the ORDER BY.
func (db *DB) openSummaries(ctx context.Context, tail string, args ...any) ([]incident.Summary, error) {
	rows, err := db.Pool.Query(ctx, `SELECT i.id, i.number, i.priority, p.label, t.name, t.is_dv, p.names, t.names,
			coalesce(d.code, ''), coalesce(s.name, ''), coalesce(s.is_idp, false),
			i.received_at, i.dispatched_at, i.en_route_at, i.on_scene_at, i.high_danger, coalesce(i.weapons, false),
			coalesce((SELECT array_agg(u.call_sign ORDER BY iu.assigned_at) FROM incident_units iu JOIN units u ON u.id = iu.unit_id
				WHERE iu.incident_id = i.id AND iu.released_at IS NULL), '{}'),
			p.target_call_processing_s, p.target_turnout_s, p.target_travel_s, p.target_on_scene_s,
			coalesce(i.address, ''), coalesce(i.location_notes, ''), i.latitude, i.longitude, i.address_confidential,
			i.district_id, i.created_by,
			coalesce((SELECT array_agg(iu.unit_id ORDER BY iu.assigned_at) FROM incident_units iu
				WHERE iu.incident_id = i.id AND iu.released_at IS NULL), '{}')
		FROM incidents i
		JOIN incident_types t ON t.id = i.type_id
		JOIN priorities p ON p.level = i.priority
		LEFT JOIN districts d ON d.id = i.district_id
		LEFT JOIN settlements s ON s.id = i.settlement_id
		WHERE i.cleared_at IS NULL AND i.source <> 'import' `+tail, args...)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Summary, error) {
		var s incident.Summary
		var cp, to, tr, os *int
		err := r.Scan(&s.ID, &s.Number, &s.Priority, &s.PriorityLabel, &s.TypeName, &s.TypeIsDV, &s.PriorityNames, &s.TypeNames,
			&s.DistrictCode, &s.SettlementName, &s.SettlementIDP,
			&s.ReceivedAt, &s.DispatchedAt, &s.EnRouteAt, &s.OnSceneAt, &s.HighDanger, &s.Weapons, &s.Units,
			&cp, &to, &tr, &os,
			&s.Address, &s.LocationNotes, &s.Latitude, &s.Longitude, &s.AddressConfidential,
			&s.DistrictID, &s.CreatedBy, &s.UnitIDs)
		s.Targets = map[string]int{}
		for name, v := range map[string]*int{"call_processing": cp, "turnout": to, "travel": tr, "on_scene": os} {
			if v != nil {
				s.Targets[name] = *v
			}
		}
		return s, err
	})
	return out, mapErr(err, "")
}
