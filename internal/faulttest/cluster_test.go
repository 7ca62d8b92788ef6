package faulttest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cluster is a private PostgreSQL cluster in a temporary directory, for a
// test that kills it.
type cluster struct {
	t    *testing.T
	bin  string // directory of initdb, pg_ctl and postgres
	dir  string // base directory: data/, postgres.log
	data string
	log  string
	port int
	// asPostgres: the test runs as root, and PostgreSQL refuses to, so its
	// programs run as the postgres OS user (as .ci/postgres.sh does).
	asPostgres bool
}

// serverBinDir finds the directory holding initdb and pg_ctl: initdb's on
// PATH (symlinks resolved, so that pg_ctl and postgres come from the same
// version), else the newest /usr/lib/postgresql/*/bin.
func serverBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		d := filepath.Dir(p)
		if isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("initdb and pg_ctl are neither on PATH nor in /usr/lib/postgresql/*/bin")
}

// versionOf is the major version in /usr/lib/postgresql/VERSION/bin.
func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// newCluster creates and starts a cluster listening on a free loopback
// port. It is stopped and deleted when the test ends. Without initdb the
// test is skipped: the test does not install PostgreSQL (.ci/run does).
func newCluster(t *testing.T) *cluster {
	t.Helper()
	bin, err := serverBinDir()
	if err != nil {
		t.Skipf("skipping: no PostgreSQL server programs to run a private cluster with: %v "+
			"(install the postgresql package; CI's .ci/run installs it)", err)
	}
	c := newClusterDir(t, bin, "dvr-faulttest-")

	args := []string{"-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", localeArg()}
	if out, err := c.run("initdb", args...); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// fsync is off: the test kills processes, not the machine, and what a
	// killed process wrote is in the kernel's page cache. synchronous_commit
	// stays on: a commit is acknowledged only once its WAL is written, the
	// very property under test.
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = ''
fsync = off
full_page_writes = off
synchronous_commit = on
max_connections = 100
`, c.port)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	c.start()
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.data, "postmaster.pid")); err == nil {
			c.run("pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w", "-t", "30")
		}
	})
	return c
}

// URL is a superuser URL for database db.
func (c *cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// run runs one of the cluster's programs, as the postgres OS user when
// the test runs as root.
func (c *cluster) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	switch {
	case !c.asPostgres:
		cmd = exec.Command(path, args...)
	case hasCommand("runuser"):
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	default:
		q := []string{shellQuote(path)}
		for _, a := range args {
			q = append(q, shellQuote(a))
		}
		cmd = exec.Command("su", "postgres", "-s", "/bin/sh", "-c", strings.Join(q, " "))
	}
	cmd.Dir = "/" // never a directory the postgres user cannot read
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// localeArg is initdb's locale option: C.UTF-8 (Unicode-aware lower() and
// ILIKE, as on the machine's cluster) when the system has it, as
// .ci/postgres.sh chooses.
func localeArg() string {
	out, _ := exec.Command("locale", "-a").Output()
	for _, l := range strings.Fields(string(out)) {
		if strings.EqualFold(l, "C.UTF-8") || strings.EqualFold(l, "C.utf8") {
			return "--locale=C.UTF-8"
		}
	}
	return "--no-locale"
}

func hasCommand(name string) bool { _, err := exec.LookPath(name); return err == nil }

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// start starts the cluster and waits until it accepts connections
// (after a crash, once recovery has replayed the WAL).
func (c *cluster) start() {
	c.t.Helper()
	if out, err := c.run("pg_ctl", "start", "-D", c.data, "-l", c.log, "-w", "-t", "60"); err != nil {
		c.t.Fatalf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, c.logTail())
	}
}

// logTail is the end of the server log, for failures.
func (c *cluster) logTail() string {
	b, _ := os.ReadFile(c.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// postmasterPID reads the running postmaster's pid from postmaster.pid.
func (c *cluster) postmasterPID() int {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		c.t.Fatalf("read postmaster.pid: %v", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		c.t.Fatalf("postmaster.pid starts with %q, not a pid", line)
	}
	return pid
}

// kill kills PostgreSQL with SIGKILL, as a crash would: the postmaster
// and, in the same instant, every server process it started (each is its
// own process group, so no group signal reaches them all). The postmaster
// is stopped first so that it forks nothing while its children are
// listed. kill returns the number of processes killed, once all are gone.
func (c *cluster) kill() int {
	c.t.Helper()
	pid := c.postmasterPID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		c.t.Fatalf("kill -STOP %d (postmaster): %v", pid, err)
	}
	procs := liveProcesses(func(p procStat) bool { return p.pid == pid || p.ppid == pid })
	for _, p := range procs {
		syscall.Kill(p, syscall.SIGKILL)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		left := liveProcesses(func(p procStat) bool { return slices.Contains(procs, p.pid) })
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("PostgreSQL processes %v still alive 15 s after SIGKILL", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The dead postmaster's lock file stays behind. PostgreSQL removes a
	// stale one itself, unless the old pid still exists as an unreaped
	// zombie (no init reaps it in some containers): then it would refuse
	// to start. Every process is gone, so the file is stale: remove it.
	if err := os.Remove(filepath.Join(c.data, "postmaster.pid")); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.t.Fatalf("remove stale postmaster.pid: %v", err)
	}
	return len(procs)
}

// procStat is what /proc/PID/stat says of a process.
type procStat struct {
	pid, ppid, pgrp int
	state           byte
}

// liveProcesses lists the processes, zombies excepted, that match.
func liveProcesses(match func(procStat) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 {
			continue
		}
		p := procStat{pid: pid, state: f[0][0]}
		p.ppid, _ = strconv.Atoi(f[1])
		p.pgrp, _ = strconv.Atoi(f[2])
		if p.state != 'Z' && p.state != 'X' && match(p) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// freePort returns a TCP port on the loopback interface that is free now
// and that no other caller in this process has been given. The servers the
// tests start (PostgreSQL, etcd, Patroni's REST API) bind their port a
// while later; a port from the kernel's ephemeral range (":0") could be
// taken meanwhile by any outgoing connection or ":0" listener of the six
// tests running at once (a Patroni node once found its REST port "already
// in use"). So the port is drawn below that range, where the kernel hands
// out nothing by itself.
func freePort(t *testing.T) int {
	t.Helper()
	lo, hi := 20000, ephemeralLow()
	if hi-lo < 1000 {
		lo, hi = 10000, 20000
	}
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := lo + rand.IntN(hi-lo)
		if portsGiven[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[p] = true
		return p
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralLow is the lowest port the kernel picks for ":0" and outgoing
// connections (32768 when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 1024 {
				return n
			}
		}
	}
	return 32768
}

// newClusterDir prepares a cluster's directory, log path and port. Not
// t.TempDir: the postgres OS user (when the test runs as root) must be able
// to reach the directory, and t.TempDir's parent is private to the test's
// user. The directory is deleted when the test ends.
func newClusterDir(t *testing.T, bin, prefix string) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: bin, asPostgres: os.Geteuid() == 0}
	var err error
	if c.dir, err = os.MkdirTemp("", prefix); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	if c.asPostgres {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, but there is no postgres OS user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	c.data = filepath.Join(c.dir, "data")
	c.log = filepath.Join(c.dir, "postgres.log")
	c.port = freePort(t)
	return c
}
