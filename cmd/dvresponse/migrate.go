package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// cmdMigrate applies (up), rolls back (down [N]; all when N is omitted)
// or reports (version) the embedded migrations.
func cmdMigrate(ctx context.Context, cfg config.Config, args []string, e env) error {
	if len(args) == 0 {
		return usageError("usage: dvresponse migrate up | down [N] | version")
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	m, err := postgres.NewMigrator(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer m.Close()
	switch args[0] {
	case "up":
		if err := m.Up(); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		if err := afterMigrate(ctx, cfg, e.stdout); err != nil {
			return err
		}
		if err := afterMigrateUp(ctx, cfg, e); err != nil {
			return err
		}
	case "down":
		n := 0
		if len(args) > 1 {
			if n, err = strconv.Atoi(args[1]); err != nil || n <= 0 {
				return usageError("usage: dvresponse migrate down [N], N a positive number of steps")
			}
		}
		if err := m.Down(n); err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
	case "version":
	default:
		return usageError("usage: dvresponse migrate up | down [N] | version")
	}
	v, dirty, err := m.Version()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema version %d (latest %d)", v, postgres.LatestVersion())
	if dirty {
		fmt.Fprint(e.stdout, ", DIRTY: the last migration failed half-way; fix it by hand, then force the version")
	}
	fmt.Fprintln(e.stdout)
	return nil
}

func migrateUp(cfg config.Config) error {
	m, err := postgres.NewMigrator(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up()
}

// afterMigrate, after a migration, builds again any index a bulk load that
// died left dropped, recomputes the history keys when the matching rules
// changed, and, when DVR_TOTP_KEY is set, seals the second-factor secrets
// stored in clear.
func afterMigrate(ctx context.Context, cfg config.Config, out io.Writer) error {
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RestoreIndexes(ctx); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	if err := recomputeKeys(ctx, db, cfg, out); err != nil {
		return err
	}
	if cfg.TOTPKey != nil {
		db.SetTOTPKey(cfg.TOTPKey)
		if _, err := db.SealTOTPSecrets(ctx); err != nil {
			return fmt.Errorf("seal second-factor secrets: %w", err)
		}
	}
	return nil
}

// afterMigrateUp, run by the schema's owner: with DVR_AUDIT_KEY, starts the
// keyed part of the audit trail (see PrepareAuditChain); with
// DVR_APP_ROLE, creates that role when missing, sets its password
// (DVR_APP_PASSWORD) and grants it what serve needs, with only SELECT and
// INSERT on audit_events.
func afterMigrateUp(ctx context.Context, cfg config.Config, e env) error {
	if cfg.AuditKey == nil && cfg.AppRole == "" {
		return nil
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.AuditKey != nil {
		if _, err := db.PrepareAuditChain(ctx, cliActor); err != nil {
			return fmt.Errorf("audit trail: %w", err)
		}
	}
	if cfg.AppRole != "" {
		created, err := db.GrantAppRole(ctx, cfg.AppRole, cfg.AppPassword)
		if err != nil {
			return err
		}
		what := "granted"
		if created {
			what = "created and granted"
		}
		fmt.Fprintf(e.stdout, "application role %s %s: read and write the data; only SELECT and INSERT on audit_events\n",
			cfg.AppRole, what)
	}
	return nil
}

// recomputeKeys keys every incident again under the deployment's
// history-matching rules when they changed (postgres.RecomputeKeys), and
// says how long it took.
func recomputeKeys(ctx context.Context, db *postgres.DB, cfg config.Config, out io.Writer) error {
	db.SetMatchRules(match.Rules{Region: cfg.Country})
	start := time.Now()
	n, err := db.RecomputeKeys(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(out, "history keys recomputed for %d incidents in %s\n", n, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
