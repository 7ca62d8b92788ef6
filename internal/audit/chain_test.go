package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// chain builds n entries under the ways given per row ("" legacy, "dev",
// "key", "other"), linked from the genesis hash.
func chain(t *testing.T, key, other *Key, ways ...string) []Entry {
	t.Helper()
	var out []Entry
	prev := Genesis
	for i, w := range ways {
		e := Entry{ID: int64(i + 1), At: time.Date(2026, 3, 1, 10, 0, i, 0, time.UTC), Actor: Actor{UserID: 7, Username: "ann"},
			Action: "incident.view", RecordType: "incident", RecordID: "DV-2026-000001", Outcome: OK,
			Detail: map[string]any{"n": i}, PrevHash: prev}
		switch w {
		case "":
			e.Hash = LegacyHash(&e)
		case "dev":
			e.KeyID = DevelopmentKey().ID()
			e.Hash = DevelopmentKey().Sum(&e)
		case "key":
			e.KeyID = key.ID()
			e.Hash = key.Sum(&e)
		case "other":
			e.KeyID = other.ID()
			e.Hash = other.Sum(&e)
		}
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

// check runs entries through a checker and returns the first problem.
func check(c *Checker, entries []Entry) *Problem {
	for i := range entries {
		if p := c.Add(&entries[i]); p != nil {
			return p
		}
	}
	return c.Finish()
}

func TestChecker(t *testing.T) {
	key, err := NewKey(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKey(bytes.Repeat([]byte{2}, KeySize))
	tests := []struct {
		name   string
		key    *Key // the deployment's
		ways   []string
		at     int64  // the row a problem is named at; 0: intact
		reason string // in the problem's reason
	}{
		{"keyed trail", key, []string{"key", "key", "key"}, 0, ""},
		{"legacy, development, then keyed rows", key, []string{"", "", "dev", "key", "key"}, 0, ""},
		{"development key without a key", nil, []string{"", "dev", "dev"}, 0, ""},
		{"empty trail", key, nil, 0, ""},
		{"legacy after keyed rows", key, []string{"key", "", "key"}, 2, "rebuilt without the key"},
		{"development after keyed rows", key, []string{"key", "dev", "key"}, 2, "rebuilt without the key"},
		{"last row not keyed", key, []string{"key", "key", "dev"}, 3, "rebuilt without the key"},
		{"only legacy rows with a key", key, []string{"", ""}, 2, "not under DVR_AUDIT_KEY"},
		{"another key", key, []string{"key", "other"}, 2, "not DVR_AUDIT_KEY"},
		{"a keyed trail checked without the key", nil, []string{"dev", "key"}, 2, "DVR_AUDIT_KEY is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := check(NewChecker(tt.key), chain(t, key, other, tt.ways...))
			switch {
			case tt.at == 0 && p != nil:
				t.Errorf("problem %+v, want the trail intact", p)
			case tt.at != 0 && (p == nil || p.ID != tt.at || !strings.Contains(p.Reason, tt.reason)):
				t.Errorf("problem %+v, want one at row %d saying %q", p, tt.at, tt.reason)
			}
		})
	}

	// A row hashed with another key but claiming this one fails its hash.
	forged := chain(t, key, other, "key", "other")
	forged[1].KeyID = key.ID()
	if p := check(NewChecker(key), forged); p == nil || p.ID != 2 || !strings.Contains(p.Reason, "was altered") {
		t.Errorf("a row under another key claiming the key: %+v, want it altered", p)
	}
}

func TestCheckerExpect(t *testing.T) {
	key, _ := NewKey(bytes.Repeat([]byte{1}, KeySize))
	trail := chain(t, key, nil, "key", "key", "key", "key")
	head := func(i int) Head { return Head{ID: trail[i].ID, Hash: trail[i].Hash} }
	tests := []struct {
		name   string
		rows   int // of trail given to the checker
		expect []Head
		reason string // "": intact
	}{
		{"the head", 4, []Head{head(3)}, ""},
		{"two heads, in any order", 4, []Head{head(3), head(1)}, ""},
		{"end cut off", 3, []Head{head(3)}, "cut off its end"},
		{"all cut off", 0, []Head{head(0)}, "cut off its end"},
		{"another hash", 4, []Head{{ID: 2, Hash: trail[3].Hash}}, "rebuilt since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := check(NewChecker(key, tt.expect...), trail[:tt.rows])
			if (tt.reason == "") != (p == nil) || (p != nil && !strings.Contains(p.Reason, tt.reason)) {
				t.Errorf("problem %+v, want %q", p, tt.reason)
			}
		})
	}

	// The witnessed row deleted and the rows after it relinked (by someone
	// holding the key): the head is missing.
	relinked := []Entry{trail[0], trail[2], trail[3]}
	for i := 1; i < len(relinked); i++ {
		relinked[i].PrevHash = relinked[i-1].Hash
		relinked[i].Hash = key.Sum(&relinked[i])
	}
	if p := check(NewChecker(key, head(1)), relinked); p == nil || p.ID != 3 || !strings.Contains(p.Reason, "not in the trail") {
		t.Errorf("witnessed row deleted, the rest relinked: %+v, want a problem at row 3 naming the missing head", p)
	}
}

func TestParseHead(t *testing.T) {
	h := Head{ID: 42, Hash: bytes.Repeat([]byte{0xab}, 32)}
	got, err := ParseHead(" " + h.String() + "\n")
	if err != nil || got.ID != 42 || !bytes.Equal(got.Hash, h.Hash) {
		t.Errorf("ParseHead(%q) = %v, %v", h.String(), got, err)
	}
	for _, bad := range []string{"", "42", "42:", "x:" + strings.Repeat("ab", 32), "0:" + strings.Repeat("ab", 32),
		"42:" + strings.Repeat("ab", 31), "42:" + strings.Repeat("zz", 32)} {
		if _, err := ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q): no error", bad)
		}
	}
}

func TestKey(t *testing.T) {
	if _, err := NewKey(make([]byte, 31)); err == nil {
		t.Error("a 31-byte key was accepted")
	}
	a, _ := NewKey(bytes.Repeat([]byte{1}, KeySize))
	b, _ := NewKey(bytes.Repeat([]byte{2}, KeySize))
	if a.ID() == b.ID() || a.ID() == DevelopmentKey().ID() || len(a.ID()) != 16 {
		t.Errorf("key ids %q, %q, development %q: want 16 hex digits, distinct", a.ID(), b.ID(), DevelopmentKey().ID())
	}
	e := Entry{Action: "login", PrevHash: Genesis, KeyID: a.ID()}
	if bytes.Equal(a.Sum(&e), b.Sum(&e)) || bytes.Equal(a.Sum(&e), LegacyHash(&e)) {
		t.Error("the same hash under two keys, or keyed and unkeyed")
	}
	if err := CanFollow(nil, a.ID()); err == nil || !strings.Contains(err.Error(), "DVR_AUDIT_KEY is not set") {
		t.Errorf("appending without a key after a keyed row: %v", err)
	}
	if err := CanFollow(b, a.ID()); err == nil {
		t.Error("appending under another key after a keyed row was allowed")
	}
	for _, prev := range []string{"", DevelopmentKey().ID(), a.ID()} {
		if err := CanFollow(a, prev); err != nil {
			t.Errorf("appending under the key after %q: %v", prev, err)
		}
	}
}
