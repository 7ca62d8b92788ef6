package postgres_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// answerAll answers every active question with a, except those in set.
func answerAll(t *testing.T, f *fixture, a incident.Answer, set map[int]incident.Answer) []incident.DangerAnswer {
	t.Helper()
	qs, err := f.db.ActiveDangerQuestions(context.Background())
	must(t, err)
	form := map[string]string{}
	for _, q := range qs {
		v := a
		if x, ok := set[q.Position]; ok {
			v = x
		}
		form[incident.AnswerField(q.ID)] = string(v)
	}
	answers, err := incident.ReadDangerAnswers(qs, func(k string) string { return form[k] })
	must(t, err)
	return answers
}

func TestDefaultDangerScreen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	qs, err := f.db.ActiveDangerQuestions(context.Background())
	must(t, err)
	critical := 0
	for i, q := range qs {
		if q.Position != i+1 || q.Text == "" {
			t.Errorf("question %d: position %d text %q", i, q.Position, q.Text)
		}
		if q.Critical {
			critical++
		}
	}
	if len(qs) != 11 || critical == 0 {
		t.Errorf("default screen: %d questions, %d critical; want 11 with some critical", len(qs), critical)
	}
	n, err := f.db.DangerThreshold(context.Background())
	if err != nil || n != 4 {
		t.Errorf("default threshold %d (%v), want 4", n, err)
	}
}

func TestDangerScreenRule(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	qs, err := f.db.ActiveDangerQuestions(ctx)
	must(t, err)
	var firstCritical, firstPlain int
	for _, q := range qs {
		if q.Critical && firstCritical == 0 {
			firstCritical = q.Position
		}
		if !q.Critical && firstPlain == 0 {
			firstPlain = q.Position
		}
	}
	plainYes := func(n int) map[int]incident.Answer {
		m := map[int]incident.Answer{}
		for _, q := range qs {
			if !q.Critical && len(m) < n {
				m[q.Position] = incident.Yes
			}
		}
		return m
	}
	cases := []struct {
		name string
		rest incident.Answer
		set  map[int]incident.Answer
		yes  int
		high bool
	}{
		{"all no", incident.No, nil, 0, false},
		{"one critical yes", incident.No, map[int]incident.Answer{firstCritical: incident.Yes}, 1, true},
		{"threshold of plain yes", incident.No, plainYes(4), 4, true},
		{"one below the threshold", incident.No, plainYes(3), 3, false},
		{"unknown answers do not count", incident.Unknown, plainYes(3), 3, false},
		{"all unknown", incident.Unknown, nil, 0, false},
	}
	for _, c := range cases {
		id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
		must(t, err)
		s, err := f.db.CreateDangerScreen(ctx, id, answerAll(t, f, c.rest, c.set), f.actor)
		must(t, err)
		if s.YesCount != c.yes || s.HighDanger != c.high || s.Threshold != 4 {
			t.Errorf("%s: yes %d high %v threshold %d, want yes %d high %v threshold 4", c.name, s.YesCount, s.HighDanger, s.Threshold, c.yes, c.high)
		}
		in, err := f.db.Incident(ctx, id)
		must(t, err)
		if in.HighDanger != c.high {
			t.Errorf("%s: incident high_danger %v, want %v", c.name, in.HighDanger, c.high)
		}
	}

	// A lower threshold applies to the next screens, not to past ones.
	must(t, f.db.SetDangerThreshold(ctx, 2, f.actor))
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	s, err := f.db.CreateDangerScreen(ctx, id, answerAll(t, f, incident.No, plainYes(2)), f.actor)
	must(t, err)
	if !s.HighDanger || s.Threshold != 2 {
		t.Errorf("2 yes with threshold 2: high %v threshold %d", s.HighDanger, s.Threshold)
	}
	if n := countRows(t, f, `SELECT count(*) FROM danger_screens WHERE threshold = 4`); n != int64(len(cases)) {
		t.Errorf("%d past screens keep threshold 4, want %d", n, len(cases))
	}
	if n := countRows(t, f, `SELECT count(*) FROM audit_events WHERE action = 'settings.update'`); n != 1 {
		t.Errorf("%d audit rows for the threshold change, want 1", n)
	}
}

func countRows(t *testing.T, f *fixture, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	must(t, f.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestHighDangerStaysAndReachesHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l := startListen(t, f.db)
	l.waitConnect(t)
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{Address: "ul. Chui 12, kv. 5", VictimName: "Aigul Asanova"}), time.UTC, f.actor)
	must(t, err)
	l.waitPayload(t, "incident:"+strconv.FormatInt(id, 10))
	version := countRows(t, f, `SELECT version FROM incidents WHERE id = $1`, id)

	s, err := f.db.CreateDangerScreen(ctx, id, answerAll(t, f, incident.Yes, nil), f.actor)
	must(t, err)
	if !s.HighDanger || s.YesCount != 11 {
		t.Fatalf("all yes: high %v yes %d", s.HighDanger, s.YesCount)
	}
	l.waitPayload(t, "incident:"+strconv.FormatInt(id, 10))
	if v := countRows(t, f, `SELECT version FROM incidents WHERE id = $1`, id); v != version+1 {
		t.Errorf("version %d after flagging high danger, want %d", v, version+1)
	}
	// A later screen that finds no high danger does not erase the finding.
	low, err := f.db.CreateDangerScreen(ctx, id, answerAll(t, f, incident.No, nil), f.actor)
	must(t, err)
	if low.HighDanger {
		t.Fatal("all no found high danger")
	}
	in, err := f.db.Incident(ctx, id)
	must(t, err)
	if !in.HighDanger {
		t.Error("a later low screen cleared the incident's high-danger flag")
	}
	screens, err := f.db.DangerScreens(ctx, id)
	must(t, err)
	if len(screens) != 2 || screens[0].ID != low.ID || !screens[1].HighDanger || len(screens[1].YesAnswers()) != 11 {
		t.Errorf("screens newest first: %+v", screens)
	}
	if screens[1].DoneBy != "disp" {
		t.Errorf("done by %q, want disp", screens[1].DoneBy)
	}
	var kinds []string
	for _, e := range in.Events {
		kinds = append(kinds, e.Kind)
	}
	if n := countRows(t, f, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'danger_screen'
		AND data @> '{"high_danger": true, "yes_count": 11}'`, id); n != 1 {
		t.Errorf("timeline kinds %v: want one danger_screen event {high_danger: true, yes_count: 11}", kinds)
	}
	if n := countRows(t, f, `SELECT count(*) FROM audit_events WHERE action = 'danger_screen.create' AND record_id = $1`, in.Number); n != 2 {
		t.Errorf("%d audit rows for the screens, want 2", n)
	}
	// The history lookup of the address and the victim reports it.
	other, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{Address: "Chui 12 kv 5"}), time.UTC, f.actor)
	must(t, err)
	priors, _, err := f.db.History(ctx, incident.HistoryQuery{Keys: testRules.Keys("Chui 12 kv 5", "", "", "ASANOVA Aigul", ""), Exclude: other})
	must(t, err)
	if len(priors) != 1 || !priors[0].HighDanger {
		t.Errorf("history: %+v, want the earlier incident flagged high danger", priors)
	}
}

func TestEditingAQuestionKeepsPastAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	id, _, _, err := f.db.CreateIncident(ctx, f.call(t, incident.Form{}), time.UTC, f.actor)
	must(t, err)
	qs, err := f.db.ActiveDangerQuestions(ctx)
	must(t, err)
	q := qs[0]
	_, err = f.db.CreateDangerScreen(ctx, id, answerAll(t, f, incident.No, map[int]incident.Answer{q.Position: incident.Yes}), f.actor)
	must(t, err)

	edited := q
	edited.Text, edited.Critical = "Reworded: has a weapon been used?", !q.Critical
	must(t, f.db.SaveDangerQuestion(ctx, &edited, f.actor))
	got, err := f.db.DangerQuestion(ctx, q.ID)
	must(t, err)
	if got.Text != edited.Text {
		t.Fatalf("question not saved: %q", got.Text)
	}
	screens, err := f.db.DangerScreens(ctx, id)
	must(t, err)
	a := screens[0].Answers[0]
	if a.QuestionID != q.ID || a.Text != q.Text || a.Critical != q.Critical || a.Answer != incident.Yes {
		t.Errorf("stored answer %+v changed with the question; want text %q critical %v yes", a, q.Text, q.Critical)
	}
	if !screens[0].HighDanger {
		t.Error("the stored result changed")
	}

	// A question that was answered may still be deleted: the screen keeps its copy.
	must(t, f.db.DeleteDangerQuestion(ctx, q.ID, f.actor))
	if _, err := f.db.DangerQuestion(ctx, q.ID); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("deleted question: err %v, want not found", err)
	}
	screens, err = f.db.DangerScreens(ctx, id)
	must(t, err)
	if len(screens[0].Answers) != 11 || screens[0].Answers[0].Text != q.Text {
		t.Errorf("after deleting the question the screen holds %+v", screens[0].Answers)
	}
	if err := f.db.DeleteDangerQuestion(ctx, q.ID, f.actor); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("delete twice: %v, want not found", err)
	}
	bad := incident.DangerQuestion{Position: 0, Text: ""}
	if err := f.db.SaveDangerQuestion(ctx, &bad, f.actor); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("invalid question saved: %v", err)
	}
}

func TestDangerScreenOfMissingIncident(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.db.CreateDangerScreen(context.Background(), 999999, answerAll(t, f, incident.No, nil), f.actor)
	if apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("err %v, want not found", err)
	}
}
