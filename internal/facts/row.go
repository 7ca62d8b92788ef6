package facts

import "time"

// Row is one incident as a Loader gives it to the store.
type Row struct {
	ID       int64
	Received time.Time // received_at (any zone; the store takes its local day)
	// Dur holds each interval of report.Definitions, in that order: the
	// duration in whole seconds rounded up (so that a percentile is within
	// 1 s of percentile_cont's and "within target" is exact), or Missing
	// or OutOfOrder.
	Dur          [6]int32
	Priority     int
	DistrictID   int64 // 0: none
	SettlementID int64 // 0: none
	TypeID       int64
	Corrected    bool    // a stage time was corrected (corrections > 0)
	Imported     bool    // imported from another system (source = 'import')
	VictimSex    string  // "" when not recorded
	VictimAge    int     // -1 when not recorded
	Units        []int64 // every unit ever assigned (incident_units)
	// RepeatGap is the time since the victim's previous DV incident (her
	// latest strictly earlier one, through the confirmed person links) in
	// whole seconds rounded up, or NoPrevious. It is kept whatever the
	// incident's own type: the repeat figures count DV incidents only.
	RepeatGap int32
	// Violation says the incident reports a violation of a protection
	// order (protection_order_id is set); FoundByPolice, that a police
	// check found it (violation_found_by = 'police_check').
	Violation, FoundByPolice bool
	// Actions are the referrals, danger screens and protection orders
	// recorded for it.
	Actions Actions
}

// NoPrevious is the RepeatGap of an incident whose victim is not linked
// to a person, or whose person has no earlier DV incident.
const NoPrevious int32 = -1

// Values of Row.Dur that are not durations.
const (
	Missing    int32 = -1 // either stage not recorded
	OutOfOrder int32 = -2 // the end comes before the start
)
