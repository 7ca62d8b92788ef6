package account

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, TOTPKeySize) }

// sealedForm is the form migration 0012 allows in users.totp_secret.
var sealedForm = regexp.MustCompile(`^v1:[A-Za-z0-9+/]+=*$`)

func TestSealTOTPSecretRoundTrip(t *testing.T) {
	t.Parallel()
	key := testKey(1)
	sealed, err := SealTOTPSecret(key, 42, rfcSecret)
	if err != nil {
		t.Fatal(err)
	}
	if !sealedForm.MatchString(sealed) || !IsSealedTOTPSecret(sealed) || strings.Contains(sealed, rfcSecret) {
		t.Fatalf("sealed %q: want v1: and base64, without the secret", sealed)
	}
	again, err := SealTOTPSecret(key, 42, rfcSecret)
	if err != nil {
		t.Fatal(err)
	}
	if again == sealed {
		t.Errorf("sealing twice gave the same text %q: want a fresh nonce each time", sealed)
	}
	for _, s := range []string{sealed, again} {
		got, err := OpenTOTPSecret(key, 42, s)
		if err != nil || got != rfcSecret {
			t.Errorf("OpenTOTPSecret(%q) = %q, %v; want %q", s, got, err, rfcSecret)
		}
	}
}

func TestOpenTOTPSecretRefuses(t *testing.T) {
	t.Parallel()
	key := testKey(1)
	sealed, err := SealTOTPSecret(key, 42, rfcSecret)
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 'A' ^ 'B' // a base64 letter, or the case of one
	tests := []struct {
		name   string
		key    []byte
		userID int64
		stored string
	}{
		{"wrong key", testKey(2), 42, sealed},
		{"another user's id", key, 43, sealed},
		{"no key", nil, 42, sealed},
		{"short key", key[:16], 42, sealed},
		{"tampered", key, 42, string(tampered)},
		{"not base64", key, 42, "v1:!!!!"},
		{"too short", key, 42, "v1:AAAA"},
	}
	for _, tt := range tests {
		got, err := OpenTOTPSecret(tt.key, tt.userID, tt.stored)
		if err == nil {
			t.Errorf("%s: OpenTOTPSecret = %q, nil; want an error", tt.name, got)
		} else if strings.Contains(err.Error(), rfcSecret) {
			t.Errorf("%s: error %q shows the secret", tt.name, err)
		}
	}
	if _, err := SealTOTPSecret(key[:31], 42, rfcSecret); err == nil {
		t.Error("SealTOTPSecret with a 31-byte key: nil error, want one")
	}
}

// TestOpenTOTPSecretClear: a secret stored before a key was set opens as
// it is, with a key or without.
func TestOpenTOTPSecretClear(t *testing.T) {
	t.Parallel()
	for _, key := range [][]byte{nil, testKey(1)} {
		got, err := OpenTOTPSecret(key, 42, rfcSecret)
		if err != nil || got != rfcSecret {
			t.Errorf("OpenTOTPSecret(key %v, clear) = %q, %v; want it as is", key != nil, got, err)
		}
	}
}
