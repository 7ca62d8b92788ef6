package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/internal/report"
)

// TestFollowThroughFiguresMatchReference: every follow-through figure of
// random data (tasks, incidents, orders, violations spread over three
// months around a year's end, in two districts) equals the figure
// computed here in Go from the rows as generated, for periods that cross
// a month's and a year's end in the deployment's zone, without filters and
// with the report's filters (district, shift, DV only, unit) alone and
// combined.
func TestFollowThroughFiguresMatchReference(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	zone, err := time.LoadLocation("Asia/Bishkek")
	must(t, err)
	other := refdata.District{Code: "OKT", Name: "Oktyabrsky", Active: true}
	must(t, f.db.SaveDistrict(ctx, &other, audit.Actor{}))
	noise := refdata.IncidentType{Code: "NOISE", Name: "Noise", Active: true}
	must(t, f.db.SaveIncidentType(ctx, &noise, audit.Actor{}))
	districts := []int64{f.district.ID, other.ID}
	r := rand.New(rand.NewPCG(17, 2027))
	base := time.Date(2026, 11, 15, 0, 0, 0, 0, zone)
	span := 92 * 24 * time.Hour
	at := func() time.Time {
		return base.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Microsecond).UTC()
	}
	now := time.Date(2027, 1, 20, 12, 0, 0, 0, zone)

	type inc struct {
		id       int64
		district int64
		received time.Time
		dv       bool
		order    *int64 // violated
		police   bool
		unit     bool // f.unit was sent to it
	}
	type order struct {
		incident             *inc
		district             int64
		issued, starts, ends time.Time
		ended                *time.Time
	}
	type task struct {
		incident *inc
		district int64
		due      time.Time
		closed   *time.Time
		outcome  string
	}
	var incs []*inc
	var orders []order
	var tasks []task
	n := 0
	addIncident := func(d int64, received time.Time, dv bool, violated *int64, police bool) *inc {
		n++
		typ := noise.ID
		if dv {
			typ = f.typ.ID
		}
		var foundBy *string
		if violated != nil {
			s := "victim"
			if police {
				s = "police_check"
			}
			foundBy = &s
		}
		in := &inc{district: d, received: received, dv: dv, order: violated, police: police, unit: r.IntN(2) == 0}
		must(t, f.db.Pool.QueryRow(ctx, `INSERT INTO incidents (number, source, received_at, type_id, priority, district_id, address,
				narrative, protection_order_id, violation_found_by)
			VALUES ($1, 'intake', $2, $3, 1, $4, '', '', $5, $6) RETURNING id`,
			fmt.Sprintf("T-%06d", n), received, typ, d, violated, foundBy).Scan(&in.id))
		if in.unit {
			_, err := f.db.Pool.Exec(ctx, `INSERT INTO incident_units (incident_id, unit_id, assigned_at) VALUES ($1, $2, $3)`,
				in.id, f.unit.ID, received)
			must(t, err)
		}
		incs = append(incs, in)
		return in
	}
	for range 120 {
		addIncident(districts[r.IntN(2)], at(), r.IntN(3) > 0, nil, false)
	}
	var orderIDs []int64
	for range 60 {
		in := incs[r.IntN(len(incs))]
		issued := in.received.Add(time.Duration(r.Int64N(int64(72 * time.Hour)))).Truncate(time.Microsecond)
		o := order{incident: in, district: in.district, issued: issued, starts: issued, ends: issued.Add(time.Duration(1+r.IntN(30)) * 24 * time.Hour)}
		if r.IntN(5) == 0 {
			e := issued.Add(time.Duration(r.Int64N(int64(o.ends.Sub(issued))))).Truncate(time.Microsecond)
			o.ended = &e
		}
		var id int64
		must(t, f.db.Pool.QueryRow(ctx, `INSERT INTO protection_orders (number, kind, incident_id, district_id, protected_name, restrained_name,
				starts_at, ends_at, issued_at, ended_at)
			VALUES ($1, 'restraining', $2, $3, 'A', 'B', $4, $5, $4, $6) RETURNING id`,
			fmt.Sprintf("PO-T-%06d", len(orders)), in.id, in.district, issued, o.ends, o.ended).Scan(&id))
		orders = append(orders, o)
		orderIDs = append(orderIDs, id)
	}
	for range 40 {
		k := r.IntN(len(orders))
		addIncident(orders[k].district, at(), true, &orderIDs[k], r.IntN(3) == 0)
	}
	outcomes := []string{"reached_safe", "not_reached", "unsafe_contact", "rescreened", "superseded"}
	for i := range 200 {
		in := incs[r.IntN(len(incs))]
		tk := task{incident: in, district: in.district, due: at()}
		if r.IntN(3) > 0 {
			c := tk.due.Add(time.Duration(r.Int64N(int64(96*time.Hour))) - 48*time.Hour).Truncate(time.Microsecond)
			if r.IntN(10) == 0 {
				c = tk.due // exactly on time
			}
			tk.closed, tk.outcome = &c, outcomes[r.IntN(len(outcomes))]
		}
		var out *string
		if tk.outcome != "" {
			out = &tk.outcome
		}
		_, err := f.db.Pool.Exec(ctx, `INSERT INTO follow_up_tasks (incident_id, district_id, reason, trigger_key, seq, due_at, closed_at, outcome)
			VALUES ($1, $2, 'standard', $3, 1, $4, $5, $6)`, in.id, in.district, fmt.Sprintf("t:%d", i), tk.due, tk.closed, out)
		must(t, err)
		tasks = append(tasks, tk)
	}

	// Three orders without an incident: in force in their own district,
	// passing no other filter.
	for k, d := range []*int64{&other.ID, &f.district.ID, nil} {
		issued := base.Add(time.Duration(20+20*k) * 24 * time.Hour).UTC()
		o := order{district: 0, issued: issued, starts: issued, ends: issued.Add(40 * 24 * time.Hour)}
		if d != nil {
			o.district = *d
		}
		_, err := f.db.Pool.Exec(ctx, `INSERT INTO protection_orders (number, kind, district_id, protected_name, restrained_name,
				starts_at, ends_at, issued_at) VALUES ($1, 'court', $2, 'A', 'B', $3, $4, $3)`, fmt.Sprintf("PO-L-%d", k), d, issued, o.ends)
		must(t, err)
		orders = append(orders, o)
	}

	periods := []struct{ from, to string }{
		{"2026-12-20", "2027-01-10"}, // a year's end
		{"2027-01-25", "2027-02-05"}, // a month's end
		{"2026-12-31", "2026-12-31"}, // one day
	}
	filters := []report.Filters{{}, {DistrictID: &other.ID}, {Shift: report.NightShift},
		{DVOnly: true, UnitID: &f.unit.ID}, {DistrictID: &f.district.ID, Shift: report.DayShift}}
	for _, c := range periods {
		for _, fl := range filters {
			district := fl.DistrictID
			q := report.Query{Location: zone, Filters: fl}
			q.From, _ = report.ParseDate(c.from)
			q.To, _ = report.ParseDate(c.to)
			start, end := q.Range()
			in := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
			of := func(d int64) bool { return district == nil || *district == d }
			// passes is the other filters on an incident (nil: an order without one).
			passes := func(i *inc) bool {
				if i == nil {
					return fl.Shift == "" && !fl.DVOnly && fl.UnitID == nil
				}
				return (fl.Shift == "" || report.ShiftOf(i.received, zone) == fl.Shift) && (!fl.DVOnly || i.dv) &&
					(fl.UnitID == nil || i.unit)
			}
			var want struct {
				due, onTime, late, overdue, timed, within, dv, inForce, viol, police int64
				outcomes                                                             map[string]int64
				secs                                                                 []float64
			}
			want.outcomes = map[string]int64{}
			for _, tk := range tasks {
				if !in(tk.due) || !of(tk.district) || !passes(tk.incident) || tk.outcome == "superseded" {
					continue
				}
				want.due++
				switch {
				case tk.closed == nil:
					if !tk.due.After(now) {
						want.overdue++
					}
				case !tk.closed.After(tk.due):
					want.onTime++
				default:
					want.late++
				}
				if tk.outcome != "" {
					want.outcomes[tk.outcome]++
				}
			}
			for _, o := range orders {
				if !passes(o.incident) {
					continue
				}
				if o.incident != nil && in(o.issued) && of(o.incident.district) {
					want.timed++
					s := o.issued.Sub(o.incident.received).Seconds()
					want.secs = append(want.secs, s)
					if s <= 86400 {
						want.within++
					}
				}
				if o.starts.Before(end) && o.ends.After(start) && (o.ended == nil || o.ended.After(start)) && of(o.district) {
					want.inForce++
				}
			}
			for _, i := range incs {
				if !in(i.received) || !of(i.district) || !passes(i) {
					continue
				}
				if i.dv {
					want.dv++
				}
				if i.order != nil {
					want.viol++
					if i.police {
						want.police++
					}
				}
			}
			slices.Sort(want.secs)
			got, err := f.db.FollowThrough(ctx, q, now)
			must(t, err)
			what := fmt.Sprintf("%s..%s filters %v", c.from, c.to, q.Values())
			for name, pair := range map[string][2]int64{
				"due": {got.Due, want.due}, "on time": {got.OnTime, want.onTime}, "late": {got.Late, want.late},
				"overdue": {got.Overdue, want.overdue}, "orders timed": {got.OrdersTimed, want.timed},
				"within 24 h": {got.OrdersWithin24h, want.within}, "DV incidents": {got.DVIncidents, want.dv},
				"in force": {got.OrdersInForce, want.inForce}, "violations": {got.Violations, want.viol},
				"by police": {got.ViolationsByPolice, want.police},
			} {
				if pair[0] != pair[1] {
					t.Errorf("%s: %s = %d, want %d", what, name, pair[0], pair[1])
				}
			}
			for _, o := range outcomes {
				if got.Outcomes[o] != want.outcomes[o] {
					t.Errorf("%s: outcome %s = %d, want %d", what, o, got.Outcomes[o], want.outcomes[o])
				}
			}
			for name, p := range map[string]struct {
				got *float64
				q   float64
			}{"median": {got.CallToOrderMedian, 0.5}, "p90": {got.CallToOrderP90, 0.9}} {
				w, ok := report.Percentile(want.secs, p.q)
				if ok != (p.got != nil) || (ok && math.Abs(*p.got-w) > 1e-6) {
					t.Errorf("%s: call to order %s = %v, want %v (%v)", what, name, p.got, w, ok)
				}
			}
			if want.due == 0 || want.timed == 0 {
				t.Logf("%s: %d tasks due, %d orders: a thin period", what, want.due, want.timed)
			}
		}
	}

	// The report store, loaded and kept current by a Syncer as serve runs
	// it, gives the database's figures for every period and filter, also
	// after changes that reach it only through the change log: a task
	// closed, reassigned or deleted; an incident moved in time, to another
	// district, to another type (its tasks and orders copy its facts); an
	// order ended early, another issued without an incident; a violation
	// found by a check, another undone. Each is waited for (at most 5 s
	// after its commit), not timed.
	store := facts.NewStore(zone)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- (&facts.Syncer{Feed: f.db, Store: store, Poll: 20 * time.Millisecond}).Run(sctx) }()
	defer func() { cancel(); <-done }()
	src := facts.Source{Store: store, Ref: f.db}
	agree := func(stage string) {
		t.Helper()
		var diffs []string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			diffs = diffs[:0]
			for _, c := range periods {
				for _, fl := range filters {
					q := report.Query{Location: zone, Filters: fl}
					q.From, _ = report.ParseDate(c.from)
					q.To, _ = report.ParseDate(c.to)
					got, ok, err := src.FollowThrough(ctx, q, now, nil)
					must(t, err)
					want, err := f.db.FollowThrough(ctx, q, now)
					must(t, err)
					if !ok {
						diffs = append(diffs, "the store is not serving")
					} else if d := followDiff(got, want); d != "" {
						diffs = append(diffs, fmt.Sprintf("%s..%s filters %v: %s", c.from, c.to, q.Values(), d))
					}
					// The dashboard's action counts (the orders; screens
					// come with the changes).
					acts, ok, err := src.ActionCounts(ctx, q, nil)
					must(t, err)
					aq := q
					aq.GroupBy = report.ByAll
					extras, err := f.db.DashboardExtras(ctx, aq, postgres.DashboardOptions{Now: now})
					must(t, err)
					wantActs := extras.Actions
					wantActs.Incidents = 0
					if !ok || acts != wantActs {
						diffs = append(diffs, fmt.Sprintf("%s..%s filters %v: action counts %+v, want %+v", c.from, c.to, q.Values(), acts, wantActs))
					}
				}
			}
			if len(diffs) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the store's figures differ from the database's 5 s on:\n%s", stage, strings.Join(diffs, "\n"))
			}
		}
	}
	// The store's clock at now: the days before it are sealed, their
	// counts kept; a task's change alone must move them on.
	store.SetClock(func() time.Time { return now })
	agree("loaded")
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := f.db.Pool.Exec(ctx, sql, args...)
		must(t, err)
	}
	exec(`UPDATE follow_up_tasks SET closed_at = due_at, outcome = 'reached_safe' WHERE id IN (SELECT min(id) FROM follow_up_tasks
		WHERE closed_at IS NULL AND due_at >= '2026-12-21' AND due_at < '2027-01-09')`)
	agree("an open task of a sealed day closed")
	exec(`UPDATE follow_up_tasks SET district_id = $1 WHERE id % 9 = 4`, other.ID)
	exec(`DELETE FROM follow_up_tasks WHERE id % 13 = 5`)
	exec(`UPDATE incidents SET received_at = received_at + interval '7 hours 3.5 seconds' WHERE id % 5 = 1`)
	exec(`UPDATE incidents SET district_id = $1 WHERE id % 7 = 2`, other.ID)
	exec(`UPDATE incidents SET type_id = CASE WHEN type_id = $1 THEN $2 ELSE $1 END WHERE id % 6 = 3`, noise.ID, f.typ.ID)
	exec(`UPDATE protection_orders SET ended_at = starts_at + interval '1 hour' WHERE id % 4 = 1`)
	exec(`INSERT INTO protection_orders (number, kind, district_id, protected_name, restrained_name, starts_at, ends_at, issued_at)
		VALUES ('PO-L-9', 'court', $1, 'A', 'B', '2027-01-02 10:00Z', '2027-03-02 10:00Z', '2027-01-02 10:00Z')`, other.ID)
	exec(`UPDATE incidents SET protection_order_id = $1, violation_found_by = 'police_check' WHERE id IN (SELECT min(id) FROM incidents WHERE protection_order_id IS NULL)`,
		orderIDs[0])
	exec(`UPDATE incidents SET protection_order_id = NULL, violation_found_by = NULL WHERE id IN (SELECT max(id) FROM incidents WHERE protection_order_id IS NOT NULL)`)
	agree("after changes")
	// Actions alone: danger screens done, an order moved to another
	// incident.
	exec(`INSERT INTO danger_screens (incident_id, answers, yes_count, threshold, high_danger)
		SELECT id, '[]', 0, 7, id % 2 = 0 FROM incidents WHERE id % 4 = 0`)
	agree("danger screens done")
	exec(`UPDATE protection_orders SET incident_id = (SELECT max(i.id) FROM incidents i WHERE i.received_at >= '2026-12-21' AND i.received_at < '2027-01-09'
			AND NOT EXISTS (SELECT 1 FROM protection_orders x WHERE x.incident_id = i.id))
		WHERE id = (SELECT min(o.id) FROM protection_orders o JOIN incidents i ON i.id = o.incident_id
			WHERE i.received_at >= '2026-12-21' AND i.received_at < '2027-01-09')`)
	agree("an order moved to another incident")
}
