package report

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// Definition says which stages bound an interval (DESIGN.md section 3).
type Definition struct {
	Interval refdata.Interval
	From, To incident.Stage
}

// Definitions lists the intervals in report order (refdata.Intervals).
var Definitions = []Definition{
	{refdata.CallProcessing, incident.Received, incident.Dispatched},
	{refdata.Turnout, incident.Dispatched, incident.EnRoute},
	{refdata.Travel, incident.EnRoute, incident.OnScene},
	{refdata.Response, incident.Received, incident.OnScene},
	{refdata.OnScene, incident.OnScene, incident.Cleared},
	{refdata.Total, incident.Received, incident.Cleared},
}

// DefinitionOf returns the definition of iv.
func DefinitionOf(iv refdata.Interval) (Definition, bool) {
	i := slices.IndexFunc(Definitions, func(d Definition) bool { return d.Interval == iv })
	if i < 0 {
		return Definition{}, false
	}
	return Definitions[i], true
}

// Stamps are an incident's stage timestamps; a stage that did not happen
// (or was not recorded) is nil, never the zero time.
type Stamps struct {
	Received   time.Time
	Dispatched *time.Time
	EnRoute    *time.Time
	OnScene    *time.Time
	Cleared    *time.Time
}

// At returns the timestamp of stage s (nil when not recorded).
func (s Stamps) At(st incident.Stage) *time.Time {
	switch st {
	case incident.Received:
		if s.Received.IsZero() {
			return nil
		}
		t := s.Received
		return &t
	case incident.Dispatched:
		return s.Dispatched
	case incident.EnRoute:
		return s.EnRoute
	case incident.OnScene:
		return s.OnScene
	case incident.Cleared:
		return s.Cleared
	}
	return nil
}

// Interval measures interval d of the incident.
func (s Stamps) Interval(d Definition) (seconds float64, st Status) {
	return Duration(s.At(d.From), s.At(d.To))
}

// Status is what measuring an interval of one incident gave.
type Status int

// The statuses. Missing and Inconsistent incidents are left out of the
// interval's figures and counted separately.
const (
	Measured     Status = iota // both ends recorded, in order: the duration counts
	Missing                    // either end not recorded
	Inconsistent               // both recorded but the end comes before the start
)

func (s Status) String() string {
	switch s {
	case Measured:
		return "measured"
	case Missing:
		return "missing"
	case Inconsistent:
		return "inconsistent"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Duration is the time from from to to in seconds (microsecond precision,
// as stored). A nil end is Missing; an end before the start is
// Inconsistent (a data-entry or clock problem). Zero is a valid duration.
func Duration(from, to *time.Time) (seconds float64, st Status) {
	if from == nil || to == nil {
		return 0, Missing
	}
	d := to.Sub(*from)
	if d < 0 {
		return 0, Inconsistent
	}
	return d.Seconds(), Measured
}

// Percentile is the p-th percentile (0 <= p <= 1) of sorted values by
// linear interpolation between the closest ranks: PostgreSQL's
// percentile_cont and numpy's default. ok is false for no values (the
// figure is then absent, not 0) or p outside [0, 1].
func Percentile(sorted []float64, p float64) (v float64, ok bool) {
	return PercentileAt(int64(len(sorted)), func(i int64) float64 { return sorted[i] }, p)
}

// PercentileAt is Percentile over n ordered values that at gives by
// 0-based rank, for values not held in a slice (counts per duration):
// at is called for the one or two ranks interpolated between.
func PercentileAt(n int64, at func(rank int64) float64, p float64) (v float64, ok bool) {
	if n == 0 || !(p >= 0 && p <= 1) {
		return 0, false
	}
	pos := p * float64(n-1)
	lo := math.Floor(pos)
	i := int64(lo)
	if i >= n-1 {
		return at(n - 1), true
	}
	a := at(i)
	return a + (pos-lo)*(at(i+1)-a), true
}

// Percentiles are the median, 90th and 95th percentiles of n ordered
// values that at gives by rank (PercentileAt); nil when n is 0.
func Percentiles(n int64, at func(rank int64) float64) (median, p90, p95 *float64) {
	pct := func(p float64) *float64 {
		if v, ok := PercentileAt(n, at, p); ok {
			return &v
		}
		return nil
	}
	return pct(0.5), pct(0.9), pct(0.95)
}

// CommonTarget is the target shared by all of targets (those of the
// priorities of a group's incidents, one each): nil when there are none or
// they differ.
func CommonTarget(targets []*int) *int {
	if len(targets) == 0 {
		return nil
	}
	for _, t := range targets[1:] {
		if !sameTarget(t, targets[0]) {
			return nil
		}
	}
	if targets[0] == nil {
		return nil
	}
	t := *targets[0]
	return &t
}

// Summary is the figures of one interval over a set of incidents.
type Summary struct {
	N            int // incidents measured
	Missing      int // left out: either stage not recorded
	Inconsistent int // left out: stages out of order
	// Median, P90 and P95 are in seconds; nil when N is 0.
	Median, P90, P95 *float64
	// TargetS is the target in seconds when every incident of the set
	// has the same one and it did not change within the range (e.g.
	// grouped by priority); nil when none, mixed or changed.
	TargetS *int
	// WithinTargetPct is the share (0-100) of the measured incidents with
	// a target whose duration is at most the target of their priority in
	// force on the day they were received; nil
	// when no measured incident has a target.
	WithinTargetPct *float64
}

// sample collects the durations of one interval; see Summary.
type sample struct {
	durations    []float64
	missing      int
	inconsistent int
	withTarget   int
	within       int
	target       *int
	targetMixed  bool
	seen         bool // any incident added (for the common target)
}

// add records one incident: its measurement, the target it is judged
// against, and its priority's target over the whole range (common; fixed
// false when that changed within the range).
func (s *sample) add(seconds float64, st Status, target, common *int, fixed bool) {
	switch {
	case !fixed:
		s.target, s.targetMixed, s.seen = nil, true, true
	case !s.seen:
		s.target, s.seen = common, true
	case !s.targetMixed && !sameTarget(s.target, common):
		s.target, s.targetMixed = nil, true
	}
	switch st {
	case Missing:
		s.missing++
		return
	case Inconsistent:
		s.inconsistent++
		return
	}
	s.durations = append(s.durations, seconds)
	if target != nil {
		s.withTarget++
		if seconds <= float64(*target) {
			s.within++
		}
	}
}

func sameTarget(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// summary computes the figures; it sorts the durations in place.
func (s *sample) summary() Summary {
	slices.Sort(s.durations)
	sum := Summary{N: len(s.durations), Missing: s.missing, Inconsistent: s.inconsistent}
	sum.Median, sum.P90, sum.P95 = Percentiles(int64(len(s.durations)), func(i int64) float64 { return s.durations[i] })
	if s.target != nil {
		t := *s.target
		sum.TargetS = &t
	}
	if s.withTarget > 0 {
		v := 100 * float64(s.within) / float64(s.withTarget)
		sum.WithinTargetPct = &v
	}
	return sum
}
