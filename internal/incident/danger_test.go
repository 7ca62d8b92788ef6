package incident

import (
	"reflect"
	"testing"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

func TestAssessDanger(t *testing.T) {
	ans := func(critical bool, a Answer) DangerAnswer { return DangerAnswer{Critical: critical, Answer: a} }
	cases := []struct {
		name      string
		answers   []DangerAnswer
		threshold int
		yes       int
		high      bool
	}{
		{"no answers", nil, 4, 0, false},
		{"a critical yes alone", []DangerAnswer{ans(true, Yes), ans(false, No)}, 4, 1, true},
		{"critical no, critical unknown", []DangerAnswer{ans(true, No), ans(true, Unknown)}, 4, 0, false},
		{"threshold reached", []DangerAnswer{ans(false, Yes), ans(false, Yes), ans(false, Yes), ans(false, Yes)}, 4, 4, true},
		{"above threshold", []DangerAnswer{ans(false, Yes), ans(false, Yes), ans(false, Yes)}, 2, 3, true},
		{"one below threshold", []DangerAnswer{ans(false, Yes), ans(false, Yes), ans(false, Yes), ans(false, No)}, 4, 3, false},
		{"unknown answers do not count", []DangerAnswer{ans(false, Yes), ans(false, Yes), ans(false, Yes),
			ans(false, Unknown), ans(false, Unknown)}, 4, 3, false},
		{"threshold 1", []DangerAnswer{ans(false, Yes)}, 1, 1, true},
	}
	for _, c := range cases {
		r := AssessDanger(c.answers, c.threshold)
		if r.YesCount != c.yes || r.High != c.high || r.Threshold != c.threshold {
			t.Errorf("%s: got yes=%d high=%v threshold=%d, want yes=%d high=%v threshold=%d",
				c.name, r.YesCount, r.High, r.Threshold, c.yes, c.high, c.threshold)
		}
	}
}

func TestReadDangerAnswers(t *testing.T) {
	ru := map[string]string{"ru": "Оружие?"}
	qs := []DangerQuestion{{ID: 7, Position: 1, Text: "Weapon?", Texts: ru, Critical: true, Active: true}, {ID: 9, Position: 2, Text: "Worse?", Active: true}}
	form := map[string]string{"q7": "yes", "q9": "unknown"}
	got, err := ReadDangerAnswers(qs, func(k string) string { return form[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := []DangerAnswer{{QuestionID: 7, Text: "Weapon?", Texts: ru, Critical: true, Answer: Yes}, {QuestionID: 9, Text: "Worse?", Answer: Unknown}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("answers %+v, want %+v", got, want)
	}
	if got[0].TextIn("ru") != "Оружие?" || got[0].TextIn("ka") != "Weapon?" {
		t.Errorf("TextIn: ru %q, ka %q", got[0].TextIn("ru"), got[0].TextIn("ka"))
	}

	form = map[string]string{"q7": "maybe"}
	_, err = ReadDangerAnswers(qs, func(k string) string { return form[k] })
	f := apperr.FieldsOf(err)
	if apperr.CodeOf(err) != apperr.Invalid || f["q7"].ID == "" || f["q9"].ID == "" {
		t.Errorf("a bad and a missing answer: err %v, fields %v; want a message for q7 and q9", err, f)
	}
	if _, err := ReadDangerAnswers(nil, func(string) string { return "" }); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("no questions: err %v, want invalid", err)
	}
}

func TestDangerQuestionValidate(t *testing.T) {
	q := DangerQuestion{Position: 12, Text: "  Is there a gun in the house?  "}
	if err := q.Validate(); err != nil || q.Text != "Is there a gun in the house?" {
		t.Errorf("valid question: err %v, text %q", err, q.Text)
	}
	q = DangerQuestion{Position: 0, Text: " "}
	f := apperr.FieldsOf(q.Validate())
	if f["position"].ID == "" || f["text"].ID == "" {
		t.Errorf("empty question at position 0: fields %v", f)
	}
	q = DangerQuestion{Position: 1, Text: string(make([]byte, 301))}
	if f := apperr.FieldsOf(q.Validate()); f["text"].ID == "" {
		t.Errorf("301 characters accepted")
	}
}

func TestParseDangerThreshold(t *testing.T) {
	for _, s := range []string{"1", "4", " 20 "} {
		if _, err := ParseDangerThreshold(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "0", "21", "-3", "four", "2.5"} {
		if _, err := ParseDangerThreshold(s); apperr.FieldsOf(err)["threshold"].ID == "" {
			t.Errorf("%q accepted (err %v)", s, err)
		}
	}
}
