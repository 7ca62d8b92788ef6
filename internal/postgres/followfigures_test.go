package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
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

	for _, c := range []struct{ from, to string }{
		{"2026-12-20", "2027-01-10"}, // a year's end
		{"2027-01-25", "2027-02-05"}, // a month's end
		{"2026-12-31", "2026-12-31"}, // one day
	} {
		for _, fl := range []report.Filters{{}, {DistrictID: &other.ID}, {Shift: report.NightShift},
			{DVOnly: true, UnitID: &f.unit.ID}, {DistrictID: &f.district.ID, Shift: report.DayShift}} {
			district := fl.DistrictID
			q := report.Query{Location: zone, Filters: fl}
			q.From, _ = report.ParseDate(c.from)
			q.To, _ = report.ParseDate(c.to)
			start, end := q.Range()
			in := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
			of := func(d int64) bool { return district == nil || *district == d }
			// passes is the other filters on an incident (nil: an order without one).
			passes := func(i *inc) bool {
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
				if in(o.issued) && of(o.incident.district) {
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
}
