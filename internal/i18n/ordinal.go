package i18n

// OrdinalCategory is the CLDR ordinal plural category of n in lang: the
// form an ordinal number takes ("1st", "2nd", "3rd", "4th" in English;
// "1-ლი", "მე-2", "21-ე" in Georgian). Russian and Kyrgyz write every
// ordinal in digits alike ("3-е", "3-"): "other".
func OrdinalCategory(lang string, n int) string {
	if n < 0 {
		n = -n
	}
	switch lang {
	case "en":
		switch {
		case n%10 == 1 && n%100 != 11:
			return "one"
		case n%10 == 2 && n%100 != 12:
			return "two"
		case n%10 == 3 && n%100 != 13:
			return "few"
		}
	case "ka":
		m := n % 100
		switch {
		case n == 1:
			return "one"
		case n == 0 || (m >= 2 && m <= 20) || m == 40 || m == 60 || m == 80:
			return "many"
		}
	}
	return "other"
}

// Ordinal writes n as an ordinal number in l's language, from the
// catalogue's "ordinal.*" messages.
func (l *Localizer) Ordinal(n int) string {
	return l.T("ordinal."+OrdinalCategory(l.Lang, n), "N", n)
}
