package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
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
	_, err = f.db.Pool.Exec(ctx, `UPDATE incidents SET address_key = 'old', building_key = '', phone_key = '555123456', victim_key = 'x'`)
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
		FROM incidents WHERE id = $1`, id).Scan(&got.Flat, &got.Building, &got.Phone, &got.Caller, &got.Victim, &got.Suspect))
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
	must(t, f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'incidents'
		AND indexname IN ('incidents_address_key_idx', 'incidents_building_key_idx', 'incidents_phone_key_idx')`).Scan(&idx))
	if idx != 3 {
		t.Errorf("%d key indexes after the recompute, want 3", idx)
	}
	// Under the same rules again: nothing to do.
	if n, err := f.db.RecomputeKeys(ctx); err != nil || n != 0 {
		t.Errorf("second run: %d, %v; want 0", n, err)
	}
}
