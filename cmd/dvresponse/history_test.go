package main

import (
	"context"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// TestMigrateRecomputesHistoryKeys: keys stored under other matching rules
// are recomputed by `migrate up`, once, and the time is printed.
func TestMigrateRecomputesHistoryKeys(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyURL(t)
	c := newCLI(t, url)
	c.env["DVR_COUNTRY"] = "KG"
	c.mustRun("", "migrate", "up")
	c.mustRun("", "seed", "--demo")
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Keys as an older version of the rules wrote them.
	if _, err := db.Pool.Exec(ctx, `UPDATE incident_keys SET address_key = 'stale', building_key = '', phone_key = 'stale'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE app_settings SET value = 'old' WHERE key = $1`, postgres.MatchKeysVersionKey); err != nil {
		t.Fatal(err)
	}
	out := c.mustRun("", "migrate", "up")
	if !strings.Contains(out, "history keys recomputed for ") {
		t.Fatalf("migrate up printed %q, want the recompute and its time", out)
	}
	var stale int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM incident_keys WHERE address_key = 'stale' OR phone_key = 'stale'`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Errorf("%d incidents keep stale keys", stale)
	}
	rows, err := db.Pool.Query(ctx, `SELECT i.address, i.caller_phone, k.address_key, k.building_key, k.phone_key
		FROM incidents i JOIN incident_keys k ON k.incident_id = i.id LIMIT 50`)
	if err != nil {
		t.Fatal(err)
	}
	rules := match.Rules{Region: "KG"}
	for rows.Next() {
		var address, phone, flat, building, phoneKey string
		if err := rows.Scan(&address, &phone, &flat, &building, &phoneKey); err != nil {
			t.Fatal(err)
		}
		wf, wb := match.Address(address)
		if flat != wf || building != wb || phoneKey != rules.Phone(phone) {
			t.Errorf("%q %q keyed %q %q %q, want %q %q %q", address, phone, flat, building, phoneKey, wf, wb, rules.Phone(phone))
		}
	}
	// Under the same rules, nothing more to do.
	if out := c.mustRun("", "migrate", "up"); strings.Contains(out, "recomputed") {
		t.Errorf("a second migrate up recomputed again: %q", out)
	}
}
