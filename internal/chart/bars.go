package chart

import (
	"strings"
)

// Bars is a horizontal bar chart: one bar per item (a district, a
// settlement), with an optional marker on each (a second figure, e.g. a
// 90th percentile beside a median) and reference lines (a target).
type Bars struct {
	ID    string // unique on the page; prefixes the ids of the title and description
	Title string
	Desc  string
	Width int // of the viewBox; default 640; the height follows the number of bars

	Bars         []Bar
	ValueName    string // what the bars measure, for the legend and tooltips ("Median")
	MarkerName   string // what the markers measure ("90th percentile"); "" for no markers
	EmphasisName string // what an emphasised bar is, for the legend ("IDP settlement"); "" for none
	MutedName    string // what a muted bar is, for the legend ("whole district"); "" for none
	Refs         []Ref  // vertical reference lines
	NoFigure     string // the tooltip of a bar without a figure; default "no figure"
	NoData       string // drawn in place of a bar without a figure; default "no data"

	Ticks  []float64            // tick values; nil: Ticks of the largest value
	Format func(float64) string // tick and tooltip values; nil: the plain number
}

// Bar is one item.
type Bar struct {
	Label    string   // drawn at the left (shortened when long; the tooltip has it whole)
	Value    *float64 // nil: no figure (drawn as "no data")
	Marker   *float64
	Note     string // drawn at the right of the chart, e.g. how many incidents the bar rests on
	Emphasis bool   // drawn in the second colour, with an outline (e.g. an IDP settlement)
	Muted    bool   // drawn in grey (e.g. a district beside its settlements)
}

// Row geometry of a bar chart.
const (
	barRow    = 26.0
	barHeight = 15.0
)

// SVG draws the chart.
func (c Bars) SVG() string {
	w := float64(c.Width)
	if w <= 0 {
		w = 640
	}
	format := formatter(c.Format)
	var all []float64
	for _, br := range c.Bars {
		if br.Value != nil {
			all = append(all, *br.Value)
		}
		if br.Marker != nil {
			all = append(all, *br.Marker)
		}
	}
	for _, r := range c.Refs {
		all = append(all, r.Value)
	}
	ticks := c.Ticks
	if len(ticks) == 0 {
		ticks = Ticks(maxOf(all...), 5)
	}
	top := ticks[len(ticks)-1]
	if top <= 0 {
		top = 1
	}

	labelW, noteW := 0.0, 0.0
	for _, br := range c.Bars {
		labelW = max(labelW, textWidth(br.Label, 12))
		noteW = max(noteW, textWidth(br.Note, 11))
	}
	maxChars := 0
	if limit := w * 0.32; labelW > limit {
		labelW, maxChars = limit, int(limit/textWidth("x", 12))
	}
	left := labelW + 12
	right := noteW + 14
	plotW := w - left - right
	x := func(v float64) float64 { return left + v/top*plotW }

	// Legend entries, laid out in rows from the plot's left edge.
	type entry struct {
		name   string
		sample func(b *strings.Builder, x, y float64) // draws the key at x, y (the row's top)
	}
	swatch := func(fill, extra string) func(*strings.Builder, float64, float64) {
		return func(b *strings.Builder, x, y float64) {
			b.WriteString(`<rect x="` + num(x) + `" y="` + num(y+2) + `" width="18" height="12" fill="` + fill + `"` + extra + "/>")
		}
	}
	stroke := func(colour string, width float64, dash string) func(*strings.Builder, float64, float64) {
		return func(b *strings.Builder, x, y float64) { line(b, x+9, y, x+9, y+16, colour, width, dash) }
	}
	var entries []entry
	if c.ValueName != "" {
		entries = append(entries, entry{c.ValueName, swatch(barFill, "")})
	}
	if c.MarkerName != "" {
		entries = append(entries, entry{c.MarkerName, stroke(markFill, 3, "")})
	}
	if c.EmphasisName != "" {
		entries = append(entries, entry{c.EmphasisName, swatch(barEmph, ` stroke="`+ink+`" stroke-width="1.5"`)})
	}
	if c.MutedName != "" {
		entries = append(entries, entry{c.MutedName, swatch(barMuted, "")})
	}
	for _, r := range c.Refs {
		colour, dash := r.style()
		entries = append(entries, entry{r.Name, stroke(colour, 2, dash)})
	}
	type placed struct {
		entry
		x, y float64
	}
	var legend []placed
	lx, ly := left, 5.0
	for _, e := range entries {
		ew := 23 + textWidth(e.name, 12)
		if lx > left && lx+ew > w {
			lx, ly = left, ly+20
		}
		legend = append(legend, placed{e, lx, ly})
		lx += ew + 18
	}
	upper, bottom := ly+29, 30.0
	h := upper + float64(len(c.Bars))*barRow + bottom

	var b strings.Builder
	svgOpen(&b, c.ID, "chart-bars", w, h, c.Title, c.Desc)
	b.WriteString(`<g class="legend">`)
	for _, e := range legend {
		e.sample(&b, e.x, e.y)
		text(&b, e.x+23, e.y+13, "", "", e.name)
	}
	b.WriteString("</g>")

	// Grid and axis.
	base := upper + float64(len(c.Bars))*barRow
	b.WriteString(`<g class="axis x-axis" font-size="11" fill="` + muted + `">`)
	for _, t := range ticks {
		line(&b, x(t), upper-4, x(t), base, grid, 1, "")
		text(&b, x(t), base+16, "middle", "", format(t))
	}
	line(&b, left, upper-4, left, base, muted, 1, "")
	b.WriteString("</g>")

	// Bars.
	for i, br := range c.Bars {
		cy := upper + float64(i)*barRow + barRow/2
		tip := br.Label + ": "
		if br.Value != nil {
			tip += c.ValueName + " " + format(*br.Value)
		} else {
			tip += or(c.NoFigure, "no figure")
		}
		if br.Marker != nil && c.MarkerName != "" {
			tip += ", " + c.MarkerName + " " + format(*br.Marker)
		}
		if br.Note != "" {
			tip += " (" + br.Note + ")"
		}
		titled(&b, tip, func() {
			text(&b, left-8, cy+4, "end", "", truncate(br.Label, maxChars))
			if br.Value != nil {
				fill, extra := barFill, ""
				switch {
				case br.Emphasis:
					fill, extra = barEmph, ` stroke="`+ink+`" stroke-width="1.5"`
				case br.Muted:
					fill = barMuted
				}
				bw := max(x(*br.Value)-left, 1)
				b.WriteString(`<rect x="` + num(left) + `" y="` + num(cy-barHeight/2) + `" width="` + num(bw) + `" height="` +
					num(barHeight) + `" fill="` + fill + `"` + extra + "/>")
			} else {
				text(&b, left+6, cy+4, "", `font-size="11" fill="`+muted+`"`, or(c.NoData, "no data"))
			}
			if br.Marker != nil {
				line(&b, x(*br.Marker), cy-barHeight/2-3, x(*br.Marker), cy+barHeight/2+3, markFill, 3, "")
			}
			if br.Note != "" {
				text(&b, w-right+8, cy+4, "", `font-size="11"`, br.Note)
			}
		})
	}

	// Reference lines over the bars.
	for _, r := range c.Refs {
		titled(&b, r.Name+": "+format(r.Value), func() {
			colour, dash := r.style()
			line(&b, x(r.Value), upper-4, x(r.Value), base, colour, 2, dash)
		})
	}
	b.WriteString("</svg>")
	return b.String()
}
