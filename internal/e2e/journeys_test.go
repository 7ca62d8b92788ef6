package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// maxPageKB bounds what one page costs on the wire, compressed: the
// document and everything it loads, with an empty cache.
const maxPageKB = 100

// journeyTabs is how many roles walk at once (the machine has two cores).
const journeyTabs = 2

// journeyLangs are the catalogue's languages.
var journeyLangs = []string{"en", "ru", "ky", "ka"}

// viewport is a screen the journeys are walked on.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var journeyViewports = []viewport{
	{"desktop", 1366, 900, false},
	{"phone", 390, 844, true},
}

// phoneUA is the user agent of the emulated phone (an Android phone's
// Chrome), so that the server and the page see a mobile browser.
const phoneUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"

// journeyPage is one page of a role's main journey.
type journeyPage struct {
	name string // in screenshot names
	path string
}

// journey is a demo account and the pages it works with most.
type journey struct {
	role, username, password, home string
	pages                          []journeyPage
}

// journeys are the main pages of each role; incident ids come from the
// demo data.
func journeys(t *testing.T, a *app) []journey {
	t.Helper()
	q := func(sql string) int64 {
		t.Helper()
		var id int64
		if err := a.DB.Pool.QueryRow(context.Background(), sql).Scan(&id); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return id
	}
	// An open incident of the Bishkek demo district for the dispatcher,
	// and one the demo officer's unit (LEN-11) was sent to, else any of
	// the officer's district.
	open := q(`SELECT i.id FROM incidents i JOIN districts d ON d.id = i.district_id
		WHERE d.code = 'LEN' ORDER BY i.cleared_at IS NULL DESC, i.received_at DESC LIMIT 1`)
	mine := q(`SELECT coalesce((SELECT iu.incident_id FROM incident_units iu JOIN units u ON u.id = iu.unit_id
		WHERE u.call_sign = 'LEN-11' ORDER BY iu.assigned_at DESC LIMIT 1), ` + fmt.Sprint(open) + `)`)
	inc := func(id int64, rest string) string { return fmt.Sprintf("/incidents/%d%s", id, rest) }
	return []journey{
		{"dispatcher", "dispatcher", "dispatch-demo-2026", "/board", []journeyPage{
			{"board", "/board"}, {"new-call", "/incidents/new"}, {"incident", inc(open, "")},
		}},
		{"officer", "officer", "officer-demo-2026", "/my", []journeyPage{
			{"my-incidents", "/my"}, {"incident", inc(mine, "")}, {"danger", inc(mine, "/danger")},
		}},
		{"supervisor", "supervisor", "supervise-demo-2026", "/dashboard", []journeyPage{
			{"dashboard", "/dashboard"}, {"expiring-orders", "/orders/expiring"}, {"open-referrals", "/referrals/open"},
			{"audit", "/audit"},
		}},
		{"admin", "admin", "admin-demo-2026", "/admin/", []journeyPage{
			{"admin-home", "/admin/"}, {"users", "/admin/users"}, {"districts", "/admin/districts"},
			{"schedules", "/admin/schedules"}, {"audit", "/admin/audit"},
		}},
	}
}

// a11yCheck lists, as text, the visible form controls without a label and
// the buttons and links without an accessible name.
const a11yCheck = `(() => {
	const out = [];
	const shown = el => {
		if (el.getClientRects().length === 0) return false;
		const s = getComputedStyle(el);
		return s.visibility !== "hidden" && s.display !== "none";
	};
	const text = el => (el ? (el.innerText || el.textContent || "") : "").trim();
	const labelledBy = el => (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean)
		.map(id => text(document.getElementById(id))).join(" ").trim();
	const describe = el => {
		let d = el.tagName.toLowerCase();
		if (el.id) d += "#" + el.id;
		if (el.name) d += "[name=" + el.name + "]";
		if (el.className && typeof el.className === "string") d += "." + el.className.trim().split(/\s+/).join(".");
		return d;
	};
	for (const el of document.querySelectorAll("input, select, textarea")) {
		const type = (el.getAttribute("type") || "").toLowerCase();
		if (["hidden", "submit", "button", "reset", "image"].includes(type) || !shown(el)) continue;
		const labelled = [...(el.labels || [])].some(l => text(l) !== "") ||
			(el.getAttribute("aria-label") || "").trim() !== "" || labelledBy(el) !== "";
		if (!labelled) out.push("control without a label: " + describe(el));
	}
	const buttons = "button, [role=button], input[type=submit], input[type=button], input[type=reset], input[type=image], a[href]";
	for (const el of document.querySelectorAll(buttons)) {
		if (!shown(el)) continue;
		const imgAlt = [...el.querySelectorAll("img[alt], svg title")].map(i => i.getAttribute("alt") || i.textContent).join(" ").trim();
		const name = (el.getAttribute("aria-label") || "").trim() || labelledBy(el) || text(el) ||
			(el.getAttribute("title") || "").trim() || (el.tagName === "INPUT" ? (el.value || el.alt || "").trim() : "") || imgAlt;
		if (!name) out.push((el.tagName === "A" ? "link" : "button") + " without an accessible name: " + describe(el));
	}
	return out;
})()`

// pageCost is what one page cost on the wire.
type pageCost struct {
	role, page, lang, vp string
	kb                   float64
	requests             int
}

// TestJourneys walks each role's main pages in each language on a desktop
// and a phone screen: no JavaScript error, no failed request, every page at
// most maxPageKB on the wire, every control labelled and every button
// named. It prints the pages' sizes and saves a screenshot of each page as
// testdata/screenshots/<role>-<lang>-<viewport>-<page>.png.
func TestJourneys(t *testing.T) {
	began := time.Now()
	a := startApp(t)
	js := journeys(t, a)
	root := startChromium(t)

	var (
		mu    sync.Mutex
		costs []pageCost
		a11y  = map[string][]string{} // problem -> where
	)
	// The roles walk at once, each in a tab of its own: much of a page's
	// time is waiting for the server, the database or the browser. One
	// role's languages take turns: they share the demo account, whose
	// stored language each login changes.
	var shotTime, walkTime time.Duration
	slots := make(chan struct{}, journeyTabs)
	t.Run("walk", func(t *testing.T) {
		for _, j := range js {
			t.Run(j.role, func(t *testing.T) {
				t.Parallel()
				slots <- struct{}{}
				defer func() { <-slots }()
				for _, lang := range journeyLangs {
					t.Run(lang, func(t *testing.T) {
						b := newTab(t, a, root, j.role+"-"+lang)
						b.emulate(journeyViewports[0])
						b.loginIn(lang, j.username, j.password, j.home, fmt.Sprintf("%s-%s-%s-login", j.role, lang, journeyViewports[0].name))
						b.probeA11yCheck()
						for _, vp := range journeyViewports {
							b.emulate(vp)
							for _, p := range j.pages {
								t0 := time.Now()
								c, problems := b.visit(p.path, lang, vp.mobile)
								c.role, c.page, c.lang, c.vp = j.role, p.name, lang, vp.name
								if c.kb > maxPageKB {
									t.Errorf("%s %s (%s, %s): %.1f KB on the wire, more than %d KB", j.role, p.path, lang, vp.name, c.kb, maxPageKB)
								}
								t1 := time.Now()
								b.shot(fmt.Sprintf("%s-%s-%s-%s", j.role, lang, vp.name, p.name))
								mu.Lock()
								walkTime += t1.Sub(t0)
								shotTime += time.Since(t1)
								costs = append(costs, c)
								for _, pr := range problems {
									key := j.role + " " + p.path + ": " + pr
									a11y[key] = append(a11y[key], lang+"/"+vp.name)
								}
								mu.Unlock()
							}
						}
					})
				}
			})
		}
	})
	sort.Slice(costs, func(i, k int) bool { return costOrder(js, costs[i]) < costOrder(js, costs[k]) })
	keys := make([]string, 0, len(a11y))
	for k := range a11y {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("accessibility: %s (%s)", k, strings.Join(a11y[k], ", "))
	}
	table := "page sizes on the wire (KB, gzip, empty cache; document and subresources):\n" + costTable(costs)
	t.Log(table)
	// make test prints this file after the tests: go test shows nothing of
	// a passing package but its "ok" line.
	if err := os.MkdirAll(filepath.Join("testdata", "screenshots"), 0o755); err == nil {
		if err := os.WriteFile(filepath.Join("testdata", "screenshots", "page-sizes.txt"), []byte(table), 0o644); err != nil {
			t.Errorf("write the page-size table: %v", err)
		}
	}
	t.Logf("journeys: %d pages in %v (summed over the tabs: loading and checking %v, screenshots %v)", len(costs),
		time.Since(began).Round(100*time.Millisecond), walkTime.Round(100*time.Millisecond), shotTime.Round(100*time.Millisecond))
}

// costOrder sorts the sizes by role and page in journey order, then
// viewport and language.
func costOrder(js []journey, c pageCost) string {
	key := ""
	for ji, j := range js {
		for pi, p := range j.pages {
			if j.role == c.role && p.name == c.page {
				key = fmt.Sprintf("%02d%02d", ji, pi)
			}
		}
	}
	vi := 0
	for i, vp := range journeyViewports {
		if vp.name == c.vp {
			vi = i
		}
	}
	return fmt.Sprintf("%s%d%s", key, vi, c.lang)
}

// probeA11yCheck makes sure a11yCheck finds what it looks for: an input
// without a label and an empty button put on the page are reported.
func (b *browser) probeA11yCheck() {
	b.t.Helper()
	got := mustEval[[]string](b, `(() => {
		const i = document.createElement("input"); i.id = "e2e-probe-input";
		const l = document.createElement("label"); l.textContent = "Probe";
		const ok = document.createElement("input"); ok.id = "e2e-probe-ok"; l.appendChild(ok);
		const btn = document.createElement("button"); btn.id = "e2e-probe-button";
		btn.innerHTML = '<svg width="10" height="10" aria-hidden="true"></svg>';
		document.body.append(i, l, btn);
		const out = `+a11yCheck+`;
		i.remove(); l.remove(); btn.remove();
		return out.filter(s => s.includes("e2e-probe"));
	})()`)
	want := []string{"control without a label: input#e2e-probe-input", "button without an accessible name: button#e2e-probe-button"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		b.t.Fatalf("browser %s: the accessibility check found %q on a probe, want %q", b.name, got, want)
	}
}

// costTable formats the sizes: a row per role, page and viewport, a column
// per language.
func costTable(costs []pageCost) string {
	type row struct{ role, page, vp string }
	var rows []row
	kb := map[row]map[string]pageCost{}
	for _, c := range costs {
		r := row{c.role, c.page, c.vp}
		if kb[r] == nil {
			kb[r] = map[string]pageCost{}
			rows = append(rows, r)
		}
		kb[r][c.lang] = c
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-11s %-16s %-8s", "role", "page", "screen")
	for _, l := range journeyLangs {
		fmt.Fprintf(&sb, " %8s", l)
	}
	sb.WriteString("  requests\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "%-11s %-16s %-8s", r.role, r.page, r.vp)
		n := 0
		for _, l := range journeyLangs {
			if c, ok := kb[r][l]; ok {
				fmt.Fprintf(&sb, " %8.1f", c.kb)
				n = max(n, c.requests)
			} else {
				fmt.Fprintf(&sb, " %8s", "-")
			}
		}
		fmt.Fprintf(&sb, "  %d\n", n)
	}
	return sb.String()
}

// startChromium starts one headless Chromium for the whole test; each
// newTab is a tab of it with a profile (cookies, cache) of its own.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	opts, dir := chromiumOptions(t, int(journeyViewports[0].width), int(journeyViewports[0].height))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		removeProfile(t, dir)
	})
	began := time.Now()
	// The first action starts the browser, on a context without a
	// deadline, which would otherwise end the browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Logf("chromium started in %v", time.Since(began).Round(10*time.Millisecond))
	return ctx
}

// newTab opens a tab in a new browser context (its own cookies and cache)
// of the running Chromium, watched as newBrowser's browsers are.
func newTab(t *testing.T, a *app, root context.Context, name string) *browser {
	t.Helper()
	u, err := url.Parse(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, name: name, base: a.URL, host: u.Host, reqs: map[network.RequestID]*request{}}
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext(), chromedp.WithListener(b.onEvent))
	b.ctx = ctx
	t.Cleanup(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		cancel()
	})
	// Every page is measured as a first visit: nothing from the cache.
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	return b
}

// emulate sets the tab's screen.
func (b *browser) emulate(vp viewport) {
	b.t.Helper()
	ua := ""
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if vp.mobile {
		ua = phoneUA
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if ua != "" {
		if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua}); err != nil {
			b.t.Fatalf("browser %s: emulate %s: %v", b.name, vp.name, err)
		}
	}
	b.do("emulate "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
}

// loginIn logs in choosing lang on the login page (saving a screenshot of
// it as shot), and checks the start page home is in that language.
func (b *browser) loginIn(lang, username, password, home, shot string) {
	b.t.Helper()
	b.navigate("/login")
	b.do("wait for the login form", chromedp.WaitVisible(chromedp.ID("f-language")))
	mustEval[bool](b, fmt.Sprintf(`(() => { const s = document.getElementById("f-language");
		s.value = %s; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, jsString(lang)))
	b.waitFor("the login page in "+lang, stepTimeout, fmt.Sprintf(
		`document.readyState === "complete" && document.documentElement.lang === %[1]s && new URLSearchParams(location.search).get("lang") === %[1]s && !!document.getElementById("f-username")`,
		jsString(lang)))
	if problems := mustEval[[]string](b, a11yCheck); len(problems) > 0 {
		b.t.Errorf("browser %s: accessibility of the login page: %s", b.name, strings.Join(problems, "; "))
	}
	b.shot(shot)
	b.do("type the username and password",
		chromedp.SendKeys(chromedp.ID("f-username"), username),
		chromedp.SendKeys(chromedp.ID("f-password"), password+"\r"),
	)
	b.waitPath(regexp.QuoteMeta(home), stepTimeout)
	if got := mustEval[string](b, `document.documentElement.lang`); got != lang {
		b.t.Errorf("browser %s: after logging in in %s, %s is in %q", b.name, lang, home, got)
	}
}

// visit opens path, waits until the page and its requests are done and
// checks them: the document 200 in lang, no request answered >= 400. It
// returns the page's cost and its accessibility problems.
func (b *browser) visit(path, lang string, mobile bool) (pageCost, []string) {
	b.t.Helper()
	mark := b.mark()
	b.navigate(path)
	b.waitNetworkIdle(mark, 150*time.Millisecond, 15*time.Second)
	var c pageCost
	sawDoc := false
	for _, r := range b.requestsSince(mark) {
		u, _ := url.Parse(r.url)
		if r.typ == network.ResourceTypeDocument && u != nil && u.Path == strings.SplitN(path, "?", 2)[0] {
			sawDoc = true
			if r.status != 200 {
				b.t.Errorf("browser %s: GET %s answered %d, want 200", b.name, path, r.status)
			}
			if r.encoding == "" {
				b.t.Errorf("browser %s: GET %s came uncompressed", b.name, path)
			}
		}
		if r.status >= 400 && !isFavicon(r.url) {
			b.t.Errorf("browser %s: on %s, %s %s answered %d", b.name, path, r.method, r.url, r.status)
		}
		if r.typ == network.ResourceTypeEventSource || !r.done || r.failed != "" {
			continue
		}
		c.kb += kb(r.bytes)
		c.requests++
	}
	if !sawDoc {
		b.t.Errorf("browser %s: no document request for %s seen", b.name, path)
	}
	if got := mustEval[string](b, `document.documentElement.lang`); got != lang {
		b.t.Errorf("browser %s: %s is in %q, want %q", b.name, path, got, lang)
	}
	if mustEval[bool](b, `document.body.innerHTML.includes("⟦")`) {
		b.t.Errorf("browser %s: %s shows a message missing from the catalogue (⟦…⟧)", b.name, path)
	}
	// Nothing makes the page scroll sideways, on a desktop or a phone, in
	// any language (issue 14): a table that cannot fit stacks its rows on
	// a phone or scrolls in its own box.
	noSideScroll(b, path)
	return c, mustEval[[]string](b, a11yCheck)
}

// shot saves a full-page JPEG as testdata/screenshots/<name>.jpg.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	// The whole page, as a JPEG: a long page's PNG costs the browser
	// several times the encoding time, and these are for people to look at.
	yes, quality := true, int64(75)
	r, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg,
		Quality: &quality, CaptureBeyondViewport: &yes, FromSurface: &yes, OptimizeForSpeed: &yes})
	if err != nil {
		b.t.Fatalf("browser %s: screenshot %s: %v", b.name, name, err)
	}
	img := r.Data
	dir := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fileSafe(name)+".jpg"), img, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
