// Package audit defines the audit trail's entries and the keyed hash chain
// that makes tampering detectable. Storage lives in internal/postgres.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"time"
)

// Actor is who did something, and from where.
type Actor struct {
	UserID   int64 // 0 when nobody is logged in (e.g. a failed login)
	Username string
	Role     string
	IP       string
}

// Outcome says whether the action happened.
type Outcome string

// Outcomes.
const (
	OK      Outcome = "ok"
	Denied  Outcome = "denied"
	Failed  Outcome = "failed"
	Invalid Outcome = "invalid"
)

// Entry is one audited action. Detail never holds more personal data than
// the action needs (field names changed, not a victim's address).
type Entry struct {
	ID         int64
	At         time.Time // UTC, microsecond precision (PostgreSQL's)
	Actor      Actor
	Action     string // e.g. login, incident.create, incident.view, unit.assign
	RecordType string // e.g. incident, user, unit
	RecordID   string
	Outcome    Outcome
	Detail     map[string]any
	// KeyID names the key the row's hash is keyed with (Key.ID); "" for
	// the rows written before the chain was keyed (migration 0014),
	// hashed with LegacyHash.
	KeyID    string
	PrevHash []byte
	Hash     []byte
}

// Genesis is the previous hash of the first entry.
var Genesis = make([]byte, sha256.Size)

// LegacyHash is the unkeyed hash of the rows written before the chain was
// keyed: SHA-256 over the previous hash and every field, each
// length-prefixed so that no two different entries share an encoding.
// Anyone can compute it; such rows are trusted only as far as a keyed row
// after them links to them.
func LegacyHash(e *Entry) []byte {
	h := sha256.New()
	writeFields(h, e)
	return h.Sum(nil)
}

// writeFields writes e's previous hash and fields to h, each
// length-prefixed.
func writeFields(h hash.Hash, e *Entry) {
	field(h, e.PrevHash)
	field(h, []byte(e.At.UTC().Format(time.RFC3339Nano)))
	var uid [8]byte
	binary.BigEndian.PutUint64(uid[:], uint64(e.Actor.UserID))
	field(h, uid[:])
	field(h, []byte(e.Actor.Username))
	field(h, []byte(e.Actor.Role))
	field(h, []byte(e.Actor.IP))
	field(h, []byte(e.Action))
	field(h, []byte(e.RecordType))
	field(h, []byte(e.RecordID))
	field(h, []byte(e.Outcome))
	field(h, CanonicalDetail(e.Detail))
}

// field writes b to h after its length (8 bytes, big-endian).
func field(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// CanonicalDetail encodes detail as JSON with sorted keys (encoding/json
// sorts map keys), the form both stored and hashed. PostgreSQL's jsonb
// reorders keys, so verification re-encodes what it reads.
func CanonicalDetail(detail map[string]any) []byte {
	if len(detail) == 0 {
		return []byte("{}")
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return []byte("{}")
	}
	return b
}
