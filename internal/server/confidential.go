package server

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/web"
)

// Address confidentiality. A victim's address can be flagged confidential
// on an incident (a shelter, a safe house, a victim who moved away from the
// suspect). While it is, the incident page shows the address, the location
// notes and the coordinates only to those who must go there or answer for
// the incident: the officers of a unit on the incident and the supervisors
// who may see it. Dispatchers, other officers and administrators read
// "Address confidential". Everyone who works an incident may set the flag;
// only a supervisor may lift it, with a reason that is kept in the timeline
// and the audit trail.

// confidentialRoles may mark an incident's address confidential.
var confidentialRoles = []account.Role{account.Dispatcher, account.Officer, account.Supervisor}

// liftConfidentialRoles may lift the flag (with a reason).
var liftConfidentialRoles = []account.Role{account.Supervisor}

// Catalogue IDs of the texts shown in place of a confidential address and
// of what would give it away.
const (
	addressHiddenID = "dispatch.conf.address_hidden"
	detailHiddenID  = "dispatch.conf.detail_hidden"
)

// addressHiddenText is the English of addressHiddenID, for pages not yet
// moved to the catalogue.
const addressHiddenText = "Address confidential"

// confidentialFacts are the incident page's facts that give the address
// away, by key (see incidentPageWith), and whether each is the address.
var confidentialFacts = map[string]bool{"address": true, "location_notes": false, "coordinates": false}

// addressShown says whether u is shown the address of in (and its location
// notes and coordinates). Every viewer is, unless the address is
// confidential; then only an officer whose unit is on the incident (not
// released) and a supervisor who may see the incident are
// (access.AddressShown).
func addressShown(u *account.User, in *incident.Incident) bool {
	return access.AddressShown(u, access.Of(in), in.AddressConfidential)
}

// redactFacts applies address confidentiality to the incident page's facts
// for viewer u: hidden from those not shown the address, marked as
// confidential for those who are.
func redactFacts(l *i18n.Localizer, u *account.User, in *incident.Incident, facts []web.KV) []web.KV {
	if !in.AddressConfidential {
		return facts
	}
	shown := addressShown(u, in)
	out := make([]web.KV, 0, len(facts))
	for _, f := range facts {
		isAddress, ok := confidentialFacts[f.Key]
		switch {
		case !ok:
		case !shown && isAddress:
			f.Value, f.Warn = l.T(addressHiddenID), true
		case !shown:
			f.Value, f.Warn = l.T(detailHiddenID), false
		case isAddress:
			f.Value, f.Warn = f.Value+" "+l.T("dispatch.conf.do_not_disclose"), true
		}
		out = append(out, f)
	}
	return out
}

// confidentialView builds the address-confidentiality section for the
// request's viewer; reason is the lift reason as typed.
func confidentialView(r *http.Request, in *incident.Incident, reason, msg string, errs map[string]string) web.ConfidentialPanelView {
	u := currentUser(r.Context())
	l := i18n.FromContext(r.Context())
	return web.ConfidentialPanelView{
		On: in.AddressConfidential, Shown: addressShown(u, in), Action: incidentPagePath(in.ID) + "/confidential",
		CanSet: slices.Contains(confidentialRoles, u.Role), CanLift: slices.Contains(liftConfidentialRoles, u.Role),
		Error: msg,
		Reason: web.Field{Name: "lift_reason", Label: l.T("dispatch.conf.reason"), Type: "textarea", Value: reason, Required: true,
			MaxLen: incident.MaxReason, Width: "full", Error: errs["lift_reason"],
			Hint: l.T("dispatch.conf.reason_hint")},
	}
}

// confidentialPanel is the incident page's address-confidentiality
// section; nothing for a viewer who can neither see a flag nor set one.
func (s *Server) confidentialPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	v := confidentialView(r, in, "", "", nil)
	if !v.On && !v.CanSet {
		return nil, nil
	}
	return web.ConfidentialPanel(v), nil
}

// liftReason checks the reason of a lift.
func liftReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	e := apperr.Fields{}
	switch n := utf8.RuneCountInString(s); {
	case n < incident.MinReason:
		e.Add("lift_reason", "dispatch.err.reason_short", "Count", incident.MinReason)
	case n > incident.MaxReason:
		e.Add("lift_reason", "dispatch.err.reason_long", "Max", incident.MaxReason, "Count", n)
	}
	return s, e.Err()
}

// setConfidential marks an incident's address confidential
// (confidential=on) or, for a supervisor with a reason, lifts the flag
// (confidential=off).
func (s *Server) setConfidential(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncident(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	u := currentUser(ctx)
	typed := r.PostFormValue("lift_reason")
	failed := func(err error) {
		if apperr.CodeOf(err) == apperr.Internal || apperr.CodeOf(err) == apperr.NotFound {
			s.fail(w, r, err)
			return
		}
		msg, fields := s.formError(r, err)
		s.render(w, r, statusOf(apperr.CodeOf(err)), web.PanelOnly(web.PanelPage{Page: s.page(r, in.Number, incidentNav(u)),
			Heading: s.t(r, "dispatch.conf.heading", "Number", in.Number), BackHref: incidentPagePath(in.ID),
			Panel: web.ConfidentialPanel(confidentialView(r, in, typed, msg, fields))}))
	}
	var on bool
	var reason string
	switch r.PostFormValue("confidential") {
	case "on":
		on = true
	case "off":
		if !slices.Contains(liftConfidentialRoles, u.Role) {
			// A refused lift is audited like a refused view.
			s.db.Audit(ctx, audit.Entry{Actor: s.actor(r), Action: "incident.confidential_lift", RecordType: "incident",
				RecordID: in.Number, Outcome: audit.Denied})
			s.fail(w, r, apperr.New(apperr.Forbidden, "dispatch.err.lift_forbidden"))
			return
		}
		var err error
		if reason, err = liftReason(typed); err != nil {
			failed(err)
			return
		}
	default:
		failed(apperr.New(apperr.Invalid, "dispatch.err.conf_choice"))
		return
	}
	changed, err := s.db.SetAddressConfidential(ctx, in.ID, on, reason, s.actor(r))
	if err != nil {
		failed(err)
		return
	}
	switch {
	case on && changed:
		s.setFlash(r, "ok", s.t(r, "dispatch.conf.flash_set"))
	case on:
		s.setFlash(r, "info", s.t(r, "dispatch.conf.flash_already"))
	case changed:
		s.setFlash(r, "ok", s.t(r, "dispatch.conf.flash_lifted"))
	default:
		s.setFlash(r, "info", s.t(r, "dispatch.conf.flash_not"))
	}
	http.Redirect(w, r, incidentPagePath(in.ID)+"#confidential", http.StatusSeeOther)
}
