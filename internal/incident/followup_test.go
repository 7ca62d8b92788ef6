package incident

import (
	"testing"
	"time"
)

func TestFollowUpScheduleDefaults(t *testing.T) {
	at := time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC)
	high := DefaultSchedules[HighDangerFollowUp].Due(at)
	// 72 h, then weekly while within 8 weeks: 72h + 7d*k for k = 0..7.
	if len(high) != 8 || !high[0].Equal(at.Add(72*time.Hour)) || !high[1].Equal(at.Add(72*time.Hour+7*24*time.Hour)) ||
		high[7].Sub(at) > 8*7*24*time.Hour {
		t.Errorf("high danger schedule: %v", high)
	}
	std := DefaultSchedules[StandardFollowUp].Due(at)
	if len(std) != 1 || !std[0].Equal(at.Add(30*24*time.Hour)) {
		t.Errorf("standard schedule: %v", std)
	}
	re := DefaultSchedules[RescreenFollowUp].Due(at)
	if len(re) != 1 || !re[0].Equal(at.Add(24*time.Hour)) {
		t.Errorf("rescreen schedule: %v", re)
	}
	checks := DefaultCheckSchedule.ChecksUntil(at, at.Add(10*24*time.Hour))
	// 24 h, 96 h, 168 h, 240 h is the end itself: not made.
	if len(checks) != 3 || !checks[0].Equal(at.Add(24*time.Hour)) || !checks[2].Equal(at.Add(168*time.Hour)) {
		t.Errorf("checks: %v", checks)
	}
	if _, err := CheckOutcome("rescreened"); err == nil {
		t.Error("rescreened accepted from a button")
	}
	if _, err := CheckOutcome(""); err == nil {
		t.Error("no outcome accepted")
	}
}
