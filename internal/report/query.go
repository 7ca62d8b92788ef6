package report

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// Date is a calendar day in the deployment's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateLayout is how dates are written in queries and results.
const DateLayout = "2006-01-02"

// ParseDate reads a date written YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date written YYYY-MM-DD", s)
	}
	return DateOf(t, time.UTC), nil
}

// DateOf is the calendar day of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// String writes d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Start is the first instant of d in loc (midnight, or the first instant
// after a daylight-saving gap).
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays is the day n days after d (before, for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC), time.UTC)
}

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.noon().Before(e.noon()) }

// DaysUntil is the number of days from d to e (negative when e is earlier).
func (d Date) DaysUntil(e Date) int { return int(e.noon().Sub(d.noon()).Round(time.Hour).Hours() / 24) }

func (d Date) noon() time.Time { return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC) }

// ISOWeek is the ISO 8601 week of d, e.g. "2026-W07": weeks start on
// Monday and belong to the year that holds their Thursday.
func (d Date) ISOWeek() string {
	y, w := d.noon().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// WeekKey is the ISO week of the local day of t, e.g. "2026-W07".
func WeekKey(t time.Time, loc *time.Location) string { return DateOf(t, loc).ISOWeek() }

// GroupBy is what a report's rows are grouped by.
type GroupBy string

// The groupings. Every one but ByAll is a column of the incidents (the
// week and shift of received_at in the deployment's time zone).
const (
	ByPriority   GroupBy = "priority"
	ByDistrict   GroupBy = "district"
	BySettlement GroupBy = "settlement"
	ByType       GroupBy = "type"
	ByWeek       GroupBy = "week"
	ByShift      GroupBy = "shift"
	ByAll        GroupBy = "all" // one group, key "all"
)

// GroupBys lists every grouping; ByPriority is the default (targets are
// set per priority).
var GroupBys = []GroupBy{ByPriority, ByDistrict, BySettlement, ByType, ByWeek, ByShift, ByAll}

// Shift is a working shift of the control room. dvresponse knows two
// 12-hour shifts, by the local time (deployment's time zone) an incident
// was received: day from 08:00 to 20:00 and night from 20:00 to 08:00.
// Shift and date are independent: a night-shift call received at 01:00
// belongs to that calendar day, like every other call.
type Shift string

// The shifts.
const (
	DayShift   Shift = "day"
	NightShift Shift = "night"
)

// Shifts lists the shifts in display order.
var Shifts = []Shift{DayShift, NightShift}

// Shift boundaries, local hours: day is [DayStartHour, NightStartHour).
const (
	DayStartHour   = 8
	NightStartHour = 20
)

// ShiftOf is the shift during which local time t.In(loc) falls.
func ShiftOf(t time.Time, loc *time.Location) Shift {
	if h := t.In(loc).Hour(); h >= DayStartHour && h < NightStartHour {
		return DayShift
	}
	return NightShift
}

// Label is the shift's name for people.
func (s Shift) Label() string {
	switch s {
	case DayShift:
		return fmt.Sprintf("Day (%02d:00–%02d:00)", DayStartHour, NightStartHour)
	case NightShift:
		return fmt.Sprintf("Night (%02d:00–%02d:00)", NightStartHour, DayStartHour)
	}
	return string(s)
}

// Filters narrow the incidents of a report; the zero value selects all.
// Ids are those of the reference data; conditions combine with AND.
type Filters struct {
	DistrictID   *int64 // incidents.district_id
	SettlementID *int64 // incidents.settlement_id
	IDPOnly      bool   // incidents in an IDP settlement only
	Priority     *int   // incidents.priority
	TypeID       *int64 // incidents.type_id
	DVOnly       bool   // incident types marked domestic violence only
	Shift        Shift  // "" for every shift
	UnitID       *int64 // incidents the unit was ever assigned to
}

// Query is one report: incidents received from the start of From to the
// end of To (both whole local days, inclusive) in Location, grouped and
// filtered.
type Query struct {
	From, To Date
	Location *time.Location
	GroupBy  GroupBy
	Filters
}

// Limits and defaults of a query.
const (
	DefaultDays = 28  // without dates: the 28 days ending today
	MaxDays     = 731 // at most two years in one report
)

// Range is the instants the query selects by received_at: [start, end).
func (q Query) Range() (start, end time.Time) {
	return q.From.Start(q.Location), q.To.AddDays(1).Start(q.Location)
}

// Days is the number of days the query covers.
func (q Query) Days() int { return q.From.DaysUntil(q.To) + 1 }

// Validate checks a query built in code; ParseQuery's queries are valid.
func (q Query) Validate() error {
	f := apperr.Fields{}
	q.check(f)
	return invalid(f)
}

func (q Query) check(f apperr.Fields) {
	if q.Location == nil {
		f.Add("time_zone", "report.err.no_zone")
	}
	switch {
	case q.From.IsZero():
		f.Add("from", "report.err.from")
	case q.To.IsZero():
		f.Add("to", "report.err.to")
	case q.To.Before(q.From):
		f.Add("to", "report.err.order")
	case q.Days() > MaxDays:
		f.Add("to", "report.err.span", "Max", MaxDays, "Days", q.Days())
	}
	if !slices.Contains(GroupBys, q.GroupBy) {
		f.Add("group_by", "report.err.group_by", "List", joinGroupBys())
	}
	if q.Shift != "" && !slices.Contains(Shifts, q.Shift) {
		f.Add("shift", "report.err.shift")
	}
	if q.Priority != nil && (*q.Priority < 1 || *q.Priority > refdata.MaxLevel) {
		f.Add("priority", "report.err.priority")
	}
	for name, id := range map[string]*int64{"district": q.DistrictID, "settlement": q.SettlementID, "type": q.TypeID, "unit": q.UnitID} {
		if id != nil && *id <= 0 {
			f.Add(name, "err.choose_list_or_empty")
		}
	}
}

func joinGroupBys() string {
	s := make([]string, len(GroupBys))
	for i, g := range GroupBys {
		s[i] = string(g)
	}
	return strings.Join(s, ", ")
}

// invalid turns field messages into one Invalid error whose message names
// every parameter in error (the per-parameter messages are its Fields),
// for pages and command lines that show no form.
func invalid(f apperr.Fields) error {
	if len(f) == 0 {
		return nil
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return &apperr.Error{Code: apperr.Invalid, Message: "report.err.invalid", Args: []any{"Params", strings.Join(keys, ", ")},
		Fields: f}
}

// Parameter names of a query, shared by the dashboard, the exports and the
// command line (whose flags are the same names with dashes).
const (
	ParamFrom       = "from"       // YYYY-MM-DD; default: DefaultDays-1 days before to
	ParamTo         = "to"         // YYYY-MM-DD; default: today
	ParamGroupBy    = "group_by"   // a GroupBy; default priority
	ParamDistrict   = "district"   // district id
	ParamSettlement = "settlement" // settlement id
	ParamIDPOnly    = "idp_only"   // 1/true/on/yes
	ParamPriority   = "priority"   // level 1-refdata.MaxLevel
	ParamType       = "type"       // incident type id
	ParamDVOnly     = "dv_only"    // 1/true/on/yes; otherwise all calls
	ParamShift      = "shift"      // day or night
	ParamUnit       = "unit"       // unit id
)

// ParseQuery reads a query from parameters (a URL's query, or the
// command line's flags). Dates are days in loc; without them the report
// covers the DefaultDays days ending on now's day. The error is Invalid,
// with a message per parameter.
func ParseQuery(v url.Values, loc *time.Location, now time.Time) (Query, error) {
	if loc == nil {
		loc = time.UTC
	}
	q := Query{Location: loc, GroupBy: ByPriority}
	f := apperr.Fields{}
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	date := func(k string) Date {
		s := get(k)
		if s == "" {
			return Date{}
		}
		d, err := ParseDate(s)
		if err != nil {
			f.Add(k, "report.err.date")
		}
		return d
	}
	q.From, q.To = date(ParamFrom), date(ParamTo)
	if _, bad := f[ParamTo]; q.To.IsZero() && !bad {
		q.To = DateOf(now, loc)
	}
	if _, bad := f[ParamFrom]; q.From.IsZero() && !bad {
		q.From = q.To.AddDays(-(DefaultDays - 1))
	}
	if s := get(ParamGroupBy); s != "" {
		q.GroupBy = GroupBy(strings.ToLower(s))
	}
	flag := func(k string) bool {
		switch strings.ToLower(get(k)) {
		case "", "0", "false", "off", "no":
			return false
		case "1", "true", "on", "yes":
			return true
		}
		f.Add(k, "report.err.flag")
		return false
	}
	q.IDPOnly, q.DVOnly = flag(ParamIDPOnly), flag(ParamDVOnly)
	id := func(k string) *int64 {
		s := get(k)
		if s == "" {
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			f.Add(k, "err.choose_list_or_empty")
			return nil
		}
		return &n
	}
	q.DistrictID, q.SettlementID, q.TypeID, q.UnitID = id(ParamDistrict), id(ParamSettlement), id(ParamType), id(ParamUnit)
	if s := get(ParamPriority); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			f.Add(ParamPriority, "report.err.priority")
		} else {
			q.Priority = &n
		}
	}
	q.Shift = Shift(strings.ToLower(get(ParamShift)))
	q.check(f) // keeps the first message of each parameter
	return q, invalid(f)
}

// Values is the query as parameters; ParseQuery(q.Values(), ...) gives q
// back. Unset filters are left out.
func (q Query) Values() url.Values {
	v := url.Values{}
	v.Set(ParamFrom, q.From.String())
	v.Set(ParamTo, q.To.String())
	v.Set(ParamGroupBy, string(q.GroupBy))
	for k, id := range map[string]*int64{ParamDistrict: q.DistrictID, ParamSettlement: q.SettlementID, ParamType: q.TypeID, ParamUnit: q.UnitID} {
		if id != nil {
			v.Set(k, strconv.FormatInt(*id, 10))
		}
	}
	if q.Priority != nil {
		v.Set(ParamPriority, strconv.Itoa(*q.Priority))
	}
	if q.IDPOnly {
		v.Set(ParamIDPOnly, "1")
	}
	if q.DVOnly {
		v.Set(ParamDVOnly, "1")
	}
	if q.Shift != "" {
		v.Set(ParamShift, string(q.Shift))
	}
	return v
}

// filterValues are the query's filters as parameters (no dates or
// grouping), for results and audit records.
func (q Query) filterValues() map[string]string {
	out := map[string]string{}
	for k, vs := range q.Values() {
		switch k {
		case ParamFrom, ParamTo, ParamGroupBy:
			continue
		}
		out[k] = vs[0]
	}
	return out
}

// AuditDetail describes the query for the audit trail: ids and dates, no
// personal data.
func (q Query) AuditDetail() map[string]any {
	d := map[string]any{}
	for k, vs := range q.Values() {
		d[k] = vs[0]
	}
	d["time_zone"] = q.Location.String()
	return d
}
