package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// boardArea is the part of the incidents the board shows u, the access
// rule as a query (access.AreaOf): nil, everything, for an administrator
// and for a dispatcher or supervisor with no district; for a dispatcher or
// supervisor with a district, that district's incidents and the calls
// they logged themselves (whatever district they gave them). An incident
// with no district is on no district's board.
func boardArea(u *account.User) *postgres.BoardArea {
	if u == nil {
		return &postgres.BoardArea{}
	}
	a := access.AreaOf(u)
	if a.All {
		return nil
	}
	area := &postgres.BoardArea{LoggedBy: a.LoggedBy} // district 0: none
	if a.District != nil {
		area.DistrictID = *a.District
	}
	return area
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
		// Calls awaiting dispatch form their own queue at the top.
		if row := s.boardRow(u, in, now, i18n.FromContext(ctx).Lang); row.Stage == string(incident.Received) {
			d.Awaiting = append(d.Awaiting, row)
		} else {
			d.Incidents = append(d.Incidents, row)
		}
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
			Incident: un.Incident, StatusSince: un.StatusSince.UTC().Format(time.RFC3339), InStatus: clock(max(0, now.Sub(un.StatusSince)))})
	}
	return d, nil
}

// boardRow turns an open incident into a board row with its running
// timer: the time in the current stage against the priority's target for
// the interval that stage measures (amber from 80 %, red past the target).
func (s *Server) boardRow(u *account.User, in incident.Summary, now time.Time, lang string) web.BoardRow {
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
	// Where to go, first on the row; a confidential address only to those
	// access allows (addressShown on the incident page).
	where, nav, hidden := in.Address, "", false
	if where == "" {
		where = in.LocationNotes
	}
	if access.AddressShown(u, access.OfSummary(&in), in.AddressConfidential) {
		nav = geoURI(in.Latitude, in.Longitude)
	} else {
		where, hidden = "", true
	}
	// The stage is shown through the catalogue ("stage.<stage>").
	return web.BoardRow{Address: where, Navigate: nav, AddressHidden: hidden, Confidential: in.AddressConfidential && !hidden,
		ID: in.ID, Href: "/incidents/" + strconv.FormatInt(in.ID, 10), Number: in.Number,
		Priority: "P" + strconv.Itoa(in.Priority), PriorityLabel: refdata.LabelIn(in.PriorityNames, lang, in.PriorityLabel),
		PriorityLevel: in.Priority, Type: refdata.LabelIn(in.TypeNames, lang, in.TypeName), DV: in.TypeIsDV, Location: loc, IDP: in.SettlementIDP,
		HighDanger: in.HighDanger, Weapons: in.Weapons, Units: strings.Join(in.Units, ", "),
		Stage: string(stage), StageSince: since.UTC().Format(time.RFC3339), StageSinceText: s.cat.Localizer(lang).DateTimeSec(since, s.loc),
		TargetS: target, TimerClass: class, Elapsed: clock(elapsed),
	}
}

// geoURI is the geo: URI (RFC 5870) of a place, which a phone opens in its
// map app; empty without both coordinates.
func geoURI(lat, lon *float64) string {
	if lat == nil || lon == nil {
		return ""
	}
	return "geo:" + strconv.FormatFloat(*lat, 'f', -1, 64) + "," + strconv.FormatFloat(*lon, 'f', -1, 64)
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
	if err := s.boardOverdue(r, u, &d); err != nil { // followup.go
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, web.Board(web.BoardPage{Page: s.page(r, s.t(r, "dispatch.board.title"), "board"), Data: d,
		Live:   s.liveView(u, "board", "/board"),
		CanLog: u.Role == account.Dispatcher || u.Role == account.Supervisor}))
}

// liveView describes the live region id of page for u: its event stream
// and fragment are page+"/events" and page+"/fragment".
func (s *Server) liveView(u *account.User, id, page string) web.LiveView {
	return web.LiveView{ID: id, Page: page, Events: page + "/events", Fragment: page + "/fragment",
		Zone: s.loc.String(), Username: u.Username}
}

// boardFragment is the refreshable part of the board (htmx).
func (s *Server) boardFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.boardData(r.Context(), currentUser(r.Context()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.boardFlags(r, d.Incidents)
	if err := s.boardOverdue(r, currentUser(r.Context()), &d); err != nil { // followup.go
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, web.BoardFragment(d))
}

// streamCheckEvery is the longest an open event stream goes without
// re-checking that its session is still valid (idle or absolute timeout,
// logged out, user disabled) and sending a heartbeat. A board that hears
// nothing for twice this long says it is not live.
const streamCheckEvery = 5 * time.Second

// streamWriteTimeout bounds one write to an event stream.
const streamWriteTimeout = 10 * time.Second

// streamCheck is how often this server's streams check their session: at
// most streamCheckEvery, and often enough that a board hears of its
// session's idle timeout within a quarter of that timeout.
func (s *Server) streamCheck() time.Duration {
	return max(100*time.Millisecond, min(streamCheckEvery, s.sessions.IdleTimeout/4))
}

// boardEvents is the live board's server-sent event stream, filtered to
// the board's area (boardArea): a board hears only of the incidents and
// units it may list.
func (s *Server) boardEvents(w http.ResponseWriter, r *http.Request) {
	area := boardArea(currentUser(r.Context()))
	if area == nil {
		s.stream(w, r, func(context.Context, live.Event) (bool, error) { return true, nil })
		return
	}
	s.stream(w, r, func(ctx context.Context, ev live.Event) (bool, error) {
		switch ev.Kind {
		case live.KindIncident:
			return s.db.IncidentInArea(ctx, ev.ID, *area)
		case live.KindUnit:
			return s.db.UnitInArea(ctx, ev.ID, *area)
		case live.KindRefdata:
			return true, nil
		}
		return false, nil
	})
}

// stream serves a server-sent event stream of the hub's changes that pass
// decides this client may hear of. It sends "changed: resync" at once (so
// that a reconnecting page re-reads everything), then "changed: kind:id"
// for each change that passes. Every streamCheck it re-reads the session
// (event traffic does not count as activity: these routes read the
// session without renewing it) and sends "alive", a heartbeat the page
// watches to tell a dropped stream; when the session has ended it sends
// "ended" and closes, so that the page says so at once.
//
// An id once sent to a client keeps being sent (an incident moved out of
// the area must still leave that board); a failed check sends a resync,
// which reveals no id.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, pass func(context.Context, live.Event) (bool, error)) {
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
	every := s.streamCheck()
	// The reconnect delay the browser should use after a drop, and the
	// heartbeat period (ms) the page may expect.
	if !write("retry: 2000\n\nevent: alive\ndata: %d\n\n", every.Milliseconds()) || !send("resync") {
		return
	}
	check := time.NewTicker(every)
	defer check.Stop()
	ctx := r.Context()
	sent := map[live.Event]bool{}
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
			data := ev.Kind + ":" + strconv.FormatInt(ev.ID, 10)
			if ev.Kind == live.KindResync {
				s.metrics.BoardResynced()
				data = live.KindResync
			} else if !sent[ev] {
				qctx, qcancel := context.WithTimeout(ctx, requestDeadline)
				ok, err := pass(qctx, ev)
				qcancel()
				switch {
				case err != nil:
					data = live.KindResync
				case !ok:
					continue
				default:
					sent[ev] = true
				}
			}
			if !send(data) {
				return
			}
		case <-check.C:
			if !s.sessionStillValid(r) {
				write("event: ended\ndata: session\n\n")
				return
			}
			if !write("event: alive\ndata: %d\n\n", every.Milliseconds()) {
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
	// A database that cannot answer (a failover under way) has not ended
	// the session: the stream stays, and the next check decides.
	// (A session that has ended is not found, which is no error.)
	// A fresh context: scs.Load returns at once, re-reading nothing, when
	// its context holds a session already (the request's does).
	qctx, cancel := context.WithTimeout(context.Background(), requestDeadline)
	defer cancel()
	ctx, err := s.sessions.Load(qctx, c.Value)
	if err != nil {
		return true
	}
	uid := s.sessions.GetInt64(ctx, sessUserID)
	u, err := s.db.UserByID(ctx, uid)
	if err != nil {
		return apperr.CodeOf(err) != apperr.NotFound
	}
	return !u.Disabled() && u.SessionEpoch == s.sessions.GetInt(ctx, sessEpoch)
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
