package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// referralColumns are the timestamp columns of the statuses.
var referralColumns = map[incident.ReferralStatus]string{
	incident.Accepted:     "accepted_at",
	incident.Declined:     "declined_at",
	incident.Sent:         "sent_at",
	incident.Acknowledged: "acknowledged_at",
	incident.Closed:       "closed_at",
}

const referralSelect = `SELECT r.id, r.incident_id, i.number, r.partner_id, p.name, p.kind, r.consent, r.override_reason,
	r.status, r.offered_at, r.accepted_at, r.declined_at, r.sent_at, r.acknowledged_at, r.closed_at,
	coalesce(u.username, ''), r.notes
	FROM referrals r
	JOIN incidents i ON i.id = r.incident_id
	JOIN partner_orgs p ON p.id = r.partner_id
	LEFT JOIN users u ON u.id = r.updated_by `

func scanReferral(row pgx.Row) (incident.Referral, error) {
	var r incident.Referral
	var consent, status string
	err := row.Scan(&r.ID, &r.IncidentID, &r.IncidentNumber, &r.PartnerID, &r.PartnerName, &r.PartnerKind,
		&consent, &r.OverrideReason, &status, &r.OfferedAt, &r.AcceptedAt, &r.DeclinedAt, &r.SentAt,
		&r.AcknowledgedAt, &r.ClosedAt, &r.UpdatedBy, &r.Notes)
	r.Consent, r.Status = incident.Consent(consent), incident.ReferralStatus(status)
	return r, err
}

func (db *DB) referrals(ctx context.Context, tail string, args ...any) ([]incident.Referral, error) {
	rows, err := db.Pool.Query(ctx, referralSelect+tail, args...)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Referral, error) { return scanReferral(r) })
	return out, mapErr(err, "")
}

// NewReferrals are referrals of one incident's victim to one or more
// partner organisations, with the consent recorded when they were offered.
type NewReferrals struct {
	IncidentID     int64
	PartnerIDs     []int64
	Consent        incident.Consent
	OverrideReason string
}

// CreateReferrals offers the referrals: one per partner, each an event on
// the incident, all in one transaction with the audit row and the
// notification. A partner must be active, and one the incident already
// has an open referral to is refused.
func (db *DB) CreateReferrals(ctx context.Context, n NewReferrals, by audit.Actor) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var number string
		if err := tx.QueryRow(ctx, `SELECT number FROM incidents WHERE id = $1 FOR UPDATE`, n.IncidentID).Scan(&number); err != nil {
			return err
		}
		for _, pid := range n.PartnerIDs {
			var name string
			var active, open bool
			err := tx.QueryRow(ctx, `SELECT p.name, p.active, EXISTS (SELECT 1 FROM referrals r
					WHERE r.incident_id = $2 AND r.partner_id = p.id AND r.closed_at IS NULL)
				FROM partner_orgs p WHERE p.id = $1`, pid, n.IncidentID).Scan(&name, &active, &open)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && !active) {
				return &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
					Fields: map[string]apperr.Msg{"partner_id": apperr.M("referral.err.partner")}}
			}
			if err != nil {
				return err
			}
			if open {
				return &apperr.Error{Code: apperr.Conflict, Message: "referral.err.open", Args: []any{"Name", name},
					Fields: map[string]apperr.Msg{"partner_id": apperr.M("referral.err.open_field", "Name", name)}}
			}
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO referrals (incident_id, partner_id, consent, override_reason, offered_by, updated_by)
				VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
				n.IncidentID, pid, string(n.Consent), n.OverrideReason, nullID(by.UserID)).Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			if err := addEvent(ctx, tx, n.IncidentID, by.UserID, "referral_offered", map[string]any{
				"referral_id": id, "partner": name, "consent": string(n.Consent)}); err != nil {
				return err
			}
		}
		if err := Notify(ctx, tx, "incident", n.IncidentID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "referral.create", RecordType: "incident",
			RecordID: number, Detail: map[string]any{"referral_ids": ids, "partner_ids": n.PartnerIDs, "consent": string(n.Consent)}})
	})
	return ids, mapErr(err, "incident")
}

// Referral returns one referral with its steps.
func (db *DB) Referral(ctx context.Context, id int64) (*incident.Referral, error) {
	r, err := scanReferral(db.Pool.QueryRow(ctx, referralSelect+`WHERE r.id = $1`, id))
	if err != nil {
		return nil, mapErr(err, "referral")
	}
	rs := []incident.Referral{r}
	if err := db.referralSteps(ctx, r.IncidentID, rs); err != nil {
		return nil, err
	}
	return &rs[0], nil
}

// IncidentReferrals lists an incident's referrals, oldest first, each with
// its steps and who took them.
func (db *DB) IncidentReferrals(ctx context.Context, incidentID int64) ([]incident.Referral, error) {
	rs, err := db.referrals(ctx, `WHERE r.incident_id = $1 ORDER BY r.offered_at, r.id`, incidentID)
	if err != nil {
		return nil, err
	}
	return rs, db.referralSteps(ctx, incidentID, rs)
}

// referralSteps fills the steps of rs (all of one incident) from the
// incident's timeline, where each step is an event naming its referral.
func (db *DB) referralSteps(ctx context.Context, incidentID int64, rs []incident.Referral) error {
	if len(rs) == 0 {
		return nil
	}
	rows, err := db.Pool.Query(ctx, `SELECT (e.data->>'referral_id')::bigint, substr(e.kind, 10), e.at, coalesce(u.username, '')
		FROM incident_events e LEFT JOIN users u ON u.id = e.user_id
		WHERE e.incident_id = $1 AND e.kind LIKE 'referral\_%' AND e.kind <> 'referral_consent' AND e.data ? 'referral_id'
		ORDER BY e.at, e.id`, incidentID)
	if err != nil {
		return mapErr(err, "")
	}
	idx := map[int64]int{}
	for i, r := range rs {
		idx[r.ID] = i
	}
	type step struct {
		id int64
		s  incident.ReferralStep
	}
	steps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (step, error) {
		var st step
		var status string
		err := row.Scan(&st.id, &status, &st.s.At, &st.s.By)
		st.s.Status = incident.ReferralStatus(status)
		return st, err
	})
	if err != nil {
		return mapErr(err, "")
	}
	for _, st := range steps {
		if i, ok := idx[st.id]; ok {
			rs[i].Steps = append(rs[i].Steps, st.s)
		}
	}
	return nil
}

// ReferralChange is a step of a referral's lifecycle, a change of consent,
// or both (the consent is applied first).
type ReferralChange struct {
	To      incident.ReferralStatus // "" changes only the consent
	Consent incident.ConsentChange
}

// ChangeReferral checks the change against the lifecycle with the row
// locked and records it: the status's timestamp from the database clock,
// who made it, an event on the incident, the audit row and the
// notification. It returns the incident's id.
func (db *DB) ChangeReferral(ctx context.Context, id int64, c ReferralChange, by audit.Actor) (incidentID int64, err error) {
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		r, err := scanReferral(tx.QueryRow(ctx, referralSelect+`WHERE r.id = $1 FOR UPDATE OF r`, id))
		if err != nil {
			return err
		}
		incidentID = r.IncidentID
		m, err := incident.CheckReferralMove(&r, c.To, c.Consent)
		if err != nil {
			return err
		}
		set := []string{"consent = $2", "override_reason = $3", "updated_by = $4"}
		if m.To != "" {
			set = append(set, "status = $5", referralColumns[m.To]+" = now()")
		}
		if _, err := tx.Exec(ctx, `UPDATE referrals SET `+strings.Join(set, ", ")+` WHERE id = $1`,
			append([]any{id, string(m.Consent), m.OverrideReason, nullID(by.UserID)}, statusArg(m.To)...)...); err != nil {
			return err
		}
		detail := map[string]any{"referral_id": r.ID, "partner": r.PartnerName, "consent": string(m.Consent)}
		if m.ConsentChanged {
			if err := addEvent(ctx, tx, r.IncidentID, by.UserID, "referral_consent", map[string]any{
				"referral_id": r.ID, "partner": r.PartnerName, "consent": string(m.Consent), "old_consent": string(r.Consent),
				"override_reason": m.OverrideReason}); err != nil {
				return err
			}
		}
		if m.To != "" {
			detail["from"], detail["to"] = string(r.Status), string(m.To)
			if err := addEvent(ctx, tx, r.IncidentID, by.UserID, "referral_"+string(m.To), map[string]any{
				"referral_id": r.ID, "partner": r.PartnerName, "consent": string(m.Consent)}); err != nil {
				return err
			}
		}
		if err := Notify(ctx, tx, "incident", r.IncidentID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "referral.change", RecordType: "referral",
			RecordID: strconv.FormatInt(r.ID, 10), Detail: detail})
	})
	return incidentID, mapErr(err, "referral")
}

func statusArg(to incident.ReferralStatus) []any {
	if to == "" {
		return nil
	}
	return []any{string(to)}
}

// OpenReferral is an open referral as the supervisors' list shows it: no
// names, only the incident's number.
type OpenReferral struct {
	incident.Referral
	DistrictCode string
}

// OpenReferrals lists the referrals not yet closed, grouped by
// organisation (by name) and, within one, oldest offer first.
// districtID limits them to one district's incidents (nil: all).
func (db *DB) OpenReferrals(ctx context.Context, districtID *int64) ([]OpenReferral, error) {
	rows, err := db.Pool.Query(ctx, `SELECT r.id, r.incident_id, i.number, r.partner_id, p.name, p.kind, r.consent, r.override_reason,
			r.status, r.offered_at, r.accepted_at, r.declined_at, r.sent_at, r.acknowledged_at, r.closed_at,
			coalesce(u.username, ''), r.notes, coalesce(d.code, '')
		FROM referrals r
		JOIN incidents i ON i.id = r.incident_id
		JOIN partner_orgs p ON p.id = r.partner_id
		LEFT JOIN users u ON u.id = r.updated_by
		LEFT JOIN districts d ON d.id = i.district_id
		WHERE r.closed_at IS NULL AND ($1::bigint IS NULL OR i.district_id = $1)
		ORDER BY p.name, r.offered_at, r.id`, districtID)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (OpenReferral, error) {
		var o OpenReferral
		var consent, status string
		r := &o.Referral
		err := row.Scan(&r.ID, &r.IncidentID, &r.IncidentNumber, &r.PartnerID, &r.PartnerName, &r.PartnerKind,
			&consent, &r.OverrideReason, &status, &r.OfferedAt, &r.AcceptedAt, &r.DeclinedAt, &r.SentAt,
			&r.AcknowledgedAt, &r.ClosedAt, &r.UpdatedBy, &r.Notes, &o.DistrictCode)
		r.Consent, r.Status = incident.Consent(consent), incident.ReferralStatus(status)
		return o, err
	})
	return out, mapErr(err, "")
}
