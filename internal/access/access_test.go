package access

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/account"
)

func id(n int64) *int64 { return &n }

// TestRulesMatchTheDocumentedTable: the table in the package documentation
// is the table Rules, row for row, so that a reader can check the rule
// against the issue by reading the documentation.
func TestRulesMatchTheDocumentedTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "access.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	in := false
	for _, line := range strings.Split(f.Doc.Text(), "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "----"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			doc = append(doc, strings.Join(strings.Fields(line), " "))
		}
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "-"
	}
	var code []string
	for _, r := range Rules {
		code = append(code, strings.Join([]string{string(r.Role), string(r.Relation), yes(r.Grant.View), yes(r.Grant.Change),
			yes(r.Grant.Address)}, " "))
	}
	if strings.Join(doc, "\n") != strings.Join(code, "\n") {
		t.Errorf("the documented table and Rules differ:\ndocumented:\n%s\nRules:\n%s", strings.Join(doc, "\n"), strings.Join(code, "\n"))
	}
}

// TestFor restates the rule case by case: role × where the record
// is (the user's district, another, none) × the user's tie to it.
func TestFor(t *testing.T) {
	const me, other = 10, 20
	own, elsewhere := id(1), id(2)
	unit := id(7)
	user := func(role account.Role, district *int64) *account.User {
		u := &account.User{ID: me, Role: role, DistrictID: district}
		if role == account.Officer {
			u.UnitID = unit
		}
		return u
	}
	var (
		plain    = func(d *int64) Record { return Record{District: d, CreatedBy: id(other)} }
		mine     = func(d *int64) Record { return Record{District: d, CreatedBy: id(me)} }
		unitOn   = func(d *int64) Record { return Record{District: d, Units: []Unit{{ID: 99}, {ID: *unit, Active: true}}} }
		unitWas  = func(d *int64) Record { return Record{District: d, Units: []Unit{{ID: *unit}}} }
		imported = func(d *int64) Record { return Record{District: d} }
	)
	V, C, A := Grant{View: true}, Grant{View: true, Change: true}, Grant{View: true, Change: true, Address: true}
	none := Grant{}
	tests := []struct {
		name string
		u    *account.User
		rec  Record
		want Grant
	}{
		{"admin, other district", user(account.Admin, nil), plain(elsewhere), V},
		{"admin, no district", user(account.Admin, nil), imported(nil), V},

		{"area dispatcher, own district", user(account.Dispatcher, own), plain(own), C},
		{"area dispatcher, other district", user(account.Dispatcher, own), plain(elsewhere), none},
		{"area dispatcher, no district (item 4)", user(account.Dispatcher, own), plain(nil), none},
		{"area dispatcher, imported with no district (item 4)", user(account.Dispatcher, own), imported(nil), none},
		{"area dispatcher, logged it for another district", user(account.Dispatcher, own), mine(elsewhere), C},
		{"area dispatcher, logged it with no district", user(account.Dispatcher, own), mine(nil), C},
		{"national dispatcher, other district", user(account.Dispatcher, nil), plain(elsewhere), C},
		{"national dispatcher, no district", user(account.Dispatcher, nil), imported(nil), C},

		{"area supervisor, own district", user(account.Supervisor, own), plain(own), A},
		{"area supervisor, other district", user(account.Supervisor, own), plain(elsewhere), none},
		{"area supervisor, no district (item 4)", user(account.Supervisor, own), imported(nil), none},
		{"area supervisor, logged it", user(account.Supervisor, own), mine(nil), A},
		{"national supervisor, no district", user(account.Supervisor, nil), imported(nil), A},

		{"officer, own district, unit not on (item 3)", user(account.Officer, own), plain(own), V},
		{"officer, own district, unit is on", user(account.Officer, own), unitOn(own), A},
		{"officer, own district, unit was on (item 3)", user(account.Officer, own), unitWas(own), V},
		{"officer, other district, unit is on", user(account.Officer, own), unitOn(elsewhere), A},
		{"officer, other district, unit was on", user(account.Officer, own), unitWas(elsewhere), V},
		{"officer, other district", user(account.Officer, own), plain(elsewhere), none},
		{"officer, no district (item 4)", user(account.Officer, own), imported(nil), none},
		{"officer, no district, unit is on", user(account.Officer, own), unitOn(nil), A},
		{"officer without a unit, own district", &account.User{ID: me, Role: account.Officer, DistrictID: own}, unitOn(own), V},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := For(tt.u, tt.rec); got != tt.want {
				t.Errorf("For = %+v, want %+v (relations %v)", got, tt.want, Relations(tt.u, tt.rec))
			}
			if got := CanView(tt.u, tt.rec); got != tt.want.View {
				t.Errorf("CanView = %v", got)
			}
			if got := CanChange(tt.u, tt.rec); got != tt.want.Change {
				t.Errorf("CanChange = %v", got)
			}
			if got := AddressShown(tt.u, tt.rec, true); got != tt.want.Address {
				t.Errorf("AddressShown(confidential) = %v", got)
			}
			if !AddressShown(tt.u, tt.rec, false) {
				t.Errorf("AddressShown(not confidential) = false")
			}
		})
	}
	if For(nil, plain(own)) != none {
		t.Errorf("no user is granted something")
	}
}

// TestAreaOf: the lists' filter agrees with CanView for users without a
// unit, on records of the user's district, another, none, and logged by
// them.
func TestAreaOf(t *testing.T) {
	const me = 10
	own, elsewhere := id(1), id(2)
	users := []*account.User{
		{ID: me, Role: account.Admin},
		{ID: me, Role: account.Dispatcher},
		{ID: me, Role: account.Dispatcher, DistrictID: own},
		{ID: me, Role: account.Supervisor},
		{ID: me, Role: account.Supervisor, DistrictID: own},
	}
	for _, u := range users {
		a := AreaOf(u)
		for _, d := range []*int64{own, elsewhere, nil} {
			for _, by := range []*int64{nil, id(me), id(me + 1)} {
				rec := Record{District: d, CreatedBy: by}
				inArea := a.All || (a.District != nil && d != nil && *d == *a.District) || (a.LoggedBy != 0 && by != nil && *by == a.LoggedBy)
				if inArea != CanView(u, rec) {
					t.Errorf("%s district %v: area %+v says %v for district %v by %v, CanView %v", u.Role, u.DistrictID, a, inArea, d, by, !inArea)
				}
			}
		}
	}
}

func TestSeesEverything(t *testing.T) {
	for _, tt := range []struct {
		u    *account.User
		want bool
	}{
		{&account.User{Role: account.Admin}, true},
		{&account.User{Role: account.Dispatcher}, true},
		{&account.User{Role: account.Supervisor}, true},
		{&account.User{Role: account.Dispatcher, DistrictID: id(1)}, false},
		{&account.User{Role: account.Supervisor, DistrictID: id(1)}, false},
		{&account.User{Role: account.Officer}, false},
		{&account.User{Role: account.Officer, DistrictID: id(1)}, false},
		{nil, false},
	} {
		if got := SeesEverything(tt.u); got != tt.want {
			t.Errorf("SeesEverything(%+v) = %v, want %v", tt.u, got, tt.want)
		}
	}
}

// TestTaskOfUnit: an officer may record a task assigned to their unit
// elsewhere in the country, but not one of another unit, and the task
// gives no right on its incident.
func TestTaskOfUnit(t *testing.T) {
	officer := &account.User{ID: 1, Role: account.Officer, DistrictID: id(1), UnitID: id(7)}
	task := Record{District: id(2), Task: true, TaskUnit: id(7)}
	if !CanChange(officer, task) || !CanView(officer, task) {
		t.Error("officer may not record their unit's task")
	}
	if CanChange(officer, Record{District: id(2), Task: true, TaskUnit: id(8)}) || CanView(officer, Record{District: id(2), Task: true, TaskUnit: id(8)}) {
		t.Error("officer may record another unit's task")
	}
	if !CanChange(officer, Record{District: id(1), Task: true}) {
		t.Error("officer may not take their district's pool task")
	}
	if CanChange(officer, Record{District: id(2), Task: true}) {
		t.Error("officer may take another district's pool task")
	}
	if CanChange(officer, Record{District: id(2)}) {
		t.Error("the task's incident is changeable")
	}
	disp := &account.User{ID: 2, Role: account.Dispatcher, DistrictID: id(3), UnitID: id(7)}
	if CanChange(disp, task) {
		t.Error("task of unit granted to a dispatcher")
	}
}
