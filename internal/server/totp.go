package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/web"
)

// Two-step login (TOTP, RFC 6238).
//
// After the right password, a user with a second factor, or whose role
// requires one, is not logged in: the session holds pending_uid (not uid),
// which no page but /login/totp accepts. There the user types a code (or,
// when the role requires a second factor they have not set up, sets it up
// first); only then does the session get uid and epoch, under a fresh
// token. Wrong codes count as failed logins towards the lockout, and the
// failure count is not reset by the right password alone, so guessing
// codes locks the account like guessing passwords.
//
// Setting up a second factor starts a set-up: a fresh secret, held (sealed
// like stored secrets) in the session that started it, and a number
// (DB.StartTOTPSetup) that makes every earlier set-up's secret worthless.
// The secret reaches the users table only when a code of it confirms the
// latest set-up. Reloading the page in the same session shows the same
// secret (the user may have scanned it); another login or browser gets
// another one, so whoever held only the password and opened the set-up
// once cannot later share the authenticator the user sets up.

// Session keys of a login waiting for its second step.
const (
	sessPendingUID   = "pending_uid"
	sessPendingEpoch = "pending_epoch"
	sessPendingSince = "pending_since"
	sessPendingStage = "pending_stage"
	sessPendingFails = "pending_fails"
	sessPendingNext  = "pending_next"
)

// The stages of the second step.
const (
	stageCode  = "code"  // type the code of the app
	stageEnrol = "enrol" // the role requires a second factor: set it up first
)

// A pending login must be finished within codeWindow of the right
// password. Setting up the app during login gets longer: it may have to be
// installed first.
const (
	codeWindow  = 5 * time.Minute
	enrolWindow = 15 * time.Minute
)

// pendingLogin is a login waiting for its second step.
type pendingLogin struct {
	uid   int64
	epoch int
	stage string
	since time.Time
	fails int
	next  string
}

// pending reads the session's pending login; ok is false when there is
// none, or it has expired (then it is removed).
func (s *Server) pending(ctx context.Context) (pendingLogin, bool) {
	p := pendingLogin{
		uid:   s.sessions.GetInt64(ctx, sessPendingUID),
		epoch: s.sessions.GetInt(ctx, sessPendingEpoch),
		stage: s.sessions.GetString(ctx, sessPendingStage),
		since: time.Unix(0, s.sessions.GetInt64(ctx, sessPendingSince)),
		fails: s.sessions.GetInt(ctx, sessPendingFails),
		next:  s.sessions.GetString(ctx, sessPendingNext),
	}
	if p.uid == 0 {
		return p, false
	}
	window := codeWindow
	if p.stage == stageEnrol {
		window = enrolWindow
	}
	if age := s.now().Sub(p.since); age < 0 || age > window {
		s.clearPending(ctx)
		return p, false
	}
	return p, true
}

// Session keys of a two-step set-up in progress: whose, its number, and
// its secret (sealed as stored secrets are).
const (
	sessSetupUID    = "totp_setup_uid"
	sessSetupNumber = "totp_setup"
	sessSetupSecret = "totp_setup_secret"
)

// heldSetup returns the secret and number of u's set-up that this session
// started, if that is still u's latest (f.Setup); ok is false otherwise
// (none started here, or another login or browser started a later one).
func (s *Server) heldSetup(ctx context.Context, u *account.User, f account.SecondFactor) (secret string, setup int64, ok bool) {
	if s.sessions.GetInt64(ctx, sessSetupUID) != u.ID || f.Setup == 0 || s.sessions.GetInt64(ctx, sessSetupNumber) != f.Setup {
		return "", 0, false
	}
	secret, err := s.db.OpenTOTPSecret(u.ID, s.sessions.GetString(ctx, sessSetupSecret))
	if err != nil || secret == "" {
		return "", 0, false
	}
	return secret, f.Setup, true
}

// setupSecret returns the secret of u's set-up: the one this session
// holds, else that of a new set-up, which it starts and holds.
func (s *Server) setupSecret(ctx context.Context, u *account.User, f account.SecondFactor) (string, error) {
	if secret, _, ok := s.heldSetup(ctx, u, f); ok {
		return secret, nil
	}
	secret, err := account.NewTOTPSecret()
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "")
	}
	sealed, err := s.db.SealTOTPSecret(u.ID, secret)
	if err != nil {
		return "", err
	}
	setup, err := s.db.StartTOTPSetup(ctx, u.ID)
	if err != nil {
		return "", err
	}
	s.sessions.Put(ctx, sessSetupUID, u.ID)
	s.sessions.Put(ctx, sessSetupNumber, setup)
	s.sessions.Put(ctx, sessSetupSecret, sealed)
	return secret, nil
}

// clearSetup removes a set-up from the session: it was confirmed, or a
// new login begins (which starts its own).
func (s *Server) clearSetup(ctx context.Context) {
	for _, k := range []string{sessSetupUID, sessSetupNumber, sessSetupSecret} {
		s.sessions.Remove(ctx, k)
	}
}

// clearPending removes a pending login from the session.
func (s *Server) clearPending(ctx context.Context) {
	for _, k := range []string{sessPendingUID, sessPendingEpoch, sessPendingSince, sessPendingStage, sessPendingFails, sessPendingNext} {
		s.sessions.Remove(ctx, k)
	}
}

// userActor is the audit identity of u acting from the request's address.
func (s *Server) userActor(r *http.Request, u *account.User) audit.Actor {
	return audit.Actor{UserID: u.ID, Username: u.Username, Role: string(u.Role), IP: s.clientIP(r).String()}
}

// secondStep starts the second step of login when u has a second factor,
// or their role requires one, after the right password. It reports whether
// it answered the request; when it did not, the login completes at once.
func (s *Server) secondStep(w http.ResponseWriter, r *http.Request, u *account.User, next string) bool {
	ctx := r.Context()
	f, err := s.db.SecondFactor(ctx, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	stage := stageCode
	switch {
	case f.Enabled():
	case f.Required:
		stage = stageEnrol
	default:
		return false
	}
	if err := s.db.Audit(ctx, audit.Entry{Actor: s.userActor(r, u), Action: "login", RecordType: "user", RecordID: u.Username,
		Outcome: audit.OK, Detail: map[string]any{"reason": "password right; second step next"}}); err != nil {
		s.fail(w, r, err)
		return true
	}
	// A fresh token here too: whoever planted the old one gets nothing,
	// not even a half-finished login.
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.fail(w, r, unavailable(err))
		return true
	}
	s.sessions.Remove(ctx, sessUserID) // an earlier login in this browser ends here
	s.sessions.Remove(ctx, sessEpoch)
	s.clearSetup(ctx) // a new login sets up with a new secret
	s.sessions.Put(ctx, sessPendingUID, u.ID)
	s.sessions.Put(ctx, sessPendingEpoch, u.SessionEpoch)
	s.sessions.Put(ctx, sessPendingStage, stage)
	s.sessions.Put(ctx, sessPendingSince, s.now().UnixNano()) // (the session codec, gob, knows no time.Time)
	s.sessions.Put(ctx, sessPendingFails, 0)
	s.sessions.Put(ctx, sessPendingNext, next)
	http.Redirect(w, r, "/login/totp", http.StatusSeeOther)
	return true
}

// loginPage answers with the login form and a message (rendered), for a
// second step that cannot go on.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, web.Login(web.LoginPage{Page: s.page(r, s.t(r, "login.title"), ""), Error: msg}))
}

// pendingExpired is the message (a catalogue ID) for a second step
// without a pending login.
const pendingExpired = "admin.totp.err.pending_expired"

// pendingUser loads the user of a pending login and checks that the login
// may still go on: the account is enabled and not locked, and nothing has
// ended its sessions since the password was typed. Otherwise it ends the
// pending login, answers, and returns ok false.
func (s *Server) pendingUser(w http.ResponseWriter, r *http.Request, p pendingLogin) (*account.User, account.SecondFactor, bool) {
	ctx := r.Context()
	var f account.SecondFactor
	u, err := s.db.UserByID(ctx, p.uid)
	if err == nil {
		f, err = s.db.SecondFactor(ctx, p.uid)
	}
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		s.clearPending(ctx)
		s.loginPage(w, r, http.StatusUnauthorized, s.t(r, pendingExpired))
		return nil, f, false
	case err != nil:
		s.fail(w, r, err)
		return nil, f, false
	}
	msg, status := "", http.StatusForbidden
	switch {
	case u.Disabled():
		msg = s.t(r, "admin.totp.err.account_disabled")
	case u.Locked(s.now()):
		msg = s.lockedText(r, *u.LockedUntil)
	case u.SessionEpoch != p.epoch,
		p.stage == stageCode && !f.Enabled(),
		p.stage == stageEnrol && (f.Enabled() || !f.Required),
		p.stage != stageCode && p.stage != stageEnrol:
		// The password changed, an administrator ended the user's
		// sessions or reset the second factor, or the policy changed.
		msg, status = s.t(r, pendingExpired), http.StatusUnauthorized
	}
	if msg != "" {
		s.clearPending(ctx)
		s.loginPage(w, r, status, msg)
		return nil, f, false
	}
	return u, f, true
}

// noPending answers a request for the second step without a pending
// login: a logged-in user goes to the start page, anybody else gets the
// login form.
func (s *Server) noPending(w http.ResponseWriter, r *http.Request) {
	if s.sessions.GetInt64(r.Context(), sessUserID) != 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.loginPage(w, r, http.StatusUnauthorized, s.t(r, pendingExpired))
}

// loginTOTPForm shows the second step: the code field, or the set-up when
// the role requires a second factor the user has not set up.
func (s *Server) loginTOTPForm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pending(r.Context())
	if !ok {
		s.noPending(w, r)
		return
	}
	u, f, ok := s.pendingUser(w, r, p)
	if !ok {
		return
	}
	s.renderSecondStep(w, r, http.StatusOK, p, u, f, "")
}

func (s *Server) renderSecondStep(w http.ResponseWriter, r *http.Request, status int, p pendingLogin, u *account.User,
	f account.SecondFactor, msg string) {
	if p.stage == stageEnrol {
		s.renderSetup(w, r, status, u, f, "/login/totp", msg, true)
		return
	}
	s.render(w, r, status, web.TOTPLogin(web.TOTPLoginPage{Page: s.page(r, s.t(r, "admin.totp.title"), ""), Error: msg}))
}

// loginTOTP checks the code of the second step and completes the login.
func (s *Server) loginTOTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, ok := s.pending(ctx)
	if !ok {
		s.noPending(w, r)
		return
	}
	u, f, ok := s.pendingUser(w, r, p)
	if !ok {
		return
	}
	code := r.PostFormValue("code")
	if account.NormalizeTOTPCode(code) == "" {
		s.renderSecondStep(w, r, http.StatusUnprocessableEntity, p, u, f, s.t(r, "admin.totp.err.code_required"))
		return
	}
	if p.stage == stageEnrol {
		s.loginEnrol(w, r, p, u, f, code)
		return
	}
	step, match := account.MatchTOTP(f.Secret, code, s.now(), -1)
	reason := ""
	switch {
	case !match:
		reason = "wrong code"
	case step <= f.LastStep:
		reason = "code already used"
	default:
		accepted, err := s.db.AcceptTOTPStep(ctx, u.ID, step)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !accepted { // the same code won a race a moment ago
			reason = "code already used"
		}
	}
	if reason != "" {
		s.codeFailed(w, r, p, u, f, reason)
		return
	}
	s.finishLogin(w, r, p, u)
}

// codeFailed counts a wrong code as a failed login (towards the lockout)
// and ends the pending login after MaxFailedLogins of them.
func (s *Server) codeFailed(w http.ResponseWriter, r *http.Request, p pendingLogin, u *account.User, f account.SecondFactor, reason string) {
	ctx := r.Context()
	locked, err := s.db.RecordLoginFailure(ctx, u.ID)
	if err == nil {
		err = s.db.Audit(ctx, audit.Entry{Actor: s.userActor(r, u), Action: "login.totp", RecordType: "user", RecordID: u.Username,
			Outcome: audit.Failed, Detail: map[string]any{"reason": reason}})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.fails++
	s.sessions.Put(ctx, sessPendingFails, p.fails)
	switch {
	case locked != nil:
		s.clearPending(ctx)
		s.loginPage(w, r, http.StatusForbidden, s.lockedText(r, *locked))
	case p.fails >= account.MaxFailedLogins:
		s.clearPending(ctx)
		s.loginPage(w, r, http.StatusUnauthorized, s.t(r, "admin.totp.err.too_many"))
	case reason == "code already used":
		s.renderSecondStep(w, r, http.StatusUnauthorized, p, u, f, s.t(r, "admin.totp.err.code_used"))
	default:
		s.renderSecondStep(w, r, http.StatusUnauthorized, p, u, f, s.t(r, "admin.totp.err.wrong_code"))
	}
}

// loginEnrol completes a set-up required by the user's role during login,
// then the login itself. Wrong codes here are mistakes with a new app, not
// guesses (the password alone lets one set up any app), so they do not
// count towards the lockout; the per-address throttle still applies.
func (s *Server) loginEnrol(w http.ResponseWriter, r *http.Request, p pendingLogin, u *account.User, f account.SecondFactor, code string) {
	ctx := r.Context()
	secret, setup, ok := s.heldSetup(ctx, u, f)
	if !ok {
		// Another login started a later set-up: this one's secret is void.
		s.renderSecondStep(w, r, http.StatusConflict, p, u, f, s.t(r, "admin.totp.err.setup_restarted"))
		return
	}
	step, match := account.MatchTOTP(secret, code, s.now(), 0)
	if !match {
		if err := s.db.Audit(ctx, audit.Entry{Actor: s.userActor(r, u), Action: "login.totp", RecordType: "user", RecordID: u.Username,
			Outcome: audit.Failed, Detail: map[string]any{"reason": "wrong code at set-up"}}); err != nil {
			s.fail(w, r, err)
			return
		}
		s.renderSecondStep(w, r, http.StatusUnprocessableEntity, p, u, f, s.t(r, setupWrongCode))
		return
	}
	if err := s.db.EnableTOTP(ctx, u.ID, secret, setup, step, s.userActor(r, u)); err != nil {
		if apperr.CodeOf(err) == apperr.Conflict {
			f, _ = s.db.SecondFactor(ctx, u.ID)
			s.renderSecondStep(w, r, http.StatusConflict, p, u, f, s.t(r, "admin.totp.err.setup_restarted"))
			return
		}
		s.fail(w, r, err)
		return
	}
	s.clearSetup(ctx)
	s.finishLogin(w, r, p, u)
}

// setupWrongCode is the message (a catalogue ID) for a wrong code at set-up.
const setupWrongCode = "admin.totp.err.setup_wrong_code"

// finishLogin logs the user in after the second step, under a new token.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, p pendingLogin, u *account.User) {
	ctx := r.Context()
	if err := s.db.RecordLoginSuccess(ctx, u.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.Audit(ctx, audit.Entry{Actor: s.userActor(r, u), Action: "login.totp", RecordType: "user",
		RecordID: u.Username, Outcome: audit.OK}); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.fail(w, r, unavailable(err))
		return
	}
	s.clearPending(ctx)
	s.sessions.Put(ctx, sessUserID, u.ID)
	s.sessions.Put(ctx, sessEpoch, u.SessionEpoch)
	next := p.next
	if next == "" {
		next = homeOf(u.Role)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// requireSecondFactor keeps a logged-in user whose role requires a second
// factor they have not set up on the set-up page. (Logins of such users
// set it up before they get a session; this catches sessions that began
// before the requirement, in case they were not ended.)
func (s *Server) requireSecondFactor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := currentUser(r.Context())
		if u == nil || r.URL.Path == "/account/totp" {
			next.ServeHTTP(w, r)
			return
		}
		f, err := s.db.SecondFactor(r.Context(), u.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !f.NeedsEnrolment() {
			next.ServeHTTP(w, r)
			return
		}
		if r.Header.Get("HX-Request") == "true" {
			w.Header().Set("HX-Redirect", "/account/totp")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
	})
}

// qrDataURL is a PNG of the key's QR code as a data: URL (the
// Content-Security-Policy allows data: images; no outside service sees
// the secret).
func qrDataURL(username, secret string) (uri, img string, err error) {
	k, err := account.TOTPKey(username, secret)
	if err != nil {
		return "", "", err
	}
	im, err := k.Image(200, 200)
	if err != nil {
		return "", "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, im); err != nil {
		return "", "", err
	}
	return k.URL(), "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// groupSecret splits a base32 secret into groups of four for typing.
func groupSecret(s string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), " ")
}

// renderSetup shows the set-up of u's second factor: the secret this
// session holds, or that of a new set-up (setupSecret).
func (s *Server) renderSetup(w http.ResponseWriter, r *http.Request, status int, u *account.User, f account.SecondFactor,
	action, msg string, atLogin bool) {
	secret, err := s.setupSecret(r.Context(), u, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	uri, img, err := qrDataURL(u.Username, secret)
	if err != nil {
		s.fail(w, r, apperr.Wrap(apperr.Internal, err, ""))
		return
	}
	p := web.TOTPSetupPage{Page: s.page(r, s.t(r, "admin.totp.setup.title"), ""), Action: action, Secret: groupSecret(secret), URI: uri,
		QR: img, Required: f.Required, AtLogin: atLogin,
		Code: web.Field{Name: "code", Label: s.t(r, "admin.totp.setup.code"), Required: true, Autocomplete: "one-time-code", MaxLen: 9,
			Autofocus: true}}
	if status == http.StatusUnprocessableEntity && msg != "" {
		p.Code.Error = msg
	} else {
		p.Error = msg
	}
	s.render(w, r, status, web.TOTPSetup(p))
}

// totpPage shows the user's two-step login: its set-up, or that it is on.
func (s *Server) totpPage(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	f, err := s.db.SecondFactor(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if f.Enabled() {
		s.renderStatus(w, r, http.StatusOK, f, "", nil)
		return
	}
	s.renderSetup(w, r, http.StatusOK, u, f, "/account/totp", "", false)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, f account.SecondFactor, msg string, errs map[string]string) {
	p := web.TOTPStatusPage{Page: s.page(r, s.t(r, "admin.totp.title"), ""), Required: f.Required,
		Disable: web.Form{Action: "/account/totp/disable", Submit: s.t(r, "admin.totp.status.turn_off"), Error: msg, Fields: []web.Field{
			{Name: "current", Label: s.t(r, "admin.totp.status.password"), Type: "password", Required: true, Autocomplete: "current-password", Error: errs["current"]},
		}}}
	if f.EnabledAt != nil {
		p.Since = p.FormatTime(*f.EnabledAt)
	}
	s.render(w, r, status, web.TOTPStatus(p))
}

// enableTOTP turns two-step login on once the user types a code of the
// secret shown.
func (s *Server) enableTOTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := currentUser(ctx)
	f, err := s.db.SecondFactor(ctx, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if f.Enabled() {
		s.setFlash(r, "info", s.t(r, "admin.totp.already_on"))
		http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
		return
	}
	secret, setup, ok := s.heldSetup(ctx, u, f)
	if !ok {
		// No set-up started in this session, or another login or browser
		// started a later one: this session's secret is void.
		s.renderSetup(w, r, http.StatusConflict, u, f, "/account/totp", s.t(r, "admin.totp.err.setup_restarted"), false)
		return
	}
	step, ok := account.MatchTOTP(secret, r.PostFormValue("code"), s.now(), 0)
	if !ok {
		msg := s.t(r, setupWrongCode)
		if account.NormalizeTOTPCode(r.PostFormValue("code")) == "" {
			msg = s.t(r, "admin.totp.err.code_required")
		}
		s.renderSetup(w, r, http.StatusUnprocessableEntity, u, f, "/account/totp", msg, false)
		return
	}
	if err := s.db.EnableTOTP(ctx, u.ID, secret, setup, step, s.actor(r)); err != nil {
		if apperr.CodeOf(err) == apperr.Conflict {
			f, _ = s.db.SecondFactor(ctx, u.ID)
			if f.Enabled() {
				s.setFlash(r, "info", s.t(r, "admin.totp.already_on"))
				http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
				return
			}
			s.renderSetup(w, r, http.StatusConflict, u, f, "/account/totp", s.t(r, "admin.totp.err.setup_restarted"), false)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.clearSetup(ctx)
	s.setFlash(r, "ok", s.t(r, "admin.totp.turned_on"))
	http.Redirect(w, r, homeOf(u.Role), http.StatusSeeOther)
}

// disableTOTP turns two-step login off; it takes the user's password, so
// that a session left open is not enough.
func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := currentUser(ctx)
	f, err := s.db.SecondFactor(ctx, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !f.Enabled() {
		http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
		return
	}
	if f.Required {
		s.renderStatus(w, r, http.StatusConflict, f, s.t(r, "admin.totp.err.required_cannot_disable"), nil)
		return
	}
	// Under the lockout of logins, audited like a failed login.
	wrong, ok := s.recheckPassword(w, r, r.PostFormValue("current"), "totp.disable", "admin.totp.err.wrong_password")
	if !ok {
		return
	}
	if wrong.ID != "" {
		s.renderStatus(w, r, http.StatusUnprocessableEntity, f, "", map[string]string{"current": s.tr(r, wrong)})
		return
	}
	if err := s.db.DisableTOTP(ctx, u.ID, false, s.actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.setFlash(r, "ok", s.t(r, "admin.totp.turned_off"))
	http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
}

// requireField is the form field of a role's requirement.
func requireField(r account.Role) string { return "require_" + string(r) }

func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, status int, policy map[account.Role]bool, msg string, errs map[string]string) {
	users, err := s.db.SecondFactorUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := web.SecurityPage{Page: s.page(r, s.t(r, "admin.security.title"), "admin"),
		Form: web.Form{Action: "/admin/security", Submit: s.t(r, "form.save"), Error: msg}}
	for _, role := range account.Roles {
		v := ""
		if policy[role] {
			v = "on"
		}
		p.Form.Fields = append(p.Form.Fields, web.Field{Name: requireField(role), Label: s.t(r, "admin.security.require."+string(role)), Type: "checkbox",
			Value: v, Error: errs[requireField(role)]})
	}
	for _, u := range users {
		p.Users = append(p.Users, web.SecondFactorRow{Username: u.Username, Role: s.t(r, "role."+string(u.Role)), Since: p.FormatTime(u.EnabledAt),
			ResetAction: "/admin/users/" + strconv.FormatInt(u.ID, 10) + "/totp/reset"})
	}
	s.render(w, r, status, web.Security(p))
}

// securityPolicy shows which roles require two-step login.
func (s *Server) securityPolicy(w http.ResponseWriter, r *http.Request) {
	policy, err := s.db.RolePolicies(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderSecurity(w, r, http.StatusOK, policy, "", nil)
}

// saveSecurityPolicy stores which roles require two-step login.
func (s *Server) saveSecurityPolicy(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	want := map[account.Role]bool{}
	for _, role := range account.Roles {
		want[role] = r.PostFormValue(requireField(role)) == "on"
	}
	// An administrator without a second factor who requires one for
	// administrators would lock themself out of this page.
	if want[account.Admin] {
		me := currentUser(ctx)
		f, err := s.db.SecondFactor(ctx, me.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !f.Enabled() {
			s.renderSecurity(w, r, http.StatusUnprocessableEntity, want, s.t(r, "form.correct_fields"),
				map[string]string{requireField(account.Admin): s.t(r, "admin.security.err.own_first")})
			return
		}
	}
	ended, err := s.db.SetRolePolicies(ctx, want, s.actor(r))
	if err != nil {
		msg, fields := s.formError(r, err)
		s.renderSecurity(w, r, statusOf(apperr.CodeOf(err)), want, msg, fields)
		return
	}
	msg := s.t(r, "admin.security.saved")
	if ended > 0 {
		msg += " " + s.t(r, "admin.security.logged_out", "Count", ended)
	}
	s.setFlash(r, "ok", msg)
	http.Redirect(w, r, "/admin/security", http.StatusSeeOther)
}

// adminResetTOTP removes a user's second factor (a lost or changed phone)
// and ends their sessions.
func (s *Server) adminResetTOTP(w http.ResponseWriter, r *http.Request) {
	u, ok := s.loadUser(w, r)
	if !ok {
		return
	}
	if err := s.db.DisableTOTP(r.Context(), u.ID, true, s.actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.setFlash(r, "ok", s.t(r, "admin.security.reset_done", "Username", u.Username))
	http.Redirect(w, r, "/admin/security", http.StatusSeeOther)
}
