package seed

import (
	"fmt"
	"time"

	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// openPrefix starts the external ids of the incidents open right now.
const openPrefix = "open-"

// openSeed seeds the made-up details of the open incidents.
const openSeed = 20260309

// openSpec is one incident open on the board when the demo starts. The
// durations say how long ago each stage was reached; zero means not yet.
type openSpec struct {
	district, settlement string
	typ                  string
	priority             int
	received             time.Duration
	dispatched           time.Duration
	enRoute              time.Duration
	onScene              time.Duration
	unit                 string
	weapons              bool
	highDanger           bool
}

// openSpecs show every stage of the board, both deployments, a P1 past its
// response target and IDP settlements with their long travel times. The
// demo officer's unit LEN-11 has a call to acknowledge.
var openSpecs = []openSpec{
	{"LEN", "Dzhal", "DV-PHYS", 1, 40 * time.Second, 0, 0, 0, "", false, false},
	{"OKT", "Asanbai", "DV-THREAT", 2, 2*time.Minute + 10*time.Second, 0, 0, 0, "", false, false},
	{"GORI", "Gori town", "DV-THREAT", 3, 5 * time.Minute, 0, 0, 0, "", false, false},
	{"LEN", "Archa-Beshik", "PO-VIOL", 2, 7 * time.Minute, 3 * time.Minute, 0, 0, "LEN-11", false, false},
	{"LEN", "", "DV-PHYS", 2, 12 * time.Minute, 10 * time.Minute, 8*time.Minute + 30*time.Second, 0, "LEN-12", false, false},
	// P1 whose 10-minute response target has passed: still travelling.
	{"PER", "Kalys-Ordo", "DV-PHYS", 1, 19 * time.Minute, 17*time.Minute + 30*time.Second, 16*time.Minute + 40*time.Second, 0, "PER-31", true, true},
	// IDP settlement far from Gori: still travelling after 24 minutes.
	{"GORI", "Tserovani", "DV-PHYS", 2, 28 * time.Minute, 25 * time.Minute, 24 * time.Minute, 0, "GORI-1", false, true},
	{"OKT", "Tunguch", "DV-PSY", 3, 35 * time.Minute, 31 * time.Minute, 29 * time.Minute, 18 * time.Minute, "OKT-21", false, false},
	{"LEN", "Ala-Archa", "CHILD", 2, 50 * time.Minute, 47 * time.Minute, 46 * time.Minute, 36 * time.Minute, "LEN-13", false, false},
	{"GORI", "Karaleti", "PO-VIOL", 2, 65 * time.Minute, 62 * time.Minute, 61 * time.Minute, 45 * time.Minute, "GORI-2", false, false},
	{"SVE", "Kyzyl-Asker", "WELFARE", 4, 70 * time.Minute, 55 * time.Minute, 50 * time.Minute, 38 * time.Minute, "SVE-42", false, false},
}

func findPlace(districtCode, name string) *place {
	for i := range places {
		if places[i].district.code == districtCode && places[i].name == name {
			return &places[i]
		}
	}
	panic(fmt.Sprintf("seed: no place %s/%q", districtCode, name))
}

// openIncidents makes up the incidents of openSpecs relative to g.now.
// dispatchers are the user ids that log calls, by deployment (nil when the
// account is missing).
func (g *generator) openIncidents(dispatchers map[*deployment]*int64) []postgres.SeedIncident {
	r := g.r
	var out []postgres.SeedIncident
	now := g.now.Truncate(time.Second)
	for i, sp := range openSpecs {
		p := findPlace(sp.district, sp.settlement)
		typ := typeByCode(sp.typ)
		f := callFacts{
			home: newHousehold(r, p, typ.code == "CHILD"), typ: typ, prio: &priorityLevels[sp.priority-1],
			weapons: &sp.weapons, injuries: g.boolOrUnknown(0.3, 0.2), highDanger: sp.highDanger,
		}
		f.children = &f.home.children
		received := now.Add(-sp.received)
		in := g.incident(fmt.Sprintf("%s%d-%02d", openPrefix, now.Unix(), i+1), received, f, nil, nil)
		who := dispatchers[p.district.dep]
		in.CreatedBy = who
		in.Events[0].UserID = who
		if sp.dispatched == 0 {
			out = append(out, in)
			continue
		}
		unit := g.ids.unit[sp.unit]
		status := refdata.UnitDispatched
		in.DispatchedAt = ptrTime(now.Add(-sp.dispatched))
		in.Events = append(in.Events, postgres.SeedEvent{At: *in.DispatchedAt, UserID: who, Kind: "unit_assigned",
			Data: map[string]any{"unit_id": unit, "call_sign": sp.unit}})
		if sp.enRoute != 0 {
			status = refdata.UnitEnRoute
			in.EnRouteAt = ptrTime(now.Add(-sp.enRoute))
			in.Events = append(in.Events, postgres.SeedEvent{At: *in.EnRouteAt, Kind: "status_changed",
				Data: map[string]any{"stage": "en_route", "unit_id": unit}})
		}
		if sp.onScene != 0 {
			status = refdata.UnitOnScene
			in.OnSceneAt = ptrTime(now.Add(-sp.onScene))
			in.Events = append(in.Events, postgres.SeedEvent{At: *in.OnSceneAt, Kind: "status_changed",
				Data: map[string]any{"stage": "on_scene", "unit_id": unit}})
		}
		in.Units = []postgres.SeedAssignment{{UnitID: unit, AssignedAt: *in.DispatchedAt, AssignedBy: who, UnitStatus: status}}
		out = append(out, in)
	}
	return out
}
