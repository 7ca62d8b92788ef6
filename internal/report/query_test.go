package report

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
)

var sameLocation = cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })

func TestDayBoundariesFollowTimeZone(t *testing.T) {
	q := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, Location: bishkek, GroupBy: ByAll}
	start, end := q.Range()
	// Bishkek is UTC+6 all year.
	if want := time.Date(2026, 2, 28, 18, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Errorf("start %v, want %v", start.UTC(), want)
	}
	if want := time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC); !end.Equal(want) {
		t.Errorf("end %v, want %v", end.UTC(), want)
	}
	in := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
	tests := []struct {
		what string
		at   time.Time
		want bool
	}{
		{"23:30 local on 1 March", time.Date(2026, 3, 1, 23, 30, 0, 0, bishkek), true},
		{"23:30 UTC on 28 February (05:30 local, 1 March)", time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC), true},
		{"midnight local opening 1 March", time.Date(2026, 3, 1, 0, 0, 0, 0, bishkek), true},
		{"23:59:59 local on 28 February", time.Date(2026, 2, 28, 23, 59, 59, 0, bishkek), false},
		{"00:00 local on 2 March", time.Date(2026, 3, 2, 0, 0, 0, 0, bishkek), false},
		{"20:00 UTC on 1 March (02:00 local, 2 March)", time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		if got := in(tt.at); got != tt.want {
			t.Errorf("%s: in the report of 1 March = %v, want %v", tt.what, got, tt.want)
		}
		if got := DateOf(tt.at, bishkek) == q.From; got != tt.want {
			t.Errorf("%s: DateOf is %v", tt.what, DateOf(tt.at, bishkek))
		}
	}
	// A day with a daylight-saving change is still one whole local day.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	q = Query{From: Date{2026, 3, 29}, To: Date{2026, 3, 29}, Location: berlin}
	if s, e := q.Range(); e.Sub(s) != 23*time.Hour {
		t.Errorf("29 March 2026 in Berlin lasts %v, want 23h", e.Sub(s))
	}
}

func TestWeekKeys(t *testing.T) {
	tests := []struct {
		d    Date
		want string
	}{
		{Date{2026, 2, 15}, "2026-W07"}, // a Sunday
		{Date{2026, 2, 16}, "2026-W08"}, // the Monday after
		{Date{2026, 1, 1}, "2026-W01"},  // a Thursday
		{Date{2021, 1, 1}, "2020-W53"},  // a Friday: the last week of 2020
		{Date{2024, 12, 30}, "2025-W01"},
	}
	for _, tt := range tests {
		if got := tt.d.ISOWeek(); got != tt.want {
			t.Errorf("%s: ISO week %s, want %s", tt.d, got, tt.want)
		}
	}
	// 20:00 UTC on Sunday 15 February is 02:00 on Monday in Bishkek.
	at := time.Date(2026, 2, 15, 20, 0, 0, 0, time.UTC)
	if got := WeekKey(at, bishkek); got != "2026-W08" {
		t.Errorf("WeekKey in Bishkek = %s, want 2026-W08", got)
	}
	if got := WeekKey(at, time.UTC); got != "2026-W07" {
		t.Errorf("WeekKey in UTC = %s, want 2026-W07", got)
	}
}

func TestWeekGroupsHaveNoHoles(t *testing.T) {
	// Thursday 12 February (W07) to Tuesday 3 March (W10); one incident in W08.
	q := Query{From: Date{2026, 2, 12}, To: Date{2026, 3, 3}, Location: bishkek, GroupBy: ByWeek}
	b := NewBuilder(q, handPriorities())
	b.Add(Incident{Stamps: Stamps{Received: time.Date(2026, 2, 15, 20, 0, 0, 0, time.UTC)}, Priority: 1})
	res := b.Result()
	var keys []string
	for _, g := range res.Groups {
		keys = append(keys, g.Key)
	}
	if diff := cmp.Diff([]string{"2026-W07", "2026-W08", "2026-W09", "2026-W10"}, keys); diff != "" {
		t.Fatalf("week keys (-want +got):\n%s", diff)
	}
	if g := res.Groups[1]; g.Incidents != 1 || g.Label != "2026-02-16 – 2026-02-22" {
		t.Errorf("W08: %d incidents, label %q; want 1, 2026-02-16 – 2026-02-22", g.Incidents, g.Label)
	}
	if g := res.Groups[0]; g.Incidents != 0 || g.Intervals["response"].Median != nil {
		t.Errorf("W07: %+v, want an empty week with no figures", g)
	}
}

func TestShifts(t *testing.T) {
	tests := []struct {
		h, m int
		want Shift
	}{
		{0, 0, NightShift}, {7, 59, NightShift}, {8, 0, DayShift}, {13, 0, DayShift},
		{19, 59, DayShift}, {20, 0, NightShift}, {23, 59, NightShift},
	}
	for _, tt := range tests {
		at := time.Date(2026, 3, 1, tt.h, tt.m, 0, 0, bishkek)
		if got := ShiftOf(at.UTC(), bishkek); got != tt.want {
			t.Errorf("%02d:%02d local: shift %s, want %s", tt.h, tt.m, got, tt.want)
		}
	}
	// Grouped by shift: day before night.
	q := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, Location: bishkek, GroupBy: ByShift}
	b := NewBuilder(q, nil)
	b.Add(Incident{Stamps: Stamps{Received: time.Date(2026, 3, 1, 21, 0, 0, 0, bishkek)}, Priority: 1})
	b.Add(Incident{Stamps: Stamps{Received: time.Date(2026, 3, 1, 9, 0, 0, 0, bishkek)}, Priority: 1})
	res := b.Result()
	if len(res.Groups) != 2 || res.Groups[0].Key != "day" || res.Groups[1].Key != "night" {
		t.Errorf("shift groups %+v, want day then night", res.Groups)
	}
}

func TestParseQueryDefaults(t *testing.T) {
	// 20:30 UTC on 1 March is 02:30 on 2 March in Bishkek.
	now := time.Date(2026, 3, 1, 20, 30, 0, 0, time.UTC)
	q, err := ParseQuery(url.Values{}, bishkek, now)
	if err != nil {
		t.Fatal(err)
	}
	want := Query{From: Date{2026, 2, 3}, To: Date{2026, 3, 2}, Location: bishkek, GroupBy: ByPriority}
	if diff := cmp.Diff(want, q, sameLocation); diff != "" {
		t.Errorf("default query (-want +got):\n%s", diff)
	}
	if q.Days() != DefaultDays {
		t.Errorf("default query covers %d days, want %d", q.Days(), DefaultDays)
	}
	// Only the last day: the 28 days ending then.
	q, err = ParseQuery(url.Values{"to": {"2026-03-31"}}, bishkek, now)
	if err != nil || q.From != (Date{2026, 3, 4}) {
		t.Errorf("to=2026-03-31: from %v (%v), want 2026-03-04", q.From, err)
	}
}

func TestParseQueryRoundTrip(t *testing.T) {
	v := url.Values{"from": {"2026-03-01"}, "to": {"2026-03-31"}, "group_by": {"Settlement"}, "district": {"3"},
		"settlement": {"7"}, "idp_only": {"on"}, "priority": {"2"}, "type": {"4"}, "dv_only": {"1"}, "shift": {"night"}, "unit": {"9"}}
	q, err := ParseQuery(v, bishkek, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	three, seven, four, nine, two := int64(3), int64(7), int64(4), int64(9), 2
	want := Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 31}, Location: bishkek, GroupBy: BySettlement,
		Filters: Filters{DistrictID: &three, SettlementID: &seven, IDPOnly: true, Priority: &two, TypeID: &four,
			DVOnly: true, Shift: NightShift, UnitID: &nine}}
	if diff := cmp.Diff(want, q, sameLocation); diff != "" {
		t.Errorf("parsed query (-want +got):\n%s", diff)
	}
	back, err := ParseQuery(q.Values(), bishkek, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(q, back, sameLocation); diff != "" {
		t.Errorf("query after Values and ParseQuery (-first +second):\n%s", diff)
	}
	if err := q.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseQueryErrors(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		v     url.Values
		field string
	}{
		{url.Values{"from": {"2026-13-01"}}, "from"},
		{url.Values{"from": {"1/3/2026"}}, "from"},
		{url.Values{"to": {"yesterday"}}, "to"},
		{url.Values{"from": {"2026-03-02"}, "to": {"2026-03-01"}}, "to"},
		{url.Values{"from": {"2020-01-01"}, "to": {"2026-03-01"}}, "to"},
		{url.Values{"group_by": {"officer"}}, "group_by"},
		{url.Values{"shift": {"evening"}}, "shift"},
		{url.Values{"priority": {"0"}}, "priority"},
		{url.Values{"priority": {"high"}}, "priority"},
		{url.Values{"district": {"LEN"}}, "district"},
		{url.Values{"unit": {"-1"}}, "unit"},
		{url.Values{"dv_only": {"maybe"}}, "dv_only"},
	}
	for _, tt := range tests {
		_, err := ParseQuery(tt.v, bishkek, now)
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("%v: error %v, want Invalid", tt.v, err)
			continue
		}
		m, ok := apperr.FieldsOf(err)[tt.field]
		if !ok {
			t.Errorf("%v: fields %v, want a message for %s", tt.v, apperr.FieldsOf(err), tt.field)
			continue
		}
		if got := english(m); strings.Contains(got, i18n.MissingMark) {
			t.Errorf("%v: message %q is not in the catalogue", tt.v, m.ID)
		}
		if got := english(apperr.MessageOf(err)); !strings.Contains(got, "The report's parameters are not valid: ") || !strings.Contains(got, tt.field) {
			t.Errorf("%v: message %q, want it to name %s", tt.v, got, tt.field)
		}
	}
	_, err := ParseQuery(url.Values{"from": {"2020-01-01"}, "to": {"2026-03-01"}}, bishkek, now)
	if got, want := english(apperr.FieldsOf(err)["to"]), "A report covers at most 731 days; this one covers 2252."; got != want {
		t.Errorf("too long a range: %q, want %q", got, want)
	}
	if err := (Query{From: Date{2026, 3, 1}, To: Date{2026, 3, 1}, GroupBy: ByAll}).Validate(); err == nil {
		t.Error("a query without a time zone is valid")
	}
}

// english renders a message as an English reader sees it.
func english(m apperr.Msg) string { return i18n.Shared().Localizer("en").T(m.ID, m.Args...) }
