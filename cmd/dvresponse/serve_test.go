package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/pgtest"
)

func TestServeRefusesOutOfDateSchema(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := newCLI(t, pgtest.EmptyURL(t))
	done := make(chan error, 1)
	go func() {
		_, _, err := c.run(ctx, "", "serve")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "migrate up") {
			t.Errorf("serve on an empty database: error %v, want one that says to run migrate up", err)
		}
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		t.Fatal("serve on an empty database is still running after 20 s, want it to refuse at once")
	}
}

func TestServeMigrateFlagAndShutdown(t *testing.T) {
	t.Parallel()
	c := newCLI(t, pgtest.EmptyURL(t))
	addr := freeAddr(t)
	c.env["DVR_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := c.run(ctx, "", "serve", "--migrate")
		done <- err
	}()

	// It migrates the empty database, then answers readiness.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve --migrate ended early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve --migrate not ready after 20 s (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after its context ended: %v, want a clean shutdown", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not shut down within 25 s of its context ending")
	}
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
