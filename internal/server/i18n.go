package server

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
)

// langCookie remembers the language chosen on the login page (or in the
// user menu) on this browser, so that the login page speaks it next time.
// It holds a language code only.
const langCookie = "dvr_lang"

// localize picks the request's language, before anyone is logged in: a
// valid ?lang=, else the language cookie, else the best match of the
// browser's Accept-Language, else the deployment's default. requireLogin
// then prefers the user's own language, unless ?lang= names one.
func (s *Server) localize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := s.requestLang(r)
		ctx := i18n.NewContext(r.Context(), s.cat.Localizer(lang))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requestLang is the language of a request before the user is known.
func (s *Server) requestLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && i18n.Supported(c.Value) {
		return c.Value
	}
	if l := i18n.Match(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return s.lang
}

// userLang returns ctx with the logged-in user's language, unless the
// request names one with ?lang=.
func (s *Server) userLang(ctx context.Context, r *http.Request, userLang string) context.Context {
	if i18n.Supported(r.URL.Query().Get("lang")) || !i18n.Supported(userLang) {
		return ctx
	}
	return i18n.NewContext(ctx, s.cat.Localizer(userLang))
}

// rememberLang sets the language cookie.
func (s *Server) rememberLang(w http.ResponseWriter, lang string) {
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, Secure: s.cookieSecure, SameSite: http.SameSiteLaxMode})
}

// t renders a catalogue message in the request's language.
func (s *Server) t(r *http.Request, id string, kv ...any) string {
	return i18n.FromContext(r.Context()).T(id, kv...)
}

// tr renders a message carried by an error in the request's language.
func (s *Server) tr(r *http.Request, m apperr.Msg) string {
	return render(i18n.FromContext(r.Context()), m)
}

// render renders m with l.
func render(l *i18n.Localizer, m apperr.Msg) string { return l.Text(m.ID, m.Args...) }

// trFields renders per-field messages in the request's language.
func (s *Server) trFields(r *http.Request, f map[string]apperr.Msg) map[string]string {
	if len(f) == 0 {
		return nil
	}
	l := i18n.FromContext(r.Context())
	out := make(map[string]string, len(f))
	for k, m := range f {
		out[k] = render(l, m)
	}
	return out
}

// setLanguage stores the language the user picked in the user menu and
// goes back to the page they were on.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("language")
	u := currentUser(r.Context())
	if !i18n.Supported(lang) {
		s.fail(w, r, apperr.New(apperr.Invalid, "language.err.unknown"))
		return
	}
	if err := s.db.SetLanguage(r.Context(), u.ID, lang); err != nil {
		s.fail(w, r, err)
		return
	}
	s.rememberLang(w, lang)
	next := withoutLang(safeNext(r.PostFormValue("next")))
	if next == "" {
		next = homeOf(u.Role)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// withoutLang drops ?lang= from a local address: going back to a page
// opened with ?lang=ru after choosing Georgian must show it in Georgian.
func withoutLang(next string) string {
	u, err := url.Parse(next)
	if err != nil || !u.Query().Has("lang") {
		return next
	}
	q := u.Query()
	q.Del("lang")
	u.RawQuery = q.Encode()
	return u.String()
}
