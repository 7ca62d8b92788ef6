// Package i18n is the message catalogue: every text the application shows
// to a person, in English, Russian, Kyrgyz and Georgian, with each
// language's plural rules (CLDR, through go-i18n).
//
// Messages live in locales/<area>.<lang>.json, keyed by dotted IDs such as
// "login.title". A message with a count has plural forms ("one", "few",
// "many", "other"), chosen by the "Count" argument. Arguments are named:
//
//	l.T("report.err.too_long", "Max", 366, "Days", 400)
//
// and written {{.Max}} in the message.
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Language is one language of the catalogue.
type Language struct {
	Code string // en, ru, ky, ka
	Name string // the language's name in itself
}

// Languages are the catalogue's languages, in the order menus list them.
var Languages = []Language{
	{"en", "English"},
	{"ru", "Русский"},
	{"ky", "Кыргызча"},
	{"ka", "ქართული"},
}

// Default is the language used when nothing else decides.
const Default = "en"

// Supported reports whether code is one of the catalogue's languages.
func Supported(code string) bool {
	for _, l := range Languages {
		if l.Code == code {
			return true
		}
	}
	return false
}

// MissingMark wraps the ID of a message that the catalogue lacks, so that a
// missing translation is visible on the page and found by tests.
const MissingMark = "⟦"

//go:embed locales/*.json
var files embed.FS

// Catalogue holds the messages of every language.
type Catalogue struct {
	bundle *goi18n.Bundle
	locs   map[string]*Localizer
	ids    map[string]map[string]bool // language -> message IDs
	plural map[string]bool            // IDs of messages with plural forms
	// plain holds, by language and ID, the text of messages asked for
	// without arguments: the same each time, so worded once (a page
	// asks for hundreds).
	plain sync.Map // plainKey → string
}

type plainKey struct{ lang, id string }

// Load reads the embedded catalogue.
func Load() (*Catalogue, error) {
	return load(files)
}

var shared = sync.OnceValues(Load)

// Shared returns the embedded catalogue, loaded once. It panics when the
// embedded files are broken, which the package's tests rule out.
func Shared() *Catalogue {
	c, err := shared()
	if err != nil {
		panic(err)
	}
	return c
}

func load(fsys fs.FS) (*Catalogue, error) {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalogue{bundle: b, locs: map[string]*Localizer{}, ids: map[string]map[string]bool{}, plural: map[string]bool{}}
	names, err := fs.Glob(fsys, "locales/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		mf, err := b.ParseMessageFileBytes(buf, path.Base(name))
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		lang := langOf(name)
		if !Supported(lang) {
			return nil, fmt.Errorf("i18n: %s: unknown language %q", name, lang)
		}
		if c.ids[lang] == nil {
			c.ids[lang] = map[string]bool{}
		}
		for _, m := range mf.Messages {
			if c.ids[lang][m.ID] {
				return nil, fmt.Errorf("i18n: %s: message %q defined twice", name, m.ID)
			}
			c.ids[lang][m.ID] = true
			if m.One != "" || m.Few != "" || m.Many != "" || m.Two != "" || m.Zero != "" {
				c.plural[m.ID] = true
			}
		}
	}
	for _, l := range Languages {
		tag := language.MustParse(l.Code)
		c.locs[l.Code] = &Localizer{Lang: l.Code, cat: c, loc: goi18n.NewLocalizer(b, l.Code), tag: tag,
			numbers: message.NewPrinter(tag)}
	}
	return c, nil
}

// langOf returns the language part of "area.lang.json".
func langOf(name string) string {
	base := strings.TrimSuffix(path.Base(name), ".json")
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return base[i+1:]
	}
	return ""
}

// IDs returns the message IDs of a language, sorted.
func (c *Catalogue) IDs(lang string) []string {
	out := make([]string, 0, len(c.ids[lang]))
	for id := range c.ids[lang] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Has reports whether the language has the message.
func (c *Catalogue) Has(lang, id string) bool { return c.ids[lang][id] }

// Localizer returns the localizer of a language; unknown codes get the
// default language.
func (c *Catalogue) Localizer(lang string) *Localizer {
	if l, ok := c.locs[lang]; ok {
		return l
	}
	return c.locs[Default]
}

// Localizer renders messages in one language.
type Localizer struct {
	Lang string
	cat  *Catalogue
	loc  *goi18n.Localizer
	tag  language.Tag
	// numbers writes numbers as the language does.
	numbers *message.Printer
}

// T returns the message id with its named arguments (name, value pairs).
// An argument named "Count" chooses the plural form. A message missing
// from the catalogue comes back as ⟦id⟧.
func (l *Localizer) T(id string, kv ...any) string {
	if l == nil {
		l = Shared().Localizer(Default)
	}
	if !l.cat.ids[l.Lang][id] {
		return MissingMark + id + "⟧"
	}
	if len(kv) == 0 {
		key := plainKey{l.Lang, id}
		if s, ok := l.cat.plain.Load(key); ok {
			return s.(string)
		}
		s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: id})
		if err != nil {
			return MissingMark + id + "⟧"
		}
		l.cat.plain.Store(key, s)
		return s
	}
	cfg := &goi18n.LocalizeConfig{MessageID: id}
	data := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		data[k] = kv[i+1]
		if k == "Count" && l.cat.plural[id] {
			cfg.PluralCount = kv[i+1]
		}
	}
	cfg.TemplateData = data
	s, err := l.loc.Localize(cfg)
	if err != nil {
		return MissingMark + id + "⟧"
	}
	return s
}

// Msg is a message to be rendered later, in the reader's language: an ID
// and its named arguments.
type Msg struct {
	ID   string
	Args []any
}

// M returns a message with named arguments (name, value pairs).
func M(id string, kv ...any) Msg { return Msg{ID: id, Args: kv} }

// Render returns m in l's language.
func (l *Localizer) Render(m Msg) string { return l.T(m.ID, m.Args...) }

type ctxKey struct{}

// NewContext returns ctx carrying l.
func NewContext(ctx context.Context, l *Localizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the localizer ctx carries, or the default language's.
func FromContext(ctx context.Context) *Localizer {
	if ctx != nil {
		if l, ok := ctx.Value(ctxKey{}).(*Localizer); ok && l != nil {
			return l
		}
	}
	return Shared().Localizer(Default)
}

// T renders a message in the language ctx carries.
func T(ctx context.Context, id string, kv ...any) string {
	return FromContext(ctx).T(id, kv...)
}

var matcher = func() language.Matcher {
	tags := make([]language.Tag, len(Languages))
	for i, l := range Languages {
		tags[i] = language.MustParse(l.Code)
	}
	return language.NewMatcher(tags)
}()

// Match picks the catalogue language that best fits an Accept-Language
// header, or "" when none fits.
func Match(acceptLanguage string) string {
	if strings.TrimSpace(acceptLanguage) == "" {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return ""
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return ""
	}
	return Languages[i].Code
}

// Has reports whether the localizer's language has the message.
func (l *Localizer) Has(id string) bool { return l != nil && l.cat.ids[l.Lang][id] }

// Text renders a message carried by an error or a view model: a catalogue
// ID with its named arguments. Every literal ID in the source is checked
// by TestSourceUsesCatalogueIDs; should a sentence still arrive here (text
// built at run time), it is shown as it is rather than as a missing-key
// marker.
func (l *Localizer) Text(id string, kv ...any) string {
	if id == "" {
		return ""
	}
	if strings.Contains(id, " ") && !l.Has(id) {
		return id
	}
	return l.T(id, kv...)
}
