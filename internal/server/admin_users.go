package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/web"
)

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.db.ListUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := web.UserList{Page: s.page(r, s.t(r, "admin.users.title"), "users")}
	for _, u := range users {
		p.Users = append(p.Users, web.UserRow{Href: "/admin/users/" + strconv.FormatInt(u.ID, 10), Username: u.Username,
			Name: u.FullName, Role: s.t(r, "role."+string(u.Role)), District: u.DistrictCode, Disabled: u.Disabled()})
	}
	s.render(w, r, http.StatusOK, web.AdminUsers(p))
}

// userFields builds the user form from the typed values v.
func (s *Server) userFields(ctx context.Context, v url.Values, isNew bool) ([]web.Field, error) {
	roles := []web.Option{{Value: "", Label: tc(ctx, "admin.users.choose_role")}}
	for _, r := range account.Roles {
		roles = append(roles, web.Option{Value: string(r), Label: tc(ctx, "role."+string(r))})
	}
	districts := []web.Option{{Value: "", Label: tc(ctx, "admin.users.no_district")}}
	ds, err := s.db.Districts(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		districts = append(districts, web.Option{Value: d.Code, Label: d.Code + " — " + d.Name})
	}
	units := []web.Option{{Value: "", Label: tc(ctx, "admin.users.no_unit")}}
	us, err := s.db.Units(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		units = append(units, web.Option{Value: u.CallSign, Label: u.CallSign + " (" + u.DistrictCode + ")"})
	}
	f := []web.Field{}
	if isNew {
		f = append(f, web.Field{Name: "username", Label: tc(ctx, "admin.users.field.username"), Value: v.Get("username"), Required: true, MaxLen: 40,
			Autofocus: true, Autocomplete: "off", Hint: tc(ctx, "admin.users.hint.username")})
	}
	f = append(f,
		web.Field{Name: "full_name", Label: tc(ctx, "admin.users.field.full_name"), Value: v.Get("full_name"), MaxLen: 100},
		web.Field{Name: "role", Label: tc(ctx, "admin.users.field.role"), Type: "select", Value: v.Get("role"), Options: roles, Required: true},
		web.Field{Name: "district", Label: tc(ctx, "admin.field.district"), Type: "select", Value: v.Get("district"), Options: districts,
			Hint: tc(ctx, "admin.users.hint.district")},
		web.Field{Name: "unit", Label: tc(ctx, "admin.users.field.unit"), Type: "select", Value: v.Get("unit"), Options: units, Hint: tc(ctx, "admin.users.hint.unit")},
	)
	if isNew {
		f = append(f, web.Field{Name: "password", Label: tc(ctx, "admin.users.field.initial_password"), Type: "password", Required: true,
			Autocomplete: "new-password", Hint: tc(ctx, "admin.users.hint.initial_password")})
	}
	return f, nil
}

func (s *Server) resetForm(r *http.Request, id int64, msg string, errs map[string]string) web.Form {
	return web.Form{Action: "/admin/users/" + strconv.FormatInt(id, 10) + "/password", Submit: s.t(r, "admin.users.set_password"), Error: msg,
		Fields: []web.Field{{Name: "password", Label: s.t(r, "admin.users.field.new_password"), Type: "password", Required: true,
			Autocomplete: "new-password", Error: errs["password"]}}}
}

// userPage renders the create (id 0) or edit page with typed values.
func (s *Server) userPage(w http.ResponseWriter, r *http.Request, status int, id int64, u *account.User, v url.Values,
	msg string, errs map[string]string, reset web.Form) {
	fields, err := s.userFields(r.Context(), v, id == 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for i := range fields {
		fields[i].Error = errs[fields[i].Name]
	}
	p := web.UserEdit{Page: s.page(r, s.t(r, "admin.users.title"), "users"), ID: id, Heading: s.t(r, "admin.users.new"),
		Form: web.Form{Action: "/admin/users", Submit: s.t(r, "admin.users.create"), Error: msg, Fields: fields}}
	if id != 0 {
		p.Heading = s.t(r, "admin.users.heading", "Username", u.Username)
		p.Form.Action = "/admin/users/" + strconv.FormatInt(id, 10)
		p.Form.Submit = s.t(r, "admin.save_changes")
		p.Disabled = u.Disabled()
		p.Locked = u.Locked(s.now())
		p.Password = reset
	}
	s.render(w, r, status, web.AdminUser(p))
}

func userValues(u *account.User) url.Values {
	return url.Values{"full_name": {u.FullName}, "role": {string(u.Role)}, "district": {u.DistrictCode}, "unit": {u.UnitCallSign}}
}

func draftOf(v url.Values) account.Draft {
	return account.Draft{Username: v.Get("username"), FullName: v.Get("full_name"), Role: v.Get("role"),
		District: v.Get("district"), Unit: v.Get("unit"), Password: v.Get("password")}
}

func (s *Server) adminUserNew(w http.ResponseWriter, r *http.Request) {
	s.userPage(w, r, http.StatusOK, 0, nil, url.Values{}, "", nil, web.Form{})
}

func (s *Server) adminUserCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, apperr.New(apperr.Invalid, "admin.err.form_unreadable"))
		return
	}
	u, err := s.db.CreateUser(r.Context(), draftOf(r.PostForm), s.actor(r))
	if err != nil {
		msg, fields := s.formError(r, err)
		v := r.PostForm
		v.Del("password") // never echo a password back
		s.userPage(w, r, statusOf(apperr.CodeOf(err)), 0, nil, v, msg, fields, web.Form{})
		return
	}
	s.setFlash(r, "ok", s.t(r, "admin.users.created", "Username", u.Username))
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

// loadUser reads the {id} user, answering 404 itself when there is none.
func (s *Server) loadUser(w http.ResponseWriter, r *http.Request) (*account.User, bool) {
	id, ok := pathID(w, r, s)
	if !ok {
		return nil, false
	}
	u, err := s.db.UserByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return u, true
}

func (s *Server) adminUserEdit(w http.ResponseWriter, r *http.Request) {
	u, ok := s.loadUser(w, r)
	if !ok {
		return
	}
	s.userPage(w, r, http.StatusOK, u.ID, u, userValues(u), "", nil, s.resetForm(r, u.ID, "", nil))
}

func (s *Server) adminUserUpdate(w http.ResponseWriter, r *http.Request) {
	u, ok := s.loadUser(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, apperr.New(apperr.Invalid, "admin.err.form_unreadable"))
		return
	}
	d := draftOf(r.PostForm)
	d.Username = u.Username
	if err := s.db.UpdateUser(r.Context(), u.ID, d, s.actor(r)); err != nil {
		msg, fields := s.formError(r, err)
		s.userPage(w, r, statusOf(apperr.CodeOf(err)), u.ID, u, r.PostForm, msg, fields, s.resetForm(r, u.ID, "", nil))
		return
	}
	s.setFlash(r, "ok", s.t(r, "admin.users.saved", "Username", u.Username))
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

func (s *Server) adminUserPassword(w http.ResponseWriter, r *http.Request) {
	u, ok := s.loadUser(w, r)
	if !ok {
		return
	}
	if err := s.db.SetPassword(r.Context(), u.ID, r.PostFormValue("password"), s.actor(r)); err != nil {
		msg, fields := s.formError(r, err)
		if fields == nil && apperr.CodeOf(err) == apperr.Invalid {
			fields, msg = map[string]string{"password": msg}, ""
		}
		s.userPage(w, r, statusOf(apperr.CodeOf(err)), u.ID, u, userValues(u), "", nil, s.resetForm(r, u.ID, msg, fields))
		return
	}
	s.setFlash(r, "ok", s.t(r, "admin.users.password_set", "Username", u.Username))
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10), http.StatusSeeOther)
}

func (s *Server) adminUserDisable(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "admin.users.disabled", func(ctx context.Context, id int64) error {
		if cur := currentUser(ctx); cur != nil && cur.ID == id {
			return apperr.New(apperr.Conflict, "admin.users.err.disable_self")
		}
		return s.db.SetDisabled(ctx, id, true, s.actor(r))
	})
}

func (s *Server) adminUserEnable(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "admin.users.enabled", func(ctx context.Context, id int64) error { return s.db.SetDisabled(ctx, id, false, s.actor(r)) })
}

func (s *Server) adminUserEndSessions(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "admin.users.sessions_ended", func(ctx context.Context, id int64) error { return s.db.EndSessions(ctx, id, s.actor(r)) })
}

// userAction runs a one-button action on the {id} user and returns to the
// user's page with the message done (a catalogue ID taking the Username).
func (s *Server) userAction(w http.ResponseWriter, r *http.Request, done string, act func(context.Context, int64) error) {
	u, ok := s.loadUser(w, r)
	if !ok {
		return
	}
	back := "/admin/users/" + strconv.FormatInt(u.ID, 10)
	if err := act(r.Context(), u.ID); err != nil {
		if apperr.CodeOf(err) == apperr.Conflict {
			s.setFlash(r, "error", s.tr(r, apperr.MessageOf(err)))
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.setFlash(r, "ok", s.t(r, done, "Username", u.Username))
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) adminUserUnlock(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "admin.users.unlocked", func(ctx context.Context, id int64) error { return s.db.Unlock(ctx, id, s.actor(r)) })
}
