package incident

import (
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

func TestCheckStage(t *testing.T) {
	now := time.Now()
	at := &now
	cases := []struct {
		name    string
		times   Times
		to      Stage
		disp    bool
		done    bool
		errCode apperr.Code
	}{
		{"en route before dispatch", Times{}, EnRoute, false, false, apperr.Conflict},
		{"on scene before dispatch", Times{}, OnScene, false, false, apperr.Conflict},
		{"en route after dispatch", Times{Dispatched: at}, EnRoute, false, false, ""},
		{"on scene without en route", Times{Dispatched: at}, OnScene, false, false, ""},
		{"on scene after en route", Times{Dispatched: at, EnRoute: at}, OnScene, false, false, ""},
		{"en route twice", Times{Dispatched: at, EnRoute: at}, EnRoute, false, true, ""},
		{"on scene twice", Times{Dispatched: at, OnScene: at}, OnScene, false, true, ""},
		{"back to en route after on scene", Times{Dispatched: at, OnScene: at}, EnRoute, false, false, apperr.Conflict},
		{"clear without disposition", Times{Dispatched: at, OnScene: at}, Cleared, false, false, apperr.Invalid},
		{"clear with disposition", Times{Dispatched: at, OnScene: at}, Cleared, true, false, ""},
		{"clear before dispatch (duplicate call)", Times{}, Cleared, true, false, ""},
		{"clear twice", Times{Dispatched: at, Cleared: at}, Cleared, true, true, ""},
		{"on scene after cleared", Times{Dispatched: at, Cleared: at}, OnScene, false, false, apperr.Conflict},
		{"received is not a stage to set", Times{}, Received, false, false, apperr.Invalid},
		{"dispatched is set by assigning", Times{}, Dispatched, false, false, apperr.Invalid},
	}
	for _, c := range cases {
		done, err := CheckStage(c.times, c.to, c.disp)
		if done != c.done || apperr.CodeOf(err) != c.errCode {
			t.Errorf("%s: done=%v err=%v, want done=%v code %q", c.name, done, err, c.done, c.errCode)
		}
	}
}

func TestNextStages(t *testing.T) {
	now := time.Now()
	at := &now
	for _, c := range []struct {
		t    Times
		want []Stage
	}{
		{Times{}, []Stage{Cleared}},
		{Times{Dispatched: at}, []Stage{EnRoute, OnScene, Cleared}},
		{Times{Dispatched: at, EnRoute: at}, []Stage{OnScene, Cleared}},
		{Times{Dispatched: at, EnRoute: at, OnScene: at}, []Stage{Cleared}},
		{Times{Dispatched: at, Cleared: at}, nil},
	} {
		got := c.t.Next()
		if len(got) != len(c.want) {
			t.Errorf("Next(%+v) = %v, want %v", c.t, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("Next(%+v) = %v, want %v", c.t, got, c.want)
			}
		}
	}
}
