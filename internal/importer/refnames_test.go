package importer

import (
	"regexp"
	"strings"
	"testing"
)

func TestCodeFor(t *testing.T) {
	typeCode := regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,31}$`)
	districtCode := regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,15}$`)
	tests := []struct {
		name string
		max  int
		want string // "" checks only the form; a trailing "-" wants a hash suffix after it
	}{
		{"DOMESTIC VIOL WITH INJ", 32, "DOMESTIC_VIOL_WITH_INJ"},
		{"DWI - DRUNK/INTOX DRIVER", 32, "DWI_DRUNK_INTOX_DRIVER"},
		{"  911 hang up ", 32, "911_HANG_UP"},
		{"Beat 7", 16, "BEAT_7"},
		{"Leninsky", 16, "LENINSKY"},
		{"PERVOMAISKY DISTRICT NORTH", 16, "PERVOMAIS-"},
		{"Семейное насилие", 32, "IMP-"},
		{"Ленинский район (Leninsky)", 16, "LENINSKY-"},
		{"---", 32, "IMP-"},
		{"A VERY LONG INCIDENT TYPE NAME THAT DOES NOT FIT", 32, "A_VERY_LONG_INCIDENT_TYPE-"},
	}
	for _, tt := range tests {
		got := CodeFor(tt.name, tt.max)
		re := typeCode
		if tt.max == 16 {
			re = districtCode
		}
		if !re.MatchString(got) || len(got) > tt.max {
			t.Errorf("CodeFor(%q, %d) = %q, not a valid code", tt.name, tt.max, got)
		}
		switch {
		case strings.HasSuffix(tt.want, "-"):
			if !regexp.MustCompile(`^` + regexp.QuoteMeta(tt.want) + `[0-9A-F]{6}$`).MatchString(got) {
				t.Errorf("CodeFor(%q, %d) = %q, want %s and six hex digits", tt.name, tt.max, got, tt.want)
			}
		case got != tt.want:
			t.Errorf("CodeFor(%q, %d) = %q, want %q", tt.name, tt.max, got, tt.want)
		}
		if again := CodeFor(tt.name, tt.max); again != got {
			t.Errorf("CodeFor(%q) is not stable: %q then %q", tt.name, got, again)
		}
		if h := HashedCode(tt.name, tt.max); h == got && !strings.Contains(got, "-") || !re.MatchString(h) {
			t.Errorf("HashedCode(%q, %d) = %q", tt.name, tt.max, h)
		}
	}
	if a, b := CodeFor("Семейное насилие", 32), CodeFor("Бытовое насилие", 32); a == b {
		t.Errorf("two Cyrillic names share the code %q", a)
	}
}

func TestIsDVName(t *testing.T) {
	for name, want := range map[string]bool{
		"DOMESTIC VIOL WITH INJ":   true,
		"Domestic disturbance":     true,
		"DV - threats":             true,
		"IPV":                      true,
		"Family violence":          true,
		"Intimate partner assault": true,
		"Семейное насилие":         true,
		"Бытовое насилие":          true,
		"Домашнее насилие":         true,
		"Үй-бүлөлүк зомбулук":      true,
		"ოჯახური ძალადობა":         true,
		"ASSAULT":                       false,
		"NOISE COMPLAINT":               false,
		"ADVANCED LIFE SUPPORT":         false,
		"DVD THEFT":                     false,
		"Кража":                         false,
		"SUSPICIOUS PERSON WITH WEAPON": false,
	} {
		if got := IsDVName(name); got != want {
			t.Errorf("IsDVName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFieldsTable(t *testing.T) {
	if len(fields) != numFields {
		t.Fatalf("fields has %d entries, the field constants %d", len(fields), numFields)
	}
	for k, name := range map[int]string{fExternalID: "external_id", fReceivedAt: "received_at", fOnSceneAt: "on_scene_at",
		fPriority: "priority", fAddress: "address", fDistrict: "district"} {
		if fields[k].name != name {
			t.Errorf("fields[%d] is %q, want %q", k, fields[k].name, name)
		}
	}
}
