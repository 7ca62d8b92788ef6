package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/account"
)

func TestLockoutAfterFiveFailures(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := createUser(t, ts.DB, "ann", account.Dispatcher, "")
	c := ts.client(t)
	for i := range account.MaxFailedLogins {
		resp := c.login("ann", "not-the-password-at-all")
		want := http.StatusUnauthorized
		if i == account.MaxFailedLogins-1 {
			want = http.StatusForbidden // the fifth failure locks
		}
		if resp.StatusCode != want {
			t.Fatalf("failure %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	resp := c.login("ann", testPassword)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(errorText(doc(t, resp)), "locked") {
		t.Fatalf("right password on a locked account: %d %q", resp.StatusCode, errorText(doc(t, resp)))
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'login' AND outcome = 'failed' AND record_id = 'ann'`); n != 5 {
		t.Errorf("%d failed-login audit rows, want 5", n)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'login' AND outcome = 'denied'`); n != 1 {
		t.Errorf("%d denied-login audit rows, want 1", n)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE detail::text LIKE '%not-the-password%'`); n != 0 {
		t.Error("a typed password reached the audit trail")
	}
	admin, _ := adminClient(t, ts)
	if resp := admin.postForm("/admin/users/"+itoa(u.ID)+"/unlock", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unlock: %d", resp.StatusCode)
	}
	if resp := c.login("ann", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login after unlock: %d", resp.StatusCode)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'login' AND outcome = 'ok' AND record_id = 'ann'`); n != 1 {
		t.Errorf("%d successful-login audit rows for ann, want 1", n)
	}
}

func TestSuccessResetsFailureCount(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "bob", account.Dispatcher, "")
	c := ts.client(t)
	for range account.MaxFailedLogins - 1 {
		c.login("bob", "wrong-password-here")
	}
	if resp := c.login("bob", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	c2 := ts.client(t)
	for range account.MaxFailedLogins - 1 {
		c2.login("bob", "wrong-password-here")
	}
	if resp := c2.login("bob", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a success, four more failures must not lock: %d", resp.StatusCode)
	}
}
