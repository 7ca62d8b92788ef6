package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/a-h/templ/parser/v2"
	"github.com/a-h/templ/parser/v2/visitor"
)

// pending lists the templates still being moved to the catalogue; each is
// removed from here as it is converted. Empty when the move is done.
var pending = map[string]bool{}

// shownAttrs are the attributes whose text a person reads or hears.
var shownAttrs = map[string]bool{"placeholder": true, "title": true, "aria-label": true, "alt": true,
	"aria-description": true, "aria-roledescription": true, "aria-valuetext": true}

// letters finds words: text with two letters in a row. Symbols, digits and
// punctuation (·, –, *, :) are not words.
var letters = regexp.MustCompile(`\pL\pL`)

// TestTemplatesUseCatalogue fails when a template holds text a person sees
// (between tags, or in an attribute such as title or placeholder) instead
// of taking it from the catalogue with T.
func TestTemplatesUseCatalogue(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found: %v", err)
	}
	checked := 0
	for _, name := range files {
		if pending[name] {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		tf, err := parser.ParseString(string(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v := visitor.New()
		v.Text = func(n *parser.Text) error {
			if letters.MatchString(n.Value) {
				t.Errorf("%s:%d: text %q is not from the catalogue", name, n.Range.From.Line+1, strings.TrimSpace(n.Value))
			}
			return nil
		}
		v.ConstantAttribute = func(n *parser.ConstantAttribute) error {
			if shownAttrs[strings.ToLower(n.Key.String())] && letters.MatchString(n.Value) {
				t.Errorf("%s:%d: attribute %s=%q is not from the catalogue", name, n.Range.From.Line+1, n.Key, n.Value)
			}
			return nil
		}
		if err := tf.Visit(v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no template was checked")
	}
	for name := range pending {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("pending lists %s, which does not exist", name)
		}
	}
}
