package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// TOTP secrets are sealed at rest with AES-256-GCM under a key from
// configuration (DVR_TOTP_KEY), never from the database, so that a dump or
// backup of the users table does not give away second factors. The sealed
// text is "v1:" and the standard base64 of the 12-byte random nonce
// followed by the ciphertext. The user's id is the additional
// authenticated data: a sealed secret copied onto another user's row does
// not open.

// TOTPKeySize is the size of the key that seals TOTP secrets: AES-256.
const TOTPKeySize = 32

// sealedPrefix marks a sealed secret, and the version of its format.
const sealedPrefix = "v1:"

// ErrTOTPSecretNoKey is the error of opening a sealed secret without a key.
var ErrTOTPSecretNoKey = errors.New("the TOTP secret is sealed but no key (DVR_TOTP_KEY) is set")

// IsSealedTOTPSecret reports whether stored is a sealed secret (not a
// clear base32 one).
func IsSealedTOTPSecret(stored string) bool { return strings.HasPrefix(stored, sealedPrefix) }

// SealTOTPSecret seals the base32 secret of the user userID with key
// (TOTPKeySize bytes).
func SealTOTPSecret(key []byte, userID int64, secret string) (string, error) {
	aead, err := totpAEAD(key)
	if err != nil {
		return "", err
	}
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	buf = aead.Seal(buf, buf, []byte(secret), sealAD(userID))
	return sealedPrefix + base64.StdEncoding.EncodeToString(buf), nil
}

// OpenTOTPSecret returns the base32 secret of the user userID from its
// stored form. A clear secret (stored before a key was set) is returned as
// it is; a sealed one is opened with key, and it is an error when key is
// nil, is not the key that sealed it, or the secret was sealed for
// another user.
func OpenTOTPSecret(key []byte, userID int64, stored string) (string, error) {
	if !IsSealedTOTPSecret(stored) {
		return stored, nil
	}
	if key == nil {
		return "", ErrTOTPSecretNoKey
	}
	aead, err := totpAEAD(key)
	if err != nil {
		return "", err
	}
	raw, err := base64.StdEncoding.DecodeString(stored[len(sealedPrefix):])
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("the sealed TOTP secret is malformed")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], sealAD(userID))
	if err != nil {
		return "", errors.New("the sealed TOTP secret does not open with this key (DVR_TOTP_KEY) for this user")
	}
	return string(plain), nil
}

func totpAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != TOTPKeySize {
		return nil, fmt.Errorf("the TOTP secret key is %d bytes, want %d", len(key), TOTPKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealAD is the additional authenticated data of userID's secret: the id
// as 8 bytes, big-endian.
func sealAD(userID int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(userID)) }
