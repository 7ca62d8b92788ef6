package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
)

// AuditFilter selects rows of the audit trail. Empty fields select
// everything.
type AuditFilter struct {
	Username   string // exact (normalised) username, as typed at a login
	RecordType string // e.g. incident, user, route
	RecordID   string // e.g. an incident number, a username
	// Action is an exact action ("incident.view"), or, without a dot, a
	// family of actions: "incident" selects "incident" and "incident.*".
	Action  string
	Outcome string    // ok, denied, failed, invalid
	From    time.Time // rows at or after From (zero: no lower bound)
	To      time.Time // rows before To (zero: no upper bound)
	// Before pages backwards: only rows with an id below it (0: from the
	// newest row).
	Before int64
	// Scope limits the rows to what a supervisor may see; nil is every row.
	Scope *AuditScope
}

// AuditScope is the part of the audit trail a supervisor may see: every
// row of their own actions, and every row whose record belongs to an
// incident of their district (every district's when they have none, as
// internal/access has it): the incident itself (its views, changes,
// units, danger screens, refused views ...), its protection orders (an
// order without an incident by the order's own district) and its
// referrals. Rows about users, reference data, routes and the audit
// trail itself are for administrators, except the supervisor's own.
type AuditScope struct {
	UserID     int64  // the supervisor: their own actions
	DistrictID *int64 // their district; nil: every district
}

// where builds the WHERE clause of f with its arguments.
func (f AuditFilter) where() (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Username != "" {
		conds = append(conds, "a.username = "+arg(f.Username))
	}
	if f.RecordType != "" {
		conds = append(conds, "a.record_type = "+arg(f.RecordType))
	}
	if f.RecordID != "" {
		conds = append(conds, "a.record_id = "+arg(f.RecordID))
	}
	if f.Action != "" {
		if strings.Contains(f.Action, ".") {
			conds = append(conds, "a.action = "+arg(f.Action))
		} else {
			p := arg(f.Action)
			conds = append(conds, "(a.action = "+p+" OR a.action LIKE "+arg(likePrefix(f.Action)+".%")+")")
		}
	}
	if f.Outcome != "" {
		conds = append(conds, "a.outcome = "+arg(f.Outcome))
	}
	if !f.From.IsZero() {
		conds = append(conds, "a.at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "a.at < "+arg(f.To))
	}
	if f.Before > 0 {
		conds = append(conds, "a.id < "+arg(f.Before))
	}
	if sc := f.Scope; sc != nil {
		me, d := arg(sc.UserID), arg(sc.DistrictID)
		conds = append(conds, `(a.user_id = `+me+` OR (a.record_type, a.record_id) IN (
			SELECT 'incident', i.number FROM incidents i
				WHERE `+d+`::bigint IS NULL OR i.district_id = `+d+`
			UNION ALL
			SELECT 'protection_order', o.number FROM protection_orders o LEFT JOIN incidents i ON i.id = o.incident_id
				WHERE `+d+`::bigint IS NULL OR CASE WHEN o.incident_id IS NULL THEN o.district_id ELSE i.district_id END = `+d+`
			UNION ALL
			SELECT 'referral', r.id::text FROM referrals r JOIN incidents i ON i.id = r.incident_id
				WHERE `+d+`::bigint IS NULL OR i.district_id = `+d+`))`)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// likePrefix escapes the LIKE wildcards of s.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

const auditSelect = `SELECT a.id, a.at, coalesce(a.user_id, 0), a.username, a.role, a.action, a.record_type, a.record_id,
	a.source_ip, a.outcome, a.detail, a.key_id, a.prev_hash, a.hash FROM audit_events a`

func scanAudit(row pgx.Row) (audit.Entry, error) {
	var e audit.Entry
	var outcome string
	err := row.Scan(&e.ID, &e.At, &e.Actor.UserID, &e.Actor.Username, &e.Actor.Role, &e.Action, &e.RecordType,
		&e.RecordID, &e.Actor.IP, &outcome, &e.Detail, &e.KeyID, &e.PrevHash, &e.Hash)
	e.Outcome = audit.Outcome(outcome)
	e.At = e.At.UTC()
	return e, err
}

// AuditEvents returns up to limit rows of the audit trail that f selects,
// newest first, and whether there are older ones (the next page starts
// before the last row's id).
func (db *DB) AuditEvents(ctx context.Context, f AuditFilter, limit int) ([]audit.Entry, bool, error) {
	where, args := f.where()
	args = append(args, limit+1)
	rows, err := db.Pool.Query(ctx, auditSelect+where+` ORDER BY a.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Entry, error) { return scanAudit(r) })
	if err != nil {
		return nil, false, mapErr(err, "")
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// EachAuditEvent calls fn with every row that f selects, newest first,
// reading them as a stream (an export of the whole trail does not sit in
// memory). An error from fn stops the walk and is returned as it is.
func (db *DB) EachAuditEvent(ctx context.Context, f AuditFilter, fn func(*audit.Entry) error) error {
	where, args := f.where()
	rows, err := db.Pool.Query(ctx, auditSelect+where+` ORDER BY a.id DESC`, args...)
	if err != nil {
		return mapErr(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return mapErr(err, "")
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "")
}
