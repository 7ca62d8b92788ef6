package facts

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"
)

// The sealed-days cache. A year's figures read about 2 M rows at 10 M
// incidents, but the days before today rarely change: what the first
// pass counted over them (the groups' per-second counts, before any
// percentile is read) is kept, keyed by everything that shapes those
// counts, and checked against the versions of its days, which every
// change to an incident of the day moves on. A query then reads only the
// days from today on and adds the kept counts. A full load empties it.

// cacheBudget bounds the bytes of counts kept; the least recently used
// entries go first.
const cacheBudget = 128 << 20

// counts are what the response-time scan keeps of the sealed days: pass
// 1's counts, and pass 2's of the buckets requests have needed.
type counts struct {
	accs [][]*acc
	tops []*topN
	fine *fineKept
}

// fineKept holds pass 2's per-second counts over an entry's sealed days,
// by group, interval and coarse bucket. A percentile that falls beyond
// fineCap (a tail over 4 h 33 min) needs its bucket's seconds; without
// them every request for a range with such a tail would read all of its
// days again. The buckets a range's percentiles fall in move little from
// one request to the next (only as today's incidents add to the counts),
// so what one request counted serves the next.
type fineKept struct {
	mu sync.Mutex
	m  map[fineKey]*[bucketWidth]uint32
}

type fineKey struct {
	want, iv, bucket uint16
	slot             int32
}

// fineKeptMax bounds the buckets one entry keeps (256 bytes each); past
// it the entry starts again.
const fineKeptMax = 8192

// eachNeed calls fn for every bucket whose seconds pass 2 counts for the
// scanned wants of accs (a want added up from another's groups is not
// scanned), with its index in the group's needList.
func eachNeed(p *plan, accs [][]*acc, fn func(k fineKey, a *acc, iv, idx int)) {
	for g, w := range p.wants {
		if w.from >= 0 {
			continue
		}
		for i, a := range accs[g] {
			if a == nil || a.needIvs == 0 {
				continue
			}
			for iv := range nIntervals {
				if a.needIvs&(1<<iv) == 0 {
					continue
				}
				for idx, b := range a.iv[iv].needList {
					fn(fineKey{want: uint16(g), iv: uint16(iv), bucket: uint16(b), slot: int32(i)}, a, iv, idx)
				}
			}
		}
	}
}

// fill adds to accs' pass-2 counts the kept seconds of every bucket they
// need; when one is not kept it adds nothing and returns false.
func (k *fineKept) fill(p *plan, accs [][]*acc) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	all := true
	eachNeed(p, accs, func(key fineKey, _ *acc, _, _ int) {
		if _, ok := k.m[key]; !ok {
			all = false
		}
	})
	if !all {
		return false
	}
	eachNeed(p, accs, func(key fineKey, a *acc, iv, idx int) {
		dst, src := &a.iv[iv].fine[idx], k.m[key]
		for j := range dst {
			dst[j] += src[j]
		}
	})
	return true
}

// keep stores the seconds pass 2 counted over the sealed days (fine, in
// cloneNeeds' layout of accs) for every bucket accs need.
func (k *fineKept) keep(p *plan, accs, fine [][]*acc) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) > fineKeptMax {
		k.m = map[fineKey]*[bucketWidth]uint32{}
	}
	eachNeed(p, accs, func(key fineKey, _ *acc, iv, idx int) {
		c := fine[key.want][key.slot].iv[iv].fine[idx]
		k.m[key] = &c
	})
}

type cacheEntry[V any] struct {
	key   string
	ver   uint64 // sum of the versions of its days when it was counted
	val   V
	bytes int
	used  time.Time
}

// sealedCache keeps values counted over sealed days, by key, within a
// budget of bytes.
type sealedCache[V any] struct {
	mu      sync.Mutex
	budget  int
	entries map[string]*cacheEntry[V]
	bytes   int
	hits    int
	misses  int
}

func newSealedCache[V any](budget int) *sealedCache[V] {
	return &sealedCache[V]{budget: budget, entries: map[string]*cacheEntry[V]{}}
}

// get returns the value kept for key if its days' versions still add up
// to ver. The value is shared: the caller copies what it changes.
func (c *sealedCache[V]) get(key string, ver uint64) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.ver != ver {
		c.misses++
		var zero V
		return zero, false
	}
	c.hits++
	e.used = time.Now()
	return e.val, true
}

// put keeps val (of about bytes) for key; a value over a quarter of the
// budget is not kept.
func (c *sealedCache[V]) put(key string, ver uint64, val V, bytes int) {
	if bytes > c.budget/4 {
		return
	}
	e := &cacheEntry[V]{key: key, ver: ver, val: val, bytes: bytes, used: time.Now()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.bytes -= old.bytes
	}
	c.entries[key] = e
	c.bytes += e.bytes
	for c.bytes > c.budget {
		var lru *cacheEntry[V]
		for _, x := range c.entries {
			if lru == nil || x.used.Before(lru.used) {
				lru = x
			}
		}
		delete(c.entries, lru.key)
		c.bytes -= lru.bytes
	}
}

func (c *sealedCache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.bytes = map[string]*cacheEntry[V]{}, 0
}

// cacheKey is everything that shapes the first pass's counts over days
// from to sealedTo: the days, the filters (with the IDP and DV flags of
// the reference data), the targets of every day, the groupings and their
// sizes, and the slowest list.
func (p *plan) cacheKey(sealedTo int32) string {
	h := fnv.New64a()
	var buf [8]byte
	put := func(v int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	for _, b := range p.idp {
		put(b2i(b))
	}
	put(-1)
	for _, b := range p.dv {
		put(b2i(b))
	}
	put(-1)
	for _, v := range p.prioIdx {
		put(int64(v))
	}
	for _, v := range p.targets {
		put(int64(v))
	}
	put(b2i(p.targetDays))
	for _, w := range p.wants {
		put(int64(w.kind))
		put(int64(w.ivs))
		put(int64(w.from))
	}
	return fmt.Sprintf("%d-%d|%d/%d/%d/%d/%d/%d|%d/%d/%d|%d/%d|%x", p.from, sealedTo, p.district, p.settlement, p.typ, p.unit,
		p.prio, p.shift, p.maxDistrict, p.maxSettl, p.maxType, p.slowIv, p.slowN, h.Sum64())
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// mapAccs returns a grid of groups shaped as accs, each group the copy
// one makes of it (nil stays nil).
func mapAccs(accs [][]*acc, one func(a *acc) *acc) [][]*acc {
	out := make([][]*acc, len(accs))
	for g, slots := range accs {
		out[g] = make([]*acc, len(slots))
		for i, a := range slots {
			if a != nil {
				out[g][i] = one(a)
			}
		}
	}
	return out
}

// shareAccs copies groups for a request that adds nothing to their
// counts: the per-second pages and buckets stay the cache's, read only;
// what a request writes (the ranks it reads, pass 2's buckets, the sorted
// long durations) is its own.
func shareAccs(accs [][]*acc) [][]*acc {
	return mapAccs(accs, func(a *acc) *acc {
		c := *a
		c.needIvs = 0
		for iv := range c.iv {
			x := &c.iv[iv]
			x.ranks, x.vals, x.inBucket, x.needList, x.needIdx, x.fine = nil, nil, nil, nil, nil, nil
			x.over = slices.Clone(x.over)
		}
		return &c
	})
}

// cloneAccs copies groups deeply: counts, kept durations.
func cloneAccs(accs [][]*acc) [][]*acc {
	return mapAccs(accs, func(a *acc) *acc {
		c := *a
		for iv := range c.iv {
			x := &c.iv[iv]
			for k, pg := range x.sec {
				if pg != nil {
					cp := *pg
					x.sec[k] = &cp
				}
			}
			if x.coarse != nil {
				cp := *x.coarse
				x.coarse = &cp
			}
			x.over = slices.Clone(x.over)
		}
		return &c
	})
}

func cloneTops(tops []*topN) []*topN {
	out := make([]*topN, len(tops))
	for i, t := range tops {
		c := *t
		c.h = slices.Clone(t.h)
		out[i] = &c
	}
	return out
}

// accBytes is about how many bytes the counts of accs take.
func accBytes(accs [][]*acc) int {
	n := 0
	for _, slots := range accs {
		for _, a := range slots {
			if a == nil {
				continue
			}
			n += 2048
			for iv := range a.iv {
				x := &a.iv[iv]
				for _, pg := range x.sec {
					if pg != nil {
						n += 4 * pageSize
					}
				}
				if x.coarse != nil {
					n += 4 * nBuckets
				}
				n += 4 * len(x.over)
			}
		}
	}
	return n
}
