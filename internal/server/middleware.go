package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/web"
)

type ctxKey int

const (
	userKey ctxKey = iota
	flashKey
	bodyKey   // the request body before limitBody wrapped it
	policyKey // *routePolicy
)

// Session keys.
const (
	sessUserID = "uid"
	sessEpoch  = "epoch"
	sessFlash  = "flash"
)

// currentUser returns the logged-in user, or nil on public routes.
func currentUser(ctx context.Context) *account.User {
	u, _ := ctx.Value(userKey).(*account.User)
	return u
}

// recoverPanics turns a panic into a plain 500 page. The panic value is not
// logged: it may hold personal data; the route is enough to find the bug.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "method", r.Method, "route", routePattern(r))
				s.renderError(w, r, http.StatusInternalServerError, s.t(r, "error.heading.internal"), s.t(r, "request.err.panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// routePattern is the matched chi pattern ("/admin/users/{id}"), which logs
// the kind of request without ids or query strings.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// logRequests writes one structured line per request: method, route
// pattern, status, bytes and duration. Never the query string or a form.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		s.log.Info("request", "method", r.Method, "route", routePattern(r), "status", ww.Status(),
			"bytes", ww.BytesWritten(), "ms", time.Since(start).Milliseconds())
	})
}

// securityHeaders sets the headers every response carries. Pages are
// never cached: they hold personal data. Static files override this.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies at n bytes. A route that takes more (an
// upload) raises its own limit with raiseBodyLimit, next to it in the route
// table; limitBody keeps the unwrapped body for that.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := context.WithValue(r.Context(), bodyKey, r.Body)
			r = r.WithContext(ctx)
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// raiseBodyLimit lets the route's POSTs send up to n bytes instead of
// limitBody's default (a MaxBytesReader cannot widen an outer one, so the
// body limitBody kept is wrapped again). Nothing may have read the body
// before: an upload is multipart, which no middleware reads.
func raiseBodyLimit(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if body, ok := r.Context().Value(bodyKey).(io.ReadCloser); ok && r.Method == http.MethodPost {
				r.Body = http.MaxBytesReader(w, body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// routePolicy is what the route table says of a request beyond its roles,
// for code that runs outside the route's own middleware (the retry page
// written by the deadline or the login redirect): it is created for every
// request before routing, and the route's groups fill it in.
type routePolicy struct {
	secrets []string // posted fields never echoed back, beyond secretFields
}

// withPolicy gives the request an empty routePolicy.
func withPolicy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), policyKey, &routePolicy{})))
	})
}

// policyOf is the request's routePolicy (an empty one outside withPolicy).
func policyOf(r *http.Request) *routePolicy {
	if p, ok := r.Context().Value(policyKey).(*routePolicy); ok {
		return p
	}
	return &routePolicy{}
}

// secretField marks posted fields of the group's routes as secrets that a
// retry page never echoes back (e.g. the one-time code of the
// second-factor pages; elsewhere "code" is an ordinary reference-data
// code). It must come before requireLogin, whose redirect may write a
// retry page.
func secretField(names ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := policyOf(r)
			p.secrets = append(p.secrets, names...)
			next.ServeHTTP(w, r)
		})
	}
}

// clientIP is the address of the client: the TCP peer, or, when the peer
// is a configured proxy, the right-most address in X-Forwarded-For that is
// not itself a configured proxy. A client cannot forge its way past this.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	return slices.ContainsFunc(s.proxies, func(p netip.Prefix) bool { return p.Contains(a) })
}

// loginRateLimit throttles, per client address, the requests that check a
// password or a code (20 a minute); the route table builds one and shares
// it among them.
func (s *Server) loginRateLimit() func(http.Handler) http.Handler {
	return httprate.Limit(20, time.Minute,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) { return s.clientIP(r).String(), nil }),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.renderError(w, r, http.StatusTooManyRequests, s.t(r, "auth.too_many.heading"), s.t(r, "auth.too_many"))
		}))
}

// requireLogin loads the session's user and checks that the account is
// still enabled and the session still valid (disabling a user, changing a
// password or a role ends every session at its next request).
func (s *Server) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		uid := s.sessions.GetInt64(ctx, sessUserID)
		if uid == 0 {
			s.toLogin(w, r, "")
			return
		}
		u, err := s.db.UserByID(ctx, uid)
		switch {
		case apperr.CodeOf(err) == apperr.NotFound:
			u = nil
		case err != nil:
			s.fail(w, r, err)
			return
		}
		if u == nil || u.Disabled() || u.SessionEpoch != s.sessions.GetInt(ctx, sessEpoch) {
			if err := s.sessions.Destroy(ctx); err != nil {
				s.fail(w, r, unavailable(err))
				return
			}
			s.toLogin(w, r, s.t(r, "auth.session_ended"))
			return
		}
		ctx = context.WithValue(ctx, userKey, u)
		ctx = s.userLang(ctx, r, u.Language)
		if f, ok := s.sessions.Pop(ctx, sessFlash).(string); ok && f != "" {
			kind, msg, _ := strings.Cut(f, "|")
			ctx = context.WithValue(ctx, flashKey, &web.Flash{Kind: kind, Message: msg})
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// toLogin sends the browser to the login page, remembering where it was
// going when that was a page (GET).
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, msg string) {
	// A form sent after the session ended (an officer who took longer than
	// the idle timeout) is kept: the page holds it, the user logs in again
	// in another tab and sends it again from here.
	if s.renderRetry(w, r, http.StatusUnauthorized, s.t(r, "auth.relogin.heading"), s.t(r, "auth.relogin.retry")) {
		return
	}
	if msg != "" {
		s.sessions.Put(r.Context(), sessFlash, "info|"+msg)
	}
	// An event stream, or a part of a page, is never where the user was
	// going: it answers 401 for the page's script to handle (a live page
	// says it is no longer live and offers to sign in again where it is).
	// An htmx request's redirect names the page it came from.
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	target := "/login"
	if r.Header.Get("HX-Request") == "true" {
		if p := pageOf(r); p != "" && p != "/" {
			target += "?next=" + url.QueryEscape(p)
		}
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(landingPage(r.URL.Path))
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// pageOf is the path of the page an htmx request came from (its
// HX-Current-URL, when on this site), else the request's own page.
func pageOf(r *http.Request) string {
	if cur, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && cur.Path != "" &&
		(cur.Host == "" || cur.Host == r.Host) {
		return landingPage(cur.Path)
	}
	return landingPage(r.URL.Path)
}

// landingPage maps the parts of a live page (its refreshable fragment and
// its event stream) to the page itself: after logging in, the user lands
// on the whole page, never on a bare fragment.
func landingPage(path string) string {
	switch path {
	case "/board/fragment", "/board/events":
		return "/board"
	case "/my/fragment", "/my/events":
		return "/my"
	}
	return path
}

// allow lets the request through only for the given roles; others get 403
// and an audit row (auditDenied).
func (s *Server) allow(roles ...account.Role) func(http.Handler) http.Handler {
	if len(roles) == 0 {
		panic("server: a route must allow at least one role")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := currentUser(r.Context())
			if u == nil || !slices.Contains(roles, u.Role) {
				// Every refusal is audited ("access.denied"); a failed
				// audit write is logged and the refusal stands.
				s.auditDenied(r)
				s.fail(w, r, apperr.New(apperr.Forbidden, "access.err.role"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// setFlash shows msg on the next page the user sees.
func (s *Server) setFlash(r *http.Request, kind, msg string) {
	s.sessions.Put(r.Context(), sessFlash, kind+"|"+msg)
}

// Request deadlines. pgxpool waits for a free connection for as long as the
// request's context lives, so without a deadline a full pool (or a database
// that accepts connections but does not answer) would leave a dispatcher
// looking at a spinner until the browser gave up. Each request gets a
// deadline instead, set by its group in the route table: when it passes,
// the wait for a connection or a query ends with context.DeadlineExceeded,
// which the stores report as Unavailable, and the user gets the "try again"
// page, with the form kept.
const (
	// requestDeadline bounds ordinary requests: a page, a form, a fragment.
	requestDeadline = 5 * time.Second
	// longRequestDeadline bounds the requests that read many rows (reports,
	// audit trails, their CSV and JSON exports).
	longRequestDeadline = 2 * time.Minute
)

// deadline gives each request of the group a deadline of limit. Event
// streams and static files are routed outside such groups; uploads
// (multipart: the import lifts its own time limits) get none. A handler
// whose deadline passed answers nobody (fail stays silent once the
// request's context has ended), so when nothing was written this answers
// for it: 503 with the "try again" page.
//
// It also reads a posted form before passing the request on, so that every
// later copy of the request shares the parsed form: the "try again" page
// can then repeat what was typed even when it is rendered outside the
// handler (here, or when the session store fails after the handler ran).
func (s *Server) deadline(limit time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if ct == "multipart/form-data" {
				next.ServeHTTP(w, r)
				return
			}
			if r.Method == http.MethodPost && ct == "application/x-www-form-urlencoded" {
				if err := r.ParseForm(); err != nil {
					s.fail(w, r, apperr.New(apperr.Invalid, "request.err.form"))
					return
				}
			}
			ctx, cancel := context.WithTimeout(r.Context(), limit)
			defer cancel()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r.WithContext(ctx))
			if ww.Status() == 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) && r.Context().Err() == nil {
				s.fail(ww, r, apperr.Wrap(apperr.Unavailable, ctx.Err(), "request.err.busy"))
			}
		})
	}
}
