package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for golang-migrate

	"github.com/dvresponse/dvresponse/migrations"
)

// Migrator applies the embedded migrations to one database.
type Migrator struct {
	m  *migrate.Migrate
	db *sql.DB
}

// NewMigrator opens a migrator for the database at url.
func NewMigrator(url string) (*Migrator, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", redactErr(err))
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	drv, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migration driver: %w", err)
	}
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migration source: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx", drv)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Migrator{m: m, db: db}, nil
}

// Close releases the migrator's connection.
func (mg *Migrator) Close() error {
	serr, derr := mg.m.Close()
	return errors.Join(serr, derr, mg.db.Close())
}

// Up applies every pending migration.
func (mg *Migrator) Up() error { return ignoreNoChange(mg.m.Up()) }

// Down rolls back n migrations, or all of them when n <= 0.
func (mg *Migrator) Down(n int) error {
	if err := mg.checkSealedDown(n); err != nil {
		return err
	}
	if n <= 0 {
		return ignoreNoChange(mg.m.Down())
	}
	return ignoreNoChange(mg.m.Steps(-n))
}

// Version returns the applied version (0 when none) and whether the last
// migration failed half-way.
func (mg *Migrator) Version() (uint, bool, error) {
	v, dirty, err := mg.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return v, dirty, err
}

// sealedVersion is the migration that lets users.totp_secret hold sealed
// secrets; its down refuses while any remain.
const sealedVersion = 12

// checkSealedDown refuses a roll-back of n migrations (all when n <= 0)
// past sealedVersion while sealed second-factor secrets remain, before
// golang-migrate marks the schema dirty: the down migration would refuse
// too (its DO block), but only after that.
func (mg *Migrator) checkSealedDown(n int) error {
	v, dirty, err := mg.Version()
	if err != nil || dirty || v < sealedVersion || (n > 0 && int(v)-n >= sealedVersion) {
		return nil // golang-migrate reports these itself
	}
	var sealed int64
	if err := mg.db.QueryRow(`SELECT count(*) FROM users WHERE totp_secret LIKE 'v1:%'`).Scan(&sealed); err != nil {
		return fmt.Errorf("count sealed second-factor secrets: %w", err)
	}
	if sealed > 0 {
		return fmt.Errorf("cannot migrate down past %d: %d users have a sealed (DVR_TOTP_KEY) second-factor secret, "+
			"which the older schema cannot hold; keep this version, or reset those users' second factor first", sealedVersion, sealed)
	}
	return nil
}

func ignoreNoChange(err error) error {
	if errors.Is(err, migrate.ErrNoChange) {
		return nil
	}
	return err
}

// LatestVersion is the highest migration version embedded in the binary.
func LatestVersion() uint {
	entries, _ := fs.Glob(migrations.FS, "*.up.sql")
	var latest uint
	for _, e := range entries {
		n, err := strconv.ParseUint(strings.SplitN(e, "_", 2)[0], 10, 32)
		if err == nil && uint(n) > latest {
			latest = uint(n)
		}
	}
	return latest
}

// SchemaState describes how the database's schema compares with the binary.
type SchemaState struct {
	Version uint
	Dirty   bool
	Latest  uint
}

// Current reports whether the schema is exactly the one the binary expects.
func (s SchemaState) Current() bool { return !s.Dirty && s.Version == s.Latest }

// Schema reads the applied migration version.
func (db *DB) Schema(ctx context.Context) (SchemaState, error) {
	st := SchemaState{Latest: LatestVersion()}
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return st, mapErr(err, "")
	}
	if !exists {
		return st, nil
	}
	var v int64
	err := db.Pool.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&v, &st.Dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, mapErr(err, "")
	}
	st.Version = uint(v)
	return st, nil
}
