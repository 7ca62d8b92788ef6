package main

import (
	"context"
	"flag"

	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
)

const seedUsage = "usage: dvresponse seed --demo | dvresponse seed --incidents N [--years Y]"

// cmdSeed loads demo data, or incidents for load tests. Both are
// idempotent: --demo adds nothing that is already there and prints the
// demo accounts again; --incidents N tops the load-test incidents up to N.
func cmdSeed(ctx context.Context, cfg config.Config, args []string, e env) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	demo := fs.Bool("demo", false, "load demo reference data, accounts and incidents")
	incidents := fs.Int("incidents", 0, "load cleared incidents until N are present, for load tests (COPY)")
	years := fs.Int("years", 5, "with --incidents: spread them over the last Y years")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *demo == (*incidents > 0) || *years <= 0 || *incidents < 0 {
		return usageError(seedUsage)
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 4, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	defer db.Close()
	// Keys stored under other rules are recomputed first; what the seed
	// writes is keyed under the deployment's rules.
	if err := recomputeKeys(ctx, db, cfg, e.stdout); err != nil {
		return err
	}
	if *incidents > 0 {
		return seed.Scale(ctx, db, cfg.Location, seed.ScaleOptions{Incidents: *incidents, Years: *years}, e.stdout)
	}
	return seed.Demo(ctx, db, cfg.Location, e.stdout)
}
