package server

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
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
func orderRemaining(t, now time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "ended"
	}
	return "in " + durationWords(d)
}

// durationWords shows d in days, hours and minutes, coarsely.
func durationWords(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	mins := int(d / time.Minute)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %d min", hours, m)
	}
	return fmt.Sprintf("%d min", m)
}

// orderRow is an order as lists and its page show it.
func (s *Server) orderRow(o *incident.Order, now time.Time) web.OrderRow {
	row := web.OrderRow{Href: orderHref(o.ID), Number: o.Number, Kind: o.Kind.Label(), Protected: o.ProtectedName,
		Restrained: o.RestrainedName, Address: o.Address, Starts: s.fmtTime(o.StartsAt), Ends: s.fmtTime(o.EndsAt),
		EndsISO: o.EndsAt.UTC().Format(time.RFC3339), Status: o.Status(now), Active: o.Active(now),
		Incident: o.IncidentNumber, District: o.DistrictCode}
	if row.Active {
		row.Remaining = orderRemaining(o.EndsAt, now)
	}
	if o.IncidentID != nil {
		row.IncidentHref = orderIncidentHref(*o.IncidentID)
	}
	return row
}

// orderWarnings maps the active orders found by the history lookup to the
// panel's warnings.
func (s *Server) orderWarnings(orders []incident.OrderSummary) []web.OrderWarning {
	var out []web.OrderWarning
	now := s.now()
	for _, o := range orders {
		w := web.OrderWarning{Href: orderHref(o.ID), Number: o.Number, Kind: o.Kind.Label(), Protected: o.ProtectedName,
			Restrained: o.RestrainedName, Until: s.fmtTime(o.EndsAt), MatchedOn: strings.Join(o.MatchedOn, ", ")}
		if o.StartsAt.After(now) {
			w.From = s.fmtTime(o.StartsAt)
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
		p.Orders = append(p.Orders, s.orderRow(&orders[i], now))
	}
	change := canChangeOrders(u)
	if change {
		p.IssueHref = orderIncidentHref(in.ID) + "/orders/new"
	}
	linked, err := s.db.ViolatedOrder(ctx, in.ID)
	if err != nil {
		return p, err
	}
	if linked != nil {
		row := s.orderRow(linked, now)
		p.Linked = &row
	}
	p.Violation, err = s.reportsViolation(r, in)
	if err != nil {
		return p, err
	}
	p.Violation = p.Violation || linked != nil
	if p.Violation && change {
		p.LinkAction = orderIncidentHref(in.ID) + "/violated-order"
		cands, err := s.db.OrderCandidates(ctx, incident.KeysOf(in.Address, "", "", in.Victim.Name, in.Suspect.Name))
		if err != nil {
			return p, err
		}
		for _, o := range cands {
			if linked != nil && o.ID == linked.ID {
				continue
			}
			p.Candidates = append(p.Candidates, web.Option{Value: strconv.FormatInt(o.ID, 10),
				Label: fmt.Sprintf("%s — protects %s from %s until %s", o.Number, o.ProtectedName, o.RestrainedName, s.fmtTime(o.EndsAt))})
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
func orderKindOptions() []web.Option {
	var out []web.Option
	for _, r := range incident.OrderRules {
		out = append(out, web.Option{Value: string(r.Kind), Label: r.Label})
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
	kind := web.Field{Name: "kind", Label: "Kind of order", Type: "select", Value: f.Kind, Options: orderKindOptions(),
		Error: errs["kind"], Required: true, Width: "full"}
	prot := fld("protected_name", "Protected person", f.ProtectedName)
	prot.Required, prot.MaxLen, prot.Autocomplete = true, 150, "off"
	restr := fld("restrained_name", "Restrained person", f.RestrainedName)
	restr.Required, restr.MaxLen, restr.Autocomplete = true, 150, "off"
	addr := fld("address", "Address the order covers", f.Address)
	addr.MaxLen, addr.Width, addr.Autocomplete = 300, "full", "off"
	if !addressShown(u, in) {
		addr.Hint = addressHiddenText + ": the incident's address is not filled in. Leave empty, or enter the address the order names."
	}
	start := fld("starts_at", "Starts", f.StartsAt)
	start.Type, start.Hint = "datetime-local", "Leave empty for now. At most 24 hours ago or 7 days ahead."
	var defaults []string
	for _, rule := range incident.OrderRules {
		defaults = append(defaults, string(rule.Kind)+": "+rule.Default.String())
	}
	end := fld("ends_at", "Ends", f.EndsAt)
	end.Type, end.Hint = "datetime-local", "Leave empty for the default length ("+strings.Join(defaults, ", ")+")."
	cond := fld("conditions", "Conditions", f.Conditions)
	cond.Type, cond.MaxLen, cond.Width = "textarea", 2000, "full"
	cond.Hint = "E.g. not to approach the protected person or the home, not to call, to leave the shared home."
	var rules []web.OrderRuleRow
	for _, rule := range incident.OrderRules {
		rules = append(rules, web.OrderRuleRow{Label: rule.Label, Law: rule.Law, Default: rule.Default.String(),
			Min: rule.Min.String(), Max: rule.Max.String()})
	}
	s.render(w, r, status, web.OrderForm(web.OrderFormPage{
		Page: s.page(r, "Protection order · "+in.Number, incidentNav(currentUser(r.Context()))), IncidentNumber: in.Number, IncidentHref: orderIncidentHref(in.ID),
		IssuedBy: u.DisplayName(), Rules: rules,
		Form: web.Form{Action: orderIncidentHref(in.ID) + "/orders/new", Submit: "Record the order", Error: msg,
			Fields: []web.Field{kind, prot, restr, addr, start, end, cond}},
	}))
}

// newOrder opens the form, filled in from the incident.
func (s *Server) newOrder(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncident(w, r)
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
	in, ok := s.loadIncident(w, r)
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
	s.setFlash(r, "ok", "Protection order "+number+" recorded.")
	http.Redirect(w, r, orderHref(id), http.StatusSeeOther)
}

// notYourOrder is the answer to an order outside the viewer's part, or
// one that does not exist.
const notYourOrder = "This protection order is outside your district or area, or there is no such order."

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
	p := web.OrderPage{Page: s.page(r, o.Number, incidentNav(u)), Order: s.orderRow(o, now), Conditions: o.Conditions,
		IssuedBy: o.IssuedByName, IssuedAt: s.fmtTime(o.IssuedAt), EndReason: o.EndReason, Extensions: o.Extensions,
		MaxEnd: s.fmtTime(o.MaxEnd(s.loc)), CanChange: o.Active(now) && canChangeOrders(u)}
	if !addressShown(u, scope) {
		p.Order.Address, p.AddressHidden = addressHiddenText, true
	}
	if u.Role == account.Officer {
		p.Page.Nav = "my"
	}
	if rule, ok := incident.RuleFor(o.Kind); ok {
		p.Law = rule.Law
	}
	if o.EndedAt != nil {
		p.EndedAt = s.fmtTime(*o.EndedAt)
	}
	newEnd := web.Field{Name: "ends_at", Label: "New end", Type: "datetime-local", Value: get("ends_at"),
		Error: extendErrs["ends_at"], Required: true}
	if newEnd.Value == "" {
		newEnd.Value = o.MaxEnd(s.loc).In(s.loc).Format(incident.OrderTimeLayout)
	}
	p.Extend = web.Form{Action: orderHref(o.ID) + "/extend", Submit: "Extend the order", Error: extendMsg, Fields: []web.Field{newEnd}}
	p.End = web.Form{Action: orderHref(o.ID) + "/end", Submit: "End the order now", Error: endMsg, Fields: []web.Field{{
		Name: "reason", Label: "Reason", Type: "textarea", Value: get("reason"), Error: endErrs["reason"], Required: true,
		MaxLen: incident.MaxEndReason, Width: "full", Hint: "E.g. withdrawn by the court, issued in error. 5 to 500 characters."}}}
	s.render(w, r, status, web.Order(p))
}

// extendOrder moves an order's end later.
func (s *Server) extendOrder(w http.ResponseWriter, r *http.Request) {
	o, scope, ok := s.loadOrder(w, r)
	if !ok {
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
	s.setFlash(r, "ok", "Order "+o.Number+" extended.")
	http.Redirect(w, r, orderHref(o.ID), http.StatusSeeOther)
}

// endOrder ends an order early.
func (s *Server) endOrder(w http.ResponseWriter, r *http.Request) {
	o, scope, ok := s.loadOrder(w, r)
	if !ok {
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
	s.setFlash(r, "ok", "Order "+o.Number+" ended.")
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
	p := web.ExpiringOrdersPage{Page: s.page(r, "Orders ending soon", "orders"), Within: "24 hours"}
	for i := range orders {
		// A list shows no personal data: the names and the address are on
		// the order's page only.
		row := s.orderRow(&orders[i], now)
		row.Protected, row.Restrained, row.Address = "", "", ""
		p.Orders = append(p.Orders, row)
	}
	s.render(w, r, http.StatusOK, web.ExpiringOrders(p))
}

// linkViolatedOrder records which order the incident's call reports as
// violated: chosen from the list, or typed by number.
func (s *Server) linkViolatedOrder(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncident(w, r)
	if !ok {
		return
	}
	number := strings.TrimSpace(r.PostFormValue("number"))
	failed := func(err error) {
		if c := apperr.CodeOf(err); c == apperr.Internal {
			s.fail(w, r, err)
			return
		}
		msg, fields := s.formError(r, err)
		if m := fields["order"]; m != "" {
			msg = m
		}
		p, perr := s.ordersPanelData(r, in, number, msg)
		if perr != nil {
			s.fail(w, r, perr)
			return
		}
		s.render(w, r, statusOf(apperr.CodeOf(err)), web.PanelOnly(web.PanelPage{Page: s.page(r, in.Number, incidentNav(currentUser(r.Context()))),
			Heading: "Protection orders · " + in.Number, BackHref: orderIncidentHref(in.ID), Panel: web.OrdersPanelView(p)}))
	}
	isViol, err := s.reportsViolation(r, in)
	if err != nil {
		failed(err)
		return
	}
	if !isViol {
		failed(apperr.New(apperr.Conflict, "Only a call reporting a violation of a protection order is linked to an order; change the incident type first."))
		return
	}
	var orderID int64
	switch v := strings.TrimSpace(r.PostFormValue("order_id")); {
	case number != "":
		o, err := s.db.OrderByNumber(r.Context(), number)
		if apperr.CodeOf(err) == apperr.NotFound {
			failed(apperr.New(apperr.Invalid, "No protection order has the number %s.", strings.ToUpper(number)))
			return
		}
		if err != nil {
			failed(err)
			return
		}
		orderID = o.ID
	case v != "":
		if orderID, err = strconv.ParseInt(v, 10, 64); err != nil || orderID <= 0 {
			failed(apperr.New(apperr.Invalid, "Choose an order from the list."))
			return
		}
	default:
		failed(apperr.New(apperr.Invalid, "Choose the violated order from the list, or enter its number."))
		return
	}
	if err := s.db.LinkViolatedOrder(r.Context(), in.ID, orderID, s.actor(r)); err != nil {
		failed(err)
		return
	}
	s.setFlash(r, "ok", "Violated order linked.")
	http.Redirect(w, r, orderIncidentHref(in.ID)+"#orders", http.StatusSeeOther)
}
