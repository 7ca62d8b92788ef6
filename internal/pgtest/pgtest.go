// Package pgtest gives each test its own PostgreSQL database, cloned from
// a template migrated once per schema version (peterldowns/pgtestdb).
//
// Tests read DATABASE_URL, a superuser connection to a running server, as
// `make test` sets it; without it they fail with a message saying so.
//
// Importing it also makes the test binary store argon2id password hashes
// of the least cost (account.UseCheapHashesInTests): the server, e2e and
// seed tests create and log in hundreds of users, and each hash at the
// production cost takes about 35 ms of CPU (and 19 MiB) under the race
// detector. The production cost is checked by the account package's
// tests, which do not import this package.
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"testing"

	"github.com/peterldowns/pgtestdb"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/migrations"
)

func init() { account.UseCheapHashesInTests() }

// migrator migrates a pgtestdb template with the embedded migrations.
type migrator struct{}

// Hash identifies the schema by the content of every migration file.
func (migrator) Hash() (string, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Migrate applies every migration to the template.
func (migrator) Migrate(_ context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	return MigrateURL(conf.URL())
}

// ServerURL returns DATABASE_URL or fails the test.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Fatal("DATABASE_URL is not set: tests need a PostgreSQL server; run them with `make test`, which finds or starts one")
	}
	return u
}

func config(t testing.TB) pgtestdb.Config {
	t.Helper()
	ServerURL(t)
	c, err := serverConfig()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serverConfig is the pgtestdb configuration of DATABASE_URL's server.
func serverConfig() (pgtestdb.Config, error) {
	u, err := url.Parse(os.Getenv("DATABASE_URL"))
	if err != nil {
		return pgtestdb.Config{}, errors.New("DATABASE_URL does not parse as a URL")
	}
	pw, _ := u.User.Password()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	db := u.Path
	if len(db) > 0 && db[0] == '/' {
		db = db[1:]
	}
	if db == "" {
		db = "postgres"
	}
	opts := u.Query()
	if opts.Get("sslmode") == "" {
		opts.Set("sslmode", "disable")
	}
	return pgtestdb.Config{
		DriverName:                "pgx",
		Host:                      u.Hostname(),
		Port:                      port,
		User:                      u.User.Username(),
		Password:                  pw,
		Database:                  db,
		Options:                   opts.Encode(),
		ForceTerminateConnections: true,
	}, nil
}

// SchemaHash identifies the schema the migrations make (as templates of
// it are named).
func SchemaHash() (string, error) { return migrator{}.Hash() }

// MigrateURL applies every migration to the database at url.
func MigrateURL(url string) error {
	m, err := postgres.NewMigrator(url)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up()
}

// URLFrom is URL with a template of the test's own making: m migrates
// it, and its Hash names it. A template that only this test process can
// use (its Hash names the process) should be dropped when the tests end:
// pass its name (conf.Database in m.Migrate) to DropTemplateAtEnd.
func URLFrom(t testing.TB, m pgtestdb.Migrator) string {
	t.Helper()
	return instance(t, m)
}

// URL creates a fresh migrated database for the test and returns its URL.
// The database is dropped when the test passes (see Main for when).
func URL(t testing.TB) string {
	t.Helper()
	return instance(t, migrator{})
}

// EmptyURL creates a fresh database with no schema at all, for migration
// tests.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return instance(t, pgtestdb.NoopMigrator{})
}

// instance clones a database from m's template (made the first time) and
// returns its URL. When the test ends, its connections to the database
// are ended; the database is then dropped at once, or, under Main, later.
func instance(t testing.TB, m pgtestdb.Migrator) string {
	t.Helper()
	if !deferDrops.Load() {
		return pgtestdb.Custom(t, config(t), m).URL()
	}
	d := &laterTB{TB: t}
	conf := pgtestdb.Custom(d, config(t), m)
	d.mu.Lock()
	d.base, d.name = config(t), conf.Database
	d.mu.Unlock()
	return conf.URL()
}

// DB opens a pool on a fresh migrated database, closed at test end.
func DB(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), URL(t), postgres.Options{MaxConns: 20})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// RunHub starts a live hub fed by db's LISTEN connection and stops it when
// the test ends. Register it before the server that uses it, so that the
// server (and its event streams) is closed first.
func RunHub(t testing.TB, db *postgres.DB, log *slog.Logger) *live.Hub {
	t.Helper()
	hub := live.NewHub(log)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		hub.Run(ctx, db.ListenFunc(log))
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	return hub
}
