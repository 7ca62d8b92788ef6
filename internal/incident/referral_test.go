package incident

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

func TestReferralLifecycle(t *testing.T) {
	t.Parallel()
	allowed := map[ReferralStatus][]ReferralStatus{
		Offered:      {Accepted, Declined},
		Accepted:     {Sent},
		Sent:         {Acknowledged},
		Acknowledged: {Closed},
		Declined:     {Closed},
		Closed:       nil,
	}
	for _, from := range ReferralStatuses {
		for _, to := range ReferralStatuses {
			if to == Offered {
				continue
			}
			r := &Referral{Status: from, Consent: ConsentGiven}
			_, err := CheckReferralMove(r, to, ConsentChange{})
			want := slices.Contains(allowed[from], to)
			if (err == nil) != want {
				t.Errorf("%s -> %s: err %v, want allowed %v", from, to, err, want)
			}
			if err != nil && apperr.CodeOf(err) != apperr.Conflict {
				t.Errorf("%s -> %s: code %s, want conflict", from, to, apperr.CodeOf(err))
			}
		}
	}
}

func TestReferralSentNeedsConsent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		consent Consent
		reason  string
		change  ConsentChange
		ok      bool
	}{
		{"consent given", ConsentGiven, "", ConsentChange{}, true},
		{"consent pending", ConsentPending, "", ConsentChange{}, false},
		{"consent declined", ConsentDeclined, "", ConsentChange{}, false},
		{"overridden with reason", ConsentOverridden, "Children at risk", ConsentChange{}, true},
		{"overridden without reason", ConsentOverridden, "", ConsentChange{}, false},
		{"given with the step", ConsentPending, "", ConsentChange{Consent: "given"}, true},
		{"overridden with the step", ConsentPending, "", ConsentChange{Consent: "overridden", OverrideReason: "Child at risk"}, true},
		{"overridden with the step, blank reason", ConsentPending, "", ConsentChange{Consent: "overridden", OverrideReason: "  "}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &Referral{Status: Accepted, Consent: c.consent, OverrideReason: c.reason}
			m, err := CheckReferralMove(r, Sent, c.change)
			if c.ok {
				if err != nil {
					t.Fatalf("CheckReferralMove: %v", err)
				}
				if m.To != Sent {
					t.Errorf("move to %q, want sent", m.To)
				}
				return
			}
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("CheckReferralMove: %v, want invalid", err)
			}
			f := apperr.FieldsOf(err)
			if f["consent"].ID == "" && f["override_reason"].ID == "" {
				t.Errorf("no message next to the consent fields: %v", f)
			}
		})
	}
}

func TestReferralConsentChanges(t *testing.T) {
	t.Parallel()
	r := &Referral{Status: Offered, Consent: ConsentPending}
	m, err := CheckReferralMove(r, "", ConsentChange{Consent: "overridden", OverrideReason: "  Child at risk "})
	if err != nil || !m.ConsentChanged || m.Consent != ConsentOverridden || m.OverrideReason != "Child at risk" {
		t.Errorf("set consent: %+v, %v", m, err)
	}
	r = &Referral{Status: Accepted, Consent: ConsentOverridden, OverrideReason: "x"}
	m, err = CheckReferralMove(r, "", ConsentChange{Consent: "given", OverrideReason: "left over"})
	if err != nil || m.OverrideReason != "" {
		t.Errorf("a reason is kept only for an override: %+v, %v", m, err)
	}
	if _, err := CheckReferralMove(&Referral{Status: Offered, Consent: ConsentGiven}, "", ConsentChange{Consent: "given"}); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("no change: %v, want invalid", err)
	}
	if _, err := CheckReferralMove(&Referral{Status: Sent, Consent: ConsentGiven}, "", ConsentChange{Consent: "declined"}); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("consent changed after sending: %v, want conflict", err)
	}
	if _, err := CheckReferralMove(&Referral{Status: Offered}, "", ConsentChange{Consent: "maybe"}); apperr.FieldsOf(err)["consent"].ID == "" {
		t.Errorf("unknown consent: %v", err)
	}
	if _, err := CheckReferralMove(&Referral{Status: Offered}, "", ConsentChange{Consent: "overridden", OverrideReason: strings.Repeat("x", 501)}); apperr.FieldsOf(err)["override_reason"].ID == "" {
		t.Errorf("reason too long: %v", err)
	}
	if c, reason, err := NewReferralConsent(ConsentChange{}); err != nil || c != ConsentPending || reason != "" {
		t.Errorf("new referral without consent: %s %q %v", c, reason, err)
	}
}

func TestReferralLastChange(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Hour), t0.Add(3*time.Hour)
	r := Referral{OfferedAt: t0, AcceptedAt: &t1, SentAt: &t2, Status: Sent}
	if !r.LastChange().Equal(t2) {
		t.Errorf("LastChange = %v, want %v", r.LastChange(), t2)
	}
	if !r.Open() || r.ConsentEditable() {
		t.Errorf("sent referral: open %v consent editable %v", r.Open(), r.ConsentEditable())
	}
	if _, err := ParseReferralStatus("offered"); err == nil {
		t.Errorf("a referral cannot be moved to offered")
	}
}
