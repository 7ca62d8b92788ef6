package match

// Rules are the deployment's matching settings.
type Rules struct {
	// Region is the ISO 3166-1 alpha-2 code of the deployment's country
	// ("KG", "GE"), the default for phone numbers written without one.
	Region string
}

// Keys are the normalised forms of an incident's address, phone and names.
// An empty key matches nothing.
type Keys struct {
	Flat     string // the flat (or house, where it has no flats): street, house, block, flat
	Building string // the building: street, house, block
	Phone    string // E.164
	Caller   string
	Victim   string
	Suspect  string
}

// Empty reports whether there is nothing to match on.
func (k Keys) Empty() bool {
	return k.Flat == "" && k.Building == "" && k.Phone == "" && k.Caller == "" && k.Victim == "" && k.Suspect == ""
}

// Keys computes the keys of an incident's fields.
func (r Rules) Keys(address, phone, caller, victim, suspect string) Keys {
	flat, building := Address(address)
	return Keys{Flat: flat, Building: building, Phone: r.Phone(phone), Caller: Name(caller), Victim: Name(victim), Suspect: Name(suspect)}
}
