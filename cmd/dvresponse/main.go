// Command dvresponse is the whole application: the web server and the
// administrative subcommands, in one binary.
//
//	dvresponse serve [--addr HOST:PORT] [--migrate]
//	dvresponse migrate up|down [N]|version
//	dvresponse user add|disable|reset-password ...
//	dvresponse seed --demo | --incidents N [--years Y]
//	dvresponse audit verify [--expect ID:HASH]
//	dvresponse import --mapping MAPPING.json FILE.csv
//	dvresponse report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by ...] [--dv-only] [--format json|csv]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/dvresponse/dvresponse/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "dvresponse:", err)
		os.Exit(1)
	}
}

// usageError is a mistake in the command line.
type usageError string

func (u usageError) Error() string { return string(u) }

const usage = `usage: dvresponse <command> [arguments]

commands:
  serve [--addr HOST:PORT] [--migrate]   run the web server (default :8080)
  migrate up | down [N] | version        apply or roll back database migrations
  user add --username NAME --role ROLE [--name "Full name"] [--district CODE] [--unit CALLSIGN]
                                         create a user; the password is read from standard input
  user disable NAME                      disable a user and end their sessions
  user reset-password NAME               set a new password, read from standard input
  seed --demo                            load demo reference data, accounts and incidents (idempotent)
  seed --incidents N [--years Y]         load-test data: top up to N cleared incidents over Y years (default 5)
  audit verify [--expect ID:HASH ...]    check the audit trail's keyed hash chain, and that it still
                                         reaches the heads witnessed earlier; print its head
  import --mapping MAPPING.json FILE.csv
                                         import historic calls from a CSV export (see: dvresponse import --help)
  report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by priority|district|settlement|type|week|shift|all]
         [--dv-only] [--format json|csv] ...
                                         response times as JSON or CSV (see: dvresponse report --help)

configuration comes from environment variables; see README.md.`

// env is the process environment and standard streams, passed explicitly
// so that tests can run commands in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run executes one subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(usage)
	}
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	switch args[0] {
	case "serve":
		return cmdServe(ctx, cfg, logger, args[1:], e)
	case "migrate":
		return cmdMigrate(ctx, cfg, args[1:], e)
	case "user":
		return cmdUser(ctx, cfg, args[1:], e)
	case "seed":
		return cmdSeed(ctx, cfg, args[1:], e)
	case "audit":
		return cmdAudit(ctx, cfg, args[1:], e)
	case "report":
		return cmdReport(ctx, cfg, args[1:], e)
	case "import":
		return cmdImport(ctx, cfg, args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError(fmt.Sprintf("unknown command %q\n\n%s", args[0], usage))
}

// newLogger logs JSON unless stderr is a terminal (or the format is set).
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func needDatabase(cfg config.Config) error {
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (e.g. postgres://user@127.0.0.1:5432/dvresponse?sslmode=disable)")
	}
	return nil
}
