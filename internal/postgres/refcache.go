package postgres

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/dvresponse/dvresponse/internal/refdata"
)

// The reference data that forms, boards, dashboards and exports read on
// every request (districts, settlements, incident types, priorities with
// their target history: five queries, about 1.7 ms of a 4 ms export) is
// kept in memory while this process LISTENs for changes (Listen), and only
// then. Migration 0032's triggers announce every change to those tables
// (by the application, an import, a seed or anyone's SQL) on the changes
// channel as "refdata:1", in the writing transaction, so every serve
// process hears of it once it commits; each empties its copy then, and
// the process that made the change empties its own at commit too
// (refChange.run, Import, SeedReference), so its next request never reads
// the old data. While the LISTEN connection is down, and from the moment
// it is lost, nothing is kept (a change then may go unheard); each time
// LISTEN is in force again the copy starts empty. A listener left
// half-open by a vanished server is noticed within listenPingEvery +
// listenPingTimeout, as the boards notice it.
type refCache struct {
	mu        sync.Mutex
	listening int    // Listen calls whose LISTEN is in force
	gen       uint64 // moved on by every change heard, connection and loss
	m         map[refKey]any
}

type refKey uint8

const (
	refDistricts refKey = iota
	refSettlements
	refTypes
	refPriorities
)

// connected: a Listen's LISTEN is in force; what changed before is
// unknown, so the copy starts empty.
func (c *refCache) connected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listening++
	c.gen++
	c.m = nil
}

// lost: a Listen's connection broke (or its context ended).
func (c *refCache) lost() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listening = max(0, c.listening-1)
	c.gen++
	c.m = nil
}

// changed: reference data changed (heard, or committed here).
func (c *refCache) changed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// heard empties the copy when payload announces a change of reference
// data.
func (c *refCache) heard(payload string) {
	if strings.HasPrefix(payload, RefdataKind+":") {
		c.changed()
	}
}

// refCached returns the kept value of key, or reads it and keeps it when
// nothing was heard in the meantime (a change whose notification came
// while it was read may not be in what was read).
func refCached[T any](c *refCache, key refKey, read func() (T, error), clone func(T) T) (T, error) {
	c.mu.Lock()
	if v, ok := c.m[key]; ok && c.listening > 0 {
		c.mu.Unlock()
		return clone(v.(T)), nil
	}
	gen, keep := c.gen, c.listening > 0
	c.mu.Unlock()
	v, err := read()
	if err != nil || !keep {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen && c.listening > 0 {
		if c.m == nil {
			c.m = map[refKey]any{}
		}
		c.m[key] = clone(v)
	}
	return v, nil
}

// The clones give each caller a copy it may change.

func cloneDistricts(ds []refdata.District) []refdata.District { return slices.Clone(ds) }

func cloneSettlements(ss []refdata.Settlement) []refdata.Settlement { return slices.Clone(ss) }

func cloneTypes(ts []refdata.IncidentType) []refdata.IncidentType {
	out := slices.Clone(ts)
	for i := range out {
		out[i].Names = maps.Clone(out[i].Names)
	}
	return out
}

func clonePriorities(ps []refdata.Priority) []refdata.Priority {
	out := slices.Clone(ps)
	for i := range out {
		p := &out[i]
		p.Names = maps.Clone(p.Names)
		p.Targets = cloneTargets(p.Targets)
		p.History = slices.Clone(p.History)
		for j := range p.History {
			p.History[j].Targets = cloneTargets(p.History[j].Targets)
		}
	}
	return out
}

func cloneTargets(m map[refdata.Interval]*int) map[refdata.Interval]*int {
	if m == nil {
		return nil
	}
	out := make(map[refdata.Interval]*int, len(m))
	for k, v := range m {
		if v != nil {
			x := *v
			v = &x
		}
		out[k] = v
	}
	return out
}
