package incident

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// ReferralStatus is where a referral of a victim to a partner
// organisation stands.
type ReferralStatus string

// The statuses of a referral.
const (
	Offered      ReferralStatus = "offered"      // the victim was offered the referral
	Accepted     ReferralStatus = "accepted"     // the victim accepted it
	Declined     ReferralStatus = "declined"     // the victim declined it
	Sent         ReferralStatus = "sent"         // police sent it to the organisation
	Acknowledged ReferralStatus = "acknowledged" // the organisation confirmed receipt
	Closed       ReferralStatus = "closed"       // nothing more to do
)

// Label is the status's name for people.
func (s ReferralStatus) Label() string {
	switch s {
	case Offered:
		return "Offered"
	case Accepted:
		return "Accepted by the victim"
	case Declined:
		return "Declined by the victim"
	case Sent:
		return "Sent to the organisation"
	case Acknowledged:
		return "Acknowledged by the organisation"
	case Closed:
		return "Closed"
	}
	return string(s)
}

// Action is the label of the button that moves a referral to s.
func (s ReferralStatus) Action() string {
	switch s {
	case Accepted:
		return "Victim accepts"
	case Declined:
		return "Victim declines"
	case Sent:
		return "Mark sent"
	case Acknowledged:
		return "Organisation acknowledged"
	case Closed:
		return "Close"
	}
	return string(s)
}

// referralMoves is the lifecycle: from each status, the statuses it may
// move to. A referral is offered first; the victim accepts or declines; an
// accepted referral is sent (only with consent, see CheckReferralMove),
// then acknowledged by the organisation, then closed. A declined referral
// is closed. Nothing moves back, and an offer is never closed unanswered.
var referralMoves = map[ReferralStatus][]ReferralStatus{
	Offered:      {Accepted, Declined},
	Accepted:     {Sent},
	Sent:         {Acknowledged},
	Acknowledged: {Closed},
	Declined:     {Closed},
}

// ReferralStatuses lists every status in lifecycle order.
var ReferralStatuses = []ReferralStatus{Offered, Accepted, Declined, Sent, Acknowledged, Closed}

// NextStatuses are the statuses a referral in status s may move to.
func NextStatuses(s ReferralStatus) []ReferralStatus { return referralMoves[s] }

// Consent is the victim's consent to a referral.
type Consent string

// The consent values.
const (
	ConsentPending    Consent = "pending"    // not asked yet
	ConsentGiven      Consent = "given"      // the victim agrees
	ConsentDeclined   Consent = "declined"   // the victim refuses
	ConsentOverridden Consent = "overridden" // sent without consent, with a reason (e.g. a child at risk)
)

// Label is the consent's name for people.
func (c Consent) Label() string {
	switch c {
	case ConsentPending:
		return "Not asked yet"
	case ConsentGiven:
		return "Given"
	case ConsentDeclined:
		return "Declined"
	case ConsentOverridden:
		return "Overridden"
	}
	return string(c)
}

// Consents lists the consent values a form offers.
var Consents = []Consent{ConsentPending, ConsentGiven, ConsentDeclined, ConsentOverridden}

// MaxOverrideReason is the longest reason for overriding consent.
const MaxOverrideReason = 500

// Referral is a victim's referral to a partner organisation.
type Referral struct {
	ID             int64
	IncidentID     int64
	IncidentNumber string
	PartnerID      int64
	PartnerName    string
	PartnerKind    string
	Consent        Consent
	OverrideReason string
	Status         ReferralStatus
	OfferedAt      time.Time
	AcceptedAt     *time.Time
	DeclinedAt     *time.Time
	SentAt         *time.Time
	AcknowledgedAt *time.Time
	ClosedAt       *time.Time
	UpdatedBy      string // username of the last change
	Notes          string
	// Steps are the recorded steps, oldest first, each with who took it.
	Steps []ReferralStep
}

// ReferralStep is one recorded step of a referral.
type ReferralStep struct {
	Status ReferralStatus
	At     time.Time
	By     string // username ("" when unknown)
}

// At returns when the referral reached status s (nil when it has not).
func (r *Referral) At(s ReferralStatus) *time.Time {
	switch s {
	case Offered:
		return &r.OfferedAt
	case Accepted:
		return r.AcceptedAt
	case Declined:
		return r.DeclinedAt
	case Sent:
		return r.SentAt
	case Acknowledged:
		return r.AcknowledgedAt
	case Closed:
		return r.ClosedAt
	}
	return nil
}

// LastChange is when the referral last moved.
func (r *Referral) LastChange() time.Time {
	last := r.OfferedAt
	for _, s := range ReferralStatuses {
		if t := r.At(s); t != nil && t.After(last) {
			last = *t
		}
	}
	return last
}

// Open reports whether the referral still needs something done.
func (r *Referral) Open() bool { return r.ClosedAt == nil && r.Status != Closed }

// ConsentEditable reports whether the consent may still be set or changed:
// only before the referral is sent (while offered or accepted).
func (r *Referral) ConsentEditable() bool { return r.Status == Offered || r.Status == Accepted }

// ConsentChange is consent as a form sends it; an empty Consent leaves the
// consent as it is.
type ConsentChange struct {
	Consent        string
	OverrideReason string
}

// parseConsent checks a consent change.
func parseConsent(c ConsentChange) (Consent, string, error) {
	consent := Consent(strings.TrimSpace(c.Consent))
	reason := strings.TrimSpace(c.OverrideReason)
	e := apperr.Fields{}
	switch consent {
	case ConsentPending, ConsentGiven, ConsentDeclined:
		reason = "" // a reason belongs to an override only
	case ConsentOverridden:
		if reason == "" {
			e.Add("override_reason", "referral.err.override_reason")
		}
	default:
		e.Add("consent", "referral.err.consent")
	}
	if n := utf8.RuneCountInString(reason); n > MaxOverrideReason {
		e.Add("override_reason", "err.text.too_long", "Max", MaxOverrideReason, "Now", n)
	}
	return consent, reason, e.Err()
}

// NewReferralConsent checks the consent recorded with a new referral
// (empty means not asked yet).
func NewReferralConsent(c ConsentChange) (Consent, string, error) {
	if strings.TrimSpace(c.Consent) == "" {
		c.Consent = string(ConsentPending)
	}
	return parseConsent(c)
}

// ReferralMove is the outcome of a checked change: the referral's new
// status and consent.
type ReferralMove struct {
	To             ReferralStatus // "" when only the consent changes
	Consent        Consent
	OverrideReason string
	ConsentChanged bool
}

// CheckReferralMove checks moving r to status to (empty: change only the
// consent), with the consent change c applied first. Consent can be set
// or changed only while the referral is offered or accepted; a referral
// is sent only with consent given, or overridden with a reason.
func CheckReferralMove(r *Referral, to ReferralStatus, c ConsentChange) (ReferralMove, error) {
	m := ReferralMove{To: to, Consent: r.Consent, OverrideReason: r.OverrideReason}
	if strings.TrimSpace(c.Consent) != "" {
		consent, reason, err := parseConsent(c)
		if err != nil {
			return m, err
		}
		if consent != r.Consent || reason != r.OverrideReason {
			if !r.ConsentEditable() {
				return m, apperr.New(apperr.Conflict, "referral.err.consent_locked."+string(r.Status))
			}
			m.Consent, m.OverrideReason, m.ConsentChanged = consent, reason, true
		}
	}
	if to == "" {
		if !m.ConsentChanged {
			return m, apperr.New(apperr.Invalid, "referral.err.nothing")
		}
		return m, nil
	}
	allowed := false
	for _, s := range referralMoves[r.Status] {
		if s == to {
			allowed = true
		}
	}
	if !allowed {
		if r.Status == to {
			return m, apperr.New(apperr.Conflict, "referral.err.already."+string(to))
		}
		return m, apperr.New(apperr.Conflict, "referral.err.move."+string(r.Status)+"."+string(to))
	}
	if to == Sent {
		switch {
		case m.Consent == ConsentGiven:
		case m.Consent == ConsentOverridden && m.OverrideReason != "":
		default:
			return m, &apperr.Error{Code: apperr.Invalid,
				Message: "referral.err.no_consent",
				Fields:  map[string]apperr.Msg{"consent": apperr.M("referral.err.no_consent_field")}}
		}
	}
	return m, nil
}

// ParseReferralStatus reads a target status from a form ("" stays "").
func ParseReferralStatus(v string) (ReferralStatus, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	for _, s := range ReferralStatuses {
		if string(s) == v && s != Offered {
			return s, nil
		}
	}
	return "", apperr.New(apperr.Invalid, "referral.err.step")
}
