package server

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
)

func TestLoginGoesToRoleHome(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createDistrict(t, ts.DB, "LEN", "Leninsky")
	tests := []struct {
		role     account.Role
		district string
		home     string
		heading  string
	}{
		{account.Dispatcher, "", "/board", "Live board"},
		{account.Officer, "LEN", "/my", "My incidents"},
		{account.Supervisor, "LEN", "/dashboard", "Dashboard"},
		{account.Admin, "", "/admin/", "Administration"},
	}
	for _, tt := range tests {
		username := "u-" + string(tt.role)
		createUser(t, ts.DB, username, tt.role, tt.district)
		t.Run(string(tt.role), func(t *testing.T) {
			t.Parallel()
			c := ts.client(t)
			// Typed usernames are trimmed and lower-cased.
			resp := c.login(" "+strings.ToUpper(username)+" ", testPassword)
			wantRedirect(t, resp, tt.home)

			resp = c.get(tt.home)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s after login: status %d, want 200", tt.home, resp.StatusCode)
			}
			d := doc(t, resp)
			if got := strings.TrimSpace(d.Find("h1").First().Text()); got != tt.heading {
				t.Errorf("GET %s: heading %q, want %q", tt.home, got, tt.heading)
			}
			if got := strings.TrimSpace(d.Find(".user-menu span").First().Text()); got != username {
				t.Errorf("GET %s: user menu shows %q, want %q", tt.home, got, username)
			}
			// The start page sends each role home too.
			wantRedirect(t, c.get("/"), tt.home)
		})
	}
}

func TestLoginFailure(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	tests := []struct {
		name               string
		username, password string
		status             int
		msg                string
	}{
		{"wrong password", "ann", "not-the-right-password", http.StatusUnauthorized, badLoginText},
		{"unknown user", "nobody", testPassword, http.StatusUnauthorized, badLoginText},
		{"no password", "ann", "", http.StatusUnprocessableEntity, "Enter your username and password."},
		{"no username", "", testPassword, http.StatusUnprocessableEntity, "Enter your username and password."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := ts.client(t)
			resp := c.login(tt.username, tt.password)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			d := doc(t, resp)
			if got := strings.TrimSpace(d.Find("form .flash-error").Text()); got != tt.msg {
				t.Errorf("message %q, want %q", got, tt.msg)
			}
			if got := fieldValue(d, "username"); got != tt.username {
				t.Errorf("username field %q, want the typed %q", got, tt.username)
			}
			if got := fieldValue(d, "password"); got != "" {
				t.Errorf("password field holds %q, want it empty", got)
			}
			// Whatever cookie the failed login left behind grants nothing.
			wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
		})
	}
}

// sessionRows counts the sessions stored for token (under its SHA-256,
// as the session store keys them).
func sessionRows(t *testing.T, ts *testServer, token string) int64 {
	t.Helper()
	return queryInt(t, ts.DB, `SELECT count(*) FROM sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, token)
}

// TestSessionTableHoldsNoToken replays the theft of the sessions table (a
// dump, a replica, a backup): it holds the SHA-256 of each token, never
// the cookie's value, so a copied row does not log in.
func TestSessionTableHoldsNoToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	token := c.cookie(sessionCookie)
	if token == "" {
		t.Fatal("no session cookie after login")
	}
	if n := sessionRows(t, ts, token); n != 1 {
		t.Fatalf("%d sessions stored under the token's SHA-256, want 1", n)
	}
	var rows string
	if err := ts.DB.Pool.QueryRow(context.Background(),
		`SELECT coalesce(string_agg(s::text || encode(s.data, 'escape'), ' '), '') FROM sessions s`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rows, token) || strings.Contains(rows, hex.EncodeToString([]byte(token))) {
		t.Fatalf("the sessions table holds the cookie's value %q", token)
	}
	// Whoever holds a stored row holds no cookie that logs in.
	var stored []byte
	if err := ts.DB.Pool.QueryRow(context.Background(), `SELECT token_hash FROM sessions`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	thief := ts.client(t)
	for _, v := range []string{hex.EncodeToString(stored), base64.RawURLEncoding.EncodeToString(stored)} {
		thief.setCookie(sessionCookie, v)
		wantRedirect(t, thief.get("/board"), "/login?next=%2Fboard")
	}
	if resp := c.get("/board"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /board with the cookie: status %d, want 200", resp.StatusCode)
	}
}

func TestLoginRenewsSessionToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	// Logging out of nothing leaves a session holding the "logged out"
	// message: a real pre-login session, as an attacker could plant.
	wantRedirect(t, c.postForm("/logout", nil), "/login")
	before := c.cookie(sessionCookie)
	if before == "" {
		t.Fatal("no session cookie before login")
	}
	if n := sessionRows(t, ts, before); n != 1 {
		t.Fatalf("pre-login session: %d rows in sessions, want 1", n)
	}

	c.mustLogin("ann", testPassword)
	after := c.cookie(sessionCookie)
	if after == "" || after == before {
		t.Fatalf("session cookie after login = %q, want a new token (before: %q)", after, before)
	}
	if n := sessionRows(t, ts, before); n != 0 {
		t.Errorf("pre-login token still stored (%d rows), want it gone", n)
	}
	// The planted token does not ride along into the logged-in session.
	fixer := ts.client(t)
	fixer.setCookie(sessionCookie, before)
	wantRedirect(t, fixer.get("/board"), "/login?next=%2Fboard")
	if resp := c.get("/board"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /board with the new token: status %d, want 200", resp.StatusCode)
	}
}

func TestLogoutEndsSessionOnServer(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	token := c.cookie(sessionCookie)
	if n := sessionRows(t, ts, token); n != 1 {
		t.Fatalf("logged-in session: %d rows in sessions, want 1", n)
	}

	wantRedirect(t, c.postForm("/logout", nil), "/login")
	if n := sessionRows(t, ts, token); n != 0 {
		t.Errorf("after logout the token is still stored (%d rows)", n)
	}
	resp := c.get("/login")
	if got := flashText(doc(t, resp)); got != "You have logged out." {
		t.Errorf("login page after logout says %q, want %q", got, "You have logged out.")
	}
	wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")

	// A copy of the cookie taken before logout (another tab, a thief) is
	// worthless too.
	replay := ts.client(t)
	replay.setCookie(sessionCookie, token)
	wantRedirect(t, replay.get("/board"), "/login?next=%2Fboard")
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(d *Deps) { d.IdleTimeout = time.Second })
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)

	// Activity every 0.6 s keeps the session alive beyond the 1 s idle
	// timeout counted from login...
	for i := range 2 {
		time.Sleep(600 * time.Millisecond)
		if resp := c.get("/board"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d, %.1f s after the previous one: status %d Location %q, want 200",
				i+1, 0.6, resp.StatusCode, location(resp))
		}
	}
	// ...and 1.5 s of silence ends it.
	time.Sleep(1500 * time.Millisecond)
	wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
}

func TestDisabledUserSessionEnds(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	if resp := c.get("/board"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /board: status %d, want 200", resp.StatusCode)
	}

	if err := ts.DB.SetDisabled(context.Background(), u.ID, true, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
	if got, want := flashText(doc(t, c.get("/login"))), "Your session has ended. Please log in again."; got != want {
		t.Errorf("login page says %q, want %q", got, want)
	}
	// Nor can the user log in again.
	resp := c.login("ann", testPassword)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login of a disabled user: status %d, want 403", resp.StatusCode)
	}
	if got, want := errorText(doc(t, resp)), "This account is disabled. Contact an administrator."; got != want {
		t.Errorf("login of a disabled user says %q, want %q", got, want)
	}
	wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
}

func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	here, elsewhere := ts.client(t), ts.client(t)
	here.mustLogin("ann", testPassword)
	elsewhere.mustLogin("ann", testPassword)
	const newPassword = "another-long-enough-password"

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name       string
			form       url.Values
			field, msg string
		}{
			{"wrong current", url.Values{"current": {"not-my-password-at-all"}, "password": {newPassword}, "confirm": {newPassword}},
				"current", "This is not your current password."},
			{"too short", url.Values{"current": {testPassword}, "password": {"short"}, "confirm": {"short"}},
				"password", "Use at least 12 characters; a short sentence is easy to remember."},
			{"confirmation differs", url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword + "x"}},
				"confirm", "The two new passwords differ."},
		}
		for _, tt := range tests {
			resp := here.postForm("/account/password", tt.form)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", tt.name, resp.StatusCode)
			}
			d := doc(t, resp)
			if got := fieldError(d, tt.field); got != tt.msg {
				t.Errorf("%s: message at %s = %q, want %q", tt.name, tt.field, got, tt.msg)
			}
			for _, f := range []string{"current", "password", "confirm"} {
				if got := fieldValue(d, f); got != "" {
					t.Errorf("%s: password field %s echoes %q", tt.name, f, got)
				}
			}
		}
		// Nothing changed: the other session still works.
		if resp := elsewhere.get("/board"); resp.StatusCode != http.StatusOK {
			t.Errorf("other session after refused changes: status %d, want 200", resp.StatusCode)
		}
	})

	resp := here.postForm("/account/password", url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword}})
	wantRedirect(t, resp, "/board")
	resp = here.get("/board")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("this session after the change: status %d, want 200", resp.StatusCode)
	}
	if got, want := flashText(doc(t, resp)), "Your password has been changed. Your other sessions have ended."; got != want {
		t.Errorf("flash %q, want %q", got, want)
	}
	wantRedirect(t, elsewhere.get("/board"), "/login?next=%2Fboard")

	if resp := ts.client(t).login("ann", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with the old password: status %d, want 401", resp.StatusCode)
	}
	ts.client(t).mustLogin("ann", newPassword)
}

func TestLoginNextParameter(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "root", account.Admin, "")

	// An anonymous visit remembers the page, and the login form carries it.
	c := ts.client(t)
	wantRedirect(t, c.get("/admin/users"), "/login?next=%2Fadmin%2Fusers")
	d := doc(t, c.get("/login?next=%2Fadmin%2Fusers"))
	if got, _ := d.Find(`input[name="next"]`).Attr("value"); got != "/admin/users" {
		t.Errorf("login form next = %q, want /admin/users", got)
	}
	d = doc(t, c.get("/login?next="+url.QueryEscape("//evil.example/x")))
	if got, _ := d.Find(`input[name="next"]`).Attr("value"); got != "" {
		t.Errorf("login form next = %q for //evil.example/x, want it dropped", got)
	}

	tests := []struct {
		next, want string
	}{
		{"/admin/users", "/admin/users"},
		{"/admin/districts?x=1", "/admin/districts?x=1"},
		{"//evil.example", "/admin/"},
		{"//evil.example/admin/", "/admin/"},
		{"https://evil.example/", "/admin/"},
		{"/\\evil.example", "/admin/"},
		{"admin/users", "/admin/"},
		// Browsers delete tabs and newlines from URLs, so "/\t/evil.example"
		// in a Location header is followed to //evil.example.
		{"/\t/evil.example", "/admin/"},
		{"/\n/evil.example", "/admin/"},
	}
	for _, tt := range tests {
		// Sent through the bare transport: http.Client refuses to parse
		// some of the Location headers a browser happily follows.
		form := url.Values{"username": {"root"}, "password": {testPassword}, "next": {tt.next}}
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := browserURL(location(resp)); resp.StatusCode != http.StatusSeeOther || got != tt.want {
			t.Errorf("login with next=%q: %d to %q (a browser goes to %q), want 303 to %q",
				tt.next, resp.StatusCode, location(resp), got, tt.want)
		}
	}
}

// browserURL is a Location value as a browser reads it: the WHATWG URL
// parser drops leading and trailing C0 controls and spaces, and every tab
// and newline inside.
func browserURL(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	return strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "CookieSecure"}[secure], func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(d *Deps) { d.CookieSecure = secure })
			createUser(t, ts.DB, "ann", account.Dispatcher, "")
			resp := ts.client(t).login("ann", testPassword)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: status %d, want 303", resp.StatusCode)
			}
			var ck *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == sessionCookie {
					ck = c
				}
			}
			if ck == nil {
				t.Fatalf("login set no %s cookie; Set-Cookie: %q", sessionCookie, resp.Header.Values("Set-Cookie"))
			}
			// A browser-session cookie (no Expires, no Max-Age) for the whole
			// site, out of reach of scripts and of cross-site POSTs.
			type flags struct {
				Path, Domain     string
				HttpOnly, Secure bool
				SameSite         http.SameSite
				Expires          time.Time
				MaxAge           int
			}
			got := flags{ck.Path, ck.Domain, ck.HttpOnly, ck.Secure, ck.SameSite, ck.Expires, ck.MaxAge}
			want := flags{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("session cookie flags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	resp := ts.client(t).get("/login")
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "same-origin",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q allows inline code", csp)
	}
}

func TestSessionAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(d *Deps) { d.SessionMax = 1500 * time.Millisecond })
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	// Activity does not extend a session beyond its lifetime.
	for range 2 {
		time.Sleep(500 * time.Millisecond)
		if resp := c.get("/board"); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /board within the lifetime: status %d, want 200", resp.StatusCode)
		}
	}
	time.Sleep(800 * time.Millisecond)
	wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	// Empty forms cost no password hashing but count as attempts; a
	// forged X-Forwarded-For (no proxy is trusted) changes nothing.
	for i := range 20 {
		resp := c.postFormHeaders("/login", url.Values{"username": {"ann"}}, map[string]string{
			"X-Forwarded-For": "203.0.113." + itoa(int64(i)), "Sec-Fetch-Site": "same-origin"})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: status %d, want 422", i+1, resp.StatusCode)
		}
	}
	resp := c.postFormHeaders("/login", url.Values{"username": {"ann"}, "password": {testPassword}},
		map[string]string{"X-Forwarded-For": "198.51.100.7", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("attempt 21 within a minute: status %d, want 429", resp.StatusCode)
	}
	if got := errorText(doc(t, resp)); !strings.Contains(got, "Too many login attempts") {
		t.Errorf("attempt 21 says %q", got)
	}
	wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
}

func TestHTMXRequestToLogin(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c := ts.client(t)
	req := c.newRequest(http.MethodGet, "/board", nil)
	req.Header.Set("HX-Request", "true")
	resp := c.do(req)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("htmx request without a session: status %d, want 401", resp.StatusCode)
	}
	if got, want := resp.Header.Get("HX-Redirect"), "/login?next=%2Fboard"; got != want {
		t.Errorf("HX-Redirect %q, want %q", got, want)
	}
}

// TestBoardPollingIsNotActivity: the live board's refreshes read the
// session without extending it, so an unattended board still times out.
func TestBoardPollingIsNotActivity(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(d *Deps) { d.IdleTimeout = time.Second })
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	for i := range 3 {
		time.Sleep(400 * time.Millisecond)
		resp := c.get("/board/fragment")
		if i == 0 && resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /board/fragment 0.4 s after login: status %d, want 200", resp.StatusCode)
		}
	}
	// 1.2 s after the last real activity.
	wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
}
