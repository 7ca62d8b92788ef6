package importer

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/i18n"
)

// TimeParser reads the times of one export: with a fixed layout when the
// mapping gives a time_format, otherwise by recognising ISO 8601,
// YYYY-MM-DD HH:MM:SS[.fraction] and MM/DD/YYYY HH:MM[:SS] [AM|PM]. Times
// without an offset are wall-clock times in Loc. (Where Loc changes its
// clocks, a time that falls in the hour skipped in spring is read as in
// Go's time.Date; one in the hour repeated in autumn is read as its first
// occurrence.)
type TimeParser struct {
	Loc    *time.Location
	Layout string // a Go layout; "" recognises the formats above
}

// NewTimeParser returns the parser of format (a Go layout, strftime
// directives, or "" for the recognised formats) in zone loc.
func NewTimeParser(format string, loc *time.Location) (*TimeParser, error) {
	if loc == nil {
		loc = time.UTC
	}
	p := &TimeParser{Loc: loc}
	if format != "" {
		l, err := goLayout(format)
		if err != nil {
			return nil, err
		}
		p.Layout = l
	}
	return p, nil
}

// TimeError is why a value is not a time: a catalogue message (reject.*,
// with the arguments Field and Value still to add). Error is English.
type TimeError struct{ Msg i18n.Msg }

func (e *TimeError) Error() string {
	return english().Render(i18n.M(e.Msg.ID, append([]any{"Field", "time", "Value", "value"}, e.Msg.Args...)...))
}

func timeErr(id string, kv ...any) error { return &TimeError{Msg: i18n.M(id, kv...)} }

// errNotTime is the message for a value that is no recognised time.
var errNotTime = timeErr("reject.not_time")

// timeProblem is the message of a Parse error.
func timeProblem(err error) i18n.Msg {
	var te *TimeError
	if errors.As(err, &te) {
		return te.Msg
	}
	return i18n.M("reject.time_other", "Err", err.Error())
}

// Parse reads one time. Surrounding spaces are ignored.
func (p *TimeParser) Parse(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if p.Layout != "" {
		t, err := time.ParseInLocation(p.Layout, s, p.Loc)
		if err != nil {
			return time.Time{}, timeErr("reject.time_format", "Layout", strconv.Quote(p.Layout))
		}
		return t, nil
	}
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		return parseISO(s, p.Loc)
	case strings.IndexByte(s, '/') > 0:
		return parseUS(s, p.Loc)
	}
	return time.Time{}, errNotTime
}

// parseISO reads YYYY-MM-DD, then T or a space, then HH:MM[:SS[.fraction]]
// and an optional offset: Z, ±HH, ±HHMM or ±HH:MM.
func parseISO(s string, loc *time.Location) (time.Time, error) {
	date, rest := s[:10], s[10:]
	if rest == "" {
		return time.Time{}, timeErr("reject.no_time_of_day")
	}
	switch rest[0] {
	case 'T', 't', ' ':
		rest = strings.TrimLeft(rest[1:], " ")
	default:
		return time.Time{}, errNotTime
	}
	clock, zone := rest, ""
	if n := len(rest); n > 0 && (rest[n-1] == 'Z' || rest[n-1] == 'z') {
		clock, zone = rest[:n-1], "Z"
	} else if i := strings.LastIndexAny(rest, "+-"); i > 0 {
		clock, zone = rest[:i], rest[i:]
	}
	clock = strings.TrimRight(clock, " ")
	layout := "2006-01-02T"
	switch strings.Count(clock, ":") {
	case 1:
		layout += "15:04"
	case 2:
		layout += "15:04:05" // a fraction after the seconds is accepted when parsing
	default:
		return time.Time{}, errNotTime
	}
	value := date + "T" + clock
	switch {
	case zone == "":
		t, err := time.ParseInLocation(layout, value, loc)
		if err != nil {
			return time.Time{}, errNotTime
		}
		return t, nil
	case zone == "Z":
		layout += "Z07:00"
	case len(zone) == 3: // +06
		layout += "-07"
	case len(zone) == 5: // +0600
		layout += "-0700"
	case len(zone) == 6 && zone[3] == ':': // +06:00
		layout += "-07:00"
	default:
		return time.Time{}, timeErr("reject.bad_offset")
	}
	t, err := time.Parse(layout, value+zone)
	if err != nil {
		return time.Time{}, errNotTime
	}
	return t, nil
}

// parseUS reads M/D/YYYY H:MM[:SS[.fraction]] with an optional AM or PM
// (12-hour clock) or without (24-hour clock).
func parseUS(s string, loc *time.Location) (time.Time, error) {
	u := strings.ToUpper(s)
	ampm := ""
	if strings.HasSuffix(u, "AM") || strings.HasSuffix(u, "PM") {
		ampm = u[len(u)-2:]
		u = strings.TrimRight(u[:len(u)-2], " ")
	}
	date, clock, ok := strings.Cut(u, " ")
	if !ok {
		return time.Time{}, timeErr("reject.no_time_of_day")
	}
	clock = strings.TrimLeft(clock, " ")
	layout := "1/2/2006 15"
	if ampm != "" {
		layout = "1/2/2006 3"
	}
	switch strings.Count(clock, ":") {
	case 1:
		layout += ":04"
	case 2:
		layout += ":04:05"
	default:
		return time.Time{}, errNotTime
	}
	value := date + " " + clock
	if ampm != "" {
		layout += " PM"
		value += " " + ampm
	}
	t, err := time.ParseInLocation(layout, value, loc)
	if err != nil {
		return time.Time{}, errNotTime
	}
	return t, nil
}

// strftime maps strftime directives to Go layout elements.
var strftime = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03", 'M': "04", 'S': "05",
	'f': "000000", 'p': "PM", 'z': "-0700", 'Z': "MST", 'b': "Jan", 'h': "Jan", 'B': "January",
	'a': "Mon", 'A': "Monday", 'j': "002", 'T': "15:04:05", 'D': "01/02/06", 'F': "2006-01-02", 'R': "15:04",
	'%': "%",
}

// goLayout turns a time_format into a Go layout: strftime directives when
// it has a %, a Go layout as it is otherwise. The layout must carry the
// year, month, day, hour and minute, which is checked by formatting a
// sample time and reading it back.
func goLayout(format string) (string, error) {
	layout := format
	if strings.Contains(format, "%") {
		var b strings.Builder
		for i := 0; i < len(format); i++ {
			if format[i] != '%' {
				b.WriteByte(format[i])
				continue
			}
			if i+1 == len(format) {
				return "", invalid("import.err.mapping_format_lone", "Format", strconv.Quote(format))
			}
			i++
			g, ok := strftime[format[i]]
			if !ok {
				return "", invalid("import.err.mapping_format_directive", "Format", strconv.Quote(format), "Directive", string(format[i]))
			}
			b.WriteString(g)
		}
		layout = b.String()
	}
	sample := time.Date(2031, time.November, 23, 14, 57, 39, 0, time.UTC)
	back, err := time.Parse(layout, sample.Format(layout))
	if err != nil || back.Year() != sample.Year() || back.Month() != sample.Month() || back.Day() != sample.Day() ||
		back.Hour() != sample.Hour() || back.Minute() != sample.Minute() {
		return "", invalid("import.err.mapping_format_incomplete", "Format", strconv.Quote(format))
	}
	return layout, nil
}
