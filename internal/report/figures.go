package report

// GroupFigures are the figures of a whole group computed elsewhere than by Add:
// what a Source that aggregates itself (internal/facts) knows of a group
// without passing its incidents to Add one by one.
type GroupFigures struct {
	Incidents int // incidents in the group
	Corrected int // of which a supervisor corrected a stage time
	// Intervals holds every interval of Definitions; a missing one
	// counts as no incident measured.
	Intervals []Summary // in the order of Definitions
}

// AddFigures sets the figures of the group that in belongs to (only the
// fields the query groups by count: Priority, DistrictCode and
// DistrictName, SettlementKey, SettlementName and SettlementIDP, TypeCode
// and TypeName, or Received) to f, for a Source that computes them itself.
// Result gives the group the key, label and place Add would have given
// it. A group gets its figures either from AddFigures, once, or from Add.
func (b *Builder) AddFigures(in Incident, f GroupFigures) {
	key, label, rank := b.keyOf(in)
	g := b.group(key, label, rank)
	g.fixed = &f
}
