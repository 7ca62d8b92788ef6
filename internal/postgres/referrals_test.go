package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// partner stores an active partner organisation.
func (f *fixture) partner(t *testing.T, name string, kind refdata.PartnerKind) int64 {
	t.Helper()
	p := refdata.Partner{Name: name, Kind: kind, Active: true}
	must(t, f.db.SavePartner(context.Background(), &p, audit.Actor{}))
	return p.ID
}

func TestReferralLifecycleRecordsWhenAndWho(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	inc := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova"})
	shelter := f.partner(t, "Safe House Bishkek", refdata.Shelter)
	legal := f.partner(t, "Legal Aid Centre", refdata.LegalAid)
	off, err := f.db.CreateUser(ctx, account.Draft{Username: "off", Role: "officer", District: "LEN", Password: "correct horse battery"}, audit.Actor{})
	must(t, err)
	officer := audit.Actor{UserID: off.ID, Username: off.Username, Role: string(off.Role)}

	ids, err := f.db.CreateReferrals(ctx, postgres.NewReferrals{IncidentID: inc, PartnerIDs: []int64{shelter, legal},
		Consent: incident.ConsentPending}, f.actor)
	must(t, err)
	if len(ids) != 2 {
		t.Fatalf("%d referrals created, want 2", len(ids))
	}
	// A second open referral to the same organisation is refused.
	if _, err := f.db.CreateReferrals(ctx, postgres.NewReferrals{IncidentID: inc, PartnerIDs: []int64{shelter},
		Consent: incident.ConsentPending}, f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("duplicate open referral: %v, want conflict", err)
	}
	id := ids[0]
	step := func(to incident.ReferralStatus, c incident.ConsentChange, by audit.Actor) error {
		_, err := f.db.ChangeReferral(ctx, id, postgres.ReferralChange{To: to, Consent: c}, by)
		return err
	}
	must(t, step(incident.Accepted, incident.ConsentChange{}, officer))
	// No sending without consent...
	if err := step(incident.Sent, incident.ConsentChange{}, officer); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("sent without consent: %v, want invalid", err)
	}
	// ... nor with an override lacking its reason.
	if err := step(incident.Sent, incident.ConsentChange{Consent: "overridden"}, officer); apperr.FieldsOf(err)["override_reason"].ID == "" {
		t.Errorf("sent with an override without reason: %v", err)
	}
	must(t, step(incident.Sent, incident.ConsentChange{Consent: "given"}, officer))
	if err := step(incident.Closed, incident.ConsentChange{}, f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("sent -> closed: %v, want conflict", err)
	}
	if err := step("", incident.ConsentChange{Consent: "declined"}, f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("consent changed after sending: %v, want conflict", err)
	}
	must(t, step(incident.Acknowledged, incident.ConsentChange{}, f.actor))
	must(t, step(incident.Closed, incident.ConsentChange{}, f.actor))

	r, err := f.db.Referral(ctx, id)
	must(t, err)
	if r.Status != incident.Closed || r.Consent != incident.ConsentGiven || r.UpdatedBy != "disp" {
		t.Errorf("referral %+v", r)
	}
	for _, s := range []incident.ReferralStatus{incident.Offered, incident.Accepted, incident.Sent, incident.Acknowledged, incident.Closed} {
		if at := r.At(s); at == nil || time.Since(*at) > time.Minute {
			t.Errorf("%s at %v, want a recent time", s, at)
		}
	}
	if r.DeclinedAt != nil {
		t.Errorf("declined at %v, want none", r.DeclinedAt)
	}
	wantSteps := []struct {
		status incident.ReferralStatus
		by     string
	}{{incident.Offered, "disp"}, {incident.Accepted, "off"}, {incident.Sent, "off"}, {incident.Acknowledged, "disp"}, {incident.Closed, "disp"}}
	if len(r.Steps) != len(wantSteps) {
		t.Fatalf("steps %+v, want %d", r.Steps, len(wantSteps))
	}
	for i, w := range wantSteps {
		if r.Steps[i].Status != w.status || r.Steps[i].By != w.by || !r.Steps[i].At.Equal(*r.At(w.status)) {
			t.Errorf("step %d = %+v, want %s by %s at %v", i, r.Steps[i], w.status, w.by, r.At(w.status))
		}
	}
	var sentEvents int
	must(t, f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'referral_sent'
		AND data->>'partner' = 'Safe House Bishkek'`, inc).Scan(&sentEvents))
	if sentEvents != 1 {
		t.Errorf("%d referral_sent events naming the partner, want 1", sentEvents)
	}
	var audits int
	must(t, f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action IN ('referral.create', 'referral.change')`).Scan(&audits))
	if audits != 5 { // one create; accepted, sent (with its consent), acknowledged, closed
		t.Errorf("%d referral audit rows, want 5", audits)
	}

	// Declined, then closed; an offer cannot be closed unanswered.
	if _, err := f.db.ChangeReferral(ctx, ids[1], postgres.ReferralChange{To: incident.Closed}, f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("offered -> closed: %v, want conflict", err)
	}
	_, err = f.db.ChangeReferral(ctx, ids[1], postgres.ReferralChange{To: incident.Declined, Consent: incident.ConsentChange{Consent: "declined"}}, f.actor)
	must(t, err)
	_, err = f.db.ChangeReferral(ctx, ids[1], postgres.ReferralChange{To: incident.Closed}, f.actor)
	must(t, err)
	rs, err := f.db.IncidentReferrals(ctx, inc)
	must(t, err)
	if len(rs) != 2 || rs[1].DeclinedAt == nil || rs[1].ClosedAt == nil || rs[1].Consent != incident.ConsentDeclined {
		t.Errorf("incident referrals %+v", rs)
	}
}

// TestReferralSentNeedsConsentInTheDatabase: the database itself refuses a
// sent referral without consent, and an override without its reason,
// whatever the application does.
func TestReferralSentNeedsConsentInTheDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	inc := f.orderIncident(t, incident.Form{Address: "ul. Chui 12"})
	ids, err := f.db.CreateReferrals(ctx, postgres.NewReferrals{IncidentID: inc, PartnerIDs: []int64{f.partner(t, "Crisis Centre Sezim", refdata.CrisisCentre)},
		Consent: incident.ConsentPending}, f.actor)
	must(t, err)
	for _, q := range []string{
		`UPDATE referrals SET status = 'sent', sent_at = now() WHERE id = $1`,
		`UPDATE referrals SET consent = 'declined', status = 'sent', sent_at = now() WHERE id = $1`,
		`UPDATE referrals SET consent = 'overridden', override_reason = '' WHERE id = $1`,
	} {
		if _, err := f.db.Pool.Exec(ctx, q, ids[0]); err == nil {
			t.Errorf("the database accepted %s", q)
		}
	}
	if _, err := f.db.Pool.Exec(ctx, `UPDATE referrals SET consent = 'overridden', override_reason = 'Child at risk',
		status = 'sent', sent_at = now() WHERE id = $1`, ids[0]); err != nil {
		t.Errorf("an override with a reason was refused: %v", err)
	}
}

func TestOpenReferralsByOrganisation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.partner(t, "B Shelter", refdata.Shelter)
	b := f.partner(t, "A Legal Aid", refdata.LegalAid)
	inc1 := f.orderIncident(t, incident.Form{Address: "ul. Chui 1"})
	inc2 := f.orderIncident(t, incident.Form{Address: "ul. Chui 2"})
	create := func(inc int64, partners ...int64) []int64 {
		ids, err := f.db.CreateReferrals(ctx, postgres.NewReferrals{IncidentID: inc, PartnerIDs: partners, Consent: incident.ConsentGiven}, f.actor)
		must(t, err)
		return ids
	}
	first := create(inc1, a, b)
	second := create(inc2, a)
	// The first incident's referrals are older; its referral to b is declined and closed.
	_, err := f.db.Pool.Exec(ctx, `UPDATE referrals SET offered_at = offered_at - interval '2 days' WHERE id = ANY($1)`, first)
	must(t, err)
	_, err = f.db.ChangeReferral(ctx, first[1], postgres.ReferralChange{To: incident.Declined}, f.actor)
	must(t, err)
	_, err = f.db.ChangeReferral(ctx, first[1], postgres.ReferralChange{To: incident.Closed}, f.actor)
	must(t, err)

	open, err := f.db.OpenReferrals(ctx, nil)
	must(t, err)
	var got []int64
	for _, o := range open {
		got = append(got, o.ID)
		if o.PartnerName != "B Shelter" {
			t.Errorf("open referral %d to %s", o.ID, o.PartnerName)
		}
	}
	if len(got) != 2 || got[0] != first[0] || got[1] != second[0] {
		t.Errorf("open referrals %v, want [%d %d] (oldest first)", got, first[0], second[0])
	}
	osh := refdata.District{Code: "OSH", Name: "Osh", Active: true}
	must(t, f.db.SaveDistrict(ctx, &osh, audit.Actor{}))
	open, err = f.db.OpenReferrals(ctx, &osh.ID)
	must(t, err)
	if len(open) != 0 {
		t.Errorf("another district sees %d open referrals", len(open))
	}
}
