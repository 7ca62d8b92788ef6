package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/match"
)

// fanoutResult is what the board fan-out measured.
type fanoutResult struct {
	Boards, Incidents int
	Latencies         []time.Duration // arrival − commit, one per delivery
	Missed            int             // deliveries expected but not seen
	Connect           time.Duration   // until every board had its first resync
}

// boardStream is one live board's GET /board/events, read in the
// background.
type boardStream struct {
	ready chan struct{} // closed at the first resync
	done  chan struct{} // closed when the reader stops
	// arrivals is written only by the reader goroutine and read only after
	// done is closed.
	arrivals map[int64]time.Time
}

// runFanout connects boards event streams (sharing one dispatcher's
// session, each on its own connection), waits until each has its initial
// resync, then logs incidents one at a time, spacing apart, through the
// store (the commit time is taken when CreateIncident returns), and
// measures when each board receives "incident:<id>".
func runFanout(t *testing.T, e *env, c call, boards, incidents int, spacing time.Duration) fanoutResult {
	t.Helper()
	login := e.browser(t)
	login.login(t, e.Board.Username)

	// One transport, no idle pool limit: each open stream holds its own
	// connection, as each browser would.
	tr := &http.Transport{MaxIdleConnsPerHost: boards, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Jar: login.jar, Transport: tr}

	ctx, cancel := context.WithCancel(context.Background())
	var delivered atomic.Int64
	streams := make([]*boardStream, boards)
	began := time.Now()
	var errMu sync.Mutex
	var connErr error
	for i := range streams {
		s := &boardStream{ready: make(chan struct{}), done: make(chan struct{}), arrivals: make(map[int64]time.Time, incidents)}
		streams[i] = s
		go func() {
			defer close(s.done)
			err := s.read(ctx, hc, e.URL, &delivered)
			if err != nil && ctx.Err() == nil {
				errMu.Lock()
				if connErr == nil {
					connErr = err
				}
				errMu.Unlock()
			}
		}()
	}
	stop := func() {
		cancel()
		for _, s := range streams {
			<-s.done
		}
	}
	defer stop()
	timeout := time.After(30 * time.Second)
	for i, s := range streams {
		select {
		case <-s.ready:
		case <-s.done:
			errMu.Lock()
			defer errMu.Unlock()
			t.Fatalf("board %d: stream ended before its first resync: %v", i, connErr)
		case <-timeout:
			t.Fatalf("board %d: no initial resync within 30 s", i)
		}
	}
	r := fanoutResult{Boards: boards, Incidents: incidents, Connect: time.Since(began)}
	if n := e.Hub.Subscribers(); n != boards {
		t.Fatalf("hub has %d subscribers, want %d", n, boards)
	}

	// Log the incidents, one every spacing.
	bctx := context.Background()
	by := audit.Actor{UserID: e.Board.ID, Username: e.Board.Username, Role: string(e.Board.Role), IP: "127.0.0.1"}
	v := c.values("")
	commits := make(map[int64]time.Time, incidents)
	next := time.Now()
	for range incidents {
		time.Sleep(time.Until(next))
		next = next.Add(spacing)
		key, receivedAt, err := e.DB.CreateDraft(bctx, e.Board.ID)
		if err != nil {
			t.Fatalf("create draft: %v", err)
		}
		f := incident.Form{Key: key, Address: v.Get("address"), DistrictID: c.District, TypeID: c.Type,
			Priority: c.Priority, CallerName: v.Get("caller_name"), CallerPhone: v.Get("caller_phone"),
			VictimName: v.Get("victim_name"), SuspectName: v.Get("suspect_name"), Weapons: "yes", Narrative: v.Get("narrative")}
		n, err := f.Validate(receivedAt, time.Now().UTC(), time.UTC, match.Rules{Region: "KG"})
		if err != nil {
			t.Fatalf("validate call: %v", err)
		}
		id, _, created, err := e.DB.CreateIncident(bctx, n, time.UTC, by)
		committed := time.Now()
		if err != nil || !created {
			t.Fatalf("create incident: created %v, %v", created, err)
		}
		commits[id] = committed
	}

	// Wait for the last deliveries (or give up: they are missed).
	want := int64(boards * incidents)
	deadline := time.Now().Add(5 * time.Second)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()

	for _, s := range streams {
		for id, committed := range commits {
			at, ok := s.arrivals[id]
			if !ok {
				r.Missed++
				continue
			}
			r.Latencies = append(r.Latencies, at.Sub(committed))
		}
	}
	return r
}

// read opens the stream and records the arrival of each incident event
// until ctx ends or the stream does.
func (s *boardStream) read(ctx context.Context, hc *http.Client, base string, delivered *atomic.Int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/board/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /board/events: status %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	ready := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data: ")
		if !ok {
			continue
		}
		at := time.Now()
		switch {
		case data == "resync":
			if !ready {
				ready = true
				close(s.ready)
			}
		case strings.HasPrefix(data, "incident:"):
			id, err := strconv.ParseInt(strings.TrimPrefix(data, "incident:"), 10, 64)
			if err != nil {
				return fmt.Errorf("bad event %q", data)
			}
			if _, dup := s.arrivals[id]; !dup {
				s.arrivals[id] = at
				delivered.Add(1)
			}
		}
	}
}

func (r fanoutResult) String() string {
	return fmt.Sprintf("board fan-out, %d clients x %d incidents: p50 %s, p99 %s, max %s, missed %d",
		r.Boards, r.Incidents, ms(percentile(r.Latencies, 0.50)), ms(percentile(r.Latencies, 0.99)),
		ms(percentile(r.Latencies, 1)), r.Missed)
}
