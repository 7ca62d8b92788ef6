package report

// The victim breakdowns of the dashboard and of the repeat-rate figures:
// defined here once, for the database's queries (internal/postgres) and
// the report store (internal/facts) alike.

// Sexes are the victim's sexes recorded, in display order.
var Sexes = []string{"female", "male", "other"}

// AgeBand is a band of victims' ages, From to To years inclusive.
type AgeBand struct {
	Key      string
	From, To int
}

// AgeBands are the bands of the victim's age the dashboard reports, in
// order: children, then adults by decade (broadly).
var AgeBands = []AgeBand{{"0-17", 0, 17}, {"18-24", 18, 24}, {"25-34", 25, 34}, {"35-44", 35, 44}, {"45-59", 45, 59},
	{"60+", 60, 120}}
