package postgres

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChangesChannel is the PostgreSQL NOTIFY channel on which every change to
// the live board is announced, so that all serve processes sharing the
// database hear about changes made by any of them.
const ChangesChannel = "dv_changes"

// listenAppName is the application_name of the listening connection, so
// that it can be told apart in pg_stat_activity (and terminated in tests).
const listenAppName = "dvresponse-listen"

// Reconnect backoff: the first retry after a lost connection comes quickly,
// later ones double up to a cap so that a database outage is not hammered.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// listenPingEvery is how long the listening connection may stay silent
// before it is pinged. A half-open TCP connection (database host gone
// without a reset) would otherwise wait for notifications forever while
// the boards silently go stale.
const (
	listenPingEvery   = 30 * time.Second
	listenPingTimeout = 5 * time.Second
)

// RefdataKind is the notification kind of a change of reference data
// (targets, units, labels): every live board re-reads. Its id is always 1.
const RefdataKind = "refdata"

// Notify announces, inside the caller's transaction, that the record of the
// given kind ("incident", "unit") and id has changed. PostgreSQL delivers
// the notification only if and when tx commits, so listeners never hear of
// a change they cannot yet read, nor of one that was rolled back. The
// payload is "kind:id": ids only, never personal data, because any session
// on the database may LISTEN.
func Notify(ctx context.Context, tx pgx.Tx, kind string, id int64) error {
	payload := kind + ":" + strconv.FormatInt(id, 10)
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangesChannel, payload)
	return mapErr(err, "")
}

// Listen receives the notifications sent by Notify until ctx ends, calling
// onPayload with each payload ("kind:id"), and returns nil once ctx is done.
//
// LISTEN belongs to a session, so Listen holds a dedicated connection of its
// own rather than one from the pool; it is built from the pool's
// configuration (same server, credentials and session settings) with
// application_name "dvresponse-listen".
//
// Notifications sent while the connection is down are lost. Listen
// therefore reconnects by itself, with capped, jittered exponential backoff
// (100 ms doubling to 5 s), and calls onConnect each time LISTEN is in force
// again, the first time included: the caller should treat every call after
// the first as "you may have missed changes" and have its clients re-read.
// onConnect and onPayload run on Listen's goroutine and should not block.
// A connection silent for 30 s is pinged, so that one left half-open by a
// vanished server is noticed and replaced too.
//
// While LISTEN is in force the reference data is kept in memory and
// emptied by every "refdata" notification (refcache.go).
//
// A nil log discards log output. Only connection losses and recoveries are
// logged, never payloads.
func (db *DB) Listen(ctx context.Context, log *slog.Logger, onConnect func(), onPayload func(string)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := db.Pool.Config().ConnConfig // a deep copy, safe to modify
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = listenAppName

	backoff := minBackoff
	failures := 0 // consecutive failed attempts, for the log
	first := true
	connected := func() {
		if failures > 0 {
			log.Info("live: listening again", "attempts", failures)
		}
		if o := db.observer(); o != nil {
			o.ListenConnected(first)
		}
		first = false
		db.ref.connected()
		onConnect()
	}
	heard := func(payload string) {
		db.ref.heard(payload)
		onPayload(payload)
	}
	for {
		listening, err := listenOnce(ctx, cfg, connected, heard)
		if listening {
			db.ref.lost()
		}
		if ctx.Err() != nil {
			return nil
		}
		if listening {
			if o := db.observer(); o != nil {
				o.ListenLost()
			}
			// The connection worked and then broke: retry quickly.
			backoff, failures = minBackoff, 0
		}
		failures++
		// Equal jitter: somewhere in [backoff/2, backoff), so that several
		// serve processes do not reconnect in lockstep after a restart.
		wait := backoff/2 + rand.N(backoff/2)
		if failures == 1 { // the first failure in a row; the rest only at debug level
			log.Warn("live: not listening for changes; reconnecting", "err", err, "retry_in", wait)
		} else {
			log.Debug("live: listen reconnect failed", "err", err, "attempt", failures, "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, LISTENs and relays notifications until the
// connection fails or ctx ends. listening reports whether LISTEN succeeded
// (and onConnect was called) before the failure.
func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, onConnect func(), onPayload func(string)) (listening bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ChangesChannel}.Sanitize()); err != nil {
		return false, err
	}
	onConnect()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPingEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			onPayload(n.Payload)
		}
		if err != nil {
			if ctx.Err() != nil {
				return true, ctx.Err()
			}
			if !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
				return true, err
			}
			// Quiet for a while: make sure the server is still there.
			pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		}
	}
}

// ListenFunc adapts Listen to the shape live.Hub.Run takes:
// hub.Run(ctx, db.ListenFunc(log)).
func (db *DB) ListenFunc(log *slog.Logger) func(ctx context.Context, onConnect func(), onPayload func(string)) error {
	return func(ctx context.Context, onConnect func(), onPayload func(string)) error {
		return db.Listen(ctx, log, onConnect, onPayload)
	}
}
