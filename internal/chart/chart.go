// Package chart draws small charts on the server as SVG: a line chart (a
// trend over time), a horizontal bar chart (a figure per place) and a
// heat-map grid (a figure per hour and weekday).
//
// The charts are meant to be embedded in HTML pages and printed:
//
//   - each is an <svg role="img"> named by its <title> and described by
//     its <desc> (aria-labelledby), and every mark carries a <title> with
//     its figure, so a screen reader or a hover tells the numbers; the
//     page shows the same numbers in a table beside the chart;
//   - colours and strokes are SVG presentation attributes, never style
//     attributes or <style> elements, so a Content-Security-Policy of
//     style-src 'self' allows them; series differ by dash pattern as well
//     as colour, so a black-and-white print tells them apart;
//   - the output is deterministic: the same chart gives the same bytes;
//   - text (names typed by administrators) is escaped.
//
// The package knows nothing of response times: values are plain numbers,
// formatted by the caller's Format function.
package chart

import (
	"html"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Font is the font family of every chart's text.
const Font = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"

// Colours: dark enough to print legibly, distinguishable for the common
// colour-vision deficiencies (blue, orange, purple), with a neutral grey
// for axes and grid.
const (
	ink      = "#15202b"
	muted    = "#4d5963"
	grid     = "#c9d1d9"
	target   = "#b42318"
	noData   = "#f3f5f7"
	barFill  = "#0b5394"
	barEmph  = "#6a1b9a"
	barMuted = "#8a949e"
	markFill = "#15202b"
)

// seriesColours colour the series of a line chart in order.
var seriesColours = []string{"#0b5394", "#b54708", "#6a1b9a", "#1b6e37"}

// seriesDashes dash the series in order: solid, dashed, dotted, dash-dot.
var seriesDashes = []string{"", "7 4", "2 3", "8 3 2 3"}

// Ref is a reference line across a chart: a target (red, dashed) or,
// when Neutral, another figure to compare with (grey, dotted).
type Ref struct {
	Name    string
	Value   float64
	Neutral bool
}

// style is the stroke colour and dash pattern of the reference line.
func (r Ref) style() (colour, dash string) {
	if r.Neutral {
		return muted, "2 3"
	}
	return target, "5 3"
}

// num writes a coordinate with at most one decimal.
func num(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// esc escapes text for SVG content and attribute values.
func esc(s string) string { return html.EscapeString(s) }

// svgOpen starts a chart: the svg element with its title and description.
func svgOpen(b *strings.Builder, id, class string, w, h float64, title, desc string) {
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" class="chart`)
	if class != "" {
		b.WriteString(" " + esc(class))
	}
	b.WriteString(`" id="` + esc(id) + `" role="img" aria-labelledby="` + esc(id) + `-title ` + esc(id) + `-desc" viewBox="0 0 ` +
		num(w) + " " + num(h) + `" width="` + num(w) + `" height="` + num(h) + `" font-family="` + Font + `" font-size="12" fill="` + ink + `">`)
	b.WriteString(`<title id="` + esc(id) + `-title">` + esc(title) + `</title>`)
	b.WriteString(`<desc id="` + esc(id) + `-desc">` + esc(desc) + `</desc>`)
}

// text writes a text element; anchor is start, middle or end.
func text(b *strings.Builder, x, y float64, anchor, extra, s string) {
	b.WriteString(`<text x="` + num(x) + `" y="` + num(y) + `"`)
	if anchor != "" && anchor != "start" {
		b.WriteString(` text-anchor="` + anchor + `"`)
	}
	if extra != "" {
		b.WriteString(" " + extra)
	}
	b.WriteString(">" + esc(s) + "</text>")
}

// line writes a line element.
func line(b *strings.Builder, x1, y1, x2, y2 float64, stroke string, width float64, dash string) {
	b.WriteString(`<line x1="` + num(x1) + `" y1="` + num(y1) + `" x2="` + num(x2) + `" y2="` + num(y2) + `" stroke="` + stroke +
		`" stroke-width="` + num(width) + `"`)
	if dash != "" {
		b.WriteString(` stroke-dasharray="` + dash + `"`)
	}
	b.WriteString("/>")
}

// titled wraps a mark in a group whose title is its figure, for hovering
// and screen readers.
func titled(b *strings.Builder, title string, mark func()) {
	b.WriteString("<g><title>" + esc(title) + "</title>")
	mark()
	b.WriteString("</g>")
}

// truncate shortens s to at most n characters, ending in "…".
func truncate(s string, n int) string {
	if n < 2 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// textWidth estimates the width of s at font size size: an average glyph
// of a sans-serif font is a little over half the size (generously, so
// that labels are not clipped).
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * 0.62
}

// Ticks chooses round tick values from 0 up to at least max, about n of
// them: steps of 1, 2, 2.5 or 5 times a power of ten. A max of 0 or less
// gives 0 and 1.
func Ticks(max float64, n int) []float64 {
	if n < 1 {
		n = 1
	}
	if !(max > 0) || math.IsInf(max, 0) {
		return []float64{0, 1}
	}
	raw := max / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return ticksOf(step, max)
}

// durationSteps are the tick steps of a duration axis, in seconds.
var durationSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
	172800, 604800}

// DurationTicks chooses ticks for an axis of seconds, about n of them, at
// steps people read on a clock: 15 s, 30 s, 1, 2, 5, 10, 15 and 30 min, 1,
// 2, 3, 6 and 12 h, days.
func DurationTicks(maxSeconds float64, n int) []float64 {
	if n < 1 {
		n = 1
	}
	if !(maxSeconds > 0) || math.IsInf(maxSeconds, 0) {
		return []float64{0, 60}
	}
	raw := maxSeconds / float64(n)
	step := durationSteps[len(durationSteps)-1]
	for _, s := range durationSteps {
		if s >= raw {
			step = s
			break
		}
	}
	if step == durationSteps[len(durationSteps)-1] && raw > step {
		return Ticks(maxSeconds, n)
	}
	return ticksOf(step, maxSeconds)
}

// ticksOf lists 0, step, 2·step ... up to the first at or above max.
func ticksOf(step, max float64) []float64 {
	out := []float64{0}
	for i := 1; ; i++ {
		v := float64(i) * step
		out = append(out, v)
		if v >= max || i > 1000 {
			return out
		}
	}
}

// maxOf is the largest of the values (0 for none).
func maxOf(vs ...float64) float64 {
	m := 0.0
	for _, v := range vs {
		if v > m && !math.IsInf(v, 0) && !math.IsNaN(v) {
			m = v
		}
	}
	return m
}

// formatter returns f, or a plain number format.
func formatter(f func(float64) string) func(float64) string {
	if f != nil {
		return f
	}
	return func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
}

func itoa(n int) string { return strconv.Itoa(n) }

// or is s, or def when s is empty: the English default of a text that the
// caller may give in the reader's language.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
