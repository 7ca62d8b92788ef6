package seed

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// seedActor is who the audit trail names for what the seed creates.
var seedActor = audit.Actor{Username: "seed"}

// demoAccounts are the demo logins, one per role in each deployment. The
// passwords are public (they are in this file and printed on every start):
// these accounts are for trying the application out and must be disabled
// wherever real data are kept. The names are made up.
var demoAccounts = []account.Draft{
	{Username: "dispatcher", FullName: "Nurgul Asanova", Role: "dispatcher", Password: "dispatch-demo-2026"},
	{Username: "officer", FullName: "Bakyt Sadykov", Role: "officer", District: "LEN", Unit: "LEN-11", Password: "officer-demo-2026"},
	{Username: "supervisor", FullName: "Elmira Osmonova", Role: "supervisor", District: "LEN", Password: "supervise-demo-2026"},
	{Username: "admin", FullName: "Timur Abdyldaev", Role: "admin", Password: "admin-demo-2026"},
	{Username: "dispatcher.gori", FullName: "Nino Beridze", Role: "dispatcher", District: "GORI", Password: "dispatch-gori-2026"},
	{Username: "officer.gori", FullName: "Giorgi Kapanadze", Role: "officer", District: "GORI", Unit: "GORI-1", Password: "officer-gori-2026"},
	{Username: "supervisor.gori", FullName: "Tamar Gelashvili", Role: "supervisor", District: "GORI", Password: "supervise-gori-2026"},
}

// accountRow is a demo account as printed.
type accountRow struct {
	user     *account.User
	password string // "" when the password was changed
	created  bool
}

// ensureAccounts creates the demo accounts that are missing. An existing
// account is never changed; its password is checked only to say whether
// the printed one still works.
func ensureAccounts(ctx context.Context, db *postgres.DB) ([]accountRow, error) {
	var rows []accountRow
	for _, a := range demoAccounts {
		u, err := db.UserByUsername(ctx, a.Username)
		created := false
		if apperr.CodeOf(err) == apperr.NotFound {
			u, err = db.CreateUser(ctx, a, seedActor)
			created = err == nil
			if apperr.CodeOf(err) == apperr.Conflict { // created meanwhile by another process
				u, err = db.UserByUsername(ctx, a.Username)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", a.Username, err)
		}
		row := accountRow{user: u, created: created}
		if created || account.CheckPassword(u.PasswordHash, a.Password) {
			row.password = a.Password
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// printAccounts draws the demo accounts in a box.
func printAccounts(out io.Writer, rows []accountRow) {
	header := []string{"username", "password", "role", "district", "unit", "name"}
	table := [][]string{header}
	for _, r := range rows {
		pw := r.password
		if pw == "" {
			pw = "(changed; not shown)"
		}
		u := r.user
		name := u.FullName
		if u.Disabled() {
			name += " [disabled]"
		}
		table = append(table, []string{u.Username, pw, string(u.Role), u.DistrictCode, u.UnitCallSign, name})
	}
	title := []string{
		"DEMO ACCOUNTS: for trying dvresponse out only. Their passwords are public.",
		"Disable them before real data are entered:  dvresponse user disable USERNAME",
	}
	widths := make([]int, len(header))
	for _, row := range table {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	inner := len(widths)*3 - 1
	for _, w := range widths {
		inner += w
	}
	for _, t := range title {
		if need := len(t) + 2; need > inner {
			widths[len(widths)-1] += need - inner
			inner = need
		}
	}
	rule := func(sep string) string {
		var b strings.Builder
		b.WriteString("+")
		for i, w := range widths {
			b.WriteString(strings.Repeat("-", w+2))
			if i < len(widths)-1 {
				b.WriteString(sep)
			}
		}
		return b.String() + "+"
	}
	b := &strings.Builder{}
	fmt.Fprintln(b, rule("-"))
	for _, t := range title {
		fmt.Fprintf(b, "| %-*s|\n", inner-1, t)
	}
	fmt.Fprintln(b, rule("+"))
	for i, row := range table {
		b.WriteString("|")
		for j, c := range row {
			b.WriteString(" " + c + strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)) + " |")
		}
		b.WriteString("\n")
		if i == 0 {
			fmt.Fprintln(b, rule("+"))
		}
	}
	fmt.Fprintln(b, rule("+"))
	io.WriteString(out, b.String())
}

// EnabledDemoAccounts returns the usernames of the demo accounts that are
// enabled and still have their public password: anyone can log in as them.
// A renamed-away, disabled or re-passworded demo account is not listed.
func EnabledDemoAccounts(ctx context.Context, db *postgres.DB) ([]string, error) {
	var names []string
	for _, a := range demoAccounts {
		u, err := db.UserByUsername(ctx, a.Username)
		if apperr.CodeOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", a.Username, err)
		}
		if !u.Disabled() && account.CheckPassword(u.PasswordHash, a.Password) {
			names = append(names, a.Username)
		}
	}
	return names, nil
}
