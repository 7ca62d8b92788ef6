// Package bench measures dvresponse under load; it holds tests only.
//
// `make bench` runs TestBench with DVR_BENCH=1 and prints:
//
//   - incidents logged per second through the real HTTP intake path
//     (session, cross-origin check, form key, validation, insert, audit,
//     notification) with 16 concurrent dispatchers, each logged in as its
//     own user, and per-request latency;
//   - pgbench running the intake's database statements directly
//     (testdata/intake.pgbench.sql: the draft, its reads and
//     CreateIncident's transaction with the DV follow-ups) on the same
//     database in the same run, and the ratio of the two;
//   - the same pgbench at 16 clients with the report store's change log
//     (migration 0026's triggers) on and off, alternating ON OFF, OFF ON,
//     ON OFF, each round as long as the intake window: each round's tps,
//     the medians, ON/OFF, HTTP intake / OFF (issue 15: ≥ 0.8 and ≥ 0.5),
//     and a check that report_changes gains one row per incident and per
//     follow-up task when ON and none when OFF;
//   - the time from an incident's commit to its event reaching each of 200
//     connected live-board streams (median, 99th percentile, missed);
//   - TestBenchImport: a 100,000-row historic import (time, rate, heap
//     while it runs) and its re-import (DVR_BENCH_IMPORT_ROWS to change
//     the size).
//
// With DVR_BENCH_REPORT=1 (make bench's second step), TestBenchReport
// prints, at 1 and 10 million incidents, the seed, the time to recompute
// every incident's history keys, POST /incidents/history's latency split
// into phases and the intake panel's repeat counts (the report's, the
// dashboard's and the repeat rates' latencies are TestBenchEngine's);
// TestBenchHistory
// (DVR_BENCH_HISTORY=1) runs the history part alone on the databases
// make bench built.
//
// With DVR_BENCH_ENGINE=1 (make bench's third step), TestBenchEngine
// loads the reporting engine (internal/facts) beside the server on the
// two scale databases and prints issue 15's matrix through HTTP as a
// Markdown table: GET /reports/response-times.json and GET /dashboard for
// every grouping, interval and filter over a calendar year, a rolling year
// and the last 28 days, median and p95 beside one run of
// ResponseTimesNaive (every distinct query at both scales; at 10 M a named
// handful with DVR_BENCH_ENGINE_NAIVE=some) whose result the served JSON
// is checked against; the store's load
// time and heap beside the incidents table's size; growth 1 M -> 10 M.
// TestBenchEngineSmoke runs the same harness on a small database.
//
// Issue 15's spike of an embedded DuckDB copy of the incidents is a module
// of its own, olapspike (its go.mod keeps DuckDB out of the application's):
// TestBenchOLAP (DVR_BENCH_OLAP=1, on the two scale databases) prints its
// load time, size and the report matrix at 1 M and 10 M beside
// ResponseTimesNaive; TestBenchOLAPSmoke checks every cell against
// ResponseTimesNaive on a small database. internal/report/ENGINE.md holds
// the figures.
//
// Without DVR_BENCH, `go test` runs TestBenchSmoke: the same harness at a
// tiny size, so that it keeps working.
//
// Knobs (environment): DVR_BENCH_DURATION (default 10s),
// DVR_BENCH_WARMUP (2s), DVR_BENCH_CLIENTS (16), DVR_BENCH_BOARDS (200),
// DVR_BENCH_INCIDENTS (50), DVR_BENCH_SPACING (100ms),
// DVR_BENCH_ONOFF_ROUNDS (3).
package bench
