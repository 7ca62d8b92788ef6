package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/web"
)

// The administrators' page of the follow-through schedules (issue 17):
// when follow-up tasks fall due per reason, and how often orders are
// checked per kind. A change applies to tasks and checks created after
// it; those already created keep their due times.

const schedulesPath = "/admin/schedules"

// scheduleField is the form field of part ("first", "every", "for") of a
// follow-up reason's ("fu") or an order kind's ("oc") schedule.
func scheduleField(group, key, part string) string { return group + "-" + key + "-" + part }

// schedules shows the schedules in force.
func (s *Server) schedules(w http.ResponseWriter, r *http.Request) {
	fs, cs, err := s.db.Schedules(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderSchedules(w, r, http.StatusOK, fs, cs, nil, "", nil)
}

// saveSchedules validates every schedule posted and stores them together,
// or shows the form again with a message at each bad field and the input
// kept.
func (s *Server) saveSchedules(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	stored, storedChecks, err := s.db.Schedules(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	posted := map[string]string{}
	bad := apperr.Fields{}
	hours := func(name string) (int, bool) {
		v := strings.TrimSpace(r.PostFormValue(name))
		posted[name] = v
		n, err := strconv.Atoi(v)
		if err != nil {
			bad.Add(name, "admin.schedules.err.number")
			return 0, false
		}
		return n, true
	}
	var fs []incident.FollowUpHours
	for _, old := range stored {
		field := func(part string) string { return scheduleField("fu", string(old.Reason), part) }
		h := incident.FollowUpHours{Reason: old.Reason}
		ok1, ok2, ok3 := false, false, false
		h.First, ok1 = hours(field("first"))
		h.Every, ok2 = hours(field("every"))
		h.For, ok3 = hours(field("for"))
		if ok1 && ok2 && ok3 {
			h.Validate(bad, field)
		}
		fs = append(fs, h)
	}
	var cs []incident.CheckHours
	for _, old := range storedChecks {
		field := func(part string) string { return scheduleField("oc", string(old.Kind), part) }
		h := incident.CheckHours{Kind: old.Kind}
		ok1, ok2 := false, false
		h.First, ok1 = hours(field("first"))
		h.Every, ok2 = hours(field("every"))
		if ok1 && ok2 {
			h.Validate(bad, field)
		}
		cs = append(cs, h)
	}
	err = bad.Err()
	changed := 0
	if err == nil {
		changed, err = s.db.SaveSchedules(ctx, fs, cs, r.PostFormValue("stamp"), s.actor(r))
	}
	if apperr.CodeOf(err) == apperr.Conflict {
		// Changed by someone else since the form was filled in: show
		// what is in force now beside the values typed.
		if stored, storedChecks, err = s.db.Schedules(ctx); err != nil {
			s.fail(w, r, err)
			return
		}
		err = apperr.New(apperr.Conflict, "admin.schedules.err.stale")
	}
	if err != nil {
		msg, fields := s.formError(r, err)
		s.renderSchedules(w, r, statusOf(apperr.CodeOf(err)), stored, storedChecks, posted, msg, fields)
		return
	}
	if changed == 0 {
		s.setFlash(r, "info", s.t(r, "admin.schedules.unchanged"))
	} else {
		s.setFlash(r, "ok", s.t(r, "admin.schedules.saved", "Changed", changed))
	}
	http.Redirect(w, r, schedulesPath, http.StatusSeeOther)
}

// renderSchedules renders the page: the stored schedules in words, the
// fields with the posted values (nil: the stored ones) and the messages.
func (s *Server) renderSchedules(w http.ResponseWriter, r *http.Request, status int, fs []incident.FollowUpHours,
	cs []incident.CheckHours, posted map[string]string, msg string, errs map[string]string) {
	p := web.SchedulesPage{Page: s.page(r, s.t(r, "admin.schedules.title"), "admin"), Action: schedulesPath, Error: msg,
		Stamp: incident.ScheduleStamp(fs, cs)}
	changed := func(at time.Time) string {
		if at.IsZero() {
			return s.t(r, "admin.schedules.never_saved")
		}
		return s.t(r, "admin.schedules.saved_at", "At", p.FormatTime(at))
	}
	field := func(name, label, hint string, stored int) web.Field {
		v, ok := posted[name]
		if !ok {
			v = strconv.Itoa(stored)
		}
		return web.Field{Name: name, Label: label, Type: "number", Value: v, Required: true, Hint: hint, Error: errs[name]}
	}
	for _, h := range fs {
		name := func(part string) string { return scheduleField("fu", string(h.Reason), part) }
		p.FollowUps = append(p.FollowUps, web.ScheduleGroup{Key: string(h.Reason),
			Title: s.t(r, "followup.reason."+string(h.Reason)), When: s.t(r, "admin.schedules.when."+string(h.Reason)),
			Now: s.followUpWords(r, h), Default: s.followUpWords(r, incident.DefaultFollowUpHours(h.Reason)),
			Changed: changed(h.UpdatedAt),
			Fields: []web.Field{
				field(name("first"), s.t(r, "admin.schedules.field.first"), s.t(r, "admin.schedules.hint.first", "Max", incident.MaxScheduleHours), h.First),
				field(name("every"), s.t(r, "admin.schedules.field.every"), s.t(r, "admin.schedules.hint.every", "Max", incident.MaxScheduleHours), h.Every),
				field(name("for"), s.t(r, "admin.schedules.field.for"), s.t(r, "admin.schedules.hint.for", "Max", incident.MaxScheduleHours), h.For),
			}})
	}
	for _, h := range cs {
		name := func(part string) string { return scheduleField("oc", string(h.Kind), part) }
		p.Checks = append(p.Checks, web.ScheduleGroup{Key: string(h.Kind),
			Title: s.t(r, "order.kind."+string(h.Kind)), When: s.t(r, "admin.schedules.when_order"),
			Now: s.checkWords(r, h), Default: s.checkWords(r, incident.DefaultCheckHours(h.Kind)),
			Changed: changed(h.UpdatedAt),
			Fields: []web.Field{
				field(name("first"), s.t(r, "admin.schedules.field.check_first"), s.t(r, "admin.schedules.hint.first", "Max", incident.MaxScheduleHours), h.First),
				field(name("every"), s.t(r, "admin.schedules.field.check_every"), s.t(r, "admin.schedules.hint.check_every", "Max", incident.MaxScheduleHours), h.Every),
			}})
	}
	s.render(w, r, status, web.Schedules(p))
}

// hoursWords says n hours, with the days too when they are whole:
// "168 hours (7 days)".
func (s *Server) hoursWords(r *http.Request, n int) string {
	h := s.t(r, "admin.schedules.hours", "Count", n)
	if n < 24 || n%24 != 0 {
		return h
	}
	return s.t(r, "admin.schedules.hours_days", "Hours", h, "Days", s.t(r, "admin.schedules.days", "Count", n/24))
}

// followUpWords says a follow-up schedule in a sentence.
func (s *Server) followUpWords(r *http.Request, h incident.FollowUpHours) string {
	if h.Tasks() == 1 {
		return s.t(r, "admin.schedules.words.once", "First", s.hoursWords(r, h.First))
	}
	return s.t(r, "admin.schedules.words.repeat", "First", s.hoursWords(r, h.First), "Every", s.hoursWords(r, h.Every),
		"For", s.hoursWords(r, h.For), "Total", h.Tasks())
}

// checkWords says an order-check schedule in a sentence.
func (s *Server) checkWords(r *http.Request, h incident.CheckHours) string {
	return s.t(r, "admin.schedules.words.checks", "First", s.hoursWords(r, h.First), "Every", s.hoursWords(r, h.Every))
}
