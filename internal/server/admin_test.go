package server

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/refdata"
)

// badInput is a form that must be refused: the values override a valid
// form, and msg must appear next to field.
type badInput struct {
	name       string
	change     url.Values
	status     int
	field, msg string
}

// refCase describes one kind of reference data for TestAdminRefData.
// "{LEN}" in a value stands for the id of district LEN, which every test
// database has.
type refCase struct {
	slug, table, key string // key: the primary key column ("id" or "level")
	singular         string // as flash messages name it
	// row selects one record as a string, to compare after each change.
	row                   string
	create, edit          url.Values
	wantCreated, wantEdit string
	listed                []string // texts the list shows after create
	bad                   []badInput
}

func long(n int) string { return strings.Repeat("x", n) }

func upper(n int) string { return strings.Repeat("A", n) }

var refCases = []refCase{
	{
		slug: "districts", table: "districts", key: "id", singular: "District",
		row:         `SELECT concat_ws('|', code, name, active) FROM districts WHERE id = $1`,
		create:      url.Values{"code": {"NOR"}, "name": {"Northern district"}, "active": {"on"}},
		wantCreated: "NOR|Northern district|t",
		edit:        url.Values{"code": {"NRT"}, "name": {"North"}, "active": {""}},
		wantEdit:    "NRT|North|f",
		listed:      []string{"NOR", "Northern district"},
		bad: []badInput{
			{"empty name", url.Values{"name": {""}}, 422, "name", "Enter a name."},
			{"empty code", url.Values{"code": {""}}, 422, "code", "Enter a code."},
			{"code too long", url.Values{"code": {upper(17)}}, 422, "code", "Use at most 16 characters (now 17)."},
			{"name too long", url.Values{"name": {long(101)}}, 422, "name", "Use at most 100 characters (now 101)."},
			{"code with a slash", url.Values{"code": {"N/A"}}, 422, "code", "Use capital letters, digits, dashes and underscores only."},
			{"duplicate code", url.Values{"code": {"nor"}}, 409, "code", "A district with this code already exists."},
		},
	},
	{
		slug: "settlements", table: "settlements", key: "id", singular: "Settlement",
		row:         `SELECT concat_ws('|', district_id, name, is_idp, active) FROM settlements WHERE id = $1`,
		create:      url.Values{"district_id": {"{LEN}"}, "name": {"Kara-Suu"}, "is_idp": {"on"}, "active": {"on"}},
		wantCreated: "{LEN}|Kara-Suu|t|t",
		edit:        url.Values{"district_id": {"{LEN}"}, "name": {"Kara Suu"}, "is_idp": {""}, "active": {"on"}},
		wantEdit:    "{LEN}|Kara Suu|f|t",
		listed:      []string{"Kara-Suu", "LEN"},
		bad: []badInput{
			{"empty name", url.Values{"name": {""}}, 422, "name", "Enter a name."},
			{"name too long", url.Values{"name": {long(101)}}, 422, "name", "Use at most 100 characters (now 101)."},
			{"no district", url.Values{"district_id": {""}}, 422, "district_id", "Choose a district."},
			{"duplicate name", url.Values{}, 409, "name", "This district already has a settlement with this name."},
		},
	},
	{
		slug: "units", table: "units", key: "id", singular: "Unit",
		row:         `SELECT concat_ws('|', call_sign, district_id, status, active) FROM units WHERE id = $1`,
		create:      url.Values{"call_sign": {"LEN-12"}, "district_id": {"{LEN}"}, "status": {"available"}, "active": {"on"}},
		wantCreated: "LEN-12|{LEN}|available|t",
		edit:        url.Values{"call_sign": {"LEN-13"}, "district_id": {"{LEN}"}, "status": {"off_duty"}, "active": {""}},
		wantEdit:    "LEN-13|{LEN}|off_duty|f",
		listed:      []string{"LEN-12", "Available"},
		bad: []badInput{
			{"empty call sign", url.Values{"call_sign": {""}}, 422, "call_sign", "Enter a call sign."},
			{"call sign too long", url.Values{"call_sign": {upper(21)}}, 422, "call_sign", "Use at most 20 characters (now 21)."},
			{"no district", url.Values{"district_id": {""}}, 422, "district_id", "Choose a district."},
			{"duplicate call sign", url.Values{"call_sign": {"len-12"}}, 409, "call_sign", "A unit with this call sign already exists."},
		},
	},
	{
		slug: "incident-types", table: "incident_types", key: "id", singular: "Incident type",
		row: `SELECT concat_ws('|', code, name, is_dv, active, names) FROM incident_types WHERE id = $1`,
		create: url.Values{"code": {"DV-PHYS"}, "name": {"Physical violence"}, "is_dv": {"on"}, "active": {"on"},
			"name_ru": {"Физическое насилие"}, "name_ky": {"Физикалык зомбулук"}, "name_ka": {"ფიზიკური ძალადობა"}},
		wantCreated: `DV-PHYS|Physical violence|t|t|{"ka": "ფიზიკური ძალადობა", "ky": "Физикалык зомбулук", "ru": "Физическое насилие"}`,
		edit: url.Values{"code": {"DV-PSY"}, "name": {"Psychological violence"}, "is_dv": {"on"}, "active": {""},
			"name_ru": {" Психологическое  насилие "}, "name_ky": {""}, "name_ka": {"ფსიქოლოგიური ძალადობა"}},
		wantEdit: `DV-PSY|Psychological violence|t|f|{"ka": "ფსიქოლოგიური ძალადობა", "ru": "Психологическое насилие"}`,
		listed:   []string{"DV-PHYS", "Physical violence"},
		bad: []badInput{
			{"empty name", url.Values{"name": {""}}, 422, "name", "Enter a name."},
			{"empty code", url.Values{"code": {""}}, 422, "code", "Enter a code."},
			{"code too long", url.Values{"code": {upper(33)}}, 422, "code", "Use at most 32 characters (now 33)."},
			{"name too long", url.Values{"name": {long(101)}}, 422, "name", "Use at most 100 characters (now 101)."},
			{"Russian name too long", url.Values{"name_ru": {long(101)}}, 422, "name_ru", "Use at most 100 characters (now 101)."},
			{"duplicate code", url.Values{}, 409, "code", "An incident type with this code already exists."},
		},
	},
	{
		slug: "priorities", table: "priorities", key: "level", singular: "Priority",
		row: `SELECT concat_ws('|', level, label, coalesce(target_call_processing_s::text, '-'), coalesce(target_turnout_s::text, '-'),
			coalesce(target_travel_s::text, '-'), coalesce(target_response_s::text, '-'), coalesce(target_on_scene_s::text, '-'),
			coalesce(target_total_s::text, '-'), names) FROM priorities WHERE level = $1`,
		create: url.Values{"level": {"3"}, "label": {"Urgent"}, "target_call_processing": {"60"}, "target_turnout": {""},
			"target_travel": {""}, "target_response": {"900"}, "target_on_scene": {""}, "target_total": {""},
			"label_ru": {"Срочный"}, "label_ky": {""}, "label_ka": {"სასწრაფო"}},
		wantCreated: `3|Urgent|60|-|-|900|-|-|{"ka": "სასწრაფო", "ru": "Срочный"}`,
		edit: url.Values{"level": {"3"}, "label": {"Urgent response"}, "target_call_processing": {""}, "target_turnout": {"120"},
			"target_travel": {""}, "target_response": {"1200"}, "target_on_scene": {""}, "target_total": {"7200"},
			"label_ru": {""}, "label_ky": {"Шашылыш"}, "label_ka": {""}},
		wantEdit: `3|Urgent response|-|120|-|1200|-|7200|{"ky": "Шашылыш"}`,
		listed:   []string{"P3", "Urgent", "900 s"},
		bad: []badInput{
			{"empty label", url.Values{"label": {""}}, 422, "label", "Enter a label."},
			{"label too long", url.Values{"label": {long(61)}}, 422, "label", "Use at most 60 characters (now 61)."},
			{"Georgian label too long", url.Values{"label_ka": {long(61)}}, 422, "label_ka", "Use at most 60 characters (now 61)."},
			{"target not a number", url.Values{"target_response": {"ten minutes"}}, 422, "target_response", "Enter a whole number of seconds, or leave empty."},
			{"target zero", url.Values{"target_total": {"0"}}, 422, "target_total", "Use a whole number of seconds from 1 to 86400, or leave empty."},
			{"level not a number", url.Values{"level": {"x"}}, 422, "level", "Enter a level from 1 to 999."},
			{"level out of range", url.Values{"level": {"1000"}}, 422, "level", "Use a level from 1 (most urgent) to 999."},
			{"duplicate level", url.Values{}, 409, "level", "This priority level already exists."},
		},
	},
	{
		slug: "dispositions", table: "dispositions", key: "id", singular: "Disposition code",
		row: `SELECT concat_ws('|', code, name, active, names) FROM dispositions WHERE id = $1`,
		create: url.Values{"code": {"ARREST"}, "name": {"Arrest made"}, "active": {"on"},
			"name_ru": {"Задержание"}, "name_ky": {"Кармоо"}, "name_ka": {"დაკავება"}},
		wantCreated: `ARREST|Arrest made|t|{"ka": "დაკავება", "ky": "Кармоо", "ru": "Задержание"}`,
		edit:        url.Values{"code": {"ARREST-2"}, "name": {"Arrested"}, "active": {"on"}},
		wantEdit:    `ARREST-2|Arrested|t|{}`,
		listed:      []string{"ARREST", "Arrest made"},
		bad: []badInput{
			{"empty name", url.Values{"name": {""}}, 422, "name", "Enter a name."},
			{"code too long", url.Values{"code": {upper(33)}}, 422, "code", "Use at most 32 characters (now 33)."},
			{"name too long", url.Values{"name": {long(101)}}, 422, "name", "Use at most 100 characters (now 101)."},
			{"duplicate code", url.Values{"code": {"arrest"}}, 409, "code", "A disposition with this code already exists."},
		},
	},
	{
		slug: "partners", table: "partner_orgs", key: "id", singular: "Partner organisation",
		row:         `SELECT concat_ws('|', name, kind, coalesce(district_id::text, '-'), contact, active) FROM partner_orgs WHERE id = $1`,
		create:      url.Values{"name": {"Safe House Osh"}, "kind": {"shelter"}, "district_id": {"{LEN}"}, "contact": {"+996 555 000 111, 24/7"}, "active": {"on"}},
		wantCreated: "Safe House Osh|shelter|{LEN}|+996 555 000 111, 24/7|t",
		edit:        url.Values{"name": {"Safe House"}, "kind": {"crisis_centre"}, "district_id": {""}, "contact": {""}, "active": {"on"}},
		wantEdit:    "Safe House|crisis_centre|-||t",
		listed:      []string{"Safe House Osh", "Shelter", "LEN", "+996 555 000 111, 24/7"},
		bad: []badInput{
			{"empty name", url.Values{"name": {""}}, 422, "name", "Enter a name."},
			{"name too long", url.Values{"name": {long(151)}}, 422, "name", "Use at most 150 characters (now 151)."},
			{"no kind", url.Values{"kind": {""}}, 422, "kind", "Choose a kind of organisation."},
			{"contact too long", url.Values{"contact": {long(501)}}, 422, "contact", "Use at most 500 characters (now 501)."},
			{"duplicate name", url.Values{}, 409, "name", "An organisation with this name already exists."},
		},
	},
	{
		slug: "danger-questions", table: "danger_questions", key: "id", singular: "Danger-screen question",
		row: `SELECT concat_ws('|', position, text, critical, active, texts) FROM danger_questions WHERE id = $1`,
		create: url.Values{"text": {"Has the other person harmed a pet?"}, "position": {"20"}, "critical": {"on"}, "active": {"on"},
			"text_ru": {"Причинял ли он (она) вред домашним животным?"}, "text_ky": {""}, "text_ka": {""}},
		wantCreated: `20|Has the other person harmed a pet?|t|t|{"ru": "Причинял ли он (она) вред домашним животным?"}`,
		edit:        url.Values{"text": {"Has the other person harmed or threatened a pet?"}, "position": {"21"}, "critical": {""}, "active": {""}},
		wantEdit:    "21|Has the other person harmed or threatened a pet?|f|f|{}",
		listed:      []string{"Has the other person harmed a pet?", "20", "critical"},
		bad: []badInput{
			{"empty text", url.Values{"text": {""}}, 422, "text", "Enter the question."},
			{"text too long", url.Values{"text": {long(301)}}, 422, "text", "Use at most 300 characters (now 301)."},
			{"Kyrgyz text too long", url.Values{"text_ky": {long(301)}}, 422, "text_ky", "Use at most 300 characters (now 301)."},
			{"position not a number", url.Values{"position": {"first"}}, 422, "position", "Enter a position from 1 to 999."},
			{"position too high", url.Values{"position": {"1000"}}, 422, "position", "Enter a position from 1 to 999."},
		},
	},
}

// fill replaces {LEN} in every value.
func fill(v url.Values, lenID string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		for _, s := range vs {
			out.Add(k, strings.ReplaceAll(s, "{LEN}", lenID))
		}
	}
	return out
}

// with returns v with the values of change put in.
func with(v, change url.Values) url.Values {
	out := maps.Clone(v)
	maps.Copy(out, change)
	return out
}

// wantKept fails unless the form shows every typed value of v again
// (passwords, which are never shown again, excepted).
func wantKept(t *testing.T, what string, d *goquery.Document, v url.Values, except ...string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if slices.Contains(except, k) {
			continue
		}
		if got := fieldValue(d, k); got != v.Get(k) {
			t.Errorf("%s: field %s shows %q, want the typed %q", what, k, got, v.Get(k))
		}
	}
}

func TestAdminRefData(t *testing.T) {
	t.Parallel()
	// Every kind the server offers has a case.
	ts0 := newTestServer(t)
	for _, k := range ts0.srv.refKinds() {
		if !slices.ContainsFunc(refCases, func(rc refCase) bool { return rc.slug == k.slug }) {
			t.Errorf("kind %s has no case in refCases", k.slug)
		}
	}

	for _, rc := range refCases {
		t.Run(rc.slug, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			lenID := itoa(createDistrict(t, ts.DB, "LEN", "Leninsky").ID)
			c, _ := adminClient(t, ts)
			base := "/admin/" + rc.slug
			count := func() int64 { return queryInt(t, ts.DB, `SELECT count(*) FROM `+rc.table) }
			row := func(id int64) string {
				var s string
				if err := ts.DB.Pool.QueryRow(context.Background(), rc.row, id).Scan(&s); err != nil {
					return "(" + err.Error() + ")"
				}
				return s
			}
			create := fill(rc.create, lenID)

			// The new-record form is there.
			if resp := c.get(base + "/new"); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s/new: status %d", base, resp.StatusCode)
			}

			// Create.
			before := count()
			wantRedirect(t, c.postForm(base, create), base)
			if got := count(); got != before+1 {
				t.Fatalf("after create: %d records, want %d", got, before+1)
			}
			id := queryInt(t, ts.DB, `SELECT max(`+rc.key+`) FROM `+rc.table)
			if got, want := row(id), strings.ReplaceAll(rc.wantCreated, "{LEN}", lenID); got != want {
				t.Errorf("created record = %q, want %q", got, want)
			}
			d := doc(t, c.get(base))
			if got, want := flashText(d), rc.singular+" created."; got != want {
				t.Errorf("list flash %q, want %q", got, want)
			}
			list := d.Find("table.data").Text()
			for _, s := range rc.listed {
				if !strings.Contains(list, s) {
					t.Errorf("list does not show %q:\n%s", s, strings.Join(strings.Fields(list), " "))
				}
			}
			link := base + "/" + itoa(id)
			if d.Find(`table.data a[href="`+link+`"]`).Length() != 1 {
				t.Errorf("list has no link to %s", link)
			}

			// The edit form shows the stored values.
			resp := c.get(link)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d", link, resp.StatusCode)
			}
			wantKept(t, "edit form", doc(t, resp), create)

			// Bad input is refused, explained next to its field, and
			// everything typed is shown again.
			for _, b := range rc.bad {
				v := with(create, b.change)
				before := count()
				resp := c.postForm(base, v)
				if resp.StatusCode != b.status {
					t.Errorf("%s: status %d, want %d", b.name, resp.StatusCode, b.status)
				}
				d := doc(t, resp)
				if got := fieldError(d, b.field); got != b.msg {
					t.Errorf("%s: message at %s = %q, want %q (page says %q)", b.name, b.field, got, b.msg, errorText(d))
				}
				for _, f := range slices.Sorted(maps.Keys(v)) {
					if f != b.field {
						if msg := fieldError(d, f); msg != "" {
							t.Errorf("%s: unexpected message at %s: %q", b.name, f, msg)
						}
					}
				}
				wantKept(t, b.name, d, v)
				if got := count(); got != before {
					t.Errorf("%s: %d records after a refused create, want %d", b.name, got, before)
				}
			}

			// A refused change leaves the record alone.
			b := rc.bad[0]
			resp = c.postForm(link, with(fill(rc.edit, lenID), b.change))
			if resp.StatusCode != b.status {
				t.Errorf("update, %s: status %d, want %d", b.name, resp.StatusCode, b.status)
			}
			d = doc(t, resp)
			if got := fieldError(d, b.field); got != b.msg {
				t.Errorf("update, %s: message at %s = %q, want %q", b.name, b.field, got, b.msg)
			}
			wantKept(t, "update, "+b.name, d, with(fill(rc.edit, lenID), b.change))
			if got, want := row(id), strings.ReplaceAll(rc.wantCreated, "{LEN}", lenID); got != want {
				t.Errorf("after a refused update the record = %q, want it unchanged %q", got, want)
			}

			// Edit.
			wantRedirect(t, c.postForm(link, fill(rc.edit, lenID)), base)
			if got, want := row(id), strings.ReplaceAll(rc.wantEdit, "{LEN}", lenID); got != want {
				t.Errorf("edited record = %q, want %q", got, want)
			}
			if got, want := flashText(doc(t, c.get(base))), rc.singular+" saved."; got != want {
				t.Errorf("flash after edit %q, want %q", got, want)
			}

			// Delete.
			wantRedirect(t, c.postForm(link+"/delete", nil), base)
			if n := queryInt(t, ts.DB, `SELECT count(*) FROM `+rc.table+` WHERE `+rc.key+` = $1`, id); n != 0 {
				t.Errorf("after delete the record is still there")
			}
			if got, want := flashText(doc(t, c.get(base))), rc.singular+" deleted."; got != want {
				t.Errorf("flash after delete %q, want %q", got, want)
			}
			if resp := c.get(link); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s after delete: status %d, want 404", link, resp.StatusCode)
			}
		})
	}
}

func TestDeleteDistrictInUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		use  func(t *testing.T, ts *testServer, districtID int64)
	}{
		{"settlement", func(t *testing.T, ts *testServer, id int64) {
			s := refdata.Settlement{DistrictID: id, Name: "Kara-Suu", Active: true}
			if err := ts.DB.SaveSettlement(ctx, &s, audit.Actor{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"unit", func(t *testing.T, ts *testServer, id int64) {
			u := refdata.Unit{CallSign: "LEN-1", DistrictID: id, Active: true}
			if err := ts.DB.SaveUnit(ctx, &u, audit.Actor{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"partner", func(t *testing.T, ts *testServer, id int64) {
			p := refdata.Partner{Name: "Safe House", Kind: refdata.Shelter, DistrictID: &id, Active: true}
			if err := ts.DB.SavePartner(ctx, &p, audit.Actor{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"user", func(t *testing.T, ts *testServer, id int64) {
			createUser(t, ts.DB, "officer", account.Officer, "LEN")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			d := createDistrict(t, ts.DB, "LEN", "Leninsky")
			tt.use(t, ts, d.ID)
			c, _ := adminClient(t, ts)
			link := "/admin/districts/" + itoa(d.ID)
			wantRedirect(t, c.postForm(link+"/delete", nil), link)
			resp := c.get(link)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d", link, resp.StatusCode)
			}
			if got, want := flashText(doc(t, resp)), "This record is still in use by other records; deactivate it instead."; got != want {
				t.Errorf("message %q, want %q", got, want)
			}
			if n := queryInt(t, ts.DB, `SELECT count(*) FROM districts WHERE id = $1`, d.ID); n != 1 {
				t.Errorf("the district in use was deleted")
			}
		})
	}
}

// TestAdminUsers walks one account through its life: creation, refused
// forms, edit, password reset, disable, enable and ending its sessions.
func TestAdminUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := newTestServer(t)
	lenDistrict := createDistrict(t, ts.DB, "LEN", "Leninsky")
	createDistrict(t, ts.DB, "OSH", "Osh city")
	if err := ts.DB.SaveUnit(ctx, &refdata.Unit{CallSign: "LEN-1", DistrictID: lenDistrict.ID, Active: true}, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	admin, root := adminClient(t, ts)
	const pw1, pw2 = "bobs-first-password", "bobs-second-password"
	userCount := func() int64 { return queryInt(t, ts.DB, `SELECT count(*) FROM users`) }
	userRow := func(username string) string {
		var s string
		err := ts.DB.Pool.QueryRow(ctx, `SELECT concat_ws('|', u.username, u.full_name, u.role, coalesce(d.code, '-'),
			coalesce(un.call_sign, '-'), u.disabled_at IS NOT NULL) FROM users u LEFT JOIN districts d ON d.id = u.district_id
			LEFT JOIN units un ON un.id = u.unit_id WHERE u.username = $1`, username).Scan(&s)
		if err != nil {
			return "(" + err.Error() + ")"
		}
		return s
	}

	// Create.
	if resp := admin.get("/admin/users/new"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/users/new: status %d", resp.StatusCode)
	}
	form := url.Values{"username": {"bob"}, "full_name": {"Bob Officer"}, "role": {"officer"}, "district": {"LEN"},
		"unit": {"LEN-1"}, "password": {pw1}}
	wantRedirect(t, admin.postForm("/admin/users", form), "/admin/users")
	if got, want := userRow("bob"), "bob|Bob Officer|officer|LEN|LEN-1|f"; got != want {
		t.Errorf("created user = %q, want %q", got, want)
	}
	bob, err := ts.DB.UserByUsername(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	link := "/admin/users/" + itoa(bob.ID)
	d := doc(t, admin.get("/admin/users"))
	if got, want := flashText(d), "User bob created."; got != want {
		t.Errorf("flash %q, want %q", got, want)
	}
	if d.Find(`table.data a[href="`+link+`"]`).Text() != "bob" {
		t.Errorf("user list has no link to bob")
	}
	if !strings.Contains(d.Find("table.data").Text(), "Bob Officer") {
		t.Errorf("user list does not show Bob's name")
	}
	d = doc(t, admin.get(link))
	wantKept(t, "edit form", d, url.Values{"full_name": {"Bob Officer"}, "role": {"officer"}, "district": {"LEN"}, "unit": {"LEN-1"}})
	if got := fieldValue(d, "password"); got != "" {
		t.Errorf("reset form shows a password %q", got)
	}

	bobc := ts.client(t)
	wantRedirect(t, bobc.login("bob", pw1), "/my")
	if got := doc(t, bobc.get("/my")).Find("main p.muted").Text(); got != "Unit LEN-1" {
		t.Errorf("Bob's page says %q, want his unit", got)
	}

	t.Run("refused create", func(t *testing.T) {
		tests := []badInput{
			{"empty username", url.Values{"username": {""}}, 422, "username", "Enter a username."},
			{"username too long", url.Values{"username": {strings.Repeat("a", 41)}}, 422, "username",
				"Use 2 to 40 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit."},
			{"username with spaces", url.Values{"username": {"bob smith"}}, 422, "username",
				"Use 2 to 40 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit."},
			{"duplicate username", url.Values{"username": {"BOB"}}, 409, "username", "This username is taken."},
			{"short password", url.Values{"password": {"short"}}, 422, "password", "Use at least 12 characters; a short sentence is easy to remember."},
			{"no role", url.Values{"role": {""}}, 422, "role", "Choose a role."},
			{"officer without district", url.Values{"district": {""}}, 422, "district", "Officers belong to a district."},
			{"full name too long", url.Values{"full_name": {long(101)}}, 422, "full_name", "Use at most 100 characters."},
		}
		base := with(form, url.Values{"username": {"carol"}})
		for _, b := range tests {
			v := with(base, b.change)
			before := userCount()
			resp := admin.postForm("/admin/users", v)
			if resp.StatusCode != b.status {
				t.Errorf("%s: status %d, want %d", b.name, resp.StatusCode, b.status)
			}
			d := doc(t, resp)
			if got := fieldError(d, b.field); got != b.msg {
				t.Errorf("%s: message at %s = %q, want %q (page says %q)", b.name, b.field, got, b.msg, errorText(d))
			}
			wantKept(t, b.name, d, v, "password")
			if got := fieldValue(d, "password"); got != "" {
				t.Errorf("%s: the password is shown again: %q", b.name, got)
			}
			if got := userCount(); got != before {
				t.Errorf("%s: %d users after a refused create, want %d", b.name, got, before)
			}
		}
	})

	t.Run("edit", func(t *testing.T) {
		// A refused edit keeps what was typed and changes nothing.
		bad := url.Values{"full_name": {"Bob Supervisor"}, "role": {""}, "district": {"OSH"}, "unit": {""}}
		resp := admin.postForm(link, bad)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("edit without role: status %d, want 422", resp.StatusCode)
		}
		d := doc(t, resp)
		if got, want := fieldError(d, "role"), "Choose a role."; got != want {
			t.Errorf("edit without role: message %q, want %q", got, want)
		}
		wantKept(t, "edit without role", d, bad)
		if got, want := userRow("bob"), "bob|Bob Officer|officer|LEN|LEN-1|f"; got != want {
			t.Errorf("after a refused edit the user = %q, want %q", got, want)
		}

		// A change of role and district ends the user's sessions.
		good := with(bad, url.Values{"role": {"supervisor"}})
		wantRedirect(t, admin.postForm(link, good), "/admin/users")
		if got, want := userRow("bob"), "bob|Bob Supervisor|supervisor|OSH|-|f"; got != want {
			t.Errorf("edited user = %q, want %q", got, want)
		}
		wantLoginRedirect(t, bobc.get("/my"))
		wantRedirect(t, bobc.login("bob", pw1), "/dashboard")
	})

	t.Run("reset password", func(t *testing.T) {
		resp := admin.postForm(link+"/password", url.Values{"password": {"short"}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("short password: status %d, want 422", resp.StatusCode)
		}
		if got, want := fieldError(doc(t, resp), "password"), "Use at least 12 characters; a short sentence is easy to remember."; got != want {
			t.Errorf("short password: message %q, want %q", got, want)
		}
		if resp := bobc.get("/dashboard"); resp.StatusCode != http.StatusOK {
			t.Errorf("Bob's session after a refused reset: status %d, want 200", resp.StatusCode)
		}

		wantRedirect(t, admin.postForm(link+"/password", url.Values{"password": {pw2}}), link)
		if got, want := flashText(doc(t, admin.get(link))), "Password of bob set; their sessions have ended."; got != want {
			t.Errorf("flash %q, want %q", got, want)
		}
		wantLoginRedirect(t, bobc.get("/dashboard"))
		if resp := ts.client(t).login("bob", pw1); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("login with the old password: status %d, want 401", resp.StatusCode)
		}
		wantRedirect(t, bobc.login("bob", pw2), "/dashboard")
	})

	t.Run("disable and enable", func(t *testing.T) {
		wantRedirect(t, admin.postForm(link+"/disable", nil), link)
		if got, want := userRow("bob"), "bob|Bob Supervisor|supervisor|OSH|-|t"; got != want {
			t.Errorf("disabled user = %q, want %q", got, want)
		}
		wantLoginRedirect(t, bobc.get("/dashboard"))
		if resp := bobc.login("bob", pw2); resp.StatusCode != http.StatusForbidden {
			t.Errorf("login while disabled: status %d, want 403", resp.StatusCode)
		}
		d := doc(t, admin.get("/admin/users"))
		if got := d.Find(`a[href="` + link + `"]`).Parent().Find(".badge").Text(); got != "disabled" {
			t.Errorf("user list badge for bob %q, want disabled", got)
		}
		if doc(t, admin.get(link)).Find(`form[action="`+link+`/enable"]`).Length() != 1 {
			t.Errorf("the page of a disabled user offers no Enable button")
		}

		wantRedirect(t, admin.postForm(link+"/enable", nil), link)
		if got, want := userRow("bob"), "bob|Bob Supervisor|supervisor|OSH|-|f"; got != want {
			t.Errorf("enabled user = %q, want %q", got, want)
		}
		wantRedirect(t, bobc.login("bob", pw2), "/dashboard")
	})

	t.Run("end sessions", func(t *testing.T) {
		if resp := bobc.get("/dashboard"); resp.StatusCode != http.StatusOK {
			t.Fatalf("Bob's session: status %d, want 200", resp.StatusCode)
		}
		wantRedirect(t, admin.postForm(link+"/end-sessions", nil), link)
		if got, want := flashText(doc(t, admin.get(link))), "User bob logged out everywhere."; got != want {
			t.Errorf("flash %q, want %q", got, want)
		}
		wantLoginRedirect(t, bobc.get("/dashboard"))
		if resp := admin.get("/admin/"); resp.StatusCode != http.StatusOK {
			t.Errorf("the admin's own session after ending Bob's: status %d, want 200", resp.StatusCode)
		}
	})

	t.Run("cannot disable yourself", func(t *testing.T) {
		self := "/admin/users/" + itoa(root.ID)
		wantRedirect(t, admin.postForm(self+"/disable", nil), self)
		resp := admin.get(self)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", self, resp.StatusCode)
		}
		if got, want := flashText(doc(t, resp)), "You cannot disable your own account."; got != want {
			t.Errorf("flash %q, want %q", got, want)
		}
		if got, want := userRow("root"), "root||admin|-|-|f"; got != want {
			t.Errorf("admin after trying to disable themself = %q, want %q", got, want)
		}
	})
}

// TestAdminUserUnknownReference: a district or unit that does not exist
// (deleted since the form was loaded, or a hand-made request) is bad
// input, explained next to its field, not a server error.
func TestAdminUserUnknownReference(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createDistrict(t, ts.DB, "LEN", "Leninsky")
	admin, _ := adminClient(t, ts)
	tests := []struct {
		name       string
		change     url.Values
		field, msg string
	}{
		{"district", url.Values{"district": {"NOPE"}}, "district", "No district has this code."},
		{"unit", url.Values{"unit": {"NOPE-1"}}, "unit", "No unit has this call sign."},
	}
	for _, tt := range tests {
		form := with(url.Values{"username": {"bob"}, "role": {"officer"}, "district": {"LEN"}, "unit": {""},
			"password": {"bobs-first-password"}}, tt.change)
		resp := admin.postForm("/admin/users", form)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("unknown %s: status %d, want 422", tt.name, resp.StatusCode)
		}
		d := doc(t, resp)
		if got := fieldError(d, tt.field); got != tt.msg {
			t.Errorf("unknown %s: message at %s = %q, want %q (page says %q)", tt.name, tt.field, got, tt.msg, errorText(d))
		}
		if got := fieldValue(d, "username"); got != "bob" {
			t.Errorf("unknown %s: username field %q, want the typed bob", tt.name, got)
		}
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM users WHERE username = 'bob'`); n != 0 {
		t.Errorf("a user with an unknown district or unit was created")
	}
}
