package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/i18n"
)

// TestAdminPagesInEveryLanguage renders the administration, audit, import
// and two-step login pages in every language and fails on a message the
// catalogue lacks (shown as ⟦id⟧).
func TestAdminPagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createDistrict(t, ts.DB, "LEN", "Leninsky")
	c, _ := adminClient(t, ts)
	paths := []string{"/admin/", "/admin/users", "/admin/users/new", "/admin/audit", "/admin/import", "/admin/security",
		"/account/totp", "/admin/danger-settings"}
	for _, k := range ts.srv.refKinds() {
		paths = append(paths, "/admin/"+k.slug, "/admin/"+k.slug+"/new")
	}
	for _, l := range i18n.Languages {
		for _, p := range paths {
			resp := c.get(p + "?lang=" + l.Code)
			text := body(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s in %s: status %d", p, l.Code, resp.StatusCode)
			}
			if i := strings.Index(text, i18n.MissingMark); i >= 0 {
				t.Errorf("%s in %s: missing message near %q", p, l.Code, text[i:min(len(text), i+80)])
			}
		}
	}
	if text := body(t, c.get("/admin/?lang=ru")); !strings.Contains(text, "Администрирование") {
		t.Error("/admin/?lang=ru is not in Russian")
	}
}
