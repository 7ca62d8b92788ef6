package server

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/dvresponse/dvresponse/internal/i18n"
)

// TestDashboardLanguages: the dashboard speaks each catalogue language
// without a missing message, and only its words change: every figure the
// exports carry (the <data value> of each cell) is the English page's.
func TestDashboardLanguages(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	c, _ := adminClient(t, f.ts)
	const query = "/dashboard?from=2026-02-20&to=2026-03-09"
	en := dashboardFigures(t, doc(t, c.mustGet(query+"&lang=en")))
	if len(en) == 0 {
		t.Fatal("the English dashboard shows no figures")
	}
	words := map[string]string{"ru": "Медиана", "ky": "Медиана", "ka": "მედიანა"}
	for _, l := range i18n.Languages {
		if l.Code == "en" {
			continue
		}
		t.Run(l.Code, func(t *testing.T) {
			page := body(t, c.mustGet(query+"&lang="+l.Code))
			if i := strings.Index(page, i18n.MissingMark); i >= 0 {
				t.Errorf("missing message: %q", page[i:min(len(page), i+80)])
			}
			if w := words[l.Code]; !strings.Contains(page, w) {
				t.Errorf("the page does not say %q", w)
			}
			d, err := goquery.NewDocumentFromReader(strings.NewReader(page))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(en, dashboardFigures(t, d)); diff != "" {
				t.Errorf("figures differ from the English page:\n%s", diff)
			}
			// The repeat-rate section, loaded by its own request, comes
			// in the page's language.
			href := d.Find("#repeats-body").AttrOr("hx-get", "")
			if !strings.Contains(href, "lang="+l.Code) {
				t.Fatalf("repeat section %q: not in the page's language", href)
			}
			frag := body(t, c.mustGet(href))
			if i := strings.Index(frag, i18n.MissingMark); i >= 0 {
				t.Errorf("missing message in the repeat section: %q", frag[i:min(len(frag), i+80)])
			}
			if w := f.ts.srv.cat.Localizer(l.Code).T("dashboard.repeat.col_median"); !strings.Contains(frag, w) {
				t.Errorf("the repeat section does not say %q", w)
			}
		})
	}
}
