package main

import (
	"context"
	"flag"

	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
)

// cmdSeed loads demo data. It is idempotent: running it again adds nothing
// that is already there and prints the demo accounts again.
func cmdSeed(ctx context.Context, cfg config.Config, args []string, e env) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	demo := fs.Bool("demo", false, "load demo reference data, accounts and incidents")
	if err := fs.Parse(args); err != nil || !*demo {
		return usageError("usage: dvresponse seed --demo")
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer db.Close()
	return seed.Demo(ctx, db, cfg.Location, e.stdout)
}
