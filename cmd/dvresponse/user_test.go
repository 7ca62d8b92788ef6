package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

const annPassword = "a-long-enough-password"

func TestUserCommands(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	c := newCLI(t, dbURL)
	out := c.mustRun(annPassword+"\n", "user", "add", "--username", "ann", "--role", "dispatcher", "--name", "Ann Dispatcher")
	if want := "created user ann (dispatcher)\n"; out != want {
		t.Errorf("user add printed %q, want %q", out, want)
	}

	web := startWeb(t, dbURL)
	ann := newBrowser(t, web)
	wantRedirect(t, ann.login("ann", annPassword), "/board")
	if resp := ann.get("/board"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /board as ann: status %d, want 200", resp.StatusCode)
	}

	// reset-password ends her session; only the new password works.
	const newPassword = "ann-has-a-new-password"
	out = c.mustRun(newPassword+"\r\n", "user", "reset-password", "ann")
	if want := "password of ann set; their sessions have ended and any lockout is lifted\n"; out != want {
		t.Errorf("user reset-password printed %q, want %q", out, want)
	}
	wantRedirect(t, ann.get("/board"), "/login?next=%2Fboard")
	if resp := ann.login("ann", annPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with the old password: status %d, want 401", resp.StatusCode)
	}
	wantRedirect(t, ann.login("ann", newPassword), "/board")
	if resp := ann.get("/board"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /board after logging in again: status %d, want 200", resp.StatusCode)
	}

	// disable ends her session at its next request and bars new ones.
	out = c.mustRun("", "user", "disable", "ann")
	if want := "disabled user ann; their sessions have ended\n"; out != want {
		t.Errorf("user disable printed %q, want %q", out, want)
	}
	wantRedirect(t, ann.get("/board"), "/login?next=%2Fboard")
	if resp := ann.login("ann", newPassword); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login after disable: status %d, want 403", resp.StatusCode)
	}
}

// TestUserUnlock: an account locked by failed logins (whoever typed
// them) is opened again by "user unlock" or by "user reset-password".
func TestUserUnlock(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	c := newCLI(t, dbURL)
	c.mustRun(annPassword+"\n", "user", "add", "--username", "ann", "--role", "dispatcher")
	web := startWeb(t, dbURL)
	ann := newBrowser(t, web)
	lock := func() {
		t.Helper()
		for range account.MaxFailedLogins {
			ann.login("ann", "somebody-guessing-here")
		}
		if resp := ann.login("ann", annPassword); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("right password on the locked account: status %d, want 401", resp.StatusCode)
		}
	}

	lock()
	if out := c.mustRun("", "user", "unlock", "ann"); out != "unlocked user ann\n" {
		t.Errorf("user unlock printed %q", out)
	}
	wantRedirect(t, ann.login("ann", annPassword), "/board")

	lock()
	const newPassword = "ann-has-a-new-password"
	c.mustRun(newPassword+"\n", "user", "reset-password", "ann")
	wantRedirect(t, ann.login("ann", newPassword), "/board")

	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var unlocks, resetsLifting int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE action = 'user.unlock'),
		count(*) FILTER (WHERE action = 'user.password_reset' AND detail ? 'locked_until')
		FROM audit_events WHERE username = 'cli'`).Scan(&unlocks, &resetsLifting); err != nil {
		t.Fatal(err)
	}
	if unlocks != 1 || resetsLifting != 1 {
		t.Errorf("audit: %d unlocks and %d resets lifting a lock by the CLI, want 1 and 1", unlocks, resetsLifting)
	}
}

func TestUserCommandErrors(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	c := newCLI(t, dbURL)
	c.mustRun(annPassword+"\n", "user", "add", "--username", "ann", "--role", "dispatcher")

	tests := []struct {
		name  string
		stdin string
		args  []string
		usage bool   // a usage error (exit status 2)
		msg   string // the error contains this
	}{
		{"bad role", annPassword + "\n", []string{"user", "add", "--username", "bob", "--role", "pilot"}, false,
			"role: Choose a role."},
		{"short password", "short\n", []string{"user", "add", "--username", "bob", "--role", "dispatcher"}, false,
			"password: Use at least 12 characters"},
		{"no password", "", []string{"user", "add", "--username", "bob", "--role", "dispatcher"}, false,
			"no password on standard input"},
		{"officer without district", annPassword + "\n", []string{"user", "add", "--username", "bob", "--role", "officer"}, false,
			"district: Officers belong to a district."},
		{"unknown district", annPassword + "\n", []string{"user", "add", "--username", "bob", "--role", "officer", "--district", "NOPE"}, false,
			"district: No district has this code."},
		{"bad username", annPassword + "\n", []string{"user", "add", "--username", "Bob Smith!", "--role", "dispatcher"}, false,
			"username: Use 2 to 40 lower-case letters"},
		{"duplicate username", annPassword + "\n", []string{"user", "add", "--username", "ANN", "--role", "admin"}, false,
			"This username is taken."},
		{"no username", annPassword + "\n", []string{"user", "add", "--role", "dispatcher"}, true, "usage:"},
		{"unknown flag", annPassword + "\n", []string{"user", "add", "--username", "bob", "--role", "dispatcher", "--colour", "red"}, true, "usage:"},
		{"disable unknown user", "", []string{"user", "disable", "nobody"}, false, "No such user."},
		{"reset unknown user", annPassword + "\n", []string{"user", "reset-password", "nobody"}, false, "No such user."},
		{"reset short password", "short\n", []string{"user", "reset-password", "ann"}, false, "Use at least 12 characters"},
		{"unlock unknown user", "", []string{"user", "unlock", "nobody"}, false, "No such user."},
		{"unlock without a name", "", []string{"user", "unlock"}, true, "usage:"},
		{"no subcommand", "", []string{"user"}, true, "usage:"},
		{"unknown subcommand", "", []string{"user", "promote", "ann"}, true, "usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.run(context.Background(), tt.stdin, tt.args...)
			if err == nil {
				t.Fatalf("dvresponse %s succeeded, want an error", strings.Join(tt.args, " "))
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want it to contain %q", err, tt.msg)
			}
			if _, isUsage := err.(usageError); isUsage != tt.usage {
				t.Errorf("usage error = %v, want %v (%v)", isUsage, tt.usage, err)
			}
		})
	}

	// None of that created a user or changed ann.
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var users, changed int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*), count(*) FILTER (WHERE session_epoch <> 1 OR disabled_at IS NOT NULL) FROM users`).Scan(&users, &changed); err != nil {
		t.Fatal(err)
	}
	if users != 1 || changed != 0 {
		t.Errorf("after the failed commands: %d users, %d changed; want only ann, unchanged", users, changed)
	}
}
