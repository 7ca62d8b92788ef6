package incident

import (
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
)

// english renders a message as an English reader sees it; a message the
// catalogue lacks comes out as ⟦id⟧ and matches no expected text.
func english(m apperr.Msg) string {
	return i18n.Shared().Localizer("en").T(m.ID, m.Args...)
}

func TestOrderLengthMessages(t *testing.T) {
	start := time.Date(2026, 3, 8, 21, 40, 0, 0, time.UTC)
	rule := func(k OrderKind) OrderRule {
		r, ok := RuleFor(k)
		if !ok {
			t.Fatalf("no rule for %s", k)
		}
		return r
	}
	for _, tc := range []struct {
		kind OrderKind
		end  time.Time
		lang string
		want string
	}{
		{TemporaryOrder, start.AddDate(0, 0, 1), "en", "An order of this kind lasts at least 3 days."},
		{TemporaryOrder, start.AddDate(0, 0, 31), "en", "An order of this kind lasts at most 30 days (until 2026-04-07 21:40)."},
		{CourtOrder, start.AddDate(0, 7, 0), "en", "An order of this kind lasts at most 6 months (until 2026-09-08 21:40)."},
		{RestrainingOrder, start.Add(time.Hour), "en", "An order of this kind lasts at least 1 day."},
		{CourtOrder, start.AddDate(0, 7, 0), "ru", "Ордер этого вида действует не более 6 месяцев (до 2026-09-08 21:40)."},
		{TemporaryOrder, start.AddDate(0, 0, 1), "ru", "Ордер этого вида действует не менее 3 суток."},
		{TemporaryOrder, start, "en", "The end must be after the start."},
	} {
		m := rule(tc.kind).checkLength(start, tc.end, time.UTC)
		if got := i18n.Shared().Localizer(tc.lang).T(m.ID, m.Args...); got != tc.want {
			t.Errorf("%s until %v in %s: %q, want %q", tc.kind, tc.end, tc.lang, got, tc.want)
		}
	}
	if m := rule(TemporaryOrder).checkLength(start, start.AddDate(0, 0, 5), time.UTC); m.ID != "" {
		t.Errorf("a 5-day temporary order: %v, want no message", m)
	}
}

func TestReferralMoveMessages(t *testing.T) {
	_, err := CheckReferralMove(&Referral{Status: Declined}, Sent, ConsentChange{})
	if got, want := english(apperr.MessageOf(err)), "A referral that is declined by the victim cannot be marked sent to the organisation."; got != want {
		t.Errorf("declined to sent: %q, want %q", got, want)
	}
	_, err = CheckReferralMove(&Referral{Status: Closed}, Closed, ConsentChange{})
	if got, want := english(apperr.MessageOf(err)), "The referral is already closed."; got != want {
		t.Errorf("closed to closed: %q, want %q", got, want)
	}
}
