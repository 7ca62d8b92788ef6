package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// totpUser inserts a user directly (the second factor does not care how
// users are made) and returns its id.
func totpUser(t *testing.T, db *postgres.DB, username string, role account.Role) int64 {
	t.Helper()
	var id int64
	err := db.Pool.QueryRow(context.Background(), `INSERT INTO users (username, role, password_hash)
		VALUES ($1, $2, 'x') RETURNING id`, username, string(role)).Scan(&id)
	must(t, err)
	return id
}

func epochOf(t *testing.T, db *postgres.DB, id int64) int {
	t.Helper()
	var n int
	must(t, db.Pool.QueryRow(context.Background(), `SELECT session_epoch FROM users WHERE id = $1`, id).Scan(&n))
	return n
}

func auditCount(t *testing.T, db *postgres.DB, action string) int {
	t.Helper()
	var n int
	must(t, db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = $1`, action).Scan(&n))
	return n
}

// testTOTPKey is a fixed key for sealing tests.
var testTOTPKey = []byte("0123456789abcdef0123456789abcdef")

// enableSecret turns the user's second factor on with secret, as a
// confirmed set-up does, with step as the last code used.
func enableSecret(t *testing.T, db *postgres.DB, id int64, secret string, step int64) {
	t.Helper()
	ctx := context.Background()
	setup, err := db.StartTOTPSetup(ctx, id)
	must(t, err)
	must(t, db.EnableTOTP(ctx, id, secret, setup, step, audit.Actor{UserID: id}))
}

// rawSecret is the user's totp_secret as stored.
func rawSecret(t *testing.T, db *postgres.DB, id int64) string {
	t.Helper()
	var s string
	must(t, db.Pool.QueryRow(context.Background(), `SELECT coalesce(totp_secret, '') FROM users WHERE id = $1`, id).Scan(&s))
	return s
}

// TestTOTPEnrolment runs the enrolment with the secrets sealed (a key
// set) and in clear (none: as before keys, which must keep working).
func TestTOTPEnrolment(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		key  []byte
	}{{"sealed", testTOTPKey}, {"clear", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testTOTPEnrolment(t, tt.key)
		})
	}
}

func testTOTPEnrolment(t *testing.T, key []byte) {
	ctx := context.Background()
	db := pgtest.DB(t)
	db.SetTOTPKey(key)
	id := totpUser(t, db, "ann", account.Dispatcher)
	by := audit.Actor{UserID: id, Username: "ann", Role: "dispatcher", IP: "127.0.0.1"}

	f, err := db.SecondFactor(ctx, id)
	must(t, err)
	if f.Enabled() || f.Secret != "" || f.Required {
		t.Fatalf("new user: %+v, want no second factor, none required", f)
	}
	if _, err := db.SecondFactor(ctx, 999999); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("SecondFactor of an unknown user: %v, want NotFound", err)
	}

	s1, err := account.NewTOTPSecret()
	must(t, err)
	s2, err := account.NewTOTPSecret()
	must(t, err)
	// A set-up stores no secret: the session that started it holds it.
	n1, err := db.StartTOTPSetup(ctx, id)
	must(t, err)
	if raw := rawSecret(t, db, id); raw != "" {
		t.Errorf("a set-up stored %q, want nothing until it is confirmed", raw)
	}
	// Another set-up (another login, another browser) voids the first.
	n2, err := db.StartTOTPSetup(ctx, id)
	must(t, err)
	if n2 == n1 {
		t.Fatalf("two set-ups got the same number %d", n1)
	}
	f, err = db.SecondFactor(ctx, id)
	must(t, err)
	if f.Enabled() || f.Secret != "" || f.Setup != n2 {
		t.Errorf("during the set-up: %+v, want no secret and set-up %d", f, n2)
	}
	if err := db.EnableTOTP(ctx, id, s1, n1, 100, by); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("EnableTOTP of the voided set-up: %v, want Conflict", err)
	}
	must(t, db.EnableTOTP(ctx, id, s2, n2, 100, by))
	// With a key, no base32 secret is in the column, only the sealed one.
	raw := rawSecret(t, db, id)
	if sealed := strings.HasPrefix(raw, "v1:"); sealed != (key != nil) || (key != nil && strings.Contains(raw, s2)) {
		t.Errorf("stored secret %q with key %v: want it sealed exactly when there is a key", raw, key != nil)
	}
	f, err = db.SecondFactor(ctx, id)
	must(t, err)
	if !f.Enabled() || f.LastStep != 100 || f.Secret != s2 {
		t.Errorf("enabled: %+v, want enabled with last step 100", f)
	}
	if err := db.EnableTOTP(ctx, id, s2, n2, 101, by); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("EnableTOTP twice: %v, want Conflict", err)
	}
	if _, err := db.StartTOTPSetup(ctx, id); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("StartTOTPSetup while enabled: %v, want Conflict", err)
	}
	if _, err := db.StartTOTPSetup(ctx, 999999); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("StartTOTPSetup of an unknown user: %v, want NotFound", err)
	}
	// What the session holds is sealed as the column is.
	held, err := db.SealTOTPSecret(id, s1)
	must(t, err)
	if (key != nil) == strings.Contains(held, s1) {
		t.Errorf("SealTOTPSecret = %q with key %v", held, key != nil)
	}
	if got, err := db.OpenTOTPSecret(id, held); err != nil || got != s1 {
		t.Errorf("OpenTOTPSecret = %q, %v; want %q", got, err, s1)
	}
	if n := auditCount(t, db, "totp.enable"); n != 1 {
		t.Errorf("%d totp.enable audit rows, want 1", n)
	}
	var secretLeaked int
	must(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE detail::text LIKE '%' || $1 || '%'`, s2).Scan(&secretLeaked))
	if secretLeaked != 0 {
		t.Error("the secret reached the audit trail")
	}

	// Steps are accepted once, in increasing order.
	for _, tt := range []struct {
		step int64
		ok   bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
		ok, err := db.AcceptTOTPStep(ctx, id, tt.step)
		must(t, err)
		if ok != tt.ok {
			t.Errorf("AcceptTOTPStep(%d) = %v, want %v", tt.step, ok, tt.ok)
		}
	}

	// Turning it off by the user leaves the sessions alone.
	epoch := epochOf(t, db, id)
	must(t, db.DisableTOTP(ctx, id, false, by))
	f, err = db.SecondFactor(ctx, id)
	must(t, err)
	if f.Enabled() || f.Secret != "" || f.LastStep != 0 {
		t.Errorf("after disable: %+v, want nothing", f)
	}
	if got := epochOf(t, db, id); got != epoch {
		t.Errorf("disable by the user changed the session epoch %d -> %d", epoch, got)
	}
	if ok, err := db.AcceptTOTPStep(ctx, id, 200); err != nil || ok {
		t.Errorf("AcceptTOTPStep without a second factor = %v, %v; want false", ok, err)
	}
	if n := auditCount(t, db, "totp.disable"); n != 1 {
		t.Errorf("%d totp.disable audit rows, want 1", n)
	}
	// Nothing on: nothing to audit.
	must(t, db.DisableTOTP(ctx, id, true, by))
	if n := auditCount(t, db, "totp.disable"); n != 1 {
		t.Errorf("%d totp.disable audit rows after disabling nothing, want 1", n)
	}
	if got := epochOf(t, db, id); got != epoch {
		t.Errorf("resetting nothing ended the sessions")
	}
	if err := db.DisableTOTP(ctx, 999999, false, by); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("DisableTOTP of an unknown user: %v, want NotFound", err)
	}
}

// TestTOTPStepRace: two requests with the same code at once; one wins.
func TestTOTPStepRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	id := totpUser(t, db, "ann", account.Dispatcher)
	secret, err := account.NewTOTPSecret()
	must(t, err)
	enableSecret(t, db, id, secret, 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			ok, err := db.AcceptTOTPStep(ctx, id, 11)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d requests accepted the same step, want 1", wins)
	}
}

func TestAdminResetTOTPEndsSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	id := totpUser(t, db, "ann", account.Dispatcher)
	admin := totpUser(t, db, "root", account.Admin)
	secret, err := account.NewTOTPSecret()
	must(t, err)
	enableSecret(t, db, id, secret, 10)
	epoch := epochOf(t, db, id)
	must(t, db.DisableTOTP(ctx, id, true, audit.Actor{UserID: admin, Username: "root", Role: "admin"}))
	if got := epochOf(t, db, id); got != epoch+1 {
		t.Errorf("session epoch after an admin reset = %d, want %d", got, epoch+1)
	}
	var detail string
	must(t, db.Pool.QueryRow(ctx, `SELECT detail::text FROM audit_events WHERE action = 'totp.disable' AND record_id = 'ann'`).Scan(&detail))
	if detail != `{"reset_by_admin": true}` {
		t.Errorf("audit detail %s, want the reset marked as an administrator's", detail)
	}
}

func TestRolePolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	bare := totpUser(t, db, "disp1", account.Dispatcher)
	enrolled := totpUser(t, db, "disp2", account.Dispatcher)
	officer := totpUser(t, db, "off1", account.Officer)
	admin := totpUser(t, db, "root", account.Admin)
	by := audit.Actor{UserID: admin, Username: "root", Role: "admin"}
	secret, err := account.NewTOTPSecret()
	must(t, err)
	enableSecret(t, db, enrolled, secret, 10)

	p, err := db.RolePolicies(ctx)
	must(t, err)
	if len(p) != len(account.Roles) {
		t.Fatalf("policies %v, want one per role", p)
	}
	for r, req := range p {
		if req {
			t.Errorf("role %s requires a second factor by default", r)
		}
	}
	epochs := map[int64]int{}
	for _, id := range []int64{bare, enrolled, officer, admin} {
		epochs[id] = epochOf(t, db, id)
	}

	ended, err := db.SetRolePolicies(ctx, map[account.Role]bool{account.Dispatcher: true}, by)
	must(t, err)
	if ended != 1 {
		t.Errorf("requiring it for dispatchers ended %d users' sessions, want 1 (the one without)", ended)
	}
	for id, want := range map[int64]int{bare: epochs[bare] + 1, enrolled: epochs[enrolled], officer: epochs[officer], admin: epochs[admin]} {
		if got := epochOf(t, db, id); got != want {
			t.Errorf("user %d: epoch %d, want %d", id, got, want)
		}
	}
	f, err := db.SecondFactor(ctx, bare)
	must(t, err)
	if !f.Required || !f.NeedsEnrolment() {
		t.Errorf("dispatcher without a second factor: %+v, want required", f)
	}
	f, err = db.SecondFactor(ctx, officer)
	must(t, err)
	if f.Required {
		t.Errorf("officer: %+v, want not required", f)
	}

	// Saving again (still required) ends nobody's sessions.
	ended, err = db.SetRolePolicies(ctx, map[account.Role]bool{account.Dispatcher: true, account.Officer: false}, by)
	must(t, err)
	if ended != 0 || epochOf(t, db, bare) != epochs[bare]+1 {
		t.Errorf("saving an unchanged requirement ended %d sessions", ended)
	}
	ended, err = db.SetRolePolicies(ctx, map[account.Role]bool{}, by)
	must(t, err)
	p, err = db.RolePolicies(ctx)
	must(t, err)
	if ended != 0 || p[account.Dispatcher] {
		t.Errorf("after lifting: ended %d, policies %v", ended, p)
	}
	if n := auditCount(t, db, "totp.policy"); n != 3 {
		t.Errorf("%d totp.policy audit rows, want 3", n)
	}
	users, err := db.SecondFactorUsers(ctx)
	must(t, err)
	if len(users) != 1 || users[0].ID != enrolled || users[0].Username != "disp2" || users[0].Role != account.Dispatcher {
		t.Errorf("SecondFactorUsers = %+v, want disp2 only", users)
	}
}

// TestTOTPSealedSecretBound: a sealed secret opens only with its key and
// on its own user's row.
func TestTOTPSealedSecretBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	db.SetTOTPKey(testTOTPKey)
	ann := totpUser(t, db, "ann", account.Dispatcher)
	bob := totpUser(t, db, "bob", account.Dispatcher)
	secret, err := account.NewTOTPSecret()
	must(t, err)
	enableSecret(t, db, ann, secret, 10)

	// Copied onto another user's row, it does not open.
	_, err = db.Pool.Exec(ctx, `UPDATE users SET totp_secret = (SELECT totp_secret FROM users WHERE id = $1) WHERE id = $2`, ann, bob)
	must(t, err)
	if f, err := db.SecondFactor(ctx, bob); err == nil {
		t.Errorf("ann's sealed secret on bob's row opened: %+v", f)
	}

	// With another key, or none, it does not open either.
	for _, k := range [][]byte{[]byte("another key, 32 bytes long......"), nil} {
		other, err := postgres.Open(ctx, db.Pool.Config().ConnString(), postgres.Options{MaxConns: 2})
		must(t, err)
		other.SetTOTPKey(k)
		if f, err := other.SecondFactor(ctx, ann); err == nil || f.Secret == secret {
			t.Errorf("key %q: SecondFactor = %+v, %v; want an error", k, f, err)
		}
		other.Close()
	}
	if f, err := db.SecondFactor(ctx, ann); err != nil || f.Secret != secret || !f.Enabled() {
		t.Errorf("with its key: %+v, %v; want ann's secret, on", f, err)
	}
}

// TestSealTOTPSecrets: the secrets stored in clear before a key was set
// are sealed, once, and still work.
func TestSealTOTPSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	if _, err := db.SealTOTPSecrets(ctx); err == nil {
		t.Error("SealTOTPSecrets without a key: nil error, want one")
	}
	want := map[int64]string{}
	for i, name := range []string{"ann", "bob"} {
		id := totpUser(t, db, name, account.Dispatcher)
		s, err := account.NewTOTPSecret()
		must(t, err)
		if i == 0 {
			enableSecret(t, db, id, s, 10)
		} else {
			// Stored in clear by a release without keys, set directly.
			_, err = db.Pool.Exec(ctx, `UPDATE users SET totp_secret = $2, totp_enabled_at = now() WHERE id = $1`, id, s)
			must(t, err)
		}
		want[id] = s
	}
	none := totpUser(t, db, "cat", account.Dispatcher)
	if n, err := db.SealedTOTPSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("SealedTOTPSecrets before = %d, %v; want 0", n, err)
	}

	db.SetTOTPKey(testTOTPKey)
	n, err := db.SealTOTPSecrets(ctx)
	if err != nil || n != 2 {
		t.Fatalf("SealTOTPSecrets = %d, %v; want 2", n, err)
	}
	for id, s := range want {
		if raw := rawSecret(t, db, id); !strings.HasPrefix(raw, "v1:") || strings.Contains(raw, s) {
			t.Errorf("user %d: stored %q, want it sealed", id, raw)
		}
		f, err := db.SecondFactor(ctx, id)
		if err != nil || f.Secret != s {
			t.Errorf("user %d after sealing: %+v, %v; want secret %q", id, f, err, s)
		}
	}
	if raw := rawSecret(t, db, none); raw != "" {
		t.Errorf("a user without a second factor got %q", raw)
	}
	before := map[int64]string{}
	for id := range want {
		before[id] = rawSecret(t, db, id)
	}
	if n, err := db.SealTOTPSecrets(ctx); err != nil || n != 0 {
		t.Errorf("SealTOTPSecrets again = %d, %v; want 0: nothing left in clear", n, err)
	}
	for id := range want {
		if after := rawSecret(t, db, id); after != before[id] {
			t.Errorf("user %d: a second run sealed again (%q -> %q)", id, before[id], after)
		}
	}
	if n, err := db.SealedTOTPSecrets(ctx); err != nil || n != 2 {
		t.Errorf("SealedTOTPSecrets after = %d, %v; want 2", n, err)
	}
	// Under another key the sealed ones do not open: said, not hidden.
	db.SetTOTPKey([]byte("another key, 32 bytes long......"))
	if _, err := db.SealTOTPSecrets(ctx); err == nil || !strings.Contains(err.Error(), "2 sealed") {
		t.Errorf("SealTOTPSecrets under another key: %v, want an error counting 2", err)
	}
}
