package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peterldowns/pgtestdb"
)

// Dropping a database makes PostgreSQL 15 take an immediate checkpoint
// and wait for it: every dirty page of every database on the server is
// written and synced. Done at the end of each test, as pgtestdb does, a
// test waited 0.7 to 10 s for it (measured with psql on this machine
// while other sessions ran tests), and each checkpoint wrote to disk the
// pages of the other tests' databases, soon to be dropped too. Under Main, a passing test's database is instead ended at
// once (its connections terminated) and dropped later, in batches: the
// DROPs of a batch run at once and share their checkpoints, and each
// DROP first discards its database's pages, which are then never written.

// dropBatch is how many finished test databases wait before a batch is
// dropped (about 10 MB each); Main drops the rest when the tests end.
const dropBatch = 24

// dropConns is how many DROPs of a batch run at once (each on its own
// connection to the server).
const dropConns = 8

var (
	deferDrops atomic.Bool // set by Main

	dropMu  sync.Mutex
	pending []func() // pgtestdb's clean-ups of finished tests' databases
	// dropping is held while a batch is dropped, one batch at a time.
	dropping sync.Mutex

	endTemplates []pgtestdb.Config // templates to drop when the tests end
)

// DropTemplateAtEnd has Main drop the template database conf names (a
// Migrator's conf) once the tests have ended; without Main it stays.
func DropTemplateAtEnd(conf pgtestdb.Config) {
	dropMu.Lock()
	defer dropMu.Unlock()
	endTemplates = append(endTemplates, conf)
}

// Main runs a package's tests with deferred drops; call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without it a test's database is dropped as the test ends. A failed
// test's database is kept, either way, for a look at what it holds.
func Main(m *testing.M) {
	deferDrops.Store(true)
	code := m.Run()
	began := time.Now()
	n := dropPending()
	if testing.Verbose() && n > 0 {
		fmt.Fprintf(os.Stderr, "pgtest: dropped the last %d test databases in %v\n", n, time.Since(began).Round(time.Millisecond))
	}
	dropMu.Lock()
	tpls := endTemplates
	dropMu.Unlock()
	for _, c := range tpls {
		if err := dropTemplate(c); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: drop template %s: %v\n", c.Database, err)
		}
	}
	os.Exit(code)
}

// laterTB hands pgtestdb a test whose clean-up (closing, then dropping the
// database) is queued rather than run when the test ends.
type laterTB struct {
	testing.TB
	mu         sync.Mutex
	base       pgtestdb.Config // the server's maintenance database
	name       string          // the test's database
	over       bool            // the test has ended: report to stderr
	failed     bool            // and whether it failed
	registered bool
}

func (d *laterTB) Cleanup(f func()) {
	d.mu.Lock()
	if d.registered { // pgtestdb registers one clean-up; anything else runs as usual
		d.mu.Unlock()
		d.TB.Cleanup(f)
		return
	}
	d.registered = true
	d.mu.Unlock()
	d.TB.Cleanup(func() {
		failed := d.TB.Failed()
		d.mu.Lock()
		base, name := d.base, d.name
		d.mu.Unlock()
		if name != "" {
			// What the test left connected goes now, as pgtestdb would
			// have done: nothing outlives its test.
			if err := terminate(base, name); err != nil {
				d.TB.Errorf("pgtest: end the connections to %s: %v", name, err)
				failed = true
			}
		}
		d.mu.Lock()
		d.over, d.failed = true, failed
		d.mu.Unlock()
		dropMu.Lock()
		pending = append(pending, f)
		n := len(pending)
		dropMu.Unlock()
		if n >= dropBatch {
			go dropPending()
		}
	})
}

func (d *laterTB) Failed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.over {
		return d.failed
	}
	return d.TB.Failed()
}

func (d *laterTB) isOver() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.over
}

func (d *laterTB) Logf(format string, args ...any) {
	if d.isOver() {
		return // pgtestdb's hints about leaked connections; terminate ended them
	}
	d.TB.Helper()
	d.TB.Logf(format, args...)
}

func (d *laterTB) Fatalf(format string, args ...any) {
	if d.isOver() {
		// The test has ended: it can no longer fail. pgtestdb returns
		// after Fatalf.
		fmt.Fprintf(os.Stderr, "pgtest: after %s: "+format+"\n", append([]any{d.TB.Name()}, args...)...)
		return
	}
	d.TB.Helper()
	d.TB.Fatalf(format, args...)
}

// terminate ends every connection to database name.
func terminate(base pgtestdb.Config, name string) error {
	db, err := base.Connect()
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	return err
}

// dropPending runs the queued clean-ups, one batch at a time, and returns
// how many it ran.
func dropPending() int {
	dropping.Lock()
	defer dropping.Unlock()
	dropMu.Lock()
	batch := pending
	pending = nil
	dropMu.Unlock()
	// At once: the checkpoints that concurrent DROPs ask for are taken
	// together, so a batch costs about two checkpoints, not one per DROP.
	var wg sync.WaitGroup
	slots := make(chan struct{}, dropConns)
	for _, f := range batch {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			f()
		})
	}
	wg.Wait()
	return len(batch)
}

// dropTemplate drops the template database conf names, through the
// server's maintenance database.
func dropTemplate(conf pgtestdb.Config) error {
	base, err := serverConfig()
	if err != nil {
		return err
	}
	db, err := base.Connect()
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, q := range []string{
		`UPDATE pg_database SET datistemplate = false WHERE datname = $1`,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
	} {
		if _, err := db.ExecContext(ctx, q, conf.Database); err != nil {
			return err
		}
	}
	_, err = db.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS "%s"`, strings.ReplaceAll(conf.Database, `"`, `""`)))
	return err
}
