package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// cmdTOTPKey is a DVR_TOTP_KEY for these tests: bytes 0 to 31.
const cmdTOTPKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// clearTOTPSecret is a base32 secret stored in clear, as before keys.
const clearTOTPSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// storedTOTPSecret is ann's users.totp_secret as stored.
func storedTOTPSecret(t *testing.T, dbURL string) string {
	t.Helper()
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s string
	if err := db.Pool.QueryRow(context.Background(), `SELECT totp_secret FROM users WHERE username = 'ann'`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// userWithClearTOTP gives the database a user whose second factor is on,
// with its secret stored in clear.
func userWithClearTOTP(t *testing.T, dbURL string) {
	t.Helper()
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO users (username, role, password_hash, totp_secret, totp_enabled_at)
		VALUES ('ann', 'dispatcher', 'x', $1, now())`, clearTOTPSecret); err != nil {
		t.Fatal(err)
	}
}

// serveUntilReady runs serve until it answers readiness, then stops it
// and returns what it logged; it fails the test if serve ends first.
func serveUntilReady(t *testing.T, c *cli) string {
	t.Helper()
	addr := freeAddr(t)
	c.env["DVR_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		stderr string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		_, errs, err := c.run(ctx, "", "serve")
		done <- result{errs, err}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case r := <-done:
			t.Fatalf("serve ended early: %v\nstderr: %s", r.err, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve not ready after 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatalf("serve after its context ended: %v", r.err)
	}
	return r.stderr
}

// TestServeSealsTOTPSecrets: without DVR_TOTP_KEY serve warns that the
// secrets are in clear; with it, it seals them at start; once they are
// sealed, it refuses to start without the key.
func TestServeSealsTOTPSecrets(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	userWithClearTOTP(t, url)
	c := newCLI(t, url)

	logged := serveUntilReady(t, c)
	if !strings.Contains(logged, "stored unencrypted") || !strings.Contains(logged, "DVR_TOTP_KEY") {
		t.Errorf("serve without DVR_TOTP_KEY logged %q, want a warning that secrets are unencrypted and how to set the key", logged)
	}
	if got := storedTOTPSecret(t, url); got != clearTOTPSecret {
		t.Errorf("without a key the secret became %q, want it left in clear", got)
	}

	c.env["DVR_TOTP_KEY"] = cmdTOTPKey
	logged = serveUntilReady(t, c)
	if strings.Contains(logged, "unencrypted") || strings.Contains(logged, cmdTOTPKey) || strings.Contains(logged, clearTOTPSecret) {
		t.Errorf("serve with DVR_TOTP_KEY logged %q: want no warning, no key, no secret", logged)
	}
	sealed := storedTOTPSecret(t, url)
	if !strings.HasPrefix(sealed, "v1:") {
		t.Fatalf("after serve with DVR_TOTP_KEY the secret is %q, want it sealed", sealed)
	}
	serveUntilReady(t, c)
	if again := storedTOTPSecret(t, url); again != sealed {
		t.Errorf("a second start sealed the secret again")
	}

	delete(c.env, "DVR_TOTP_KEY")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, _, err := c.run(ctx, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "DVR_TOTP_KEY is not set") {
		t.Errorf("serve without the key over sealed secrets: %v, want a refusal naming DVR_TOTP_KEY", err)
	}

	c.env["DVR_TOTP_KEY"] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=" // another key
	_, _, err = c.run(ctx, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "do not open") {
		t.Errorf("serve with another key over sealed secrets: %v, want a refusal", err)
	}
}

// TestMigrateSealsTOTPSecrets: migrate up with DVR_TOTP_KEY seals the
// secrets stored in clear.
func TestMigrateSealsTOTPSecrets(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	userWithClearTOTP(t, url)
	c := newCLI(t, url)
	c.mustRun("", "migrate", "up")
	if got := storedTOTPSecret(t, url); got != clearTOTPSecret {
		t.Errorf("migrate up without a key made the secret %q, want it left in clear", got)
	}
	c.env["DVR_TOTP_KEY"] = cmdTOTPKey
	c.mustRun("", "migrate", "up")
	if got := storedTOTPSecret(t, url); !strings.HasPrefix(got, "v1:") {
		t.Errorf("after migrate up with DVR_TOTP_KEY the secret is %q, want it sealed", got)
	}
}
