package postgres_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

func TestHistoryClassesAndEarlierOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	first, firstNum, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{Address: "ul. Chui 12, kv. 5",
		CallerPhone: "+996 555 12-34-56", VictimName: "Aigul Asanova", VictimAge: "30", Weapons: "yes"}), time.UTC, f.actor)
	must(t, err)
	second, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{Address: "Manas 1", VictimName: "Aigul Asanova", VictimAge: "60"}), time.UTC, f.actor)
	must(t, err)
	age := func(n int) *int { return &n }
	for _, c := range []struct {
		name string
		q    incident.HistoryQuery
		want map[int64]match.Class
	}{
		{"flat", incident.HistoryQuery{Keys: testRules.Keys("UL. CHUI 12, KV. 5", "", "", "", "")}, map[int64]match.Class{first: match.Flat}},
		{"phone", incident.HistoryQuery{Keys: testRules.Keys("", "+996 555 12-34-56", "", "", "")}, map[int64]match.Class{first: match.Phone}},
		{"name and age", incident.HistoryQuery{Keys: testRules.Keys("", "", "", "asanova aigul", ""), VictimAge: age(31)},
			map[int64]match.Class{first: match.Person, second: match.Namesake}},
		{"name alone", incident.HistoryQuery{Keys: testRules.Keys("", "", "", "Aigul Asanova", "")},
			map[int64]match.Class{first: match.Namesake, second: match.Namesake}},
	} {
		priors, _, err := f.db.History(ctx, c.q)
		must(t, err)
		got := map[int64]match.Class{}
		for _, p := range priors {
			got[p.ID] = p.Class
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: classes %v, want %v", c.name, got, c.want)
		}
		for id, cl := range c.want {
			if got[id] != cl {
				t.Errorf("%s: incident %d classed %v, want %v", c.name, id, got[id], cl)
			}
		}
	}
	// An incident's own history holds only incidents received before it.
	facts, err := f.db.MatchFactsOf(ctx, []int64{first, second})
	must(t, err)
	priors, _, err := f.db.History(ctx, facts[first].Query)
	must(t, err)
	if len(priors) != 0 {
		t.Errorf("the first incident's history lists %+v, received after it", priors)
	}
	priors, _, err = f.db.History(ctx, facts[second].Query)
	must(t, err)
	if len(priors) != 1 || priors[0].Number != firstNum {
		t.Errorf("the second incident's history: %+v, want %s", priors, firstNum)
	}
	priors, _, err = f.db.History(ctx, incident.HistoryQuery{Keys: testRules.Keys("", "", "", "Aigul", "")})
	must(t, err)
	if len(priors) != 0 {
		t.Errorf("a lone first name matched %d incidents; names need two words", len(priors))
	}
}

func TestRecomputeKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.db.SetMatchRules(testRules)
	// Keys as an older version wrote them (or none), and a stale stamp.
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{Address: "ul. Chui 12, kv. 5", CallerPhone: "0555 123 456",
		VictimName: "Aigul Asanova"}), time.UTC, f.actor)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `UPDATE incident_keys SET address_key = 'old', building_key = '', phone_key = '555123456', victim_key = 'x'`)
	must(t, err)
	_, err = f.db.Pool.Exec(ctx, `INSERT INTO app_settings (key, value) VALUES ('match_keys_version', 'old')
		ON CONFLICT (key) DO UPDATE SET value = 'old'`)
	must(t, err)
	n, err := f.db.RecomputeKeys(ctx)
	must(t, err)
	if n != 1 {
		t.Errorf("recomputed %d incidents, want 1", n)
	}
	want := testRules.Keys("ul. Chui 12, kv. 5", "0555 123 456", "", "Aigul Asanova", "")
	var got incident.Keys
	must(t, f.db.Pool.QueryRow(ctx, `SELECT address_key, building_key, phone_key, caller_key, victim_key, suspect_key
		FROM incident_keys WHERE incident_id = $1`, id).Scan(&got.Flat, &got.Building, &got.Phone, &got.Caller, &got.Victim, &got.Suspect))
	if got != want {
		t.Errorf("keys %+v, want %+v", got, want)
	}
	var stamp string
	must(t, f.db.Pool.QueryRow(ctx, `SELECT value FROM app_settings WHERE key = 'match_keys_version'`).Scan(&stamp))
	if stamp != testRules.Version() {
		t.Errorf("stamp %q, want %q", stamp, testRules.Version())
	}
	// The indexes are back.
	var idx int
	must(t, f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'incident_keys'
		AND indexname = ANY($1)`, postgres.KeyIndexes).Scan(&idx))
	if idx != len(postgres.KeyIndexes) {
		t.Errorf("%d key indexes after the recompute, want %d", idx, len(postgres.KeyIndexes))
	}
	// Under the same rules again: nothing to do.
	if n, err := f.db.RecomputeKeys(ctx); err != nil || n != 0 {
		t.Errorf("second run: %d, %v; want 0", n, err)
	}
}

// TestRecomputeKeysEveryKeyChanging recomputes the keys of every incident
// under rules that change every key, and back: each time every row holds
// the keys computed in Go, the key indexes are as the migration made them,
// and the lookup finds the matches under the keys in force only.
func TestRecomputeKeysEveryKeyChanging(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.db.SetMatchRules(testRules)
	forms := []incident.Form{
		{Address: "ул. Московская, д. 60, кв. 5", CallerPhone: "0555 123 456", CallerName: "Марина Морозова", VictimName: "Морозова Марина",
			SuspectName: "Бек Беков"},
		{Address: "Moskovskaya St 60, apt 5", CallerPhone: "+996 555 123456", VictimName: "Marina Morozova"},
		{Address: "мкр Тунгуч 9, кв 68", CallerPhone: "(0312) 55-66-77", SuspectName: "Bek Bekov"},
		{Address: "Тунгуч 9-68", VictimName: "Aigul Asanova"},
		{Address: "ul. Chui 12, kv. 5"},
		{Address: "", CallerPhone: "0700 11 22 33", CallerName: "Nurlan Isakov"},
	}
	var ids []int64
	for _, form := range forms {
		id, _, _, err := f.db.CreateIncident(ctx, f.call(t, form), time.UTC, f.actor)
		must(t, err)
		ids = append(ids, id)
	}
	indexDefs := func() map[string]string {
		rows, err := f.db.Pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'incident_keys'`)
		must(t, err)
		defs := map[string]string{}
		var name, def string
		for rows.Next() {
			must(t, rows.Scan(&name, &def))
			defs[name] = def
		}
		must(t, rows.Err())
		return defs
	}
	before := indexDefs()
	if len(before) != len(postgres.KeyIndexes)+1 {
		t.Fatalf("incident_keys has indexes %v, want the primary key and %v", before, postgres.KeyIndexes)
	}
	// checkAll compares every incident's stored keys with keys'.
	checkAll := func(label string, keys func(address, phone, caller, victim, suspect string) match.Keys) {
		t.Helper()
		rows, err := f.db.Pool.Query(ctx, `SELECT i.id, i.address, i.caller_phone, i.caller_name, i.victim_name, i.suspect_name,
				k.address_key, k.building_key, k.phone_key, k.caller_key, k.victim_key, k.suspect_key, k.received_at = i.received_at
			FROM incidents i LEFT JOIN incident_keys k ON k.incident_id = i.id ORDER BY i.id`)
		must(t, err)
		n := 0
		for rows.Next() {
			var id int64
			var a, p, c, v, s string
			var got match.Keys
			var flat, building, phone, caller, victim, suspect *string
			var sameTime *bool
			must(t, rows.Scan(&id, &a, &p, &c, &v, &s, &flat, &building, &phone, &caller, &victim, &suspect, &sameTime))
			n++
			if flat == nil {
				t.Errorf("%s: incident %d has no keys", label, id)
				continue
			}
			got = match.Keys{Flat: *flat, Building: *building, Phone: *phone, Caller: *caller, Victim: *victim, Suspect: *suspect}
			if want := keys(a, p, c, v, s); got != want {
				t.Errorf("%s: incident %d keyed %+v, want %+v", label, id, got, want)
			}
			if !*sameTime {
				t.Errorf("%s: incident %d: received_at of its keys differs", label, id)
			}
		}
		must(t, rows.Err())
		if n != len(forms) {
			t.Fatalf("%s: %d incidents, want %d", label, n, len(forms))
		}
		if after := indexDefs(); !maps.Equal(after, before) {
			t.Errorf("%s: indexes of incident_keys %v, want %v", label, after, before)
		}
	}
	checkAll("as written", testRules.Keys)
	// lookup is the history of the last incident of the same flat, phone
	// and person as the first (the second, in another script).
	lookup := func() []int64 {
		t.Helper()
		priors, _, err := f.db.History(ctx, incident.HistoryQuery{Keys: testRules.Keys(forms[1].Address, forms[1].CallerPhone, "",
			forms[1].VictimName, ""), Exclude: ids[1]})
		must(t, err)
		var got []int64
		for _, p := range priors {
			got = append(got, p.ID)
		}
		return got
	}
	if got := lookup(); !slices.Equal(got, []int64{ids[0]}) {
		t.Fatalf("before the recompute the lookup found %v, want [%d]", got, ids[0])
	}

	variant := func(address, phone, caller, victim, suspect string) match.Keys {
		k := testRules.Keys(address, phone, caller, victim, suspect)
		for _, s := range []*string{&k.Flat, &k.Building, &k.Phone, &k.Caller, &k.Victim, &k.Suspect} {
			if *s != "" {
				*s = "v2\t\\ " + *s // COPY escapes tabs and backslashes
			}
		}
		return k
	}
	n, err := f.db.RecomputeKeysWith(ctx, "variant", variant)
	must(t, err)
	if n != int64(len(forms)) {
		t.Errorf("recomputed %d incidents, want %d", n, len(forms))
	}
	checkAll("under the variant", variant)
	if got := lookup(); len(got) != 0 {
		t.Errorf("under the variant the old keys found %v, want none", got)
	}

	// A corrected received time moves the keys' order too.
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = received_at - interval '1 day' WHERE id = $1`, ids[3])
	must(t, err)

	n, err = f.db.RecomputeKeys(ctx)
	must(t, err)
	if n != int64(len(forms)) {
		t.Errorf("recomputed %d incidents back, want %d", n, len(forms))
	}
	checkAll("back under the rules", testRules.Keys)
	if got := lookup(); !slices.Equal(got, []int64{ids[0]}) {
		t.Errorf("after the recompute the lookup found %v, want [%d]", got, ids[0])
	}
	// The building of the third incident is the fourth's, by its flat.
	priors, _, err := f.db.History(ctx, incident.HistoryQuery{Keys: testRules.Keys(forms[2].Address, "", "", "", ""), Exclude: ids[2]})
	must(t, err)
	if len(priors) != 1 || priors[0].ID != ids[3] || priors[0].Class != match.Flat {
		t.Errorf("history of %q: %+v, want incident %d at the same flat", forms[2].Address, priors, ids[3])
	}
}
