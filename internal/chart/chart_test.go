package chart

import (
	"encoding/xml"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func ptr(v float64) *float64 { return &v }

// element is a parsed SVG element: its name, attributes and children.
type element struct {
	name     string
	attrs    map[string]string
	text     string
	children []*element
}

// parse reads an SVG document strictly (well-formed XML) into elements.
func parse(t *testing.T, svg string) *element {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	dec.Strict = true
	var stack []*element
	var root *element
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if root == nil {
		t.Fatal("no root element")
	}
	return root
}

// all lists e and every element under it, in document order.
func (e *element) all() []*element {
	out := []*element{e}
	for _, c := range e.children {
		out = append(out, c.all()...)
	}
	return out
}

// find lists the elements named name under e.
func (e *element) find(name string) []*element {
	var out []*element
	for _, x := range e.all() {
		if x.name == name {
			out = append(out, x)
		}
	}
	return out
}

// checkAccessible checks what every chart must be: an svg with role img,
// labelled by its title and described by its desc, with no style
// attribute or element anywhere (the page's CSP forbids them) and no
// script.
func checkAccessible(t *testing.T, svg, id, title, desc string) *element {
	t.Helper()
	root := parse(t, svg)
	if root.name != "svg" || root.attrs["role"] != "img" || root.attrs["id"] != id {
		t.Errorf("root %s role %q id %q, want svg role img id %q", root.name, root.attrs["role"], root.attrs["id"], id)
	}
	if got, want := root.attrs["aria-labelledby"], id+"-title "+id+"-desc"; got != want {
		t.Errorf("aria-labelledby %q, want %q", got, want)
	}
	if len(root.children) < 2 || root.children[0].name != "title" || root.children[0].attrs["id"] != id+"-title" ||
		root.children[0].text != title || root.children[1].name != "desc" || root.children[1].text != desc {
		t.Errorf("the svg does not start with <title id=%s-title>%s</title><desc>%s</desc>", id, title, desc)
	}
	if !strings.HasPrefix(root.attrs["viewBox"], "0 0 ") {
		t.Errorf("viewBox %q", root.attrs["viewBox"])
	}
	for _, e := range root.all() {
		if e.name == "style" || e.name == "script" || e.name == "foreignObject" {
			t.Errorf("<%s> element in a chart", e.name)
		}
		for k := range e.attrs {
			if k == "style" || strings.HasPrefix(k, "on") {
				t.Errorf("<%s %s=...> in a chart", e.name, k)
			}
		}
	}
	return root
}

func minutes(v float64) string { return strconv.FormatFloat(v/60, 'f', -1, 64) + " min" }

func TestChartLineGolden(t *testing.T) {
	c := Line{ID: "t", Title: "Trend", Desc: "Two weeks.", Width: 200, Height: 120,
		Labels: []string{"W1", "W2"}, Series: []Series{{Name: "Median", Values: []*float64{ptr(60), ptr(120)}}},
		YTicks: []float64{0, 120}, YFormat: minutes}
	const want = `<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-line" id="t" role="img" aria-labelledby="t-title t-desc" viewBox="0 0 200 120" width="200" height="120" font-family="` + Font + `" font-size="12" fill="#15202b">` +
		`<title id="t-title">Trend</title><desc id="t-desc">Two weeks.</desc>` +
		`<g class="legend"><line x1="48.1" y1="14" x2="70.1" y2="14" stroke="#0b5394" stroke-width="2.5"/><text x="75.1" y="18">Median</text></g>` +
		`<g class="axis y-axis" font-size="11" fill="#4d5963"><line x1="48.1" y1="86" x2="184" y2="86" stroke="#c9d1d9" stroke-width="1"/><text x="42.1" y="90" text-anchor="end">0 min</text>` +
		`<line x1="48.1" y1="40" x2="184" y2="40" stroke="#c9d1d9" stroke-width="1"/><text x="42.1" y="44" text-anchor="end">2 min</text></g>` +
		`<g class="axis x-axis" font-size="11" fill="#4d5963"><line x1="48.1" y1="86" x2="184" y2="86" stroke="#4d5963" stroke-width="1"/>` +
		`<line x1="82.1" y1="86" x2="82.1" y2="90" stroke="#4d5963" stroke-width="1"/><text x="82.1" y="103" text-anchor="middle">W1</text>` +
		`<line x1="150" y1="86" x2="150" y2="90" stroke="#4d5963" stroke-width="1"/><text x="150" y="103" text-anchor="middle">W2</text></g>` +
		`<g class="series series-1"><path d="M82.1 63 L150 40" fill="none" stroke="#0b5394" stroke-width="2.5" stroke-linejoin="round"/>` +
		`<g><title>W1, Median: 1 min</title><circle cx="82.1" cy="63" r="3.5" fill="#0b5394" stroke="#fff" stroke-width="1"/></g>` +
		`<g><title>W2, Median: 2 min</title><circle cx="150" cy="40" r="3.5" fill="#0b5394" stroke="#fff" stroke-width="1"/></g></g></svg>`
	got := c.SVG()
	if got != want {
		t.Errorf("SVG:\n got %s\nwant %s", got, want)
	}
	checkAccessible(t, got, "t", "Trend", "Two weeks.")
}

func TestChartLineGapsAndRefs(t *testing.T) {
	c := Line{ID: "trend", Title: "Weekly <median> & P90", Desc: `"Quoted" desc`,
		Labels: []string{"W1", "W2", "W3", "W4"}, Names: []string{"Week 1", "Week 2", "Week 3", "Week 4"},
		Series: []Series{
			{Name: "Median", Values: []*float64{ptr(300), nil, ptr(420), ptr(360)}},
			{Name: "90th percentile", Values: []*float64{ptr(900), nil, nil, ptr(1000)}},
		},
		Refs: []Ref{{Name: "Target", Value: 600}}, YFormat: minutes}
	svg := c.SVG()
	root := checkAccessible(t, svg, "trend", "Weekly <median> & P90", `"Quoted" desc`)
	paths := root.find("path")
	if len(paths) != 2 {
		t.Fatalf("%d paths, want one per series", len(paths))
	}
	// The median breaks at week 2; the P90 has two separate points.
	if d := paths[0].attrs["d"]; strings.Count(d, "M") != 2 || strings.Count(d, "L") != 1 {
		t.Errorf("median path %q, want two runs (M…, M… L…)", d)
	}
	if d := paths[1].attrs["d"]; strings.Count(d, "M") != 2 || strings.Contains(d, "L") {
		t.Errorf("P90 path %q, want two single points", d)
	}
	if paths[1].attrs["stroke-dasharray"] == "" {
		t.Error("the second series is not dashed: it would not print distinctly in black and white")
	}
	var titles []string
	for _, e := range root.find("title")[1:] {
		titles = append(titles, e.text)
	}
	for _, want := range []string{"Week 1, Median: 5 min", "Week 4, 90th percentile: 16.666666666666668 min", "Target: 10 min"} {
		if !slices.Contains(titles, want) {
			t.Errorf("no mark titled %q; titles %q", want, titles)
		}
	}
	if n := len(root.find("circle")); n != 5 {
		t.Errorf("%d points, want 5 (one per value)", n)
	}
	if c.SVG() != svg {
		t.Error("two renderings differ")
	}
}

func TestChartBars(t *testing.T) {
	c := Bars{ID: "districts", Title: "Median response by district", Desc: "Bars are medians.",
		ValueName: "Median", MarkerName: "90th percentile", Refs: []Ref{{Name: "Target", Value: 600}},
		Bars: []Bar{
			{Label: "Leninsky", Value: ptr(300), Marker: ptr(700), Note: "n 12"},
			{Label: "A settlement with a very long name that is shortened on the chart", Value: ptr(450), Note: "n 3", Emphasis: true},
			{Label: "Osh <city>", Note: "n 0"},
		},
		Ticks: DurationTicks(700, 4), Format: minutes}
	svg := c.SVG()
	root := checkAccessible(t, svg, "districts", c.Title, c.Desc)
	var rects []*element
	for _, r := range root.find("rect") {
		if r.attrs["height"] == "15" {
			rects = append(rects, r)
		}
	}
	if len(rects) != 2 {
		t.Fatalf("%d bars, want 2 (the third has no figure)", len(rects))
	}
	w0, _ := strconv.ParseFloat(rects[0].attrs["width"], 64)
	w1, _ := strconv.ParseFloat(rects[1].attrs["width"], 64)
	if !(w1 > w0) || w1/w0 < 1.49 || w1/w0 > 1.51 {
		t.Errorf("bar widths %v and %v, want in the ratio 300:450", w0, w1)
	}
	if rects[1].attrs["fill"] == rects[0].attrs["fill"] || rects[1].attrs["stroke"] == "" {
		t.Error("the emphasised bar looks like the others")
	}
	if !strings.Contains(svg, "Osh &lt;city&gt;") || strings.Contains(svg, "<city>") {
		t.Error("labels are not escaped")
	}
	if !strings.Contains(svg, ">no data</text>") {
		t.Error("a bar without a figure does not say so")
	}
	if !strings.Contains(svg, "<title>A settlement with a very long name that is shortened on the chart: Median 7.5 min (n 3)</title>") {
		t.Errorf("the long label's tooltip is not whole:\n%s", svg)
	}
	if !strings.Contains(svg, "…</text>") {
		t.Error("the long label is not shortened")
	}
	// A short label is drawn whole; muted bars are grey, with a legend.
	muted := Bars{ID: "m", Title: "t", Desc: "d", ValueName: "Median", EmphasisName: "IDP settlement", MutedName: "Whole district",
		Bars: []Bar{{Label: "Gori", Value: ptr(60), Muted: true}, {Label: "Skra", Value: ptr(90), Emphasis: true}}}.SVG()
	mroot := parse(t, muted)
	var labels, fills []string
	for _, e := range mroot.find("text") {
		labels = append(labels, e.text)
	}
	for _, r := range mroot.find("rect") {
		if r.attrs["height"] == "15" {
			fills = append(fills, r.attrs["fill"])
		}
	}
	for _, want := range []string{"Gori", "Skra", "IDP settlement", "Whole district"} {
		if !slices.Contains(labels, want) {
			t.Errorf("no text %q in %q", want, labels)
		}
	}
	if want := []string{barMuted, barEmph}; !slices.Equal(fills, want) {
		t.Errorf("bar fills %v, want %v", fills, want)
	}
	// A legend too long for one line wraps, and the chart grows to hold it.
	long := Bars{ID: "l", Title: "t", Desc: "d", Width: 300, ValueName: "Median", MarkerName: "90th percentile",
		EmphasisName: "IDP settlement", MutedName: "Whole district", Refs: []Ref{{Name: "Target 10:00", Value: 600},
			{Name: "District median 8:00", Value: 480, Neutral: true}}, Bars: []Bar{{Label: "A", Value: ptr(300)}}}.SVG()
	lroot := parse(t, long)
	rows := map[string]bool{}
	for _, g := range lroot.find("g") {
		if g.attrs["class"] == "legend" {
			for _, e := range g.find("text") {
				rows[e.attrs["y"]] = true
				if x, _ := strconv.ParseFloat(e.attrs["x"], 64); x > 300 {
					t.Errorf("legend entry %q starts outside the chart (x %v)", e.text, x)
				}
			}
		}
	}
	if len(rows) < 2 {
		t.Errorf("a long legend on a narrow chart stays on %d line(s)", len(rows))
	}
	oneRow := Bars{ID: "o", Width: 300, ValueName: "Median", Bars: []Bar{{Label: "A", Value: ptr(300)}}}.SVG()
	a, _ := strconv.ParseFloat(parse(t, long).attrs["height"], 64)
	b, _ := strconv.ParseFloat(parse(t, oneRow).attrs["height"], 64)
	if a <= b {
		t.Errorf("height %v with a wrapped legend, %v without: want more", a, b)
	}
	// The height grows with the bars.
	short := Bars{ID: "x", Bars: c.Bars[:1]}.SVG()
	if parse(t, short).attrs["height"] == root.attrs["height"] {
		t.Error("the height does not follow the number of bars")
	}
}

func TestChartHeatMap(t *testing.T) {
	rows := []string{"Mon", "Tue"}
	cols := []string{"00", "01", "02"}
	c := HeatMap{ID: "grid", Title: "Median by hour and weekday", Desc: "Darker is slower.", Rows: rows, Cols: cols,
		Legend: "Median, minutes", Format: minutes,
		Cells: [][]Cell{
			{{Value: ptr(60), Text: "1", Title: "Mon 00:00: 1 min"}, {}, {Value: ptr(360), Text: "6", Title: "Mon 02:00: 6 min"}},
			{{Value: ptr(120), Text: "2"}, {Value: ptr(240), Text: "4"}, {}},
		}}
	svg := c.SVG()
	root := checkAccessible(t, svg, "grid", c.Title, c.Desc)
	cells := root.find("g")
	var group *element
	for _, g := range cells {
		if g.attrs["class"] == "cells" {
			group = g
		}
	}
	if group == nil {
		t.Fatal("no cells group")
	}
	var fills []string
	for _, r := range group.find("rect") {
		fills = append(fills, r.attrs["fill"])
	}
	want := []string{HeatColours[0], noData, HeatColours[5], HeatColours[2], HeatColours[3], noData}
	if !slices.Equal(fills, want) {
		t.Errorf("cell fills %v, want %v (shades by rank, palest to darkest)", fills, want)
	}
	var texts []string
	for _, e := range group.find("text") {
		texts = append(texts, e.text+"/"+e.attrs["fill"])
	}
	if want := []string{"1/#15202b", "6/#fff", "2/#15202b", "4/#15202b"}; !slices.Equal(texts, want) {
		t.Errorf("cell texts %v, want %v (white on the darkest shades)", texts, want)
	}
	// The legend names the values each shade stands for.
	var legend []string
	for _, g := range root.find("g") {
		if g.attrs["class"] == "legend" {
			for _, e := range g.find("text") {
				legend = append(legend, e.text)
			}
		}
	}
	if want := []string{"Median, minutes", "1 min", "2 min", "4 min", "6 min", "no incidents measured"}; !slices.Equal(legend, want) {
		t.Errorf("legend %q, want %q", legend, want)
	}
	if !strings.Contains(svg, "<title>Mon 02:00: 6 min</title>") {
		t.Error("a cell's tooltip is missing")
	}
	// All cells empty: no legend ranges, still a valid chart.
	empty := HeatMap{ID: "e", Title: "t", Desc: "d", Rows: rows, Cols: cols, Cells: [][]Cell{{{}, {}, {}}, {{}, {}, {}}}}.SVG()
	if !strings.Contains(checkAccessibleText(t, empty), "no figures") {
		t.Error("an empty heat map does not say it has no figures")
	}
}

func checkAccessibleText(t *testing.T, svg string) string {
	t.Helper()
	checkAccessible(t, svg, "e", "t", "d")
	return svg
}

func TestChartTicks(t *testing.T) {
	tests := []struct {
		max  float64
		n    int
		want []float64
	}{
		{0, 5, []float64{0, 1}},
		{9, 5, []float64{0, 2, 4, 6, 8, 10}},
		{100, 4, []float64{0, 25, 50, 75, 100}},
		{0.3, 3, []float64{0, 0.1, 0.2, 0.30000000000000004}},
	}
	for _, tt := range tests {
		if got := Ticks(tt.max, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("Ticks(%v, %d) = %v, want %v", tt.max, tt.n, got, tt.want)
		}
	}
	dur := []struct {
		max  float64
		want []float64
	}{
		{0, []float64{0, 60}},
		{50, []float64{0, 15, 30, 45, 60}},
		{700, []float64{0, 300, 600, 900}},
		{5000, []float64{0, 1800, 3600, 5400}},
	}
	for _, tt := range dur {
		if got := DurationTicks(tt.max, 4); !slices.Equal(got, tt.want) {
			t.Errorf("DurationTicks(%v, 4) = %v, want %v", tt.max, got, tt.want)
		}
	}
}

// TestChartWordsGiven: the few words a chart draws itself come from the
// caller when it gives them (in the reader's language).
func TestChartWordsGiven(t *testing.T) {
	bars := Bars{ID: "e", Title: "t", Desc: "d", ValueName: "Медиана", NoFigure: "нет показателя", NoData: "нет данных",
		Bars: []Bar{{Label: "Ленинский", Value: ptr(60)}, {Label: "Ош"}}}.SVG()
	if !strings.Contains(bars, ">нет данных</text>") || !strings.Contains(bars, "Ош: нет показателя") ||
		strings.Contains(bars, "no data") || strings.Contains(bars, "no figure") {
		t.Errorf("bar chart words not the given ones:\n%s", bars)
	}
	hm := HeatMap{ID: "e", Title: "t", Desc: "d", Rows: []string{"Пн"}, Cols: []string{"00"}, Cells: [][]Cell{{{}}},
		NoFigures: "нет данных", NoneMeasured: "нет измеренных происшествий"}.SVG()
	if !strings.Contains(hm, ">нет данных</text>") || !strings.Contains(hm, ">нет измеренных происшествий</text>") ||
		strings.Contains(hm, "no figures") || strings.Contains(hm, "no incidents") {
		t.Errorf("heat map words not the given ones:\n%s", hm)
	}
}
