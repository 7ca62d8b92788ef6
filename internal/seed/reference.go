package seed

import (
	"maps"
	"slices"
	"time"

	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// deployment is one of the two demo deployments: a city or region with its
// own time zone, caller languages, names and public holidays.
type deployment struct {
	name      string
	zone      *time.Location // local time; both countries keep no summer time
	perDay    float64        // mean calls per day before weekly, seasonal and holiday factors
	languages []weighted[string]
	phoneCC   string // country calling code of the synthetic phone numbers
	names     *nameSet
	holiday   func(month time.Month, day int, year int) float64
}

// district is a demo district with its response characteristics.
type district struct {
	dep  *deployment
	code string
	name string
	// callProcessing scales call-processing times (a busier or
	// understaffed desk); travel scales travel times (distance, roads,
	// traffic).
	callProcessing, travel float64
}

// place is where demo calls come from: a settlement (or neighbourhood), or
// a district's central streets when name is "" (no settlement recorded).
type place struct {
	district *district
	name     string
	idp      bool
	kind     placeKind
	lat, lon float64
	weight   float64 // share of its deployment's calls
	travel   float64 // median travel time in seconds, before factors
}

// placeKind decides how addresses in a place are written.
type placeKind int

const (
	cityStreets   placeKind = iota // central streets: "Toktogul St 112, apt 14"
	microdistrict                  // blocks of flats: "Dzhal mkr, bldg 23, apt 45"
	housing                        // a zhilmassiv of houses: "Ak-Orgo, Sadovaya St 17"
	village                        // a village: "Variani, house 34"
	idpSettlement                  // rows of cottages: "Tserovani, row 12, house 7"
)

var (
	bishkekZone = time.FixedZone("Asia/Bishkek", 6*3600)
	tbilisiZone = time.FixedZone("Asia/Tbilisi", 4*3600)

	bishkek = &deployment{
		name: "Bishkek", zone: bishkekZone, perDay: 34, phoneCC: "+996",
		languages: []weighted[string]{{"ky", 55}, {"ru", 43}, {"uz", 2}},
		names:     kyrgyzNames, holiday: kyrgyzHoliday,
	}
	gori = &deployment{
		name: "Gori", zone: tbilisiZone, perDay: 9, phoneCC: "+995",
		languages: []weighted[string]{{"ka", 93}, {"ru", 7}},
		names:     georgianNames, holiday: georgianHoliday,
	}

	distLEN  = &district{dep: bishkek, code: "LEN", name: "Leninsky", callProcessing: 1.0, travel: 1.0}
	distOKT  = &district{dep: bishkek, code: "OKT", name: "Oktyabrsky", callProcessing: 0.95, travel: 1.05}
	distPER  = &district{dep: bishkek, code: "PER", name: "Pervomaisky", callProcessing: 1.15, travel: 1.35} // the slow one
	distSVE  = &district{dep: bishkek, code: "SVE", name: "Sverdlovsky", callProcessing: 1.0, travel: 1.05}
	distGORI = &district{dep: gori, code: "GORI", name: "Gori", callProcessing: 1.1, travel: 1.0}

	districts = []*district{distGORI, distLEN, distOKT, distPER, distSVE}

	// places: weights are shares of the deployment's calls (Bishkek's add
	// up to 100, Gori's too). Coordinates are approximate centres; the
	// assignment of Bishkek's zhilmassivs to districts is approximate too.
	places = []place{
		{distLEN, "", false, cityStreets, 42.870, 74.585, 9, 330},
		{distLEN, "Dzhal", false, microdistrict, 42.820, 74.565, 8, 420},
		{distLEN, "Ala-Archa", false, housing, 42.825, 74.600, 5, 480},
		{distLEN, "Archa-Beshik", false, housing, 42.865, 74.515, 5, 540},
		{distLEN, "Kelechek", false, housing, 42.900, 74.520, 3, 600},

		{distOKT, "", false, cityStreets, 42.860, 74.625, 8, 340},
		{distOKT, "Asanbai", false, microdistrict, 42.820, 74.630, 5, 420},
		{distOKT, "Tunguch", false, microdistrict, 42.830, 74.660, 5, 450},
		{distOKT, "Kok-Jar", false, housing, 42.810, 74.645, 4, 540},
		{distOKT, "Vostok-5", false, microdistrict, 42.850, 74.665, 3, 420},

		{distPER, "", false, cityStreets, 42.880, 74.610, 6, 360},
		{distPER, "Kalys-Ordo", false, housing, 42.905, 74.625, 5, 600},
		{distPER, "Ala-Too", false, housing, 42.920, 74.575, 5, 660},
		{distPER, "Dordoi", false, housing, 42.935, 74.620, 4, 630},

		{distSVE, "", false, cityStreets, 42.880, 74.640, 7, 350},
		{distSVE, "Ak-Orgo", false, housing, 42.910, 74.670, 6, 560},
		{distSVE, "Ak-Bosogo", false, housing, 42.890, 74.700, 4, 540},
		{distSVE, "Kyzyl-Asker", false, microdistrict, 42.860, 74.690, 4, 480},
		{distSVE, "Bakai-Ata", false, housing, 42.900, 74.705, 4, 600},

		{distGORI, "Gori town", false, cityStreets, 41.985, 44.113, 40, 330},
		{distGORI, "Variani", false, village, 42.060, 44.050, 6, 840},
		{distGORI, "Ateni", false, village, 41.905, 44.095, 4, 780},
		{distGORI, "Tkviavi", false, village, 42.130, 44.080, 5, 960},
		{distGORI, "Shindisi", false, village, 41.960, 44.060, 4, 660},
		{distGORI, "Tserovani", true, idpSettlement, 41.850, 44.630, 14, 2100},
		{distGORI, "Karaleti", true, idpSettlement, 42.040, 44.090, 8, 1020},
		{distGORI, "Shavshvebi", true, idpSettlement, 41.990, 44.260, 7, 1320},
		{distGORI, "Berbuki", true, idpSettlement, 41.975, 44.360, 5, 1500},
		{distGORI, "Skra", true, idpSettlement, 41.980, 44.000, 7, 1080},
	}

	// unitCallSigns lists the demo units by district.
	unitCallSigns = map[*district][]string{
		distLEN:  {"LEN-11", "LEN-12", "LEN-13"},
		distOKT:  {"OKT-21", "OKT-22", "OKT-23"},
		distPER:  {"PER-31", "PER-32"},
		distSVE:  {"SVE-41", "SVE-42", "SVE-43"},
		distGORI: {"GORI-1", "GORI-2", "GORI-3"},
	}
)

// incidentType is a demo incident type with its share of calls and how
// urgent it tends to be.
type incidentType struct {
	code, name string
	dv         bool
	weight     float64
	priorities []weighted[int]
}

var incidentTypes = []incidentType{
	{"DV-PHYS", "Domestic violence — physical", true, 30, []weighted[int]{{1, 30}, {2, 50}, {3, 18}, {4, 2}}},
	{"DV-THREAT", "Domestic violence — threats", true, 19, []weighted[int]{{1, 12}, {2, 48}, {3, 35}, {4, 5}}},
	{"DV-PSY", "Domestic violence — psychological/economic", true, 11, []weighted[int]{{2, 15}, {3, 60}, {4, 25}}},
	{"PO-VIOL", "Violation of protection order", true, 8, []weighted[int]{{1, 15}, {2, 60}, {3, 25}}},
	{"CHILD", "Child at risk (domestic)", true, 6, []weighted[int]{{1, 20}, {2, 55}, {3, 25}}},
	{"DISTURB", "Disturbance / family quarrel", false, 13, []weighted[int]{{2, 25}, {3, 55}, {4, 20}}},
	{"WELFARE", "Welfare check", false, 8, []weighted[int]{{2, 10}, {3, 45}, {4, 45}}},
	{"OTHER", "Other", false, 5, []weighted[int]{{2, 10}, {3, 50}, {4, 40}}},
}

// priorityLevel is a demo priority with its targets in seconds (0: none)
// and the factors its urgency applies to each interval.
type priorityLevel struct {
	level                                 int
	label                                 string
	callProcessing, turnout, travel, resp int
	onScene, total                        int
	// medians of call processing and turnout in seconds, and the
	// factor on travel (blue lights or not).
	cpMedian, turnoutMedian, travelFactor float64
}

var priorityLevels = []priorityLevel{
	{1, "Immediate danger to life", 60, 60, 480, 600, 0, 0, 52, 40, 0.85},
	{2, "Urgent", 90, 90, 720, 900, 0, 0, 80, 55, 1.0},
	{3, "Prompt", 180, 180, 0, 1800, 0, 0, 150, 85, 1.12},
	{4, "Routine", 300, 0, 0, 3600, 0, 0, 300, 140, 1.25},
}

// disposition is a demo disposition code with its share and the factor it
// applies to time on scene.
type disposition struct {
	code, name string
	onScene    float64
}

var dispositions = []disposition{
	{"ARREST", "Arrest / detention of suspect", 1.7},
	{"PO-ISSUED", "Protection order issued", 1.4},
	{"REFERRED", "Victim referred to support services", 1.2},
	{"WARNING", "Warning given to suspect", 0.9},
	{"NO-OFFENCE", "No offence disclosed", 0.7},
	{"GONE-ON-ARRIVAL", "Suspect gone on arrival", 0.6},
	{"UNFOUNDED", "Unfounded / false call", 0.45},
	{"DUPLICATE", "Duplicate of another call", 0.25},
	{"CANCELLED", "Cancelled by caller", 0.3},
}

// partners are invented organisations; "(demo)" marks each name so that
// nobody mistakes them for real ones. The phone numbers are fictitious.
var partners = []refdata.Partner{
	{Name: "Bishkek Women's Crisis Centre (demo)", Kind: refdata.CrisisCentre, DistrictCode: "LEN",
		Contact: "24/7 hotline +996 555 000 101 (fictitious); duty counsellor accepts police referrals by phone"},
	{Name: "Bishkek Family Shelter (demo)", Kind: refdata.Shelter, DistrictCode: "OKT",
		Contact: "Intake +996 555 000 102 (fictitious), 24/7; address given to police on request only"},
	{Name: "Bishkek Legal Aid Clinic (demo)", Kind: refdata.LegalAid, DistrictCode: "PER",
		Contact: "+996 555 000 103 (fictitious), Mon–Fri 09:00–18:00; protection-order and divorce advice"},
	{Name: "Bishkek City Emergency Hospital (demo)", Kind: refdata.Medical, DistrictCode: "SVE",
		Contact: "Emergency department +996 555 000 104 (fictitious); forensic medical examination on referral"},
	{Name: "Bishkek Psychosocial Support Centre (demo)", Kind: refdata.Psychosocial, DistrictCode: "SVE",
		Contact: "+996 555 000 105 (fictitious), daily 08:00–20:00; counselling for victims and children"},
	{Name: "Bishkek Child and Family Service (demo)", Kind: refdata.ChildServices, DistrictCode: "LEN",
		Contact: "Duty officer +996 555 000 106 (fictitious), 24/7"},
	{Name: "Gori Women's Shelter (demo)", Kind: refdata.Shelter, DistrictCode: "GORI",
		Contact: "Intake +995 555 000 201 (fictitious), 24/7; transport from IDP settlements arranged"},
	{Name: "Shida Kartli Crisis Centre (demo)", Kind: refdata.CrisisCentre, DistrictCode: "GORI",
		Contact: "+995 555 000 202 (fictitious), daily 09:00–21:00"},
	{Name: "Gori Legal Aid Office (demo)", Kind: refdata.LegalAid, DistrictCode: "GORI",
		Contact: "+995 555 000 203 (fictitious), Mon–Fri 10:00–18:00; restraining and protective orders"},
	{Name: "Gori Municipal Clinic (demo)", Kind: refdata.Medical, DistrictCode: "GORI",
		Contact: "+995 555 000 204 (fictitious), 24/7 emergency room"},
	{Name: "IDP Settlements Mobile Support Team (demo)", Kind: refdata.Psychosocial, DistrictCode: "GORI",
		Contact: "+995 555 000 205 (fictitious); visits Tserovani, Karaleti, Shavshvebi, Berbuki and Skra weekly"},
	{Name: "Gori Child and Family Service (demo)", Kind: refdata.ChildServices, DistrictCode: "GORI",
		Contact: "Social worker on duty +995 555 000 206 (fictitious)"},
}

// referenceData is the demo reference data in the shape the store loads.
func referenceData() postgres.SeedReference {
	var ref postgres.SeedReference
	for _, d := range districts {
		ref.Districts = append(ref.Districts, refdata.District{Code: d.code, Name: d.name, Active: true})
	}
	for _, p := range places {
		if p.name != "" {
			ref.Settlements = append(ref.Settlements, refdata.Settlement{DistrictCode: p.district.code, Name: p.name, IsIDP: p.idp, Active: true})
		}
	}
	for _, d := range districts {
		for _, cs := range unitCallSigns[d] {
			ref.Units = append(ref.Units, refdata.Unit{CallSign: cs, DistrictCode: d.code, Active: true})
		}
	}
	for _, t := range incidentTypes {
		ref.IncidentTypes = append(ref.IncidentTypes, refdata.IncidentType{Code: t.code, Name: t.name, Names: typeNames[t.code], IsDV: t.dv, Active: true})
	}
	for _, p := range priorityLevels {
		targets := map[refdata.Interval]*int{}
		for iv, s := range map[refdata.Interval]int{
			refdata.CallProcessing: p.callProcessing, refdata.Turnout: p.turnout, refdata.Travel: p.travel,
			refdata.Response: p.resp, refdata.OnScene: p.onScene, refdata.Total: p.total,
		} {
			if s > 0 {
				targets[iv] = &s
			} else {
				targets[iv] = nil
			}
		}
		ref.Priorities = append(ref.Priorities, refdata.Priority{Level: p.level, Label: p.label, Names: priorityNames[p.level], Targets: targets})
	}
	for _, d := range dispositions {
		ref.Dispositions = append(ref.Dispositions, refdata.Disposition{Code: d.code, Name: d.name, Names: dispositionNames[d.code], Active: true})
	}
	for _, p := range partners {
		p.Active = true
		ref.Partners = append(ref.Partners, p)
	}
	for _, text := range slices.Sorted(maps.Keys(dangerQuestionTexts)) {
		ref.DangerQuestionTexts = append(ref.DangerQuestionTexts, incident.DangerQuestion{Text: text, Texts: dangerQuestionTexts[text]})
	}
	return ref
}
