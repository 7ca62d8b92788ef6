package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/match"
)

// Victims across incidents (issue 16): person records linked to
// incidents, the decisions about those links, repeat victimisation and the
// victim's safe-contact rule. A person is made only from an explicit
// confirmation (two incidents concern the same person) or an explicit
// safe-contact rule, never from a name alone.

// Person roles on an incident.
const (
	RoleVictim  = "victim"
	RoleSuspect = "suspect"
)

func validRole(role string) bool { return role == RoleVictim || role == RoleSuspect }

// PersonCandidate is an earlier incident whose victim (or suspect) is
// probably the same person as the one asked about: the name agrees and
// so does a second fact (age within match.AgeSlack years, the phone, the
// flat or the building). A name alone is never a candidate.
type PersonCandidate struct {
	IncidentID                         int64
	Number                             string
	ReceivedAt                         time.Time
	PersonID                           *int64 // the person already linked to it in that role
	DistrictID                         *int64
	CreatedBy                          *int64
	Confidential                       bool
	UnitIDs                            []int64
	PersonSize                         int // incidents linked to that person in that role
	ByAge, ByPhone, ByFlat, ByBuilding bool
}

// PersonQuery asks for the candidates for one person of an incident (or
// of a call being typed: Exclude 0).
type PersonQuery struct {
	Role                  string
	NameKey               string // match.Name of the typed name
	Age                   *int
	Flat, Building, Phone string // the incident's keys
	Before                time.Time
	Exclude               int64 // the incident itself
}

// MaxPersonCandidates bounds the candidates one query returns.
const MaxPersonCandidates = 20

// PersonCandidates finds the earlier incidents (received before q.Before)
// whose person in q.Role has the same name key and a second agreeing
// fact, most recent first, leaving out pairs rejected before and incidents
// whose person was unlinked from q.Exclude. The caller applies the
// viewer's area and address confidentiality.
func (db *DB) PersonCandidates(ctx context.Context, q PersonQuery) ([]PersonCandidate, error) {
	if !validRole(q.Role) || !strings.Contains(q.NameKey, " ") {
		return nil, nil
	}
	col, ageCol := "victim_key", "victim_age"
	if q.Role == RoleSuspect {
		col, ageCol = "suspect_key", "suspect_age"
	}
	before := q.Before
	if before.IsZero() {
		before = time.Now()
	}
	rows, err := db.Pool.Query(ctx, `SELECT i.id, i.number, i.received_at, ip.person_id, i.district_id, i.created_by,
			i.address_confidential,
			ARRAY(SELECT iu.unit_id FROM incident_units iu WHERE iu.incident_id = i.id),
			(SELECT count(*) FROM incident_persons x WHERE x.person_id = ip.person_id AND x.role = $6),
			coalesce($2::int IS NOT NULL AND abs(i.`+ageCol+` + age_years(i.received_at, $7) - $2) <= $8, false),
			($5 <> '' AND k.phone_key = $5), ($3 <> '' AND k.address_key = $3), ($4 <> '' AND k.building_key = $4)
		FROM incident_keys k JOIN incidents i ON i.id = k.incident_id
		LEFT JOIN incident_persons ip ON ip.incident_id = i.id AND ip.role = $6
		WHERE k.`+col+` <> '' AND k.`+col+` = $1 AND k.incident_id <> $9 AND k.received_at < $7
			AND (($2::int IS NOT NULL AND abs(i.`+ageCol+` + age_years(i.received_at, $7) - $2) <= $8)
				OR ($5 <> '' AND k.phone_key = $5) OR ($3 <> '' AND k.address_key = $3) OR ($4 <> '' AND k.building_key = $4))
			AND NOT EXISTS (SELECT 1 FROM person_link_decisions d WHERE d.decision = 'rejected' AND d.role = $6
				AND ((d.incident_id = $9 AND d.other_incident_id = i.id) OR (d.incident_id = i.id AND d.other_incident_id = $9)))
			AND NOT EXISTS (SELECT 1 FROM person_link_decisions d WHERE d.decision = 'undone' AND d.role = $6
				AND d.incident_id = $9 AND d.person_id = ip.person_id)
		ORDER BY k.received_at DESC, k.incident_id DESC LIMIT $10`, pgx.QueryExecModeExec,
		q.NameKey, q.Age, q.Flat, q.Building, q.Phone, q.Role, before, match.AgeSlack, q.Exclude, MaxPersonCandidates)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PersonCandidate, error) {
		var c PersonCandidate
		return c, r.Scan(&c.IncidentID, &c.Number, &c.ReceivedAt, &c.PersonID, &c.DistrictID, &c.CreatedBy,
			&c.Confidential, &c.UnitIDs, &c.PersonSize, &c.ByAge, &c.ByPhone, &c.ByFlat, &c.ByBuilding)
	})
	return out, mapErr(err, "")
}

// PersonOf is the person linked to the incident in role (0: none).
func (db *DB) PersonOf(ctx context.Context, incidentID int64, role string) (int64, error) {
	var id int64
	err := db.Pool.QueryRow(ctx, `SELECT person_id FROM incident_persons WHERE incident_id = $1 AND role = $2`,
		incidentID, role).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, mapErr(err, "")
}

// PersonIncident is one incident linked to a person.
type PersonIncident struct {
	IncidentID int64
	Number     string
	ReceivedAt time.Time
	DistrictID *int64
	CreatedBy  *int64
}

// PersonIncidents are the incidents linked to person in role, oldest
// first.
func (db *DB) PersonIncidents(ctx context.Context, person int64, role string) ([]PersonIncident, error) {
	rows, err := db.Pool.Query(ctx, `SELECT i.id, i.number, i.received_at, i.district_id, i.created_by
		FROM incident_persons ip JOIN incidents i ON i.id = ip.incident_id
		WHERE ip.person_id = $1 AND ip.role = $2 ORDER BY i.received_at, i.id`, person, role)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PersonIncident, error) {
		var p PersonIncident
		return p, r.Scan(&p.IncidentID, &p.Number, &p.ReceivedAt, &p.DistrictID, &p.CreatedBy)
	})
	return out, mapErr(err, "")
}

// lockIncidents locks the incidents' rows in id order (no deadlock between
// two confirmations of the same pair) and returns their numbers.
func lockIncidents(ctx context.Context, tx pgx.Tx, ids ...int64) (map[int64]string, error) {
	rows, err := tx.Query(ctx, `SELECT id, number FROM incidents WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	var id int64
	var n string
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { out[id] = n; return nil }); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, apperr.New(apperr.NotFound, "victims.err.no_incident")
		}
	}
	return out, nil
}

func personOfTx(ctx context.Context, tx pgx.Tx, incidentID int64, role string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT person_id FROM incident_persons WHERE incident_id = $1 AND role = $2`,
		incidentID, role).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

func newPerson(ctx context.Context, tx pgx.Tx, by int64) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO persons (created_by) VALUES ($1) RETURNING id`, nullID(by)).Scan(&id)
	return id, err
}

func linkPerson(ctx context.Context, tx pgx.Tx, incidentID int64, role string, person, by int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO incident_persons (incident_id, role, person_id, linked_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (incident_id, role) DO UPDATE SET person_id = excluded.person_id, linked_at = now(), linked_by = excluded.linked_by`,
		incidentID, role, person, nullID(by))
	return err
}

// ConfirmPerson records that the person in role on incident is the same
// as on other (an earlier incident): both are linked to one person record,
// made if neither had one; when each had its own, the two are merged
// (MergePersons: the older survives, both histories kept). Audited on
// both incidents, shown on the incident's timeline. It returns the person.
func (db *DB) ConfirmPerson(ctx context.Context, incidentID int64, role string, other int64, by audit.Actor) (person int64, err error) {
	if !validRole(role) || incidentID == other {
		return 0, apperr.New(apperr.Invalid, "victims.err.bad_link")
	}
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		numbers, err := lockIncidents(ctx, tx, incidentID, other)
		if err != nil {
			return err
		}
		mine, err := personOfTx(ctx, tx, incidentID, role)
		if err != nil {
			return err
		}
		theirs, err := personOfTx(ctx, tx, other, role)
		if err != nil {
			return err
		}
		switch {
		case mine == 0 && theirs == 0:
			if person, err = newPerson(ctx, tx, by.UserID); err != nil {
				return err
			}
		case mine == 0:
			person = theirs
		case theirs == 0:
			person = mine
		default:
			person = min(mine, theirs)
			if mine != theirs {
				if err := mergePersons(ctx, tx, person, max(mine, theirs), by); err != nil {
					return err
				}
			}
		}
		for _, id := range []int64{incidentID, other} {
			if err := linkPerson(ctx, tx, id, role, person, by.UserID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO person_link_decisions (incident_id, role, other_incident_id, person_id, decision, decided_by)
			VALUES ($1, $2, $3, $4, 'confirmed', $5)`, incidentID, role, other, person, nullID(by.UserID)); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "person_linked", map[string]any{"role": role, "number": numbers[other]}); err != nil {
			return err
		}
		for _, id := range []int64{incidentID, other} {
			o := other
			if id == other {
				o = incidentID
			}
			if err := appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "person.link", RecordType: "incident",
				RecordID: numbers[id], Detail: map[string]any{"role": role, "decision": "confirmed", "other": numbers[o],
					"person": person}}); err != nil {
				return err
			}
		}
		return nil
	})
	return person, mapErr(err, "incident")
}

// RejectPerson records that the person in role on incident is not the one
// on other: the pair is not offered again. Audited.
func (db *DB) RejectPerson(ctx context.Context, incidentID int64, role string, other int64, by audit.Actor) error {
	if !validRole(role) || incidentID == other {
		return apperr.New(apperr.Invalid, "victims.err.bad_link")
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		numbers, err := lockIncidents(ctx, tx, incidentID, other)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO person_link_decisions (incident_id, role, other_incident_id, decision, decided_by)
			VALUES ($1, $2, $3, 'rejected', $4)`, incidentID, role, other, nullID(by.UserID)); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "person_link_rejected", map[string]any{"role": role, "number": numbers[other]}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "person.link", RecordType: "incident",
			RecordID: numbers[incidentID], Detail: map[string]any{"role": role, "decision": "rejected", "other": numbers[other]}})
	})
	return mapErr(err, "incident")
}

// UndoPerson removes the link of the incident's person in role (a
// supervisor's decision, with a reason): the person keeps its other
// incidents, and is not offered for this incident again. Audited.
func (db *DB) UndoPerson(ctx context.Context, incidentID int64, role, reason string, by audit.Actor) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return fieldErr("reason", "victims.err.reason_required")
	}
	if n := len([]rune(reason)); n > 500 {
		return fieldErr("reason", "err.text.too_long", "Max", 500, "Now", n)
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		numbers, err := lockIncidents(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		var person int64
		err = tx.QueryRow(ctx, `DELETE FROM incident_persons WHERE incident_id = $1 AND role = $2 RETURNING person_id`,
			incidentID, role).Scan(&person)
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.New(apperr.Conflict, "victims.err.not_linked")
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO person_link_decisions (incident_id, role, person_id, decision, reason, decided_by)
			VALUES ($1, $2, $3, 'undone', $4, $5)`, incidentID, role, person, reason, nullID(by.UserID)); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "person_link_undone", map[string]any{"role": role, "reason": reason}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "person.unlink", RecordType: "incident",
			RecordID: numbers[incidentID], Detail: map[string]any{"role": role, "person": person, "reason": reason}})
	})
	return mapErr(err, "incident")
}

// MergePersons merges person gone into keep: every incident of gone is
// linked to keep, gone's safe-contact rule moves to keep when keep has
// none, and gone stays with merged_into set (its history is kept).
// Audited.
func (db *DB) MergePersons(ctx context.Context, keep, gone int64, by audit.Actor) error {
	if keep == gone {
		return apperr.New(apperr.Invalid, "victims.err.bad_link")
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return mergePersons(ctx, tx, keep, gone, by) })
	return mapErr(err, "person")
}

func mergePersons(ctx context.Context, tx pgx.Tx, keep, gone int64, by audit.Actor) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM persons WHERE id IN ($1, $2) AND merged_into IS NULL`, keep, gone).Scan(&n); err != nil {
		return err
	}
	if n != 2 {
		return apperr.New(apperr.Conflict, "victims.err.merged")
	}
	tag, err := tx.Exec(ctx, `UPDATE incident_persons SET person_id = $1 WHERE person_id = $2`, keep, gone)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO safe_contacts (person_id, safe_to_call, phone, safe_times, message_ok, code_word, who, updated_at, updated_by)
		SELECT $1, safe_to_call, phone, safe_times, message_ok, code_word, who, updated_at, updated_by FROM safe_contacts WHERE person_id = $2
		ON CONFLICT (person_id) DO NOTHING`, keep, gone); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM safe_contacts WHERE person_id = $1`, gone); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE persons SET merged_into = $1, merged_at = now() WHERE id = $2`, keep, gone); err != nil {
		return err
	}
	return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "person.merge", RecordType: "person",
		RecordID: strconv.FormatInt(keep, 10), Detail: map[string]any{"merged": gone, "links": tag.RowsAffected()}})
}

// Repeat is repeat victimisation as the intake panel shows it, counted
// from incidents received before the one in question.
type Repeat struct {
	Linked        bool // a person was known for the victim
	VictimYear    int  // the victim's incidents in the 365 days before
	VictimAll     int  // the victim's incidents before, ever
	FlatYear      int  // incidents at the flat in the 365 days before
	Last          *RepeatLast
	ActiveOrders  int // protection orders in force on the victim's incidents or at the flat
	OpenReferrals int // referrals of the victim's incidents not closed
}

// RepeatLast is the latest earlier incident of the victim (else at the
// flat).
type RepeatLast struct {
	ID         int64
	DistrictID *int64
	CreatedBy  *int64
	UnitIDs    []int64
	Number     string
	ReceivedAt time.Time
	Screened   bool // a danger screen was filed
	HighDanger bool // the latest screen's result
}

// RepeatQuery asks for the repeat counts of a victim and a flat.
type RepeatQuery struct {
	Person  int64  // the victim's person (0: none)
	Flat    string // the flat's key ("" none)
	Before  time.Time
	Exclude int64 // the incident itself
	// Incidents are counted as the victim's too: earlier incidents the
	// dispatcher has just confirmed are hers, not linked yet (intake).
	Incidents []int64
	// Confidential counts incidents whose address is confidential at the
	// flat too (a viewer who may read such addresses).
	Confidential bool
}

// RepeatCounts counts repeat victimisation for q.
func (db *DB) RepeatCounts(ctx context.Context, q RepeatQuery) (Repeat, error) {
	rep := Repeat{Linked: q.Person != 0 || len(q.Incidents) > 0}
	if q.Person == 0 && q.Flat == "" && len(q.Incidents) == 0 {
		return rep, nil
	}
	var lastNumber *string
	var lastAt *time.Time
	var last struct {
		ID         *int64
		DistrictID *int64
		CreatedBy  *int64
		UnitIDs    []int64
	}
	var screened, high *bool
	err := db.Pool.QueryRow(ctx, `WITH v AS (
			SELECT i.id, i.number, i.received_at FROM (
				SELECT ip.incident_id FROM incident_persons ip WHERE $1 <> 0 AND ip.person_id = $1 AND ip.role = 'victim'
				UNION SELECT unnest($6::bigint[])) x
			JOIN incidents i ON i.id = x.incident_id
			WHERE i.received_at < $3 AND i.id <> $4),
		f AS (
			SELECT i.id FROM incident_keys k JOIN incidents i ON i.id = k.incident_id
			WHERE $2 <> '' AND k.address_key <> '' AND k.address_key = $2 AND k.received_at < $3 AND k.incident_id <> $4
				AND k.received_at >= $3 - interval '365 days' AND ($5 OR NOT i.address_confidential)),
		-- The flat's latest incident, read from its key's index backwards,
		-- only when the victim has none.
		flast AS (
			SELECT i.id, i.number, i.received_at FROM incident_keys k JOIN incidents i ON i.id = k.incident_id
			WHERE NOT EXISTS (SELECT 1 FROM v) AND $2 <> '' AND k.address_key <> '' AND k.address_key = $2
				AND k.received_at < $3 AND k.incident_id <> $4 AND ($5 OR NOT i.address_confidential)
			ORDER BY k.received_at DESC, k.incident_id DESC LIMIT 1),
		last AS (
			SELECT x.id, x.number, x.received_at FROM (
				SELECT *, 0 AS o FROM v UNION ALL SELECT *, 1 FROM flast) x
			ORDER BY x.o, x.received_at DESC, x.id DESC LIMIT 1)
		SELECT (SELECT count(*) FROM v WHERE received_at >= $3 - interval '365 days'),
			(SELECT count(*) FROM v),
			(SELECT count(*) FROM f),
			(SELECT number FROM last), (SELECT received_at FROM last), (SELECT id FROM last),
			(SELECT i.district_id FROM incidents i WHERE i.id = (SELECT id FROM last)),
			(SELECT i.created_by FROM incidents i WHERE i.id = (SELECT id FROM last)),
			ARRAY(SELECT iu.unit_id FROM incident_units iu WHERE iu.incident_id = (SELECT id FROM last)),
			(SELECT true FROM danger_screens d WHERE d.incident_id = (SELECT id FROM last) LIMIT 1),
			(SELECT d.high_danger FROM danger_screens d WHERE d.incident_id = (SELECT id FROM last) ORDER BY d.done_at DESC, d.id DESC LIMIT 1),
			(SELECT count(*) FROM (
				SELECT o.id FROM protection_orders o WHERE o.incident_id IN (SELECT id FROM v)
					AND o.ended_at IS NULL AND o.starts_at <= now() AND o.ends_at > now()
				UNION
				SELECT o.id FROM protection_orders o WHERE $2 <> '' AND o.address_key = $2
					AND o.ended_at IS NULL AND o.starts_at <= now() AND o.ends_at > now()) o),
			(SELECT count(*) FROM referrals r WHERE r.closed_at IS NULL AND r.incident_id IN (SELECT id FROM v))`,
		q.Person, q.Flat, q.Before, q.Exclude, q.Confidential, incidentIDs(q.Incidents)).Scan(&rep.VictimYear, &rep.VictimAll, &rep.FlatYear,
		&lastNumber, &lastAt, &last.ID, &last.DistrictID, &last.CreatedBy, &last.UnitIDs, &screened, &high, &rep.ActiveOrders, &rep.OpenReferrals)
	if err != nil {
		return rep, mapErr(err, "")
	}
	if lastNumber != nil && lastAt != nil {
		rep.Last = &RepeatLast{Number: *lastNumber, ReceivedAt: *lastAt, Screened: screened != nil && *screened,
			HighDanger: high != nil && *high, DistrictID: last.DistrictID, CreatedBy: last.CreatedBy, UnitIDs: last.UnitIDs}
		if last.ID != nil {
			rep.Last.ID = *last.ID
		}
	}
	return rep, nil
}

// SafeContact is how a victim may be contacted. It belongs to her person
// record: carried to her later incidents, editable on each.
type SafeContact struct {
	SafeToCall *bool  // nil: not known
	Phone      string // the number to call
	SafeTimes  string // when a call is safe
	MessageOK  *bool  // a message or SMS may be left
	CodeWord   string // a code word or phrase
	Who        string // "police" (police only) or "police_ngo" (police and partner organisations)
	UpdatedAt  time.Time
}

// SafeContactWho are the values of SafeContact.Who.
var SafeContactWho = []string{"police", "police_ngo"}

// SafeContactOf is the rule of the incident's victim (nil: none recorded)
// and her person (0: none linked).
func (db *DB) SafeContactOf(ctx context.Context, incidentID int64) (*SafeContact, int64, error) {
	var person int64
	var sc SafeContact
	var has bool
	err := db.Pool.QueryRow(ctx, `SELECT ip.person_id, s.person_id IS NOT NULL, s.safe_to_call, coalesce(s.phone, ''),
			coalesce(s.safe_times, ''), s.message_ok, coalesce(s.code_word, ''), coalesce(s.who, 'police'), coalesce(s.updated_at, now())
		FROM incident_persons ip LEFT JOIN safe_contacts s ON s.person_id = ip.person_id
		WHERE ip.incident_id = $1 AND ip.role = 'victim'`, incidentID).Scan(&person, &has, &sc.SafeToCall, &sc.Phone,
		&sc.SafeTimes, &sc.MessageOK, &sc.CodeWord, &sc.Who, &sc.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, mapErr(err, "")
	}
	if !has {
		return nil, person, nil
	}
	return &sc, person, nil
}

// contactSafeSQL is whether contacting the victim of incident i is safe,
// as the pages show it (web.SafeRuleCall): her person's safe-contact rule
// when one is recorded, else the intake's answer to "safe to call back?".
// Contact is unsafe unless it says yes (NULL: not known).
const contactSafeSQL = `CASE WHEN s.person_id IS NOT NULL THEN s.safe_to_call ELSE i.caller_safe_to_call END`

// contactUnsafe says whether contacting the incident's victim is not
// known to be safe (contactSafeSQL).
func contactUnsafe(ctx context.Context, q queryRower, incidentID int64) (bool, error) {
	var safe *bool
	err := q.QueryRow(ctx, `SELECT `+contactSafeSQL+` FROM incidents i
		LEFT JOIN incident_persons ip ON ip.incident_id = i.id AND ip.role = 'victim'
		LEFT JOIN safe_contacts s ON s.person_id = ip.person_id WHERE i.id = $1`, incidentID).Scan(&safe)
	return safe == nil || !*safe, err
}

// VictimRule is what a list of several incidents needs to show each
// victim's safe-contact rule: her recorded rule (nil: none), the intake's
// answer and number (shown when she has none), and the incident's access
// record (district, who logged it, its units) to decide who may see it.
type VictimRule struct {
	Rule        *SafeContact
	CallerSafe  *bool
	CallerPhone string
	Record      access.Record
}

// VictimRules reads the VictimRule of each incident, in one query (the
// work lists show up to a hundred rows). Incidents not found are absent.
func (db *DB) VictimRules(ctx context.Context, incidentIDs []int64) (map[int64]VictimRule, error) {
	out := make(map[int64]VictimRule, len(incidentIDs))
	if len(incidentIDs) == 0 {
		return out, nil
	}
	rows, err := db.Pool.Query(ctx, `SELECT i.id, i.district_id, i.created_by, i.caller_safe_to_call, i.caller_phone,
			s.person_id IS NOT NULL, s.safe_to_call, coalesce(s.phone, ''), coalesce(s.safe_times, ''), s.message_ok,
			coalesce(s.code_word, ''), coalesce(s.who, 'police'), coalesce(s.updated_at, now()),
			coalesce(u.ids, '{}'), coalesce(u.active, '{}')
		FROM incidents i
		LEFT JOIN incident_persons ip ON ip.incident_id = i.id AND ip.role = 'victim'
		LEFT JOIN safe_contacts s ON s.person_id = ip.person_id
		LEFT JOIN LATERAL (SELECT array_agg(iu.unit_id ORDER BY iu.assigned_at) AS ids,
				array_agg(iu.released_at IS NULL ORDER BY iu.assigned_at) AS active
			FROM incident_units iu WHERE iu.incident_id = i.id) u ON true
		WHERE i.id = ANY($1)`, incidentIDs)
	if err != nil {
		return nil, mapErr(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v VictimRule
		var sc SafeContact
		var has bool
		var units []int64
		var active []bool
		if err := rows.Scan(&id, &v.Record.District, &v.Record.CreatedBy, &v.CallerSafe, &v.CallerPhone, &has, &sc.SafeToCall,
			&sc.Phone, &sc.SafeTimes, &sc.MessageOK, &sc.CodeWord, &sc.Who, &sc.UpdatedAt, &units, &active); err != nil {
			return nil, mapErr(err, "")
		}
		if has {
			v.Rule = &sc
		}
		for i, u := range units {
			v.Record.Units = append(v.Record.Units, access.Unit{ID: u, Active: active[i]})
		}
		out[id] = v
	}
	return out, mapErr(rows.Err(), "")
}

// SaveSafeContact records the rule for the incident's victim: on her
// person, made (and linked to the incident) when she has none. onlyNew
// leaves a rule already recorded alone (intake filling the rule of a
// victim linked to an earlier incident). Audited without the values.
func (db *DB) SaveSafeContact(ctx context.Context, incidentID int64, sc SafeContact, onlyNew bool, by audit.Actor) error {
	e := apperr.Fields{}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"sc_phone", sc.Phone, 40}, {"sc_times", sc.SafeTimes, 200}, {"sc_code", sc.CodeWord, 100}} {
		if n := len([]rune(f.v)); n > f.max {
			e.Add(f.name, "err.text.too_long", "Max", f.max, "Now", n)
		}
	}
	if sc.Who != "police" && sc.Who != "police_ngo" {
		e.Add("sc_who", "victims.err.who")
	}
	if err := e.Err(); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		numbers, err := lockIncidents(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		person, err := personOfTx(ctx, tx, incidentID, RoleVictim)
		if err != nil {
			return err
		}
		if person == 0 {
			if person, err = newPerson(ctx, tx, by.UserID); err != nil {
				return err
			}
			if err := linkPerson(ctx, tx, incidentID, RoleVictim, person, by.UserID); err != nil {
				return err
			}
		}
		conflict := `DO UPDATE SET safe_to_call = excluded.safe_to_call, phone = excluded.phone, safe_times = excluded.safe_times,
			message_ok = excluded.message_ok, code_word = excluded.code_word, who = excluded.who, updated_at = now(),
			updated_by = excluded.updated_by`
		if onlyNew {
			conflict = `DO NOTHING`
		}
		tag, err := tx.Exec(ctx, `INSERT INTO safe_contacts (person_id, safe_to_call, phone, safe_times, message_ok, code_word, who, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (person_id) `+conflict,
			person, sc.SafeToCall, sc.Phone, sc.SafeTimes, sc.MessageOK, sc.CodeWord, sc.Who, nullID(by.UserID))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "safe_contact.save", RecordType: "incident",
			RecordID: numbers[incidentID], Detail: map[string]any{"person": person}})
	})
	return mapErr(err, "incident")
}

// RecordCallBack records a call-back made from the incident: unsafe when
// the victim's rule does not say calling is safe, which needs a reason.
// Audited (the reason too: it justifies the risk) and on the timeline.
func (db *DB) RecordCallBack(ctx context.Context, incidentID int64, reason string, by audit.Actor) (unsafe bool, err error) {
	reason = strings.TrimSpace(reason)
	if n := len([]rune(reason)); n > 500 {
		return false, fieldErr("cb_reason", "err.text.too_long", "Max", 500, "Now", n)
	}
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		numbers, err := lockIncidents(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		var person *int64
		err = tx.QueryRow(ctx, `SELECT person_id FROM incident_persons WHERE incident_id = $1 AND role = 'victim'`,
			incidentID).Scan(&person)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Her rule, else the intake's answer: as the page showed it.
		if unsafe, err = contactUnsafe(ctx, tx, incidentID); err != nil {
			return err
		}
		if unsafe && reason == "" {
			return fieldErr("cb_reason", "victims.err.reason_unsafe")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO call_backs (incident_id, person_id, unsafe, reason, called_by) VALUES ($1, $2, $3, $4, $5)`,
			incidentID, person, unsafe, reason, nullID(by.UserID)); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, incidentID, by.UserID, "call_back", map[string]any{"unsafe": unsafe, "reason": reason}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "incident.call_back", RecordType: "incident",
			RecordID: numbers[incidentID], Detail: map[string]any{"unsafe": unsafe, "reason": reason}})
	})
	return unsafe, mapErr(err, "incident")
}

// fieldErr is an Invalid error with one field's message.
func fieldErr(field, id string, kv ...any) error {
	e := apperr.Fields{}
	e.Add(field, id, kv...)
	return e.Err()
}

func incidentIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{} // never NULL: unnest(NULL) is no row, but keep the type plain
	}
	return ids
}

// RepeatHouseholds lists, for the demo data, groups of incidents whose
// victim has the same name at the same flat (a strong match), oldest
// incident first in each group, at most limit groups, largest first.
func (db *DB) RepeatHouseholds(ctx context.Context, limit int) ([][]int64, error) {
	rows, err := db.Pool.Query(ctx, `SELECT array_agg(incident_id ORDER BY received_at, incident_id) FROM incident_keys
		WHERE victim_key LIKE '% %' AND address_key <> ''
		GROUP BY victim_key, address_key HAVING count(*) >= 2
		ORDER BY count(*) DESC, min(incident_id) LIMIT $1`, limit)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]int64])
	return out, mapErr(err, "")
}

// personsSeedLockKey serialises the demo's linking of persons (a
// session-level advisory lock: the links are made in transactions of
// their own).
const personsSeedLockKey = 0x6476_7065_7273

// SeedPersonsOnce runs fn unless a person record exists, one process at a
// time; it reports whether fn ran.
func (db *DB) SeedPersonsOnce(ctx context.Context, fn func() error) (bool, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return false, mapErr(err, "")
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, personsSeedLockKey); err != nil {
		return false, mapErr(err, "")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, personsSeedLockKey) //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM persons)`).Scan(&exists); err != nil || exists {
		return false, mapErr(err, "")
	}
	return true, fn()
}

// SeedPersons links each group of incidents (the demo's repeat victims,
// oldest first) to one new person as confirmed, with the group's
// safe-contact rule where rules has one (nil: none), in one transaction
// and one audit row: the demo data, not a user's decision.
func (db *DB) SeedPersons(ctx context.Context, groups [][]int64, rules []*SafeContact, by audit.Actor) error {
	if len(groups) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i, g := range groups {
			var sc SafeContact
			has := i < len(rules) && rules[i] != nil
			if has {
				sc = *rules[i]
			} else {
				sc.Who = "police"
			}
			b.Queue(`WITH p AS (INSERT INTO persons (created_by) VALUES (NULL) RETURNING id),
				l AS (INSERT INTO incident_persons (incident_id, role, person_id) SELECT x, 'victim', p.id FROM p, unnest($1::bigint[]) x),
				d AS (INSERT INTO person_link_decisions (incident_id, role, other_incident_id, person_id, decision)
					SELECT x, 'victim', $2, p.id, 'confirmed' FROM p, unnest($1::bigint[]) x WHERE x <> $2),
				s AS (INSERT INTO safe_contacts (person_id, safe_to_call, phone, safe_times, message_ok, code_word, who)
					SELECT p.id, $4, $5, $6, $7, $8, $9 FROM p WHERE $3)
				SELECT 1`, g, g[0], has, sc.SafeToCall, sc.Phone, sc.SafeTimes, sc.MessageOK, sc.CodeWord, sc.Who)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "person.seed", RecordType: "person",
			Detail: map[string]any{"persons": len(groups)}})
	})
	return mapErr(err, "")
}
