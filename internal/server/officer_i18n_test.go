package server

import (
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// TestOfficerDomainWords checks that every value of the domain types the
// officer's pages show (order kinds and statuses, referral statuses and
// steps, consent, partner kinds, danger answers, what an order matched
// on) has its words in the catalogue, so that adding a value to the
// domain without its words fails here rather than showing ⟦id⟧.
func TestOfficerDomainWords(t *testing.T) {
	var ids []string
	for _, r := range incident.OrderRules {
		k := string(r.Kind)
		ids = append(ids, "order.kind."+k, "order.kind_short."+k, "order.law."+k)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ended := now.Add(-time.Hour)
	for _, o := range []incident.Order{
		{StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},
		{StartsAt: now.Add(time.Hour), EndsAt: now.Add(2 * time.Hour)},
		{StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(-time.Hour)},
		{StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(time.Hour), EndedAt: &ended},
	} {
		ids = append(ids, orderStatusID(&o, now))
	}
	for _, st := range incident.ReferralStatuses {
		ids = append(ids, "referral.status."+string(st))
		for _, n := range incident.NextStatuses(st) {
			ids = append(ids, "referral.action."+string(n))
		}
	}
	for _, c := range incident.Consents {
		ids = append(ids, "referral.consent."+string(c))
	}
	for _, k := range refdata.PartnerKinds {
		ids = append(ids, "referral.partner_kind."+string(k))
	}
	for _, a := range incident.Answers {
		ids = append(ids, "danger.answer."+string(a))
	}
	for _, m := range []string{"address", "protected_person", "restrained_person"} {
		ids = append(ids, "order.match."+m)
	}
	c := i18n.Shared()
	for _, l := range i18n.Languages {
		for _, id := range ids {
			if !c.Has(l.Code, id) {
				t.Errorf("%s: no message %q", l.Code, id)
			}
		}
	}
}

// TestDurationWords checks the coarse durations of the officer's lists
// in two languages.
func TestDurationWords(t *testing.T) {
	c := i18n.Shared()
	d := 26*time.Hour + 5*time.Minute
	cases := []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", d, "1 d 2 h"},
		{"en", 100 * time.Minute, "1 h 40 min"},
		{"en", -time.Minute, "0 min"},
		{"ru", 100 * time.Minute, "1 ч 40 мин"},
	}
	for _, tc := range cases {
		if got := durationWords(c.Localizer(tc.lang), tc.d); got != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.lang, tc.d, got, tc.want)
		}
	}
	if got := orderRemaining(c.Localizer("en"), time.Unix(100, 0), time.Unix(0, 0).Add(-40*time.Minute)); got != "in 41 min" {
		t.Errorf("remaining: %q", got)
	}
}
