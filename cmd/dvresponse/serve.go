package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/dvresponse/dvresponse/internal/facts"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
	"github.com/dvresponse/dvresponse/internal/server"
)

// cmdServe runs the web server until ctx ends, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish (up to 20 s) and
// closes the database pool.
func cmdServe(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", cfg.Addr, "address to listen on, HOST:PORT")
	migrateFirst := fs.Bool("migrate", false, "apply pending migrations before serving")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	if *migrateFirst {
		if err := migrateUp(cfg); err != nil {
			return err
		}
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: cfg.DBMaxConns, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Schema(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if !st.Current() {
		return fmt.Errorf("the database schema is at version %d (dirty=%v) but this binary needs %d: run `dvresponse migrate up` (or `dvresponse serve --migrate`)",
			st.Version, st.Dirty, st.Latest)
	}
	if err := prepareTOTPSecrets(ctx, db, cfg.TOTPKey, log); err != nil {
		return err
	}
	if err := prepareAuditChain(ctx, db, cfg.AuditKey != nil, log); err != nil {
		return err
	}
	if err := warnAuditRole(ctx, db, log); err != nil {
		return err
	}
	if err := warnDemoAccounts(ctx, db, log); err != nil {
		return err
	}
	if err := recomputeKeys(ctx, db, cfg, e.stdout); err != nil {
		return err
	}

	// Report figures come from the reporting replica when there is one.
	// It is not waited for: dispatch starts without it, and reports
	// answer 503 until it is back.
	var readDB *postgres.DB
	if cfg.DatabaseReadURL != "" {
		if readDB, err = postgres.OpenReplica(ctx, cfg.DatabaseReadURL, postgres.Options{MaxConns: readPoolConns}); err != nil {
			return err
		}
		defer readDB.Close()
		logReplica(ctx, readDB, log)
	}

	// One LISTEN connection per process feeds every live board it serves.
	hub := live.NewHub(log)
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHub()
	// Metrics, on their own listener when DVR_METRICS_ADDR is set.
	mx, err := startMetrics(hubCtx, cfg.MetricsAddr, db, hub, log)
	if err != nil {
		return err
	}
	go hub.Run(hubCtx, db.ListenFunc(log))

	go deleteExpiredSessions(hubCtx, db, log)
	logAuditHead(ctx, db, log)
	go logAuditHeads(hubCtx, db, log, auditHeadEvery)

	// The report store answers the report figures (response times, repeat
	// rates, follow-through, the dashboard's breakdowns and actions) from memory
	// once loaded (internal/facts); until then, and with
	// DVR_REPORT_STORE=off, figures come from the database. It loads from
	// and follows the primary: its change log is read in snapshots.
	var store *facts.Store
	if cfg.ReportStore == "memory" {
		store = facts.NewStore(cfg.Location)
		go (&facts.Syncer{Feed: db, Store: store, Logger: log}).Run(hubCtx) //nolint:errcheck // returns when hubCtx ends
		if mx != nil {
			mx.WatchReportStore(store.Status)
		}
	}

	srv := server.NewServer(server.Deps{
		DB: db, Logger: log, Location: cfg.Location, CookieSecure: cfg.CookieSecure,
		IdleTimeout: cfg.IdleTimeout, SessionMax: cfg.SessionMax, TrustedProxies: cfg.TrustedProxies,
		Hub: hub, ReadDB: readDB, Language: cfg.Language, Metrics: mx, Rules: match.Rules{Region: cfg.Country},
		Facts: store,
	})
	defer srv.Close()
	hs := &http.Server{
		Addr:              *addr,
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// The live board's event stream lifts this deadline for itself.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for in-flight requests but not for live-board streams:
	// they are told to end (browsers reconnect, to another process if any).
	hs.RegisterOnShutdown(srv.CloseStreams)
	errc := make(chan error, 1)
	go func() {
		log.Info("serving", "addr", *addr, "time_zone", cfg.Location.String(), "schema", st.Version)
		if cfg.TLSCert != "" {
			errc <- hs.ListenAndServeTLS(cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- hs.ListenAndServe()
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		log.Warn("requests still running after 20 s; closing their connections")
		hs.Close()
	}
	return nil
}

// prepareTOTPSecrets gives db the key (DVR_TOTP_KEY) that seals the
// second-factor secrets and seals those still stored in clear. Without a
// key it warns that they are stored in clear, and refuses to go on when
// some are sealed already: their users could not log in, and nobody would
// know why.
func prepareTOTPSecrets(ctx context.Context, db *postgres.DB, key []byte, log *slog.Logger) error {
	if key == nil {
		n, err := db.SealedTOTPSecrets(ctx)
		if err != nil {
			return fmt.Errorf("count sealed second-factor secrets: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%d users' second-factor (TOTP) secrets are sealed, but DVR_TOTP_KEY is not set: "+
				"set it to the key that sealed them, or those users cannot log in", n)
		}
		log.Warn("second-factor (TOTP) secrets are stored unencrypted in the database: set DVR_TOTP_KEY " +
			"to 32 random bytes in base64 (openssl rand -base64 32) to seal them")
		return nil
	}
	db.SetTOTPKey(key)
	n, err := db.SealTOTPSecrets(ctx)
	if err != nil {
		return fmt.Errorf("seal second-factor secrets: %w", err)
	}
	if n > 0 {
		log.Info("sealed the second-factor secrets stored in clear", "count", n)
	}
	return nil
}

// serveActor is who the audit trail names for what serve itself records.
var serveActor = audit.Actor{Username: "serve"}

// prepareAuditChain warns while the audit chain has no key (DVR_AUDIT_KEY),
// and refuses to start when this process's key cannot extend the trail
// (it is keyed, and the key is missing or another one); with a key, on a
// trail whose last row is not yet under it, it appends a keyed row that
// binds the rows before it.
func prepareAuditChain(ctx context.Context, db *postgres.DB, keyed bool, log *slog.Logger) error {
	if !keyed {
		log.Warn("the audit trail is chained under the PUBLIC development key: anyone who can write audit_events " +
			"can rebuild it undetected; set DVR_AUDIT_KEY to 32 random bytes in base64 (openssl rand -base64 32), " +
			"kept out of the database")
	}
	marked, err := db.PrepareAuditChain(ctx, serveActor)
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	if marked {
		log.Info("the audit trail is keyed with DVR_AUDIT_KEY from now on", "key", db.AuditKeyID())
	}
	return nil
}

// warnAuditRole warns when serve's database role could undo the audit
// trail's protection: a superuser or the owner of audit_events can disable
// its append-only triggers.
func warnAuditRole(ctx context.Context, db *postgres.DB, log *slog.Logger) error {
	r, err := db.AuditRole(ctx)
	if err != nil {
		return fmt.Errorf("read serve's database role: %w", err)
	}
	const fix = "; connect serve as an application role with only SELECT and INSERT on audit_events " +
		"(dvresponse migrate up with DVR_APP_ROLE, see README)"
	switch {
	case r.Superuser:
		log.Warn("serve's database role is a superuser: it can disable the audit trail's append-only triggers"+fix, "role", r.Name)
	case r.OwnsAudit:
		log.Warn("serve's database role owns audit_events: it can disable the audit trail's append-only triggers"+fix, "role", r.Name)
	case r.MayChangeAudit:
		log.Warn("serve's database role holds UPDATE, DELETE or TRUNCATE on audit_events"+fix, "role", r.Name)
	}
	return nil
}

// warnDemoAccounts warns, at every start, while a demo account can log in
// with its public password.
func warnDemoAccounts(ctx context.Context, db *postgres.DB, log *slog.Logger) error {
	names, err := seed.EnabledDemoAccounts(ctx, db)
	if err != nil {
		return fmt.Errorf("check the demo accounts: %w", err)
	}
	if len(names) > 0 {
		log.Warn("demo accounts with public passwords are enabled: anyone can log in as them; disable them "+
			"before real data are entered (dvresponse user disable NAME)", "accounts", strings.Join(names, ","))
	}
	return nil
}

// auditHeadEvery is how often serve logs the audit trail's head.
const auditHeadEvery = time.Hour

// logAuditHead logs the audit trail's head (ID:HASH), for the log shipped
// off the host to witness: `audit verify --expect ID:HASH` later fails if
// the trail no longer reaches it unchanged.
func logAuditHead(ctx context.Context, db *postgres.DB, log *slog.Logger) {
	h, _, err := db.AuditHead(ctx)
	switch {
	case err != nil:
		log.Warn("reading the audit trail's head failed", "err", err)
	case h.ID > 0:
		log.Info("audit trail head (witness it: dvresponse audit verify --expect HEAD)", "head", h.String())
	}
}

// logAuditHeads logs the audit trail's head every interval until ctx ends.
func logAuditHeads(ctx context.Context, db *postgres.DB, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			logAuditHead(ctx, db, log)
		}
	}
}

// readPoolConns is the size of the reporting replica's pool: reports are
// few and each holds one connection while it streams its rows.
const readPoolConns = 5

// logReplica says at start-up how the reporting replica is.
func logReplica(ctx context.Context, db *postgres.DB, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lag, isReplica, err := db.ReplicaLag(ctx)
	switch {
	case err != nil:
		log.Warn("reporting replica (DATABASE_READ_URL) unavailable: reports answer 503 until it is back", "err", err)
	case !isReplica:
		log.Warn("DATABASE_READ_URL names a database that is not a replica in recovery; reports read it anyway")
	case lag == postgres.LagUnknown:
		log.Info("reports read from the reporting replica (DATABASE_READ_URL); its lag is not known yet")
	default:
		log.Info("reports read from the reporting replica (DATABASE_READ_URL)", "lag_s", lag.Seconds())
	}
}

// deleteExpiredSessions reclaims expired session rows, and the failure
// counts of unknown usernames that count for nothing any more, every five
// minutes.
func deleteExpiredSessions(ctx context.Context, db *postgres.DB, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := db.DeleteExpiredSessions(ctx); err != nil {
				log.Warn("deleting expired sessions failed", "err", err)
			}
			if _, err := db.DeleteStaleLoginFailures(ctx); err != nil {
				log.Warn("deleting stale login failures failed", "err", err)
			}
		}
	}
}
