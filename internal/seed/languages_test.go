package seed

import (
	"testing"

	"github.com/dvresponse/dvresponse/internal/refdata"
)

// TestDemoNamesInEveryLanguage: every demo incident type, priority,
// disposition and default danger-screen question is named in Russian,
// Kyrgyz and Georgian, within the lengths the administration allows.
func TestDemoNamesInEveryLanguage(t *testing.T) {
	check := func(what string, names map[string]string, max int) {
		t.Helper()
		for _, lang := range refdata.NameLanguages {
			if n := len([]rune(names[lang])); n == 0 || n > max {
				t.Errorf("%s: name in %s is %q", what, lang, names[lang])
			}
		}
	}
	ref := referenceData()
	for _, x := range ref.IncidentTypes {
		check("incident type "+x.Code, x.Names, 100)
	}
	for _, x := range ref.Dispositions {
		check("disposition "+x.Code, x.Names, 100)
	}
	for _, x := range ref.Priorities {
		check("priority "+x.Label, x.Names, 60)
	}
	if len(ref.DangerQuestionTexts) != 11 {
		t.Errorf("%d danger-screen questions have texts, want the 11 default ones", len(ref.DangerQuestionTexts))
	}
	for _, q := range ref.DangerQuestionTexts {
		check("question "+q.Text, q.Texts, 300)
	}
}
