package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/dvresponse/dvresponse/internal/postgres"
)

// Demo supervisor of Gori, whose district has IDP settlements.
const goriSupervisor, goriSupervisorPassword = "supervisor.gori", "supervise-gori-2026"

// a4Width is the printable width of an A4 page with 10 mm margins, in CSS
// pixels (96 per inch).
const a4Width = 718

// maxDashboardKB bounds the dashboard's HTML on the wire (compressed).
const maxDashboardKB = 100

// TestSupervisorUsesDashboard is the dashboard's acceptance test: a
// supervisor logs in and lands on the dashboard, changes a filter, and
// opens the slowest incident of the period from it. Screenshots of the
// dashboard on a 1440 px monitor and as printed are saved.
// repeatsLoaded is true once the dashboard's repeat-rate section has
// loaded its figures (or said why not) by its own request.
const repeatsLoaded = `!document.querySelector("#repeats-body") && !!document.querySelector("#repeats #repeat-table, #repeats .empty-state")`

func TestSupervisorUsesDashboard(t *testing.T) {
	a := startApp(t)
	b := newBrowser(t, a, "S", desktopW, desktopH)
	mark := b.mark()
	b.login(goriSupervisor, goriSupervisorPassword, "/dashboard")
	b.waitFor("the dashboard's figures", stepTimeout, `!!document.querySelector("#intervals-table") && document.readyState === "complete"`)
	// The repeat-rate section loads by its own request, after the page.
	b.waitFor("the repeat-rate figures", stepTimeout, repeatsLoaded)
	if n := mustEval[int](b, `document.querySelectorAll("#repeats #repeat-table tr[data-repeat-by]").length`); n == 0 {
		t.Errorf("the repeat section shows no figures: %q", mustEval[string](b, `document.querySelector("#repeats").innerText`))
	}
	b.waitNetworkIdle(mark, 300*time.Millisecond, 10*time.Second)

	// The page came compressed and small, charts and all.
	var doc *request
	for _, r := range b.requestsSince(mark) {
		if r.typ == network.ResourceTypeDocument && strings.HasSuffix(strings.SplitN(r.url, "?", 2)[0], "/dashboard") {
			doc = &r
		}
	}
	if doc == nil {
		t.Fatal("no request for /dashboard seen")
	}
	t.Logf("dashboard: %.1f KB on the wire (%s); HTML %.1f KB uncompressed, about %.1f KB gzipped", kb(doc.bytes), doc.encoding,
		kb(float64(len(mustEval[string](b, `document.documentElement.outerHTML`)))),
		kb(gzipLen(mustEval[string](b, `document.documentElement.outerHTML`))))
	if doc.encoding == "" || kb(doc.bytes) > maxDashboardKB {
		t.Errorf("dashboard: %.1f KB on the wire, encoding %q; want compressed and at most %d KB", kb(doc.bytes), doc.encoding, maxDashboardKB)
	}
	if n := mustEval[int](b, `document.querySelectorAll("svg.chart[role=img]").length`); n != 3 {
		t.Errorf("%d charts, want 3 (districts, weeks, hours)", n)
	}
	// The supervisor sees Gori only, and no personal data.
	if got := b.selectedText("f-district"); !strings.Contains(got, "GORI") {
		t.Errorf("district filter shows %q, want the supervisor's district GORI", got)
	}
	text := mustEval[string](b, `document.querySelector("main").innerText`)
	for _, want := range []string{"Every interval, by priority", "by settlement", "IDP", "by week", "by hour of day",
		"by the victim's sex and age", "Referrals", "Slowest incidents", "Open right now"} {
		if !strings.Contains(text, want) {
			t.Errorf("the dashboard does not say %q", want)
		}
	}
	incidents := func() int {
		t.Helper()
		v := mustEval[string](b, `document.querySelector(".dash-kpi data").value`)
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("headline incident count %q: %v", v, err)
		}
		return n
	}
	before := incidents()
	if before == 0 {
		t.Fatal("the demo data give the dashboard no incident in the last 28 days")
	}
	b.screenshot("dashboard")

	// Change a filter: domestic-violence calls only.
	b.do("choose domestic-violence calls only",
		chromedp.SetValue(chromedp.ID("f-dv_only"), "1"),
		chromedp.Click(chromedp.ID("dash-apply")))
	b.waitFor("the dashboard for DV calls only", stepTimeout,
		`new URLSearchParams(location.search).get("dv_only") === "1" && document.readyState === "complete" && !!document.querySelector("#intervals-table")`)
	b.waitFor("the repeat-rate figures for DV calls only", stepTimeout, repeatsLoaded)
	after := incidents()
	if after > before {
		t.Errorf("DV calls only: %d incidents, more than the %d of all calls", after, before)
	}
	if got := mustEval[string](b, `document.querySelector(".dash-period").innerText`); !strings.Contains(got, "Domestic-violence calls only") {
		t.Errorf("the period line %q does not say the filter", got)
	}
	if got := b.selectedText("f-dv_only"); got != "Domestic-violence types only" {
		t.Errorf("the calls filter shows %q after the change", got)
	}
	// The export links carry the query.
	href := mustEval[string](b, `document.querySelector(".dash-exports a").getAttribute("href")`)
	if !strings.Contains(href, "dv_only=1") || !strings.HasPrefix(href, "/reports/response-times.") {
		t.Errorf("export link %q does not carry the query", href)
	}
	t.Logf("incidents: %d of all calls, %d domestic-violence calls", before, after)
	b.screenshot("dashboard-dv-only")

	// As printed on A4 (210 mm less 10 mm margins: 718 CSS pixels): the
	// print stylesheet hides the form, the navigation and the links.
	cctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	_, err := chromedp.Call(cctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
	cancel()
	if err != nil {
		t.Fatalf("emulate print media: %v", err)
	}
	b.do("set an A4 page width", chromedp.EmulateViewport(a4Width, desktopH))
	for _, sel := range []string{".dash-filters", ".main-nav", ".dash-exports"} {
		if v := mustEval[string](b, `getComputedStyle(document.querySelector("`+sel+`")).display`); v != "none" {
			t.Errorf("printed, %s is displayed (%s)", sel, v)
		}
	}
	if v := mustEval[string](b, `getComputedStyle(document.querySelector("#repeat-table")).display`); v == "none" {
		t.Error("printed, the repeat-rate figures are hidden")
	}
	if w := mustEval[int](b, `document.documentElement.scrollWidth`); w > a4Width {
		t.Errorf("printed, the page is %d px wide, more than the %d px of an A4 page", w, a4Width)
	}
	b.screenshot("dashboard-print")
	t.Logf("printed (A4 width), the dashboard's parts are tall (px, 1024 a page): %s", mustEval[string](b,
		`[...document.querySelectorAll("main .dashboard > *")].map(e => (e.id || e.className) + " " + Math.round(e.getBoundingClientRect().height)).join(", ")`))
	cctx, cancel = context.WithTimeout(b.ctx, stepTimeout)
	_, err = chromedp.Call(cctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""})
	cancel()
	if err != nil {
		t.Fatalf("end print emulation: %v", err)
	}
	b.do("set the desktop width again", chromedp.EmulateViewport(desktopW, desktopH))

	// Printed by Chrome on A4 (issue 14): the dashboard starts on page 1,
	// that is, everything up to its title prints on one page (a forced
	// break before it left the first page empty), and a month's dashboard
	// fits 4 pages.
	whole := printedPages(b, "", "dashboard-28-days")
	head := printedPages(b, `main .dashboard > :not(.dash-header), footer`, "")
	if head != 1 {
		t.Errorf("printed, the page up to the dashboard's title takes %d pages, want it on page 1", head)
	}
	t.Logf("printed: %d A4 pages (28 days, DV calls only)", whole)
	b.navigate(mustEval[string](b, `(() => { const a = document.querySelectorAll(".dash-periods a"); return new URL(a[3].href).pathname + new URL(a[3].href).search; })()`))
	b.waitFor("last month's dashboard", stepTimeout, `!!document.querySelector("#intervals-table") && document.readyState === "complete"`)
	b.waitFor("last month's repeat-rate figures", stepTimeout, repeatsLoaded)
	if month := printedPages(b, "", "dashboard-last-month"); month < 1 || month > 4 {
		t.Errorf("printed, last month's dashboard takes %d A4 pages, want 1 to 4", month)
	} else {
		t.Logf("printed: last month's dashboard on %d A4 pages", month)
	}

	// Open the slowest incident of the period.
	number := mustEval[string](b, `document.querySelector("#slowest tbody tr a").innerText.trim()`)
	if !incidentNumber.MatchString(number) {
		t.Fatalf("the slowest incident's link says %q, not an incident number", number)
	}
	b.do("open the slowest incident", chromedp.Click(chromedp.CSS("#slowest tbody tr a")))
	path := b.waitPath(`/incidents/\d+`, stepTimeout)
	h1 := mustEval[string](b, `document.querySelector("main h1").innerText`)
	if !strings.HasPrefix(h1, number) {
		t.Errorf("incident page %s: h1 %q, want it to start with %s", path, h1, number)
	}
	b.screenshot("slowest-incident")

	// Back on the dashboard: the lists name no one. The names, phone
	// numbers and addresses of the incidents listed appear nowhere on it.
	b.navigate("/dashboard?dv_only=1")
	b.waitFor("the dashboard", stepTimeout, `!!document.querySelector("#slowest")`)
	// The page's content, not the top bar: that names the supervisor, and
	// the demo's generated people can share a demo account's name.
	page := mustEval[string](b, `document.querySelector("main").outerHTML`)
	numbers := mustEval[[]string](b, `[...document.querySelectorAll("#slowest tbody a, #open tbody a")].map(a => a.innerText.trim())`)
	rows, err := a.DB.Pool.Query(context.Background(), `SELECT caller_name, caller_phone, victim_name, suspect_name, address
		FROM incidents WHERE number = ANY($1)`, numbers)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var fields [5]string
		if err := rows.Scan(&fields[0], &fields[1], &fields[2], &fields[3], &fields[4]); err != nil {
			t.Fatal(err)
		}
		for _, f := range fields {
			if len(f) >= 4 && strings.Contains(page, f) {
				t.Errorf("the dashboard shows personal data of a listed incident: %q", f)
			}
			if f != "" {
				checked++
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Error("no listed incident's personal data was checked: the page listed no incidents with names or addresses")
	}
	t.Logf("%d incidents listed; %d names, phone numbers and addresses of theirs are not on the page", len(numbers), checked)

	// The supervisor's board (a district's: Gori's) shows a follow-up of
	// the district turn overdue live when its due time passes: one change
	// (the task given a due time 4 s ahead, notified) lets the board learn
	// the time; nothing is notified when it passes, the board re-reads.
	openMark := b.mark()
	b.navigate("/board")
	b.waitRequest(openMark, `^/board/fragment$`, 10*time.Second)
	var liveTask, liveInc int64
	if err := a.DB.Pool.QueryRow(context.Background(), `UPDATE follow_up_tasks SET due_at = now() + interval '4 seconds'
		WHERE id = (SELECT id FROM follow_up_tasks WHERE closed_at IS NULL AND due_at > now()
			AND district_id = (SELECT id FROM districts WHERE code = 'GORI') ORDER BY due_at, id LIMIT 1)
		RETURNING id, incident_id`).Scan(&liveTask, &liveInc); err != nil {
		t.Fatalf("give a Gori task a due time: %v", err)
	}
	var dueAt time.Time
	if err := a.DB.Pool.QueryRow(context.Background(), `SELECT due_at FROM follow_up_tasks WHERE id = $1`, liveTask).Scan(&dueAt); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.Pool.Exec(context.Background(), `SELECT pg_notify($1, $2)`, postgres.ChangesChannel, "incident:"+strconv.FormatInt(liveInc, 10)); err != nil {
		t.Fatal(err)
	}
	navs := b.navigations()
	overdueRow := fmt.Sprintf(`document.querySelector(".board-overdue [data-work='followup-%d']")`, liveTask)
	b.waitFor("the supervisor's board to learn the next due time", stepTimeout, fmt.Sprintf(
		`(() => { const s = document.querySelector(".board-overdue"); return !!s && Date.parse(s.dataset.refreshAt) === %d; })()`, dueAt.UnixMilli()))
	if mustEval[bool](b, `!!`+overdueRow) || !time.Now().Before(dueAt) {
		t.Fatalf("the task is overdue on the supervisor's board before its due time (or the board learnt it too late)")
	}
	b.waitFor("the task overdue on the supervisor's board after its due time", time.Until(dueAt)+stepTimeout, `!!`+overdueRow)
	if late := time.Since(dueAt); late > 5*time.Second {
		t.Errorf("the overdue task appeared on the supervisor's board %v after its due time", late.Round(time.Millisecond))
	}
	if n := b.navigations(); n != navs {
		t.Errorf("the supervisor's board navigated %d time(s) while the task fell due, want none", n-navs)
	}
	b.screenshot("supervisor-board-overdue")
}

// pdfPage matches a page object of a PDF (not the page tree, /Pages).
var pdfPage = regexp.MustCompile(`/Type\s*/Page\b`)

// printedPages prints b's page to PDF on A4 as Chrome does (the page's own
// @page rules first) and counts the pages; the elements hide selects, if
// any, are left out of this print.
// printedPages prints the page to PDF on A4, after hiding what hide
// selects, and returns the number of pages. A save name keeps the PDF
// beside the screenshots, to be looked at when a count is off.
func printedPages(b *browser, hide, save string) int {
	b.t.Helper()
	if hide != "" {
		// Through the CSSOM: the page's policy allows no inline style.
		mustEval[bool](b, `(() => { for (const e of document.querySelectorAll(`+jsString(hide)+`)) {
			e.dataset.e2eDisplay = e.style.display; e.style.setProperty("display", "none", "important"); } return true; })()`)
		defer mustEval[bool](b, `(() => { for (const e of document.querySelectorAll("[data-e2e-display]")) {
			e.style.display = e.dataset.e2eDisplay; delete e.dataset.e2eDisplay; } return true; })()`)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	yes := true
	r, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: 8.27, PaperHeight: 11.69, PreferCSSPageSize: &yes})
	pdf := r.Data
	if err != nil {
		b.t.Fatalf("browser %s: print to PDF: %v", b.name, err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		b.t.Fatalf("browser %s: the print is not a PDF (%d bytes)", b.name, len(pdf))
	}
	if save != "" {
		dir := filepath.Join("testdata", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		name := filepath.Join(dir, fileSafe(b.t.Name())+"-"+save+".pdf")
		if err := os.WriteFile(name, pdf, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("printed to %s", name)
	}
	return len(pdfPage.FindAll(pdf, -1))
}
