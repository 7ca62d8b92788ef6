package incident

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// A supervisor corrects a stage timestamp that was recorded wrongly or
// not at all (the officer forgot to press "On scene"), always with a
// reason. The stage column takes the corrected value, so that reports use
// it; the original value stays in the timeline as a "correction" event
// with the old value, the new value, who and why.

// Stages lists every stage in order.
var Stages = []Stage{Received, Dispatched, EnRoute, OnScene, Cleared}

// CorrectionTimeLayout is the layout of a corrected time as an
// <input type="datetime-local" step="1"> sends it, in the deployment's
// time zone; browsers leave the seconds out when they are zero, so
// ManualTimeLayout is accepted too.
const CorrectionTimeLayout = "2006-01-02T15:04:05"

// Bounds of a correction's reason, in characters.
const (
	MinReason = 5
	MaxReason = 500
)

// StageTimes are all five stage timestamps of an incident.
type StageTimes struct {
	Received time.Time
	Times
}

// At returns the timestamp of stage s (nil when not recorded).
func (t StageTimes) At(s Stage) *time.Time {
	if s == Received {
		r := t.Received
		return &r
	}
	return t.Times.At(s)
}

// with returns t with stage s set to v.
func (t StageTimes) with(s Stage, v *time.Time) StageTimes {
	switch s {
	case Received:
		if v != nil {
			t.Received = *v
		}
	case Dispatched:
		t.Dispatched = v
	case EnRoute:
		t.EnRoute = v
	case OnScene:
		t.OnScene = v
	case Cleared:
		t.Cleared = v
	}
	return t
}

// Column is the incidents column holding the stage's timestamp.
func (s Stage) Column() string { return string(s) + "_at" }

// CorrectionForm is the correction form as typed, kept as strings so that
// a refused form is shown again exactly as the supervisor left it.
type CorrectionForm struct {
	Stage  string // received, dispatched, en_route, on_scene, cleared
	Value  string // datetime-local in the deployment's zone; "" = not recorded
	Reason string
}

// Correction is a validated request to change one stage timestamp.
type Correction struct {
	Stage  Stage
	New    *time.Time // UTC, whole seconds; nil sets the stage to "not recorded"
	Reason string
}

// Parse checks the form on its own (the stage, the time's format, the
// reason); CheckCorrection then checks it against the incident.
func (f CorrectionForm) Parse(loc *time.Location) (Correction, error) {
	e := apperr.Fields{}
	c := Correction{Stage: Stage(strings.TrimSpace(f.Stage)), Reason: strings.TrimSpace(f.Reason)}
	known := false
	for _, s := range Stages {
		known = known || s == c.Stage
	}
	if !known {
		e.Add("stage", "corr.err.stage")
	}
	if v := strings.TrimSpace(f.Value); v != "" {
		t, err := time.ParseInLocation(CorrectionTimeLayout, v, loc)
		if err != nil {
			t, err = time.ParseInLocation(ManualTimeLayout, v, loc)
		}
		if err != nil {
			e.Add("value", "corr.err.value_format")
		} else {
			u := t.UTC()
			c.New = &u
		}
	}
	switch n := utf8.RuneCountInString(c.Reason); {
	case n == 0:
		e.Add("reason", "corr.err.reason_empty")
	case n < MinReason:
		e.Add("reason", "corr.err.reason_short", "Min", MinReason)
	case n > MaxReason:
		e.Add("reason", "err.text.too_long", "Max", MaxReason, "Now", n)
	}
	return c, e.Err()
}

// CheckCorrection checks c against the incident's current times t and
// the clock now, and returns the value being replaced (nil when the stage
// was not recorded). loc formats the times quoted in messages.
//
//   - A time in the future is refused.
//   - The stages recorded must stay in order: received <= dispatched <=
//     en route <= on scene <= cleared (compared to the second, as the form
//     shows them): the new time must lie between the nearest recorded
//     stages before and after it.
//   - A missing stage may be filled in, except "cleared": an open incident
//     is closed with the Cleared button and a disposition, which also
//     releases its units.
//   - Only en route and on scene may be set back to "not recorded" (the
//     unit never reported it); the other stages always happened.
//   - A correction that changes nothing is refused.
func CheckCorrection(t StageTimes, c Correction, now time.Time, loc *time.Location) (old *time.Time, err error) {
	old = t.At(c.Stage)
	fail := func(id string, kv ...any) (*time.Time, error) {
		return old, &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{"value": apperr.M(id, kv...)}}
	}
	if c.New == nil {
		if c.Stage != EnRoute && c.Stage != OnScene {
			return fail("corr.err.not_recordable")
		}
		if old == nil {
			return fail("corr.err.not_recorded." + string(c.Stage))
		}
		return old, nil // removing a time cannot break the order
	}
	if c.New.After(now) {
		return fail("corr.err.future")
	}
	if old == nil && c.Stage == Cleared {
		return fail("corr.err.clear_open")
	}
	sec := func(x time.Time) time.Time { return x.Truncate(time.Second) }
	if old != nil && sec(*old).Equal(sec(*c.New)) {
		return fail("corr.err.same")
	}
	// The corrected time must fit between the nearest stages recorded
	// before and after it. Only these neighbours are compared, so that
	// imported times already out of order elsewhere can be put right one
	// correction at a time.
	nt := t.with(c.Stage, c.New)
	i := slices.Index(Stages, c.Stage)
	for j := i - 1; j >= 0; j-- {
		if at := nt.At(Stages[j]); at != nil {
			if sec(*c.New).Before(sec(*at)) {
				return fail("corr.err.before."+string(c.Stage)+"."+string(Stages[j]), "Time", fmtLocal(*at, loc))
			}
			break
		}
	}
	for j := i + 1; j < len(Stages); j++ {
		if at := nt.At(Stages[j]); at != nil {
			if sec(*c.New).After(sec(*at)) {
				return fail("corr.err.after."+string(c.Stage)+"."+string(Stages[j]), "Time", fmtLocal(*at, loc))
			}
			break
		}
	}
	return old, nil
}

// StageName is the stage's name on the correction form and in the
// timeline ("On scene"), unlike Label, which describes the incident's
// state ("Awaiting dispatch").
func StageName(s Stage) string {
	switch s {
	case Received:
		return "Received"
	case Dispatched:
		return "Dispatched"
	case EnRoute:
		return "En route"
	case OnScene:
		return "On scene"
	case Cleared:
		return "Cleared"
	}
	return string(s)
}

func fmtLocal(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// CorrectionValue formats a stage time for a correction event: RFC 3339
// in UTC, or "" when the stage is not recorded.
func CorrectionValue(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
