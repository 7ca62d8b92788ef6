package server

import (
	"bytes"
	"errors"
	"net/http"
	"slices"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/web"
)

// unavailable wraps an infrastructure error (session store, database) as
// Unavailable.
func unavailable(err error) error {
	var e *apperr.Error
	if errors.As(err, &e) {
		return err
	}
	return apperr.Wrap(apperr.Unavailable, err, "error.db_unreachable")
}

// statusOf is the one mapping of error codes to HTTP statuses.
func statusOf(code apperr.Code) int {
	switch code {
	case apperr.Invalid:
		return http.StatusUnprocessableEntity
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.Unauthorized:
		return http.StatusUnauthorized
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// headings are the catalogue IDs of the error pages' headings.
var headings = map[apperr.Code]string{
	apperr.Invalid:      "error.heading.invalid",
	apperr.NotFound:     "error.heading.not_found",
	apperr.Conflict:     "error.heading.conflict",
	apperr.Forbidden:    "error.heading.forbidden",
	apperr.Unauthorized: "error.heading.unauthorized",
	apperr.Unavailable:  "error.heading.unavailable",
	apperr.Internal:     "error.heading.internal",
}

// fail answers a request with the error page for err. Internal errors are
// logged (with the route, never request data) and shown generically.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away (navigated on, closed the tab): nobody to answer
	}
	code := apperr.CodeOf(err)
	status := statusOf(code)
	msg := s.tr(r, apperr.MessageOf(err))
	switch code {
	case apperr.Internal:
		s.log.Error("request failed", "route", routePattern(r), "err", err)
		msg = s.t(r, "error.internal")
	case apperr.Unavailable:
		s.log.Warn("database unavailable", "route", routePattern(r), "err", err)
		w.Header().Set("Retry-After", "5")
	}
	// A form that failed for a reason not its own comes back with everything
	// that was sent, so that nothing typed is lost.
	if (code == apperr.Internal || code == apperr.Unavailable) && s.renderRetry(w, r, status, s.t(r, headings[code]), msg) {
		return
	}
	s.renderError(w, r, status, s.t(r, headings[code]), msg)
}

// secretFields are never echoed back in a retry page, on any route; a
// route group adds its own with secretField (routes.go).
var secretFields = map[string]bool{"password": true, "current": true, "confirm": true}

// isSecret reports whether a posted field must not be echoed back: the
// password fields, and those the route table marks secret for the route.
func isSecret(r *http.Request, field string) bool {
	return secretFields[field] || slices.Contains(policyOf(r).secrets, field)
}

// renderRetry answers a POST that could not be handled with a page that
// holds every field that was sent (secrets excepted) and a button that
// sends them again. It reports false, writing nothing, when the request is
// not a form POST with fields to keep.
func (s *Server) renderRetry(w http.ResponseWriter, r *http.Request, status int, heading, msg string) bool {
	if r.Method != http.MethodPost || r.Header.Get("HX-Request") == "true" || r.ParseForm() != nil {
		return false
	}
	var names []string
	for k := range r.PostForm {
		if !isSecret(r, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return false
	}
	slices.Sort(names)
	p := web.RetryPage{Page: s.page(r, heading, ""), Status: status, Heading: heading, Action: r.URL.Path,
		Message: msg + " " + s.t(r, "retry.kept")}
	for _, k := range names {
		for _, v := range r.PostForm[k] {
			p.Fields = append(p.Fields, web.Option{Value: k, Label: v})
		}
	}
	s.render(w, r, status, web.Retry(p))
	return true
}

// notFound answers unknown paths.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, s.t(r, "error.heading.not_found"), s.t(r, "error.no_page"))
}

// methodNotAllowed answers a known path with the wrong method.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusMethodNotAllowed, s.t(r, "error.heading.method"), s.t(r, "error.method"))
}

// renderError writes a full error page.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	s.render(w, r, status, web.Error(web.ErrorPage{Page: s.page(r, heading, ""), Status: status, Heading: heading, Message: msg}))
}

// render writes a component in full or not at all: it is rendered into a
// buffer first, so a failure half-way never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		if r.Context().Err() != nil {
			return
		}
		s.log.Error("render failed", "route", routePattern(r), "err", err)
		http.Error(w, s.t(r, "request.err.render"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// page fills the layout's view model for the current request.
func (s *Server) page(r *http.Request, title, nav string) web.Page {
	l := i18n.FromContext(r.Context())
	p := web.Page{Title: title, Nav: nav, Location: s.loc, Now: s.now(), Lang: l.Lang, Path: r.URL.RequestURI()}
	if r.Method != http.MethodGet {
		p.Path = ""
	}
	if u := currentUser(r.Context()); u != nil {
		p.Viewer = &web.Viewer{Username: u.Username, Name: u.DisplayName(), Role: string(u.Role), RoleLabel: l.T("role." + string(u.Role))}
	}
	if f, ok := r.Context().Value(flashKey).(*web.Flash); ok {
		p.Flash = f
	}
	return p
}

// formError splits err into what a form shows: a message above the form
// and messages next to fields. Errors that are not about the input (the
// database is down, a timeout) keep the form and say to try again.
func (s *Server) formError(r *http.Request, err error) (string, map[string]string) {
	switch apperr.CodeOf(err) {
	case apperr.Invalid, apperr.Conflict:
		fields := apperr.FieldsOf(err)
		if len(fields) > 0 {
			return s.t(r, "form.correct_fields"), s.trFields(r, fields)
		}
		return s.tr(r, apperr.MessageOf(err)), nil
	case apperr.Unavailable:
		s.log.Warn("database unavailable", "route", routePattern(r), "err", err)
		return s.t(r, "form.db_unavailable"), nil
	default:
		s.log.Error("form failed", "route", routePattern(r), "err", err)
		return s.t(r, "form.not_saved"), nil
	}
}
