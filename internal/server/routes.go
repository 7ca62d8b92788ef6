package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/web/static"
)

// Role sets used by the route table.
var (
	anyRole     = []account.Role{account.Dispatcher, account.Officer, account.Supervisor, account.Admin}
	adminOnly   = []account.Role{account.Admin}
	boardRoles  = []account.Role{account.Dispatcher, account.Supervisor, account.Admin}
	officerOnly = []account.Role{account.Officer}
	reportRoles = []account.Role{account.Supervisor, account.Admin}
	intakeRoles = []account.Role{account.Dispatcher, account.Supervisor}
	stageRoles  = []account.Role{account.Officer, account.Dispatcher, account.Supervisor}
)

// routes is the router wrapped in cross-origin protection: every
// state-changing request must come from our own origin.
func (s *Server) routes() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusForbidden, "Request refused",
			"This form was sent from another site or an out-of-date page. Reload the page and try again.")
	}))
	return cop.Handler(s.router())
}

// router is the whole route table. Public routes come first; every other
// route sits behind requireLogin and names the roles it allows, so that a
// route without roles cannot be written (deny by default). Every other
// policy of a route sits beside it too: its body limit (1 MiB unless
// raised), its deadline (none, requestDeadline or longRequestDeadline) and
// the posted fields its retry page never echoes back (secretField).
func (s *Server) router() chi.Router {
	r := chi.NewRouter()
	// Pages are compressed for officers on weak mobile networks; static
	// files come pre-compressed and event streams are left alone.
	compress := middleware.Compress(5, "text/html", "text/plain", "text/csv", "application/json", "image/svg+xml")
	// Metrics first: it counts every answer, by route pattern, once the
	// router has matched it.
	r.Use(s.metrics.Instrument)
	r.Use(s.recoverPanics, s.logRequests, s.securityHeaders, withPolicy, limitBody(1<<20), compress)
	r.Use(s.localize) // the request's language (i18n.go)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)
	// Deadlines (middleware.go): a full pool or a hung database answers 503.
	ordinary, long := s.deadline(requestDeadline), s.deadline(longRequestDeadline)

	// Public.
	r.With(ordinary).Get("/healthz", s.healthz)
	r.With(ordinary).Get("/readyz", s.readyz)
	assets := http.StripPrefix("/static/", static.Handler()) // no deadline: files only
	r.Get("/static/*", assets.ServeHTTP)
	r.Head("/static/*", assets.ServeHTTP)

	// The live board's stream and refreshes read the session without
	// renewing it: watching the board is not activity. The stream stays
	// open: no deadline. Both pass the same second-factor check as every
	// other page: a session whose role requires a second factor it has not
	// set up gets no board data.
	r.Group(func(r chi.Router) {
		r.Use(s.readSession, s.requireLogin, s.requireSecondFactor, s.allow(boardRoles...))
		r.Get("/board/events", s.boardEvents)
	})
	r.Group(func(r chi.Router) {
		r.Use(ordinary, s.readSession, s.requireLogin, s.requireSecondFactor, s.allow(boardRoles...))
		r.Get("/board/fragment", s.boardFragment)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.readSession, s.requireLogin, s.requireSecondFactor, s.allow(officerOnly...))
		r.Get("/my/events", s.myEvents)
		r.Get("/my/fragment", s.myFragment)
		r.Get("/my/work/events", s.myWorkEvents) // followup.go
		r.Get("/my/work/fragment", s.myWorkFragment)
	})

	// One per-address throttle for every request that checks a password
	// or a code: the login, its second step, and the account pages that
	// ask for the current password again (which also count towards the
	// account's lockout: recheckPassword).
	passwordChecks := s.loginRateLimit()

	allow := func(roles []account.Role) func(http.Handler) http.Handler { return s.allow(roles...) }
	r.Group(func(r chi.Router) {
		r.Use(ordinary, s.sessions.LoadAndSave)
		r.Get("/login", s.loginForm)
		r.With(passwordChecks).Post("/login", s.login)
		r.Post("/logout", s.logout)
		r.Group(func(r chi.Router) {
			r.Use(secretField("code")) // the one-time code
			r.Get("/login/totp", s.loginTOTPForm)
			r.With(passwordChecks).Post("/login/totp", s.loginTOTP)
		})

		// -- second-factor routes (totp.go): the one-time code is a secret.
		r.Group(func(r chi.Router) {
			r.Use(secretField("code"), s.requireLogin, s.requireSecondFactor)
			r.With(allow(anyRole)).Get("/account/totp", s.totpPage)
			r.With(allow(anyRole)).Post("/account/totp", s.enableTOTP)
			r.With(allow(anyRole), passwordChecks).Post("/account/totp/disable", s.disableTOTP)
		})

		r.Group(func(r chi.Router) {
			r.Use(s.requireLogin)
			r.Use(s.requireSecondFactor)

			r.With(allow(anyRole)).Get("/", s.home)
			r.With(allow(anyRole)).Get("/account/password", s.passwordForm)
			r.With(allow(anyRole), passwordChecks).Post("/account/password", s.changePassword)
			r.With(allow(anyRole)).Post("/account/language", s.setLanguage)

			r.With(allow(boardRoles)).Get("/board", s.board)
			r.With(allow(intakeRoles)).Get("/incidents/new", s.newCall)
			r.With(allow(intakeRoles)).Post("/incidents", s.createIncident)
			r.With(allow(intakeRoles)).Post("/incidents/history", s.history)
			// Which incidents, orders and referrals: internal/access, asked
			// by the handlers (loadIncident, loadIncidentToChange, loadOrder).
			r.With(allow(intakeRoles)).Post("/incidents/{id}/calls", s.addCall)
			r.With(allow(anyRole)).Get("/incidents/{id}", s.showIncident)
			r.With(allow(intakeRoles)).Post("/incidents/{id}/units", s.assignUnit)
			r.With(allow(intakeRoles)).Post("/incidents/{id}/units/{unit}/release", s.releaseUnit)
			r.With(allow(stageRoles)).Post("/incidents/{id}/stage", s.setStage)

			// -- danger screen routes (danger.go)
			r.With(allow(dangerRoles)).Get("/incidents/{id}/danger", s.dangerForm)
			r.With(allow(dangerRoles)).Post("/incidents/{id}/danger", s.saveDangerScreen)
			r.With(allow(adminOnly)).Get("/admin/danger-settings", s.dangerSettings)
			r.With(allow(adminOnly)).Post("/admin/danger-settings", s.saveDangerSettings)
			// -- end danger screen routes

			// -- protection order routes (orders.go)
			r.With(allow(orderRoles)).Get("/incidents/{id}/orders/new", s.newOrder)
			r.With(allow(orderRoles)).Post("/incidents/{id}/orders/new", s.createOrder)
			r.With(allow(orderRoles)).Post("/incidents/{id}/violated-order", s.linkViolatedOrder)
			r.With(allow(reportRoles)).Get("/orders/expiring", s.expiringOrders)
			r.With(allow(anyRole)).Get("/orders/{oid}", s.showOrder)
			r.With(allow(orderRoles)).Post("/orders/{oid}/extend", s.extendOrder)
			r.With(allow(orderRoles)).Post("/orders/{oid}/end", s.endOrder)
			// -- end protection order routes

			// -- referral routes (referrals.go)
			r.With(allow(referralRoles)).Post("/incidents/{id}/referrals", s.createReferrals)
			r.With(allow(referralRoles)).Post("/referrals/{rid}/status", s.changeReferral)
			r.With(allow(reportRoles)).Get("/referrals/open", s.openReferrals)
			// -- end referral routes

			// -- import routes (import.go): uploads up to maxImportBytes
			r.With(allow(adminOnly)).Get("/admin/import", s.importForm)
			r.With(allow(adminOnly), raiseBodyLimit(maxImportBytes)).Post("/admin/import", s.importUpload)
			// -- end import routes

			// -- confidentiality routes (confidential.go)
			r.With(allow(confidentialRoles)).Post("/incidents/{id}/confidential", s.setConfidential)
			// -- end confidentiality routes

			// -- second-factor administration (totp.go)
			r.With(allow(adminOnly)).Get("/admin/security", s.securityPolicy)
			r.With(allow(adminOnly)).Post("/admin/security", s.saveSecurityPolicy)
			r.With(allow(adminOnly)).Post("/admin/users/{id}/totp/reset", s.adminResetTOTP)
			// -- end second-factor administration

			// -- victims-across-incidents routes (victims.go): which incidents,
			// internal/access (CanLinkPersons, CanUndoPersonLink)
			r.With(allow(personRoles)).Post("/incidents/{id}/persons", s.decidePerson)
			r.With(allow(undoPersonRoles)).Post("/incidents/{id}/persons/undo", s.undoPerson)
			r.With(allow(personRoles)).Post("/incidents/{id}/safe-contact", s.saveSafeContact)
			r.With(allow(personRoles)).Post("/incidents/{id}/call-back", s.callBack)
			r.With(allow(undoPersonRoles)).Get("/incidents/{id}/persons/export", s.exportPerson) // personexport.go
			// -- end victims-across-incidents routes

			// -- correction routes (corrections.go)
			r.With(allow(correctRoles)).Get("/incidents/{id}/correct", s.correctionForm)
			r.With(allow(correctRoles)).Post("/incidents/{id}/correct", s.saveCorrection)
			// -- end correction routes
			r.With(allow(officerOnly)).Get("/my", s.myIncidents)
			r.With(allow(officerOnly)).Post("/my/status", s.setMyUnitStatus)

			// -- follow-up and order-check routes (followup.go); which task
			// or check: internal/access ("task of unit"), asked by loadWork.
			r.With(allow(officerOnly)).Get("/my/work", s.myWork)
			r.With(allow(workRoles)).Post("/follow-ups/{tid}/close", s.closeFollowUp)
			r.With(allow(workRoles)).Post("/checks/{cid}", s.recordCheck)
			r.With(allow(workSupervisors)).Get("/work", s.districtWork)
			r.With(allow(workSupervisors)).Post("/work/{what}/{wid}/assign", s.reassignWork)
			r.With(allow(adminOnly)).Get("/admin/schedules", s.schedules) // schedules.go
			r.With(allow(adminOnly)).Post("/admin/schedules", s.saveSchedules)
			// -- end follow-up and order-check routes

			r.Route("/admin", func(r chi.Router) {
				r.Use(s.allow(adminOnly...))
				r.Get("/", s.adminHome)
				r.Get("/users", s.adminUsers)
				r.Get("/users/new", s.adminUserNew)
				r.Post("/users", s.adminUserCreate)
				r.Get("/users/{id}", s.adminUserEdit)
				r.Post("/users/{id}", s.adminUserUpdate)
				r.Post("/users/{id}/password", s.adminUserPassword)
				r.Post("/users/{id}/disable", s.adminUserDisable)
				r.Post("/users/{id}/enable", s.adminUserEnable)
				r.Post("/users/{id}/end-sessions", s.adminUserEndSessions)
				r.Post("/users/{id}/unlock", s.adminUserUnlock)
				r.Get("/{kind}", s.refList)
				r.Get("/{kind}/new", s.refNew)
				r.Post("/{kind}", s.refCreate)
				r.Get("/{kind}/{id}", s.refEdit)
				r.Post("/{kind}/{id}", s.refUpdate)
				r.Post("/{kind}/{id}/delete", s.refDelete)
			})
		})
	})

	// Reports, dashboards and audit trails read many rows: a longer deadline.
	r.Group(func(r chi.Router) {
		r.Use(long, s.sessions.LoadAndSave, s.requireLogin, s.requireSecondFactor)
		// -- dashboard routes (dashboard.go)
		r.With(allow(reportRoles)).Get("/dashboard", s.dashboard)
		// the repeat-rate section, loaded by its own request (dashboard_repeats.go)
		r.With(allow(reportRoles)).Get("/dashboard/repeats", s.dashboardRepeats)
		// -- end dashboard routes
		r.With(allow(reportRoles)).Get("/reports/response-times.json", s.responseTimesJSON)
		r.With(allow(reportRoles)).Get("/reports/response-times.csv", s.responseTimesCSV)
		// repeat victimisation (repeatrates.go): the scope of reportQuery
		r.With(allow(reportRoles)).Get("/reports/repeat-victimisation.json", s.repeatRatesJSON)
		r.With(allow(reportRoles)).Get("/reports/repeat-victimisation.csv", s.repeatRatesCSV)
		r.With(allow(reportRoles)).Get("/reports/follow-through.json", s.followThroughJSON)
		r.With(allow(reportRoles)).Get("/reports/follow-through.csv", s.followThroughCSV)
		// -- audit routes (audit.go)
		r.With(allow(adminOnly)).Get("/admin/audit", s.adminAudit)
		r.With(allow(adminOnly)).Get("/admin/audit.csv", s.auditCSV)
		r.With(allow(auditSupervisors)).Get("/audit", s.districtAudit)
		r.With(allow(auditSupervisors)).Get("/audit.csv", s.auditCSV)
		// -- end audit routes
	})
	return r
}
