package incident

import (
	"time"

	"github.com/dvresponse/dvresponse/internal/match"
)

// HistoryQuery is what the history lookup searches for.
type HistoryQuery struct {
	Keys Keys
	// VictimAge and SuspectAge, when known, let a name count as the same
	// person (match.Person) rather than a possible namesake.
	VictimAge, SuspectAge *int
	// Before: only incidents received before it (an incident's own
	// history); zero: every earlier call up to now (intake).
	Before time.Time
	// Exclude is an incident to leave out (the one being viewed), or 0.
	Exclude int64
	// WithUnits reads the units on each match, for a viewer (an officer)
	// whose area depends on them.
	WithUnits bool
}

// Prior is an earlier incident found by the history lookup, with what
// decides who may see it (district, creator, units, confidential address)
// and how sure the match is.
type Prior struct {
	ID          int64
	Number      string
	ReceivedAt  time.Time
	TypeName    string
	Priority    int
	Disposition string
	// Names per language of the type and disposition (refdata.LabelIn).
	TypeNames, DispositionNames map[string]string
	Weapons                     bool
	HighDanger                  bool
	Open                        bool

	DistrictID   *int64
	DistrictName string
	SettlementID *int64
	Latitude     *float64
	Longitude    *float64
	CreatedBy    *int64
	UnitIDs      []int64 // units on it now (not released); only with HistoryQuery.WithUnits
	Confidential bool    // the address is confidential

	Evidence match.Evidence
	Class    match.Class
}

// AreaSummary is what a viewer is told of matches outside their area: that
// history exists, where, how much, and the officer-safety flags; never
// names, numbers, addresses, dates or order parties.
type AreaSummary struct {
	DistrictID  *int64
	District    string // the district's name: whom to call
	Count       int
	Weapons     bool
	HighDanger  bool
	ActiveOrder bool
	Class       match.Class // the strongest match among them
}

// History is what the lookup found for an address, phone or person, as a
// viewer may see it.
type History struct {
	// Priors are the matches inside the viewer's area, most recent first,
	// strong ones and possible namesakes alike (Class tells them apart).
	Priors []Prior
	// Elsewhere are the strong matches outside the viewer's area, one
	// per district; ElsewhereNamesakes the possible namesakes there.
	Elsewhere, ElsewhereNamesakes []AreaSummary
	Total                         int // matches in all, in and outside the area
	// ActiveOrders are protection orders in force (or about to be) at the
	// address or naming the people, inside the viewer's area.
	ActiveOrders []OrderSummary
}

// Strong are the priors that may raise a warning (not possible namesakes).
func (h *History) Strong() []Prior {
	var out []Prior
	for _, p := range h.Priors {
		if p.Class.Strong() {
			out = append(out, p)
		}
	}
	return out
}

// Namesakes are the priors matched on a name alone.
func (h *History) Namesakes() []Prior {
	var out []Prior
	for _, p := range h.Priors {
		if !p.Class.Strong() {
			out = append(out, p)
		}
	}
	return out
}

// Own are an incident's own officer-safety facts (none for a call still
// being typed, except what the dispatcher chose).
type Own struct {
	HighDanger  bool // its danger screen found high danger
	WeaponsNow  bool // weapons mentioned on this call
	ChildrenNow bool
}

// WarningKind is what a warning is about.
type WarningKind string

const (
	WarnHighDanger WarningKind = "high_danger" // this incident's danger screen
	WarnWeaponsNow WarningKind = "weapons_now" // weapons on this call
	WarnChildren   WarningKind = "children"    // children present on this call
	WarnOrder      WarningKind = "order"       // an active protection order in the area
	WarnPrior      WarningKind = "prior"       // an earlier incident in the area with weapons or high danger
	WarnOrderElse  WarningKind = "order_elsewhere"
	WarnPriorElse  WarningKind = "prior_elsewhere" // earlier incidents elsewhere with flags
)

// Warning is one officer-safety warning and its source.
type Warning struct {
	Kind WarningKind
	// For WarnPrior: the earlier incident. For WarnOrder: the order.
	Number     string
	At         time.Time
	Class      match.Class // how the source matched (not for this incident's own)
	Weapons    bool
	HighDanger bool
	// For the *_elsewhere kinds: the district and how many incidents.
	District string
	Count    int
	Order    *OrderSummary
}

// MaxPriorWarnings bounds the earlier incidents named one by one in the
// warnings; older ones still count in the panel.
const MaxPriorWarnings = 5

// Warnings computes the officer-safety warnings of an incident (or a call
// being typed) from its own facts and its history, each naming its source.
// It is the one place warnings are decided: the intake panel, the incident
// page, the officer's list and the board (in compact form) all show its
// result. Possible namesakes never raise one.
func Warnings(own Own, h *History) []Warning {
	var out []Warning
	if own.HighDanger {
		out = append(out, Warning{Kind: WarnHighDanger})
	}
	if own.WeaponsNow {
		out = append(out, Warning{Kind: WarnWeaponsNow})
	}
	if own.ChildrenNow {
		out = append(out, Warning{Kind: WarnChildren})
	}
	if h == nil {
		return out
	}
	for i := range h.ActiveOrders {
		o := h.ActiveOrders[i]
		if !o.Strong() {
			continue
		}
		out = append(out, Warning{Kind: WarnOrder, Number: o.Number, Order: &o})
	}
	n := 0
	for _, p := range h.Priors {
		if !p.Class.Strong() || !(p.Weapons || p.HighDanger) {
			continue
		}
		if n++; n > MaxPriorWarnings {
			break
		}
		out = append(out, Warning{Kind: WarnPrior, Number: p.Number, At: p.ReceivedAt, Class: p.Class,
			Weapons: p.Weapons, HighDanger: p.HighDanger})
	}
	for _, a := range h.Elsewhere {
		if a.ActiveOrder {
			out = append(out, Warning{Kind: WarnOrderElse, District: a.District, Class: a.Class})
		}
		if a.Weapons || a.HighDanger {
			out = append(out, Warning{Kind: WarnPriorElse, District: a.District, Count: a.Count, Class: a.Class,
				Weapons: a.Weapons, HighDanger: a.HighDanger})
		}
	}
	return out
}

// Flags are the compact form of warnings, as the board shows them.
type Flags struct {
	HighDanger, Weapons, Order, Children bool
}

// FlagsOf folds warnings into their compact form.
func FlagsOf(ws []Warning) Flags {
	var f Flags
	for _, w := range ws {
		switch w.Kind {
		case WarnHighDanger:
			f.HighDanger = true
		case WarnWeaponsNow:
			f.Weapons = true
		case WarnChildren:
			f.Children = true
		case WarnOrder, WarnOrderElse:
			f.Order = true
		case WarnPrior, WarnPriorElse:
			f.Weapons = f.Weapons || w.Weapons
			f.HighDanger = f.HighDanger || w.HighDanger
		}
	}
	return f
}

// AddedCall is a further call about an open incident, recorded on it
// instead of a new incident.
type AddedCall struct {
	ReceivedAt  time.Time
	CallerName  string
	CallerPhone string
	Narrative   string
}
