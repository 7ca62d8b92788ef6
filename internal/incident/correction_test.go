package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

func TestCorrectionFormParse(t *testing.T) {
	loc := time.FixedZone("BISH", 6*3600)
	c, err := CorrectionForm{Stage: "on_scene", Value: "2026-03-08T21:40:05", Reason: "Officer forgot to press On scene"}.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 8, 15, 40, 5, 0, time.UTC)
	if c.Stage != OnScene || c.New == nil || !c.New.Equal(want) || c.New.Location() != time.UTC {
		t.Errorf("parsed %+v (new %v), want on_scene at %v UTC", c, c.New, want)
	}
	c, err = CorrectionForm{Stage: "dispatched", Value: "2026-03-08T21:40", Reason: "typed without seconds"}.Parse(loc)
	if err != nil || !c.New.Equal(want.Add(-5*time.Second)) {
		t.Errorf("without seconds: %v %v", c.New, err)
	}
	c, err = CorrectionForm{Stage: "en_route", Value: "", Reason: "never went en route"}.Parse(loc)
	if err != nil || c.New != nil {
		t.Errorf("empty value: new %v err %v, want nil, nil", c.New, err)
	}

	cases := []struct {
		name  string
		form  CorrectionForm
		field string
	}{
		{"unknown stage", CorrectionForm{Stage: "arrived", Value: "2026-03-08T21:40", Reason: "because"}, "stage"},
		{"bad time", CorrectionForm{Stage: "on_scene", Value: "yesterday", Reason: "because"}, "value"},
		{"no reason", CorrectionForm{Stage: "on_scene", Value: "2026-03-08T21:40", Reason: "   "}, "reason"},
		{"short reason", CorrectionForm{Stage: "on_scene", Value: "2026-03-08T21:40", Reason: "oops"}, "reason"},
		{"long reason", CorrectionForm{Stage: "on_scene", Value: "2026-03-08T21:40", Reason: strings.Repeat("x", 501)}, "reason"},
	}
	for _, tc := range cases {
		_, err := tc.form.Parse(loc)
		if apperr.CodeOf(err) != apperr.Invalid || apperr.FieldsOf(err)[tc.field].ID == "" {
			t.Errorf("%s: err %v, want a message at %s", tc.name, err, tc.field)
		}
	}
}

func TestCheckCorrection(t *testing.T) {
	base := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	at := func(min int) *time.Time { x := base.Add(time.Duration(min) * time.Minute); return &x }
	now := *at(120)
	// received 12:00, dispatched 12:02, on scene 12:20, no en route, open.
	times := StageTimes{Received: base, Times: Times{Dispatched: at(2), OnScene: at(20)}}
	cases := []struct {
		name string
		c    Correction
		ok   bool
		msg  string // part of the message at "value"
	}{
		{"fill in a missing en route", Correction{Stage: EnRoute, New: at(5)}, true, ""},
		{"move on scene later", Correction{Stage: OnScene, New: at(25)}, true, ""},
		{"move on scene to the dispatch second", Correction{Stage: OnScene, New: at(2)}, true, ""},
		{"future", Correction{Stage: OnScene, New: at(121)}, false, "future"},
		{"on scene before dispatch", Correction{Stage: OnScene, New: at(1)}, false, "On scene cannot be before Dispatched"},
		{"dispatched after on scene", Correction{Stage: Dispatched, New: at(30)}, false, "Dispatched cannot be after On scene"},
		{"en route after on scene", Correction{Stage: EnRoute, New: at(21)}, false, "En route cannot be after On scene"},
		{"received after dispatch", Correction{Stage: Received, New: at(3)}, false, "Received cannot be after Dispatched"},
		{"no change", Correction{Stage: OnScene, New: at(20)}, false, "already"},
		{"clear on scene", Correction{Stage: OnScene}, true, ""},
		{"clear en route that is not recorded", Correction{Stage: EnRoute}, false, "not recorded already"},
		{"clear dispatched", Correction{Stage: Dispatched}, false, "only en route and on scene"},
		{"clear received", Correction{Stage: Received}, false, "only en route and on scene"},
		{"close an open incident", Correction{Stage: Cleared, New: at(60)}, false, "Cleared button"},
	}
	for _, tc := range cases {
		_, err := CheckCorrection(times, tc.c, now, time.UTC)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if msg := english(apperr.FieldsOf(err)["value"]); !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: err %v, want a message at value containing %q", tc.name, err, tc.msg)
		}
	}

	// A cleared incident's clear time may be corrected; the old value is returned.
	closed := times
	closed.Cleared = at(50)
	old, err := CheckCorrection(closed, Correction{Stage: Cleared, New: at(45)}, now, time.UTC)
	if err != nil || old == nil || !old.Equal(*at(50)) {
		t.Errorf("correct cleared: old %v err %v", old, err)
	}
	// Times already out of order elsewhere (imported) do not block a
	// correction that fits its neighbours.
	messy := StageTimes{Received: base, Times: Times{Dispatched: at(-10), OnScene: at(20)}}
	if _, err := CheckCorrection(messy, Correction{Stage: OnScene, New: at(25)}, now, time.UTC); err != nil {
		t.Errorf("correct on scene of an incident whose dispatch precedes its receipt: %v", err)
	}
	if _, err := CheckCorrection(messy, Correction{Stage: Dispatched, New: at(1)}, now, time.UTC); err != nil {
		t.Errorf("put the dispatch time right: %v", err)
	}
}

func TestCorrectionValue(t *testing.T) {
	x := time.Date(2026, 3, 8, 21, 40, 5, 0, time.FixedZone("BISH", 6*3600))
	if got := CorrectionValue(&x); got != "2026-03-08T15:40:05Z" {
		t.Errorf("CorrectionValue = %q", got)
	}
	if got := CorrectionValue(nil); got != "" {
		t.Errorf("CorrectionValue(nil) = %q", got)
	}
}
