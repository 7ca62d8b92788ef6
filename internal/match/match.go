// Package match holds the rules by which the history lookup takes two
// spellings of an address, a phone number or a person's name for the same
// one: normalisation that knows the region's scripts and address
// conventions, and the keys the incidents are indexed under.
//
// It imports nothing of the application: the incident package computes
// an incident's keys with it, and the history lookup compares them.
package match

import (
	"slices"
	"strings"
	"unicode"
)

// Rules are the deployment's matching settings.
type Rules struct {
	// Region is the ISO 3166-1 alpha-2 code of the deployment's country
	// ("KG", "GE"), the default for phone numbers written without one.
	Region string
}

// Keys are the normalised forms of an incident's address, phone and names.
// An empty key matches nothing.
type Keys struct {
	Flat     string // the flat (or house, where it has no flats): street, house, block, flat
	Building string // the building: street, house, block
	Phone    string // E.164
	Caller   string
	Victim   string
	Suspect  string
}

// Empty reports whether there is nothing to match on.
func (k Keys) Empty() bool {
	return k.Flat == "" && k.Building == "" && k.Phone == "" && k.Caller == "" && k.Victim == "" && k.Suspect == ""
}

// Keys computes the keys of an incident's fields.
func (r Rules) Keys(address, phone, caller, victim, suspect string) Keys {
	flat, building := Address(address)
	return Keys{Flat: flat, Building: building, Phone: r.Phone(phone), Caller: Name(caller), Victim: Name(victim), Suspect: Name(suspect)}
}

// Address returns the flat key and the building key of an address; both
// are empty when the address names no place that can be matched.
//
// STUB: the first cut sorts tokens; see the issue for the real rules.
func Address(s string) (flat, building string) {
	ts := tokens(s)
	if len(ts) == 0 {
		return "", ""
	}
	slices.Sort(ts)
	k := strings.Join(ts, " ")
	return k, k
}

// Name returns a person's name key: word order, case, punctuation and
// script do not matter; "" when there is no name.
//
// STUB.
func Name(s string) string {
	ts := tokens(s)
	if len(ts) == 0 {
		return ""
	}
	slices.Sort(ts)
	return strings.Join(ts, " ")
}

// Phone returns the number in E.164 form ("+996555123456"), reading a
// number without a country code as one of r.Region's; "" when s is not a
// phone number.
//
// STUB.
func (r Rules) Phone(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	d := b.String()
	if len(d) < 6 {
		return ""
	}
	if len(d) > 9 {
		d = d[len(d)-9:]
	}
	return d
}

func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}
