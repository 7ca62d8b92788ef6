package incident

import (
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// Times are an incident's stage timestamps after "received".
type Times struct {
	Dispatched *time.Time
	EnRoute    *time.Time
	OnScene    *time.Time
	Cleared    *time.Time
}

// At returns the timestamp of stage s (nil when not reached).
func (t Times) At(s Stage) *time.Time {
	switch s {
	case Dispatched:
		return t.Dispatched
	case EnRoute:
		return t.EnRoute
	case OnScene:
		return t.OnScene
	case Cleared:
		return t.Cleared
	}
	return nil
}

// Next lists the stages that may be recorded next, in button order. A
// unit may arrive without having pressed "en route" (the travel interval
// is then missing, not zero); a call can be cleared from any stage, with a
// disposition, e.g. a duplicate before dispatch.
func (t Times) Next() []Stage {
	switch {
	case t.Cleared != nil:
		return nil
	case t.OnScene != nil:
		return []Stage{Cleared}
	case t.EnRoute != nil:
		return []Stage{OnScene, Cleared}
	case t.Dispatched != nil:
		return []Stage{EnRoute, OnScene, Cleared}
	}
	return []Stage{Cleared}
}

// CheckStage says whether stage to may be recorded on an incident with
// times t. done is true when to was recorded already: a second officer or
// a retried request, answered as "already done" and changing nothing. An
// error says why the stage is refused (the message is for the officer).
func CheckStage(t Times, to Stage, hasDisposition bool) (done bool, err error) {
	switch to {
	case EnRoute, OnScene, Cleared:
	default:
		return false, apperr.New(apperr.Invalid, "stage.err.unknown")
	}
	if t.At(to) != nil {
		return true, nil
	}
	if t.Cleared != nil {
		return false, apperr.New(apperr.Conflict, "stage.err.cleared")
	}
	switch to {
	case EnRoute:
		if t.Dispatched == nil {
			return false, apperr.New(apperr.Conflict, "stage.err.not_dispatched")
		}
		if t.OnScene != nil {
			return false, apperr.New(apperr.Conflict, "stage.err.on_scene_already")
		}
	case OnScene:
		if t.Dispatched == nil {
			return false, apperr.New(apperr.Conflict, "stage.err.on_scene_early")
		}
	case Cleared:
		if !hasDisposition {
			return false, &apperr.Error{Code: apperr.Invalid, Message: "stage.err.disposition",
				Fields: map[string]apperr.Msg{"disposition_id": apperr.M("stage.err.disposition_field")}}
		}
	}
	return false, nil
}
