package incident

import (
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// TestFollowUpHoursValidate: the tables' ranges, a span that must hold
// one repeat, and the bound on the tasks one trigger makes; each message
// at its field; Tasks equals the length of the due times.
func TestFollowUpHoursValidate(t *testing.T) {
	for _, c := range []struct {
		h     FollowUpHours
		want  map[string]string // field -> message id
		tasks int
	}{
		{FollowUpHours{First: 72, Every: 168, For: 1344}, nil, 8},
		{FollowUpHours{First: 720}, nil, 1},
		{FollowUpHours{First: 24, For: 500}, nil, 1}, // no repeat: For unused
		{FollowUpHours{First: 48, Every: 24, For: 72}, nil, 2},
		{FollowUpHours{First: 1, Every: 1, For: 400}, nil, 400},
		{FollowUpHours{First: 1, Every: 1, For: 401}, map[string]string{"every": "admin.schedules.err.too_many"}, 401},
		{FollowUpHours{First: 48, Every: 24, For: 71}, map[string]string{"for": "admin.schedules.err.for_short"}, 1},
		{FollowUpHours{First: 0, Every: -1, For: 8761}, map[string]string{"first": "admin.schedules.err.range",
			"every": "admin.schedules.err.range", "for": "admin.schedules.err.range"}, 1},
		{FollowUpHours{First: 8761, Every: 24, For: 24}, map[string]string{"first": "admin.schedules.err.range"}, 1},
	} {
		f := apperr.Fields{}
		c.h.Validate(f, func(p string) string { return p })
		if len(f) != len(c.want) {
			t.Errorf("%+v: messages %v, want %v", c.h, f, c.want)
		}
		for field, id := range c.want {
			if f[field].ID != id {
				t.Errorf("%+v: %s has %q, want %q", c.h, field, f[field].ID, id)
			}
		}
		if got := c.h.Tasks(); got != c.tasks {
			t.Errorf("%+v: Tasks %d, want %d", c.h, got, c.tasks)
		}
		if c.tasks <= MaxScheduled {
			if got := len(c.h.Schedule().Due(time.Now())); got != c.tasks {
				t.Errorf("%+v: %d due times, Tasks says %d", c.h, got, c.tasks)
			}
		}
	}
	if h := (FollowUpHours{First: 24, For: 500}).Normal(); h.For != 0 {
		t.Errorf("Normal kept For %d without a repeat", h.For)
	}
	for _, r := range TaskReasons {
		f := apperr.Fields{}
		DefaultFollowUpHours(r).Validate(f, func(p string) string { return p })
		if len(f) != 0 {
			t.Errorf("default of %s is invalid: %v", r, f)
		}
	}
}

// TestCheckHoursValidate: checks every hour at least, and no kind's
// longest order checked more than MaxScheduled times; MaxChecks is not
// below the checks the longest order really gets.
func TestCheckHoursValidate(t *testing.T) {
	for _, c := range []struct {
		h    CheckHours
		want map[string]string
	}{
		{CheckHours{Kind: CourtOrder, First: 24, Every: 72}, nil},
		{CheckHours{Kind: TemporaryOrder, First: 1, Every: 1}, map[string]string{"every": "admin.schedules.err.too_many_checks"}},
		{CheckHours{Kind: TemporaryOrder, First: 1, Every: 3}, nil}, // 296 checks over 37 days
		{CheckHours{Kind: CourtOrder, First: 24, Every: 0}, map[string]string{"every": "admin.schedules.err.range"}},
		{CheckHours{Kind: CourtOrder, First: 0, Every: 9000}, map[string]string{"first": "admin.schedules.err.range", "every": "admin.schedules.err.range"}},
	} {
		f := apperr.Fields{}
		c.h.Validate(f, func(p string) string { return p })
		if len(f) != len(c.want) {
			t.Errorf("%+v: messages %v, want %v", c.h, f, c.want)
		}
		for field, id := range c.want {
			if f[field].ID != id {
				t.Errorf("%+v: %s has %q, want %q", c.h, field, f[field].ID, id)
			}
		}
	}
	loc, err := time.LoadLocation("Asia/Tbilisi")
	if err != nil {
		t.Skip(err)
	}
	for _, rule := range OrderRules {
		for _, every := range []int{1, 24, 72} {
			h := CheckHours{Kind: rule.Kind, First: 1, Every: every}
			issued := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
			end := rule.Max.After(issued.Add(MaxOrderStartFuture), loc)
			if got, bound := len(Hours(h.First, h.Every, 0).ChecksUntil(issued, end)), h.MaxChecks(); got > bound {
				t.Errorf("%s every %d h: the longest order gets %d checks, MaxChecks says %d", rule.Kind, every, got, bound)
			}
		}
	}
}

// TestChecksAfter: an extension's checks follow on from the last check
// every Every, before the end.
func TestChecksAfter(t *testing.T) {
	last := time.Date(2026, 12, 30, 12, 0, 0, 0, time.UTC)
	got := Hours(12, 24, 0).ChecksAfter(last, last.Add(72*time.Hour))
	if len(got) != 2 || !got[0].Equal(last.Add(24*time.Hour)) || !got[1].Equal(last.Add(48*time.Hour)) {
		t.Errorf("ChecksAfter: %v", got)
	}
	if got := Hours(12, 24, 0).ChecksAfter(last, last.Add(24*time.Hour)); len(got) != 0 {
		t.Errorf("a check due at the end: %v", got)
	}
}
