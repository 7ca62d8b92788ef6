package web

import "strconv"

// fieldType maps a Field's type to an input type attribute.
func fieldType(t string) string {
	switch t {
	case "", "text":
		return "text"
	default:
		return t
	}
}

// badgeClass picks the badge style for a list badge.
func badgeClass(b string) string {
	switch b {
	case "IDP":
		return "badge-idp"
	case "DV":
		return "badge-dv"
	case "inactive":
		return "badge-off"
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
