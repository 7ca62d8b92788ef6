package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// ---- questions (administered like reference data)

func scanDangerQuestion(r pgx.Row) (incident.DangerQuestion, error) {
	var q incident.DangerQuestion
	return q, r.Scan(&q.ID, &q.Position, &q.Text, &q.Texts, &q.Critical, &q.Active)
}

const dangerQuestionSelect = `SELECT id, position, text, texts, critical, active FROM danger_questions `

// DangerQuestions lists every question, active or not, in form order.
func (db *DB) DangerQuestions(ctx context.Context) ([]incident.DangerQuestion, error) {
	return collect(ctx, db, scanDangerQuestion, dangerQuestionSelect+`ORDER BY position, id`)
}

// ActiveDangerQuestions lists the questions a new screen asks, in form
// order.
func (db *DB) ActiveDangerQuestions(ctx context.Context) ([]incident.DangerQuestion, error) {
	return collect(ctx, db, scanDangerQuestion, dangerQuestionSelect+`WHERE active ORDER BY position, id`)
}

// DangerQuestion returns one question.
func (db *DB) DangerQuestion(ctx context.Context, id int64) (incident.DangerQuestion, error) {
	q, err := scanDangerQuestion(db.Pool.QueryRow(ctx, dangerQuestionSelect+`WHERE id = $1`, id))
	return q, mapErr(err, "question")
}

func dangerQuestionFields(q *incident.DangerQuestion) map[string]any {
	return map[string]any{"position": q.Position, "text": q.Text, "texts": names(q.Texts), "critical": q.Critical, "active": q.Active}
}

const lockDangerQuestion = dangerQuestionSelect + `WHERE id = $1 FOR UPDATE`

// SaveDangerQuestion validates and inserts (ID 0) or updates q, audited
// like other reference data (the fields before and after). Past screens
// keep the wording they were asked with: their answers hold a copy of it.
func (db *DB) SaveDangerQuestion(ctx context.Context, q *incident.DangerQuestion, by audit.Actor) error {
	if err := q.Validate(); err != nil {
		return err
	}
	create := q.ID == 0
	c := refChange{what: "question", recordType: "danger_question", after: dangerQuestionFields(q)}
	if create {
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return insertID(ctx, tx, &q.ID, `INSERT INTO danger_questions (position, text, critical, active, texts)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, q.Position, q.Text, q.Critical, q.Active, names(q.Texts))
		}
	} else {
		c.lock = lockRecord(scanDangerQuestion, dangerQuestionFields, lockDangerQuestion, q.ID)
		c.write = func(ctx context.Context, tx pgx.Tx) (string, error) {
			return idText(q.ID), execOneTx(ctx, tx, `UPDATE danger_questions SET position = $2, text = $3, critical = $4, active = $5,
				texts = $6 WHERE id = $1`, q.ID, q.Position, q.Text, q.Critical, q.Active, names(q.Texts))
		}
	}
	return saved(c.run(ctx, db, by), &q.ID, create)
}

// DeleteDangerQuestion deletes a question. Screens that asked it keep
// their copy of its wording and answer (answers are snapshots, not
// references), so a question that was answered may be deleted too.
func (db *DB) DeleteDangerQuestion(ctx context.Context, id int64, by audit.Actor) error {
	return refChange{what: "question", recordType: "danger_question",
		lock:  lockRecord(scanDangerQuestion, dangerQuestionFields, lockDangerQuestion, id),
		write: deleteRecord("danger_questions", "id", id)}.run(ctx, db, by)
}

// ---- the threshold

const dangerThresholdKey = "danger_threshold"

// DangerThreshold is the number of yes answers that makes a screen high
// danger (app_settings 'danger_threshold'); the default when unset.
func (db *DB) DangerThreshold(ctx context.Context) (int, error) {
	return dangerThreshold(ctx, db.Pool)
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func dangerThreshold(ctx context.Context, q queryRower) (int, error) {
	var v string
	err := q.QueryRow(ctx, `SELECT value FROM app_settings WHERE key = $1`, dangerThresholdKey).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return incident.DefaultDangerThreshold, nil
	}
	if err != nil {
		return 0, mapErr(err, "")
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < incident.MinDangerThreshold || n > incident.MaxDangerThreshold {
		// A value set outside the web form: fall back to the safe default
		// rather than refuse every screen.
		return incident.DefaultDangerThreshold, nil
	}
	return n, nil
}

// SetDangerThreshold stores a new threshold (validated by the caller with
// incident.ParseDangerThreshold). Past screens keep the threshold they
// were assessed with.
func (db *DB) SetDangerThreshold(ctx context.Context, n int, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		old, err := dangerThreshold(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO app_settings (key, value, updated_at) VALUES ($1, $2, now())
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			dangerThresholdKey, strconv.Itoa(n)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "settings.update", RecordType: "app_settings",
			RecordID: dangerThresholdKey, Detail: map[string]any{"old": old, "new": n}})
	})
	return mapErr(err, "")
}

// ---- screens

// CreateDangerScreen stores a screen of an incident and assesses it with
// the threshold in force. In one transaction it inserts the screen, flags
// the incident high danger when the screen finds it, appends a
// 'danger_screen' timeline event, notifies the boards and writes the audit
// row.
//
// The incident's high_danger flag is only ever raised here, never
// lowered: a later screen that finds no high danger (the victim calmer,
// the suspect gone) does not erase an earlier high-danger finding, which
// stays in force for the incident and for the history lookup of its
// address and people.
func (db *DB) CreateDangerScreen(ctx context.Context, incidentID int64, answers []incident.DangerAnswer, by audit.Actor) (incident.DangerScreen, error) {
	return db.CreateDangerScreenFor(ctx, incidentID, answers, 0, by)
}

// CreateDangerScreenFor is CreateDangerScreen for the re-screen of a
// follow-up task (taskID; 0: none): in the same transaction the task and
// the incident's open re-screen tasks close as re-screened, and the
// screen's result reschedules the incident's follow-ups (followup.go).
func (db *DB) CreateDangerScreenFor(ctx context.Context, incidentID int64, answers []incident.DangerAnswer, taskID int64, by audit.Actor) (incident.DangerScreen, error) {
	s := incident.DangerScreen{IncidentID: incidentID, Answers: answers, DoneBy: by.Username}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var number string
		if err := tx.QueryRow(ctx, `SELECT number FROM incidents WHERE id = $1 FOR UPDATE`, incidentID).Scan(&number); err != nil {
			return err
		}
		threshold, err := dangerThreshold(ctx, tx)
		if err != nil {
			return err
		}
		res := incident.AssessDanger(answers, threshold)
		s.YesCount, s.Threshold, s.HighDanger = res.YesCount, res.Threshold, res.High
		if err := tx.QueryRow(ctx, `INSERT INTO danger_screens (incident_id, done_by, answers, yes_count, threshold, high_danger)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, done_at`,
			incidentID, nullID(by.UserID), answers, res.YesCount, res.Threshold, res.High).Scan(&s.ID, &s.DoneAt); err != nil {
			return err
		}
		if res.High {
			if _, err := tx.Exec(ctx, `UPDATE incidents SET high_danger = true, version = version + 1, updated_at = now()
				WHERE id = $1 AND NOT high_danger`, incidentID); err != nil {
				return err
			}
		}
		detail := map[string]any{"high_danger": res.High, "yes_count": res.YesCount}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "danger_screen", detail); err != nil {
			return err
		}
		closedTasks, scheduled, err := followUpsForScreen(ctx, tx, s, taskID, by)
		if err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", incidentID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "danger_screen.create", RecordType: "incident",
			RecordID: number, Detail: map[string]any{"screen_id": s.ID, "high_danger": res.High, "yes_count": res.YesCount,
				"threshold": res.Threshold, "follow_ups_closed": closedTasks, "follow_ups_scheduled": scheduled}})
	})
	if err != nil {
		return incident.DangerScreen{}, mapErr(err, "incident")
	}
	return s, nil
}

// DangerScreens lists an incident's screens, newest first.
func (db *DB) DangerScreens(ctx context.Context, incidentID int64) ([]incident.DangerScreen, error) {
	rows, err := db.Pool.Query(ctx, `SELECT s.id, s.incident_id, s.done_at, coalesce(u.username, ''), s.answers,
			s.yes_count, s.threshold, s.high_danger
		FROM danger_screens s LEFT JOIN users u ON u.id = s.done_by
		WHERE s.incident_id = $1 ORDER BY s.done_at DESC, s.id DESC`, incidentID)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.DangerScreen, error) {
		var s incident.DangerScreen
		err := r.Scan(&s.ID, &s.IncidentID, &s.DoneAt, &s.DoneBy, &s.Answers, &s.YesCount, &s.Threshold, &s.HighDanger)
		return s, err
	})
	return out, mapErr(err, "")
}
