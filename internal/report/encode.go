package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/dvresponse/dvresponse/internal/refdata"
)

// Format is an export format.
type Format string

// The formats.
const (
	JSON Format = "json"
	CSV  Format = "csv"
)

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case JSON, CSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: use json or csv", s)
}

// ContentType is the media type of the format.
func (f Format) ContentType() string {
	if f == CSV {
		return "text/csv; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// Write encodes r in format f. Both encodings carry the same figures,
// rounded the same way: seconds to the millisecond, shares to a tenth of a
// percent. An absent figure (no incident measured, no target) is null in
// JSON and an empty cell in CSV, never 0.
func Write(w io.Writer, r Result, f Format) error {
	switch f {
	case JSON:
		return WriteJSON(w, r)
	case CSV:
		return WriteCSV(w, r)
	}
	return fmt.Errorf("report: unknown format %q", f)
}

// Rounding of the encoded figures.
func roundSeconds(v float64) float64 { return math.Round(v*1000) / 1000 }
func roundPct(v float64) float64     { return math.Round(v*10) / 10 }

func roundPtr(v *float64, round func(float64) float64) *float64 {
	if v == nil {
		return nil
	}
	x := round(*v)
	return &x
}

// The JSON shape:
//
//	{"from": "2026-03-01", "to": "2026-03-28", "group_by": "priority",
//	 "time_zone": "Asia/Bishkek", "filters": {"dv_only": "1"},
//	 "groups": [{"key": "1", "label": "Immediate danger", "incidents": 12, "corrected": 1,
//	   "intervals": {"call_processing": {"n": 11, "missing": 1, "inconsistent": 0,
//	     "median_s": 42.5, "p90_s": 80.1, "p95_s": 95.05, "target_s": 60,
//	     "within_target_pct": 72.7}, "turnout": {...}, ...}}]}
//
// time_zone, filters, label, corrected, missing and inconsistent are
// additions to the shape the issue asks for; intervals are in report order.
type jsonResult struct {
	From     string            `json:"from"`
	To       string            `json:"to"`
	GroupBy  string            `json:"group_by"`
	TimeZone string            `json:"time_zone"`
	Filters  map[string]string `json:"filters"`
	Groups   []jsonGroup       `json:"groups"`
}

type jsonGroup struct {
	Key       string        `json:"key"`
	Label     string        `json:"label"`
	Incidents int           `json:"incidents"`
	Corrected int           `json:"corrected"`
	Intervals jsonIntervals `json:"intervals"`
}

type jsonSummary struct {
	N               int      `json:"n"`
	Missing         int      `json:"missing"`
	Inconsistent    int      `json:"inconsistent"`
	MedianS         *float64 `json:"median_s"`
	P90S            *float64 `json:"p90_s"`
	P95S            *float64 `json:"p95_s"`
	TargetS         *int     `json:"target_s"`
	WithinTargetPct *float64 `json:"within_target_pct"`
}

func toJSONSummary(s Summary) jsonSummary {
	return jsonSummary{N: s.N, Missing: s.Missing, Inconsistent: s.Inconsistent,
		MedianS: roundPtr(s.Median, roundSeconds), P90S: roundPtr(s.P90, roundSeconds), P95S: roundPtr(s.P95, roundSeconds),
		TargetS: s.TargetS, WithinTargetPct: roundPtr(s.WithinTargetPct, roundPct)}
}

// jsonIntervals is an object whose keys keep report order.
type jsonIntervals map[refdata.Interval]Summary

func (m jsonIntervals) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, iv := range refdata.Intervals {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(string(iv))
		v, err := json.Marshal(toJSONSummary(m[iv]))
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// WriteJSON writes r as one indented JSON object.
func WriteJSON(w io.Writer, r Result) error {
	out := jsonResult{From: r.Query.From.String(), To: r.Query.To.String(), GroupBy: string(r.Query.GroupBy),
		Filters: r.Query.filterValues(), Groups: make([]jsonGroup, 0, len(r.Groups))}
	if r.Query.Location != nil {
		out.TimeZone = r.Query.Location.String()
	}
	for _, g := range r.Groups {
		out.Groups = append(out.Groups, jsonGroup{Key: g.Key, Label: g.Label, Incidents: g.Incidents,
			Corrected: g.Corrected, Intervals: jsonIntervals(g.Intervals)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// CSVHeader is the header row of the CSV encoding: one row per group and
// interval, in report order.
var CSVHeader = []string{"from", "to", "group_by", "key", "label", "incidents", "corrected", "interval",
	"n", "missing", "inconsistent", "median_s", "p90_s", "p95_s", "target_s", "within_target_pct"}

// WriteCSV writes r as CSV (RFC 4180, CRLF line ends) with CSVHeader.
func WriteCSV(w io.Writer, r Result) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	for _, g := range r.Groups {
		for _, iv := range refdata.Intervals {
			s := toJSONSummary(g.Intervals[iv])
			target := ""
			if s.TargetS != nil {
				target = strconv.Itoa(*s.TargetS)
			}
			row := []string{r.Query.From.String(), r.Query.To.String(), string(r.Query.GroupBy),
				cell(g.Key), cell(g.Label), strconv.Itoa(g.Incidents), strconv.Itoa(g.Corrected), string(iv),
				strconv.Itoa(s.N), strconv.Itoa(s.Missing), strconv.Itoa(s.Inconsistent),
				num(s.MedianS), num(s.P90S), num(s.P95S), target, num(s.WithinTargetPct)}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell defuses text that a spreadsheet would run as a formula (a name
// typed by an administrator starting with =, +, - or @).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Figures is an export read back: for each group and interval (the key
// is the group's key, "|" and the interval), the text of every CSV column
// but the first three, as the encoding wrote it ("" for null). It lets
// tests and tools check that two exports carry the same figures.
type Figures map[string]map[string]string

// ReadFigures reads an export written by Write.
func ReadFigures(data []byte, f Format) (Figures, error) {
	out := Figures{}
	switch f {
	case CSV:
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 || !slices.Equal(rows[0], CSVHeader) {
			return nil, fmt.Errorf("report: CSV without the header %v", CSVHeader)
		}
		for _, row := range rows[1:] {
			m := map[string]string{}
			for i, col := range CSVHeader[3:] {
				m[col] = row[3+i]
			}
			out[m["key"]+"|"+m["interval"]] = m
		}
		return out, nil
	case JSON:
		var doc struct {
			Groups []struct {
				Key       string                                `json:"key"`
				Label     string                                `json:"label"`
				Incidents json.Number                           `json:"incidents"`
				Corrected json.Number                           `json:"corrected"`
				Intervals map[string]map[string]json.RawMessage `json:"intervals"`
			} `json:"groups"`
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, err
		}
		for _, g := range doc.Groups {
			for iv, s := range g.Intervals {
				m := map[string]string{"key": cell(g.Key), "label": cell(g.Label), "incidents": g.Incidents.String(),
					"corrected": g.Corrected.String(), "interval": iv}
				for _, col := range CSVHeader[8:] {
					v := strings.TrimSpace(string(s[col]))
					if v == "null" {
						v = ""
					}
					m[col] = v
				}
				out[cell(g.Key)+"|"+iv] = m
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("report: unknown format %q", f)
}
