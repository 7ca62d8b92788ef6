package match

// RulesVersion names the generation of the rules in this package. Keys
// stored in the database are recomputed (dvresponse migrate, serve, seed)
// when the version they were computed under, with the deployment's
// region, differs from Version: change it whenever a rule changes.
const RulesVersion = 2

// Version is what the stored keys are stamped with: the rules' generation
// and the region, which decides how national phone numbers are read.
func (r Rules) Version() string {
	return itoa(RulesVersion) + ":" + r.Region
}

// RegionOfZone is the country of the deployment's time zone, for a
// deployment that sets no DVR_COUNTRY: "KG" for Asia/Bishkek, "GE" for
// Asia/Tbilisi, "" for a zone this table does not know.
func RegionOfZone(zone string) string {
	switch zone {
	case "Asia/Bishkek":
		return "KG"
	case "Asia/Tbilisi":
		return "GE"
	case "Asia/Almaty", "Asia/Qostanay", "Asia/Aqtobe", "Asia/Aqtau", "Asia/Atyrau", "Asia/Oral", "Asia/Qyzylorda":
		return "KZ"
	case "Asia/Tashkent", "Asia/Samarkand":
		return "UZ"
	case "Asia/Dushanbe":
		return "TJ"
	case "Asia/Yerevan":
		return "AM"
	case "Asia/Baku":
		return "AZ"
	}
	return ""
}

// ValidRegion reports whether s has the form of an ISO 3166-1 alpha-2
// code (two capital letters).
func ValidRegion(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
