// Package postgres stores dvresponse's data in PostgreSQL with pgx. It owns
// transactions and turns database errors into the apperr vocabulary; no
// other package imports pgx.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/match"
)

// DB is the application's connection pool and the stores built on it.
type DB struct {
	Pool *pgxpool.Pool
	// totpKey seals second-factor secrets (see SetTOTPKey); nil: they
	// are stored in clear.
	totpKey []byte
	// auditKey keys the audit chain (Options.AuditKey); nil: the public
	// development key.
	auditKey *audit.Key
	// obs is the pool's query tracer, through which an Observer (see
	// SetObserver) hears of audit appends; nil for pools not made by Open.
	obs *observeTracer
	// rules are the history-matching rules the bulk writers key
	// incidents by (see SetMatchRules).
	rules match.Rules
	// ref keeps the reference data while Listen hears its changes
	// (refcache.go).
	ref refCache
}

// Options tune the pool; zero values take defaults.
type Options struct {
	MaxConns int32
	// ConnectTimeout bounds each new connection, so that a dead server is
	// noticed quickly instead of hanging requests.
	ConnectTimeout time.Duration
	// AuditKey (DVR_AUDIT_KEY, audit.KeySize bytes) keys the audit chain
	// the pool appends to and verifies; nil: the public development key
	// (see audit.DevelopmentKey).
	AuditKey []byte
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := poolConfig(url, opt)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	db := &DB{obs: &observeTracer{}}
	chainKey := audit.DevelopmentKey()
	if opt.AuditKey != nil {
		if db.auditKey, err = audit.NewKey(opt.AuditKey); err != nil {
			return nil, err
		}
		chainKey = db.auditKey
	}
	// Each connection carries the chain's key, for appendAudit, which
	// sees only the transaction.
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		c.PgConn().CustomData()[chainKeyData] = chainKey
		return nil
	}
	cfg.ConnConfig.Tracer = db.obs
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnConfig.ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	db.Pool = pool
	return db, nil
}

// poolConfig is the pool configuration of url with opt: Open's, and
// OpenReplica's.
func poolConfig(url string, opt Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, redactErr(err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	} else if cfg.MaxConns < 10 {
		cfg.MaxConns = 10
	}
	if opt.ConnectTimeout == 0 {
		opt.ConnectTimeout = 5 * time.Second
	}
	cfg.ConnConfig.ConnectTimeout = opt.ConnectTimeout
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	// All timestamps are stored and compared in UTC; display converts.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.ConnConfig.RuntimeParams["application_name"] = "dvresponse"
	cfg.HealthCheckPeriod = 10 * time.Second
	// A connection idle for over a second is pinged before it is handed
	// out (pgxpool's default), which weeds out the connections a database
	// restart left dead. One that does not answer within PingTimeout (a
	// server gone without closing its sockets) is dropped too, and the
	// request goes on with another, instead of waiting out its deadline.
	cfg.PingTimeout = 2 * time.Second
	return cfg, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return mapErr(db.Pool.Ping(ctx), "")
}

// redactErr drops anything that might echo a password from a URL parse error.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New("invalid connection string")
}
