package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

const userUsage = `usage:
  dvresponse user add --username NAME --role ROLE [--name "Full name"] [--district CODE] [--unit CALLSIGN]  (password on stdin)
  dvresponse user disable NAME
  dvresponse user reset-password NAME  (password on stdin; also lifts a lockout)
  dvresponse user unlock NAME`

// cliActor is who the audit trail names for the user commands: whoever
// runs them has the database's credentials, not an account of the
// application.
var cliActor = audit.Actor{Username: "cli"}

// cmdUser manages accounts from the command line; passwords are read from
// standard input, one line, so they stay out of shell history and ps.
func cmdUser(ctx context.Context, cfg config.Config, args []string, e env) error {
	if len(args) == 0 {
		return usageError(userUsage)
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "add":
		fs := flag.NewFlagSet("user add", flag.ContinueOnError)
		fs.SetOutput(e.stderr)
		var d account.Draft
		fs.StringVar(&d.Username, "username", "", "login name")
		fs.StringVar(&d.Role, "role", "", "dispatcher, officer, supervisor or admin")
		fs.StringVar(&d.FullName, "name", "", "full name")
		fs.StringVar(&d.District, "district", "", "district code")
		fs.StringVar(&d.Unit, "unit", "", "unit call sign (officers)")
		if err := fs.Parse(args[1:]); err != nil {
			return usageError(userUsage)
		}
		if d.Username == "" || d.Role == "" {
			return usageError(userUsage)
		}
		if d.Password, err = readPassword(e); err != nil {
			return err
		}
		u, err := db.CreateUser(ctx, d, cliActor)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "created user %s (%s)\n", u.Username, u.Role)
		return nil
	case "disable", "reset-password", "unlock":
		if len(args) != 2 {
			return usageError(userUsage)
		}
		u, err := db.UserByUsername(ctx, args[1])
		if err != nil {
			return describe(err)
		}
		switch args[0] {
		case "unlock":
			// Lifts the lock of too many failed logins and clears the
			// count; sessions go on.
			if err := db.Unlock(ctx, u.ID, cliActor); err != nil {
				return describe(err)
			}
			fmt.Fprintf(e.stdout, "unlocked user %s\n", u.Username)
			return nil
		case "disable":
			if err := db.SetDisabled(ctx, u.ID, true, cliActor); err != nil {
				return describe(err)
			}
			fmt.Fprintf(e.stdout, "disabled user %s; their sessions have ended\n", u.Username)
			return nil
		}
		pw, err := readPassword(e)
		if err != nil {
			return err
		}
		if err := db.SetPassword(ctx, u.ID, pw, cliActor); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "password of %s set; their sessions have ended and any lockout is lifted\n", u.Username)
		return nil
	}
	return usageError(userUsage)
}

func readPassword(e env) (string, error) {
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password on standard input (give it as one line)")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// describe turns a store error into a message for the terminal, with the
// per-field messages spelled out.
func describe(err error) error {
	fields := apperr.FieldsOf(err)
	if len(fields) == 0 {
		return errors.New(text(apperr.MessageOf(err)))
	}
	var b strings.Builder
	b.WriteString(text(apperr.MessageOf(err)))
	for k, v := range fields {
		fmt.Fprintf(&b, "\n  %s: %s", k, text(v))
	}
	return errors.New(b.String())
}
