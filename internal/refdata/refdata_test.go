package refdata

import (
	"testing"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

func TestLabelInFallsBackToThePlainName(t *testing.T) {
	typ := IncidentType{Name: "Physical violence", Names: map[string]string{"ru": "Физическое насилие", "ky": ""}}
	for lang, want := range map[string]string{"ru": "Физическое насилие", "ky": "Physical violence", "ka": "Physical violence",
		"en": "Physical violence", "": "Physical violence"} {
		if got := typ.LabelIn(lang); got != want {
			t.Errorf("IncidentType.LabelIn(%q) = %q, want %q", lang, got, want)
		}
	}
	if got := (Disposition{Name: "Arrest"}).LabelIn("ru"); got != "Arrest" {
		t.Errorf("Disposition without names: LabelIn(ru) = %q", got)
	}
	if got := (Priority{Label: "Immediate", Names: map[string]string{"ka": "დაუყოვნებელი"}}).LabelIn("ka"); got != "დაუყოვნებელი" {
		t.Errorf("Priority.LabelIn(ka) = %q", got)
	}
}

func TestCleanNames(t *testing.T) {
	f := apperr.Fields{}
	got := CleanNames(f, "name", map[string]string{"ru": "  Угрозы   убийством ", "ky": " ", "ka": "ა", "fr": "x"}, 100)
	if len(got) != 2 || got["ru"] != "Угрозы убийством" || got["ka"] != "ა" {
		t.Errorf("CleanNames = %v", got)
	}
	if len(f) != 0 {
		t.Errorf("unexpected messages %v", f)
	}
	long := ""
	for range 61 {
		long += "ж"
	}
	CleanNames(f, "label", map[string]string{"ky": long}, 60)
	if m, ok := f["label_ky"]; !ok || m.ID != "admin.err.too_long" {
		t.Errorf("a name of 61 letters (max 60): messages %v", f)
	}
	if got := CleanNames(apperr.Fields{}, "name", nil, 10); got == nil {
		t.Error("CleanNames(nil) is nil, want an empty map")
	}
}
