package incident

import "github.com/dvresponse/dvresponse/internal/match"

// Keys are the normalised forms of an incident's address (the flat and the
// building), phone (E.164) and names under which the history lookup
// matches earlier incidents; the rules are those of package match.
type Keys = match.Keys

// KeysOf computes the matching keys of an incident's fields under the
// deployment's rules.
func KeysOf(r match.Rules, address, phone, caller, victim, suspect string) Keys {
	return r.Keys(address, phone, caller, victim, suspect)
}
