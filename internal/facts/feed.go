package facts

import (
	"context"
	"time"
)

// Feed is where a Syncer reads the incidents and their changes
// (postgres.DB).
type Feed interface {
	// LoadFacts calls fn for every incident, all read in one snapshot, and
	// returns the mark (that snapshot) from which FactChanges sees every
	// change the snapshot did not.
	LoadFacts(ctx context.Context, fn func(Row) error) (mark string, err error)
	// FactChanges returns the incidents changed since mark (an incident may
	// come more than once, or unchanged: reading it again is harmless) and
	// the mark to pass next. reload says a bulk load wrote incidents
	// without logging each: only a full LoadFacts is right.
	FactChanges(ctx context.Context, mark string) (ids []int64, next string, reload bool, err error)
	// FactRows calls fn for each incident of ids that exists; the others
	// were deleted.
	FactRows(ctx context.Context, ids []int64, fn func(Row) error) error
	// PruneFactChanges deletes change-log entries older than age.
	PruneFactChanges(ctx context.Context, age time.Duration) error
}
