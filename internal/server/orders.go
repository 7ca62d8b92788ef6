package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/web"
)

// orderRoles may record, extend and end protection orders and link a
// violated order: officers at the scene, dispatchers and supervisors.
// Administrators may read orders but not change them.
var orderRoles = []account.Role{account.Officer, account.Dispatcher, account.Supervisor}

// expiringWithin is the window of the supervisors' list of orders ending
// soon.
const expiringWithin = 24 * time.Hour

func canChangeOrders(u *account.User) bool { return slices.Contains(orderRoles, u.Role) }

// orderHref is the page of an order.
func orderHref(id int64) string { return "/orders/" + strconv.FormatInt(id, 10) }

// orderIncidentHref is the page of the incident an order was recorded on.
func orderIncidentHref(id int64) string { return "/incidents/" + strconv.FormatInt(id, 10) }

// orderRemaining says how long until t, for people: "in 1 h 40 min".
func orderRemaining(l *i18n.Localizer, t, now time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return l.T("order.remaining.ended")
	}
	return l.T("order.remaining.in", "Duration", durationWords(l, d))
}

// durationWords shows d in days, hours and minutes, coarsely.
func durationWords(l *i18n.Localizer, d time.Duration) string {
	if d < 0 {
		d = 0
	}
	mins := int(d / time.Minute)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	switch {
	case days > 0:
		return l.T("officer.duration.days", "Days", l.Int(days), "Hours", l.Int(hours))
	case hours > 0:
		return l.T("officer.duration.hours", "Hours", l.Int(hours), "Minutes", l.Int(m))
	}
	return l.T("officer.duration.minutes", "Minutes", l.Int(m))
}

// orderKindText is the name of an order's kind in the request's language
// (Kind.Label is the English one, for logs).
func (s *Server) orderKindText(r *http.Request, k incident.OrderKind) string {
	return s.t(r, "order.kind."+string(k))
}

// orderStatusID is the catalogue ID of where an order stands at now:
// order.status.in_force, .not_yet_in_force, .expired or .ended_early,
// named after Order.Status so that the two cannot drift apart.
func orderStatusID(o *incident.Order, now time.Time) string {
	return "order.status." + strings.ReplaceAll(strings.ToLower(o.Status(now)), " ", "_")
}

// spanText says a length of time in the request's language: "3 days",
// "6 months" (Span.String is the English one).
func spanText(l *i18n.Localizer, sp incident.Span) string {
	var parts []string
	if sp.Months != 0 {
		parts = append(parts, l.T("order.span.months", "Count", sp.Months))
	}
	if sp.Days != 0 || len(parts) == 0 {
		parts = append(parts, l.T("order.span.days", "Count", sp.Days))
	}
	return strings.Join(parts, " ")
}

// orderRow is an order as lists and its page show it, in the request's
// language.
func (s *Server) orderRow(r *http.Request, o *incident.Order, now time.Time) web.OrderRow {
	row := web.OrderRow{Href: orderHref(o.ID), Number: o.Number, Kind: s.orderKindText(r, o.Kind), Protected: o.ProtectedName,
		Restrained: o.RestrainedName, Address: o.Address, Starts: s.officerTime(r, o.StartsAt), Ends: s.officerTime(r, o.EndsAt),
		EndsISO: o.EndsAt.UTC().Format(time.RFC3339), Status: s.t(r, orderStatusID(o, now)), Active: o.Active(now),
		Incident: o.IncidentNumber, District: o.DistrictCode}
	if row.Active {
		row.Remaining = orderRemaining(i18n.FromContext(r.Context()), o.EndsAt, now)
	}
	if o.IncidentID != nil {
		row.IncidentHref = orderIncidentHref(*o.IncidentID)
	}
	return row
}

// orderWarnings maps the active orders found by the history lookup to the
// panel's warnings; the template words them in the reader's language.
func (s *Server) orderWarnings(orders []incident.OrderSummary) []web.OrderWarning {
	var out []web.OrderWarning
	now := s.now()
	for _, o := range orders {
		w := web.OrderWarning{Href: orderHref(o.ID), Number: o.Number, Kind: string(o.Kind), Protected: o.ProtectedName,
			Restrained: o.RestrainedName, Until: o.EndsAt, Location: s.loc, MatchedOn: o.MatchedOn}
		if o.StartsAt.After(now) {
			w.From = o.StartsAt
		}
		out = append(out, w)
	}
	return out
}

// ordersPanel renders the protection-order section of the incident page:
// the orders recorded on it, the button to record one and, for a call
// reporting a violation, the violated order and the form to link it.
func (s *Server) ordersPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	p, err := s.ordersPanelData(r, in, "", "")
	if err != nil {
		return nil, err
	}
	return web.OrdersPanelView(p), nil
}

func (s *Server) ordersPanelData(r *http.Request, in *incident.Incident, number, linkErr string) (web.OrdersPanel, error) {
	ctx := r.Context()
	u := currentUser(ctx)
	now := s.now()
	p := web.OrdersPanel{Number: number, LinkError: linkErr}
	orders, err := s.db.IncidentOrders(ctx, in.ID)
	if err != nil {
		return p, err
	}
	for i := range orders {
		p.Orders = append(p.Orders, s.orderRow(r, &orders[i], now))
	}
	change := canChangeOrders(u) && canChange(u, in)
	if change {
		p.IssueHref = orderIncidentHref(in.ID) + "/orders/new"
	}
	linked, err := s.db.ViolatedOrder(ctx, in.ID)
	if err != nil {
		return p, err
	}
	if linked != nil {
		row := s.orderRow(r, linked, now)
		// An order linked by someone who sees further (a national control
		// room) may be outside this viewer's part: they are told that the
		// call is linked to it, not whom it protects or restrains.
		scopes, err := s.db.OrderScopes(ctx, []int64{linked.ID})
		if err != nil {
			return p, err
		}
		if sc, ok := scopes[linked.ID]; !ok || !access.CanView(u, sc) {
			row.Protected, row.Restrained, row.Address, row.Href, row.IncidentHref, row.Incident = "", "", "", "", "", ""
		}
		p.Linked = &row
	}
	p.Violation, err = s.reportsViolation(r, in)
	if err != nil {
		return p, err
	}
	p.Violation = p.Violation || linked != nil
	if p.Violation && change {
		p.LinkAction = orderIncidentHref(in.ID) + "/violated-order"
		cands, err := s.db.OrderCandidates(ctx, incident.KeysOf(s.rules, in.Address, "", "", in.Victim.Name, in.Suspect.Name))
		if err != nil {
			return p, err
		}
		// Only orders the viewer may see are offered: an order is judged
		// by its own incident (access), not by the one it would be linked to.
		ids := make([]int64, len(cands))
		for i, o := range cands {
			ids[i] = o.ID
		}
		scopes, err := s.db.OrderScopes(ctx, ids)
		if err != nil {
			return p, err
		}
		for _, o := range cands {
			if linked != nil && o.ID == linked.ID {
				continue
			}
			if sc, ok := scopes[o.ID]; !ok || !access.CanView(u, sc) {
				continue
			}
			p.Candidates = append(p.Candidates, web.Option{Value: strconv.FormatInt(o.ID, 10),
				Label: s.t(r, "order.candidate", "Number", o.Number, "Protected", o.ProtectedName, "Restrained", o.RestrainedName,
					"Until", s.officerTime(r, o.EndsAt))})
		}
	}
	return p, nil
}

// reportsViolation says whether the incident's type reports a violation
// of a protection order.
func (s *Server) reportsViolation(r *http.Request, in *incident.Incident) (bool, error) {
	t, err := s.db.IncidentType(r.Context(), in.TypeID)
	if err != nil {
		return false, err
	}
	return incident.IsViolationType(t.Code, t.Name), nil
}

// orderKindOptions are the kinds the form offers.
func (s *Server) orderKindOptions(r *http.Request) []web.Option {
	var out []web.Option
	for _, rule := range incident.OrderRules {
		out = append(out, web.Option{Value: string(rule.Kind), Label: s.orderKindText(r, rule.Kind)})
	}
	return out
}

// orderFormOf reads the order form.
func orderFormOf(r *http.Request) incident.OrderForm {
	g := r.PostFormValue
	return incident.OrderForm{Kind: g("kind"), ProtectedName: g("protected_name"), RestrainedName: g("restrained_name"),
		Address: g("address"), Conditions: g("conditions"), StartsAt: g("starts_at"), EndsAt: g("ends_at")}
}

// renderOrderForm shows the form that records an order.
func (s *Server) renderOrderForm(w http.ResponseWriter, r *http.Request, status int, in *incident.Incident, f incident.OrderForm, msg string, errs map[string]string) {
	u := currentUser(r.Context())
	fld := func(name, label, value string) web.Field {
		return web.Field{Name: name, Label: label, Value: value, Error: errs[name]}
	}
	l := i18n.FromContext(r.Context())
	kind := web.Field{Name: "kind", Label: l.T("order.field.kind"), Type: "select", Value: f.Kind, Options: s.orderKindOptions(r),
		Error: errs["kind"], Required: true, Width: "full"}
	prot := fld("protected_name", l.T("order.field.protected"), f.ProtectedName)
	prot.Required, prot.MaxLen, prot.Autocomplete = true, 150, "off"
	restr := fld("restrained_name", l.T("order.field.restrained"), f.RestrainedName)
	restr.Required, restr.MaxLen, restr.Autocomplete = true, 150, "off"
	addr := fld("address", l.T("order.field.address"), f.Address)
	addr.MaxLen, addr.Width, addr.Autocomplete = 300, "full", "off"
	if !addressShown(u, in) {
		addr.Hint = l.T("order.field.address_hidden_hint")
	}
	start := fld("starts_at", l.T("order.field.starts"), f.StartsAt)
	start.Type, start.Hint = "datetime-local", l.T("order.field.starts_hint")
	var defaults []string
	for _, rule := range incident.OrderRules {
		defaults = append(defaults, l.T("order.default_length", "Kind", l.T("order.kind_short."+string(rule.Kind)),
			"Length", spanText(l, rule.Default)))
	}
	end := fld("ends_at", l.T("order.field.ends"), f.EndsAt)
	end.Type, end.Hint = "datetime-local", l.T("order.field.ends_hint", "Defaults", strings.Join(defaults, ", "))
	cond := fld("conditions", l.T("order.field.conditions"), f.Conditions)
	cond.Type, cond.MaxLen, cond.Width = "textarea", 2000, "full"
	cond.Hint = l.T("order.field.conditions_hint")
	var rules []web.OrderRuleRow
	for _, rule := range incident.OrderRules {
		rules = append(rules, web.OrderRuleRow{Label: l.T("order.kind." + string(rule.Kind)), Law: l.T("order.law." + string(rule.Kind)),
			Default: spanText(l, rule.Default), Min: spanText(l, rule.Min), Max: spanText(l, rule.Max)})
	}
	s.render(w, r, status, web.OrderForm(web.OrderFormPage{
		Page: s.page(r, s.t(r, "order.form.page_title", "Number", in.Number), incidentNav(currentUser(r.Context()))), IncidentNumber: in.Number, IncidentHref: orderIncidentHref(in.ID),
		IssuedBy: u.DisplayName(), Rules: rules,
		Form: web.Form{Action: orderIncidentHref(in.ID) + "/orders/new", Submit: l.T("order.form.submit"), Error: msg,
			Fields: []web.Field{kind, prot, restr, addr, start, end, cond}},
	}))
}

// newOrder opens the form, filled in from the incident.
func (s *Server) newOrder(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "order.issue")
	if !ok {
		return
	}
	f := incident.OrderForm{Kind: string(incident.DefaultOrderKind), ProtectedName: in.Victim.Name,
		RestrainedName: in.Suspect.Name, StartsAt: s.now().In(s.loc).Format(incident.OrderTimeLayout)}
	// A confidential address is filled in only for those shown it.
	if addressShown(currentUser(r.Context()), in) {
		f.Address = in.Address
	}
	s.renderOrderForm(w, r, http.StatusOK, in, f, "", nil)
}

// createOrder records the order on the incident.
func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "order.issue")
	if !ok {
		return
	}
	f := orderFormOf(r)
	failed := func(err error) {
		msg, fields := s.formError(r, err)
		s.renderOrderForm(w, r, statusOf(apperr.CodeOf(err)), in, f, msg, fields)
	}
	now, err := s.db.NowUTC(r.Context())
	if err != nil {
		failed(err)
		return
	}
	n, err := f.Validate(now, s.loc)
	if err != nil {
		failed(err)
		return
	}
	n.IncidentID, n.DistrictID = &in.ID, in.DistrictID
	id, number, err := s.db.IssueOrder(r.Context(), n, s.loc, s.actor(r))
	if err != nil {
		failed(err)
		return
	}
	s.setFlash(r, "ok", s.t(r, "order.flash.recorded", "Number", number))
	http.Redirect(w, r, orderHref(id), http.StatusSeeOther)
}

// notYourOrder is the answer to an order outside the viewer's part, or
// one that does not exist.
const notYourOrder = "order.err.not_yours"

// loadOrder reads the {oid} order and checks that the viewer may see the
// incident it was recorded on (or, for an order without one, its
// district); scope is that incident (for an order without one, an
// incident with only the order's district). A refusal is audited
// ("order.view", denied) and answered 403, as is a missing order for a
// viewer limited to part of the records (see recordMissing).
func (s *Server) loadOrder(w http.ResponseWriter, r *http.Request) (o *incident.Order, scope *incident.Incident, ok bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "oid"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return nil, nil, false
	}
	o, err = s.db.Order(r.Context(), id)
	if err != nil {
		s.recordMissing(w, r, err, "order.view", "protection_order", id, notYourOrder)
		return nil, nil, false
	}
	scope = &incident.Incident{DistrictID: o.DistrictID}
	if o.IncidentID != nil {
		if scope, err = s.db.Incident(r.Context(), *o.IncidentID); err != nil {
			s.fail(w, r, err)
			return nil, nil, false
		}
	}
	if !canView(currentUser(r.Context()), scope) {
		s.refuseRecord(w, r, "order.view", "protection_order", o.Number, id, notYourOrder)
		return nil, nil, false
	}
	return o, scope, true
}

// showOrder shows an order with its extend and end forms.
func (s *Server) showOrder(w http.ResponseWriter, r *http.Request) {
	o, scope, ok := s.loadOrder(w, r)
	if !ok {
		return
	}
	s.renderOrder(w, r, http.StatusOK, o, scope, func(string) string { return "" }, "", nil, "", nil)
}

// renderOrder shows the order page; the forms keep what was typed (get)
// and their messages. The address is hidden ("Address confidential")
// when the order's incident has a confidential address the viewer is not
// shown (addressShown).
func (s *Server) renderOrder(w http.ResponseWriter, r *http.Request, status int, o *incident.Order, scope *incident.Incident,
	get func(string) string, extendMsg string, extendErrs map[string]string, endMsg string, endErrs map[string]string) {
	// Every view of an order's names is audited; without the audit row the
	// page is not shown.
	if err := s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "order.view", RecordType: "protection_order", RecordID: o.Number}); err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	u := currentUser(r.Context())
	p := web.OrderPage{Page: s.page(r, o.Number, incidentNav(u)), Order: s.orderRow(r, o, now), Conditions: o.Conditions,
		IssuedBy: o.IssuedByName, IssuedAt: s.officerTime(r, o.IssuedAt), EndReason: o.EndReason, Extensions: o.Extensions,
		MaxEnd: s.officerTime(r, o.MaxEnd(s.loc)), CanChange: o.Active(now) && canChangeOrders(u) && canChange(u, scope)}
	if !addressShown(u, scope) {
		p.Order.Address, p.AddressHidden = s.t(r, "order.address_hidden"), true
	}
	if u.Role == account.Officer {
		p.Page.Nav = "my"
	}
	if _, ok := incident.RuleFor(o.Kind); ok {
		p.Law = s.t(r, "order.law."+string(o.Kind))
	}
	if o.EndedAt != nil {
		p.EndedAt = s.officerTime(r, *o.EndedAt)
	}
	newEnd := web.Field{Name: "ends_at", Label: s.t(r, "order.extend.new_end"), Type: "datetime-local", Value: get("ends_at"),
		Error: extendErrs["ends_at"], Required: true}
	if newEnd.Value == "" {
		newEnd.Value = o.MaxEnd(s.loc).In(s.loc).Format(incident.OrderTimeLayout)
	}
	p.Extend = web.Form{Action: orderHref(o.ID) + "/extend", Submit: s.t(r, "order.extend.submit"), Error: extendMsg, Fields: []web.Field{newEnd}}
	p.End = web.Form{Action: orderHref(o.ID) + "/end", Submit: s.t(r, "order.end.submit"), Error: endMsg, Fields: []web.Field{{
		Name: "reason", Label: s.t(r, "order.end.reason"), Type: "textarea", Value: get("reason"), Error: endErrs["reason"], Required: true,
		MaxLen: incident.MaxEndReason, Width: "full",
		Hint: s.t(r, "order.end.reason_hint", "Min", incident.MinEndReason, "Max", incident.MaxEndReason)}}}
	s.render(w, r, status, web.Order(p))
}

// extendOrder moves an order's end later.
func (s *Server) extendOrder(w http.ResponseWriter, r *http.Request) {
	o, scope, ok := s.loadOrder(w, r)
	if !ok {
		return
	}
	if !canChange(currentUser(r.Context()), scope) {
		s.refuseChange(w, r, "order.extend", "protection_order", o.Number)
		return
	}
	err := func() error {
		t, err := incident.ParseOrderTime("ends_at", r.PostFormValue("ends_at"), s.loc)
		if err != nil {
			return err
		}
		return s.db.ExtendOrder(r.Context(), o.ID, t, s.loc, s.actor(r))
	}()
	if err != nil {
		if c := apperr.CodeOf(err); c == apperr.NotFound || c == apperr.Internal {
			s.fail(w, r, err)
			return
		}
		msg, fields := s.formError(r, err)
		s.renderOrder(w, r, statusOf(apperr.CodeOf(err)), o, scope, r.PostFormValue, msg, fields, "", nil)
		return
	}
	s.setFlash(r, "ok", s.t(r, "order.flash.extended", "Number", o.Number))
	http.Redirect(w, r, orderHref(o.ID), http.StatusSeeOther)
}

// endOrder ends an order early.
func (s *Server) endOrder(w http.ResponseWriter, r *http.Request) {
	o, scope, ok := s.loadOrder(w, r)
	if !ok {
		return
	}
	if !canChange(currentUser(r.Context()), scope) {
		s.refuseChange(w, r, "order.end", "protection_order", o.Number)
		return
	}
	if err := s.db.EndOrder(r.Context(), o.ID, r.PostFormValue("reason"), s.actor(r)); err != nil {
		if c := apperr.CodeOf(err); c == apperr.NotFound || c == apperr.Internal {
			s.fail(w, r, err)
			return
		}
		msg, fields := s.formError(r, err)
		s.renderOrder(w, r, statusOf(apperr.CodeOf(err)), o, scope, r.PostFormValue, "", nil, msg, fields)
		return
	}
	s.setFlash(r, "ok", s.t(r, "order.flash.ended", "Number", o.Number))
	http.Redirect(w, r, orderHref(o.ID), http.StatusSeeOther)
}

// expiringOrders lists the active orders ending in the next 24 hours,
// soonest first: a supervisor with a district sees that district's.
func (s *Server) expiringOrders(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	var district *int64
	if u.Role == account.Supervisor {
		district = u.DistrictID
	}
	orders, err := s.db.ExpiringOrders(r.Context(), expiringWithin, district)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "order.list_expiring", RecordType: "protection_order",
		Detail: map[string]any{"count": len(orders)}}); err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	p := web.ExpiringOrdersPage{Page: s.page(r, s.t(r, "order.expiring.page_title"), "orders"), WithinHours: int(expiringWithin / time.Hour)}
	for i := range orders {
		// A list shows no personal data: the names and the address are on
		// the order's page only.
		row := s.orderRow(r, &orders[i], now)
		row.Protected, row.Restrained, row.Address = "", "", ""
		p.Orders = append(p.Orders, row)
	}
	s.render(w, r, http.StatusOK, web.ExpiringOrders(p))
}

// linkViolatedOrder records which order the incident's call reports as
// violated: chosen from the list, or typed by number.
func (s *Server) linkViolatedOrder(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "incident.link_order")
	if !ok {
		return
	}
	number := strings.TrimSpace(r.PostFormValue("number"))
	failed := func(err error) {
		if c := apperr.CodeOf(err); c == apperr.Internal {
			s.fail(w, r, err)
			return
		}
		var msg string
		if apperr.CodeOf(err) == apperr.Forbidden {
			msg = s.tr(r, apperr.MessageOf(err)) // refused and audited: no error to log
		} else {
			var fields map[string]string
			msg, fields = s.formError(r, err)
			if m := fields["order"]; m != "" {
				msg = m
			}
		}
		p, perr := s.ordersPanelData(r, in, number, msg)
		if perr != nil {
			s.fail(w, r, perr)
			return
		}
		s.render(w, r, statusOf(apperr.CodeOf(err)), web.PanelOnly(web.PanelPage{Page: s.page(r, in.Number, incidentNav(currentUser(r.Context()))),
			Heading: s.t(r, "order.panel.heading", "Number", in.Number), BackHref: orderIncidentHref(in.ID), Panel: web.OrdersPanelView(p)}))
	}
	isViol, err := s.reportsViolation(r, in)
	if err != nil {
		failed(err)
		return
	}
	if !isViol {
		failed(apperr.New(apperr.Conflict, "order.err.not_violation"))
		return
	}
	var orderID int64
	switch v := strings.TrimSpace(r.PostFormValue("order_id")); {
	case number != "":
		o, err := s.db.OrderByNumber(r.Context(), number)
		switch {
		case apperr.CodeOf(err) == apperr.NotFound && !access.SeesEverything(currentUser(r.Context())):
			// Answered below like an order outside the viewer's part, so
			// that trying numbers does not tell which exist.
		case apperr.CodeOf(err) == apperr.NotFound:
			failed(apperr.New(apperr.Invalid, "order.err.no_such_number", "Number", strings.ToUpper(number)))
			return
		case err != nil:
			failed(err)
			return
		default:
			orderID = o.ID
		}
	case v != "":
		if orderID, err = strconv.ParseInt(v, 10, 64); err != nil || orderID <= 0 {
			failed(apperr.New(apperr.Invalid, "order.err.choose_listed"))
			return
		}
	default:
		failed(apperr.New(apperr.Invalid, "order.err.choose_or_number"))
		return
	}
	// The order must be one the viewer may see, judged by its own incident
	// (or, recorded without one, its district): otherwise linking would show
	// another district's order, its parties included, on this incident.
	// Refused like a missing order, and audited as denied.
	u := currentUser(r.Context())
	scopes, err := s.db.OrderScopes(r.Context(), []int64{orderID})
	if err != nil {
		failed(err)
		return
	}
	if sc, ok := scopes[orderID]; (ok && !access.CanView(u, sc)) || (!ok && !access.SeesEverything(u)) {
		e := audit.Entry{Actor: s.actor(r), Action: "incident.link_order", RecordType: "protection_order", Outcome: audit.Denied,
			Detail: map[string]any{"id": orderID, "incident": in.Number, "method": r.Method}}
		if err := s.db.Audit(r.Context(), e); err != nil {
			s.log.Warn("audit of a refused order link failed", "route", routePattern(r), "err", err)
		}
		failed(apperr.New(apperr.Forbidden, notYourOrder))
		return
	}
	// Who reported the violation (issue 17): the victim unless the form
	// says others; a police check records its own (followup.go).
	foundBy := incident.FoundByVictim
	if v := r.PostFormValue("found_by"); v != "" {
		if foundBy, err = incident.ParseFoundBy(v); err != nil {
			failed(err)
			return
		}
	}
	if err := s.db.LinkViolatedOrderFoundBy(r.Context(), in.ID, orderID, foundBy, s.actor(r)); err != nil {
		failed(err)
		return
	}
	s.setFlash(r, "ok", s.t(r, "order.flash.linked"))
	http.Redirect(w, r, orderIncidentHref(in.ID)+"#orders", http.StatusSeeOther)
}
