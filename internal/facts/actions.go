package facts

import "github.com/dvresponse/dvresponse/internal/report"

// The dashboard's action figures (referrals, danger screens, protection
// orders of the period's incidents) from the store. An incident's actions
// are part of its Row; the few incidents that have any keep them in rows
// of their own, by the incident's day, each with a copy of its dims (put
// again with the incident), so that a period's counts are one pass over
// those rows with the report's filters.

// Actions counts what was done for one incident.
type Actions struct {
	Referrals, ReferralsAccepted, Screens, Orders int32
	HighDanger                                    bool // a screen of it found high danger
}

type dayAct struct {
	dn int32
	r  actRow
}

// actRow is an incident's actions in the store, with its dims.
type actRow struct {
	f dims
	a Actions
}

// putActions keeps a, the actions of f put on day dn, in place of its
// earlier ones (under the write lock, after f is in place).
func (s *Store) putActions(f fact, dn int32, a Actions) {
	s.removeActions(f.id)
	if a == (Actions{}) {
		return
	}
	for f.id >= int64(len(s.aidx)) {
		s.aidx = append(s.aidx[:cap(s.aidx)], 0)
	}
	s.adays[dn] = append(s.adays[dn], actRow{f.dims, a})
	s.aidx[f.id] = uint32(len(s.adays[dn]))
}

// removeActions deletes the actions of incident id, if held (under the
// write lock, while the incident's fact is still where it was).
func (s *Store) removeActions(id int64) {
	if id <= 0 || id >= int64(len(s.aidx)) || s.aidx[id] == 0 {
		return
	}
	dn, _ := located(s.where[id])
	removeFromDay(s.adays, dn, int(s.aidx[id])-1, func(r actRow, j int) { s.aidx[r.f.id] = uint32(j + 1) })
	s.aidx[id] = 0
}

// actionsCacheBudget bounds the action counts kept of sealed days.
const actionsCacheBudget = 1 << 20

// ActionCounts counts the referrals, danger screens and protection orders
// of q's incidents (received in its range, passing its filters) as
// postgres.DashboardExtras does; Incidents is left 0 (the caller has the
// period's incidents from the breakdowns). ok is false when the store
// cannot serve q. What sealed days counted is kept as the response times'
// counts are.
func (s *Store) ActionCounts(q report.Query, ref Ref) (c report.ActionCounts, ok bool) {
	if q.Location == nil || q.Location.String() != s.loc.String() {
		return c, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.ready || s.broken != "" {
		return c, false
	}
	p := newPlan(q, nil, ref)
	from := p.from
	if sealedTo := min(p.to, s.today()-1); sealedTo >= p.from {
		key, ver := "actions|"+p.cacheKey(sealedTo), s.versionSum(p.from, sealedTo)
		kept, ok := s.actions.get(key, ver)
		if !ok {
			s.addActions(&kept, p, p.from, sealedTo)
			s.actions.put(key, ver, kept, 256)
		}
		c, from = kept, sealedTo+1
	}
	s.addActions(&c, p, from, p.to)
	return c, true
}

// addActions adds the actions of days lo to hi to c (under the read lock).
func (s *Store) addActions(c *report.ActionCounts, p *plan, lo, hi int32) {
	filtered := p.filtered()
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	for dn := lo; dn <= hi; dn++ {
		rows := s.adays[dn]
		for i := range rows {
			r := &rows[i]
			if filtered && !p.keep(s, &r.f) {
				continue
			}
			a := r.a
			c.Referrals += int(a.Referrals)
			c.ReferralsAccepted += int(a.ReferralsAccepted)
			c.IncidentsReferred += b(a.Referrals > 0)
			c.Screens += int(a.Screens)
			c.IncidentsScreened += b(a.Screens > 0)
			c.IncidentsHighRisk += b(a.HighDanger)
			c.Orders += int(a.Orders)
			c.IncidentsWithOrder += b(a.Orders > 0)
		}
	}
}
