package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/web"
)

// dangerRoles may record danger screens: officers at the scene,
// dispatchers screening by phone, supervisors. Which incidents they may
// screen is what they may change (loadIncidentToChange, canChange): an
// officer only while their unit is on it.
var dangerRoles = []account.Role{account.Officer, account.Dispatcher, account.Supervisor}

// incidentPagePath is the address of an incident's page.
func incidentPagePath(id int64) string { return "/incidents/" + strconv.FormatInt(id, 10) }

// incidentNav is the navigation entry an incident's pages belong to.
func incidentNav(u *account.User) string {
	if u != nil && u.Role == account.Officer {
		return "my"
	}
	return "board"
}

// dangerPanel shows the latest danger screen of the incident, how many
// were done, and the button to the form.
func (s *Server) dangerPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	screens, err := s.db.DangerScreens(r.Context(), in.ID)
	if err != nil {
		return nil, err
	}
	v := web.DangerPanelView{Count: len(screens), IncidentHigh: in.HighDanger}
	if u := currentUser(r.Context()); u != nil && slices.Contains(dangerRoles, u.Role) && canChange(u, in) {
		v.FormHref = incidentPagePath(in.ID) + "/danger"
	}
	if len(screens) > 0 {
		l := screens[0]
		sv := &web.DangerScreenView{When: s.officerTime(r, l.DoneAt), ISO: l.DoneAt.UTC().Format(time.RFC3339), By: l.DoneBy,
			High: l.HighDanger, YesCount: l.YesCount, Asked: len(l.Answers), Threshold: l.Threshold}
		lang := i18n.FromContext(r.Context()).Lang
		for _, a := range l.YesAnswers() {
			sv.Yes = append(sv.Yes, a.TextIn(lang))
		}
		v.Latest = sv
	}
	return web.DangerPanel(v), nil
}

// loadIncidentToScreen loads the incident of a danger screen for a user
// who may change it, or who may record the follow-up task the screen
// re-screens (the "task" parameter; followup.go); else 403, audited.
func (s *Server) loadIncidentToScreen(w http.ResponseWriter, r *http.Request) (*incident.Incident, bool) {
	task := screenTask(r)
	if task == 0 {
		return s.loadIncidentToChange(w, r, "danger_screen.create")
	}
	in, ok := s.loadIncident(w, r)
	if !ok {
		return nil, false
	}
	if !canChange(currentUser(r.Context()), in) && !s.taskScreenAllowed(r, in, task) {
		s.refuseChange(w, r, "danger_screen.create", "incident", in.Number)
		return nil, false
	}
	return in, true
}

// dangerForm shows the danger screen's questions.
func (s *Server) dangerForm(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToScreen(w, r)
	if !ok {
		return
	}
	s.renderDangerForm(w, r, http.StatusOK, in, nil, "", nil)
}

// renderDangerForm renders the form with the answers chosen so far
// (form), a message for the form and messages by question.
func (s *Server) renderDangerForm(w http.ResponseWriter, r *http.Request, status int, in *incident.Incident, form url.Values, msg string, errs map[string]string) {
	ctx := r.Context()
	qs, err := s.db.ActiveDangerQuestions(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	threshold, err := s.db.DangerThreshold(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	href := incidentPagePath(in.ID)
	p := web.DangerFormPage{Page: s.page(r, s.t(r, "danger.page_title", "Number", in.Number), incidentNav(currentUser(ctx))), Number: in.Number,
		IncidentHref: href, Action: href + "/danger", Error: msg, Threshold: threshold}
	if task := screenTask(r); task > 0 { // the re-screen of a follow-up task
		p.Action += "?task=" + strconv.FormatInt(task, 10)
	}
	if len(qs) == 0 && msg == "" {
		p.Error = s.t(r, "danger.err.no_questions")
	}
	for i, q := range qs {
		name := incident.AnswerField(q.ID)
		p.Questions = append(p.Questions, web.DangerQuestionField{Name: name, Number: i + 1, Text: q.LabelIn(i18n.FromContext(r.Context()).Lang),
			Critical: q.Critical, Value: form.Get(name), Error: errs[name]})
	}
	s.render(w, r, status, web.DangerForm(p))
}

// saveDangerScreen records a danger screen. A high-danger result flags
// the incident (on the board and in the history lookup) and prompts the
// referral.
func (s *Server) saveDangerScreen(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToScreen(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, apperr.New(apperr.Invalid, "officer.err.form_unreadable"))
		return
	}
	ctx := r.Context()
	failed := func(err error) {
		if apperr.CodeOf(err) == apperr.NotFound {
			s.fail(w, r, err)
			return
		}
		msg, fields := s.formError(r, err)
		if m := s.tr(r, apperr.MessageOf(err)); len(fields) > 0 && apperr.CodeOf(err) == apperr.Invalid {
			msg = m
		}
		s.renderDangerForm(w, r, statusOf(apperr.CodeOf(err)), in, r.PostForm, msg, fields)
	}
	qs, err := s.db.ActiveDangerQuestions(ctx)
	if err != nil {
		failed(err)
		return
	}
	answers, err := incident.ReadDangerAnswers(qs, r.PostForm.Get)
	if err != nil {
		failed(err)
		return
	}
	screen, err := s.db.CreateDangerScreenFor(ctx, in.ID, answers, screenTask(r), s.actor(r))
	if err != nil {
		failed(err)
		return
	}
	yes := []any{"Yes", screen.YesCount, "Asked", len(answers)}
	switch {
	case screen.HighDanger:
		s.setFlash(r, "warn", s.t(r, "danger.flash.high", yes...))
	case in.HighDanger:
		s.setFlash(r, "warn", s.t(r, "danger.flash.still_flagged", yes...))
	default:
		s.setFlash(r, "ok", s.t(r, "danger.flash.not_high", yes...))
	}
	http.Redirect(w, r, incidentPagePath(in.ID), http.StatusSeeOther)
}

// ---- administration: the threshold (the questions are a refKind)

func (s *Server) renderDangerSettings(w http.ResponseWriter, r *http.Request, status int, value, msg string, errs map[string]string) {
	f := web.Field{Name: "threshold", Label: s.t(r, "danger.settings.label"), Type: "number", Value: value,
		Required: true, Autofocus: true, Error: errs["threshold"],
		Hint: s.t(r, "danger.settings.hint", "Min", incident.MinDangerThreshold, "Max", incident.MaxDangerThreshold)}
	s.render(w, r, status, web.AdminForm(web.RefForm{Page: s.page(r, s.t(r, "danger.title"), "admin"), Slug: "danger-questions",
		Title: s.t(r, "danger.questions.title"), Heading: s.t(r, "danger.settings.heading"),
		Form: web.Form{Action: "/admin/danger-settings", Submit: s.t(r, "danger.settings.submit"), Error: msg, Fields: []web.Field{f}}}))
}

// dangerSettings shows the threshold form.
func (s *Server) dangerSettings(w http.ResponseWriter, r *http.Request) {
	n, err := s.db.DangerThreshold(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderDangerSettings(w, r, http.StatusOK, strconv.Itoa(n), "", nil)
}

// saveDangerSettings stores a new threshold (1..20).
func (s *Server) saveDangerSettings(w http.ResponseWriter, r *http.Request) {
	value := r.PostFormValue("threshold")
	n, err := incident.ParseDangerThreshold(value)
	if err == nil {
		err = s.db.SetDangerThreshold(r.Context(), n, s.actor(r))
	}
	if err != nil {
		msg, fields := s.formError(r, err)
		s.renderDangerSettings(w, r, statusOf(apperr.CodeOf(err)), value, msg, fields)
		return
	}
	s.setFlash(r, "ok", s.t(r, "danger.settings.saved", "Count", n))
	http.Redirect(w, r, "/admin/danger-questions", http.StatusSeeOther)
}

// dangerQuestionKind is the administration of the danger screen's
// questions, for refKinds.
func (s *Server) dangerQuestionKind() *refKind {
	db := s.db
	return &refKind{
		slug:    "danger-questions",
		columns: []string{"admin.col.question", "admin.col.position", "admin.col.critical"},
		rows: func(ctx context.Context) ([]web.RefRow, error) {
			qs, err := db.DangerQuestions(ctx)
			return mapRows(qs, err, func(q incident.DangerQuestion) web.RefRow {
				crit := ""
				if q.Critical {
					crit = tc(ctx, "admin.danger_questions.critical")
				}
				return web.RefRow{Href: refHref("danger-questions", q.ID), Cells: []string{q.Text, strconv.Itoa(q.Position), crit},
					Badges: activeBadge(q.Active)}
			})
		},
		defaults: url.Values{"active": {"on"}},
		load: func(ctx context.Context, id int64) (url.Values, error) {
			q, err := db.DangerQuestion(ctx, id)
			v := url.Values{"position": {strconv.Itoa(q.Position)}, "text": {q.Text}, "critical": {checkbox(q.Critical)},
				"active": {checkbox(q.Active)}}
			setNames(v, "text", q.Texts)
			return v, err
		},
		fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
			fs := []web.Field{
				{Name: "text", Label: tc(ctx, "admin.field.question"), Type: "textarea", Value: v.Get("text"), Required: true, MaxLen: 300, Width: "full",
					Autofocus: true, Hint: tc(ctx, "admin.hint.question")},
			}
			fs = append(fs, nameFields(ctx, v, "text", 300, "textarea")...)
			return append(fs,
				web.Field{Name: "position", Label: tc(ctx, "admin.field.position"), Type: "number", Value: v.Get("position"), Required: true,
					Hint: tc(ctx, "admin.hint.position")},
				web.Field{Name: "critical", Label: tc(ctx, "admin.field.critical"), Type: "checkbox", Value: v.Get("critical")},
				web.Field{Name: "active", Label: tc(ctx, "admin.field.active_question"), Type: "checkbox", Value: v.Get("active")},
			), nil
		},
		save: func(ctx context.Context, id int64, v url.Values) error {
			f := apperr.Fields{}
			q := incident.DangerQuestion{ID: id, Text: v.Get("text"), Texts: readNames(v, "text"), Critical: v.Get("critical") == "on", Active: v.Get("active") == "on"}
			q.Position = int(parseID(f, v, "position", "admin.err.position_required"))
			if err := mergeErr(f, q.Validate()); err != nil {
				return err
			}
			return db.SaveDangerQuestion(ctx, &q, actorOf(ctx))
		},
		// Past screens hold copies of the questions they asked, so any
		// question may be deleted; deactivating keeps it for later.
		del: func(ctx context.Context, id int64) error { return db.DeleteDangerQuestion(ctx, id, actorOf(ctx)) },
	}
}

// officerTime writes t in the deployment's time zone as the request's
// language writes dates, for the officer's pages (danger screens, orders,
// referrals).
func (s *Server) officerTime(r *http.Request, t time.Time) string {
	return i18n.FromContext(r.Context()).DateTime(t, s.loc)
}
