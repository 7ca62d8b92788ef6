package account

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA1 seed of RFC 6238 appendix B, "12345678901234567890",
// in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// TestTOTPCodeRFC6238 checks the RFC's test vectors (the last six of its
// eight digits).
func TestTOTPCodeRFC6238(t *testing.T) {
	t.Parallel()
	tests := []struct {
		unix int64
		code string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	}
	for _, tt := range tests {
		got, err := TOTPCode(rfcSecret, time.Unix(tt.unix, 0))
		if err != nil || got != tt.code {
			t.Errorf("TOTPCode at %d = %q, %v; want %q", tt.unix, got, err, tt.code)
		}
	}
}

func TestMatchTOTP(t *testing.T) {
	t.Parallel()
	now := time.Unix(1111111111, 0) // step 37037037
	step := TOTPStep(now)
	code := func(d time.Duration) string {
		c, err := TOTPCode(rfcSecret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		code     string
		last     int64
		wantStep int64
		ok       bool
	}{
		{"current step", code(0), 0, step, true},
		{"typed with a space", code(0)[:3] + " " + code(0)[3:], 0, step, true},
		{"one step early (clock skew)", code(-30 * time.Second), 0, step - 1, true},
		{"one step late (clock skew)", code(30 * time.Second), 0, step + 1, true},
		{"two steps old", code(-60 * time.Second), 0, 0, false},
		{"two steps ahead", code(60 * time.Second), 0, 0, false},
		{"replay of the last accepted step", code(0), step, 0, false},
		{"an earlier step than the last accepted", code(-30 * time.Second), step, 0, false},
		{"the next step after the last accepted", code(30 * time.Second), step, step + 1, true},
		{"wrong digits", "000000", 0, 0, false},
		{"too short", code(0)[:5], 0, 0, false},
		{"letters", "12a456", 0, 0, false},
		{"empty", "", 0, 0, false},
	}
	for _, tt := range tests {
		if tt.name == "wrong digits" && tt.code == code(0) {
			continue // astronomically unlikely, but not wrong
		}
		got, ok := MatchTOTP(rfcSecret, tt.code, now, tt.last)
		if ok != tt.ok || got != tt.wantStep {
			t.Errorf("%s: MatchTOTP(%q, last %d) = %d, %v; want %d, %v", tt.name, tt.code, tt.last, got, ok, tt.wantStep, tt.ok)
		}
	}
	if _, ok := MatchTOTP("", code(0), now, 0); ok {
		t.Error("a code matched an empty secret")
	}
	if _, ok := MatchTOTP("not base32!", code(0), now, 0); ok {
		t.Error("a code matched a malformed secret")
	}
}

func TestNewTOTPSecretAndKey(t *testing.T) {
	t.Parallel()
	a, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	if a == b || len(a) != 32 || strings.Trim(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		t.Fatalf("secrets %q and %q: want two different 32-character base32 strings (160 bits)", a, b)
	}
	k, err := TOTPKey("ann.k", a)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(k.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("secret") != a || q.Get("issuer") != TOTPIssuer ||
		q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("key URI %q lacks the expected parameters", k.URL())
	}
	if !strings.Contains(u.Path, "ann.k") {
		t.Errorf("key URI %q does not name the account", k.URL())
	}
	// The code the app shows is the code MatchTOTP accepts.
	now := time.Now()
	c, err := TOTPCode(a, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := MatchTOTP(a, c, now, 0); !ok {
		t.Errorf("the current code of a new secret is refused")
	}
	if _, err := TOTPKey("ann", "!!"); err == nil {
		t.Error("TOTPKey accepted a malformed secret")
	}
}

func TestNormalizeTOTPCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"123456": "123456", " 123 456 ": "123456", "123-456": "123456", "12345": "", "1234567": "", "12345x": "", "１２３４５６": "",
	} {
		if got := NormalizeTOTPCode(in); got != want {
			t.Errorf("NormalizeTOTPCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecondFactorState(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		f              SecondFactor
		enabled, enrol bool
	}{
		{SecondFactor{}, false, false},
		{SecondFactor{Required: true}, false, true},
		{SecondFactor{Secret: rfcSecret, Required: true}, false, true}, // pending enrolment
		{SecondFactor{Secret: rfcSecret, EnabledAt: &now}, true, false},
		{SecondFactor{Secret: rfcSecret, EnabledAt: &now, Required: true}, true, false},
	}
	for i, tt := range tests {
		if tt.f.Enabled() != tt.enabled || tt.f.NeedsEnrolment() != tt.enrol {
			t.Errorf("%d: Enabled %v NeedsEnrolment %v, want %v %v", i, tt.f.Enabled(), tt.f.NeedsEnrolment(), tt.enabled, tt.enrol)
		}
	}
}
