package faulttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// haCluster is a highly available PostgreSQL cluster on this machine
// alone: one etcd member on loopback ports (the consensus store) and two
// PostgreSQL nodes, each run by its own Patroni (the failover manager),
// with their own ports and data directories under a temporary directory,
// replicating synchronously (Patroni's synchronous_mode). It is what
// README.md's "Running highly available" describes, squeezed onto one
// machine and tuned to fail over fast.
type haCluster struct {
	t      *testing.T
	dir    string
	pgBin  string
	etcd   *exec.Cmd
	nodes  []*haNode
	uid    int // the postgres OS user, when the test runs as root
	gid    int
	asRoot bool
}

// haNode is one PostgreSQL node and its Patroni.
type haNode struct {
	name    string
	port    int // PostgreSQL
	api     int // Patroni's REST API
	data    string
	log     string // Patroni's (and PostgreSQL's start-up) output
	patroni *exec.Cmd
}

// haPrograms finds patroni, etcd and the PostgreSQL server programs. The
// test does not install them (.ci/run installs the Debian packages
// patroni and etcd-server): without them it is skipped, except in CI
// (CI=true), where it fails, so that a CI run cannot pass without it.
func haPrograms(t *testing.T) (patroni, etcd, pgBin string) {
	t.Helper()
	var missing []string
	var err error
	if patroni, err = exec.LookPath("patroni"); err != nil {
		missing = append(missing, "patroni (Debian package patroni)")
	}
	if etcd, err = exec.LookPath("etcd"); err != nil {
		missing = append(missing, "etcd (Debian package etcd-server)")
	}
	if pgBin, err = serverBinDir(); err != nil {
		missing = append(missing, "PostgreSQL server programs (Debian package postgresql-15)")
	}
	if len(missing) > 0 {
		msg := "high-availability fault test needs " + strings.Join(missing, ", ") +
			": install them (apt-get install patroni etcd-server postgresql-15; .ci/run does)"
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatal(msg + "; failing because CI is set")
		}
		t.Skip("skipping: " + msg)
	}
	return patroni, etcd, pgBin
}

// newHACluster starts etcd and two Patroni nodes and waits until one
// node leads and the other streams from it as its synchronous standby.
// Everything is stopped and deleted when the test ends.
func newHACluster(t *testing.T) *haCluster {
	t.Helper()
	patroni, etcd, pgBin := haPrograms(t)
	c := &haCluster{t: t, pgBin: pgBin, asRoot: os.Geteuid() == 0}
	var err error
	if c.dir, err = os.MkdirTemp("", "dvr-ha-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	if c.asRoot {
		// PostgreSQL refuses to run as root: Patroni, and the PostgreSQL it
		// starts, run as the postgres OS user, who owns the directory.
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, but there is no postgres OS user to run Patroni as: %v", err)
		}
		c.uid, _ = strconv.Atoi(pg.Uid)
		c.gid, _ = strconv.Atoi(pg.Gid)
		if err := os.Chown(c.dir, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
	}

	// etcd: one member, client and peer ports on loopback.
	client, peer := freePort(t), freePort(t)
	etcdLog, err := os.Create(filepath.Join(c.dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.etcd = exec.Command(etcd, "--name", "dvr", "--data-dir", filepath.Join(c.dir, "etcd"),
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", client),
		"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", client),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-cluster", fmt.Sprintf("dvr=http://127.0.0.1:%d", peer),
		"--log-level", "warn")
	c.etcd.Stdout, c.etcd.Stderr = etcdLog, etcdLog
	c.etcd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.etcd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-c.etcd.Process.Pid, syscall.SIGKILL)
		c.etcd.Wait()
		etcdLog.Close()
	})

	scope := fmt.Sprintf("dvr-ha-%d", os.Getpid())
	t.Cleanup(c.stop) // before starting any node, so that a failed start stops the others
	for i := range 2 {
		n := &haNode{name: fmt.Sprintf("pg%d", i+1), port: freePort(t), api: freePort(t)}
		n.data = filepath.Join(c.dir, n.name)
		n.log = filepath.Join(c.dir, n.name+".log")
		conf := filepath.Join(c.dir, n.name+".yml")
		if err := os.WriteFile(conf, []byte(c.patroniConfig(scope, n, client)), 0o644); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, n)
		c.startPatroni(patroni, n, conf)
		if i == 0 {
			// The first node bootstraps (initdb) and leads; the second
			// then clones it with pg_basebackup.
			c.waitLeader(60 * time.Second)
		}
	}
	c.waitSyncStandby(90 * time.Second)
	return c
}

// patroniConfig is node n's Patroni configuration. ttl, loop_wait and
// retry_timeout are tuned low so that a failover takes seconds, not the
// default half minute; primary_start_timeout 0 fails over at once when
// the primary's PostgreSQL crashes instead of restarting it in place
// (safe with synchronous_mode: the standby has every acknowledged
// commit). failsafe_mode is off: with one etcd member, losing it must not
// leave a primary running unsupervised. fsync is off (the test kills
// processes, not the machine); synchronous_commit stays on.
func (c *haCluster) patroniConfig(scope string, n *haNode, etcdPort int) string {
	return fmt.Sprintf(`scope: %[1]s
namespace: /dvresponse/
name: %[2]s
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:%[3]d
  connect_address: 127.0.0.1:%[3]d
etcd3:
  host: 127.0.0.1:%[4]d
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    primary_start_timeout: 0
    synchronous_mode: true
    failsafe_mode: false
    postgresql:
      use_pg_rewind: true
      parameters:
        max_connections: 100
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 5
        max_replication_slots: 5
        wal_keep_size: 256MB
        fsync: "off"
        synchronous_commit: "on"
  initdb:
    - encoding: UTF8
    - %[5]s
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:%[6]d
  connect_address: 127.0.0.1:%[6]d
  data_dir: %[7]s
  bin_dir: %[8]s
  pgpass: %[9]s
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
  parameters:
    unix_socket_directories: %[10]s
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
`, scope, n.name, n.api, etcdPort, strings.TrimPrefix(localeArg(), "--"), n.port, n.data, c.pgBin,
		filepath.Join(c.dir, n.name+".pgpass"), c.dir)
}

// startPatroni starts node n's Patroni, as the postgres OS user when the
// test runs as root, in a process group of its own.
func (c *haCluster) startPatroni(patroni string, n *haNode, conf string) {
	c.t.Helper()
	f, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(patroni, conf)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + c.dir, "LANG=C.UTF-8"}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.asRoot {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start patroni %s: %v", n.name, err)
	}
	n.patroni = cmd
	go func() { cmd.Wait(); f.Close() }()
}

// stop stops both Patronis and whatever PostgreSQL they left running.
func (c *haCluster) stop() {
	for _, n := range c.nodes {
		if n.patroni != nil && n.patroni.Process != nil {
			syscall.Kill(-n.patroni.Process.Pid, syscall.SIGKILL)
		}
	}
	for _, n := range c.nodes {
		if pid := n.postmasterPID(); pid > 0 {
			procs := liveProcesses(func(p procStat) bool { return p.pid == pid || p.ppid == pid })
			for _, p := range procs {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	}
	if c.t.Failed() {
		for _, n := range c.nodes {
			c.t.Logf("end of %s's Patroni log:\n%s", n.name, tail(n.log, 3000))
		}
		c.t.Logf("end of etcd's log:\n%s", tail(filepath.Join(c.dir, "etcd.log"), 1500))
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// postmasterPID is the pid in the node's postmaster.pid, or 0.
func (n *haNode) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(n.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// URL is a superuser URL for database db on node n alone.
func (n *haNode) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=2", n.port, db)
}

// URL is the multi-host URL serve is given: both nodes, and only a
// writable one will do (libpq's and pgx's target_session_attrs), so that
// connections follow the primary through a failover.
func (c *haCluster) URL(db string) string { return c.urlWith(db, "read-write") }

// urlWith is the multi-host URL with target_session_attrs=attrs.
func (c *haCluster) urlWith(db, attrs string) string {
	hosts := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		hosts[i] = fmt.Sprintf("127.0.0.1:%d", n.port)
	}
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&target_session_attrs=%s&connect_timeout=2",
		strings.Join(hosts, ","), db, attrs)
}

// role asks node n's PostgreSQL whether it is a primary: "primary",
// "standby", or "down".
func (n *haNode) role(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, n.URL("postgres"))
	if err != nil {
		return "down"
	}
	defer conn.Close(context.Background())
	var rec bool
	if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&rec); err != nil {
		return "down"
	}
	if rec {
		return "standby"
	}
	return "primary"
}

// primary is the node whose PostgreSQL is a primary, or nil.
func (c *haCluster) primary() *haNode {
	for _, n := range c.nodes {
		if n.role(context.Background()) == "primary" {
			return n
		}
	}
	return nil
}

// waitLeader waits until some node is a writable primary and returns it.
func (c *haCluster) waitLeader(limit time.Duration) *haNode {
	c.t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(200 * time.Millisecond) {
		if p := c.primary(); p != nil {
			return p
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no primary after %v", limit)
		}
	}
}

// waitSyncStandby waits until the primary has a synchronous standby
// streaming from it: from then on a commit is acknowledged only once it
// is on both nodes.
func (c *haCluster) waitSyncStandby(limit time.Duration) {
	c.t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(200 * time.Millisecond) {
		if p := c.primary(); p != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			conn, err := pgx.Connect(ctx, p.URL("postgres"))
			if err == nil {
				var n int
				err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'`).Scan(&n)
				conn.Close(context.Background())
				cancel()
				if err == nil && n > 0 {
					return
				}
			} else {
				cancel()
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no synchronous standby streaming after %v", limit)
		}
	}
}

// killPostmaster kills node n's PostgreSQL with SIGKILL, postmaster and
// every server process at once, as a crash of the server would; its
// Patroni lives on and, with primary_start_timeout 0, hands the
// leadership to the synchronous standby. It returns the number of
// processes killed, once all are gone.
func (c *haCluster) killPostmaster(n *haNode) int {
	c.t.Helper()
	pid := n.postmasterPID()
	if pid <= 0 {
		c.t.Fatalf("%s has no postmaster.pid", n.name)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		c.t.Fatalf("kill -STOP %d (postmaster of %s): %v", pid, n.name, err)
	}
	procs := liveProcesses(func(p procStat) bool { return p.pid == pid || p.ppid == pid })
	for _, p := range procs {
		syscall.Kill(p, syscall.SIGKILL)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if len(liveProcesses(func(p procStat) bool { return slices.Contains(procs, p.pid) })) == 0 {
			return len(procs)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("PostgreSQL processes of %s still alive 15 s after SIGKILL", n.name)
		}
	}
}
