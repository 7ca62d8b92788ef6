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
	"github.com/dvresponse/dvresponse/internal/facts"
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
	// The store (internal/facts) gives the same figures: loaded, and kept
	// current from the change log as links are undone and merged and
	// incidents move in time or change type.
	store := facts.NewStore(time.UTC)
	load := store.StartLoad()
	mark, err := f.db.LoadFacts(ctx, func(r facts.Row) error { return load.Add(r) })
	must(t, err)
	store.Replace(load, time.Now())
	src := facts.Source{Store: store, Ref: f.db}
	sync := func() {
		t.Helper()
		ch, next, reload, err := f.db.FactChanges(ctx, mark)
		must(t, err)
		ids := ch.Incidents
		if reload {
			t.Fatal("reload asked")
		}
		mark = next
		var rows []facts.Row
		seen := map[int64]bool{}
		must(t, f.db.FactRows(ctx, ids, func(r facts.Row) error { rows = append(rows, r); seen[r.ID] = true; return nil }))
		var gone []int64
		for _, id := range ids {
			if !seen[id] {
				gone = append(gone, id)
			}
		}
		store.Apply(rows, gone)
	}
	withRepeats := 0
	check := func(stage string) {
		t.Helper()
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
			case report.RepeatByDistrict:
				return r.district
			case report.RepeatBySettlement:
				if r.idp {
					return r.settlement
				}
				return ""
			case report.RepeatBySex:
				return r.sex
			case report.RepeatByAge:
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
		for _, district := range []*int64{nil, &f.district.ID} {
			q.DistrictID = district
			for _, by := range report.RepeatGroupings {
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
		for _, district := range []*int64{nil, &f.district.ID} {
			q.DistrictID = district
			want, err := f.db.RepeatRatesMulti(ctx, q, report.RepeatGroupings)
			must(t, err)
			got, ok, err := src.RepeatRates(ctx, q, report.RepeatGroupings, nil)
			must(t, err)
			if !ok {
				t.Fatalf("%s: the store did not answer", stage)
			}
			sameRepeats(t, stage+" store", got, want)
		}
	}
	check("loaded")
	// A repeat exactly 365 days after her previous incident counts; one a
	// microsecond later does not.
	var a, b, c int64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT x.incident_id, y.incident_id FROM incident_persons x
		JOIN incident_persons y ON y.person_id = x.person_id AND y.incident_id > x.incident_id
		JOIN incidents i ON i.id = y.incident_id JOIN incident_types t ON t.id = i.type_id AND t.is_dv
		JOIN incidents j ON j.id = x.incident_id JOIN incident_types u ON u.id = j.type_id AND u.is_dv
		WHERE x.role = 'victim' AND y.role = 'victim' LIMIT 1`).Scan(&a, &b))
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = now() - CASE WHEN id = $1 THEN interval '395 days' ELSE interval '30 days' END
		WHERE id IN ($1, $2)`, a, b)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `DELETE FROM incident_persons WHERE incident_id <> $1 AND incident_id <> $2
		AND person_id = (SELECT person_id FROM incident_persons WHERE incident_id = $1 AND role = 'victim') AND role = 'victim'`, a, b)
	must(t, err)
	sync()
	check("a year to the microsecond")
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = received_at - interval '1 microsecond' WHERE id = $1`, a)
	must(t, err)
	sync()
	check("a year and a microsecond")
	// Links undone and merged; incidents moved and of another type.
	var persons []int64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT array_agg(DISTINCT person_id ORDER BY person_id) FROM incident_persons`).Scan(&persons))
	if len(persons) < 3 {
		t.Fatalf("only %d persons linked", len(persons))
	}
	must(t, f.db.MergePersons(ctx, persons[0], persons[1], f.actor))
	must(t, f.db.Pool.QueryRow(ctx, `SELECT incident_id FROM incident_persons WHERE person_id = $1 AND role = 'victim' LIMIT 1`,
		persons[2]).Scan(&c))
	must(t, f.db.UndoPerson(ctx, c, postgres.RoleVictim, "not the same woman", f.actor))
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = received_at - interval '200 days'
		WHERE id IN (SELECT incident_id FROM incident_persons WHERE person_id = $1 ORDER BY incident_id DESC LIMIT 1)`, persons[0])
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET type_id = $1
		WHERE id IN (SELECT incident_id FROM incident_persons WHERE person_id = $2 ORDER BY incident_id LIMIT 1)`, other.ID, persons[0])
	must(t, err)
	sync()
	check("undone, merged, moved")
	if withRepeats == 0 {
		t.Fatal("no repeats in the data: the test tests too little")
	}
}
