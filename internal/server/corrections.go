package server

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/web"
)

// correctRoles may correct stage times: supervisors only (a supervisor
// with a district only for that district's incidents, by canChange).
var correctRoles = []account.Role{account.Supervisor}

// correctionsPanel offers supervisors "Correct a time" with the number of
// corrections so far; others see the number only, and only when times
// were corrected.
func (s *Server) correctionsPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	n, err := s.db.Corrections(r.Context(), in.ID)
	if err != nil {
		return nil, err
	}
	v := web.CorrectionsPanelView{Count: n}
	if u := currentUser(r.Context()); u != nil && slices.Contains(correctRoles, u.Role) && canChange(u, in) {
		v.Href = incidentPagePath(in.ID) + "/correct"
	} else if n == 0 {
		return nil, nil
	}
	return web.CorrectionsPanel(v), nil
}

// correctionForm opens the form; ?stage= chooses the stage and fills in
// its current time.
func (s *Server) correctionForm(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "incident.correct")
	if !ok {
		return
	}
	f := incident.CorrectionForm{Stage: r.URL.Query().Get("stage")}
	if !slices.Contains(incident.Stages, incident.Stage(f.Stage)) {
		f.Stage = ""
	}
	if f.Stage != "" {
		f.Value = s.localInput(stageTimes(in).At(incident.Stage(f.Stage)))
	}
	s.renderCorrection(w, r, http.StatusOK, in, f, "", nil)
}

// stageTimes are the incident's five stage times.
func stageTimes(in *incident.Incident) incident.StageTimes {
	return incident.StageTimes{Received: in.ReceivedAt, Times: incident.Times{Dispatched: in.DispatchedAt,
		EnRoute: in.EnRouteAt, OnScene: in.OnSceneAt, Cleared: in.ClearedAt}}
}

// localInput formats t for a datetime-local input in the deployment's
// zone, to the second ("" when not recorded).
func (s *Server) localInput(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(s.loc).Format(incident.CorrectionTimeLayout)
}

func (s *Server) renderCorrection(w http.ResponseWriter, r *http.Request, status int, in *incident.Incident, f incident.CorrectionForm, msg string, errs map[string]string) {
	n, err := s.db.Corrections(r.Context(), in.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	href := incidentPagePath(in.ID)
	// Corrections are the supervisor's work, reached from the dashboard: its
	// entry is the one highlighted, not the live board.
	p := web.CorrectionPage{Page: s.page(r, s.t(r, "dispatch.correct.heading", "Number", in.Number), "dashboard"), Number: in.Number,
		IncidentHref: href, Action: href + "/correct", Error: msg, Count: n}
	times := stageTimes(in)
	opts := []web.Option{{Value: "", Label: s.t(r, "dispatch.correct.choose_stage")}}
	for _, st := range incident.Stages {
		name := s.t(r, "stage_name."+string(st))
		now := s.t(r, "dispatch.not_recorded_lc")
		label := s.t(r, "dispatch.correct.option_none", "Stage", name)
		if t := times.At(st); t != nil {
			now = s.fmtTimeSec(r, *t)
			label = s.t(r, "dispatch.correct.option", "Stage", name, "Time", now)
		}
		opts = append(opts, web.Option{Value: string(st), Label: label})
		p.Times = append(p.Times, web.CorrectionTime{Label: name, Value: now,
			Href: href + "/correct?" + url.Values{"stage": {string(st)}}.Encode(), Selected: string(st) == f.Stage})
	}
	p.Stage = web.Field{Name: "stage", Label: s.t(r, "dispatch.correct.stage"), Type: "select", Value: f.Stage, Options: opts, Required: true,
		Error: errs["stage"]}
	p.Value = web.Field{Name: "value", Label: s.t(r, "dispatch.correct.value"), Value: f.Value, Error: errs["value"],
		Hint: s.t(r, "dispatch.correct.value_hint", "Zone", s.loc.String())}
	p.Reason = web.Field{Name: "reason", Label: s.t(r, "dispatch.correct.reason"), Type: "textarea", Value: f.Reason, Required: true, MaxLen: incident.MaxReason,
		Width: "full", Error: errs["reason"],
		Hint: s.t(r, "dispatch.correct.reason_hint")}
	s.render(w, r, status, web.CorrectionForm(p))
}

// saveCorrection corrects one stage time.
func (s *Server) saveCorrection(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "incident.correct")
	if !ok {
		return
	}
	f := incident.CorrectionForm{Stage: r.PostFormValue("stage"), Value: r.PostFormValue("value"), Reason: r.PostFormValue("reason")}
	failed := func(err error) {
		if apperr.CodeOf(err) == apperr.NotFound {
			s.fail(w, r, err)
			return
		}
		msg, fields := s.formError(r, err)
		s.renderCorrection(w, r, statusOf(apperr.CodeOf(err)), in, f, msg, fields)
	}
	c, err := f.Parse(s.loc)
	if err != nil {
		failed(err)
		return
	}
	res, err := s.db.CorrectStage(r.Context(), in.ID, c, s.loc, s.actor(r))
	if err != nil {
		failed(err)
		return
	}
	show := func(t *time.Time) string {
		if t == nil {
			return s.t(r, "dispatch.not_recorded_lc")
		}
		return s.fmtTimeSec(r, *t)
	}
	s.setFlash(r, "ok", s.t(r, "dispatch.correct.flash", "Stage", s.t(r, "stage_name."+string(c.Stage)),
		"Old", show(res.Old), "New", show(res.New)))
	http.Redirect(w, r, incidentPagePath(in.ID), http.StatusSeeOther)
}
