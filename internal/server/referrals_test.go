package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// partnerOrg stores an active partner organisation.
func (f *poFixture) partnerOrg(t *testing.T, name string, kind refdata.PartnerKind) int64 {
	t.Helper()
	p := refdata.Partner{Name: name, Kind: kind, Active: true}
	if err := f.ts.DB.SavePartner(context.Background(), &p, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// referralArticle is the referral's entry in the incident page's
// referrals section.
func referralArticle(d *goquery.Document, partner string) *goquery.Selection {
	return d.Find("#referrals article.referral").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Find("h3").Text(), partner)
	})
}

func TestReferralWalkThroughTheIncidentPage(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	inc := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "Bakyt Asanov")
	shelter := f.partnerOrg(t, "Safe House Bishkek", refdata.Shelter)
	legal := f.partnerOrg(t, "Legal Aid Centre", refdata.LegalAid)
	inactive := refdata.Partner{Name: "Closed Shelter", Kind: refdata.Shelter, Active: false}
	if err := f.ts.DB.SavePartner(context.Background(), &inactive, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	c := f.officerOn(t, "off-len", inc)
	page := "/incidents/" + itoa(inc)

	d := doc(t, c.get(page))
	section := d.Find("section#referrals")
	if section.Length() != 1 {
		t.Fatalf("the incident page has no section#referrals")
	}
	if n := section.Find(`input[name="partner_id"]`).Length(); n != 2 {
		t.Errorf("%d organisations offered, want the 2 active ones", n)
	}
	if text := section.Text(); !strings.Contains(text, "Shelter") || !strings.Contains(text, "Legal aid") {
		t.Errorf("the organisations' kinds are not shown: %q", strings.Join(strings.Fields(text), " "))
	}

	// Nothing chosen: refused, consent kept.
	resp := c.postForm(page+"/referrals", url.Values{"consent": {"given"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no organisation: status %d, want 422", resp.StatusCode)
	}
	if v, _ := doc(t, resp).Find(`#new-consent option[selected]`).Attr("value"); v != "given" {
		t.Errorf("consent kept as %q", v)
	}
	// Two organisations at once, consent not asked yet.
	wantRedirect(t, c.postForm(page+"/referrals", url.Values{"partner_id": {itoa(shelter), itoa(legal)}, "consent": {"pending"}}), page+"#referrals")
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM referrals WHERE incident_id = $1 AND status = 'offered'`, inc); n != 2 {
		t.Fatalf("%d offered referrals, want 2", n)
	}
	rid := queryInt(t, f.ts.DB, `SELECT id FROM referrals WHERE partner_id = $1`, shelter)
	statusPath := "/referrals/" + itoa(rid) + "/status"

	d = doc(t, c.get(page))
	art := referralArticle(d, "Safe House Bishkek")
	var buttons []string
	art.Find(`button[name="to"]`).Each(func(_ int, s *goquery.Selection) {
		if v, _ := s.Attr("value"); v != "" {
			buttons = append(buttons, v)
		}
	})
	if strings.Join(buttons, ",") != "accepted,declined" {
		t.Errorf("next steps offered %v, want accepted and declined", buttons)
	}
	if !art.Find("button").HasClass("btn-large") {
		t.Errorf("the step buttons are not large")
	}

	wantRedirect(t, c.postForm(statusPath, url.Values{"to": {"accepted"}, "consent": {"pending"}}), page+"#referral-"+itoa(rid))
	// Not sent without consent: refused, with the reason next to consent.
	resp = c.postForm(statusPath, url.Values{"to": {"sent"}, "consent": {"pending"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("sent without consent: status %d, want 422", resp.StatusCode)
	}
	d = doc(t, resp)
	if got := referralArticle(d, "Safe House Bishkek").Find(".field-error").Text(); !strings.Contains(got, "consent") {
		t.Errorf("message next to consent: %q", got)
	}
	// Nor with an override lacking its reason.
	resp = c.postForm(statusPath, url.Values{"to": {"sent"}, "consent": {"overridden"}, "override_reason": {" "}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("override without reason: status %d, want 422", resp.StatusCode)
	}
	wantRedirect(t, c.postForm(statusPath, url.Values{"to": {"sent"}, "consent": {"overridden"},
		"override_reason": {"Children at risk in the home"}}), page+"#referral-"+itoa(rid))

	disp := f.user(t, "disp", account.Dispatcher, "")
	wantRedirect(t, disp.postForm(statusPath, url.Values{"to": {"acknowledged"}}), page+"#referral-"+itoa(rid))
	// Consent can no longer change once sent.
	if resp := disp.postForm(statusPath, url.Values{"consent": {"declined"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("consent changed after sending: status %d, want 409", resp.StatusCode)
	}
	wantRedirect(t, disp.postForm(statusPath, url.Values{"to": {"closed"}}), page+"#referral-"+itoa(rid))

	var consent, reason, status, updatedBy string
	var accepted, sent, acked, closed *time.Time
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT r.consent, r.override_reason, r.status, u.username,
		r.accepted_at, r.sent_at, r.acknowledged_at, r.closed_at FROM referrals r JOIN users u ON u.id = r.updated_by WHERE r.id = $1`, rid).
		Scan(&consent, &reason, &status, &updatedBy, &accepted, &sent, &acked, &closed); err != nil {
		t.Fatal(err)
	}
	if consent != "overridden" || reason != "Children at risk in the home" || status != "closed" || updatedBy != "disp" {
		t.Errorf("referral: consent %s (%q), status %s, updated by %s", consent, reason, status, updatedBy)
	}
	if accepted == nil || sent == nil || acked == nil || closed == nil {
		t.Errorf("timestamps: accepted %v sent %v acknowledged %v closed %v", accepted, sent, acked, closed)
	}
	// The incident page shows each step with who took it.
	d = doc(t, c.get(page))
	steps := referralArticle(d, "Safe House Bishkek").Find(".referral-steps li")
	wantWho := []string{"off-len", "off-len", "off-len", "disp", "disp"}
	if steps.Length() != len(wantWho) {
		t.Fatalf("%d steps shown, want %d", steps.Length(), len(wantWho))
	}
	steps.Each(func(i int, s *goquery.Selection) {
		if got := strings.TrimSpace(s.Find(".who").Text()); got != wantWho[i] {
			t.Errorf("step %d by %q, want %q", i, got, wantWho[i])
		}
	})
	for _, kind := range []string{"referral_offered", "referral_accepted", "referral_sent", "referral_acknowledged", "referral_closed", "referral_consent"} {
		if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = $2 AND data->>'partner' = 'Safe House Bishkek'`, inc, kind); n != 1 {
			t.Errorf("%d %s events, want 1", n, kind)
		}
	}
}

func TestOpenReferralsPage(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	ctx := context.Background()
	shelter := f.partnerOrg(t, "Safe House Bishkek", refdata.Shelter)
	legal := f.partnerOrg(t, "Legal Aid Centre", refdata.LegalAid)
	first := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "")
	second := f.incident(t, f.typ.ID, "ul. Manas 3", "Gulnara Bekova", "")
	c := f.officerOn(t, "off-len", first, second)
	for _, inc := range []int64{first, second} {
		wantRedirect(t, c.postForm("/incidents/"+itoa(inc)+"/referrals", url.Values{"partner_id": {itoa(shelter), itoa(legal)}}),
			"/incidents/"+itoa(inc)+"#referrals")
	}
	// The first incident's referrals have waited two days; its legal-aid
	// referral was declined and closed.
	if _, err := f.ts.DB.Pool.Exec(ctx, `UPDATE referrals SET offered_at = offered_at - interval '2 days' WHERE incident_id = $1`, first); err != nil {
		t.Fatal(err)
	}
	rid := queryInt(t, f.ts.DB, `SELECT id FROM referrals WHERE incident_id = $1 AND partner_id = $2`, first, legal)
	for _, to := range []string{"declined", "closed"} {
		wantRedirect(t, c.postForm("/referrals/"+itoa(rid)+"/status", url.Values{"to": {to}}), "/incidents/"+itoa(first)+"#referral-"+itoa(rid))
	}

	sup := f.user(t, "sup", account.Supervisor, "LEN")
	resp := sup.get("/referrals/open")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /referrals/open: %d", resp.StatusCode)
	}
	d := doc(t, resp)
	groups := map[string][]string{}
	var order []string
	d.Find("section.referral-group").Each(func(_ int, s *goquery.Selection) {
		name := strings.TrimSpace(s.Find("h2").Contents().First().Text())
		order = append(order, name)
		s.Find("tbody tr").Each(func(_ int, row *goquery.Selection) {
			groups[name] = append(groups[name], strings.TrimSpace(row.Find("td").First().Text()))
		})
	})
	num := func(id int64) string {
		var n string
		if err := f.ts.DB.Pool.QueryRow(ctx, `SELECT number FROM incidents WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if strings.Join(order, "|") != "Legal Aid Centre|Safe House Bishkek" {
		t.Errorf("groups %v, want by organisation", order)
	}
	if got := strings.Join(groups["Safe House Bishkek"], ","); got != num(first)+","+num(second) {
		t.Errorf("Safe House Bishkek: %s, want the oldest first", got)
	}
	if got := strings.Join(groups["Legal Aid Centre"], ","); got != num(second) {
		t.Errorf("Legal Aid Centre: %s, want only the open one", got)
	}
	if text := d.Find("section.referral-group").First().Text(); strings.Contains(text, "Gulnara") || strings.Contains(text, "Aigul") {
		t.Errorf("the open referrals list shows names")
	}
	if !strings.Contains(d.Text(), "2 d ") {
		t.Errorf("the waiting time of two days is not shown")
	}
	if resp := f.user(t, "root", account.Admin, "").get("/referrals/open"); resp.StatusCode != http.StatusOK {
		t.Errorf("admin: %d, want 200", resp.StatusCode)
	}
	for _, role := range []account.Role{account.Dispatcher, account.Officer} {
		if resp := f.user(t, "x-"+string(role), role, "LEN").get("/referrals/open"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", role, resp.StatusCode)
		}
	}
}

// TestReferralRoles: administrators may see referrals but not make or
// change them; nobody changes a referral of an incident they cannot see.
func TestReferralRoles(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	createDistrict(t, f.ts.DB, "OSH", "Osh")
	shelter := f.partnerOrg(t, "Safe House Bishkek", refdata.Shelter)
	inc := f.incident(t, f.typ.ID, "ul. Chui 12", "Aigul Asanova", "")
	wantRedirect(t, f.user(t, "disp", account.Dispatcher, "").postForm("/incidents/"+itoa(inc)+"/referrals",
		url.Values{"partner_id": {itoa(shelter)}, "consent": {"given"}}), "/incidents/"+itoa(inc)+"#referrals")
	rid := queryInt(t, f.ts.DB, `SELECT id FROM referrals`)

	admin := f.user(t, "root", account.Admin, "")
	d := doc(t, admin.get("/incidents/"+itoa(inc)))
	if d.Find("section#referrals article.referral").Length() != 1 {
		t.Errorf("the admin does not see the referral")
	}
	if d.Find(`section#referrals form`).Length() != 0 {
		t.Errorf("the admin is offered referral forms")
	}
	if resp := admin.postForm("/incidents/"+itoa(inc)+"/referrals", url.Values{"partner_id": {itoa(shelter)}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("admin creates a referral: %d, want 403", resp.StatusCode)
	}
	if resp := admin.postForm("/referrals/"+itoa(rid)+"/status", url.Values{"to": {"accepted"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("admin changes a referral: %d, want 403", resp.StatusCode)
	}
	osh := f.user(t, "off-osh", account.Officer, "OSH")
	if resp := osh.postForm("/referrals/"+itoa(rid)+"/status", url.Values{"to": {"accepted"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer of another district changes a referral: %d, want 403", resp.StatusCode)
	}
	if resp := osh.postForm("/incidents/"+itoa(inc)+"/referrals", url.Values{"partner_id": {itoa(shelter)}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer of another district creates a referral: %d, want 403", resp.StatusCode)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM referrals WHERE status <> 'offered'`); n != 0 {
		t.Errorf("a refused request changed a referral")
	}
}
