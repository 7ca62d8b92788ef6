package importer

import "time"

// Stage indexes the stage timestamps of an incident, in their natural
// order.
type Stage int

// The stages.
const (
	Received Stage = iota
	Dispatched
	EnRoute
	OnScene
	Cleared
	numStages
)

var stageNames = [numStages]string{"received", "dispatched", "en route", "on scene", "cleared"}

// String is the stage's name for people.
func (s Stage) String() string {
	if s < 0 || s >= numStages {
		return "?"
	}
	return stageNames[s]
}

// Times are the stage timestamps of one row; a zero Time is a stage not
// recorded.
type Times [numStages]time.Time

// Pair is two stages, Earlier expected no later than Later.
type Pair struct{ Earlier, Later Stage }

// String says what is wrong when the pair is out of order, e.g.
// "dispatched before received".
func (p Pair) String() string { return p.Later.String() + " before " + p.Earlier.String() }

// Pairs lists every pair of stages in order, (received, dispatched) first.
// OrderProblems numbers its bits by this list.
var Pairs = func() []Pair {
	var ps []Pair
	for i := Received; i < numStages; i++ {
		for j := i + 1; j < numStages; j++ {
			ps = append(ps, Pair{i, j})
		}
	}
	return ps
}()

// OrderProblems returns a bit set of the pairs (bit k for Pairs[k]) whose
// two stages are both recorded and in the wrong order: the later stage
// strictly before the earlier one. Equal times are in order.
func (t *Times) OrderProblems() uint16 {
	var bits uint16
	for k, p := range Pairs {
		a, b := t[p.Earlier], t[p.Later]
		if !a.IsZero() && !b.IsZero() && b.Before(a) {
			bits |= 1 << k
		}
	}
	return bits
}
