package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// intakeResult is what the HTTP intake load measured.
type intakeResult struct {
	Clients  int
	Call     call          // the form submitted
	Window   time.Duration // the measured interval, after the warm-up
	Logged   int           // incidents whose POST answered 303 within the window
	PerSec   float64
	Get      []time.Duration // GET /incidents/new latencies within the window
	Post     []time.Duration // POST /incidents latencies within the window
	Errors   int             // requests that failed or answered unexpectedly, whole run
	FirstErr string
}

// runIntake has one browser per dispatcher log calls as fast as the server
// lets it: open the form (GET /incidents/new: a draft), submit it (POST
// /incidents: 303 is success; the redirect is not followed). Only what
// completes within [warm-up end, warm-up end + window] is counted.
func runIntake(t *testing.T, e *env, clients int, warmup, window time.Duration) intakeResult {
	t.Helper()
	browsers := make([]*browser, clients)
	for i := range browsers {
		browsers[i] = e.browser(t)
		browsers[i].login(t, e.Users[i].Username)
	}
	c := callFromForm(t, browsers[0])

	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+window)
	// Requests are not cancelled at the end (the server would log the
	// aborted ones): each browser finishes its call and stops.
	ctx := context.Background()

	type sample struct {
		get, post time.Duration
		done      time.Time
	}
	var (
		mu       sync.Mutex
		samples  []sample
		errors   int
		firstErr string
		wg       sync.WaitGroup
	)
	fail := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		errors++
		if firstErr == "" {
			firstErr = msg
		}
	}
	for _, b := range browsers {
		wg.Go(func() {
			var mine []sample
			defer func() {
				mu.Lock()
				samples = append(samples, mine...)
				mu.Unlock()
			}()
			for time.Now().Before(to) {
				t0 := time.Now()
				status, page, err := b.get(ctx, "/incidents/new")
				key, ok := formKey(page)
				if err != nil || status != http.StatusOK || !ok {
					fail(fmt.Sprintf("GET /incidents/new: status %d, err %v, key found %v: %s", status, err, ok, snippet(page)))
					continue
				}
				t1 := time.Now()
				resp, body, err := b.post(ctx, "/incidents", c.values(key))
				t2 := time.Now()
				if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/incidents/") {
					st := 0
					if resp != nil {
						st = resp.StatusCode
					}
					fail(fmt.Sprintf("POST /incidents: status %d, err %v: %s", st, err, snippet(body)))
					continue
				}
				mine = append(mine, sample{get: t1.Sub(t0), post: t2.Sub(t1), done: t2})
			}
		})
	}
	wg.Wait()

	r := intakeResult{Clients: clients, Call: c, Window: window, Errors: errors, FirstErr: firstErr}
	for _, s := range samples {
		if s.done.Before(from) || s.done.After(to) {
			continue
		}
		r.Logged++
		r.Get = append(r.Get, s.get)
		r.Post = append(r.Post, s.post)
	}
	r.PerSec = float64(r.Logged) / window.Seconds()
	return r
}

func (r intakeResult) String() string {
	all := append(append([]time.Duration(nil), r.Get...), r.Post...)
	return fmt.Sprintf("intake via HTTP (%d clients, %s): %.0f incidents/s  (per request p50 %s, p99 %s; GET form p50 %s, POST p50 %s, p99 %s)",
		r.Clients, r.Window, r.PerSec, ms(percentile(all, 0.50)), ms(percentile(all, 0.99)),
		ms(percentile(r.Get, 0.50)), ms(percentile(r.Post, 0.50)), ms(percentile(r.Post, 0.99)))
}
