package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// testPassword is the password of every user createUser makes.
const testPassword = "a-long-enough-test-password"

// sessionCookie is the name of the session cookie.
const sessionCookie = "dvr_session"

// testServer is a Server on a fresh migrated database, served over HTTP.
type testServer struct {
	URL string
	DB  *postgres.DB
	srv *Server
}

// newTestServer starts a server on its own database. Options adjust the
// Deps before the server is built. Warnings and errors the server logs are
// written to the test's output, so a failing test shows them.
func newTestServer(t *testing.T, opts ...func(*Deps)) *testServer {
	t.Helper()
	return newTestServerOn(t, pgtest.DB(t), opts...)
}

// testTOTPKey seals the second-factor secrets of test servers, so that
// every test of two-step login goes through sealing as production with
// DVR_TOTP_KEY set does.
var testTOTPKey = []byte("test key for totp secrets, 32 B.")

// newTestServerOn starts a server on db, sealing its second-factor secrets
// with testTOTPKey.
func newTestServerOn(t *testing.T, db *postgres.DB, opts ...func(*Deps)) *testServer {
	t.Helper()
	db.SetTOTPKey(testTOTPKey)
	d := Deps{
		DB:     db,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		// A Kyrgyz deployment: national phone numbers are read as +996.
		Rules: match.Rules{Region: "KG"},
	}
	for _, o := range opts {
		o(&d)
	}
	s := NewServer(d)
	hs := httptest.NewServer(s)
	// s.Close first: it ends open event streams, which hs.Close would
	// otherwise wait for.
	t.Cleanup(func() {
		s.Close()
		hs.Close()
	})
	return &testServer{URL: hs.URL, DB: db, srv: s}
}

// client is a browser: it keeps cookies, does not follow redirects (tests
// look at each Location) and sends the headers a browser sends with a
// same-origin form.
type client struct {
	t    *testing.T
	base string
	jar  http.CookieJar
	hc   *http.Client
}

func (ts *testServer) client(t *testing.T) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: ts.URL, jar: jar, hc: &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// do sends req and reads the whole body, which stays readable (see body
// and doc). An event stream's body is not read.
func (c *client) do(req *http.Request) *http.Response {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// An event stream never ends: keep the headers, hang up.
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(""))
		return resp
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func (c *client) newRequest(method, path string, body io.Reader) *http.Request {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatalf("%s %q: %v", method, path, err)
	}
	return req
}

// get fetches path.
func (c *client) get(path string) *http.Response {
	c.t.Helper()
	req := c.newRequest(http.MethodGet, path, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// postForm posts v to path as a same-origin browser form would.
func (c *client) postForm(path string, v url.Values) *http.Response {
	c.t.Helper()
	return c.postFormHeaders(path, v, map[string]string{"Origin": c.base, "Sec-Fetch-Site": "same-origin"})
}

// postFormHeaders posts v to path with exactly the given extra headers.
func (c *client) postFormHeaders(path string, v url.Values, h map[string]string) *http.Response {
	c.t.Helper()
	req := c.newRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, val := range h {
		req.Header.Set(k, val)
	}
	return c.do(req)
}

// login posts the login form; it does not check the outcome.
func (c *client) login(username, password string) *http.Response {
	c.t.Helper()
	return c.postForm("/login", url.Values{"username": {username}, "password": {password}})
}

// mustLogin logs in and fails the test unless the server accepted it.
func (c *client) mustLogin(username, password string) {
	c.t.Helper()
	resp := c.login(username, password)
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login as %s: status %d, want 303; page says %q", username, resp.StatusCode, errorText(doc(c.t, resp)))
	}
}

// cookie returns the value of the named cookie the client holds, or "".
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie makes the client send the named cookie from now on.
func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(c.base)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// body returns the response body as a string.
func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// doc parses the response body as HTML.
func doc(t *testing.T, resp *http.Response) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body(t, resp)))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

// field returns the .field element that holds the input, select or
// textarea named name.
func field(d *goquery.Document, name string) *goquery.Selection {
	sel := `input[name="` + name + `"], select[name="` + name + `"], textarea[name="` + name + `"]`
	return d.Find(".field").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return s.Find(sel).Length() > 0
	})
}

// fieldError is the message shown next to the field named name: the text
// of the .field-error inside its .field. A missing field yields a text no
// test expects.
func fieldError(d *goquery.Document, name string) string {
	f := field(d, name)
	if f.Length() == 0 {
		return "(no field named " + name + ")"
	}
	return strings.TrimSpace(f.Find(".field-error").Text())
}

// fieldValue is the value the form shows in the field named name: an
// input's value ("on" or "" for a checkbox), the selected option of a
// select, the text of a textarea.
func fieldValue(d *goquery.Document, name string) string {
	f := field(d, name)
	if f.Length() == 0 {
		return "(no field named " + name + ")"
	}
	if s := f.Find(`select[name="` + name + `"]`); s.Length() > 0 {
		v, _ := s.Find("option[selected]").First().Attr("value")
		return v
	}
	if s := f.Find(`textarea[name="` + name + `"]`); s.Length() > 0 {
		// The HTML parser drops one leading newline of a textarea.
		return s.Text()
	}
	in := f.Find(`input[name="` + name + `"]`)
	if typ, _ := in.Attr("type"); typ == "checkbox" {
		if _, checked := in.Attr("checked"); checked {
			return "on"
		}
		return ""
	}
	v, _ := in.Attr("value")
	return v
}

// flashText is the text of the flash message at the top of the page.
func flashText(d *goquery.Document) string {
	return strings.TrimSpace(d.Find("main > .flash").Text())
}

// errorText is the text of the messages a page shows about a failure: the
// flash, the form-level message and an error page's heading and message.
func errorText(d *goquery.Document) string {
	var parts []string
	d.Find(".flash, .error-page").Each(func(_ int, s *goquery.Selection) {
		parts = append(parts, strings.Join(strings.Fields(s.Text()), " "))
	})
	return strings.Join(parts, " | ")
}

// location is the redirect target of resp ("" when it is no redirect).
func location(resp *http.Response) string { return resp.Header.Get("Location") }

// wantRedirect fails the test unless resp is a 303 to want.
func wantRedirect(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || location(resp) != want {
		t.Errorf("%s %s: got %d Location %q, want 303 to %q", resp.Request.Method, resp.Request.URL.Path,
			resp.StatusCode, location(resp), want)
	}
}

// wantLoginRedirect fails the test unless resp sends the browser to the
// login page.
func wantLoginRedirect(t *testing.T, resp *http.Response) {
	t.Helper()
	loc := location(resp)
	if resp.StatusCode != http.StatusSeeOther || (loc != "/login" && !strings.HasPrefix(loc, "/login?")) {
		t.Errorf("%s %s: got %d Location %q, want 303 to the login page", resp.Request.Method, resp.Request.URL.Path,
			resp.StatusCode, loc)
	}
}

// createUser stores a user with testPassword; district is a district code
// or "".
func createUser(t *testing.T, db *postgres.DB, username string, role account.Role, district string) *account.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), account.Draft{Username: username, Role: string(role),
		District: district, Password: testPassword}, audit.Actor{})
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// createUnitUser stores a user of unit (a call sign) with testPassword.
func createUnitUser(t *testing.T, db *postgres.DB, username string, role account.Role, district, unit string) *account.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), account.Draft{Username: username, Role: string(role),
		District: district, Unit: unit, Password: testPassword}, audit.Actor{})
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// assignUnit puts unit unitID on incident incidentID, as a dispatcher
// does: the officers of a unit change only the incidents it is on.
func assignUnit(t *testing.T, db *postgres.DB, incidentID, unitID int64) {
	t.Helper()
	if err := db.AssignUnit(context.Background(), incidentID, unitID, audit.Actor{}); err != nil {
		t.Fatalf("assign unit %d to incident %d: %v", unitID, incidentID, err)
	}
}

// createDistrict stores a district.
func createDistrict(t *testing.T, db *postgres.DB, code, name string) refdata.District {
	t.Helper()
	d := refdata.District{Code: code, Name: name, Active: true}
	if err := db.SaveDistrict(context.Background(), &d, audit.Actor{}); err != nil {
		t.Fatalf("create district %s: %v", code, err)
	}
	return d
}

// adminClient creates an administrator and returns a client logged in as
// them.
func adminClient(t *testing.T, ts *testServer) (*client, *account.User) {
	t.Helper()
	u := createUser(t, ts.DB, "root", account.Admin, "")
	c := ts.client(t)
	c.mustLogin("root", testPassword)
	return c, u
}

// queryInt runs a query returning one integer.
func queryInt(t *testing.T, db *postgres.DB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// itoa formats an id for a path.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ok200 fails the test unless resp is a 200, so that a check that something
// is absent from a page cannot pass on an error page.
func ok200(t *testing.T, resp *http.Response) *http.Response {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d, want 200", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode)
	}
	return resp
}
