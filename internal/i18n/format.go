package i18n

import (
	"math"
	"time"

	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Int writes n with the language's digit grouping (12,345 or 12 345).
func (l *Localizer) Int(n int) string {
	return l.printer().Sprint(number.Decimal(n))
}

// Decimal writes f with prec digits after the language's decimal separator.
func (l *Localizer) Decimal(f float64, prec int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return l.printer().Sprint(number.Decimal(f, number.Scale(prec)))
}

// Percent writes a percentage given as 0–100 with one decimal, as the
// language writes it (85.3% or 85,3 %).
func (l *Localizer) Percent(pct float64) string {
	if math.IsNaN(pct) || math.IsInf(pct, 0) {
		return "–"
	}
	return l.printer().Sprint(number.Percent(pct/100, number.Scale(1)))
}

// printer is the language's number printer, made once: a Printer does not
// change after it is made, so the requests share it.
func (l *Localizer) printer() *message.Printer {
	if l == nil {
		return Shared().Localizer(Default).numbers
	}
	return l.numbers
}

// Layouts of dates and times per language: ISO order in English (the
// control room's and the partners' reports), day.month.year in the others,
// always on a 24-hour clock.
var (
	dateLayouts        = map[string]string{"en": "2006-01-02", "ru": "02.01.2006", "ky": "02.01.2006", "ka": "02.01.2006"}
	dateTimeLayouts    = map[string]string{"en": "2006-01-02 15:04", "ru": "02.01.2006 15:04", "ky": "02.01.2006 15:04", "ka": "02.01.2006 15:04"}
	dateTimeSecLayouts = map[string]string{"en": "2006-01-02 15:04:05", "ru": "02.01.2006 15:04:05", "ky": "02.01.2006 15:04:05", "ka": "02.01.2006 15:04:05"}
)

// Date writes the calendar day of t in loc.
func (l *Localizer) Date(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(orUTC(loc)).Format(layout(dateLayouts, l))
}

// DateTime writes t in loc to the minute.
func (l *Localizer) DateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(orUTC(loc)).Format(layout(dateTimeLayouts, l))
}

// DateTimeSec writes t in loc to the second, as timelines and audit logs
// show it.
func (l *Localizer) DateTimeSec(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(orUTC(loc)).Format(layout(dateTimeSecLayouts, l))
}

func layout(m map[string]string, l *Localizer) string {
	if l != nil {
		if s, ok := m[l.Lang]; ok {
			return s
		}
	}
	return m[Default]
}

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
