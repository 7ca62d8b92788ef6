package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/web"
)

// Victims across incidents (issue 16). Strong matches for the victim (a
// name and a second agreeing fact: postgres.PersonCandidates, never a name
// alone) are offered as "same person as in DV-...?" on the intake panel
// and the incident page; a dispatcher, officer or supervisor who may
// change the incident confirms or rejects (access.CanLinkPersons), a
// supervisor undoes a link with a reason (access.CanUndoPersonLink). The
// panel then shows repeat victimisation. The victim's safe-contact rule is
// shown before every call-back action; calling where it is not known to be
// safe asks for a reason. The rule is never on the board, in exports or
// in logs.

// personRoles may decide links, record safe-contact rules and call-backs;
// undoPersonRoles may undo a link. Which incidents: internal/access.
var (
	personRoles     = []account.Role{account.Officer, account.Dispatcher, account.Supervisor}
	undoPersonRoles = []account.Role{account.Supervisor}
)

// maxPersonOffers bounds the offers shown for one person.
const maxPersonOffers = 3

func incidentHref(id int64) string { return "/incidents/" + strconv.FormatInt(id, 10) }

// candidateStub is what access needs of a candidate incident.
func candidateStub(district, createdBy *int64, units []int64, confidential bool) *incident.Incident {
	stub := &incident.Incident{DistrictID: district, CreatedBy: createdBy, AddressConfidential: confidential}
	for _, id := range units {
		stub.Units = append(stub.Units, incident.Assignment{UnitID: id})
	}
	return stub
}

// personCandidates are the candidates of q the viewer may see, one per
// person (the latest incident of each), at most maxPersonOffers. A
// confidential address agrees only for a viewer who may read it.
func (s *Server) personCandidates(r *http.Request, q postgres.PersonQuery, linked int64) ([]postgres.PersonCandidate, error) {
	cs, err := s.db.PersonCandidates(r.Context(), q)
	if err != nil {
		return nil, err
	}
	u := currentUser(r.Context())
	seen := map[int64]bool{}
	var out []postgres.PersonCandidate
	for _, c := range cs {
		stub := candidateStub(c.DistrictID, c.CreatedBy, c.UnitIDs, c.Confidential)
		if !canView(u, stub) {
			continue
		}
		if c.Confidential && !addressShown(u, stub) {
			c.ByFlat, c.ByBuilding = false, false
			if !c.ByAge && !c.ByPhone {
				continue
			}
		}
		if c.PersonID != nil {
			if *c.PersonID == linked || seen[*c.PersonID] {
				continue
			}
			seen[*c.PersonID] = true
		}
		out = append(out, c)
		if len(out) == maxPersonOffers {
			break
		}
	}
	return out, nil
}

// offerOf words a candidate as an offer.
func (s *Server) offerOf(r *http.Request, c postgres.PersonCandidate, role string) web.PersonOffer {
	l := i18n.FromContext(r.Context())
	var facts []string
	for _, f := range []struct {
		on bool
		id string
	}{{c.ByAge, "victims.fact.age"}, {c.ByPhone, "victims.fact.phone"}, {c.ByFlat, "victims.fact.flat"},
		{c.ByBuilding && !c.ByFlat, "victims.fact.building"}} {
		if f.on {
			facts = append(facts, l.T(f.id))
		}
	}
	o := web.PersonOffer{Other: strconv.FormatInt(c.IncidentID, 10), Role: role, Href: incidentHref(c.IncidentID),
		Question: l.T("victims.offer.question", "Role", l.T("victims.role."+role), "Number", c.Number, "Date", l.Date(c.ReceivedAt, s.loc)),
		Why:      l.T("victims.offer.why", "Facts", strings.Join(facts, ", "))}
	if c.PersonSize > 1 {
		o.Linked = l.T("victims.offer.linked", "N", c.PersonSize)
	}
	return o
}

// repeatView words repeat counts; nil when there is nothing to say.
func (s *Server) repeatView(r *http.Request, rep postgres.Repeat, flat bool) *web.RepeatView {
	if !rep.Linked && rep.FlatYear == 0 {
		return nil
	}
	l := i18n.FromContext(r.Context())
	v := &web.RepeatView{}
	if rep.Linked {
		v.Headline = l.T("victims.repeat.nth", "Ordinal", l.Ordinal(rep.VictimYear+1))
		v.Alarm = rep.VictimYear > 0
		v.Lines = append(v.Lines, l.T("victims.repeat.victim_year", "N", rep.VictimYear), l.T("victims.repeat.victim_all", "N", rep.VictimAll))
	} else {
		v.Headline = l.T("victims.repeat.flat_nth", "Ordinal", l.Ordinal(rep.FlatYear+1))
		v.Alarm = true
	}
	if flat {
		v.Lines = append(v.Lines, l.T("victims.repeat.flat_year", "N", rep.FlatYear))
	}
	if rep.Last != nil && canView(currentUser(r.Context()), candidateStub(rep.Last.DistrictID, rep.Last.CreatedBy, rep.Last.UnitIDs, false)) {
		danger := l.T("victims.repeat.danger_none")
		if rep.Last.Screened {
			danger = l.T("victims.repeat.danger_low")
			if rep.Last.HighDanger {
				danger = l.T("victims.repeat.danger_high")
			}
		}
		v.Lines = append(v.Lines, l.T("victims.repeat.last", "Number", rep.Last.Number, "Date", l.Date(rep.Last.ReceivedAt, s.loc),
			"Danger", danger))
	}
	v.Lines = append(v.Lines, l.T("victims.repeat.orders", "N", rep.ActiveOrders))
	if rep.Linked {
		v.Lines = append(v.Lines, l.T("victims.repeat.referrals", "N", rep.OpenReferrals))
	}
	return v
}

// seesConfidentialCounts says whether u's flat counts include incidents
// whose address is confidential.
func seesConfidentialCounts(u *account.User) bool { return u.Role == account.Supervisor }

// victimQuery is the candidate query for a call's victim.
func victimQuery(q incident.HistoryQuery, before time.Time, exclude int64) postgres.PersonQuery {
	k := q.Keys
	return postgres.PersonQuery{Role: postgres.RoleVictim, NameKey: k.Victim, Age: q.VictimAge, Flat: k.Flat,
		Building: k.Building, Phone: k.Phone, Before: before, Exclude: exclude}
}

// intakeVictimBox is the intake panel's victim box for the call being
// typed (q): the offers with the answers chosen so far, and the repeat
// counts once she is confirmed to be someone seen before, or a same-flat
// match exists. Counted before the call's received time.
func (s *Server) intakeVictimBox(r *http.Request, q incident.HistoryQuery) *web.VictimBox {
	ctx := r.Context()
	u := currentUser(ctx)
	before, err := s.db.DraftReceivedAt(ctx, r.PostFormValue("key"), u.ID)
	if err != nil {
		before = s.now()
	}
	box := &web.VictimBox{}
	cs, err := s.personCandidates(r, victimQuery(q, before, 0), 0)
	if err != nil {
		s.log.Warn("person candidates unavailable", "err", err)
		return nil
	}
	rq := postgres.RepeatQuery{Flat: q.Keys.Flat, Before: before, Confidential: seesConfidentialCounts(u)}
	for _, c := range cs {
		o := s.offerOf(r, c, postgres.RoleVictim)
		o.Choice = r.PostFormValue("victim_same_" + o.Other)
		if o.Choice == "yes" {
			if c.PersonID != nil && rq.Person == 0 {
				rq.Person = *c.PersonID
			} else {
				rq.Incidents = append(rq.Incidents, c.IncidentID)
			}
		}
		box.Offers = append(box.Offers, o)
	}
	if rq.Flat != "" || rq.Person != 0 || len(rq.Incidents) > 0 {
		rep, err := s.db.RepeatCounts(ctx, rq)
		if err != nil {
			s.log.Warn("repeat counts unavailable", "err", err)
		} else {
			box.Repeat = s.repeatView(r, rep, rq.Flat != "")
		}
	}
	if len(box.Offers) == 0 && box.Repeat == nil {
		return nil
	}
	return box
}

// linkAtIntake applies the intake form's answers to "same person?" to the
// incident just logged (only strong candidates the user may see), and
// fills the safe-contact rule of a new victim from "safe to call back?".
// A failure is logged (no personal data) and told: the call is logged.
func (s *Server) linkAtIntake(r *http.Request, id int64, f incident.Form) {
	ctx := r.Context()
	fail := func(err error) {
		s.log.Warn("linking at intake failed", "err", err)
		s.setFlash(r, "warn", s.t(r, "victims.flash.intake_link_failed"))
	}
	var answered []string
	for k := range r.PostForm {
		if strings.HasPrefix(k, "victim_same_") {
			answered = append(answered, k)
		}
	}
	if len(answered) > 0 {
		facts, err := s.db.MatchFactsOf(ctx, []int64{id})
		if err != nil {
			fail(err)
			return
		}
		mf := facts[id]
		cs, err := s.personCandidates(r, victimQuery(mf.Query, mf.Query.Before, id), 0)
		if err != nil {
			fail(err)
			return
		}
		for _, c := range cs {
			switch r.PostFormValue("victim_same_" + strconv.FormatInt(c.IncidentID, 10)) {
			case "yes":
				_, err = s.db.ConfirmPerson(ctx, id, postgres.RoleVictim, c.IncidentID, s.actor(r))
			case "no":
				err = s.db.RejectPerson(ctx, id, postgres.RoleVictim, c.IncidentID, s.actor(r))
			}
			if err != nil {
				fail(err)
				return
			}
		}
	}
	if f.SafeToCall == "yes" || f.SafeToCall == "no" {
		safe := f.SafeToCall == "yes"
		sc := postgres.SafeContact{SafeToCall: &safe, Phone: strings.TrimSpace(f.CallerPhone), Who: "police"}
		if len([]rune(sc.Phone)) > 40 {
			sc.Phone = ""
		}
		if err := s.db.SaveSafeContact(ctx, id, sc, true, s.actor(r)); err != nil {
			fail(err)
		}
	}
}

// victimsState is what a victims form that came back with errors shows
// on the incident page.
type victimsState struct {
	panelErr   string
	undoErr    string
	undoReason string
	safeErr    string
	safeErrs   map[string]string
	safe       *postgres.SafeContact // as typed
	cbErr      string
	cbReason   string
}

type victimsStateKey struct{}

func victimsStateOf(ctx context.Context) victimsState {
	st, _ := ctx.Value(victimsStateKey{}).(victimsState)
	return st
}

// personsPanel is the incident page's section on the people across
// incidents; nil when there is nothing to show.
func (s *Server) personsPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	ctx := r.Context()
	u := currentUser(ctx)
	l := i18n.FromContext(ctx)
	st := victimsStateOf(ctx)
	facts, err := s.db.MatchFactsOf(ctx, []int64{in.ID})
	if err != nil {
		return nil, err
	}
	mf := facts[in.ID]
	p := web.PersonsPanel{Error: st.panelErr, UndoError: st.undoErr, UndoReason: st.undoReason}
	rec := access.Of(in)
	var victim int64
	for _, role := range []string{postgres.RoleVictim, postgres.RoleSuspect} {
		person, err := s.db.PersonOf(ctx, in.ID, role)
		if err != nil {
			return nil, err
		}
		if role == postgres.RoleVictim {
			victim = person
		}
		if person != 0 {
			incs, err := s.db.PersonIncidents(ctx, person, role)
			if err != nil {
				return nil, err
			}
			lp := web.LinkedPerson{Heading: l.T("victims.panel.linked", "Role", l.T("victims.role."+role), "N", len(incs))}
			hidden := 0
			for _, pi := range incs {
				if pi.IncidentID != in.ID && !canView(u, candidateStub(pi.DistrictID, pi.CreatedBy, nil, false)) {
					hidden++
					continue
				}
				lp.Incidents = append(lp.Incidents, web.LinkRow{Number: pi.Number, Href: incidentHref(pi.IncidentID),
					When: l.Date(pi.ReceivedAt, s.loc), This: pi.IncidentID == in.ID})
			}
			if hidden > 0 {
				lp.Elsewhere = l.T("victims.panel.elsewhere", "N", hidden)
			}
			if access.CanUndoPersonLink(u, rec) {
				lp.UndoAction = incidentHref(in.ID) + "/persons/undo?role=" + role
				lp.ExportAction, lp.Role = incidentHref(in.ID)+"/persons/export", role
			}
			p.Linked = append(p.Linked, lp)
		}
		if access.CanLinkPersons(u, rec) {
			q := victimQuery(mf.Query, in.ReceivedAt, in.ID)
			if role == postgres.RoleSuspect {
				q.Role, q.NameKey, q.Age = role, mf.Query.Keys.Suspect, mf.Query.SuspectAge
			}
			cs, err := s.personCandidates(r, q, person)
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				o := s.offerOf(r, c, role)
				o.Action = incidentHref(in.ID) + "/persons"
				p.Offers = append(p.Offers, o)
			}
		}
	}
	rq := postgres.RepeatQuery{Person: victim, Flat: mf.Query.Keys.Flat, Before: in.ReceivedAt, Exclude: in.ID,
		Confidential: seesConfidentialCounts(u)}
	if victim != 0 || rq.Flat != "" {
		rep, err := s.db.RepeatCounts(ctx, rq)
		if err != nil {
			return nil, err
		}
		p.Repeat = s.repeatView(r, rep, rq.Flat != "")
	}
	if len(p.Linked) == 0 && len(p.Offers) == 0 && p.Repeat == nil && p.Error == "" {
		return nil, nil
	}
	return web.PersonsPanelView(p), nil
}

func boolText(l *i18n.Localizer, b *bool, yes, no, unknown string) string {
	switch {
	case b == nil:
		return l.T(unknown)
	case *b:
		return l.T(yes)
	}
	return l.T(no)
}

func yesNoValue(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "yes"
	}
	return "no"
}

func yesNoPtr(v string) *bool {
	switch v {
	case "yes":
		t := true
		return &t
	case "no":
		f := false
		return &f
	}
	return nil
}

// safeContactPanel shows the victim's safe-contact rule, then the
// call-back action, then its edit form. An incident whose victim has no
// rule shows the intake's answer to "safe to call back?".
func (s *Server) safeContactPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	ctx := r.Context()
	u := currentUser(ctx)
	l := i18n.FromContext(ctx)
	st := victimsStateOf(ctx)
	p, sc, err := s.safeRule(ctx, in)
	if err != nil {
		return nil, err
	}
	p.Error, p.Open = st.safeErr, st.safeErr != ""
	rule := sc
	if rule == nil {
		rule = &postgres.SafeContact{SafeToCall: in.Caller.SafeToCall, Phone: in.Caller.Phone, Who: "police"}
	}
	if !access.CanLinkPersons(u, access.Of(in)) {
		return web.SafeContactView(p), nil
	}
	if rule.Phone == "" {
		rule.Phone = in.Caller.Phone
	}
	p.CallAction = incidentHref(in.ID) + "/call-back"
	p.CallReason = web.Field{Name: "cb_reason", Label: l.T("victims.callback.reason"), Value: st.cbReason, Error: st.cbErr, MaxLen: 500}
	p.Action = incidentHref(in.ID) + "/safe-contact"
	form := rule
	if st.safe != nil {
		form = st.safe
	}
	errs := st.safeErrs
	fld := func(name, label, value string, max int) web.Field {
		return web.Field{Name: name, Label: l.T(label), Value: value, MaxLen: max, Error: errs[name], Autocomplete: "off"}
	}
	sel := func(name, label, value string, opts []web.Option) web.Field {
		return web.Field{Name: name, Label: l.T(label), Type: "select", Value: value, Options: opts, Error: errs[name]}
	}
	who := []web.Option{{Value: "police", Label: l.T("victims.safe.who_police")}, {Value: "police_ngo", Label: l.T("victims.safe.who_police_ngo")}}
	p.Fields = []web.Field{
		sel("sc_call", "victims.safe.call", yesNoValue(form.SafeToCall), yesNoOptions(l)),
		fld("sc_phone", "victims.safe.phone", form.Phone, 40),
		fld("sc_times", "victims.safe.times", form.SafeTimes, 200),
		sel("sc_message", "victims.safe.message", yesNoValue(form.MessageOK), yesNoOptions(l)),
		fld("sc_code", "victims.safe.code", form.CodeWord, 100),
		sel("sc_who", "victims.safe.who", form.Who, who),
	}
	p.Fields[1].Type = "tel"
	return web.SafeContactView(p), nil
}

// safeRule is the victim's safe-contact rule of in as every call-back
// shows it first, and her recorded rule (nil: none; the panel then shows
// the intake's answer to "safe to call back?").
func (s *Server) safeRule(ctx context.Context, in *incident.Incident) (web.SafeContactPanel, *postgres.SafeContact, error) {
	sc, _, err := s.db.SafeContactOf(ctx, in.ID)
	if err != nil {
		return web.SafeContactPanel{}, nil, err
	}
	return s.rulePanel(i18n.FromContext(ctx), sc, in.Caller.SafeToCall, in.Caller.Phone), sc, nil
}

// rulePanel words a victim's safe-contact rule: her recorded rule sc, or
// when none (nil) the intake's answer callerSafe to "safe to call back?"
// with the callback number. Unsafe is what every contact with her
// follows: calling is unsafe unless the rule says it is safe (as
// postgres.RecordCallBack and postgres.CloseFollowUp judge it).
func (s *Server) rulePanel(l *i18n.Localizer, sc *postgres.SafeContact, callerSafe *bool, callerPhone string) web.SafeContactPanel {
	var p web.SafeContactPanel
	p.Has = sc != nil || callerSafe != nil
	var rule postgres.SafeContact
	if sc == nil {
		rule = postgres.SafeContact{SafeToCall: callerSafe, Phone: callerPhone, Who: "police"}
	} else {
		rule = *sc
		p.Updated = l.T("victims.safe.updated", "Date", l.DateTime(rule.UpdatedAt, s.loc))
	}
	if rule.Phone == "" {
		rule.Phone = callerPhone
	}
	p.Unsafe = rule.SafeToCall == nil || !*rule.SafeToCall
	p.PoliceOnly = sc != nil && sc.Who == "police"
	kv := func(label, value string, warn bool) web.KV {
		return web.KV{Label: l.T(label), Value: value, Warn: warn}
	}
	p.Rule = []web.KV{kv("victims.safe.call", boolText(l, rule.SafeToCall, "victims.safe.call_yes", "victims.safe.call_no", "victims.safe.call_unknown"), p.Unsafe)}
	if rule.Phone != "" {
		p.Rule = append(p.Rule, kv("victims.safe.phone", rule.Phone, false))
	}
	if sc != nil {
		if sc.SafeTimes != "" {
			p.Rule = append(p.Rule, kv("victims.safe.times", sc.SafeTimes, false))
		}
		p.Rule = append(p.Rule, kv("victims.safe.message", boolText(l, sc.MessageOK, "victims.safe.message_yes", "victims.safe.message_no",
			"victims.safe.call_unknown"), sc.MessageOK != nil && !*sc.MessageOK))
		if sc.CodeWord != "" {
			p.Rule = append(p.Rule, kv("victims.safe.code", sc.CodeWord, false))
		}
		p.Rule = append(p.Rule, kv("victims.safe.who", l.T("victims.safe.who_"+sc.Who), false))
	}
	return p
}

// callBackBox is the rule and the call-back action of in for a list of
// several (the open referrals): nil when the viewer may not call back.
// back says where the call-back returns; errMsg and reason come back
// with a refused call-back of this incident.
func (s *Server) callBackBox(r *http.Request, in *incident.Incident, back, suffix, errMsg, reason string) (*web.SafeContactPanel, error) {
	ctx := r.Context()
	if !access.CanLinkPersons(currentUser(ctx), access.Of(in)) {
		return nil, nil
	}
	p, _, err := s.safeRule(ctx, in)
	if err != nil {
		return nil, err
	}
	l := i18n.FromContext(ctx)
	p.CallAction = incidentHref(in.ID) + "/call-back"
	p.CallBack = back
	p.ReasonID = "cb-reason-" + suffix
	p.CallReason = web.Field{Name: "cb_reason", Label: l.T("victims.callback.reason"), Value: reason, Error: errMsg, MaxLen: 500}
	return &p, nil
}

// victimsPage renders the incident page again with a victims form's
// errors (422).
func (s *Server) victimsPage(w http.ResponseWriter, r *http.Request, st victimsState) {
	s.incidentPageWith(w, r.WithContext(context.WithValue(r.Context(), victimsStateKey{}, st)), http.StatusUnprocessableEntity, "", "", "")
}

// decidePerson records a dispatcher's, officer's or supervisor's answer
// to "same person as in DV-...?" on the incident page. Only a strong
// candidate the user may see is accepted.
func (s *Server) decidePerson(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "person.link")
	if !ok {
		return
	}
	if !access.CanLinkPersons(currentUser(r.Context()), access.Of(in)) {
		s.refuseChange(w, r, "person.link", "incident", in.Number)
		return
	}
	role := r.PostFormValue("role")
	other, _ := strconv.ParseInt(r.PostFormValue("other"), 10, 64)
	decision := r.PostFormValue("decision")
	facts, err := s.db.MatchFactsOf(r.Context(), []int64{in.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mf := facts[in.ID]
	q := victimQuery(mf.Query, in.ReceivedAt, in.ID)
	if role == postgres.RoleSuspect {
		q.Role, q.NameKey, q.Age = role, mf.Query.Keys.Suspect, mf.Query.SuspectAge
	} else if role != postgres.RoleVictim {
		s.victimsPage(w, r, victimsState{panelErr: s.t(r, "victims.err.bad_link")})
		return
	}
	linked, err := s.db.PersonOf(r.Context(), in.ID, role)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs, err := s.personCandidates(r, q, linked)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var number string
	for _, c := range cs {
		if c.IncidentID == other {
			number = c.Number
		}
	}
	if number == "" || (decision != "yes" && decision != "no") {
		s.victimsPage(w, r, victimsState{panelErr: s.t(r, "victims.err.not_offered")})
		return
	}
	if decision == "yes" {
		_, err = s.db.ConfirmPerson(r.Context(), in.ID, role, other, s.actor(r))
	} else {
		err = s.db.RejectPerson(r.Context(), in.ID, role, other, s.actor(r))
	}
	if err != nil {
		if c := apperr.CodeOf(err); c == apperr.Invalid || c == apperr.Conflict {
			msg, _ := s.formError(r, err)
			s.victimsPage(w, r, victimsState{panelErr: msg})
			return
		}
		s.fail(w, r, err)
		return
	}
	if decision == "yes" {
		s.setFlash(r, "ok", s.t(r, "victims.flash.linked", "Number", number))
	} else {
		s.setFlash(r, "ok", s.t(r, "victims.flash.rejected", "Number", number))
	}
	http.Redirect(w, r, incidentHref(in.ID), http.StatusSeeOther)
}

// undoPerson is a supervisor's undoing of the link of the incident's
// person, with a reason.
func (s *Server) undoPerson(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "person.unlink")
	if !ok {
		return
	}
	if !access.CanUndoPersonLink(currentUser(r.Context()), access.Of(in)) {
		s.refuseChange(w, r, "person.unlink", "incident", in.Number)
		return
	}
	role := r.URL.Query().Get("role")
	if role != postgres.RoleSuspect {
		role = postgres.RoleVictim
	}
	reason := r.PostFormValue("reason")
	if err := s.db.UndoPerson(r.Context(), in.ID, role, reason, s.actor(r)); err != nil {
		if c := apperr.CodeOf(err); c == apperr.Invalid || c == apperr.Conflict {
			msg, fields := s.formError(r, err)
			if f, ok := fields["reason"]; ok {
				msg = f
			}
			s.victimsPage(w, r, victimsState{undoErr: msg, undoReason: reason})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.setFlash(r, "ok", s.t(r, "victims.flash.undone"))
	http.Redirect(w, r, incidentHref(in.ID), http.StatusSeeOther)
}

// saveSafeContact records the victim's safe-contact rule from the
// incident page: hers, so her other incidents show it too.
func (s *Server) saveSafeContact(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "safe_contact.save")
	if !ok {
		return
	}
	if !access.CanLinkPersons(currentUser(r.Context()), access.Of(in)) {
		s.refuseChange(w, r, "safe_contact.save", "incident", in.Number)
		return
	}
	g := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	sc := postgres.SafeContact{SafeToCall: yesNoPtr(g("sc_call")), Phone: g("sc_phone"), SafeTimes: g("sc_times"),
		MessageOK: yesNoPtr(g("sc_message")), CodeWord: g("sc_code"), Who: g("sc_who")}
	if err := s.db.SaveSafeContact(r.Context(), in.ID, sc, false, s.actor(r)); err != nil {
		if apperr.CodeOf(err) == apperr.Invalid {
			msg, fields := s.formError(r, err)
			s.victimsPage(w, r, victimsState{safeErr: msg, safeErrs: fields, safe: &sc})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.setFlash(r, "ok", s.t(r, "victims.safe.saved"))
	http.Redirect(w, r, incidentHref(in.ID), http.StatusSeeOther)
}

// callBackFromReferrals is the "back" of a call-back offered on the open
// referrals list: it returns there, and a refused one shows the list
// again with the message at that incident's reason.
const callBackFromReferrals = "referrals"

// refusedCallBack is a call-back refused for want of a reason, shown again.
type refusedCallBack struct {
	incident    int64
	msg, reason string
}

// callBack records a call-back from the incident page or the open
// referrals list; where calling is not known to be safe, only with a
// reason.
func (s *Server) callBack(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "incident.call_back")
	if !ok {
		return
	}
	if !access.CanLinkPersons(currentUser(r.Context()), access.Of(in)) {
		s.refuseChange(w, r, "incident.call_back", "incident", in.Number)
		return
	}
	reason := r.PostFormValue("cb_reason")
	fromList := r.PostFormValue("back") == callBackFromReferrals
	if _, err := s.db.RecordCallBack(r.Context(), in.ID, reason, s.actor(r)); err != nil {
		if apperr.CodeOf(err) == apperr.Invalid {
			_, fields := s.formError(r, err)
			if fromList {
				s.openReferralsPage(w, r, http.StatusUnprocessableEntity, &refusedCallBack{incident: in.ID, msg: fields["cb_reason"], reason: reason})
				return
			}
			s.victimsPage(w, r, victimsState{cbErr: fields["cb_reason"], cbReason: reason})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.setFlash(r, "ok", s.t(r, "victims.callback.done"))
	if fromList {
		http.Redirect(w, r, "/referrals/open", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, incidentHref(in.ID), http.StatusSeeOther)
}
