// Package refdata holds the reference data that administrators manage:
// districts, settlements, units, incident types, priorities, disposition
// codes and partner organisations, with the rules for each.
package refdata

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// District is an area of police responsibility.
type District struct {
	ID     int64
	Code   string
	Name   string
	Active bool
}

// Settlement is a place within a district; IDP settlements house
// internally displaced people and are reported on separately.
type Settlement struct {
	ID           int64
	DistrictID   int64
	DistrictCode string
	Name         string
	IsIDP        bool
	Active       bool
}

// UnitStatus is where a unit is in its work.
type UnitStatus string

// Unit statuses.
const (
	UnitAvailable  UnitStatus = "available"
	UnitDispatched UnitStatus = "dispatched"
	UnitEnRoute    UnitStatus = "en_route"
	UnitOnScene    UnitStatus = "on_scene"
	UnitBusy       UnitStatus = "busy"
	UnitOffDuty    UnitStatus = "off_duty"
	// UnitOutOfService: the car or team cannot be sent (breakdown,
	// repairs); UnitOnBreak: a meal or rest break.
	UnitOutOfService UnitStatus = "out_of_service"
	UnitOnBreak      UnitStatus = "on_break"
)

// UnitStatuses lists every unit status in display order.
var UnitStatuses = []UnitStatus{UnitAvailable, UnitDispatched, UnitEnRoute, UnitOnScene, UnitBusy, UnitOnBreak, UnitOutOfService, UnitOffDuty}

// Label is the status's name for people.
func (s UnitStatus) Label() string {
	switch s {
	case UnitAvailable:
		return "Available"
	case UnitDispatched:
		return "Dispatched"
	case UnitEnRoute:
		return "En route"
	case UnitOnScene:
		return "On scene"
	case UnitBusy:
		return "Busy"
	case UnitOffDuty:
		return "Off duty"
	case UnitOutOfService:
		return "Out of service"
	case UnitOnBreak:
		return "On break"
	}
	return string(s)
}

// Unit is a patrol car or officer team.
type Unit struct {
	ID           int64
	CallSign     string
	DistrictID   int64
	DistrictCode string
	Status       UnitStatus
	Active       bool
}

// IncidentType classifies a call; IsDV marks domestic-violence types.
type IncidentType struct {
	ID     int64
	Code   string
	Name   string
	Names  map[string]string // the name per language code; Name when a language lacks one
	IsDV   bool
	Active bool
}

// LabelIn is the type's name in the language lang, else its plain name.
func (t IncidentType) LabelIn(lang string) string { return LabelIn(t.Names, lang, t.Name) }

// Interval names the response-time intervals of DESIGN.md section 3.
type Interval string

// The intervals, in the order reports show them.
const (
	CallProcessing Interval = "call_processing"
	Turnout        Interval = "turnout"
	Travel         Interval = "travel"
	Response       Interval = "response"
	OnScene        Interval = "on_scene"
	Total          Interval = "total"
)

// Intervals lists the intervals in report order.
var Intervals = []Interval{CallProcessing, Turnout, Travel, Response, OnScene, Total}

// Label is the interval's name for people.
func (i Interval) Label() string {
	switch i {
	case CallProcessing:
		return "Call processing"
	case Turnout:
		return "Turnout"
	case Travel:
		return "Travel"
	case Response:
		return "Response"
	case OnScene:
		return "Time on scene"
	case Total:
		return "Total"
	}
	return string(i)
}

// Priority is an urgency level (1 = most urgent) with a target in seconds
// per interval; a missing target is nil.
type Priority struct {
	Level   int
	Label   string
	Names   map[string]string // the label per language code; Label when a language lacks one
	Targets map[Interval]*int // those of the latest change (in force today)
	// History is every change of the targets, oldest first: an incident is
	// judged against the targets in force on the local day it was
	// received. Empty: Targets always applied.
	History []TargetPeriod
	// TargetsFrom, when a priority is saved, is the local day from which
	// Targets apply (until a later change); zero: from the beginning.
	TargetsFrom time.Time
}

// TargetPeriod is a change of a priority's targets: Targets apply to the
// incidents received from the local day From on (until the next change).
type TargetPeriod struct {
	From    time.Time // a date (midnight UTC standing for the local day); zero: since always
	Targets map[Interval]*int
}

// MaxLevel bounds a priority level: levels are the deployment's codes,
// 1 the most urgent.
const MaxLevel = 999

// Day is the date of y, m, d as TargetPeriod.From holds it.
func Day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// TargetOn is the target of iv in force on local day day (as Day).
func (p Priority) TargetOn(iv Interval, day time.Time) *int {
	if len(p.History) == 0 {
		return p.Targets[iv]
	}
	var t *int
	for _, h := range p.History {
		if h.From.After(day) {
			break
		}
		t = h.Targets[iv]
	}
	return t
}

// TargetOver is the target of iv in force on every day from first to
// last, and whether there is one such (nil, true: none throughout; false:
// it changed between them).
func (p Priority) TargetOver(iv Interval, first, last time.Time) (*int, bool) {
	t := p.TargetOn(iv, first)
	for _, h := range p.History {
		if h.From.After(first) && !h.From.After(last) && !sameInt(h.Targets[iv], t) {
			return nil, false
		}
	}
	return t, true
}

// Changes lists the days after first and up to last on which any of the
// intervals' targets of p change.
func (p Priority) Changes(first, last time.Time) []time.Time {
	var out []time.Time
	cur := p.targetsOn(first)
	for _, h := range p.History {
		if !h.From.After(first) || h.From.After(last) {
			continue
		}
		if !sameTargets(cur, h.Targets) {
			out = append(out, h.From)
		}
		cur = h.Targets
	}
	return out
}

func (p Priority) targetsOn(day time.Time) map[Interval]*int {
	if len(p.History) == 0 {
		return p.Targets
	}
	var t map[Interval]*int
	for _, h := range p.History {
		if h.From.After(day) {
			break
		}
		t = h.Targets
	}
	return t
}

func sameTargets(a, b map[Interval]*int) bool {
	for _, iv := range Intervals {
		if !sameInt(a[iv], b[iv]) {
			return false
		}
	}
	return true
}

func sameInt(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// LabelIn is the priority's label in the language lang, else its plain
// label.
func (p Priority) LabelIn(lang string) string { return LabelIn(p.Names, lang, p.Label) }

// Disposition is how an incident was closed.
type Disposition struct {
	ID     int64
	Code   string
	Name   string
	Names  map[string]string // the name per language code; Name when a language lacks one
	Active bool
}

// LabelIn is the disposition's name in the language lang, else its plain
// name.
func (d Disposition) LabelIn(lang string) string { return LabelIn(d.Names, lang, d.Name) }

// LabelIn returns names[lang] when it is set, else plain: the label of a
// record that administrators name per language.
func LabelIn(names map[string]string, lang, plain string) string {
	if n := names[lang]; n != "" {
		return n
	}
	return plain
}

// NameLanguages are the languages, other than the default English, in
// which administrators may name incident types, dispositions, priorities
// and danger-screen questions (the codes of internal/i18n).
var NameLanguages = []string{"ru", "ky", "ka"}

// CleanNames trims the names per language of a record, drops empty ones
// and languages that are not NameLanguages, and records in f a name
// longer than max under the field prefix+"_"+lang (e.g. name_ru). It
// returns the cleaned map (never nil).
func CleanNames(f apperr.Fields, prefix string, names map[string]string, max int) map[string]string {
	out := map[string]string{}
	for _, lang := range NameLanguages {
		v := CleanText(names[lang])
		if v == "" {
			continue
		}
		if n := utf8.RuneCountInString(v); n > max {
			f.Add(prefix+"_"+lang, "admin.err.too_long", "Count", max, "Len", n)
		}
		out[lang] = v
	}
	return out
}

// PartnerKind is the kind of organisation a victim can be referred to.
type PartnerKind string

// Partner kinds.
const (
	Shelter       PartnerKind = "shelter"
	CrisisCentre  PartnerKind = "crisis_centre"
	LegalAid      PartnerKind = "legal_aid"
	Medical       PartnerKind = "medical"
	Psychosocial  PartnerKind = "psychosocial"
	ChildServices PartnerKind = "child_services"
)

// PartnerKinds lists every kind in display order.
var PartnerKinds = []PartnerKind{Shelter, CrisisCentre, LegalAid, Medical, Psychosocial, ChildServices}

// Label is the kind's name for people.
func (k PartnerKind) Label() string {
	switch k {
	case Shelter:
		return "Shelter"
	case CrisisCentre:
		return "Crisis centre"
	case LegalAid:
		return "Legal aid"
	case Medical:
		return "Medical"
	case Psychosocial:
		return "Psychosocial support"
	case ChildServices:
		return "Child services"
	}
	return string(k)
}

// Partner is an organisation victims are referred to.
type Partner struct {
	ID           int64
	Name         string
	Kind         PartnerKind
	DistrictID   *int64
	DistrictCode string
	Contact      string
	Active       bool
}

var (
	districtCodeRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,15}$`)
	typeCodeRE     = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,31}$`)
	callSignRE     = regexp.MustCompile(`^[A-Z0-9][A-Z0-9 _-]{0,19}$`)
)

// CleanCode upper-cases and trims a typed code.
func CleanCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// CleanText trims a typed name and folds runs of white space.
func CleanText(s string) string { return strings.Join(strings.Fields(s), " ") }

func checkName(f apperr.Fields, field, v string, max int) {
	switch n := utf8.RuneCountInString(v); {
	case n == 0:
		f.Add(field, "admin.err.name_required")
	case n > max:
		f.Add(field, "admin.err.too_long", "Count", max, "Len", n)
	}
}

func checkCode(f apperr.Fields, field, v string, re *regexp.Regexp, max int) {
	switch n := utf8.RuneCountInString(v); {
	case n == 0:
		f.Add(field, "admin.err.code_required")
	case n > max:
		f.Add(field, "admin.err.too_long", "Count", max, "Len", n)
	case !re.MatchString(v):
		f.Add(field, "admin.err.code_chars")
	}
}

// Validate normalises and checks d.
func (d *District) Validate() error {
	f := apperr.Fields{}
	d.Code, d.Name = CleanCode(d.Code), CleanText(d.Name)
	checkCode(f, "code", d.Code, districtCodeRE, 16)
	checkName(f, "name", d.Name, 100)
	return f.Err()
}

// Validate normalises and checks s.
func (s *Settlement) Validate() error {
	f := apperr.Fields{}
	s.Name = CleanText(s.Name)
	if s.DistrictID == 0 {
		f.Add("district_id", "admin.err.district_required")
	}
	checkName(f, "name", s.Name, 100)
	return f.Err()
}

// Validate normalises and checks u.
func (u *Unit) Validate() error {
	f := apperr.Fields{}
	u.CallSign = CleanCode(u.CallSign)
	switch n := utf8.RuneCountInString(u.CallSign); {
	case n == 0:
		f.Add("call_sign", "admin.err.call_sign_required")
	case n > 20:
		f.Add("call_sign", "admin.err.too_long", "Count", 20, "Len", n)
	case !callSignRE.MatchString(u.CallSign):
		f.Add("call_sign", "admin.err.call_sign_chars")
	}
	if u.DistrictID == 0 {
		f.Add("district_id", "admin.err.district_required")
	}
	if u.Status == "" {
		u.Status = UnitAvailable
	}
	valid := false
	for _, s := range UnitStatuses {
		valid = valid || s == u.Status
	}
	if !valid {
		f.Add("status", "admin.err.status_required")
	}
	return f.Err()
}

// Validate normalises and checks t.
func (t *IncidentType) Validate() error {
	f := apperr.Fields{}
	t.Code, t.Name = CleanCode(t.Code), CleanText(t.Name)
	checkCode(f, "code", t.Code, typeCodeRE, 32)
	checkName(f, "name", t.Name, 100)
	t.Names = CleanNames(f, "name", t.Names, 100)
	return f.Err()
}

// Validate normalises and checks d.
func (d *Disposition) Validate() error {
	f := apperr.Fields{}
	d.Code, d.Name = CleanCode(d.Code), CleanText(d.Name)
	checkCode(f, "code", d.Code, typeCodeRE, 32)
	checkName(f, "name", d.Name, 100)
	d.Names = CleanNames(f, "name", d.Names, 100)
	return f.Err()
}

// Validate normalises and checks p.
func (p *Partner) Validate() error {
	f := apperr.Fields{}
	p.Name, p.Contact = CleanText(p.Name), strings.TrimSpace(p.Contact)
	checkName(f, "name", p.Name, 150)
	valid := false
	for _, k := range PartnerKinds {
		valid = valid || k == p.Kind
	}
	if !valid {
		f.Add("kind", "admin.err.kind_required")
	}
	if n := utf8.RuneCountInString(p.Contact); n > 500 {
		f.Add("contact", "admin.err.too_long", "Count", 500, "Len", n)
	}
	return f.Err()
}

// MaxTargetSeconds bounds a target (one day).
const MaxTargetSeconds = 86400

// Validate normalises and checks p.
func (p *Priority) Validate() error {
	f := apperr.Fields{}
	p.Label = CleanText(p.Label)
	if p.Level < 1 || p.Level > MaxLevel {
		f.Add("level", "admin.err.level_range", "Max", MaxLevel)
	}
	switch n := utf8.RuneCountInString(p.Label); {
	case n == 0:
		f.Add("label", "admin.err.label_required")
	case n > 60:
		f.Add("label", "admin.err.too_long", "Count", 60, "Len", n)
	}
	p.Names = CleanNames(f, "label", p.Names, 60)
	for iv, t := range p.Targets {
		if t != nil && (*t <= 0 || *t > MaxTargetSeconds) {
			f.Add("target_"+string(iv), "admin.err.target_range", "Max", MaxTargetSeconds)
		}
	}
	return f.Err()
}
