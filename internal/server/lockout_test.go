package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/account"
)

// badLoginText is the English answer to every refused login.
const badLoginText = "Wrong username or password. After 5 failed attempts an account is locked for 30 minutes, or until an administrator unlocks it."

// serverNow is the server's clock on every page (for the board's timers).
var serverNow = regexp.MustCompile(`data-server-now="[^"]*"`)

// refusal is what a refused login shows: its status and its page, with
// the typed username (which the form keeps) and the server's clock taken
// out.
func refusal(t *testing.T, resp *http.Response, username string) (int, string) {
	t.Helper()
	page := strings.ReplaceAll(body(t, resp), `value="`+username+`"`, `value="NAME"`)
	return resp.StatusCode, serverNow.ReplaceAllString(page, `data-server-now=""`)
}

// TestLoginRefusalsLookAlike replays the probe of issue 12: an outsider
// tries names and passwords and reads the answers. An unknown name, a
// wrong password, a locked account and a locked account with the right
// password get the same status and the same page; an unknown name is
// locked after MaxFailedLogins tries like an account, without a user
// being created or its name being stored in clear.
func TestLoginRefusalsLookAlike(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	createUser(t, ts.DB, "bob", account.Dispatcher, "")
	c := ts.client(t)
	// Lock ann, and the unknown name ghost, by the same five failures;
	// every answer on the way is the same refusal.
	for i := range account.MaxFailedLogins {
		for _, name := range []string{"ann", "ghost"} {
			resp := c.login(name, "not-the-password-at-all")
			if resp.StatusCode != http.StatusUnauthorized || errorText(doc(t, resp)) != badLoginText {
				t.Fatalf("failure %d for %s: status %d %q, want 401 %q", i+1, name, resp.StatusCode, errorText(doc(t, resp)), badLoginText)
			}
		}
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE username = 'ann' AND locked_until > now()`); n != 1 {
		t.Fatalf("ann is not locked after %d failures", account.MaxFailedLogins)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM login_failures WHERE name_hash = sha256('ghost') AND locked_until > now()`); n != 1 {
		t.Errorf("the unknown name is not locked after %d failures", account.MaxFailedLogins)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM login_failures f WHERE f::text LIKE '%ghost%' OR f::text LIKE '%' || encode('ghost', 'hex') || '%'`); n != 0 {
		t.Errorf("login_failures holds the typed name in clear")
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE username = 'ghost'`); n != 0 {
		t.Errorf("counting an unknown name created a user")
	}

	cases := []struct{ name, username, password string }{
		{"unknown name", "nobody", testPassword},
		{"wrong password", "bob", "not-the-password-at-all"},
		{"locked account", "ann", "not-the-password-at-all"},
		{"locked account, right password", "ann", testPassword},
		{"locked unknown name", "ghost", testPassword},
	}
	var wantStatus int
	var wantPage string
	for i, tc := range cases {
		status, page := refusal(t, ts.client(t).login(tc.username, tc.password), tc.username)
		if i == 0 {
			wantStatus, wantPage = status, page
			if status != http.StatusUnauthorized || !strings.Contains(page, "Wrong username or password.") {
				t.Fatalf("%s: status %d, want 401 and the refusal; page:\n%s", tc.name, status, page)
			}
			continue
		}
		if status != wantStatus || page != wantPage {
			t.Errorf("%s: status %d, page differs from that of an unknown name (status %d):\n%s\n---\n%s", tc.name, status, wantStatus, page, wantPage)
		}
	}
	// Refusals while locked do not add to the lock, for names and accounts
	// alike; the audit trail (for administrators) tells them apart.
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'login' AND outcome = 'denied' AND detail->>'reason' = 'locked'`); n != 3 {
		t.Errorf("%d audited refusals while locked, want 3", n)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'login' AND outcome = 'failed' AND record_id = 'ghost'`); n != int64(account.MaxFailedLogins) {
		t.Errorf("%d failed-login audit rows for the unknown name, want %d", n, account.MaxFailedLogins)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE detail::text LIKE '%not-the-password%'`); n != 0 {
		t.Error("a typed password reached the audit trail")
	}

	// An administrator's unlock lets ann in again.
	admin, _ := adminClient(t, ts)
	ann := queryInt(t, ts.DB, `SELECT id FROM users WHERE username = 'ann'`)
	wantRedirect(t, admin.postForm("/admin/users/"+itoa(ann)+"/unlock", nil), "/admin/users/"+itoa(ann))
	c.mustLogin("ann", testPassword)
}

// TestLockoutStale: the failures of unknown names that count for nothing
// any more are deleted (serve runs this every five minutes).
func TestLockoutStale(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := context.Background()
	for _, name := range []string{"old", "locked", "recent"} {
		if _, err := ts.DB.RecordNameFailure(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	mustExecSQL(t, ts, `UPDATE login_failures SET failed_since = now() - interval '16 minutes' WHERE name_hash IN (sha256('old'), sha256('locked'))`)
	mustExecSQL(t, ts, `UPDATE login_failures SET locked_until = now() + interval '1 minute' WHERE name_hash = sha256('locked')`)
	if n, err := ts.DB.DeleteStaleLoginFailures(ctx); err != nil || n != 1 {
		t.Errorf("DeleteStaleLoginFailures: %d, %v; want 1 (the old one)", n, err)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM login_failures`); n != 2 {
		t.Errorf("%d rows left, want the locked and the recent one", n)
	}
}

// TestAccountRecheckSharesLockout replays a guess at the password from an
// open session: the account pages that ask for the current password
// again count wrong ones with the failed logins, lock the account like
// them, and accept no password while it is locked.
func TestAccountRecheckSharesLockout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	carl := createUser(t, ts.DB, "carl", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("carl", testPassword)
	enableTOTP(t, ts, carl) // so that /account/totp/disable asks for the password

	other := ts.client(t)
	for range 2 {
		other.login("carl", "not-the-password-at-all")
	}
	const newPassword = "carl-would-like-this-one"
	changePw := func(current string) *http.Response {
		return c.postForm("/account/password", url.Values{"current": {current}, "password": {newPassword}, "confirm": {newPassword}})
	}
	for range 2 {
		resp := changePw("not-the-password-at-all")
		if got := fieldError(doc(t, resp), "current"); resp.StatusCode != http.StatusUnprocessableEntity || got != "This is not your current password." {
			t.Fatalf("wrong current password: status %d %q", resp.StatusCode, got)
		}
	}
	// The fifth failure, on the other page, locks the account.
	resp := c.postForm("/account/totp/disable", url.Values{"current": {"not-the-password-at-all"}})
	if got := fieldError(doc(t, resp), "current"); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, "locked") {
		t.Errorf("fifth wrong password: status %d %q, want 422 and the lock", resp.StatusCode, got)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE id = $1 AND locked_until > now()`, carl.ID); n != 1 {
		t.Fatal("five wrong passwords at login and on account pages did not lock the account")
	}
	// Locked, the right password is refused on both pages and at login.
	resp = changePw(testPassword)
	if got := fieldError(doc(t, resp), "current"); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, "locked") {
		t.Errorf("right password while locked: status %d %q, want 422 and the lock", resp.StatusCode, got)
	}
	resp = c.postForm("/account/totp/disable", url.Values{"current": {testPassword}})
	if got := fieldError(doc(t, resp), "current"); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, "locked") {
		t.Errorf("turning two-step login off while locked: status %d %q, want 422 and the lock", resp.StatusCode, got)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE id = $1 AND totp_enabled_at IS NOT NULL`, carl.ID); n != 1 {
		t.Error("two-step login was turned off while the account was locked")
	}
	if resp := ts.client(t).login("carl", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login while locked: status %d, want 401", resp.StatusCode)
	}
	if resp := ts.client(t).login("carl", newPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the new password works: status %d, want 401", resp.StatusCode)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action IN ('account.password_change', 'totp.disable')
		AND outcome IN ('failed', 'denied')`); n != 5 {
		t.Errorf("%d audited refusals on account pages, want 5", n)
	}
}
