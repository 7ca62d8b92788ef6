package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/dvresponse/dvresponse/internal/postgres"
)

// historySeed seeds the generator of the history, so that every database
// gets the same calls (relative to the day it is seeded).
const historySeed = 20260308

// historyDays is how far back the history goes.
const historyDays = 365

// historyPrefix starts the external ids of history incidents.
const historyPrefix = "hist-"

// refIDs are the database ids of the demo reference data.
type refIDs struct {
	district   map[string]int64   // by code
	settlement map[string]int64   // by district code + "/" + name
	units      map[string][]int64 // by district code, in call-sign order
	callSign   map[int64]string
	unit       map[string]int64 // by call sign
	types      map[string]int64 // by code
	dispos     map[string]int64 // by code
}

func (ids *refIDs) place(p *place) (district, settlement *int64) {
	d := ids.district[p.district.code]
	district = &d
	if p.name != "" {
		s := ids.settlement[p.district.code+"/"+p.name]
		settlement = &s
	}
	return district, settlement
}

// hourWeights is the share of calls by local hour: few in the morning,
// most in the evening and the first hours of the night.
var hourWeights = [24]float64{
	5.6, 4.6, 3.6, 2.6, 1.9, 1.5, 1.5, 1.9, 2.4, 2.9, 3.1, 3.3,
	3.5, 3.6, 3.8, 4.0, 4.4, 5.0, 5.8, 6.6, 7.2, 7.5, 7.1, 6.4,
}

// weekdayFactor: more calls at weekends (Friday and Saturday nights count
// on Saturday and Sunday, through the night hours).
var weekdayFactor = [7]float64{ // Sunday first
	1.18, 0.90, 0.88, 0.90, 0.93, 1.05, 1.22,
}

func pickHour(r *rand.Rand, weekend bool) int {
	var total float64
	w := hourWeights
	if weekend {
		for h := 0; h < 4; h++ {
			w[h] *= 1.45
		}
	}
	for _, x := range w {
		total += x
	}
	x := r.Float64() * total
	for h, v := range w {
		if x < v {
			return h
		}
		x -= v
	}
	return 23
}

// season is a mild yearly cycle with more calls in high summer.
func season(day time.Time) float64 {
	return 1 + 0.08*math.Cos(2*math.Pi*float64(day.YearDay()-200)/365)
}

// generator makes up incidents. It is deterministic for a given seed,
// reference ids and clock.
type generator struct {
	r     *rand.Rand
	ids   *refIDs
	loc   *time.Location // the deployment time zone of incident numbers
	now   time.Time
	homes map[*deployment][]*household
	seq   int
	choices
}

func newGenerator(ids *refIDs, loc *time.Location, now time.Time, seed uint64) *generator {
	return &generator{
		r: rand.New(rand.NewPCG(seed, 0x5eed)), ids: ids, loc: loc, now: now,
		homes: map[*deployment][]*household{}, choices: newChoices(),
	}
}

// stages are the seconds from received to each later stage; a negative
// value marks a stage not recorded.
type stages struct {
	dispatch, enRoute, onScene, cleared float64
}

// callFacts are the circumstances of a generated call.
type callFacts struct {
	home       *household
	typ        *incidentType
	prio       *priorityLevel
	repeat     bool
	weapons    *bool
	children   *bool
	injuries   *bool
	drunk      bool
	highDanger bool
}

func (g *generator) boolOrUnknown(p, unknown float64) *bool {
	if chance(g.r, unknown) {
		return nil
	}
	b := chance(g.r, p)
	return &b
}

// call makes up who calls, from where and about what.
func (g *generator) call(dep *deployment) callFacts {
	r := g.r
	var f callFacts
	typ := pick(r, g.types)
	f.typ = typ
	homes := g.homes[dep]
	if typ.code != "CHILD" && len(homes) > 50 && chance(r, 0.28) {
		// Earlier callers call again; every call makes another more
		// likely, so a few households call many times.
		f.home, f.repeat = homes[r.IntN(len(homes))], true
		if typ.dv && chance(r, 0.3) {
			f.typ = typeByCode("PO-VIOL")
		}
	} else {
		f.home = newHousehold(r, pick(r, g.places[dep]), typ.code == "CHILD")
	}
	if f.typ.code != "CHILD" {
		g.homes[dep] = append(g.homes[dep], f.home)
	}

	level := pick(r, f.typ.priorities)
	switch f.typ.code {
	case "DV-PHYS":
		f.weapons, f.injuries = g.boolOrUnknown(0.12, 0.08), g.boolOrUnknown(0.45, 0.08)
	case "DV-THREAT":
		f.weapons, f.injuries = g.boolOrUnknown(0.16, 0.1), g.boolOrUnknown(0.04, 0.1)
	case "PO-VIOL":
		f.weapons, f.injuries = g.boolOrUnknown(0.10, 0.1), g.boolOrUnknown(0.12, 0.1)
	case "CHILD":
		f.weapons, f.injuries = g.boolOrUnknown(0.04, 0.1), g.boolOrUnknown(0.25, 0.1)
	default:
		f.weapons, f.injuries = g.boolOrUnknown(0.02, 0.3), g.boolOrUnknown(0.03, 0.3)
	}
	if chance(r, 0.1) {
		f.children = nil
	} else {
		c := f.home.children && chance(r, 0.75)
		f.children = &c
	}
	f.drunk = f.typ.code != "CHILD" && chance(r, 0.35)
	if f.weapons != nil && *f.weapons && level > 1 && chance(r, 0.75) {
		level = 1
	}
	f.prio = &priorityLevels[level-1]
	if f.typ.dv {
		score := 0.0
		if f.weapons != nil && *f.weapons {
			score += 0.45
		}
		if f.injuries != nil && *f.injuries {
			score += 0.12
		}
		if f.repeat {
			score += 0.08
		}
		if f.typ.code == "PO-VIOL" {
			score += 0.12
		}
		if level == 1 {
			score += 0.12
		}
		f.highDanger = chance(r, score)
	}
	return f
}

// timing draws the stage times of call f received at local time lt. frac
// is how far through the year the call falls (0 a year ago, 1 now):
// training and better rostering slowly improve the times. holiday is the
// day's volume factor (busy days queue calls); dispoFactor scales the time
// on scene; a cancelled call is cleared before the unit arrives.
func (g *generator) timing(f callFacts, lt time.Time, frac, holiday, dispoFactor float64, cancelled bool) stages {
	r := g.r
	p, pr, d := f.home.place, f.prio, f.home.place.district
	h := lt.Hour()

	cpHour, turnHour, travelHour := 1.0, 1.0, 1.0
	switch {
	case h < 7: // night shift: fewer call-takers, slower to react
		cpHour, turnHour, travelHour = 1.4, 1.3, 0.85
	case h >= 19: // evening peak: queues
		cpHour = 1.15
	}
	if d.dep == bishkek && (h >= 8 && h < 10 || h >= 17 && h < 20) {
		travelHour = 1.25 // rush hour
	}
	winter := 1.0
	if m := lt.Month(); (m == time.December || m <= time.February) && p.kind >= village {
		winter = 1.15 // snow on the roads to villages and settlements
	}

	improve := 1.18 - 0.30*frac
	cp := lognormal(r, pr.cpMedian*d.callProcessing*cpHour*improve*(1+0.2*(holiday-1)), 0.5)
	if chance(r, map[int]float64{1: 0.02, 2: 0.04, 3: 0.09, 4: 0.14}[pr.level]) {
		cp *= 2 + r.Float64()*9 // no unit free: the call waits
	}
	turnout := lognormal(r, pr.turnoutMedian*turnHour*(1.08-0.12*frac), 0.55)
	if chance(r, 0.02) {
		turnout *= 3 + r.Float64()*5
	}
	travel := lognormal(r, p.travel*d.travel*pr.travelFactor*travelHour*winter*(1.06-0.10*frac), 0.42)
	if chance(r, 0.025) {
		travel *= 1.8 + r.Float64()*2.5
	}
	onScene := lognormal(r, 2400*dispoFactor, 0.55)

	s := stages{dispatch: math.Max(8, math.Round(cp))}
	s.enRoute = s.dispatch + math.Max(5, math.Round(turnout))
	arrive := s.enRoute + math.Max(45, math.Round(travel))
	if cancelled {
		s.onScene = -1
		s.cleared = s.enRoute + math.Max(30, math.Round(travel*(0.2+0.6*r.Float64())))
	} else {
		s.onScene = arrive
		s.cleared = arrive + math.Max(120, math.Round(onScene))
		if chance(r, 0.008) {
			s.onScene = -1 // arrival not recorded
		}
	}
	if chance(r, 0.01) {
		s.enRoute = -1 // "en route" not pressed
	}
	return s
}

// dispositionWeights are the shares of disposition codes by incident type.
var dispositionWeights = map[string][]float64{
	// ARREST, PO-ISSUED, REFERRED, WARNING, NO-OFFENCE, GONE-ON-ARRIVAL, UNFOUNDED, DUPLICATE, CANCELLED
	"DV-PHYS":   {22, 25, 18, 15, 5, 9, 2, 2, 2},
	"DV-THREAT": {8, 25, 15, 28, 10, 8, 3, 2, 2},
	"DV-PSY":    {2, 15, 30, 30, 15, 3, 3, 1, 1},
	"PO-VIOL":   {45, 10, 10, 15, 5, 12, 2, 1, 0},
	"CHILD":     {10, 15, 40, 15, 12, 3, 3, 1, 1},
	"DISTURB":   {4, 2, 3, 40, 30, 10, 6, 3, 2},
	"WELFARE":   {0, 0, 20, 0, 60, 0, 10, 3, 7},
	"OTHER":     {0, 0, 0, 15, 50, 0, 20, 5, 10},
}

// choices are the weighted tables the generator draws from.
type choices struct {
	types  []weighted[*incidentType]
	places map[*deployment][]weighted[*place]
	dispos map[string][]weighted[*disposition]
}

func newChoices() choices {
	c := choices{places: map[*deployment][]weighted[*place]{}, dispos: map[string][]weighted[*disposition]{}}
	for i := range incidentTypes {
		t := &incidentTypes[i]
		c.types = append(c.types, weighted[*incidentType]{t, t.weight})
		for j, w := range dispositionWeights[t.code] {
			if w > 0 {
				c.dispos[t.code] = append(c.dispos[t.code], weighted[*disposition]{&dispositions[j], w})
			}
		}
	}
	for i := range places {
		p := &places[i]
		c.places[p.district.dep] = append(c.places[p.district.dep], weighted[*place]{p, p.weight})
	}
	return c
}

func typeByCode(code string) *incidentType {
	for i := range incidentTypes {
		if incidentTypes[i].code == code {
			return &incidentTypes[i]
		}
	}
	panic("seed: no incident type " + code)
}

func ptrTime(t time.Time) *time.Time { return &t }

func ptrInt(i int) *int { return &i }

func ptrFloat(f float64) *float64 { return &f }

// incident turns a call received at t into a seed incident with its stage
// times, units and timeline. s may be nil for a call not yet dispatched.
func (g *generator) incident(extID string, t time.Time, f callFacts, s *stages, dispo *disposition) postgres.SeedIncident {
	r := g.r
	h := f.home
	dep := h.place.district.dep
	did, sid := g.ids.place(h.place)
	in := postgres.SeedIncident{
		ExternalID: extID, NumberYear: t.In(g.loc).Year(), ReceivedAt: t,
		TypeID: g.ids.types[f.typ.code], Priority: f.prio.level,
		DistrictID: did, SettlementID: sid, Address: h.address, LocationNotes: h.notes,
		Latitude: ptrFloat(math.Round(h.lat*1e5) / 1e5), Longitude: ptrFloat(math.Round(h.lon*1e5) / 1e5),
		CallerLanguage: h.language,
		Weapons:        f.weapons, ChildrenPresent: f.children, Injuries: f.injuries,
		HighDanger: f.highDanger,
	}
	// Who called.
	switch {
	case chance(r, 0.07):
		in.CallerAnonymous = true
		in.CallerRelation = "anonymous"
	case f.typ.dv && h.victim.age >= 14 && chance(r, 0.58):
		in.CallerName, in.CallerPhone, in.CallerRelation = h.victim.name, h.phone, "victim"
		safe := chance(r, 0.75)
		if !chance(r, 0.1) {
			in.CallerSafeToCall = &safe
		}
	default:
		rel := pick(r, callerRelations)
		names := dep.names
		in.CallerName = names.name(r, pick(r, []weighted[string]{{"female", 65}, {"male", 35}}), oneOf(r, names.surnames))
		in.CallerPhone, in.CallerRelation = phone(r, dep.phoneCC), rel
		yes := true
		in.CallerSafeToCall = &yes
	}
	// Victim and suspect as recorded; not everything is known.
	v, sp := h.victim, h.suspect
	if f.typ.dv || chance(r, 0.5) {
		in.VictimName = v.name
		if !chance(r, 0.04) {
			in.VictimSex = v.sex
		}
		if !chance(r, 0.1) {
			in.VictimAge = ptrInt(v.age)
		}
		in.Relationship = h.relationship
		if !chance(r, 0.12) {
			in.SuspectName = sp.name
		}
		if !chance(r, 0.05) {
			in.SuspectSex = sp.sex
		}
		if !chance(r, 0.25) {
			in.SuspectAge = ptrInt(sp.age)
		}
	} else if f.typ.code == "DISTURB" {
		in.Relationship = "neighbour"
	}
	in.Narrative = narrative(r, f.typ.code, h.relationship, sp.sex, f.weapons, f.children, f.injuries, f.drunk)

	in.Events = append(in.Events, postgres.SeedEvent{At: t, Kind: "created",
		Data: map[string]any{"type": f.typ.code, "priority": f.prio.level}})
	if s == nil {
		return in
	}
	at := func(sec float64) *time.Time {
		if sec < 0 {
			return nil
		}
		return ptrTime(t.Add(time.Duration(sec) * time.Second))
	}
	in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt = at(s.dispatch), at(s.enRoute), at(s.onScene), at(s.cleared)

	units := g.ids.units[h.place.district.code]
	unit := units[r.IntN(len(units))]
	in.Units = append(in.Units, postgres.SeedAssignment{UnitID: unit, AssignedAt: *in.DispatchedAt})
	in.Events = append(in.Events, postgres.SeedEvent{At: *in.DispatchedAt, Kind: "unit_assigned",
		Data: map[string]any{"unit_id": unit, "call_sign": g.ids.callSign[unit]}})
	if in.EnRouteAt != nil {
		in.Events = append(in.Events, postgres.SeedEvent{At: *in.EnRouteAt, Kind: "status_changed",
			Data: map[string]any{"stage": "en_route", "unit_id": unit}})
	}
	if in.OnSceneAt != nil {
		in.Events = append(in.Events, postgres.SeedEvent{At: *in.OnSceneAt, Kind: "status_changed",
			Data: map[string]any{"stage": "on_scene", "unit_id": unit}})
	}
	// A second unit backs up dangerous calls.
	if (f.prio.level == 1 || f.highDanger) && len(units) > 1 && chance(r, 0.35) && s.cleared > s.dispatch+300 {
		backup := units[(indexOf(units, unit)+1+r.IntN(len(units)-1))%len(units)]
		when := t.Add(time.Duration(s.dispatch+30+float64(r.IntN(240))) * time.Second)
		in.Units = append(in.Units, postgres.SeedAssignment{UnitID: backup, AssignedAt: when})
		in.Events = append(in.Events, postgres.SeedEvent{At: when, Kind: "unit_assigned",
			Data: map[string]any{"unit_id": backup, "call_sign": g.ids.callSign[backup]}})
	}
	if in.ClearedAt != nil {
		id := g.ids.dispos[dispo.code]
		in.DispositionID = &id
		for i := range in.Units {
			in.Units[i].ReleasedAt = in.ClearedAt
		}
		in.Events = append(in.Events, postgres.SeedEvent{At: *in.ClearedAt, Kind: "status_changed",
			Data: map[string]any{"stage": "cleared", "disposition": dispo.code}})
	}
	return in
}

func indexOf(xs []int64, x int64) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// history makes up a year of cleared incidents, received from
// historyDays days before now until two hours ago, sorted by received time.
func (g *generator) history() []postgres.SeedIncident {
	r := g.r
	var out []postgres.SeedIncident
	end := g.now.Add(-2 * time.Hour)
	start := g.now.AddDate(0, 0, -historyDays)
	for _, dep := range []*deployment{bishkek, gori} {
		local := g.now.In(dep.zone)
		today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, dep.zone)
		for back := historyDays; back >= 0; back-- {
			day := today.AddDate(0, 0, -back)
			hol := dep.holiday(day.Month(), day.Day(), day.Year())
			wd := day.Weekday()
			n := poisson(r, dep.perDay*weekdayFactor[wd]*season(day)*hol)
			for range n {
				hour := pickHour(r, wd == time.Saturday || wd == time.Sunday)
				lt := day.Add(time.Duration(hour)*time.Hour + time.Duration(r.IntN(3600))*time.Second)
				f := g.call(dep)
				dispo := pick(r, g.dispos[f.typ.code])
				frac := float64(lt.Sub(start)) / float64(g.now.Sub(start))
				s := g.timing(f, lt, frac, hol, dispo.onScene, dispo.code == "CANCELLED")
				t := lt.UTC()
				if t.Before(start) || t.After(end) || t.Add(time.Duration(s.cleared)*time.Second).After(g.now) {
					continue
				}
				g.seq++
				out = append(out, g.incident(fmt.Sprintf("%s%06d", historyPrefix, g.seq), t, f, &s, dispo))
			}
		}
	}
	return out
}
