package facts

import (
	"context"
	"time"
)

// Feed is where a Syncer reads the incidents, the follow-up tasks and the
// protection orders, and their changes (postgres.DB).
type Feed interface {
	// LoadFacts calls fn for every incident, all read in one snapshot, and
	// returns the mark (that snapshot) from which FactChanges sees every
	// change the snapshot did not.
	LoadFacts(ctx context.Context, fn func(Row) error) (mark string, err error)
	// LoadFollow calls task for every follow-up task and order for every
	// protection order, read in one snapshot taken after LoadFacts' (what
	// changed between the two comes again from FactChanges: reading it
	// again is harmless).
	LoadFollow(ctx context.Context, task func(TaskRow) error, order func(OrderRow) error) error
	// FactChanges returns what changed since mark (an id may come more
	// than once, or unchanged: reading it again is harmless), with the
	// tasks and orders of every changed incident (they copy its facts),
	// and the mark to pass next. reload says a bulk load wrote rows
	// without logging each: only a full load is right.
	FactChanges(ctx context.Context, mark string) (ch Changes, next string, reload bool, err error)
	// FactRows calls fn for each incident of ids that exists; the others
	// were deleted.
	FactRows(ctx context.Context, ids []int64, fn func(Row) error) error
	// FollowRows calls task for each follow-up task of tasks that exists
	// and order for each protection order of orders that exists; the
	// others were deleted.
	FollowRows(ctx context.Context, tasks, orders []int64, task func(TaskRow) error, order func(OrderRow) error) error
	// PruneFactChanges deletes change-log entries older than age.
	PruneFactChanges(ctx context.Context, age time.Duration) error
}

// Changes are the ids of what changed, each list in order.
type Changes struct {
	Incidents, Tasks, Orders []int64
}
