package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web/static"
)

// public marks a route that anybody may use, logged in or not.
var public = []account.Role{}

// routeAccess is the expected access rule of every route, keyed by
// "METHOD PATTERN" as chi reports it ("*" for a route that takes every
// method). It is written out here rather than derived from routes.go so
// that a change of access has to be made in two places on purpose.
var routeAccess = map[string][]account.Role{
	"GET /healthz":           public,
	"GET /readyz":            public,
	"GET /static/*":          public,
	"HEAD /static/*":         public,
	"GET /login":             public,
	"POST /login":            public,
	"POST /logout":           public,
	"GET /login/totp":        public,
	"POST /login/totp":       public,
	"GET /":                  {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"GET /account/password":  {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"POST /account/password": {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"POST /account/language": {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"GET /board":             {account.Dispatcher, account.Supervisor, account.Admin},
	"GET /board/events":      {account.Dispatcher, account.Supervisor, account.Admin},
	"GET /board/fragment":    {account.Dispatcher, account.Supervisor, account.Admin},
	"GET /my/events":         {account.Officer},
	"GET /my/work/events":    {account.Officer},
	"GET /my/work/fragment":  {account.Officer},
	"GET /my/fragment":       {account.Officer},

	"GET /incidents/new":                        {account.Dispatcher, account.Supervisor},
	"POST /incidents":                           {account.Dispatcher, account.Supervisor},
	"POST /incidents/history":                   {account.Dispatcher, account.Supervisor},
	"POST /incidents/{id}/calls":                {account.Dispatcher, account.Supervisor},
	"GET /incidents/{id}":                       {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"POST /incidents/{id}/units":                {account.Dispatcher, account.Supervisor},
	"POST /incidents/{id}/units/{unit}/release": {account.Dispatcher, account.Supervisor},
	"GET /incidents/{id}/danger":                {account.Officer, account.Dispatcher, account.Supervisor},
	"POST /incidents/{id}/danger":               {account.Officer, account.Dispatcher, account.Supervisor},
	"GET /incidents/{id}/correct":               {account.Supervisor},
	"POST /incidents/{id}/correct":              {account.Supervisor},
	"POST /incidents/{id}/stage":                {account.Dispatcher, account.Officer, account.Supervisor},
	"POST /incidents/{id}/confidential":         {account.Dispatcher, account.Officer, account.Supervisor},

	"GET /incidents/{id}/orders/new":      {account.Dispatcher, account.Officer, account.Supervisor},
	"POST /incidents/{id}/orders/new":     {account.Dispatcher, account.Officer, account.Supervisor},
	"POST /incidents/{id}/violated-order": {account.Dispatcher, account.Officer, account.Supervisor},
	"GET /orders/expiring":                {account.Supervisor, account.Admin},
	"GET /orders/{oid}":                   {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"POST /orders/{oid}/extend":           {account.Dispatcher, account.Officer, account.Supervisor},
	"POST /orders/{oid}/end":              {account.Dispatcher, account.Officer, account.Supervisor},
	"POST /incidents/{id}/referrals":      {account.Dispatcher, account.Officer, account.Supervisor},
	// victims across incidents (victims.go)
	"POST /incidents/{id}/persons":           {account.Dispatcher, account.Officer, account.Supervisor},
	"GET /reports/repeat-victimisation.json": {account.Supervisor, account.Admin},
	"GET /reports/repeat-victimisation.csv":  {account.Supervisor, account.Admin},
	"POST /incidents/{id}/persons/undo":      {account.Supervisor},
	"GET /incidents/{id}/persons/export":     {account.Supervisor},
	"POST /incidents/{id}/safe-contact":      {account.Dispatcher, account.Officer, account.Supervisor},
	"POST /incidents/{id}/call-back":         {account.Dispatcher, account.Officer, account.Supervisor},
	"POST /referrals/{rid}/status":           {account.Dispatcher, account.Officer, account.Supervisor},
	"GET /referrals/open":                    {account.Supervisor, account.Admin},

	"GET /admin/audit":     {account.Admin},
	"GET /admin/audit.csv": {account.Admin},
	"GET /audit":           {account.Supervisor},
	"GET /audit.csv":       {account.Supervisor},

	"GET /my":         {account.Officer},
	"POST /my/status": {account.Officer},

	"GET /my/work":                   {account.Officer},
	"POST /follow-ups/{tid}/close":   {account.Dispatcher, account.Officer, account.Supervisor},
	"POST /checks/{cid}":             {account.Dispatcher, account.Officer, account.Supervisor},
	"GET /work":                      {account.Supervisor},
	"POST /work/{what}/{wid}/assign": {account.Supervisor},
	"GET /dashboard":                 {account.Supervisor, account.Admin},
	"GET /dashboard/repeats":         {account.Supervisor, account.Admin},

	"GET /reports/response-times.json": {account.Supervisor, account.Admin},
	"GET /reports/response-times.csv":  {account.Supervisor, account.Admin},
	"GET /reports/follow-through.json": {account.Supervisor, account.Admin},
	"GET /reports/follow-through.csv":  {account.Supervisor, account.Admin},

	"GET /admin/":                         {account.Admin},
	"GET /account/totp":                   {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"POST /account/totp":                  {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"POST /account/totp/disable":          {account.Dispatcher, account.Officer, account.Supervisor, account.Admin},
	"GET /admin/security":                 {account.Admin},
	"POST /admin/security":                {account.Admin},
	"POST /admin/users/{id}/totp/reset":   {account.Admin},
	"GET /admin/import":                   {account.Admin},
	"POST /admin/import":                  {account.Admin},
	"GET /admin/danger-settings":          {account.Admin},
	"POST /admin/danger-settings":         {account.Admin},
	"GET /admin/schedules":                {account.Admin},
	"POST /admin/schedules":               {account.Admin},
	"GET /admin/users":                    {account.Admin},
	"GET /admin/users/new":                {account.Admin},
	"POST /admin/users":                   {account.Admin},
	"GET /admin/users/{id}":               {account.Admin},
	"POST /admin/users/{id}":              {account.Admin},
	"POST /admin/users/{id}/password":     {account.Admin},
	"POST /admin/users/{id}/disable":      {account.Admin},
	"POST /admin/users/{id}/enable":       {account.Admin},
	"POST /admin/users/{id}/end-sessions": {account.Admin},
	"POST /admin/users/{id}/unlock":       {account.Admin},
	"GET /admin/{kind}":                   {account.Admin},
	"GET /admin/{kind}/new":               {account.Admin},
	"POST /admin/{kind}":                  {account.Admin},
	"GET /admin/{kind}/{id}":              {account.Admin},
	"POST /admin/{kind}/{id}":             {account.Admin},
	"POST /admin/{kind}/{id}/delete":      {account.Admin},
}

// registeredRoutes walks the router and returns "METHOD PATTERN" keys. A
// pattern registered for every method (r.Handle) is reported once, as "*".
func registeredRoutes(t *testing.T, s *Server) []string {
	t.Helper()
	methods := map[string][]string{}
	err := chi.Walk(s.router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		methods[route] = append(methods[route], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for route, ms := range methods {
		// chi registers r.Handle under each of its nine or more methods.
		if len(ms) >= 9 && slices.Contains(ms, http.MethodTrace) && slices.Contains(ms, http.MethodConnect) {
			keys = append(keys, "* "+route)
			continue
		}
		for _, m := range ms {
			keys = append(keys, m+" "+route)
		}
	}
	sort.Strings(keys)
	return keys
}

func TestRouteTableIsComplete(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	registered := registeredRoutes(t, ts.srv)
	for _, k := range registered {
		if _, ok := routeAccess[k]; !ok {
			t.Errorf("route %q is registered but has no expected access in routeAccess: add it to routes_test.go", k)
		}
	}
	for k := range routeAccess {
		if !slices.Contains(registered, k) {
			t.Errorf("routeAccess expects route %q, which is not registered", k)
		}
	}
}

// routeFixture is one record of every kind, for the {kind} and {id}
// parameters of the route table.
type routeFixture struct {
	kindIDs  map[string]int64 // reference-data slug -> id of a record
	target   int64            // a user the admin routes act upon
	incident int64            // an incident in district LEN
	order    int64            // a protection order on the incident
	referral int64            // a referral of the incident
}

func newRouteFixture(t *testing.T, ts *testServer) routeFixture {
	t.Helper()
	ctx := context.Background()
	db := ts.DB
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f := routeFixture{kindIDs: map[string]int64{}}
	d := createDistrict(t, db, "LEN", "Leninsky")
	f.kindIDs["districts"] = d.ID
	s := refdata.Settlement{DistrictID: d.ID, Name: "Kara-Balta", Active: true}
	must(db.SaveSettlement(ctx, &s, audit.Actor{}))
	f.kindIDs["settlements"] = s.ID
	u := refdata.Unit{CallSign: "LEN-1", DistrictID: d.ID, Active: true}
	must(db.SaveUnit(ctx, &u, audit.Actor{}))
	f.kindIDs["units"] = u.ID
	it := refdata.IncidentType{Code: "DV", Name: "Domestic violence", IsDV: true, Active: true}
	must(db.SaveIncidentType(ctx, &it, audit.Actor{}))
	f.kindIDs["incident-types"] = it.ID
	p := refdata.Priority{Level: 1, Label: "Immediate danger", Targets: map[refdata.Interval]*int{}}
	must(db.SavePriority(ctx, &p, true, 0, audit.Actor{}))
	f.kindIDs["priorities"] = 1
	dp := refdata.Disposition{Code: "ARREST", Name: "Arrest", Active: true}
	must(db.SaveDisposition(ctx, &dp, audit.Actor{}))
	f.kindIDs["dispositions"] = dp.ID
	po := refdata.Partner{Name: "Safe House", Kind: refdata.Shelter, Active: true}
	must(db.SavePartner(ctx, &po, audit.Actor{}))
	f.kindIDs["partners"] = po.ID
	// The danger screen's questions come with the schema.
	f.kindIDs["danger-questions"] = queryInt(t, db, `SELECT min(id) FROM danger_questions`)
	f.target = createUser(t, db, "target", account.Dispatcher, "").ID
	key, received, err := db.CreateDraft(ctx, f.target)
	must(err)
	f.incident, _, _, err = db.CreateIncident(ctx, incident.New{Key: key, ReceivedAt: received, TypeID: it.ID, Priority: 1,
		DistrictID: &d.ID, Address: "ul. Chui 12"}, time.UTC, audit.Actor{UserID: f.target})
	must(err)
	// The officer's unit (not the one the release route acts on) is on the
	// incident, so the officer may record its stages.
	u2 := refdata.Unit{CallSign: "LEN-2", DistrictID: d.ID, Active: true}
	must(db.SaveUnit(ctx, &u2, audit.Actor{}))
	must(db.AssignUnit(ctx, f.incident, u2.ID, audit.Actor{UserID: f.target}))
	now := time.Now()
	f.order, _, err = db.IssueOrder(ctx, incident.NewOrder{Kind: incident.TemporaryOrder, IncidentID: &f.incident,
		DistrictID: &d.ID, ProtectedName: "Aigul Asanova", RestrainedName: "Bakyt Asanov", StartsAt: now,
		EndsAt: now.Add(72 * time.Hour)}, time.UTC, audit.Actor{UserID: f.target})
	must(err)
	refs, err := db.CreateReferrals(ctx, postgres.NewReferrals{IncidentID: f.incident, PartnerIDs: []int64{po.ID},
		Consent: incident.ConsentPending}, audit.Actor{UserID: f.target})
	must(err)
	f.referral = refs[0]
	return f
}

// paths expands a route pattern into the concrete paths to request.
func (f routeFixture) paths(t *testing.T, s *Server, pattern string) []string {
	t.Helper()
	switch {
	case pattern == "/static/*":
		return []string{static.Path("app.css")}
	case strings.Contains(pattern, "{kind}"):
		var out []string
		for _, k := range s.refKinds() {
			id, ok := f.kindIDs[k.slug]
			if !ok {
				t.Fatalf("the route test has no %s record: add one to newRouteFixture", k.slug)
			}
			p := strings.Replace(pattern, "{kind}", k.slug, 1)
			out = append(out, strings.Replace(p, "{id}", strconv.FormatInt(id, 10), 1))
		}
		return out
	case strings.HasPrefix(pattern, "/admin/users/{id}"):
		return []string{strings.Replace(pattern, "{id}", strconv.FormatInt(f.target, 10), 1)}
	case strings.HasPrefix(pattern, "/incidents/{id}"):
		p := strings.Replace(pattern, "{id}", strconv.FormatInt(f.incident, 10), 1)
		return []string{strings.Replace(p, "{unit}", strconv.FormatInt(f.kindIDs["units"], 10), 1)}
	case strings.HasPrefix(pattern, "/orders/{oid}"):
		return []string{strings.Replace(pattern, "{oid}", strconv.FormatInt(f.order, 10), 1)}
	case strings.HasPrefix(pattern, "/follow-ups/{tid}"):
		return []string{strings.Replace(pattern, "{tid}", strconv.FormatInt(f.task(t, s), 10), 1)}
	case strings.HasPrefix(pattern, "/checks/{cid}"):
		return []string{strings.Replace(pattern, "{cid}", strconv.FormatInt(f.check(t, s), 10), 1)}
	case strings.HasPrefix(pattern, "/work/{what}/{wid}"):
		p := strings.Replace(pattern, "{what}", "followup", 1)
		return []string{strings.Replace(p, "{wid}", strconv.FormatInt(f.task(t, s), 10), 1)}
	case strings.HasPrefix(pattern, "/referrals/{rid}"):
		return []string{strings.Replace(pattern, "{rid}", strconv.FormatInt(f.referral, 10), 1)}
	case strings.Contains(pattern, "{"):
		t.Fatalf("the route test cannot fill in the parameters of %s", pattern)
	}
	return []string{pattern}
}

// task is the follow-up task of the fixture's (DV) incident, in the
// district's pool; check, the first check of its order (the unit on the
// incident's, LEN-2: the officer's).
func (f routeFixture) task(t *testing.T, s *Server) int64 {
	return queryInt(t, s.db, `SELECT min(id) FROM follow_up_tasks WHERE incident_id = $1`, f.incident)
}

func (f routeFixture) check(t *testing.T, s *Server) int64 {
	return queryInt(t, s.db, `SELECT min(id) FROM order_checks WHERE order_id = $1`, f.order)
}

// requestOrder runs reading routes first, then changes, deletions and
// finally logout, so that one client's earlier requests do not remove what
// later ones need.
func requestOrder(key string) int {
	switch {
	case key == "POST /logout":
		return 4
	case strings.HasSuffix(key, "/delete"):
		return 3
	case strings.HasPrefix(key, "POST "):
		return 2
	}
	return 1
}

func TestRouteAccess(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	fx := newRouteFixture(t, ts)
	keys := registeredRoutes(t, ts.srv)
	sort.SliceStable(keys, func(i, j int) bool { return requestOrder(keys[i]) < requestOrder(keys[j]) })

	users := map[account.Role]string{
		account.Dispatcher: "disp", account.Officer: "off", account.Supervisor: "sup", account.Admin: "root",
	}
	for role, name := range users {
		district := ""
		if role == account.Officer || role == account.Supervisor {
			district = "LEN"
		}
		u := createUser(t, ts.DB, name, role, district)
		if role == account.Officer {
			if err := ts.DB.UpdateUser(context.Background(), u.ID, account.Draft{Username: name, Role: string(role),
				District: district, Unit: "LEN-2"}, audit.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	targetEpoch := func() int64 {
		return queryInt(t, ts.DB, `SELECT session_epoch + CASE WHEN disabled_at IS NULL THEN 0 ELSE 1000 END FROM users WHERE id = $1`, fx.target)
	}
	epoch := targetEpoch()

	// check requests every route as the client c (nil role: anonymous).
	check := func(t *testing.T, c *client, role account.Role) {
		for _, key := range keys {
			allowed, ok := routeAccess[key]
			if !ok {
				continue // reported by TestRouteTableIsComplete
			}
			method, pattern, _ := strings.Cut(key, " ")
			if method == "*" {
				method = http.MethodGet
			}
			isPublic := len(allowed) == 0
			for _, path := range fx.paths(t, ts.srv, pattern) {
				what := fmt.Sprintf("%s %s as %s", method, path, cmpOr(string(role), "anonymous"))
				var resp *http.Response
				if method == http.MethodGet {
					resp = c.get(path)
				} else if method == http.MethodHead {
					resp = c.do(c.newRequest(http.MethodHead, path, nil))
				} else {
					resp = c.postForm(path, url.Values{})
				}
				loc := location(resp)
				toLogin := resp.StatusCode == http.StatusSeeOther && (loc == "/login" || strings.HasPrefix(loc, "/login?"))
				switch {
				case isPublic:
					if resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 || (toLogin && path != "/logout") {
						t.Errorf("%s (public): status %d Location %q", what, resp.StatusCode, loc)
					}
				case role == "":
					want := "/login"
					if method == http.MethodGet && path != "/" {
						want += "?next=" + url.QueryEscape(landingPage(path))
					}
					if resp.StatusCode != http.StatusSeeOther || loc != want {
						t.Errorf("%s: status %d Location %q, want 303 to %q", what, resp.StatusCode, loc, want)
					}
				case slices.Contains(allowed, role):
					if toLogin || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound ||
						resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode >= 500 {
						t.Errorf("%s (allowed): status %d Location %q; page says %q", what, resp.StatusCode, loc, errorText(doc(t, resp)))
					}
				default:
					if resp.StatusCode != http.StatusForbidden {
						t.Errorf("%s (not allowed): status %d Location %q, want 403", what, resp.StatusCode, loc)
						continue
					}
					d := doc(t, resp)
					if got := strings.TrimSpace(d.Find(".error-page h1").Text()); got != "Access denied" {
						t.Errorf("%s: 403 page heading %q, want %q", what, got, "Access denied")
					}
				}
			}
		}
	}

	t.Run("anonymous", func(t *testing.T) { check(t, ts.client(t), "") })
	for _, role := range []account.Role{account.Dispatcher, account.Officer, account.Supervisor} {
		t.Run(string(role), func(t *testing.T) {
			c := ts.client(t)
			c.mustLogin(users[role], testPassword)
			check(t, c, role)
		})
	}
	// Nobody but an administrator changed anything.
	for slug, id := range fx.kindIDs {
		key := "id"
		table := strings.ReplaceAll(slug, "-", "_")
		switch slug {
		case "priorities":
			key = "level"
		case "partners":
			table = "partner_orgs"
		}
		if n := queryInt(t, ts.DB, `SELECT count(*) FROM `+table+` WHERE `+key+` = $1`, id); n != 1 {
			t.Errorf("%s %d was deleted by a non-administrator", slug, id)
		}
	}
	if got := targetEpoch(); got != epoch {
		t.Errorf("the target user's sessions or status were changed by a non-administrator")
	}
	t.Run(string(account.Admin), func(t *testing.T) {
		c := ts.client(t)
		c.mustLogin(users[account.Admin], testPassword)
		check(t, c, account.Admin)
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestUnknownPaths(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c, _ := adminClient(t, ts)
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/no-such-page", http.StatusNotFound},
		{http.MethodGet, "/admin/no-such-kind", http.StatusNotFound},
		{http.MethodGet, "/admin/districts/999999", http.StatusNotFound},
		{http.MethodGet, "/admin/districts/abc", http.StatusNotFound},
		{http.MethodGet, "/admin/users/999999", http.StatusNotFound},
		{http.MethodPost, "/admin/districts/999999/delete", http.StatusNotFound},
		{http.MethodPost, "/board", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		var resp *http.Response
		if tt.method == http.MethodGet {
			resp = c.get(tt.path)
		} else {
			resp = c.postForm(tt.path, nil)
		}
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s %s: Content-Type %q, want an HTML error page", tt.method, tt.path, ct)
		}
	}
}

// TestIncidentDistrictScope: officers and supervisors see and act on the
// incidents of their own district only; the refusal is audited.
func TestIncidentDistrictScope(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	fx := newRouteFixture(t, ts) // the incident is in LEN
	createDistrict(t, ts.DB, "OSH", "Osh city")
	tests := []struct {
		username string
		role     account.Role
		district string
		allowed  bool
	}{
		{"off-len", account.Officer, "LEN", true},
		{"off-osh", account.Officer, "OSH", false},
		{"sup-len", account.Supervisor, "LEN", true},
		{"sup-osh", account.Supervisor, "OSH", false},
		{"disp", account.Dispatcher, "", true},
	}
	link := "/incidents/" + itoa(fx.incident)
	for _, tt := range tests {
		createUser(t, ts.DB, tt.username, tt.role, tt.district)
		t.Run(tt.username, func(t *testing.T) {
			t.Parallel()
			c := ts.client(t)
			c.mustLogin(tt.username, testPassword)
			resp := c.get(link)
			if tt.allowed {
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: status %d, want 200", link, resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s: status %d, want 403", link, resp.StatusCode)
			}
			if body := body(t, resp); strings.Contains(body, "ul. Chui 12") {
				t.Errorf("GET %s: the refusal shows the incident's address", link)
			}
			if tt.role == account.Supervisor {
				resp := c.postForm(link+"/units", url.Values{"unit_id": {itoa(fx.kindIDs["units"])}})
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s/units: status %d, want 403", link, resp.StatusCode)
				}
				if n := queryInt(t, ts.DB, `SELECT count(*) FROM incident_units WHERE incident_id = $1 AND unit_id = $2`,
					fx.incident, fx.kindIDs["units"]); n != 0 {
					t.Errorf("a supervisor of another district assigned a unit")
				}
			}
		})
	}
}
