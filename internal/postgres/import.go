package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/importer"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// importLockKey serialises imports: each checks which external ids exist
// before it copies the new rows in, and numbers them per year.
const importLockKey int64 = 0x647672696d70 // "dvrimp"

// ImportOptions are the settings of one import run.
type ImportOptions struct {
	// FileName names the file in the summary and the audit trail (only
	// its base name is kept).
	FileName string
	// Location is the deployment's zone: times without an offset are read
	// in it when the mapping names no zone, and the year in an imported
	// incident's number is its received year there. Default UTC.
	Location *time.Location
	// By is who imports (created_by and the audit row).
	By audit.Actor
	// Run tunes the reading (batch size, rejections). Its Location is
	// set from Location.
	Run importer.Options
}

// NotRecordedType is the incident type given to imported rows without one.
const NotRecordedType = "Not recorded"

// Import reads a CSV export from src with mapping m and stores every new
// incident in one transaction, together with the reference data the export
// names that does not exist yet (districts, incident types, priorities and
// dispositions) and one audit row ("import.run") with the counts: an import
// is stored whole or not at all. Rows whose external id was imported
// before are counted as duplicates and left alone, so importing the same
// file again adds nothing.
//
// Imported incidents have source 'import', the export's id as
// external_id and a number IM-YYYY-NNNNNN, numbered per received year in
// the order they are stored (intake's DV- numbers are not used up). Their
// stage times are stored as the export gives them, also when out of order
// (the summary counts those; reports leave such an interval out); a stage
// the export lacks is NULL. No timeline events are written.
func (db *DB) Import(ctx context.Context, src io.Reader, m *importer.Mapping, opt ImportOptions) (*importer.Summary, error) {
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	opt.FileName = cleanFileName(opt.FileName)
	ropt := opt.Run
	ropt.Location = opt.Location
	var sum *importer.Summary
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		sum = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, importLockKey); err != nil {
			return err
		}
		sink, err := newImportSink(ctx, tx, opt)
		if err != nil {
			return err
		}
		s, err := importer.Run(ctx, src, m, sink, ropt)
		if err != nil {
			return err
		}
		s.File = opt.FileName
		s.Created = sink.created
		slices.Sort(s.Created.Priorities)
		slices.SortFunc(s.Created.IncidentTypes, func(a, b importer.CreatedType) int { return strings.Compare(a.Code, b.Code) })
		slices.SortFunc(s.Created.Districts, func(a, b importer.CreatedRef) int { return strings.Compare(a.Code, b.Code) })
		slices.SortFunc(s.Created.Dispositions, func(a, b importer.CreatedRef) int { return strings.Compare(a.Code, b.Code) })
		if s.DefaultPriority == 0 {
			s.DefaultPriority = sink.fallbackPriority
		}
		sum = s
		return appendAudit(ctx, tx, &audit.Entry{Actor: opt.By, Action: "import.run", RecordType: "import",
			RecordID: opt.FileName, Detail: importDetail(s)})
	})
	// The types, districts and priorities it created are read at once
	// by this process (refcache.go).
	db.ref.changed()
	if err != nil {
		err = mapErr(err, "")
		// A refused or failed import is audited too, in its own
		// transaction (best effort: the database may be what failed).
		outcome := audit.Failed
		if apperr.CodeOf(err) == apperr.Invalid {
			outcome = audit.Invalid
		}
		_ = db.Audit(context.WithoutCancel(ctx), audit.Entry{Actor: opt.By, Action: "import.run", RecordType: "import",
			RecordID: opt.FileName, Outcome: outcome, Detail: map[string]any{"error": string(apperr.CodeOf(err))}})
		return nil, err
	}
	if sum.Imported > 1000 {
		// Fresh statistics for the reports, as after seeding.
		if _, err := db.Pool.Exec(ctx, `ANALYZE incidents`); err != nil {
			return sum, mapErr(err, "")
		}
	}
	return sum, nil
}

// cleanFileName keeps the base name of an uploaded or given file, short
// and printable.
func cleanFileName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name
}

// importDetail is the audit row's detail: counts and codes, never data.
func importDetail(s *importer.Summary) map[string]any {
	codes := func(refs []importer.CreatedRef) []any {
		out := make([]any, len(refs))
		for i, r := range refs {
			out[i] = r.Code
		}
		return out
	}
	types := make([]any, len(s.Created.IncidentTypes))
	for i, t := range s.Created.IncidentTypes {
		types[i] = t.Code
	}
	prios := make([]any, len(s.Created.Priorities))
	for i, p := range s.Created.Priorities {
		prios[i] = p
	}
	return map[string]any{
		"file": s.File, "time_zone": s.TimeZone, "rows_read": s.RowsRead, "imported": s.Imported,
		"duplicates": s.Duplicates, "rejected": s.Rejected, "inconsistent": s.Inconsistent,
		"created_types": types, "created_districts": codes(s.Created.Districts),
		"created_dispositions": codes(s.Created.Dispositions), "created_priorities": prios,
	}
}

// refIndex finds reference records by name (case-insensitive) or code.
type refIndex struct {
	table   string // districts, incident_types or dispositions
	codeLen int
	byName  map[string]int64
	byCode  map[string]int64
}

func loadRefIndex(ctx context.Context, tx pgx.Tx, table string, codeLen int) (*refIndex, error) {
	ix := &refIndex{table: table, codeLen: codeLen, byName: map[string]int64{}, byCode: map[string]int64{}}
	rows, err := tx.Query(ctx, `SELECT id, code, name FROM `+table+` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var id int64
	var code, name string
	_, err = pgx.ForEachRow(rows, []any{&id, &code, &name}, func() error {
		ix.byCode[code] = id
		if k := nameKey(name); ix.byName[k] == 0 {
			ix.byName[k] = id
		}
		return nil
	})
	return ix, err
}

func nameKey(name string) string { return strings.ToUpper(refdata.CleanText(name)) }

// importSink stores batches of converted rows inside the import's
// transaction.
type importSink struct {
	tx  pgx.Tx
	loc *time.Location
	by  *int64

	types, districts, dispositions *refIndex
	priorities                     map[int]bool
	fallbackPriority               int // for rows without a priority: the least urgent level at the start, or 9
	yearNext                       map[int]int64

	created importer.Created

	// Per-batch buffers, reused.
	ids    []string
	exists map[string]bool
	vals   []any
}

func newImportSink(ctx context.Context, tx pgx.Tx, opt ImportOptions) (*importSink, error) {
	s := &importSink{tx: tx, loc: opt.Location, by: nullID(opt.By.UserID), priorities: map[int]bool{},
		yearNext: map[int]int64{}, exists: map[string]bool{}, vals: make([]any, len(importColumns))}
	var err error
	if s.types, err = loadRefIndex(ctx, tx, "incident_types", importer.TypeCodeLen); err != nil {
		return nil, err
	}
	if s.districts, err = loadRefIndex(ctx, tx, "districts", importer.DistrictCodeLen); err != nil {
		return nil, err
	}
	if s.dispositions, err = loadRefIndex(ctx, tx, "dispositions", importer.TypeCodeLen); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT level FROM priorities`)
	if err != nil {
		return nil, err
	}
	var level int
	if _, err := pgx.ForEachRow(rows, []any{&level}, func() error {
		s.priorities[level] = true
		s.fallbackPriority = max(s.fallbackPriority, level)
		return nil
	}); err != nil {
		return nil, err
	}
	if s.fallbackPriority == 0 {
		s.fallbackPriority = 9
	}
	return s, nil
}

// resolve returns the id of the record of ix named name, creating it when
// neither its name nor (when name is written as a code) its code exists.
func (s *importSink) resolve(ctx context.Context, ix *refIndex, name string) (int64, error) {
	key := nameKey(name)
	if id, ok := ix.byName[key]; ok {
		return id, nil
	}
	if id, ok := ix.byCode[refdata.CleanCode(name)]; ok {
		ix.byName[key] = id
		return id, nil
	}
	code := importer.CodeFor(name, ix.codeLen)
	if _, taken := ix.byCode[code]; taken {
		code = importer.HashedCode(name, ix.codeLen)
		if _, taken := ix.byCode[code]; taken {
			return 0, fmt.Errorf("import: no free code for %s %q", ix.table, name)
		}
	}
	var (
		sql     string
		args    []any
		created func()
	)
	switch ix.table {
	case "incident_types":
		t := refdata.IncidentType{Code: code, Name: name, IsDV: importer.IsDVName(name), Active: true}
		if err := t.Validate(); err != nil {
			return 0, fmt.Errorf("import: incident type %q: %w", code, err)
		}
		sql, args = `INSERT INTO incident_types (code, name, is_dv, active) VALUES ($1, $2, $3, true)
			ON CONFLICT (code) DO NOTHING RETURNING id`, []any{t.Code, t.Name, t.IsDV}
		created = func() {
			s.created.IncidentTypes = append(s.created.IncidentTypes, importer.CreatedType{Code: t.Code, Name: t.Name, IsDV: t.IsDV})
		}
	case "districts":
		d := refdata.District{Code: code, Name: name, Active: true}
		if err := d.Validate(); err != nil {
			return 0, fmt.Errorf("import: district %q: %w", code, err)
		}
		sql, args = `INSERT INTO districts (code, name, active) VALUES ($1, $2, true)
			ON CONFLICT (code) DO NOTHING RETURNING id`, []any{d.Code, d.Name}
		created = func() {
			s.created.Districts = append(s.created.Districts, importer.CreatedRef{Code: d.Code, Name: d.Name})
		}
	default:
		d := refdata.Disposition{Code: code, Name: name, Active: true}
		if err := d.Validate(); err != nil {
			return 0, fmt.Errorf("import: disposition %q: %w", code, err)
		}
		sql, args = `INSERT INTO dispositions (code, name, active) VALUES ($1, $2, true)
			ON CONFLICT (code) DO NOTHING RETURNING id`, []any{d.Code, d.Name}
		created = func() {
			s.created.Dispositions = append(s.created.Dispositions, importer.CreatedRef{Code: d.Code, Name: d.Name})
		}
	}
	var id int64
	err := s.tx.QueryRow(ctx, sql, args...).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// An administrator created the code while the import ran: use it.
		if err := s.tx.QueryRow(ctx, `SELECT id FROM `+ix.table+` WHERE code = $1`, code).Scan(&id); err != nil {
			return 0, err
		}
	case err != nil:
		return 0, err
	default:
		created()
	}
	ix.byName[key], ix.byCode[code] = id, id
	return id, nil
}

// priority returns the level of a row, creating a priority the export
// names that does not exist ("Priority N", no targets).
func (s *importSink) priority(ctx context.Context, level int) (int, error) {
	if level == 0 {
		level = s.fallbackPriority
	}
	if s.priorities[level] {
		return level, nil
	}
	p := refdata.Priority{Level: level, Label: fmt.Sprintf("Priority %d", level)}
	if err := p.Validate(); err != nil {
		return 0, fmt.Errorf("import: priority %d: %w", level, err)
	}
	if _, err := s.tx.Exec(ctx, `INSERT INTO priorities (level, label) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		p.Level, p.Label); err != nil {
		return 0, err
	}
	s.priorities[level] = true
	s.created.Priorities = append(s.created.Priorities, level)
	return level, nil
}

// number returns the next number IM-YYYY-NNNNNN of received year y.
func (s *importSink) number(ctx context.Context, y int) (string, error) {
	next, ok := s.yearNext[y]
	if !ok {
		prefix := fmt.Sprintf("IM-%04d-", y)
		err := s.tx.QueryRow(ctx, `SELECT coalesce(max(substr(number, $2)::bigint), 0) + 1 FROM incidents
			WHERE number LIKE $1 || '%' AND substr(number, $2) ~ '^[0-9]{1,18}$'`, prefix, len(prefix)+1).Scan(&next)
		if err != nil {
			return "", err
		}
	}
	s.yearNext[y] = next + 1
	return fmt.Sprintf("IM-%04d-%06d", y, next), nil
}

// importColumns are the incident columns an import fills, in the order of
// the values Store copies.
var importColumns = []string{"number", "source", "external_id", "received_at", "dispatched_at", "en_route_at",
	"on_scene_at", "cleared_at", "type_id", "priority", "disposition_id", "district_id", "address", "created_by"}

// Store copies the rows whose external ids are new into incidents.
func (s *importSink) Store(ctx context.Context, rows []importer.Row, inserted []bool) error {
	s.ids = s.ids[:0]
	for i := range rows {
		s.ids = append(s.ids, rows[i].ExternalID)
	}
	clear(s.exists)
	r, err := s.tx.Query(ctx, `SELECT external_id FROM incidents WHERE source = 'import' AND external_id = ANY($1)`, s.ids)
	if err != nil {
		return err
	}
	var ext string
	if _, err := pgx.ForEachRow(r, []any{&ext}, func() error { s.exists[ext] = true; return nil }); err != nil {
		return err
	}
	// Resolve names and numbers before the copy: both may query.
	type resolved struct {
		number                    string
		typeID                    int64
		priority                  int
		dispositionID, districtID *int64
	}
	res := make([]resolved, len(rows))
	for i := range rows {
		row := &rows[i]
		if s.exists[row.ExternalID] {
			continue
		}
		inserted[i] = true
		v := &res[i]
		typeName := row.IncidentType
		if typeName == "" {
			typeName = NotRecordedType
		}
		if v.typeID, err = s.resolve(ctx, s.types, typeName); err != nil {
			return err
		}
		if v.priority, err = s.priority(ctx, row.Priority); err != nil {
			return err
		}
		if row.Disposition != "" {
			id, err := s.resolve(ctx, s.dispositions, row.Disposition)
			if err != nil {
				return err
			}
			v.dispositionID = &id
		}
		if row.District != "" {
			id, err := s.resolve(ctx, s.districts, row.District)
			if err != nil {
				return err
			}
			v.districtID = &id
		}
		if v.number, err = s.number(ctx, row.Times[importer.Received].In(s.loc).Year()); err != nil {
			return err
		}
	}
	n := 0
	for _, ok := range inserted {
		if ok {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	i := -1
	copied, err := s.tx.CopyFrom(ctx, pgx.Identifier{"incidents"}, importColumns, pgx.CopyFromFunc(func() ([]any, error) {
		for i++; i < len(rows) && !inserted[i]; i++ {
		}
		if i >= len(rows) {
			return nil, nil
		}
		row, v := &rows[i], &res[i]
		stamp := func(st importer.Stage) any {
			if t := row.Times[st]; !t.IsZero() {
				return t
			}
			return nil
		}
		vals := s.vals
		vals[0], vals[1], vals[2] = v.number, "import", row.ExternalID
		vals[3], vals[4], vals[5], vals[6], vals[7] = row.Times[importer.Received], stamp(importer.Dispatched),
			stamp(importer.EnRoute), stamp(importer.OnScene), stamp(importer.Cleared)
		vals[8], vals[9], vals[10], vals[11] = v.typeID, v.priority, v.dispositionID, v.districtID
		vals[12], vals[13] = row.Address, s.by
		return vals, nil
	}))
	if err == nil && copied != int64(n) {
		err = fmt.Errorf("import: copied %d incidents, expected %d", copied, n)
	}
	if err != nil {
		return err
	}
	// The same matching keys as intake computes, so that the history
	// lookup finds imported incidents at the flat and building too.
	s.ids = s.ids[:0]
	for i := range rows {
		if inserted[i] {
			s.ids = append(s.ids, rows[i].ExternalID)
		}
	}
	r, err = s.tx.Query(ctx, `SELECT external_id, id, received_at FROM incidents WHERE source = 'import' AND external_id = ANY($1)`, s.ids)
	if err != nil {
		return err
	}
	type stored struct {
		id       int64
		received time.Time
	}
	byExt := make(map[string]stored, n)
	var st stored
	if _, err := pgx.ForEachRow(r, []any{&ext, &st.id, &st.received}, func() error { byExt[ext] = st; return nil }); err != nil {
		return err
	}
	keys := make([][]any, 0, n)
	for i := range rows {
		if inserted[i] {
			st := byExt[rows[i].ExternalID]
			flat, building := match.Address(rows[i].Address)
			keys = append(keys, keyRow(st.id, st.received, match.Keys{Flat: flat, Building: building}))
		}
	}
	_, err = s.tx.CopyFrom(ctx, pgx.Identifier{"incident_keys"}, keyColumns, pgx.CopyFromRows(keys))
	return err
}
