package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// newKey returns a random UUID (version 4) for one button press, so that
// a retried press is recognised.
func newKey() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// stagePanel builds the next-stage buttons for the viewer.
func (s *Server) stagePanel(r *http.Request, in *incident.Incident, errMsg, done string) (web.StagePanel, error) {
	u := currentUser(r.Context())
	p := web.StagePanel{Action: "/incidents/" + strconv.FormatInt(in.ID, 10) + "/stage", Key: newKey(), Error: errMsg, Done: done,
		Disposition: r.PostFormValue("disposition_id")}
	if !canSetStage(u, in) {
		return p, nil
	}
	t := incident.Times{Dispatched: in.DispatchedAt, EnRoute: in.EnRouteAt, OnScene: in.OnSceneAt, Cleared: in.ClearedAt}
	clears := false
	for _, st := range t.Next() {
		p.Next = append(p.Next, web.Option{Value: string(st), Label: s.t(r, "dispatch.stage.button."+string(st))})
		clears = clears || st == incident.Cleared
	}
	if clears && u.Role != account.Officer {
		p.ClearUnit = r.PostFormValue("unit")
		for _, a := range in.Units {
			if a.ReleasedAt == nil {
				p.ClearUnits = append(p.ClearUnits, web.Option{Value: strconv.FormatInt(a.UnitID, 10), Label: a.CallSign})
			}
		}
	}
	if len(p.Next) > 0 {
		ds, err := s.db.Dispositions(r.Context())
		if err != nil {
			return p, err
		}
		p.Dispositions = []web.Option{{Value: "", Label: s.t(r, "dispatch.stage.choose_disposition")}}
		for _, d := range ds {
			if d.Active {
				p.Dispositions = append(p.Dispositions, web.Option{Value: strconv.FormatInt(d.ID, 10), Label: d.LabelIn(i18n.FromContext(r.Context()).Lang)})
			}
		}
	}
	return p, nil
}

// officerUnitOn returns the officer's unit when it is assigned to in.
func officerUnitOn(u *account.User, in *incident.Incident) *int64 {
	if u.UnitID == nil {
		return nil
	}
	for _, a := range in.Units {
		if a.UnitID == *u.UnitID && a.ReleasedAt == nil {
			return u.UnitID
		}
	}
	return nil
}

// canSetStage: officers for incidents their unit is on; dispatchers and
// supervisors for any incident of their area (e.g. a unit radios in): who
// may change the incident (access.CanChange).
func canSetStage(u *account.User, in *incident.Incident) bool { return canChange(u, in) }

// setStage records en route, on scene or cleared from the server clock.
// A second officer's press or a retried request is answered "already
// done" with the time that stands.
func (s *Server) setStage(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncident(w, r)
	if !ok {
		return
	}
	u := currentUser(r.Context())
	if !canSetStage(u, in) {
		s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "incident.stage", RecordType: "incident",
			RecordID: in.Number, Outcome: audit.Denied})
		s.fail(w, r, apperr.New(apperr.Forbidden, "dispatch.err.stage_forbidden"))
		return
	}
	c := postgres.StageChange{IncidentID: in.ID, Stage: incident.Stage(r.PostFormValue("stage")), Key: r.PostFormValue("key")}
	clearing := "" // the call sign of the one unit a dispatcher clears
	if u.Role == account.Officer {
		c.UnitID = officerUnitOn(u, in)
		clearing = u.UnitCallSign
	} else if c.Stage == incident.Cleared {
		// A dispatcher clears one chosen unit, or all of them (closing
		// the incident) when told so; never all by default.
		switch v := r.PostFormValue("unit"); v {
		case "all":
		default:
			for _, a := range in.Units {
				if a.ReleasedAt == nil && strconv.FormatInt(a.UnitID, 10) == v {
					c.UnitID, clearing = &a.UnitID, a.CallSign
				}
			}
			if c.UnitID == nil && in.ClearedAt == nil && slices.ContainsFunc(in.Units, func(a incident.Assignment) bool { return a.ReleasedAt == nil }) {
				s.incidentPageWith(w, r, http.StatusUnprocessableEntity, "", s.t(r, "dispatch.err.clear_which"), "")
				return
			}
		}
	}
	if d := r.PostFormValue("disposition_id"); d != "" && c.Stage == incident.Cleared {
		id, err := strconv.ParseInt(d, 10, 64)
		if err == nil && id > 0 {
			c.DispositionID = &id
		}
	}
	res, err := s.db.SetStage(r.Context(), c, s.actor(r))
	if err != nil {
		switch apperr.CodeOf(err) {
		case apperr.Invalid, apperr.Conflict:
			s.incidentPageWith(w, r, statusOf(apperr.CodeOf(err)), "", s.tr(r, apperr.MessageOf(err)), "")
		default:
			s.fail(w, r, err)
		}
		return
	}
	back := "/incidents/" + strconv.FormatInt(in.ID, 10)
	switch {
	case res.UnitOnly && !res.AlreadyDone:
		s.setFlash(r, "ok", s.t(r, "dispatch.stage.unit_cleared", "Unit", clearing, "Time", s.fmtTimeSec(r, res.At)))
	case res.AlreadyDone:
		s.setFlash(r, "info", s.t(r, "dispatch.stage.already", "Stage", s.t(r, "stage_name."+string(c.Stage)), "Time", s.fmtTimeSec(r, res.At)))
	default:
		s.setFlash(r, "ok", s.t(r, "dispatch.stage.recorded", "Stage", s.t(r, "stage_name."+string(c.Stage)), "Time", s.fmtTimeSec(r, res.At)))
	}
	if u.Role == account.Officer && c.Stage == incident.Cleared {
		back = "/my"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// myIncidents is the officer's phone-first list of the incidents their
// unit is on, newest first, with officer-safety warnings before anything.
func (s *Server) myIncidents(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	p := web.MyPage{Page: s.page(r, s.t(r, "dispatch.my.title"), "my"), Unit: u.UnitCallSign, Live: s.liveView(u, "my", "/my")}
	var err error
	if p.Incidents, err = s.myRows(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if p.Status, err = s.myUnitStatus(r); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, web.My(p))
}

// myUnitStatus is the officer's unit's status and the statuses the
// officer may put it in: none while it is on an incident.
func (s *Server) myUnitStatus(r *http.Request) (web.MyUnitStatus, error) {
	u := currentUser(r.Context())
	if u.UnitID == nil {
		return web.MyUnitStatus{}, nil
	}
	st, err := s.db.UnitStateFor(r.Context(), *u.UnitID, 0)
	if err != nil {
		return web.MyUnitStatus{}, err
	}
	v := web.MyUnitStatus{CallSign: st.CallSign, Status: string(st.Status), StatusSince: st.StatusSince.UTC().Format(time.RFC3339),
		InStatus: clock(max(0, s.now().Sub(st.StatusSince)))}
	if st.Elsewhere == "" {
		for _, c := range postgres.OwnUnitStatuses {
			if c != st.Status {
				v.Choices = append(v.Choices, string(c))
			}
		}
	}
	return v, nil
}

// setMyUnitStatus puts the officer's own unit on a break, out of service
// or back to available (postgres.SetOwnUnitStatus).
func (s *Server) setMyUnitStatus(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	if u.UnitID == nil {
		s.fail(w, r, apperr.New(apperr.Forbidden, "dispatch.my.no_unit"))
		return
	}
	status := refdata.UnitStatus(r.PostFormValue("status"))
	if err := s.db.SetOwnUnitStatus(r.Context(), *u.UnitID, status, s.actor(r)); err != nil {
		switch apperr.CodeOf(err) {
		case apperr.Invalid, apperr.Conflict:
			s.setFlash(r, "error", s.tr(r, apperr.MessageOf(err)))
			http.Redirect(w, r, "/my", http.StatusSeeOther)
		default:
			s.fail(w, r, err)
		}
		return
	}
	s.setFlash(r, "ok", s.t(r, "dispatch.my.status_set", "CallSign", u.UnitCallSign, "Status", s.t(r, "dispatch.unit_status."+string(status))))
	http.Redirect(w, r, "/my", http.StatusSeeOther)
}

// myFragment is the live part of the officer's list (the cards), re-read
// whenever the officer's stream says something changed.
func (s *Server) myFragment(w http.ResponseWriter, r *http.Request) {
	rows, err := s.myRows(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.myUnitStatus(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, web.MyCards(rows, st))
}

// myEvents is the officer's event stream: changes of the incidents their
// unit is or was assigned to, and of their unit.
func (s *Server) myEvents(w http.ResponseWriter, r *http.Request) {
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
			return s.db.IncidentHasUnit(ctx, ev.ID, *u.UnitID)
		}
		return false, nil
	})
}

// myRows reads the incidents of the officer's unit, with their warnings.
func (s *Server) myRows(r *http.Request) ([]web.MyRow, error) {
	u := currentUser(r.Context())
	var rows []web.MyRow
	if u.UnitID != nil {
		list, err := s.db.MyIncidents(r.Context(), *u.UnitID)
		if err != nil {
			return nil, err
		}
		now := s.now()
		for _, sum := range list {
			row := web.MyRow{BoardRow: s.boardRow(u, sum, now, i18n.FromContext(r.Context()).Lang)}
			row.History = s.incidentHistory(r, sum.ID, "my")
			rows = append(rows, row)
		}
	}
	return rows, nil
}
