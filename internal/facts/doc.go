// Package facts is the reporting engine (internal/report/ENGINE.md): an
// in-memory copy of the few columns of every incident that reports read,
// one narrow row per incident grouped by local day, from which every
// response-time and repeat-rate figure, grouping and filter is computed
// exactly by one scan of the days in range; beside them, the follow-up
// tasks and protection orders (follow.go) and each incident's actions
// (actions.go), for the follow-through figures and the dashboard's action
// counts.
//
// PostgreSQL stays the system of record. A Syncer loads the store from it
// in one snapshot, then follows the change log (report_changes, written by
// triggers in the same transaction as every change a report can see), so
// figures are at most a poll behind a commit. Until the store is loaded, and
// for a query in another time zone than the store's, Source answers from
// its fallback (postgres.DB: the incidents themselves).
package facts
