package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
)

// SetMatchRules sets the deployment's history-matching rules (its
// country), under which the seeder, the importer and the bulk loader key
// the incidents they write and RecomputeKeys keys the stored ones.
func (db *DB) SetMatchRules(r match.Rules) { db.rules = r }

// MatchRules are the rules set by SetMatchRules.
func (db *DB) MatchRules() match.Rules { return db.rules }

// MaxHistoryMatches bounds the matches one lookup reads, most recent
// first; the panel counts and flags those.
const MaxHistoryMatches = 500

// History finds the incidents matching q: at the same flat or building,
// from the same phone, or naming the same people (a name must have at
// least two words to match, so that a lone first name does not flood the
// panel), received before q.Before, with the facts that decide who may see
// each and how sure each match is (match.Classify). The caller applies
// the viewer's area and address confidentiality.
func (db *DB) History(ctx context.Context, q incident.HistoryQuery) (priors []incident.Prior, orders []incident.OrderSummary, err error) {
	k := q.Keys
	names := []string{} // never NULL: = ANY(NULL) would be NULL
	for _, n := range []string{k.Caller, k.Victim, k.Suspect} {
		if n != "" && strings.Contains(n, " ") {
			names = append(names, n)
		}
	}
	named := func(n string) string {
		if strings.Contains(n, " ") {
			return n
		}
		return ""
	}
	if k.Flat == "" && k.Building == "" && k.Phone == "" && len(names) == 0 {
		return nil, nil, nil
	}
	orders, err = db.activeOrdersMatching(ctx, k.Flat, names, q.Exclude, q.WithUnits)
	if err != nil {
		return nil, nil, mapErr(err, "")
	}
	var before *time.Time
	if !q.Before.IsZero() {
		before = &q.Before
	}
	// Bitmap scans off and the statement's generic plan, for this
	// statement alone (see historySQL); one round trip for both.
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SELECT set_config('enable_bitmapscan', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)`)
		b.Queue(historySQL, k.Flat, k.Building, k.Phone, names, named(k.Victim), q.VictimAge, named(k.Suspect), q.SuspectAge,
			ageRef(q.Before), match.AgeSlack, q.Exclude, before, MaxHistoryMatches, q.WithUnits)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		// The rows share a few types and dispositions: each one's labels
		// are decoded once, and the rows share the maps (read only).
		labels := map[string]map[string]string{}
		decode := func(raw []byte) (map[string]string, error) {
			if m, ok := labels[string(raw)]; ok {
				return m, nil
			}
			var m map[string]string
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, err
			}
			labels[string(raw)] = m
			return m, nil
		}
		var typeNames, dispNames []byte
		for rows.Next() {
			var p incident.Prior
			e := &p.Evidence
			if err := rows.Scan(&p.ID, &p.Number, &p.ReceivedAt, &p.TypeName, &p.Priority, &p.Disposition, &typeNames,
				&dispNames, &p.Weapons, &p.HighDanger, &p.Open, &p.DistrictID, &p.DistrictName, &p.SettlementID,
				&p.Latitude, &p.Longitude, &p.CreatedBy, &p.Confidential, &p.UnitIDs,
				&e.Flat, &e.Building, &e.Phone, &e.Name, &e.Age); err != nil {
				return err
			}
			if p.TypeNames, err = decode(typeNames); err != nil {
				return err
			}
			if p.DispositionNames, err = decode(dispNames); err != nil {
				return err
			}
			p.Class = match.Classify(*e)
			priors = append(priors, p)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return br.Close()
	})
	if err != nil {
		return nil, nil, mapErr(err, "")
	}
	return priors, orders, nil
}

// historySQL is History's query. $1 to $3 are the flat's, the building's
// and the phone's keys (empty when not searched), $4 the names' keys, $5 to $8
// the victim's and the suspect's name keys and ages, $9 the moment ages are
// compared at (an age given years after an earlier incident is compared
// with the age then plus those years), $10 the ages' slack, $11 the
// incident excluded, $12 the moment matches must precede (NULL: none),
// $13 how many matches at most, $14 whether to read the units on each.
//
// Each key's latest matches are read apart, each through its own
// (key, received_at) index on incident_keys (migrations 0018, 0025), newest
// first and at most $13 of them, from the index alone (it carries the
// incident's id: an index-only scan); the latest $13 of their union are the
// latest $13 of all matches, and only those are joined to incidents. So a
// lookup reads at most $13 index entries per key however many incidents a
// block of flats, a phone or a name has had. One condition over all keys
// ordered by received_at would make PostgreSQL either fetch every match to
// sort them (thousands of pages for a block of flats at ten million
// incidents) or walk the received-time order until enough match (the
// whole table, for a key whose matches are all old).
//
// Each branch says which key it matched (for a name, whether as victim or
// suspect, and which name); a match found by several keys is grouped into
// one row. A match among the latest $13 of the union is in the branch of
// every key it has: had that key $13 newer matches, they would all be in
// the union, ahead of it. So what it has in common with the lookup is
// known without reading its keys.
//
// It is a prepared statement run with its generic plan (plan_cache_mode),
// planned once per connection: planning it took longer than running it
// (6 ms against 2.5 ms for a lookup at ten million incidents, warm).
// So each branch states its index's condition (the key is not empty) for
// the planner to use the partial index without the key's value, a key
// not searched is skipped by a condition on its parameter alone, checked
// once at the start, and "before" is a bound on received_at with no OR.
//
// It runs with bitmap scans off. With them, a key the planner cannot
// know (a generic plan's, or a block of flats outside the statistics'
// most common values) is estimated at a few hundred matches, and the
// planner reads every match through a bitmap and sorts them, because
// reading a few hundred rows in index order would cost about the same:
// for a block of flats with 5,000 incidents that read 5,300 pages, 235 ms.
// Without bitmaps the cheapest plan left is the one wanted whatever the
// count: the index in order, stopping at $13.
var historySQL = func() string {
	// flags: by flat, by building, by phone, by name, the name matched as
	// the victim's, as the suspect's.
	branch := func(cond, flags string) string {
		return `(SELECT k.incident_id, k.received_at, ` + flags + ` FROM incident_keys k
			WHERE ` + cond + ` AND k.incident_id <> $11 AND k.received_at < coalesce($12::timestamptz, 'infinity')
			ORDER BY k.received_at DESC LIMIT $13)`
	}
	return `WITH hit AS (
			` + branch(`$1 <> '' AND k.address_key <> '' AND k.address_key = $1`,
		`true AS flat, false AS building, false AS phone, false AS name, NULL::text AS victim, NULL::text AS suspect`) + `
			UNION ALL ` + branch(`$2 <> '' AND k.building_key <> '' AND k.building_key = $2`, `false, true, false, false, NULL, NULL`) + `
			UNION ALL ` + branch(`$3 <> '' AND k.phone_key <> '' AND k.phone_key = $3`, `false, false, true, false, NULL, NULL`) + `
			UNION ALL SELECT x.* FROM unnest($4::text[]) AS n(key) CROSS JOIN LATERAL (
				` + branch(`k.caller_key <> '' AND k.caller_key = n.key`, `false, false, false, true, NULL::text, NULL::text`) + `
				UNION ALL ` + branch(`k.victim_key <> '' AND k.victim_key = n.key`, `false, false, false, true, n.key, NULL`) + `
				UNION ALL ` + branch(`k.suspect_key <> '' AND k.suspect_key = n.key`, `false, false, false, true, NULL, n.key`) + `) x
		),
		m AS (
			SELECT incident_id, received_at, bool_or(flat) AS flat, bool_or(building) AS building, bool_or(phone) AS phone,
				bool_or(name) AS name, array_agg(victim) FILTER (WHERE victim IS NOT NULL) AS victim,
				array_agg(suspect) FILTER (WHERE suspect IS NOT NULL) AS suspect
			FROM hit GROUP BY incident_id, received_at
			ORDER BY received_at DESC, incident_id DESC LIMIT $13)
		SELECT i.id, i.number, i.received_at, t.name, i.priority, coalesce(dp.name, ''), t.names, coalesce(dp.names, '{}'),
			coalesce(i.weapons, false), i.high_danger, i.cleared_at IS NULL, i.district_id, coalesce(d.name, ''), i.settlement_id,
			i.latitude, i.longitude, i.created_by, i.address_confidential,
			CASE WHEN $14 THEN ARRAY(SELECT iu.unit_id FROM incident_units iu WHERE iu.incident_id = i.id AND iu.released_at IS NULL) END,
			m.flat, m.building, m.phone, m.name,
			coalesce(
				($5 <> '' AND $6::int IS NOT NULL AND (($5 = ANY(m.victim) AND abs(i.victim_age + age_years(i.received_at, $9) - $6) <= $10)
					OR ($5 = ANY(m.suspect) AND abs(i.suspect_age + age_years(i.received_at, $9) - $6) <= $10)))
				OR ($7 <> '' AND $8::int IS NOT NULL AND (($7 = ANY(m.victim) AND abs(i.victim_age + age_years(i.received_at, $9) - $8) <= $10)
					OR ($7 = ANY(m.suspect) AND abs(i.suspect_age + age_years(i.received_at, $9) - $8) <= $10))), false)
		FROM m JOIN incidents i ON i.id = m.incident_id
			JOIN incident_types t ON t.id = i.type_id LEFT JOIN dispositions dp ON dp.id = i.disposition_id
			LEFT JOIN districts d ON d.id = i.district_id
		ORDER BY m.received_at DESC, m.incident_id DESC`
}()

func ageRef(before time.Time) time.Time {
	if before.IsZero() {
		return time.Now()
	}
	return before
}

// MatchFacts are what an incident's history and warnings are computed
// from: its stored keys, the people's ages, when it was received and its
// own officer-safety facts.
type MatchFacts struct {
	Query incident.HistoryQuery
	Own   incident.Own
}

// MatchFactsOf reads the match facts of the incidents ids (the board's, an
// incident page's, an officer's list), by id.
func (db *DB) MatchFactsOf(ctx context.Context, ids []int64) (map[int64]MatchFacts, error) {
	out := make(map[int64]MatchFacts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Pool.Query(ctx, `SELECT i.id, coalesce(k.address_key, ''), coalesce(k.building_key, ''),
			coalesce(k.phone_key, ''), coalesce(k.caller_key, ''), coalesce(k.victim_key, ''), coalesce(k.suspect_key, ''),
			i.victim_age, i.suspect_age, i.received_at, i.high_danger, coalesce(i.weapons, false), coalesce(i.children_present, false)
		FROM incidents i LEFT JOIN incident_keys k ON k.incident_id = i.id WHERE i.id = ANY($1)`, ids)
	if err != nil {
		return nil, mapErr(err, "")
	}
	var id int64
	var f MatchFacts
	k := &f.Query.Keys
	_, err = pgx.ForEachRow(rows, []any{&id, &k.Flat, &k.Building, &k.Phone, &k.Caller, &k.Victim, &k.Suspect,
		&f.Query.VictimAge, &f.Query.SuspectAge, &f.Query.Before, &f.Own.HighDanger, &f.Own.WeaponsNow, &f.Own.ChildrenNow}, func() error {
		g := f
		g.Query.Exclude = id
		out[id] = g
		f = MatchFacts{}
		k = &f.Query.Keys
		return nil
	})
	return out, mapErr(err, "")
}

// AddedCall is a further call about an open incident.
type AddedCall struct {
	IncidentID  int64
	Key         string // the intake draft's key: the idempotency key
	CallerName  string
	CallerPhone string
	Narrative   string
}

// AddCall records a further call on an open incident: the caller, the
// time the call was answered (the intake draft's, the server's clock) and
// the narrative, with a "call_added" timeline event and an audit row. The
// first call's received time is not touched. It is idempotent per draft
// key: a retry returns added = false and records nothing. A cleared
// incident is refused (Conflict).
func (db *DB) AddCall(ctx context.Context, c AddedCall, by audit.Actor) (number string, added bool, err error) {
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var open bool
		if err := tx.QueryRow(ctx, `SELECT number, cleared_at IS NULL FROM incidents WHERE id = $1 FOR UPDATE`, c.IncidentID).
			Scan(&number, &open); err != nil {
			return err
		}
		var received time.Time
		err := tx.QueryRow(ctx, `SELECT received_at FROM intake_drafts WHERE key::text = $1 AND user_id = $2`, c.Key, by.UserID).Scan(&received)
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.New(apperr.Invalid, "intake.err.unknown_draft")
		} else if err != nil {
			return err
		}
		var at time.Time
		err = tx.QueryRow(ctx, `INSERT INTO incident_calls (incident_id, idempotency_key, received_at, caller_name, caller_phone,
				phone_key, narrative, created_by)
			VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING received_at`,
			c.IncidentID, c.Key, received, c.CallerName, c.CallerPhone, db.rules.Phone(c.CallerPhone), c.Narrative,
			nullID(by.UserID)).Scan(&at)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // recorded by an earlier submission of this form
		}
		if err != nil {
			return err
		}
		if !open {
			return apperr.New(apperr.Conflict, "dispatch.history.err_cleared")
		}
		added = true
		// The timeline shows the call; the audit row only that there was one.
		detail := map[string]any{"received_at": at.UTC().Format(time.RFC3339)}
		if err := addEvent(ctx, tx, c.IncidentID, by.UserID, "call_added", map[string]any{"received_at": detail["received_at"],
			"caller": c.CallerName, "narrative": c.Narrative}); err != nil {
			return err
		}
		if err := Notify(ctx, tx, "incident", c.IncidentID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, &audit.Entry{Actor: by, Action: "incident.call_added", RecordType: "incident",
			RecordID: number, Detail: detail})
	})
	return number, added, mapErr(err, "incident")
}

// AddedCalls are the further calls recorded on an incident, oldest first.
func (db *DB) AddedCalls(ctx context.Context, incidentID int64) ([]incident.AddedCall, error) {
	rows, err := db.Pool.Query(ctx, `SELECT received_at, caller_name, caller_phone, narrative FROM incident_calls
		WHERE incident_id = $1 ORDER BY received_at, id`, incidentID)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.AddedCall, error) {
		var c incident.AddedCall
		return c, r.Scan(&c.ReceivedAt, &c.CallerName, &c.CallerPhone, &c.Narrative)
	})
	return out, mapErr(err, "")
}

// MatchKeysVersionKey is the app_settings key holding the version
// (match.Rules.Version) the stored history keys were computed under.
const MatchKeysVersionKey = "match_keys_version"

// recomputeBatch is how many incidents RecomputeKeys reads and keys at a
// time.
const recomputeBatch = 200_000

// KeyIndexes are the indexes on incident_keys RecomputeKeys drops and
// builds again (migration 0025 makes them): every one but its primary key.
var KeyIndexes = []string{"incident_keys_address_idx", "incident_keys_building_idx", "incident_keys_phone_idx",
	"incident_keys_caller_idx", "incident_keys_victim_idx", "incident_keys_suspect_idx"}

// RecomputeKeys recomputes the history keys of every incident, protection
// order and added call under the rules set by SetMatchRules, unless they
// were computed under them already (app_settings MatchKeysVersionKey); it
// returns how many incidents it keyed (0 when nothing was to do).
func (db *DB) RecomputeKeys(ctx context.Context) (n int64, err error) {
	return db.RecomputeKeysWith(ctx, db.rules.Version(), db.rules.Keys)
}

// RecomputeKeysWith is RecomputeKeys with the incidents keyed by keys and
// the result recorded as computed under version (the orders and added
// calls are keyed by the rules set by SetMatchRules). The benchmark times
// a change of every key with it.
//
// Fast for ten million rows, whether every key changes or none: the keys
// live in incident_keys, a narrow table of their own (migration 0025),
// which is emptied (TRUNCATE: a new file, the old one dropped at commit)
// with its key indexes dropped; the incidents are read in id order in
// batches and their keys copied into it (COPY FREEZE: no vacuum needed
// after), with its foreign-key check and triggers left out
// (session_replication_role replica, where the role may: every row comes
// from an incident read under the lock), and the key indexes are built
// once at the end. No row of incidents is written, so
// none of its indexes is touched. Writers to incidents wait until it
// commits; history lookups (incident_keys) too.
func (db *DB) RecomputeKeysWith(ctx context.Context, version string, keys func(address, phone, caller, victim, suspect string) match.Keys) (n int64, err error) {
	var stored string
	err = db.Pool.QueryRow(ctx, `SELECT value FROM app_settings WHERE key = $1`, MatchKeysVersionKey).Scan(&stored)
	if err == nil && stored == version {
		return 0, nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, mapErr(err, "")
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return 0, mapErr(err, "")
	}
	defer conn.Release()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		n = 0
		if _, err := tx.Exec(ctx, `LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		// Another process may have done it while this one waited.
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT value FROM app_settings WHERE key = $1), '')`,
			MatchKeysVersionKey).Scan(&stored); err != nil || stored == version {
			return err
		}
		if _, err := tx.Exec(ctx, `SAVEPOINT replica`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT replica`); err != nil {
				return err
			}
		}
		for _, set := range []string{`SET LOCAL maintenance_work_mem = '256MB'`, `SET LOCAL work_mem = '256MB'`} {
			if _, err := tx.Exec(ctx, set); err != nil {
				return err
			}
		}
		// The key indexes are built again once rather than updated for
		// every row.
		defs := map[string]string{}
		rows, err := tx.Query(ctx, `SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_class c
			WHERE c.relkind = 'i' AND c.relname = ANY($1)`, KeyIndexes)
		if err != nil {
			return err
		}
		var name, def string
		if _, err := pgx.ForEachRow(rows, []any{&name, &def}, func() error { defs[name] = def; return nil }); err != nil {
			return err
		}
		for name := range defs {
			if _, err := tx.Exec(ctx, `DROP INDEX `+pgx.Identifier{name}.Sanitize()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `TRUNCATE incident_keys`); err != nil {
			return err
		}
		// COPY FREEZE (allowed into a table emptied in this transaction)
		// writes the rows frozen and their pages all-visible, so that the
		// lookup's index-only scans need no vacuum first. pgx's CopyFrom
		// cannot ask for FREEZE, hence the text format written here.
		copySQL := `COPY incident_keys (` + strings.Join(keyColumns, ", ") + `) FROM STDIN WITH (FREEZE)`
		var last int64
		var buf bytes.Buffer
		for {
			rows, err := tx.Query(ctx, `SELECT id, received_at, address, caller_phone, caller_name, victim_name, suspect_name
				FROM incidents WHERE id > $1 ORDER BY id LIMIT $2`, last, recomputeBatch)
			if err != nil {
				return err
			}
			buf.Reset()
			count := 0
			var id int64
			var received time.Time
			var address, phone, caller, victim, suspect string
			if _, err := pgx.ForEachRow(rows, []any{&id, &received, &address, &phone, &caller, &victim, &suspect}, func() error {
				k := keys(address, phone, caller, victim, suspect)
				buf.WriteString(strconv.FormatInt(id, 10))
				buf.WriteByte('\t')
				buf.WriteString(received.UTC().Format("2006-01-02 15:04:05.999999+00"))
				for _, v := range []string{k.Flat, k.Building, k.Phone, k.Caller, k.Victim, k.Suspect} {
					buf.WriteByte('\t')
					copyText(&buf, v)
				}
				buf.WriteByte('\n')
				count++
				last = id
				return nil
			}); err != nil {
				return err
			}
			if count == 0 {
				break
			}
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, &buf, copySQL); err != nil {
				return err
			}
			n += int64(count)
			if count < recomputeBatch {
				break
			}
		}
		for _, name := range KeyIndexes {
			if def, ok := defs[name]; ok {
				if _, err := tx.Exec(ctx, def); err != nil {
					return err
				}
			}
		}
		if err := db.recomputeOrderKeys(ctx, tx); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`, MatchKeysVersionKey, version)
		return err
	})
	if err != nil {
		return n, mapErr(fmt.Errorf("recompute history keys: %w", err), "")
	}
	if n > 0 {
		_, err = db.Pool.Exec(ctx, `ANALYZE incident_keys`)
	}
	return n, mapErr(err, "")
}

// keyColumns are the columns of incident_keys, in the order the bulk
// writers and RecomputeKeys copy them.
var keyColumns = []string{"incident_id", "received_at", "address_key", "building_key", "phone_key", "caller_key",
	"victim_key", "suspect_key"}

// copyText writes v as a field of COPY's text format.
func copyText(b *bytes.Buffer, v string) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
}

// keyRow is an incident's row of incident_keys, in keyColumns' order.
func keyRow(id int64, received time.Time, k match.Keys) []any {
	return []any{id, received, k.Flat, k.Building, k.Phone, k.Caller, k.Victim, k.Suspect}
}

// recomputeOrderKeys keys the protection orders and added calls again
// (few rows: one statement each).
func (db *DB) recomputeOrderKeys(ctx context.Context, tx pgx.Tx) error {
	type orderKeys struct {
		id                             int64
		address, protected, restrained string
	}
	rows, err := tx.Query(ctx, `SELECT id, address, protected_name, restrained_name FROM protection_orders`)
	if err != nil {
		return err
	}
	var os []orderKeys
	var o orderKeys
	if _, err := pgx.ForEachRow(rows, []any{&o.id, &o.address, &o.protected, &o.restrained}, func() error {
		os = append(os, o)
		return nil
	}); err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, o := range os {
		flat, _ := match.Address(o.address)
		b.Queue(`UPDATE protection_orders SET address_key = $2, protected_key = $3, restrained_key = $4 WHERE id = $1`,
			o.id, flat, match.Name(o.protected), match.Name(o.restrained))
	}
	rows, err = tx.Query(ctx, `SELECT id, caller_phone FROM incident_calls`)
	if err != nil {
		return err
	}
	var id int64
	var phone string
	var calls [][2]any
	if _, err := pgx.ForEachRow(rows, []any{&id, &phone}, func() error {
		calls = append(calls, [2]any{id, db.rules.Phone(phone)})
		return nil
	}); err != nil {
		return err
	}
	for _, c := range calls {
		b.Queue(`UPDATE incident_calls SET phone_key = $2 WHERE id = $1`, c[0], c[1])
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}
