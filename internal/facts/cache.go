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

type cacheEntry struct {
	key   string
	ver   uint64 // sum of the versions of its days when it was counted
	accs  [][]*acc
	tops  []*topN
	bytes int
	used  time.Time
}

type sealedCache struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry
	bytes   int
	hits    int
	misses  int
}

func newSealedCache() *sealedCache { return &sealedCache{entries: map[string]*cacheEntry{}} }

// get returns a copy of the counts kept for key, if they were counted at
// version ver.
func (c *sealedCache) get(key string, ver uint64) ([][]*acc, []*topN, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.ver != ver {
		c.misses++
		return nil, nil, false
	}
	c.hits++
	e.used = time.Now()
	return cloneAccs(e.accs), cloneTops(e.tops), true
}

// put keeps a copy of accs and tops for key at version ver.
func (c *sealedCache) put(key string, ver uint64, accs [][]*acc, tops []*topN) {
	e := &cacheEntry{key: key, ver: ver, accs: cloneAccs(accs), tops: cloneTops(tops), used: time.Now()}
	e.bytes = accBytes(e.accs)
	if e.bytes > cacheBudget/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.bytes -= old.bytes
	}
	c.entries[key] = e
	c.bytes += e.bytes
	for c.bytes > cacheBudget {
		var lru *cacheEntry
		for _, x := range c.entries {
			if lru == nil || x.used.Before(lru.used) {
				lru = x
			}
		}
		delete(c.entries, lru.key)
		c.bytes -= lru.bytes
	}
}

// clear forgets every entry (a full load).
func (c *sealedCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.bytes = map[string]*cacheEntry{}, 0
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

// cloneAccs copies groups deeply: counts, kept durations.
func cloneAccs(accs [][]*acc) [][]*acc {
	out := make([][]*acc, len(accs))
	for g, slots := range accs {
		out[g] = make([]*acc, len(slots))
		for i, a := range slots {
			if a == nil {
				continue
			}
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
			out[g][i] = &c
		}
	}
	return out
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
