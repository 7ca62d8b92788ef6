package match

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region Phone reads national numbers as when Rules
// has none: Kyrgyzstan, where the product was first deployed.
const DefaultRegion = "KG"

// Phone returns the number in E.164 form ("+996555123456"), reading a
// number without a country code as one of r.Region's (DefaultRegion when
// r.Region is ""), with its trunk prefix (0) and any brackets, dashes or
// spaces: "+996 555 12-34-56", "0555 123 456" and "555123456" are one
// number, "0 (312) 66-12-34" is "+996312661234". A number with a country
// code (+995 …, 00995 …) keeps it whatever the region; an extension is
// dropped. "" when s is not a phone number, or not one of a full length
// for its country: libphonenumber's IsPossibleNumber checks the length,
// not the allocated ranges (IsValidNumber), so that a new operator's
// numbers still match; a local-only number (66-12-34 without its area
// code) is too short to name one line and gives "".
func (r Rules) Phone(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	if digits < 5 {
		return ""
	}
	region := strings.ToUpper(strings.TrimSpace(r.Region))
	if region == "" {
		region = DefaultRegion
	}
	var n phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(s, region, &n); err != nil {
		return ""
	}
	if phonenumbers.IsPossibleNumberWithReason(&n) != phonenumbers.IS_POSSIBLE {
		return ""
	}
	n.Extension = nil
	return phonenumbers.Format(&n, phonenumbers.E164)
}
