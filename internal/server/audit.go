package server

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/web"
)

// ---- the request's audit identity, for store calls made where the
// request is not at hand (the generic reference-data descriptors)

type actorKey struct{}

// withActor returns ctx carrying a, for actorOf.
func withActor(ctx context.Context, a audit.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorOf is the audit identity withActor put in ctx; without one, the
// logged-in user (with no source address).
func actorOf(ctx context.Context) audit.Actor {
	if a, ok := ctx.Value(actorKey{}).(audit.Actor); ok {
		return a
	}
	var a audit.Actor
	if u := currentUser(ctx); u != nil {
		a.UserID, a.Username, a.Role = u.ID, u.Username, string(u.Role)
	}
	return a
}

// ---- refused access

// auditDenied records a request refused for the user's role: action
// "access.denied", the record being the route ("route", its pattern, e.g.
// "/admin/users/{id}"), outcome denied. It is called before the 403 is
// written; if the audit row cannot be written the refusal still stands
// (the failure is logged, without request data).
func (s *Server) auditDenied(r *http.Request) {
	e := audit.Entry{Actor: s.actor(r), Action: "access.denied", RecordType: "route", RecordID: fullRoutePattern(r),
		Outcome: audit.Denied, Detail: map[string]any{"method": r.Method}}
	if err := s.db.Audit(r.Context(), e); err != nil {
		s.log.Warn("audit of a refused request failed", "route", e.RecordID, "err", err)
	}
}

// fullRoutePattern is the pattern of the route that r matches in the whole
// route table. Inside a sub-router's middleware (the /admin group) chi
// knows only the pattern matched so far ("/admin/*"), so the route is
// looked up again from the top.
func fullRoutePattern(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return "unmatched"
	}
	if rc.Routes != nil {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		if p := rc.Routes.Find(chi.NewRouteContext(), r.Method, path); p != "" {
			return p
		}
	}
	return routePattern(r)
}

// ---- the audit viewer
//
// Administrators read the whole trail at /admin/audit; supervisors read
// theirs at /audit: their own actions and the rows about the incidents of
// their district, with their protection orders and referrals
// (postgres.AuditScope). Both take the same filters, newest first, 100
// rows a page (keyset on id), and export what the filters select as CSV
// (/admin/audit.csv, /audit.csv). Reading and exporting the trail is
// itself audited ("audit.view", "audit.export", with the filters in the
// detail) before any row is shown: no audit row, no rows.

// auditPageSize is the number of rows on one page of the viewer.
const auditPageSize = 100

// auditRecordTypes are the record types the viewer offers to filter on.
var auditRecordTypes = []string{"incident", "protection_order", "referral", "user", "route", "audit",
	"district", "settlement", "unit", "incident_type", "priority", "disposition", "partner_org",
	"danger_question", "app_settings"}

// auditOutcomes are the outcomes the viewer offers to filter on.
var auditOutcomes = []audit.Outcome{audit.OK, audit.Denied, audit.Failed, audit.Invalid}

// auditFilterNames are the query parameters of the filters, in the order
// the audit detail and the links list them.
var auditFilterNames = []string{"user", "record_type", "record_id", "action", "outcome", "from", "to"}

// auditRequest is a parsed viewer request.
type auditRequest struct {
	filter postgres.AuditFilter
	values url.Values        // the filters as typed (without paging)
	errs   map[string]string // per-filter messages (catalogue IDs)
}

// parseAuditRequest reads the filters from the query string. Dates are
// days in the deployment's time zone; "to" includes its whole day.
func (s *Server) parseAuditRequest(q url.Values) auditRequest {
	ar := auditRequest{values: url.Values{}, errs: map[string]string{}}
	for _, k := range auditFilterNames {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			if len(v) > 200 {
				ar.errs[k] = "admin.audit.err.too_long"
				v = v[:200]
			}
			ar.values.Set(k, v)
		}
	}
	f := &ar.filter
	f.Username = account.NormalizeUsername(ar.values.Get("user"))
	f.RecordType = ar.values.Get("record_type")
	f.RecordID = ar.values.Get("record_id")
	f.Action = strings.ToLower(ar.values.Get("action"))
	if o := ar.values.Get("outcome"); o != "" {
		if !slices.Contains(auditOutcomes, audit.Outcome(o)) {
			ar.errs["outcome"] = "admin.audit.err.outcome"
		}
		f.Outcome = o
	}
	day := func(name string) time.Time {
		v := ar.values.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation("2006-01-02", v, s.loc)
		if err != nil {
			ar.errs[name] = "admin.audit.err.date"
			return time.Time{}
		}
		return t
	}
	f.From = day("from")
	if to := day("to"); !to.IsZero() {
		f.To = to.AddDate(0, 0, 1)
		if !f.From.IsZero() && !f.To.After(f.From) {
			ar.errs["to"] = "admin.audit.err.to_before_from"
		}
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err == nil && n > 0 {
			f.Before = n
		}
	}
	return ar
}

// detail is the audit detail of a view or export: the filters as given.
func (ar auditRequest) detail() map[string]any {
	filters := map[string]any{}
	for _, k := range auditFilterNames {
		if v := ar.values.Get(k); v != "" {
			filters[k] = v
		}
	}
	d := map[string]any{"filters": filters}
	if ar.filter.Before > 0 {
		d["before"] = ar.filter.Before
	}
	return d
}

// auditScope is what the viewer of r may see: nil (everything) for an
// administrator, their own and their district's rows for a supervisor.
func auditScope(u *account.User) *postgres.AuditScope {
	if u.Role == account.Admin {
		return nil
	}
	return &postgres.AuditScope{UserID: u.ID, DistrictID: u.DistrictID}
}

// auditSupervisors read their part of the trail at /audit.
var auditSupervisors = []account.Role{account.Supervisor}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
	s.auditPage(w, r, "/admin/audit")
}
func (s *Server) districtAudit(w http.ResponseWriter, r *http.Request) { s.auditPage(w, r, "/audit") }

// auditPage shows one page of the audit trail.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, path string) {
	u := currentUser(r.Context())
	ar := s.parseAuditRequest(r.URL.Query())
	ar.filter.Scope = auditScope(u)
	p := web.AuditPage{Page: s.page(r, s.t(r, "admin.audit.title"), "audit"), Path: path, Fields: s.auditFields(r, ar)}
	if ar.filter.Scope != nil {
		p.Scope = s.t(r, "admin.audit.scope.district")
		if u.DistrictID == nil {
			p.Scope = s.t(r, "admin.audit.scope.all")
		}
	}
	if len(ar.errs) > 0 {
		p.Error = s.t(r, "admin.audit.err.filters")
		s.render(w, r, http.StatusUnprocessableEntity, web.Audit(p))
		return
	}
	// Reading the trail is audited first: if that fails, no row is shown.
	if err := s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "audit.view", RecordType: "audit",
		Detail: ar.detail()}); err != nil {
		s.fail(w, r, err)
		return
	}
	rows, more, err := s.db.AuditEvents(r.Context(), ar.filter, auditPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, e := range rows {
		p.Rows = append(p.Rows, s.auditRow(r, e))
	}
	q := ar.values.Encode()
	p.CSVHref = path + ".csv"
	if q != "" {
		p.CSVHref += "?" + q
	}
	if ar.filter.Before > 0 {
		p.NewestHref = path
		if q != "" {
			p.NewestHref += "?" + q
		}
	}
	if more {
		v := url.Values{}
		for k, vs := range ar.values {
			v[k] = vs
		}
		v.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		p.OlderHref = path + "?" + v.Encode()
	}
	s.render(w, r, http.StatusOK, web.Audit(p))
}

// auditFields is the filter form with the values as typed.
func (s *Server) auditFields(r *http.Request, ar auditRequest) []web.Field {
	v := ar.values
	types := []web.Option{{Value: "", Label: s.t(r, "admin.audit.any")}}
	for _, t := range auditRecordTypes {
		types = append(types, web.Option{Value: t, Label: s.recordTypeLabel(r, t)})
	}
	if t := v.Get("record_type"); t != "" && !slices.Contains(auditRecordTypes, t) {
		types = append(types, web.Option{Value: t, Label: t})
	}
	outcomes := []web.Option{{Value: "", Label: s.t(r, "admin.audit.any")}}
	for _, o := range auditOutcomes {
		outcomes = append(outcomes, web.Option{Value: string(o), Label: s.outcomeLabel(r, string(o))})
	}
	f := []web.Field{
		{Name: "user", Label: s.t(r, "admin.audit.field.user"), Value: v.Get("user"), Autocomplete: "off", Hint: s.t(r, "admin.audit.hint.user")},
		{Name: "action", Label: s.t(r, "admin.audit.field.action"), Value: v.Get("action"), Autocomplete: "off",
			Hint: s.t(r, "admin.audit.hint.action")},
		{Name: "record_type", Label: s.t(r, "admin.audit.field.record_type"), Type: "select", Value: v.Get("record_type"), Options: types},
		{Name: "record_id", Label: s.t(r, "admin.audit.field.record_id"), Value: v.Get("record_id"), Autocomplete: "off",
			Hint: s.t(r, "admin.audit.hint.record_id")},
		{Name: "outcome", Label: s.t(r, "admin.audit.field.outcome"), Type: "select", Value: v.Get("outcome"), Options: outcomes},
		{Name: "from", Label: s.t(r, "admin.audit.field.from"), Type: "date", Value: v.Get("from")},
		{Name: "to", Label: s.t(r, "admin.audit.field.to"), Type: "date", Value: v.Get("to")},
	}
	for i := range f {
		if id := ar.errs[f[i].Name]; id != "" {
			f[i].Error = s.t(r, id)
		}
	}
	return f
}

// recordTypeLabel names a record type of the audit trail for people; a
// type the viewer does not know is shown as it is stored.
func (s *Server) recordTypeLabel(r *http.Request, t string) string {
	if !slices.Contains(auditRecordTypes, t) {
		return t
	}
	return s.t(r, "admin.audit.record_type."+t)
}

// outcomeLabel names an outcome for people; an unknown one is shown as
// stored.
func (s *Server) outcomeLabel(r *http.Request, o string) string {
	if !slices.Contains(auditOutcomes, audit.Outcome(o)) {
		return o
	}
	return s.t(r, "admin.audit.outcome."+o)
}

// auditRow is one audit row as the viewer shows it.
func (s *Server) auditRow(r *http.Request, e audit.Entry) web.AuditRow {
	row := web.AuditRow{ID: strconv.FormatInt(e.ID, 10), When: s.fmtTimeSec(r, e.At), ISO: isoUTC(e.At),
		User: e.Actor.Username, Role: e.Actor.Role, Action: e.Action, RecordType: s.recordTypeLabel(r, e.RecordType), RecordID: e.RecordID,
		IP: e.Actor.IP, Outcome: string(e.Outcome), OutcomeLabel: s.outcomeLabel(r, string(e.Outcome))}
	if slices.Contains(account.Roles, account.Role(e.Actor.Role)) {
		row.Role = s.t(r, "role."+e.Actor.Role)
	}
	if len(e.Detail) > 0 {
		row.Detail = string(audit.CanonicalDetail(e.Detail))
	}
	return row
}

// isoUTC is t in UTC, ISO 8601 with microseconds (the audit trail's
// precision).
func isoUTC(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// auditCSVHeader is the header row of the CSV export.
var auditCSVHeader = []string{"id", "at_utc", "user_id", "username", "role", "action", "record_type", "record_id",
	"source_ip", "outcome", "detail", "prev_hash", "hash"}

// auditCSVWriteWindow is how long the export may take to send the rows
// written since the last extension of its write deadline.
const auditCSVWriteWindow = 30 * time.Second

// auditCSV exports every row the filters select, newest first, as CSV: a
// header row, times in UTC (ISO 8601), the detail as JSON and the hash
// chain in hex, so that the export can be checked on its own. The export
// is audited before the first row is read.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	ar := s.parseAuditRequest(r.URL.Query())
	ar.filter.Scope = auditScope(u)
	ar.filter.Before = 0 // an export is never a page
	if len(ar.errs) > 0 {
		names := make([]string, 0, len(ar.errs))
		for k := range ar.errs {
			names = append(names, k)
		}
		slices.Sort(names)
		s.fail(w, r, apperr.New(apperr.Invalid, "admin.audit.err.export_filters", "Filters", strings.Join(names, ", ")))
		return
	}
	if err := s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "audit.export", RecordType: "audit",
		Detail: ar.detail()}); err != nil {
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	cw := csv.NewWriter(w)
	started := false
	var extended time.Time
	start := func() {
		started = true
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="audit-`+s.now().UTC().Format("20060102T150405Z")+`.csv"`)
		w.WriteHeader(http.StatusOK)
		cw.Write(auditCSVHeader)
	}
	err := s.db.EachAuditEvent(r.Context(), ar.filter, func(e *audit.Entry) error {
		if !started {
			start()
		}
		// A long export outlives the server's write timeout: each stretch
		// of rows gets its own deadline.
		if now := time.Now(); now.Sub(extended) > auditCSVWriteWindow/6 {
			_ = rc.SetWriteDeadline(now.Add(auditCSVWriteWindow))
			extended = now
		}
		uid := ""
		if e.Actor.UserID != 0 {
			uid = strconv.FormatInt(e.Actor.UserID, 10)
		}
		cw.Write([]string{strconv.FormatInt(e.ID, 10), isoUTC(e.At), uid, csvText(e.Actor.Username), csvText(e.Actor.Role),
			csvText(e.Action), csvText(e.RecordType), csvText(e.RecordID), csvText(e.Actor.IP), csvText(string(e.Outcome)),
			string(audit.CanonicalDetail(e.Detail)), hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash)})
		return cw.Error()
	})
	if err == nil && !started {
		start() // no rows: the header alone
	}
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err != nil {
		if !started {
			s.fail(w, r, err)
			return
		}
		// Half a file has been sent: cut the connection so the download
		// fails visibly instead of ending as if complete.
		if r.Context().Err() == nil {
			s.log.Error("audit export failed", "route", routePattern(r), "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// csvText guards a text cell against spreadsheet formula injection: a
// username typed at the login form ("=HYPERLINK(...)") must not become a
// formula when the export is opened. A cell starting with = + - @ or a
// tab or carriage return gets a leading apostrophe (OWASP's advice).
func csvText(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
