package match

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// This file keeps the folding, name and tokenising code as it was before
// it was made faster (isLetter, toLower, wordEnd, digraph, one string per
// name), and checks that the fast code answers alike.

func TestLetterAndCaseTables(t *testing.T) {
	for r := rune(0); r <= 0x3FFFF; r++ {
		if isLetter(r) != unicode.IsLetter(r) {
			t.Errorf("isLetter(%U) = %v", r, isLetter(r))
		}
		if toLower(r) != unicode.ToLower(r) {
			t.Errorf("toLower(%U) = %U, want %U", r, toLower(r), unicode.ToLower(r))
		}
	}
}

// textSamples are the strings of the package's tables and random strings
// of the region's letters, look-alikes, marks, apostrophes, digits,
// punctuation and broken UTF-8.
func textSamples() []string {
	var out []string
	for _, g := range foldAlike {
		out = append(out, g...)
	}
	for _, p := range foldApart {
		out = append(out, p[0], p[1])
	}
	for _, g := range samePerson {
		out = append(out, g...)
	}
	for _, p := range otherPeople {
		out = append(out, p[0], p[1])
	}
	out = append(out, noName...)
	for _, g := range sameFlat {
		out = append(out, g...)
	}
	for _, p := range sameBuildingOnly {
		out = append(out, p[0], p[1])
	}
	for _, p := range apart {
		out = append(out, p[0], p[1])
	}
	out = append(out, noKeys...)
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "C", "x", "sh", "ch", "tch", "dzh", "dj", "zh", "kh", "gh", "ph", "ts", "ng", "sch", "shch", "q", "w", "y", "j",
		"ie", "io", "ye", "e", "o", "iy", "ogo", "is", "s", "h", "c", "d", "z", "k", "g", "p", "n", "t",
		"ж", "Ж", "х", "ц", "ч", "ш", "щ", "ю", "я", "Ё", "ё", "ъ", "ь", "ы", "й", "Ѐ", "Ї", "ҁ", "҂", "҃", "ө", "Ү", "ң", "ә",
		"ა", "ღ", "ყ", "ჭ", "წ", "ჯ", "ჰ", "ჺ", "჻", "ჼ", "ჽ", "Ა", "Ჿ", "ö", "Š", "ç", "ß", "ǩ", "İ", "́", "̈",
		"'", "’", "`", " ", "-", ",", ".", "/", "№", "1", "12", "0", "\xd0", "\xd3\x80", "\xc2", "\xe1\x83", "\xff", "\xc2\xa0", "\xc0\x80", "\xc1\xbf", "Ԁ", "ԯ", "Ա", "ա"}
	for range 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		out = append(out, b.String())
	}
	return out
}

func compareText(t *testing.T, s string) {
	t.Helper()
	if got, want := string(appendFold(nil, s)), string(refAppendFold(nil, s)); got != want {
		t.Errorf("appendFold(%q) = %q, before %q", s, got, want)
	}
	if got, want := Name(s), refName(s); got != want {
		t.Errorf("Name(%q) = %q, before %q", s, got, want)
	}
	if got, want := tokenize(s, nil), refTokenize(s, nil); !slices.Equal(got, want) {
		t.Errorf("tokenize(%q) = %+v, before %+v", s, got, want)
	}
}

func TestTextEqualsReference(t *testing.T) {
	for _, s := range textSamples() {
		compareText(t, s)
	}
}

func FuzzTextEqualsReference(f *testing.F) {
	for _, s := range textSamples()[:400] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) && len(s) > 200 {
			t.Skip()
		}
		compareText(t, s)
	})
}

// refAppendFold is appendFold as it was before the fast paths.
func refAppendFold(dst []byte, word string) []byte {
	var sb [64]byte
	s := sb[:0]
	cyr, lat := 0, 0 // letters; a tie goes to the first letter's alphabet
	for _, r := range word {
		switch {
		case r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z':
			if cyr+lat == 0 {
				lat++
			}
			lat += 2
		case r >= 0x400 && r <= 0x4FF:
			if cyr+lat == 0 {
				cyr++
			}
			cyr += 2
		}
	}
	for _, r := range word {
		if cyr > 1 && lat > 1 {
			if cyr > lat {
				if c, ok := toCyrillic[r]; ok {
					r = c
				}
			} else if l, ok := toLatin[r]; ok {
				r = l
			}
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		} else if r >= utf8.RuneSelf {
			r = unicode.ToLower(r)
		}
		s = spell(s, r)
	}
	return refFoldLatin(dst, s)
}

// refFoldLatin is foldLatin as it was before digraph.
func refFoldLatin(dst []byte, s []byte) []byte {
	start := len(dst)
	push := func(c byte) {
		n := len(dst)
		if n > start {
			last := dst[n-1]
			if c == last {
				return
			}
			if c == 'e' && last == 'i' { // ie, ye: e
				dst = dst[:n-1]
				if n-1 > start && dst[n-2] == 'e' {
					return
				}
				dst = append(dst, 'e')
				return
			}
			if c == 'o' && last == 'i' && n-1 > start && !isVowel(dst[n-2]) { // Fyodor: Fedor
				dst[n-1] = 'e'
				return
			}
		}
		dst = append(dst, c)
	}
	at := func(i int, p string) bool {
		return len(s)-i >= len(p) && string(s[i:i+len(p)]) == p
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case at(i, "shch"):
			push('S')
			i += 4
		case at(i, "sch"), at(i, "sh"):
			push('S')
			i += 2
			if s[i-1] == 'c' {
				i++
			}
		case at(i, "tch"):
			push('C')
			i += 3
		case at(i, "ch"):
			push('C')
			i += 2
		case at(i, "dzh"):
			push('j')
			i += 3
		case at(i, "dj"), at(i, "zh"):
			push('j')
			i += 2
		case at(i, "kh"):
			push('h')
			i += 2
		case at(i, "gh"):
			push('g')
			i += 2
		case at(i, "ph"):
			push('f')
			i += 2
		case at(i, "ts"):
			push('c')
			i += 2
		case at(i, "ng"):
			push('n')
			i += 2
		default:
			i++
			switch c {
			case 'q':
				c = 'k'
			case 'w':
				c = 'v'
			case 'y':
				c = 'i'
			case 'x':
				push('k')
				c = 's'
			case 'j':
				// Nikolaj, Sergej: a j ending a word after a vowel is i.
				if n := len(dst); n > start && isVowel(dst[n-1]) && i == len(s) {
					c = 'i'
				}
			}
			push(c)
		}
	}
	return dst
}

func refName(s string) string {
	var wbuf [6]string
	words := wbuf[:0]
	var fb [128]byte
	buf := fb[:0]
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) {
			i += n
			continue
		}
		j := i + n
		for j < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[j:])
			if unicode.IsLetter(r2) || unicode.IsMark(r2) {
				j += n2
				continue
			}
			if isApostrophe(r2) && j+n2 < len(s) {
				if r3, _ := utf8.DecodeRuneInString(s[j+n2:]); unicode.IsLetter(r3) {
					j += n2
					continue
				}
			}
			break
		}
		start := len(buf)
		buf = refAppendFold(buf, s[i:j])
		if len(buf) > start {
			words = append(words, string(buf[start:]))
		}
		i = j
	}
	real := 0
	for _, w := range words {
		if !placeholders[w] {
			real++
		}
	}
	if real == 0 {
		return ""
	}
	if len(words) >= 3 {
		kept := words[:0]
		for _, w := range words {
			if !isPatronymic([]byte(w)) {
				kept = append(kept, w)
			}
		}
		if len(kept) > 0 {
			words = kept
		}
	}
	slices.Sort(words)
	return strings.Join(words, " ")
}

func refTokenize(s string, ts []atok) []atok {
	sep := byte(0) // 0: nothing between the tokens (12а), or the first token
	mark := func(c byte) {
		if strings.IndexByte(" -/,", c) > strings.IndexByte(" -/,", sep) {
			sep = c
		}
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= '0' && r <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			d := strings.TrimLeft(s[i:j], "0")
			if d == "" {
				d = "0"
			}
			ts = append(ts, atok{kind: kNum, sep: sep, text: d})
			sep, i = 0, j
		case unicode.IsLetter(r):
			j := i + n
			geo := r >= 0x10A0 && r <= 0x10FF || r >= 0x1C90 && r <= 0x1CBF
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if unicode.IsLetter(r2) || unicode.IsMark(r2) {
					j += n2
					continue
				}
				if isApostrophe(r2) && j+n2 < len(s) {
					if r3, _ := utf8.DecodeRuneInString(s[j+n2:]); unicode.IsLetter(r3) {
						j += n2
						continue
					}
				}
				break
			}
			ts = append(ts, atok{kind: kWord, sep: sep, geo: geo, text: s[i:j]})
			sep, i = 0, j
		default:
			switch r {
			case ',', ';':
				mark(',')
			case '/', '\\':
				mark('/')
			case '-', '–', '—', '‐', '‑':
				mark('-')
			case '№':
				ts = append(ts, atok{kind: kWord, sep: sep, text: "№"})
				sep = 0
			default:
				mark(' ')
			}
			i += n
		}
	}
	return ts
}
