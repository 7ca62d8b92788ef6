package postgres_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// TestRefdataNamesRoundTrip stores names per language of incident types,
// dispositions, priorities and danger-screen questions, reads them back,
// changes them and finds the change in the audit trail.
func TestRefdataNamesRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	by := audit.Actor{Username: "admin1", Role: "admin"}

	typ := refdata.IncidentType{Code: "DV-THREAT", Name: "Threats", IsDV: true, Active: true,
		Names: map[string]string{"ru": " Угрозы ", "ky": "Коркутуу", "ka": "მუქარა", "de": "Drohung"}}
	must(t, f.db.SaveIncidentType(ctx, &typ, by))
	gotT, err := f.db.IncidentType(ctx, typ.ID)
	must(t, err)
	// Trimmed, and a language the catalogue lacks is dropped.
	wantNames(t, "incident type", gotT.Names, map[string]string{"ru": "Угрозы", "ky": "Коркутуу", "ka": "მუქარა"})
	if got := gotT.LabelIn("ka"); got != "მუქარა" {
		t.Errorf("incident type LabelIn(ka) = %q", got)
	}
	if got := gotT.LabelIn("en"); got != "Threats" {
		t.Errorf("incident type LabelIn(en) = %q, want the plain name", got)
	}
	gotT.Names = map[string]string{"ru": "Угрозы убийством"}
	must(t, f.db.SaveIncidentType(ctx, &gotT, by))
	types, err := f.db.IncidentTypes(ctx)
	must(t, err)
	for _, x := range types {
		if x.ID == typ.ID {
			wantNames(t, "listed incident type", x.Names, map[string]string{"ru": "Угрозы убийством"})
		}
	}
	changed := lastChange(t, f.db, "incident_type", strconv.FormatInt(typ.ID, 10))
	if n, ok := changed["names"].(map[string]any); !ok || n["before"] == nil || n["after"] == nil {
		t.Errorf("audit of the incident type's update lacks names before/after: %v", changed)
	}

	d := refdata.Disposition{Code: "WARNED", Name: "Warning issued", Active: true, Names: map[string]string{"ru": "Вынесено предупреждение"}}
	must(t, f.db.SaveDisposition(ctx, &d, by))
	gotD, err := f.db.Disposition(ctx, d.ID)
	must(t, err)
	wantNames(t, "disposition", gotD.Names, map[string]string{"ru": "Вынесено предупреждение"})
	if gotD.LabelIn("ky") != "Warning issued" {
		t.Errorf("disposition LabelIn(ky) = %q, want the plain name", gotD.LabelIn("ky"))
	}

	p := refdata.Priority{Level: 2, Label: "Urgent", Names: map[string]string{"ky": "Шашылыш"}, Targets: map[refdata.Interval]*int{}}
	must(t, f.db.SavePriority(ctx, &p, true, 0, by))
	gotP, err := f.db.Priority(ctx, 2)
	must(t, err)
	wantNames(t, "priority", gotP.Names, map[string]string{"ky": "Шашылыш"})
	gotP.Names = nil // cleared: stored as an empty object
	must(t, f.db.SavePriority(ctx, &gotP, false, 2, by))
	gotP, err = f.db.Priority(ctx, 2)
	must(t, err)
	wantNames(t, "cleared priority", gotP.Names, map[string]string{})

	q := incident.DangerQuestion{Position: 50, Text: "Has the other person harmed a pet?", Active: true,
		Texts: map[string]string{"ru": "Причинял ли он (она) вред домашним животным?"}}
	must(t, f.db.SaveDangerQuestion(ctx, &q, by))
	gotQ, err := f.db.DangerQuestion(ctx, q.ID)
	must(t, err)
	wantNames(t, "question", gotQ.Texts, q.Texts)
	if got := gotQ.LabelIn("ru"); got != q.Texts["ru"] {
		t.Errorf("question LabelIn(ru) = %q", got)
	}
	gotQ.Texts = map[string]string{"ka": "ზიანი მიაყენა თუ არა შინაურ ცხოველს?"}
	must(t, f.db.SaveDangerQuestion(ctx, &gotQ, by))
	changed = lastChange(t, f.db, "danger_question", strconv.FormatInt(q.ID, 10))
	if _, ok := changed["texts"]; !ok {
		t.Errorf("audit of the question's update lacks texts: %v", changed)
	}
}

func wantNames(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: names %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: names %v, want %v", what, got, want)
			return
		}
	}
}

// lastChange is the "changed" detail of the newest audit row of a record.
func lastChange(t *testing.T, db *postgres.DB, recordType, id string) map[string]any {
	t.Helper()
	rows, _, err := db.AuditEvents(context.Background(), postgres.AuditFilter{RecordType: recordType, RecordID: id}, 1)
	must(t, err)
	if len(rows) == 0 {
		t.Fatalf("no audit row for %s %s", recordType, id)
	}
	var detail map[string]any
	buf, _ := json.Marshal(rows[0].Detail)
	must(t, json.Unmarshal(buf, &detail))
	changed, _ := detail["changed"].(map[string]any)
	return changed
}

// TestSeedReferenceNames loads names per language with the seed's
// reference data: new records get them, an existing record that still has
// the seed's name and no names gets them, a renamed one is left alone, and
// default danger-screen questions get their wording per language.
func TestSeedReferenceNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	// An existing type with the seed's name (seeded before names existed),
	// and one an administrator renamed.
	old := refdata.IncidentType{Code: "WELFARE", Name: "Welfare check", Active: true}
	must(t, f.db.SaveIncidentType(ctx, &old, audit.Actor{}))
	renamed := refdata.IncidentType{Code: "OTHER", Name: "Something else", Active: true}
	must(t, f.db.SaveIncidentType(ctx, &renamed, audit.Actor{}))
	qs, err := f.db.DangerQuestions(ctx)
	must(t, err)
	ref := postgres.SeedReference{
		IncidentTypes: []refdata.IncidentType{
			{Code: "DV-THREAT", Name: "Domestic violence — threats", IsDV: true, Active: true,
				Names: map[string]string{"ru": "Семейное насилие — угрозы", "ky": "Үй-бүлөлүк зомбулук — коркутуу", "ka": "ოჯახში ძალადობა — მუქარა"}},
			{Code: "WELFARE", Name: "Welfare check", Active: true, Names: map[string]string{"ru": "Проверка состояния граждан"}},
			{Code: "OTHER", Name: "Other", Active: true, Names: map[string]string{"ru": "Прочее"}},
		},
		Dispositions: []refdata.Disposition{{Code: "DUPLICATE", Name: "Duplicate of another call", Active: true,
			Names: map[string]string{"ka": "განმეორებითი გამოძახება"}}},
		Priorities:          []refdata.Priority{{Level: 4, Label: "Routine", Names: map[string]string{"ky": "Кадимки"}, Targets: map[refdata.Interval]*int{}}},
		DangerQuestionTexts: []incident.DangerQuestion{{Text: qs[0].Text, Texts: map[string]string{"ru": "Вопрос по-русски"}}},
	}
	res, err := f.db.SeedReference(ctx, ref)
	must(t, err)
	if res.IncidentTypes != 1 || res.Dispositions != 1 || res.Priorities != 1 || res.Named != 2 {
		t.Errorf("seed result %+v, want 1 type, 1 disposition, 1 priority inserted and 2 records named", res)
	}
	types, err := f.db.IncidentTypes(ctx)
	must(t, err)
	for _, x := range types {
		switch x.Code {
		case "DV-THREAT":
			wantNames(t, "seeded type", x.Names, ref.IncidentTypes[0].Names)
		case "WELFARE":
			wantNames(t, "existing type", x.Names, map[string]string{"ru": "Проверка состояния граждан"})
		case "OTHER":
			wantNames(t, "renamed type", x.Names, map[string]string{})
		}
	}
	ds, err := f.db.Dispositions(ctx)
	must(t, err)
	if len(ds) != 1 || ds[0].LabelIn("ka") != "განმეორებითი გამოძახება" {
		t.Errorf("seeded dispositions %+v", ds)
	}
	p, err := f.db.Priority(ctx, 4)
	must(t, err)
	wantNames(t, "seeded priority", p.Names, map[string]string{"ky": "Кадимки"})
	q, err := f.db.DangerQuestion(ctx, qs[0].ID)
	must(t, err)
	wantNames(t, "default question", q.Texts, map[string]string{"ru": "Вопрос по-русски"})

	// Seeding again changes nothing.
	res, err = f.db.SeedReference(ctx, ref)
	must(t, err)
	if res.Total() != 0 || res.Named != 0 {
		t.Errorf("second seed %+v, want nothing", res)
	}
}
