package match

import (
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region Phone reads national numbers as when Rules
// has none: Kyrgyzstan, where the product was first deployed.
const DefaultRegion = "KG"

// Phone returns the number in E.164 form ("+996555123456"), reading a
// number without a country code as one of r.Region's (DefaultRegion when
// r.Region is ""; a region libphonenumber does not know reads only
// numbers with a country code), with its trunk prefix (0) and any
// brackets, dashes or spaces: "+996 555 12-34-56", "0555 123 456" and
// "555123456" are one number, "0 (312) 66-12-34" is "+996312661234". A
// number with a country code (+995 …, 00995 …) keeps it whatever the
// region; an extension is dropped. "" when s is not a phone number, or
// not one of a full length for its country: libphonenumber's
// IsPossibleNumber checks the length, not the allocated ranges
// (IsValidNumber), so that a new operator's numbers still match; a
// local-only number (66-12-34 without its area code) is too short to
// name one line and gives "".
func (r Rules) Phone(s string) string {
	var buf [24]byte
	b := phoneDigits(s, &buf)
	if len(b) < 6 || b[0] == '+' && len(b) < 8 {
		return ""
	}
	region := r.Region
	if region == "" {
		region = DefaultRegion
	} else if len(region) != 2 || region[0] >= 'a' || region[1] >= 'a' {
		region = strings.ToUpper(strings.TrimSpace(region))
	}
	if e, ok := fastPhone(b, region); ok {
		return e
	}
	return libraryPhone(string(b), region)
}

// libraryPhone reads d (digits, with at most a leading +) with
// libphonenumber: the reference fastPhone must agree with.
func libraryPhone(d, region string) string {
	var n phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(d, region, &n); err != nil {
		return ""
	}
	if phonenumbers.IsPossibleNumberWithReason(&n) != phonenumbers.IS_POSSIBLE {
		return ""
	}
	return phonenumbers.Format(&n, phonenumbers.E164)
}

// phoneDigits returns the number's digits in buf, with a leading + where
// the caller wrote one, up to the first letter, # (an extension: "доб.
// 12", "ext 12") or comma (a second number): the parser then has little
// to scan. nil when s has more digits than any phone number.
func phoneDigits(s string, buf *[24]byte) []byte {
	b := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(b) == len(buf) {
				return nil // longer than any phone number
			}
			b = append(b, c)
		case c == '+' && len(b) == 0:
			b = append(b, c)
		case c == ' ', c == '-', c == '(', c == ')', c == '.', c == '/', c == '\t', c == 0xC2 && i+1 < len(s) && s[i+1] == 0xA0:
		case c == '#' || c == ',' || c == ';' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= utf8.RuneSelf:
			if len(b) > 0 && b[len(b)-1] != '+' {
				i = len(s) // an extension, words or another number after the number
			}
		}
	}
	return b
}
