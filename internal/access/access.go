// Package access is the one rule of record access: who may see and who
// may change which incident, and with it the incident's protection
// orders, danger screens, referrals and links (each is judged by the
// incident it belongs to; an order recorded without an incident by its own
// district). Server handlers ask it for every record they serve, and the
// lists (the board, the audit viewer) apply the same rule in their queries
// through Area.
//
// The rule is the table Rules: a role, a relation between the user and the
// record, and what that relation grants. A user has every relation that
// holds (Relations); a permission is granted when any of them grants it.
// Nothing else grants anything: deny by default.
//
//	role        relation       view  change  confidential address
//	----------  -------------  ----  ------  --------------------
//	admin       any record      yes    -       -
//	dispatcher  everywhere      yes   yes      -
//	dispatcher  own district    yes   yes      -
//	dispatcher  logged it       yes   yes      -
//	supervisor  everywhere      yes   yes     yes
//	supervisor  own district    yes   yes     yes
//	supervisor  logged it       yes   yes     yes
//	officer     own district    yes    -       -
//	officer     unit was on     yes    -       -
//	officer     unit is on      yes   yes     yes
//	officer     task of unit    yes   yes      -
//
// "everywhere" is the relation of a dispatcher or supervisor without a
// district (a national or city control room) to every record. "own
// district" needs a record with a district: an incident with no district
// is seen only by those who see everywhere, by administrators, by whoever
// logged it and by the officers of a unit sent to it. "unit is on" is an
// active assignment (not released); "unit was on", a released one.
// "task of unit" holds for a follow-up task or an order check (judged by
// its incident, or its order) assigned to the user's unit, or to the pool
// of the user's district: its officers record it whether or not the unit
// is still on the incident; it grants nothing on the incident itself,
// whose record is not a task.
//
// Change covers what is done to an incident's record beyond reading it:
// recording stages, issuing, extending and ending protection orders,
// linking a violated order, filing danger screens and offering referrals
// and recording their steps. Which roles may use each route at all is the
// route table's business (internal/server/routes.go); this package says on
// which records. Administrators read every record and change none.
package access

import (
	"slices"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// Relation is how a user stands to a record.
type Relation string

const (
	AnyRecord   Relation = "any record"   // every user to every record
	Everywhere  Relation = "everywhere"   // a user with no district
	OwnDistrict Relation = "own district" // the record's district is the user's
	LoggedIt    Relation = "logged it"    // the user logged the incident
	UnitIsOn    Relation = "unit is on"   // the user's unit is assigned to it, not released
	UnitWasOn   Relation = "unit was on"  // the user's unit was assigned to it and released
	TaskOfUnit  Relation = "task of unit" // a task or order check of the user's unit or district pool
)

// Grant is what a relation allows.
type Grant struct {
	View    bool // read the record and what belongs to it
	Change  bool // record stages, orders, danger screens, referrals
	Address bool // read a confidential address (and its notes and coordinates)
}

// Rule is one row of the table.
type Rule struct {
	Role     account.Role
	Relation Relation
	Grant    Grant
}

var (
	viewOnly = Grant{View: true}
	work     = Grant{View: true, Change: true}
	full     = Grant{View: true, Change: true, Address: true}
)

// Rules is the access rule. See the package documentation for it as a
// table; TestRules checks the two against each other.
var Rules = []Rule{
	{account.Admin, AnyRecord, viewOnly},
	{account.Dispatcher, Everywhere, work},
	{account.Dispatcher, OwnDistrict, work},
	{account.Dispatcher, LoggedIt, work},
	{account.Supervisor, Everywhere, full},
	{account.Supervisor, OwnDistrict, full},
	{account.Supervisor, LoggedIt, full},
	{account.Officer, OwnDistrict, viewOnly},
	{account.Officer, UnitWasOn, viewOnly},
	{account.Officer, UnitIsOn, full},
	{account.Officer, TaskOfUnit, work},
}

// Record is what the rule needs to know of an incident.
type Record struct {
	District  *int64 // nil: not placed in a district
	CreatedBy *int64 // the user who logged it; nil when imported
	Units     []Unit // every assignment, released ones too
	// Task: the record is a follow-up task or an order check, assigned
	// to TaskUnit (nil: the district's pool).
	Task     bool
	TaskUnit *int64
}

// Unit is one assignment of a unit to the incident.
type Unit struct {
	ID     int64
	Active bool // not released
}

// Of is the record of an incident.
func Of(in *incident.Incident) Record {
	r := Record{District: in.DistrictID, CreatedBy: in.CreatedBy}
	for _, a := range in.Units {
		r.Units = append(r.Units, Unit{ID: a.UnitID, Active: a.ReleasedAt == nil})
	}
	return r
}

// OfSummary is the record of an open incident as the board and the
// officer's list read it: its units are those on it now (a released
// assignment grants no more than the district does on these lists).
func OfSummary(in *incident.Summary) Record {
	r := Record{District: in.DistrictID, CreatedBy: in.CreatedBy}
	for _, id := range in.UnitIDs {
		r.Units = append(r.Units, Unit{ID: id, Active: true})
	}
	return r
}

// InDistrict is the record of a protection order recorded without an
// incident: only its district is known.
func InDistrict(district *int64) Record { return Record{District: district} }

// Relations lists how u stands to rec.
func Relations(u *account.User, rec Record) []Relation {
	rels := []Relation{AnyRecord}
	if u.DistrictID == nil {
		rels = append(rels, Everywhere)
	} else if rec.District != nil && *rec.District == *u.DistrictID {
		rels = append(rels, OwnDistrict)
	}
	if rec.CreatedBy != nil && *rec.CreatedBy == u.ID {
		rels = append(rels, LoggedIt)
	}
	if u.UnitID != nil {
		on, was := false, false
		for _, a := range rec.Units {
			if a.ID == *u.UnitID {
				on = on || a.Active
				was = was || !a.Active
			}
		}
		if on {
			rels = append(rels, UnitIsOn)
		} else if was {
			rels = append(rels, UnitWasOn)
		}
		pool := rec.TaskUnit == nil && rec.District != nil && u.DistrictID != nil && *rec.District == *u.DistrictID
		if rec.Task && (pool || rec.TaskUnit != nil && *rec.TaskUnit == *u.UnitID) {
			rels = append(rels, TaskOfUnit)
		}
	}
	return rels
}

// For is what u may do with rec: the union of the grants of every
// relation u has to it, for u's role.
func For(u *account.User, rec Record) Grant {
	var g Grant
	if u == nil {
		return g
	}
	rels := Relations(u, rec)
	for _, r := range Rules {
		if r.Role == u.Role && slices.Contains(rels, r.Relation) {
			g.View = g.View || r.Grant.View
			g.Change = g.Change || r.Grant.Change
			g.Address = g.Address || r.Grant.Address
		}
	}
	return g
}

// CanView says whether u may see rec.
func CanView(u *account.User, rec Record) bool { return For(u, rec).View }

// CanChange says whether u may change rec (stages, orders, danger
// screens, referrals).
func CanChange(u *account.User, rec Record) bool { return For(u, rec).Change }

// AddressShown says whether u is shown rec's address when it is
// confidential (every viewer is shown an address that is not).
func AddressShown(u *account.User, rec Record, confidential bool) bool {
	return !confidential || For(u, rec).Address
}

// SeesEverything says whether u may see every record: an administrator,
// or a dispatcher or supervisor with no district.
func SeesEverything(u *account.User) bool {
	return u != nil && CanView(u, Record{})
}

// Area is the rule as a filter for lists that a query applies: every
// record (All), or those of District plus those LoggedBy logged. Lists of
// officers are of their unit's incidents and need no Area.
type Area struct {
	All      bool
	District *int64 // nil with All false: no district's records
	LoggedBy int64  // 0: none
}

// AreaOf is the part of the incidents u may see, for a list of
// dispatchers, supervisors or administrators. It is CanView for a user
// without a unit.
func AreaOf(u *account.User) Area {
	if SeesEverything(u) {
		return Area{All: true}
	}
	a := Area{District: u.DistrictID}
	for _, r := range Rules {
		if r.Role == u.Role && r.Relation == LoggedIt && r.Grant.View {
			a.LoggedBy = u.ID
		}
	}
	return a
}

// Persons (issue 16). Whether two incidents concern the same person, and
// how a victim may be contacted, is decided on an incident: by those who
// may change it (a dispatcher, supervisor, or officer whose unit is on it;
// administrators change nothing). A supervisor who may change it may also
// undo a link, with a reason. The safe-contact rule is read by whoever may
// see the incident; the candidates offered are only incidents the user
// may see.

// CanLinkPersons says whether u may confirm or reject that the person on
// rec is the one on an earlier incident, and record her safe-contact rule
// and call-backs.
func CanLinkPersons(u *account.User, rec Record) bool {
	return u != nil && u.Role != account.Admin && CanChange(u, rec)
}

// CanUndoPersonLink says whether u may undo a link of rec's person: a
// supervisor who may change rec.
func CanUndoPersonLink(u *account.User, rec Record) bool {
	return u != nil && u.Role == account.Supervisor && CanChange(u, rec)
}
