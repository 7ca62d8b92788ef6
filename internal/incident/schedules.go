package incident

import (
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// Schedules as an administrator sets them (follow_up_schedules and
// order_check_schedules, in whole hours), with the limits of the tables'
// CHECK constraints and of the expansion into due times (maxDue).

// Limits of a schedule's hours.
const (
	MaxScheduleHours = 8760 // a year
	MaxScheduled     = maxDue
)

// FollowUpHours is the follow-up schedule of one reason: the first task
// First hours after the trigger, then one every Every hours while within
// For hours of the trigger (Every 0: one task, For unused).
type FollowUpHours struct {
	Reason            TaskReason
	First, Every, For int
	UpdatedAt         time.Time // zero: never stored (the default applies)
}

// CheckHours is the check schedule of one order kind: the first check
// First hours after issue, then one every Every hours until the order ends.
type CheckHours struct {
	Kind         OrderKind
	First, Every int
	UpdatedAt    time.Time
}

// DefaultFollowUpHours is the default of reason, as migration 0021
// stores it.
func DefaultFollowUpHours(reason TaskReason) FollowUpHours {
	s := DefaultSchedules[reason]
	return FollowUpHours{Reason: reason, First: int(s.First / time.Hour), Every: int(s.Every / time.Hour), For: int(s.For / time.Hour)}
}

// DefaultCheckHours is the default check schedule of kind.
func DefaultCheckHours(kind OrderKind) CheckHours {
	return CheckHours{Kind: kind, First: int(DefaultCheckSchedule.First / time.Hour), Every: int(DefaultCheckSchedule.Every / time.Hour)}
}

// Schedule is h as due times are computed from it.
func (h FollowUpHours) Schedule() Schedule { return Hours(h.First, h.Every, h.For) }

// Tasks is how many tasks one trigger creates (Due's length, before its
// bound).
func (h FollowUpHours) Tasks() int {
	if h.Every <= 0 || h.For < h.First+h.Every {
		return 1
	}
	return 1 + (h.For-h.First)/h.Every
}

// Normal is h as stored: For is 0 when there is no repeat.
func (h FollowUpHours) Normal() FollowUpHours {
	if h.Every == 0 {
		h.For = 0
	}
	return h
}

// Same reports whether h and o schedule alike (UpdatedAt aside).
func (h FollowUpHours) Same(o FollowUpHours) bool {
	return h.First == o.First && h.Every == o.Every && h.For == o.For
}

// Validate adds a message to f for each bad value of h, under the field
// names field("first"), field("every") and field("for").
func (h FollowUpHours) Validate(f apperr.Fields, field func(string) string) {
	ok := inRange(f, field("first"), h.First, 1)
	ok = inRange(f, field("every"), h.Every, 0) && ok
	ok = inRange(f, field("for"), h.For, 0) && ok
	if !ok || h.Every == 0 {
		return
	}
	// A repeat only falls within For when For reaches the first repeat;
	// short of it, Every would be a setting without effect.
	if least := h.First + h.Every; h.For < least {
		f.Add(field("for"), "admin.schedules.err.for_short", "Every", h.Every, "Least", least)
		return
	}
	if n := h.Tasks(); n > MaxScheduled {
		f.Add(field("every"), "admin.schedules.err.too_many", "Total", n, "Max", MaxScheduled)
	}
}

// Same reports whether h and o schedule alike (UpdatedAt aside).
func (h CheckHours) Same(o CheckHours) bool { return h.First == o.First && h.Every == o.Every }

// MaxChecks is how many checks an order of h's kind gets at most (the
// longest order: maxSpan).
func (h CheckHours) MaxChecks() int {
	span := h.maxSpan()
	if h.Every <= 0 || span <= h.First {
		return 0
	}
	return 1 + (span-1-h.First)/h.Every
}

// Validate adds a message to f for each bad value of h, under the field
// names field("first") and field("every").
func (h CheckHours) Validate(f apperr.Fields, field func(string) string) {
	ok := inRange(f, field("first"), h.First, 1)
	if !inRange(f, field("every"), h.Every, 1) || !ok {
		return
	}
	if n := h.MaxChecks(); n > MaxScheduled {
		f.Add(field("every"), "admin.schedules.err.too_many_checks", "Days", h.maxSpan()/24, "Total", n, "Max", MaxScheduled)
	}
}

// maxSpan is the longest time, in hours, from an order's issue to its
// end: its kind's maximum (a month as 31 days), started as far ahead as
// allowed, an hour for a clock change.
func (h CheckHours) maxSpan() int {
	span := int(MaxOrderStartFuture/time.Hour) + 1
	if r, ok := RuleFor(h.Kind); ok {
		span += (r.Max.Months*31 + r.Max.Days) * 24
	}
	return span
}

// inRange adds a message to f unless lo <= n <= MaxScheduleHours, and
// reports whether n is in range.
func inRange(f apperr.Fields, field string, n, lo int) bool {
	if n < lo || n > MaxScheduleHours {
		f.Add(field, "admin.schedules.err.range", "Min", lo, "Max", MaxScheduleHours)
		return false
	}
	return true
}

// ChecksAfter lists the due times of an order's further checks after its
// last check (due at last), every Every until end: an extension's checks
// follow on from those already made, by the schedule in force.
func (s Schedule) ChecksAfter(last, end time.Time) []time.Time {
	if s.Every <= 0 {
		s.Every = DefaultCheckSchedule.Every
	}
	var out []time.Time
	for t := last.Add(s.Every); t.Before(end) && len(out) < maxDue; t = t.Add(s.Every) {
		out = append(out, t)
	}
	return out
}

// ScheduleStamp names the stored state of the schedules (their update
// times): a form carries the stamp of the schedules it was filled in
// from, so that saving it over another administrator's later change is
// refused instead of silently undoing it.
func ScheduleStamp(fs []FollowUpHours, cs []CheckHours) string {
	var b strings.Builder
	for _, h := range fs {
		b.WriteString(strconv.FormatInt(h.UpdatedAt.UnixMicro(), 36) + ".")
	}
	for _, h := range cs {
		b.WriteString(strconv.FormatInt(h.UpdatedAt.UnixMicro(), 36) + ".")
	}
	return b.String()
}
