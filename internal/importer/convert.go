package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// Row is one converted CSV row, ready to store.
type Row struct {
	RowNo int // 1 is the first row after the header
	Line  int // the line of the file on which the row starts

	// ExternalID is the incident's id in the exporting system; when the
	// mapping has no external_id column it is derived from the row's
	// mapped cells ("row-" and a hash), so a re-import still matches.
	ExternalID string
	Times      Times // Times[Received] is never zero
	// Priority is 1-refdata.MaxLevel, or 0 when the row has none and the mapping sets
	// no default_priority (the store then chooses).
	Priority int
	// Names as in the export (spaces folded); "" when not recorded.
	IncidentType string
	Disposition  string
	District     string
	Address      string
	// OrderProblems is Times.OrderProblems().
	OrderProblems uint16
}

// Rejection is a row that was not imported, and why: every problem the
// row has, as catalogue messages (IDs reject.*), so that the upload page
// shows them in its reader's language and the CLI in English.
type Rejection struct {
	Row      int
	Line     int
	Problems []i18n.Msg
}

// Reason renders the problems in l's language; the CLI uses English.
func (r Rejection) Reason(l *i18n.Localizer) string {
	parts := make([]string, len(r.Problems))
	for i, m := range r.Problems {
		parts[i] = l.Render(m)
	}
	return strings.Join(parts, "; ")
}

// String is the rejection in English, for the CLI and logs.
func (r Rejection) String() string {
	return fmt.Sprintf("row %d (line %d): %s", r.Row, r.Line, r.Reason(english()))
}

// english is the localizer of the CLI's English reports.
func english() *i18n.Localizer { return i18n.Shared().Localizer("en") }

// Limits of the text fields, as the database checks them.
const (
	MaxExternalIDLen = 100
	MaxAddressLen    = 300
)

// EarliestTime is the earliest stage time an import accepts; later than
// an hour past the import's clock is refused too (in the future).
var EarliestTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// converter turns CSV records into Rows according to a mapping and the
// file's header.
type converter struct {
	col             [numFields]int // column of each field; -1 when not mapped
	width           int            // fields in the header
	times           *TimeParser
	nulls           []string
	defaultPriority int
	defaultDistrict string
	latest          time.Time
}

// Field indexes into converter.col, in the order of fields.
const (
	fExternalID = iota
	fReceivedAt
	fDispatchedAt
	fEnRouteAt
	fOnSceneAt
	fClearedAt
	fPriority
	fIncidentType
	fDisposition
	fDistrict
	fAddress
	numFields
)

// stageField maps each stage to its field.
var stageField = [numStages]int{fReceivedAt, fDispatchedAt, fEnRouteAt, fOnSceneAt, fClearedAt}

// newConverter matches the mapping's columns to the header: exactly, or
// else ignoring case. A mapped column missing from the header, or named
// twice in it, is an error that stops the import before any row.
func newConverter(m *Mapping, header []string, loc *time.Location, now time.Time) (*converter, error) {
	tp, err := NewTimeParser(m.TimeFormat, loc)
	if err != nil {
		return nil, err
	}
	c := &converter{width: len(header), times: tp, defaultPriority: m.DefaultPriority,
		defaultDistrict: refdata.CleanText(m.DefaultDistrict), latest: now.Add(time.Hour)}
	for _, v := range m.NullValues {
		if v = strings.TrimSpace(v); v != "" {
			c.nulls = append(c.nulls, v)
		}
	}
	clean := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a byte-order mark, as spreadsheets write
		}
		clean[i] = strings.TrimSpace(h)
	}
	problems := apperr.Fields{}
	var first string
	problem := func(field, id string, kv ...any) {
		if first == "" {
			first = field
		}
		problems.Add(field, id, append(kv, "Header", headerList(clean))...)
	}
	for k, f := range fields {
		c.col[k] = -1
		name := *f.col(&m.Columns)
		if name == "" {
			continue
		}
		exact, folded := matches(clean, name)
		switch {
		case len(exact) == 1:
			c.col[k] = exact[0]
		case len(exact) > 1:
			problem(f.name, "import.err.mapping_fit_twice", "Column", strconv.Quote(name), "Field", f.name, "N", len(exact))
		case len(folded) == 1:
			c.col[k] = folded[0]
		case len(folded) > 1:
			problem(f.name, "import.err.mapping_fit_case", "Column", strconv.Quote(name), "Field", f.name, "N", len(folded))
		default:
			problem(f.name, "import.err.mapping_fit_missing", "Column", strconv.Quote(name), "Field", f.name)
		}
	}
	if first != "" {
		// The message is the first problem; Fields hold every one, by
		// the mapping's field name.
		msg := problems[first]
		return nil, &apperr.Error{Code: apperr.Invalid, Message: msg.ID, Args: msg.Args, Fields: problems}
	}
	return c, nil
}

func matches(header []string, name string) (exact, folded []int) {
	for i, h := range header {
		if h == name {
			exact = append(exact, i)
		} else if strings.EqualFold(h, name) {
			folded = append(folded, i)
		}
	}
	return exact, folded
}

// headerList quotes the first columns of a header for an error message.
func headerList(h []string) string {
	const max = 60
	var q []string
	for i, s := range h {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(h)-max))
			break
		}
		q = append(q, strconv.Quote(truncate(s, 60)))
	}
	if len(q) == 0 {
		return "no columns"
	}
	return strings.Join(q, ", ")
}

// isNull says whether a trimmed cell means "not recorded".
func (c *converter) isNull(v string) bool {
	if v == "" {
		return true
	}
	for _, n := range c.nulls {
		if strings.EqualFold(v, n) {
			return true
		}
	}
	return false
}

// cell returns the trimmed value of field k, "" when the field is not
// mapped or the value means null.
func (c *converter) cell(rec []string, k int) string {
	i := c.col[k]
	if i < 0 {
		return ""
	}
	v := strings.TrimSpace(rec[i])
	if c.isNull(v) {
		return ""
	}
	return v
}

// convert fills row from rec. It returns nil on success and otherwise
// every problem for which the row is rejected.
func (c *converter) convert(rec []string, row *Row) []i18n.Msg {
	if len(rec) != c.width {
		return []i18n.Msg{i18n.M("reject.width", "Got", len(rec), "Want", c.width)}
	}
	var problems []i18n.Msg
	bad := func(k int, id string, kv ...any) {
		problems = append(problems, i18n.M(id, append([]any{"Field", fields[k].name}, kv...)...))
	}
	for k := range numFields {
		if i := c.col[k]; i >= 0 {
			switch v := rec[i]; {
			case !utf8.ValidString(v):
				bad(k, "reject.not_utf8")
			case strings.IndexByte(v, 0) >= 0:
				bad(k, "reject.nul")
			}
		}
	}
	if len(problems) > 0 {
		return problems
	}

	*row = Row{RowNo: row.RowNo, Line: row.Line}
	if c.col[fExternalID] >= 0 {
		switch v := c.cell(rec, fExternalID); {
		case v == "":
			bad(fExternalID, "reject.id_empty")
		case runeLen(v) > MaxExternalIDLen:
			bad(fExternalID, "reject.too_long", "Max", MaxExternalIDLen)
		default:
			row.ExternalID = v
		}
	}
	for s, k := range stageField {
		v := c.cell(rec, k)
		if v == "" {
			if Stage(s) == Received {
				bad(k, "reject.received_empty")
			}
			continue
		}
		t, err := c.times.Parse(v)
		switch {
		case err != nil:
			m := timeProblem(err)
			bad(k, m.ID, append([]any{"Value", quote(v)}, m.Args...)...)
		case t.Before(EarliestTime):
			bad(k, "reject.too_early", "Value", quote(v), "Year", strconv.Itoa(EarliestTime.Year()))
		case t.After(c.latest):
			bad(k, "reject.future", "Value", quote(v))
		default:
			row.Times[s] = t.UTC()
		}
	}
	if v := c.cell(rec, fPriority); v != "" {
		p, err := parsePriority(v)
		if err != nil {
			bad(fPriority, "reject.priority", "Value", quote(v))
		}
		row.Priority = p
	} else {
		row.Priority = c.defaultPriority
	}
	name := func(k int, max int) string {
		v := refdata.CleanText(c.cell(rec, k))
		if runeLen(v) > max {
			bad(k, "reject.too_long", "Max", max)
			return ""
		}
		return v
	}
	row.IncidentType = name(fIncidentType, MaxNameLen)
	row.Disposition = name(fDisposition, MaxNameLen)
	row.District = name(fDistrict, MaxNameLen)
	if row.District == "" && c.cell(rec, fDistrict) == "" {
		// An incident with no district would be hidden from every
		// district's users (see Mapping.DefaultDistrict).
		if row.District = c.defaultDistrict; row.District == "" {
			bad(fDistrict, "reject.district_empty")
		}
	}
	row.Address = name(fAddress, MaxAddressLen)
	if len(problems) > 0 {
		return problems
	}
	if c.col[fExternalID] < 0 {
		row.ExternalID = c.syntheticID(rec)
	}
	row.OrderProblems = row.Times.OrderProblems()
	return nil
}

// syntheticID derives an external id from the mapped cells of a row, for
// exports without an id column: the same row gives the same id.
func (c *converter) syntheticID(rec []string) string {
	h := sha256.New()
	for k := range numFields {
		if i := c.col[k]; i >= 0 {
			h.Write([]byte(strings.TrimSpace(rec[i])))
		}
		h.Write([]byte{0x1f})
	}
	return "row-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// parsePriority reads a level: 1 to 9, optionally written P1 or 1.0.
func parsePriority(v string) (int, error) {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "P"), "p")
	v = strings.TrimSuffix(v, ".0")
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > refdata.MaxLevel {
		return 0, fmt.Errorf("priority out of range")
	}
	return p, nil
}

// quote quotes a cell for a message, cut to 40 characters.
func quote(v string) string { return strconv.Quote(truncate(v, 40)) }

func truncate(s string, n int) string {
	if runeLen(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
