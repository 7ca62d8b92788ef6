package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenReplica opens a pool on the streaming replica at url
// (DATABASE_READ_URL), which report figures are read from.
//
// Unlike Open it does not wait for the replica to answer: a reporting
// replica that is down must not keep dispatch from starting. It fails
// only on a URL it cannot parse; while the replica is down every query
// on the pool fails Unavailable. Call ReplicaLag to see how it is.
//
// Its sessions are read-only (default_transaction_read_only), so that a
// write sent to the pool by mistake fails even when url names a primary.
func OpenReplica(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := poolConfig(url, opt)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_READ_URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "dvresponse-reports"
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open reporting database pool: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// LagUnknown is the lag ReplicaLag reports for a replica that is behind
// but has replayed no transaction since it started, so that there is no
// commit time to measure from.
const LagUnknown time.Duration = -1

// ReplicaLag says whether the database is a replica in recovery
// (a streaming or log-shipping standby) and, if so, how far behind its
// primary it is: the time since the last transaction it replayed was
// committed on the primary, or 0 while it is caught up.
//
// Caught up means that it is streaming from the primary and has replayed
// all the WAL it has received (pg_last_wal_receive_lsn() =
// pg_last_wal_replay_lsn()): on a primary with nothing to write the last
// replayed commit grows old, but the replica has missed nothing. WAL the
// primary has written but not yet sent is not seen, so "caught up" is as
// of the last message from the primary, a few milliseconds on a LAN.
// When the replica is not streaming (the primary is unreachable, or WAL
// comes from an archive) the time since the last replayed commit is all
// there is to tell, and that is what is reported.
//
// The lag is measured on the replica's clock against commit times from
// the primary's: a clock skew between them shows in it (a negative
// result is reported as 0). On a database that is not in recovery
// ReplicaLag returns 0 and false.
func (db *DB) ReplicaLag(ctx context.Context) (lag time.Duration, isReplica bool, err error) {
	var caughtUp bool
	var seconds *float64
	// pg_stat_wal_receiver shows its status to superusers and members of
	// pg_read_all_stats only (NULL to others), but its row, while a WAL
	// receiver runs, to everyone.
	err = db.Pool.QueryRow(ctx, `SELECT pg_is_in_recovery(),
		coalesce(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), false)
			AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status IS NULL OR status = 'streaming'),
		extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8`).
		Scan(&isReplica, &caughtUp, &seconds)
	switch {
	case err != nil:
		return 0, false, mapErr(err, "")
	case !isReplica, caughtUp:
		return 0, isReplica, nil
	case seconds == nil:
		return LagUnknown, true, nil
	case *seconds < 0:
		return 0, true, nil
	}
	return time.Duration(*seconds * float64(time.Second)), true, nil
}
