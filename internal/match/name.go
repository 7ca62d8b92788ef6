package match

import (
	"bytes"
	"slices"
	"strings"
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
	// The folded words are spans of buf: one string is made, the key.
	type span struct{ a, b int }
	var wbuf [8]span
	words := wbuf[:0]
	var fb [128]byte
	buf := fb[:0]
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		if !isLetter(r) {
			i += n
			continue
		}
		j := wordEnd(s, i)
		start := len(buf)
		buf = appendFold(buf, s[i:j])
		if len(buf) > start {
			words = append(words, span{start, len(buf)})
		}
		i = j
	}
	real := 0
	for _, w := range words {
		if !placeholders[string(buf[w.a:w.b])] {
			real++
		}
	}
	if real == 0 {
		return ""
	}
	if len(words) >= 3 {
		kept := words[:0]
		for _, w := range words {
			if !isPatronymic(buf[w.a:w.b]) {
				kept = append(kept, w)
			}
		}
		if len(kept) > 0 {
			words = kept
		}
	}
	slices.SortFunc(words, func(x, y span) int { return bytes.Compare(buf[x.a:x.b], buf[y.a:y.b]) })
	var b strings.Builder
	n := len(words) - 1
	for _, w := range words {
		n += w.b - w.a
	}
	b.Grow(n)
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.Write(buf[w.a:w.b])
	}
	return b.String()
}

func isPatronymic(w []byte) bool {
	for _, e := range patronymicEndings {
		if len(w) > len(e)+2 && string(w[len(w)-len(e):]) == e {
			return true
		}
	}
	return false
}
