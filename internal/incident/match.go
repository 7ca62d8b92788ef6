package incident

import (
	"slices"
	"strings"
	"unicode"
)

// Keys are the normalised forms of an incident's address, phone and names
// under which the history lookup matches earlier incidents.
type Keys struct {
	Address string
	Phone   string
	Caller  string
	Victim  string
	Suspect string
}

// addressNoise are words that say what kind of place an address names
// ("street", "apartment") in English, Russian, Kyrgyz and Georgian
// transliteration; they differ between call-takers, so they are dropped.
var addressNoise = map[string]bool{
	"ul": true, "ulitsa": true, "улица": true, "ул": true, "street": true, "st": true, "str": true,
	"ko": true, "kochosu": true, "көчөсү": true, "көч": true,
	"avenue": true, "ave": true, "av": true, "prospekt": true, "prosp": true, "pr": true, "проспект": true, "пр": true, "пр-т": true,
	"d": true, "д": true, "dom": true, "дом": true, "house": true, "h": true, "no": true, "№": true,
	"kv": true, "кв": true, "квартира": true, "apt": true, "apartment": true, "flat": true,
	"mkr": true, "мкр": true, "микрорайон": true, "microdistrict": true, "mikrorayon": true,
	"g": true, "г": true, "город": true, "city": true, "town": true,
	"pereulok": true, "per": true, "переулок": true, "пер": true, "lane": true,
	"kucha": true, "ქუჩა": true, "ქ": true, "the": true,
}

// tokens lower-cases s and splits it into runs of letters and digits;
// everything else (punctuation, spaces, dashes) separates. A run that
// mixes letters and digits ("12a") stays whole.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// sortedKey joins the tokens in sorted order, so that word order does not
// matter ("Chui 12" and "12 Chui").
func sortedKey(ts []string) string {
	slices.Sort(ts)
	return strings.Join(ts, " ")
}

// AddressKey normalises an address: case, punctuation, extra spaces, word
// order and words such as "street" or "apt." do not matter.
func AddressKey(address string) string {
	var ts []string
	for _, t := range tokens(address) {
		if !addressNoise[t] {
			ts = append(ts, t)
		}
	}
	return sortedKey(ts)
}

// PhoneKey normalises a phone number to its last nine digits, the national
// significant number in Kyrgyzstan and Georgia, so that "+996 555 12-34-56",
// "0555 123456" and "555123456" meet. Fewer than six digits is no key.
func PhoneKey(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
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

// NameKey normalises a person's name: case, punctuation, spaces and the
// order of given name and surname do not matter.
func NameKey(name string) string {
	ts := tokens(name)
	if len(ts) == 0 {
		return ""
	}
	return sortedKey(ts)
}

// KeysOf computes the matching keys of an incident's fields.
func KeysOf(address, phone, caller, victim, suspect string) Keys {
	return Keys{Address: AddressKey(address), Phone: PhoneKey(phone), Caller: NameKey(caller),
		Victim: NameKey(victim), Suspect: NameKey(suspect)}
}

// Empty reports whether there is nothing to match on.
func (k Keys) Empty() bool {
	return k.Address == "" && k.Phone == "" && k.Caller == "" && k.Victim == "" && k.Suspect == ""
}
