package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// refKind describes one kind of reference data to the generic list and
// form handlers below: how to list it, which fields its form has, and how
// to load, save and delete one record. Form values travel as url.Values
// so that whatever the user typed is shown again untouched on error.
//
// The kind's texts are catalogue messages named after its slug:
// admin.<slug>.title, .description, .new, .edit, .create, .created,
// .saved and .deleted (dashes of the slug written as underscores).
type refKind struct {
	slug     string
	columns  []string // catalogue IDs of the list's column headings
	rows     func(ctx context.Context) ([]web.RefRow, error)
	defaults url.Values
	load     func(ctx context.Context, id int64) (url.Values, error)
	fields   func(ctx context.Context, v url.Values) ([]web.Field, error)
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
			slug:    "districts",
			columns: []string{"admin.col.code", "admin.col.name"},
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
					{Name: "code", Label: tc(ctx, "admin.field.code"), Value: v.Get("code"), Required: true, MaxLen: 16, Hint: tc(ctx, "admin.hint.district_code"), Autofocus: true},
					{Name: "name", Label: tc(ctx, "admin.field.name"), Value: v.Get("name"), Required: true, MaxLen: 100},
					activeField(ctx, v),
				}, nil
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				d := refdata.District{ID: id, Code: v.Get("code"), Name: v.Get("name"), Active: v.Get("active") == "on"}
				return db.SaveDistrict(ctx, &d, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteDistrict(ctx, id, actorOf(ctx)) },
		},
		{
			slug:    "settlements",
			columns: []string{"admin.col.name", "admin.col.district"},
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
				opts, err := s.districtOptions(ctx, tc(ctx, "admin.choose_district"))
				return []web.Field{
					{Name: "district_id", Label: tc(ctx, "admin.field.district"), Type: "select", Value: v.Get("district_id"), Options: opts, Required: true, Autofocus: true},
					{Name: "name", Label: tc(ctx, "admin.field.name"), Value: v.Get("name"), Required: true, MaxLen: 100},
					{Name: "is_idp", Label: tc(ctx, "admin.field.is_idp"), Type: "checkbox", Value: v.Get("is_idp")},
					activeField(ctx, v),
				}, err
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				f := apperr.Fields{}
				x := refdata.Settlement{ID: id, DistrictID: parseID(f, v, "district_id", "admin.err.district_required"), Name: v.Get("name"),
					IsIDP: v.Get("is_idp") == "on", Active: v.Get("active") == "on"}
				if err := mergeErr(f, x.Validate()); err != nil {
					return err
				}
				return db.SaveSettlement(ctx, &x, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteSettlement(ctx, id, actorOf(ctx)) },
		},
		{
			slug:    "units",
			columns: []string{"admin.col.call_sign", "admin.col.district", "admin.col.status"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				us, err := db.Units(ctx)
				return mapRows(us, err, func(u refdata.Unit) web.RefRow {
					return web.RefRow{Href: refHref("units", u.ID), Cells: []string{u.CallSign, u.DistrictCode, tc(ctx, "admin.unit_status."+string(u.Status))}, Badges: activeBadge(u.Active)}
				})
			},
			defaults: url.Values{"active": {"on"}, "status": {string(refdata.UnitAvailable)}},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				u, err := db.Unit(ctx, id)
				return url.Values{"call_sign": {u.CallSign}, "district_id": {strconv.FormatInt(u.DistrictID, 10)},
					"status": {string(u.Status)}, "active": {checkbox(u.Active)}}, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				opts, err := s.districtOptions(ctx, tc(ctx, "admin.choose_district"))
				var statuses []web.Option
				for _, st := range refdata.UnitStatuses {
					statuses = append(statuses, web.Option{Value: string(st), Label: tc(ctx, "admin.unit_status."+string(st))})
				}
				return []web.Field{
					{Name: "call_sign", Label: tc(ctx, "admin.field.call_sign"), Value: v.Get("call_sign"), Required: true, MaxLen: 20, Autofocus: true, Hint: tc(ctx, "admin.hint.call_sign")},
					{Name: "district_id", Label: tc(ctx, "admin.field.district"), Type: "select", Value: v.Get("district_id"), Options: opts, Required: true},
					{Name: "status", Label: tc(ctx, "admin.field.status"), Type: "select", Value: v.Get("status"), Options: statuses},
					activeField(ctx, v),
				}, err
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				f := apperr.Fields{}
				u := refdata.Unit{ID: id, CallSign: v.Get("call_sign"), DistrictID: parseID(f, v, "district_id", "admin.err.district_required"),
					Status: refdata.UnitStatus(v.Get("status")), Active: v.Get("active") == "on"}
				if err := mergeErr(f, u.Validate()); err != nil {
					return err
				}
				return db.SaveUnit(ctx, &u, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteUnit(ctx, id, actorOf(ctx)) },
		},
		{
			slug:    "incident-types",
			columns: []string{"admin.col.code", "admin.col.name"},
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
				v := url.Values{"code": {t.Code}, "name": {t.Name}, "is_dv": {checkbox(t.IsDV)}, "active": {checkbox(t.Active)}}
				setNames(v, "name", t.Names)
				return v, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				fs := []web.Field{
					{Name: "code", Label: tc(ctx, "admin.field.code"), Value: v.Get("code"), Required: true, MaxLen: 32, Autofocus: true},
					{Name: "name", Label: tc(ctx, "admin.field.name"), Value: v.Get("name"), Required: true, MaxLen: 100},
				}
				fs = append(fs, nameFields(ctx, v, "name", 100, "")...)
				return append(fs,
					web.Field{Name: "is_dv", Label: tc(ctx, "admin.field.is_dv"), Type: "checkbox", Value: v.Get("is_dv")},
					activeField(ctx, v),
				), nil
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				t := refdata.IncidentType{ID: id, Code: v.Get("code"), Name: v.Get("name"), Names: readNames(v, "name"),
					IsDV: v.Get("is_dv") == "on", Active: v.Get("active") == "on"}
				return db.SaveIncidentType(ctx, &t, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteIncidentType(ctx, id, actorOf(ctx)) },
		},
		{
			slug:    "priorities",
			columns: []string{"admin.col.level", "admin.col.label", "admin.col.response_target"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ps, err := db.Priorities(ctx)
				return mapRows(ps, err, func(p refdata.Priority) web.RefRow {
					return web.RefRow{Href: refHref("priorities", int64(p.Level)),
						Cells: []string{"P" + strconv.Itoa(p.Level), p.Label, seconds(ctx, p.Targets[refdata.Response])}}
				})
			},
			defaults: url.Values{},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				p, err := db.Priority(ctx, id)
				v := url.Values{"level": {strconv.Itoa(p.Level)}, "label": {p.Label}}
				setNames(v, "label", p.Names)
				for _, iv := range refdata.Intervals {
					if t := p.Targets[iv]; t != nil {
						v.Set("target_"+string(iv), strconv.Itoa(*t))
					}
				}
				return v, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				fs := []web.Field{
					{Name: "level", Label: tc(ctx, "admin.field.level"), Type: "number", Value: v.Get("level"), Required: true, Autofocus: true, Hint: tc(ctx, "admin.hint.level")},
					{Name: "label", Label: tc(ctx, "admin.field.label"), Value: v.Get("label"), Required: true, MaxLen: 60, Hint: tc(ctx, "admin.hint.label")},
				}
				fs = append(fs, nameFields(ctx, v, "label", 60, "")...)
				for _, iv := range refdata.Intervals {
					fs = append(fs, web.Field{Name: "target_" + string(iv), Label: tc(ctx, "admin.field.target."+string(iv)), Type: "number",
						Value: v.Get("target_" + string(iv)), Hint: tc(ctx, "admin.hint.target")})
				}
				// The day the targets apply from (migration 0019): today by
				// default, in the deployment's zone; an earlier day asks to
				// confirm re-judging the incidents already received.
				today := s.today()
				from := v.Get("targets_from")
				if from == "" {
					from = today.Format(time.DateOnly)
				}
				fs = append(fs, web.Field{Name: "targets_from", Label: tc(ctx, "admin.field.targets_from"), Type: "date",
					Value: from, Required: true, Hint: tc(ctx, "admin.hint.targets_from")})
				if d, err := time.Parse(time.DateOnly, from); err == nil && d.Before(today) {
					fs = append(fs, web.Field{Name: "confirm_rejudge", Label: tc(ctx, "admin.field.confirm_rejudge"), Type: "checkbox",
						Value: v.Get("confirm_rejudge")})
				}
				return fs, nil
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				f := apperr.Fields{}
				p := refdata.Priority{Label: v.Get("label"), Names: readNames(v, "label"), Targets: map[refdata.Interval]*int{}}
				p.Level = int(parseID(f, v, "level", "admin.err.level_required"))
				for _, iv := range refdata.Intervals {
					p.Targets[iv] = parseOptInt(f, v, "target_"+string(iv))
				}
				today := s.today()
				if id != 0 { // a new level's targets apply from the beginning
					p.TargetsFrom = today
					if v.Get("targets_from") == "" {
						// today
					} else if d, err := time.Parse(time.DateOnly, v.Get("targets_from")); err != nil {
						f.Add("targets_from", "admin.err.targets_from")
					} else if d.After(today) {
						f.Add("targets_from", "admin.err.targets_from_future")
					} else {
						p.TargetsFrom = d
					}
				}
				if err := mergeErr(f, p.Validate()); err != nil {
					return err
				}
				if id != 0 && p.TargetsFrom.Before(today) && v.Get("confirm_rejudge") != "on" {
					// A past day re-judges the incidents received since,
					// when the targets then in force change: say how many.
					n, err := s.rejudged(ctx, int(id), &p)
					if err != nil {
						return err
					}
					if n > 0 {
						f.Add("targets_from", "admin.err.targets_rejudge", "Count", n, "Date", p.TargetsFrom.Format(time.DateOnly))
						return f.Err()
					}
				}
				return db.SavePriority(ctx, &p, id == 0, int(id), actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeletePriority(ctx, id, actorOf(ctx)) },
		},
		{
			slug:    "dispositions",
			columns: []string{"admin.col.code", "admin.col.name"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ds, err := db.Dispositions(ctx)
				return mapRows(ds, err, func(d refdata.Disposition) web.RefRow {
					return web.RefRow{Href: refHref("dispositions", d.ID), Cells: []string{d.Code, d.Name}, Badges: activeBadge(d.Active)}
				})
			},
			defaults: url.Values{"active": {"on"}},
			load: func(ctx context.Context, id int64) (url.Values, error) {
				d, err := db.Disposition(ctx, id)
				v := url.Values{"code": {d.Code}, "name": {d.Name}, "active": {checkbox(d.Active)}}
				setNames(v, "name", d.Names)
				return v, err
			},
			fields: func(ctx context.Context, v url.Values) ([]web.Field, error) {
				fs := []web.Field{
					{Name: "code", Label: tc(ctx, "admin.field.code"), Value: v.Get("code"), Required: true, MaxLen: 32, Autofocus: true},
					{Name: "name", Label: tc(ctx, "admin.field.name"), Value: v.Get("name"), Required: true, MaxLen: 100},
				}
				fs = append(fs, nameFields(ctx, v, "name", 100, "")...)
				return append(fs, activeField(ctx, v)), nil
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				d := refdata.Disposition{ID: id, Code: v.Get("code"), Name: v.Get("name"), Names: readNames(v, "name"),
					Active: v.Get("active") == "on"}
				return db.SaveDisposition(ctx, &d, actorOf(ctx))
			},
			del: func(ctx context.Context, id int64) error { return db.DeleteDisposition(ctx, id, actorOf(ctx)) },
		},
		{
			slug:    "partners",
			columns: []string{"admin.col.name", "admin.col.kind", "admin.col.district", "admin.col.contact"},
			rows: func(ctx context.Context) ([]web.RefRow, error) {
				ps, err := db.Partners(ctx)
				return mapRows(ps, err, func(p refdata.Partner) web.RefRow {
					return web.RefRow{Href: refHref("partners", p.ID), Cells: []string{p.Name, tc(ctx, "admin.partner_kind."+string(p.Kind)), p.DistrictCode, p.Contact},
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
				opts, err := s.districtOptions(ctx, tc(ctx, "admin.all_districts"))
				kinds := []web.Option{{Value: "", Label: tc(ctx, "admin.choose_kind")}}
				for _, k := range refdata.PartnerKinds {
					kinds = append(kinds, web.Option{Value: string(k), Label: tc(ctx, "admin.partner_kind."+string(k))})
				}
				return []web.Field{
					{Name: "name", Label: tc(ctx, "admin.field.name"), Value: v.Get("name"), Required: true, MaxLen: 150, Autofocus: true},
					{Name: "kind", Label: tc(ctx, "admin.field.kind"), Type: "select", Value: v.Get("kind"), Options: kinds, Required: true},
					{Name: "district_id", Label: tc(ctx, "admin.field.district_served"), Type: "select", Value: v.Get("district_id"), Options: opts},
					{Name: "contact", Label: tc(ctx, "admin.field.contact"), Type: "textarea", Value: v.Get("contact"), MaxLen: 500, Width: "full",
						Hint: tc(ctx, "admin.hint.contact")},
					activeField(ctx, v),
				}, err
			},
			save: func(ctx context.Context, id int64, v url.Values) error {
				f := apperr.Fields{}
				p := refdata.Partner{ID: id, Name: v.Get("name"), Kind: refdata.PartnerKind(v.Get("kind")), Contact: v.Get("contact"),
					Active: v.Get("active") == "on"}
				if v.Get("district_id") != "" {
					did := parseID(f, v, "district_id", "admin.err.district_required")
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

func activeField(ctx context.Context, v url.Values) web.Field {
	return web.Field{Name: "active", Label: tc(ctx, "admin.field.active"), Type: "checkbox", Value: v.Get("active")}
}

func seconds(ctx context.Context, t *int) string {
	if t == nil {
		return "—"
	}
	return tc(ctx, "admin.seconds", "Count", *t)
}

// tc renders a catalogue message in the language of the request that ctx
// belongs to.
func tc(ctx context.Context, id string, kv ...any) string { return i18n.T(ctx, id, kv...) }

// nameFields are the optional fields of a record's name (field prefix
// "name", "label" or "text") in each language other than the default, e.g.
// name_ru, with the values typed in v. typ is the fields' type ("" for a
// line of text, "textarea").
func nameFields(ctx context.Context, v url.Values, prefix string, max int, typ string) []web.Field {
	out := make([]web.Field, 0, len(refdata.NameLanguages))
	for _, lang := range refdata.NameLanguages {
		f := web.Field{Name: prefix + "_" + lang, Label: tc(ctx, "admin.names."+prefix+"."+lang), Type: typ,
			Value: v.Get(prefix + "_" + lang), MaxLen: max, Hint: tc(ctx, "admin.names.hint")}
		if typ == "textarea" {
			f.Width = "full"
		}
		out = append(out, f)
	}
	return out
}

// readNames reads the names per language that nameFields offer.
func readNames(v url.Values, prefix string) map[string]string {
	out := map[string]string{}
	for _, lang := range refdata.NameLanguages {
		if n := v.Get(prefix + "_" + lang); n != "" {
			out[lang] = n
		}
	}
	return out
}

// setNames puts a record's names per language into the form values v.
func setNames(v url.Values, prefix string, names map[string]string) {
	for _, lang := range refdata.NameLanguages {
		if n := names[lang]; n != "" {
			v.Set(prefix+"_"+lang, n)
		}
	}
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
		f.Add(name, "admin.err.target_number")
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

// kt renders the kind's message admin.<slug>.<what> (see refKind).
func (s *Server) kt(r *http.Request, k *refKind, what string) string {
	return s.t(r, "admin."+strings.ReplaceAll(k.slug, "-", "_")+"."+what)
}

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
	p := web.AdminHome{Page: s.page(r, s.t(r, "admin.title"), "admin")}
	users, err := s.db.ListUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/users", Title: s.t(r, "admin.users.title"), Description: s.t(r, "admin.users.description"), Count: len(users)})
	for _, k := range s.refKinds() {
		rows, err := k.rows(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/" + k.slug, Title: s.kt(r, k, "title"), Description: s.kt(r, k, "description"), Count: len(rows)})
	}
	p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/import", Title: s.t(r, "admin.import.title"),
		Description: s.t(r, "admin.import.description"), Count: -1})
	p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/danger-settings", Title: s.t(r, "admin.danger_rule.title"),
		Description: s.t(r, "admin.danger_rule.description"), Count: -1})
	p.Kinds = append(p.Kinds, web.AdminKind{Href: schedulesPath, Title: s.t(r, "admin.schedules.title"),
		Description: s.t(r, "admin.schedules.description"), Count: -1})
	p.Kinds = append(p.Kinds, web.AdminKind{Href: "/admin/security", Title: s.t(r, "admin.security.title"),
		Description: s.t(r, "admin.security.description"), Count: -1})
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
	cols := make([]string, len(k.columns))
	for i, c := range k.columns {
		cols[i] = s.t(r, c)
	}
	title := s.kt(r, k, "title")
	s.render(w, r, http.StatusOK, web.AdminList(web.RefList{Page: s.page(r, title, "admin"), Slug: k.slug, Title: title,
		New: s.kt(r, k, "new"), Columns: cols, Rows: rows}))
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
	title := s.kt(r, k, "title")
	p := web.RefForm{Page: s.page(r, title, "admin"), Slug: k.slug, Title: title,
		Form: web.Form{Action: "/admin/" + k.slug, Submit: s.kt(r, k, "create"), Error: msg, Fields: fields}}
	p.Heading = s.kt(r, k, "new")
	if id != 0 {
		p.Heading = s.kt(r, k, "edit")
		p.Form.Action = refHref(k.slug, id)
		p.Form.Submit = s.t(r, "admin.save_changes")
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
		s.fail(w, r, apperr.New(apperr.Invalid, "admin.err.form_unreadable"))
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
	done := "created"
	if update {
		done = "saved"
	}
	s.setFlash(r, "ok", s.kt(r, k, done))
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
	s.setFlash(r, "ok", s.kt(r, k, "deleted"))
	http.Redirect(w, r, "/admin/"+k.slug, http.StatusSeeOther)
}

// today is the deployment's local day now, as refdata.Day.
func (s *Server) today() time.Time {
	n := s.now().In(s.loc)
	return refdata.Day(n.Year(), n.Month(), n.Day())
}

// rejudged counts the incidents of level whose judgement p's targets from
// p.TargetsFrom on would change: none when they are the targets already in
// force on that day, else those received from it to the level's next
// change.
func (s *Server) rejudged(ctx context.Context, level int, p *refdata.Priority) (int64, error) {
	ps, err := s.db.Priorities(ctx)
	if err != nil {
		return 0, err
	}
	for _, old := range ps {
		if old.Level != level {
			continue
		}
		same := true
		for _, iv := range refdata.Intervals {
			a, b := old.TargetOn(iv, p.TargetsFrom), p.Targets[iv]
			if (a == nil) != (b == nil) || a != nil && *a != *b {
				same = false
			}
		}
		if same {
			return 0, nil
		}
	}
	return s.db.Rejudged(ctx, level, p.TargetsFrom, s.loc.String())
}
