package i18n

import (
	"context"
	"encoding/json"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestCatalogueComplete fails when a language lacks a message another
// language has, when a translation drops or invents a {{.Argument}}, or
// when a plural message lacks a form its language needs.
func TestCatalogueComplete(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	en := c.IDs("en")
	if len(en) == 0 {
		t.Fatal("the English catalogue is empty")
	}
	for _, l := range Languages {
		ids := c.IDs(l.Code)
		for _, id := range en {
			if !c.Has(l.Code, id) {
				t.Errorf("%s: missing %q", l.Code, id)
			}
		}
		for _, id := range ids {
			if !c.Has("en", id) {
				t.Errorf("%s: %q is not in the English catalogue", l.Code, id)
			}
		}
	}
	srcs := sources(t)
	args := regexp.MustCompile(`\{\{\s*\.(\w+)`)
	for id, byLang := range srcs {
		want := argSet(args, byLang["en"])
		for lang, src := range byLang {
			if got := argSet(args, src); !slices.Equal(got, want) {
				t.Errorf("%s %q: arguments %v, English has %v", lang, id, got, want)
			}
		}
	}
	// Every message renders, in every plural form its language uses.
	for _, l := range Languages {
		loc := c.Localizer(l.Code)
		for _, id := range en {
			for _, n := range []int{0, 1, 2, 3, 5, 11, 21, 22, 25, 101, 1000} {
				kv := []any{"Count", n}
				for _, a := range argSet(args, srcs[id]["en"]) {
					if a != "Count" {
						kv = append(kv, a, "x")
					}
				}
				got := loc.T(id, kv...)
				if strings.Contains(got, MissingMark) || strings.Contains(got, "<no value>") {
					t.Errorf("%s %q (count %d): %q", l.Code, id, n, got)
					break
				}
			}
		}
	}
}

// sources reads every message's text per language (plural forms joined),
// straight from the files.
func sources(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	names, _ := fs.Glob(files, "locales/*.json")
	for _, name := range names {
		buf, _ := fs.ReadFile(files, name)
		var m map[string]any
		if err := json.Unmarshal(buf, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lang := langOf(name)
		for id, v := range m {
			if out[id] == nil {
				out[id] = map[string]string{}
			}
			switch v := v.(type) {
			case string:
				out[id][lang] = v
			case map[string]any:
				var parts []string
				for k, f := range v {
					if s, ok := f.(string); ok && k != "description" {
						parts = append(parts, s)
					}
				}
				out[id][lang] = strings.Join(parts, " ")
			}
		}
	}
	return out
}

func argSet(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

func TestPluralRules(t *testing.T) {
	fsys := fstest.MapFS{
		"locales/t.en.json": {Data: []byte(`{"n": {"one": "{{.Count}} incident", "other": "{{.Count}} incidents"}}`)},
		"locales/t.ru.json": {Data: []byte(`{"n": {"one": "{{.Count}} происшествие", "few": "{{.Count}} происшествия", "many": "{{.Count}} происшествий", "other": "{{.Count}} происшествия"}}`)},
		"locales/t.ky.json": {Data: []byte(`{"n": {"one": "{{.Count}} окуя", "other": "{{.Count}} окуя"}}`)},
		"locales/t.ka.json": {Data: []byte(`{"n": {"one": "{{.Count}} შემთხვევა", "other": "{{.Count}} შემთხვევა"}}`)},
	}
	c, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lang  string
		count int
		want  string
	}{
		{"en", 1, "1 incident"}, {"en", 2, "2 incidents"}, {"en", 0, "0 incidents"},
		{"ru", 1, "1 происшествие"}, {"ru", 21, "21 происшествие"}, {"ru", 3, "3 происшествия"},
		{"ru", 5, "5 происшествий"}, {"ru", 11, "11 происшествий"}, {"ru", 22, "22 происшествия"},
		{"ky", 5, "5 окуя"}, {"ka", 2, "2 შემთხვევა"},
	}
	for _, tc := range cases {
		if got := c.Localizer(tc.lang).T("n", "Count", tc.count); got != tc.want {
			t.Errorf("%s %d: %q, want %q", tc.lang, tc.count, got, tc.want)
		}
	}
	if got := c.Localizer("en").T("absent"); got != "⟦absent⟧" {
		t.Errorf("missing message: %q", got)
	}
}

func TestMatch(t *testing.T) {
	cases := map[string]string{
		"":                                   "",
		"ru-RU,ru;q=0.9,en-US;q=0.8":         "ru",
		"ky-KG,ky;q=0.9,ru;q=0.8":            "ky",
		"ka-GE,ka;q=0.9":                     "ka",
		"en-GB,en;q=0.9":                     "en",
		"de-DE,de;q=0.9":                     "",
		"de-DE,de;q=0.9,ru;q=0.5":            "ru",
		"garbage;;;":                         "",
		"fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5": "en",
	}
	for in, want := range cases {
		if got := Match(in); got != want {
			t.Errorf("Match(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	c := Shared()
	bishkek, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Skip("no time zone data")
	}
	ts := time.Date(2026, 3, 8, 17, 30, 0, 0, time.UTC) // 23:30 in Bishkek
	cases := []struct{ lang, dt, n, pct string }{
		{"en", "2026-03-08 23:30", "12,345", "85.3%"},
		{"ru", "08.03.2026 23:30", "12\u00a0345", "85,3\u00a0%"},
		{"ka", "08.03.2026 23:30", "12\u00a0345", "85,3%"},
	}
	for _, tc := range cases {
		l := c.Localizer(tc.lang)
		if got := l.DateTime(ts, bishkek); got != tc.dt {
			t.Errorf("%s DateTime: %q, want %q", tc.lang, got, tc.dt)
		}
		if got := l.Int(12345); got != tc.n {
			t.Errorf("%s Int: %q, want %q", tc.lang, got, tc.n)
		}
		if got := l.Percent(85.3); got != tc.pct {
			t.Errorf("%s Percent: %q, want %q", tc.lang, got, tc.pct)
		}
	}
	if got := T(context.Background(), "login.title"); got != "Log in" {
		t.Errorf("default language: %q", got)
	}
}
