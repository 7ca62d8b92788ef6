package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/web"
)

// The dashboard's "Repeat victimisation" section (GET /dashboard/repeats):
// the repeat rates come from the report store (a scan of the period), or
// from the incidents until it is loaded, which takes seconds at scale
// (make bench); so the dashboard page does not wait for them: its
// section loads this fragment by its own request (htmx, on load) with the
// page's query, and without JavaScript links to it. The query is read as
// the dashboard's (reportQuery: the same filters, period and district
// scope); the interval parameter is ignored. The figures are bounded by
// repeatBudget: slower, the section says so and offers the exports.

// dashboardRepeatsPath is the fragment's path.
const dashboardRepeatsPath = "/dashboard/repeats"

// dashboardRepeatsHref is the fragment for q (its filters and dates) on
// the dashboard of interval iv (kept for the way back), in the language
// of r's ?lang= when it names one (as the page it is part of).
func dashboardRepeatsHref(r *http.Request, q report.Query, iv refdata.Interval) string {
	return withLangOf(r, dashboardRepeatsPath+strings.TrimPrefix(dashboardHref(q, iv), "/dashboard"))
}

// withLangOf adds r's ?lang= to href when it names a language: a page
// opened with ?lang=ru links its parts in Russian too.
func withLangOf(r *http.Request, href string) string {
	if lang := r.URL.Query().Get("lang"); i18n.Supported(lang) {
		return href + "&lang=" + url.QueryEscape(lang)
	}
	return href
}

// dashboardRepeats answers GET /dashboard/repeats: the section's content
// alone to htmx, else a page with the section and a link back to the
// dashboard. Every request is audited ("report.view", record
// "dashboard.repeats"), a refused one as denied.
func (s *Server) dashboardRepeats(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, err := s.reportQuery(r)
	if err != nil {
		if apperr.CodeOf(err) == apperr.Forbidden {
			if aerr := s.auditDashboardRepeats(r, q, audit.Denied); aerr != nil {
				err = aerr
			}
		}
		s.fail(w, r, err)
		return
	}
	repeats, settlements, slow, err := s.loadRepeats(ctx, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.auditDashboardRepeats(r, q, audit.OK); err != nil {
		s.fail(w, r, err)
		return
	}
	l := i18n.FromContext(ctx)
	iv, _ := parseInterval(r.URL.Query().Get(paramInterval))
	t := repeatTable(l, q, dashboardRef{settlements: settlements}, repeats)
	if slow {
		t.Empty, t.Slow = l.T("dashboard.repeat.too_slow"), true
	}
	if r.Header.Get("HX-Request") == "true" {
		s.render(w, r, http.StatusOK, web.DashRepeatFragment(t))
		return
	}
	p := web.DashRepeatPage{Page: s.page(r, l.T("dashboard.repeat.heading"), "dashboard"), Repeats: t,
		BackHref: withLangOf(r, dashboardHref(q, iv)), Back: l.T("admin.back_to", "Title", l.T("dashboard.title"))}
	s.render(w, r, http.StatusOK, web.DashboardRepeats(p))
}

// loadRepeats computes the repeat rates of q for the dashboard's
// groupings within repeatBudget, with the settlements that label them
// (the reference data is read once, for the store and the labels); slow
// says they took longer (and repeats is nil).
func (s *Server) loadRepeats(ctx context.Context, q report.Query) (repeats [][]postgres.RepeatRate,
	settlements []refdata.Settlement, slow bool, err error) {
	budget := s.repeatBudget
	if budget <= 0 {
		budget = defaultRepeatBudget
	}
	rctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	ref, err := facts.ReadRef(rctx, s.reportDB())
	if err == nil {
		repeats, err = s.repeatRates(rctx, q, report.RepeatGroupings, s.dashboardStore(), &ref)
	}
	if err != nil && rctx.Err() != nil && ctx.Err() == nil {
		return nil, nil, true, nil
	}
	return repeats, ref.Settlements, false, err
}

// auditDashboardRepeats records a request for the section's figures of q.
func (s *Server) auditDashboardRepeats(r *http.Request, q report.Query, outcome audit.Outcome) error {
	detail := map[string]any{}
	if q.Location != nil {
		detail = q.AuditDetail()
	}
	return s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "report.view", RecordType: "report",
		RecordID: "dashboard.repeats", Outcome: outcome, Detail: detail})
}
