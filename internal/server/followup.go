package server

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
	"github.com/dvresponse/dvresponse/web"
)

// Follow-through (issue 17): officers' "My follow-ups and checks",
// supervisors' district list with reassignment, the boards' overdue
// list. Which task or check a user may record or reassign is
// internal/access (the "task of unit" relation), asked through loadWork.

// workRoles record follow-up outcomes and order-check results (officers
// of the task's unit or its district's pool; dispatchers and supervisors
// of its area); workSupervisors see the district's list and reassign.
var (
	workRoles       = []account.Role{account.Officer, account.Dispatcher, account.Supervisor}
	workSupervisors = []account.Role{account.Supervisor}
)

// workHorizon is how far ahead the work lists look: tasks due later are
// not yet anyone's work.
const workHorizon = 7 * 24 * time.Hour

// workRow builds a list row of it at now.
func (s *Server) workRow(r *http.Request, it incident.WorkItem, now time.Time, officer bool) web.WorkRow {
	l := i18n.FromContext(r.Context())
	id := strconv.FormatInt(it.ID, 10)
	row := web.WorkRow{Kind: string(it.Kind), ID: id, Number: it.Number, Due: s.fmtTime(r, it.DueAt),
		DueISO: it.DueAt.UTC().Format(time.RFC3339), Overdue: it.Overdue(now), Unit: it.CallSign}
	if row.Overdue {
		row.Age = durationWords(l, now.Sub(it.DueAt))
	}
	if it.Kind == incident.FollowUpWork {
		row.Title = l.T("followup.reason." + it.Reason)
		if it.IncidentID != nil {
			row.Href = incidentPagePath(*it.IncidentID)
			row.RescreenHref = row.Href + "/danger?task=" + id
		}
		row.Action = "/follow-ups/" + id + "/close"
		for _, o := range incident.RecordedOutcomes {
			row.Choices = append(row.Choices, web.Option{Value: string(o), Label: l.T("followup.outcome." + string(o))})
		}
	} else {
		row.Title = l.T("followup.check.title", "Kind", s.orderKindText(r, incident.OrderKind(it.Reason)))
		if it.OrderID != nil {
			row.Href = orderHref(*it.OrderID)
		}
		row.Action = "/checks/" + id
		for _, c := range incident.CheckResults {
			row.Choices = append(row.Choices, web.Option{Value: string(c), Label: l.T("followup.check." + string(c))})
		}
	}
	if !officer {
		row.Action, row.RescreenHref = "", ""
	}
	return row
}

// myWork is the officer's "My follow-ups and checks": their unit's and
// their district pool's open tasks and checks due within workHorizon,
// soonest first (overdue ones at the top), kept live as My incidents is
// (/my/work/events, /my/work/fragment). Each follow-up shows its
// victim's safe-contact rule before its buttons.
func (s *Server) myWork(w http.ResponseWriter, r *http.Request) {
	s.myWorkPage(w, r, http.StatusOK, nil)
}

// myWorkPage renders the officer's list; refused (a "reached and safe"
// refused for want of a reason) comes back at its row, with what was
// typed, on a page that is not live (a refresh would wipe both).
func (s *Server) myWorkPage(w http.ResponseWriter, r *http.Request, status int, refused *refusedClose) {
	u := currentUser(r.Context())
	p := web.WorkPage{Page: s.page(r, s.t(r, "followup.my.title"), "work"), Unit: u.UnitCallSign}
	if refused == nil {
		p.Live = s.liveView(u, "my-work", "/my/work")
	} else {
		p.Flash = &web.Flash{Kind: "error", Message: s.t(r, "followup.err.not_recorded")}
	}
	var err error
	p.Rows, p.More, err = s.myWorkRows(r, refused)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if refused != nil && !reasonShown(p.Rows, refused.task) {
		// Its row is gone (closed meanwhile, past the first rows) or
		// shows no rule to this viewer: the message goes on top.
		p.Flash.Message += " " + refused.msg
	}
	s.render(w, r, status, web.MyWork(p))
}

// myWorkMax is how many items the officer's list shows, soonest first: a
// phone's page stays small however large the unit's backlog.
const myWorkMax = 100

// cutWork keeps the first myWorkMax items and says whether there were
// more.
func cutWork[T any](rows []T) ([]T, bool) {
	if len(rows) > myWorkMax {
		return rows[:myWorkMax], true
	}
	return rows, false
}

// myWorkRows reads the officer's open tasks and checks, the first
// myWorkMax of them with their victims' rules, and says whether there
// were more.
func (s *Server) myWorkRows(r *http.Request, refused *refusedClose) ([]web.WorkRow, bool, error) {
	u := currentUser(r.Context())
	if u.UnitID == nil {
		return nil, false, nil
	}
	now := s.now()
	items, err := s.db.UnitWork(r.Context(), *u.UnitID, u.DistrictID, now.Add(workHorizon))
	if err != nil {
		return nil, false, err
	}
	// Only the rows shown are worded, and their rules read.
	items, more := cutWork(items)
	var rows []web.WorkRow
	for _, it := range items {
		rows = append(rows, s.workRow(r, it, now, true))
	}
	if err := s.addRules(r, items, rows, refused); err != nil {
		return nil, false, err
	}
	return rows, more, nil
}

// reasonShown says whether the row of task asks for its reason.
func reasonShown(rows []web.WorkRow, task string) bool {
	for _, row := range rows {
		if row.ID == task && row.Kind == string(incident.FollowUpWork) && row.Rule != nil && row.Rule.ReasonID != "" {
			return true
		}
	}
	return false
}

// refusedClose is a follow-up's "reached and safe" refused for want of a
// reason, shown again at its row.
type refusedClose struct {
	task        string
	msg, reason string
}

// addRules adds to each follow-up row (rows[i] is items[i]) its victim's
// safe-contact rule, read for all of them in one query, where the viewer
// may see the task (access.CanView of the task's record; recording it
// asks the same): the panel the incident page shows (rulePanel). A row
// whose rule the viewer may not see offers no outcome. Where contact is
// not known to be safe, a row its viewer records asks a reason with
// "reached and safe". The board never calls it.
func (s *Server) addRules(r *http.Request, items []incident.WorkItem, rows []web.WorkRow, refused *refusedClose) error {
	var ids []int64
	for i := range rows {
		if it := items[i]; it.Kind == incident.FollowUpWork && it.IncidentID != nil {
			ids = append(ids, *it.IncidentID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rules, err := s.db.VictimRules(r.Context(), ids)
	if err != nil {
		return err
	}
	u := currentUser(r.Context())
	l := i18n.FromContext(r.Context())
	for i := range rows {
		it := items[i]
		if it.Kind != incident.FollowUpWork || it.IncidentID == nil {
			continue
		}
		v, ok := rules[*it.IncidentID]
		if !ok {
			continue
		}
		rec := v.Record
		rec.Task, rec.TaskUnit = true, it.UnitID
		if !access.CanView(u, rec) {
			// Neither her rule nor an outcome: recording it would be
			// refused (403) by the same judgement.
			rows[i].Action, rows[i].RescreenHref = "", ""
			continue
		}
		p := s.rulePanel(l, v.Rule, v.CallerSafe, v.CallerPhone)
		if rows[i].Action != "" && p.Unsafe {
			p.ReasonID = "fu-reason-" + rows[i].ID
			p.CallReason = web.Field{Name: "reason", Label: l.T("followup.contact.reason"), MaxLen: 500}
			if refused != nil && refused.task == rows[i].ID {
				p.CallReason.Value, p.CallReason.Error = refused.reason, refused.msg
			}
		}
		rows[i].Rule = &p
	}
	return nil
}

// myWorkFragment is the list's live region, re-read on every change.
func (s *Server) myWorkFragment(w http.ResponseWriter, r *http.Request) {
	rows, more, err := s.myWorkRows(r, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, web.WorkCards(rows, more))
}

// myWorkEvents is the list's event stream, filtered to the officer's
// unit: a change of their unit (a task or check given to it or taken
// from it), or of an incident with a task or an order check of the unit
// or of the district's pool (created with the incident, its danger
// screen or its order, or closed).
func (s *Server) myWorkEvents(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	s.stream(w, r, func(ctx context.Context, ev live.Event) (bool, error) {
		switch {
		case u.UnitID == nil:
			return false, nil
		case ev.Kind == live.KindRefdata:
			return true, nil
		case ev.Kind == live.KindUnit:
			return ev.ID == *u.UnitID, nil
		case ev.Kind == live.KindIncident:
			return s.db.IncidentHasWork(ctx, ev.ID, *u.UnitID, u.DistrictID)
		}
		return false, nil
	})
}

// districtWork is the supervisor's list of the district's open tasks and
// checks (overdue first, as they are the oldest due), each with its
// reassignment to a unit of the district or to its pool, each follow-up
// with its victim's safe-contact rule.
func (s *Server) districtWork(w http.ResponseWriter, r *http.Request) {
	s.districtWorkPage(w, r, http.StatusOK, "")
}

// districtWorkPage renders the district's list with status and, when
// not "", an error message at its top.
func (s *Server) districtWorkPage(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	u := currentUser(r.Context())
	p := web.WorkPage{Page: s.page(r, s.t(r, "followup.district.title"), "work"), Supervisor: true}
	p.Title = s.t(r, "followup.district.title")
	if errMsg != "" {
		p.Flash = &web.Flash{Kind: "error", Message: errMsg}
	}
	now := s.now()
	items, err := s.db.AreaWork(r.Context(), access.AreaOf(u), now.Add(workHorizon))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	units, err := s.db.UnitsForDispatch(r.Context(), u.DistrictID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, it := range items {
		row := s.workRow(r, it, now, false)
		row.AssignAction = "/work/" + string(it.Kind) + "/" + row.ID + "/assign"
		row.Units = []web.Option{{Value: "", Label: s.t(r, "followup.pool")}}
		for _, un := range units {
			if it.DistrictID != nil && un.DistrictID == *it.DistrictID {
				row.Units = append(row.Units, web.Option{Value: strconv.FormatInt(un.ID, 10), Label: un.CallSign})
			}
		}
		p.Rows = append(p.Rows, row)
	}
	if err := s.addRules(r, items, p.Rows, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status, web.MyWork(p))
}

// loadWork reads the task or check named by the route's parameter and
// answers 403 (audited) unless the user may change it; it returns the
// item's id.
func (s *Server) loadWork(w http.ResponseWriter, r *http.Request, kind incident.WorkKind, param, action string) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, param), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return 0, false
	}
	rec, _, err := s.db.WorkScope(r.Context(), kind, id)
	if err != nil {
		s.recordMissing(w, r, err, action, string(kind), id, notYourIncident)
		return 0, false
	}
	if !access.CanChange(currentUser(r.Context()), rec) {
		s.refuseChange(w, r, action, string(kind), strconv.FormatInt(id, 10))
		return 0, false
	}
	return id, true
}

// workBack is where a recorded outcome returns to: the officer's list,
// else the district's.
func workBack(u *account.User) string {
	if u.Role == account.Officer {
		return "/my/work"
	}
	return "/work"
}

// closeFollowUp records a task's outcome. Pressing again (a retry on a
// weak network, another officer) is answered with the outcome that
// stands; nothing is recorded twice. "Reached and safe" where the
// victim's rule does not say contact is safe needs a reason: without one
// it is refused (422), the list shown again with the message at the
// row's reason and what was typed kept.
func (s *Server) closeFollowUp(w http.ResponseWriter, r *http.Request) {
	id, ok := s.loadWork(w, r, incident.FollowUpWork, "tid", "follow_up.close")
	if !ok {
		return
	}
	u := currentUser(r.Context())
	outcome, err := incident.CheckOutcome(r.PostFormValue("outcome"))
	if err == nil {
		var res incident.CloseResult
		reason := r.PostFormValue("reason")
		res, err = s.db.CloseFollowUp(r.Context(), id, outcome, reason, s.actor(r))
		if msg, ok := s.trFields(r, apperr.FieldsOf(err))["reason"]; ok {
			switch u.Role {
			case account.Officer:
				s.myWorkPage(w, r, http.StatusUnprocessableEntity, &refusedClose{task: strconv.FormatInt(id, 10), msg: msg, reason: reason})
			case account.Supervisor:
				s.districtWorkPage(w, r, http.StatusUnprocessableEntity, msg)
			default:
				s.renderError(w, r, http.StatusUnprocessableEntity, s.t(r, headings[apperr.Invalid]), msg)
			}
			return
		}
		if err == nil {
			label := s.t(r, "followup.outcome."+res.Outcome)
			if res.AlreadyDone {
				s.setFlash(r, "info", s.t(r, "followup.flash.already", "Outcome", label, "Time", s.fmtTime(r, res.At)))
			} else {
				s.setFlash(r, "ok", s.t(r, "followup.flash.closed", "Outcome", label, "Time", s.fmtTime(r, res.At)))
			}
		}
	}
	if err != nil {
		if apperr.CodeOf(err) != apperr.Invalid {
			s.fail(w, r, err)
			return
		}
		s.setFlash(r, "error", s.tr(r, apperr.MessageOf(err)))
	}
	http.Redirect(w, r, workBack(u), http.StatusSeeOther)
}

// recordCheck records an order check's result; a breach found opens one
// incident of the violation type (even when pressed again).
func (s *Server) recordCheck(w http.ResponseWriter, r *http.Request) {
	id, ok := s.loadWork(w, r, incident.OrderCheckWork, "cid", "order.check")
	if !ok {
		return
	}
	u := currentUser(r.Context())
	result, err := incident.ParseCheckResult(r.PostFormValue("result"))
	if err == nil {
		var res incident.CloseResult
		res, err = s.db.RecordOrderCheck(r.Context(), id, result, s.loc, s.actor(r))
		if err == nil {
			label := s.t(r, "followup.check."+res.Outcome)
			switch {
			case res.AlreadyDone:
				s.setFlash(r, "info", s.t(r, "followup.flash.already", "Outcome", label, "Time", s.fmtTime(r, res.At)))
			case res.ViolationID != nil:
				s.setFlash(r, "warn", s.t(r, "followup.flash.breach", "Time", s.fmtTime(r, res.At)))
			default:
				s.setFlash(r, "ok", s.t(r, "followup.flash.closed", "Outcome", label, "Time", s.fmtTime(r, res.At)))
			}
			if res.ViolationID != nil && !res.AlreadyDone {
				// The new incident, for the officer to see what was opened.
				http.Redirect(w, r, incidentPagePath(*res.ViolationID), http.StatusSeeOther)
				return
			}
		}
	}
	if err != nil {
		if apperr.CodeOf(err) != apperr.Invalid && apperr.CodeOf(err) != apperr.Conflict {
			s.fail(w, r, err)
			return
		}
		s.setFlash(r, "error", s.tr(r, apperr.MessageOf(err)))
	}
	http.Redirect(w, r, workBack(u), http.StatusSeeOther)
}

// reassignWork gives a task or check to a unit of its district or to the
// district's pool.
func (s *Server) reassignWork(w http.ResponseWriter, r *http.Request) {
	kind := incident.WorkKind(chi.URLParam(r, "what"))
	if kind != incident.FollowUpWork && kind != incident.OrderCheckWork {
		s.notFound(w, r)
		return
	}
	id, ok := s.loadWork(w, r, kind, "wid", string(kind)+".reassign")
	if !ok {
		return
	}
	var unit *int64
	if v := r.PostFormValue("unit_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			s.setFlash(r, "error", s.t(r, "followup.err.unit"))
			http.Redirect(w, r, "/work", http.StatusSeeOther)
			return
		}
		unit = &n
	}
	if err := s.db.ReassignWork(r.Context(), kind, id, unit, s.actor(r)); err != nil {
		if c := apperr.CodeOf(err); c != apperr.Invalid && c != apperr.Conflict {
			s.fail(w, r, err)
			return
		}
		msg := s.tr(r, apperr.MessageOf(err))
		if f := apperr.FieldsOf(err); len(f) > 0 {
			msg = s.trFields(r, f)["unit_id"]
		}
		s.setFlash(r, "error", msg)
	} else {
		s.setFlash(r, "ok", s.t(r, "followup.flash.reassigned"))
	}
	http.Redirect(w, r, "/work", http.StatusSeeOther)
}

// boardOverdue adds the area's overdue tasks and checks, and when the
// next falls due, to a board.
func (s *Server) boardOverdue(r *http.Request, u *account.User, d *web.BoardData) error {
	a := access.AreaOf(u)
	now := s.now()
	items, err := s.db.OverdueWork(r.Context(), a, now)
	if err != nil {
		return err
	}
	for _, it := range items {
		row := s.workRow(r, it, now, false)
		row.Age = clock(max(0, now.Sub(it.DueAt)))
		d.Overdue = append(d.Overdue, row)
	}
	next, err := s.db.NextDue(r.Context(), a, now)
	if err != nil {
		return err
	}
	if next != nil {
		d.NextDue = next.UTC().Format(time.RFC3339Nano)
	}
	return nil
}

// taskScreenAllowed says whether u may file the danger screen of incident
// in as the re-screen of follow-up task taskID: the task is of that
// incident and u may record it (an officer whose unit has left the
// incident re-screens the victim for the follow-up).
func (s *Server) taskScreenAllowed(r *http.Request, in *incident.Incident, taskID int64) bool {
	if taskID <= 0 {
		return false
	}
	rec, incidentID, err := s.db.WorkScope(r.Context(), incident.FollowUpWork, taskID)
	return err == nil && incidentID != nil && *incidentID == in.ID && access.CanChange(currentUser(r.Context()), rec)
}

// screenTask is the follow-up task a danger screen re-screens (the
// "task" parameter), 0 when none.
func screenTask(r *http.Request) int64 {
	n, err := strconv.ParseInt(r.URL.Query().Get("task"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// followThrough computes the follow-through figures of q: from the
// report store when it is loaded (at most a poll behind the primary), else
// from the primary (with ref, the reference data read already, if any).
func (s *Server) followThrough(ctx context.Context, q report.Query, now time.Time, ref *facts.Ref) (postgres.FollowThroughFigures, error) {
	if fs, ok := s.reports().(facts.Source); ok {
		f, served, err := fs.FollowThrough(ctx, q, now, ref)
		if err != nil || served {
			return f, err
		}
	}
	return s.db.FollowThrough(ctx, q, now)
}

// fillFollowThrough adds the period's follow-up and order figures
// (postgres.FollowThrough, with every filter of q, as the export
// /reports/follow-through gives them) to the dashboard. They are read
// from the primary.
func (s *Server) fillFollowThrough(p *web.DashboardPage, r *http.Request, q report.Query, now time.Time, ref *facts.Ref) error {
	f, err := s.followThrough(r.Context(), q, now, ref)
	if err != nil {
		return err
	}
	l := i18n.FromContext(r.Context())
	share := func(n, total int64) web.DashFig {
		if total == 0 {
			return web.DashFig{Text: absent}
		}
		v := 100 * float64(n) / float64(total)
		return pctFig(l, &v)
	}
	ratio := func(n, total int64, scale float64) web.DashFig {
		if total == 0 {
			return web.DashFig{Text: absent}
		}
		v := scale * float64(n) / float64(total)
		return web.DashFig{Value: strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64), Text: l.Decimal(v, 2)}
	}
	dur := func(v *float64) web.DashFig {
		if v == nil {
			return web.DashFig{Text: absent}
		}
		return web.DashFig{Value: secondsValue(*v), Text: durText(l, *v)}
	}
	outcomes := l.T("followup.dash.outcomes", "Safe", l.Int(int(f.Outcomes["reached_safe"])),
		"NotReached", l.Int(int(f.Outcomes["not_reached"])), "Unsafe", l.Int(int(f.Outcomes["unsafe_contact"])),
		"Rescreened", l.Int(int(f.Outcomes["rescreened"])))
	p.FollowThrough = []web.DashKPI{
		{Label: l.T("followup.dash.due"), Value: intFig(l, int(f.Due)), Basis: outcomes},
		{Label: l.T("followup.dash.on_time"), Value: share(f.OnTime, f.Due),
			Basis: l.T("followup.dash.on_time_basis", "OnTime", l.Int(int(f.OnTime)), "Late", l.Int(int(f.Late)))},
		{Label: l.T("followup.dash.overdue"), Value: intFig(l, int(f.Overdue))},
		{Label: l.T("followup.dash.order_median"), Value: dur(f.CallToOrderMedian),
			Basis: l.T("followup.dash.orders_timed", "N", l.Int(int(f.OrdersTimed)))},
		{Label: l.T("followup.dash.order_p90"), Value: dur(f.CallToOrderP90)},
		{Label: l.T("followup.dash.order_24h"), Value: share(f.OrdersWithin24h, f.OrdersTimed)},
		{Label: l.T("followup.dash.orders_per_dv"), Value: ratio(f.OrdersIssued, f.DVIncidents, 1),
			Basis: l.T("followup.dash.dv_incidents", "N", l.Int(int(f.DVIncidents)))},
		{Label: l.T("followup.dash.violations_per_100"), Value: ratio(f.Violations, f.OrdersInForce, 100),
			Basis: l.T("followup.dash.in_force", "N", l.Int(int(f.OrdersInForce)), "Violations", l.Int(int(f.Violations)))},
		{Label: l.T("followup.dash.by_police"), Value: share(f.ViolationsByPolice, f.Violations)},
	}
	return nil
}
