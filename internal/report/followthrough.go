package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
)

// FollowThrough is issue 17's figures of a query: follow-ups by risk and
// protection orders (postgres.DB.FollowThrough computes them; the
// definitions are there). They are of the whole selection: a query's
// grouping does not apply.
type FollowThrough struct {
	Due, OnTime, Late, Overdue int64
	Outcomes                   map[string]int64
	OrdersTimed                int64
	CallToOrderMedian          *float64 // seconds
	CallToOrderP90             *float64
	OrdersWithin24h            int64
	OrdersIssued, DVIncidents  int64
	OrdersInForce, Violations  int64
	ViolationsByPolice         int64
}

// FollowThroughOutcomes are the outcomes counted, in export order.
var FollowThroughOutcomes = []string{"reached_safe", "not_reached", "unsafe_contact", "rescreened"}

// followThroughRows is the figures as (name, value) pairs in export
// order; a figure with nothing to measure is nil. Ratios and shares are
// rounded as the response-time exports round them (seconds to the
// millisecond, percentages to one decimal), ratios to two decimals.
func followThroughRows(f FollowThrough) []struct {
	Name  string
	Value *float64
} {
	var rows []struct {
		Name  string
		Value *float64
	}
	add := func(name string, v *float64) {
		rows = append(rows, struct {
			Name  string
			Value *float64
		}{name, v})
	}
	n := func(v int64) *float64 { x := float64(v); return &x }
	share := func(a, b int64, scale float64, round func(float64) float64) *float64 {
		if b == 0 {
			return nil
		}
		x := round(scale * float64(a) / float64(b))
		return &x
	}
	two := func(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
	add("follow_ups_due", n(f.Due))
	add("follow_ups_on_time", n(f.OnTime))
	add("follow_ups_late", n(f.Late))
	add("follow_ups_overdue", n(f.Overdue))
	add("follow_ups_on_time_pct", share(f.OnTime, f.Due, 100, roundPct))
	for _, o := range FollowThroughOutcomes {
		add("outcome_"+o, n(f.Outcomes[o]))
	}
	add("orders_issued", n(f.OrdersIssued))
	add("call_to_order_median_s", roundPtr(f.CallToOrderMedian, roundSeconds))
	add("call_to_order_p90_s", roundPtr(f.CallToOrderP90, roundSeconds))
	add("orders_within_24h", n(f.OrdersWithin24h))
	add("orders_within_24h_pct", share(f.OrdersWithin24h, f.OrdersTimed, 100, roundPct))
	add("dv_incidents", n(f.DVIncidents))
	add("orders_per_dv_incident", share(f.OrdersIssued, f.DVIncidents, 1, two))
	add("orders_in_force", n(f.OrdersInForce))
	add("violations", n(f.Violations))
	add("violations_per_100_orders", share(f.Violations, f.OrdersInForce, 100, two))
	add("violations_by_police", n(f.ViolationsByPolice))
	add("violations_by_police_pct", share(f.ViolationsByPolice, f.Violations, 100, roundPct))
	return rows
}

// WriteFollowThrough writes the figures f of q in format fm: JSON, one
// object {"from", "to", "time_zone", "filters", "figures": {name: value
// or null}}; CSV, the header from,to,figure,value and one row per figure
// (an empty value for nothing to measure).
func WriteFollowThrough(w io.Writer, q Query, f FollowThrough, fm Format) error {
	rows := followThroughRows(f)
	if fm == CSV {
		cw := csv.NewWriter(w)
		cw.UseCRLF = true
		if err := cw.Write([]string{"from", "to", "figure", "value"}); err != nil {
			return err
		}
		for _, r := range rows {
			v := ""
			if r.Value != nil {
				v = strconv.FormatFloat(*r.Value, 'f', -1, 64)
			}
			if err := cw.Write([]string{q.From.String(), q.To.String(), r.Name, v}); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	figs := jsonOrdered{}
	for _, r := range rows {
		figs = append(figs, jsonPair{r.Name, r.Value})
	}
	out := struct {
		From     string            `json:"from"`
		To       string            `json:"to"`
		TimeZone string            `json:"time_zone"`
		Filters  map[string]string `json:"filters"`
		Figures  jsonOrdered       `json:"figures"`
	}{From: q.From.String(), To: q.To.String(), Filters: q.filterValues(), Figures: figs}
	if q.Location != nil {
		out.TimeZone = q.Location.String()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type jsonPair struct {
	k string
	v *float64
}

// jsonOrdered is an object whose keys keep their order.
type jsonOrdered []jsonPair

func (o jsonOrdered) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, p := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(p.k)
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}
