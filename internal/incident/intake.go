package incident

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// MaxBackdate is how far before "now" a dispatcher may set the received
// time of a call logged after the fact. A call logged a day late belongs in
// an import or a correction, not in the intake form.
const MaxBackdate = 24 * time.Hour

// ManualTimeLayout is the layout of a hand-entered received time, as an
// <input type="datetime-local"> sends it, in the deployment's time zone.
const ManualTimeLayout = "2006-01-02T15:04"

// Form is the intake form as typed: every field a string, so that a form
// with errors can be shown again exactly as the dispatcher left it.
type Form struct {
	Key            string // the intake draft's key (also the idempotency key)
	ReceivedManual string // optional hand-entered received time
	CallerName     string
	CallerPhone    string
	CallerRelation string
	SafeToCall     string // yes, no or ""
	Anonymous      string // "on" when checked
	Language       string
	Address        string
	DistrictID     string
	SettlementID   string
	LocationNotes  string
	Latitude       string
	Longitude      string
	TypeID         string
	Priority       string
	Weapons        string // yes, no or ""
	Children       string
	Injuries       string
	VictimName     string
	VictimSex      string
	VictimAge      string
	SuspectName    string
	SuspectSex     string
	SuspectAge     string
	Relationship   string
	Narrative      string
}

// New is a validated call, ready to store.
type New struct {
	Key             string
	ReceivedAt      time.Time
	ReceivedManual  bool
	Caller          Caller
	Address         string
	DistrictID      *int64
	SettlementID    *int64
	LocationNotes   string
	Latitude        *float64
	Longitude       *float64
	TypeID          int64
	Priority        int
	Weapons         *bool
	ChildrenPresent *bool
	Injuries        *bool
	Victim          Person
	Suspect         Person
	Relationship    string
	Narrative       string
	Keys            Keys
}

// Languages lists the caller languages the form offers.
var Languages = []struct{ Code, Label string }{
	{"ky", "Kyrgyz"}, {"ru", "Russian"}, {"ka", "Georgian"}, {"en", "English"}, {"uz", "Uzbek"}, {"other", "Other"},
}

// Validate checks the form and returns the call to store. draftReceived is
// the server-clock time at which the call was answered (from the intake
// draft) and now the server clock; a hand-entered time is read in loc.
func (f Form) Validate(draftReceived, now time.Time, loc *time.Location, rules match.Rules) (New, error) {
	e := apperr.Fields{}
	n := New{Key: f.Key, ReceivedAt: draftReceived.UTC()}

	if s := strings.TrimSpace(f.ReceivedManual); s != "" {
		t, err := time.ParseInLocation(ManualTimeLayout, s, loc)
		switch {
		case err != nil:
			e.Add("received_manual", "intake.err.received_format")
		case t.After(now):
			e.Add("received_manual", "intake.err.received_future")
		case t.Before(now.Add(-MaxBackdate)):
			e.Add("received_manual", "intake.err.received_past", "Count", int(MaxBackdate.Hours()))
		default:
			n.ReceivedAt, n.ReceivedManual = t.UTC(), true
		}
	}

	text := func(field, v string, max int) string {
		v = strings.TrimSpace(v)
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			// PostgreSQL cannot store them; no keyboard types them.
			e.Add(field, "err.text.unstorable")
			return v
		}
		if c := utf8.RuneCountInString(v); c > max {
			e.Add(field, "err.text.too_long", "Max", max, "Now", c)
		}
		return v
	}
	n.Caller = Caller{
		Name:      text("caller_name", f.CallerName, 150),
		Phone:     text("caller_phone", f.CallerPhone, 40),
		Relation:  text("caller_relation", f.CallerRelation, 60),
		Anonymous: f.Anonymous == "on",
	}
	if n.Caller.Phone != "" && rules.Phone(n.Caller.Phone) == "" {
		e.Add("caller_phone", "intake.err.phone_digits")
	}
	n.Caller.SafeToCall = yesNo(e, "safe_to_call", f.SafeToCall)
	n.Caller.Language = strings.TrimSpace(f.Language)
	if n.Caller.Language != "" && !knownLanguage(n.Caller.Language) {
		e.Add("language", "language.err.unknown")
	}

	n.Address = text("address", f.Address, 300)
	n.LocationNotes = text("location_notes", f.LocationNotes, 1000)
	n.DistrictID = optID(e, "district_id", f.DistrictID)
	n.SettlementID = optID(e, "settlement_id", f.SettlementID)
	if n.Address == "" && n.DistrictID == nil {
		e.Add("address", "intake.err.address")
		e.Add("district_id", "intake.err.district")
	}
	n.Latitude = optFloat(e, "latitude", f.Latitude, -90, 90)
	n.Longitude = optFloat(e, "longitude", f.Longitude, -180, 180)
	if (n.Latitude == nil) != (n.Longitude == nil) {
		e.Add("latitude", "intake.err.lat_lon")
	}

	if id := optID(e, "type_id", f.TypeID); id == nil {
		e.Add("type_id", "intake.err.type")
	} else {
		n.TypeID = *id
	}
	if p, err := strconv.Atoi(strings.TrimSpace(f.Priority)); err != nil || p < 1 || p > refdata.MaxLevel {
		e.Add("priority", "intake.err.priority")
	} else {
		n.Priority = p
	}

	n.Weapons = yesNo(e, "weapons", f.Weapons)
	n.ChildrenPresent = yesNo(e, "children", f.Children)
	n.Injuries = yesNo(e, "injuries", f.Injuries)
	n.Victim = person(e, "victim", f.VictimName, f.VictimSex, f.VictimAge, text)
	n.Suspect = person(e, "suspect", f.SuspectName, f.SuspectSex, f.SuspectAge, text)
	n.Relationship = text("relationship", f.Relationship, 60)
	n.Narrative = text("narrative", f.Narrative, 10000)
	n.Keys = KeysOf(rules, n.Address, n.Caller.Phone, n.Caller.Name, n.Victim.Name, n.Suspect.Name)
	return n, e.Err()
}

func knownLanguage(code string) bool {
	for _, l := range Languages {
		if l.Code == code {
			return true
		}
	}
	return false
}

func yesNo(e apperr.Fields, field, v string) *bool {
	switch strings.TrimSpace(v) {
	case "":
		return nil
	case "yes":
		t := true
		return &t
	case "no":
		f := false
		return &f
	}
	e.Add(field, "intake.err.yes_no")
	return nil
}

func optID(e apperr.Fields, field, v string) *int64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		e.Add(field, "err.choose_list")
		return nil
	}
	return &id
}

func optFloat(e apperr.Fields, field, v string, lo, hi float64) *float64 {
	v = strings.TrimSpace(strings.ReplaceAll(v, ",", "."))
	if v == "" {
		return nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || !(x >= lo && x <= hi) { // NaN too
		e.Add(field, "intake.err.number_range", "Min", lo, "Max", hi)
		return nil
	}
	return &x
}

func person(e apperr.Fields, prefix, name, sex, age string, text func(string, string, int) string) Person {
	p := Person{Name: text(prefix+"_name", name, 150)}
	switch sex = strings.TrimSpace(sex); sex {
	case "", "female", "male", "other":
		p.Sex = sex
	default:
		e.Add(prefix+"_sex", "err.choose_list")
	}
	if age = strings.TrimSpace(age); age != "" {
		a, err := strconv.Atoi(age)
		if err != nil || a < 0 || a > 120 {
			e.Add(prefix+"_age", "intake.err.age")
		} else {
			p.Age = &a
		}
	}
	return p
}
