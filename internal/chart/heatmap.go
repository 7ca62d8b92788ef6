package chart

import (
	"slices"
	"strings"
)

// HeatMap is a grid of cells shaded by their value: e.g. a figure per day
// of the week (rows) and hour of the day (columns). Darker is larger.
type HeatMap struct {
	ID    string // unique on the page; prefixes the ids of the title and description
	Title string
	Desc  string
	Width int // of the viewBox; default 640; the height follows the number of rows

	Rows  []string // row labels, drawn at the left
	Cols  []string // column labels, drawn at the top
	Cells [][]Cell // [row][column]

	Legend string               // what the shades measure ("Median response")
	Format func(float64) string // legend values; nil: the plain number

	NoFigures    string // the legend when no cell has a figure; default "no figures"
	NoneMeasured string // the legend of the pale cells; default "no incidents measured"
}

// Cell is one cell of a heat map.
type Cell struct {
	Value *float64 // nil: no figure (left pale, without text)
	Text  string   // drawn in the cell: keep it to three or four characters
	Title string   // the cell's tooltip: its figure in full
}

// HeatColours are the shades of a heat map from the smallest values to the
// largest: a single-hue ramp whose lightness falls steadily, so that it
// reads in greyscale too.
var HeatColours = []string{"#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"}

// darkFrom is the first shade on which text is drawn white.
const darkFrom = 4

// SVG draws the chart.
func (c HeatMap) SVG() string {
	w := float64(c.Width)
	if w <= 0 {
		w = 640
	}
	format := formatter(c.Format)
	// Shades by rank (quantiles), so that one outlier does not leave every
	// other cell in the palest shade: a value's shade is its rank among
	// the cells' values scaled to the shades, the smallest palest and the
	// largest darkest; equal values share a shade.
	var values []float64
	for _, row := range c.Cells {
		for _, cell := range row {
			if cell.Value != nil {
				values = append(values, *cell.Value)
			}
		}
	}
	slices.Sort(values)
	bins := len(HeatColours)
	bin := func(v float64) int {
		if len(values) < 2 {
			return 0
		}
		rank, _ := slices.BinarySearch(values, v)
		n := len(values) - 1
		return (rank*(bins-1) + n/2) / n
	}
	// The range of values each shade stands for, for the legend.
	lows, highs := make([]float64, bins), make([]float64, bins)
	used := make([]bool, bins)
	for _, v := range values {
		k := bin(v)
		if !used[k] {
			lows[k], used[k] = v, true
		}
		highs[k] = v
	}

	labelW := 0.0
	for _, r := range c.Rows {
		labelW = max(labelW, textWidth(r, 12))
	}
	// Row labels are short words ("Mon"), whose capitals run wider than
	// the average glyph: a fifth more room.
	left, right := labelW*1.2+10, 4.0
	legendH, colLabelH := 44.0, 18.0
	upper := legendH + colLabelH
	cols := len(c.Cols)
	cellW := (w - left - right) / float64(max(cols, 1))
	const cellH = 28.0
	h := upper + float64(len(c.Rows))*cellH + 6

	var b strings.Builder
	svgOpen(&b, c.ID, "chart-heatmap", w, h, c.Title, c.Desc)

	// Legend: the shades with the ranges of values they stand for.
	b.WriteString(`<g class="legend" font-size="11">`)
	text(&b, 0, 14, "", `font-size="12"`, c.Legend)
	lx := 0.0
	if len(values) > 0 {
		lx = textWidth(c.Legend, 12) + 14
		for k := range bins {
			if !used[k] {
				continue
			}
			label := format(lows[k])
			if highs[k] != lows[k] {
				label += "–" + format(highs[k])
			}
			b.WriteString(`<rect x="` + num(lx) + `" y="3" width="16" height="14" fill="` + HeatColours[k] + `" stroke="` + grid + `"/>`)
			text(&b, lx+20, 14, "", "", label)
			lx += 20 + textWidth(label, 11) + 12
		}
	} else {
		text(&b, textWidth(c.Legend, 12)+14, 14, "", `fill="`+muted+`"`, or(c.NoFigures, "no figures"))
	}
	b.WriteString(`<rect x="0" y="24" width="16" height="14" fill="` + noData + `" stroke="` + grid + `"/>`)
	text(&b, 20, 35, "", `fill="`+muted+`"`, or(c.NoneMeasured, "no incidents measured"))
	b.WriteString("</g>")

	// Column labels.
	b.WriteString(`<g class="axis" font-size="11" fill="` + muted + `">`)
	for j, l := range c.Cols {
		text(&b, left+(float64(j)+0.5)*cellW, upper-6, "middle", "", l)
	}
	for i, l := range c.Rows {
		text(&b, left-6, upper+float64(i)*cellH+cellH/2+4, "end", `fill="`+ink+`" font-size="12"`, l)
	}
	b.WriteString("</g>")

	// Cells.
	b.WriteString(`<g class="cells" font-size="10" text-anchor="middle">`)
	for i, row := range c.Cells {
		for j, cell := range row {
			if j >= cols || i >= len(c.Rows) {
				continue
			}
			cx, cy := left+float64(j)*cellW, upper+float64(i)*cellH
			fill, ink2 := noData, ink
			if cell.Value != nil {
				k := bin(*cell.Value)
				fill = HeatColours[k]
				if k >= darkFrom {
					ink2 = "#fff"
				}
			}
			mark := func() {
				b.WriteString(`<rect x="` + num(cx) + `" y="` + num(cy) + `" width="` + num(cellW) + `" height="` + num(cellH) +
					`" fill="` + fill + `" stroke="#fff" stroke-width="1"/>`)
				if cell.Text != "" && cell.Value != nil {
					b.WriteString(`<text x="` + num(cx+cellW/2) + `" y="` + num(cy+cellH/2+3.5) + `" fill="` + ink2 + `">` +
						esc(cell.Text) + "</text>")
				}
			}
			if cell.Title != "" {
				titled(&b, cell.Title, mark)
			} else {
				mark()
			}
		}
	}
	b.WriteString("</g></svg>")
	return b.String()
}
