package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/chart"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/web"
)

// The supervisor's dashboard (GET /dashboard): the response-time figures
// of one report query, the query the exports take (report.ParseQuery,
// with the supervisor's district limit of reportQuery), so that its
// "Export" links carry the same figures.
//
// Where each figure comes from:
//
//   - the intervals table, the district, settlement and week tables and
//     charts, and the headline figures are the report Source's
//     (s.reports()), grouped by all, priority, district, settlement and
//     week: the very figures of /reports/response-times.{json,csv} and
//     `dvresponse report` for the query with that group_by;
//   - the hour-by-weekday grid, the victim's sex and age bands, the
//     slowest incidents, the incidents open now past a target and the
//     referral, screen and order counts are DB.DashboardExtras's
//     (internal/postgres/dashboard.go), which selects the incidents with
//     the same filters.
//
// The breakdowns measure one interval, the "interval" parameter (default
// the response, from the call to the first unit on scene); the exports
// ignore that parameter. Every view is audited ("report.view"), a refused
// one as denied.

// paramInterval is the dashboard's own parameter: the interval of the
// breakdowns (refdata.Interval).
const paramInterval = "interval"

// dashboardStore is where the dashboard reads what the report Source does
// not give. *postgres.DB satisfies it.
type dashboardStore interface {
	DashboardExtras(ctx context.Context, q report.Query, opt postgres.DashboardOptions) (postgres.DashboardFigures, error)
}

// dashboardStore is the database the dashboard's extra figures come from:
// the one report figures are read from (a reporting replica, when one is
// configured, belongs here as in reports()).
func (s *Server) dashboardStore() dashboardStore { return s.reportDB() }

// dashboardFreshness says where the figures come from and how fresh they
// are ("" says nothing: they come from the primary).
func (s *Server) dashboardFreshness(r *http.Request) string { return s.ReportFreshness(r) }

// dashboardGroupings are the report groupings the dashboard shows.
var dashboardGroupings = []report.GroupBy{report.ByAll, report.ByPriority, report.ByDistrict, report.BySettlement, report.ByWeek}

// dashboardRef is the reference data the filters and labels need.
type dashboardRef struct {
	districts   []refdata.District
	settlements []refdata.Settlement
	priorities  []refdata.Priority
	types       []refdata.IncidentType
	units       []refdata.Unit
}

// dashboardData is everything the page shows.
type dashboardData struct {
	results map[report.GroupBy]report.Result
	extra   postgres.DashboardFigures
}

// dashboard answers GET /dashboard.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.now()
	q, qErr := s.reportQuery(r)
	iv, ivMsg := parseInterval(r.URL.Query().Get(paramInterval))
	switch apperr.CodeOf(qErr) {
	case "", apperr.Invalid: // valid, or shown on the form below
	case apperr.Forbidden:
		if err := s.auditDashboard(r, q, iv, audit.Denied); err != nil {
			qErr = err
		}
		s.fail(w, r, qErr)
		return
	default:
		s.fail(w, r, qErr)
		return
	}
	ref, err := s.dashboardRef(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := web.DashboardPage{Page: s.page(r, "Dashboard", "dashboard"), Freshness: s.dashboardFreshness(r)}
	if qErr != nil || ivMsg != "" {
		fields := apperr.Fields{}
		for k, v := range apperr.FieldsOf(qErr) {
			fields[k] = v
		}
		if ivMsg != "" {
			fields[paramInterval] = ivMsg
		}
		p.Invalid = true
		p.Period = "The period or filters need correcting"
		p.Form = s.dashboardForm(r, ref, nil, r.URL.Query(), fields)
		p.Form.Error = "Please correct the fields marked below."
		p.Periods = s.dashboardPeriods(report.Query{Location: s.loc}, iv, now, false)
		s.render(w, r, http.StatusUnprocessableEntity, web.Dashboard(p))
		return
	}
	data, err := s.loadDashboard(ctx, q, iv, now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.auditDashboard(r, q, iv, audit.OK); err != nil {
		s.fail(w, r, err)
		return
	}
	s.fillDashboard(&p, r, q, iv, ref, data, now)
	s.render(w, r, http.StatusOK, web.Dashboard(p))
}

// parseInterval reads the interval parameter (empty is the response),
// or says what is wrong with it.
func parseInterval(v string) (iv refdata.Interval, msg string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return refdata.Response, ""
	}
	if iv := refdata.Interval(v); slices.Contains(refdata.Intervals, iv) {
		return iv, ""
	}
	return refdata.Response, "Choose an interval from the list."
}

// auditDashboard records a view of the dashboard for q (ids and dates).
func (s *Server) auditDashboard(r *http.Request, q report.Query, iv refdata.Interval, outcome audit.Outcome) error {
	detail := map[string]any{}
	if q.Location != nil {
		detail = q.AuditDetail()
	}
	detail[paramInterval] = string(iv)
	return s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "report.view", RecordType: "report",
		RecordID: "dashboard", Outcome: outcome, Detail: detail})
}

// dashboardRef reads the reference data of the filters.
func (s *Server) dashboardRef(ctx context.Context) (dashboardRef, error) {
	var ref dashboardRef
	var errs [5]error
	var wg sync.WaitGroup
	wg.Go(func() { ref.districts, errs[0] = s.db.Districts(ctx) })
	wg.Go(func() { ref.settlements, errs[1] = s.db.Settlements(ctx) })
	wg.Go(func() { ref.priorities, errs[2] = s.db.Priorities(ctx) })
	wg.Go(func() { ref.types, errs[3] = s.db.IncidentTypes(ctx) })
	wg.Go(func() { ref.units, errs[4] = s.db.Units(ctx) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return ref, err
		}
	}
	return ref, nil
}

// loadDashboard computes the page's figures: the report for each grouping
// and the extras, at once.
func (s *Server) loadDashboard(ctx context.Context, q report.Query, iv refdata.Interval, now time.Time) (dashboardData, error) {
	src, store := s.reports(), s.dashboardStore()
	results := make([]report.Result, len(dashboardGroupings))
	errs := make([]error, len(dashboardGroupings)+1)
	var extra postgres.DashboardFigures
	var wg sync.WaitGroup
	// The groupings the page shows for the chosen interval only (settlements
	// and weeks) come with the extras when the dashboard rollups can give
	// them; the others, and those the rollups could not give, from the
	// report Source.
	byExtras := []report.GroupBy{report.BySettlement, report.ByWeek}
	fromSource := func(i int) {
		gq := q
		gq.GroupBy = dashboardGroupings[i]
		results[i], errs[i] = src.ResponseTimes(ctx, gq)
	}
	for i, g := range dashboardGroupings {
		if !slices.Contains(byExtras, g) {
			wg.Go(func() { fromSource(i) })
		}
	}
	wg.Go(func() {
		extra, errs[len(dashboardGroupings)] = store.DashboardExtras(ctx, q,
			postgres.DashboardOptions{Interval: iv, Now: now, Reports: byExtras})
		if errs[len(dashboardGroupings)] != nil {
			return
		}
		for i, g := range dashboardGroupings {
			if r, ok := extra.Reports[g]; ok {
				results[i] = r
			} else if slices.Contains(byExtras, g) {
				wg.Go(func() { fromSource(i) })
			}
		}
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return dashboardData{}, err
		}
	}
	d := dashboardData{results: map[report.GroupBy]report.Result{}, extra: extra}
	for i, g := range dashboardGroupings {
		d.results[g] = results[i]
	}
	return d, nil
}

// ---- figures as the page shows them

// secondsValue writes seconds as the exports do: to the millisecond.
func secondsValue(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// pctValue writes a share as the exports do: to a tenth of a percent.
func pctValue(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// clockText writes seconds for people: m:ss, or h:mm:ss from an hour.
func clockText(secs float64) string {
	neg := secs < 0
	t := int64(math.Round(math.Abs(secs)))
	var out string
	if t >= 3600 {
		out = fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
	} else {
		out = fmt.Sprintf("%d:%02d", t/60, t%60)
	}
	if neg {
		return "−" + out
	}
	return out
}

// absent is the text of a figure that cannot be computed.
const absent = "–"

func durFig(v *float64, target *int) web.DashFig {
	if v == nil {
		return web.DashFig{Text: absent}
	}
	f := web.DashFig{Value: secondsValue(*v), Text: clockText(*v)}
	if target != nil && *v > float64(*target) {
		f.Class = "dash-over"
	}
	return f
}

func pctFig(v *float64) web.DashFig {
	if v == nil {
		return web.DashFig{Text: absent}
	}
	return web.DashFig{Value: pctValue(*v), Text: strconv.FormatFloat(math.Round(*v*10)/10, 'f', 1, 64) + " %"}
}

func intFig(n int) web.DashFig { s := strconv.Itoa(n); return web.DashFig{Value: s, Text: s} }

func targetFig(t *int) web.DashFig {
	if t == nil {
		return web.DashFig{Text: absent}
	}
	return web.DashFig{Value: strconv.Itoa(*t), Text: clockText(float64(*t))}
}

// summaryRow is a table row of one group's figures for interval iv.
func summaryRow(groupBy report.GroupBy, key, label string, incidents int, iv refdata.Interval, sum report.Summary) web.DashRow {
	return web.DashRow{GroupBy: string(groupBy), Key: key, Interval: string(iv), Label: label, IntervalLabel: iv.Label(),
		Incidents: intFig(incidents), N: intFig(sum.N), Missing: intFig(sum.Missing), Inconsistent: intFig(sum.Inconsistent),
		Median: durFig(sum.Median, sum.TargetS), P90: durFig(sum.P90, sum.TargetS), P95: durFig(sum.P95, sum.TargetS),
		Target: targetFig(sum.TargetS), Within: pctFig(sum.WithinTargetPct)}
}

// basis says what a figure of sum rests on.
func basis(sum report.Summary) string {
	s := plural(sum.N, "incident", "incidents") + " measured"
	if sum.Missing > 0 {
		s += "; " + strconv.Itoa(sum.Missing) + " lacked a time"
	}
	if sum.Inconsistent > 0 {
		s += "; " + strconv.Itoa(sum.Inconsistent) + " had the times out of order"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// pctOf is n as a share of total, in words ("" when total is 0).
func pctOf(n, total int, of string) string {
	if total == 0 {
		return ""
	}
	return strconv.FormatFloat(math.Round(1000*float64(n)/float64(total))/10, 'f', 1, 64) + " % of " + of
}

// intervalMeasures says what an interval measures.
var intervalMeasures = map[refdata.Interval]string{
	refdata.CallProcessing: "from the call to the first unit assigned",
	refdata.Turnout:        "from the first unit assigned to a unit en route",
	refdata.Travel:         "from en route to the first unit on scene",
	refdata.Response:       "from the call to the first unit on scene",
	refdata.OnScene:        "from the first unit on scene to the incident cleared",
	refdata.Total:          "from the call to the incident cleared",
}

// fillDashboard turns the figures into the page.
func (s *Server) fillDashboard(p *web.DashboardPage, r *http.Request, q report.Query, iv refdata.Interval, ref dashboardRef,
	d dashboardData, now time.Time) {
	ivLabel := iv.Label()
	p.Interval, p.Measures = ivLabel, intervalMeasures[iv]
	p.Period = fmt.Sprintf("%s – %s (%s)", dayText(q.From), dayText(q.To), plural(q.Days(), "day", "days"))
	p.Filters = filtersText(q, ref)
	p.Generated = now.In(s.loc).Format("2006-01-02 15:04") + " " + s.loc.String()
	p.Form = s.dashboardForm(r, ref, &q, nil, nil)
	p.Form.Fields = append(p.Form.Fields[:len(p.Form.Fields)-1], intervalField(string(iv), ""))
	p.Periods = s.dashboardPeriods(q, iv, now, true)
	p.Exports = []web.DashLink{{Label: "Export CSV", Href: exportHref(q, report.ByPriority, report.CSV)},
		{Label: "Export JSON", Href: exportHref(q, report.ByPriority, report.JSON)}}

	all, _ := d.results[report.ByAll].Group(string(report.ByAll))
	sum := all.Intervals[iv]
	p.Empty = all.Incidents == 0
	prios := map[int]refdata.Priority{}
	for _, pr := range ref.priorities {
		prios[pr.Level] = pr
	}

	// Headline figures.
	incidentsBasis := "received in the period, passing the filters"
	if all.Corrected > 0 {
		incidentsBasis += "; " + plural(all.Corrected, "has a stage time", "have stage times") + " corrected by a supervisor"
	}
	p.KPIs = []web.DashKPI{
		{Label: "Incidents", Value: intFig(all.Incidents), Basis: incidentsBasis},
		{Label: "Median " + strings.ToLower(ivLabel), Value: durFig(sum.Median, sum.TargetS), Basis: basis(sum)},
		{Label: "90th percentile " + strings.ToLower(ivLabel), Value: durFig(sum.P90, sum.TargetS), Basis: basis(sum)},
		{Label: strings.ToUpper(ivLabel[:1]) + strings.ToLower(ivLabel[1:]) + " within target", Value: pctFig(sum.WithinTargetPct),
			Basis: basis(sum) + "; those whose priority has no target are not counted"},
	}
	if sum.TargetS != nil {
		p.KPIs[3].Detail = "Target " + clockText(float64(*sum.TargetS))
	}
	x := d.extra
	p.KPIs = append(p.KPIs, web.DashKPI{Label: "Open now past a target", Value: intFig(x.OpenPastTarget), Href: "#open",
		Alert: x.OpenPastTarget > 0, Basis: "of " + plural(x.OpenChecked, "open incident", "open incidents") + " passing the filters, whenever received"})

	// Every interval: all incidents, then each priority.
	p.Intervals = web.DashTable{ID: "intervals-table", KeyHeader: "Priority", ShowInterval: true,
		Caption: "All six intervals of the incidents of the period, for all priorities and for each.",
		Exports: groupExports(q, report.ByPriority),
		Note: "Measured: incidents with both times of the interval; a figure rests on those only. Within target: the share of measured " +
			"incidents within their own priority's target (incidents whose priority has none are left out). Red: past the target."}
	addIntervals := func(g report.GroupBy, grp report.Group, label string) {
		for i, def := range report.Definitions {
			row := summaryRow(g, grp.Key, label, grp.Incidents, def.Interval, grp.Intervals[def.Interval])
			if i == 0 {
				row.Span = len(report.Definitions)
			} else {
				row.Spanned = true
			}
			p.Intervals.Rows = append(p.Intervals.Rows, row)
		}
	}
	addIntervals(report.ByAll, all, "All priorities")
	for _, g := range d.results[report.ByPriority].Groups {
		addIntervals(report.ByPriority, g, g.Label)
	}

	s.fillPlaces(p, q, iv, ref, d)
	s.fillWeeks(p, q, iv, d, all.Intervals[iv].TargetS)
	fillHours(p, iv, x)
	p.Victims = web.DashTable{ID: "victims-table", KeyHeader: "Victim", Empty: "No incident in the period.",
		Caption: iv.Label() + " by the victim's sex and by the victim's age in years, as recorded on the call."}
	if len(x.BySex) > 0 {
		p.Victims.Rows = append(p.Victims.Rows, web.DashRow{Heading: true, Label: "Sex"})
		p.Victims.Rows = append(p.Victims.Rows, extraRows("sex", iv, x.BySex, sexLabel)...)
		p.Victims.Rows = append(p.Victims.Rows, web.DashRow{Heading: true, Label: "Age"})
		p.Victims.Rows = append(p.Victims.Rows, extraRows("age", iv, x.ByAgeBand, ageLabel)...)
	}

	for _, t := range []*web.DashTable{&p.Intervals, &p.Districts, &p.Settlements, &p.Weeks, &p.Victims} {
		finishTable(t)
	}

	// What was done.
	a := x.Actions
	p.ActionsBasis = "For the " + plural(a.Incidents, "incident", "incidents") + " of the period passing the filters, whenever the action was recorded."
	p.Actions = []web.DashAction{
		{Key: "referrals", Label: "Referrals offered to a partner organisation", Count: intFig(a.Referrals)},
		{Key: "referrals_accepted", Label: "accepted by the victim", Count: intFig(a.ReferralsAccepted), Sub: true,
			Share: pctOf(a.ReferralsAccepted, a.Referrals, "referrals")},
		{Key: "incidents_referred", Label: "Incidents with a referral", Count: intFig(a.IncidentsReferred),
			Share: pctOf(a.IncidentsReferred, a.Incidents, "incidents")},
		{Key: "screens", Label: "Danger screens done", Count: intFig(a.Screens)},
		{Key: "incidents_screened", Label: "Incidents screened", Count: intFig(a.IncidentsScreened),
			Share: pctOf(a.IncidentsScreened, a.Incidents, "incidents")},
		{Key: "incidents_high_danger", Label: "found at high danger", Count: intFig(a.IncidentsHighRisk), Sub: true,
			Share: pctOf(a.IncidentsHighRisk, a.IncidentsScreened, "incidents screened")},
		{Key: "orders", Label: "Protection orders issued", Count: intFig(a.Orders)},
		{Key: "incidents_with_order", Label: "Incidents with a protection order", Count: intFig(a.IncidentsWithOrder),
			Share: pctOf(a.IncidentsWithOrder, a.Incidents, "incidents")},
	}

	// The slowest incidents.
	p.SlowestNote = fmt.Sprintf("The %s with the longest %s (%s) of the %s measured; times local.",
		plural(len(x.Slowest), "incident", "incidents"), strings.ToLower(ivLabel), intervalMeasures[iv], plural(x.All.N, "incident", "incidents"))
	for _, in := range x.Slowest {
		row := web.DashIncident{Href: "/incidents/" + strconv.FormatInt(in.ID, 10), Number: in.Number,
			Received: s.fmtTime(in.Received), ReceivedISO: in.Received.UTC().Format(time.RFC3339),
			Priority: "P" + strconv.Itoa(in.Priority), PriorityText: prios[in.Priority].Label, PriorityLevel: in.Priority,
			Type: in.TypeName, DV: in.TypeDV, Place: placeText(in.Place), IDP: in.SettlementIDP,
			Duration: web.DashFig{Value: secondsValue(in.Seconds), Text: clockText(in.Seconds)}, Target: absent}
		if in.TargetS != nil {
			row.Target = clockText(float64(*in.TargetS))
			if over := in.Seconds - float64(*in.TargetS); over > 0 {
				row.Over = "+" + clockText(over)
			}
		}
		p.Slowest = append(p.Slowest, row)
	}

	// Open now past a target.
	switch {
	case x.OpenChecked == 0:
		p.OpenNote = "No incident passing the filters is open right now (whenever received)."
	case x.OpenPastTarget == 0:
		p.OpenNote = fmt.Sprintf("None of the %s passing the filters is past a target.", plural(x.OpenChecked, "open incident", "open incidents"))
	default:
		p.OpenNote = fmt.Sprintf("%s of the %s passing the filters (whenever received), as of %s: the interval of the current "+
			"stage, the response while no unit is on scene, and the total, against the priority's targets. Most overrun first.",
			plural(x.OpenPastTarget, "incident is past a target", "incidents are past a target"),
			plural(x.OpenChecked, "open incident", "open incidents"), now.In(s.loc).Format("15:04"))
		if len(x.Open) < x.OpenPastTarget {
			p.OpenNote += fmt.Sprintf(" The first %d are listed.", len(x.Open))
		}
	}
	for _, in := range x.Open {
		row := web.DashOpen{Href: "/incidents/" + strconv.FormatInt(in.ID, 10), Number: in.Number,
			Received: s.fmtTime(in.Received), ReceivedISO: in.Received.UTC().Format(time.RFC3339),
			Priority: "P" + strconv.Itoa(in.Priority), PriorityLevel: in.Priority, Type: in.TypeName, DV: in.TypeDV,
			Place: placeText(in.Place), IDP: in.SettlementIDP, Stage: in.Stage.Label()}
		for _, o := range in.Overdue {
			row.Overdue = append(row.Overdue, fmt.Sprintf("%s %s, target %s", o.Interval.Label(), clockText(o.Elapsed.Seconds()),
				clockText(float64(o.TargetS))))
		}
		p.Open = append(p.Open, row)
	}
}

// fillPlaces fills the district table and chart and the settlement table.
func (s *Server) fillPlaces(p *web.DashboardPage, q report.Query, iv refdata.Interval, ref dashboardRef, d dashboardData) {
	districts := d.results[report.ByDistrict].Groups
	p.Districts = web.DashTable{ID: "districts-table", KeyHeader: "District", Exports: groupExports(q, report.ByDistrict),
		Caption: iv.Label() + " by the incident's district.", Empty: "No incident in the period."}
	var bars []chart.Bar
	for _, g := range districts {
		sum := g.Intervals[iv]
		p.Districts.Rows = append(p.Districts.Rows, summaryRow(report.ByDistrict, g.Key, g.Label, g.Incidents, iv, sum))
		bars = append(bars, chart.Bar{Label: g.Label, Value: sum.Median, Marker: sum.P90, Note: chartNote(sum)})
	}
	all, _ := d.results[report.ByAll].Group(string(report.ByAll))
	if len(bars) > 1 {
		c := chart.Bars{ID: "districts-chart", Width: 560, Title: "Median " + strings.ToLower(iv.Label()) + " by district",
			Desc: "A bar per district: its median " + strings.ToLower(iv.Label()) + ", with a mark at the 90th percentile; " +
				"n is the number of incidents measured. The table beside holds the numbers.",
			Bars: bars, ValueName: "Median", MarkerName: "90th percentile", Format: clockText}
		c.Ticks = chart.DurationTicks(chartMax(bars, all.Intervals[iv].TargetS), 5)
		if t := all.Intervals[iv].TargetS; t != nil {
			c.Refs = []chart.Ref{{Name: "Target " + clockText(float64(*t)), Value: float64(*t)}}
		}
		p.DistrictSVG = c.SVG()
	}

	// Settlements under their district's figures, IDP settlements first.
	idp := map[string]bool{}
	for _, st := range ref.settlements {
		idp[report.SettlementKey(st.DistrictCode, st.Name)] = st.IsIDP
	}
	byDistrict := map[string][]report.Group{}
	var order []string
	var none *report.Group
	for _, g := range d.results[report.BySettlement].Groups {
		if g.Key == report.NoneKey {
			none = &g
			continue
		}
		code, _, _ := strings.Cut(g.Key, "/")
		if _, ok := byDistrict[code]; !ok {
			order = append(order, code)
		}
		byDistrict[code] = append(byDistrict[code], g)
	}
	districtOf := map[string]report.Group{}
	for _, g := range districts {
		districtOf[g.Key] = g
	}
	slices.SortFunc(order, func(a, b string) int {
		ia := slices.IndexFunc(districts, func(g report.Group) bool { return g.Key == a })
		ib := slices.IndexFunc(districts, func(g report.Group) bool { return g.Key == b })
		if ia < 0 {
			ia = math.MaxInt
		}
		if ib < 0 {
			ib = math.MaxInt
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	p.Settlements = web.DashTable{ID: "settlements-table", KeyHeader: "Settlement", ShowDiff: true, DiffHeader: "Median vs district",
		Exports: groupExports(q, report.BySettlement), Empty: "No incident of the period has a settlement recorded.",
		Caption: iv.Label() + " by settlement, each under its district's figures over all its incidents; IDP settlements first.",
		Note: "Median vs district: the settlement's median less its district's (+ slower, − faster). " +
			"IDP: a settlement of internally displaced people."}
	for _, code := range order {
		dg, ok := districtOf[code]
		var districtMedian *float64
		if ok {
			lead := summaryRow(report.ByDistrict, dg.Key, dg.Label+" (whole district)", dg.Incidents, iv, dg.Intervals[iv])
			lead.Lead = true
			p.Settlements.Rows = append(p.Settlements.Rows, lead)
			districtMedian = dg.Intervals[iv].Median
		} else {
			p.Settlements.Rows = append(p.Settlements.Rows, web.DashRow{Key: code, Interval: string(iv), Label: code + " (no incident of the district itself)",
				Lead: true, Incidents: web.DashFig{Text: absent}, N: web.DashFig{Text: absent}, Missing: web.DashFig{Text: absent},
				Inconsistent: web.DashFig{Text: absent}, Median: web.DashFig{Text: absent}, P90: web.DashFig{Text: absent},
				P95: web.DashFig{Text: absent}, Target: web.DashFig{Text: absent}, Within: web.DashFig{Text: absent}})
		}
		gs := byDistrict[code]
		slices.SortStableFunc(gs, func(a, b report.Group) int {
			switch ia, ib := idp[a.Key], idp[b.Key]; {
			case ia && !ib:
				return -1
			case ib && !ia:
				return 1
			}
			return 0
		})
		for _, g := range gs {
			label, isIDP := strings.CutSuffix(g.Label, " (IDP settlement)")
			isIDP = isIDP || idp[g.Key]
			row := summaryRow(report.BySettlement, g.Key, label, g.Incidents, iv, g.Intervals[iv])
			row.Sub = true
			if isIDP {
				row.Badges = []string{"IDP"}
			}
			row.Diff = web.DashFig{Text: absent}
			if m := g.Intervals[iv].Median; m != nil && districtMedian != nil {
				diff := *m - *districtMedian
				row.Diff.Text = "±0:00"
				switch {
				case math.Round(diff) > 0:
					row.Diff = web.DashFig{Text: "+" + clockText(diff), Class: "dash-slower"}
				case math.Round(diff) < 0:
					row.Diff = web.DashFig{Text: clockText(diff), Class: "dash-faster"}
				}
			}
			p.Settlements.Rows = append(p.Settlements.Rows, row)
		}
	}
	s.settlementChart(p, iv, order, districtOf, byDistrict, idp, all.Intervals[iv].TargetS)
	if none != nil {
		row := summaryRow(report.BySettlement, none.Key, "No settlement recorded", none.Incidents, iv, none.Intervals[iv])
		row.Lead = true
		row.Diff = web.DashFig{Text: absent}
		p.Settlements.Rows = append(p.Settlements.Rows, row)
	}
}

// maxSettlementBars is the most settlements the settlement chart draws;
// beyond, the table alone tells them.
const maxSettlementBars = 40

// settlementChart draws the settlements in the order of the table, each
// district's in a run: with one district its median is a line to compare
// them with, with several each district is a grey bar above its own.
func (s *Server) settlementChart(p *web.DashboardPage, iv refdata.Interval, order []string, districtOf map[string]report.Group,
	byDistrict map[string][]report.Group, idp map[string]bool, target *int) {
	var bars []chart.Bar
	var refs []chart.Ref
	single := len(order) == 1
	for _, code := range order {
		dg, ok := districtOf[code]
		if ok && single && dg.Intervals[iv].Median != nil {
			m := *dg.Intervals[iv].Median
			refs = append(refs, chart.Ref{Name: dg.Label + " median " + clockText(m), Value: m, Neutral: true})
		}
		if ok && !single {
			sum := dg.Intervals[iv]
			bars = append(bars, chart.Bar{Label: dg.Label + " (district)", Value: sum.Median, Marker: sum.P90, Note: chartNote(sum), Muted: true})
		}
		for _, g := range byDistrict[code] {
			sum := g.Intervals[iv]
			label, isIDP := strings.CutSuffix(g.Label, " (IDP settlement)")
			isIDP = isIDP || idp[g.Key]
			bars = append(bars, chart.Bar{Label: label, Value: sum.Median, Marker: sum.P90, Note: chartNote(sum), Emphasis: isIDP})
		}
	}
	if len(bars) == 0 || len(bars) > maxSettlementBars {
		return
	}
	if target != nil {
		refs = append(refs, chart.Ref{Name: "Target " + clockText(float64(*target)), Value: float64(*target)})
	}
	c := chart.Bars{ID: "settlements-chart", Width: 760, Title: "Median " + strings.ToLower(iv.Label()) + " by settlement",
		Desc: "A bar per settlement: its median " + strings.ToLower(iv.Label()) + ", purple for a settlement of internally displaced " +
			"people, with a mark at the 90th percentile; n is the number of incidents measured. The table below holds the numbers.",
		Bars: bars, ValueName: "Median", MarkerName: "90th percentile", EmphasisName: "IDP settlement", Refs: refs, Format: clockText}
	if !single {
		c.MutedName = "Whole district"
	}
	top := chartMax(bars, target)
	for _, r := range refs {
		top = max(top, r.Value)
	}
	c.Ticks = chart.DurationTicks(top, 6)
	p.SettlementSVG = c.SVG()
}

// fillWeeks fills the weekly table and trend chart.
func (s *Server) fillWeeks(p *web.DashboardPage, q report.Query, iv refdata.Interval, d dashboardData, target *int) {
	p.Weeks = web.DashTable{ID: "weeks-table", KeyHeader: "Week", Exports: groupExports(q, report.ByWeek),
		Caption: iv.Label() + " by the week of the call, Monday to Sunday; the first and last weeks may be partly outside the period.",
		Empty:   "No week in the period."}
	c := chart.Line{ID: "weeks-chart", Width: 560, Title: "Weekly " + strings.ToLower(iv.Label()) + ": median and 90th percentile",
		Desc: "A point per week for the median and for the 90th percentile of the " + strings.ToLower(iv.Label()) +
			"; a gap is a week without a measured incident. The table beside holds the numbers.",
		Series: []chart.Series{{Name: "Median"}, {Name: "90th percentile"}}, YFormat: clockText, YLabel: "minutes:seconds"}
	var values []float64
	for _, g := range d.results[report.ByWeek].Groups {
		sum := g.Intervals[iv]
		label := weekText(g)
		p.Weeks.Rows = append(p.Weeks.Rows, summaryRow(report.ByWeek, g.Key, label, g.Incidents, iv, sum))
		c.Labels = append(c.Labels, weekStart(g))
		c.Names = append(c.Names, "Week of "+label+" ("+chartNote(sum)+")")
		c.Series[0].Values = append(c.Series[0].Values, sum.Median)
		c.Series[1].Values = append(c.Series[1].Values, sum.P90)
		if sum.P90 != nil {
			values = append(values, *sum.P90)
		}
	}
	if target != nil {
		c.Refs = []chart.Ref{{Name: "Target " + clockText(float64(*target)), Value: float64(*target)}}
		values = append(values, float64(*target))
	}
	if len(values) > 0 {
		c.YTicks = chart.DurationTicks(slices.Max(values), 5)
		p.WeekSVG = c.SVG()
	}
}

// weekText names a week group by its Monday and Sunday: "2–8 Nov",
// "30 Nov – 6 Dec".
func weekText(g report.Group) string {
	from, to, ok := weekDays(g)
	if !ok {
		return g.Label
	}
	if from.Month == to.Month {
		return strconv.Itoa(from.Day) + "–" + shortDay(to)
	}
	return shortDay(from) + " – " + shortDay(to)
}

// weekStart names a week group by its Monday, "2 Nov".
func weekStart(g report.Group) string {
	if from, _, ok := weekDays(g); ok {
		return shortDay(from)
	}
	return g.Key
}

// weekDays reads the Monday and Sunday of a week group from its label
// (report.Builder's "2026-02-09 – 2026-02-15").
func weekDays(g report.Group) (from, to report.Date, ok bool) {
	a, b, found := strings.Cut(g.Label, " – ")
	if !found {
		return from, to, false
	}
	from, err1 := report.ParseDate(a)
	to, err2 := report.ParseDate(b)
	return from, to, err1 == nil && err2 == nil
}

func shortDay(d report.Date) string { return strconv.Itoa(d.Day) + " " + d.Month.String()[:3] }

func dayText(d report.Date) string { return shortDay(d) + " " + strconv.Itoa(d.Year) }

// weekdays are the days of the week, ISO order.
var weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

var weekdayNames = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// fillHours fills the hour-by-weekday table and heat map.
func fillHours(p *web.DashboardPage, iv refdata.Interval, x postgres.DashboardFigures) {
	cells := map[[2]int]postgres.DashboardCell{}
	largest := 0.0
	for _, c := range x.ByHour {
		cells[[2]int{c.Weekday, c.Hour}] = c
		if c.Median != nil {
			largest = max(largest, *c.Median)
		}
	}
	label := strings.ToLower(iv.Label())
	p.Hours = web.DashGrid{Days: weekdays,
		Caption: fmt.Sprintf("Median %s by the local hour and weekday of the call, with the number of incidents measured; %s.",
			label, basis(x.All.Summary)),
		Note: "Each cell rests on the incidents measured in that hour of that weekday over the whole period (the small number)."}
	unit, cellText := "minutes", func(v float64) string { return strconv.Itoa(int(math.Round(v / 60))) }
	if largest < 120 {
		unit, cellText = "seconds", func(v float64) string { return strconv.Itoa(int(math.Round(v))) }
	}
	hm := chart.HeatMap{ID: "hours-chart", Width: 600, Title: "Median " + label + " by hour of day and day of week",
		Desc: "A row per day of the week and a column per hour of the call; darker cells are slower. " +
			"Each cell shows its median in " + unit + "; the table beside holds the numbers.",
		Rows: weekdays, Legend: "Median, " + unit + ":", Format: func(v float64) string { return cellText(v) }}
	for h := range 24 {
		hm.Cols = append(hm.Cols, fmt.Sprintf("%02d", h))
		row := web.DashHour{Hour: fmt.Sprintf("%02d:00", h)}
		for dow := 1; dow <= 7; dow++ {
			c, ok := cells[[2]int{dow, h}]
			when := fmt.Sprintf("%s %02d:00–%02d:59", weekdayNames[dow-1], h, h)
			cell := web.DashCell{Title: when + ": no incident"}
			if ok {
				cell = web.DashCell{Median: durFig(c.Median, c.TargetS), N: c.N, Title: when + ": " + hourTitle(c)}
			}
			row.Cells = append(row.Cells, cell)
		}
		p.Hours.Rows = append(p.Hours.Rows, row)
	}
	hm.Cells = make([][]chart.Cell, 7)
	for dow := 1; dow <= 7; dow++ {
		for h := range 24 {
			c, ok := cells[[2]int{dow, h}]
			cell := chart.Cell{}
			if ok && c.Median != nil {
				cell = chart.Cell{Value: c.Median, Text: cellText(*c.Median),
					Title: fmt.Sprintf("%s %02d:00: %s", weekdayNames[dow-1], h, hourTitle(c))}
			}
			hm.Cells[dow-1] = append(hm.Cells[dow-1], cell)
		}
	}
	if x.All.N > 0 {
		p.HourSVG = hm.SVG()
	}
}

func hourTitle(c postgres.DashboardCell) string {
	s := ""
	if c.Median != nil {
		s = "median " + clockText(*c.Median) + ", "
	}
	return s + basis(c.Summary)
}

// extraRows are table rows of the dashboard's own groups (not in the
// exports), keyed "kind:key".
func extraRows(kind string, iv refdata.Interval, gs []postgres.DashboardGroup, label func(string) string) []web.DashRow {
	var rows []web.DashRow
	for _, g := range gs {
		row := summaryRow("", kind+":"+g.Key, label(g.Key), g.Incidents, iv, g.Summary)
		row.Sub = true
		rows = append(rows, row)
	}
	return rows
}

// finishTable shows the "out of order" and "target" columns only when a
// row needs them, and says so in the note when no row does.
func finishTable(t *web.DashTable) {
	for _, r := range t.Rows {
		if r.Inconsistent.Value != "" && r.Inconsistent.Value != "0" {
			t.ShowInconsistent = true
		}
		if r.Target.Value != "" {
			t.ShowTarget = true
		}
	}
	var notes []string
	if len(t.Rows) > 0 && !t.ShowInconsistent {
		notes = append(notes, "No incident had the times of the interval out of order.")
	}
	if len(t.Rows) > 0 && !t.ShowTarget {
		notes = append(notes, "A target column shows when a row's incidents share one (filter by priority); "+
			"within target judges each incident by its own priority's target.")
	}
	if len(notes) > 0 {
		t.Note = strings.TrimSpace(t.Note + " " + strings.Join(notes, " "))
	}
}

func sexLabel(k string) string {
	switch k {
	case "":
		return "Not recorded"
	case "female":
		return "Female"
	case "male":
		return "Male"
	case "other":
		return "Other"
	}
	return k
}

func ageLabel(k string) string {
	switch k {
	case "":
		return "Not recorded"
	case "0-17":
		return "Under 18"
	}
	return strings.Replace(k, "-", "–", 1)
}

// chartNote says what a chart's mark rests on, "n 45, 3 lacking".
func chartNote(sum report.Summary) string {
	s := "n " + strconv.Itoa(sum.N)
	if l := sum.Missing + sum.Inconsistent; l > 0 {
		s += ", " + strconv.Itoa(l) + " lacking"
	}
	return s
}

func chartMax(bars []chart.Bar, target *int) float64 {
	m := 0.0
	for _, b := range bars {
		for _, v := range []*float64{b.Value, b.Marker} {
			if v != nil {
				m = max(m, *v)
			}
		}
	}
	if target != nil {
		m = max(m, float64(*target))
	}
	return m
}

// placeText is where an incident was, as lists show it: "LEN · Ak-Jol".
func placeText(pl postgres.Place) string {
	parts := []string{}
	if pl.DistrictCode != "" {
		parts = append(parts, pl.DistrictCode)
	}
	if pl.SettlementName != "" {
		parts = append(parts, pl.SettlementName)
	}
	if len(parts) == 0 {
		return "No district"
	}
	return strings.Join(parts, " · ")
}

// exportHref is the export of q grouped by g in format f.
func exportHref(q report.Query, g report.GroupBy, f report.Format) string {
	q.GroupBy = g
	return "/reports/response-times." + string(f) + "?" + q.Values().Encode()
}

func groupExports(q report.Query, g report.GroupBy) []web.DashLink {
	return []web.DashLink{{Label: "CSV", Href: exportHref(q, g, report.CSV)}, {Label: "JSON", Href: exportHref(q, g, report.JSON)}}
}

// dashboardHref is the dashboard for q (its filters and dates) and iv.
func dashboardHref(q report.Query, iv refdata.Interval) string {
	v := q.Values()
	v.Del(report.ParamGroupBy)
	if iv != refdata.Response {
		v.Set(paramInterval, string(iv))
	}
	return "/dashboard?" + v.Encode()
}

// dashboardPeriods are the quick periods, with q's filters: the last 7
// and 28 days, this month so far, last month and the last 12 months.
func (s *Server) dashboardPeriods(q report.Query, iv refdata.Interval, now time.Time, valid bool) []web.DashLink {
	today := report.DateOf(now, s.loc)
	first := report.Date{Year: today.Year, Month: today.Month, Day: 1}
	lastMonthEnd := first.AddDays(-1)
	lastMonth := report.Date{Year: lastMonthEnd.Year, Month: lastMonthEnd.Month, Day: 1}
	periods := []struct {
		label    string
		from, to report.Date
	}{
		{"Last 7 days", today.AddDays(-6), today},
		{"Last 28 days", today.AddDays(-(report.DefaultDays - 1)), today},
		{"This month", first, today},
		{lastMonth.Month.String() + " " + strconv.Itoa(lastMonth.Year), lastMonth, lastMonthEnd},
		{"Last 12 months", report.Date{Year: today.Year - 1, Month: today.Month, Day: today.Day}.AddDays(1), today},
	}
	var out []web.DashLink
	for _, pr := range periods {
		pq := q
		pq.From, pq.To = pr.from, pr.to
		if pq.Location == nil {
			pq.Location = s.loc
		}
		if pq.GroupBy == "" {
			pq.GroupBy = report.ByPriority
		}
		out = append(out, web.DashLink{Label: pr.label, Href: dashboardHref(pq, iv),
			Current: valid && q.From == pr.from && q.To == pr.to})
	}
	return out
}

// filtersText says the query's filters in words, for the page and its print.
func filtersText(q report.Query, ref dashboardRef) string {
	var parts []string
	if q.DistrictID != nil {
		name := "#" + strconv.FormatInt(*q.DistrictID, 10)
		if i := slices.IndexFunc(ref.districts, func(d refdata.District) bool { return d.ID == *q.DistrictID }); i >= 0 {
			name = ref.districts[i].Name + " (" + ref.districts[i].Code + ")"
		}
		parts = append(parts, "District "+name)
	}
	if q.SettlementID != nil {
		name := "#" + strconv.FormatInt(*q.SettlementID, 10)
		if i := slices.IndexFunc(ref.settlements, func(st refdata.Settlement) bool { return st.ID == *q.SettlementID }); i >= 0 {
			name = ref.settlements[i].Name
		}
		parts = append(parts, "Settlement "+name)
	}
	if q.IDPOnly {
		parts = append(parts, "IDP settlements only")
	}
	if q.Priority != nil {
		label := "P" + strconv.Itoa(*q.Priority)
		if i := slices.IndexFunc(ref.priorities, func(p refdata.Priority) bool { return p.Level == *q.Priority }); i >= 0 {
			label += " " + ref.priorities[i].Label
		}
		parts = append(parts, "Priority "+label)
	}
	if q.TypeID != nil {
		name := "#" + strconv.FormatInt(*q.TypeID, 10)
		if i := slices.IndexFunc(ref.types, func(t refdata.IncidentType) bool { return t.ID == *q.TypeID }); i >= 0 {
			name = ref.types[i].Name
		}
		parts = append(parts, "Type "+name)
	}
	if q.DVOnly {
		parts = append(parts, "Domestic-violence calls only")
	} else {
		parts = append(parts, "All calls")
	}
	if q.Shift != "" {
		parts = append(parts, q.Shift.Label()+" shift")
	}
	if q.UnitID != nil {
		name := "#" + strconv.FormatInt(*q.UnitID, 10)
		if i := slices.IndexFunc(ref.units, func(u refdata.Unit) bool { return u.ID == *q.UnitID }); i >= 0 {
			name = ref.units[i].CallSign
		}
		parts = append(parts, "Unit "+name)
	}
	return strings.Join(parts, " · ")
}

// dashboardForm is the filter form: the values of q when it is valid,
// otherwise the raw parameters with the messages of errs.
func (s *Server) dashboardForm(r *http.Request, ref dashboardRef, q *report.Query, raw url.Values, errs apperr.Fields) web.DashboardForm {
	u := currentUser(r.Context())
	var limit *int64
	if u != nil && u.Role == account.Supervisor {
		limit = u.DistrictID
	}
	val := func(k string) string { return strings.TrimSpace(raw.Get(k)) }
	if q != nil {
		v := q.Values()
		val = func(k string) string { return v.Get(k) }
	}
	flag := func(k string) string {
		switch strings.ToLower(val(k)) {
		case "1", "true", "on", "yes":
			return "on"
		}
		return ""
	}
	districts := []web.Option{{Value: "", Label: "All districts"}}
	if limit != nil {
		districts = nil
	}
	codeOf := map[int64]string{}
	for _, d := range ref.districts {
		codeOf[d.ID] = d.Code
		if limit == nil || *limit == d.ID {
			districts = append(districts, web.Option{Value: strconv.FormatInt(d.ID, 10), Label: d.Code + " — " + d.Name})
		}
	}
	settlements := []web.Option{{Value: "", Label: "All settlements"}}
	for _, st := range ref.settlements {
		if limit != nil && *limit != st.DistrictID {
			continue
		}
		label := st.DistrictCode + " — " + st.Name
		if st.IsIDP {
			label += " (IDP)"
		}
		settlements = append(settlements, web.Option{Value: strconv.FormatInt(st.ID, 10), Label: label})
	}
	prios := []web.Option{{Value: "", Label: "All priorities"}}
	for _, p := range ref.priorities {
		prios = append(prios, web.Option{Value: strconv.Itoa(p.Level), Label: "P" + strconv.Itoa(p.Level) + " — " + p.Label})
	}
	types := []web.Option{{Value: "", Label: "All types"}}
	for _, t := range ref.types {
		label := t.Name
		if t.IsDV {
			label += " (DV)"
		}
		types = append(types, web.Option{Value: strconv.FormatInt(t.ID, 10), Label: label})
	}
	units := []web.Option{{Value: "", Label: "All units"}}
	for _, un := range ref.units {
		if limit != nil && *limit != un.DistrictID {
			continue
		}
		units = append(units, web.Option{Value: strconv.FormatInt(un.ID, 10), Label: un.CallSign})
	}
	shifts := []web.Option{{Value: "", Label: "Both shifts"}}
	for _, sh := range report.Shifts {
		shifts = append(shifts, web.Option{Value: string(sh), Label: sh.Label()})
	}
	dv := ""
	if flag(report.ParamDVOnly) == "on" {
		dv = "1"
	}
	f := web.DashboardForm{Reset: "/dashboard", Fields: []web.Field{
		{Name: report.ParamFrom, Label: "From", Type: "date", Value: val(report.ParamFrom), Error: errs[report.ParamFrom]},
		{Name: report.ParamTo, Label: "To", Type: "date", Value: val(report.ParamTo), Error: errs[report.ParamTo]},
		{Name: report.ParamDistrict, Label: "District", Type: "select", Value: val(report.ParamDistrict), Options: districts,
			Error: errs[report.ParamDistrict]},
		{Name: report.ParamSettlement, Label: "Settlement", Type: "select", Value: val(report.ParamSettlement), Options: settlements,
			Error: errs[report.ParamSettlement]},
		{Name: report.ParamPriority, Label: "Priority", Type: "select", Value: val(report.ParamPriority), Options: prios,
			Error: errs[report.ParamPriority]},
		{Name: report.ParamType, Label: "Incident type", Type: "select", Value: val(report.ParamType), Options: types,
			Error: errs[report.ParamType]},
		{Name: report.ParamDVOnly, Label: "Calls", Type: "select", Value: dv, Error: errs[report.ParamDVOnly],
			Options: []web.Option{{Value: "", Label: "All calls"}, {Value: "1", Label: "Domestic-violence types only"}}},
		{Name: report.ParamShift, Label: "Shift", Type: "select", Value: val(report.ParamShift), Options: shifts,
			Error: errs[report.ParamShift]},
		{Name: report.ParamUnit, Label: "Unit", Type: "select", Value: val(report.ParamUnit), Options: units,
			Error: errs[report.ParamUnit]},
		{Name: report.ParamIDPOnly, Label: "IDP settlements only", Type: "checkbox", Value: flag(report.ParamIDPOnly),
			Error: errs[report.ParamIDPOnly]},
		intervalField(val(paramInterval), errs[paramInterval]),
	}}
	if errs[report.ParamGroupBy] != "" {
		f.Error = "Group by: " + errs[report.ParamGroupBy]
	}
	return f
}

// intervalField chooses the interval of the breakdowns.
func intervalField(value, msg string) web.Field {
	opts := make([]web.Option, 0, len(refdata.Intervals))
	for _, iv := range refdata.Intervals {
		opts = append(opts, web.Option{Value: string(iv), Label: iv.Label()})
	}
	if value == "" {
		value = string(refdata.Response)
	}
	return web.Field{Name: paramInterval, Label: "Breakdowns by", Type: "select", Value: value, Options: opts, Error: msg,
		Hint: "The interval of the tables and charts below the first."}
}
