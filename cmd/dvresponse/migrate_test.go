package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	latest := postgres.LatestVersion()
	c := newCLI(t, pgtest.EmptyURL(t))
	steps := []struct {
		args []string
		want uint
	}{
		{[]string{"migrate", "version"}, 0},
		{[]string{"migrate", "up"}, latest},
		{[]string{"migrate", "version"}, latest},
		{[]string{"migrate", "down", "1"}, latest - 1},
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
