package match

// Class is how sure the history lookup is that an earlier incident is about
// the same place or people, strongest last.
type Class int

const (
	NoMatch  Class = iota
	Namesake       // a name alone: a possible namesake, never an alarm
	Person         // a name and a second agreeing fact (age within 2 years, phone or address)
	Phone          // the same phone number
	Building       // the same building, another (or no) flat
	Flat           // the same flat (or house, where it has no flats)
)

// Evidence is what an earlier incident has in common with the one looked up.
type Evidence struct {
	Flat, Building, Phone bool
	Name                  bool // a name key agrees
	Age                   bool // with the name, the person's age agrees within AgeSlack years
}

// AgeSlack is how far two ages of one person may differ (after the years
// between the incidents are added) and still agree.
const AgeSlack = 2

// Classify is the strongest class e supports.
func Classify(e Evidence) Class {
	switch {
	case e.Flat:
		return Flat
	case e.Building:
		return Building
	case e.Phone:
		return Phone
	case e.Name && e.Age:
		return Person
	case e.Name:
		return Namesake
	}
	return NoMatch
}

// Strong reports whether the class is sure enough to raise an
// officer-safety warning: every class but a possible namesake.
func (c Class) Strong() bool { return c >= Person }

// String is the class's code: flat, building, phone, person, namesake.
func (c Class) String() string {
	switch c {
	case Flat:
		return "flat"
	case Building:
		return "building"
	case Phone:
		return "phone"
	case Person:
		return "person"
	case Namesake:
		return "namesake"
	}
	return "none"
}
