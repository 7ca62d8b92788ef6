package server

import (
	"context"
	"fmt"
	"github.com/dvresponse/dvresponse/internal/facts"
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
	"github.com/dvresponse/dvresponse/internal/i18n"
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
//     referral, screen and order counts are the report store's when it is
//     loaded (facts.Source.Breakdowns, ActionCounts), else
//     DB.DashboardExtras's
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
	repeatSource
}

// dashboardStore is the database the dashboard's extra figures come from:
// the one report figures are read from (a reporting replica, when one is
// configured, belongs here as in reports()).
func (s *Server) dashboardStore() dashboardStore {
	if s.dashStore != nil {
		return s.dashStore
	}
	return s.reportDB()
}

// dashboardFreshness says where the figures come from and how fresh they
// are ("" says nothing: they come from the primary).
func (s *Server) dashboardFreshness(r *http.Request) string { return s.ReportFreshness(r) }

// dashboardGroupings are the report groupings the dashboard shows.
var dashboardGroupings = []report.GroupBy{report.ByAll, report.ByPriority, report.ByDistrict, report.BySettlement, report.ByWeek}

// multiSource is a report Source that computes several groupings of one
// query at once (*postgres.DB, replicaSource, facts.Source): the results
// are those of ResponseTimes for each grouping.
type multiSource interface {
	ResponseTimesMulti(ctx context.Context, q report.Query, gbs []report.GroupBy) ([]report.Result, error)
}

// dashboardRef is the reference data the filters and labels need.
type dashboardRef struct {
	districts   []refdata.District
	settlements []refdata.Settlement
	priorities  []refdata.Priority
	types       []refdata.IncidentType
	units       []refdata.Unit
}

// facts is the reference data as the report store reads it: the page's,
// read once per request.
func (r dashboardRef) facts() *facts.Ref {
	return &facts.Ref{Priorities: r.priorities, Districts: r.districts, Settlements: r.settlements, Types: r.types}
}

// dashboardData is everything the page shows.
type dashboardData struct {
	results map[report.GroupBy]report.Result
	extra   postgres.DashboardFigures
}

// defaultRepeatBudget is how long GET /dashboard/repeats waits for the
// repeat-rate figures (Server.repeatBudget when 0), which are computed
// from the incidents (no derived data holds them): at a million incidents
// a year's take seconds (make bench). The dashboard page does not wait
// for them: it loads the section by its own request (dashboard_repeats.go).
const defaultRepeatBudget = 10 * time.Second

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
	l := i18n.FromContext(ctx)
	p := web.DashboardPage{Page: s.page(r, l.T("dashboard.title"), "dashboard"), Freshness: s.dashboardFreshness(r)}
	if qErr != nil || ivMsg != "" {
		fields := apperr.Fields{}
		for k, v := range apperr.FieldsOf(qErr) {
			fields[k] = v
		}
		if ivMsg != "" {
			fields[paramInterval] = apperr.Msg{ID: ivMsg}
		}
		p.Invalid = true
		p.Period = l.T("dashboard.invalid_period")
		p.Form = s.dashboardForm(r, ref, nil, r.URL.Query(), fields)
		p.Form.Error = l.T("form.correct_fields")
		p.Periods = s.dashboardPeriods(l, report.Query{Location: s.loc}, iv, now, false)
		s.render(w, r, http.StatusUnprocessableEntity, web.Dashboard(p))
		return
	}
	data, err := s.loadDashboard(ctx, q, iv, now, ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.auditDashboard(r, q, iv, audit.OK); err != nil {
		s.fail(w, r, err)
		return
	}
	s.fillDashboard(&p, r, q, iv, ref, data, now)
	if err := s.fillFollowThrough(&p, r, q, now, ref.facts()); err != nil { // followup.go
		s.fail(w, r, err)
		return
	}
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
	return refdata.Response, "dashboard.err.interval"
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
// (from the report Source, every grouping in one call when it can) and the
// extras, at once.
func (s *Server) loadDashboard(ctx context.Context, q report.Query, iv refdata.Interval, now time.Time, ref dashboardRef) (dashboardData, error) {
	src, store := s.reports(), s.dashboardStore()
	if fs, ok := src.(facts.Source); ok {
		d, served, err := s.dashboardFromStore(ctx, fs, store, q, iv, now, ref.facts())
		if err != nil || served {
			return d, err
		}
	}
	var results []report.Result
	var extra postgres.DashboardFigures
	var errs [2]error
	var wg sync.WaitGroup
	wg.Go(func() { results, errs[0] = responseTimesMulti(ctx, src, q, dashboardGroupings) })
	wg.Go(func() {
		extra, errs[1] = store.DashboardExtras(ctx, q, postgres.DashboardOptions{Interval: iv, Now: now})
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

// dashboardFromStore computes the page's figures from the report store
// (one scan of its days, one pass over the actions): the groupings the page shows with every interval (all,
// priority), those it shows for iv alone (district, settlement, week),
// the breakdowns of iv, the candidates of the slowest list and the action
// counts; the rest (the slowest list itself, open incidents) from the
// database.
// served is false when the store cannot answer q.
func (s *Server) dashboardFromStore(ctx context.Context, fs facts.Source, store dashboardStore, q report.Query,
	iv refdata.Interval, now time.Time, ref *facts.Ref) (d dashboardData, served bool, err error) {
	const slowest = 10
	b, served, err := fs.Breakdowns(ctx, q, iv, []report.GroupBy{report.ByAll, report.ByPriority},
		[]report.GroupBy{report.ByDistrict, report.BySettlement, report.ByWeek}, slowest, ref)
	if err != nil || !served {
		return dashboardData{}, false, err
	}
	group := func(g facts.Group) postgres.DashboardGroup {
		return postgres.DashboardGroup{Key: g.Key, Incidents: g.Incidents, Summary: g.Summary}
	}
	groups := func(gs []facts.Group) []postgres.DashboardGroup {
		out := make([]postgres.DashboardGroup, len(gs))
		for i, g := range gs {
			out[i] = group(g)
		}
		return out
	}
	pb := &postgres.DashboardBreakdowns{All: group(b.All), BySex: groups(b.BySex), ByAgeBand: groups(b.ByAgeBand),
		SlowestAmong: b.Slowest}
	for _, c := range b.ByHour {
		pb.ByHour = append(pb.ByHour, postgres.DashboardCell{Weekday: c.Weekday, Hour: c.Hour, DashboardGroup: group(c.Group)})
	}
	acts, served, err := fs.ActionCounts(ctx, q, ref)
	if err != nil {
		return dashboardData{}, true, err
	}
	opt := postgres.DashboardOptions{Interval: iv, Now: now, Slowest: slowest, Breakdowns: pb}
	if served {
		opt.Actions = &acts
	}
	extra, err := store.DashboardExtras(ctx, q, opt)
	if err != nil {
		return dashboardData{}, true, err
	}
	return dashboardData{results: b.Reports, extra: extra}, true, nil
}

// responseTimesMulti computes q grouped by each of gbs: in one call when
// src is a multiSource (the in-memory store scans once for all), else one
// call per grouping, at once.
func responseTimesMulti(ctx context.Context, src report.Source, q report.Query, gbs []report.GroupBy) ([]report.Result, error) {
	if ms, ok := src.(multiSource); ok {
		return ms.ResponseTimesMulti(ctx, q, gbs)
	}
	out := make([]report.Result, len(gbs))
	errs := make([]error, len(gbs))
	var wg sync.WaitGroup
	for i, gb := range gbs {
		gq := q
		gq.GroupBy = gb
		wg.Go(func() { out[i], errs[i] = src.ResponseTimes(ctx, gq) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ---- figures as the page shows them

// secondsValue writes seconds as the exports do: to the millisecond.
func secondsValue(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// pctValue writes a share as the exports do: to a tenth of a percent.
func pctValue(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// clockText writes seconds for people: m:ss, or h:mm:ss from an hour. The
// tables and charts write times so in every language (the page says so);
// sentences use durText.
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

// durText writes seconds in words, in l's language: "4 min 12 s",
// "1 h 5 min", "40 s".
func durText(l *i18n.Localizer, secs float64) string {
	t := int64(math.Round(math.Abs(secs)))
	var out string
	switch {
	case t >= 3600 && t/60%60 == 0:
		out = l.T("dashboard.dur.h", "H", l.Int(int(t/3600)))
	case t >= 3600:
		out = l.T("dashboard.dur.h_min", "H", l.Int(int(t/3600)), "Min", l.Int(int(t/60%60)))
	case t >= 60 && t%60 == 0:
		out = l.T("dashboard.dur.min", "Min", l.Int(int(t/60)))
	case t >= 60:
		out = l.T("dashboard.dur.min_s", "Min", l.Int(int(t/60)), "S", l.Int(int(t%60)))
	default:
		out = l.T("dashboard.dur.s", "S", l.Int(int(t)))
	}
	if secs < 0 && t > 0 {
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

func pctFig(l *i18n.Localizer, v *float64) web.DashFig {
	if v == nil {
		return web.DashFig{Text: absent}
	}
	return web.DashFig{Value: pctValue(*v), Text: l.Percent(math.Round(*v*10) / 10)}
}

func intFig(l *i18n.Localizer, n int) web.DashFig {
	return web.DashFig{Value: strconv.Itoa(n), Text: l.Int(n)}
}

func targetFig(t *int) web.DashFig {
	if t == nil {
		return web.DashFig{Text: absent}
	}
	return web.DashFig{Value: strconv.Itoa(*t), Text: clockText(float64(*t))}
}

// summaryRow is a table row of one group's figures for interval iv.
func summaryRow(l *i18n.Localizer, groupBy report.GroupBy, key, label string, incidents int, iv refdata.Interval, sum report.Summary) web.DashRow {
	return web.DashRow{GroupBy: string(groupBy), Key: key, Interval: string(iv), Label: label, IntervalLabel: ivName(l, iv),
		Incidents: intFig(l, incidents), N: intFig(l, sum.N), Missing: intFig(l, sum.Missing), Inconsistent: intFig(l, sum.Inconsistent),
		Median: durFig(sum.Median, sum.TargetS), P90: durFig(sum.P90, sum.TargetS), P95: durFig(sum.P95, sum.TargetS),
		Target: targetFig(sum.TargetS), Within: pctFig(l, sum.WithinTargetPct)}
}

// basis says what a figure of sum rests on.
func basis(l *i18n.Localizer, sum report.Summary) string {
	s := l.T("dashboard.basis.measured", "Count", sum.N, "N", l.Int(sum.N))
	if sum.Missing > 0 {
		s += l.T("dashboard.basis.missing", "Count", sum.Missing, "N", l.Int(sum.Missing))
	}
	if sum.Inconsistent > 0 {
		s += l.T("dashboard.basis.inconsistent", "Count", sum.Inconsistent, "N", l.Int(sum.Inconsistent))
	}
	return s
}

// count renders a plural message whose number is {{.N}} (written the
// language's way) and whose form {{.Count}} chooses.
func count(l *i18n.Localizer, id string, n int, kv ...any) string {
	return l.T(id, append([]any{"Count", n, "N", l.Int(n)}, kv...)...)
}

// pctOf is n as a share of total, in words ("" when total is 0): id is the
// message naming what total counts ("{{.Pct}} of referrals").
func pctOf(l *i18n.Localizer, n, total int, id string) string {
	if total == 0 {
		return ""
	}
	return l.T(id, "Pct", l.Percent(math.Round(1000*float64(n)/float64(total))/10))
}

// ivName is the interval's name in l's language ("Response"); ivLower is
// the same within a sentence ("median response").
func ivName(l *i18n.Localizer, iv refdata.Interval) string {
	return l.T("dashboard.interval." + string(iv))
}

func ivLower(l *i18n.Localizer, iv refdata.Interval) string {
	return l.T("dashboard.interval_lower." + string(iv))
}

// ivMeasures says what an interval measures.
func ivMeasures(l *i18n.Localizer, iv refdata.Interval) string {
	return l.T("dashboard.measures." + string(iv))
}

// fillDashboard turns the figures into the page.
func (s *Server) fillDashboard(p *web.DashboardPage, r *http.Request, q report.Query, iv refdata.Interval, ref dashboardRef,
	d dashboardData, now time.Time) {
	l := i18n.FromContext(r.Context())
	p.Interval, p.Measures = ivName(l, iv), ivMeasures(l, iv)
	p.Period = l.T("dashboard.period", "From", dayText(l, q.From), "To", dayText(l, q.To),
		"Days", count(l, "dashboard.days", q.Days()))
	p.Filters = filtersText(l, q, ref)
	p.Generated = l.DateTime(now, s.loc) + " " + s.loc.String()
	p.Form = s.dashboardForm(r, ref, &q, nil, nil)
	p.Form.Fields = append(p.Form.Fields[:len(p.Form.Fields)-1], intervalField(l, string(iv), ""))
	p.Periods = s.dashboardPeriods(l, q, iv, now, true)
	p.Exports = []web.DashLink{{Label: l.T("dashboard.export_csv"), Href: exportHref(q, report.ByPriority, report.CSV)},
		{Label: l.T("dashboard.export_json"), Href: exportHref(q, report.ByPriority, report.JSON)}}

	all, _ := d.results[report.ByAll].Group(string(report.ByAll))
	sum := all.Intervals[iv]
	p.Empty = all.Incidents == 0
	prios := map[int]refdata.Priority{}
	for _, pr := range ref.priorities {
		prios[pr.Level] = pr
	}
	types := map[int64]refdata.IncidentType{}
	for _, t := range ref.types {
		types[t.ID] = t
	}
	// typeLabel is a type's name in the page's language (the name read
	// with the incident when the type is not among the reference data).
	typeLabel := func(id int64, plain string) string {
		if t, ok := types[id]; ok {
			return t.LabelIn(l.Lang)
		}
		return plain
	}

	// Headline figures.
	incidentsBasis := l.T("dashboard.kpi.incidents_basis")
	if all.Corrected > 0 {
		incidentsBasis += count(l, "dashboard.kpi.corrected", all.Corrected)
	}
	p.KPIs = []web.DashKPI{
		{Label: l.T("dashboard.kpi.incidents"), Value: intFig(l, all.Incidents), Basis: incidentsBasis},
		{Label: l.T("dashboard.kpi.median", "Interval", ivLower(l, iv)), Value: durFig(sum.Median, sum.TargetS), Basis: basis(l, sum)},
		{Label: l.T("dashboard.kpi.p90", "Interval", ivLower(l, iv)), Value: durFig(sum.P90, sum.TargetS), Basis: basis(l, sum)},
		{Label: l.T("dashboard.kpi.within", "Interval", ivName(l, iv)), Value: pctFig(l, sum.WithinTargetPct),
			Basis: basis(l, sum) + l.T("dashboard.kpi.within_basis")},
	}
	if sum.TargetS != nil {
		p.KPIs[3].Detail = l.T("dashboard.kpi.target", "Target", durText(l, float64(*sum.TargetS)))
	}
	x := d.extra
	p.KPIs = append(p.KPIs, web.DashKPI{Label: l.T("dashboard.kpi.open"), Value: intFig(l, x.OpenPastTarget), Href: "#open",
		Alert: x.OpenPastTarget > 0, Basis: count(l, "dashboard.kpi.open_basis", x.OpenChecked)})

	// Every interval: all incidents, then each priority.
	p.Intervals = web.DashTable{ID: "intervals-table", KeyHeader: l.T("dashboard.col.priority"), ShowInterval: true,
		Caption: l.T("dashboard.intervals.caption"), Exports: groupExports(l, q, report.ByPriority),
		Note: l.T("dashboard.intervals.note")}
	addIntervals := func(g report.GroupBy, grp report.Group, label string) {
		for i, def := range report.Definitions {
			row := summaryRow(l, g, grp.Key, label, grp.Incidents, def.Interval, grp.Intervals[def.Interval])
			if i == 0 {
				row.Span = len(report.Definitions)
			} else {
				row.Spanned = true
			}
			p.Intervals.Rows = append(p.Intervals.Rows, row)
		}
	}
	addIntervals(report.ByAll, all, l.T("dashboard.all_priorities"))
	for _, g := range d.results[report.ByPriority].Groups {
		label := g.Label
		if pr, ok := prios[atoiOr(g.Key, -1)]; !ok {
			label = l.T("dashboard.priority_n", "Level", g.Key)
		} else {
			label = pr.LabelIn(l.Lang)
		}
		addIntervals(report.ByPriority, g, label)
	}

	s.fillPlaces(l, p, q, iv, ref, d)
	s.fillWeeks(l, p, q, iv, d, all.Intervals[iv].TargetS)
	fillHours(l, p, iv, x)
	p.Victims = web.DashTable{ID: "victims-table", KeyHeader: l.T("dashboard.col.victim"), Empty: l.T("dashboard.empty.period"),
		Caption: l.T("dashboard.victims.caption", "Interval", ivName(l, iv))}
	if len(x.BySex) > 0 {
		p.Victims.Rows = append(p.Victims.Rows, web.DashRow{Heading: true, Label: l.T("dashboard.victims.sex")})
		p.Victims.Rows = append(p.Victims.Rows, extraRows(l, "sex", iv, x.BySex, sexLabel)...)
		p.Victims.Rows = append(p.Victims.Rows, web.DashRow{Heading: true, Label: l.T("dashboard.victims.age")})
		p.Victims.Rows = append(p.Victims.Rows, extraRows(l, "age", iv, x.ByAgeBand, ageLabel)...)
	}

	// The repeat rates take seconds at scale: the section loads them by its
	// own request (dashboardRepeats), the page does not wait.
	p.RepeatsHref = dashboardRepeatsHref(r, q, iv)

	for _, t := range []*web.DashTable{&p.Intervals, &p.Districts, &p.Settlements, &p.Weeks, &p.Victims} {
		finishTable(l, t)
	}

	// What was done.
	a := x.Actions
	p.ActionsBasis = count(l, "dashboard.actions.basis", a.Incidents)
	p.Actions = []web.DashAction{
		{Key: "referrals", Label: l.T("dashboard.actions.referrals"), Count: intFig(l, a.Referrals)},
		{Key: "referrals_accepted", Label: l.T("dashboard.actions.referrals_accepted"), Count: intFig(l, a.ReferralsAccepted), Sub: true,
			Share: pctOf(l, a.ReferralsAccepted, a.Referrals, "dashboard.share.referrals")},
		{Key: "incidents_referred", Label: l.T("dashboard.actions.incidents_referred"), Count: intFig(l, a.IncidentsReferred),
			Share: pctOf(l, a.IncidentsReferred, a.Incidents, "dashboard.share.incidents")},
		{Key: "screens", Label: l.T("dashboard.actions.screens"), Count: intFig(l, a.Screens)},
		{Key: "incidents_screened", Label: l.T("dashboard.actions.incidents_screened"), Count: intFig(l, a.IncidentsScreened),
			Share: pctOf(l, a.IncidentsScreened, a.Incidents, "dashboard.share.incidents")},
		{Key: "incidents_high_danger", Label: l.T("dashboard.actions.incidents_high_danger"), Count: intFig(l, a.IncidentsHighRisk), Sub: true,
			Share: pctOf(l, a.IncidentsHighRisk, a.IncidentsScreened, "dashboard.share.screened")},
		{Key: "orders", Label: l.T("dashboard.actions.orders"), Count: intFig(l, a.Orders)},
		{Key: "incidents_with_order", Label: l.T("dashboard.actions.incidents_with_order"), Count: intFig(l, a.IncidentsWithOrder),
			Share: pctOf(l, a.IncidentsWithOrder, a.Incidents, "dashboard.share.incidents")},
	}

	// The slowest incidents.
	p.SlowestNote = l.T("dashboard.slowest.note", "Listed", count(l, "dashboard.n_incidents", len(x.Slowest)),
		"Interval", ivLower(l, iv), "Measures", ivMeasures(l, iv), "Measured", count(l, "dashboard.n_incidents", x.All.N))
	for _, in := range x.Slowest {
		row := web.DashIncident{Href: "/incidents/" + strconv.FormatInt(in.ID, 10), Number: in.Number,
			Received: l.DateTime(in.Received, s.loc), ReceivedISO: in.Received.UTC().Format(time.RFC3339),
			Priority: "P" + strconv.Itoa(in.Priority), PriorityText: prios[in.Priority].LabelIn(l.Lang), PriorityLevel: in.Priority,
			Type: typeLabel(in.TypeID, in.TypeName), DV: in.TypeDV, Place: placeText(l, in.Place), IDP: in.SettlementIDP,
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
		p.OpenNote = l.T("dashboard.open.none_open")
	case x.OpenPastTarget == 0:
		p.OpenNote = count(l, "dashboard.open.none_past", x.OpenChecked)
	default:
		p.OpenNote = l.T("dashboard.open.note", "Past", count(l, "dashboard.open.past", x.OpenPastTarget),
			"Open", count(l, "dashboard.open.of_open", x.OpenChecked), "Time", now.In(s.loc).Format("15:04"))
		if len(x.Open) < x.OpenPastTarget {
			p.OpenNote += count(l, "dashboard.open.first", len(x.Open))
		}
	}
	for _, in := range x.Open {
		row := web.DashOpen{Href: "/incidents/" + strconv.FormatInt(in.ID, 10), Number: in.Number,
			Received: l.DateTime(in.Received, s.loc), ReceivedISO: in.Received.UTC().Format(time.RFC3339),
			Priority: "P" + strconv.Itoa(in.Priority), PriorityLevel: in.Priority, Type: typeLabel(in.TypeID, in.TypeName),
			DV: in.TypeDV, Place: placeText(l, in.Place), IDP: in.SettlementIDP, Stage: l.T("dashboard.stage." + string(in.Stage))}
		for _, o := range in.Overdue {
			row.Overdue = append(row.Overdue, l.T("dashboard.open.overdue", "Interval", ivName(l, o.Interval),
				"Elapsed", durText(l, o.Elapsed.Seconds()), "Target", durText(l, float64(o.TargetS))))
		}
		p.Open = append(p.Open, row)
	}
}

// atoiOr is the integer s, or def.
func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// fillPlaces fills the district table and chart and the settlement table.
func (s *Server) fillPlaces(l *i18n.Localizer, p *web.DashboardPage, q report.Query, iv refdata.Interval, ref dashboardRef, d dashboardData) {
	districts := d.results[report.ByDistrict].Groups
	p.Districts = web.DashTable{ID: "districts-table", KeyHeader: l.T("dashboard.col.district"), Exports: groupExports(l, q, report.ByDistrict),
		Caption: l.T("dashboard.districts.caption", "Interval", ivName(l, iv)), Empty: l.T("dashboard.empty.period")}
	var bars []chart.Bar
	for _, g := range districts {
		sum := g.Intervals[iv]
		label := districtLabel(l, g)
		p.Districts.Rows = append(p.Districts.Rows, summaryRow(l, report.ByDistrict, g.Key, label, g.Incidents, iv, sum))
		bars = append(bars, chart.Bar{Label: label, Value: sum.Median, Marker: sum.P90, Note: chartNote(l, sum)})
	}
	all, _ := d.results[report.ByAll].Group(string(report.ByAll))
	if len(bars) > 1 {
		c := chart.Bars{ID: "districts-chart", Width: 560, Title: l.T("dashboard.districts.chart_title", "Interval", ivLower(l, iv)),
			Desc: l.T("dashboard.districts.chart_desc", "Interval", ivLower(l, iv)),
			Bars: bars, ValueName: l.T("dashboard.median"), MarkerName: l.T("dashboard.p90"), Format: clockText,
			NoFigure: l.T("dashboard.chart.no_figure"), NoData: l.T("dashboard.chart.no_data")}
		c.Ticks = chart.DurationTicks(chartMax(bars, all.Intervals[iv].TargetS), 5)
		if t := all.Intervals[iv].TargetS; t != nil {
			c.Refs = []chart.Ref{{Name: l.T("dashboard.kpi.target", "Target", clockText(float64(*t))), Value: float64(*t)}}
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
	p.Settlements = web.DashTable{ID: "settlements-table", KeyHeader: l.T("dashboard.col.settlement"), ShowDiff: true,
		DiffHeader: l.T("dashboard.col.vs_district"), Exports: groupExports(l, q, report.BySettlement),
		Empty:   l.T("dashboard.settlements.empty"),
		Caption: l.T("dashboard.settlements.caption", "Interval", ivName(l, iv)),
		Note:    l.T("dashboard.settlements.note")}
	for _, code := range order {
		dg, ok := districtOf[code]
		var districtMedian *float64
		if ok {
			lead := summaryRow(l, report.ByDistrict, dg.Key, l.T("dashboard.whole_district", "District", districtLabel(l, dg)), dg.Incidents, iv, dg.Intervals[iv])
			lead.Lead = true
			p.Settlements.Rows = append(p.Settlements.Rows, lead)
			districtMedian = dg.Intervals[iv].Median
		} else {
			p.Settlements.Rows = append(p.Settlements.Rows, web.DashRow{Key: code, Interval: string(iv), Label: l.T("dashboard.district_no_incident", "Code", code),
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
			row := summaryRow(l, report.BySettlement, g.Key, label, g.Incidents, iv, g.Intervals[iv])
			row.Sub = true
			if isIDP {
				row.Badges = []string{"IDP"} // a code: the page renders dashboard.badge.IDP
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
	s.settlementChart(l, p, iv, order, districtOf, byDistrict, idp, all.Intervals[iv].TargetS)
	if none != nil {
		row := summaryRow(l, report.BySettlement, none.Key, l.T("dashboard.no_settlement"), none.Incidents, iv, none.Intervals[iv])
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
func (s *Server) settlementChart(l *i18n.Localizer, p *web.DashboardPage, iv refdata.Interval, order []string, districtOf map[string]report.Group,
	byDistrict map[string][]report.Group, idp map[string]bool, target *int) {
	var bars []chart.Bar
	var refs []chart.Ref
	single := len(order) == 1
	for _, code := range order {
		dg, ok := districtOf[code]
		if ok && single && dg.Intervals[iv].Median != nil {
			m := *dg.Intervals[iv].Median
			refs = append(refs, chart.Ref{Name: l.T("dashboard.settlements.district_median", "District", districtLabel(l, dg),
				"Median", clockText(m)), Value: m, Neutral: true})
		}
		if ok && !single {
			sum := dg.Intervals[iv]
			bars = append(bars, chart.Bar{Label: l.T("dashboard.settlements.district_bar", "District", districtLabel(l, dg)),
				Value: sum.Median, Marker: sum.P90, Note: chartNote(l, sum), Muted: true})
		}
		for _, g := range byDistrict[code] {
			sum := g.Intervals[iv]
			label, isIDP := strings.CutSuffix(g.Label, " (IDP settlement)")
			isIDP = isIDP || idp[g.Key]
			bars = append(bars, chart.Bar{Label: label, Value: sum.Median, Marker: sum.P90, Note: chartNote(l, sum), Emphasis: isIDP})
		}
	}
	if len(bars) == 0 || len(bars) > maxSettlementBars {
		return
	}
	if target != nil {
		refs = append(refs, chart.Ref{Name: l.T("dashboard.kpi.target", "Target", clockText(float64(*target))), Value: float64(*target)})
	}
	c := chart.Bars{ID: "settlements-chart", Width: 760, Title: l.T("dashboard.settlements.chart_title", "Interval", ivLower(l, iv)),
		Desc: l.T("dashboard.settlements.chart_desc", "Interval", ivLower(l, iv)),
		Bars: bars, ValueName: l.T("dashboard.median"), MarkerName: l.T("dashboard.p90"), EmphasisName: l.T("dashboard.idp_settlement"),
		Refs: refs, Format: clockText, NoFigure: l.T("dashboard.chart.no_figure"), NoData: l.T("dashboard.chart.no_data")}
	if !single {
		c.MutedName = l.T("dashboard.settlements.whole_district")
	}
	top := chartMax(bars, target)
	for _, r := range refs {
		top = max(top, r.Value)
	}
	c.Ticks = chart.DurationTicks(top, 6)
	p.SettlementSVG = c.SVG()
}

// fillWeeks fills the weekly table and trend chart.
func (s *Server) fillWeeks(l *i18n.Localizer, p *web.DashboardPage, q report.Query, iv refdata.Interval, d dashboardData, target *int) {
	p.Weeks = web.DashTable{ID: "weeks-table", KeyHeader: l.T("dashboard.col.week"), Exports: groupExports(l, q, report.ByWeek),
		Caption: l.T("dashboard.weeks.caption", "Interval", ivName(l, iv)),
		Empty:   l.T("dashboard.weeks.empty")}
	c := chart.Line{ID: "weeks-chart", Width: 560, Title: l.T("dashboard.weeks.chart_title", "Interval", ivLower(l, iv)),
		Desc:   l.T("dashboard.weeks.chart_desc", "Interval", ivLower(l, iv)),
		Series: []chart.Series{{Name: l.T("dashboard.median")}, {Name: l.T("dashboard.p90")}}, YFormat: clockText,
		YLabel: l.T("dashboard.chart.min_sec")}
	var values []float64
	for _, g := range d.results[report.ByWeek].Groups {
		sum := g.Intervals[iv]
		label := weekText(l, g)
		p.Weeks.Rows = append(p.Weeks.Rows, summaryRow(l, report.ByWeek, g.Key, label, g.Incidents, iv, sum))
		c.Labels = append(c.Labels, weekStart(l, g))
		c.Names = append(c.Names, l.T("dashboard.weeks.point", "Week", label, "Note", chartNote(l, sum)))
		c.Series[0].Values = append(c.Series[0].Values, sum.Median)
		c.Series[1].Values = append(c.Series[1].Values, sum.P90)
		if sum.P90 != nil {
			values = append(values, *sum.P90)
		}
	}
	if target != nil {
		c.Refs = []chart.Ref{{Name: l.T("dashboard.kpi.target", "Target", clockText(float64(*target))), Value: float64(*target)}}
		values = append(values, float64(*target))
	}
	if len(values) > 0 {
		c.YTicks = chart.DurationTicks(slices.Max(values), 5)
		p.WeekSVG = c.SVG()
	}
}

// weekText names a week group by its Monday and Sunday: "2–8 Nov",
// "30 Nov – 6 Dec" (in l's language).
func weekText(l *i18n.Localizer, g report.Group) string {
	from, to, ok := weekDays(g)
	if !ok {
		return g.Label
	}
	if from.Month == to.Month {
		return l.T("dashboard.date.days_of_month", "From", from.Day, "To", to.Day, "Month", monthShort(l, to.Month))
	}
	return shortDay(l, from) + " – " + shortDay(l, to)
}

// weekStart names a week group by its Monday, "2 Nov".
func weekStart(l *i18n.Localizer, g report.Group) string {
	if from, _, ok := weekDays(g); ok {
		return shortDay(l, from)
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

// monthShort is the abbreviated name of a month as a date writes it
// ("Mar", «мар.»).
func monthShort(l *i18n.Localizer, m time.Month) string {
	return l.T("dashboard.month_short." + strconv.Itoa(int(m)))
}

// shortDay is a day and month, "2 Nov".
func shortDay(l *i18n.Localizer, d report.Date) string {
	return l.T("dashboard.date.day_month", "Day", d.Day, "Month", monthShort(l, d.Month))
}

// dayText is a day, month and year, "2 Nov 2026".
func dayText(l *i18n.Localizer, d report.Date) string {
	return l.T("dashboard.date.day_month_year", "Day", d.Day, "Month", monthShort(l, d.Month), "Year", d.Year)
}

// weekdayShort and weekdayName are the days of the week (1 Monday … 7
// Sunday) abbreviated and in full.
func weekdayShort(l *i18n.Localizer, dow int) string {
	return l.T("dashboard.weekday_short." + strconv.Itoa(dow))
}

func weekdayName(l *i18n.Localizer, dow int) string {
	return l.T("dashboard.weekday." + strconv.Itoa(dow))
}

// fillHours fills the hour-by-weekday table and heat map.
func fillHours(l *i18n.Localizer, p *web.DashboardPage, iv refdata.Interval, x postgres.DashboardFigures) {
	cells := map[[2]int]postgres.DashboardCell{}
	largest := 0.0
	for _, c := range x.ByHour {
		cells[[2]int{c.Weekday, c.Hour}] = c
		if c.Median != nil {
			largest = max(largest, *c.Median)
		}
	}
	var days []string
	for dow := 1; dow <= 7; dow++ {
		days = append(days, weekdayShort(l, dow))
	}
	p.Hours = web.DashGrid{Days: days,
		Caption: l.T("dashboard.hours.caption", "Interval", ivLower(l, iv), "Basis", basis(l, x.All.Summary)),
		Note:    l.T("dashboard.hours.note")}
	unit, cellText := "minutes", func(v float64) string { return strconv.Itoa(int(math.Round(v / 60))) }
	if largest < 120 {
		unit, cellText = "seconds", func(v float64) string { return strconv.Itoa(int(math.Round(v))) }
	}
	hm := chart.HeatMap{ID: "hours-chart", Width: 600, Title: l.T("dashboard.hours.chart_title", "Interval", ivLower(l, iv)),
		Desc: l.T("dashboard.hours.chart_desc_" + unit), Rows: days, Legend: l.T("dashboard.hours.legend_" + unit),
		Format: func(v float64) string { return cellText(v) }, NoFigures: l.T("dashboard.hours.no_figures"),
		NoneMeasured: l.T("dashboard.hours.none_measured")}
	for h := range 24 {
		hm.Cols = append(hm.Cols, fmt.Sprintf("%02d", h))
		row := web.DashHour{Hour: fmt.Sprintf("%02d:00", h)}
		for dow := 1; dow <= 7; dow++ {
			c, ok := cells[[2]int{dow, h}]
			when := l.T("dashboard.hours.when", "Day", weekdayName(l, dow), "From", fmt.Sprintf("%02d:00", h), "To", fmt.Sprintf("%02d:59", h))
			cell := web.DashCell{Title: l.T("dashboard.hours.cell_none", "When", when)}
			if ok {
				cell = web.DashCell{Median: durFig(c.Median, c.TargetS), N: c.N,
					Title: l.T("dashboard.hours.cell", "When", when, "Figures", hourTitle(l, c))}
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
				when := l.T("dashboard.hours.at", "Day", weekdayName(l, dow), "Hour", fmt.Sprintf("%02d:00", h))
				cell = chart.Cell{Value: c.Median, Text: cellText(*c.Median),
					Title: l.T("dashboard.hours.cell", "When", when, "Figures", hourTitle(l, c))}
			}
			hm.Cells[dow-1] = append(hm.Cells[dow-1], cell)
		}
	}
	if x.All.N > 0 {
		p.HourSVG = hm.SVG()
	}
}

func hourTitle(l *i18n.Localizer, c postgres.DashboardCell) string {
	if c.Median != nil {
		return l.T("dashboard.hours.median", "Median", durText(l, *c.Median), "Basis", basis(l, c.Summary))
	}
	return basis(l, c.Summary)
}

// extraRows are table rows of the dashboard's own groups (not in the
// exports), keyed "kind:key".
func extraRows(l *i18n.Localizer, kind string, iv refdata.Interval, gs []postgres.DashboardGroup,
	label func(*i18n.Localizer, string) string) []web.DashRow {
	var rows []web.DashRow
	for _, g := range gs {
		row := summaryRow(l, "", kind+":"+g.Key, label(l, g.Key), g.Incidents, iv, g.Summary)
		row.Sub = true
		rows = append(rows, row)
	}
	return rows
}

// repeatTable is the repeat-rate figures, grouping by grouping: each row
// carries its export grouping and key (data-repeat-by, data-key) and
// each figure its export column.
func repeatTable(l *i18n.Localizer, q report.Query, ref dashboardRef, groups [][]postgres.RepeatRate) web.DashRepeat {
	t := web.DashRepeat{Caption: l.T("dashboard.repeat.caption"), Empty: l.T("dashboard.empty.period")}
	for _, f := range []report.Format{report.CSV, report.JSON} {
		t.Exports = append(t.Exports, web.DashLink{Label: l.T("dashboard.export_" + string(f)),
			Href: repeatExportHref(q, report.RepeatByDistrict, f)})
	}
	settlements := map[string]string{}
	for _, st := range ref.settlements {
		settlements[strconv.FormatInt(st.ID, 10)] = st.Name
	}
	total := 0
	for i, by := range report.RepeatGroupings {
		if i >= len(groups) {
			break
		}
		if by != report.RepeatByAll {
			t.Rows = append(t.Rows, web.DashRepeatRow{Heading: true, Label: l.T("dashboard.repeat.by." + by)})
		}
		for _, g := range groups[i] {
			label := g.Label
			switch by {
			case report.RepeatByAll:
				label = l.T("dashboard.repeat.all")
				total += g.Incidents
			case report.RepeatByDistrict:
				if g.Key == "" {
					label = l.T("dashboard.no_district")
				}
			case report.RepeatBySettlement:
				if g.Key == "" {
					label = l.T("dashboard.repeat.not_idp")
				} else if n, ok := settlements[g.Key]; ok {
					label = n
				}
			case report.RepeatBySex:
				label = sexLabel(l, g.Key)
			case report.RepeatByAge:
				label = ageLabel(l, g.Key)
			}
			row := web.DashRepeatRow{By: by, Key: g.Key, Label: label, Sub: by != report.RepeatByAll,
				Incidents: intFig(l, g.Incidents), Repeats: intFig(l, g.Repeats), Median: web.DashFig{Text: absent}}
			if g.Incidents > 0 {
				share := 100 * g.Share()
				row.Share = web.DashFig{Value: strconv.FormatFloat(g.Share(), 'f', 4, 64), Text: l.Percent(math.Round(share*10) / 10)}
			} else {
				row.Share = web.DashFig{Text: absent}
			}
			if g.MedianDays != nil {
				row.Median = web.DashFig{Value: strconv.FormatFloat(*g.MedianDays, 'f', 1, 64),
					Text: l.T("dashboard.repeat.days", "N", l.Decimal(math.Round(*g.MedianDays*10)/10, 1))}
			}
			t.Rows = append(t.Rows, row)
		}
	}
	if total == 0 {
		t.Rows = nil
	}
	return t
}

// repeatExportHref is the repeat-rate export of q grouped by by.
func repeatExportHref(q report.Query, by string, f report.Format) string {
	v := q.Values()
	v.Set(ParamRepeatBy, by)
	return "/reports/repeat-victimisation." + string(f) + "?" + v.Encode()
}

// finishTable shows the "out of order" and "target" columns only when a
// row needs them, and says so in the note when no row does.
func finishTable(l *i18n.Localizer, t *web.DashTable) {
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
		notes = append(notes, l.T("dashboard.note.none_inconsistent"))
	}
	if len(t.Rows) > 0 && !t.ShowTarget {
		notes = append(notes, l.T("dashboard.note.no_target"))
	}
	if len(notes) > 0 {
		t.Note = strings.TrimSpace(t.Note + " " + strings.Join(notes, " "))
	}
}

func sexLabel(l *i18n.Localizer, k string) string {
	switch k {
	case "":
		return l.T("dashboard.not_recorded")
	case "female", "male", "other":
		return l.T("dashboard.sex." + k)
	}
	return k
}

func ageLabel(l *i18n.Localizer, k string) string {
	switch k {
	case "":
		return l.T("dashboard.not_recorded")
	case "0-17":
		return l.T("dashboard.age.under_18")
	}
	return strings.Replace(k, "-", "–", 1)
}

// districtLabel is a district group's name: the admins' name of the
// district, or the words for incidents without one.
func districtLabel(l *i18n.Localizer, g report.Group) string {
	if g.Key == report.NoneKey {
		return l.T("dashboard.no_district")
	}
	return g.Label
}

// chartNote says what a chart's mark rests on, "n 45, 3 lacking".
func chartNote(l *i18n.Localizer, sum report.Summary) string {
	if lacking := sum.Missing + sum.Inconsistent; lacking > 0 {
		return l.T("dashboard.chart.note_lacking", "N", l.Int(sum.N), "Lacking", l.Int(lacking))
	}
	return l.T("dashboard.chart.note", "N", l.Int(sum.N))
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
func placeText(l *i18n.Localizer, pl postgres.Place) string {
	parts := []string{}
	if pl.DistrictCode != "" {
		parts = append(parts, pl.DistrictCode)
	}
	if pl.SettlementName != "" {
		parts = append(parts, pl.SettlementName)
	}
	if len(parts) == 0 {
		return l.T("dashboard.no_district")
	}
	return strings.Join(parts, " · ")
}

// exportHref is the export of q grouped by g in format f.
func exportHref(q report.Query, g report.GroupBy, f report.Format) string {
	q.GroupBy = g
	return "/reports/response-times." + string(f) + "?" + q.Values().Encode()
}

func groupExports(l *i18n.Localizer, q report.Query, g report.GroupBy) []web.DashLink {
	return []web.DashLink{{Label: l.T("dashboard.csv"), Href: exportHref(q, g, report.CSV)},
		{Label: l.T("dashboard.json"), Href: exportHref(q, g, report.JSON)}}
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
func (s *Server) dashboardPeriods(l *i18n.Localizer, q report.Query, iv refdata.Interval, now time.Time, valid bool) []web.DashLink {
	today := report.DateOf(now, s.loc)
	first := report.Date{Year: today.Year, Month: today.Month, Day: 1}
	lastMonthEnd := first.AddDays(-1)
	lastMonth := report.Date{Year: lastMonthEnd.Year, Month: lastMonthEnd.Month, Day: 1}
	periods := []struct {
		label    string
		from, to report.Date
	}{
		{count(l, "dashboard.periods.last_days", 7), today.AddDays(-6), today},
		{count(l, "dashboard.periods.last_days", report.DefaultDays), today.AddDays(-(report.DefaultDays - 1)), today},
		{l.T("dashboard.periods.this_month"), first, today},
		{l.T("dashboard.date.month_year", "Month", l.T("dashboard.month."+strconv.Itoa(int(lastMonth.Month))), "Year", lastMonth.Year),
			lastMonth, lastMonthEnd},
		{count(l, "dashboard.periods.last_months", 12), report.Date{Year: today.Year - 1, Month: today.Month, Day: today.Day}.AddDays(1), today},
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
func filtersText(l *i18n.Localizer, q report.Query, ref dashboardRef) string {
	var parts []string
	if q.DistrictID != nil {
		name := "#" + strconv.FormatInt(*q.DistrictID, 10)
		if i := slices.IndexFunc(ref.districts, func(d refdata.District) bool { return d.ID == *q.DistrictID }); i >= 0 {
			name = ref.districts[i].Name + " (" + ref.districts[i].Code + ")"
		}
		parts = append(parts, l.T("dashboard.filter.district", "Name", name))
	}
	if q.SettlementID != nil {
		name := "#" + strconv.FormatInt(*q.SettlementID, 10)
		if i := slices.IndexFunc(ref.settlements, func(st refdata.Settlement) bool { return st.ID == *q.SettlementID }); i >= 0 {
			name = ref.settlements[i].Name
		}
		parts = append(parts, l.T("dashboard.filter.settlement", "Name", name))
	}
	if q.IDPOnly {
		parts = append(parts, l.T("dashboard.filter.idp_only"))
	}
	if q.Priority != nil {
		label := "P" + strconv.Itoa(*q.Priority)
		if i := slices.IndexFunc(ref.priorities, func(p refdata.Priority) bool { return p.Level == *q.Priority }); i >= 0 {
			label += " " + ref.priorities[i].LabelIn(l.Lang)
		}
		parts = append(parts, l.T("dashboard.filter.priority", "Name", label))
	}
	if q.TypeID != nil {
		name := "#" + strconv.FormatInt(*q.TypeID, 10)
		if i := slices.IndexFunc(ref.types, func(t refdata.IncidentType) bool { return t.ID == *q.TypeID }); i >= 0 {
			name = ref.types[i].LabelIn(l.Lang)
		}
		parts = append(parts, l.T("dashboard.filter.type", "Name", name))
	}
	if q.DVOnly {
		parts = append(parts, l.T("dashboard.filter.dv_only"))
	} else {
		parts = append(parts, l.T("dashboard.filter.all_calls"))
	}
	if q.Shift != "" {
		parts = append(parts, l.T("dashboard.filter.shift", "Shift", shiftName(l, q.Shift)))
	}
	if q.UnitID != nil {
		name := "#" + strconv.FormatInt(*q.UnitID, 10)
		if i := slices.IndexFunc(ref.units, func(u refdata.Unit) bool { return u.ID == *q.UnitID }); i >= 0 {
			name = ref.units[i].CallSign
		}
		parts = append(parts, l.T("dashboard.filter.unit", "Name", name))
	}
	return strings.Join(parts, " · ")
}

// dashboardForm is the filter form: the values of q when it is valid,
// otherwise the raw parameters with the messages of errs.
func (s *Server) dashboardForm(r *http.Request, ref dashboardRef, q *report.Query, raw url.Values, errFields apperr.Fields) web.DashboardForm {
	errs := s.trFields(r, errFields)
	l := i18n.FromContext(r.Context())
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
	districts := []web.Option{{Value: "", Label: l.T("dashboard.form.all_districts")}}
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
	settlements := []web.Option{{Value: "", Label: l.T("dashboard.form.all_settlements")}}
	for _, st := range ref.settlements {
		if limit != nil && *limit != st.DistrictID {
			continue
		}
		label := st.DistrictCode + " — " + st.Name
		if st.IsIDP {
			label += " (" + l.T("dashboard.badge.IDP") + ")"
		}
		settlements = append(settlements, web.Option{Value: strconv.FormatInt(st.ID, 10), Label: label})
	}
	prios := []web.Option{{Value: "", Label: l.T("dashboard.all_priorities")}}
	for _, p := range ref.priorities {
		prios = append(prios, web.Option{Value: strconv.Itoa(p.Level), Label: "P" + strconv.Itoa(p.Level) + " — " + p.LabelIn(l.Lang)})
	}
	types := []web.Option{{Value: "", Label: l.T("dashboard.form.all_types")}}
	for _, t := range ref.types {
		label := t.LabelIn(l.Lang)
		if t.IsDV {
			label += " (" + l.T("dashboard.badge.DV") + ")"
		}
		types = append(types, web.Option{Value: strconv.FormatInt(t.ID, 10), Label: label})
	}
	units := []web.Option{{Value: "", Label: l.T("dashboard.form.all_units")}}
	for _, un := range ref.units {
		if limit != nil && *limit != un.DistrictID {
			continue
		}
		units = append(units, web.Option{Value: strconv.FormatInt(un.ID, 10), Label: un.CallSign})
	}
	shifts := []web.Option{{Value: "", Label: l.T("dashboard.form.both_shifts")}}
	for _, sh := range report.Shifts {
		shifts = append(shifts, web.Option{Value: string(sh), Label: shiftName(l, sh)})
	}
	dv := ""
	if flag(report.ParamDVOnly) == "on" {
		dv = "1"
	}
	f := web.DashboardForm{Reset: "/dashboard", Fields: []web.Field{
		{Name: report.ParamFrom, Label: l.T("dashboard.form.from"), Type: "date", Value: val(report.ParamFrom), Error: errs[report.ParamFrom]},
		{Name: report.ParamTo, Label: l.T("dashboard.form.to"), Type: "date", Value: val(report.ParamTo), Error: errs[report.ParamTo]},
		{Name: report.ParamDistrict, Label: l.T("dashboard.form.district"), Type: "select", Value: val(report.ParamDistrict), Options: districts,
			Error: errs[report.ParamDistrict]},
		{Name: report.ParamSettlement, Label: l.T("dashboard.form.settlement"), Type: "select", Value: val(report.ParamSettlement), Options: settlements,
			Error: errs[report.ParamSettlement]},
		{Name: report.ParamPriority, Label: l.T("dashboard.form.priority"), Type: "select", Value: val(report.ParamPriority), Options: prios,
			Error: errs[report.ParamPriority]},
		{Name: report.ParamType, Label: l.T("dashboard.form.type"), Type: "select", Value: val(report.ParamType), Options: types,
			Error: errs[report.ParamType]},
		{Name: report.ParamDVOnly, Label: l.T("dashboard.form.calls"), Type: "select", Value: dv, Error: errs[report.ParamDVOnly],
			Options: []web.Option{{Value: "", Label: l.T("dashboard.filter.all_calls")}, {Value: "1", Label: l.T("dashboard.form.dv_only")}}},
		{Name: report.ParamShift, Label: l.T("dashboard.form.shift"), Type: "select", Value: val(report.ParamShift), Options: shifts,
			Error: errs[report.ParamShift]},
		{Name: report.ParamUnit, Label: l.T("dashboard.form.unit"), Type: "select", Value: val(report.ParamUnit), Options: units,
			Error: errs[report.ParamUnit]},
		{Name: report.ParamIDPOnly, Label: l.T("dashboard.form.idp_only"), Type: "checkbox", Value: flag(report.ParamIDPOnly),
			Error: errs[report.ParamIDPOnly]},
		intervalField(l, val(paramInterval), errs[paramInterval]),
	}}
	if errs[report.ParamGroupBy] != "" {
		f.Error = l.T("dashboard.form.group_by_error", "Message", errs[report.ParamGroupBy])
	}
	return f
}

// intervalField chooses the interval of the breakdowns.
func intervalField(l *i18n.Localizer, value, msg string) web.Field {
	opts := make([]web.Option, 0, len(refdata.Intervals))
	for _, iv := range refdata.Intervals {
		opts = append(opts, web.Option{Value: string(iv), Label: ivName(l, iv)})
	}
	if value == "" {
		value = string(refdata.Response)
	}
	return web.Field{Name: paramInterval, Label: l.T("dashboard.form.interval"), Type: "select", Value: value, Options: opts, Error: msg,
		Hint: l.T("dashboard.form.interval_hint")}
}

// shiftName is a shift's name with its hours, "Day (08:00–20:00)".
func shiftName(l *i18n.Localizer, sh report.Shift) string {
	from, to := report.DayStartHour, report.NightStartHour
	if sh == report.NightShift {
		from, to = to, from
	}
	return l.T("dashboard.shift."+string(sh), "From", fmt.Sprintf("%02d:00", from), "To", fmt.Sprintf("%02d:00", to))
}
