// Package audit defines the audit trail's entries and the hash chain that
// makes tampering detectable. Storage lives in internal/postgres.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
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
	PrevHash   []byte
	Hash       []byte
}

// Genesis is the previous hash of the first entry.
var Genesis = make([]byte, sha256.Size)

// ComputeHash returns the hash of e chained to e.PrevHash: SHA-256 over the
// previous hash and every field, each length-prefixed so that no two
// different entries share an encoding.
func ComputeHash(e *Entry) []byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field(e.PrevHash)
	field([]byte(e.At.UTC().Format(time.RFC3339Nano)))
	var uid [8]byte
	binary.BigEndian.PutUint64(uid[:], uint64(e.Actor.UserID))
	field(uid[:])
	field([]byte(e.Actor.Username))
	field([]byte(e.Actor.Role))
	field([]byte(e.Actor.IP))
	field([]byte(e.Action))
	field([]byte(e.RecordType))
	field([]byte(e.RecordID))
	field([]byte(e.Outcome))
	field(CanonicalDetail(e.Detail))
	return h.Sum(nil)
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
