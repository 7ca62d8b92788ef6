package incident

// Fuzz targets for what comes in from outside: the intake form, the
// hand-entered received time and the history lookup's matching keys.
// `go test` runs each over its seed corpus (the f.Add calls below and
// testdata/fuzz/, where the fuzzer stores any failing input it finds);
// `go test -fuzz=FuzzIntakeForm ./internal/incident/` searches for new ones.

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below without the system's zoneinfo
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// fuzzZones are the time zones the fuzz targets read times in: the
// deployments' own, UTC, and zones with odd offsets and DST rules.
var fuzzZones = func() []*time.Location {
	var out []*time.Location
	for _, name := range []string{"Asia/Bishkek", "Asia/Tbilisi", "UTC", "Europe/Berlin", "America/St_Johns",
		"Asia/Kathmandu", "Pacific/Chatham", "Pacific/Kiritimati", "Etc/GMT+12", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err)
		}
		out = append(out, loc)
	}
	return out
}()

func fuzzZone(i uint8) *time.Location { return fuzzZones[int(i)%len(fuzzZones)] }

// fuzzNow is the server clock of the intake fuzz target: a Sunday evening
// in Bishkek.
var fuzzNow = time.Date(2026, 3, 8, 15, 45, 0, 0, time.UTC)

// nasty are field values that have broken form handling elsewhere: other
// scripts, right-to-left text and direction overrides, combining marks,
// NULs and invalid UTF-8, numbers that parse oddly, and very long text.
var nasty = []string{
	"", " ", "\t\n", "ул. Чуй 12, кв. 5", "Манас көчөсү 7", "რუსთაველის ქუჩა 12", "ᲠᲣᲡᲗᲐᲕᲔᲚᲘ", "שדרות רוטשילד 5",
	"شارع الحمراء ١٢", "\u202eevil\u202c", "İstanbul caddesi", "e\u0301\u0301\u0301", "👩‍👧 🏠", "a\x00b", "\x00",
	"\xff\xfe\xfd", "\xc3", "NaN", "-Inf", "+Inf", "1e309", "0x1p-2", "1_000", "-0", "٣", "１２３", "07", "+7", " 9 ",
	"9223372036854775808", "-9223372036854775808", "yes", "YES", " no ", "on", "female", "other", "ru", "ka",
	strings.Repeat("ж", 301), strings.Repeat("x", 10001), strings.Repeat("ü", 151), strings.Repeat("🏠", 61),
}

// formArgs are f's fields in the fuzz target's order.
func formArgs(f *Form) []*string {
	return []*string{&f.Key, &f.ReceivedManual, &f.CallerName, &f.CallerPhone, &f.CallerRelation, &f.SafeToCall,
		&f.Anonymous, &f.Language, &f.Address, &f.DistrictID, &f.SettlementID, &f.LocationNotes, &f.Latitude,
		&f.Longitude, &f.TypeID, &f.Priority, &f.Weapons, &f.Children, &f.Injuries, &f.VictimName, &f.VictimSex,
		&f.VictimAge, &f.SuspectName, &f.SuspectSex, &f.SuspectAge, &f.Relationship, &f.Narrative}
}

// addForm adds f, read in zone, to the intake fuzz target's corpus.
func addForm(fz *testing.F, f Form, zone uint8) {
	fz.Add(f.Key, f.ReceivedManual, f.CallerName, f.CallerPhone, f.CallerRelation, f.SafeToCall, f.Anonymous,
		f.Language, f.Address, f.DistrictID, f.SettlementID, f.LocationNotes, f.Latitude, f.Longitude, f.TypeID,
		f.Priority, f.Weapons, f.Children, f.Injuries, f.VictimName, f.VictimSex, f.VictimAge, f.SuspectName,
		f.SuspectSex, f.SuspectAge, f.Relationship, f.Narrative, zone)
}

// formFields are the names of the intake form's fields, the only ones
// Validate may report errors on.
var formFields = map[string]bool{
	"key": true, "received_manual": true, "caller_name": true, "caller_phone": true, "caller_relation": true,
	"safe_to_call": true, "anonymous": true, "language": true, "address": true, "district_id": true,
	"settlement_id": true, "location_notes": true, "latitude": true, "longitude": true, "type_id": true,
	"priority": true, "weapons": true, "children": true, "injuries": true, "victim_name": true, "victim_sex": true,
	"victim_age": true, "suspect_name": true, "suspect_sex": true, "suspect_age": true, "relationship": true,
	"narrative": true,
}

// validFuzzForm is a call that passes validation.
func validFuzzForm() Form {
	return Form{Key: "6f1c1f0e-9d7e-4c53-a1a6-0c3b2b9f6f11", CallerName: "Nurgul Toktogulova", CallerPhone: "+996 555 12-34-56",
		CallerRelation: "neighbour", SafeToCall: "no", Language: "ky", Address: "ul. Chui 12, kv. 5", DistrictID: "3",
		SettlementID: "12", LocationNotes: "Second entrance, 4th floor", Latitude: "42,8746", Longitude: "74.5698",
		TypeID: "1", Priority: "1", Weapons: "yes", Children: "no", Injuries: "", VictimName: "Aigul Asanova",
		VictimSex: "female", VictimAge: "34", SuspectName: "Bakyt Asanov", SuspectSex: "male", SuspectAge: "38",
		Relationship: "husband", Narrative: "Caller hears shouting next door."}
}

func FuzzIntakeForm(f *testing.F) {
	valid := validFuzzForm()
	addForm(f, valid, 0)
	addForm(f, Form{}, 1)
	manual := valid
	manual.ReceivedManual = "2026-03-08T21:10" // Bishkek, 35 minutes ago
	addForm(f, manual, 0)
	georgian := valid
	georgian.Address, georgian.VictimName, georgian.Language = "რუსთაველის გამზირი 12, ბინა 4", "ნინო ბერიძე", "ka"
	georgian.CallerPhone, georgian.ReceivedManual = "+995 599 11 22 33", "2026-03-08T19:00"
	addForm(f, georgian, 1)
	// Every nasty value in every field, one field at a time.
	for i := range formArgs(&valid) {
		for j, v := range nasty {
			form := valid
			*formArgs(&form)[i] = v
			addForm(f, form, uint8(i+j))
		}
	}
	f.Fuzz(func(t *testing.T, key, receivedManual, callerName, callerPhone, callerRelation, safeToCall, anonymous,
		language, address, districtID, settlementID, locationNotes, latitude, longitude, typeID, priority, weapons,
		children, injuries, victimName, victimSex, victimAge, suspectName, suspectSex, suspectAge, relationship,
		narrative string, zone uint8) {
		form := Form{Key: key, ReceivedManual: receivedManual, CallerName: callerName, CallerPhone: callerPhone,
			CallerRelation: callerRelation, SafeToCall: safeToCall, Anonymous: anonymous, Language: language,
			Address: address, DistrictID: districtID, SettlementID: settlementID, LocationNotes: locationNotes,
			Latitude: latitude, Longitude: longitude, TypeID: typeID, Priority: priority, Weapons: weapons,
			Children: children, Injuries: injuries, VictimName: victimName, VictimSex: victimSex, VictimAge: victimAge,
			SuspectName: suspectName, SuspectSex: suspectSex, SuspectAge: suspectAge, Relationship: relationship,
			Narrative: narrative}
		loc := fuzzZone(zone)
		draft := fuzzNow.Add(-40 * time.Second)
		n, err := form.Validate(draft, fuzzNow, loc, fuzzRules)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Code != apperr.Invalid || len(ae.Fields) == 0 {
				t.Fatalf("Validate error %v (%T) is not Invalid with field messages", err, err)
			}
			for name, msg := range ae.Fields {
				if !formFields[name] || msg.ID == "" {
					t.Errorf("error on unknown field %q or without a message: %q", name, msg)
				}
			}
			return
		}
		checkNew(t, form, n, draft, loc)
	})
}

// checkNew checks what Validate accepted: lengths within the columns'
// limits, text PostgreSQL can store, known choices, and times in the window.
func checkNew(t *testing.T, form Form, n New, draft time.Time, loc *time.Location) {
	t.Helper()
	for _, c := range []struct {
		name, v string
		max     int
	}{
		{"caller name", n.Caller.Name, 150}, {"caller phone", n.Caller.Phone, 40}, {"caller relation", n.Caller.Relation, 60},
		{"address", n.Address, 300}, {"location notes", n.LocationNotes, 1000}, {"victim name", n.Victim.Name, 150},
		{"suspect name", n.Suspect.Name, 150}, {"relationship", n.Relationship, 60}, {"narrative", n.Narrative, 10000},
		{"language", n.Caller.Language, 10},
	} {
		if l := utf8.RuneCountInString(c.v); l > c.max {
			t.Errorf("%s accepted with %d characters, more than %d", c.name, l, c.max)
		}
		if !utf8.ValidString(c.v) || strings.ContainsRune(c.v, 0) {
			t.Errorf("%s accepted with text PostgreSQL cannot store (NUL or invalid UTF-8): %q", c.name, c.v)
		}
		if c.v != strings.TrimSpace(c.v) {
			t.Errorf("%s accepted untrimmed: %q", c.name, c.v)
		}
	}
	if n.Priority < 1 || n.Priority > refdata.MaxLevel {
		t.Errorf("priority %d accepted", n.Priority)
	}
	if n.TypeID <= 0 {
		t.Errorf("type id %d accepted", n.TypeID)
	}
	for name, id := range map[string]*int64{"district": n.DistrictID, "settlement": n.SettlementID} {
		if id != nil && *id <= 0 {
			t.Errorf("%s id %d accepted", name, *id)
		}
	}
	if n.Address == "" && n.DistrictID == nil {
		t.Error("accepted with neither address nor district")
	}
	if (n.Latitude == nil) != (n.Longitude == nil) {
		t.Error("accepted with one coordinate only")
	}
	if n.Latitude != nil && !(*n.Latitude >= -90 && *n.Latitude <= 90) {
		t.Errorf("latitude %v accepted", *n.Latitude)
	}
	if n.Longitude != nil && !(*n.Longitude >= -180 && *n.Longitude <= 180) {
		t.Errorf("longitude %v accepted", *n.Longitude)
	}
	for _, p := range []Person{n.Victim, n.Suspect} {
		if p.Age != nil && (*p.Age < 0 || *p.Age > 120) {
			t.Errorf("age %d accepted", *p.Age)
		}
		if p.Sex != "" && p.Sex != "female" && p.Sex != "male" && p.Sex != "other" {
			t.Errorf("sex %q accepted", p.Sex)
		}
	}
	if n.Caller.Language != "" && !knownLanguage(n.Caller.Language) {
		t.Errorf("language %q accepted", n.Caller.Language)
	}
	if n.Caller.Phone != "" && fuzzRules.Phone(n.Caller.Phone) == "" {
		t.Errorf("phone %q accepted without a key", n.Caller.Phone)
	}
	if n.Caller.Anonymous != (form.Anonymous == "on") {
		t.Errorf("anonymous %v from %q", n.Caller.Anonymous, form.Anonymous)
	}
	if n.Keys != KeysOf(fuzzRules, n.Address, n.Caller.Phone, n.Caller.Name, n.Victim.Name, n.Suspect.Name) {
		t.Errorf("keys %+v are not those of the accepted fields", n.Keys)
	}
	checkReceived(t, strings.TrimSpace(form.ReceivedManual), n, draft, loc)
}

// checkReceived checks the received time Validate accepted: the draft's,
// or a hand-entered one on the minute in loc within the last 24 hours.
func checkReceived(t *testing.T, manual string, n New, draft time.Time, loc *time.Location) {
	t.Helper()
	if n.ReceivedAt.Location() != time.UTC {
		t.Errorf("received time %v is not in UTC", n.ReceivedAt)
	}
	if manual == "" {
		if n.ReceivedManual || !n.ReceivedAt.Equal(draft) {
			t.Errorf("no time entered, but received %v (manual %v), want the draft's %v", n.ReceivedAt, n.ReceivedManual, draft)
		}
		return
	}
	if !n.ReceivedManual {
		t.Errorf("time %q entered, but not marked as entered by hand", manual)
	}
	if n.ReceivedAt.After(fuzzNow) || n.ReceivedAt.Before(fuzzNow.Add(-MaxBackdate)) {
		t.Errorf("received time %v from %q is outside [now-24h, now] (now %v)", n.ReceivedAt, manual, fuzzNow)
	}
	if local := n.ReceivedAt.In(loc); local.Second() != 0 || local.Nanosecond() != 0 {
		t.Errorf("received time %v from %q is not on the minute in %s", local, manual, loc)
	}
}

func FuzzManualTime(f *testing.F) {
	for _, s := range []string{"2026-03-08T21:10", "2026-03-08T21:45", "2026-03-08T21:46", "2026-03-07T21:45",
		"2026-03-07T21:44", " 2026-03-08T12:00 ", "2026-03-08T9:40", "2026-03-08 21:10", "2026-03-08T21:10:00",
		"2026-03-08T21:10Z", "2026-02-29T10:00", "2026-03-08T24:00", "2026-03-08T23:60", "0000-01-01T00:00",
		"9999-12-31T23:59", "+2026-03-08T21:10", "２０２６-03-08T21:10", "2026-03-08T21:10\x00", "\xff", "", "now"} {
		for zone := range uint8(len(fuzzZones)) {
			f.Add(s, zone, int64(0))
		}
	}
	// Around the switches to and from summer time in Berlin (zone 3) and
	// St John's (zone 4): local times that do not exist, or exist twice.
	f.Add("2026-03-29T02:30", uint8(3), time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC).Sub(fuzzNow).Milliseconds())
	f.Add("2026-10-25T02:30", uint8(3), time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC).Sub(fuzzNow).Milliseconds())
	f.Add("2026-03-08T02:30", uint8(4), time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC).Sub(fuzzNow).Milliseconds())
	f.Fuzz(func(t *testing.T, manual string, zone uint8, shiftMs int64) {
		loc := fuzzZone(zone)
		// The server clock, moved by up to about 290 years either way.
		now := fuzzNow.Add(time.Duration(shiftMs) * time.Millisecond)
		draft := now.Add(-time.Minute)
		form := Form{ReceivedManual: manual, DistrictID: "1", TypeID: "1", Priority: "2"}
		n, err := form.Validate(draft, now, loc, fuzzRules)
		if err != nil {
			fields := apperr.FieldsOf(err)
			if len(fields) != 1 || fields["received_manual"].ID == "" {
				t.Fatalf("Validate(%q) refused with %v, want an error on received_manual only", manual, fields)
			}
			if strings.TrimSpace(manual) == "" {
				t.Fatalf("an empty time was refused: %v", fields)
			}
			return
		}
		s := strings.TrimSpace(manual)
		if s == "" {
			if n.ReceivedManual || !n.ReceivedAt.Equal(draft) {
				t.Errorf("no time entered, but received %v (manual %v)", n.ReceivedAt, n.ReceivedManual)
			}
			return
		}
		if !n.ReceivedManual || n.ReceivedAt.Location() != time.UTC {
			t.Errorf("accepted %q as %v, manual %v", s, n.ReceivedAt, n.ReceivedManual)
		}
		if n.ReceivedAt.After(now) || n.ReceivedAt.Before(now.Add(-MaxBackdate)) {
			t.Errorf("accepted %q as %v, outside [now-24h, now] (now %v)", s, n.ReceivedAt, now)
		}
		// What was accepted reads back the same, except a local time that
		// does not exist (the hour skipped by summer time), which moves.
		local := n.ReceivedAt.In(loc)
		if back := local.Format(ManualTimeLayout); back != s {
			reparsed, err := time.ParseInLocation(ManualTimeLayout, s, loc)
			if err != nil || !reparsed.Equal(n.ReceivedAt) {
				t.Errorf("accepted %q as %v, which is not what it says", s, local)
			}
			_, offBefore := local.Add(-3 * time.Hour).Zone()
			_, offAfter := local.Add(3 * time.Hour).Zone()
			if offBefore == offAfter && !lenientNumbers(s, back) {
				t.Errorf("accepted %q as %s: not the time entered, and no clock change near it", s, back)
			}
		}
	})
}

// lenientNumbers says whether s differs from the canonical back only in
// leading zeros that time.Parse lets through ("9:40" for "09:40").
func lenientNumbers(s, back string) bool {
	strip := func(x string) string {
		var b strings.Builder
		prevDigit := false
		for i := 0; i < len(x); i++ {
			c := x[i]
			if c == '0' && !prevDigit && i+1 < len(x) && x[i+1] >= '0' && x[i+1] <= '9' {
				continue
			}
			prevDigit = c >= '0' && c <= '9'
			b.WriteByte(c)
		}
		return b.String()
	}
	return strip(s) == strip(back)
}

// fuzzRules are the history-matching rules the fuzz tests validate under.
var fuzzRules = match.Rules{Region: "KG"}
