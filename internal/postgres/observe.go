package postgres

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Observer hears of what operators count (metrics): audit rows committed
// and the LISTEN connection's state. Its methods must not block.
type Observer interface {
	// AuditAppended is called when a transaction that appended n rows to
	// the audit chain has committed.
	AuditAppended(n int)
	// ListenConnected is called each time LISTEN is in force; first is
	// true the first time, false after a reconnect.
	ListenConnected(first bool)
	// ListenLost is called when the LISTEN connection broke.
	ListenLost()
}

// SetObserver has o hear of db's audit appends and LISTEN connection from
// now on. Call it before serving; nil stops it.
func (db *DB) SetObserver(o Observer) {
	if db.obs == nil {
		return // a pool not made by Open (the reporting replica's)
	}
	if o == nil {
		db.obs.o.Store(nil)
		return
	}
	db.obs.o.Store(&o)
}

func (db *DB) observer() Observer {
	if db.obs == nil {
		return nil
	}
	if p := db.obs.o.Load(); p != nil {
		return *p
	}
	return nil
}

// observeTracer is the pool's pgx query tracer. It counts audit rows per
// connection as they are inserted and reports them when their transaction
// commits, so that a rolled-back append is not counted and appendAudit
// needs no access to db. It does nothing until an Observer is set, but
// time statements for a StatementTimer.
type observeTracer struct {
	o       atomic.Pointer[Observer]
	timer   atomic.Pointer[StatementTimer]
	mu      sync.Mutex
	pending map[*pgx.Conn]int // audit rows inserted in the connection's open transaction
}

type traceKind int

const (
	traceOther traceKind = iota
	traceAuditInsert
	traceCommit
	traceRollback
)

type traceKey struct{}

// StatementTimer hears of each statement the pool ran (its SQL text, as
// written in this package, never its arguments) and how long it took,
// from sending it to its end. It must not block.
type StatementTimer func(sql string, took time.Duration)

// SetStatementTimer has f hear of every statement from now on; nil stops
// it. The benchmark uses it to split a request's time between its
// statements.
func (db *DB) SetStatementTimer(f StatementTimer) {
	if db.obs == nil {
		return
	}
	if f == nil {
		db.obs.timer.Store(nil)
		return
	}
	db.obs.timer.Store(&f)
}

type timerKey struct{}

type timerStart struct {
	sql string
	at  time.Time
}

// TraceBatchStart, TraceBatchQuery and TraceBatchEnd time a batch as one
// statement for the StatementTimer: its statements' SQL joined by "; ".
func (t *observeTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	if t.timer.Load() == nil {
		return ctx
	}
	return context.WithValue(ctx, timerKey{}, &batchStart{at: time.Now()})
}

func (t *observeTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if b, ok := ctx.Value(timerKey{}).(*batchStart); ok {
		b.sql = append(b.sql, d.SQL)
	}
}

func (t *observeTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	if f := t.timer.Load(); f != nil {
		if b, ok := ctx.Value(timerKey{}).(*batchStart); ok {
			(*f)(strings.Join(b.sql, "; "), time.Since(b.at))
		}
	}
}

type batchStart struct {
	sql []string
	at  time.Time
}

func (t *observeTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if t.timer.Load() != nil {
		ctx = context.WithValue(ctx, timerKey{}, timerStart{d.SQL, time.Now()})
	}
	if t.o.Load() == nil {
		return ctx
	}
	var k traceKind
	switch sql := strings.TrimSpace(d.SQL); {
	case strings.HasPrefix(sql, "INSERT INTO audit_events"):
		k = traceAuditInsert
	case strings.EqualFold(sql, "commit"):
		k = traceCommit
	case strings.EqualFold(sql, "rollback"):
		k = traceRollback
	default:
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, k)
}

func (t *observeTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryEndData) {
	if f := t.timer.Load(); f != nil {
		if v, ok := ctx.Value(timerKey{}).(timerStart); ok {
			(*f)(v.sql, time.Since(v.at))
		}
	}
	k, _ := ctx.Value(traceKey{}).(traceKind)
	if k == traceOther {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[*pgx.Conn]int{}
	}
	switch k {
	case traceAuditInsert:
		if d.Err == nil {
			t.pending[conn]++
		}
		return
	case traceCommit:
		// A commit of a failed transaction answers ROLLBACK.
		if n := t.pending[conn]; n > 0 && d.Err == nil && d.CommandTag.String() == "COMMIT" {
			if p := t.o.Load(); p != nil {
				(*p).AuditAppended(n)
			}
		}
	}
	delete(t.pending, conn)
}

// DispatchWait is one priority level's oldest call awaiting dispatch.
type DispatchWait struct {
	Priority int
	Oldest   time.Duration // zero: none waiting
	Target   time.Duration // the call-processing target; zero: none set
}

// AwaitingDispatch reads, for every priority level, how long its oldest
// open call not yet dispatched has waited. Each level's lookup walks
// incidents_open_idx (priority, received_at WHERE cleared_at IS NULL) in
// received order and stops at the first undispatched call, so the cost
// does not grow with the history: it is cheap enough for every scrape.
func (db *DB) AwaitingDispatch(ctx context.Context) ([]DispatchWait, error) {
	rows, err := db.Pool.Query(ctx, `SELECT p.level, coalesce(target_call_processing_s, 0),
			coalesce(extract(epoch FROM now() - w.received_at), 0)::float8
		FROM priorities p
		LEFT JOIN LATERAL (SELECT i.received_at FROM incidents i
			WHERE i.priority = p.level AND i.cleared_at IS NULL AND i.dispatched_at IS NULL
			ORDER BY i.received_at LIMIT 1) w ON true
		ORDER BY p.level`)
	if err != nil {
		return nil, mapErr(err, "")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DispatchWait, error) {
		var w DispatchWait
		var target int
		var age float64
		err := r.Scan(&w.Priority, &target, &age)
		w.Target = time.Duration(target) * time.Second
		w.Oldest = max(0, time.Duration(age*float64(time.Second)))
		return w, err
	})
}

// Writable reports whether the database accepts writes: it is a primary,
// not a standby in recovery. With a multi-host DATABASE_URL and
// target_session_attrs=read-write new connections go to the primary only,
// but a pooled connection may still be on a server that has since been
// demoted.
func (db *DB) Writable(ctx context.Context) (bool, error) {
	var inRecovery bool
	if err := db.Pool.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil {
		return false, mapErr(err, "")
	}
	return !inRecovery, nil
}

// PoolStat is the pool's use and waits, for metrics.
type PoolStat struct {
	Max, Total, Acquired, Idle                int32
	Acquires, EmptyAcquires, CanceledAcquires int64
	AcquireWait                               time.Duration
}

// PoolStat reads the pool's statistics.
func (db *DB) PoolStat() PoolStat {
	s := db.Pool.Stat()
	return PoolStat{Max: s.MaxConns(), Total: s.TotalConns(), Acquired: s.AcquiredConns(), Idle: s.IdleConns(),
		Acquires: s.AcquireCount(), EmptyAcquires: s.EmptyAcquireCount(), CanceledAcquires: s.CanceledAcquireCount(),
		AcquireWait: s.EmptyAcquireWaitTime()}
}
