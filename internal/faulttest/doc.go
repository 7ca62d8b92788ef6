// Package faulttest holds the fault-tolerance and backup tests: the
// application keeps every acknowledged call, and recovers by itself, when
// PostgreSQL is killed and restarted under load; a full connection pool
// answers 503 quickly; a pg_dump backup restores into a new database with
// every incident and the audit chain intact; reports read from a
// streaming replica give the primary's figures once it has replayed,
// report its lag, and answer 503 while it is down; on a highly available
// cluster (etcd and two Patroni-managed nodes replicating synchronously)
// the application follows the primary through a failover under load and
// loses no acknowledged call.
//
// The outage test runs its own PostgreSQL cluster (initdb and pg_ctl from
// PATH or /usr/lib/postgresql/*/bin, as the postgres OS user when run as
// root), because it kills it; the reporting-replica test runs its own
// primary and a streaming replica of it made with pg_basebackup, because
// it pauses and stops the replica; the failover test runs etcd and two
// Patroni nodes (the Debian packages etcd-server and patroni; skipped
// without them, failing in CI) as the postgres OS user when run as root;
// the other tests use DATABASE_URL as
// every other package does. `make faulttest` runs them verbosely and
// prints the outage test's counts.
package faulttest
