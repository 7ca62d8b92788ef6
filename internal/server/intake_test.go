package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// intakeFixture is a server with the reference data intake needs and a
// logged-in dispatcher.
type intakeFixture struct {
	ts       *testServer
	c        *client
	district refdata.District
	typ      refdata.IncidentType
	unit     refdata.Unit
}

func newIntakeFixture(t *testing.T) *intakeFixture {
	t.Helper()
	return newIntakeFixtureWith(t)
}

// newIntakeFixtureWith is newIntakeFixture with Deps options (a stopped
// clock).
func newIntakeFixtureWith(t *testing.T, opts ...func(*Deps)) *intakeFixture {
	t.Helper()
	ts := newTestServer(t, opts...)
	ctx := context.Background()
	f := &intakeFixture{ts: ts, district: createDistrict(t, ts.DB, "LEN", "Leninsky")}
	f.typ = refdata.IncidentType{Code: "DV-PHYS", Name: "Domestic violence — physical", IsDV: true, Active: true}
	if err := ts.DB.SaveIncidentType(ctx, &f.typ, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	target := 60
	if err := ts.DB.SavePriority(ctx, &refdata.Priority{Level: 1, Label: "Immediate danger",
		Targets: map[refdata.Interval]*int{refdata.CallProcessing: &target}}, true, 0, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	f.unit = refdata.Unit{CallSign: "LEN-11", DistrictID: f.district.ID, Active: true}
	if err := ts.DB.SaveUnit(ctx, &f.unit, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	createUser(t, ts.DB, "disp", account.Dispatcher, "")
	f.c = ts.client(t)
	f.c.mustLogin("disp", testPassword)
	return f
}

// openForm opens "New call" and returns the form's key.
func (f *intakeFixture) openForm(t *testing.T) string {
	t.Helper()
	resp := f.c.get("/incidents/new")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /incidents/new: %d", resp.StatusCode)
	}
	key, ok := doc(t, resp).Find(`form#intake input[name="key"]`).Attr("value")
	if !ok || key == "" {
		t.Fatal("intake form has no key")
	}
	return key
}

func (f *intakeFixture) validForm(key string) url.Values {
	return url.Values{
		"key": {key}, "address": {"ul. Chui 12, kv. 5"}, "district_id": {itoa(f.district.ID)},
		"type_id": {itoa(f.typ.ID)}, "priority": {"1"}, "caller_name": {"Nurgul Toktogulova"},
		"caller_phone": {"+996 555 12-34-56"}, "victim_name": {"Aigul Asanova"}, "weapons": {"yes"},
		"narrative": {"Caller hears shouting next door."},
	}
}

func TestIntakeCreatesIncidentWithServerReceivedTime(t *testing.T) {
	f := newIntakeFixture(t)
	key := f.openForm(t)
	var draftAt time.Time
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT received_at FROM intake_drafts WHERE key::text = $1`, key).Scan(&draftAt); err != nil {
		t.Fatal(err)
	}
	v := f.validForm(key)
	v.Set("received_at", "2020-01-01T00:00:00Z") // a forged field is ignored
	resp := f.c.postForm("/incidents", v)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(resp), "/incidents/") {
		t.Fatalf("POST /incidents: %d to %q, want 303 to the incident", resp.StatusCode, location(resp))
	}
	var receivedAt time.Time
	var manual bool
	var number string
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT received_at, received_manual, number FROM incidents`).Scan(&receivedAt, &manual, &number); err != nil {
		t.Fatal(err)
	}
	if !receivedAt.Equal(draftAt) || manual {
		t.Errorf("received_at = %v (manual %v), want the draft's %v", receivedAt, manual, draftAt)
	}
	page := f.c.get(location(resp))
	text := body(t, page)
	for _, want := range []string{number, "Call logged as " + number, "Aigul Asanova", "Chui 12"} {
		if !strings.Contains(text, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'incident.view'`); n != 1 {
		t.Errorf("%d incident.view audit rows, want 1", n)
	}
}

func TestIntakeInvalidInputKeepsEverythingTyped(t *testing.T) {
	f := newIntakeFixture(t)
	key := f.openForm(t)
	v := url.Values{"key": {key}, "caller_name": {"Nurgul Toktogulova"}, "narrative": {"Shouting, a child crying."},
		"victim_age": {"two hundred"}, "received_manual": {time.Now().Add(2 * time.Hour).In(time.UTC).Format("2006-01-02T15:04")},
		"weapons": {"yes"}}
	resp := f.c.postForm("/incidents", v)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", resp.StatusCode)
	}
	d := doc(t, resp)
	for field, want := range map[string]string{
		"type_id": "Choose the incident type.", "priority": "Choose the priority.",
		"address": "Enter the address", "victim_age": "Enter an age", "received_manual": "cannot be in the future",
	} {
		if got := fieldError(d, field); !strings.Contains(got, want) {
			t.Errorf("error next to %s = %q, want it to contain %q", field, got, want)
		}
	}
	for field, want := range map[string]string{"caller_name": "Nurgul Toktogulova", "narrative": "Shouting, a child crying.",
		"victim_age": "two hundred", "weapons": "yes"} {
		if got := fieldValue(d, field); got != want {
			t.Errorf("field %s kept %q, want %q", field, got, want)
		}
	}
	if got, _ := d.Find(`input[name="key"]`).Attr("value"); got != key {
		t.Errorf("form key %q, want the same key %q (so a fixed resubmission stays idempotent)", got, key)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incidents`); n != 0 {
		t.Errorf("%d incidents created from invalid input", n)
	}
}

func TestIntakeBackdatedReceivedTime(t *testing.T) {
	f := newIntakeFixture(t)
	key := f.openForm(t)
	v := f.validForm(key)
	v.Set("received_manual", time.Now().Add(-30*time.Hour).UTC().Format("2006-01-02T15:04"))
	resp := f.c.postForm("/incidents", v)
	if got := fieldError(doc(t, resp), "received_manual"); !strings.Contains(got, "at most 24 hours ago") {
		t.Errorf("30 hours back: error %q", got)
	}
	when := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Minute)
	v.Set("received_manual", when.Format("2006-01-02T15:04")) // server's zone is UTC in tests
	resp = f.c.postForm("/incidents", v)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("2 hours back: status %d: %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	var got time.Time
	var manual bool
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT received_at, received_manual FROM incidents`).Scan(&got, &manual); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(when) || !manual {
		t.Errorf("received %v manual %v, want %v marked manual", got, manual, when)
	}
	if !strings.Contains(body(t, f.c.get(location(resp))), "entered by hand") {
		t.Error("incident page does not say the received time was entered by hand")
	}
}

func TestIntakeResubmissionCreatesOneIncident(t *testing.T) {
	f := newIntakeFixture(t)
	key := f.openForm(t)
	v := f.validForm(key)
	var wg sync.WaitGroup
	locs := make([]string, 10)
	codes := make([]int, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := f.c.postForm("/incidents", v)
			codes[i], locs[i] = resp.StatusCode, location(resp)
		}()
	}
	wg.Wait()
	for i := range locs {
		if codes[i] != http.StatusSeeOther || locs[i] != locs[0] {
			t.Errorf("submission %d: %d to %q, want 303 to %q", i, codes[i], locs[i], locs[0])
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incidents`); n != 1 {
		t.Errorf("%d incidents after 10 submissions with one key, want 1", n)
	}
	// A later resubmission (browser back, press again) shows the same incident.
	resp := f.c.postForm("/incidents", v)
	if location(resp) != locs[0] {
		t.Errorf("resubmission went to %q, want %q", location(resp), locs[0])
	}
	if got := flashText(doc(t, f.c.get(location(resp)))); !strings.Contains(got, "already logged") {
		t.Errorf("flash after resubmission = %q, want it to say the call was already logged", got)
	}
}

func TestIntakeWhenDatabaseIsDownKeepsInput(t *testing.T) {
	f := newIntakeFixture(t)
	key := f.openForm(t)
	v := f.validForm(key)
	f.ts.DB.Pool.Close() // the database goes away after the form was opened
	resp := f.c.postForm("/incidents", v)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	d := doc(t, resp)
	for _, name := range []string{"key", "address", "caller_name", "victim_name", "narrative", "priority"} {
		got, _ := d.Find(`input[name="` + name + `"]`).Attr("value")
		if got != v.Get(name) {
			t.Errorf("retry page keeps %s = %q, want %q", name, got, v.Get(name))
		}
	}
	if txt := body(t, resp); strings.Contains(txt, "goroutine") || strings.Contains(txt, ".go:") {
		t.Error("error page shows internals")
	}
}

func TestHistoryPanelWarnsAcrossSpellings(t *testing.T) {
	f := newIntakeFixture(t)
	resp := f.c.postForm("/incidents", f.validForm(f.openForm(t)))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first call: %d", resp.StatusCode)
	}
	var number string
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT number FROM incidents`).Scan(&number); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]url.Values{
		"address": {"address": {"UL. CHUI 12, KV. 5"}},
		"phone":   {"caller_phone": {"+996 555 12 34 56"}},
		"victim":  {"victim_name": {"asanova AIGUL"}},
	} {
		resp := f.c.postFormHeaders("/incidents/history", v, map[string]string{"HX-Request": "true"})
		txt := body(t, resp)
		if resp.StatusCode != http.StatusOK || !strings.Contains(txt, number) {
			t.Errorf("%s: status %d, panel lacks %s", name, resp.StatusCode, number)
		}
		if name != "victim" && !strings.Contains(txt, "at this flat") && !strings.Contains(txt, "from this phone") {
			t.Errorf("%s: the warning does not name its source", name)
		}
		if name != "victim" && !strings.Contains(txt, "weapons") {
			t.Errorf("%s: no weapons warning", name)
		}
	}
	resp = f.c.postFormHeaders("/incidents/history", url.Values{"address": {"Manas 99"}}, map[string]string{"HX-Request": "true"})
	if txt := body(t, resp); strings.Contains(txt, number) || !strings.Contains(txt, "No earlier incidents") {
		t.Error("an unrelated address matched")
	}
}

func TestDispatchThroughTheIncidentPage(t *testing.T) {
	f := newIntakeFixture(t)
	resp := f.c.postForm("/incidents", f.validForm(f.openForm(t)))
	inc := location(resp)
	resp = f.c.postForm(inc+"/units", url.Values{"unit_id": {itoa(f.unit.ID)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	var dispatched *time.Time
	var status string
	if err := f.ts.DB.Pool.QueryRow(context.Background(), `SELECT i.dispatched_at, u.status FROM incidents i, units u WHERE u.id = $1`,
		f.unit.ID).Scan(&dispatched, &status); err != nil {
		t.Fatal(err)
	}
	if dispatched == nil || status != "dispatched" {
		t.Errorf("after assign: dispatched_at %v, unit %s", dispatched, status)
	}
	page := body(t, f.c.get(inc))
	if !strings.Contains(page, "Unit LEN-11 assigned") {
		t.Error("timeline lacks the assignment")
	}
	board := body(t, f.c.get("/board/fragment"))
	if !strings.Contains(board, "LEN-11") || !strings.Contains(board, "Dispatched") {
		t.Error("board fragment does not show the dispatched unit")
	}
	// Where to go is on the row (issue 14); who is not.
	if strings.Contains(board, "Aigul") || strings.Contains(board, "Nurgul") || !strings.Contains(board, "ul. Chui 12, kv. 5") {
		t.Error("the board shows a name, or not the address")
	}
}

// TestIntakeAfterSessionEndedKeepsInput: a call typed while the session
// ran out (idle timeout, or ended by an administrator) is not lost: the
// answer holds every field, and sending it again after logging in logs it.
func TestIntakeAfterSessionEndedKeepsInput(t *testing.T) {
	f := newIntakeFixture(t)
	key := f.openForm(t)
	v := f.validForm(key)
	u, err := f.ts.DB.UserByUsername(context.Background(), "disp")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ts.DB.EndSessions(context.Background(), u.ID, audit.Actor{Username: "test"}); err != nil {
		t.Fatal(err)
	}
	resp := f.c.postForm("/incidents", v)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST after the session ended: status %d, want 401 with the form kept", resp.StatusCode)
	}
	d := doc(t, resp)
	sent := url.Values{}
	d.Find(`form input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		sent.Add(name, value)
	})
	for _, name := range []string{"key", "address", "caller_name", "victim_name", "narrative", "priority"} {
		if sent.Get(name) != v.Get(name) {
			t.Errorf("kept %s = %q, want %q", name, sent.Get(name), v.Get(name))
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incidents`); n != 0 {
		t.Fatalf("%d incidents logged without a valid session", n)
	}
	f.c.mustLogin("disp", testPassword)
	if resp := f.c.postForm("/incidents", sent); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Send again after logging in: status %d", resp.StatusCode)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incidents`); n != 1 {
		t.Errorf("%d incidents after sending again, want 1", n)
	}
}
