package main

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/migrations"
)

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	latest := postgres.LatestVersion()
	// The version one step down: the highest below latest (numbers need
	// not be contiguous).
	var previous uint
	ups, err := fs.Glob(migrations.FS, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		if n, err := strconv.ParseUint(strings.SplitN(u, "_", 2)[0], 10, 32); err == nil && uint(n) < latest {
			previous = max(previous, uint(n))
		}
	}
	c := newCLI(t, pgtest.EmptyURL(t))
	steps := []struct {
		args []string
		want uint
	}{
		{[]string{"migrate", "version"}, 0},
		{[]string{"migrate", "up"}, latest},
		{[]string{"migrate", "version"}, latest},
		{[]string{"migrate", "down", "1"}, previousVersion(latest)},
		{[]string{"migrate", "up"}, latest},
		{[]string{"migrate", "up"}, latest}, // nothing to do is no error
	}
	for _, s := range steps {
		out := c.mustRun("", s.args...)
		if want := fmt.Sprintf("schema version %d (latest %d)\n", s.want, latest); out != want {
			t.Errorf("dvresponse %s printed %q, want %q", strings.Join(s.args, " "), out, want)
		}
	}
	for _, args := range [][]string{{"migrate"}, {"migrate", "sideways"}, {"migrate", "down", "-1"}, {"migrate", "down", "x"}} {
		_, _, err := c.run(context.Background(), "", args...)
		if _, ok := err.(usageError); !ok {
			t.Errorf("dvresponse %s: error %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

// previousVersion is the migration before version v (numbers may skip:
// branches take their own).
func previousVersion(v uint) uint {
	entries, _ := fs.Glob(migrations.FS, "*.up.sql")
	var prev uint
	for _, e := range entries {
		n, err := strconv.ParseUint(strings.SplitN(e, "_", 2)[0], 10, 32)
		if err == nil && uint(n) < v && uint(n) > prev {
			prev = uint(n)
		}
	}
	return prev
}
