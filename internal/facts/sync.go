package facts

import (
	"context"
	"log/slog"
	"time"
)

// Syncer loads a Store from its Feed, then keeps it current by reading
// the change log every Poll. Run it in one goroutine per store.
type Syncer struct {
	Feed   Feed
	Store  *Store
	Poll   time.Duration // how often the change log is read; default 1 s
	Logger *slog.Logger
}

// Retention is how long change-log entries are kept: a store that could
// not read the log for half of it loads again in full, since entries it
// has not read may be gone.
const Retention = 10 * time.Minute

// fetchBatch is how many changed incidents are read in one query.
const fetchBatch = 5000

// Run loads the store, then follows the change log until ctx ends. A
// failure is logged and retried; it returns only when ctx ends.
func (y *Syncer) Run(ctx context.Context) error {
	poll := y.Poll
	if poll <= 0 {
		poll = time.Second
	}
	log := y.Logger
	if log == nil {
		log = slog.Default()
	}
	for ctx.Err() == nil {
		began := time.Now()
		mark, err := y.load(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("report store: load failed; reports come from the database", "err", err)
				sleep(ctx, 10*poll)
			}
			continue
		}
		log.Info("report store loaded", "incidents", y.Store.Len(), "took", time.Since(began).Round(time.Millisecond))
		if b := y.Store.Broken(); b != "" {
			log.Error("report store cannot serve; reports come from the database", "why", b)
		}
		y.follow(ctx, mark, poll, log)
	}
	return nil
}

// load reads every incident and replaces the store's content.
func (y *Syncer) load(ctx context.Context) (string, error) {
	l := y.Store.StartLoad()
	mark, err := y.Feed.LoadFacts(ctx, l.Add)
	if err != nil {
		return "", err
	}
	if err := y.Feed.LoadFollow(ctx, l.AddTask, l.AddOrder); err != nil {
		return "", err
	}
	y.Store.Replace(l, time.Now())
	return mark, nil
}

// follow applies the change log from mark until a full load is needed or
// ctx ends.
func (y *Syncer) follow(ctx context.Context, mark string, poll time.Duration, log *slog.Logger) {
	lastRead, lastPrune := time.Now(), time.Time{}
	for sleep(ctx, poll) {
		if time.Since(lastRead) > Retention/2 {
			log.Warn("report store: change log unread too long; loading again")
			return
		}
		ch, next, reload, err := y.Feed.FactChanges(ctx, mark)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("report store: reading changes failed", "err", err)
			}
			continue
		}
		if reload {
			log.Info("report store: bulk change; loading again once it has settled")
			y.settle(ctx, next, poll)
			return
		}
		if err := y.apply(ctx, ch); err != nil {
			if ctx.Err() == nil {
				log.Error("report store: applying changes failed", "err", err)
			}
			continue
		}
		mark, lastRead = next, time.Now()
		y.Store.synced(lastRead)
		if time.Since(lastPrune) > time.Minute {
			if err := y.Feed.PruneFactChanges(ctx, Retention); err != nil && ctx.Err() == nil {
				log.Warn("report store: pruning the change log failed", "err", err)
			}
			lastPrune = time.Now()
		}
	}
}

// settle waits, before a full load, until a bulk load has written no
// reload marker for quietPolls polls (at most settleMax): the scale seed
// writes one per batch, and loading everything again after each would
// read the table dozens of times. The store keeps answering meanwhile,
// behind by the bulk load.
func (y *Syncer) settle(ctx context.Context, mark string, poll time.Duration) {
	quiet, began := time.Now(), time.Now()
	for time.Since(quiet) < quietPolls*poll && time.Since(began) < settleMax && sleep(ctx, poll) {
		_, next, reload, err := y.Feed.FactChanges(ctx, mark)
		if err != nil {
			continue
		}
		if reload {
			quiet = time.Now()
		}
		mark = next
	}
}

// How long settle waits for a bulk load to end.
const (
	quietPolls = 10
	settleMax  = 2 * time.Minute
)

// apply reads what changed as it is now and puts it in place: the
// incidents first, whose facts the tasks and orders copy.
func (y *Syncer) apply(ctx context.Context, ch Changes) error {
	ids := ch.Incidents
	for len(ids) > 0 {
		batch := ids[:min(len(ids), fetchBatch)]
		ids = ids[len(batch):]
		var rows []Row
		if err := y.Feed.FactRows(ctx, batch, func(r Row) error {
			r.Units = append([]int64(nil), r.Units...)
			rows = append(rows, r)
			return nil
		}); err != nil {
			return err
		}
		y.Store.Apply(rows, missing(batch, rows, func(r Row) int64 { return r.ID }))
	}
	tids, oids := ch.Tasks, ch.Orders
	for len(tids) > 0 || len(oids) > 0 {
		tb, ob := tids[:min(len(tids), fetchBatch)], oids[:min(len(oids), fetchBatch)]
		tids, oids = tids[len(tb):], oids[len(ob):]
		var tasks []TaskRow
		var orders []OrderRow
		if err := y.Feed.FollowRows(ctx, tb, ob, func(r TaskRow) error {
			tasks = append(tasks, r)
			return nil
		}, func(r OrderRow) error {
			orders = append(orders, r)
			return nil
		}); err != nil {
			return err
		}
		y.Store.ApplyFollow(tasks, missing(tb, tasks, func(r TaskRow) int64 { return r.ID }),
			orders, missing(ob, orders, func(r OrderRow) int64 { return r.ID }))
	}
	return nil
}

// missing is the ids that no row of rows has.
func missing[R any](ids []int64, rows []R, id func(R) int64) []int64 {
	seen := make(map[int64]bool, len(rows))
	for _, r := range rows {
		seen[id(r)] = true
	}
	var gone []int64
	for _, x := range ids {
		if !seen[x] {
			gone = append(gone, x)
		}
	}
	return gone
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
