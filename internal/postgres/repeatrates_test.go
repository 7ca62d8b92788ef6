package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// TestRepeatRatesMatchReference: on random incidents (DV and not, out of
// order in time, some victims linked, sexes and ages, an IDP settlement)
// the repeat-rate figures equal a reference computed in Go from the raw
// rows, for every grouping, with and without a district filter.
func TestRepeatRatesMatchReference(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(16, 365))
	other := refdata.IncidentType{Code: "NOISE", Name: "Noise", Active: true}
	must(t, f.db.SaveIncidentType(ctx, &other, audit.Actor{}))
	camp := refdata.Settlement{DistrictID: f.district.ID, Name: "Camp", IsIDP: true, Active: true}
	must(t, f.db.SaveSettlement(ctx, &camp, audit.Actor{}))
	sexes := []string{"", "female", "male"}
	var ids []int64
	for i := 0; i < 36; i++ {
		form := incident.Form{Address: fmt.Sprintf("ul. Chui %d", rng.IntN(3)), VictimName: fmt.Sprintf("Victim Number%d", rng.IntN(5)),
			VictimSex: sexes[rng.IntN(3)]}
		if rng.IntN(4) > 0 {
			form.VictimAge = fmt.Sprint(10 + rng.IntN(60))
		}
		if rng.IntN(5) == 0 {
			form.TypeID = itoa(other.ID)
		}
		if rng.IntN(3) == 0 {
			form.SettlementID = itoa(camp.ID)
		}
		ids = append(ids, f.orderIncident(t, form))
	}
	now := time.Now().UTC()
	for _, id := range ids {
		_, err := f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = $2 WHERE id = $1`, id,
			now.Add(-time.Duration(rng.IntN(2*365*24))*time.Hour))
		must(t, err)
	}
	for i := 0; i < 30; i++ {
		a, b := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
		var same bool
		must(t, f.db.Pool.QueryRow(ctx, `SELECT x.victim_key = y.victim_key FROM incident_keys x, incident_keys y WHERE x.incident_id = $1 AND y.incident_id = $2`,
			a, b).Scan(&same))
		if same && a != b {
			_, err := f.db.ConfirmPerson(ctx, a, postgres.RoleVictim, b, f.actor)
			must(t, err)
		}
	}
	type row struct {
		id                   int64
		at                   time.Time
		dv, idp              bool
		district, settlement string
		sex                  string
		age                  *int
		person               int64
	}
	rows, err := f.db.Pool.Query(ctx, `SELECT i.id, i.received_at, t.is_dv, coalesce(s.is_idp, false), coalesce(d.code, ''),
			coalesce(s.id::text, ''), coalesce(i.victim_sex, ''), i.victim_age, coalesce(ip.person_id, 0)
		FROM incidents i JOIN incident_types t ON t.id = i.type_id LEFT JOIN districts d ON d.id = i.district_id
		LEFT JOIN settlements s ON s.id = i.settlement_id LEFT JOIN incident_persons ip ON ip.incident_id = i.id AND ip.role = 'victim'`)
	must(t, err)
	var all []row
	for rows.Next() {
		var r row
		must(t, rows.Scan(&r.id, &r.at, &r.dv, &r.idp, &r.district, &r.settlement, &r.sex, &r.age, &r.person))
		all = append(all, r)
	}
	must(t, rows.Err())
	keyOf := func(r row, by string) string {
		switch by {
		case postgres.RepeatByDistrict:
			return r.district
		case postgres.RepeatBySettlement:
			if r.idp {
				return r.settlement
			}
			return ""
		case postgres.RepeatBySex:
			return r.sex
		case postgres.RepeatByAge:
			if r.age != nil {
				for _, b := range report.AgeBands {
					if *r.age >= b.From && *r.age <= b.To {
						return b.Key
					}
				}
			}
			return ""
		}
		return "all"
	}
	q := report.Query{From: report.DateOf(now.Add(-400*24*time.Hour), time.UTC), To: report.DateOf(now, time.UTC), Location: time.UTC, GroupBy: report.ByAll}
	start, end := q.Range()
	withRepeats := 0
	for _, district := range []*int64{nil, &f.district.ID} {
		q.DistrictID = district
		for _, by := range postgres.RepeatRateGroupings {
			got, err := f.db.RepeatRates(ctx, q, by)
			must(t, err)
			want := map[string]*postgres.RepeatRate{}
			gaps := map[string][]float64{}
			for _, r := range all {
				if !r.dv || r.at.Before(start) || !r.at.Before(end) {
					continue
				}
				k := keyOf(r, by)
				if want[k] == nil {
					want[k] = &postgres.RepeatRate{Key: k}
				}
				want[k].Incidents++
				var prev time.Time
				for _, e := range all {
					if r.person != 0 && e.person == r.person && e.dv && e.id != r.id && e.at.Before(r.at) && e.at.After(prev) {
						prev = e.at
					}
				}
				if !prev.IsZero() {
					gaps[k] = append(gaps[k], r.at.Sub(prev).Seconds()/86400)
					if r.at.Sub(prev) <= 365*24*time.Hour {
						want[k].Repeats++
					}
				}
			}
			var keys []string
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if len(got) != len(keys) {
				t.Fatalf("by %s: %d groups, reference %d", by, len(got), len(keys))
			}
			for i, k := range keys {
				w, g := want[k], got[i]
				if g.Key != k || g.Incidents != w.Incidents || g.Repeats != w.Repeats {
					t.Errorf("by %s group %q: got %+v, reference %+v", by, k, g, *w)
				}
				withRepeats += g.Repeats
				gs := gaps[k]
				if len(gs) == 0 {
					if g.MedianDays != nil {
						t.Errorf("by %s group %q: median %v, want none", by, k, *g.MedianDays)
					}
					continue
				}
				slices.Sort(gs)
				m := gs[len(gs)/2]
				if len(gs)%2 == 0 {
					m = (gs[len(gs)/2-1] + gs[len(gs)/2]) / 2
				}
				if g.MedianDays == nil || math.Abs(*g.MedianDays-m) > 1e-6 {
					t.Errorf("by %s group %q: median %v, reference %v", by, k, g.MedianDays, m)
				}
			}
		}
	}
	if withRepeats == 0 {
		t.Fatal("no repeats in the data: the test tests too little")
	}
}
