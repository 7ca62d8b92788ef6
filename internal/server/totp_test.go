package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
)

// testClock is the server's clock in TOTP tests: stopped at the time the
// test began, moved forward only by the test, so that codes do not change
// step half-way through.
type testClock struct {
	base time.Time
	off  atomic.Int64
}

func newTestClock() *testClock { return &testClock{base: time.Now()} }

func (c *testClock) now() time.Time          { return c.base.Add(time.Duration(c.off.Load())) }
func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }
func (c *testClock) deps() func(*Deps)       { return func(d *Deps) { d.Now = c.now } }

func (c *testClock) code(t *testing.T, secret string, d time.Duration) string {
	t.Helper()
	code, err := account.TOTPCode(secret, c.now().Add(d))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// wrongCode is a code of secret that is certainly not accepted now: that
// of ten minutes ahead, unless it happens to equal one of the accepted.
func (c *testClock) wrongCode(t *testing.T, secret string) string {
	t.Helper()
	for d := 10 * time.Minute; ; d += time.Minute {
		w := c.code(t, secret, d)
		if w != c.code(t, secret, -30*time.Second) && w != c.code(t, secret, 0) && w != c.code(t, secret, 30*time.Second) &&
			w != c.code(t, secret, 60*time.Second) {
			return w
		}
	}
}

// enableTOTP gives the user a second factor directly in the database and
// returns its secret.
func enableTOTP(t *testing.T, ts *testServer, u *account.User) string {
	t.Helper()
	ctx := context.Background()
	secret, err := account.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	setup, err := ts.DB.StartTOTPSetup(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.DB.EnableTOTP(ctx, u.ID, secret, setup, 0, audit.Actor{UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// setupSecret reads the secret from a set-up page and checks that the
// page shows it as text, as an otpauth:// URI and as an inline QR code.
func setupSecret(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set-up page: status %d, want 200", resp.StatusCode)
	}
	d := doc(t, resp)
	secret := strings.ReplaceAll(strings.TrimSpace(d.Find("code.totp-secret").Text()), " ", "")
	if len(secret) != 32 {
		t.Fatalf("set-up page shows secret %q, want 32 base32 characters", secret)
	}
	uri, err := url.Parse(strings.TrimSpace(d.Find("code.totp-uri").Text()))
	if err != nil || uri.Scheme != "otpauth" || uri.Host != "totp" || uri.Query().Get("secret") != secret {
		t.Errorf("set-up page URI %q (%v): want an otpauth://totp/ URI with the secret", d.Find("code.totp-uri").Text(), err)
	}
	src, _ := d.Find("img.totp-qr").Attr("src")
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		t.Fatalf("QR code src %.40q…, want an inline PNG data: URL", src)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("QR code data: %v", err)
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("QR code is not a readable PNG of a useful size: %v", err)
	}
	return secret
}

// enrol sets up two-step login through /account/totp; it returns the
// secret and the code that confirmed it.
func (c *client) enrol(clock *testClock) (string, string) {
	c.t.Helper()
	secret := setupSecret(c.t, c.get("/account/totp"))
	code := clock.code(c.t, secret, 0)
	resp := c.postForm("/account/totp", url.Values{"code": {code}})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("confirm set-up: status %d, want 303; page says %q", resp.StatusCode, errorText(doc(c.t, resp)))
	}
	return secret, code
}

// auditRows counts audit rows of action and outcome.
func auditRows(t *testing.T, ts *testServer, action string, outcome audit.Outcome) int64 {
	t.Helper()
	return queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = $1 AND outcome = $2`, action, string(outcome))
}

// wantNoAccess fails unless every page sends the client to the login page.
func wantNoAccess(t *testing.T, c *client, when string) {
	t.Helper()
	for _, p := range []string{"/", "/board", "/board/fragment", "/account/totp", "/account/password"} {
		resp := c.get(p)
		if loc := location(resp); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") || strings.HasPrefix(loc, "/login/totp") {
			t.Errorf("%s: GET %s: status %d Location %q, want the login page", when, p, resp.StatusCode, loc)
		}
	}
	if resp := c.get("/board/events"); resp.StatusCode == http.StatusOK {
		t.Errorf("%s: the board's event stream is open", when)
	}
}

func TestTOTPEnrolAndLogin(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	ts := newTestServer(t, clock.deps())
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	d := doc(t, c.get("/board"))
	if d.Find(`.user-menu a[href="/account/totp"]`).Length() != 1 {
		t.Errorf("the user menu has no link to /account/totp")
	}

	// Set-up: the same secret until confirmed; a wrong code is refused.
	secret := setupSecret(t, c.get("/account/totp"))
	if again := setupSecret(t, c.get("/account/totp")); again != secret {
		t.Errorf("reloading the set-up page changed the secret")
	}
	resp := c.postForm("/account/totp", url.Values{"code": {clock.wrongCode(t, secret)}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("wrong set-up code: status %d, want 422", resp.StatusCode)
	}
	if got := fieldError(doc(t, resp), "code"); !strings.Contains(got, "does not match") {
		t.Errorf("wrong set-up code: message %q", got)
	}
	if f, _ := ts.DB.SecondFactor(context.Background(), queryInt(t, ts.DB, `SELECT id FROM users WHERE username = 'ann'`)); f.Enabled() {
		t.Fatal("a wrong code turned two-step login on")
	}
	wantRedirect(t, c.postForm("/account/totp", url.Values{"code": {clock.code(t, secret, 0)}}), "/board")
	if got := flashText(doc(t, c.get("/board"))); !strings.Contains(got, "Two-step login is on") {
		t.Errorf("flash after set-up %q", got)
	}
	// The database holds the secret sealed, never in base32.
	var stored string
	if err := ts.DB.Pool.QueryRow(context.Background(), `SELECT totp_secret FROM users WHERE username = 'ann'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, secret) {
		t.Errorf("users.totp_secret after set-up is %q, want it sealed (v1:...) without the secret", stored)
	}
	d = doc(t, c.get("/account/totp"))
	if d.Find("code.totp-secret").Length() != 0 || d.Find("img.totp-qr").Length() != 0 {
		t.Errorf("once on, the page still shows the secret")
	}
	if d.Find(`form[action="/account/totp/disable"]`).Length() != 1 {
		t.Errorf("the page of an enabled second factor offers no way to turn it off")
	}
	if n := auditRows(t, ts, "totp.enable", audit.OK); n != 1 {
		t.Errorf("%d totp.enable audit rows, want 1", n)
	}

	// Login: the password alone opens only the second step, under a
	// new token; the code then logs in, under another new token.
	l := ts.client(t)
	wantRedirect(t, l.postForm("/logout", nil), "/login")
	planted := l.cookie(sessionCookie)
	resp = l.postForm("/login", url.Values{"username": {"ann"}, "password": {testPassword}, "next": {"/incidents/new"}})
	wantRedirect(t, resp, "/login/totp")
	pendingToken := l.cookie(sessionCookie)
	if pendingToken == "" || pendingToken == planted {
		t.Errorf("token after the password = %q, want a new one", pendingToken)
	}
	wantNoAccess(t, l, "after the password only")
	resp = l.get("/login/totp")
	if resp.StatusCode != http.StatusOK || doc(t, resp).Find(`form[action="/login/totp"] input[name="code"]`).Length() != 1 {
		t.Fatalf("GET /login/totp: status %d, want the code form", resp.StatusCode)
	}
	// The code of the step used to confirm the set-up was used already
	// (TestTOTPReplayRefused); the next step's is fresh.
	resp = l.postForm("/login/totp", url.Values{"code": {clock.code(t, secret, 30*time.Second)}})
	wantRedirect(t, resp, "/incidents/new")
	if tok := l.cookie(sessionCookie); tok == "" || tok == pendingToken {
		t.Errorf("token after the code = %q, want a new one", tok)
	}
	if n := sessionRows(t, ts, pendingToken); n != 0 {
		t.Errorf("the token of the half-finished login is still stored")
	}
	if resp := l.get("/board"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /board after both steps: status %d, want 200", resp.StatusCode)
	}
	if n := auditRows(t, ts, "login.totp", audit.OK); n != 1 {
		t.Errorf("%d successful login.totp audit rows, want 1", n)
	}
	// The code is never stored in the audit trail.
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE detail::text LIKE '%' || $1 || '%'`, secret); n != 0 {
		t.Error("the secret reached the audit trail")
	}

	// Nobody reaches the second step without the password.
	stranger := ts.client(t)
	resp = stranger.postForm("/login/totp", url.Values{"code": {clock.code(t, secret, 0)}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(errorText(doc(t, resp)), "Log in again") {
		t.Errorf("POST /login/totp without a password: status %d %q, want 401 and the login form", resp.StatusCode, errorText(doc(t, resp)))
	}
	wantNoAccess(t, stranger, "a code without a password")
}

// TestTOTPSetupSecretIsFresh replays the attack of issue 12: someone
// holding only the password opens the set-up and reads its secret, hoping
// to share the authenticator the user later sets up. Every login gets its
// own secret, held by its session; the secret of an earlier set-up can no
// longer be confirmed; nothing is stored until a code confirms one.
func TestTOTPSetupSecretIsFresh(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	ts := newTestServer(t, clock.deps())
	ann := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	attacker := ts.client(t)
	attacker.mustLogin("ann", testPassword)
	first := setupSecret(t, attacker.get("/account/totp"))
	if again := setupSecret(t, attacker.get("/account/totp")); again != first {
		t.Errorf("a reload in the same session changed the secret")
	}
	// A new login, even in the same browser, starts a new set-up.
	attacker.mustLogin("ann", testPassword)
	stolen := setupSecret(t, attacker.get("/account/totp"))
	if stolen == first {
		t.Errorf("a second login shows the same secret %q", stolen)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE id = $1 AND totp_secret IS NULL`, ann.ID); n != 1 {
		t.Errorf("a set-up not yet confirmed stored its secret in users")
	}

	// Ann logs in elsewhere and starts her own set-up.
	user := ts.client(t)
	user.mustLogin("ann", testPassword)
	own := setupSecret(t, user.get("/account/totp"))
	if own == stolen || own == first {
		t.Fatalf("another session shows a secret already shown")
	}
	// The attacker's secret is void, in any session.
	resp := user.postForm("/account/totp", url.Values{"code": {clock.code(t, stolen, 0)}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a code of another session's secret: status %d, want 422", resp.StatusCode)
	}
	resp = attacker.postForm("/account/totp", url.Values{"code": {clock.code(t, stolen, 0)}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(errorText(doc(t, resp)), "restarted") {
		t.Errorf("a code of a set-up that a later one voided: status %d %q, want 409", resp.StatusCode, errorText(doc(t, resp)))
	}
	if f, err := ts.DB.SecondFactor(context.Background(), ann.ID); err != nil || f.Enabled() {
		t.Fatalf("after the refused codes: %+v, %v; want two-step login off", f, err)
	}
	// Ann confirms her own (after the attacker's refused attempt started
	// yet another set-up, hers must be shown afresh: she reloads).
	own = setupSecret(t, user.get("/account/totp"))
	wantRedirect(t, user.postForm("/account/totp", url.Values{"code": {clock.code(t, own, 0)}}), "/board")
	f, err := ts.DB.SecondFactor(context.Background(), ann.ID)
	if err != nil || !f.Enabled() || f.Secret != own {
		t.Errorf("after confirming: enabled %v, secret is hers %v (%v)", f.Enabled(), f.Secret == own, err)
	}
	for _, s := range []string{first, stolen} {
		if f.Secret == s {
			t.Errorf("the stored secret is one the attacker saw")
		}
	}
}

func TestTOTPReplayRefused(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	ts := newTestServer(t, clock.deps())
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	secret, setupCode := c.enrol(clock)

	l := ts.client(t)
	wantRedirect(t, l.login("ann", testPassword), "/login/totp")
	// The code that confirmed the set-up cannot log in.
	resp := l.postForm("/login/totp", url.Values{"code": {setupCode}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(errorText(doc(t, resp)), "already been used") {
		t.Errorf("replayed set-up code: status %d %q, want 401 already used", resp.StatusCode, errorText(doc(t, resp)))
	}
	next := clock.code(t, secret, 30*time.Second)
	wantRedirect(t, l.postForm("/login/totp", url.Values{"code": {next}}), "/board")

	// A code seen over a shoulder, used again in another browser.
	m := ts.client(t)
	wantRedirect(t, m.login("ann", testPassword), "/login/totp")
	resp = m.postForm("/login/totp", url.Values{"code": {next}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(errorText(doc(t, resp)), "already been used") {
		t.Errorf("replayed login code: status %d %q, want 401 already used", resp.StatusCode, errorText(doc(t, resp)))
	}
	wantNoAccess(t, m, "after a replayed code")
	// An older code (still within the clock skew) is refused too.
	if resp := m.postForm("/login/totp", url.Values{"code": {setupCode}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("code of an earlier step: status %d, want 401", resp.StatusCode)
	}
	// Half a minute later, the new code works.
	clock.advance(30 * time.Second)
	wantRedirect(t, m.postForm("/login/totp", url.Values{"code": {clock.code(t, secret, 30*time.Second)}}), "/board")
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'login.totp' AND outcome = 'failed'
		AND detail->>'reason' = 'code already used'`); n != 3 {
		t.Errorf("%d login.totp audit rows for used codes, want 3", n)
	}
}

// TestTOTPWrongCodesLock: wrong codes are failed logins; typing the right
// password again does not reset the count, so five wrong codes lock the
// account as five wrong passwords do.
func TestTOTPWrongCodesLock(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	ts := newTestServer(t, clock.deps())
	ann := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	secret := enableTOTP(t, ts, ann)
	c := ts.client(t)
	wrong := func(want int) *http.Response {
		t.Helper()
		resp := c.postForm("/login/totp", url.Values{"code": {clock.wrongCode(t, secret)}})
		if resp.StatusCode != want {
			t.Fatalf("wrong code: status %d, want %d; page says %q", resp.StatusCode, want, errorText(doc(t, resp)))
		}
		return resp
	}
	wantRedirect(t, c.login("ann", testPassword), "/login/totp")
	resp := wrong(http.StatusUnauthorized)
	if got := errorText(doc(t, resp)); !strings.Contains(got, "Wrong code") {
		t.Errorf("wrong code says %q", got)
	}
	// An empty or malformed code is a typing slip, not a guess.
	if resp := c.postForm("/login/totp", url.Values{"code": {"12 34"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("malformed code: status %d, want 422", resp.StatusCode)
	}
	wrong(http.StatusUnauthorized)
	wrong(http.StatusUnauthorized)
	wantRedirect(t, c.login("ann", testPassword), "/login/totp")
	wrong(http.StatusUnauthorized)
	resp = wrong(http.StatusForbidden) // the fifth failure within 15 minutes
	if got := errorText(doc(t, resp)); !strings.Contains(got, "locked") {
		t.Errorf("fifth wrong code says %q, want the lockout message", got)
	}
	wantNoAccess(t, c, "after the lockout")
	// Back at the password, the lock is not revealed: the answer is that
	// of a wrong password.
	resp = c.login("ann", testPassword)
	if resp.StatusCode != http.StatusUnauthorized || errorText(doc(t, resp)) != badLoginText {
		t.Errorf("right password on the locked account: status %d %q", resp.StatusCode, errorText(doc(t, resp)))
	}
	if n := auditRows(t, ts, "login.totp", audit.Failed); n != 5 {
		t.Errorf("%d failed login.totp audit rows, want 5", n)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE detail::text ~ '[0-9]{6}'`); n != 0 {
		t.Errorf("a typed code reached the audit trail")
	}

	// Unlocked by an administrator, the right code logs in.
	admin, _ := adminClient(t, ts)
	wantRedirect(t, admin.postForm("/admin/users/"+itoa(ann.ID)+"/unlock", nil), "/admin/users/"+itoa(ann.ID))
	wantRedirect(t, c.login("ann", testPassword), "/login/totp")
	wantRedirect(t, c.postForm("/login/totp", url.Values{"code": {clock.code(t, secret, 0)}}), "/board")
}

// TestTOTPPendingLoginEnds: the second step must follow within five
// minutes, and ends when the user's sessions are ended in between.
func TestTOTPPendingLoginEnds(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	ts := newTestServer(t, clock.deps())
	ann := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	secret := enableTOTP(t, ts, ann)

	c := ts.client(t)
	wantRedirect(t, c.login("ann", testPassword), "/login/totp")
	clock.advance(5*time.Minute + time.Second)
	resp := c.postForm("/login/totp", url.Values{"code": {clock.code(t, secret, 0)}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(errorText(doc(t, resp)), "expired") {
		t.Errorf("code after 5 minutes: status %d %q, want 401 expired", resp.StatusCode, errorText(doc(t, resp)))
	}
	wantNoAccess(t, c, "after the second step expired")
	if resp := c.get("/login/totp"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /login/totp after expiry: status %d, want 401", resp.StatusCode)
	}

	// Sessions ended by an administrator between the two steps.
	wantRedirect(t, c.login("ann", testPassword), "/login/totp")
	if err := ts.DB.EndSessions(context.Background(), ann.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	resp = c.postForm("/login/totp", url.Values{"code": {clock.code(t, secret, 0)}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("code after the sessions were ended: status %d, want 401", resp.StatusCode)
	}
	wantNoAccess(t, c, "after the sessions were ended")

	// Within the time, it works.
	wantRedirect(t, c.login("ann", testPassword), "/login/totp")
	clock.advance(4 * time.Minute)
	wantRedirect(t, c.postForm("/login/totp", url.Values{"code": {clock.code(t, secret, 0)}}), "/board")
}

// TestRoleRequiresTOTP: an administrator requires two-step login for
// dispatchers. Their sessions without it end; at their next login they
// set it up before they can do anything else.
func TestRoleRequiresTOTP(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	ts := newTestServer(t, clock.deps())
	createDistrict(t, ts.DB, "LEN", "Leninsky")
	ann := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	createUser(t, ts.DB, "bob", account.Officer, "LEN")
	admin, _ := adminClient(t, ts)
	annc, bobc := ts.client(t), ts.client(t)
	annc.mustLogin("ann", testPassword)
	bobc.mustLogin("bob", testPassword)

	d := doc(t, admin.get("/admin/"))
	if d.Find(`a[href="/admin/security"]`).Length() == 0 {
		t.Errorf("the administration page has no link to /admin/security")
	}
	// Requiring it for administrators without having it oneself is refused.
	resp := admin.postForm("/admin/security", url.Values{"require_admin": {"on"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(fieldError(doc(t, resp), "require_admin"), "your own account first") {
		t.Errorf("require for admins without one's own: status %d %q", resp.StatusCode, fieldError(doc(t, resp), "require_admin"))
	}
	wantRedirect(t, admin.postForm("/admin/security", url.Values{"require_dispatcher": {"on"}}), "/admin/security")
	d = doc(t, admin.get("/admin/security"))
	if got := flashText(d); !strings.Contains(got, "1 user without two-step login was logged out") {
		t.Errorf("flash after saving %q", got)
	}
	if fieldValue(d, "require_dispatcher") != "on" || fieldValue(d, "require_officer") != "" {
		t.Errorf("the form does not show the saved policy")
	}
	if n := auditRows(t, ts, "totp.policy", audit.OK); n != 1 {
		t.Errorf("%d totp.policy audit rows, want 1", n)
	}
	wantLoginRedirect(t, annc.get("/board"))
	if resp := bobc.get("/my"); resp.StatusCode != http.StatusOK {
		t.Errorf("officer's session: status %d, want 200 (officers are not required)", resp.StatusCode)
	}

	// Ann's login: the password leads to the set-up, and nothing else.
	wantRedirect(t, annc.login("ann", testPassword), "/login/totp")
	resp = annc.get("/login/totp")
	secret := setupSecret(t, resp)
	if !strings.Contains(body(t, resp), "Your role requires two-step login") {
		t.Errorf("the set-up page does not say the role requires it")
	}
	wantNoAccess(t, annc, "required but not set up")
	resp = annc.postForm("/login/totp", url.Values{"code": {clock.wrongCode(t, secret)}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("wrong set-up code at login: status %d, want 422", resp.StatusCode)
	}
	if got := setupSecret(t, annc.get("/login/totp")); got != secret {
		t.Errorf("the secret changed after a wrong code")
	}
	wantRedirect(t, annc.postForm("/login/totp", url.Values{"code": {clock.code(t, secret, 0)}}), "/board")
	if resp := annc.get("/board"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /board after the set-up: status %d, want 200", resp.StatusCode)
	}
	if n := auditRows(t, ts, "totp.enable", audit.OK); n != 1 {
		t.Errorf("%d totp.enable audit rows, want 1", n)
	}
	// Required: it cannot be turned off by the user.
	resp = annc.postForm("/account/totp/disable", url.Values{"current": {testPassword}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("turning off a required second factor: status %d, want 409", resp.StatusCode)
	}
	// The next login asks for a code.
	l := ts.client(t)
	wantRedirect(t, l.login("ann", testPassword), "/login/totp")
	if doc(t, ok200(t, l.get("/login/totp"))).Find("img.totp-qr").Length() != 0 {
		t.Errorf("the second login shows the set-up again")
	}

	// A lost phone: the administrator resets it; Ann's sessions end and
	// her next login sets it up again with a new secret.
	link := "/admin/users/" + itoa(ann.ID) + "/totp/reset"
	if doc(t, admin.get("/admin/security")).Find(`form[action="`+link+`"]`).Length() != 1 {
		t.Fatalf("the security page offers no reset for ann")
	}
	wantRedirect(t, admin.postForm(link, nil), "/admin/security")
	wantLoginRedirect(t, annc.get("/board"))
	wantRedirect(t, annc.login("ann", testPassword), "/login/totp")
	if again := setupSecret(t, annc.get("/login/totp")); again == secret {
		t.Errorf("after a reset, the old secret is offered again")
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'totp.disable' AND username = 'root'
		AND record_id = 'ann'`); n != 1 {
		t.Errorf("%d audit rows of the reset, want 1", n)
	}
}

// TestRequireSecondFactorMiddleware: a session that began before its
// role required a second factor (and was somehow not ended) reaches only
// the set-up page until it is done.
func TestRequireSecondFactorMiddleware(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	ts := newTestServer(t, clock.deps())
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	mustExecSQL(t, ts, `INSERT INTO role_policy (role, require_totp) VALUES ('dispatcher', true)`)

	for _, p := range []string{"/", "/board", "/incidents/new", "/account/password"} {
		wantRedirect(t, c.get(p), "/account/totp")
	}
	resp := c.postForm("/incidents/history", url.Values{"phone": {"0555123456"}})
	wantRedirect(t, resp, "/account/totp")
	// The live board's refreshes and stream too: no board data before
	// the set-up.
	wantRedirect(t, c.get("/board/fragment"), "/account/totp")
	for _, p := range []string{"/board/fragment", "/board/events"} {
		req := c.newRequest(http.MethodGet, p, nil)
		req.Header.Set("HX-Request", "true")
		if resp := c.do(req); resp.StatusCode != http.StatusForbidden || resp.Header.Get("HX-Redirect") != "/account/totp" {
			t.Errorf("htmx GET %s: status %d HX-Redirect %q, want 403 to /account/totp", p, resp.StatusCode, resp.Header.Get("HX-Redirect"))
		}
	}
	if resp := c.get("/board/events"); resp.StatusCode == http.StatusOK || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("GET /board/events before the set-up: status %d %q, want no stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req := c.newRequest(http.MethodGet, "/board", nil)
	req.Header.Set("HX-Request", "true")
	if resp := c.do(req); resp.StatusCode != http.StatusForbidden || resp.Header.Get("HX-Redirect") != "/account/totp" {
		t.Errorf("htmx request: status %d HX-Redirect %q, want 403 to /account/totp", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
	resp = c.get("/account/totp")
	if !strings.Contains(body(t, resp), "Your role requires two-step login") {
		t.Errorf("the set-up page does not say why")
	}
	c.enrol(clock)
	for _, p := range []string{"/board", "/board/fragment"} {
		if resp := c.get(p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s after the set-up: status %d, want 200", p, resp.StatusCode)
		}
	}
}

func TestTOTPDisableNeedsPassword(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	ts := newTestServer(t, clock.deps())
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("ann", testPassword)
	c.enrol(clock)

	for _, pw := range []string{"", "not-the-password-at-all"} {
		resp := c.postForm("/account/totp/disable", url.Values{"current": {pw}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("disable with password %q: status %d, want 422", pw, resp.StatusCode)
		}
		d := doc(t, resp)
		if got := fieldError(d, "current"); got != "This is not your current password." {
			t.Errorf("disable with password %q: message %q", pw, got)
		}
		if got := fieldValue(d, "current"); got != "" {
			t.Errorf("the password field echoes %q", got)
		}
	}
	l := ts.client(t)
	wantRedirect(t, l.login("ann", testPassword), "/login/totp")

	wantRedirect(t, c.postForm("/account/totp/disable", url.Values{"current": {testPassword}}), "/account/totp")
	if got := flashText(doc(t, c.get("/board"))); got != "Two-step login is off." {
		t.Errorf("flash %q", got)
	}
	if n := auditRows(t, ts, "totp.disable", audit.OK); n != 1 {
		t.Errorf("%d totp.disable audit rows, want 1", n)
	}
	if n := auditRows(t, ts, "totp.disable", audit.Failed); n != 2 {
		t.Errorf("%d failed totp.disable audit rows (wrong password), want 2", n)
	}
	// The half-finished login from before cannot finish: there is no
	// second factor to check any more.
	if resp := l.postForm("/login/totp", url.Values{"code": {clock.code(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0)}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("pending login after the second factor was turned off: status %d, want 401", resp.StatusCode)
	}
	wantRedirect(t, ts.client(t).login("ann", testPassword), "/board")
}
