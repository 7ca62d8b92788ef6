package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// boardArea is the part of the incidents the board shows u (canView's
// rule as a query): nil, everything, for an administrator and for a
// dispatcher or supervisor with no district; for a dispatcher with a
// district, that control room's area (the district, the incidents with no
// district, the calls they logged); for a supervisor with a district, the
// district.
func boardArea(u *account.User) *postgres.BoardArea {
	if u == nil || u.DistrictID == nil {
		return nil
	}
	switch u.Role {
	case account.Dispatcher:
		return &postgres.BoardArea{DistrictID: *u.DistrictID, Unplaced: true, LoggedBy: u.ID}
	case account.Supervisor:
		return &postgres.BoardArea{DistrictID: *u.DistrictID}
	}
	return nil
}

// boardData reads what the board shows u: the open incidents u may see
// and the units. Limited to an area, the board lists the area's units
// and the units assigned to the incidents it shows.
func (s *Server) boardData(ctx context.Context, u *account.User) (web.BoardData, error) {
	area := boardArea(u)
	var open []incident.Summary
	var err error
	if area == nil {
		open, err = s.db.OpenIncidents(ctx)
	} else {
		open, err = s.db.OpenIncidentsIn(ctx, *area)
	}
	if err != nil {
		return web.BoardData{}, err
	}
	units, err := s.db.UnitsForDispatch(ctx, nil)
	if err != nil {
		return web.BoardData{}, err
	}
	now := s.now()
	d := web.BoardData{Updated: now.In(s.loc).Format("15:04:05")}
	onShown := map[string]bool{} // call signs on the incidents shown
	for _, in := range open {
		d.Incidents = append(d.Incidents, s.boardRow(in, now, i18n.FromContext(ctx).Lang))
		for _, cs := range in.Units {
			onShown[cs] = true
		}
	}
	for _, un := range units {
		if area != nil && un.DistrictID != area.DistrictID && !onShown[un.CallSign] {
			continue
		}
		// The template shows the status through the catalogue
		// ("dispatch.unit_status.<status>").
		d.Units = append(d.Units, web.UnitRow{CallSign: un.CallSign, District: un.DistrictCode, Status: string(un.Status),
			Incident: un.Incident})
	}
	return d, nil
}

// boardRow turns an open incident into a board row with its running
// timer: the time in the current stage against the priority's target for
// the interval that stage measures (amber from 80 %, red past the target).
func (s *Server) boardRow(in incident.Summary, now time.Time, lang string) web.BoardRow {
	stage := in.Stage()
	since := in.StageStart()
	target := in.Targets[incident.StageInterval(stage)]
	elapsed := now.Sub(since)
	if elapsed < 0 {
		elapsed = 0
	}
	class := "timer-ok"
	if target > 0 {
		switch secs := int(elapsed.Seconds()); {
		case secs >= target:
			class = "timer-red"
		case secs*5 >= target*4:
			class = "timer-amber"
		}
	}
	loc := in.DistrictCode
	if in.SettlementName != "" {
		loc = strings.TrimPrefix(loc+" · "+in.SettlementName, " · ")
	}
	// The stage is shown through the catalogue ("stage.<stage>").
	return web.BoardRow{
		ID: in.ID, Href: "/incidents/" + strconv.FormatInt(in.ID, 10), Number: in.Number,
		Priority: "P" + strconv.Itoa(in.Priority), PriorityLabel: refdata.LabelIn(in.PriorityNames, lang, in.PriorityLabel),
		PriorityLevel: in.Priority, Type: refdata.LabelIn(in.TypeNames, lang, in.TypeName), DV: in.TypeIsDV, Location: loc, IDP: in.SettlementIDP,
		HighDanger: in.HighDanger, Weapons: in.Weapons, Units: strings.Join(in.Units, ", "),
		Stage: string(stage), StageSince: since.UTC().Format(time.RFC3339), StageSinceText: s.cat.Localizer(lang).DateTimeSec(since, s.loc),
		TargetS: target, TimerClass: class, Elapsed: clock(elapsed),
	}
}

// clock formats a duration as mm:ss or h:mm:ss, like the board's timers.
func clock(d time.Duration) string {
	t := int(d.Seconds())
	if t >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
	}
	return fmt.Sprintf("%02d:%02d", t/60, t%60)
}

func (s *Server) board(w http.ResponseWriter, r *http.Request) {
	d, err := s.boardData(r.Context(), currentUser(r.Context()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.boardFlags(r, d.Incidents)
	u := currentUser(r.Context())
	s.render(w, r, http.StatusOK, web.Board(web.BoardPage{Page: s.page(r, s.t(r, "dispatch.board.title"), "board"), Data: d,
		CanLog: u.Role == account.Dispatcher || u.Role == account.Supervisor}))
}

// boardFragment is the refreshable part of the board (htmx).
func (s *Server) boardFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.boardData(r.Context(), currentUser(r.Context()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.boardFlags(r, d.Incidents)
	s.render(w, r, http.StatusOK, web.BoardFragment(d))
}

// streamCheckEvery is how often an open event stream re-checks that its
// session is still valid (idle or absolute timeout, user disabled).
const streamCheckEvery = 30 * time.Second

// streamWriteTimeout bounds one write to an event stream.
const streamWriteTimeout = 10 * time.Second

// boardEvents is the live board's server-sent event stream. It sends
// "changed" at once (so a reconnecting board resyncs), then whenever the
// hub reports a change anywhere (any server process), with the change's
// ids only. Event traffic does not count as user activity: this route
// reads the session without renewing it, and ends the stream when the
// session has ended.
func (s *Server) boardEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	events, cancel := s.hub.Subscribe()
	defer cancel()
	// Each write gets its own deadline (the server's write timeout would
	// cut a long stream; none at all would let a client that stops reading
	// hold this handler forever), and shutdown interrupts a blocked write.
	write := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	send := func(data string) bool { return write("event: changed\ndata: %s\n\n", data) }
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-s.closing:
			_ = rc.SetWriteDeadline(time.Now())
		case <-done:
		}
	}()
	// The reconnect delay the browser should use after a drop.
	if !write("retry: 2000\n\n") || !send("resync") {
		return
	}
	check := time.NewTicker(streamCheckEvery)
	defer check.Stop()
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if !send(ev.Kind + ":" + strconv.FormatInt(ev.ID, 10)) {
				return
			}
		case <-check.C:
			if !s.sessionStillValid(r) {
				write("event: ended\ndata: session\n\n")
				return
			}
			// A comment line keeps proxies from closing an idle stream.
			if !write(": keep-alive\n\n") {
				return
			}
		}
	}
}

// sessionStillValid re-reads the request's session from the store without
// touching it, and the user, to see whether the stream may go on.
func (s *Server) sessionStillValid(r *http.Request) bool {
	c, err := r.Cookie(s.sessions.Cookie.Name)
	if err != nil {
		return false
	}
	ctx, err := s.sessions.Load(r.Context(), c.Value)
	if err != nil {
		return false
	}
	uid := s.sessions.GetInt64(ctx, sessUserID)
	u, err := s.db.UserByID(ctx, uid)
	return err == nil && !u.Disabled() && u.SessionEpoch == s.sessions.GetInt(ctx, sessEpoch)
}

// readSession loads the session for routes that must not count as user
// activity (the board's event stream and refreshes): unlike LoadAndSave it
// never commits the session, so its idle deadline is not pushed back.
func (s *Server) readSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var token string
		if c, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = c.Value
		}
		ctx, err := s.sessions.Load(r.Context(), token)
		if err != nil {
			s.fail(w, r, unavailable(err))
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
