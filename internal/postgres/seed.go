package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// seedLockKey is the transaction-level advisory lock that serialises seed
// transactions, so that two processes seeding at once (two `make run`s)
// load each part only once.
const seedLockKey int64 = 0x64767273656564 // "dvrseed"

func lockSeed(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, seedLockKey)
	return err
}

// SeedReference is reference data to load where missing. Records are
// matched by their natural keys (district, incident type and disposition
// codes, a settlement's name within its district, a unit's call sign, a
// priority's level, an organisation's name); a record that exists is left
// exactly as it is, except that an incident type, priority or disposition
// that still has the seed's plain name and no names per language gets the
// seed's names (so that a database seeded before names per language
// existed gets them too). Settlements, units and partners name their
// district by DistrictCode.
type SeedReference struct {
	Districts     []refdata.District
	Settlements   []refdata.Settlement
	Units         []refdata.Unit
	IncidentTypes []refdata.IncidentType
	Priorities    []refdata.Priority
	Dispositions  []refdata.Disposition
	Partners      []refdata.Partner
	// DangerQuestionTexts gives the wording per language (Texts) of the
	// danger-screen questions whose plain wording is Text; a question
	// that already has wording per language, or whose plain wording was
	// changed, is left alone.
	DangerQuestionTexts []incident.DangerQuestion
}

// SeedReferenceResult counts the records SeedReference inserted, by kind,
// and (Named) the existing records it gave names per language.
type SeedReferenceResult struct {
	Districts, Settlements, Units, IncidentTypes, Priorities, Dispositions, Partners int64
	Named                                                                            int64
}

// Total is the number of records inserted.
func (r SeedReferenceResult) Total() int64 {
	return r.Districts + r.Settlements + r.Units + r.IncidentTypes + r.Priorities + r.Dispositions + r.Partners
}

// SeedReference inserts the records of ref that are missing, in one
// transaction. New units start available.
func (db *DB) SeedReference(ctx context.Context, ref SeedReference) (SeedReferenceResult, error) {
	var res SeedReferenceResult
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		res = SeedReferenceResult{}
		if err := lockSeed(ctx, tx); err != nil {
			return err
		}
		// Districts first: the other records refer to them by code.
		b := &pgx.Batch{}
		for _, d := range ref.Districts {
			if err := d.Validate(); err != nil {
				return seedErrorf("seed district %q: %w", d.Code, err)
			}
			b.Queue(`INSERT INTO districts (code, name, active) SELECT $1, $2, $3
				WHERE NOT EXISTS (SELECT 1 FROM districts WHERE code = $1) ON CONFLICT DO NOTHING`,
				d.Code, d.Name, d.Active)
		}
		n, err := sendCounting(ctx, tx, b)
		if err != nil {
			return err
		}
		res.Districts = n

		ids := map[string]int64{}
		rows, err := tx.Query(ctx, `SELECT code, id FROM districts`)
		if err != nil {
			return err
		}
		var code string
		var id int64
		if _, err := pgx.ForEachRow(rows, []any{&code, &id}, func() error { ids[code] = id; return nil }); err != nil {
			return err
		}
		district := func(what, name, code string) (int64, error) {
			id, ok := ids[refdata.CleanCode(code)]
			if !ok {
				return 0, seedErrorf("seed %s %q: no district %q", what, name, code)
			}
			return id, nil
		}

		var counters []*int64
		b = &pgx.Batch{}
		queue := func(counter *int64, sql string, args ...any) {
			counters = append(counters, counter)
			b.Queue(sql, args...)
		}
		for _, s := range ref.Settlements {
			if s.DistrictID, err = district("settlement", s.Name, s.DistrictCode); err != nil {
				return err
			}
			if err := s.Validate(); err != nil {
				return seedErrorf("seed settlement %q: %w", s.Name, err)
			}
			queue(&res.Settlements, `INSERT INTO settlements (district_id, name, is_idp, active) SELECT $1, $2, $3, $4
				WHERE NOT EXISTS (SELECT 1 FROM settlements WHERE district_id = $1 AND name = $2) ON CONFLICT DO NOTHING`,
				s.DistrictID, s.Name, s.IsIDP, s.Active)
		}
		for _, u := range ref.Units {
			if u.DistrictID, err = district("unit", u.CallSign, u.DistrictCode); err != nil {
				return err
			}
			u.Status = refdata.UnitAvailable
			if err := u.Validate(); err != nil {
				return seedErrorf("seed unit %q: %w", u.CallSign, err)
			}
			queue(&res.Units, `INSERT INTO units (call_sign, district_id, status, active) SELECT $1, $2, $3, $4
				WHERE NOT EXISTS (SELECT 1 FROM units WHERE call_sign = $1) ON CONFLICT DO NOTHING`,
				u.CallSign, u.DistrictID, u.Status, u.Active)
		}
		for _, t := range ref.IncidentTypes {
			if err := t.Validate(); err != nil {
				return seedErrorf("seed incident type %q: %w", t.Code, err)
			}
			queue(&res.IncidentTypes, `INSERT INTO incident_types (code, name, is_dv, active, names) SELECT $1, $2, $3, $4, $5
				WHERE NOT EXISTS (SELECT 1 FROM incident_types WHERE code = $1) ON CONFLICT DO NOTHING`,
				t.Code, t.Name, t.IsDV, t.Active, names(t.Names))
			if len(t.Names) > 0 {
				queue(&res.Named, `UPDATE incident_types SET names = $3 WHERE code = $1 AND name = $2 AND names = '{}'::jsonb`,
					t.Code, t.Name, t.Names)
			}
		}
		for _, p := range ref.Priorities {
			if err := p.Validate(); err != nil {
				return seedErrorf("seed priority %d: %w", p.Level, err)
			}
			queue(&res.Priorities, `INSERT INTO priorities (level, label, target_call_processing_s, target_turnout_s,
				target_travel_s, target_response_s, target_on_scene_s, target_total_s, names)
				SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
				WHERE NOT EXISTS (SELECT 1 FROM priorities WHERE level = $1) ON CONFLICT DO NOTHING`,
				append(targetArgs(&p), names(p.Names))...)
			if len(p.Names) > 0 {
				queue(&res.Named, `UPDATE priorities SET names = $3 WHERE level = $1 AND label = $2 AND names = '{}'::jsonb`,
					p.Level, p.Label, p.Names)
			}
		}
		for _, d := range ref.Dispositions {
			if err := d.Validate(); err != nil {
				return seedErrorf("seed disposition %q: %w", d.Code, err)
			}
			queue(&res.Dispositions, `INSERT INTO dispositions (code, name, active, names) SELECT $1, $2, $3, $4
				WHERE NOT EXISTS (SELECT 1 FROM dispositions WHERE code = $1) ON CONFLICT DO NOTHING`,
				d.Code, d.Name, d.Active, names(d.Names))
			if len(d.Names) > 0 {
				queue(&res.Named, `UPDATE dispositions SET names = $3 WHERE code = $1 AND name = $2 AND names = '{}'::jsonb`,
					d.Code, d.Name, d.Names)
			}
		}
		for _, q := range ref.DangerQuestionTexts {
			texts := refdata.CleanNames(apperr.Fields{}, "text", q.Texts, 300)
			if len(texts) == 0 {
				continue
			}
			queue(&res.Named, `UPDATE danger_questions SET texts = $2 WHERE text = $1 AND texts = '{}'::jsonb`, q.Text, texts)
		}
		for _, p := range ref.Partners {
			if p.DistrictCode != "" {
				id, err := district("organisation", p.Name, p.DistrictCode)
				if err != nil {
					return err
				}
				p.DistrictID = &id
			}
			if err := p.Validate(); err != nil {
				return seedErrorf("seed organisation %q: %w", p.Name, err)
			}
			queue(&res.Partners, `INSERT INTO partner_orgs (name, kind, district_id, contact, active) SELECT $1, $2, $3, $4, $5
				WHERE NOT EXISTS (SELECT 1 FROM partner_orgs WHERE name = $1) ON CONFLICT DO NOTHING`,
				p.Name, p.Kind, p.DistrictID, p.Contact, p.Active)
		}
		br := tx.SendBatch(ctx, b)
		for _, c := range counters {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return err
			}
			*c += tag.RowsAffected()
		}
		return br.Close()
	})
	db.ref.changed() // this process reads what it seeded at once (refcache.go)
	if err != nil {
		return SeedReferenceResult{}, seedErr(err)
	}
	return res, nil
}

// sendCounting runs a batch of statements and sums the rows they changed.
func sendCounting(ctx context.Context, tx pgx.Tx, b *pgx.Batch) (int64, error) {
	br := tx.SendBatch(ctx, b)
	var n int64
	for range b.Len() {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, err
		}
		n += tag.RowsAffected()
	}
	return n, br.Close()
}

// seedError is a mistake in the seed data itself (a record that fails
// validation, an unknown district code).
type seedError struct{ err error }

func (e seedError) Error() string { return e.err.Error() }
func (e seedError) Unwrap() error { return e.err }

func seedErrorf(format string, args ...any) error { return seedError{fmt.Errorf(format, args...)} }

// seedErr returns mistakes in the seed data as they are and maps database
// errors.
func seedErr(err error) error {
	var se seedError
	if errors.As(err, &se) {
		return err
	}
	return mapErr(err, "")
}

// SeedIncident is one demo incident for SeedIncidents. Times are instants
// (stored in UTC); a stage that did not happen is nil. Empty strings are
// stored as empty, except VictimSex and SuspectSex, where "" is NULL (not
// recorded).
type SeedIncident struct {
	// ExternalID is the incident's key within source 'seed'; it must begin
	// with the batch's prefix.
	ExternalID string
	// NumberYear is the year shown in the incident number (DV-YYYY-NNNNNN).
	NumberYear int

	ReceivedAt   time.Time
	DispatchedAt *time.Time
	EnRouteAt    *time.Time
	OnSceneAt    *time.Time
	ClearedAt    *time.Time

	TypeID        int64
	Priority      int
	DispositionID *int64

	DistrictID    *int64
	SettlementID  *int64
	Address       string
	LocationNotes string
	Latitude      *float64
	Longitude     *float64

	CallerName       string
	CallerPhone      string
	CallerRelation   string
	CallerSafeToCall *bool
	CallerAnonymous  bool
	CallerLanguage   string

	Weapons         *bool
	ChildrenPresent *bool
	Injuries        *bool

	VictimName   string
	VictimSex    string
	VictimAge    *int
	SuspectName  string
	SuspectSex   string
	SuspectAge   *int
	Relationship string
	Narrative    string
	HighDanger   bool
	CreatedBy    *int64

	Units  []SeedAssignment
	Events []SeedEvent
}

// SeedAssignment is a unit assigned to a seed incident.
type SeedAssignment struct {
	UnitID     int64
	AssignedAt time.Time
	ReleasedAt *time.Time
	AssignedBy *int64
	// UnitStatus, when not empty, becomes the unit's current status.
	UnitStatus refdata.UnitStatus
}

// SeedEvent is one entry of a seed incident's timeline.
type SeedEvent struct {
	At     time.Time
	UserID *int64
	Kind   string
	Data   map[string]any // stored as jsonb; nil is {}
}

// SeedBatch names a set of seed incidents by the prefix their external ids
// share.
type SeedBatch struct {
	Prefix string
	// OpenOnly makes the batch count as present only while at least one
	// of its incidents is still open (not cleared).
	OpenOnly bool
}

const seedPresentSQL = `SELECT count(*) FROM incidents
	WHERE source = 'seed' AND left(external_id, length($1)) = $1 AND ($2 = false OR cleared_at IS NULL)`

// SeedBatchPresent counts the incidents of batch b in the database (only
// the open ones when b.OpenOnly).
func (db *DB) SeedBatchPresent(ctx context.Context, b SeedBatch) (int64, error) {
	var n int64
	err := db.Pool.QueryRow(ctx, seedPresentSQL, b.Prefix, b.OpenOnly).Scan(&n)
	return n, mapErr(err, "")
}

// incidentCopyColumns are the columns SeedIncidents copies, in the order of
// seedIncidentRow.
var incidentCopyColumns = []string{
	"number", "source", "external_id",
	"received_at", "dispatched_at", "en_route_at", "on_scene_at", "cleared_at",
	"type_id", "priority", "disposition_id",
	"district_id", "settlement_id", "address", "location_notes", "latitude", "longitude",
	"caller_name", "caller_phone", "caller_relation", "caller_safe_to_call", "caller_anonymous", "caller_language",
	"weapons", "children_present", "injuries",
	"victim_name", "victim_sex", "victim_age", "suspect_name", "suspect_sex", "suspect_age",
	"relationship", "narrative", "high_danger", "created_by", "created_at", "updated_at",
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func seedIncidentRow(in *SeedIncident, number string) []any {
	updated := in.ReceivedAt
	for _, t := range []*time.Time{in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt} {
		if t != nil && t.After(updated) {
			updated = *t
		}
	}
	return []any{
		number, "seed", in.ExternalID,
		in.ReceivedAt, in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt,
		in.TypeID, in.Priority, in.DispositionID,
		in.DistrictID, in.SettlementID, in.Address, in.LocationNotes, in.Latitude, in.Longitude,
		in.CallerName, in.CallerPhone, in.CallerRelation, in.CallerSafeToCall, in.CallerAnonymous, in.CallerLanguage,
		in.Weapons, in.ChildrenPresent, in.Injuries,
		in.VictimName, nullText(in.VictimSex), in.VictimAge, in.SuspectName, nullText(in.SuspectSex), in.SuspectAge,
		in.Relationship, in.Narrative, in.HighDanger, in.CreatedBy, in.ReceivedAt, updated,
	}
}

// SeedIncidents loads the incidents of batch b, with their unit
// assignments and timelines, in one transaction with COPY, unless the batch
// is present already (see SeedBatchPresent); it returns how many incidents
// it inserted. Numbers come from incident_number_seq in order of received
// time, so that intake carries on after them. Assignments with a
// UnitStatus set their unit's status.
func (db *DB) SeedIncidents(ctx context.Context, b SeedBatch, incs []SeedIncident) (int64, error) {
	if b.Prefix == "" {
		return 0, seedErrorf("seed incidents: empty batch prefix")
	}
	order := make([]int, len(incs))
	extIDs := make([]string, len(incs))
	for i := range incs {
		order[i] = i
		extIDs[i] = incs[i].ExternalID
		if !strings.HasPrefix(incs[i].ExternalID, b.Prefix) {
			return 0, seedErrorf("seed incidents: external id %q lacks prefix %q", incs[i].ExternalID, b.Prefix)
		}
	}
	slices.SortStableFunc(order, func(i, j int) int { return incs[i].ReceivedAt.Compare(incs[j].ReceivedAt) })

	var inserted int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		inserted = 0
		if err := lockSeed(ctx, tx); err != nil {
			return err
		}
		var present int64
		if err := tx.QueryRow(ctx, seedPresentSQL, b.Prefix, b.OpenOnly).Scan(&present); err != nil {
			return err
		}
		if present > 0 || len(incs) == 0 {
			return nil
		}

		rows, err := tx.Query(ctx, `SELECT nextval('incident_number_seq') FROM generate_series(1, $1)`, len(incs))
		if err != nil {
			return err
		}
		seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		slices.Sort(seqs)

		n, err := tx.CopyFrom(ctx, pgx.Identifier{"incidents"}, incidentCopyColumns,
			pgx.CopyFromSlice(len(order), func(k int) ([]any, error) {
				in := &incs[order[k]]
				return seedIncidentRow(in, fmt.Sprintf("DV-%04d-%06d", in.NumberYear, seqs[k])), nil
			}))
		if err != nil {
			return err
		}
		inserted = n

		ids := make(map[string]int64, len(incs))
		rows, err = tx.Query(ctx, `SELECT external_id, id FROM incidents WHERE source = 'seed' AND external_id = ANY($1)`, extIDs)
		if err != nil {
			return err
		}
		var ext string
		var id int64
		if _, err := pgx.ForEachRow(rows, []any{&ext, &id}, func() error { ids[ext] = id; return nil }); err != nil {
			return err
		}

		var keys, units, events [][]any
		statuses := map[int64]refdata.UnitStatus{}
		for _, k := range order {
			in := &incs[k]
			id := ids[in.ExternalID]
			// The same matching keys as intake computes, so that the
			// history lookup finds seeded incidents too.
			keys = append(keys, keyRow(id, in.ReceivedAt,
				incident.KeysOf(db.rules, in.Address, in.CallerPhone, in.CallerName, in.VictimName, in.SuspectName)))
			for _, a := range in.Units {
				units = append(units, []any{id, a.UnitID, a.AssignedAt, a.ReleasedAt, a.AssignedBy})
				if a.UnitStatus != "" {
					statuses[a.UnitID] = a.UnitStatus
				}
			}
			for _, e := range in.Events {
				data := []byte("{}")
				if e.Data != nil {
					if data, err = json.Marshal(e.Data); err != nil {
						return seedErrorf("seed event data: %w", err)
					}
				}
				events = append(events, []any{id, e.At, e.UserID, e.Kind, string(data)})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"incident_keys"}, keyColumns, pgx.CopyFromRows(keys)); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"incident_units"},
			[]string{"incident_id", "unit_id", "assigned_at", "released_at", "assigned_by"}, pgx.CopyFromRows(units)); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"incident_events"},
			[]string{"incident_id", "at", "user_id", "kind", "data"}, pgx.CopyFromRows(events)); err != nil {
			return err
		}
		if len(statuses) > 0 {
			ub := &pgx.Batch{}
			for _, uid := range slices.Sorted(maps.Keys(statuses)) {
				ub.Queue(`UPDATE units SET status = $2 WHERE id = $1`, uid, string(statuses[uid]))
			}
			if _, err := sendCounting(ctx, tx, ub); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, seedErr(err)
	}
	if inserted > 1000 {
		// Fresh statistics, so that the first reports plan well before
		// autovacuum gets round to it.
		if _, err := db.Pool.Exec(ctx, `ANALYZE incidents, incident_keys, incident_units, incident_events`); err != nil {
			return inserted, mapErr(err, "")
		}
	}
	return inserted, nil
}
