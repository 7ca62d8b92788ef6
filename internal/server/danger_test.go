package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// logCall logs a call through the intake form and returns the incident's
// page address.
func (f *intakeFixture) logCall(t *testing.T) string {
	t.Helper()
	resp := f.c.postForm("/incidents", f.validForm(f.openForm(t)))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log call: status %d; %s", resp.StatusCode, errorText(doc(t, resp)))
	}
	return location(resp)
}

// dangerAnswers is a filled-in danger form: every active question
// answered rest, except the questions at the given positions.
func dangerAnswers(t *testing.T, f *intakeFixture, rest incident.Answer, set map[int]incident.Answer) url.Values {
	t.Helper()
	qs, err := f.ts.DB.ActiveDangerQuestions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	for _, q := range qs {
		a := rest
		if x, ok := set[q.Position]; ok {
			a = x
		}
		v.Set(incident.AnswerField(q.ID), string(a))
	}
	return v
}

// plainPositions are the positions of the first n questions that are not critical.
func plainPositions(t *testing.T, f *intakeFixture, n int, a incident.Answer) map[int]incident.Answer {
	t.Helper()
	qs, err := f.ts.DB.ActiveDangerQuestions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]incident.Answer{}
	for _, q := range qs {
		if !q.Critical && len(m) < n {
			m[q.Position] = a
		}
	}
	return m
}

func highDanger(t *testing.T, f *intakeFixture, inc string) bool {
	t.Helper()
	return queryInt(t, f.ts.DB, `SELECT high_danger::int FROM incidents WHERE id = $1`, strings.TrimPrefix(inc, "/incidents/")) == 1
}

func TestDangerScreenByPhoneFlagsHighDanger(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	inc := f.logCall(t)

	resp := f.c.get(inc + "/danger")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/danger: %d", inc, resp.StatusCode)
	}
	d := doc(t, resp)
	qs := d.Find("form.danger-form fieldset.danger-q")
	if qs.Length() != 11 {
		t.Fatalf("the form asks %d questions, want the 11 default ones", qs.Length())
	}
	qs.Each(func(i int, q *goquery.Selection) {
		if strings.TrimSpace(q.Find("legend").Text()) == "" {
			t.Errorf("question %d has no legend", i+1)
		}
		var choices []string
		q.Find(`input[type="radio"]`).Each(func(_ int, in *goquery.Selection) {
			choices = append(choices, in.AttrOr("value", "")+"="+strings.TrimSpace(in.Parent().Text()))
		})
		if strings.Join(choices, " ") != "yes=Yes no=No unknown=Unknown" {
			t.Errorf("question %d offers %v", i+1, choices)
		}
	})

	// A critical question answered yes: high danger.
	resp = f.c.postForm(inc+"/danger", dangerAnswers(t, f, incident.No, map[int]incident.Answer{1: incident.Yes}))
	wantRedirect(t, resp, inc)
	if !highDanger(t, f, inc) {
		t.Fatal("incidents.high_danger not set")
	}
	d = doc(t, f.c.get(inc))
	if got := flashText(d); !strings.Contains(got, "HIGH DANGER") || !strings.Contains(got, "Offer a referral to a shelter or crisis centre") {
		t.Errorf("flash %q, want the high-danger prompt to offer a referral", got)
	}
	panel := d.Find("#danger")
	first, _ := f.ts.DB.ActiveDangerQuestions(context.Background())
	if txt := panel.Text(); !strings.Contains(txt, "HIGH DANGER") || !strings.Contains(txt, first[0].Text) || !strings.Contains(txt, "1 screen") {
		t.Errorf("danger panel: %q", strings.Join(strings.Fields(txt), " "))
	}
	if href := panel.Find(`a[href="#referrals"]`).Text(); !strings.Contains(href, "Offer a referral") {
		t.Error("the panel has no link to offer a referral")
	}
	if href, _ := panel.Find("a.btn").Attr("href"); href != inc+"/danger" {
		t.Errorf("the panel's Danger screen button goes to %q", href)
	}
	if !strings.Contains(strings.ToLower(body(t, f.c.get("/board/fragment"))), "high danger") {
		t.Error("the board fragment does not show high danger")
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM incident_events WHERE kind = 'danger_screen' AND data @> '{"high_danger": true, "yes_count": 1}'`); n != 1 {
		t.Errorf("%d danger_screen events, want 1", n)
	}

	// A later low screen is recorded but the flag stays.
	resp = f.c.postForm(inc+"/danger", dangerAnswers(t, f, incident.No, nil))
	wantRedirect(t, resp, inc)
	if !highDanger(t, f, inc) {
		t.Error("a later low screen cleared high danger")
	}
	d = doc(t, f.c.get(inc))
	if txt := d.Find("#danger").Text(); !strings.Contains(txt, "Not high danger") || !strings.Contains(txt, "stays flagged") || !strings.Contains(txt, "2 screens") {
		t.Errorf("danger panel after a low screen: %q", strings.Join(strings.Fields(txt), " "))
	}
}

func TestDangerScreenRuleThroughTheForm(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	cases := []struct {
		name string
		rest incident.Answer
		set  map[int]incident.Answer
		high bool
	}{
		{"threshold of yes answers", incident.No, plainPositions(t, f, 4, incident.Yes), true},
		{"one below the threshold", incident.No, plainPositions(t, f, 3, incident.Yes), false},
		{"unknown answers do not count", incident.Unknown, plainPositions(t, f, 3, incident.Yes), false},
	}
	for _, c := range cases {
		inc := f.logCall(t)
		wantRedirect(t, f.c.postForm(inc+"/danger", dangerAnswers(t, f, c.rest, c.set)), inc)
		if got := highDanger(t, f, inc); got != c.high {
			t.Errorf("%s: high danger %v, want %v", c.name, got, c.high)
		}
		flash := flashText(doc(t, f.c.get(inc)))
		if strings.Contains(flash, "HIGH DANGER") != c.high {
			t.Errorf("%s: flash %q", c.name, flash)
		}
	}
}

func TestDangerScreenNeedsEveryAnswer(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	inc := f.logCall(t)
	v := dangerAnswers(t, f, incident.No, map[int]incident.Answer{2: incident.Yes})
	qs, _ := f.ts.DB.ActiveDangerQuestions(context.Background())
	missing := incident.AnswerField(qs[4].ID)
	v.Del(missing)
	resp := f.c.postForm(inc+"/danger", v)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", resp.StatusCode)
	}
	d := doc(t, resp)
	if got := strings.TrimSpace(d.Find("fieldset#f-" + missing + " .field-error").Text()); !strings.Contains(got, "Unknown") {
		t.Errorf("message at the unanswered question: %q", got)
	}
	second := incident.AnswerField(qs[1].ID)
	if got := d.Find(`input[name="`+second+`"][checked]`).AttrOr("value", ""); got != "yes" {
		t.Errorf("the answer given was not kept: %q checked", got)
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM danger_screens`); n != 0 {
		t.Errorf("%d screens stored from an incomplete form", n)
	}
}

func TestDangerScreenAccess(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	inc := f.logCall(t) // in LEN
	createDistrict(t, f.ts.DB, "OSH", "Osh city")
	id, _ := strconv.ParseInt(strings.TrimPrefix(inc, "/incidents/"), 10, 64)
	assignUnit(t, f.ts.DB, id, f.unit.ID)
	cases := []struct {
		user     string
		role     account.Role
		district string
		unit     string
		status   int
	}{
		{"off-len", account.Officer, "LEN", f.unit.CallSign, http.StatusOK}, // their unit is on it
		{"sup-len", account.Supervisor, "LEN", "", http.StatusOK},
		{"off-len-other", account.Officer, "LEN", "", http.StatusForbidden}, // their unit is not on it
		{"off-osh", account.Officer, "OSH", "", http.StatusForbidden},
		{"admin", account.Admin, "", "", http.StatusForbidden},
	}
	for _, c := range cases {
		createUnitUser(t, f.ts.DB, c.user, c.role, c.district, c.unit)
		cl := f.ts.client(t)
		cl.mustLogin(c.user, testPassword)
		if resp := cl.get(inc + "/danger"); resp.StatusCode != c.status {
			t.Errorf("%s: GET danger form: %d, want %d", c.user, resp.StatusCode, c.status)
		}
		resp := cl.postForm(inc+"/danger", dangerAnswers(t, f, incident.Yes, nil))
		if c.status == http.StatusOK {
			wantRedirect(t, resp, inc)
		} else if resp.StatusCode != c.status {
			t.Errorf("%s: POST danger form: %d, want %d", c.user, resp.StatusCode, c.status)
		}
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM danger_screens`); n != 2 {
		t.Errorf("%d screens stored, want 2 (the officer's and the supervisor's)", n)
	}
}

func TestAdminEditOfAQuestionKeepsPastAnswers(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	admin, _ := adminClient(t, f.ts)
	inc := f.logCall(t)
	qs, _ := f.ts.DB.ActiveDangerQuestions(context.Background())
	q := qs[0]
	wantRedirect(t, f.c.postForm(inc+"/danger", dangerAnswers(t, f, incident.No, map[int]incident.Answer{q.Position: incident.Yes})), inc)

	// The question is listed, edited and made not critical.
	if txt := body(t, admin.get("/admin/danger-questions")); !strings.Contains(txt, q.Text) {
		t.Fatal("the admin list does not show the question")
	}
	edit := "/admin/danger-questions/" + itoa(q.ID)
	if got := fieldValue(doc(t, admin.get(edit)), "text"); got != q.Text {
		t.Errorf("edit form text %q", got)
	}
	reworded := "Has the other person ever pointed a weapon at you?"
	wantRedirect(t, admin.postForm(edit, url.Values{"text": {reworded}, "position": {"1"}, "active": {"on"}}), "/admin/danger-questions")
	if got, _ := f.ts.DB.DangerQuestion(context.Background(), q.ID); got.Text != reworded || got.Critical {
		t.Fatalf("question after edit: %+v", got)
	}
	screens, err := f.ts.DB.DangerScreens(context.Background(), queryInt(t, f.ts.DB, `SELECT id FROM incidents`))
	if err != nil || len(screens) != 1 {
		t.Fatalf("screens %v %v", screens, err)
	}
	if a := screens[0].Answers[0]; a.Text != q.Text || !a.Critical || a.Answer != incident.Yes || !screens[0].HighDanger {
		t.Errorf("stored answer changed with the question: %+v (high %v)", a, screens[0].HighDanger)
	}
	panel := doc(t, f.c.get(inc)).Find("#danger").Text()
	if !strings.Contains(panel, q.Text) || strings.Contains(panel, reworded) {
		t.Errorf("the incident shows the new wording for a past screen: %q", strings.Join(strings.Fields(panel), " "))
	}
	// New screens ask the new wording.
	if !strings.Contains(body(t, f.c.get(inc+"/danger")), reworded) {
		t.Error("the form does not ask the new wording")
	}

	// Invalid edits are refused next to the field, with the input kept.
	d := doc(t, admin.postForm(edit, url.Values{"text": {""}, "position": {"0"}, "critical": {"on"}}))
	if fieldError(d, "text") == "" || fieldError(d, "position") == "" || fieldValue(d, "critical") != "on" {
		t.Errorf("invalid edit: text %q position %q critical %q", fieldError(d, "text"), fieldError(d, "position"), fieldValue(d, "critical"))
	}

	// A question that was answered can still be deleted; the screen keeps it.
	wantRedirect(t, admin.postForm(edit+"/delete", nil), "/admin/danger-questions")
	if !strings.Contains(doc(t, f.c.get(inc)).Find("#danger").Text(), q.Text) {
		t.Error("deleting the question removed it from the past screen")
	}
	if n := queryInt(t, f.ts.DB, `SELECT count(*) FROM audit_events WHERE action LIKE 'danger_question.%'`); n != 2 {
		t.Errorf("%d audit rows for the question's edit and deletion, want 2", n)
	}
}

func TestDangerThresholdSetting(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	admin, _ := adminClient(t, f.ts)
	resp := admin.get("/admin/danger-settings")
	if resp.StatusCode != http.StatusOK || fieldValue(doc(t, resp), "threshold") != "4" {
		t.Fatalf("GET /admin/danger-settings: %d", resp.StatusCode)
	}
	for _, bad := range []string{"0", "21", "x", ""} {
		resp := admin.postForm("/admin/danger-settings", url.Values{"threshold": {bad}})
		d := doc(t, resp)
		if resp.StatusCode != http.StatusUnprocessableEntity || fieldError(d, "threshold") == "" || fieldValue(d, "threshold") != bad {
			t.Errorf("threshold %q: status %d, message %q, value %q", bad, resp.StatusCode, fieldError(d, "threshold"), fieldValue(d, "threshold"))
		}
	}
	wantRedirect(t, admin.postForm("/admin/danger-settings", url.Values{"threshold": {"2"}}), "/admin/danger-questions")
	if n, _ := f.ts.DB.DangerThreshold(context.Background()); n != 2 {
		t.Errorf("threshold %d after saving 2", n)
	}
	inc := f.logCall(t)
	wantRedirect(t, f.c.postForm(inc+"/danger", dangerAnswers(t, f, incident.No, plainPositions(t, f, 2, incident.Yes))), inc)
	if !highDanger(t, f, inc) {
		t.Error("2 yes answers with threshold 2 are not high danger")
	}
	// Only administrators change it.
	if resp := f.c.postForm("/admin/danger-settings", url.Values{"threshold": {"9"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("dispatcher POST /admin/danger-settings: %d, want 403", resp.StatusCode)
	}
}

// TestPastScreenSpeaksTheReadersLanguage: a screen keeps the question's
// wordings of the time in every language, and the incident page shows the
// one of the reader's language (the plain text where the question had none).
func TestPastScreenSpeaksTheReadersLanguage(t *testing.T) {
	t.Parallel()
	f := newIntakeFixture(t)
	ctx := context.Background()
	qs, err := f.ts.DB.ActiveDangerQuestions(ctx)
	if err != nil || len(qs) == 0 {
		t.Fatalf("questions: %v %v", qs, err)
	}
	q := qs[0]
	q.Texts = map[string]string{"ru": "Применял ли другой человек оружие против вас?"}
	if err := f.ts.DB.SaveDangerQuestion(ctx, &q, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	inc := f.logCall(t)
	wantRedirect(t, f.c.postForm(inc+"/danger", dangerAnswers(t, f, incident.No, map[int]incident.Answer{q.Position: incident.Yes})), inc)
	// Reworded afterwards: the screen keeps the wording it asked.
	q.Texts = map[string]string{"ru": "Другая формулировка"}
	if err := f.ts.DB.SaveDangerQuestion(ctx, &q, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	ru := strings.Join(strings.Fields(doc(t, f.c.get(inc+"?lang=ru")).Find("#danger").Text()), " ")
	if !strings.Contains(ru, "Применял ли другой человек оружие против вас?") || strings.Contains(ru, "Другая формулировка") {
		t.Errorf("the past screen in Russian: %q", ru)
	}
	if ky := doc(t, f.c.get(inc+"?lang=ky")).Find("#danger").Text(); !strings.Contains(ky, q.Text) {
		t.Errorf("the past screen in Kyrgyz (no wording) does not fall back to the plain text: %q", strings.Join(strings.Fields(ky), " "))
	}
}
