package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// actor is the audit identity of the request.
func (s *Server) actor(r *http.Request) audit.Actor {
	a := audit.Actor{IP: s.clientIP(r).String()}
	if u := currentUser(r.Context()); u != nil {
		a.UserID, a.Username, a.Role = u.ID, u.Username, string(u.Role)
	}
	return a
}

// intakeForm reads the intake form from the request.
func intakeForm(r *http.Request) incident.Form {
	g := r.PostFormValue
	return incident.Form{
		Key: g("key"), ReceivedManual: g("received_manual"),
		CallerName: g("caller_name"), CallerPhone: g("caller_phone"), CallerRelation: g("caller_relation"),
		SafeToCall: g("safe_to_call"), Anonymous: g("anonymous"), Language: g("language"),
		Address: g("address"), DistrictID: g("district_id"), SettlementID: g("settlement_id"),
		LocationNotes: g("location_notes"), Latitude: g("latitude"), Longitude: g("longitude"),
		TypeID: g("type_id"), Priority: g("priority"),
		Weapons: g("weapons"), Children: g("children"), Injuries: g("injuries"),
		VictimName: g("victim_name"), VictimSex: g("victim_sex"), VictimAge: g("victim_age"),
		SuspectName: g("suspect_name"), SuspectSex: g("suspect_sex"), SuspectAge: g("suspect_age"),
		Relationship: g("relationship"), Narrative: g("narrative"),
	}
}

// yesNoOptions are the choices of a yes/no/unknown select, in l's language.
func yesNoOptions(l *i18n.Localizer) []web.Option {
	return []web.Option{{Value: "", Label: l.T("dispatch.answer.unknown")}, {Value: "yes", Label: l.T("dispatch.answer.yes")},
		{Value: "no", Label: l.T("dispatch.answer.no")}}
}

// sexOptions are the choices of a person's sex, in l's language.
func sexOptions(l *i18n.Localizer) []web.Option {
	return []web.Option{{Value: "", Label: l.T("dispatch.sex.none")}, {Value: "female", Label: l.T("dispatch.sex.female")},
		{Value: "male", Label: l.T("dispatch.sex.male")}, {Value: "other", Label: l.T("dispatch.sex.other")}}
}

// intakeSections builds the intake form's fields from the typed form f.
func (s *Server) intakeSections(ctx context.Context, f incident.Form, errs map[string]string) ([]web.Section, error) {
	lang := i18n.FromContext(ctx).Lang
	districts, err := s.db.Districts(ctx)
	if err != nil {
		return nil, err
	}
	settlements, err := s.db.Settlements(ctx)
	if err != nil {
		return nil, err
	}
	types, err := s.db.IncidentTypes(ctx)
	if err != nil {
		return nil, err
	}
	prios, err := s.db.Priorities(ctx)
	if err != nil {
		return nil, err
	}
	l := i18n.FromContext(ctx)
	t := l.T
	yesNo, sexes := yesNoOptions(l), sexOptions(l)
	dOpts := []web.Option{{Value: "", Label: t("dispatch.choose")}}
	for _, d := range districts {
		if d.Active || strconv.FormatInt(d.ID, 10) == f.DistrictID {
			dOpts = append(dOpts, web.Option{Value: strconv.FormatInt(d.ID, 10), Label: d.Name + " (" + d.Code + ")"})
		}
	}
	sOpts := []web.Option{{Value: "", Label: t("dispatch.intake.settlement_none")}}
	for _, x := range settlements {
		if x.Active || strconv.FormatInt(x.ID, 10) == f.SettlementID {
			label := x.Name + " — " + x.DistrictCode
			if x.IsIDP {
				label += " " + t("dispatch.idp_settlement")
			}
			sOpts = append(sOpts, web.Option{Value: strconv.FormatInt(x.ID, 10), Label: label})
		}
	}
	tOpts := []web.Option{{Value: "", Label: t("dispatch.choose")}}
	for _, dv := range []bool{true, false} { // domestic-violence types first
		for _, t := range types {
			if t.IsDV == dv && (t.Active || strconv.FormatInt(t.ID, 10) == f.TypeID) {
				tOpts = append(tOpts, web.Option{Value: strconv.FormatInt(t.ID, 10), Label: t.LabelIn(lang)})
			}
		}
	}
	pOpts := []web.Option{{Value: "", Label: t("dispatch.choose")}}
	for _, p := range prios {
		pOpts = append(pOpts, web.Option{Value: strconv.Itoa(p.Level), Label: "P" + strconv.Itoa(p.Level) + " — " + p.LabelIn(lang)})
	}
	langs := []web.Option{{Value: "", Label: t("dispatch.not_recorded")}}
	for _, cl := range incident.Languages {
		langs = append(langs, web.Option{Value: cl.Code, Label: t("dispatch.caller_lang." + cl.Code)})
	}
	fld := func(name, label, value string) web.Field {
		return web.Field{Name: name, Label: label, Value: value, Error: errs[name]}
	}
	sel := func(name, label, value string, opts []web.Option) web.Field {
		return web.Field{Name: name, Label: label, Type: "select", Value: value, Options: opts, Error: errs[name]}
	}
	withClass := func(f web.Field, hint string) web.Field { f.Hint = hint; return f }
	address := fld("address", t("dispatch.field.address"), f.Address)
	address.Autofocus, address.MaxLen, address.Width = true, 300, "full"
	address.Autocomplete = "off"
	phone := fld("caller_phone", t("dispatch.field.caller_phone"), f.CallerPhone)
	phone.Type, phone.MaxLen, phone.Autocomplete = "tel", 40, "off"
	typ := sel("type_id", t("dispatch.field.type"), f.TypeID, tOpts)
	typ.Required = true
	prio := sel("priority", t("dispatch.field.priority"), f.Priority, pOpts)
	prio.Required = true
	prio.Hint = t("dispatch.field.priority_hint")
	narrative := fld("narrative", t("dispatch.field.narrative"), f.Narrative)
	narrative.Type, narrative.Width, narrative.MaxLen = "textarea", "full", 10000
	manual := fld("received_manual", t("dispatch.field.received_manual"), f.ReceivedManual)
	manual.Type = "datetime-local"
	manual.Hint = t("dispatch.field.received_manual_hint")
	anon := web.Field{Name: "anonymous", Label: t("dispatch.field.anonymous"), Type: "checkbox", Value: f.Anonymous, Error: errs["anonymous"]}
	return []web.Section{
		{Legend: t("dispatch.section.location"), Fields: []web.Field{
			address,
			sel("district_id", t("dispatch.field.district"), f.DistrictID, dOpts),
			sel("settlement_id", t("dispatch.field.settlement"), f.SettlementID, sOpts),
			withClass(fld("location_notes", t("dispatch.field.location_notes"), f.LocationNotes), t("dispatch.field.location_notes_hint")),
			fld("latitude", t("dispatch.field.latitude"), f.Latitude),
			fld("longitude", t("dispatch.field.longitude"), f.Longitude),
		}},
		{Legend: t("dispatch.section.incident"), Fields: []web.Field{
			typ, prio,
			sel("weapons", t("dispatch.field.weapons"), f.Weapons, yesNo),
			sel("children", t("dispatch.field.children"), f.Children, yesNo),
			sel("injuries", t("dispatch.field.injuries"), f.Injuries, yesNo),
		}},
		{Legend: t("dispatch.section.caller"), Fields: []web.Field{
			fld("caller_name", t("dispatch.field.caller_name"), f.CallerName), phone,
			fld("caller_relation", t("dispatch.field.caller_relation"), f.CallerRelation),
			sel("safe_to_call", t("dispatch.field.safe_to_call"), f.SafeToCall, yesNo),
			anon,
			sel("language", t("dispatch.field.caller_language"), f.Language, langs),
		}},
		{Legend: t("dispatch.section.people"), Fields: []web.Field{
			fld("victim_name", t("dispatch.field.victim_name"), f.VictimName),
			sel("victim_sex", t("dispatch.field.victim_sex"), f.VictimSex, sexes),
			withType(fld("victim_age", t("dispatch.field.victim_age"), f.VictimAge), "number"),
			fld("suspect_name", t("dispatch.field.suspect_name"), f.SuspectName),
			sel("suspect_sex", t("dispatch.field.suspect_sex"), f.SuspectSex, sexes),
			withType(fld("suspect_age", t("dispatch.field.suspect_age"), f.SuspectAge), "number"),
			fld("relationship", t("dispatch.field.relationship"), f.Relationship),
		}},
		{Legend: t("dispatch.section.narrative"), Fields: []web.Field{narrative, manual}},
	}, nil
}

func withType(f web.Field, t string) web.Field { f.Type = t; return f }

// fallbackLabel is the catalogue ID of the label of an intake field.
func fallbackLabel(name string) string {
	switch name {
	case "type_id":
		return "dispatch.field.type"
	case "district_id":
		return "dispatch.field.district"
	case "settlement_id":
		return "dispatch.field.settlement"
	case "language":
		return "dispatch.field.caller_language"
	}
	return "dispatch.field." + name
}

// historySources are the fields the history panel searches on; the form
// marks them so htmx sends them (and only them) to /incidents/history.
var historySources = map[string]bool{"address": true, "caller_phone": true, "caller_name": true, "victim_name": true,
	"suspect_name": true, "victim_age": true, "suspect_age": true}

func (s *Server) renderIntake(w http.ResponseWriter, r *http.Request, status int, f incident.Form, receivedAt time.Time, msg string, errs map[string]string) {
	secs, err := s.intakeSections(r.Context(), f, errs)
	if err != nil {
		// The database is down after the dispatcher typed a call: show the
		// form from what was typed, without the lists, rather than lose it.
		s.log.Warn("intake form lists unavailable", "err", err)
		msg = s.t(r, "dispatch.intake.db_down")
		secs = fallbackSections(i18n.FromContext(r.Context()), f)
	}
	for i := range secs {
		for j := range secs[i].Fields {
			if historySources[secs[i].Fields[j].Name] {
				secs[i].Fields[j].Class = "history-src"
			}
		}
	}
	var hv web.HistoryView
	q := s.intakeQuery(f.Address, f.CallerPhone, f.CallerName, f.VictimName, f.SuspectName, ageOf(f.VictimAge), ageOf(f.SuspectAge))
	if q.Keys.Empty() || s.historyAllowed(r) {
		hv = s.historyView(r, q, incident.Own{}, "intake", f.Key)
		hv.Victim = s.intakeVictimBox(r, q) // victims.go
	} else {
		hv.Throttled = s.t(r, "dispatch.history.throttled")
	}
	s.render(w, r, status, web.Intake(web.IntakePage{Page: s.page(r, s.t(r, "dispatch.intake.title"), "board"), Key: f.Key, ReceivedAt: receivedAt,
		Error: msg, Sections: secs, History: hv}))
}

// fallbackSections keeps every typed value as a plain field when the
// lists for the selects cannot be read.
func fallbackSections(l *i18n.Localizer, f incident.Form) []web.Section {
	pairs := [][2]string{
		{"address", f.Address}, {"district_id", f.DistrictID}, {"settlement_id", f.SettlementID},
		{"location_notes", f.LocationNotes}, {"latitude", f.Latitude}, {"longitude", f.Longitude},
		{"type_id", f.TypeID}, {"priority", f.Priority}, {"weapons", f.Weapons}, {"children", f.Children},
		{"injuries", f.Injuries}, {"caller_name", f.CallerName}, {"caller_phone", f.CallerPhone},
		{"caller_relation", f.CallerRelation}, {"safe_to_call", f.SafeToCall}, {"anonymous", f.Anonymous},
		{"language", f.Language}, {"victim_name", f.VictimName}, {"victim_sex", f.VictimSex},
		{"victim_age", f.VictimAge}, {"suspect_name", f.SuspectName}, {"suspect_sex", f.SuspectSex},
		{"suspect_age", f.SuspectAge}, {"relationship", f.Relationship}, {"narrative", f.Narrative},
		{"received_manual", f.ReceivedManual},
	}
	var fs []web.Field
	for _, p := range pairs {
		fs = append(fs, web.Field{Name: p[0], Label: l.T(fallbackLabel(p[0])), Value: p[1]})
	}
	return []web.Section{{Legend: l.T("dispatch.section.as_typed"), Fields: fs}}
}

// newCall opens the intake form; the call's received time is fixed now,
// by the server, in an intake draft.
func (s *Server) newCall(w http.ResponseWriter, r *http.Request) {
	key, at, err := s.db.CreateDraft(r.Context(), currentUser(r.Context()).ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderIntake(w, r, http.StatusOK, incident.Form{Key: key}, at, "", nil)
}

// createIncident logs the call. It is idempotent per form key: a double
// click, a retry or a resubmission shows the incident the first created.
func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	f := intakeForm(r)
	ctx := r.Context()
	var receivedAt time.Time
	failed := func(err error) {
		msg, fields := s.formError(r, err)
		if receivedAt.IsZero() {
			receivedAt = s.now()
		}
		s.renderIntake(w, r, statusOf(apperr.CodeOf(err)), f, receivedAt, msg, fields)
	}
	var err error
	if f.Key == "" {
		// A form without a key (should not happen) gets a fresh draft.
		if f.Key, receivedAt, err = s.db.CreateDraft(ctx, u.ID); err != nil {
			failed(err)
			return
		}
	} else if receivedAt, err = s.db.DraftReceivedAt(ctx, f.Key, u.ID); err != nil {
		if apperr.CodeOf(err) == apperr.Invalid {
			// Unknown key: start a new draft so the next press logs the call.
			if key, at, derr := s.db.CreateDraft(ctx, u.ID); derr == nil {
				f.Key, receivedAt = key, at
			}
		}
		failed(err)
		return
	}
	now, err := s.db.NowUTC(ctx)
	if err != nil {
		failed(err)
		return
	}
	n, err := f.Validate(receivedAt, now, s.loc, s.rules)
	if err != nil {
		failed(err)
		return
	}
	id, number, created, err := s.db.CreateIncident(ctx, n, s.loc, s.actor(r))
	if err != nil {
		failed(err)
		return
	}
	if created {
		s.setFlash(r, "ok", s.t(r, "dispatch.intake.logged", "Number", number))
		s.linkAtIntake(r, id, f) // victims.go: "same person?" answers, safe-contact rule
	} else {
		s.setFlash(r, "info", s.t(r, "dispatch.intake.already_logged", "Number", number))
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// fmtTime writes t to the minute in the deployment's zone, as the
// request's language writes dates.
func (s *Server) fmtTime(r *http.Request, t time.Time) string {
	return i18n.FromContext(r.Context()).DateTime(t, s.loc)
}

// fmtTimeSec is fmtTime to the second.
func (s *Server) fmtTimeSec(r *http.Request, t time.Time) string {
	return i18n.FromContext(r.Context()).DateTimeSec(t, s.loc)
}

// canView says whether u may see incident in: the rule of record access
// (internal/access) applied to the incident. Every route that takes an
// incident, an order or a referral goes through it (loadIncident,
// loadOrder, loadReferral), and the lists apply the same rule in their
// queries (access.AreaOf).
func canView(u *account.User, in *incident.Incident) bool { return access.CanView(u, access.Of(in)) }

// canChange says whether u may change incident in: record its stages,
// its protection orders, danger screens and referrals (access.CanChange).
func canChange(u *account.User, in *incident.Incident) bool {
	return access.CanChange(u, access.Of(in))
}

// Records outside the viewer's part and records that do not exist get the
// same answer, so that trying numbers does not tell which exist: a viewer
// limited to part of the incidents (access.SeesEverything false) is answered 403
// with the same message for both, and both are audited as denied; only a
// viewer who may see every record is told 404 (nothing is hidden from
// them). A parameter that is not a number at all is 404 for everyone.

// recordMissing answers a request whose record does not exist: 404 for a
// viewer who sees everything; for others, like refused, the refusal
// audited (action, the record type, no record id, and the path's id in
// the detail) with message msg.
func (s *Server) recordMissing(w http.ResponseWriter, r *http.Request, err error, action, recordType string, id int64, msg string) {
	if apperr.CodeOf(err) != apperr.NotFound || access.SeesEverything(currentUser(r.Context())) {
		s.fail(w, r, err)
		return
	}
	s.refuseRecord(w, r, action, recordType, "", id, msg)
}

// refuseRecord answers 403 to a request for a record outside the viewer's
// part and audits it (outcome denied). A failed audit write is logged and
// the refusal stands.
func (s *Server) refuseRecord(w http.ResponseWriter, r *http.Request, action, recordType, recordID string, id int64, msg string) {
	e := audit.Entry{Actor: s.actor(r), Action: action, RecordType: recordType, RecordID: recordID,
		Outcome: audit.Denied, Detail: map[string]any{"id": id, "method": r.Method}}
	if err := s.db.Audit(r.Context(), e); err != nil {
		s.log.Warn("audit of a refused record failed", "route", routePattern(r), "err", err)
	}
	s.fail(w, r, apperr.New(apperr.Forbidden, msg))
}

// notYourIncident is the answer (a catalogue ID) to an incident outside
// the viewer's part, or one that does not exist.
const notYourIncident = "dispatch.err.not_your_incident"

// loadIncident reads the {id} incident and checks that the viewer may see
// it; a refusal is audited ("incident.view", denied) and answered 403, as
// is a missing incident for a viewer limited to part of them.
func (s *Server) loadIncident(w http.ResponseWriter, r *http.Request) (*incident.Incident, bool) {
	id, ok := pathID(w, r, s)
	if !ok {
		return nil, false
	}
	in, err := s.db.Incident(r.Context(), id)
	if err != nil {
		s.recordMissing(w, r, err, "incident.view", "incident", id, notYourIncident)
		return nil, false
	}
	if !canView(currentUser(r.Context()), in) {
		s.refuseRecord(w, r, "incident.view", "incident", in.Number, id, notYourIncident)
		return nil, false
	}
	return in, true
}

// notAssigned is the answer (a catalogue ID) to a change of a record the
// viewer may see but not change (access.CanChange).
const notAssigned = "access.err.not_assigned"

// refuseChange answers 403 to a change of a record the viewer may see but
// not change, and audits it (action, outcome denied). A failed audit write
// is logged and the refusal stands.
func (s *Server) refuseChange(w http.ResponseWriter, r *http.Request, action, recordType, recordID string) {
	e := audit.Entry{Actor: s.actor(r), Action: action, RecordType: recordType, RecordID: recordID,
		Outcome: audit.Denied, Detail: map[string]any{"method": r.Method}}
	if err := s.db.Audit(r.Context(), e); err != nil {
		s.log.Warn("audit of a refused change failed", "route", routePattern(r), "err", err)
	}
	s.fail(w, r, apperr.New(apperr.Forbidden, notAssigned))
}

// loadIncidentToChange is loadIncident for the routes that change the
// incident's record (its orders, danger screens, referrals, units,
// corrections): the viewer must also be allowed to change it (canChange:
// an officer only while their unit is on it). A refusal is audited
// (action, denied) and answered 403.
func (s *Server) loadIncidentToChange(w http.ResponseWriter, r *http.Request, action string) (*incident.Incident, bool) {
	in, ok := s.loadIncident(w, r)
	if !ok {
		return nil, false
	}
	if !canChange(currentUser(r.Context()), in) {
		s.refuseChange(w, r, action, "incident", in.Number)
		return nil, false
	}
	return in, true
}

func yesNoText(l *i18n.Localizer, b *bool) string {
	switch {
	case b == nil:
		return l.T("dispatch.fact.unknown")
	case *b:
		return l.T("dispatch.fact.yes")
	}
	return l.T("dispatch.fact.no")
}

func (s *Server) showIncident(w http.ResponseWriter, r *http.Request) {
	s.incidentPageWith(w, r, http.StatusOK, "", "", "")
}

// incidentPage renders the incident page with a message at the assign
// form (422 when there is one).
func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request, dispatchErr string) {
	status := http.StatusOK
	if dispatchErr != "" {
		status = http.StatusUnprocessableEntity
	}
	s.incidentPageWith(w, r, status, dispatchErr, "", "")
}

// incidentPageWith renders the incident page; dispatchErr is shown at the
// assign form, stageErr and stageDone at the stage buttons.
func (s *Server) incidentPageWith(w http.ResponseWriter, r *http.Request, status int, dispatchErr, stageErr, stageDone string) {
	in, ok := s.loadIncident(w, r)
	if !ok {
		return
	}
	// Every view of an incident's personal data is audited; if the audit
	// row cannot be written, the page is not shown.
	if err := s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "incident.view", RecordType: "incident", RecordID: in.Number}); err != nil {
		s.fail(w, r, err)
		return
	}
	u := currentUser(r.Context())
	l := i18n.FromContext(r.Context())
	t := l.T
	v := web.IncidentView{Page: s.page(r, in.Number, "board"), ID: in.ID, Number: in.Number,
		Stage: string(in.Stage()), StageLabel: t("stage." + string(in.Stage())), Priority: "P" + strconv.Itoa(in.Priority) + " " + refdata.LabelIn(in.PriorityNames, l.Lang, in.PriorityLabel),
		PriorityLevel: in.Priority, Type: refdata.LabelIn(in.TypeNames, l.Lang, in.TypeName), IsDV: in.TypeIsDV, HighDanger: in.HighDanger,
		CanDispatch: u.Role == account.Dispatcher || u.Role == account.Supervisor, DispatchError: dispatchErr,
		WeaponsNow: in.Weapons != nil && *in.Weapons, ChildrenNow: in.ChildrenPresent != nil && *in.ChildrenPresent}
	if u.Role == account.Officer {
		v.Page.Nav = "my"
	}
	opt := func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return s.fmtTimeSec(r, *t)
	}
	received := s.fmtTimeSec(r, in.ReceivedAt)
	if in.ReceivedManual {
		received += " " + t("dispatch.fact.by_hand")
	}
	loc := in.DistrictCode
	if in.SettlementName != "" {
		loc += " · " + in.SettlementName
		if in.SettlementIDP {
			loc += " " + t("dispatch.idp_settlement")
		}
	}
	age := func(a *int) string {
		if a == nil {
			return ""
		}
		return strconv.Itoa(*a)
	}
	// coded shows a coded value through the catalogue, or as it is when
	// the catalogue has no name for it.
	coded := func(prefix, x string) string {
		if x == "" || !l.Has(prefix+x) {
			return x
		}
		return t(prefix + x)
	}
	sex := func(x string) string { return coded("dispatch.sex.", x) }
	person := func(p incident.Person) string {
		return strings.TrimSpace(strings.Join(nonEmpty(p.Name, sex(p.Sex), age(p.Age)), ", "))
	}
	caller := in.Caller.Name
	if in.Caller.Anonymous {
		caller += " " + t("dispatch.fact.anonymous")
	}
	callerLang := coded("dispatch.caller_lang.", in.Caller.Language)
	// fact is one labelled value; key names it for redactFacts and is the
	// catalogue ID of its label.
	fact := func(key, value string, warn bool) web.KV {
		return web.KV{Key: key, Label: t("dispatch.fact." + key), Value: value, Warn: warn}
	}
	v.Facts = []web.KV{
		fact("received", received, false),
		fact("dispatched", opt(in.DispatchedAt), false),
		fact("en_route", opt(in.EnRouteAt), false),
		fact("on_scene", opt(in.OnSceneAt), false),
		fact("cleared", opt(in.ClearedAt), false),
		fact("disposition", refdata.LabelIn(in.DispositionNames, l.Lang, in.Disposition), false),
		fact("address", in.Address, false),
		fact("location", loc, false),
		fact("location_notes", in.LocationNotes, false),
		fact("weapons", yesNoText(l, in.Weapons), in.Weapons != nil && *in.Weapons),
		fact("children", yesNoText(l, in.ChildrenPresent), in.ChildrenPresent != nil && *in.ChildrenPresent),
		fact("injuries", yesNoText(l, in.Injuries), in.Injuries != nil && *in.Injuries),
		fact("caller", caller, false),
		fact("caller_phone", in.Caller.Phone, false),
		fact("safe_to_call", yesNoText(l, in.Caller.SafeToCall), in.Caller.SafeToCall != nil && !*in.Caller.SafeToCall),
		fact("caller_relation", in.Caller.Relation, false),
		fact("caller_language", callerLang, false),
		fact("victim", person(in.Victim), false),
		fact("suspect", person(in.Suspect), false),
		fact("relationship", in.Relationship, false),
		fact("narrative", in.Narrative, false),
	}
	if in.Latitude != nil && in.Longitude != nil {
		v.Facts = append(v.Facts, fact("coordinates", strconv.FormatFloat(*in.Latitude, 'f', 5, 64)+", "+strconv.FormatFloat(*in.Longitude, 'f', 5, 64), false))
	}
	v.Facts = redactFacts(l, u, in, v.Facts) // address confidentiality (confidential.go)
	for _, a := range in.Units {
		au := web.AssignedUnit{ID: a.UnitID, CallSign: a.CallSign, Status: a.UnitStatus, Assigned: s.fmtTimeSec(r, a.AssignedAt), Active: a.ReleasedAt == nil}
		if a.ReleasedAt != nil {
			au.Released = s.fmtTimeSec(r, *a.ReleasedAt)
		}
		v.Units = append(v.Units, au)
	}
	for _, e := range in.Events {
		v.Timeline = append(v.Timeline, web.TimelineRow{When: s.fmtTimeSec(r, e.At), Who: e.Username, What: s.eventText(l, e),
			ISO: e.At.UTC().Format(time.RFC3339)})
	}
	if v.CanDispatch && in.ClearedAt == nil {
		choices, err := s.db.UnitsForDispatch(r.Context(), in.DistrictID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, c := range choices {
			label := c.CallSign + " — " + t("dispatch.unit_status."+string(c.Status)) + " (" + c.DistrictCode + ")"
			if c.Incident != "" {
				label += " " + t("dispatch.incident.unit_on", "Number", c.Incident)
			}
			v.Choices = append(v.Choices, web.Option{Value: strconv.FormatInt(c.ID, 10), Label: label})
		}
	}
	v.History = s.incidentHistory(r, in.ID, "incident")
	var err error
	if v.Stages, err = s.stagePanel(r, in, stageErr, stageDone); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Panels, err = s.incidentPanels(r, in); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status, web.IncidentPage(v))
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// assignUnit assigns the chosen unit; the first assignment dispatches.
func (s *Server) assignUnit(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "unit.assign")
	if !ok {
		return
	}
	unitID, err := strconv.ParseInt(r.PostFormValue("unit_id"), 10, 64)
	if err != nil || unitID <= 0 {
		s.incidentPage(w, r, s.t(r, "dispatch.err.choose_unit"))
		return
	}
	// A unit busy elsewhere (on another call, on a break, out of service)
	// is assigned only once the dispatcher confirms the move.
	move := r.PostFormValue("move") == "yes"
	if !move {
		st, err := s.db.UnitStateFor(r.Context(), unitID, in.ID)
		if err != nil && apperr.CodeOf(err) != apperr.Invalid {
			s.fail(w, r, err)
			return
		}
		if err == nil && st.Busy() {
			s.confirmMove(w, r, in.ID, in.Number, unitID, st)
			return
		}
	}
	assign := s.db.AssignUnit
	if move {
		assign = s.db.MoveUnit
	}
	if err := assign(r.Context(), in.ID, unitID, s.actor(r)); err != nil {
		if c := apperr.CodeOf(err); c == apperr.Invalid || c == apperr.Conflict || c == apperr.Unavailable {
			msg, _ := s.formError(r, err)
			s.incidentPage(w, r, msg)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(in.ID, 10), http.StatusSeeOther)
}

// confirmMove asks whether to move a busy unit to this incident: where it
// is and what it is doing, a button that assigns it anyway (recording the
// move), and a way back.
func (s *Server) confirmMove(w http.ResponseWriter, r *http.Request, id int64, number string, unitID int64, st postgres.UnitState) {
	status := s.t(r, "dispatch.unit_status."+string(st.Status))
	msg := s.t(r, "dispatch.move.unavailable", "Unit", st.CallSign, "Status", strings.ToLower(status))
	if st.Elsewhere != "" {
		msg = s.t(r, "dispatch.move.busy", "Unit", st.CallSign, "Status", strings.ToLower(status), "Number", st.Elsewhere)
	}
	back := "/incidents/" + strconv.FormatInt(id, 10)
	s.render(w, r, http.StatusOK, web.MoveUnit(web.MoveUnitPage{
		Page:    s.page(r, s.t(r, "dispatch.move.title", "Unit", st.CallSign), "board"),
		Heading: s.t(r, "dispatch.move.title", "Unit", st.CallSign), Message: msg, Number: number,
		Action: back + "/units", UnitID: strconv.FormatInt(unitID, 10), Back: back,
		Confirm: s.t(r, "dispatch.move.confirm", "Unit", st.CallSign), Cancel: s.t(r, "dispatch.move.cancel"),
	}))
}

// releaseUnit takes a unit off the incident.
func (s *Server) releaseUnit(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "unit.release")
	if !ok {
		return
	}
	unitID, err := strconv.ParseInt(chi.URLParam(r, "unit"), 10, 64)
	if err != nil || unitID <= 0 {
		s.notFound(w, r)
		return
	}
	if err := s.db.ReleaseUnit(r.Context(), in.ID, unitID, s.actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(in.ID, 10), http.StatusSeeOther)
}
