package faulttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/seed"
)

// Phases of the outage test, as seen when a response arrives.
const (
	phaseUp        int32 = iota // PostgreSQL running, before the kill
	phaseDown                   // killed, not yet restarted
	phaseRestarted              // running again (pg_ctl start has returned)
)

// ack is a submission the application acknowledged: 303 to the incident.
type ack struct {
	client    int
	key       string
	address   string
	id        int64
	sentPhase int32 // phase when the acknowledged POST was sent
	resends   int   // POSTs of this key before the acknowledged one
}

// tally is what the clients saw.
type tally struct {
	mu             sync.Mutex
	acks           []ack
	posts          int // POST /incidents sent
	resent         int // of which re-sends of a key already sent
	retryPages     int // 503 "try again" pages that kept the input, answering a POST
	retryPagesDown int // of which answered while PostgreSQL was down
	getTryAgain    int // 503 "try again" pages answering GET /incidents/new
	transportErrs  int // requests that got no HTTP answer at all
	unexpected     int // any other answer (a 500, a 503 that lost the input, a stack trace...)
	samples        []string
}

func (t *tally) bad(what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unexpected++
	if len(t.samples) < 8 {
		t.samples = append(t.samples, what)
	}
}

// TestDatabaseOutageUnderLoad is the acceptance test for surviving a
// database crash. 50 dispatchers, each logged in from their own
// workstation, log calls through HTTP as fast as the server answers:
// open the intake form (GET /incidents/new: a new idempotency key), submit
// it (POST /incidents) until it is acknowledged (303 to the incident),
// re-sending the same form, key included, after every failure, as the
// "try again" page does. A third of the way through, PostgreSQL is killed
// with SIGKILL (postmaster and every backend) and, 2 s later, started
// again; it recovers from its WAL. The application is never restarted.
//
// Afterwards: every acknowledged call is in the database, none is there
// twice, no call is there that was not acknowledged, the audit chain
// verifies, the application answered during the outage with the "try
// again" page (input kept, no internals), and it served new calls after
// the restart by itself. The counts are printed (go test -v, make faulttest).
func TestDatabaseOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a PostgreSQL cluster; skipped with -short")
	}
	t.Parallel()
	const (
		clients   = 50
		perClient = 6 // acknowledged calls each
		outage    = 2 * time.Second
		runLimit  = 3 * time.Minute
	)
	began := time.Now()
	pg := newCluster(t)
	ctx := context.Background()
	createDatabase(t, pg.URL("postgres"), "dvresponse")
	dbURL := pg.URL("dvresponse")
	migrateUp(t, dbURL)
	db := openDB(t, dbURL, 20) // serve's default DVR_DB_MAX_CONNS
	if err := seed.Demo(ctx, db, time.UTC, io.Discard); err != nil {
		t.Fatalf("seed demo data: %v", err)
	}
	users := createDispatchers(t, db, "fault.dispatcher", clients)
	userIDs := make([]int64, len(users))
	for i, u := range users {
		userIDs[i] = u.ID
	}
	a := startApp(t, db, newLogCounter(nil))

	// Everyone logs in while the database is up (sessions live in it and
	// survive the crash: they were committed).
	browsers := make([]*browser, clients)
	loginErrs := make([]error, clients)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range browsers {
		browsers[i] = a.browser(t, fmt.Sprintf("10.77.%d.%d", i/200, i%200+10))
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			loginErrs[i] = browsers[i].login(users[i].Username)
		})
	}
	wg.Wait()
	if err := errors.Join(loginErrs...); err != nil {
		t.Fatal(err)
	}
	// The reference values a call needs, from a real intake form.
	first := browsers[0].get(ctx, "/incidents/new")
	district, typ, prio := optionValues(first.Body, "district_id"), optionValues(first.Body, "type_id"), optionValues(first.Body, "priority")
	if first.Status != http.StatusOK || len(district) == 0 || len(typ) == 0 || len(prio) == 0 {
		t.Fatalf("GET /incidents/new: status %d, %d districts, %d types, %d priorities: %s",
			first.Status, len(district), len(typ), len(prio), snippet(first.Body))
	}
	var before int64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM incidents`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	t.Logf("setup (cluster, migrate, demo seed, %d users and logins) took %v", clients, time.Since(began).Round(time.Millisecond))

	// The live hub must come back too: watch for its resync after the restart.
	events, unsubscribe := a.Hub.Subscribe()
	defer unsubscribe()
	var phase atomic.Int32
	var hubMu sync.Mutex
	var resyncAfterRestart bool
	incidentEvents := map[int64]int32{} // id -> phase when heard
	go func() {
		for ev := range events {
			hubMu.Lock()
			switch {
			// After the kill, not only once pg_ctl start has returned: the
			// hub may reconnect (and resync) as soon as PostgreSQL accepts
			// connections, before pg_ctl notices. Nothing flows while the
			// server is down, so a resync then is the reconnection's.
			case ev.Kind == live.KindResync && phase.Load() != phaseUp:
				resyncAfterRestart = true
			case ev.Kind == live.KindIncident:
				incidentEvents[ev.ID] = phase.Load()
			}
			hubMu.Unlock()
		}
	}()

	var tl tally
	var acked atomic.Int64
	runStart := time.Now()
	deadline := runStart.Add(runLimit)
	pause := func() { time.Sleep(100*time.Millisecond + rand.N(100*time.Millisecond)) }
	progress := make([]atomic.Int32, clients)
	for i, b := range browsers {
		wg.Go(func() {
			for n := 0; n < perClient && time.Now().Before(deadline); {
				// Open the form; retry until the server hands out a key.
				r := b.get(ctx, "/incidents/new")
				key, ok := formKey(r.Body)
				switch {
				case r.Err != nil:
					tl.mu.Lock()
					tl.transportErrs++
					tl.mu.Unlock()
					pause()
					continue
				case r.Status == http.StatusOK && ok:
				case r.Status == http.StatusServiceUnavailable && strings.Contains(r.Body, "Please try again") && !hasInternals(r.Body):
					tl.mu.Lock()
					tl.getTryAgain++
					tl.mu.Unlock()
					pause()
					continue
				default:
					tl.bad(fmt.Sprintf("GET /incidents/new (phase %d): status %d: %s", phase.Load(), r.Status, snippet(r.Body)))
					pause()
					continue
				}
				address := fmt.Sprintf("Fault test street %02d-%02d", i+1, n+1)
				form := url.Values{"key": {key}, "address": {address}, "district_id": {district[0]},
					"type_id": {typ[0]}, "priority": {prio[0]}, "caller_name": {"Caller " + strconv.Itoa(i+1)},
					"narrative": {"Neighbour reports shouting; fault-test call " + address}}
				// Submit until acknowledged, always with the same key.
				for sends := 0; time.Now().Before(deadline); sends++ {
					sent := phase.Load()
					r := b.post(ctx, "/incidents", form)
					now := phase.Load()
					tl.mu.Lock()
					tl.posts++
					if sends > 0 {
						tl.resent++
					}
					tl.mu.Unlock()
					if m := incidentRE.FindStringSubmatch(r.Location); r.Err == nil && r.Status == http.StatusSeeOther && m != nil {
						id, _ := strconv.ParseInt(m[1], 10, 64)
						tl.mu.Lock()
						tl.acks = append(tl.acks, ack{client: i, key: key, address: address, id: id, sentPhase: sent, resends: sends})
						tl.mu.Unlock()
						acked.Add(1)
						n++
						progress[i].Store(int32(n))
						break
					}
					switch {
					case r.Err != nil:
						tl.mu.Lock()
						tl.transportErrs++
						tl.mu.Unlock()
					case r.Status == http.StatusServiceUnavailable && keepsInput(r.Body, key, address):
						tl.mu.Lock()
						tl.retryPages++
						if now == phaseDown {
							tl.retryPagesDown++
						}
						tl.mu.Unlock()
					default:
						tl.bad(fmt.Sprintf("POST /incidents (phase %d→%d): status %d, Location %q: %s",
							sent, now, r.Status, r.Location, snippet(r.Body)))
					}
					pause()
				}
			}
		})
	}

	// Kill PostgreSQL a third of the way through, restart it 2 s later.
	var killedAt, restartedAt time.Time
	var killedProcs int
	for acked.Load() < clients*perClient/3 && time.Since(runStart) < time.Minute {
		time.Sleep(5 * time.Millisecond)
	}
	ackedBeforeKill := acked.Load()
	killedAt = time.Now()
	killedProcs = pg.kill()
	phase.Store(phaseDown)
	time.Sleep(outage - time.Since(killedAt))
	pg.start()
	restartedAt = time.Now()
	phase.Store(phaseRestarted)
	wg.Wait()
	runTime := time.Since(runStart)

	// The clients are done: what did they get?
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for i := range progress {
		if n := progress[i].Load(); n < perClient {
			t.Errorf("client %d has %d of %d calls acknowledged after %v", i+1, n, perClient, runLimit)
		}
	}
	var afterRestart int
	for _, k := range tl.acks {
		if k.sentPhase == phaseRestarted {
			afterRestart++
		}
	}

	// And what is in the database?
	keys := map[string]bool{}
	ids := make([]int64, 0, len(tl.acks))
	for _, k := range tl.acks {
		if keys[k.key] {
			t.Errorf("key %s acknowledged twice", k.key)
		}
		keys[k.key] = true
		ids = append(ids, k.id)
	}
	type stored struct {
		key, address string
		createdAt    time.Time // the start of the transaction that stored it
	}
	found := map[int64]stored{}
	rows, err := db.Pool.Query(ctx, `SELECT id, idempotency_key::text, address, created_at FROM incidents WHERE id = ANY($1)`, ids)
	if err != nil {
		t.Fatalf("read the acknowledged incidents: %v", err)
	}
	for rows.Next() {
		var id int64
		var s stored
		if err := rows.Scan(&id, &s.key, &s.address, &s.createdAt); err != nil {
			t.Fatal(err)
		}
		found[id] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// A re-sent call stored by a transaction that began before the kill
	// was committed before it: the failure the client saw hid a commit, and
	// the key found the stored call instead of logging it again.
	lost, resentAcks, hiddenCommits := 0, 0, 0
	for _, k := range tl.acks {
		s, ok := found[k.id]
		if k.resends > 0 {
			resentAcks++
			if ok && s.createdAt.Before(killedAt) {
				hiddenCommits++
			}
		}
		if !ok || s.key != k.key || s.address != k.address {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged call %q (key %s) answered with incident %d, which the database holds as %+v (found %v)",
					k.address, k.key, k.id, s, ok)
			}
		}
	}
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := db.Pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	created := count(`SELECT count(*) FROM incidents WHERE created_by = ANY($1)`, userIDs)
	dupKeys := count(`SELECT count(*) FROM (SELECT idempotency_key FROM incidents WHERE idempotency_key IS NOT NULL
		GROUP BY 1 HAVING count(*) > 1) d`)
	// The same call under two keys would be a duplicate the unique key cannot see.
	dupCalls := count(`SELECT count(*) FROM (SELECT address FROM incidents WHERE created_by = ANY($1)
		GROUP BY 1 HAVING count(*) > 1) d`, userIDs)
	total := count(`SELECT count(*) FROM incidents`)
	audited := count(`SELECT count(*) FROM audit_events WHERE action = 'incident.create' AND user_id = ANY($1)`, userIDs)
	auditRows, problem, err := db.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("verify the audit chain: %v", err)
	}

	// The live board's feed came back by itself.
	var heardAfter int
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		hubMu.Lock()
		heardAfter = 0
		for _, k := range tl.acks {
			if k.sentPhase == phaseRestarted {
				if _, ok := incidentEvents[k.id]; ok {
					heardAfter++
				}
			}
		}
		resync := resyncAfterRestart
		hubMu.Unlock()
		if (resync && heardAfter > 0) || time.Now().After(wait) {
			if !resync {
				t.Error("the live hub did not resync after PostgreSQL came back (its LISTEN connection did not reconnect)")
			}
			break
		}
	}
	ready := browsers[0].get(ctx, "/readyz")

	t.Logf("PostgreSQL killed (SIGKILL, %d processes) after %d acknowledged calls, %v into the run; restarted %v later (crash recovery included)",
		killedProcs, ackedBeforeKill, killedAt.Sub(runStart).Round(time.Millisecond), restartedAt.Sub(killedAt).Round(time.Millisecond))
	t.Logf("clients: %d, each logging %d calls; run took %v", clients, perClient, runTime.Round(time.Millisecond))
	t.Logf("acknowledged:   %d calls (%d distinct keys), %d of them sent after the restart", len(tl.acks), len(keys), afterRestart)
	t.Logf("submissions:    %d POSTs, of which %d re-sent a key after a failure; %d calls acknowledged only after a re-send, %d of them already stored before the kill (a commit whose answer was lost)",
		tl.posts, tl.resent, resentAcks, hiddenCommits)
	t.Logf("retry pages:    %d POST answers were the 503 'try again' page with the input kept (%d while PostgreSQL was down); %d GET /incidents/new answered 503 'try again'",
		tl.retryPages, tl.retryPagesDown, tl.getTryAgain)
	t.Logf("other answers:  %d transport errors, %d unexpected", tl.transportErrs, tl.unexpected)
	t.Logf("database:       %d incidents by the test dispatchers (%d in all, %d before the run), duplicates=%d (keys %d, calls %d), lost=%d, audited creations=%d",
		created, total, before, dupKeys+dupCalls, dupKeys, dupCalls, lost, audited)
	t.Logf("audit chain:    %d rows, intact=%v; live hub: resync after restart=%v, %d post-restart incidents heard",
		auditRows, problem == nil, resyncAfterRestart, heardAfter)
	t.Logf("readyz after:   %d %s; server log: %s", ready.Status, strings.TrimSpace(ready.Body), a.Logs.summary())

	for _, s := range tl.samples {
		t.Errorf("unexpected answer: %s", s)
	}
	if tl.unexpected > len(tl.samples) {
		t.Errorf("… and %d more unexpected answers", tl.unexpected-len(tl.samples))
	}
	for _, e := range a.Logs.errors() {
		t.Errorf("server logged an error: %s", e)
	}
	if lost != 0 {
		t.Errorf("%d acknowledged calls are not in the database", lost)
	}
	if dupKeys != 0 || dupCalls != 0 {
		t.Errorf("duplicates in the database: %d keys, %d calls stored more than once", dupKeys, dupCalls)
	}
	if created != int64(len(keys)) {
		t.Errorf("the database holds %d incidents by the test dispatchers, want %d (one per acknowledged key)", created, len(keys))
	}
	if total != before+created {
		t.Errorf("the database holds %d incidents, want %d before the run + %d logged", total, before, created)
	}
	if audited != created {
		t.Errorf("%d incident.create audit rows for %d incidents", audited, created)
	}
	if problem != nil {
		t.Errorf("audit chain broken at row %d: %s", problem.ID, problem.Reason)
	}
	if tl.retryPagesDown == 0 {
		t.Error("no POST was answered with the 'try again' page while PostgreSQL was down")
	}
	if afterRestart == 0 {
		t.Error("no call was acknowledged after PostgreSQL came back: the application did not recover by itself")
	}
	if ready.Status != http.StatusOK {
		t.Errorf("GET /readyz after the restart: %d %s", ready.Status, ready.Body)
	}
}

// keepsInput reports whether a 503 answer to the intake POST is the "try
// again" page holding what was typed (the key included, so that sending it
// again cannot log the call twice) and nothing of the server's internals.
func keepsInput(page, key, address string) bool {
	return strings.Contains(page, "Nothing you typed has been lost") && strings.Contains(page, `value="`+key+`"`) &&
		strings.Contains(page, address) && !hasInternals(page)
}

func hasInternals(page string) bool { _, ok := showsInternals(page); return ok }

// createDatabase creates database name on the server at adminURL.
func createDatabase(t *testing.T, adminURL, name string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), adminURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", adminURL, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
}

// migrateUp applies every migration, as `dvresponse migrate up` does.
func migrateUp(t *testing.T, url string) {
	t.Helper()
	m, err := postgres.NewMigrator(url)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
}
