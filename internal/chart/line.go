package chart

import (
	"strings"
)

// Line is a line chart of one or more series over categories (weeks,
// days): the trend of a figure over time.
type Line struct {
	ID     string // unique on the page; prefixes the ids of the title and description
	Title  string // what the chart shows, for screen readers and as a tooltip
	Desc   string // a sentence on how to read it, or what it shows
	Width  int    // of the viewBox; default 640
	Height int    // default 260

	Labels []string // the categories along the x axis, drawn (keep them short)
	Names  []string // optional longer names of the categories, for the marks' tooltips
	Series []Series
	Refs   []Ref // horizontal reference lines, e.g. a target

	YTicks  []float64            // tick values of the y axis; nil: Ticks of the largest value
	YFormat func(float64) string // tick and tooltip values; nil: the plain number
	YLabel  string               // the unit of the y axis, drawn above it
}

// Series is one line: a value per category, nil where there is none (the
// line has a gap there).
type Series struct {
	Name   string
	Values []*float64
}

// SVG draws the chart.
func (c Line) SVG() string {
	w, h := float64(c.Width), float64(c.Height)
	if w <= 0 {
		w = 640
	}
	if h <= 0 {
		h = 260
	}
	format := formatter(c.YFormat)
	var all []float64
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v != nil {
				all = append(all, *v)
			}
		}
	}
	for _, r := range c.Refs {
		all = append(all, r.Value)
	}
	ticks := c.YTicks
	if len(ticks) == 0 {
		ticks = Ticks(maxOf(all...), 5)
	}
	top := ticks[len(ticks)-1]
	if top <= 0 {
		top = 1
	}

	labelW := 0.0
	for _, t := range ticks {
		labelW = max(labelW, textWidth(format(t), 11))
	}
	left, right, upper, bottom := labelW+14, 16.0, 40.0, 34.0
	plotW, plotH := w-left-right, h-upper-bottom
	y := func(v float64) float64 { return upper + plotH - v/top*plotH }
	n := len(c.Labels)
	step := plotW / float64(max(n, 1))
	x := func(i int) float64 { return left + (float64(i)+0.5)*step }

	var b strings.Builder
	svgOpen(&b, c.ID, "chart-line", w, h, c.Title, c.Desc)

	// Legend: a sample of each series' line, then each reference line.
	lx := left
	legend := func(name, colour, dash string) {
		line(&b, lx, 14, lx+22, 14, colour, 2.5, dash)
		text(&b, lx+27, 18, "", "", name)
		lx += 27 + textWidth(name, 12) + 18
	}
	b.WriteString(`<g class="legend">`)
	for i, s := range c.Series {
		legend(s.Name, seriesColours[i%len(seriesColours)], seriesDashes[i%len(seriesDashes)])
	}
	for _, r := range c.Refs {
		colour, dash := r.style()
		legend(r.Name, colour, dash)
	}
	b.WriteString("</g>")

	// Y axis: grid lines and labels.
	b.WriteString(`<g class="axis y-axis" font-size="11" fill="` + muted + `">`)
	if c.YLabel != "" {
		text(&b, 2, upper-10, "", "", c.YLabel)
	}
	for _, t := range ticks {
		line(&b, left, y(t), w-right, y(t), grid, 1, "")
		text(&b, left-6, y(t)+4, "end", "", format(t))
	}
	b.WriteString("</g>")

	// X axis: every label that fits.
	every := 1
	widest := 0.0
	for _, l := range c.Labels {
		widest = max(widest, textWidth(l, 11))
	}
	for every < n && float64(every)*step < widest+6 {
		every++
	}
	b.WriteString(`<g class="axis x-axis" font-size="11" fill="` + muted + `">`)
	line(&b, left, upper+plotH, w-right, upper+plotH, muted, 1, "")
	for i, l := range c.Labels {
		if i%every != 0 {
			continue
		}
		line(&b, x(i), upper+plotH, x(i), upper+plotH+4, muted, 1, "")
		text(&b, x(i), upper+plotH+17, "middle", "", l)
	}
	b.WriteString("</g>")

	// Reference lines.
	for _, r := range c.Refs {
		titled(&b, r.Name+": "+format(r.Value), func() {
			colour, dash := r.style()
			line(&b, left, y(r.Value), w-right, y(r.Value), colour, 1.5, dash)
		})
	}

	// Series: a path through each run of values, and a point per value.
	for i, s := range c.Series {
		colour, dash := seriesColours[i%len(seriesColours)], seriesDashes[i%len(seriesDashes)]
		var d strings.Builder
		pen := false
		for j, v := range s.Values {
			if j >= n {
				break
			}
			if v == nil {
				pen = false
				continue
			}
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteString(" ")
				}
				d.WriteString("M")
			}
			d.WriteString(num(x(j)) + " " + num(y(*v)))
			pen = true
		}
		b.WriteString(`<g class="series series-` + itoa(i+1) + `">`)
		if d.Len() > 0 {
			b.WriteString(`<path d="` + d.String() + `" fill="none" stroke="` + colour + `" stroke-width="2.5" stroke-linejoin="round"`)
			if dash != "" {
				b.WriteString(` stroke-dasharray="` + dash + `"`)
			}
			b.WriteString("/>")
		}
		for j, v := range s.Values {
			if j >= n || v == nil {
				continue
			}
			name := c.Labels[j]
			if j < len(c.Names) && c.Names[j] != "" {
				name = c.Names[j]
			}
			titled(&b, name+", "+s.Name+": "+format(*v), func() {
				b.WriteString(`<circle cx="` + num(x(j)) + `" cy="` + num(y(*v)) + `" r="3.5" fill="` + colour + `" stroke="#fff" stroke-width="1"/>`)
			})
		}
		b.WriteString("</g>")
	}
	b.WriteString("</svg>")
	return b.String()
}
