package postgres_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// orderIncident logs an incident in the fixture's district.
func (f *fixture) orderIncident(t *testing.T, form incident.Form) int64 {
	t.Helper()
	form.DistrictID = itoa(f.district.ID)
	id, _, _, err := f.db.CreateIncident(context.Background(), f.call(t, form), time.UTC, f.actor)
	must(t, err)
	return id
}

// issueOrder stores an order on incidentID with the given dates, bypassing
// the form's rules (as the store does: it trusts validated input).
func (f *fixture) issueOrder(t *testing.T, incidentID int64, kind incident.OrderKind, protected, restrained, address string, start, end time.Time) (int64, string) {
	t.Helper()
	n := incident.NewOrder{Kind: kind, IncidentID: &incidentID, DistrictID: &f.district.ID, ProtectedName: protected,
		RestrainedName: restrained, Address: address, StartsAt: start, EndsAt: end,
		AddressKey: flatKey(address), ProtectedKey: match.Name(protected), RestrainedKey: match.Name(restrained)}
	id, number, err := f.db.IssueOrder(context.Background(), n, time.UTC, f.actor)
	must(t, err)
	return id, number
}

func (f *fixture) orderCount(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	must(t, f.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestIssueOrderNumbersKeysEventsAudit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	inc := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Aigul Asanova", SuspectName: "Bakyt Asanov"})
	now := time.Now()
	id, number := f.issueOrder(t, inc, incident.TemporaryOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12, kv. 5", now, now.Add(72*time.Hour))
	if !regexp.MustCompile(`^PO-\d{4}-\d{6}$`).MatchString(number) {
		t.Errorf("number %q, want PO-YYYY-NNNNNN", number)
	}
	_, second := f.issueOrder(t, inc, incident.RestrainingOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12, kv. 5", now, now.Add(48*time.Hour))
	if second <= number {
		t.Errorf("second number %q not after %q", second, number)
	}
	var addrKey, protKey, restrKey string
	must(t, f.db.Pool.QueryRow(ctx, `SELECT address_key, protected_key, restrained_key FROM protection_orders WHERE id = $1`, id).
		Scan(&addrKey, &protKey, &restrKey))
	if addrKey != flatKey("UL. CHUI 12, KV. 5") || protKey != match.Name("ASANOVA Aigul") || restrKey != match.Name("bakyt asanov") {
		t.Errorf("keys %q %q %q", addrKey, protKey, restrKey)
	}
	if n := f.orderCount(t, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'order_issued' AND data->>'number' = $2`, inc, number); n != 1 {
		t.Errorf("%d order_issued events, want 1", n)
	}
	if n := f.orderCount(t, `SELECT count(*) FROM audit_events WHERE action = 'order.issue' AND record_id = $1`, number); n != 1 {
		t.Errorf("%d order.issue audit rows, want 1", n)
	}
	o, err := f.db.Order(ctx, id)
	must(t, err)
	if o.Number != number || o.IncidentID == nil || *o.IncidentID != inc || o.IssuedBy != "disp" || o.Kind != incident.TemporaryOrder {
		t.Errorf("Order = %+v", o)
	}
	// The database refuses an end before the start, whatever the caller.
	inc2 := inc
	_, _, err = f.db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, IncidentID: &inc2, ProtectedName: "A B",
		RestrainedName: "C D", StartsAt: now, EndsAt: now.Add(-time.Hour)}, time.UTC, f.actor)
	if apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("end before start: %v, want invalid", err)
	}
}

func TestExtendAndEndOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	inc := f.orderIncident(t, incident.Form{Address: "ul. Chui 12"})
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	id, number := f.issueOrder(t, inc, incident.TemporaryOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", start, start.Add(72*time.Hour))

	// Within 30 days in total: allowed; beyond: refused.
	must(t, f.db.ExtendOrder(ctx, id, start.Add(10*24*time.Hour), time.UTC, f.actor))
	err := f.db.ExtendOrder(ctx, id, start.Add(30*24*time.Hour+time.Minute), time.UTC, f.actor)
	if apperr.FieldsOf(err)["ends_at"].ID == "" {
		t.Errorf("extension beyond 30 days: %v, want a message for ends_at", err)
	}
	err = f.db.ExtendOrder(ctx, id, start.Add(5*24*time.Hour), time.UTC, f.actor)
	if apperr.FieldsOf(err)["ends_at"].ID == "" {
		t.Errorf("extension to before the current end: %v, want a message for ends_at", err)
	}
	o, err := f.db.Order(ctx, id)
	must(t, err)
	if !o.EndsAt.Equal(start.Add(10*24*time.Hour)) || o.Extensions != 1 {
		t.Errorf("after one extension: ends %v extensions %d", o.EndsAt, o.Extensions)
	}
	if n := f.orderCount(t, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'order_extended'`, inc); n != 1 {
		t.Errorf("%d order_extended events, want 1", n)
	}

	// Ending early needs a reason.
	if err := f.db.EndOrder(ctx, id, "no", f.actor); apperr.FieldsOf(err)["reason"].ID == "" {
		t.Errorf("end without a reason: %v", err)
	}
	must(t, f.db.EndOrder(ctx, id, "The court withdrew the order.", f.actor))
	o, err = f.db.Order(ctx, id)
	must(t, err)
	if o.EndedAt == nil || time.Since(*o.EndedAt) > time.Minute || o.EndReason != "The court withdrew the order." {
		t.Errorf("after ending: ended %v reason %q", o.EndedAt, o.EndReason)
	}
	if err := f.db.EndOrder(ctx, id, "Again, by mistake", f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("ending twice: %v, want conflict", err)
	}
	if err := f.db.ExtendOrder(ctx, id, start.Add(20*24*time.Hour), time.UTC, f.actor); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("extending an ended order: %v, want conflict", err)
	}
	for _, action := range []string{"order.extend", "order.end"} {
		if n := f.orderCount(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND record_id = $2`, action, number); n != 1 {
			t.Errorf("%d %s audit rows, want 1", n, action)
		}
	}
	if n := f.orderCount(t, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'order_ended'`, inc); n != 1 {
		t.Errorf("%d order_ended events, want 1", n)
	}
	if err := f.db.EndOrder(ctx, 999999, "Issued in error", f.actor); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("ending a missing order: %v, want not found", err)
	}
}

func TestExpiringOrders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	inc := f.orderIncident(t, incident.Form{Address: "ul. Chui 12"})
	now := time.Now()
	start := now.Add(-23 * time.Hour)
	_, in2h := f.issueOrder(t, inc, incident.RestrainingOrder, "A One", "B One", "x", start, now.Add(2*time.Hour))
	_, in1h := f.issueOrder(t, inc, incident.RestrainingOrder, "A Two", "B Two", "x", start, now.Add(1*time.Hour))
	f.issueOrder(t, inc, incident.RestrainingOrder, "A Three", "B Three", "x", start, now.Add(30*time.Hour))
	endedID, _ := f.issueOrder(t, inc, incident.RestrainingOrder, "A Four", "B Four", "x", start, now.Add(3*time.Hour))
	must(t, f.db.EndOrder(ctx, endedID, "Issued in error", f.actor))
	f.issueOrder(t, inc, incident.RestrainingOrder, "A Five", "B Five", "x", start.Add(-48*time.Hour), now.Add(-time.Hour)) // expired

	got, err := f.db.ExpiringOrders(ctx, 24*time.Hour, nil)
	must(t, err)
	var numbers []string
	for _, o := range got {
		numbers = append(numbers, o.Number)
	}
	if len(numbers) != 2 || numbers[0] != in1h || numbers[1] != in2h {
		t.Errorf("expiring = %v, want [%s %s] (soonest first; not the one in 30 h, the ended or the expired)", numbers, in1h, in2h)
	}
	other := refdata.District{Code: "OSH", Name: "Osh", Active: true}
	must(t, f.db.SaveDistrict(ctx, &other, audit.Actor{}))
	got, err = f.db.ExpiringOrders(ctx, 24*time.Hour, &other.ID)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("another district's list has %d orders", len(got))
	}
}

func TestHistoryShowsActiveOrders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	inc := f.orderIncident(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Aigul Asanova"})
	now := time.Now()
	_, active := f.issueOrder(t, inc, incident.TemporaryOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12, kv. 5", now, now.Add(72*time.Hour))
	endedID, _ := f.issueOrder(t, inc, incident.TemporaryOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12, kv. 5", now, now.Add(72*time.Hour))
	must(t, f.db.EndOrder(ctx, endedID, "Issued in error", f.actor))
	f.issueOrder(t, inc, incident.RestrainingOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12, kv. 5", now.Add(-72*time.Hour), now.Add(-time.Hour))

	cases := []struct {
		name string
		keys incident.Keys
		on   string
	}{
		{"address in capitals", testRules.Keys("UL. CHUI 12, KV. 5", "", "", "", ""), "address"},
		{"protected person", testRules.Keys("", "", "", "asanova aigul", ""), "protected person"},
		{"restrained person named as suspect", testRules.Keys("", "", "", "", "Asanov Bakyt"), "restrained person"},
	}
	for _, c := range cases {
		_, orders, err := f.db.History(ctx, incident.HistoryQuery{Keys: c.keys})
		must(t, err)
		if len(orders) != 1 || orders[0].Number != active {
			t.Errorf("%s: active orders %+v, want only %s", c.name, orders, active)
			continue
		}
		if on := orders[0].MatchedOn; len(on) != 1 || on[0] != c.on {
			t.Errorf("%s: matched on %v, want [%s]", c.name, on, c.on)
		}
		if orders[0].DistrictID == nil || *orders[0].DistrictID != f.district.ID || orders[0].IncidentID == nil {
			t.Errorf("%s: order's area %+v", c.name, orders[0])
		}
	}
	_, orders, err := f.db.History(ctx, incident.HistoryQuery{Keys: testRules.Keys("ul. Manas 1", "", "", "Someone Else", "")})
	must(t, err)
	if len(orders) != 0 {
		t.Errorf("unrelated lookup found orders %+v", orders)
	}
}

func TestLinkViolatedOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	viol := refdata.IncidentType{Code: "PO-VIOL", Name: "Violation of protection order", IsDV: true, Active: true}
	must(t, f.db.SaveIncidentType(ctx, &viol, audit.Actor{}))
	first := f.orderIncident(t, incident.Form{Address: "ul. Chui 12", VictimName: "Aigul Asanova", SuspectName: "Bakyt Asanov"})
	now := time.Now()
	orderID, number := f.issueOrder(t, first, incident.TemporaryOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12", now.Add(-time.Hour), now.Add(72*time.Hour))
	second := f.orderIncident(t, incident.Form{Address: "Chui 12", TypeID: itoa(viol.ID), SuspectName: "asanov bakyt"})

	cands, err := f.db.OrderCandidates(ctx, testRules.Keys("Chui 12", "", "", "", "asanov bakyt"))
	must(t, err)
	if len(cands) != 1 || cands[0].ID != orderID {
		t.Fatalf("candidates %+v, want the order %s", cands, number)
	}
	byNumber, err := f.db.OrderByNumber(ctx, " "+number[:3]+number[3:]+" ")
	must(t, err)
	if byNumber.ID != orderID {
		t.Errorf("OrderByNumber found %d", byNumber.ID)
	}
	must(t, f.db.LinkViolatedOrder(ctx, second, orderID, f.actor))
	must(t, f.db.LinkViolatedOrder(ctx, second, orderID, f.actor)) // again: nothing new
	linked, err := f.db.ViolatedOrder(ctx, second)
	must(t, err)
	if linked == nil || linked.Number != number {
		t.Fatalf("linked order %+v, want %s", linked, number)
	}
	if n := f.orderCount(t, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'order_violation_linked'`, second); n != 1 {
		t.Errorf("%d order_violation_linked events, want 1", n)
	}
	if n := f.orderCount(t, `SELECT count(*) FROM audit_events WHERE action = 'incident.link_order'`); n != 1 {
		t.Errorf("%d incident.link_order audit rows, want 1", n)
	}
	if o, err := f.db.ViolatedOrder(ctx, first); err != nil || o != nil {
		t.Errorf("unlinked incident: %+v, %v", o, err)
	}
	// An order that had expired before the call came in is refused.
	oldID, _ := f.issueOrder(t, first, incident.RestrainingOrder, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12",
		now.Add(-96*time.Hour), now.Add(-48*time.Hour))
	if err := f.db.LinkViolatedOrder(ctx, second, oldID, f.actor); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("linking an order expired before the call: %v, want invalid", err)
	}
	if err := f.db.LinkViolatedOrder(ctx, second, 999999, f.actor); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("linking a missing order: %v, want invalid", err)
	}
}
