package postgres_test

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/migrations"
)

// TestMigrationRoundTrip applies every migration, rolls all back to zero and
// applies them again on a scratch database, checking the version each time.
func TestMigrationRoundTrip(t *testing.T) {
	url := pgtest.EmptyURL(t)
	m, err := postgres.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	latest := postgres.LatestVersion()
	if latest == 0 {
		t.Fatal("no migrations embedded")
	}
	check := func(step string, want uint) {
		t.Helper()
		v, dirty, err := m.Version()
		if err != nil || dirty || v != want {
			t.Fatalf("%s: version = %d dirty=%v err=%v, want %d clean", step, v, dirty, err, want)
		}
	}
	if err := m.Up(); err != nil {
		t.Fatalf("up: %v", err)
	}
	check("up", latest)
	if err := m.Down(0); err != nil {
		t.Fatalf("down: %v", err)
	}
	check("down", 0)

	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("after down to zero, %d tables remain", tables)
	}
	st, err := db.Schema(context.Background())
	if err != nil || st.Current() {
		t.Fatalf("schema after down: %+v, %v; want not current", st, err)
	}

	if err := m.Up(); err != nil {
		t.Fatalf("up again: %v", err)
	}
	check("up again", latest)
	st, err = db.Schema(context.Background())
	if err != nil || !st.Current() {
		t.Fatalf("schema after up: %+v, %v; want current", st, err)
	}
}

// TestMigrationDownKeepsSealedSecrets: rolling back past 0012 while sealed
// second-factor secrets remain is refused, by the migrator before the
// schema is marked dirty and by the down migration itself; with none left
// it restores the old CHECK.
func TestMigrationDownKeepsSealedSecrets(t *testing.T) {
	ctx := context.Background()
	url := pgtest.EmptyURL(t)
	m, err := postgres.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const sealed = "v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	if _, err := db.Pool.Exec(ctx, `INSERT INTO users (username, role, password_hash, totp_secret)
		VALUES ('ann', 'dispatcher', 'x', $1)`, sealed); err != nil {
		t.Fatalf("a sealed secret at the latest version: %v", err)
	}

	// The migrations after 0012 go down; 0012's is refused.
	const sealedVersion = 12
	later := 0 // the migrations after 0012 (numbers may skip: branches take their own)
	ups, _ := fs.Glob(migrations.FS, "*.up.sql")
	for _, e := range ups {
		if n, err := strconv.Atoi(strings.SplitN(e, "_", 2)[0]); err == nil && n > sealedVersion {
			later++
		}
	}
	if later > 0 {
		if err := m.Down(later); err != nil {
			t.Fatalf("down to %d with a sealed secret: %v, want it done", sealedVersion, err)
		}
	}
	if err := m.Down(1); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("down 1 with a sealed secret: %v, want a refusal that says why", err)
	}
	if v, dirty, err := m.Version(); err != nil || dirty || v != sealedVersion {
		t.Fatalf("after the refused down: version %d dirty=%v err=%v, want %d clean", v, dirty, err, sealedVersion)
	}
	// The down migration refuses on its own too (for other tools).
	down, err := fs.ReadFile(migrations.FS, "0012_totp_sealed.down.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, string(down)); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("0012's down with a sealed secret: %v, want its refusal", err)
	}
	var got string
	if err := db.Pool.QueryRow(ctx, `SELECT totp_secret FROM users WHERE username = 'ann'`).Scan(&got); err != nil || got != sealed {
		t.Fatalf("after the refused down the secret is %q (%v), want it kept", got, err)
	}

	if _, err := db.Pool.Exec(ctx, `UPDATE users SET totp_secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'`); err != nil {
		t.Fatal(err)
	}
	if err := m.Down(1); err != nil {
		t.Fatalf("down 1 with clear secrets only: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE users SET totp_secret = $1`, sealed); err == nil {
		t.Error("after down past 0012 a sealed secret was accepted, want the old CHECK back")
	}
}
