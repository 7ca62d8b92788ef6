// Package web holds the templ components (layout, pages, fragments) and the
// view-model structs they take. Components format and escape; they never
// query anything.
package web

import (
	"time"

	"github.com/dvresponse/dvresponse/internal/i18n"

	"github.com/a-h/templ"
)

// Viewer is the logged-in user as pages show them.
type Viewer struct {
	Username  string
	Name      string
	Role      string // dispatcher, officer, supervisor, admin
	RoleLabel string
}

// Flash is a one-off message shown at the top of the next page.
type Flash struct {
	Kind    string // ok, error, warn, info
	Message string
}

// Page carries what the layout needs on every page.
type Page struct {
	Title    string
	Viewer   *Viewer // nil when nobody is logged in
	Nav      string  // key of the current navigation entry
	Flash    *Flash
	Location *time.Location
	Now      time.Time
	Lang     string // the page's language (en, ru, ky, ka)
	Path     string // the page's own address, to come back to after a language change; "" after a POST
}

// NavItem is one entry of the role's navigation; Label is a catalogue ID.
type NavItem struct {
	Key, Label, Href string
}

// Nav returns the navigation for the viewer's role.
func (p Page) NavItems() []NavItem {
	if p.Viewer == nil {
		return nil
	}
	switch p.Viewer.Role {
	case "dispatcher":
		return []NavItem{{"board", "nav.board", "/board"}}
	case "officer":
		return []NavItem{{"my", "nav.my", "/my"}, {"work", "nav.work", "/my/work"}}
	case "supervisor":
		return []NavItem{{"dashboard", "nav.dashboard", "/dashboard"}, {"board", "nav.board", "/board"},
			{"work", "nav.work_district", "/work"},
			{"orders", "nav.orders", "/orders/expiring"}, {"referrals", "nav.referrals", "/referrals/open"},
			{"audit", "nav.audit", "/audit"}}
	case "admin":
		return []NavItem{{"admin", "nav.admin", "/admin/"}, {"users", "nav.users", "/admin/users"},
			{"audit", "nav.audit", "/admin/audit"}}
	}
	return nil
}

// FormatTime shows t in the deployment's time zone, written as the page's
// language writes dates.
func (p Page) FormatTime(t time.Time) string {
	return i18n.Shared().Localizer(p.Lang).DateTime(t, p.Location)
}

// Option is one choice of a select field.
type Option struct {
	Value, Label string
}

// Field is one form field with the value the user typed and its message.
type Field struct {
	Name         string
	Label        string
	Type         string // text (default), number, password, select, checkbox, textarea
	Value        string // for a checkbox: "on" when checked
	Error        string
	Hint         string
	Required     bool
	MaxLen       int
	Options      []Option
	Autofocus    bool
	Autocomplete string
	Width        string // "full" spans the form grid
	Class        string // extra class on the input (e.g. history-src)
}

// ID is the element id of the field.
func (f Field) ID() string { return "f-" + f.Name }

// Form is a whole form page: fields with values and messages, plus a
// message for the form as a whole.
type Form struct {
	Action string
	Submit string
	Error  string // shown above the fields (e.g. database unavailable)
	Fields []Field
}

// ErrorPage is a full-page error (403, 404, 503 ...).
type ErrorPage struct {
	Page
	Status  int
	Heading string
	Message string
}

// LoginPage is the login form.
type LoginPage struct {
	Page
	Username string
	Error    string
	Next     string
}

// PasswordPage is the change-own-password form.
type PasswordPage struct {
	Page
	Form Form
}

// AdminHome lists the kinds of reference data and their counts.
type AdminHome struct {
	Page
	Kinds []AdminKind
}

// AdminKind is a link to one kind of reference data.
type AdminKind struct {
	Href, Title, Description string
	Count                    int
}

// RefList is the list page of one kind of reference data.
type RefList struct {
	Page
	Slug    string
	Title   string
	New     string // the create button's text, e.g. "New district"
	Columns []string
	Rows    []RefRow
}

// RefRow is one record in a RefList.
type RefRow struct {
	Href   string
	Cells  []string
	Badges []string // extra badges in the first cell (e.g. "IDP", "inactive")
}

// RefForm is the create/edit page of one record.
type RefForm struct {
	Page
	Slug         string
	Title        string
	Heading      string
	Form         Form
	DeleteAction string // empty when the record is new
}

// UserList is the administration list of users.
type UserList struct {
	Page
	Users []UserRow
}

// UserRow is one user in the list.
type UserRow struct {
	Href, Username, Name, Role, District string
	Disabled                             bool
}

// UserEdit is the page to create or edit a user.
type UserEdit struct {
	Page
	Heading  string
	Form     Form
	ID       int64 // 0 for a new user
	Disabled bool
	Locked   bool // locked after failed logins
	Password Form // the reset-password form (edit only)
}

// UnitRow is a unit on the board's units panel.
type UnitRow struct {
	CallSign, District, Status, StatusLabel, Incident string
	StatusSince                                       string // RFC 3339: the time in status ticks from it
	InStatus                                          string // the time in status when the page was made
}

// BoardPage is the dispatcher's live board.
type BoardPage struct {
	Page
	Live   LiveView
	Data   BoardData
	CanLog bool // the viewer may log calls
}

// MoveUnitPage asks to confirm moving a busy unit to an incident.
type MoveUnitPage struct {
	Page
	Heading, Message, Number string
	Action, UnitID, Back     string // the assign form's address and unit; the incident page
	Confirm, Cancel          string // the buttons' words
}

// LiveView is a region kept live by an event stream (templ Live).
type LiveView struct {
	ID       string // the region's element id ("board", "my")
	Page     string // the whole page, to come back to after signing in again
	Events   string // the event stream
	Fragment string // the region's content, re-read on every change
	Zone     string // IANA time zone in which "not live since" is told
	Username string // offered when signing in again
}

// MyPage is the officer's list of assigned incidents.
type MyPage struct {
	Page
	Live      LiveView
	Unit      string
	Incidents []MyRow
	Status    MyUnitStatus
}

// MyUnitStatus is the officer's own unit's status, how long it has been
// in it, and the statuses the officer may put it in now (none while it
// is on an incident).
type MyUnitStatus struct {
	CallSign    string
	Status      string // refdata.UnitStatus
	StatusSince string // ISO UTC
	InStatus    string
	Choices     []string // statuses to offer, as buttons
}

// MyRow is an incident on the officer's list, with its warnings
// (History.Warnings).
type MyRow struct {
	BoardRow
	History HistoryView
}

// Section is a group of form fields under a legend.
type Section struct {
	Legend string
	Fields []Field
}

// IntakePage is the call-intake form.
type IntakePage struct {
	Page
	Key        string    // the intake draft's key, also the idempotency key
	ReceivedAt time.Time // server-clock time the call was answered
	Error      string
	Sections   []Section
	History    HistoryView
}

// HistoryView is the officer-safety panel of earlier incidents.
type HistoryView struct {
	Searched  bool   // something was typed to search on
	Throttled string // the lookup was refused: too many in a short time
	Total     int    // matches in all, in and outside the viewer's area
	// Warnings are the officer-safety warnings (incident.Warnings), each
	// naming its source: the banner.
	Warnings []string
	// Duplicates are open incidents at the same flat or phone: the new
	// call may be a further call about one (intake only).
	Duplicates []DuplicateRow
	// Priors are the earlier incidents in the viewer's area matched on
	// more than a name; Namesakes those matched on a name alone.
	Priors, Namesakes []PriorRow
	// Elsewhere sums up matches outside the viewer's area per district,
	// without any detail; ElsewhereNamesakes the possible namesakes there.
	Elsewhere, ElsewhereNamesakes []AreaRow
	// ActiveOrders are protection orders in force here: shown first.
	ActiveOrders []OrderWarning
	// Victim is the victim across incidents (intake only): "same person
	// as in DV-...?" and the repeat counts (victims.go).
	Victim *VictimBox
}

// DuplicateRow is an open incident the call being typed may be about.
type DuplicateRow struct {
	Number, When string
	Action       string // where "add this call" posts the intake form
}

// PriorRow is one earlier incident in the history panel.
type PriorRow struct {
	Href, Number, When, Type, Priority, Disposition, MatchedOn string
	Weapons, HighDanger, Open                                  bool
	// Fill, for a prior at the same flat, fills the intake form's place
	// fields from it.
	Fill *FillRow
}

// FillRow is what "fill from history" copies into the intake form.
type FillRow struct {
	District, Settlement, Latitude, Longitude string
}

// AreaRow is what the panel says of matches outside the viewer's area.
type AreaRow struct {
	District    string // whom to call
	Count       int
	Weapons     bool
	HighDanger  bool
	ActiveOrder bool
	Class       string // the strongest match, worded
}

// IncidentView is the incident page.
type IncidentView struct {
	Page
	ID            int64
	Number        string
	Stage         string
	StageLabel    string
	Priority      string
	PriorityLevel int
	Type          string
	IsDV          bool
	HighDanger    bool
	WeaponsNow    bool // weapons mentioned in this call
	ChildrenNow   bool
	Facts         []KV // all fields, in order
	Units         []AssignedUnit
	Timeline      []TimelineRow
	History       HistoryView
	CanDispatch   bool
	Choices       []Option // units that can be assigned
	DispatchError string
	// Stages are the next-stage buttons for an officer (or a dispatcher
	// recording for a unit on the radio).
	Stages StagePanel
	// Panels are the feature sections (danger screen, protection orders,
	// referrals, corrections), rendered in order below the units.
	Panels []templ.Component
}

// KV is a labelled value on the incident page.
type KV struct {
	Label, Value string
	Warn         bool
	Key          string // what the value is (e.g. "address"), whatever the label's language
}

// AssignedUnit is a unit on the incident page.
type AssignedUnit struct {
	ID                         int64
	CallSign, Status, Assigned string
	Released                   string
	Active                     bool
}

// TimelineRow is one entry of the incident's timeline.
type TimelineRow struct {
	When, Who, What string
	ISO             string
}

// BoardRow is one open incident on the live board.
type BoardRow struct {
	ID                                                    int64
	Href, Number, Priority, PriorityLabel, Type, Location string
	PriorityLevel                                         int
	IDP, DV, HighDanger, Weapons, Order                   bool     // flags: incident.FlagsOf
	Warnings                                              []string // the flags' sources, worded
	// Address is where to go (the address, else the location notes),
	// empty when the viewer may not see a confidential one (then
	// AddressHidden); Navigate is a geo: URI where coordinates exist.
	Address, Navigate string
	AddressHidden     bool
	Confidential      bool // shown, but confidential: not to be disclosed
	Units             string
	Stage, StageLabel string
	StageSince        string // ISO UTC
	StageSinceText    string
	TargetS           int    // target of the running interval, 0 when none
	TimerClass        string // timer-ok, timer-amber, timer-red
	Elapsed           string
}

// BoardData is the part of the board that is refreshed on every change.
type BoardData struct {
	Awaiting  []BoardRow // calls no unit has been sent to, most urgent and oldest first
	Incidents []BoardRow // the others
	Units     []UnitRow
	Updated   string
	// Overdue are the area's overdue follow-ups and order checks;
	// NextDue (ISO) is when the next falls due ("" none).
	Overdue []WorkRow
	NextDue string
}

// RetryPage is shown when a form could not be handled because the system
// is unavailable: it carries everything that was sent, so "Send again"
// repeats the request without anyone typing it again.
type RetryPage struct {
	Page
	Status  int
	Heading string
	Action  string
	Message string
	Fields  []Option // name and value of each field sent
}

// StagePanel offers the next stage buttons of an incident.
type StagePanel struct {
	Action       string   // POST target
	Key          string   // idempotency key of this press
	Next         []Option // Value: stage, Label: button text
	Dispositions []Option // for "Cleared"
	Disposition  string   // the one chosen (kept when a press is refused)
	// ClearUnits, for a dispatcher or supervisor, are the units on the
	// incident, one of which (or "all") "Cleared" clears; an officer's
	// press clears their own unit.
	ClearUnits []Option
	ClearUnit  string // the one chosen
	Error      string
	Done       string // e.g. "On scene was already recorded at 21:40:05"
}
