package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/account"
)

// crossOrigin lists the header sets of forms sent from elsewhere.
var crossOrigin = []struct {
	name    string
	headers map[string]string
}{
	{"cross-site fetch", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
	{"same-site fetch", map[string]string{"Origin": "https://sub.evil.example", "Sec-Fetch-Site": "same-site"}},
	{"foreign origin, old browser", map[string]string{"Origin": "https://evil.example"}},
	{"null origin", map[string]string{"Origin": "null"}},
}

func wantRefused(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("%s: status %d, want 403", what, resp.StatusCode)
		return
	}
	if got := errorText(doc(t, resp)); !strings.Contains(got, "Request refused") {
		t.Errorf("%s: page says %q, want it to say the request was refused", what, got)
	}
}

func TestCrossOriginLoginRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "ann", account.Dispatcher, "")
	form := url.Values{"username": {"ann"}, "password": {testPassword}}
	for _, co := range crossOrigin {
		c := ts.client(t)
		resp := c.postFormHeaders("/login", form, co.headers)
		wantRefused(t, "login, "+co.name, resp)
		if n := queryInt(t, ts.DB, `SELECT count(*) FROM sessions`); n != 0 {
			t.Errorf("login, %s: %d sessions stored, want none", co.name, n)
		}
		wantRedirect(t, c.get("/board"), "/login?next=%2Fboard")
	}
	// The same form from our own page logs in.
	c := ts.client(t)
	wantRedirect(t, c.postForm("/login", form), "/board")
	if resp := c.get("/board"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /board after a same-origin login: status %d, want 200", resp.StatusCode)
	}
}

func TestCrossOriginAdminChangeRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c, _ := adminClient(t, ts)
	victim := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	form := url.Values{"code": {"EVIL"}, "name": {"Planted district"}, "active": {"on"}}
	for _, co := range crossOrigin {
		wantRefused(t, "create district, "+co.name, c.postFormHeaders("/admin/districts", form, co.headers))
		wantRefused(t, "disable user, "+co.name, c.postFormHeaders("/admin/users/"+itoa(victim.ID)+"/disable", nil, co.headers))
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM districts`); n != 0 {
		t.Errorf("%d districts after cross-origin posts, want 0", n)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE disabled_at IS NOT NULL`); n != 0 {
		t.Errorf("%d disabled users after cross-origin posts, want 0", n)
	}

	// The same posts from our own pages work, with the browser's headers
	// or with none (a non-browser client).
	wantRedirect(t, c.postForm("/admin/districts", form), "/admin/districts")
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM districts WHERE code = 'EVIL'`); n != 1 {
		t.Errorf("%d districts after a same-origin post, want 1", n)
	}
	wantRedirect(t, c.postFormHeaders("/admin/users/"+itoa(victim.ID)+"/disable", nil, nil), "/admin/users/"+itoa(victim.ID))
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE disabled_at IS NOT NULL`); n != 1 {
		t.Errorf("%d disabled users after a same-origin post, want 1", n)
	}
}
