package match

import (
	"regexp"
	"regexp/syntax"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// This file reads a phone number's digits the way libphonenumber's
// ParseToNumber and IsPossibleNumberWithReason do, without their
// general-purpose regular expressions (the extension pattern alone costs
// tens of microseconds a call). Phone has already reduced the input to
// ASCII digits with at most a leading +, and for such input most of
// parseHelper is a no-op: there is no extension, no RFC 3966 context, no
// letters to convert. What remains is table work on the library's own
// metadata: the international (IDD) prefix, the country calling code,
// the national prefix and the possible lengths. A region whose metadata
// needs more than that (a national prefix that is a pattern, a transform
// rule: Argentina, Brazil, Mexico's old rules, ...) is left to the
// library, and so is any number read with such a region's metadata.
// TestPhoneFastPathEqualsLibrary and FuzzPhoneFastPath compare the two.

// The results of the library's testNumberLength.
const (
	lenPossible uint8 = iota
	lenLocalOnly
	lenTooShort
	lenTooLong
	lenInvalid
)

// numbering is what the fast path needs of one entry of the library's
// metadata (one region, or one non-geographical calling code).
type numbering struct {
	cc    int    // the country calling code
	ccStr string // strconv.Itoa(cc)
	// parse: numbers read with this metadata can be read without the
	// library: its national prefix for parsing is empty or digits, it has
	// no transform rule, and it has possible lengths.
	parse bool
	// idd is the international prefix when it is a string of digits (00,
	// 810, 011); "" when it is a pattern or absent: such a region is not
	// read as the default region.
	idd     string
	npp     string // the national prefix for parsing: digits or ""
	lengths []int32
	local   []int32
	// anyPattern: the general description has a national number pattern
	// (IsPossibleNumber checks only 2..17 digits where it has none).
	anyPattern bool
	pattern    func() *regexp.Regexp // ^(?:general pattern)$, compiled on first use
	// The first digits and the lengths of the numbers the general pattern
	// can match (supersets: the pattern is run where they allow a match).
	firsts  uint16 // bit c: a number may start with digit c
	lens    uint64 // bit l: a number may have l digits
	shapeOK bool   // false: the pattern was not analysed; always run it
}

// phoneTables indexes the library's metadata. It is built once, on first
// use, and never changes.
type phoneTables struct {
	regions map[string]*numbering // by region code, for the regions the library supports
	codes   [1000]*numbering      // by calling code: the metadata of its main region, or its non-geographical entity
	known   [1000]bool            // the calling codes the library knows
}

var phoneTable = sync.OnceValue(func() *phoneTables {
	t := &phoneTables{regions: map[string]*numbering{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return t // the fast path reads nothing; the library decides
	}
	supported := phonenumbers.GetSupportedRegions()
	nonGeo := map[int]*numbering{}
	for _, m := range coll.GetMetadata() {
		n := newNumbering(m)
		if m.GetId() == "001" {
			nonGeo[n.cc] = n
		} else if supported[m.GetId()] {
			t.regions[m.GetId()] = n
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		if cc <= 0 || cc >= len(t.codes) {
			continue
		}
		t.known[cc] = true
		if main := phonenumbers.GetRegionCodeForCountryCode(cc); main == "001" {
			t.codes[cc] = nonGeo[cc]
		} else {
			t.codes[cc] = t.regions[main]
		}
	}
	return t
})

func newNumbering(m *phonenumbers.PhoneMetadata) *numbering {
	g := m.GetGeneralDesc()
	n := &numbering{
		cc:         int(m.GetCountryCode()),
		npp:        m.GetNationalPrefixForParsing(),
		lengths:    g.GetPossibleLength(),
		local:      g.GetPossibleLengthLocalOnly(),
		anyPattern: g.GetNationalNumberPattern() != "",
	}
	n.ccStr = strconv.Itoa(n.cc)
	n.parse = allDigits(n.npp) && m.GetNationalPrefixTransformRule() == "" && len(n.lengths) > 0
	if idd := m.GetInternationalPrefix(); idd != "" && allDigits(idd) {
		n.idd = idd
	}
	pat := "^(?:" + g.GetNationalNumberPattern() + ")$" // as the library's maybeStripNationalPrefixAndCarrierCode
	if re, err := syntax.Parse(pat, syntax.Perl); err == nil {
		var nullable bool
		n.firsts, nullable = firstDigits(re)
		n.lens = lengths(re)
		n.shapeOK = !nullable
	}
	n.pattern = sync.OnceValue(func() *regexp.Regexp {
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil
		}
		return re
	})
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// valid reports whether d matches the general national number pattern
// (the library's "viable" number); ok is false where the pattern does not
// compile in Go, which the library would panic on.
func (n *numbering) valid(d []byte) (valid, ok bool) {
	if n.shapeOK && len(d) > 0 && len(d) < 64 && d[0] >= '0' && d[0] <= '9' &&
		(n.firsts&(1<<(d[0]-'0')) == 0 || n.lens&(1<<len(d)) == 0) {
		return false, true // the pattern matches no number of this first digit or length
	}
	re := n.pattern()
	if re == nil {
		return false, false
	}
	// A string copy: the regexp keeps its input from escape analysis's
	// view, and this path is rare; the common one keeps d on the stack.
	return re.MatchString(string(d)), true
}

// firstDigits returns the digits a string matched by re may start with,
// and whether re matches the empty string. A class or literal that is no
// digit counts as no digit: valid is only asked about digits.
func firstDigits(re *syntax.Regexp) (uint16, bool) {
	const all = 1<<10 - 1
	digits := func(lo, hi rune) uint16 {
		var m uint16
		for c := max(lo, '0'); c <= min(hi, '9'); c++ {
			m |= 1 << (c - '0')
		}
		return m
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return 0, false
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0, true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return 0, true
		}
		if re.Flags&syntax.FoldCase != 0 {
			return all, false
		}
		return digits(re.Rune[0], re.Rune[0]), false
	case syntax.OpCharClass:
		var m uint16
		for i := 0; i+1 < len(re.Rune); i += 2 {
			m |= digits(re.Rune[i], re.Rune[i+1])
		}
		return m, false
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return all, false
	case syntax.OpCapture:
		return firstDigits(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		m, _ := firstDigits(re.Sub[0])
		return m, true
	case syntax.OpPlus:
		return firstDigits(re.Sub[0])
	case syntax.OpRepeat:
		m, null := firstDigits(re.Sub[0])
		if re.Max == 0 {
			return 0, true
		}
		return m, null || re.Min == 0
	case syntax.OpConcat:
		var m uint16
		for _, sub := range re.Sub {
			f, null := firstDigits(sub)
			m |= f
			if !null {
				return m, false
			}
		}
		return m, true
	case syntax.OpAlternate:
		var m uint16
		null := false
		for _, sub := range re.Sub {
			f, n := firstDigits(sub)
			m, null = m|f, null || n
		}
		return m, null
	}
	return all, true
}

// lengths returns the lengths (up to 63) of the strings re may match:
// bit l set where a match may have l characters.
func lengths(re *syntax.Regexp) uint64 {
	const all = ^uint64(0)
	sum := func(a, b uint64) uint64 { // the lengths of a match of a then b
		var m uint64
		for l := 0; l < 64; l++ {
			if a&(1<<l) != 0 {
				m |= b << l
				if b>>(64-l) != 0 && l > 0 {
					m |= 1 << 63 // longer than 63: keep a bit for "long"
				}
			}
		}
		return m
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return 0
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 1
	case syntax.OpLiteral:
		if len(re.Rune) >= 63 {
			return all
		}
		return 1 << len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1 << 1
	case syntax.OpCapture:
		return lengths(re.Sub[0])
	case syntax.OpQuest:
		return 1 | lengths(re.Sub[0])
	case syntax.OpRepeat:
		if re.Max < 0 || re.Max > 63 {
			return all
		}
		sub := lengths(re.Sub[0])
		var m, k uint64 = 0, 1 // k: the lengths of i repetitions
		for i := 0; i <= re.Max; i++ {
			if i >= re.Min {
				m |= k
			}
			k = sum(k, sub)
		}
		return m
	case syntax.OpConcat:
		m := uint64(1)
		for _, sub := range re.Sub {
			m = sum(m, lengths(sub))
		}
		return m
	case syntax.OpAlternate:
		var m uint64
		for _, sub := range re.Sub {
			m |= lengths(sub)
		}
		return m
	}
	return all // star, plus and the rest: any length
}

// lengthResult is the library's testNumberLength(d, metadata, UNKNOWN) for
// a number of l digits.
func (n *numbering) lengthResult(l int) uint8 {
	if n.lengths[0] == -1 {
		return lenInvalid
	}
	a := int32(l)
	for _, x := range n.local {
		if x == a {
			return lenLocalOnly
		}
	}
	switch {
	case n.lengths[0] == a:
		return lenPossible
	case n.lengths[0] > a:
		return lenTooShort
	case n.lengths[len(n.lengths)-1] < a:
		return lenTooLong
	}
	for _, x := range n.lengths[1:] {
		if x == a {
			return lenPossible
		}
	}
	return lenInvalid
}

// stripNationalPrefix is the library's maybeStripNationalPrefixAndCarrierCode
// for a national prefix of digits and no transform rule: the prefix is
// dropped unless the number matched the general pattern with it and would
// not without it.
func (n *numbering) stripNationalPrefix(d []byte) (out []byte, ok bool) {
	p := n.npp
	if len(d) == 0 || p == "" || len(d) < len(p) || string(d[:len(p)]) != p {
		return d, true
	}
	whole, ok := n.valid(d)
	if !ok {
		return nil, false
	}
	if whole {
		if rest, _ := n.valid(d[len(p):]); !rest {
			return d, true
		}
	}
	return d[len(p):], true
}

// extractCountryCode is the library's extractCountryCode: the first one,
// two or three digits that are a known calling code.
func (t *phoneTables) extractCountryCode(d []byte) (int, []byte) {
	if len(d) == 0 || d[0] == '0' {
		return 0, nil
	}
	cc := 0
	for i := 0; i < 3 && i < len(d); i++ {
		cc = cc*10 + int(d[i]-'0')
		if t.known[cc] {
			return cc, d[i+1:]
		}
	}
	return 0, nil
}

// fastPhone returns what Phone's library path returns for d (ASCII digits,
// with at most a leading +) read in region (upper case); ok is false where
// the fast path cannot tell and the library must decide.
func fastPhone(d []byte, region string) (e164 string, ok bool) {
	t := phoneTable()
	def := t.regions[region]
	if def == nil || !def.parse || def.idd == "" || len(d) == 0 {
		return "", false
	}
	var (
		cc  int
		nat []byte
		m   *numbering // the metadata the national number is read with
	)
	if d[0] == '+' {
		// maybeExtractCountryCode with a plus sign.
		if len(d)-1 <= 2 {
			return "", true // too short after the IDD
		}
		if cc, nat = t.extractCountryCode(d[1:]); cc == 0 {
			// The library tries again without the plus, and then needs a
			// country code (from an IDD or the region's own code).
			cc, nat, ok = t.countryCodeWithoutPlus(d[1:], def)
			if !ok {
				return "", false
			}
			if cc <= 0 {
				return "", true // no country code at all: ErrInvalidCountryCode
			}
		}
	} else {
		cc, nat, ok = t.countryCodeWithoutPlus(d, def)
		if !ok {
			return "", false
		}
		if cc < 0 {
			return "", true // an IDD with too little or an unknown code after it
		}
	}
	if cc <= 0 {
		cc, nat, m = def.cc, d, def
	} else if m = t.codes[cc]; m == nil || !m.parse {
		return "", false
	}
	if len(nat) < 2 {
		return "", true
	}
	// parseHelper: the national prefix is dropped when what remains has a
	// possible length (or is too long) for the metadata.
	pot, ok := m.stripNationalPrefix(nat)
	if !ok {
		return "", false
	}
	if r := m.lengthResult(len(pot)); r == lenPossible || r == lenTooLong {
		nat = pot
	}
	if len(nat) < 2 || len(nat) > 17 {
		return "", true
	}
	// IsPossibleNumberWithReason, with the metadata of the calling code's
	// main region. The national significant number keeps its leading
	// zeros (Italian leading zeros), so it is nat itself.
	main := t.codes[cc]
	if main == nil || !main.parse {
		return "", false
	}
	if main.anyPattern && main.lengthResult(len(nat)) != lenPossible {
		return "", true
	}
	var buf [24]byte
	b := append(buf[:0], '+')
	b = append(b, main.ccStr...)
	b = append(b, nat...)
	return string(b), true
}

// countryCodeWithoutPlus is the library's maybeExtractCountryCode for
// digits without a plus sign, read in the default region's metadata def:
// cc > 0 and the national number where the digits start with the IDD and a
// known code, or with the region's own code in a way the library takes for
// one; 0 where they have no country code; -1 where the library fails (an
// IDD followed by too little or by an unknown code). ok is false where
// the library must decide.
func (t *phoneTables) countryCodeWithoutPlus(d []byte, def *numbering) (cc int, nat []byte, ok bool) {
	if p := def.idd; len(d) >= len(p) && string(d[:len(p)]) == p && (len(d) == len(p) || d[len(p)] != '0') {
		rest := d[len(p):]
		if len(rest) <= 2 {
			return -1, nil, true
		}
		if cc, nat = t.extractCountryCode(rest); cc == 0 {
			return -1, nil, true
		}
		return cc, nat, true
	}
	if len(d) < len(def.ccStr) || string(d[:len(def.ccStr)]) != def.ccStr {
		return 0, nil, true
	}
	pot, ok := def.stripNationalPrefix(d[len(def.ccStr):])
	if !ok {
		return 0, nil, false
	}
	fullValid, _ := def.valid(d)
	natValid, _ := def.valid(pot)
	if !fullValid && natValid || def.lengthResult(len(d)) == lenTooLong {
		return def.cc, pot, true
	}
	return 0, nil, true
}
