package match

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// placeholders are what dispatchers type for a name they were not told;
// they name nobody, so they match nobody (folded forms).
var placeholders = foldSet(
	"неизвестно", "неизвестен", "неизвестна", "неизвестный", "неизвестная", "не", "назвал", "назвала",
	"нет", "аноним", "анонимно", "анонимный", "unknown", "anonymous", "anon", "na", "none", "no", "name",
	"белгисиз", "аты", "жок", "უცნობი", "ანონიმური", "ანონიმი", "x", "xx", "xxx", "n", "a",
)

// patronymicEndings end the folded Russian-style patronymics (Ивановна,
// Ivanovich, Ильинична), which Name drops from names of three words or more.
var patronymicEndings = []string{"ovna", "evna", "iCna", "oviC", "eviC"}

func foldSet(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[Fold(w)] = true
	}
	return m
}

// Name returns a person's name key: the name's words folded (Fold) and
// sorted, so that word order, case, punctuation and script do not matter
// but every word does: Bekova is not Bekov, Nino Beridze not Nino
// Berishvili. A Russian-style patronymic is dropped when the name has at
// least three words (Морозова Марина Ивановна = Marina Morozova); Kyrgyz
// "уулу"/"кызы" names keep every word. "" when there is no name, or only
// a placeholder (неизвестно, unknown, უცნობი).
func Name(s string) string {
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
		buf = appendFold(buf, s[i:j])
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
			if !isPatronymic(w) {
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

func isPatronymic(w string) bool {
	for _, e := range patronymicEndings {
		if len(w) > len(e)+2 && strings.HasSuffix(w, e) {
			return true
		}
	}
	return false
}
