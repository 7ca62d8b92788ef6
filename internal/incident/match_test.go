package incident

import "testing"

func TestAddressKeyMatchesVariants(t *testing.T) {
	same := [][]string{
		{"ul. Chui 12, kv. 5", "12 CHUI street apt 5", "Chui  12 - 5", "chui,12,5"},
		{"ул. Ахунбаева, д. 45", "Ахунбаева 45", "АХУНБАЕВА ул 45"},
		{"mkr. Tunguch 7-21", "Tunguch mkr 7 21"},
	}
	for _, group := range same {
		want := AddressKey(group[0])
		if want == "" {
			t.Fatalf("AddressKey(%q) is empty", group[0])
		}
		for _, a := range group[1:] {
			if got := AddressKey(a); got != want {
				t.Errorf("AddressKey(%q) = %q, want %q (as for %q)", a, got, want, group[0])
			}
		}
	}
	if AddressKey("Chui 12") == AddressKey("Chui 14") {
		t.Error("different house numbers must not match")
	}
	if AddressKey("  ,. ") != "" {
		t.Error("punctuation alone must give no key")
	}
}

func TestPhoneKeyMatchesFormats(t *testing.T) {
	for _, p := range []string{"+996 555 12-34-56", "0555 123456", "555123456", "(0555) 12 34 56", "996555123456"} {
		if got := PhoneKey(p); got != "555123456" {
			t.Errorf("PhoneKey(%q) = %q, want 555123456", p, got)
		}
	}
	if got := PhoneKey("+995 599 11 22 33"); got != "599112233" {
		t.Errorf("Georgian number: got %q", got)
	}
	if got := PhoneKey("12-34"); got != "" {
		t.Errorf("too short: got %q, want empty", got)
	}
}

func TestNameKey(t *testing.T) {
	if NameKey("Asanova Aigul") != NameKey("  AIGUL  asanova ") {
		t.Error("name order and case must not matter")
	}
	if NameKey("Aigul Asanova") == NameKey("Aigul Asanbekova") {
		t.Error("different surnames must not match")
	}
	if NameKey(" - ") != "" {
		t.Error("no letters gives no key")
	}
}
