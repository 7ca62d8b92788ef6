package static

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// WCAG 2.1 AA: 4.5:1 for text, 3:1 for large or bold-large text and for
// the parts of controls and focus indicators a person must see (1.4.11).
const (
	textRatio = 4.5
	uiRatio   = 3.0
)

// rgba is a colour; a < 1 is drawn over what lies beneath.
type rgba struct{ r, g, b, a float64 }

var (
	hexColour  = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	rgbaColour = regexp.MustCompile(`^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([0-9.]+)\s*)?\)$`)
	varRef     = regexp.MustCompile(`^var\((--[a-z0-9-]+)\)$`)
	comments   = regexp.MustCompile(`(?s)/\*.*?\*/`)
)

// stylesheet is app.css read as rules: selector -> property -> value, for
// the rules outside @media blocks (the screen's colours; print has its
// own), later rules overriding earlier ones as in the cascade.
type stylesheet struct {
	vars  map[string]string
	rules map[string]map[string]string
}

func readStylesheet(t *testing.T) stylesheet {
	t.Helper()
	b, err := os.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	src := comments.ReplaceAllString(string(b), "")
	ss := stylesheet{vars: map[string]string{}, rules: map[string]map[string]string{}}
	for i := 0; i < len(src); {
		open := strings.IndexByte(src[i:], '{')
		if open < 0 {
			break
		}
		sel := strings.TrimSpace(src[i : i+open])
		j := i + open + 1
		if strings.HasPrefix(sel, "@") {
			// Skip the whole block, nested rules and all.
			depth := 1
			for depth > 0 && j < len(src) {
				switch src[j] {
				case '{':
					depth++
				case '}':
					depth--
				}
				j++
			}
			i = j
			continue
		}
		end := strings.IndexByte(src[j:], '}')
		if end < 0 {
			t.Fatalf("app.css: unclosed rule %q", sel)
		}
		body := src[j : j+end]
		i = j + end + 1
		for _, s := range strings.Split(sel, ",") {
			s = strings.Join(strings.Fields(s), " ")
			if ss.rules[s] == nil {
				ss.rules[s] = map[string]string{}
			}
			for _, decl := range strings.Split(body, ";") {
				k, v, ok := strings.Cut(decl, ":")
				if !ok {
					continue
				}
				k, v = strings.TrimSpace(k), strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "!important"))
				ss.rules[s][k] = v
				if s == ":root" && strings.HasPrefix(k, "--") {
					ss.vars[k] = v
				}
			}
		}
	}
	if len(ss.vars) == 0 {
		t.Fatal("app.css: no custom properties in :root")
	}
	return ss
}

// colour resolves a CSS colour value (a var(), #hex, rgb() or rgba()).
func (ss stylesheet) colour(v string) (rgba, error) {
	v = strings.TrimSpace(v)
	for range 10 {
		m := varRef.FindStringSubmatch(v)
		if m == nil {
			break
		}
		val, ok := ss.vars[m[1]]
		if !ok {
			return rgba{}, fmt.Errorf("undefined custom property %s", m[1])
		}
		v = val
	}
	switch v {
	case "#fff", "white":
		v = "#ffffff"
	case "#000", "black":
		v = "#000000"
	}
	if m := hexColour.FindStringSubmatch(v); m != nil {
		h := m[1]
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		n, _ := strconv.ParseUint(h, 16, 32)
		return rgba{float64(n >> 16 & 0xff), float64(n >> 8 & 0xff), float64(n & 0xff), 1}, nil
	}
	if m := rgbaColour.FindStringSubmatch(v); m != nil {
		c := rgba{a: 1}
		c.r, _ = strconv.ParseFloat(m[1], 64)
		c.g, _ = strconv.ParseFloat(m[2], 64)
		c.b, _ = strconv.ParseFloat(m[3], 64)
		if m[4] != "" {
			c.a, _ = strconv.ParseFloat(m[4], 64)
		}
		return c, nil
	}
	return rgba{}, fmt.Errorf("not a colour this test reads: %q", v)
}

// over draws c over the opaque colour under.
func (c rgba) over(under rgba) rgba {
	return rgba{c.r*c.a + under.r*(1-c.a), c.g*c.a + under.g*(1-c.a), c.b*c.a + under.b*(1-c.a), 1}
}

func (c rgba) luminance() float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG contrast ratio of two opaque colours.
func contrast(a, b rgba) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// A colour is named by "selector/property" (read from app.css) or by a
// custom property "--name".
type pair struct {
	what   string
	fg, bg string
	under  string // what bg is drawn over when it is translucent ("" for --surface)
	min    float64
}

// pairs are the text and background colours the pages use together.
var pairs = []pair{
	// Text on the page and its panels.
	{"body text on the page", "body/color", "body/background", "", textRatio},
	{"body text on a card", "body/color", ".card/background", "", textRatio},
	{"body text on a table's even row", "body/color", "table.data tbody tr:nth-child(even)/background", "", textRatio},
	{"body text on a hovered table row", "body/color", "table.data tbody tr:hover/background", "", textRatio},
	{"table heading", "body/color", "table.data thead th/background", "", textRatio},
	{"muted text on the page", ".muted/color", "body/background", "", textRatio},
	{"muted text on a card", ".muted/color", ".card/background", "", textRatio},
	{"muted text on a table's even row", ".muted/color", "table.data tbody tr:nth-child(even)/background", "", textRatio},
	{"muted text on a hovered table row", ".muted/color", "table.data tbody tr:hover/background", "", textRatio},
	{"muted text on a table heading", ".muted/color", "table.data thead th/background", "", textRatio},
	{"footer text", "footer.site-footer/color", "body/background", "", textRatio},
	{"field hint", ".field .hint/color", ".card/background", "", textRatio},
	{"field error", ".field-error/color", ".card/background", "", textRatio},
	{"field error on the page", ".field-error/color", "body/background", "", textRatio},
	{"disabled field", "input:disabled/color", "input:disabled/background", "", textRatio},
	// Links.
	{"link on the page", "a/color", "body/background", "", textRatio},
	{"link on a card", "a/color", ".card/background", "", textRatio},
	{"link on a table's even row", "a/color", "table.data tbody tr:nth-child(even)/background", "", textRatio},
	{"link on a hovered table row", "a/color", "table.data tbody tr:hover/background", "", textRatio},
	{"hovered link", "a:hover/color", ".card/background", "", textRatio},
	{"link in an info flash", "a/color", ".flash-info/background", "", textRatio},
	// The top bar.
	{"top bar text", "header.topbar/color", "header.topbar/background", "", textRatio},
	{"top bar muted text", ".topbar .user-menu .muted/color", "header.topbar/background", "", textRatio},
	{"current menu item", "header.topbar a/color", `nav.main-nav a[aria-current="page"]/background`, "header.topbar/background", textRatio},
	{"hovered menu item", "nav.main-nav a:hover/color", "nav.main-nav a:hover/background", "header.topbar/background", textRatio},
	{"current menu item's underline", `nav.main-nav a[aria-current="page"]/border-bottom-color`, "header.topbar/background", "", uiRatio},
	{"skip link", ".skip-link/color", ".skip-link/background", "", textRatio},
	// Buttons.
	{"button", ".btn/color", ".btn/background", "", textRatio},
	{"hovered button", ".btn:hover/color", ".btn:hover/background", "", textRatio},
	{"primary button", ".btn-primary/color", ".btn-primary/background", "", textRatio},
	{"hovered primary button", ".btn-primary:hover/color", ".btn-primary:hover/background", "", textRatio},
	{"secondary button", ".btn-secondary/color", ".btn-secondary/background", "", textRatio},
	{"hovered secondary button", ".btn-secondary:hover/color", ".btn-secondary:hover/background", "", textRatio},
	{"danger button", ".btn-danger/color", ".btn-danger/background", "", textRatio},
	{"hovered danger button", ".btn-danger:hover/color", ".btn-danger:hover/background", "", textRatio},
	{"top bar button", ".user-menu button:not(.btn)/color", "header.topbar/background", "", textRatio},
	{"hovered top bar button", ".user-menu button:not(.btn)/color", ".user-menu button:not(.btn):hover/background", "header.topbar/background", textRatio},
	{"chosen danger-screen answer", ".danger-q .choice:has(input:checked)/color", ".danger-q .choice:has(input:checked)/background", "", textRatio},
	// Badges (small bold text: the normal-text ratio).
	{"badge", ".badge/color", ".badge/background", "", textRatio},
	{"badge P1", ".badge-p1/color", ".badge-p1/background", "", textRatio},
	{"badge P2", ".badge-p2/color", ".badge-p2/background", "", textRatio},
	{"badge P3", ".badge-p3/color", ".badge-p3/background", "", textRatio},
	{"badge P4", ".badge-p4/color", ".badge-p4/background", "", textRatio},
	{"badge P5", ".badge-p5/color", ".badge-p5/background", "", textRatio},
	{"badge IDP", ".badge-idp/color", ".badge-idp/background", "", textRatio},
	{"badge DV", ".badge-dv/color", ".badge-dv/background", "", textRatio},
	{"badge off", ".badge-off/color", ".badge-off/background", "", textRatio},
	{"badge ok", ".badge-ok/color", ".badge-ok/background", "", textRatio},
	{"unit available", ".status-available/color", ".status-available/background", "", textRatio},
	{"unit dispatched", ".status-dispatched/color", ".status-dispatched/background", "", textRatio},
	{"unit en route", ".status-en_route/color", ".status-en_route/background", "", textRatio},
	{"unit on scene", ".status-on_scene/color", ".status-on_scene/background", "", textRatio},
	{"unit busy", ".status-busy/color", ".status-busy/background", "", textRatio},
	{"unit off duty", ".status-off_duty/color", ".status-off_duty/background", "", textRatio},
	// The board's timers: within target, amber (near it), red (past it).
	{"timer within target", ".timer-ok/color", ".card/background", "", textRatio},
	{"timer within target, even row", ".timer-ok/color", "table.data tbody tr:nth-child(even)/background", "", textRatio},
	{"timer within target, hovered row", ".timer-ok/color", "table.data tbody tr:hover/background", "", textRatio},
	{"amber timer", ".timer-amber/color", ".timer-amber/background", "", textRatio},
	{"amber timer's outline", ".timer-amber/outline-color", ".card/background", "", uiRatio},
	{"amber timer's outline, even row", ".timer-amber/outline-color", "table.data tbody tr:nth-child(even)/background", "", uiRatio},
	{"amber timer's outline, hovered row", ".timer-amber/outline-color", "table.data tbody tr:hover/background", "", uiRatio},
	{"red timer", ".timer-red/color", ".timer-red/background", "", textRatio},
	// Flash messages and alerts.
	{"flash ok", ".flash-ok/color", ".flash-ok/background", "", textRatio},
	{"flash error", ".flash-error/color", ".flash-error/background", "", textRatio},
	{"flash warning", ".flash-warn/color", ".flash-warn/background", "", textRatio},
	{"flash info", ".flash-info/color", ".flash-info/background", "", textRatio},
	{"danger alert", ".alert-danger/color", ".alert-danger/background", "", textRatio},
	{"danger alert's icon", ".alert-danger::before/color", ".alert-danger/background", "", uiRatio},
	// Dashboard.
	{"dashboard figure over target", ".dash-over/color", ".card/background", "", textRatio},
	{"dashboard figure over target, lead row", ".dash-over/color", "table.data tbody tr.dash-lead/background", "", textRatio},
	{"dashboard faster", ".dash-faster/color", ".card/background", "", textRatio},
	{"dashboard n", ".dash-n/color", ".card/background", "", textRatio},
	{"dashboard n, lead row", ".dash-n/color", "table.data tbody tr.dash-lead/background", "", textRatio},
	// Controls and focus (non-text contrast, 1.4.11).
	{"input text", `input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"])/color`,
		`input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"])/background`, "", textRatio},
	{"input border", `input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"])/border`,
		`input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"])/background`, "", uiRatio},
	{"input border on the page", `input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"])/border`, "body/background", "", uiRatio},
	{"focus ring on a table's even row", "--focus", "table.data tbody tr:nth-child(even)/background", "", uiRatio},
	{"focus ring on a hovered table row", "--focus", "table.data tbody tr:hover/background", "", uiRatio},
	{"focus ring on the page", "--focus", "body/background", "", uiRatio},
	{"focus ring on a card", "--focus", ".card/background", "", uiRatio},
	{"focus ring in the top bar", "header.topbar/--focus", "header.topbar/background", "", uiRatio},
}

// value looks up a "selector/property" in the stylesheet, or returns a
// custom property's or literal value as it is. A background shorthand
// yields its colour.
func (ss stylesheet) value(ref string) (string, error) {
	if strings.HasPrefix(ref, "--") {
		return "var(" + ref + ")", nil
	}
	i := strings.LastIndex(ref, "/")
	if i < 0 {
		return ref, nil
	}
	sel, prop := ref[:i], ref[i+1:]
	decls, ok := ss.rules[sel]
	if !ok {
		return "", fmt.Errorf("app.css has no rule for %s", sel)
	}
	v, ok := decls[prop]
	if !ok && prop == "background" {
		v, ok = decls["background-color"]
	}
	if !ok && prop == "outline-color" {
		if o, has := decls["outline"]; has {
			f := strings.Fields(o)
			v, ok = f[len(f)-1], true
		}
	}
	if !ok && (prop == "outline-color" || prop == "border-bottom-color") {
		v, ok = decls[prop]
	}
	if ok && (prop == "border" || prop == "outline") {
		// The shorthand's colour is its last word.
		f := strings.Fields(v)
		v = f[len(f)-1]
	}
	if !ok {
		return "", fmt.Errorf("app.css: %s sets no %s", sel, prop)
	}
	return v, nil
}

func TestColourContrast(t *testing.T) {
	ss := readStylesheet(t)
	get := func(ref string) rgba {
		t.Helper()
		v, err := ss.value(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		c, err := ss.colour(v)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		return c
	}
	surface := get("--surface")
	for _, p := range pairs {
		under := surface
		if p.under != "" {
			under = get(p.under)
		}
		bg := get(p.bg).over(under)
		fg := get(p.fg).over(bg)
		if r := contrast(fg, bg); r < p.min {
			t.Errorf("%s: %s on %s is %.2f:1, want at least %.1f:1", p.what, p.fg, p.bg, r, p.min)
		} else if testing.Verbose() {
			t.Logf("%-40s %5.2f:1", p.what, r)
		}
	}
}

// TestFocusVisible: links, buttons and form fields show where the focus
// is, and no rule takes the outline away without putting another in its
// place.
func TestFocusVisible(t *testing.T) {
	ss := readStylesheet(t)
	ring := ss.rules[":focus-visible"]
	if ring == nil || !strings.Contains(ring["outline"], "solid") || !strings.Contains(ring["outline"], "var(--focus)") {
		t.Errorf(":focus-visible is %v, want a solid outline in var(--focus)", ring)
	}
	for sel, decls := range ss.rules {
		o, ok := decls["outline"]
		if !ok || (o != "0" && o != "none") {
			continue
		}
		if strings.Contains(sel, ":focus") {
			if _, box := decls["box-shadow"]; !box {
				t.Errorf("%s removes the focus outline and shows nothing instead", sel)
			}
		}
	}
}

func TestContrastFormula(t *testing.T) {
	black, white := rgba{0, 0, 0, 1}, rgba{255, 255, 255, 1}
	if r := contrast(black, white); math.Abs(r-21) > 0.01 {
		t.Errorf("black on white: %.2f, want 21", r)
	}
	// #767676 on white is the classic 4.54:1.
	if r := contrast(rgba{0x76, 0x76, 0x76, 1}, white); math.Abs(r-4.54) > 0.01 {
		t.Errorf("#767676 on white: %.2f, want 4.54", r)
	}
}
