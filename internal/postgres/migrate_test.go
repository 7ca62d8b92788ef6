package postgres_test

import (
	"context"
	"testing"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
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
