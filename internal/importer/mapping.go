// Package importer reads historic calls for service from a CSV export of
// another computer-aided-dispatch (CAD) system: a JSON mapping says which
// column holds what, rows are converted and checked one by one, and the
// good ones are handed in batches to a Sink (internal/postgres stores
// them). Every row read is accounted for in the Summary: imported, a
// duplicate of an incident imported before, or rejected with its reason.
//
// The package imports no database or HTTP code.
package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// Mapping says how to read one CSV export. It is written by hand as JSON,
// e.g. internal/importer/testdata/synthetic-cad-mapping.json:
//
//	{"timezone": "Asia/Bishkek", "null_values": ["", "NULL"],
//	 "columns": {"external_id": "call_id", "received_at": "event_time", ...}}
type Mapping struct {
	// Description is a free note for people (where the export comes
	// from); the importer ignores it.
	Description string `json:"description,omitempty"`
	// Timezone is the IANA zone of times written without an offset. Empty
	// means the deployment's zone (DVR_TIME_ZONE).
	Timezone string `json:"timezone,omitempty"`
	// TimeFormat, when set, is the one layout of every time: a Go layout
	// ("2006-01-02 15:04:05") or strftime directives ("%Y-%m-%d %H:%M:%S").
	// Empty recognises ISO 8601, YYYY-MM-DD HH:MM:SS[.fraction] and
	// MM/DD/YYYY HH:MM[:SS] [AM|PM].
	TimeFormat string `json:"time_format,omitempty"`
	// NullValues are cell values that mean "not recorded" (compared after
	// trimming spaces, case-insensitively). An empty cell always does.
	NullValues []string `json:"null_values,omitempty"`
	// DefaultPriority (1-refdata.MaxLevel) is given to rows without a priority. Zero
	// means the least urgent priority configured (9 when none is).
	DefaultPriority int `json:"default_priority,omitempty"`
	// DefaultDistrict is the district (its name or code) of rows whose
	// district cell is empty, or of every row when no district column is
	// mapped. Every incident needs a district: one with none would be
	// visible only to users without a district (internal/access), so a
	// mapping must map the district column or set a default district.
	DefaultDistrict string `json:"default_district,omitempty"`
	// Columns names the CSV column (as in the header) of each field.
	Columns Columns `json:"columns"`
}

// Columns names the CSV header of each field; "" means the export has no
// such column. ReceivedAt is required, and District unless the mapping
// sets a DefaultDistrict.
type Columns struct {
	ExternalID   string `json:"external_id,omitempty"`
	ReceivedAt   string `json:"received_at"`
	DispatchedAt string `json:"dispatched_at,omitempty"`
	EnRouteAt    string `json:"en_route_at,omitempty"`
	OnSceneAt    string `json:"on_scene_at,omitempty"`
	ClearedAt    string `json:"cleared_at,omitempty"`
	Priority     string `json:"priority,omitempty"`
	IncidentType string `json:"incident_type,omitempty"`
	Disposition  string `json:"disposition,omitempty"`
	District     string `json:"district,omitempty"`
	Address      string `json:"address,omitempty"`
}

// field is one mappable field: its JSON name and where Columns keeps it.
type field struct {
	name string
	col  func(*Columns) *string
}

// fields lists the mappable fields in the order the summary names them.
var fields = []field{
	{"external_id", func(c *Columns) *string { return &c.ExternalID }},
	{"received_at", func(c *Columns) *string { return &c.ReceivedAt }},
	{"dispatched_at", func(c *Columns) *string { return &c.DispatchedAt }},
	{"en_route_at", func(c *Columns) *string { return &c.EnRouteAt }},
	{"on_scene_at", func(c *Columns) *string { return &c.OnSceneAt }},
	{"cleared_at", func(c *Columns) *string { return &c.ClearedAt }},
	{"priority", func(c *Columns) *string { return &c.Priority }},
	{"incident_type", func(c *Columns) *string { return &c.IncidentType }},
	{"disposition", func(c *Columns) *string { return &c.Disposition }},
	{"district", func(c *Columns) *string { return &c.District }},
	{"address", func(c *Columns) *string { return &c.Address }},
}

// MaxMappingBytes bounds a mapping document.
const MaxMappingBytes = 64 << 10

// ParseMapping reads a mapping from JSON. Unknown keys are refused, so
// that a misspelt column key ("recieved_at") is not silently ignored. The
// mapping is checked with Validate.
func ParseMapping(r io.Reader) (*Mapping, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxMappingBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMappingBytes {
		return nil, invalid("import.err.mapping_large", "KiB", MaxMappingBytes>>10)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, invalid("import.err.mapping_empty")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Mapping
	if err := dec.Decode(&m); err != nil {
		id, kv := jsonProblem(err)
		return nil, invalid(id, kv...)
	}
	if dec.More() {
		return nil, invalid("import.err.mapping_trailing")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// jsonProblem describes a JSON decoding error for people: a catalogue ID
// and its arguments. The details quoted (Go's description of a syntax
// error, JSON type names) are technical and stay in English.
func jsonProblem(err error) (string, []any) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "import.err.mapping_syntax", []any{"Offset", se.Offset, "Detail", se.Error()}
	case errors.As(err, &te):
		return "import.err.mapping_type", []any{"Key", strconv.Quote(te.Field), "Type", te.Type.String(), "Value", te.Value}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "import.err.mapping_eof", nil
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "import.err.mapping_unknown_key", []any{"Key", strings.TrimPrefix(err.Error(), "json: unknown field "),
			"Columns", strings.Join(fieldNames(), ", ")}
	}
	return "import.err.mapping_json", []any{"Detail", err.Error()}
}

func fieldNames() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// Validate checks m: received_at is mapped, a district is (or a default
// district set), the zone is known, the time
// format is a usable layout and the default priority is a level. The
// error's message is the first problem; its Fields hold every problem, by
// the mapping's key.
func (m *Mapping) Validate() error {
	problems := apperr.Fields{}
	var first string
	add := func(key, id string, kv ...any) {
		if first == "" {
			first = key
		}
		problems.Add(key, id, kv...)
	}
	for _, f := range fields {
		p := f.col(&m.Columns)
		*p = strings.TrimSpace(*p)
	}
	if m.Columns.ReceivedAt == "" {
		add("columns", "import.err.mapping_received_at")
	}
	if _, err := m.Location(time.UTC); err != nil {
		msg := apperr.MessageOf(err)
		add("timezone", msg.ID, msg.Args...)
	}
	if m.TimeFormat != "" {
		if _, err := goLayout(m.TimeFormat); err != nil {
			msg := apperr.MessageOf(err)
			add("time_format", msg.ID, msg.Args...)
		}
	}
	if m.DefaultPriority != 0 && (m.DefaultPriority < 1 || m.DefaultPriority > refdata.MaxLevel) {
		add("default_priority", "import.err.mapping_priority", "Priority", m.DefaultPriority)
	}
	for _, v := range m.NullValues {
		if len(v) > 100 {
			add("null_values", "import.err.mapping_null_long")
			break
		}
	}
	m.DefaultDistrict = strings.TrimSpace(m.DefaultDistrict)
	switch {
	case m.Columns.District == "" && m.DefaultDistrict == "":
		add("default_district", "import.err.mapping_district")
	case utf8.RuneCountInString(m.DefaultDistrict) > MaxNameLen:
		add("default_district", "import.err.mapping_district_long", "Max", MaxNameLen)
	}
	if first == "" {
		return nil
	}
	msg := problems[first]
	return &apperr.Error{Code: apperr.Invalid, Message: msg.ID, Args: msg.Args, Fields: problems}
}

// Location is the zone of times without an offset: the mapping's, or def
// when the mapping names none.
func (m *Mapping) Location(def *time.Location) (*time.Location, error) {
	if m.Timezone == "" {
		return def, nil
	}
	if strings.EqualFold(m.Timezone, "local") {
		return nil, invalid("import.err.mapping_zone_local")
	}
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		return nil, invalid("import.err.mapping_zone_unknown", "Zone", strconv.Quote(m.Timezone))
	}
	return loc, nil
}

// Mapped lists the fields m maps, by their JSON names.
func (m *Mapping) Mapped() []string {
	var out []string
	for _, f := range fields {
		if *f.col(&m.Columns) != "" {
			out = append(out, f.name)
		}
	}
	return out
}

// Unmapped lists the fields m leaves out, by their JSON names; the
// district is not left out when the mapping sets a default district.
func (m *Mapping) Unmapped() []string {
	var out []string
	for _, f := range fields {
		if *f.col(&m.Columns) == "" && (f.name != "district" || m.DefaultDistrict == "") {
			out = append(out, f.name)
		}
	}
	return out
}

// invalid is an Invalid error with a catalogue message. The messages of a
// mapping that cannot be used have "mapping" in their IDs, which the
// upload page uses to point at the mapping.
func invalid(id string, kv ...any) error {
	return apperr.New(apperr.Invalid, id, kv...)
}
