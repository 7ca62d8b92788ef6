package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters, chosen explicitly: OWASP's password-storage
// recommendation of 19 MiB memory, 2 passes, 1 lane (about 30 ms on the
// deployment machines; a login is rare, an offline attack is not).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// cheapHashes makes HashPassword use argon2id's least cost (see
// UseCheapHashesInTests); it is never set outside a test binary.
var cheapHashes atomic.Bool

// UseCheapHashesInTests makes HashPassword write hashes of argon2id's
// least cost (8 KiB, 1 pass) from now on, so that tests that create many
// users (each one a hash, under the race detector) do not spend most of
// their time hashing. CheckPassword reads the cost from each hash, so
// such hashes verify as usual. It panics outside a test binary: a
// production build always hashes at the cost above, and this package's
// own tests, which never call it, check that cost.
func UseCheapHashesInTests() {
	if !testing.Testing() {
		panic("account.UseCheapHashesInTests called outside a test binary")
	}
	cheapHashes.Store(true)
	h, err := HashPassword("dvresponse-timing-equaliser")
	if err != nil {
		panic(err)
	}
	cheapDummyHash.Store(&h)
}

// MinPasswordLength is the shortest password accepted (NIST SP 800-63B
// and OWASP ASVS level 2 ask for length, not composition rules).
const MinPasswordLength = 12

// MaxPasswordLength bounds the work a login can cause.
const MaxPasswordLength = 256

// PasswordMsg returns the message (a catalogue ID and its arguments)
// saying why pw is not acceptable, or a message with no ID.
func PasswordMsg(pw string) apperr.Msg {
	n := utf8.RuneCountInString(pw)
	switch {
	case n == 0:
		return apperr.M("account.err.password_empty")
	case n < MinPasswordLength:
		return apperr.M("account.err.password_short", "Min", MinPasswordLength)
	case n > MaxPasswordLength:
		return apperr.M("err.text.max", "Max", MaxPasswordLength)
	case isCommonPassword(pw):
		return apperr.M("account.err.password_common")
	}
	return apperr.Msg{}
}

// PasswordProblem returns the catalogue ID of PasswordMsg, or "" when pw
// is acceptable.
func PasswordProblem(pw string) string { return PasswordMsg(pw).ID }

// PasswordError is the Invalid error of an unacceptable password, with
// its message on the "password" field, or nil.
func PasswordError(pw string) error {
	m := PasswordMsg(pw)
	if m.ID == "" {
		return nil
	}
	return &apperr.Error{Code: apperr.Invalid, Message: m.ID, Args: m.Args, Fields: map[string]apperr.Msg{"password": m}}
}

// HashPassword returns an encoded argon2id hash of pw in the PHC string
// format, so that parameters can change later without breaking old hashes.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	var iters, mem uint32 = argonTime, argonMemory
	if cheapHashes.Load() {
		iters, mem = 1, 8*argonThreads // argon2's least: 8 KiB per lane
	}
	key := argon2.IDKey([]byte(pw), salt, iters, mem, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, mem, iters, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the encoded hash.
func CheckPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	if len(pw) > 4*MaxPasswordLength {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is compared against when a username does not exist, so that a
// login for an unknown user takes as long as one for a known user.
var dummyHash, _ = HashPassword("dvresponse-timing-equaliser")

// cheapDummyHash stands in for dummyHash once UseCheapHashesInTests has
// been called, so that an unknown user's login costs what a known one's
// does there too.
var cheapDummyHash atomic.Pointer[string]

// CheckNoUser spends the time a password check takes and returns false.
func CheckNoUser(pw string) bool {
	h := dummyHash
	if p := cheapDummyHash.Load(); p != nil {
		h = *p
	}
	CheckPassword(h, pw)
	return false
}
