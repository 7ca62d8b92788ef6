package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// refKind describes one kind of reference data to the generic list and
// form handlers below: how to list it, which fields its form has, and how
// to load, save and delete one record. Form values travel as url.Values
// so that whatever the user typed is shown again untouched on error.
type refKind struct {
	slug, title, singular, description string
	columns                            []string
	rows                               func(ctx context.Context) ([]web.RefRow, error)
	defaults                           url.Values
	load                               func(ctx context.Context, id int64) (url.Values, error)
	fields                             func(ctx context.Context, v url.Values) ([]web.Field, error)
	// save and del write the change and its audit row in one transaction,
	// as the request's actor (actorOf(ctx): refSave and refDelete put it
	// in ctx).
	save func(ctx context.Context, id int64, v url.Values) error // id 0 creates
	del  func(ctx context.Context, id int64) error
}

// refKinds lists the kinds in the order the administration page shows them.
func (s *Server) refKinds() []*refKind {
	db := s.db
	return []*refKind{
		{
			slug: "districts", title: "Districts", singular: "district",
			description: "Areas of police responsibility.",
			columns:     []string{"Code", "Name"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ds, err := db.Districts(ctx)
				return mapRows(ds, err, func(d refdata.District) web.RefRow {
					return web.RefRow{Href: refHref("districts", d.ID), Cells: []string{d.Code, d.Name}, Badges: activeBadge(d.Active)}
				})
			},
			defaults: url.Values{"active": {"on"}},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				d, err := db.District(ctx, id)
				return url.Values{"code": {d.Code}, "name": {d.Name}, "active": {checkbox(d.Active)}}, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				return []web.Field{
					{Name: "code", Label: "Code", Value: v.Get("code"), Required: true, MaxLen: 16, Hint: "Short code, e.g. LEN or GORI.", Autofocus: true},
					{Name: "name", Label: "Name", Value: v.Get("name"), Required: true, MaxLen: 100},
					activeField(v),
				}, nil
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				d := refdata.District{ID: id, Code: v.Get("code"), Name: v.Get("name"), Active: v.Get("active") == "on"}
				return db.SaveDistrict(ctx, &d, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteDistrict(ctx, id, actorOf(ctx)) },
		},
		{
			slug: "settlements", title: "Settlements", singular: "settlement",
			description: "Towns, villages and IDP settlements within districts.",
			columns:     []string{"Name", "District"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ss, err := db.Settlements(ctx)
				return mapRows(ss, err, func(x refdata.Settlement) web.RefRow {
					b := activeBadge(x.Active)
					if x.IsIDP {
						b = append([]string{"IDP"}, b...)
					}
					return web.RefRow{Href: refHref("settlements", x.ID), Cells: []string{x.Name, x.DistrictCode}, Badges: b}
				})
			},
			defaults: url.Values{"active": {"on"}},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				x, err := db.Settlement(ctx, id)
				return url.Values{"district_id": {strconv.FormatInt(x.DistrictID, 10)}, "name": {x.Name},
					"is_idp": {checkbox(x.IsIDP)}, "active": {checkbox(x.Active)}}, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				opts, err := s.districtOptions(ctx, "Choose a district")
				return []web.Field{
					{Name: "district_id", Label: "District", Type: "select", Value: v.Get("district_id"), Options: opts, Required: true, Autofocus: true},
					{Name: "name", Label: "Name", Value: v.Get("name"), Required: true, MaxLen: 100},
					{Name: "is_idp", Label: "Settlement of internally displaced people (IDP)", Type: "checkbox", Value: v.Get("is_idp")},
					activeField(v),
				}, err
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				f := apperr.Fields{}
				x := refdata.Settlement{ID: id, DistrictID: parseID(f, v, "district_id", "Choose a district."), Name: v.Get("name"),
					IsIDP: v.Get("is_idp") == "on", Active: v.Get("active") == "on"}
				if err := mergeErr(f, x.Validate()); err != nil {
					return err
				}
				return db.SaveSettlement(ctx, &x, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteSettlement(ctx, id, actorOf(ctx)) },
		},
		{
			slug: "units", title: "Units", singular: "unit",
			description: "Patrol cars and officer teams, with their call signs.",
			columns:     []string{"Call sign", "District", "Status"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				us, err := db.Units(ctx)
				return mapRows(us, err, func(u refdata.Unit) web.RefRow {
					return web.RefRow{Href: refHref("units", u.ID), Cells: []string{u.CallSign, u.DistrictCode, u.Status.Label()}, Badges: activeBadge(u.Active)}
				})
			},
			defaults: url.Values{"active": {"on"}, "status": {string(refdata.UnitAvailable)}},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				u, err := db.Unit(ctx, id)
				return url.Values{"call_sign": {u.CallSign}, "district_id": {strconv.FormatInt(u.DistrictID, 10)},
					"status": {string(u.Status)}, "active": {checkbox(u.Active)}}, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				opts, err := s.districtOptions(ctx, "Choose a district")
				var statuses []web.Option
				for _, st := range refdata.UnitStatuses {
					statuses = append(statuses, web.Option{Value: string(st), Label: st.Label()})
				}
				return []web.Field{
					{Name: "call_sign", Label: "Call sign", Value: v.Get("call_sign"), Required: true, MaxLen: 20, Autofocus: true, Hint: "e.g. LEN-12"},
					{Name: "district_id", Label: "District", Type: "select", Value: v.Get("district_id"), Options: opts, Required: true},
					{Name: "status", Label: "Status", Type: "select", Value: v.Get("status"), Options: statuses},
					activeField(v),
				}, err
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				f := apperr.Fields{}
				u := refdata.Unit{ID: id, CallSign: v.Get("call_sign"), DistrictID: parseID(f, v, "district_id", "Choose a district."),
					Status: refdata.UnitStatus(v.Get("status")), Active: v.Get("active") == "on"}
				if err := mergeErr(f, u.Validate()); err != nil {
					return err
				}
				return db.SaveUnit(ctx, &u, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteUnit(ctx, id, actorOf(ctx)) },
		},
		{
			slug: "incident-types", title: "Incident types", singular: "incident type",
			description: "What a call is about; domestic-violence types are flagged for reports.",
			columns:     []string{"Code", "Name"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ts, err := db.IncidentTypes(ctx)
				return mapRows(ts, err, func(t refdata.IncidentType) web.RefRow {
					b := activeBadge(t.Active)
					if t.IsDV {
						b = append([]string{"DV"}, b...)
					}
					return web.RefRow{Href: refHref("incident-types", t.ID), Cells: []string{t.Code, t.Name}, Badges: b}
				})
			},
			defaults: url.Values{"active": {"on"}, "is_dv": {"on"}},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				t, err := db.IncidentType(ctx, id)
				return url.Values{"code": {t.Code}, "name": {t.Name}, "is_dv": {checkbox(t.IsDV)}, "active": {checkbox(t.Active)}}, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				return []web.Field{
					{Name: "code", Label: "Code", Value: v.Get("code"), Required: true, MaxLen: 32, Autofocus: true},
					{Name: "name", Label: "Name", Value: v.Get("name"), Required: true, MaxLen: 100},
					{Name: "is_dv", Label: "Domestic-violence type", Type: "checkbox", Value: v.Get("is_dv")},
					activeField(v),
				}, nil
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				t := refdata.IncidentType{ID: id, Code: v.Get("code"), Name: v.Get("name"), IsDV: v.Get("is_dv") == "on", Active: v.Get("active") == "on"}
				return db.SaveIncidentType(ctx, &t, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteIncidentType(ctx, id, actorOf(ctx)) },
		},
		{
			slug: "priorities", title: "Priorities", singular: "priority",
			description: "Urgency levels (1 = most urgent) and their response-time targets.",
			columns:     []string{"Level", "Label", "Response target"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ps, err := db.Priorities(ctx)
				return mapRows(ps, err, func(p refdata.Priority) web.RefRow {
					return web.RefRow{Href: refHref("priorities", int64(p.Level)),
						Cells: []string{"P" + strconv.Itoa(p.Level), p.Label, seconds(p.Targets[refdata.Response])}}
				})
			},
			defaults: url.Values{},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				p, err := db.Priority(ctx, id)
				v := url.Values{"level": {strconv.Itoa(p.Level)}, "label": {p.Label}}
				for _, iv := range refdata.Intervals {
					if t := p.Targets[iv]; t != nil {
						v.Set("target_"+string(iv), strconv.Itoa(*t))
					}
				}
				return v, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				fs := []web.Field{
					{Name: "level", Label: "Level", Type: "number", Value: v.Get("level"), Required: true, Autofocus: true, Hint: "1 is the most urgent."},
					{Name: "label", Label: "Label", Value: v.Get("label"), Required: true, MaxLen: 60, Hint: "e.g. Immediate danger"},
				}
				for _, iv := range refdata.Intervals {
					fs = append(fs, web.Field{Name: "target_" + string(iv), Label: iv.Label() + " target (seconds)", Type: "number",
						Value: v.Get("target_" + string(iv)), Hint: "Leave empty for no target."})
				}
				return fs, nil
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				f := apperr.Fields{}
				p := refdata.Priority{Label: v.Get("label"), Targets: map[refdata.Interval]*int{}}
				p.Level = int(parseID(f, v, "level", "Enter a level from 1 to 9."))
				for _, iv := range refdata.Intervals {
					p.Targets[iv] = parseOptInt(f, v, "target_"+string(iv))
				}
				if err := mergeErr(f, p.Validate()); err != nil {
					return err
				}
				return db.SavePriority(ctx, &p, id == 0, int(id), actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeletePriority(ctx, id, actorOf(ctx)) },
		},
		{
			slug: "dispositions", title: "Disposition codes", singular: "disposition code",
			description: "How an incident was closed.",
			columns:     []string{"Code", "Name"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ds, err := db.Dispositions(ctx)
				return mapRows(ds, err, func(d refdata.Disposition) web.RefRow {
					return web.RefRow{Href: refHref("dispositions", d.ID), Cells: []string{d.Code, d.Name}, Badges: activeBadge(d.Active)}
				})
			},
			defaults: url.Values{"active": {"on"}},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				d, err := db.Disposition(ctx, id)
				return url.Values{"code": {d.Code}, "name": {d.Name}, "active": {checkbox(d.Active)}}, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				return []web.Field{
					{Name: "code", Label: "Code", Value: v.Get("code"), Required: true, MaxLen: 32, Autofocus: true},
					{Name: "name", Label: "Name", Value: v.Get("name"), Required: true, MaxLen: 100},
					activeField(v),
				}, nil
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				d := refdata.Disposition{ID: id, Code: v.Get("code"), Name: v.Get("name"), Active: v.Get("active") == "on"}
				return db.SaveDisposition(ctx, &d, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteDisposition(ctx, id, actorOf(ctx)) },
		},
		{
			slug: "partners", title: "Partner organisations", singular: "partner organisation",
			description: "Shelters, crisis centres and other organisations victims are referred to.",
			columns:     []string{"Name", "Kind", "District", "Contact"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ps, err := db.Partners(ctx)
				return mapRows(ps, err, func(p refdata.Partner) web.RefRow {
					return web.RefRow{Href: refHref("partners", p.ID), Cells: []string{p.Name, p.Kind.Label(), p.DistrictCode, p.Contact},
						Badges: activeBadge(p.Active)}
				})
			},
			defaults: url.Values{"active": {"on"}},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				p, err := db.Partner(ctx, id)
				v := url.Values{"name": {p.Name}, "kind": {string(p.Kind)}, "contact": {p.Contact}, "active": {checkbox(p.Active)}}
				if p.DistrictID != nil {
					v.Set("district_id", strconv.FormatInt(*p.DistrictID, 10))
				}
				return v, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				opts, err := s.districtOptions(ctx, "All districts")
				kinds := []web.Option{{Value: "", Label: "Choose a kind"}}
				for _, k := range refdata.PartnerKinds {
					kinds = append(kinds, web.Option{Value: string(k), Label: k.Label()})
				}
				return []web.Field{
					{Name: "name", Label: "Name", Value: v.Get("name"), Required: true, MaxLen: 150, Autofocus: true},
					{Name: "kind", Label: "Kind", Type: "select", Value: v.Get("kind"), Options: kinds, Required: true},
					{Name: "district_id", Label: "District served", Type: "select", Value: v.Get("district_id"), Options: opts},
					{Name: "contact", Label: "Contact", Type: "textarea", Value: v.Get("contact"), MaxLen: 500, Width: "full",
						Hint: "Phone, hours, address for referrals. Shared with officers."},
					activeField(v),
				}, err
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				f := apperr.Fields{}
				p := refdata.Partner{ID: id, Name: v.Get("name"), Kind: refdata.PartnerKind(v.Get("kind")), Contact: v.Get("contact"),
					Active: v.Get("active") == "on"}
				if v.Get("district_id") != "" {
					did := parseID(f, v, "district_id", "Choose a district.")
					p.DistrictID = &did
				}
				if err := mergeErr(f, p.Validate()); err != nil {
					return err
				}
				return db.SavePartner(ctx, &p, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeletePartner(ctx, id, actorOf(ctx)) },
		},
		s.dangerQuestionKind(),
	}
}

// ---- helpers for the descriptors

func mapRows[T any](xs []T, err error, f func(T) web.RefRow) ([]web.RefRow, error) {
	if err != nil {
		return nil, err
	}
	rows := make([]web.RefRow, 0, len(xs))
	for _, x := range xs {
		rows = append(rows, f(x))
	}
	return rows, nil
}

func refHref(slug string, id int64) string { return fmt.Sprintf("/admin/%s/%d", slug, id) }

func checkbox(b bool) string {
	if b {
		return "on"
	}
	return ""
}

func activeBadge(active bool) []string {
	if active {
		return nil
	}
	return []string{"inactive"}
}

func activeField(v url.Values) web.Field {
	return web.Field{Name: "active", Label: "Active (offered in forms)", Type: "checkbox", Value: v.Get("active")}
}

func seconds(t *int) string {
	if t == nil {
		return "—"
	}
	return fmt.Sprintf("%d s", *t)
}

// parseID reads a positive integer field, recording msg when it is not one.
func parseID(f apperr.Fields, v url.Values, name, msg string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(v.Get(name)), 10, 64)
	if err != nil || n <= 0 {
		f.Add(name, msg)
		return 0
	}
	return n
}

// parseOptInt reads an optional whole-number field.
func parseOptInt(f apperr.Fields, v url.Values, name string) *int {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f.Add(name, "Enter a whole number of seconds, or leave empty.")
		return nil
	}
	return &n
}

// mergeErr adds the field messages of a validation error to f (keeping
// parse messages first) and returns the combined error.
func mergeErr(f apperr.Fields, err error) error {
	for k, msg := range apperr.FieldsOf(err) {
		f.Add(k, msg.ID, msg.Args...)
	}
	if len(f) > 0 {
		return f.Err()
	}
	return err
}

func (s *Server) districtOptions(ctx context.Context, none string) ([]web.Option, error) {
	ds, err := s.db.Districts(ctx)
	opts := []web.Option{{Value: "", Label: none}}
	for _, d := range ds {
		opts = append(opts, web.Option{Value: strconv.FormatInt(d.ID, 10), Label: d.Code + " — " + d.Name})
	}
	return opts, err
}

// ---- handlers

func (s *Server) kind(w http.ResponseWriter, r *http.Request) *refKind {
	slug := chi.URLParam(r, "kind")
	for _, k := range s.refKinds() {
		if k.slug == slug {
			return k
		}
	}
	s.notFound(w, r)
	return nil
}

func pathID(w http.ResponseWriter, r *http.Request, s *Server) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return 0, false
	}
	return id, true
}

func (s *Server) adminHome(w http.ResponseWriter, r *http.Request) {
	p := web.AdminHome{Page: s.page(r, "Administration", "admin")}
	users, err := s.db.ListUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/users", Title: "Users", Description: "Accounts, roles and districts.", Count: len(users)})
	for _, k := range s.refKinds() {
		rows, err := k.rows(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/" + k.slug, Title: k.title, Description: k.description, Count: len(rows)})
	}
	p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/import", Title: "Import historic calls",
		Description: "Load last year's calls from the old dispatch system's CSV export as a baseline.", Count: -1})
	p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/danger-settings", Title: "Danger-screen rule",
		Description: "How many yes answers make a danger screen high danger.", Count: -1})
	p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/security", Title: "Security",
		Description: "Roles that require two-step login; reset a user's two-step login.", Count: -1})
	s.render(w, r, http.StatusOK, web.AdminIndex(p))
}

func (s *Server) refList(w http.ResponseWriter, r *http.Request) {
	k := s.kind(w, r)
	if k == nil {
		return
	}
	rows, err := k.rows(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, web.AdminList(web.RefList{Page: s.page(r, k.title, "admin"), Slug: k.slug, Title: k.title,
		Singular: k.singular, Columns: k.columns, Rows: rows}))
}

// refForm renders the form of k with values v, the form-level message and
// per-field messages.
func (s *Server) refForm(w http.ResponseWriter, r *http.Request, status int, k *refKind, id int64, v url.Values, msg string, errs map[string]string) {
	fields, err := k.fields(r.Context(), v)
	if err != nil && msg == "" {
		msg, _ = s.formError(r, err)
	}
	for i := range fields {
		fields[i].Error = errs[fields[i].Name]
	}
	p := web.RefForm{Page: s.page(r, k.title, "admin"), Slug: k.slug, Title: k.title,
		Form: web.Form{Action: "/admin/" + k.slug, Submit: "Create " + k.singular, Error: msg, Fields: fields}}
	p.Heading = "New " + k.singular
	if id != 0 {
		p.Heading = "Edit " + k.singular
		p.Form.Action = refHref(k.slug, id)
		p.Form.Submit = "Save changes"
		p.DeleteAction = p.Form.Action + "/delete"
	}
	s.render(w, r, status, web.AdminForm(p))
}

func (s *Server) refNew(w http.ResponseWriter, r *http.Request) {
	if k := s.kind(w, r); k != nil {
		s.refForm(w, r, http.StatusOK, k, 0, k.defaults, "", nil)
	}
}

func (s *Server) refEdit(w http.ResponseWriter, r *http.Request) {
	k := s.kind(w, r)
	if k == nil {
		return
	}
	id, ok := pathID(w, r, s)
	if !ok {
		return
	}
	v, err := k.load(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.refForm(w, r, http.StatusOK, k, id, v, "", nil)
}

func (s *Server) refCreate(w http.ResponseWriter, r *http.Request) { s.refSave(w, r, false) }
func (s *Server) refUpdate(w http.ResponseWriter, r *http.Request) { s.refSave(w, r, true) }

func (s *Server) refSave(w http.ResponseWriter, r *http.Request, update bool) {
	k := s.kind(w, r)
	if k == nil {
		return
	}
	var id int64
	if update {
		var ok bool
		if id, ok = pathID(w, r, s); !ok {
			return
		}
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, apperr.New(apperr.Invalid, "The form could not be read."))
		return
	}
	if err := k.save(withActor(r.Context(), s.actor(r)), id, r.PostForm); err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			s.fail(w, r, err)
			return
		}
		msg, fields := s.formError(r, err)
		s.refForm(w, r, statusOf(apperr.CodeOf(err)), k, id, r.PostForm, msg, fields)
		return
	}
	verb := "created"
	if update {
		verb = "saved"
	}
	s.setFlash(r, "ok", strings.ToUpper(k.singular[:1])+k.singular[1:]+" "+verb+".")
	http.Redirect(w, r, "/admin/"+k.slug, http.StatusSeeOther)
}

func (s *Server) refDelete(w http.ResponseWriter, r *http.Request) {
	k := s.kind(w, r)
	if k == nil {
		return
	}
	id, ok := pathID(w, r, s)
	if !ok {
		return
	}
	if err := k.del(withActor(r.Context(), s.actor(r)), id); err != nil {
		if apperr.CodeOf(err) == apperr.Conflict {
			s.setFlash(r, "error", s.tr(r, apperr.MessageOf(err)))
			http.Redirect(w, r, refHref(k.slug, id), http.StatusSeeOther)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.setFlash(r, "ok", strings.ToUpper(k.singular[:1])+k.singular[1:]+" deleted.")
	http.Redirect(w, r, "/admin/"+k.slug, http.StatusSeeOther)
}
