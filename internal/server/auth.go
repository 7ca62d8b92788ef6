package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/web"
)

// homeOf is each role's start page.
func homeOf(r account.Role) string {
	switch r {
	case account.Dispatcher:
		return "/board"
	case account.Officer:
		return "/my"
	case account.Supervisor:
		return "/dashboard"
	case account.Admin:
		return "/admin/"
	}
	return "/login"
}

// safeNext accepts only a local path as a post-login destination: it must
// start with one slash, and hold no backslash or control character that a
// browser might drop or bend into "//host".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return ""
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	if lp := landingPage(u.Path); lp != u.Path {
		return lp
	}
	return next
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	p := web.LoginPage{Page: s.page(r, s.t(r, "login.title"), ""), Next: safeNext(r.URL.Query().Get("next"))}
	if f, ok := s.sessions.Pop(r.Context(), sessFlash).(string); ok && f != "" {
		kind, msg, _ := strings.Cut(f, "|")
		p.Flash = &web.Flash{Kind: kind, Message: msg}
	}
	s.render(w, r, http.StatusOK, web.Login(p))
}

// badLogin is the catalogue ID of a failed login's message: the same for
// an unknown user, a wrong password and a locked account, whatever the
// password, so that the answer tells nobody which names are accounts or
// which accounts are locked.
const badLogin = "auth.err.bad_login"

// login checks a username and password. Every refusal looks the same: an
// unknown name, a wrong password and a locked account (even with the right
// password) get the same status, the same page and about the same time
// (one argon2id hash with the same parameters each time). Unknown names
// are counted and locked like accounts (DB.RecordNameFailure), so that
// trying names answers as trying passwords does. Only a right password on
// an unlocked account goes further.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	username := account.NormalizeUsername(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	ctx := r.Context()
	again := func(status int, msg string) {
		s.render(w, r, status, web.Login(web.LoginPage{Page: s.page(r, s.t(r, "login.title"), ""), Username: username, Error: msg, Next: next}))
	}
	// Every attempt is audited; the password never is. A failure to audit
	// fails the login (no unaudited access).
	attempt := func(u *account.User, outcome audit.Outcome, detail map[string]any) error {
		a := audit.Actor{Username: username, IP: s.clientIP(r).String()}
		if u != nil {
			a.UserID, a.Role = u.ID, string(u.Role)
		}
		return s.db.Audit(ctx, audit.Entry{Actor: a, Action: "login", RecordType: "user", RecordID: username, Outcome: outcome, Detail: detail})
	}
	if username == "" || password == "" {
		again(http.StatusUnprocessableEntity, s.t(r, "auth.err.empty"))
		return
	}
	u, err := s.db.UserByUsername(ctx, username)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		u, err = nil, nil
	case err != nil:
		msg, _ := s.formError(r, err)
		again(statusOf(apperr.CodeOf(err)), msg)
		return
	}
	now := s.now()
	locked := false
	if u != nil {
		locked = u.Locked(now)
	} else {
		until, err := s.db.NameLockedUntil(ctx, username)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		locked = until != nil && now.Before(*until)
	}
	// One hash whatever the name: a locked account's password is not
	// checked (the lock holds whether it is right or not) and an unknown
	// name has none, but both take the time of a check.
	right := false
	if u != nil && !locked {
		right = account.CheckPassword(u.PasswordHash, password)
	} else {
		account.CheckNoUser(password)
	}
	if !right {
		// A failure while locked is not counted (the lock does not grow);
		// any other counts towards the lock, for accounts and unknown
		// names alike.
		var lockedNow *time.Time
		outcome, reason := audit.Failed, "wrong password"
		switch {
		case locked:
			outcome, reason = audit.Denied, "locked"
		case u == nil:
			reason = "unknown user"
			lockedNow, err = s.db.RecordNameFailure(ctx, username)
		default:
			lockedNow, err = s.db.RecordLoginFailure(ctx, u.ID)
		}
		detail := map[string]any{"reason": reason}
		if lockedNow != nil {
			detail["locked_until"] = lockedNow.UTC().Format(time.RFC3339)
		}
		if err == nil {
			err = attempt(u, outcome, detail)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.metrics.LoginFailed(lockedNow != nil)
		again(http.StatusUnauthorized, s.t(r, badLogin, "Max", account.MaxFailedLogins, "Minutes", int(account.LockDuration.Minutes())))
		return
	}
	if u.Disabled() {
		if err := attempt(u, audit.Denied, map[string]any{"reason": "disabled"}); err != nil {
			s.fail(w, r, err)
			return
		}
		again(http.StatusForbidden, s.t(r, "auth.err.disabled"))
		return
	}
	// A second factor, or a role that requires one, means a second step
	// (totp.go) before the session is logged in; until it passes, the
	// failure count is not reset.
	s.keepLoginLanguage(w, r, u) // the password was right: the choice is theirs
	if s.secondStep(w, r, u, next) {
		return
	}
	if err := s.db.RecordLoginSuccess(ctx, u.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := attempt(u, audit.OK, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	// A fresh token at login defeats session fixation.
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.fail(w, r, unavailable(err))
		return
	}
	s.clearPending(ctx) // an abandoned second step of another login
	s.clearSetup(ctx)   // a new login sets up two-step login with a new secret
	s.sessions.Put(ctx, sessUserID, u.ID)
	s.sessions.Put(ctx, sessEpoch, u.SessionEpoch)
	if next == "" {
		next = homeOf(u.Role)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// lockedText says until when the account is locked, in the request's
// language.
func (s *Server) lockedText(r *http.Request, until time.Time) string {
	return s.t(r, "auth.err.locked", "Time", until.In(s.loc).Format("15:04"))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if uid := s.sessions.GetInt64(r.Context(), sessUserID); uid != 0 {
		a := audit.Actor{UserID: uid, IP: s.clientIP(r).String()}
		if u, err := s.db.UserByID(r.Context(), uid); err == nil {
			a.Username, a.Role = u.Username, string(u.Role)
		}
		if err := s.db.Audit(r.Context(), audit.Entry{Actor: a, Action: "logout", RecordType: "user", RecordID: a.Username}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.fail(w, r, unavailable(err))
		return
	}
	s.sessions.Put(r.Context(), sessFlash, "ok|"+s.t(r, "auth.logged_out"))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) passwordFormOf(r *http.Request, msg string, errs map[string]string) web.Form {
	return web.Form{Action: "/account/password", Submit: s.t(r, "auth.pw.title"), Error: msg, Fields: []web.Field{
		{Name: "current", Label: s.t(r, "auth.pw.current"), Type: "password", Required: true, Autocomplete: "current-password", Error: errs["current"]},
		{Name: "password", Label: s.t(r, "auth.pw.new"), Type: "password", Required: true, Autocomplete: "new-password", Error: errs["password"],
			Hint: s.t(r, "auth.pw.hint", "Min", account.MinPasswordLength)},
		{Name: "confirm", Label: s.t(r, "auth.pw.again"), Type: "password", Required: true, Autocomplete: "new-password", Error: errs["confirm"]},
	}}
}

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, web.Password(web.PasswordPage{Page: s.page(r, s.t(r, "auth.pw.title"), ""), Form: s.passwordFormOf(r, "", nil)}))
}

// recheckPassword checks the password a logged-in user types to confirm a
// change to their own account (a new password, turning two-step login
// off) under the lockout of logins, so that an open session is no way
// round it: a wrong password counts as a failed login (MaxFailedLogins of
// them, here or at login, lock the account), and while the account is
// locked no password is accepted here either. A right one clears the
// count, as a login does. It returns the zero Msg when the password is
// right, else the message for the password field (wrong, or the lock's);
// a refusal is audited as action, as a failed login is. ok is false when
// it answered the request itself (an error).
func (s *Server) recheckPassword(w http.ResponseWriter, r *http.Request, password, action, wrong string) (msg apperr.Msg, ok bool) {
	ctx := r.Context()
	u := currentUser(ctx)
	var until *time.Time
	outcome, detail := audit.Failed, map[string]any{"reason": "wrong current password"}
	switch {
	case u.Locked(s.now()):
		account.CheckNoUser(password) // the lock holds, right or wrong
		until = u.LockedUntil
		outcome, detail["reason"] = audit.Denied, "locked"
	case account.CheckPassword(u.PasswordHash, password):
		if err := s.db.RecordLoginSuccess(ctx, u.ID); err != nil {
			s.fail(w, r, err)
			return msg, false
		}
		return msg, true
	default:
		var err error
		if until, err = s.db.RecordLoginFailure(ctx, u.ID); err != nil {
			s.fail(w, r, err)
			return msg, false
		}
		if until != nil {
			detail["locked_until"] = until.UTC().Format(time.RFC3339)
		}
	}
	// Without its audit row the form fails.
	if err := s.db.Audit(ctx, audit.Entry{Actor: s.actor(r), Action: action, RecordType: "user", RecordID: u.Username,
		Outcome: outcome, Detail: detail}); err != nil {
		s.fail(w, r, err)
		return msg, false
	}
	if until != nil {
		return apperr.M("auth.err.locked", "Time", until.In(s.loc).Format("15:04")), true
	}
	return apperr.M(wrong), true
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	errs := apperr.Fields{}
	wrong, ok := s.recheckPassword(w, r, r.PostFormValue("current"), "account.password_change", "auth.err.current")
	if !ok {
		return
	}
	if wrong.ID != "" {
		errs.Add("current", wrong.ID, wrong.Args...)
	}
	pw := r.PostFormValue("password")
	if msg := account.PasswordMsg(pw); msg.ID != "" {
		errs.Add("password", msg.ID, msg.Args...)
	} else if pw != r.PostFormValue("confirm") {
		errs.Add("confirm", "auth.err.confirm")
	}
	err := errs.Err()
	if err == nil {
		// Stored with its audit row ("account.password_change") in one
		// transaction; never the password itself.
		err = s.db.SetPassword(r.Context(), u.ID, pw, s.actor(r))
	}
	if err != nil {
		msg, fields := s.formError(r, err)
		s.render(w, r, statusOf(apperr.CodeOf(err)), web.Password(web.PasswordPage{Page: s.page(r, s.t(r, "auth.pw.title"), ""),
			Form: s.passwordFormOf(r, msg, fields)}))
		return
	}
	// The password change ended every session, this one included; carry
	// on in a fresh one so the user is not thrown out of their own change.
	fresh, err := s.db.UserByID(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		s.fail(w, r, unavailable(err))
		return
	}
	s.sessions.Put(r.Context(), sessEpoch, fresh.SessionEpoch)
	s.setFlash(r, "ok", s.t(r, "auth.password_changed"))
	http.Redirect(w, r, homeOf(u.Role), http.StatusSeeOther)
}

// keepLoginLanguage makes the language chosen on the login page the user's
// own, and remembers it on this browser. A failure to store it is logged
// and does not stop the login.
func (s *Server) keepLoginLanguage(w http.ResponseWriter, r *http.Request, u *account.User) {
	lang := r.PostFormValue("language")
	if !i18n.Supported(lang) {
		return
	}
	s.rememberLang(w, lang)
	if lang == u.Language {
		return
	}
	if err := s.db.SetLanguage(r.Context(), u.ID, lang); err != nil {
		s.log.Warn("language not stored", "err", err)
		return
	}
	u.Language = lang
}
