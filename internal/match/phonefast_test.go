package match

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// phoneRegions are the deployments' regions and their neighbours, whose
// usual spellings the fast path must read itself.
var phoneRegions = []string{"KG", "GE", "RU", "KZ", "UZ", "TR", "US"}

// fuzzRegions adds regions whose metadata the fast path leaves to the
// library (AR, BR, MX: patterns and transform rules), others with leading
// zeros or odd lengths (IT, DE, GB, CN, BY) and an unknown one.
var fuzzRegions = append(append([]string{}, phoneRegions...), "IT", "DE", "GB", "AR", "BR", "MX", "CN", "BY", "IN", "XX")

// comparePhone fails t where the fast path and the library read s, in
// region, differently; it reports whether the fast path decided.
func comparePhone(t *testing.T, region, s string) bool {
	t.Helper()
	var buf [24]byte
	d := phoneDigits(s, &buf)
	if len(d) == 0 {
		return false
	}
	fast, ok := fastPhone(d, region)
	if !ok {
		return false
	}
	if lib := libraryPhone(string(d), region); fast != lib {
		t.Errorf("%s %q (digits %q): fast path %q, library %q", region, s, d, fast, lib)
	}
	return true
}

// tablePhones are the phone spellings of this package's tables.
func tablePhones() (out []struct{ region, s string }) {
	for _, g := range samePhone {
		out = append(out, g.in...)
	}
	for _, c := range otherPhones {
		out = append(out, struct{ region, s string }{c.ra, c.a}, struct{ region, s string }{c.rb, c.b})
	}
	return append(out, noPhone...)
}

// edgePhones take the library's rarer turns, each of which the fast path
// must take alike.
var edgePhones = []struct{ region, s string }{
	{"KZ", "8 (701) 123-45-67"}, {"RU", "8 (912) 345-67-89"}, {"KZ", "87011234567"}, // a trunk 8
	{"KZ", "8701123456"},                                                                                // ten digits that are a national number with their 8 ([78]\d{9})
	{"RU", "8 912 345 67 89 01 2"},                                                                      // fourteen digits with the 8 (8\d{13}) keep it
	{"IN", "000800 1234567"},                                                                            // viable with its 0 and not without: the 0 stays
	{"KG", "996 555 123456"}, {"KG", "9965551234567"}, {"GE", "995599123456"}, {"US", "1 202 555 0123"}, // own code without +
	{"KG", "00 0555 123456"},                                   // 00 before a 0 is no IDD
	{"RU", "810 996 555 123456"}, {"US", "011 996 555 123456"}, // other IDDs
	{"KG", "+0555 123 456"}, {"KG", "+00996555123456"}, {"KG", "+996555123456"}, // + before no code: read again without it
	{"KG", "+999 555 123456"}, {"KG", "00999 555 123456"}, // unknown codes
	{"CA", "234 5678"}, {"US", "234 5678"}, // local-only in the main region
	{"IT", "+39 06 1234 5678"}, {"KG", "+39 0000 00"}, // leading zeros kept
	{"KG", "+800 1234 5678"}, {"KG", "+882 1234 567890"}, // non-geographical codes
}

// randomPhone writes a number in one of the shapes dispatchers type: a
// national number with or without its trunk prefix, with the region's own
// or another country code, after +, 00, 810 or 011, in groups separated
// by spaces, dashes, dots or brackets.
func randomPhone(rng *rand.Rand, region string) string {
	own := strconv.Itoa(phonenumbers.GetCountryCodeForRegion(region))
	codes := []string{own, own, own, "996", "995", "7", "998", "90", "1", "44", "49", "39", "86", "54", "380", "375", "992", "994", "374", "800", "882"}
	cc := codes[rng.IntN(len(codes))]
	if rng.IntN(8) == 0 {
		cc = strconv.Itoa(1 + rng.IntN(999)) // any code, known or not
	}
	prefixes := []string{"", "", "", "0", "8", "1", "00", "0", "+", "+", "810", "011", "8 10 ", "+0", "00" + cc, "+" + cc, "+" + cc, cc, "8", "0 (", "+" + cc + " (0", "00 " + cc + " ", "810 " + cc}
	var b strings.Builder
	b.WriteString(prefixes[rng.IntN(len(prefixes))])
	n := 3 + rng.IntN(12)
	if rng.IntN(2) == 0 {
		n = 6 + rng.IntN(5) // the usual lengths
	}
	seps := []string{"", "", " ", " ", "-", ".", ") ", " (", "/", "\u00a0"}
	for i := 0; i < n; i++ {
		if i > 0 && rng.IntN(4) == 0 {
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	switch rng.IntN(20) {
	case 0:
		b.WriteString(" доб. 12")
	case 1:
		b.WriteString(", 0555 123 456")
	}
	return b.String()
}

// TestPhoneFastPathEqualsLibrary compares the fast path with the library
// on the tables' spellings, on the example numbers of every region the
// library knows (nationally, internationally, after an IDD), and on
// random numbers in the usual shapes; the common forms of the
// deployments' regions must not fall back to the library.
func TestPhoneFastPathEqualsLibrary(t *testing.T) {
	for _, c := range tablePhones() {
		region := strings.ToUpper(strings.TrimSpace(c.region))
		if region == "" {
			region = DefaultRegion
		}
		if !comparePhone(t, region, c.s) && region != "XX" && strings.ContainsAny(c.s, "0123456789") {
			t.Errorf("%s %q: the fast path left a table spelling to the library", region, c.s)
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	n := 1500
	if testing.Short() || raceEnabled {
		n = 100
	}
	for _, region := range phoneRegions {
		fast := 0
		for range n {
			if comparePhone(t, region, randomPhone(rng, region)) {
				fast++
			}
		}
		// Only numbers with a country code whose metadata needs patterns
		// (Argentina's +54 here) may fall back.
		if fast < n*9/10 {
			t.Errorf("%s: the fast path decided %d of %d random numbers, want 90%%", region, fast, n)
		}
	}

	// Spellings that take the library's rarer turns.
	for _, c := range edgePhones {
		if !comparePhone(t, c.region, c.s) {
			t.Errorf("%s %q: the fast path left an edge spelling to the library", c.region, c.s)
		}
	}

	// Every region's example numbers, read at home and in the deployments'
	// regions, and random numbers read in every region (CA reads seven
	// digits as US does not, KZ has local lengths RU has not, ...).
	regions := make([]string, 0, 256)
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, r := range regions {
		for range n / 50 {
			comparePhone(t, r, randomPhone(rng, r))
		}
		ex := phonenumbers.GetExampleNumber(r)
		if ex == nil {
			continue
		}
		nat := phonenumbers.Format(ex, phonenumbers.NATIONAL)
		intl := phonenumbers.Format(ex, phonenumbers.INTERNATIONAL)
		e164 := phonenumbers.Format(ex, phonenumbers.E164)
		comparePhone(t, r, nat)
		comparePhone(t, r, intl)
		homes := phoneRegions[:2+rng.IntN(len(phoneRegions)-2)]
		if raceEnabled {
			homes = nil
		}
		for _, home := range homes {
			comparePhone(t, home, intl)
			comparePhone(t, home, e164[1:])
			comparePhone(t, home, "00"+e164[1:])
			comparePhone(t, home, "810"+e164[1:])
		}
	}
}

// FuzzPhoneFastPath compares the fast path with the library on any input
// in the deployments' regions and others.
func FuzzPhoneFastPath(f *testing.F) {
	for _, c := range tablePhones() {
		f.Add(uint8(0), c.s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		f.Add(uint8(i), randomPhone(rng, fuzzRegions[i%len(fuzzRegions)]))
	}
	f.Fuzz(func(t *testing.T, region uint8, s string) {
		comparePhone(t, fuzzRegions[int(region)%len(fuzzRegions)], s)
	})
}

// TestPhonePatternShapes checks that the first digits and lengths read
// off every general pattern of the metadata never rule out a number the
// pattern matches: valid must answer as the pattern does, on the example
// numbers of every type and on random digits.
func TestPhonePatternShapes(t *testing.T) {
	tb := phoneTable()
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	check := func(where string, n *numbering, x string) {
		want := n.pattern().MatchString(x)
		if got, ok := n.valid([]byte(x)); !ok || got != want {
			t.Errorf("%s %q: valid = %v (ok %v), pattern %v", where, x, got, ok, want)
		}
	}
	shaped, all := 0, 0
	for _, m := range coll.GetMetadata() {
		n := tb.regions[m.GetId()]
		if m.GetId() == "001" {
			n = tb.codes[m.GetCountryCode()]
		}
		if n == nil {
			continue
		}
		all++
		if n.shapeOK {
			shaped++
		}
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetFixedLine(), m.GetMobile(), m.GetTollFree(),
			m.GetPremiumRate(), m.GetSharedCost(), m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(),
			m.GetVoicemail(), m.GetNoInternationalDialling()} {
			if x := d.GetExampleNumber(); x != "" {
				check(m.GetId(), n, x)
				check(m.GetId(), n, x[1:])
				check(m.GetId(), n, n.npp+x)
			}
		}
		for range 40 {
			if raceEnabled && rng.IntN(4) > 0 {
				continue
			}
			b := make([]byte, 1+rng.IntN(18))
			for i := range b {
				b[i] = byte('0' + rng.IntN(10))
			}
			check(m.GetId(), n, string(b))
		}
	}
	if shaped < all*9/10 {
		t.Errorf("%d of %d patterns analysed, want 90%%", shaped, all)
	}
}
