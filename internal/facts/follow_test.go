package facts

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestRanked: every rank of values spread narrowly, widely (beyond 1<<16
// buckets, negative ones too) and with ties gives the sorted values'.
func TestRanked(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		n    int
		draw func() int32
	}{
		{1, func() int32 { return 7 }},
		{5, func() int32 { return int32(r.IntN(3)) }},
		{3000, func() int32 { return int32(r.IntN(86400 * 3)) }},
		{3000, func() int32 { return int32(r.Int64N(math.MaxInt32)) - math.MaxInt32/2 }},
		{3000, func() int32 { return []int32{math.MinInt32, -1, 0, 1, math.MaxInt32}[r.IntN(5)] }},
	} {
		vals := make([]int32, c.n)
		for i := range vals {
			vals[i] = c.draw()
		}
		orig := slices.Clone(vals)
		want := slices.Sorted(slices.Values(vals))
		at := ranked(vals)
		for _, rank := range []int{0, c.n / 2, c.n - 1, c.n * 9 / 10, r.IntN(c.n), r.IntN(c.n)} {
			if got := at(int64(rank)); got != float64(want[rank]) {
				t.Errorf("%d values: rank %d = %v, want %d", c.n, rank, got, want[rank])
			}
		}
		if !slices.Equal(vals, orig) {
			t.Errorf("%d values: changed", c.n)
		}
	}
}

// TestRowSizes: the store's rows keep the sizes their memory figures and
// cache-line reasoning assume.
func TestRowSizes(t *testing.T) {
	for name, c := range map[string][2]uintptr{
		"fact": {unsafe.Sizeof(fact{}), 64}, "dims": {unsafe.Sizeof(dims{}), 32},
		"task": {unsafe.Sizeof(task{}), 64}, "order": {unsafe.Sizeof(order{}), 80}, "actRow": {unsafe.Sizeof(actRow{}), 56},
	} {
		if c[0] != c[1] {
			t.Errorf("%s: %d bytes, want %d", name, c[0], c[1])
		}
	}
}
