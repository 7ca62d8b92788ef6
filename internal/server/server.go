// Package server is dvresponse's HTTP interface: the route table, the
// middleware (sessions, authentication, roles, security headers) and one
// file of handlers per area. Errors from the stores reach responses through
// one mapping, in errors.go.
package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/metrics"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// Deps is what the server needs from the outside world.
type Deps struct {
	DB             *postgres.DB
	Logger         *slog.Logger
	Location       *time.Location // the deployment's time zone, for display
	CookieSecure   bool           // set the Secure flag on the session cookie
	IdleTimeout    time.Duration  // default 30 minutes
	SessionMax     time.Duration  // absolute session lifetime; default 12 hours
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed
	Now            func() time.Time
	// Hub fans database changes out to live-board streams; the caller runs
	// it (Hub.Run with DB.Listen). A nil Hub gives streams that only ever
	// send their initial resync.
	Hub *live.Hub
	// ReadDB, when set, is a streaming replica of DB (DATABASE_READ_URL)
	// that report figures are read from: the dashboard and the exports.
	// Their audit records, and everything else, go to DB. While it is down
	// reports fail with 503 "reporting database unavailable"; they do not
	// fall back to DB. Nil reads reports from DB.
	ReadDB *postgres.DB
	// Language is the deployment's default language (en, ru, ky, ka): the
	// language of users who chose none and whose browser asks for none of
	// the catalogue's.
	Language string
	// Catalogue is the message catalogue; nil uses the embedded one.
	Catalogue *i18n.Catalogue
	// Metrics counts requests, login failures and board resyncs; nil
	// counts nothing. It is served on its own listener, not by this
	// server (DVR_METRICS_ADDR).
	Metrics *metrics.Metrics
	// Rules are the history-matching rules (DVR_COUNTRY); with no region,
	// the country of Location (match.RegionOfZone).
	Rules match.Rules
	// Facts, when set, is the reporting engine's in-memory store (kept by
	// a facts.Syncer the caller runs): response-time, repeat-rate and
	// follow-through figures and the dashboard's breakdowns and action
	// counts come from it once it is loaded, from the database until then.
	Facts *facts.Store
}

// Server is the HTTP handler of the application.
type Server struct {
	// repeatBudget bounds the dashboard's wait for the repeat-rate
	// figures (0: defaultRepeatBudget).
	repeatBudget time.Duration
	// dashStore, when set, is the dashboard's store instead of reportDB
	// (tests: a wrapper of the database that counts the repeat queries).
	dashStore dashboardStore
	db        *postgres.DB
	readDB    *postgres.DB // nil: reports read db
	log       *slog.Logger
	loc       *time.Location
	now       func() time.Time
	sessions  *scs.SessionManager
	store     *postgres.SessionStore
	proxies   []netip.Prefix
	hub       *live.Hub
	closing   chan struct{} // closed when the server shuts down: ends streams
	once      sync.Once
	handler   http.Handler
	cat       *i18n.Catalogue
	metrics   *metrics.Metrics // nil: none
	lang      string           // the deployment's default language
	// cookieSecure sets the Secure flag on the cookies the server sets.
	cookieSecure bool
	rules        match.Rules    // history matching
	facts        *facts.Store   // the reporting engine; nil: reports from the database
	lookups      historyLimiter // per-user limit on history lookups
}

// NewServer builds the server and its route table.
func NewServer(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.IdleTimeout == 0 {
		d.IdleTimeout = 30 * time.Minute
	}
	if d.SessionMax == 0 {
		d.SessionMax = 12 * time.Hour
	}
	if d.Catalogue == nil {
		d.Catalogue = i18n.Shared()
	}
	if !i18n.Supported(d.Language) {
		d.Language = i18n.Default
	}
	if d.Hub == nil {
		d.Hub = live.NewHub(d.Logger)
	}
	if d.Rules.Region == "" {
		d.Rules.Region = match.RegionOfZone(d.Location.String())
	}
	s := &Server{db: d.DB, readDB: d.ReadDB, log: d.Logger, loc: d.Location, now: d.Now, proxies: d.TrustedProxies,
		hub: d.Hub, closing: make(chan struct{}), cat: d.Catalogue, lang: d.Language, cookieSecure: d.CookieSecure,
		metrics: d.Metrics, rules: d.Rules, facts: d.Facts}
	// Sessions are read and written under the request's context, so that a
	// full pool or a hung database cannot block a request past its deadline.
	// serve deletes expired sessions (DB.DeleteExpiredSessions).
	s.store = d.DB.SessionStore()
	sm := scs.New()
	sm.Store = s.store
	sm.IdleTimeout = d.IdleTimeout
	sm.Lifetime = d.SessionMax
	sm.Cookie.Name = "dvr_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = d.CookieSecure
	sm.Cookie.Path = "/"
	// A session cookie (no Expires): closing the browser on a shared
	// control-room workstation ends the session too.
	sm.Cookie.Persist = false
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.fail(w, r, unavailable(err))
	}
	s.sessions = sm
	s.handler = s.routes()
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// CloseStreams ends every open event stream, so that a graceful shutdown
// does not wait for live boards (they reconnect to another process).
func (s *Server) CloseStreams() { s.once.Do(func() { close(s.closing) }) }

// Close ends the server's event streams.
func (s *Server) Close() { s.CloseStreams() }
