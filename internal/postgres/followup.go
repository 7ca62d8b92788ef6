package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// Follow-through (issue 17): follow-up tasks and order checks. Tasks are
// created in the transaction of what triggers them (CreateIncident,
// CreateDangerScreen), checks in that of the order (IssueOrder,
// ExtendOrder); their due times are counted from the trigger's own time
// (the database clock), and every list takes "now" from its caller (the
// server's clock, which tests stop and move).

// FollowUpSchedule is the schedule of a reason (follow_up_schedules), the
// default when the row is missing.
func (db *DB) FollowUpSchedule(ctx context.Context, reason incident.TaskReason) (incident.Schedule, error) {
	return followUpSchedule(ctx, db.Pool, reason)
}

func followUpSchedule(ctx context.Context, q queryRower, reason incident.TaskReason) (incident.Schedule, error) {
	var f, e, w int
	err := q.QueryRow(ctx, `SELECT first_hours, every_hours, for_hours FROM follow_up_schedules WHERE reason = $1`,
		string(reason)).Scan(&f, &e, &w)
	if errors.Is(err, pgx.ErrNoRows) {
		return incident.DefaultSchedules[reason], nil
	}
	if err != nil {
		return incident.Schedule{}, err
	}
	return incident.Hours(f, e, w), nil
}

// SetFollowUpSchedule stores a reason's schedule in whole hours, audited
// (SaveSchedules).
func (db *DB) SetFollowUpSchedule(ctx context.Context, reason incident.TaskReason, first, every, within int, by audit.Actor) error {
	_, err := db.SaveSchedules(ctx, []incident.FollowUpHours{{Reason: reason, First: first, Every: every, For: within}}, nil, "", by)
	return err
}

// SetOrderCheckSchedule stores an order kind's check schedule, audited
// (SaveSchedules).
func (db *DB) SetOrderCheckSchedule(ctx context.Context, kind incident.OrderKind, first, every int, by audit.Actor) error {
	_, err := db.SaveSchedules(ctx, nil, []incident.CheckHours{{Kind: kind, First: first, Every: every}}, "", by)
	return err
}

// Schedules lists the follow-up schedule of every reason
// (incident.TaskReasons) and the check schedule of every order kind
// (incident.OrderRules), the default where no row is stored.
func (db *DB) Schedules(ctx context.Context) ([]incident.FollowUpHours, []incident.CheckHours, error) {
	return schedules(ctx, db.Pool, "")
}

// schedules reads the schedules; lock "FOR UPDATE" locks the stored rows.
func schedules(ctx context.Context, q queryer, lock string) ([]incident.FollowUpHours, []incident.CheckHours, error) {
	stored := map[incident.TaskReason]incident.FollowUpHours{}
	rows, err := q.Query(ctx, `SELECT reason, first_hours, every_hours, for_hours, updated_at FROM follow_up_schedules `+lock)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var h incident.FollowUpHours
		if err := rows.Scan(&h.Reason, &h.First, &h.Every, &h.For, &h.UpdatedAt); err != nil {
			rows.Close()
			return nil, nil, err
		}
		stored[h.Reason] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	storedChecks := map[incident.OrderKind]incident.CheckHours{}
	rows, err = q.Query(ctx, `SELECT kind, first_hours, every_hours, updated_at FROM order_check_schedules `+lock)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var h incident.CheckHours
		if err := rows.Scan(&h.Kind, &h.First, &h.Every, &h.UpdatedAt); err != nil {
			rows.Close()
			return nil, nil, err
		}
		storedChecks[h.Kind] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var fs []incident.FollowUpHours
	for _, reason := range incident.TaskReasons {
		h, ok := stored[reason]
		if !ok {
			h = incident.DefaultFollowUpHours(reason)
		}
		fs = append(fs, h)
	}
	var cs []incident.CheckHours
	for _, rule := range incident.OrderRules {
		h, ok := storedChecks[rule.Kind]
		if !ok {
			h = incident.DefaultCheckHours(rule.Kind)
		}
		cs = append(cs, h)
	}
	return fs, cs, nil
}

// SaveSchedules stores the schedules given (each valid: the caller
// validated them) in one transaction and returns how many changed. When
// stamp is not empty it must be the stored schedules' stamp
// (incident.ScheduleStamp), else nothing is saved (Conflict). Each
// changed schedule gets its updated_at and one audit row with its old and
// new hours; an unchanged one is left as it is. Tasks and checks already
// created keep their due times: the schedules are read only when tasks
// and checks are created.
func (db *DB) SaveSchedules(ctx context.Context, fs []incident.FollowUpHours, cs []incident.CheckHours, stamp string,
	by audit.Actor) (int, error) {
	changed := 0
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		changed = 0
		oldFs, oldCs, err := schedules(ctx, tx, "FOR UPDATE")
		if err != nil {
			return err
		}
		if stamp != "" && stamp != incident.ScheduleStamp(oldFs, oldCs) {
			return apperr.New(apperr.Conflict, "admin.schedules.err.stale")
		}
		for _, h := range fs {
			h = h.Normal()
			i := slices.IndexFunc(oldFs, func(o incident.FollowUpHours) bool { return o.Reason == h.Reason })
			if i < 0 {
				return apperr.New(apperr.Invalid, "admin.schedules.err.unknown")
			}
			old := oldFs[i]
			if old.Same(h) {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO follow_up_schedules (reason, first_hours, every_hours, for_hours, updated_at)
				VALUES ($1, $2, $3, $4, now())
				ON CONFLICT (reason) DO UPDATE SET first_hours = $2, every_hours = $3, for_hours = $4, updated_at = now()`,
				string(h.Reason), h.First, h.Every, h.For); err != nil {
				return err
			}
			hours := func(h incident.FollowUpHours) map[string]any {
				return map[string]any{"first_hours": h.First, "every_hours": h.Every, "for_hours": h.For}
			}
			if err := appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "settings.update", RecordType: "follow_up_schedule",
				RecordID: string(h.Reason), Detail: map[string]any{"old": hours(old), "new": hours(h)}}); err != nil {
				return err
			}
			changed++
		}
		for _, h := range cs {
			i := slices.IndexFunc(oldCs, func(o incident.CheckHours) bool { return o.Kind == h.Kind })
			if i < 0 {
				return apperr.New(apperr.Invalid, "admin.schedules.err.unknown")
			}
			old := oldCs[i]
			if old.Same(h) {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO order_check_schedules (kind, first_hours, every_hours, updated_at)
				VALUES ($1, $2, $3, now())
				ON CONFLICT (kind) DO UPDATE SET first_hours = $2, every_hours = $3, updated_at = now()`,
				string(h.Kind), h.First, h.Every); err != nil {
				return err
			}
			hours := func(h incident.CheckHours) map[string]any {
				return map[string]any{"first_hours": h.First, "every_hours": h.Every}
			}
			if err := appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "settings.update", RecordType: "order_check_schedule",
				RecordID: string(h.Kind), Detail: map[string]any{"old": hours(old), "new": hours(h)}}); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	return changed, mapErr(err, "")
}

func orderCheckSchedule(ctx context.Context, q queryRower, kind incident.OrderKind) (incident.Schedule, error) {
	var f, e int
	err := q.QueryRow(ctx, `SELECT first_hours, every_hours FROM order_check_schedules WHERE kind = $1`, string(kind)).Scan(&f, &e)
	if errors.Is(err, pgx.ErrNoRows) {
		return incident.DefaultCheckSchedule, nil
	}
	if err != nil {
		return incident.Schedule{}, err
	}
	return incident.Hours(f, e, 0), nil
}

// scheduleFollowUps inserts the tasks of reason's schedule from anchor,
// once per trigger (a retry inserts nothing), and returns how many it
// inserted.
func scheduleFollowUps(ctx context.Context, tx pgx.Tx, incidentID int64, reason incident.TaskReason, trigger string,
	anchor time.Time, unit *int64) (int64, error) {
	s, err := followUpSchedule(ctx, tx, reason)
	if err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO follow_up_tasks (incident_id, district_id, reason, trigger_key, seq, due_at, unit_id)
		SELECT i.id, i.district_id, $2, $3, d.seq, d.due, $5
		FROM incidents i, unnest($4::timestamptz[]) WITH ORDINALITY AS d(due, seq)
		WHERE i.id = $1
		ON CONFLICT (trigger_key, seq) DO NOTHING`, incidentID, string(reason), trigger, s.Due(anchor), unit)
	return tag.RowsAffected(), err
}

// followUpsForNewIncident schedules, in CreateIncident's transaction, the
// standard follow-up of a DV incident and, when the flat has an earlier
// DV incident, a re-screen (the victim's risk is assessed again after
// each new incident). Both go to the district's pool.
func followUpsForNewIncident(ctx context.Context, tx pgx.Tx, id int64, received time.Time, flat string) (int64, error) {
	var dv, history bool
	if err := tx.QueryRow(ctx, `SELECT t.is_dv,
			$2 <> '' AND EXISTS (SELECT 1 FROM incident_keys jk JOIN incidents j ON j.id = jk.incident_id
				JOIN incident_types jt ON jt.id = j.type_id
				WHERE jk.address_key = $2 AND jk.incident_id <> i.id AND jt.is_dv)
		FROM incidents i JOIN incident_types t ON t.id = i.type_id WHERE i.id = $1`, id, flat).Scan(&dv, &history); err != nil {
		return 0, err
	}
	var total int64
	key := strconv.FormatInt(id, 10)
	if dv {
		n, err := scheduleFollowUps(ctx, tx, id, incident.StandardFollowUp, "incident:"+key, received, nil)
		if err != nil {
			return 0, err
		}
		total += n
	}
	if history {
		n, err := scheduleFollowUps(ctx, tx, id, incident.RescreenFollowUp, "rescreen:"+key, received, nil)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// followUpsForScreen closes, in CreateDangerScreen's transaction, the
// task being re-screened (taskID, 0: none) and every open re-screen task
// of the incident as re-screened, then reschedules: a high-danger screen
// supersedes the incident's open tasks with the high-danger schedule from
// the screen's time; any other screen adds the standard follow-up when
// the incident has no open task. The tasks go to the screening officer's
// unit, else the first unit sent to the incident, else the pool.
func followUpsForScreen(ctx context.Context, tx pgx.Tx, s incident.DangerScreen, taskID int64, by audit.Actor) (closed, scheduled int64, err error) {
	tag, err := tx.Exec(ctx, `UPDATE follow_up_tasks SET closed_at = now(), closed_by = $3, outcome = 'rescreened', screen_id = $2
		WHERE incident_id = $1 AND closed_at IS NULL AND (reason = 'rescreen' OR id = $4)`, s.IncidentID, s.ID, nullID(by.UserID), taskID)
	if err != nil {
		return 0, 0, err
	}
	closed = tag.RowsAffected()
	var unit *int64
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT unit_id FROM users WHERE id = $2),
			(SELECT unit_id FROM incident_units WHERE incident_id = $1 ORDER BY assigned_at, unit_id LIMIT 1))`,
		s.IncidentID, by.UserID).Scan(&unit); err != nil {
		return 0, 0, err
	}
	trigger := "screen:" + strconv.FormatInt(s.ID, 10)
	if s.HighDanger {
		if _, err := tx.Exec(ctx, `UPDATE follow_up_tasks SET closed_at = now(), outcome = 'superseded', screen_id = $2
			WHERE incident_id = $1 AND closed_at IS NULL`, s.IncidentID, s.ID); err != nil {
			return 0, 0, err
		}
		scheduled, err = scheduleFollowUps(ctx, tx, s.IncidentID, incident.HighDangerFollowUp, trigger, s.DoneAt, unit)
		return closed, scheduled, err
	}
	var open bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM follow_up_tasks WHERE incident_id = $1 AND closed_at IS NULL)`,
		s.IncidentID).Scan(&open); err != nil || open {
		return closed, 0, err
	}
	scheduled, err = scheduleFollowUps(ctx, tx, s.IncidentID, incident.StandardFollowUp, trigger, s.DoneAt, unit)
	return closed, scheduled, err
}

// scheduleOrderChecks inserts the checks of an order from its issue until
// its end, by its kind's schedule in force. Checks already there stay: an
// extension adds those of the longer span, following on from the last
// check every every_hours of the schedule in force then (so a schedule
// changed since the issue neither moves the checks made nor leaves a gap
// or a crowd after them); a retry adds nothing.
func scheduleOrderChecks(ctx context.Context, tx pgx.Tx, orderID int64, unit *int64) error {
	var kind string
	var issued, end time.Time
	var lastSeq int
	var lastDue *time.Time
	if err := tx.QueryRow(ctx, `SELECT o.kind, o.issued_at, o.ends_at, coalesce(c.seq, 0), c.due_at
		FROM protection_orders o
		LEFT JOIN LATERAL (SELECT seq, due_at FROM order_checks WHERE order_id = o.id ORDER BY seq DESC LIMIT 1) c ON true
		WHERE o.id = $1`, orderID).Scan(&kind, &issued, &end, &lastSeq, &lastDue); err != nil {
		return err
	}
	s, err := orderCheckSchedule(ctx, tx, incident.OrderKind(kind))
	if err != nil {
		return err
	}
	due := s.ChecksUntil(issued, end)
	if lastDue != nil {
		due = s.ChecksAfter(*lastDue, end)
	}
	if len(due) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO order_checks (order_id, district_id, seq, due_at, unit_id)
		SELECT o.id, coalesce(i.district_id, o.district_id), $4 + d.seq, d.due,
			coalesce($3, (SELECT c.unit_id FROM order_checks c WHERE c.order_id = o.id ORDER BY c.seq DESC LIMIT 1))
		FROM protection_orders o LEFT JOIN incidents i ON i.id = o.incident_id,
			unnest($2::timestamptz[]) WITH ORDINALITY AS d(due, seq)
		WHERE o.id = $1
		ON CONFLICT (order_id, seq) DO NOTHING`, orderID, due, unit, lastSeq)
	return err
}

// orderIssuerUnit is the unit an order's checks go to: the issuing
// officer's, else the first unit sent to its incident, else none (the
// district's pool).
func orderIssuerUnit(ctx context.Context, tx pgx.Tx, userID int64, incidentID *int64) (*int64, error) {
	var unit *int64
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT unit_id FROM users WHERE id = $1),
			(SELECT unit_id FROM incident_units WHERE incident_id = $2 ORDER BY assigned_at, unit_id LIMIT 1))`,
		userID, incidentID).Scan(&unit)
	return unit, err
}

// CloseFollowUp closes an open task with an outcome an officer recorded
// (incident.RecordedOutcomes). Closing is once: a retry, or a second
// officer, is answered with the outcome that stands. "Reached and safe"
// means she was contacted: where her safe-contact rule does not say
// contact is safe (contactSafeSQL), it needs a reason, kept on the task
// (unsafe_reason), on the timeline and in the audit trail; without one
// nothing is recorded (an Invalid error on the field "reason"). The other
// outcomes take no reason.
func (db *DB) CloseFollowUp(ctx context.Context, taskID int64, outcome incident.Outcome, reason string, by audit.Actor) (incident.CloseResult, error) {
	var res incident.CloseResult
	if _, err := incident.CheckOutcome(string(outcome)); err != nil {
		return res, err
	}
	reason = strings.TrimSpace(reason)
	if n := len([]rune(reason)); n > 500 && outcome == incident.ReachedSafe {
		return res, fieldErr("reason", "err.text.too_long", "Max", 500, "Now", n)
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var incidentID int64
		var number string
		var closedAt *time.Time
		var old *string
		if err := tx.QueryRow(ctx, `SELECT t.incident_id, i.number, t.closed_at, t.outcome FROM follow_up_tasks t
			JOIN incidents i ON i.id = t.incident_id WHERE t.id = $1 FOR UPDATE OF t`, taskID).Scan(&incidentID, &number, &closedAt, &old); err != nil {
			return err
		}
		if closedAt != nil {
			res = incident.CloseResult{AlreadyDone: true, At: *closedAt, Outcome: *old}
			return nil
		}
		var unsafeReason *string
		if outcome == incident.ReachedSafe {
			unsafe, err := contactUnsafe(ctx, tx, incidentID)
			if err != nil {
				return err
			}
			if unsafe {
				if reason == "" {
					return fieldErr("reason", "followup.err.reason_unsafe")
				}
				unsafeReason = &reason
			}
		}
		if err := tx.QueryRow(ctx, `UPDATE follow_up_tasks SET closed_at = now(), closed_by = $2, outcome = $3, unsafe_reason = $4
			WHERE id = $1 RETURNING closed_at`, taskID, nullID(by.UserID), string(outcome), unsafeReason).Scan(&res.At); err != nil {
			return err
		}
		res.Outcome = string(outcome)
		data := map[string]any{"task_id": taskID, "outcome": string(outcome)}
		if unsafeReason != nil {
			// The reason justifies the risk taken: audited, as a
			// call-back's is. The rule's values are not.
			data["unsafe"], data["reason"] = true, reason
		}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "follow_up_closed", data); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", incidentID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "follow_up.close", RecordType: "incident",
			RecordID: number, Detail: data})
	})
	return res, mapErr(err, "follow-up")
}

// RecordOrderCheck records an open check's result. Recording is once: a
// retry, or a second officer, is answered with the result that stands,
// so that a breach found opens exactly one incident of the violation type
// (code PO-VIOL, else a type named for protection orders: the rule of
// incident.IsViolationType), linked to the order, marked found by a police
// check, in the order's district at its address, with priority 2 (the
// most urgent there is when 2 is missing), for a dispatcher to assign.
func (db *DB) RecordOrderCheck(ctx context.Context, checkID int64, result incident.CheckResult, loc *time.Location, by audit.Actor) (incident.CloseResult, error) {
	var res incident.CloseResult
	if _, err := incident.ParseCheckResult(string(result)); err != nil {
		return res, err
	}
	if loc == nil {
		loc = time.UTC
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var orderID int64
		var doneAt *time.Time
		var old *string
		var violation *int64
		if err := tx.QueryRow(ctx, `SELECT order_id, done_at, result, violation_incident_id FROM order_checks WHERE id = $1 FOR UPDATE`,
			checkID).Scan(&orderID, &doneAt, &old, &violation); err != nil {
			return err
		}
		if doneAt != nil {
			res = incident.CloseResult{AlreadyDone: true, At: *doneAt, Outcome: *old, ViolationID: violation}
			return nil
		}
		o, err := scanOrder(tx.QueryRow(ctx, orderSelect+`WHERE o.id = $1`, orderID))
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `UPDATE order_checks SET done_at = now(), done_by = $2, result = $3 WHERE id = $1
			RETURNING done_at`, checkID, nullID(by.UserID), string(result)).Scan(&res.At); err != nil {
			return err
		}
		res.Outcome = string(result)
		detail := map[string]any{"check_id": checkID, "result": string(result)}
		if result == incident.BreachFound {
			id, number, err := openViolation(ctx, tx, o, res.At, loc, by)
			if err != nil {
				return err
			}
			res.ViolationID = &id
			detail["violation"] = number
			if _, err := tx.Exec(ctx, `UPDATE order_checks SET violation_incident_id = $2 WHERE id = $1`, checkID, id); err != nil {
				return err
			}
		}
		return orderChanged(ctx, tx, o, by, "order_checked", "order.check",
			map[string]any{"order_id": o.ID, "number": o.Number, "result": string(result)}, detail)
	})
	return res, mapErr(err, "order check")
}

// openViolation creates the incident of a breach a check found.
func openViolation(ctx context.Context, tx pgx.Tx, o incident.Order, at time.Time, loc *time.Location, by audit.Actor) (int64, string, error) {
	var typeID int64
	var priority int
	err := tx.QueryRow(ctx, `SELECT t.id, (SELECT coalesce(max(level) FILTER (WHERE level <= 2), min(level)) FROM priorities)
		FROM incident_types t WHERE t.code = 'PO-VIOL' OR lower(t.name) LIKE '%protection order%'
		ORDER BY t.code = 'PO-VIOL' DESC, t.active DESC, t.id LIMIT 1`).Scan(&typeID, &priority)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", apperr.New(apperr.Conflict, "followup.err.no_violation_type")
	}
	if err != nil {
		return 0, "", err
	}
	var id int64
	var number string
	// The order's keys are the incident's (incident_keys).
	err = tx.QueryRow(ctx, `WITH ins AS (
			INSERT INTO incidents (number, source, received_at, type_id, priority, district_id, address,
				victim_name, suspect_name, created_by, protection_order_id, violation_found_by, narrative)
			SELECT 'DV-' || lpad($1::text, 4, '0') || '-' || (SELECT lpad(n::text, greatest(6, length(n::text)), '0')
					FROM nextval('incident_number_seq') AS n),
				'intake', $2, $3, $4, coalesce(i.district_id, o.district_id), o.address, o.protected_name, o.restrained_name,
				$5, o.id, 'police_check', ''
			FROM protection_orders o LEFT JOIN incidents i ON i.id = o.incident_id WHERE o.id = $6
			RETURNING id, number, received_at),
		k AS (
			INSERT INTO incident_keys (incident_id, received_at, address_key, victim_key, suspect_key)
			SELECT ins.id, ins.received_at, o.address_key, o.protected_key, o.restrained_key FROM ins, protection_orders o
			WHERE o.id = $6)
		SELECT id, number FROM ins`,
		strconv.Itoa(at.In(loc).Year()), at, typeID, priority, nullID(by.UserID), o.ID).Scan(&id, &number)
	if err != nil {
		return 0, "", err
	}
	data := map[string]any{"order_id": o.ID, "number": o.Number, "found_by": incident.FoundByPolice}
	if err := addEvent(ctx, tx, id, by.UserID, "created", map[string]any{"priority": priority, "type_id": typeID}); err != nil {
		return 0, "", err
	}
	if err := addEvent(ctx, tx, id, by.UserID, "order_violation_linked", data); err != nil {
		return 0, "", err
	}
	if err := Notify(ctx, tx, "incident", id); err != nil {
		return 0, "", err
	}
	if err := appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "incident.create", RecordType: "incident",
		RecordID: number, Detail: map[string]any{"priority": priority, "type_id": typeID, "order": o.Number,
			"found_by": incident.FoundByPolice}}); err != nil {
		return 0, "", err
	}
	return id, number, nil
}

// WorkScope is what the access rule judges a task or check by: its
// incident's record (a check: its order's), with the unit it is assigned
// to; and the incident to show it under (nil for an order without one).
func (db *DB) WorkScope(ctx context.Context, kind incident.WorkKind, id int64) (access.Record, *int64, error) {
	var rec access.Record
	var incidentID *int64
	var units []int64
	var active []bool
	var q string
	switch kind {
	case incident.FollowUpWork:
		q = `SELECT i.district_id, i.created_by, t.unit_id, t.incident_id,
			coalesce(array_agg(iu.unit_id ORDER BY iu.assigned_at) FILTER (WHERE iu.unit_id IS NOT NULL), '{}'),
			coalesce(array_agg(iu.released_at IS NULL ORDER BY iu.assigned_at) FILTER (WHERE iu.unit_id IS NOT NULL), '{}')
			FROM follow_up_tasks t JOIN incidents i ON i.id = t.incident_id
			LEFT JOIN incident_units iu ON iu.incident_id = i.id
			WHERE t.id = $1 GROUP BY t.id, i.id`
	case incident.OrderCheckWork:
		q = `SELECT CASE WHEN o.incident_id IS NULL THEN o.district_id ELSE i.district_id END, i.created_by, c.unit_id, o.incident_id,
			coalesce(array_agg(iu.unit_id ORDER BY iu.assigned_at) FILTER (WHERE iu.unit_id IS NOT NULL), '{}'),
			coalesce(array_agg(iu.released_at IS NULL ORDER BY iu.assigned_at) FILTER (WHERE iu.unit_id IS NOT NULL), '{}')
			FROM order_checks c JOIN protection_orders o ON o.id = c.order_id LEFT JOIN incidents i ON i.id = o.incident_id
			LEFT JOIN incident_units iu ON iu.incident_id = i.id
			WHERE c.id = $1 GROUP BY c.id, o.id, i.id`
	default:
		return rec, nil, apperr.New(apperr.NotFound, "db.err.not_found.record")
	}
	err := db.Pool.QueryRow(ctx, q, id).Scan(&rec.District, &rec.CreatedBy, &rec.TaskUnit, &incidentID, &units, &active)
	if err != nil {
		return rec, nil, mapErr(err, "follow-up")
	}
	for i, u := range units {
		rec.Units = append(rec.Units, access.Unit{ID: u, Active: active[i]})
	}
	rec.Task = true
	return rec, incidentID, nil
}

// workLimit is the most tasks and checks a work list reads.
const workLimit = 300

// work lists the open tasks and checks, soonest due first, that meet any
// of the conditions (on the task or check, alias x). Each condition reads
// its own index in due order and stops at workLimit rows, and only the
// rows kept are joined to their incident or order (by primary key; OFFSET
// 0 keeps the planner from hashing the whole orders table): a unit with a
// long backlog costs what the list shows, not the backlog.
func (db *DB) work(ctx context.Context, conds []string, args ...any) ([]incident.WorkItem, error) {
	var branches []string
	for _, c := range conds {
		branches = append(branches,
			`(SELECT 'followup' AS kind, x.id, x.reason, x.incident_id, NULL::bigint AS order_id, x.district_id, x.unit_id, x.due_at
				FROM follow_up_tasks x WHERE x.closed_at IS NULL AND `+c+` ORDER BY x.due_at, x.id LIMIT `+strconv.Itoa(workLimit)+`)`,
			`(SELECT 'check', x.id, NULL, NULL, x.order_id, x.district_id, x.unit_id, x.due_at
				FROM order_checks x WHERE x.done_at IS NULL AND `+c+` ORDER BY x.due_at, x.id LIMIT `+strconv.Itoa(workLimit)+`)`)
	}
	q := `SELECT w.kind, w.id, coalesce(o.kind, w.reason), coalesce(o.incident_id, w.incident_id), coalesce(o.number, i.number),
			w.order_id, w.district_id, w.unit_id, coalesce(u.call_sign, ''), w.due_at
		FROM (SELECT * FROM (` + strings.Join(branches, " UNION ALL ") + `) b ORDER BY due_at, kind, id LIMIT ` + strconv.Itoa(workLimit) + `) w
		LEFT JOIN LATERAL (SELECT ii.number FROM incidents ii WHERE ii.id = w.incident_id OFFSET 0) i ON true
		LEFT JOIN LATERAL (SELECT po.kind, po.incident_id, po.number FROM protection_orders po WHERE po.id = w.order_id OFFSET 0) o ON true
		LEFT JOIN units u ON u.id = w.unit_id
		ORDER BY w.due_at, w.kind, w.id`
	rows, err := db.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.WorkItem, error) {
		var w incident.WorkItem
		var kind string
		err := r.Scan(&kind, &w.ID, &w.Reason, &w.IncidentID, &w.Number, &w.OrderID, &w.DistrictID, &w.UnitID, &w.CallSign, &w.DueAt)
		w.Kind = incident.WorkKind(kind)
		return w, err
	})
	return out, mapErr(err, "")
}

// UnitWork lists the open tasks and checks assigned to a unit, or to the
// pool of district (nil: none), that are due before until (overdue ones
// included), soonest first: the officer's "My follow-ups and checks".
func (db *DB) UnitWork(ctx context.Context, unitID int64, district *int64, until time.Time) ([]incident.WorkItem, error) {
	if district == nil {
		return db.work(ctx, []string{`x.unit_id = $1 AND x.due_at < $2`}, unitID, until)
	}
	return db.work(ctx, []string{`x.unit_id = $1 AND x.due_at < $2`, `x.unit_id IS NULL AND x.district_id = $3 AND x.due_at < $2`},
		unitID, until, *district)
}

// AreaWork lists the open tasks and checks of an area (all, or a
// district's) due before until, soonest first.
func (db *DB) AreaWork(ctx context.Context, a access.Area, until time.Time) ([]incident.WorkItem, error) {
	return db.areaWork(ctx, a, `x.due_at < $1`, until)
}

// OverdueWork lists the area's tasks and checks overdue at now (due at or
// before it), oldest first: the boards' overdue list.
func (db *DB) OverdueWork(ctx context.Context, a access.Area, now time.Time) ([]incident.WorkItem, error) {
	return db.areaWork(ctx, a, `x.due_at <= $1`, now)
}

func (db *DB) areaWork(ctx context.Context, a access.Area, due string, t time.Time) ([]incident.WorkItem, error) {
	switch {
	case a.All:
		return db.work(ctx, []string{due}, t)
	case a.District != nil:
		return db.work(ctx, []string{due + ` AND x.district_id = $2`}, t, *a.District)
	}
	return nil, nil
}

// NextDue is the earliest due time after now of the area's open tasks and
// checks (nil: none), so that a board can refresh when it passes.
func (db *DB) NextDue(ctx context.Context, a access.Area, now time.Time) (*time.Time, error) {
	if !a.All && a.District == nil {
		return nil, nil
	}
	var t *time.Time
	err := db.Pool.QueryRow(ctx, `SELECT least(
			(SELECT min(due_at) FROM follow_up_tasks WHERE closed_at IS NULL AND due_at > $3 AND ($1 OR district_id = $2)),
			(SELECT min(due_at) FROM order_checks WHERE done_at IS NULL AND due_at > $3 AND ($1 OR district_id = $2)))`,
		a.All, a.District, now).Scan(&t)
	return t, mapErr(err, "")
}

// ReassignWork gives an open task or check to a unit of its district, or
// to the district's pool (unitID nil), audited.
func (db *DB) ReassignWork(ctx context.Context, kind incident.WorkKind, id int64, unitID *int64, by audit.Actor) error {
	table, closedCol := "follow_up_tasks", "closed_at"
	if kind == incident.OrderCheckWork {
		table, closedCol = "order_checks", "done_at"
	} else if kind != incident.FollowUpWork {
		return apperr.New(apperr.NotFound, "db.err.not_found.record")
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var district, old *int64
		var closed *time.Time
		if err := tx.QueryRow(ctx, `SELECT district_id, unit_id, `+closedCol+` FROM `+table+` WHERE id = $1 FOR UPDATE`, id).
			Scan(&district, &old, &closed); err != nil {
			return err
		}
		if closed != nil {
			return apperr.New(apperr.Conflict, "followup.err.closed")
		}
		var callSign string
		if unitID != nil {
			err := tx.QueryRow(ctx, `SELECT call_sign FROM units WHERE id = $1 AND active AND district_id IS NOT DISTINCT FROM $2`,
				*unitID, district).Scan(&callSign)
			if errors.Is(err, pgx.ErrNoRows) {
				return &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
					Fields: map[string]apperr.Msg{"unit_id": apperr.M("followup.err.unit")}}
			}
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET unit_id = $2 WHERE id = $1`, id, unitID); err != nil {
			return err
		}
		var incidentID *int64
		if kind == incident.FollowUpWork {
			if err := tx.QueryRow(ctx, `SELECT incident_id FROM follow_up_tasks WHERE id = $1`, id).Scan(&incidentID); err != nil {
				return err
			}
		} else if err := tx.QueryRow(ctx, `SELECT o.incident_id FROM order_checks c JOIN protection_orders o ON o.id = c.order_id
			WHERE c.id = $1`, id).Scan(&incidentID); err != nil {
			return err
		}
		if incidentID != nil {
			if err := Notify(ctx, tx, "incident", *incidentID); err != nil {
				return err
			}
		}
		if unitID != nil {
			if err := Notify(ctx, tx, "unit", *unitID); err != nil {
				return err
			}
		}
		if old != nil {
			if err := Notify(ctx, tx, "unit", *old); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: string(kind) + ".reassign", RecordType: table,
			RecordID: strconv.FormatInt(id, 10), Detail: map[string]any{"old_unit": old, "unit": callSign}})
	})
	return mapErr(err, "follow-up")
}

// queryer is a pool or a transaction, for reads of many rows.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
