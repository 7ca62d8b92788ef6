package audit

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Head is a row of the trail, named by its id and hash: the trail's last
// row, or one witnessed earlier (printed by `audit verify` or logged by
// serve) that the trail must still reach.
type Head struct {
	ID   int64
	Hash []byte
}

// String is the head as `audit verify --expect` takes it: ID:HASH, the
// hash in hex.
func (h Head) String() string { return strconv.FormatInt(h.ID, 10) + ":" + hex.EncodeToString(h.Hash) }

// ParseHead reads a head written as ID:HASH.
func ParseHead(s string) (Head, error) {
	id, hx, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n <= 0 {
		return Head{}, fmt.Errorf("%q: want ID:HASH, a row id and its hash in hex, as audit verify prints the head", s)
	}
	h, err := hex.DecodeString(hx)
	if err != nil || len(h) != len(Genesis) {
		return Head{}, fmt.Errorf("%q: the hash is not %d hex digits", s, 2*len(Genesis))
	}
	return Head{ID: n, Hash: h}, nil
}

// Problem is the first row at which the trail fails verification.
type Problem struct {
	ID     int64
	Reason string
}

// Checker verifies the trail one row at a time, in id order. Each row must
// link to the one before it and match its hash, computed the way its key
// ID says; the rows from before keying and those under the development key
// may only precede rows under the deployment's key; every witnessed head
// must be in the trail, unchanged; and, when the deployment has a key, the
// last row must be under it. So the rows before a row under the key can be
// neither changed, nor cut, nor rebuilt without the key, and a witnessed
// head shows whether rows were cut off the end.
type Checker struct {
	key    *Key   // the deployment's key; nil: none (the development key's rows verify)
	expect []Head // witnessed heads not yet reached, by id
	prev   []byte
	rank   rank
	head   Head

	// Rows counts the rows checked; Legacy, Development and Keyed count
	// those from before keying, under the development key and under the
	// deployment's key.
	Rows, Legacy, Development, Keyed int64
}

// NewChecker returns a checker for a trail chained under key (nil: the
// deployment has none) that must reach every head in expect.
func NewChecker(key *Key, expect ...Head) *Checker {
	e := slices.Clone(expect)
	slices.SortFunc(e, func(a, b Head) int { return cmp.Compare(a.ID, b.ID) })
	return &Checker{key: key, expect: e, prev: Genesis}
}

// Head is the last row checked (ID 0 while none).
func (c *Checker) Head() Head { return c.head }

// Add checks the next row, and returns the problem with it, if any. After
// a problem the checker's state is undefined.
func (c *Checker) Add(e *Entry) *Problem {
	c.Rows++
	if len(c.expect) > 0 && c.expect[0].ID < e.ID {
		return &Problem{ID: e.ID, Reason: fmt.Sprintf("the witnessed head %s is not in the trail: row %d was deleted",
			c.expect[0], c.expect[0].ID)}
	}
	if !bytes.Equal(e.PrevHash, c.prev) {
		return &Problem{ID: e.ID, Reason: "does not link to the previous row (a row before it was deleted or changed)"}
	}
	r, ok := rankOf(c.key, e.KeyID)
	if !ok {
		if c.key == nil {
			return &Problem{ID: e.ID, Reason: fmt.Sprintf("it is keyed with key %s, and DVR_AUDIT_KEY is not set: "+
				"set it to the deployment's key to verify the trail", e.KeyID)}
		}
		return &Problem{ID: e.ID, Reason: fmt.Sprintf("it names key %s, not DVR_AUDIT_KEY (key %s): the row was "+
			"rebuilt with another key, or DVR_AUDIT_KEY is not the key that wrote the trail", e.KeyID, c.key.ID())}
	}
	if r < c.rank {
		return &Problem{ID: e.ID, Reason: fmt.Sprintf("it is %s, after rows %s: the trail was rebuilt without the key",
			rankText(r), rankText(c.rank))}
	}
	var want []byte
	switch r {
	case rankLegacy:
		want = LegacyHash(e)
	case rankDevelopment:
		want = developmentKey.Sum(e)
	default:
		want = c.key.Sum(e)
	}
	if !bytes.Equal(want, e.Hash) {
		return &Problem{ID: e.ID, Reason: "its content does not match its hash (the row was altered, or rehashed without the key)"}
	}
	if len(c.expect) > 0 && c.expect[0].ID == e.ID {
		if !bytes.Equal(c.expect[0].Hash, e.Hash) {
			return &Problem{ID: e.ID, Reason: fmt.Sprintf("its hash is not the witnessed head %s: the trail was rebuilt since",
				c.expect[0])}
		}
		c.expect = c.expect[1:]
	}
	switch r {
	case rankLegacy:
		c.Legacy++
	case rankDevelopment:
		c.Development++
	default:
		c.Keyed++
	}
	c.rank, c.prev, c.head = r, e.Hash, Head{ID: e.ID, Hash: e.Hash}
	return nil
}

// Finish checks what only the end of the trail shows: that it reached
// every witnessed head, and that its last row is under the deployment's
// key.
func (c *Checker) Finish() *Problem {
	if len(c.expect) > 0 {
		return &Problem{ID: c.expect[0].ID, Reason: fmt.Sprintf("the trail ends at row %d, before the witnessed head %s: "+
			"rows were cut off its end", c.head.ID, c.expect[0])}
	}
	if c.key != nil && c.Rows > 0 && c.rank != rankKeyed {
		return &Problem{ID: c.head.ID, Reason: "the last row is not under DVR_AUDIT_KEY: the rows under the key were cut off, " +
			"or the trail was rebuilt without it (serve and migrate up add a keyed row when they first start with the key)"}
	}
	return nil
}

func rankText(r rank) string {
	switch r {
	case rankLegacy:
		return "unkeyed (from before keying)"
	case rankDevelopment:
		return "under the public development key"
	}
	return "under DVR_AUDIT_KEY"
}
