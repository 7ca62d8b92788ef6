package server

import (
	"context"
	"encoding/csv"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

var htmxHeaders = map[string]string{"HX-Request": "true"}

// flatText is the page's text with runs of spaces folded.
func flatText(t *testing.T, resp *http.Response) string {
	t.Helper()
	return strings.Join(strings.Fields(doc(t, resp).Text()), " ")
}

// knownIncident logs a call in the fixture's district with a phone, the
// people's names and weapons, and returns its id and number.
func (f *poFixture) knownIncident(t *testing.T, address, phone, victim, suspect string, weapons bool) (int64, string) {
	t.Helper()
	ctx := context.Background()
	key, received, err := f.ts.DB.CreateDraft(ctx, f.creator.ID)
	if err != nil {
		t.Fatal(err)
	}
	id, number, _, err := f.ts.DB.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: f.typ.ID, Priority: 1,
		DistrictID: &f.district.ID, Address: address, Caller: incident.Caller{Name: "Nurgul Toktogulova", Phone: phone},
		Victim: incident.Person{Name: victim}, Suspect: incident.Person{Name: suspect}, Weapons: &weapons,
		Keys: incident.KeysOf(match.Rules{Region: "KG"}, address, phone, "Nurgul Toktogulova", victim, suspect)},
		time.UTC, audit.Actor{UserID: f.creator.ID})
	if err != nil {
		t.Fatal(err)
	}
	return id, number
}

// TestHistoryNeedToKnow replays issue 12's attack: a dispatcher of another
// district looks up a Leninsky victim by name, address and phone.
func TestHistoryNeedToKnow(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	createDistrict(t, f.ts.DB, "GOR", "Gori")
	inc, number := f.knownIncident(t, "ul. Chui 12, kv. 5", "+996 555 12-34-56", "Aigul Asanova", "Bakyt Asanov", true)
	now := time.Now()
	_, order := f.order(t, inc, "Aigul Asanova", "Bakyt Asanov", "ul. Chui 12, kv. 5", now.Add(-time.Hour), now.Add(48*time.Hour))
	hidden, hiddenNumber := f.knownIncident(t, "Manas 40, kv. 2", "", "", "", true)
	if _, err := f.ts.DB.SetAddressConfidential(context.Background(), hidden, true, "", audit.Actor{UserID: f.creator.ID}); err != nil {
		t.Fatal(err)
	}
	gori := f.user(t, "dispatcher.gori", account.Dispatcher, "GOR")
	lenc := f.user(t, "dispatcher.len", account.Dispatcher, "LEN")

	lookups := map[string]url.Values{
		"by name":    {"victim_name": {"asanova AIGUL"}, "suspect_name": {"ASANOV bakyt"}},
		"by address": {"address": {"UL. CHUI 12, KV. 5"}},
		"by phone":   {"caller_phone": {"+996 555 12-34-56"}},
	}
	year := now.Format("2006")
	for name, v := range lookups {
		resp := gori.postFormHeaders("/incidents/history", v, htmxHeaders)
		txt := flatText(t, resp)
		raw := body(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", name, resp.StatusCode)
		}
		for _, secret := range []string{number, order, "Aigul", "Asanov", "Bakyt", "Chui", "555", "Nurgul", year, "/incidents/" + itoa(inc), "/orders/"} {
			if strings.Contains(raw, secret) {
				t.Errorf("%s: another district's answer discloses %q: %s", name, secret, txt)
			}
		}
		for _, want := range []string{"Leninsky", "1 earlier incident", "call Leninsky"} {
			if !strings.Contains(txt, want) {
				t.Errorf("%s: the redacted answer lacks %q: %s", name, want, txt)
			}
		}
		if name != "by name" && !strings.Contains(txt, "weapons") {
			t.Errorf("%s: no weapons flag: %s", name, txt)
		}
		if name == "by address" && !strings.Contains(txt, "Active protection order in Leninsky") {
			t.Errorf("%s: the active order outside the area is not flagged: %s", name, txt)
		}
		// Inside the area the answer is full.
		full := flatText(t, lenc.postFormHeaders("/incidents/history", v, htmxHeaders))
		if !strings.Contains(full, number) || (name != "by phone" && !strings.Contains(full, "Active protection order "+order)) {
			t.Errorf("%s: inside the area the panel lacks %s or its order %s: %s", name, number, order, full)
		}
	}
	// A confidential address is not matched for dispatchers (who may not
	// see it), in or outside its district.
	for who, c := range map[string]*client{"gori": gori, "len": lenc} {
		txt := flatText(t, c.postFormHeaders("/incidents/history", url.Values{"address": {"MANAS 40, KV. 2"}}, htmxHeaders))
		if strings.Contains(txt, hiddenNumber) || !strings.Contains(txt, "No earlier incidents") {
			t.Errorf("%s: the confidential address matched: %s", who, txt)
		}
	}
	// Every lookup is audited: who, which fields, how many; never the values.
	var n int64
	rows, err := f.ts.DB.Pool.Query(context.Background(), `SELECT detail::text FROM audit_events WHERE action = 'history.lookup'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		n++
		for _, v := range []string{"Aigul", "asanova", "Chui", "CHUI", "555", "Manas", "MANAS"} {
			if strings.Contains(d, v) {
				t.Errorf("an audit row holds the searched value %q: %s", v, d)
			}
		}
		if !strings.Contains(d, `"fields"`) || !strings.Contains(d, `"matches"`) {
			t.Errorf("audit detail %s lacks the fields or the matches", d)
		}
	}
	if want := int64(2*len(lookups) + 2); n != want {
		t.Errorf("%d history.lookup audit rows, want %d", n, want)
	}
}

// TestHistoryThrottle: a user who looks up faster than any dispatcher types
// is told to wait, and the refusal is audited.
func TestHistoryThrottle(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	c := f.user(t, "script", account.Dispatcher, "LEN")
	var refused *http.Response
	for i := 0; i < 3*historyBurst && refused == nil; i++ {
		resp := c.postFormHeaders("/incidents/history", url.Values{"victim_name": {"Name Number" + itoa(int64(i))}}, htmxHeaders)
		if resp.StatusCode == http.StatusTooManyRequests {
			refused = resp
		}
	}
	if refused == nil {
		t.Fatal("no lookup was refused")
	}
	if txt := flatText(t, refused); !strings.Contains(txt, "Too many history lookups") {
		t.Errorf("refusal without a clear message: %s", txt)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'history.lookup' AND outcome = 'denied'`); n < 1 {
		t.Error("the refusal is not audited")
	}
}

// TestNamesakesNeverRaiseTheBanner: a name alone lists the earlier incident
// apart, collapsed, as a possible namesake, with no warning.
func TestNamesakesNeverRaiseTheBanner(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	_, number := f.knownIncident(t, "Manas 1", "", "Aigul Asanova", "", true)
	c := f.user(t, "disp", account.Dispatcher, "")
	resp := c.postFormHeaders("/incidents/history", url.Values{"victim_name": {"Aigul Asanova"}, "address": {"Other street 7"}}, htmxHeaders)
	d := doc(t, resp)
	if d.Find(".alert-danger").Length() != 0 {
		t.Errorf("a namesake raised a warning: %s", d.Find(".alert-danger").Text())
	}
	det := d.Find("details.namesakes")
	if det.Length() != 1 || !strings.Contains(det.Text(), number) || !strings.Contains(det.Text(), "possible namesake") {
		t.Errorf("the namesake is not listed apart, collapsed: %q", det.Text())
	}
}

// TestIncidentHistoryEarlierOnlyAndViewsAgree: an incident's panel lists
// only incidents received before it, and the board, the incident page and
// /my show the same warnings for it.
func TestIncidentHistoryEarlierOnlyAndViewsAgree(t *testing.T) {
	t.Parallel()
	f := newPOFixture(t)
	first, firstNum := f.knownIncident(t, "ul. Chui 12, kv. 5", "", "", "", true)
	second, secondNum := f.knownIncident(t, "ul. Chui 12, kv. 5", "", "", "", false)
	ctx := context.Background()
	unit := refdata.Unit{CallSign: "LEN-11", DistrictID: f.district.ID, Active: true}
	if err := f.ts.DB.SaveUnit(ctx, &unit, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	if err := f.ts.DB.AssignUnit(ctx, second, unit.ID, audit.Actor{UserID: f.creator.ID}); err != nil {
		t.Fatal(err)
	}
	disp := f.user(t, "disp", account.Dispatcher, "LEN")
	if raw := body(t, disp.get("/incidents/"+itoa(first))); strings.Contains(raw, `href="/incidents/`+itoa(second)+`"`) {
		t.Errorf("the first incident's page lists the later %s", secondNum)
	}
	page := doc(t, disp.get("/incidents/"+itoa(second)))
	warning := strings.Join(strings.Fields(page.Find(".alert-danger .warnings li").First().Text()), " ")
	if !strings.Contains(warning, "Earlier incident "+firstNum+" at this flat") || !strings.Contains(warning, "weapons") {
		t.Fatalf("the incident page's warning %q does not name its source %s", warning, firstNum)
	}
	board := doc(t, disp.get("/board/fragment"))
	var row string
	board.Find(`a[href="/incidents/` + itoa(second) + `"]`).Closest("tr").Each(func(_ int, s *goquery.Selection) {
		row = strings.Join(strings.Fields(s.Text()), " ")
	})
	if !strings.Contains(row, warning) || !strings.Contains(row, "weapons") {
		t.Errorf("the board row %q lacks the flag and its source %q", row, warning)
	}
	if _, err := f.ts.DB.CreateUser(ctx, account.Draft{Username: "off", Role: "officer", District: "LEN", Unit: "LEN-11",
		Password: testPassword}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	off := f.ts.client(t)
	off.mustLogin("off", testPassword)
	if my := flatText(t, off.get("/my")); !strings.Contains(my, warning) {
		t.Errorf("/my lacks the warning %q: %s", warning, my)
	}
}

// TestDuplicateCallAddedOnce: intake offers the open incident at the same
// flat; adding the call to it twice (a retry) records one call, keeps the
// first call's received time and shows in the timeline.
func TestDuplicateCallAddedOnce(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	resp := f.c.postForm("/incidents", f.validForm(f.openForm(t)))
	page := location(resp)
	var id int64
	var number string
	var received time.Time
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT id, number, received_at FROM incidents`).Scan(&id, &number, &received); err != nil {
		t.Fatal(err)
	}
	key := f.openForm(t)
	panel := doc(t, f.c.postFormHeaders("/incidents/history", url.Values{"key": {key}, "address": {"UL. CHUI 12, KV. 5"}}, htmxHeaders))
	btn := panel.Find(".duplicate-call button")
	if action, _ := btn.Attr("formaction"); action != page+"/calls" || !strings.Contains(btn.Text(), "Add this call to "+number) {
		t.Fatalf("no duplicate-call prompt for %s: %q %q", number, action, btn.Text())
	}
	form := url.Values{"key": {key}, "caller_name": {"Second Caller"}, "caller_phone": {"0700 111 222"},
		"narrative": {"Neighbour calls again: still shouting."}, "address": {"ul. Chui 12, kv. 5"}}
	for i := 0; i < 2; i++ {
		if resp := f.c.postForm(page+"/calls", form); resp.StatusCode != http.StatusSeeOther || location(resp) != page {
			t.Fatalf("add call #%d: %d %s", i+1, resp.StatusCode, location(resp))
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_calls WHERE incident_id = $1`, id); n != 1 {
		t.Errorf("%d added calls, want 1", n)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incidents`); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}
	var after time.Time
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT received_at FROM incidents WHERE id = $1`, id).Scan(&after); err != nil || !after.Equal(received) {
		t.Errorf("the first call's received time moved: %v -> %v (%v)", received, after, err)
	}
	tl := flatText(t, f.c.get(page))
	if strings.Count(tl, "Further call received") != 1 || !strings.Contains(tl, "Second Caller") {
		t.Errorf("the timeline does not show the added call once: %s", tl)
	}
}

// TestHistoryMatchCases logs an incident with the first spelling of each
// pair of ../shared/data/history-match-cases.csv through intake and asks
// the panel with the second. The rules are package match's (issue 13).
func TestHistoryMatchCases(t *testing.T) {
	b, err := os.ReadFile("../../../shared/data/history-match-cases.csv")
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatal("../shared/data/history-match-cases.csv is missing")
		}
		t.Skip("../shared/data/history-match-cases.csv is absent here")
	}
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f := newIntakeFixture(t)
	for i, rec := range recs[1:] {
		field, a, bb, expect, why := rec[0], rec[1], rec[2], rec[3], rec[4]
		form := f.validForm(f.openForm(t))
		for _, k := range []string{"address", "caller_phone", "victim_name", "caller_name"} {
			form.Del(k)
		}
		form.Set("address", "Unrelated lane "+itoa(int64(i+1000)))
		form.Set(field, a)
		resp := f.c.postForm("/incidents", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("pair %d: logging %q: %d %s", i+1, a, resp.StatusCode, errorText(doc(t, resp)))
		}
		var number string
		if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT number FROM incidents ORDER BY id DESC LIMIT 1`).Scan(&number); err != nil {
			t.Fatal(err)
		}
		txt := flatText(t, f.c.postFormHeaders("/incidents/history", url.Values{field: {bb}}, htmxHeaders))
		if got := strings.Contains(txt, number); got != (expect == "match") {
			t.Errorf("%s %q / %q (%s): matched %v, want %s", field, a, bb, why, got, expect)
		}
	}
}
