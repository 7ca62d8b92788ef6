package match

import (
	"unicode"
	"unicode/utf8"
)

// This file holds the one transliteration key of the package: Fold maps a
// word written in Cyrillic (Russian, Kyrgyz), Georgian or Latin letters to
// a Latin skeleton in which the usual romanisations of one spelling
// coincide. It is a key, not a romanisation: nobody reads it.
//
// Step 0: in a word that mixes Cyrillic and Latin letters, the letters
// that look alike (C/С, P/Р, x/х, ...) are taken for the alphabet of most
// of the word's letters.
//
// Step 1 (the tables below) spells every letter the way Russian and
// Georgian names are most often romanised: ж zh, х kh, ц ts, ч ch, ш sh,
// щ shch, ю yu, я ya, ы y, й y, ё e, soft and hard signs nothing; Kyrgyz
// ө o, ү u, ң ng; Georgian aspirated and ejective pairs alike (ფ/პ p,
// თ/ტ t, ქ/კ k, ჩ/ჭ ch, ც/წ ts), ღ gh, ყ q, ხ kh, ჯ j, ძ dz; Latin letters
// lose their diacritics (ö o, ü u, š sh, č ch, ž zh); apostrophes (the
// Georgian ejective mark) vanish.
//
// Step 2 folds the Latin variants: shch/sch and sh, ch/tch, zh/dzh/dj/j,
// kh/h, gh/g, q/k, ts/c, ph/f, w/v, x/ks, y/i, ng/n; j ending a word
// after a vowel is i (Nikolaj = Nikolay); ie is e (Yelena = Elena,
// Solovyev = Solovev) and io after a consonant is e (Fyodor = Fedor);
// double letters are single (Alla = Ala, -iy = -ii = -i). Step 2 writes
// one byte per sound: S for sh, C for ch, j for zh.
//
// Vowels, and so the gendered endings (Bekov, Bekova), are kept.

// cyrillic spells the lowercase letters U+0430..U+04FF.
var cyrillic = [...]string{
	0x430 - 0x430: "a", "b", "v", "g", "d", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p",
	0x440 - 0x430: "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
	0x450 - 0x430: "e", "e", "dj", "g", "ye", "dz", "i", "yi", "j", "l", "n", "ts", "k", "i", "u", "dzh",
	// Kazakh and other Cyrillic letters callers of the region use.
	0x493 - 0x430: "g",  // ғ
	0x49B - 0x430: "k",  // қ
	0x4A3 - 0x430: "ng", // ң (Kyrgyz)
	0x4AF - 0x430: "u",  // ү (Kyrgyz)
	0x4B1 - 0x430: "u",  // ұ
	0x4BB - 0x430: "h",  // һ
	0x4D9 - 0x430: "a",  // ә
	0x4E9 - 0x430: "o",  // ө (Kyrgyz)
	0x4FF - 0x430: "",
}

// georgian spells the Mkhedruli letters U+10D0..U+10F0 (Mtavruli capitals
// are lowered to them first).
var georgian = [...]string{
	"a", "b", "g", "d", "e", "v", "z", "t", "i", "k", "l", "m", "n", "o", "p", "zh", // ა..ჟ
	"r", "s", "t", "u", "p", "k", "gh", "q", "sh", "ch", "ts", "dz", "ts", "ch", "kh", "j", // რ..ჯ
	"h", // ჰ
}

// latin1 spells the lowercase Latin letters with diacritics that appear in
// romanised names (U+00DF..U+017F); "" for the rest, which are dropped.
var latinExt = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ç': "ch",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i",
	'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ù': "u",
	'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y", 'ß': "ss",
	'ā': "a", 'ă': "a", 'ą': "a", 'ć': "c", 'č': "ch", 'ď': "d", 'ē': "e", 'ę': "e",
	'ě': "e", 'ğ': "g", 'ī': "i", 'ı': "i", 'ł': "l", 'ń': "n", 'ň': "n", 'ō': "o",
	'ő': "o", 'ř': "r", 'ś': "s", 'ş': "sh", 'š': "sh", 'ţ': "ts", 'ť': "t", 'ū': "u",
	'ů': "u", 'ű': "u", 'ź': "z", 'ż': "z", 'ž': "zh", 'ǵ': "g", 'ǩ': "k",
}

// isApostrophe reports the marks written inside romanised Georgian and
// Russian words (P'aata, Ch'ich'inadze, Il'ya) that belong to the word.
func isApostrophe(r rune) bool {
	return r == '\'' || r == '’' || r == 'ʼ' || r == '`' || r == '‘' || r == 'ʻ' || r == '´'
}

// spell appends step 1's Latin spelling of r (already lowercase) to b.
func spell(b []byte, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		if r >= 'a' && r <= 'z' {
			return append(b, byte(r))
		}
		return b
	case r >= 0x430 && r < 0x430+rune(len(cyrillic)):
		return append(b, cyrillic[r-0x430]...)
	case r >= 0x10D0 && r < 0x10D0+rune(len(georgian)):
		return append(b, georgian[r-0x10D0]...)
	}
	return append(b, latinExt[r]...)
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

// Fold returns the transliteration key of one word: "Жылдыз" and
// "Jyldyz", "Хасанов" and "Khasanov", "ნინო" and "Nino" fold alike.
// Characters that are not letters are dropped.
func Fold(word string) string {
	var buf [64]byte
	return string(appendFold(buf[:0], word))
}

// toCyrillic and toLatin map the letters that look alike in the two
// alphabets: a word typed partly with the other keyboard layout
// ("Cергей" with a Latin C, "Pетров") is read in its main alphabet.
var (
	toCyrillic = map[rune]rune{
		'A': 'а', 'a': 'а', 'B': 'в', 'C': 'с', 'c': 'с', 'E': 'е', 'e': 'е', 'H': 'н', 'K': 'к', 'k': 'к',
		'M': 'м', 'O': 'о', 'o': 'о', 'P': 'р', 'p': 'р', 'T': 'т', 'X': 'х', 'x': 'х', 'Y': 'у', 'y': 'у',
	}
	toLatin = func() map[rune]rune {
		m := map[rune]rune{}
		for l, c := range toCyrillic {
			if l >= 'a' || m[c] == 0 {
				m[c] = l
			}
		}
		for _, l := range "ABCEHKMOPTXY" {
			m[unicode.ToUpper(toCyrillic[l])] = l
		}
		return m
	}()
)

// appendFold appends Fold(word) to dst.
func appendFold(dst []byte, word string) []byte {
	var sb [64]byte
	s := sb[:0]
	// Letters of each alphabet, counted on the bytes: ASCII letters, and
	// the two-byte sequences of U+0400..U+04FF (lead bytes D0..D3).
	cyr, lat := 0, 0 // letters; a tie goes to the first letter's alphabet
	for i := 0; i < len(word); i++ {
		switch c := word[i]; {
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			if cyr+lat == 0 {
				lat++
			}
			lat += 2
		case c >= 0xD0 && c <= 0xD3 && i+1 < len(word) && word[i+1]&0xC0 == 0x80:
			if cyr+lat == 0 {
				cyr++
			}
			cyr += 2
			i++
		}
	}
	mixed := cyr > 1 && lat > 1
	for i := 0; i < len(word); {
		r, n := rune(word[i]), 1
		if c := word[i]; c >= 0xC2 && c <= 0xDF && i+1 < len(word) && word[i+1]&0xC0 == 0x80 {
			r, n = rune(c&0x1F)<<6|rune(word[i+1]&0x3F), 2
		} else if c >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(word[i:])
		}
		i += n
		if mixed {
			if cyr > lat {
				if c, ok := toCyrillic[r]; ok {
					r = c
				}
			} else if l, ok := toLatin[r]; ok {
				r = l
			}
		}
		s = spell(s, toLower(r))
	}
	return foldLatin(dst, s)
}

// foldLatin is step 2: s is lowercase ASCII.
func foldLatin(dst []byte, s []byte) []byte {
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
	for i := 0; i < len(s); {
		c := s[i]
		if d, n := digraph(s[i:]); n > 0 {
			push(d)
			i += n
		} else {
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

// digraph returns the one byte step 2 writes for the letters s starts
// with (shch, sch and sh S, tch and ch C, dzh, dj and zh j, kh h, gh g, ph
// f, ts c, ng n) and how many letters they are; 0 letters where s starts
// with none of them.
func digraph(s []byte) (byte, int) {
	if len(s) < 2 {
		return 0, 0
	}
	c1, c2 := s[0], s[1]
	switch c1 {
	case 's':
		switch {
		case c2 == 'h' && len(s) >= 4 && s[2] == 'c' && s[3] == 'h':
			return 'S', 4
		case c2 == 'c' && len(s) >= 3 && s[2] == 'h':
			return 'S', 3
		case c2 == 'h':
			return 'S', 2
		}
	case 't':
		switch {
		case c2 == 'c' && len(s) >= 3 && s[2] == 'h':
			return 'C', 3
		case c2 == 's':
			return 'c', 2
		}
	case 'c':
		if c2 == 'h' {
			return 'C', 2
		}
	case 'd':
		switch {
		case c2 == 'z' && len(s) >= 3 && s[2] == 'h':
			return 'j', 3
		case c2 == 'j':
			return 'j', 2
		}
	case 'z':
		if c2 == 'h' {
			return 'j', 2
		}
	case 'k':
		if c2 == 'h' {
			return 'h', 2
		}
	case 'g':
		if c2 == 'h' {
			return 'g', 2
		}
	case 'p':
		if c2 == 'h' {
			return 'f', 2
		}
	case 'n':
		if c2 == 'g' {
			return 'n', 2
		}
	}
	return 0, 0
}

// isLetter is unicode.IsLetter, with the region's alphabets looked up
// first.
func isLetter(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	case r >= 0x400 && r <= 0x481, r >= 0x10D0 && r <= 0x10FA:
		return true
	}
	return unicode.IsLetter(r)
}

// toLower is unicode.ToLower, with the region's alphabets looked up
// first.
func toLower(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	case r >= 0x410 && r <= 0x42F:
		return r + 0x20
	case r >= 0x400 && r <= 0x40F:
		return r + 0x50
	case r >= 0x430 && r <= 0x45F, r >= 0x10D0 && r <= 0x10FA:
		return r
	}
	return unicode.ToLower(r)
}

// wordEnd returns where the word that starts at s[i] ends: letters and
// marks, and apostrophes between letters (P'aata, Il'ya), are the word's.
func wordEnd(s string, i int) int {
	_, n := utf8.DecodeRuneInString(s[i:])
	j := i + n
	for j < len(s) {
		r2, n2 := rune(s[j]), 1
		if r2 >= utf8.RuneSelf {
			r2, n2 = utf8.DecodeRuneInString(s[j:])
		}
		if isLetter(r2) || r2 >= utf8.RuneSelf && unicode.IsMark(r2) {
			j += n2
			continue
		}
		if isApostrophe(r2) && j+n2 < len(s) {
			if r3, _ := utf8.DecodeRuneInString(s[j+n2:]); isLetter(r3) {
				j += n2
				continue
			}
		}
		break
	}
	return j
}
