// Package incident holds the domain of a call for service: its fields,
// the rules for taking a call, its stages and the matching keys of the
// history lookup. It imports no database or HTTP package.
package incident

import (
	"fmt"
	"time"
)

// Stage is how far an incident has got.
type Stage string

// The stages, in order. Each is marked by a server-clock timestamp.
const (
	Received   Stage = "received"
	Dispatched Stage = "dispatched"
	EnRoute    Stage = "en_route"
	OnScene    Stage = "on_scene"
	Cleared    Stage = "cleared"
)

// Label is the stage's name for people.
func (s Stage) Label() string {
	switch s {
	case Received:
		return "Awaiting dispatch"
	case Dispatched:
		return "Dispatched"
	case EnRoute:
		return "En route"
	case OnScene:
		return "On scene"
	case Cleared:
		return "Cleared"
	}
	return string(s)
}

// Person is a victim or suspect as recorded at intake.
type Person struct {
	Name string
	Sex  string // female, male, other, or "" when not recorded
	Age  *int
}

// Caller is who called.
type Caller struct {
	Name       string
	Phone      string
	Relation   string
	SafeToCall *bool
	Anonymous  bool
	Language   string
}

// Assignment is a unit assigned to an incident.
type Assignment struct {
	UnitID   int64
	CallSign string
	// UnitStatus is the unit's status on this incident, from its own
	// times (not the unit's status today): dispatched, en_route,
	// on_scene, cleared, or released (taken off before it cleared).
	UnitStatus string
	AssignedAt time.Time // dispatched
	EnRouteAt  *time.Time
	OnSceneAt  *time.Time
	ClearedAt  *time.Time
	ReleasedAt *time.Time
}

// Event is one entry of an incident's timeline.
type Event struct {
	At       time.Time
	Username string
	Kind     string
	Data     map[string]any // the event's details, as stored; the server words them per language
}

// Incident is one call for service.
type Incident struct {
	ID             int64
	Number         string
	ReceivedAt     time.Time
	ReceivedManual bool
	DispatchedAt   *time.Time
	EnRouteAt      *time.Time
	OnSceneAt      *time.Time
	ClearedAt      *time.Time

	TypeID        int64
	TypeName      string
	TypeIsDV      bool
	Priority      int
	PriorityLabel string
	Disposition   string
	// Names per language of the type, priority and disposition
	// (refdata.LabelIn), as administrators configured them.
	TypeNames, PriorityNames, DispositionNames map[string]string

	DistrictID     *int64
	DistrictCode   string
	SettlementID   *int64
	SettlementName string
	SettlementIDP  bool
	Address        string
	LocationNotes  string
	Latitude       *float64
	Longitude      *float64
	// AddressConfidential: the address, location notes and coordinates
	// are shown only to those who must go there (see server/confidential.go).
	AddressConfidential bool

	Caller          Caller
	Weapons         *bool
	ChildrenPresent *bool
	Injuries        *bool
	Victim          Person
	Suspect         Person
	Relationship    string
	Narrative       string
	HighDanger      bool
	Version         int
	// CreatedBy is the user who logged the call (nil for an imported or
	// seeded incident): a dispatcher with an area keeps seeing the calls
	// they logged for a neighbouring one.
	CreatedBy *int64

	Units  []Assignment
	Events []Event
}

// Stage is the incident's current stage.
func (in *Incident) Stage() Stage {
	return StageOf(in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt)
}

// StageOf is the current stage given the stage timestamps.
func StageOf(dispatched, enRoute, onScene, cleared *time.Time) Stage {
	switch {
	case cleared != nil:
		return Cleared
	case onScene != nil:
		return OnScene
	case enRoute != nil:
		return EnRoute
	case dispatched != nil:
		return Dispatched
	}
	return Received
}

// StageInterval is the interval that runs while an incident is in stage s
// (the one its board timer measures): waiting for dispatch is call
// processing, dispatched is turnout, en route is travel, on scene is time
// on scene.
func StageInterval(s Stage) string {
	switch s {
	case Received:
		return "call_processing"
	case Dispatched:
		return "turnout"
	case EnRoute:
		return "travel"
	case OnScene:
		return "on_scene"
	}
	return ""
}

// FormatNumber is the human-readable incident number, e.g. DV-2026-000123.
func FormatNumber(year int, seq int64) string {
	return fmt.Sprintf("DV-%04d-%06d", year, seq)
}

// Summary is an open incident as the live board shows it: no names, phone
// numbers or exact address (those stay on the incident page).
type Summary struct {
	ID            int64
	Number        string
	Priority      int
	PriorityLabel string
	TypeName      string
	// Names per language of the priority and type (refdata.LabelIn).
	PriorityNames, TypeNames map[string]string
	TypeIsDV                 bool
	DistrictCode             string
	SettlementName           string
	SettlementIDP            bool
	ReceivedAt               time.Time
	DispatchedAt             *time.Time
	EnRouteAt                *time.Time
	OnSceneAt                *time.Time
	HighDanger               bool
	Weapons                  bool
	Units                    []string
	// Targets are the priority's targets in seconds, by interval name.
	Targets map[string]int
	// Where to go: shown on the board and the officer's cards only to
	// those access.AddressShown allows when AddressConfidential.
	Address, LocationNotes string
	Latitude, Longitude    *float64
	AddressConfidential    bool
	// What access.Record needs: the district, who logged it and the
	// units on it now (not released).
	DistrictID, CreatedBy *int64
	UnitIDs               []int64
}

// Stage is the summary's current stage.
func (s *Summary) Stage() Stage { return StageOf(s.DispatchedAt, s.EnRouteAt, s.OnSceneAt, nil) }

// StageStart is when the current stage began.
func (s *Summary) StageStart() time.Time {
	switch {
	case s.OnSceneAt != nil:
		return *s.OnSceneAt
	case s.EnRouteAt != nil:
		return *s.EnRouteAt
	case s.DispatchedAt != nil:
		return *s.DispatchedAt
	}
	return s.ReceivedAt
}
