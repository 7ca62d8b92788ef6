package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/pgtest"
)

// auditCounter is an Observer that counts.
type auditCounter struct {
	mu                     sync.Mutex
	appends, connects, los int
}

func (c *auditCounter) AuditAppended(n int)  { c.mu.Lock(); c.appends += n; c.mu.Unlock() }
func (c *auditCounter) ListenConnected(bool) { c.mu.Lock(); c.connects++; c.mu.Unlock() }
func (c *auditCounter) ListenLost()          { c.mu.Lock(); c.los++; c.mu.Unlock() }

func (c *auditCounter) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.appends }

// TestObserverCountsCommittedAuditRows: the observer hears of audit rows
// when their transaction commits, and not of rows rolled back.
func TestObserverCountsCommittedAuditRows(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	obs := &auditCounter{}
	db.SetObserver(obs)

	for range 2 {
		if err := db.Audit(ctx, audit.Entry{Actor: audit.Actor{Username: "observer.test"}, Action: "test.observed"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := obs.count(); got != 2 {
		t.Errorf("after 2 committed audit rows the observer counted %d", got)
	}
	// A transaction that writes an audit row and then fails.
	errRollback := errors.New("roll back")
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO audit_events (at, action, prev_hash, hash) VALUES (now(), 'test.rolled_back', '\x00', '\x00')`); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("rolled-back transaction: %v", err)
	}
	if got := obs.count(); got != 2 {
		t.Errorf("a rolled-back audit row was counted: %d, want 2", got)
	}
	writable, err := db.Writable(ctx)
	if err != nil || !writable {
		t.Errorf("Writable on the test primary: %v, %v; want true", writable, err)
	}
}
