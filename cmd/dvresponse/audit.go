package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// cmdAudit checks the audit trail's hash chain.
func cmdAudit(ctx context.Context, cfg config.Config, args []string, e env) error {
	if len(args) != 1 || args[0] != "verify" {
		return usageError("usage: dvresponse audit verify")
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	n, problem, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if problem != nil {
		fmt.Fprintf(e.stdout, "audit trail BROKEN at row %d: %s (%d rows read)\n", problem.ID, problem.Reason, n)
		return errors.New("audit verification failed")
	}
	fmt.Fprintf(e.stdout, "audit trail intact: %d rows verified\n", n)
	return nil
}
