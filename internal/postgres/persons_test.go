package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// victimQuery is the candidate query for the victim of stored incident id.
func (f *fixture) victimQuery(t *testing.T, id int64) postgres.PersonQuery {
	t.Helper()
	q := postgres.PersonQuery{Role: postgres.RoleVictim, Exclude: id}
	must(t, f.db.Pool.QueryRow(context.Background(), `SELECT k.victim_key, i.victim_age, k.address_key, k.building_key, k.phone_key, i.received_at
		FROM incidents i JOIN incident_keys k ON k.incident_id = i.id WHERE i.id = $1`, id).Scan(&q.NameKey, &q.Age, &q.Flat, &q.Building, &q.Phone, &q.Before))
	return q
}

func (f *fixture) candidates(t *testing.T, id int64) []int64 {
	t.Helper()
	cs, err := f.db.PersonCandidates(context.Background(), f.victimQuery(t, id))
	must(t, err)
	var out []int64
	for _, c := range cs {
		out = append(out, c.IncidentID)
	}
	return out
}

func (f *fixture) personOf(t *testing.T, id int64) int64 {
	t.Helper()
	p, err := f.db.PersonOf(context.Background(), id, postgres.RoleVictim)
	must(t, err)
	return p
}

func (f *fixture) auditCount(t *testing.T, action, record string) int {
	return f.orderCount(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND record_id = $2`, action, record)
}

func (f *fixture) number(t *testing.T, id int64) string {
	t.Helper()
	var n string
	must(t, f.db.Pool.QueryRow(context.Background(), `SELECT number FROM incidents WHERE id = $1`, id).Scan(&n))
	return n
}

// TestPersonLinkConfirmRejectUndo: a strong match (name and age) is
// offered, confirmed into one person and audited; a rejected pair is not
// offered again; a supervisor's undo needs a reason, removes the link and
// is not offered again either.
func TestPersonLinkConfirmRejectUndo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	first := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Aigul Asanova", VictimAge: "30"})
	second := f.orderIncident(t, incident.Form{Address: "ul. Toktogula 3", VictimName: "Aigul Asanova", VictimAge: "31"})
	if got := f.candidates(t, second); len(got) != 1 || got[0] != first {
		t.Fatalf("candidates of the second incident: %v, want [%d]", got, first)
	}
	// Only earlier incidents are offered.
	if got := f.candidates(t, first); len(got) != 0 {
		t.Errorf("candidates of the first incident: %v, want none (the second came later)", got)
	}
	person, err := f.db.ConfirmPerson(ctx, second, postgres.RoleVictim, first, f.actor)
	must(t, err)
	if f.personOf(t, first) != person || f.personOf(t, second) != person || person == 0 {
		t.Fatalf("after confirming: persons %d and %d, want both %d", f.personOf(t, first), f.personOf(t, second), person)
	}
	if n := f.auditCount(t, "person.link", f.number(t, second)); n != 1 {
		t.Errorf("%d person.link audit rows on the second incident, want 1", n)
	}
	if n := f.auditCount(t, "person.link", f.number(t, first)); n != 1 {
		t.Errorf("%d person.link audit rows on the first incident, want 1", n)
	}

	// A third call naming her with the same age: rejected, then not offered.
	third := f.orderIncident(t, incident.Form{Address: "ul. Frunze 1", VictimName: "Aigul Asanova", VictimAge: "30"})
	if got := f.candidates(t, third); len(got) != 2 {
		t.Fatalf("candidates of the third: %v, want the two earlier", got)
	}
	must(t, f.db.RejectPerson(ctx, third, postgres.RoleVictim, first, f.actor))
	if got := f.candidates(t, third); len(got) != 1 || got[0] != second {
		t.Errorf("after rejecting the first: %v, want only [%d]", got, second)
	}
	if f.personOf(t, third) != 0 {
		t.Error("a rejection made a link")
	}
	if n := f.auditCount(t, "person.link", f.number(t, third)); n != 1 {
		t.Errorf("%d audit rows for the rejection, want 1", n)
	}

	// Undo: a reason is required.
	if err := f.db.UndoPerson(ctx, second, postgres.RoleVictim, "  ", f.actor); apperr.FieldsOf(err)["reason"].ID == "" {
		t.Fatalf("undo without a reason: %v, want a reason error", err)
	}
	must(t, f.db.UndoPerson(ctx, second, postgres.RoleVictim, "different woman, same name and age", f.actor))
	if f.personOf(t, second) != 0 || f.personOf(t, first) != person {
		t.Errorf("after undo: second %d (want 0), first %d (want %d)", f.personOf(t, second), f.personOf(t, first), person)
	}
	if got := f.candidates(t, second); len(got) != 0 {
		t.Errorf("after undo the first is offered again: %v", got)
	}
	var reason string
	must(t, f.db.Pool.QueryRow(ctx, `SELECT detail->>'reason' FROM audit_events WHERE action = 'person.unlink' AND record_id = $1`,
		f.number(t, second)).Scan(&reason))
	if reason != "different woman, same name and age" {
		t.Errorf("audited reason %q", reason)
	}
	if err := f.db.UndoPerson(ctx, second, postgres.RoleVictim, "again", f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("undoing a missing link: %v, want conflict", err)
	}
}

// TestPersonMergeKeepsBothHistories: two incidents each with a person of
// their own (made by a safe-contact rule) are confirmed the same: one
// person keeps every incident of both, the other is marked merged into it,
// and the older rule survives.
func TestPersonMergeKeepsBothHistories(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a1 := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Nazgul Bekova", VictimAge: "40"})
	a2 := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Nazgul Bekova", VictimAge: "40"})
	_, err := f.db.ConfirmPerson(ctx, a2, postgres.RoleVictim, a1, f.actor)
	must(t, err)
	b1 := f.orderIncident(t, incident.Form{Address: "ul. Manasa 7", VictimName: "Nazgul Bekova", VictimAge: "41"})
	yes := true
	must(t, f.db.SaveSafeContact(ctx, a1, postgres.SafeContact{SafeToCall: &yes, Phone: "+996555000111", Who: "police"}, false, f.actor))
	no := false
	must(t, f.db.SaveSafeContact(ctx, b1, postgres.SafeContact{SafeToCall: &no, Who: "police_ngo"}, false, f.actor))
	pa, pb := f.personOf(t, a1), f.personOf(t, b1)
	if pa == 0 || pb == 0 || pa == pb {
		t.Fatalf("persons before the merge: %d and %d", pa, pb)
	}
	kept, err := f.db.ConfirmPerson(ctx, b1, postgres.RoleVictim, a2, f.actor)
	must(t, err)
	if kept != min(pa, pb) {
		t.Errorf("kept person %d, want the older %d", kept, min(pa, pb))
	}
	incs, err := f.db.PersonIncidents(ctx, kept, postgres.RoleVictim)
	must(t, err)
	if len(incs) != 3 {
		t.Errorf("the kept person has %d incidents, want 3 (both histories)", len(incs))
	}
	var into *int64
	must(t, f.db.Pool.QueryRow(ctx, `SELECT merged_into FROM persons WHERE id = $1`, max(pa, pb)).Scan(&into))
	if into == nil || *into != kept {
		t.Errorf("merged person points to %v, want %d", into, kept)
	}
	sc, _, err := f.db.SafeContactOf(ctx, b1)
	must(t, err)
	if sc == nil || sc.SafeToCall == nil || !*sc.SafeToCall || sc.Phone != "+996555000111" {
		t.Errorf("safe contact after merge: %+v, want the kept person's", sc)
	}
	if n := f.orderCount(t, `SELECT count(*) FROM audit_events WHERE action = 'person.merge'`); n != 1 {
		t.Errorf("%d person.merge audit rows, want 1", n)
	}
	// Merging a merged person again is refused.
	if err := f.db.MergePersons(ctx, kept, max(pa, pb), f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("merging a merged person: %v, want conflict", err)
	}
}

// TestNamesakeNeverLinks: a name alone (other age, place and phone) is
// never a candidate, and no call makes a person by itself.
func TestNamesakeNeverLinks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", CallerPhone: "+996555123456",
		VictimName: "Aigul Asanova", VictimAge: "30"})
	for _, form := range []incident.Form{
		{Address: "ul. Toktogula 3", CallerPhone: "+996700999888", VictimName: "Aigul Asanova", VictimAge: "55"},
		{Address: "ul. Isanova 40", VictimName: "Asanova Aigul"}, // no age: a name alone
		{Address: "ul. Frunze 9", SuspectName: "Aigul Asanova", SuspectAge: "30"},
	} {
		id := f.orderIncident(t, form)
		if got := f.candidates(t, id); len(got) != 0 {
			t.Errorf("%+v: candidates %v, want none (namesake)", form, got)
		}
	}
	_ = first
	if n := f.orderCount(t, `SELECT count(*) FROM persons`); n != 0 {
		t.Errorf("%d persons made without any confirmation, want 0", n)
	}
}

// TestRepeatCountsMatchReference: on random incidents (received out of
// order, some moved by corrections, some imported without a user) with
// random confirmed links, the intake panel's counts for every incident
// equal a reference query written independently over the links.
func TestRepeatCountsMatchReference(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(16, 2026))
	flats := []string{"ul. Chui 12, kv. 5", "ul. Chui 12, kv. 6", "ul. Manasa 7, kv. 1"}
	var ids []int64
	for i := 0; i < 30; i++ {
		ids = append(ids, f.orderIncident(t, incident.Form{Address: flats[rng.IntN(len(flats))],
			VictimName: fmt.Sprintf("Victim Number%d", rng.IntN(4)), VictimAge: "30"}))
	}
	now := time.Now().UTC()
	for _, id := range ids { // out of order in time, over three years
		_, err := f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = $2 WHERE id = $1`, id,
			now.Add(-time.Duration(rng.IntN(3*365*24))*time.Hour))
		must(t, err)
	}
	// Random confirmations between incidents of the same named victim.
	for i := 0; i < 25; i++ {
		a, b := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
		if a == b {
			continue
		}
		var same bool
		must(t, f.db.Pool.QueryRow(ctx, `SELECT x.victim_key = y.victim_key FROM incident_keys x, incident_keys y WHERE x.incident_id = $1 AND y.incident_id = $2`,
			a, b).Scan(&same))
		if same {
			_, err := f.db.ConfirmPerson(ctx, a, postgres.RoleVictim, b, f.actor)
			must(t, err)
		}
	}
	// Corrections after linking move some received times (across the
	// 365-day edge too); imports have no user.
	for i := 0; i < 8; i++ {
		_, err := f.db.Pool.Exec(ctx, `UPDATE incidents SET received_at = received_at - interval '200 days', created_by = NULL WHERE id = $1`,
			ids[rng.IntN(len(ids))])
		must(t, err)
	}
	// Some orders and referrals.
	for i := 0; i < 4; i++ {
		id := ids[rng.IntN(len(ids))]
		f.issueOrder(t, id, incident.TemporaryOrder, "Victim Number1", "Someone Else", "", now.Add(-time.Hour), now.Add(240*time.Hour))
	}
	// One order at a flat, counted for every incident there.
	f.issueOrder(t, ids[0], incident.TemporaryOrder, "Victim Number2", "Someone Else", flats[2], now.Add(-time.Hour), now.Add(240*time.Hour))
	shelter := f.partner(t, "Shelter", "shelter")
	for i := 0; i < 4; i++ {
		_, _ = f.db.CreateReferrals(ctx, postgres.NewReferrals{IncidentID: ids[rng.IntN(len(ids))], PartnerIDs: []int64{shelter},
			Consent: incident.ConsentPending}, f.actor)
	}
	checked, flatChecked, ordersChecked := 0, 0, 0
	for _, id := range ids {
		person := f.personOf(t, id)
		var flat string
		var at time.Time
		must(t, f.db.Pool.QueryRow(ctx, `SELECT k.address_key, i.received_at FROM incidents i JOIN incident_keys k ON k.incident_id = i.id WHERE i.id = $1`, id).Scan(&flat, &at))
		got, err := f.db.RepeatCounts(ctx, postgres.RepeatQuery{Person: person, Flat: flat, Before: at, Exclude: id, Confidential: true})
		must(t, err)
		var want postgres.Repeat
		var last, flatLast *string
		// The reference: a self-join over the links, no shared CTEs.
		must(t, f.db.Pool.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM incident_persons a JOIN incident_persons b ON a.person_id = b.person_id AND b.role = 'victim'
					JOIN incidents x ON x.id = a.incident_id JOIN incidents y ON y.id = b.incident_id
					WHERE a.incident_id = $1 AND a.role = 'victim' AND y.received_at < x.received_at
						AND x.received_at - y.received_at <= interval '365 days'),
				(SELECT count(*) FROM incident_persons a JOIN incident_persons b ON a.person_id = b.person_id AND b.role = 'victim'
					JOIN incidents x ON x.id = a.incident_id JOIN incidents y ON y.id = b.incident_id
					WHERE a.incident_id = $1 AND a.role = 'victim' AND y.received_at < x.received_at),
				(SELECT count(*) FROM incident_keys xk JOIN incident_keys yk ON yk.address_key = xk.address_key
					JOIN incidents x ON x.id = xk.incident_id JOIN incidents y ON y.id = yk.incident_id AND y.id <> x.id
					WHERE x.id = $1 AND xk.address_key <> '' AND y.received_at < x.received_at
						AND x.received_at - y.received_at <= interval '365 days'),
				(SELECT count(*) FROM referrals r WHERE r.closed_at IS NULL AND r.incident_id IN (
					SELECT b.incident_id FROM incident_persons a JOIN incident_persons b ON a.person_id = b.person_id AND b.role = 'victim'
					JOIN incidents x ON x.id = a.incident_id JOIN incidents y ON y.id = b.incident_id
					WHERE a.incident_id = $1 AND a.role = 'victim' AND y.received_at < x.received_at)),
				(SELECT y.number FROM incident_persons a JOIN incident_persons b ON a.person_id = b.person_id AND b.role = 'victim'
					JOIN incidents x ON x.id = a.incident_id JOIN incidents y ON y.id = b.incident_id
					WHERE a.incident_id = $1 AND a.role = 'victim' AND y.received_at < x.received_at
					ORDER BY y.received_at DESC, y.id DESC LIMIT 1),
				(SELECT count(*) FROM protection_orders o WHERE o.ended_at IS NULL AND o.starts_at <= now() AND o.ends_at > now()
					AND (o.incident_id IN (
						SELECT b.incident_id FROM incident_persons a JOIN incident_persons b ON a.person_id = b.person_id AND b.role = 'victim'
						JOIN incidents x ON x.id = a.incident_id JOIN incidents y ON y.id = b.incident_id
						WHERE a.incident_id = $1 AND a.role = 'victim' AND y.received_at < x.received_at)
					OR o.address_key <> '' AND o.address_key = (SELECT address_key FROM incident_keys WHERE incident_id = $1))),
				(SELECT y.number FROM incident_keys xk JOIN incident_keys yk ON yk.address_key = xk.address_key
					JOIN incidents x ON x.id = xk.incident_id JOIN incidents y ON y.id = yk.incident_id AND y.id <> x.id
					WHERE x.id = $1 AND xk.address_key <> '' AND y.received_at < x.received_at
					ORDER BY y.received_at DESC, y.id DESC LIMIT 1)`, id).
			Scan(&want.VictimYear, &want.VictimAll, &want.FlatYear, &want.OpenReferrals, &last, &want.ActiveOrders, &flatLast))
		if got.VictimYear != want.VictimYear || got.VictimAll != want.VictimAll || got.FlatYear != want.FlatYear ||
			got.OpenReferrals != want.OpenReferrals || got.ActiveOrders != want.ActiveOrders {
			t.Errorf("incident %d: got %+v, reference %+v", id, got, want)
		}
		if person != 0 && last != nil && (got.Last == nil || got.Last.Number != *last) {
			t.Errorf("incident %d: last %+v, reference %v", id, got.Last, *last)
		}
		// Without earlier incidents of hers, the last is the flat's.
		if got.VictimAll == 0 && (flatLast == nil) != (got.Last == nil) || got.VictimAll == 0 && flatLast != nil && got.Last.Number != *flatLast {
			t.Errorf("incident %d: last %+v, the flat's %v", id, got.Last, flatLast)
		}
		if got.VictimAll == 0 && flatLast != nil {
			flatChecked++
		}
		if got.ActiveOrders > 0 {
			ordersChecked++
		}
		if got.VictimAll > 0 {
			checked++
		}
	}
	if checked < 5 || flatChecked == 0 || ordersChecked == 0 {
		t.Fatalf("%d incidents had earlier linked incidents, %d only the flat's, %d orders in force: the data tests too little",
			checked, flatChecked, ordersChecked)
	}
}

// TestSafeContactCarriedToLaterIncident: the rule recorded on her first
// incident is hers on a later incident once linked, editable there; a
// call-back where calling is unsafe needs a reason and is recorded.
func TestSafeContactCarriedToLaterIncident(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	first := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Aigul Asanova", VictimAge: "30"})
	no, yes := false, true
	must(t, f.db.SaveSafeContact(ctx, first, postgres.SafeContact{SafeToCall: &no, SafeTimes: "after 18:00", MessageOK: &no,
		CodeWord: "bakery", Who: "police"}, false, f.actor))
	later := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Aigul Asanova", VictimAge: "30"})
	if sc, _, err := f.db.SafeContactOf(ctx, later); err != nil || sc != nil {
		t.Fatalf("before linking the later incident has a rule: %+v %v", sc, err)
	}
	_, err := f.db.ConfirmPerson(ctx, later, postgres.RoleVictim, first, f.actor)
	must(t, err)
	sc, _, err := f.db.SafeContactOf(ctx, later)
	must(t, err)
	if sc == nil || sc.SafeToCall == nil || *sc.SafeToCall || sc.CodeWord != "bakery" || sc.SafeTimes != "after 18:00" {
		t.Fatalf("rule on the later incident: %+v, want the first's", sc)
	}
	// Intake's answer does not overwrite her rule (onlyNew).
	must(t, f.db.SaveSafeContact(ctx, later, postgres.SafeContact{SafeToCall: &yes, Who: "police"}, true, f.actor))
	if sc, _, _ := f.db.SafeContactOf(ctx, later); *sc.SafeToCall {
		t.Error("intake's answer overwrote the recorded rule")
	}
	// Unsafe: no call-back without a reason.
	if _, err := f.db.RecordCallBack(ctx, later, "", f.actor); apperr.FieldsOf(err)["cb_reason"].ID == "" {
		t.Fatalf("unsafe call-back without reason: %v", err)
	}
	unsafe, err := f.db.RecordCallBack(ctx, later, "she asked for a call at this time", f.actor)
	must(t, err)
	if !unsafe {
		t.Error("call-back not recorded as unsafe")
	}
	// Edited on the later incident: it is hers on the first too.
	must(t, f.db.SaveSafeContact(ctx, later, postgres.SafeContact{SafeToCall: &yes, Phone: "+996555000222", Who: "police_ngo"}, false, f.actor))
	sc, _, err = f.db.SafeContactOf(ctx, first)
	must(t, err)
	if sc == nil || !*sc.SafeToCall || sc.Phone != "+996555000222" {
		t.Errorf("rule on the first after editing on the later: %+v", sc)
	}
	if unsafe, err := f.db.RecordCallBack(ctx, first, "", f.actor); err != nil || unsafe {
		t.Errorf("safe call-back: unsafe %v, err %v", unsafe, err)
	}
	if n := f.orderCount(t, `SELECT count(*) FROM call_backs`); n != 2 {
		t.Errorf("%d call-backs recorded, want 2", n)
	}
	// The rule's values never reach the audit trail.
	if n := f.orderCount(t, `SELECT count(*) FROM audit_events WHERE detail::text LIKE '%bakery%' OR detail::text LIKE '%000222%'`); n != 0 {
		t.Errorf("%d audit rows hold the rule's values", n)
	}
	_ = match.AgeSlack
}
