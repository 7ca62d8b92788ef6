package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/refdata"
)

// Code lengths of the reference data an import may create (see
// migrations/0001_platform.up.sql).
const (
	DistrictCodeLen = 16
	TypeCodeLen     = 32 // incident types and dispositions
	MaxNameLen      = 100
)

// CodeFor derives the code of a district, incident type or disposition
// that an import creates from the name in the export: upper-case ASCII
// letters and digits, other runs of characters as one underscore, at most
// max characters ("DWI - DRUNK/INTOX DRIVER" gives DWI_DRUNK_INTOX_DRIVER).
// When that loses information (a longer name, letters outside ASCII such
// as Cyrillic, nothing left at all) the code ends in a dash and six hex
// digits of a hash of the name (IMP-3F9A1C when nothing is left), so that
// different names get different codes and the same name always the same
// one.
func CodeFor(name string, max int) string { return codeFor(name, max, false) }

// HashedCode is CodeFor with the hash suffix always added: the code to
// use when CodeFor's is taken by a record of another name.
func HashedCode(name string, max int) string { return codeFor(name, max, true) }

func codeFor(name string, max int, hashed bool) string {
	name = strings.ToUpper(refdata.CleanText(name))
	var b strings.Builder
	lossy, sep := false, false
	for _, r := range name {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
		default:
			if r > unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				lossy = true
			}
			sep = true
		}
	}
	code := b.String()
	if !hashed && !lossy && code != "" && len(code) <= max {
		return code
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:3])
	keep := max - 1 - len(suffix)
	if len(code) > keep {
		code = code[:keep]
	}
	code = strings.TrimRight(code, "_")
	if code == "" {
		code = "IMP" // nothing in ASCII: say where the record came from
	}
	return code + "-" + strings.ToUpper(suffix)
}

// dvWords mark an incident type's name as domestic violence: whole words
// (DV, IPV) or parts of words in English, Russian, Kyrgyz and Georgian.
var (
	dvTokens    = map[string]bool{"DV": true, "IPV": true, "DOMESTIC": true, "DOM": true}
	dvFragments = []string{
		"DOMESTIC", "FAMILY VIOL", "INTIMATE PARTNER", "PARTNER VIOL", "SPOUSAL",
		"ДОМАШН", "СЕМЕЙН", "БЫТОВ", // домашнее, семейное, бытовое насилие
		"ҮЙ-БҮЛӨ", "ҮЙ БҮЛӨ", // үй-бүлөлүк зомбулук (Kyrgyz)
		"ოჯახ", // ოჯახური ძალადობა (Georgian)
	}
)

// IsDVName says whether an incident type's name says it is domestic
// violence ("DOMESTIC VIOL WITH INJ", "DV - physical", "Семейное насилие").
// Types an import creates are flagged by it; administrators can change the
// flag later.
func IsDVName(name string) bool {
	u := strings.ToUpper(name)
	for _, f := range dvFragments {
		if strings.Contains(u, strings.ToUpper(f)) {
			return true
		}
	}
	for _, t := range strings.FieldsFunc(u, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if dvTokens[t] {
			return true
		}
	}
	return false
}

// runeLen is the length of s in characters.
func runeLen(s string) int { return utf8.RuneCountInString(s) }
