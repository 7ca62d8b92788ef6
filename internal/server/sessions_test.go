package server

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
)

// Session and login rules of the "Trust" issue that auth_test.go and
// lockout_test.go do not already cover: the board's event stream is not
// activity, a role change ends the old token, disabling a user or ending
// their sessions ends every one of them, the lockout window and duration,
// throttling behind a trusted proxy, and the password rules.

// mustExecSQL runs a statement on the test server's database.
func mustExecSQL(t *testing.T, ts *testServer, sql string, args ...any) {
	t.Helper()
	if _, err := ts.DB.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestBoardStreamIsNotActivity: an open live-board event stream (like the
// board's refreshes, TestBoardPollingIsNotActivity) does not keep an
// unattended session alive.
func TestBoardStreamIsNotActivity(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(d *Deps) { d.IdleTimeout = time.Second })
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	for i := range 3 {
		time.Sleep(400 * time.Millisecond)
		resp := c.get("/board/events")
		if i == 0 && (resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")) {
			t.Fatalf("GET /board/events 0.4 s after login: status %d %q, want a 200 event stream",
				resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	// 1.2 s after the last real activity.
	wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
}

// TestRoleChangeEndsTheOldToken: new rights start with a new login and a
// new token; the token of the session from before the change (held by
// the user or copied by anyone else) is worthless.
func TestRoleChangeEndsTheOldToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createDistrict(t, ts.DB, "LEN", "Leninsky")
	ann := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	admin, _ := adminClient(t, ts)
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	old := c.cookie(sessionCookie)
	if resp := c.get("/board"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /board before the change: status %d", resp.StatusCode)
	}

	link := "/admin/users/" + itoa(ann.ID)
	wantRedirect(t, admin.postForm(link, url.Values{"full_name": {""}, "role": {"supervisor"}, "district": {"LEN"}, "unit": {""}}),
		"/admin/users")

	thief := ts.client(t)
	thief.setCookie(sessionCookie, old)
	wantRedirect(t, thief.get("/dashboard"), "/login?next=%2Fdashboard")
	if n := sessionRows(t, ts, old); n != 0 {
		t.Errorf("the token from before the role change is still stored (%d rows)", n)
	}
	wantLoginRedirect(t, c.get("/board"))

	wantRedirect(t, c.login("ann", testPassword), "/dashboard")
	fresh := c.cookie(sessionCookie)
	if fresh == "" || fresh == old {
		t.Errorf("token after logging in with the new role = %q, want a new one (old %q)", fresh, old)
	}
	if resp := c.get("/dashboard"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /dashboard with the new role: status %d, want 200", resp.StatusCode)
	}
	if resp := admin.get("/admin/"); resp.StatusCode != http.StatusOK {
		t.Errorf("the administrator's own session: status %d, want 200", resp.StatusCode)
	}
}

// TestAdminActionsEndEverySession: disabling a user and "end sessions" log
// out each of the user's browsers, not only one; the administrator stays.
// (A password change is TestChangeOwnPassword.)
func TestAdminActionsEndEverySession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		action      string
		loginStatus int // logging in again afterwards
	}{
		{"disable", http.StatusForbidden},
		{"end-sessions", http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			ann := createUser(t, ts.DB, "ann", account.Dispatcher, "")
			admin, _ := adminClient(t, ts)
			desk, phone := ts.client(t), ts.client(t)
			desk.mustLogin("ann", testPassword)
			phone.mustLogin("ann", testPassword)
			for _, c := range []*client{desk, phone} {
				if resp := c.get("/board"); resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /board before: status %d", resp.StatusCode)
				}
			}
			link := "/admin/users/" + itoa(ann.ID)
			wantRedirect(t, admin.postForm(link+"/"+tt.action, nil), link)
			wantRedirect(t, desk.get("/board"), "/login?next=%2Fboard")
			wantRedirect(t, phone.get("/board"), "/login?next=%2Fboard")
			if resp := admin.get(link); resp.StatusCode != http.StatusOK {
				t.Errorf("the administrator's own session: status %d, want 200", resp.StatusCode)
			}
			if resp := desk.login("ann", testPassword); resp.StatusCode != tt.loginStatus {
				t.Errorf("login afterwards: status %d, want %d", resp.StatusCode, tt.loginStatus)
			}
		})
	}
}

// TestLockoutWindowAndDuration: failures count within FailureWindow (15
// minutes) only, and a lockout lasts LockDuration (30 minutes) unless an
// administrator lifts it sooner (TestLockoutAfterFiveFailures).
func TestLockoutWindowAndDuration(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ann := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	fail := func(want int) {
		t.Helper()
		if resp := c.login("ann", "not-the-password-at-all"); resp.StatusCode != want {
			t.Fatalf("failed login: status %d, want %d", resp.StatusCode, want)
		}
	}
	for range account.MaxFailedLogins - 1 {
		fail(http.StatusUnauthorized)
	}
	// The four failures are now older than the window: they no longer count.
	mustExecSQL(t, ts, `UPDATE users SET failed_since = now() - interval '16 minutes' WHERE id = $1`, ann.ID)
	for range account.MaxFailedLogins - 1 {
		fail(http.StatusUnauthorized)
	}
	fail(http.StatusUnauthorized) // the fifth within the window: locks, and says nothing more
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE id = $1
		AND locked_until BETWEEN now() + interval '29 minutes' AND now() + interval '31 minutes'`, ann.ID); n != 1 {
		t.Errorf("locked_until is not 30 minutes ahead")
	}
	if resp := c.login("ann", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("right password while locked: status %d, want 401", resp.StatusCode)
	}
	// Thirty minutes later.
	mustExecSQL(t, ts, `UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1`, ann.ID)
	c.mustLogin("ann", testPassword)
}

// TestLoginThrottleBehindTrustedProxy: behind a configured proxy the
// forwarded address is believed, so each client has its own allowance;
// the proxy appends the address it saw, and the right-most address that
// is not a proxy wins, so addresses a client puts in front of its own do
// not give it a fresh allowance. (Without a trusted proxy the header is
// ignored altogether: TestLoginThrottled.)
func TestLoginThrottleBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(d *Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	})
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	attempt := func(xff string, form url.Values) int {
		t.Helper()
		if form == nil {
			form = url.Values{"username": {"ann"}} // no password: no hashing, but an attempt
		}
		return c.postFormHeaders("/login", form, map[string]string{
			"X-Forwarded-For": xff, "Origin": c.base, "Sec-Fetch-Site": "same-origin"}).StatusCode
	}
	for i := range 20 {
		if got := attempt("203.0.113.1", nil); got != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d from 203.0.113.1: status %d, want 422", i+1, got)
		}
	}
	if got := attempt("203.0.113.1", nil); got != http.StatusTooManyRequests {
		t.Fatalf("attempt 21 from 203.0.113.1: status %d, want 429", got)
	}
	// Another workstation behind the same proxy is not throttled.
	if got := attempt("203.0.113.2", nil); got != http.StatusUnprocessableEntity {
		t.Errorf("first attempt from 203.0.113.2: status %d, want 422", got)
	}
	// The throttled client prepends forged addresses (the proxy appends
	// the real one): still throttled, whatever it forges.
	for i, xff := range []string{
		"198.51.100.7, 203.0.113.1",
		"198.51.100.8, 10.0.0.1, 203.0.113.1",
		"garbage, 203.0.113.1",
		"198.51.100.9, 203.0.113.1, 127.0.0.1", // two proxy hops: the trusted one is skipped
	} {
		if got := attempt(xff, nil); got != http.StatusTooManyRequests {
			t.Errorf("forged attempt %d (X-Forwarded-For: %s): status %d, want 429", i+1, xff, got)
		}
	}
	// The audit trail records the forwarded client, not the proxy or a
	// forged address.
	if got := attempt("198.51.100.10, 203.0.113.3", url.Values{"username": {"ann"}, "password": {"not-the-password-at-all"}}); got != http.StatusUnauthorized {
		t.Fatalf("wrong password from 203.0.113.3: status %d, want 401", got)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'login' AND outcome = 'failed'
		AND source_ip = '203.0.113.3'`); n != 1 {
		t.Errorf("%d failed-login audit rows from 203.0.113.3, want 1", n)
	}
}

// TestPasswordRules: at least 12 characters, no composition rules, and
// not on the shipped list of common passwords (whatever the case).
func TestPasswordRules(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	const (
		tooShort = "Use at least 12 characters; a short sentence is easy to remember."
		common   = "This password is on a list of commonly used passwords; choose another."
	)
	current := testPassword
	tests := []struct {
		name, password, msg string
	}{
		{"11 characters", "abcdefghjkm", tooShort},
		{"11 letters in Cyrillic (characters, not bytes)", "пароль-длин", tooShort},
		{"common", "qwertyuiopas", common},
		{"common, other case", "QwertyUIOPas", common},
		{"common, 13 characters", "administrator", common},
		{"12 lower-case letters", "mqzvtrplkwhd", ""},
		{"12 characters of one kind, not common", "aaaaaaaaaaab", ""},
		{"a sentence without capitals or digits", "the kettle is on the stove", ""},
		{"12 characters in Cyrillic", "чай-на-плите", ""},
	}
	for _, tt := range tests {
		resp := c.postForm("/account/password", url.Values{"current": {current}, "password": {tt.password}, "confirm": {tt.password}})
		if tt.msg != "" {
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", tt.name, resp.StatusCode)
			}
			if got := fieldError(doc(t, resp), "password"); got != tt.msg {
				t.Errorf("%s: message %q, want %q", tt.name, got, tt.msg)
			}
			continue
		}
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: status %d, want 303 (accepted); page says %q", tt.name, resp.StatusCode, errorText(doc(t, resp)))
			continue
		}
		current = tt.password
		ts.client(t).mustLogin("ann", current)
	}
}
