package refdata

import (
	"testing"
	"time"
)

func TestTargetHistory(t *testing.T) {
	n := func(v int) *int { return &v }
	p := Priority{Level: 3, Targets: map[Interval]*int{CallProcessing: n(10)}, History: []TargetPeriod{
		{Targets: map[Interval]*int{CallProcessing: n(180), Response: n(1800)}},
		{From: Day(2026, 3, 1), Targets: map[Interval]*int{CallProcessing: n(180), Response: n(900)}},
		{From: Day(2026, 6, 1), Targets: map[Interval]*int{CallProcessing: n(10), Response: n(900)}},
	}}
	str := func(t *int) any {
		if t == nil {
			return nil
		}
		return *t
	}
	for _, c := range []struct {
		iv   Interval
		day  time.Time
		want any
	}{
		{CallProcessing, Day(2020, 1, 1), 180}, {Response, Day(2026, 2, 28), 1800}, {Response, Day(2026, 3, 1), 900},
		{CallProcessing, Day(2026, 5, 31), 180}, {CallProcessing, Day(2026, 6, 1), 10}, {Travel, Day(2026, 6, 1), nil},
	} {
		if got := str(p.TargetOn(c.iv, c.day)); got != c.want {
			t.Errorf("TargetOn(%s, %s) = %v, want %v", c.iv, c.day.Format(time.DateOnly), got, c.want)
		}
	}
	if got, same := p.TargetOver(CallProcessing, Day(2026, 1, 1), Day(2026, 5, 31)); !same || str(got) != 180 {
		t.Errorf("call processing over January-May: %v %v, want 180 throughout", str(got), same)
	}
	if got, same := p.TargetOver(CallProcessing, Day(2026, 5, 1), Day(2026, 6, 1)); same || got != nil {
		t.Errorf("call processing over May-1 June: %v %v, want changed", str(got), same)
	}
	if got := p.Changes(Day(2026, 1, 1), Day(2026, 12, 31)); len(got) != 2 || !got[0].Equal(Day(2026, 3, 1)) || !got[1].Equal(Day(2026, 6, 1)) {
		t.Errorf("changes in 2026: %v, want 1 March and 1 June", got)
	}
	if got := p.Changes(Day(2026, 3, 1), Day(2026, 5, 31)); len(got) != 0 {
		t.Errorf("changes after 1 March to 31 May: %v, want none (the one on the first day is in force already)", got)
	}
	// Without a history (a priority never stored), Targets apply always.
	if got := str((Priority{Targets: p.Targets}).TargetOn(CallProcessing, Day(2000, 1, 1))); got != 10 {
		t.Errorf("no history: %v, want Targets' 10", got)
	}
}
