package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// The dashboard rollups (migrations/0009_dashboard_rollups.up.sql,
// internal/report/ROLLUPS.md "The dashboard"): the dashboard's breakdowns
// by settlement, week, victim's sex and age band and hour x weekday, per
// scope (all districts or one; all types or DV only). The triggers keep
// them current; RebuildRollups builds them with the response-time rollups.

// DashTargetsKey is the app_settings key saying that the dashboard
// rollups are kept (value dash_targets(): their within-target counts
// follow the targets' effective dates, migration 0019). Without it (a
// priority was renumbered) the triggers leave the dashboard rollups alone
// and the dashboard reads the incidents until they are rebuilt.
const DashTargetsKey = "dash_rollup_targets"

// Dimensions of the dashboard rollups.
const (
	dimSettlement = 's'
	dimWeek       = 'w'
	dimSex        = 'x'
	dimBand       = 'a'
	dimHour       = 'h'
)

var dashDims = []byte{dimSettlement, dimWeek, dimSex, dimBand, dimHour}

// dashIV is the interval the dashboard rollups keep histograms of: the
// response (report order).
const dashIV = 3

// dashWeekEpoch is the Monday week keys count days from (dash_week).
var dashWeekEpoch = time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC)

// dashWeek is the key of the ISO week holding day (a date at midnight UTC).
func dashWeek(day time.Time) int32 {
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	return int32(monday.Sub(dashWeekEpoch).Hours() / 24)
}

// dashRec is one incident as a day record of dash_days holds it.
type dashRec struct {
	priority                      int
	corrected                     bool
	settlement, sex, band, hourKy int32
	secs                          [6]int32 // -1 out of order, -2 missing
}

func (r dashRec) key(dim byte, day time.Time) int32 {
	switch dim {
	case dimSettlement:
		return r.settlement
	case dimWeek:
		return dashWeek(day)
	case dimSex:
		return r.sex
	case dimBand:
		return r.band
	}
	return r.hourKy
}

func (r dashRec) pack(b []byte) []byte {
	// The level's bits above 15 go above the hour (migration 0019).
	w0 := int32(r.priority&15) | r.sex<<5 | r.band<<8 | r.hourKy<<11 | int32(r.priority>>4)<<19
	if r.corrected {
		w0 |= 1 << 4
	}
	for _, x := range append([]int32{w0, r.settlement}, r.secs[:]...) {
		b = binary.BigEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func unpackRec(b []byte) dashRec {
	w := func(i int) int32 { return int32(binary.BigEndian.Uint32(b[4*i:])) }
	w0 := w(0)
	r := dashRec{priority: int(w0&15) | int(w0>>19)<<4, corrected: w0>>4&1 == 1, sex: w0 >> 5 & 7, band: w0 >> 8 & 7,
		hourKy:     w0 >> 11 & 0xff,
		settlement: w(1)}
	for i := range 6 {
		r.secs[i] = w(2 + i)
	}
	return r
}

// ---- building

// dashScope is one scope's key of a dimension.
type dashKey struct {
	dim      byte
	district int64
	dv       bool
	key      int32
}

type dashCellSum struct {
	incidents, corrected                      int32
	prios                                     []int32 // per level from 1, at least 9
	missing, inconsistent, withTarget, within [6]int32
}

// rebuildDash recomputes the dashboard rollups of the local months from
// the one holding from to the one holding to (month and day rows already
// deleted), then the year rows of their years, in zone, each incident
// judged against the targets in force on its local day, and marks them
// kept.
func rebuildDash(ctx context.Context, tx pgx.Tx, zone string, loc *time.Location, from, to report.Date) error {
	ps, err := readIvTargets(ctx, tx, report.Query{}, refdata.Response)
	if err != nil {
		return err
	}
	prios := ps.prios
	for m := monthOf(from); !m.After(monthOf(to)); m = m.AddDate(0, 1, 0) {
		start := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, loc)
		if err := rebuildDashMonth(ctx, tx, zone, prios, m, start, start.AddDate(0, 1, 0)); err != nil {
			return err
		}
	}
	if err := rebuildYears(ctx, tx, monthOf(from), monthOf(to), true); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, dash_targets())
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`, DashTargetsKey)
	return err
}

// rebuildAllDash empties the dashboard rollups and builds them for the
// incidents received from first to last (none when nil).
func rebuildAllDash(ctx context.Context, tx pgx.Tx, zone string, loc *time.Location, first, last *time.Time) error {
	if _, err := tx.Exec(ctx, `TRUNCATE dash_cells, dash_hist, dash_fine, dash_days`); err != nil {
		return err
	}
	if first == nil {
		_, err := tx.Exec(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, dash_targets())
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`, DashTargetsKey)
		return err
	}
	return rebuildDash(ctx, tx, zone, loc, report.DateOf(*first, loc), report.DateOf(*last, loc))
}

// RebuildDashRollups rebuilds the dashboard rollups alone, in the
// response-time rollups' zone (after a priority was renumbered). It does
// nothing when the rollups are not kept.
func (db *DB) RebuildDashRollups(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := lockRollups(ctx, tx); err != nil {
			return err
		}
		var zone *string
		if err := tx.QueryRow(ctx, `SELECT rollup_zone()`).Scan(&zone); err != nil || zone == nil {
			return err
		}
		loc, err := time.LoadLocation(*zone)
		if err != nil {
			return fmt.Errorf("rollups: zone %q: %w", *zone, err)
		}
		var first, last *time.Time
		if err := tx.QueryRow(ctx, `SELECT min(received_at), max(received_at) FROM incidents`).Scan(&first, &last); err != nil {
			return err
		}
		return rebuildAllDash(ctx, tx, *zone, loc, first, last)
	})
	return mapErr(err, "")
}

func rebuildDashMonth(ctx context.Context, tx pgx.Tx, zone string, prios map[int]refdata.Priority, month, start, end time.Time) error {
	type baseKey struct {
		district int64
		dv       bool
	}
	type dayKey struct {
		day time.Time
		baseKey
	}
	type ivKey struct {
		dashKey
		iv int
	}
	type fineK struct {
		ivKey
		bucket int
	}
	cells := map[dashKey]*dashCellSum{}
	hists := map[ivKey]*histSum{}
	fines := map[fineK]*[rollupBucketSecs]int32{}
	days := map[dayKey][]byte{}
	rows, err := tx.Query(ctx, `SELECT (i.received_at AT TIME ZONE $1)::date, coalesce(i.district_id, 0), t.is_dv,
		i.corrections > 0, i.priority, coalesce(i.settlement_id, 0)::integer,
		CASE i.victim_sex WHEN 'female' THEN 1 WHEN 'male' THEN 2 WHEN 'other' THEN 3 ELSE 0 END,
		CASE WHEN i.victim_age BETWEEN 0 AND 17 THEN 1 WHEN i.victim_age BETWEEN 18 AND 24 THEN 2
			WHEN i.victim_age BETWEEN 25 AND 34 THEN 3 WHEN i.victim_age BETWEEN 35 AND 44 THEN 4
			WHEN i.victim_age BETWEEN 45 AND 59 THEN 5 WHEN i.victim_age BETWEEN 60 AND 120 THEN 6 ELSE 0 END,
		extract(isodow FROM i.received_at AT TIME ZONE $1)::integer * 24 + extract(hour FROM i.received_at AT TIME ZONE $1)::integer,
		coalesce(rollup_secs(i.received_at, i.dispatched_at), -2), coalesce(rollup_secs(i.dispatched_at, i.en_route_at), -2),
		coalesce(rollup_secs(i.en_route_at, i.on_scene_at), -2), coalesce(rollup_secs(i.received_at, i.on_scene_at), -2),
		coalesce(rollup_secs(i.on_scene_at, i.cleared_at), -2), coalesce(rollup_secs(i.received_at, i.cleared_at), -2)
		FROM incidents i JOIN incident_types t ON t.id = i.type_id
		WHERE i.received_at >= $2 AND i.received_at < $3`, zone, start, end)
	if err != nil {
		return err
	}
	var day time.Time
	var b baseKey
	var r dashRec
	var tgt [6]*int
	dest := []any{&day, &b.district, &b.dv, &r.corrected, &r.priority, &r.settlement, &r.sex, &r.band, &r.hourKy}
	for i := range r.secs {
		dest = append(dest, &r.secs[i])
	}
	// Scopes the incident counts in: all districts and its own, for all
	// types and, for a domestic-violence incident, DV only.
	scopes := make([]baseKey, 0, 4)
	if _, err := pgx.ForEachRow(rows, dest, func() error {
		dk := dayKey{day, b}
		days[dk] = r.pack(days[dk])
		// The targets in force on the incident's local day.
		p, ok := prios[r.priority]
		for iv, d := range report.Definitions {
			tgt[iv] = nil
			if ok {
				tgt[iv] = p.TargetOn(d.Interval, refdata.Day(day.Year(), day.Month(), day.Day()))
			}
		}
		scopes = append(scopes[:0], baseKey{0, false})
		if b.district != 0 {
			scopes = append(scopes, baseKey{b.district, false})
		}
		if b.dv { // and the domestic-violence-only scopes
			scopes = append(scopes, baseKey{0, true})
			if b.district != 0 {
				scopes = append(scopes, baseKey{b.district, true})
			}
		}
		for _, dim := range dashDims {
			key := r.key(dim, day)
			for _, sc := range scopes {
				k := dashKey{dim, sc.district, sc.dv, key}
				c := cells[k]
				if c == nil {
					c = &dashCellSum{prios: make([]int32, 9)}
					cells[k] = c
				}
				c.incidents++
				if r.corrected {
					c.corrected++
				}
				c.prios = countLevel(c.prios, r.priority, 1)
				for iv, s := range r.secs {
					switch {
					case s == -2:
						c.missing[iv]++
						continue
					case s < 0:
						c.inconsistent[iv]++
						continue
					}
					if tgt[iv] != nil {
						c.withTarget[iv]++
						if int(s) <= *tgt[iv] {
							c.within[iv]++
						}
					}
					if iv != dashIV {
						continue
					}
					ik := ivKey{k, iv}
					h := hists[ik]
					if h == nil {
						h = &histSum{}
						hists[ik] = h
					}
					if bk, fine := h.add(s); fine {
						addFine(fines, fineK{ik, bk}, s)
					}
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}

	var out [][]any
	for k, c := range cells {
		out = append(out, []any{string(k.dim), k.district, k.dv, month, k.key, c.incidents, c.corrected, c.prios[:],
			c.missing[:], c.inconsistent[:], c.withTarget[:], c.within[:]})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"dash_cells"}, []string{"dim", "district_id", "dv", "month", "key",
		"incidents", "corrected", "prios", "missing", "inconsistent", "with_target", "within"}, pgx.CopyFromRows(out)); err != nil {
		return err
	}
	out = out[:0]
	for k, h := range hists {
		if h.over == nil {
			h.over = []int32{}
		}
		out = append(out, []any{string(k.dim), k.district, k.dv, int16(k.iv), month, k.key, h.n, pack(h.hist), h.over})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"dash_hist"}, []string{"dim", "district_id", "dv", "iv", "month", "key",
		"n", "hist", "over"}, pgx.CopyFromRows(out)); err != nil {
		return err
	}
	// Fine rows in key order, so that a lookup over months finds them on
	// few pages.
	keys := make([]fineK, 0, len(fines))
	for k := range fines {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		switch {
		case a.dim != b.dim:
			return a.dim < b.dim
		case a.district != b.district:
			return a.district < b.district
		case a.dv != b.dv:
			return !a.dv
		case a.iv != b.iv:
			return a.iv < b.iv
		case a.key != b.key:
			return a.key < b.key
		}
		return a.bucket < b.bucket
	})
	i := 0
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"dash_fine"}, []string{"dim", "district_id", "dv", "iv", "key", "bucket",
		"month", "counts"}, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(keys) {
			return nil, nil
		}
		k := keys[i]
		i++
		return []any{string(k.dim), k.district, k.dv, int16(k.iv), k.key, int16(k.bucket), month, pack(fines[k][:])}, nil
	})); err != nil {
		return err
	}
	out = out[:0]
	for k, recs := range days {
		out = append(out, []any{k.day, k.district, k.dv, recs})
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"dash_days"}, []string{"day", "district_id", "is_dv", "recs"}, pgx.CopyFromRows(out))
	return err
}

// ---- reading

// dashServes reports whether the dashboard rollups can answer dimension
// dim for q and interval iv: the response, filtered by district and DV
// only, or for the settlement dimension also by settlement and IDP
// settlements.
func dashServes(q report.Query, dim byte, iv refdata.Interval) bool {
	f := q.Filters
	if iv != refdata.Response || f.Priority != nil || f.TypeID != nil || f.Shift != "" || f.UnitID != nil {
		return false
	}
	return dim == dimSettlement || (f.SettlementID == nil && !f.IDPOnly)
}

// dashGroup gathers one group's counts and durations of one interval.
type dashGroup struct {
	durations
	incidents, corrected                      int
	prios                                     []int32 // incidents per level from 1
	missing, inconsistent, withTarget, within int
	keys                                      map[int32]bool
}

// dashResult is one group's figures of one interval.
type dashResult struct {
	Incidents, Corrected int
	report.Summary
}

// dashRead computes, in tx (a snapshot in which the dashboard rollups are
// known to be kept in q's zone), the figures
// of interval iv (0-5) of dimension dim for q's scope (district, DV only),
// per group: groupsOf names the groups a key counts in (none: left out).
// targets are the targets of iv by priority level, with their history.
func dashRead(ctx context.Context, tx pgx.Tx, q report.Query, iv int, dim byte, groupsOf func(key int32) []string,
	targets ivTargets) (map[string]dashResult, error) {
	span := rollupPeriods(q, false)
	years, months := span.starts("y"), span.starts("m")
	var district int64
	if q.DistrictID != nil {
		district = *q.DistrictID
	}
	groups := map[string]*dashGroup{}
	memo := map[int32][]*dashGroup{}
	groupsOfKey := func(key int32) []*dashGroup {
		gs, ok := memo[key]
		if !ok {
			for _, name := range groupsOf(key) {
				g := groups[name]
				if g == nil {
					g = &dashGroup{keys: map[int32]bool{}}
					groups[name] = g
				}
				g.keys[key] = true
				gs = append(gs, g)
			}
			memo[key] = gs
		}
		return gs
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT grain::text, month, key, incidents, corrected, missing[$6], inconsistent[$6], with_target[$6], within[$6], prios
		FROM dash_cells WHERE dim = $1 AND district_id = $2 AND dv = $3
			AND ((grain = 'y' AND month = ANY($4)) OR (grain = 'm' AND month = ANY($5)))`,
		string(dim), district, q.DVOnly, years, months, iv+1).Query(func(rows pgx.Rows) error {
		var grain string
		var month time.Time
		var key int32
		var inc, corr, miss, incons, wt, win int
		return forEachRowArrays(rows, []any{&grain, &month, &key, &inc, &corr, &miss, &incons, &wt, &win}, "a", func(arrs [][]int32) error {
			sg := int(span.sign(grain, month))
			inc, corr, miss, incons, wt, win = sg*inc, sg*corr, sg*miss, sg*incons, sg*wt, sg*win
			for _, g := range groupsOfKey(key) {
				g.incidents += inc
				g.corrected += corr
				g.missing += miss
				g.inconsistent += incons
				g.withTarget += wt
				g.within += win
				for l, x := range arrs[0] {
					if x != 0 {
						g.prios = countLevel(g.prios, l+1, int32(sg)*x)
					}
				}
			}
			return nil
		})
	})
	// The buckets each key and period holds durations in: only those have
	// fine rows worth looking up.
	type dashPeriod struct {
		key   int32
		grain string
		start int64
	}
	nonEmpty := bucketSets[dashPeriod]{}
	b.Queue(`SELECT grain::text, month, key, n, hist, over FROM dash_hist WHERE dim = $1 AND district_id = $2 AND dv = $3
		AND iv = $4 AND ((grain = 'y' AND month = ANY($5)) OR (grain = 'm' AND month = ANY($6)))`,
		string(dim), district, q.DVOnly, int16(iv), years, months).Query(func(rows pgx.Rows) error {
		var grain string
		var month time.Time
		var key int32
		var n int64
		return forEachRowArrays(rows, []any{&grain, &month, &key, &n}, "pa", func(arrs [][]int32) error {
			sg := span.sign(grain, month)
			nonEmpty.row(dashPeriod{key, grain, month.Unix()}).setNonZero(arrs[0])
			for _, g := range groupsOfKey(key) {
				g.addRow(sg, n, arrs[0], arrs[1])
			}
			return nil
		})
	})
	daySQL, dayArgs := `SELECT day, recs FROM dash_days WHERE day = ANY($1)`, []any{span.days}
	if q.DistrictID != nil {
		daySQL += ` AND district_id = $2`
		dayArgs = append(dayArgs, district)
	}
	if q.DVOnly {
		daySQL += ` AND is_dv`
	}
	b.Queue(daySQL, dayArgs...).Query(func(rows pgx.Rows) error {
		var day time.Time
		var recs []byte
		_, err := pgx.ForEachRow(rows, []any{&day, &recs}, func() error {
			sg := int(span.sign("d", day))
			for p := 0; p+32 <= len(recs); p += 32 {
				r := unpackRec(recs[p : p+32])
				gs := groupsOfKey(r.key(dim, day))
				if len(gs) == 0 {
					continue
				}
				s := r.secs[iv]
				t := targets.on(r.priority, day)
				for _, g := range gs {
					g.incidents += sg
					if r.corrected {
						g.corrected += sg
					}
					g.prios = countLevel(g.prios, r.priority, int32(sg))
					switch {
					case s == -2:
						g.missing += sg
						continue
					case s < 0:
						g.inconsistent += sg
						continue
					}
					if t != nil {
						g.withTarget += sg
						if int(s) <= *t {
							g.within += sg
						}
					}
					g.addDay(int64(sg), s)
				}
			}
			return nil
		})
		return err
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}

	// The buckets holding the ranks each group needs; their fine rows next.
	type need struct {
		g      *dashGroup
		bucket int
	}
	needs := map[need]bool{}
	for _, g := range groups {
		g.over = subtract(g.over, g.overMinus)
		slices.Sort(g.over)
		for _, rank := range percentileRanks(g.n) {
			if bk, _, inOver := locate(g.coarse, rank); !inOver {
				needs[need{g, bk}] = true
			}
		}
	}
	type fk struct {
		key    int32
		bucket int
	}
	fine := map[fk]*[rollupBucketSecs]int64{}
	if len(span.periods) > 0 && len(needs) > 0 {
		want := map[fk]bool{}
		for nd := range needs {
			for k := range nd.g.keys {
				want[fk{k, nd.bucket}] = true
			}
		}
		keys := make([]fk, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].key != keys[j].key {
				return keys[i].key < keys[j].key
			}
			return keys[i].bucket < keys[j].bucket
		})
		// One lookup per key and period, by the whole primary key (as in
		// rollupReports).
		n := len(keys) * len(span.periods)
		ks, bs, idx := make([]int32, 0, n), make([]int16, 0, n), make([]int32, 0, n)
		grains, starts, signs := make([]string, 0, n), make([]time.Time, 0, n), make([]int32, 0, n)
		for i, k := range keys {
			for _, p := range span.periods {
				if !nonEmpty[dashPeriod{k.key, p.grain, p.start.Unix()}].has(k.bucket) {
					continue
				}
				ks, bs, idx = append(ks, k.key), append(bs, int16(k.bucket)), append(idx, int32(i))
				grains, starts, signs = append(grains, p.grain), append(starts, p.start), append(signs, int32(p.sign))
			}
		}
		rows, err := tx.Query(ctx, `SELECT r.k, r.sign, f.counts
			FROM unnest($1::integer[], $2::smallint[], $3::text[], $4::date[], $5::integer[], $6::integer[])
				r(key, bucket, grain, month, sign, k)
			JOIN dash_fine f ON f.dim = $7 AND f.district_id = $8 AND f.dv = $9 AND f.iv = $10 AND f.key = r.key
				AND f.bucket = r.bucket AND f.grain = r.grain::"char" AND f.month = r.month`,
			ks, bs, grains, starts, signs, idx, string(dim), district, q.DVOnly, int16(iv))
		if err != nil {
			return nil, err
		}
		var k int
		var sg int64
		if err := forEachRowArrays(rows, []any{&k, &sg}, "p", func(arrs [][]int32) error {
			key := keys[k]
			sum := fine[key]
			if sum == nil {
				sum = new([rollupBucketSecs]int64)
				fine[key] = sum
			}
			for i, x := range arrs[0] {
				if i < rollupBucketSecs {
					sum[i] += sg * int64(x)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	perSecond := func(g *dashGroup, bk int) *[rollupBucketSecs]int64 {
		out := new([rollupBucketSecs]int64)
		for k := range g.keys {
			if s := fine[fk{k, bk}]; s != nil {
				for i, x := range s {
					out[i] += x
				}
			}
		}
		for sg, vals := range [2][]int32{g.dayMinus, g.dayVals} {
			for _, v := range vals {
				if int(v)/rollupBucketSecs == bk {
					out[int(v)%rollupBucketSecs] += int64(2*sg - 1)
				}
			}
		}
		return out
	}

	out := map[string]dashResult{}
	for name, g := range groups {
		if g.incidents == 0 {
			continue
		}
		res := dashResult{Incidents: g.incidents, Corrected: g.corrected,
			Summary: report.Summary{N: int(g.n), Missing: g.missing, Inconsistent: g.inconsistent}}
		seconds := map[int]*[rollupBucketSecs]int64{}
		res.Median, res.P90, res.P95 = report.Percentiles(g.n, func(rank int64) float64 {
			return rankValue(g.coarse, g.over, rank, func(bk int) *[rollupBucketSecs]int64 {
				ps := seconds[bk]
				if ps == nil {
					ps = perSecond(g, bk)
					seconds[bk] = ps
				}
				return ps
			})
		})
		var prioTargets []*int
		for l, n := range g.prios {
			if n > 0 {
				prioTargets = append(prioTargets, targets.over(l+1))
			}
		}
		res.TargetS = report.CommonTarget(prioTargets)
		if g.withTarget > 0 {
			v := 100 * float64(g.within) / float64(g.withTarget)
			res.WithinTargetPct = &v
		}
		out[name] = res
	}
	return out, nil
}

// dashKept reports, in tx, whether the dashboard rollups are kept in loc's
// zone.
func dashKept(ctx context.Context, tx pgx.Tx, loc *time.Location) (bool, error) {
	var zone *string
	var current bool
	if err := tx.QueryRow(ctx, `SELECT rollup_zone(), coalesce(dash_state() = dash_targets(), false)`).Scan(&zone, &current); err != nil {
		if err == pgx.ErrNoRows {
			return false, nil
		}
		return false, err
	}
	return zone != nil && loc != nil && *zone == loc.String() && current, nil
}

// ivIndex is iv's number in the rollups (report order).
func ivIndex(iv refdata.Interval) (int, error) {
	i := slices.IndexFunc(report.Definitions, func(d report.Definition) bool { return d.Interval == iv })
	if i < 0 {
		return 0, apperr.New(apperr.Invalid, "dashboard.err.interval")
	}
	return i, nil
}

// countLevel adds n to the count of level (from 1) in prios, growing it.
func countLevel[T int32 | int](prios []T, level int, n T) []T {
	if level < 1 {
		return prios
	}
	if level > len(prios) {
		prios = append(prios, make([]T, max(level, 9)-len(prios))...)
	}
	prios[level-1] += n
	return prios
}

// ivTargets are the targets of one interval by priority level, with their
// history, for one query.
type ivTargets struct {
	iv    refdata.Interval
	q     report.Query
	prios map[int]refdata.Priority
}

// on is level's target in force on local day day (a date read from the
// rollups).
func (t ivTargets) on(level int, day time.Time) *int {
	p, ok := t.prios[level]
	if !ok {
		return nil
	}
	return p.TargetOn(t.iv, refdata.Day(day.Year(), day.Month(), day.Day()))
}

// over is level's target over the query's whole range, nil when it
// changed within it (report.RangeTarget).
func (t ivTargets) over(level int) *int {
	p, ok := t.prios[level]
	if !ok {
		return nil
	}
	return report.RangeTarget(t.q, p, t.iv)
}

// readIvTargets reads, in tx, the targets of iv and their history.
func readIvTargets(ctx context.Context, tx pgx.Tx, q report.Query, iv refdata.Interval) (ivTargets, error) {
	if _, err := ivIndex(iv); err != nil {
		return ivTargets{}, err
	}
	rows, err := tx.Query(ctx, prioritySelect)
	if err != nil {
		return ivTargets{}, err
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (refdata.Priority, error) { return scanPriority(r) })
	if err != nil {
		return ivTargets{}, err
	}
	if err := addTargetHistory(ctx, tx, ps); err != nil {
		return ivTargets{}, err
	}
	out := ivTargets{iv: iv, q: q, prios: map[int]refdata.Priority{}}
	for _, p := range ps {
		out.prios[p.Level] = p
	}
	return out, nil
}

func dashGroupOf(key string, r dashResult) DashboardGroup {
	return DashboardGroup{Key: key, Incidents: r.Incidents, Summary: r.Summary}
}

// dashBreakdowns is breakdowns from the dashboard rollups: All and BySex
// from the sex dimension, ByAgeBand and ByHour from theirs.
func dashBreakdowns(ctx context.Context, tx pgx.Tx, q report.Query, opt DashboardOptions, fig *DashboardFigures) error {
	iv, err := ivIndex(opt.Interval)
	if err != nil {
		return err
	}
	targets, err := readIvTargets(ctx, tx, q, opt.Interval)
	if err != nil {
		return err
	}
	sexOf := func(k int32) string {
		if k >= 1 && int(k) <= len(Sexes) {
			return Sexes[k-1]
		}
		return ""
	}
	sexes, err := dashRead(ctx, tx, q, iv, dimSex, func(k int32) []string { return []string{"sex:" + sexOf(k), "all"} }, targets)
	if err != nil {
		return err
	}
	fig.All = DashboardGroup{Key: "all"}
	if r, ok := sexes["all"]; ok {
		fig.All = dashGroupOf("all", r)
	}
	for _, k := range append(slices.Clone(Sexes), "") {
		if r, ok := sexes["sex:"+k]; ok {
			fig.BySex = append(fig.BySex, dashGroupOf(k, r))
		}
	}
	bandOf := func(k int32) string {
		if k >= 1 && int(k) <= len(AgeBands) {
			return AgeBands[k-1].Key
		}
		return ""
	}
	bands, err := dashRead(ctx, tx, q, iv, dimBand, func(k int32) []string { return []string{bandOf(k)} }, targets)
	if err != nil {
		return err
	}
	for _, b := range AgeBands {
		if r, ok := bands[b.Key]; ok {
			fig.ByAgeBand = append(fig.ByAgeBand, dashGroupOf(b.Key, r))
		}
	}
	if r, ok := bands[""]; ok {
		fig.ByAgeBand = append(fig.ByAgeBand, dashGroupOf("", r))
	}
	hours, err := dashRead(ctx, tx, q, iv, dimHour, func(k int32) []string { return []string{strconv.Itoa(int(k))} }, targets)
	if err != nil {
		return err
	}
	for name, r := range hours {
		k, _ := strconv.Atoi(name)
		dow, hour := k/24, k%24
		fig.ByHour = append(fig.ByHour, DashboardCell{Weekday: dow, Hour: hour,
			DashboardGroup: dashGroupOf(fmt.Sprintf("%d-%02d", dow, hour), r)})
	}
	slices.SortFunc(fig.ByHour, func(a, b DashboardCell) int {
		if a.Weekday != b.Weekday {
			return a.Weekday - b.Weekday
		}
		return a.Hour - b.Hour
	})
	return nil
}

// dashReports computes the groupings of opt.Reports the dashboard rollups
// can answer, for opt.Interval alone.
func dashReports(ctx context.Context, tx pgx.Tx, q report.Query, opt DashboardOptions, fig *DashboardFigures) error {
	iv, err := ivIndex(opt.Interval)
	if err != nil {
		return err
	}
	var targets *ivTargets
	for _, by := range opt.Reports {
		var dim byte
		switch by {
		case report.BySettlement:
			dim = dimSettlement
		case report.ByWeek:
			dim = dimWeek
		default:
			continue
		}
		if !dashServes(q, dim, opt.Interval) {
			continue
		}
		if targets == nil {
			t, err := readIvTargets(ctx, tx, q, opt.Interval)
			if err != nil {
				return err
			}
			targets = &t
		}
		gq := q
		gq.GroupBy = by
		bld := report.NewBuilder(gq, nil)
		figures := func(r dashResult) report.GroupFigures {
			f := report.GroupFigures{Incidents: r.Incidents, Corrected: r.Corrected, Intervals: make([]report.Summary, len(report.Definitions))}
			f.Intervals[iv] = r.Summary
			return f
		}
		switch by {
		case report.BySettlement:
			type settlement struct {
				code, name string
				idp        bool
			}
			places := map[int32]settlement{}
			rows, err := tx.Query(ctx, `SELECT s.id, coalesce(d.code, ''), s.name, s.is_idp FROM settlements s
				LEFT JOIN districts d ON d.id = s.district_id`)
			if err != nil {
				return err
			}
			var id int32
			var st settlement
			if _, err := pgx.ForEachRow(rows, []any{&id, &st.code, &st.name, &st.idp}, func() error {
				places[id] = st
				return nil
			}); err != nil {
				return err
			}
			res, err := dashRead(ctx, tx, q, iv, dimSettlement, func(k int32) []string {
				st, ok := places[k]
				switch {
				case q.SettlementID != nil && int64(k) != *q.SettlementID, q.IDPOnly && !st.idp:
					return nil
				case k != 0 && !ok: // removed meanwhile: counted as none, as the join would
					k = 0
				}
				return []string{strconv.Itoa(int(k))}
			}, *targets)
			if err != nil {
				return err
			}
			for name, r := range res {
				k, _ := strconv.Atoi(name)
				in := report.Incident{}
				if st, ok := places[int32(k)]; ok && k != 0 {
					in.SettlementKey, in.SettlementName, in.SettlementIDP = report.SettlementKey(st.code, st.name), st.name, st.idp
				}
				bld.AddFigures(in, figures(r))
			}
		case report.ByWeek:
			res, err := dashRead(ctx, tx, q, iv, dimWeek, func(k int32) []string { return []string{strconv.Itoa(int(k))} }, *targets)
			if err != nil {
				return err
			}
			for name, r := range res {
				k, _ := strconv.Atoi(name)
				monday := report.DateOf(dashWeekEpoch.AddDate(0, 0, k), time.UTC)
				bld.AddFigures(report.Incident{Stamps: report.Stamps{Received: monday.Start(q.Location).Add(12 * time.Hour)}}, figures(r))
			}
		}
		if fig.Reports == nil {
			fig.Reports = map[report.GroupBy]report.Result{}
		}
		fig.Reports[by] = bld.Result()
	}
	return nil
}
