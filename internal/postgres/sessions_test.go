package postgres_test

import (
	"context"
	"testing"
	"time"
)

// TestSessionRenewalWritesOnlyWhenItMatters: committing a session whose
// data are unchanged, to move its idle deadline on by less than a
// thirtieth of the time left, writes nothing (the row keeps its version);
// new data, a deadline moved further, or an earlier one are written.
func TestSessionRenewalWritesOnlyWhenItMatters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	store := f.db.SessionStore()
	const token = "session-renewal-test-token"
	type row struct {
		data   string
		expiry time.Time
		xmin   string
	}
	read := func() row {
		var r row
		if err := f.db.Pool.QueryRow(ctx, `SELECT convert_from(data, 'UTF8'), expiry, xmin::text FROM sessions
			WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, token).Scan(&r.data, &r.expiry, &r.xmin); err != nil {
			t.Fatal(err)
		}
		return r
	}
	commit := func(data string, expiry time.Time) row {
		t.Helper()
		if err := store.CommitCtx(ctx, token, []byte(data), expiry); err != nil {
			t.Fatal(err)
		}
		return read()
	}
	now := time.Now().Truncate(time.Microsecond)
	first := commit("a", now.Add(30*time.Minute))
	if got := commit("a", now.Add(30*time.Minute+10*time.Second)); got != first {
		t.Errorf("renewed by 10 s of 30 min: row %+v, want it untouched %+v", got, first)
	}
	steps := []struct {
		name   string
		data   string
		expiry time.Time
	}{
		{"new data", "b", now.Add(30*time.Minute + 10*time.Second)},
		{"renewed by 2 min", "b", now.Add(32 * time.Minute)},
		{"an earlier deadline", "b", now.Add(5 * time.Minute)},
	}
	prev := first
	for _, s := range steps {
		got := commit(s.data, s.expiry)
		if got.data != s.data || !got.expiry.Equal(s.expiry) || got.xmin == prev.xmin {
			t.Errorf("%s: row %+v, want data %q expiry %s written (before: %+v)", s.name, got, s.data, s.expiry, prev)
		}
		prev = got
	}
}
