package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// The history panel (issues 12 and 13). A lookup finds earlier incidents
// at the same flat or building, from the same phone, or naming the same
// people (package match's rules), received before the incident it is shown
// on, and classes each (match.Classify). What the viewer is told follows
// need to know:
//
//   - inside the viewer's area (canView), the panel is full: numbers,
//     dates, types, dispositions, links, active orders with their parties;
//   - outside it, only that history exists, in which district (whom to
//     call), how many incidents, and the officer-safety flags (weapons,
//     high danger, an active order);
//   - a confidential address (address_confidential) is never matched for a
//     viewer who may not see it (addressShown): the incident may still
//     match on its phone or a name.
//
// Every lookup a user makes (the intake panel, an incident page, /my) is
// audited ("history.lookup": the fields searched, the matches found, never
// the values) and limited per user (historyLimiter). Possible namesakes (a
// name alone) are listed apart and never raise a warning; incident.Warnings
// decides the warnings for every view.

// Per-user limit on history lookups: historyBurst at once, then
// historyRate a second (120 a minute). A dispatcher typing a call makes
// one lookup per pause in typing (400 ms) and never meets it; a script
// walking through names does. The limit is kept in each server process
// (not in the database): behind a load balancer with N processes a user
// may make up to N times as many; every lookup is audited all the same.
const (
	historyRate  = 2.0
	historyBurst = 60.0
)

// historyLimiter is a token bucket per user.
type historyLimiter struct {
	mu      sync.Mutex
	buckets map[int64]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	at     time.Time
}

// allow takes a token of user uid's bucket at now, if there is one.
func (l *historyLimiter) allow(uid int64, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[int64]*tokenBucket{}
	}
	b := l.buckets[uid]
	if b == nil {
		if len(l.buckets) > 10_000 { // forget full buckets now and then
			for id, x := range l.buckets {
				if x.tokens+now.Sub(x.at).Seconds()*historyRate >= historyBurst {
					delete(l.buckets, id)
				}
			}
		}
		b = &tokenBucket{tokens: historyBurst, at: now}
		l.buckets[uid] = b
	}
	b.tokens = min(historyBurst, b.tokens+now.Sub(b.at).Seconds()*historyRate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// historyForm reads the fields the intake panel searches on.
func historyForm(r *http.Request) (address, phone, caller, victim, suspect string, victimAge, suspectAge *int) {
	g := r.PostFormValue
	return g("address"), g("caller_phone"), g("caller_name"), g("victim_name"), g("suspect_name"), ageOf(g("victim_age")), ageOf(g("suspect_age"))
}

// ageOf reads a typed age; nil when it is not one.
func ageOf(s string) *int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 120 {
		return nil
	}
	return &n
}

// intakeQuery is the lookup of a call being typed.
func (s *Server) intakeQuery(address, phone, caller, victim, suspect string, victimAge, suspectAge *int) incident.HistoryQuery {
	return incident.HistoryQuery{Keys: incident.KeysOf(s.rules, address, phone, caller, victim, suspect),
		VictimAge: victimAge, SuspectAge: suspectAge}
}

// history answers the intake form's history panel (htmx). It is a POST:
// names and phone numbers must not travel in URLs.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	q := s.intakeQuery(historyForm(r))
	if !s.historyAllowed(r) {
		s.render(w, r, http.StatusTooManyRequests, web.HistoryPanel(web.HistoryView{Throttled: s.t(r, "dispatch.history.throttled")}))
		return
	}
	// The lookup and the victim's box (victims.go: same-person offers,
	// repeat counts) read the database apart: at once, the dispatcher
	// waits for the longer only. The form is parsed already.
	var box *web.VictimBox
	var wg sync.WaitGroup
	wg.Go(func() { box = s.intakeVictimBox(r, q) })
	hv := s.historyView(r, q, incident.Own{}, "intake", r.PostFormValue("key"))
	wg.Wait()
	hv.Victim = box
	s.render(w, r, http.StatusOK, web.HistoryPanel(hv))
}

// historyAllowed takes a lookup from the user's allowance; a refusal is
// audited.
func (s *Server) historyAllowed(r *http.Request) bool {
	u := currentUser(r.Context())
	if s.lookups.allow(u.ID, time.Now()) {
		return true
	}
	if err := s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "history.lookup", RecordType: "history",
		Outcome: audit.Denied, Detail: map[string]any{"reason": "rate"}}); err != nil {
		s.log.Warn("audit of a throttled history lookup failed", "err", err)
	}
	return false
}

// searchedFields names the fields a lookup searched on (never their
// values), for the audit trail.
func searchedFields(q incident.HistoryQuery) []string {
	var out []string
	k := q.Keys
	for _, f := range []struct {
		name string
		on   bool
	}{{"address", k.Flat != "" || k.Building != ""}, {"phone", k.Phone != ""}, {"caller_name", k.Caller != ""},
		{"victim_name", k.Victim != ""}, {"suspect_name", k.Suspect != ""}, {"victim_age", q.VictimAge != nil},
		{"suspect_age", q.SuspectAge != nil}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return out
}

// lookupHistory runs the lookup q for the request's viewer and applies
// need to know (an officer's area counts the units on an incident now, so a
// released unit's officer gets the answer for outside the area): the matches inside the viewer's area in full, those
// outside it summed up per district, confidential addresses not matched
// for viewers who may not see them. source names the view for the audit
// row ("intake", "incident", "my"); "" is not audited (the board's
// compact flags, which name no record).
func (s *Server) lookupHistory(r *http.Request, q incident.HistoryQuery, source string) (*incident.History, error) {
	u := currentUser(r.Context())
	h := &incident.History{}
	if q.Keys.Empty() {
		return h, nil
	}
	q.WithUnits = u.Role == account.Officer
	priors, orders, err := s.db.History(r.Context(), q)
	if err != nil {
		return nil, err
	}
	// Outside the area, one summary per district, strong matches and
	// possible namesakes apart, in order of their first (latest) match.
	var strongAreas, namesakeAreas []*incident.AreaSummary
	area := func(strong bool, id *int64, name string) *incident.AreaSummary {
		list := &namesakeAreas
		if strong {
			list = &strongAreas
		}
		for _, a := range *list {
			if (a.DistrictID == nil) == (id == nil) && (id == nil || *a.DistrictID == *id) {
				return a
			}
		}
		a := &incident.AreaSummary{DistrictID: id, District: name}
		*list = append(*list, a)
		return a
	}
	for _, p := range priors {
		stub := &incident.Incident{DistrictID: p.DistrictID, CreatedBy: p.CreatedBy, AddressConfidential: p.Confidential}
		for _, id := range p.UnitIDs {
			stub.Units = append(stub.Units, incident.Assignment{UnitID: id})
		}
		if p.Confidential && !addressShown(u, stub) {
			p.Evidence.Flat, p.Evidence.Building = false, false
			if p.Class = match.Classify(p.Evidence); p.Class == match.NoMatch {
				continue
			}
		}
		h.Total++
		if canView(u, stub) {
			h.Priors = append(h.Priors, p)
			continue
		}
		a := area(p.Class.Strong(), p.DistrictID, p.DistrictName)
		a.Count++
		a.Weapons = a.Weapons || p.Weapons
		a.HighDanger = a.HighDanger || p.HighDanger
		a.Class = max(a.Class, p.Class)
	}
	for _, o := range orders {
		stub := &incident.Incident{DistrictID: o.DistrictID, CreatedBy: o.CreatedBy, AddressConfidential: o.Confidential}
		for _, id := range o.UnitIDs {
			stub.Units = append(stub.Units, incident.Assignment{UnitID: id})
		}
		if o.Confidential && !addressShown(u, stub) {
			on := o.MatchedOn[:0:0]
			for _, m := range o.MatchedOn {
				if m != "address" {
					on = append(on, m)
				}
			}
			if o.MatchedOn = on; len(on) == 0 {
				continue
			}
		}
		if canView(u, stub) {
			h.ActiveOrders = append(h.ActiveOrders, o)
			continue
		}
		a := area(o.Strong(), o.DistrictID, o.DistrictName)
		a.ActiveOrder = true
		switch {
		case slices.Contains(o.MatchedOn, "address"):
			a.Class = max(a.Class, match.Flat)
		case o.Strong():
			a.Class = max(a.Class, match.Person)
		}
	}
	for _, a := range strongAreas {
		h.Elsewhere = append(h.Elsewhere, *a)
	}
	for _, a := range namesakeAreas {
		h.ElsewhereNamesakes = append(h.ElsewhereNamesakes, *a)
	}
	if source != "" {
		if err := s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "history.lookup", RecordType: "history",
			Detail: map[string]any{"fields": searchedFields(q), "matches": h.Total, "orders": len(orders), "source": source}}); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// historyView runs the lookup q for the request's viewer, audited as
// source, and builds the panel; own are the officer-safety facts of the
// incident it is shown on. draftKey, on the intake form, offers the open
// incidents at the same flat or phone as a possible duplicate call. A
// failure shows an empty panel rather than blocking the page.
func (s *Server) historyView(r *http.Request, q incident.HistoryQuery, own incident.Own, source, draftKey string) web.HistoryView {
	if q.Keys.Empty() {
		return web.HistoryView{Warnings: s.warningTexts(r, incident.Warnings(own, nil))}
	}
	h, err := s.lookupHistory(r, q, source)
	if err != nil {
		s.log.Warn("history lookup failed", "err", err)
		return web.HistoryView{Warnings: s.warningTexts(r, incident.Warnings(own, nil))}
	}
	return s.historyPanel(r, h, own, draftKey)
}

// historyPanel builds the panel of a looked-up history.
func (s *Server) historyPanel(r *http.Request, h *incident.History, own incident.Own, draftKey string) web.HistoryView {
	l := i18n.FromContext(r.Context())
	hv := web.HistoryView{Searched: true, Total: h.Total, Warnings: s.warningTexts(r, incident.Warnings(own, h))}
	hv.ActiveOrders = s.orderWarnings(h.ActiveOrders)
	for i, o := range h.ActiveOrders {
		if !o.Strong() {
			hv.ActiveOrders[i].Namesake = true
		}
	}
	for _, p := range h.Priors {
		row := web.PriorRow{Href: "/incidents/" + strconv.FormatInt(p.ID, 10), Number: p.Number,
			When: s.fmtTime(r, p.ReceivedAt), Type: refdata.LabelIn(p.TypeNames, l.Lang, p.TypeName), Priority: "P" + strconv.Itoa(p.Priority),
			Disposition: refdata.LabelIn(p.DispositionNames, l.Lang, p.Disposition),
			MatchedOn:   l.T("dispatch.class." + p.Class.String()), Weapons: p.Weapons, HighDanger: p.HighDanger, Open: p.Open}
		if p.Class == match.Flat && (p.DistrictID != nil || p.Latitude != nil) {
			row.Fill = &web.FillRow{District: optID(p.DistrictID), Settlement: optID(p.SettlementID),
				Latitude: optFloat(p.Latitude), Longitude: optFloat(p.Longitude)}
		}
		if !p.Class.Strong() {
			hv.Namesakes = append(hv.Namesakes, row)
			continue
		}
		hv.Priors = append(hv.Priors, row)
		if draftKey != "" && p.Open && (p.Evidence.Flat || p.Evidence.Phone) {
			hv.Duplicates = append(hv.Duplicates, web.DuplicateRow{Number: p.Number, When: row.When,
				Action: "/incidents/" + strconv.FormatInt(p.ID, 10) + "/calls"})
		}
	}
	for _, list := range []struct {
		from []incident.AreaSummary
		to   *[]web.AreaRow
	}{{h.Elsewhere, &hv.Elsewhere}, {h.ElsewhereNamesakes, &hv.ElsewhereNamesakes}} {
		for _, a := range list.from {
			district := a.District
			if district == "" {
				district = l.T("dispatch.history.no_district")
			}
			*list.to = append(*list.to, web.AreaRow{District: district, Count: a.Count, Weapons: a.Weapons,
				HighDanger: a.HighDanger, ActiveOrder: a.ActiveOrder, Class: l.T("dispatch.class." + a.Class.String())})
		}
	}
	return hv
}

func optID(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}

func optFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// warningTexts words the warnings incident.Warnings computed, each with
// its source, in the request's language.
func (s *Server) warningTexts(r *http.Request, ws []incident.Warning) []string {
	l := i18n.FromContext(r.Context())
	flags := func(w incident.Warning) string {
		var f []string
		if w.HighDanger {
			f = append(f, l.T("dispatch.flag.high_danger"))
		}
		if w.Weapons {
			f = append(f, l.T("dispatch.flag.weapons"))
		}
		return strings.Join(f, ", ")
	}
	var out []string
	for _, w := range ws {
		switch w.Kind {
		case incident.WarnHighDanger:
			out = append(out, l.T("dispatch.warn.high_danger"))
		case incident.WarnWeaponsNow:
			out = append(out, l.T("dispatch.warn.weapons_now"))
		case incident.WarnChildren:
			out = append(out, l.T("dispatch.warn.children"))
		case incident.WarnOrder:
			out = append(out, l.T("dispatch.warn.order", "Number", w.Number))
		case incident.WarnPrior:
			out = append(out, l.T("dispatch.warn.prior", "Number", w.Number, "Match", l.T("dispatch.class."+w.Class.String()),
				"Date", l.Date(w.At, s.loc), "Flags", flags(w)))
		case incident.WarnPriorElse:
			out = append(out, l.T("dispatch.warn.prior_elsewhere", "Count", w.Count, "District", w.District,
				"Match", l.T("dispatch.class."+w.Class.String()), "Flags", flags(w)))
		case incident.WarnOrderElse:
			out = append(out, l.T("dispatch.warn.order_elsewhere", "District", w.District))
		}
	}
	return out
}

// incidentSafety looks up the history of stored incidents and computes
// their warnings, as the incident page, /my and the board show them: from
// the stored keys, the incident's own facts and history received before
// it. source "" (the board) is neither audited nor throttled: it shows
// compact flags only.
func (s *Server) incidentSafety(r *http.Request, ids []int64, source string) (map[int64]*incident.History, map[int64]incident.Own, error) {
	facts, err := s.db.MatchFactsOf(r.Context(), ids)
	if err != nil {
		return nil, nil, err
	}
	hs := make(map[int64]*incident.History, len(ids))
	owns := make(map[int64]incident.Own, len(ids))
	for _, id := range ids {
		f, ok := facts[id]
		if !ok {
			continue
		}
		h, err := s.lookupHistory(r, f.Query, source)
		if err != nil {
			return nil, nil, err
		}
		hs[id], owns[id] = h, f.Own
	}
	return hs, owns, nil
}

// incidentHistory is the history panel and warnings of the incident page
// or an /my row. A user past the lookup limit is told so and shown no
// earlier incidents, but still the warnings: they are what the board shows
// everyone, and an officer must not lose them.
func (s *Server) incidentHistory(r *http.Request, id int64, source string) web.HistoryView {
	throttled := !s.historyAllowed(r)
	if throttled {
		source = ""
	}
	hs, owns, err := s.incidentSafety(r, []int64{id}, source)
	if err != nil {
		s.log.Warn("history lookup failed", "err", err)
		return web.HistoryView{}
	}
	h, ok := hs[id]
	if !ok {
		return web.HistoryView{}
	}
	if throttled {
		return web.HistoryView{Throttled: s.t(r, "dispatch.history.throttled"), Warnings: s.warningTexts(r, incident.Warnings(owns[id], h))}
	}
	return s.historyPanel(r, h, owns[id], "")
}

// boardFlags sets the board rows' compact officer-safety flags from
// incident.Warnings, as the incident page and /my word them.
func (s *Server) boardFlags(r *http.Request, rows []web.BoardRow) {
	ids := make([]int64, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	hs, owns, err := s.incidentSafety(r, ids, "")
	if err != nil {
		s.log.Warn("board flags unavailable", "err", err)
		return
	}
	for i, row := range rows {
		ws := incident.Warnings(owns[row.ID], hs[row.ID])
		f := incident.FlagsOf(ws)
		rows[i].HighDanger, rows[i].Weapons, rows[i].Order = f.HighDanger, f.Weapons, f.Order
		rows[i].Warnings = s.warningTexts(r, ws)
	}
}

// addCall records the intake form's call on an open incident the
// dispatcher may view ("add this call to DV-..."), instead of a new
// incident: its caller, the time it was answered (the draft's, the
// server's clock) and its narrative. The draft key makes it idempotent.
func (s *Server) addCall(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncident(w, r)
	if !ok {
		return
	}
	f := intakeForm(r)
	fail := func(err error) {
		msg, fields := s.formError(r, err)
		at, derr := s.db.DraftReceivedAt(r.Context(), f.Key, currentUser(r.Context()).ID)
		if derr != nil {
			at = s.now()
		}
		s.renderIntake(w, r, statusOf(apperr.CodeOf(err)), f, at, msg, fields)
	}
	e := apperr.Fields{}
	for _, x := range []struct {
		field, value string
		max          int
	}{{"caller_name", f.CallerName, 150}, {"caller_phone", f.CallerPhone, 40}, {"narrative", f.Narrative, 10000}} {
		if n := len([]rune(strings.TrimSpace(x.value))); n > x.max {
			e.Add(x.field, "err.text.too_long", "Max", x.max, "Now", n)
		}
	}
	if err := e.Err(); err != nil {
		fail(err)
		return
	}
	number, added, err := s.db.AddCall(r.Context(), postgres.AddedCall{IncidentID: in.ID, Key: f.Key,
		CallerName: strings.TrimSpace(f.CallerName), CallerPhone: strings.TrimSpace(f.CallerPhone),
		Narrative: strings.TrimSpace(f.Narrative)}, s.actor(r))
	if err != nil {
		fail(err)
		return
	}
	if added {
		s.setFlash(r, "ok", s.t(r, "dispatch.history.call_added", "Number", number))
	} else {
		s.setFlash(r, "info", s.t(r, "dispatch.history.call_already_added", "Number", number))
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(in.ID, 10), http.StatusSeeOther)
}
