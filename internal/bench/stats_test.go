package bench

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// percentile is the p-th quantile (0..1) of ds by linear interpolation
// between closest ranks, like PostgreSQL's percentile_cont (DESIGN.md §3).
// It is 0 for no samples.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	pos := p * float64(len(s)-1)
	lo := int(pos)
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(lo)
	return s[lo] + time.Duration(frac*float64(s[lo+1]-s[lo]))
}

// ms formats d in milliseconds with one decimal.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{4, 1, 3, 2} // sorted: 1 2 3 4
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {0.5, 2}, {1, 4}, {0.99, 3}} {
		// 0.5 → rank 1.5 → 2.5, truncated to 2 by Duration; 0.99 → 3.97 → 3.
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", ds, c.p, got, c.want)
		}
	}
	if got := percentile([]time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, 0.5); got != 15*time.Millisecond {
		t.Errorf("median of 10 ms and 20 ms = %v, want 15ms", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
}
