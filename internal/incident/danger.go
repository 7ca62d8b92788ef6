package incident

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// The danger screen is a configurable yes/no questionnaire. Administrators
// manage the questions; an incident may be screened any number of times
// (by phone at intake, again by the officer at the scene). A screen finds
// HIGH DANGER when any critical question is answered yes, or when at least
// the threshold number of questions are answered yes. "Unknown" is never
// counted as yes.

// Answer is the answer to one question of the danger screen.
type Answer string

// The answers.
const (
	Yes     Answer = "yes"
	No      Answer = "no"
	Unknown Answer = "unknown"
)

// Label is the answer's name for people.
func (a Answer) Label() string {
	switch a {
	case Yes:
		return "Yes"
	case No:
		return "No"
	case Unknown:
		return "Unknown"
	}
	return string(a)
}

// Answers are the answers in the order the form offers them.
var Answers = []Answer{Yes, No, Unknown}

// The bounds of the high-danger threshold (the number of yes answers that
// makes a screen high danger whatever the critical questions say).
const (
	DefaultDangerThreshold = 4
	MinDangerThreshold     = 1
	MaxDangerThreshold     = 20
)

// DangerQuestion is one question of the screen.
type DangerQuestion struct {
	ID       int64
	Position int    // order on the form, 1..999
	Text     string // 1..300 characters
	// Texts is the wording per language code; Text when a language
	// lacks one.
	Texts    map[string]string
	Critical bool // a yes alone means high danger
	Active   bool // asked on new screens
}

// LabelIn is the question's wording in the language lang, else its plain
// wording.
func (q DangerQuestion) LabelIn(lang string) string { return refdata.LabelIn(q.Texts, lang, q.Text) }

// Validate trims the text and checks the question.
func (q *DangerQuestion) Validate() error {
	e := apperr.Fields{}
	q.Text = strings.TrimSpace(q.Text)
	switch n := utf8.RuneCountInString(q.Text); {
	case n == 0:
		e.Add("text", "danger.err.text_empty")
	case n > 300:
		e.Add("text", "err.text.too_long", "Max", 300, "Now", n)
	}
	if q.Position < 1 || q.Position > 999 {
		e.Add("position", "danger.err.position")
	}
	q.Texts = refdata.CleanNames(e, "text", q.Texts, 300)
	return e.Err()
}

// DangerAnswer is one answered question as stored with a screen: the
// question's wording (in every language it had) and criticality are copied
// at the time of asking, so that editing or deleting a question never
// changes a past screen.
type DangerAnswer struct {
	QuestionID int64             `json:"question_id"`
	Text       string            `json:"text"`
	Texts      map[string]string `json:"texts,omitempty"`
	Critical   bool              `json:"critical"`
	Answer     Answer            `json:"answer"`
}

// TextIn is the question as asked, in language lang when it had a wording
// in it, else in its plain text (screens stored before the wordings were
// copied have only that).
func (a DangerAnswer) TextIn(lang string) string { return refdata.LabelIn(a.Texts, lang, a.Text) }

// DangerResult is the outcome of a screen.
type DangerResult struct {
	YesCount    int
	CriticalYes int // critical questions answered yes
	Threshold   int
	High        bool
}

// AssessDanger applies the high-danger rule to answers: high when any
// critical question is answered yes or when the yes answers reach
// threshold. Unknown and no answers count for nothing.
func AssessDanger(answers []DangerAnswer, threshold int) DangerResult {
	r := DangerResult{Threshold: threshold}
	for _, a := range answers {
		if a.Answer != Yes {
			continue
		}
		r.YesCount++
		if a.Critical {
			r.CriticalYes++
		}
	}
	r.High = r.CriticalYes > 0 || (threshold > 0 && r.YesCount >= threshold)
	return r
}

// AnswerField is the form field name of the answer to question id.
func AnswerField(id int64) string { return "q" + strconv.FormatInt(id, 10) }

// ReadDangerAnswers builds a screen's answers from the questions asked and
// the form values (get returns the value of a form field). Every question
// must be answered: "Unknown" is a choice of its own, so that a skipped
// question is never mistaken for a "no".
func ReadDangerAnswers(questions []DangerQuestion, get func(string) string) ([]DangerAnswer, error) {
	if len(questions) == 0 {
		return nil, apperr.New(apperr.Invalid, "danger.err.no_questions")
	}
	e := apperr.Fields{}
	out := make([]DangerAnswer, 0, len(questions))
	for _, q := range questions {
		name := AnswerField(q.ID)
		a := Answer(strings.TrimSpace(get(name)))
		switch a {
		case Yes, No, Unknown:
		default: // not answered, or not one of the choices
			e.Add(name, "danger.err.answer")
		}
		out = append(out, DangerAnswer{QuestionID: q.ID, Text: q.Text, Texts: q.Texts, Critical: q.Critical, Answer: a})
	}
	if err := e.Err(); err != nil {
		return nil, &apperr.Error{Code: apperr.Invalid, Message: "danger.err.answer_all",
			Fields: e}
	}
	return out, nil
}

// ParseDangerThreshold reads the threshold as an administrator typed it.
func ParseDangerThreshold(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < MinDangerThreshold || n > MaxDangerThreshold {
		return 0, &apperr.Error{Code: apperr.Invalid, Message: "form.correct_fields",
			Fields: map[string]apperr.Msg{"threshold": apperr.M("danger.err.threshold", "Min", MinDangerThreshold, "Max", MaxDangerThreshold)}}
	}
	return n, nil
}

// DangerScreen is one screen done for an incident.
type DangerScreen struct {
	ID         int64
	IncidentID int64
	DoneAt     time.Time
	DoneBy     string // username, "" when unknown
	Answers    []DangerAnswer
	YesCount   int
	Threshold  int
	HighDanger bool
}

// YesAnswers are the questions answered yes, in the order asked.
func (s *DangerScreen) YesAnswers() []DangerAnswer {
	var out []DangerAnswer
	for _, a := range s.Answers {
		if a.Answer == Yes {
			out = append(out, a)
		}
	}
	return out
}
