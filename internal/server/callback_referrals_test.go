package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// TestOpenReferralsShowSafeContactBeforeCallBack: on the supervisors' open
// referrals list each incident shows the victim's safe-contact rule before
// its call-back button; where calling is not safe the call-back asks for
// a reason (refused without one, the list shown again with the message
// at that row and nothing recorded) and records it; where it is safe it
// needs none. An administrator, who may not call back, gets no button.
func TestOpenReferralsShowSafeContactBeforeCallBack(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	ctx := context.Background()
	shelter := f.partnerOrg(t, "Safe House Bishkek", refdata.Shelter)
	unsafeInc := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "")
	safeInc := f.incident(t, f.typ.ID, "ul. Manas 3", "Gulnara Bekova", "")
	c := f.officerOn(t, "off-len", unsafeInc, safeInc)
	no, yes := false, true
	for inc, safe := range map[int64]*bool{unsafeInc: &no, safeInc: &yes} {
		wantRedirect(t, c.postForm("/incidents/"+itoa(inc)+"/referrals", url.Values{"partner_id": {itoa(shelter)}}),
			"/incidents/"+itoa(inc)+"#referrals")
		if err := f.ts.DB.SaveSafeContact(ctx, inc, postgres.SafeContact{SafeToCall: safe, Phone: "+996 555 000 111",
			CodeWord: "Canary-Code", Who: "police"}, false, audit.Actor{}); err != nil {
			t.Fatal(err)
		}
	}
	row := func(d *goquery.Document, inc int64) *goquery.Selection {
		return d.Find(`section.referral-group tbody tr`).FilterFunction(func(_ int, s *goquery.Selection) bool {
			return s.Find(`a[href^="/incidents/`+itoa(inc)+`#"]`).Length() == 1
		})
	}
	sup := f.user(t, "sup", account.Supervisor, "LEN")
	d := doc(t, ok200(t, sup.get("/referrals/open")))
	for _, inc := range []int64{unsafeInc, safeInc} {
		html, _ := row(d, inc).Html()
		rule, button := strings.Index(html, "safe-rule"), strings.Index(html, "call-back-button")
		if rule < 0 || button < 0 || rule > button || !strings.Contains(html, "Canary-Code") {
			t.Fatalf("incident %d: the rule (%d) is not shown before the call-back button (%d):\n%s", inc, rule, button, html)
		}
	}
	if row(d, unsafeInc).Find(`input[name="cb_reason"]`).Length() != 1 {
		t.Error("the unsafe incident's call-back asks no reason")
	}
	if row(d, safeInc).Find(`input[name="cb_reason"]`).Length() != 0 {
		t.Error("the safe incident's call-back asks a reason")
	}

	resp := sup.postForm("/incidents/"+itoa(unsafeInc)+"/call-back", url.Values{"back": {"referrals"}, "cb_reason": {"  "}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unsafe call-back without a reason: %d, want 422", resp.StatusCode)
	}
	d = doc(t, resp)
	if msg := strings.TrimSpace(row(d, unsafeInc).Find(".field-error").Text()); msg == "" {
		t.Errorf("no message at the row's reason:\n%s", d.Find("main").Text())
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM call_backs`); n != 0 {
		t.Fatalf("%d call-backs recorded after a refusal", n)
	}
	wantRedirect(t, sup.postForm("/incidents/"+itoa(unsafeInc)+"/call-back", url.Values{"back": {"referrals"}, "cb_reason": {"she asked for it"}}),
		"/referrals/open")
	wantRedirect(t, sup.postForm("/incidents/"+itoa(safeInc)+"/call-back", url.Values{"back": {"referrals"}}), "/referrals/open")
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM call_backs WHERE incident_id = $1 AND unsafe AND reason = 'she asked for it'`, unsafeInc); n != 1 {
		t.Errorf("%d unsafe call-backs with the reason, want 1", n)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM call_backs WHERE incident_id = $1 AND NOT unsafe`, safeInc); n != 1 {
		t.Errorf("%d safe call-backs, want 1", n)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'incident.call_back'`); n != 2 {
		t.Errorf("%d call-backs audited, want 2", n)
	}

	admin := f.user(t, "root", account.Admin, "")
	if b := body(t, ok200(t, admin.get("/referrals/open"))); strings.Contains(b, "call-back-button") || strings.Contains(b, "Canary-Code") {
		t.Error("the administrator is offered a call-back or shown the rule")
	}
}
