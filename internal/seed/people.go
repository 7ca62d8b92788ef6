package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Everything in this file is synthetic: names are common first names and
// surnames combined at random, phone numbers use blocks ("555 0xx xxx")
// chosen to look fake, addresses combine common street names with random
// numbers.

// weighted is a choice with a relative weight.
type weighted[T any] struct {
	v T
	w float64
}

// pick chooses from ws in proportion to the weights.
func pick[T any](r *rand.Rand, ws []weighted[T]) T {
	var total float64
	for _, w := range ws {
		total += w.w
	}
	x := r.Float64() * total
	for _, w := range ws {
		if x < w.w {
			return w.v
		}
		x -= w.w
	}
	return ws[len(ws)-1].v
}

func oneOf[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// lognormal draws from a log-normal distribution with the given median and
// shape (the standard deviation of the logarithm).
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// poisson draws a Poisson count with mean lambda (Knuth's method; lambda
// here is below a hundred).
func poisson(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// nameSet is a naming tradition: first names by sex and surnames, with the
// rule that makes a surname feminine.
type nameSet struct {
	female, male []string
	surnames     []string // masculine forms
	feminine     func(string) string
}

func (n *nameSet) name(r *rand.Rand, sex, surname string) string {
	first := oneOf(r, n.male)
	if sex == "female" {
		first = oneOf(r, n.female)
		surname = n.feminine(surname)
	}
	return first + " " + surname
}

// slavicFeminine turns Asanov into Asanova, Dzhumabaev into Dzhumabaeva.
func slavicFeminine(s string) string {
	switch {
	case strings.HasSuffix(s, "ov"), strings.HasSuffix(s, "ev"), strings.HasSuffix(s, "in"):
		return s + "a"
	case strings.HasSuffix(s, "iy"):
		return strings.TrimSuffix(s, "iy") + "aya"
	}
	return s
}

var (
	kyrgyzNames = &nameSet{
		female: []string{"Aigul", "Aizada", "Nurgul", "Gulnara", "Cholpon", "Asel", "Aidai", "Zhyldyz", "Begimai",
			"Kanykei", "Elnura", "Meerim", "Altynai", "Bermet", "Dinara", "Aijan", "Gulzat", "Nazgul", "Saltanat", "Umut"},
		male: []string{"Azamat", "Bakyt", "Nurlan", "Erlan", "Talant", "Ulan", "Almaz", "Kubanychbek", "Daniyar",
			"Bektur", "Marat", "Timur", "Askar", "Emil", "Ruslan", "Aibek", "Maksat", "Zhanybek", "Nurbek", "Tilek"},
		surnames: []string{"Asanov", "Dzhumabaev", "Mamytov", "Sadykov", "Toktogulov", "Omurzakov", "Abdrakhmanov",
			"Usenov", "Osmonov", "Ismailov", "Beishenaliev", "Zhunusov", "Kasymov", "Sultanbekov", "Alymkulov",
			"Myrzakulov", "Tokonov", "Sharshenov", "Abdyldaev", "Kurmanbekov", "Duishenov", "Mambetov"},
		feminine: slavicFeminine,
	}
	russianNames = &nameSet{
		female: []string{"Elena", "Olga", "Tatyana", "Natalya", "Irina", "Svetlana", "Anna", "Yulia", "Marina", "Oksana"},
		male:   []string{"Sergei", "Aleksandr", "Dmitry", "Andrei", "Vladimir", "Nikolai", "Igor", "Pavel", "Oleg", "Viktor"},
		surnames: []string{"Ivanov", "Petrov", "Kuznetsov", "Smirnov", "Popov", "Sokolov", "Morozov", "Volkov",
			"Novikov", "Fedorov", "Lebedev", "Kozlov"},
		feminine: slavicFeminine,
	}
	georgianNames = &nameSet{
		female: []string{"Nino", "Tamar", "Mariam", "Ana", "Eka", "Natia", "Salome", "Maia", "Ketevan", "Lela",
			"Manana", "Tea", "Nana", "Khatuna", "Sopho", "Irma"},
		male: []string{"Giorgi", "Davit", "Levan", "Irakli", "Zurab", "Nika", "Lasha", "Gela", "Mamuka", "Tamaz",
			"Koba", "Vakhtang", "Zaza", "Badri", "Goga", "Temur"},
		surnames: []string{"Beridze", "Kapanadze", "Gelashvili", "Maisuradze", "Tsiklauri", "Giorgadze", "Lomidze",
			"Nozadze", "Khutsishvili", "Japaridze", "Abuladze", "Tsertsvadze", "Chkheidze", "Gogoladze", "Shengelia",
			"Dolidze", "Kiknadze", "Mchedlishvili", "Tedoradze", "Gvenetadze"},
		feminine: func(s string) string { return s },
	}

	bishkekStreets = []string{"Chui Ave", "Manas Ave", "Zhibek Zholu Ave", "Toktogul St", "Kievskaya St",
		"Moskovskaya St", "Ibraimov St", "Akhunbaev St", "Baitik Baatyr St", "Abdrakhmanov St", "Bokonbaev St",
		"Frunze St", "Gorky St", "Isanov St", "Shabdan Baatyr St", "Tynystanov St", "Yunusaliev St",
		"Lev Tolstoy St", "Aitmatov Ave", "Suyumbaev St"}
	bishkekLanes = []string{"Sadovaya", "Shkolnaya", "Tsentralnaya", "Ozyornaya", "Ala-Too", "Nurmanbet",
		"Kurmanjan Datka", "Zhibek", "Bakai", "Yntymak", "Bereke", "Umut", "Tynchtyk", "Sary-Bulak", "Ak-Suu",
		"Boroldoi", "Chong-Tash", "Kok-Tash"}
	goriStreets = []string{"Tsereteli St", "Chavchavadze Ave", "Rustaveli St", "Kutaisi St", "Samepo St",
		"Tbilisi St", "Javakhishvili St", "Ninoshvili St", "Gorgasali St", "Kostava St", "Tamar Mepe St",
		"Aghmashenebeli St", "Kazbegi St", "Barnovi St", "Sukhishvili St"}

	locationNotes = []string{
		"Entrance from the courtyard.",
		"Green gate, dog in the yard.",
		"Second entrance, intercom broken; caller will open the door.",
		"House behind the school, no number on the gate.",
		"Caller will wait for the unit at the corner shop.",
		"Caller asks: no sirens near the house.",
		"Last house in the row, blue roof.",
		"Ground-floor flat, window onto the street.",
		"Suspect's car (white sedan) usually parked outside.",
		"Back door via the garden is unlocked.",
	}
)

// phone is a synthetic mobile number in a block that looks fake:
// +996 555 0xx xxx or +995 555 0xx xxx.
func phone(r *rand.Rand, cc string) string {
	return fmt.Sprintf("%s 555 0%02d %03d", cc, r.IntN(100), r.IntN(1000))
}

// address writes a synthetic address in place p.
func address(r *rand.Rand, p *place) string {
	switch p.kind {
	case cityStreets:
		streets := bishkekStreets
		if p.district.dep == gori {
			streets = goriStreets
		}
		s := fmt.Sprintf("%s %d", oneOf(r, streets), 1+r.IntN(220))
		if chance(r, 0.65) {
			s += fmt.Sprintf(", apt %d", 1+r.IntN(90))
		}
		return s
	case microdistrict:
		return fmt.Sprintf("%s mkr, bldg %d, apt %d", p.name, 1+r.IntN(60), 1+r.IntN(120))
	case housing:
		return fmt.Sprintf("%s, %s St %d", p.name, oneOf(r, bishkekLanes), 1+r.IntN(180))
	case village:
		return fmt.Sprintf("%s village, house %d", p.name, 1+r.IntN(400))
	case idpSettlement:
		return fmt.Sprintf("%s settlement, street %d, house %d", p.name, 1+r.IntN(30), 1+r.IntN(60))
	}
	return p.name
}

// relationships of the suspect to the victim in domestic calls.
var relationships = []weighted[string]{
	{"spouse", 42}, {"former spouse", 8}, {"partner", 10}, {"former partner", 8}, {"child", 9},
	{"parent", 6}, {"sibling", 6}, {"in-law", 8}, {"other relative", 3},
}

// person is a victim or suspect of a household.
type person struct {
	name string
	sex  string // "" when not recorded
	age  int    // 0 when not recorded
}

// household is where repeat calls come from: the same address, phone and
// people call again, as they do in real life.
type household struct {
	place        *place
	address      string
	notes        string
	lat, lon     float64
	phone        string
	victim       person
	suspect      person
	relationship string
	children     bool
	language     string
}

func clampAge(a float64, lo, hi int) int {
	return max(lo, min(hi, int(math.Round(a))))
}

// newHousehold makes up a household in place p with a domestic
// relationship; child victims come from callers of type CHILD.
func newHousehold(r *rand.Rand, p *place, child bool) *household {
	dep := p.district.dep
	names := dep.names
	if dep == bishkek && chance(r, 0.2) {
		names = russianNames
	}
	h := &household{
		place: p, address: address(r, p), phone: phone(r, dep.phoneCC),
		language: pick(r, dep.languages), children: chance(r, 0.55),
		lat: p.lat + (r.Float64()-0.5)*0.02, lon: p.lon + (r.Float64()-0.5)*0.025,
	}
	if names == russianNames && dep == bishkek {
		h.language = "ru"
	}
	if chance(r, 0.12) {
		h.notes = oneOf(r, locationNotes)
	}
	family := oneOf(r, names.surnames)
	other := oneOf(r, names.surnames)
	opposite := func(s string) string {
		if s == "female" {
			return "male"
		}
		return "female"
	}
	vs := "female"
	if chance(r, 0.14) {
		vs = "male"
	}
	rel := pick(r, relationships)
	if child {
		rel = pick(r, []weighted[string]{{"parent", 80}, {"step-parent", 12}, {"other relative", 8}})
		vs = pick(r, []weighted[string]{{"female", 50}, {"male", 50}})
		h.children = true
	}
	var va, sa float64
	ss := opposite(vs)
	switch rel {
	case "spouse", "former spouse", "partner", "former partner":
		va = 20 + r.ExpFloat64()*12 + r.Float64()*6
		sa = va + r.NormFloat64()*4 + 3
		if vs == "male" {
			sa -= 6
		}
	case "child": // the suspect is the victim's adult child
		va = 55 + r.Float64()*28
		sa = va - 24 - r.Float64()*10
		ss = pick(r, []weighted[string]{{"male", 85}, {"female", 15}})
	case "parent", "step-parent":
		va = 14 + r.Float64()*12
		if child {
			va = 1 + r.Float64()*15
		}
		sa = va + 22 + r.Float64()*12
		ss = pick(r, []weighted[string]{{"male", 70}, {"female", 30}})
	case "sibling":
		va = 18 + r.Float64()*35
		sa = va + r.NormFloat64()*6
		ss = pick(r, []weighted[string]{{"male", 80}, {"female", 20}})
	case "in-law":
		vs, va = "female", 20+r.Float64()*18
		ss = pick(r, []weighted[string]{{"female", 55}, {"male", 45}})
		sa = va + 25 + r.Float64()*12
	default:
		va = 18 + r.Float64()*50
		if child {
			va = 1 + r.Float64()*15
		}
		sa = 20 + r.Float64()*45
		ss = pick(r, []weighted[string]{{"male", 80}, {"female", 20}})
	}
	vSurname, sSurname := family, family
	switch rel {
	case "former spouse", "partner", "former partner", "other relative":
		if chance(r, 0.6) {
			sSurname = other
		}
	case "in-law":
		vSurname = other
	}
	h.victim = person{name: names.name(r, vs, vSurname), sex: vs, age: clampAge(va, 0, 95)}
	if rel != "parent" && rel != "step-parent" && !child && h.victim.age < 18 {
		h.victim.age = 18
	}
	h.suspect = person{name: names.name(r, ss, sSurname), sex: ss, age: clampAge(sa, 16, 95)}
	h.relationship = rel
	return h
}

// relWord is how a narrative names the suspect, e.g. "husband".
func relWord(rel, suspectSex string) string {
	m := suspectSex == "male"
	either := func(male, female string) string {
		if m {
			return male
		}
		return female
	}
	switch rel {
	case "spouse":
		return either("husband", "wife")
	case "former spouse":
		return either("ex-husband", "ex-wife")
	case "partner":
		return "partner"
	case "former partner":
		return "former partner"
	case "child":
		return either("adult son", "adult daughter")
	case "parent":
		return either("father", "mother")
	case "step-parent":
		return either("stepfather", "stepmother")
	case "sibling":
		return either("brother", "sister")
	case "in-law":
		return either("father-in-law", "mother-in-law")
	}
	return "relative"
}

var narratives = map[string][]string{
	"DV-PHYS": {
		"Caller reports being beaten by the %s during an argument at home.",
		"Neighbour hears screaming and blows from the flat; the victim's %s is there again.",
		"Victim says the %s hit and choked them, then left the room; victim has locked the door.",
		"Victim reports the %s pushed them down the stairs after drinking.",
	},
	"DV-THREAT": {
		"Victim reports the %s is threatening to kill them and is banging on the door.",
		"The %s sent threatening messages and is now outside the house shouting.",
		"Caller says the %s threatened to burn the house down if the victim leaves.",
	},
	"DV-PSY": {
		"Victim reports the %s takes all wages, locks the victim in and forbids phone calls.",
		"Ongoing humiliation and control by the %s; victim asks for advice and a visit.",
		"The %s has taken the victim's documents and refuses to return them.",
	},
	"PO-VIOL": {
		"The %s has come to the house despite a protection order in force.",
		"Victim reports the %s, who is under a protection order, is calling and waiting at the entrance.",
	},
	"CHILD": {
		"Neighbour reports a child crying for a long time and the %s shouting and hitting.",
		"School reports a child with bruises who is afraid to go home to the %s.",
		"Child called from a relative's phone: the %s is drunk and violent.",
	},
	"DISTURB": {
		"Loud quarrel in the flat, neighbours ask police to come; the %s involved.",
		"Family quarrel in the yard involving the %s; crowd gathering.",
	},
	"WELFARE": {
		"Relative cannot reach the victim for two days; last known to be with the %s.",
		"Caller asks police to check on an elderly person living with the %s.",
	},
	"OTHER": {
		"Caller reports a dispute over property with the %s.",
		"Caller asks police to attend while collecting belongings from the %s's house.",
	},
}

var weaponWords = []string{"a knife", "a kitchen knife", "an axe", "a hammer", "a hunting rifle", "a broken bottle"}

// narrative writes a short synthetic account of a call.
func narrative(r *rand.Rand, typeCode, rel, suspectSex string, weapons, children, injuries *bool, drunk bool) string {
	s := fmt.Sprintf(oneOf(r, narratives[typeCode]), relWord(rel, suspectSex))
	if weapons != nil && *weapons {
		s += " Suspect has " + oneOf(r, weaponWords) + "."
	}
	if injuries != nil && *injuries {
		s += oneOf(r, []string{" Victim has visible injuries.", " Victim is bleeding.", " Victim complains of pain in the ribs."})
	}
	if children != nil && *children {
		s += oneOf(r, []string{" Children are in the home.", " Two small children present.", " A child is with the caller."})
	}
	if drunk {
		s += " Suspect is drunk."
	}
	return s
}

// callerRelations are who calls when the victim does not.
var callerRelations = []weighted[string]{{"neighbour", 40}, {"relative", 30}, {"child of victim", 10}, {"witness", 12}, {"school / social worker", 8}}

// orthodoxEaster is Orthodox Easter Sunday of a year in the Gregorian
// calendar (Meeus's Julian algorithm plus the 13-day calendar difference,
// valid 1900-2099).
func orthodoxEaster(year int) time.Time {
	a, b, c := year%4, year%7, year%19
	d := (19*c + 15) % 30
	e := (2*a + 4*b - d + 34) % 7
	month := (d + e + 114) / 31
	day := (d+e+114)%31 + 1
	return time.Date(year, time.Month(month), day+13, 0, 0, 0, 0, time.UTC)
}

// kyrgyzHoliday is the call-volume factor of a date in Kyrgyzstan: public
// holidays, and the New Year and Nooruz festivities, bring more domestic
// calls (the movable Muslim holidays are left out).
func kyrgyzHoliday(m time.Month, d, _ int) float64 {
	switch {
	case m == time.December && d == 31, m == time.January && d == 1:
		return 1.8
	case m == time.January && d == 2:
		return 1.3
	case m == time.January && d == 7, m == time.February && d == 23, m == time.May && d == 1,
		m == time.May && d == 9, m == time.August && d == 31, m == time.November && (d == 7 || d == 8):
		return 1.35
	case m == time.March && (d == 8 || d == 21 || d == 22):
		return 1.45
	}
	return 1
}

// georgianHoliday is the call-volume factor of a date in Georgia.
func georgianHoliday(m time.Month, d, year int) float64 {
	switch {
	case m == time.December && d == 31, m == time.January && (d == 1 || d == 2):
		return 1.8
	case m == time.January && (d == 7 || d == 19), m == time.March && (d == 3 || d == 8), m == time.April && d == 9,
		m == time.May && (d == 9 || d == 12 || d == 26), m == time.August && d == 28,
		m == time.October && d == 14, m == time.November && d == 23:
		return 1.35
	}
	e := orthodoxEaster(year)
	if date := time.Date(year, m, d, 0, 0, 0, 0, time.UTC); !date.Before(e.AddDate(0, 0, -2)) && !date.After(e.AddDate(0, 0, 1)) {
		return 1.4
	}
	return 1
}
