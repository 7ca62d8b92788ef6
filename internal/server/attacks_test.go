package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// TestAccessAttacks replays the record-access attacks of issue 12 with the
// demo-like accounts of the access fixture, on real PostgreSQL through the
// HTTP stack, and checks each is refused (403, audited as denied, nothing
// stored, nothing of the other district's record shown), next to a
// control request that the same user may make and that succeeds, so that
// a refusal cannot come from a malformed request.
func TestAccessAttacks(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	ctx := context.Background()
	db := f.ts.DB
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	callTaker := audit.Actor{UserID: f.users["disp-all"].ID}
	now := time.Now()
	// newIncident logs a call directly; district is a code or "".
	newIncident := func(typeID int64, district, address, victim string, units ...string) (int64, string) {
		t.Helper()
		var d *int64
		if district != "" {
			id := f.district[district].ID
			d = &id
		}
		key, received, err := db.CreateDraft(ctx, callTaker.UserID)
		must(err)
		id, number, _, err := db.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: typeID, Priority: 1,
			DistrictID: d, Address: address, Victim: incident.Person{Name: victim}, Keys: incident.KeysOf(match.Rules{Region: "KG"}, address, "", "", victim, "")},
			time.UTC, callTaker)
		must(err)
		for _, u := range units {
			must(db.AssignUnit(ctx, id, f.units[u].ID, callTaker))
		}
		return id, number
	}
	// newOrder issues an order on incident id (matched by address and
	// names, as the history and the candidates match).
	newOrder := func(id int64, district, protected, restrained, address string) (int64, string) {
		t.Helper()
		d := f.district[district].ID
		oid, number, err := db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, IncidentID: &id, DistrictID: &d,
			ProtectedName: protected, RestrainedName: restrained, Address: address, StartsAt: now, EndsAt: now.Add(72 * time.Hour),
			AddressKey: flatKeyOf(address), ProtectedKey: match.Name(protected), RestrainedKey: match.Name(restrained)},
			time.UTC, callTaker)
		must(err)
		return oid, number
	}
	linkedOrder := func(id int64) int64 {
		return queryInt(t, db, `SELECT coalesce(protection_order_id, 0) FROM incidents WHERE id = $1`, id)
	}

	// Item 2: linking a violated order of another district (an IDOR).
	t.Run("item 2: violated order of another district", func(t *testing.T) {
		viol := refdata.IncidentType{Code: "PO-VIOL", Name: "Violation of protection order", IsDV: true, Active: true}
		must(db.SaveIncidentType(ctx, &viol, audit.Actor{}))
		const addr, victim = "ul. Chui 12", "Aigul Asanova"
		inc, _ := newIncident(viol.ID, "LEN", addr, victim)
		oshOrder, oshNumber := newOrder(f.rec[recOSH].incident, "OSH", victim, "Bakyt Oshsky", addr)
		lenOrder, lenNumber := newOrder(f.rec[recLEN].incident, "LEN", victim, "Bakyt Lensky", addr)
		path := "/incidents/" + itoa(inc)
		c := f.login(t, "disp-len")

		// The candidates offer the own district's order, not the other's.
		d := doc(t, ok200(t, c.get(path)))
		var offered []string
		d.Find(`#orders select[name="order_id"] option`).Each(func(_ int, s *goquery.Selection) {
			v, _ := s.Attr("value")
			offered = append(offered, v)
		})
		if !slices.Contains(offered, itoa(lenOrder)) || slices.Contains(offered, itoa(oshOrder)) {
			t.Errorf("candidates %v: want the LEN order %d and not the OSH order %d", offered, lenOrder, oshOrder)
		}
		// (The history panel is judged by its own test: here the orders
		// section.)
		if orders := d.Find("#orders").Text(); strings.Contains(orders, "Bakyt Oshsky") || strings.Contains(orders, oshNumber) {
			t.Errorf("the incident's orders section offers the OSH order: %q", orders)
		}

		// By id, by number, and a number that does not exist: the same
		// refusal, audited, nothing linked, nothing shown.
		answers := map[string]string{}
		for name, form := range map[string]url.Values{
			"by id":     {"order_id": {itoa(oshOrder)}},
			"by number": {"number": {strings.ToLower(oshNumber)}},
			"missing":   {"number": {"PO-1999-000001"}},
			"no id":     {"order_id": {"987654321"}},
		} {
			before := f.denials(t, f.users["disp-len"].ID)
			resp := c.postForm(path+"/violated-order", form)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", name, resp.StatusCode)
				continue
			}
			b := body(t, resp)
			if strings.Contains(b, "Bakyt Oshsky") || (name != "by number" && strings.Contains(b, oshNumber)) {
				t.Errorf("%s: the refusal shows the OSH order", name)
			}
			msg := strings.TrimSpace(doc(t, resp).Find("#orders .field-error, #orders .form-error, #orders .error").Text())
			if !strings.Contains(b, "This protection order is outside your district or area, or there is no such order.") {
				t.Errorf("%s: the refusal does not say why: %q", name, msg)
			}
			answers[name] = msg
			if f.denials(t, f.users["disp-len"].ID) <= before {
				t.Errorf("%s: refused without an audit row with outcome denied", name)
			}
			if got := linkedOrder(inc); got != 0 {
				t.Fatalf("%s: the OSH order was linked (%d)", name, got)
			}
		}
		if answers["by id"] != answers["missing"] || answers["by number"] != answers["missing"] {
			t.Errorf("an order of another district and a missing one are answered differently: %q", answers)
		}

		// Control: the own district's order is linked, and the link is
		// audited under the order's own record as well as the incident's.
		wantRedirect(t, c.postForm(path+"/violated-order", url.Values{"order_id": {itoa(lenOrder)}}), path+"#orders")
		if n := queryInt(t, db, `SELECT count(*) FROM audit_events WHERE action = 'order.link_violation'
			AND record_type = 'protection_order' AND record_id = $1 AND outcome = 'ok'`, lenNumber); n != 1 {
			t.Errorf("%d audit rows of the link under the order's record, want 1", n)
		}

		// A national dispatcher may link the OSH order; then the OSH
		// supervisor reads it in their audit trail, and the LEN dispatcher
		// is told the call is linked, without the order's parties.
		wantRedirect(t, f.login(t, "disp-all").postForm(path+"/violated-order", url.Values{"order_id": {itoa(oshOrder)}}), path+"#orders")
		q := url.Values{"record_id": {oshNumber}, "action": {"order.link_violation"}}.Encode()
		if n := doc(t, ok200(t, f.login(t, "sup-osh").get("/audit?"+q))).Find("table.audit-rows tbody tr").Length(); n != 1 {
			t.Errorf("the OSH supervisor reads %d rows of the link of their order, want 1", n)
		}
		orders := doc(t, ok200(t, c.get(path))).Find("#orders")
		if html, _ := orders.Html(); strings.Contains(html, "Bakyt Oshsky") || strings.Contains(html, `href="/orders/`+itoa(oshOrder)+`"`) {
			t.Errorf("the LEN incident page shows the parties of (or links to) the OSH order linked to it: %q", orders.Text())
		}
		if !strings.Contains(orders.Find(".violated-order").Text(), oshNumber) {
			t.Errorf("the LEN incident page does not say which order the call is linked to")
		}
	})

	// Item 3: an officer acts on an incident of their district that their
	// unit is not (or no longer) assigned to.
	t.Run("item 3: officer not assigned", func(t *testing.T) {
		c := f.login(t, "off-len") // unit LEN-2
		crisis := refdata.Partner{Name: "Crisis Centre", Kind: refdata.CrisisCentre, Active: true}
		must(db.SavePartner(ctx, &crisis, audit.Actor{}))
		qs, err := db.ActiveDangerQuestions(ctx)
		must(err)
		answers := url.Values{}
		for _, q := range qs {
			answers.Set(incident.AnswerField(q.ID), string(incident.No))
		}
		other, _ := newIncident(f.typ.ID, "LEN", "Other unit street 4", "Victim Other", "LEN-1")
		otherOrder, _ := newOrder(other, "LEN", "Victim Other", "Restrained Other", "Other unit street 4")
		layout := func(t time.Time) string { return t.UTC().Format(incident.OrderTimeLayout) }
		newOrderForm := url.Values{"kind": {"temporary"}, "protected_name": {"P"}, "restrained_name": {"R"},
			"starts_at": {layout(now)}, "ends_at": {layout(now.Add(96 * time.Hour))}}
		type target struct {
			name     string
			incident int64
			order    int64
		}
		attempts := func(tg target) []struct {
			what  string
			path  string
			form  url.Values
			count string
		} {
			in, o := itoa(tg.incident), itoa(tg.order)
			return []struct {
				what  string
				path  string
				form  url.Values
				count string
			}{
				{"extend the order", "/orders/" + o + "/extend", url.Values{"ends_at": {layout(now.Add(120 * time.Hour))}},
					`SELECT count(*) FROM protection_orders WHERE id = ` + o + ` AND extensions > 0`},
				{"end the order", "/orders/" + o + "/end", url.Values{"reason": {"The parties reconciled, says the victim."}},
					`SELECT count(*) FROM protection_orders WHERE id = ` + o + ` AND ended_at IS NOT NULL`},
				{"issue an order", "/incidents/" + in + "/orders/new", newOrderForm,
					`SELECT count(*) FROM protection_orders WHERE incident_id = ` + in},
				{"file a danger screen", "/incidents/" + in + "/danger", answers,
					`SELECT count(*) FROM danger_screens WHERE incident_id = ` + in},
				{"add a referral", "/incidents/" + in + "/referrals", url.Values{"partner_id": {itoa(crisis.ID)}, "consent": {"pending"}},
					`SELECT count(*) FROM referrals WHERE incident_id = ` + in},
				{"record a stage", "/incidents/" + in + "/stage", url.Values{"stage": {"en_route"}, "key": {newKey()}},
					`SELECT count(*) FROM incidents WHERE id = ` + in + ` AND en_route_at IS NOT NULL`},
			}
		}
		for _, tg := range []target{
			{"another unit's incident", other, otherOrder},
			{"an incident the unit was released from", f.rec[recLENReleased].incident, f.rec[recLENReleased].order},
		} {
			for _, a := range attempts(tg) {
				what := a.what + " on " + tg.name
				before, stored := f.denials(t, f.users["off-len"].ID), queryInt(t, db, a.count)
				resp := c.postForm(a.path, a.form)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: status %d Location %q, want 403", what, resp.StatusCode, location(resp))
				}
				if f.denials(t, f.users["off-len"].ID) <= before {
					t.Errorf("%s: refused without an audit row with outcome denied", what)
				}
				if after := queryInt(t, db, a.count); after != stored {
					t.Errorf("%s: stored (%d, then %d)", what, stored, after)
				}
			}
		}
		// Control: the same requests on the incident the unit is on succeed.
		for _, a := range attempts(target{incident: f.rec[recLEN].incident, order: f.rec[recLEN].order}) {
			stored := queryInt(t, db, a.count)
			resp := c.postForm(a.path, a.form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("%s on the unit's own incident: status %d, want 303; page says %q", a.what, resp.StatusCode, errorText(doc(t, resp)))
			}
			if after := queryInt(t, db, a.count); after <= stored {
				t.Errorf("%s on the unit's own incident: nothing stored", a.what)
			}
		}
	})

	// Item 4: an incident with no district, seen by every district's
	// dispatchers before.
	t.Run("item 4: incident with no district", func(t *testing.T) {
		none := f.rec[recNone]
		for user, want := range map[string]int{"disp-len": 403, "disp-osh": 403, "sup-len": 403, "off-len": 403,
			"disp-all": 200, "sup-all": 200, "admin": 200} {
			c := f.login(t, user)
			before := f.denials(t, f.users[user].ID)
			resp := c.get("/incidents/" + itoa(none.incident))
			if resp.StatusCode != want {
				t.Errorf("GET the incident with no district as %s: %d, want %d", user, resp.StatusCode, want)
				continue
			}
			if want == http.StatusForbidden {
				f.checkRefusal(t, "GET the incident with no district as "+user, resp, user, before, none)
				continue
			}
			if roleOf(user) != "officer" {
				if board := body(t, ok200(t, c.get("/board"))); !strings.Contains(board, none.number) {
					t.Errorf("the board of %s does not list the incident with no district", user)
				}
			}
		}
		for _, user := range []string{"disp-len", "disp-osh", "sup-len"} {
			if board := body(t, ok200(t, f.login(t, user).get("/board/fragment"))); strings.Contains(board, none.number) {
				t.Errorf("the board of %s lists the incident with no district", user)
			}
		}
		// Whoever logged it keeps it.
		ok200(t, f.login(t, "disp-len").get("/incidents/"+itoa(f.rec[recNoneByDispLEN].incident)))
	})

	// Item 9 (part): a settlement of another district on an incident.
	t.Run("item 9: settlement of another district", func(t *testing.T) {
		akTilek := refdata.Settlement{DistrictID: f.district["OSH"].ID, Name: "Ak-Tilek", IsIDP: true, Active: true}
		must(db.SaveSettlement(ctx, &akTilek, audit.Actor{}))
		c := f.login(t, "disp-all")
		for name, district := range map[string]string{"another district": itoa(f.district["LEN"].ID), "no district": ""} {
			key, _ := doc(t, c.get("/incidents/new")).Find(`form#intake input[name="key"]`).Attr("value")
			address := "Settlement lane 5 " + name
			resp := c.postForm("/incidents", url.Values{"key": {key}, "address": {address}, "district_id": {district},
				"settlement_id": {itoa(akTilek.ID)}, "type_id": {itoa(f.typ.ID)}, "priority": {"1"}})
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", name, resp.StatusCode)
				continue
			}
			d := doc(t, resp)
			if got := fieldError(d, "settlement_id"); !strings.Contains(got, "This settlement is in district OSH") {
				t.Errorf("%s: message next to the settlement %q", name, got)
			}
			if fieldValue(d, "settlement_id") != itoa(akTilek.ID) || fieldValue(d, "address") != address || fieldValue(d, "district_id") != district {
				t.Errorf("%s: the input is not kept", name)
			}
			if n := queryInt(t, db, `SELECT count(*) FROM incidents WHERE address = $1`, address); n != 0 {
				t.Errorf("%s: the incident was logged", name)
			}
		}
		// Control: the settlement's own district.
		key, _ := doc(t, c.get("/incidents/new")).Find(`form#intake input[name="key"]`).Attr("value")
		resp := c.postForm("/incidents", url.Values{"key": {key}, "address": {"Settlement lane 5"}, "district_id": {itoa(f.district["OSH"].ID)},
			"settlement_id": {itoa(akTilek.ID)}, "type_id": {itoa(f.typ.ID)}, "priority": {"1"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("the settlement in its own district: status %d, page says %q", resp.StatusCode, errorText(doc(t, resp)))
		}
	})
}
