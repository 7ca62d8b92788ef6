package account

import (
	"encoding/base32"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// Second factor: time-based one-time passwords (RFC 6238) with the
// parameters every authenticator app supports: HMAC-SHA1, six digits, a
// 30-second step, and one step of clock skew either way.
const (
	TOTPIssuer     = "dvresponse"
	TOTPPeriod     = 30 // seconds
	TOTPDigits     = 6
	TOTPSkew       = 1  // steps accepted either side of the current one
	totpSecretSize = 20 // bytes: 160 bits, RFC 4226's recommendation for SHA1
)

// SecondFactor is a user's TOTP enrolment as stored, with their role's
// policy.
type SecondFactor struct {
	// Secret is the base32 shared secret in use; "" when the user has
	// none. (A secret being set up is held by the session that started
	// the set-up, not here: it is stored only once a code confirms it.)
	Secret    string
	EnabledAt *time.Time
	// Setup numbers the latest set-up the user started: only that one's
	// secret can be confirmed.
	Setup int64
	// LastStep is the time step of the last accepted code (0: none).
	LastStep int64
	// Required reports that the user's role requires a second factor.
	Required bool
}

// Enabled reports whether logging in asks for a code.
func (f SecondFactor) Enabled() bool { return f.EnabledAt != nil && f.Secret != "" }

// NeedsEnrolment reports whether the user must set up a second factor
// before doing anything else.
func (f SecondFactor) NeedsEnrolment() bool { return f.Required && !f.Enabled() }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a fresh random base32 secret.
func NewTOTPSecret() (string, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: "new", Period: TOTPPeriod,
		SecretSize: totpSecretSize, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", err
	}
	return k.Secret(), nil
}

// TOTPKey is the key of username's secret, for the otpauth:// URI and QR
// code an authenticator app reads.
func TOTPKey(username, secret string) (*otp.Key, error) {
	raw, err := b32.DecodeString(strings.ToUpper(secret))
	if err != nil {
		return nil, otp.ErrValidateSecretInvalidBase32
	}
	return totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: username, Period: TOTPPeriod,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// TOTPStep is the time step that t falls in.
func TOTPStep(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return (u - TOTPPeriod + 1) / TOTPPeriod
	}
	return u / TOTPPeriod
}

// TOTPCode is the code of secret for the step that t falls in.
func TOTPCode(secret string, t time.Time) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(TOTPStep(t)), hotpOpts)
}

var hotpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NormalizeTOTPCode removes the spaces and dashes people type or paste
// inside a code; it returns "" unless six digits remain.
func NormalizeTOTPCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' || r == '\u00a0' {
			return -1
		}
		return r
	}, s)
	if len(s) != TOTPDigits {
		return ""
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return s
}

// MatchTOTP checks code against secret at time now, accepting the steps
// within TOTPSkew of now that come after last (the last step accepted for
// this user: a code is good once). It returns the matching step. Every
// candidate step is computed, so the time taken does not say which matched.
func MatchTOTP(secret, code string, now time.Time, last int64) (int64, bool) {
	code = NormalizeTOTPCode(code)
	if code == "" || secret == "" {
		return 0, false
	}
	cur := TOTPStep(now)
	var step int64
	ok := false
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		if s < 0 {
			continue
		}
		match, err := hotp.ValidateCustom(code, uint64(s), secret, hotpOpts)
		if err != nil {
			return 0, false
		}
		if match && s > last {
			step, ok = s, true // the latest matching step wins
		}
	}
	return step, ok
}
