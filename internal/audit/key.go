package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// KeySize is the size of the chain's key (DVR_AUDIT_KEY), in bytes.
const KeySize = 32

// Key keys the audit chain: each row's hash is HMAC-SHA-256 under it, so
// that whoever can write the table, but does not hold the key, cannot
// rebuild the chain after changing, adding or deleting rows. The key comes
// from the deployment's configuration and is never stored in the database;
// only its ID is, in each row.
type Key struct {
	secret []byte
	id     string
	dev    bool
}

// NewKey returns the key made of secret (KeySize random bytes).
func NewKey(secret []byte) (*Key, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("audit key: %d bytes, want %d", len(secret), KeySize)
	}
	return newKey(secret, false), nil
}

func newKey(secret []byte, dev bool) *Key {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("dvresponse audit key id"))
	return &Key{secret: append([]byte(nil), secret...), id: hex.EncodeToString(m.Sum(nil)[:8]), dev: dev}
}

// developmentKey is the public key of deployments without DVR_AUDIT_KEY.
var developmentKey = func() *Key {
	s := sha256.Sum256([]byte("dvresponse public development audit key: not a secret, protects nothing"))
	return newKey(s[:], true)
}()

// DevelopmentKey returns the key a deployment without DVR_AUDIT_KEY chains
// with. It is public (derived from a string in this file), so its rows
// protect against accidents only: anyone who can write the table can
// rebuild them. serve warns while it is in use.
func DevelopmentKey() *Key { return developmentKey }

// ID identifies the key without revealing it: the first 8 bytes of an
// HMAC of a fixed text, in hex. Rows store it so that verification knows
// which key a row claims.
func (k *Key) ID() string { return k.id }

// Development reports whether k is the public development key.
func (k *Key) Development() bool { return k.dev }

// Sum returns e's hash under k: HMAC-SHA-256 over a version tag, the key's
// ID, the previous hash and every field, each length-prefixed. e.KeyID
// must be k.ID().
func (k *Key) Sum(e *Entry) []byte {
	h := hmac.New(sha256.New, k.secret)
	field(h, []byte("dvresponse audit v2"))
	field(h, []byte(e.KeyID))
	writeFields(h, e)
	return h.Sum(nil)
}

// rank orders the ways a row can be hashed: a trail only ever moves up
// (rows from before keying, then perhaps rows under the development key,
// then rows under the deployment's key), never back.
type rank int

const (
	rankLegacy rank = iota
	rankDevelopment
	rankKeyed
)

// rankOf is the rank of keyID when the deployment's key is k (nil: none),
// and false when keyID is neither "", the development key nor k.
func rankOf(k *Key, keyID string) (rank, bool) {
	switch {
	case keyID == "":
		return rankLegacy, true
	case keyID == developmentKey.id:
		return rankDevelopment, true
	case k != nil && keyID == k.id:
		return rankKeyed, true
	}
	return 0, false
}

// CanFollow says whether a row hashed under k (nil: the development key)
// may be appended after a row whose key ID is prevKeyID ("" also for an
// empty trail): not after a row under another key, nor, without a key,
// after a row under a real key. The reason names the setting to fix.
func CanFollow(k *Key, prevKeyID string) error {
	if k == nil {
		k = developmentKey
	}
	_, ok := rankOf(k, prevKeyID)
	switch {
	case !ok && k.dev:
		return fmt.Errorf("the audit trail is keyed (its last row is under key %s), but DVR_AUDIT_KEY is not set: "+
			"set it to the key that wrote the trail", prevKeyID)
	case !ok:
		return fmt.Errorf("the audit trail's last row is under key %s, not under DVR_AUDIT_KEY (key %s): "+
			"set DVR_AUDIT_KEY to the key that wrote the trail", prevKeyID, k.id)
	}
	return nil
}
