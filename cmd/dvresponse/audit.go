package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

const auditUsage = "usage: dvresponse audit verify [--expect ID:HASH ...]"

// heads collects the repeated --expect flags.
type heads []audit.Head

func (h *heads) String() string { return fmt.Sprint(*h) }

func (h *heads) Set(s string) error {
	x, err := audit.ParseHead(s)
	if err != nil {
		return err
	}
	*h = append(*h, x)
	return nil
}

// cmdAudit checks the audit trail's hash chain under DVR_AUDIT_KEY, and
// that it still reaches the heads witnessed earlier (--expect), and prints
// its head, to be witnessed in turn.
func cmdAudit(ctx context.Context, cfg config.Config, args []string, e env) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError(auditUsage)
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var expect heads
	fs.Var(&expect, "expect", "a head `ID:HASH` recorded earlier (repeatable): fail unless the trail still reaches it unchanged")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return usageError(auditUsage)
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	defer db.Close()
	c, problem, err := db.CheckAudit(ctx, expect...)
	if err != nil {
		return err
	}
	if problem != nil {
		fmt.Fprintf(e.stdout, "audit trail BROKEN at row %d: %s (%d rows read)\n", problem.ID, problem.Reason, c.Rows)
		return errors.New("audit verification failed")
	}
	fmt.Fprintf(e.stdout, "audit trail intact: %d rows verified\n", c.Rows)
	if h := c.Head(); h.ID == 0 {
		fmt.Fprintln(e.stdout, "head: none (the trail is empty)")
	} else {
		fmt.Fprintf(e.stdout, "head: %s\n", h)
	}
	for _, h := range expect {
		fmt.Fprintf(e.stdout, "witnessed head reached: %s\n", h)
	}
	if c.Legacy > 0 {
		fmt.Fprintf(e.stdout, "%d rows from before the chain was keyed (migration 14: unkeyed SHA-256)\n", c.Legacy)
	}
	if c.Development > 0 {
		fmt.Fprintf(e.stdout, "WARNING: %d rows are chained under the public development key (written without DVR_AUDIT_KEY): "+
			"anyone who can write audit_events can rebuild them\n", c.Development)
	}
	if c.Keyed > 0 {
		fmt.Fprintf(e.stdout, "%d rows keyed with DVR_AUDIT_KEY (key %s)\n", c.Keyed, db.AuditKeyID())
	}
	return nil
}
