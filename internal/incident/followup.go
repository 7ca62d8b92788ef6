package incident

import (
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// Follow-through (issue 17). A danger screen, a DV incident or a new
// incident at a flat with DV history schedules follow-up tasks: contacts
// with the victim, each due by a time and assigned to a unit or to the
// district's pool, each closed with an outcome. A protection order in
// force schedules checks of its conditions.

// TaskReason is why a follow-up task exists, and with it its schedule.
type TaskReason string

// The reasons.
const (
	HighDangerFollowUp TaskReason = "high_danger" // a screen found high danger
	StandardFollowUp   TaskReason = "standard"    // any other DV incident or screen
	RescreenFollowUp   TaskReason = "rescreen"    // a new incident at a flat with DV history
)

// TaskReasons are the reasons in the order administrators see them.
var TaskReasons = []TaskReason{HighDangerFollowUp, StandardFollowUp, RescreenFollowUp}

// Outcome closes a follow-up task.
type Outcome string

// The outcomes an officer records, and the one a later screen sets.
const (
	ReachedSafe   Outcome = "reached_safe"
	NotReached    Outcome = "not_reached"
	UnsafeContact Outcome = "unsafe_contact"
	Rescreened    Outcome = "rescreened" // set by filing the danger screen
	Superseded    Outcome = "superseded" // a later high-danger screen rescheduled
)

// RecordedOutcomes are those an officer records with a button; a
// re-screen is recorded by filing the screen itself.
var RecordedOutcomes = []Outcome{ReachedSafe, NotReached, UnsafeContact}

// CheckOutcome reads an outcome posted by a button: one of
// RecordedOutcomes, else an error (no outcome, no close).
func CheckOutcome(s string) (Outcome, error) {
	for _, o := range RecordedOutcomes {
		if string(o) == s {
			return o, nil
		}
	}
	return "", apperr.New(apperr.Invalid, "followup.err.outcome")
}

// Schedule is when the tasks of one reason (or the checks of one order
// kind) fall due: the first First after the trigger, then one every Every
// while within For of it (Every 0: one only). Ends, when not zero, stops
// the schedule at that time (an order's end).
type Schedule struct {
	First, Every, For time.Duration
}

// Hours builds a schedule from whole hours, as stored.
func Hours(first, every, within int) Schedule {
	return Schedule{First: time.Duration(first) * time.Hour, Every: time.Duration(every) * time.Hour,
		For: time.Duration(within) * time.Hour}
}

// DefaultSchedules are the follow-up schedules migration 0021 stores.
var DefaultSchedules = map[TaskReason]Schedule{
	HighDangerFollowUp: Hours(72, 168, 1344),
	StandardFollowUp:   Hours(720, 0, 0),
	RescreenFollowUp:   Hours(24, 0, 0),
}

// DefaultCheckSchedule is the order-check schedule migration 0021 stores
// for every kind: the first check within 24 h of issue, then every 72 h.
var DefaultCheckSchedule = Hours(24, 72, 0)

// maxDue bounds a schedule's length (a mistyped one must not create
// thousands of rows).
const maxDue = 400

// Due lists the due times of a follow-up schedule from anchor.
func (s Schedule) Due(anchor time.Time) []time.Time {
	out := []time.Time{anchor.Add(s.First)}
	if s.Every <= 0 {
		return out
	}
	for t := anchor.Add(s.First + s.Every); t.Sub(anchor) <= s.For && len(out) < maxDue; t = t.Add(s.Every) {
		out = append(out, t)
	}
	return out
}

// ChecksUntil lists an order check schedule's due times from the order's
// issue until its end (a check due at or after the end is not made).
func (s Schedule) ChecksUntil(issued, end time.Time) []time.Time {
	var out []time.Time
	if s.Every <= 0 {
		s.Every = DefaultCheckSchedule.Every
	}
	for t := issued.Add(s.First); t.Before(end) && len(out) < maxDue; t = t.Add(s.Every) {
		out = append(out, t)
	}
	return out
}

// CheckResult is the result of an order check.
type CheckResult string

// The results.
const (
	Complied        CheckResult = "complied"
	BreachFound     CheckResult = "breach"
	CheckNotReached CheckResult = "not_reached"
	CheckCancelled  CheckResult = "cancelled" // the order ended early
)

// CheckResults are the results an officer records, in button order.
var CheckResults = []CheckResult{Complied, BreachFound, CheckNotReached}

// ParseCheckResult reads a result posted by a button.
func ParseCheckResult(s string) (CheckResult, error) {
	for _, r := range CheckResults {
		if string(r) == s {
			return r, nil
		}
	}
	return "", apperr.New(apperr.Invalid, "followup.err.result")
}

// Who found a violation of an order.
const (
	FoundByPolice = "police_check"
	FoundByVictim = "victim"
	FoundByOthers = "others"
)

// ParseFoundBy reads who reported a violation linked by hand: the victim
// or others (a police check records its own).
func ParseFoundBy(s string) (string, error) {
	switch s {
	case FoundByVictim, FoundByOthers:
		return s, nil
	}
	return "", &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
		Fields: map[string]apperr.Msg{"found_by": apperr.M("followup.err.found_by")}}
}

// WorkKind tells a follow-up task from an order check in a work list.
type WorkKind string

// The kinds of work.
const (
	FollowUpWork   WorkKind = "followup"
	OrderCheckWork WorkKind = "check"
)

// WorkItem is one open follow-up task or order check in a work list.
type WorkItem struct {
	Kind       WorkKind
	ID         int64
	Reason     string // a TaskReason, or the order's kind for a check
	IncidentID *int64 // the task's incident, or the order's
	Number     string // the incident's number, or the order's
	OrderID    *int64
	DistrictID *int64
	UnitID     *int64 // nil: the district's pool
	CallSign   string
	DueAt      time.Time
}

// Overdue reports whether the item is overdue at now: its due time has
// come (at the due time itself it is overdue).
func (w WorkItem) Overdue(now time.Time) bool { return !now.Before(w.DueAt) }

// CloseResult says what closing a task or recording a check did.
type CloseResult struct {
	AlreadyDone bool      // closed before (a retry, or another officer)
	At          time.Time // when it was closed
	Outcome     string    // the outcome or result that stands
	// ViolationID is the incident a breach opened (new or, on a retry,
	// the one the first press opened).
	ViolationID *int64
}
