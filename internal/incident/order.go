package incident

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/match"
)

// OrderKind is the kind of a protection order, and with it the law that
// sets its length.
type OrderKind string

// The kinds of protection order police record.
const (
	TemporaryOrder   OrderKind = "temporary"
	RestrainingOrder OrderKind = "restraining"
	CourtOrder       OrderKind = "court"
)

// Span is a length of time in calendar terms: months, then days, counted
// in the deployment's time zone (so "3 days" from 21:40 ends at 21:40).
type Span struct {
	Months, Days int
}

// After is t plus the span, counted in loc.
func (s Span) After(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).AddDate(0, s.Months, s.Days)
}

// String says the span for people: "3 days", "6 months".
func (s Span) String() string {
	var parts []string
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	if s.Months != 0 {
		parts = append(parts, plural(s.Months, "month"))
	}
	if s.Days != 0 || len(parts) == 0 {
		parts = append(parts, plural(s.Days, "day"))
	}
	return strings.Join(parts, " ")
}

// OrderRule is how long an order of one kind lasts, and the law it
// follows. An order's length is counted from its start to its end, and
// extensions count towards the maximum.
type OrderRule struct {
	Kind    OrderKind
	Label   string
	Law     string
	Default Span // the end the form proposes when none is typed
	Min     Span // shortest allowed length
	Max     Span // longest allowed length, extensions included
}

// OrderRules are the kinds of order, in the order the form offers them.
//
//   - temporary: Kyrgyzstan's temporary protection order (временное
//     охранное предписание), issued by the internal affairs bodies under
//     the Law of the Kyrgyz Republic "On protection and defence against
//     family violence" (No. 63 of 27 April 2017): issued for three days
//     and extendable, in total for at most 30 days.
//   - restraining: Georgia's restrictive (restraining) order, issued by a
//     police officer at the scene under the Law of Georgia "On elimination
//     of violence against women and/or domestic violence, protection and
//     support of victims of such violence" (2006): in force for up to one
//     month, taken here as 30 days. The law sets no minimum; one day keeps
//     a slip of the date (an end on the day of issue) out.
//   - court: a court's protective order under the same laws, recorded by
//     police so that the history lookup warns of it: up to six months. Its
//     dates are the court's; at least one day guards against slips.
var OrderRules = []OrderRule{
	{Kind: TemporaryOrder, Label: "Temporary protection order (police, Kyrgyzstan)",
		Law:     "Law of the Kyrgyz Republic on protection and defence against family violence (2017): 3 days, extendable to 30 days in total",
		Default: Span{Days: 3}, Min: Span{Days: 3}, Max: Span{Days: 30}},
	{Kind: RestrainingOrder, Label: "Restraining order (police, Georgia)",
		Law:     "Law of Georgia on elimination of violence against women and/or domestic violence (2006): up to one month",
		Default: Span{Days: 30}, Min: Span{Days: 1}, Max: Span{Days: 30}},
	{Kind: CourtOrder, Label: "Court protective order (recorded by police)",
		Law:     "Protective order of a court: up to 6 months",
		Default: Span{Months: 6}, Min: Span{Days: 1}, Max: Span{Months: 6}},
}

// DefaultOrderKind is the kind the form proposes.
const DefaultOrderKind = TemporaryOrder

// RuleFor returns the rule of kind k.
func RuleFor(k OrderKind) (OrderRule, bool) {
	for _, r := range OrderRules {
		if r.Kind == k {
			return r, true
		}
	}
	return OrderRule{}, false
}

// Label is the kind's name for people.
func (k OrderKind) Label() string {
	if r, ok := RuleFor(k); ok {
		return r.Label
	}
	return string(k)
}

// Limits on an order's start: a police order is recorded when it is
// issued, at most a day late; a court order may start some days ahead.
const (
	MaxOrderStartPast   = 24 * time.Hour
	MaxOrderStartFuture = 7 * 24 * time.Hour
)

// Lengths of an early end's reason.
const (
	MinEndReason = 5
	MaxEndReason = 500
)

// Order is a protection order.
type Order struct {
	ID             int64
	Number         string
	Kind           OrderKind
	IncidentID     *int64
	IncidentNumber string
	DistrictID     *int64
	DistrictCode   string
	ProtectedName  string
	RestrainedName string
	Address        string
	Conditions     string
	StartsAt       time.Time
	EndsAt         time.Time
	IssuedBy       string // username
	IssuedByName   string // full name, or username
	IssuedAt       time.Time
	EndedAt        *time.Time
	EndReason      string
	Extensions     int
}

// Active reports whether the order is still to be enforced at now: not
// ended early and not expired (an order starting later counts as active,
// so that it is not forgotten).
func (o *Order) Active(now time.Time) bool {
	return o.EndedAt == nil && o.EndsAt.After(now)
}

// InForceAt reports whether the order was in force at t.
func (o *Order) InForceAt(t time.Time) bool {
	return !o.StartsAt.After(t) && o.EndsAt.After(t) && (o.EndedAt == nil || o.EndedAt.After(t))
}

// Status says where the order stands at now, for people.
func (o *Order) Status(now time.Time) string {
	switch {
	case o.EndedAt != nil:
		return "Ended early"
	case !o.EndsAt.After(now):
		return "Expired"
	case o.StartsAt.After(now):
		return "Not yet in force"
	}
	return "In force"
}

// OrderSummary is an active order found by the history lookup.
type OrderSummary struct {
	ID             int64
	Number         string
	Kind           OrderKind
	ProtectedName  string
	RestrainedName string
	StartsAt       time.Time
	EndsAt         time.Time
	MatchedOn      []string // address, protected person, restrained person

	// What decides who may see it: its incident's district (else the
	// order's), creator, units and confidential address.
	DistrictID   *int64
	DistrictName string
	IncidentID   *int64
	CreatedBy    *int64
	UnitIDs      []int64
	Confidential bool
}

// Strong reports whether the order matched on more than one name: at the
// address, or on both its parties. An order found by one name alone is a
// possible namesake.
func (o *OrderSummary) Strong() bool {
	var names int
	for _, m := range o.MatchedOn {
		if m == "address" {
			return true
		}
		names++
	}
	return names >= 2
}

// FormatOrderNumber is the order's human-readable number, e.g.
// PO-2026-000012.
func FormatOrderNumber(year int, seq int64) string {
	return fmt.Sprintf("PO-%04d-%06d", year, seq)
}

// OrderTimeLayout is the layout of an order's start and end in a form, as
// <input type="datetime-local"> sends it, in the deployment's time zone.
const OrderTimeLayout = ManualTimeLayout

// OrderForm is the form that records an order, as typed.
type OrderForm struct {
	Kind           string
	ProtectedName  string
	RestrainedName string
	Address        string
	Conditions     string
	StartsAt       string // empty: now
	EndsAt         string // empty: the kind's default length
}

// NewOrder is a validated order, ready to store.
type NewOrder struct {
	Kind           OrderKind
	IncidentID     *int64
	DistrictID     *int64
	ProtectedName  string
	RestrainedName string
	Address        string
	Conditions     string
	StartsAt       time.Time
	EndsAt         time.Time
	AddressKey     string
	ProtectedKey   string
	RestrainedKey  string
}

// Validate checks the form against the rules of its kind and returns the
// order to store. now is the server clock; times are read in loc.
func (f OrderForm) Validate(now time.Time, loc *time.Location) (NewOrder, error) {
	if loc == nil {
		loc = time.UTC
	}
	e := apperr.Fields{}
	text := func(field, v string, max int) string {
		v = strings.TrimSpace(v)
		if c := utf8.RuneCountInString(v); c > max {
			e.Add(field, "err.text.too_long", "Max", max, "Now", c)
		}
		return v
	}
	n := NewOrder{
		ProtectedName:  text("protected_name", f.ProtectedName, 150),
		RestrainedName: text("restrained_name", f.RestrainedName, 150),
		Address:        text("address", f.Address, 300),
		Conditions:     text("conditions", f.Conditions, 2000),
	}
	if n.ProtectedName == "" {
		e.Add("protected_name", "order.err.protected")
	}
	if n.RestrainedName == "" {
		e.Add("restrained_name", "order.err.restrained")
	}
	rule, ok := RuleFor(OrderKind(strings.TrimSpace(f.Kind)))
	if !ok {
		e.Add("kind", "order.err.kind")
	}
	n.Kind = rule.Kind

	start, startOK := now.UTC(), true
	if s := strings.TrimSpace(f.StartsAt); s != "" {
		t, err := time.ParseInLocation(OrderTimeLayout, s, loc)
		switch {
		case err != nil:
			e.Add("starts_at", "order.err.start_format")
			startOK = false
		case t.Before(now.Add(-MaxOrderStartPast)):
			e.Add("starts_at", "order.err.start_past")
			startOK = false
		case t.After(now.Add(MaxOrderStartFuture)):
			e.Add("starts_at", "order.err.start_future")
			startOK = false
		default:
			start = t.UTC()
		}
	}
	n.StartsAt = start
	if ok && startOK {
		if s := strings.TrimSpace(f.EndsAt); s == "" {
			n.EndsAt = rule.Default.After(start, loc).UTC()
		} else if t, err := time.ParseInLocation(OrderTimeLayout, s, loc); err != nil {
			e.Add("ends_at", "order.err.end_format")
		} else if msg := rule.checkLength(start, t, loc); msg.ID != "" {
			e.Add("ends_at", msg.ID, msg.Args...)
		} else {
			n.EndsAt = t.UTC()
		}
	}
	// An order's address matches the flat (match.Address's first key).
	n.AddressKey, _ = match.Address(n.Address)
	n.ProtectedKey = match.Name(n.ProtectedName)
	n.RestrainedKey = match.Name(n.RestrainedName)
	return n, e.Err()
}

// checkLength says what is wrong with an order of this rule running from
// start to end, or returns a message with no ID.
func (r OrderRule) checkLength(start, end time.Time, loc *time.Location) apperr.Msg {
	switch {
	case !end.After(start):
		return apperr.M("order.err.end_before_start")
	case end.Before(r.Min.After(start, loc)):
		unit, n := r.Min.count(start, loc)
		return apperr.M("order.err.min_"+unit, "Count", n)
	case end.After(r.Max.After(start, loc)):
		unit, n := r.Max.count(start, loc)
		return apperr.M("order.err.max_"+unit, "Count", n, "Until", r.Max.After(start, loc).Format("2006-01-02 15:04"))
	}
	return apperr.Msg{}
}

// count says the span in one unit for a message: "months" or "days" and
// how many. A span of months and days (no rule has one) is counted in
// days from start.
func (s Span) count(start time.Time, loc *time.Location) (unit string, n int) {
	switch {
	case s.Days == 0 && s.Months != 0:
		return "months", s.Months
	case s.Months == 0:
		return "days", s.Days
	}
	if loc == nil {
		loc = time.UTC
	}
	a := start.In(loc)
	b := s.After(start, loc)
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return "days", int(db.Sub(da).Hours() / 24)
}

// MaxEnd is the latest end the order may be extended to.
func (o *Order) MaxEnd(loc *time.Location) time.Time {
	r, ok := RuleFor(o.Kind)
	if !ok {
		return o.EndsAt
	}
	return r.Max.After(o.StartsAt, loc)
}

// ParseOrderTime reads a date and time typed into an order form, in loc.
func ParseOrderTime(field, v string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{field: apperr.M("order.err.new_end_empty")}}
	}
	t, err := time.ParseInLocation(OrderTimeLayout, v, loc)
	if err != nil {
		return time.Time{}, &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{field: apperr.M("order.err.new_end_format")}}
	}
	return t.UTC(), nil
}

// CheckExtend says whether the order may be extended to newEnd at now: it
// must still be active, the new end must be after the old one, and the
// whole length, from the start, within the kind's maximum.
func (o *Order) CheckExtend(newEnd, now time.Time, loc *time.Location) error {
	if err := o.checkActive(now); err != nil {
		return err
	}
	fail := func(msg apperr.Msg) error {
		return &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{"ends_at": msg}}
	}
	if !newEnd.After(o.EndsAt) {
		return fail(apperr.M("order.err.new_end_early", "End", o.EndsAt.In(locOr(loc)).Format("2006-01-02 15:04")))
	}
	r, ok := RuleFor(o.Kind)
	if !ok {
		return apperr.New(apperr.Invalid, "order.err.no_extend")
	}
	if msg := r.checkLength(o.StartsAt, newEnd, loc); msg.ID != "" {
		return fail(msg)
	}
	return nil
}

// CheckEnd checks that the order may be ended early at now for reason
// and returns the reason as it is stored.
func (o *Order) CheckEnd(reason string, now time.Time) (string, error) {
	if err := o.checkActive(now); err != nil {
		return "", err
	}
	return checkEndReason(reason)
}

func checkEndReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if c := utf8.RuneCountInString(reason); c < MinEndReason || c > MaxEndReason {
		return "", &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{"reason": apperr.M("order.err.end_reason", "Min", MinEndReason, "Max", MaxEndReason)}}
	}
	return reason, nil
}

func (o *Order) checkActive(now time.Time) error {
	switch {
	case o.EndedAt != nil:
		return apperr.New(apperr.Conflict, "order.err.ended")
	case !o.EndsAt.After(now):
		return apperr.New(apperr.Conflict, "order.err.expired")
	}
	return nil
}

// CheckViolationLink says whether order o may be linked as the order an
// incident received at receivedAt violated: it must have been in force
// when the call came in, or still be active now.
func (o *Order) CheckViolationLink(receivedAt, now time.Time) error {
	if o.InForceAt(receivedAt) || o.Active(now) {
		return nil
	}
	return &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
		Fields: map[string]apperr.Msg{"order": apperr.M("order.err.not_in_force", "Number", o.Number)}}
}

// IsViolationType reports whether an incident type reports a violation
// of a protection order: the code PO-VIOL, or a name that says so.
func IsViolationType(code, name string) bool {
	return strings.EqualFold(code, "PO-VIOL") || strings.Contains(strings.ToLower(name), "protection order")
}

func locOr(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
