package live_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/live"
)

// wait is how long a test waits for something that should happen at once.
const wait = 5 * time.Second

// slogFor logs to the test's output, shown on failure or with -v.
func slogFor(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newHub(t *testing.T) *live.Hub { return live.NewHub(slogFor(t)) }

// recv returns the next event or fails the test after wait.
func recv(t *testing.T, ch <-chan live.Event) live.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want an event")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("no event within", wait)
	}
	panic("unreachable")
}

// drain returns what is buffered in ch without waiting.
func drain(ch <-chan live.Event) []live.Event {
	var out []live.Event
	for {
		select {
		case ev := <-ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func TestHubPublishSubscribe(t *testing.T) {
	h := newHub(t)
	a, cancelA := h.Subscribe()
	defer cancelA()
	b, cancelB := h.Subscribe()
	defer cancelB()
	if got := h.Subscribers(); got != 2 {
		t.Fatalf("Subscribers() = %d, want 2", got)
	}
	h.Publish("incident:42")
	h.Publish("unit:7")
	want := []live.Event{{Kind: live.KindIncident, ID: 42}, {Kind: live.KindUnit, ID: 7}}
	for name, ch := range map[string]<-chan live.Event{"a": a, "b": b} {
		for _, w := range want {
			if got := recv(t, ch); got != w {
				t.Errorf("%s: got %+v, want %+v", name, got, w)
			}
		}
		if extra := drain(ch); len(extra) != 0 {
			t.Errorf("%s: unexpected extra events %+v", name, extra)
		}
	}
}

func TestHubMalformedIgnored(t *testing.T) {
	h := newHub(t)
	ch, cancel := h.Subscribe()
	defer cancel()
	for _, p := range []string{
		"", "incident", "incident:", ":5", "incident:abc", "incident:-1", "incident:0",
		"incident:+5", "incident: 5", "incident:5 ", "incident:1:2", "incident:99999999999999999999",
		"Incident:1", "in cident:5", "resync:1", "resync:0", "x-y:1",
	} {
		h.Publish(p)
	}
	h.Publish("unit:1")
	if got, want := recv(t, ch), (live.Event{Kind: live.KindUnit, ID: 1}); got != want {
		t.Fatalf("first event = %+v, want %+v (malformed payloads must be ignored)", got, want)
	}
	if extra := drain(ch); len(extra) != 0 {
		t.Fatalf("unexpected extra events %+v", extra)
	}
}

// TestHubSlowSubscriber checks that a subscriber that does not read never
// blocks Publish, and that it is told to resync once it catches up.
func TestHubSlowSubscriber(t *testing.T) {
	h := newHub(t)
	slow, cancel := h.Subscribe()
	defer cancel()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 1000; i++ {
			h.Publish(fmt.Sprintf("incident:%d", i))
		}
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}

	got := drain(slow)
	if len(got) == 0 || got[len(got)-1].Kind != live.KindResync {
		t.Fatalf("slow subscriber got %d events ending %+v, want a final resync", len(got), got[len(got)-1:])
	}
	for i, ev := range got[:len(got)-1] {
		if want := (live.Event{Kind: live.KindIncident, ID: int64(i + 1)}); ev != want {
			t.Fatalf("event %d = %+v, want %+v (in order, before the resync)", i, ev, want)
		}
	}

	// Caught up: events flow normally again.
	h.Publish("unit:5")
	if got, want := recv(t, slow), (live.Event{Kind: live.KindUnit, ID: 5}); got != want {
		t.Fatalf("after catching up got %+v, want %+v", got, want)
	}
}

// TestHubResyncCoalesces checks that while a resync is queued and unread,
// further events and resyncs add nothing, and that the subscriber reads
// exactly one resync.
func TestHubResyncCoalesces(t *testing.T) {
	h := newHub(t)
	ch, cancel := h.Subscribe()
	defer cancel()
	for i := 1; i <= 200; i++ {
		h.Publish(fmt.Sprintf("unit:%d", i))
		if i%10 == 0 {
			<-ch // read a little, making room now and then
			h.Resync()
		}
	}
	resyncs := 0
	for _, ev := range drain(ch) {
		if ev.Kind == live.KindResync {
			resyncs++
		}
	}
	if resyncs != 1 {
		t.Fatalf("got %d resync events, want exactly 1", resyncs)
	}

	// With an empty buffer, Resync sends one resync to everyone.
	other, cancelOther := h.Subscribe()
	defer cancelOther()
	h.Resync()
	h.Resync()
	for name, c := range map[string]<-chan live.Event{"old": ch, "new": other} {
		if got := drain(c); len(got) != 1 || got[0].Kind != live.KindResync {
			t.Errorf("%s subscriber after two Resyncs with nothing read got %+v, want one resync", name, got)
		}
	}
}

func TestHubCancel(t *testing.T) {
	h := newHub(t)
	ch, cancel := h.Subscribe()
	cancel()
	cancel() // idempotent
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed after cancel")
	}
	if n := h.Subscribers(); n != 0 {
		t.Fatalf("Subscribers() = %d after cancel, want 0", n)
	}
	h.Publish("incident:1") // must not send on the closed channel
	h.Resync()
}

// TestHubConcurrent exercises Publish, Resync, Subscribe and cancel at once
// (for the race detector).
func TestHubConcurrent(t *testing.T) {
	h := newHub(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				h.Publish(fmt.Sprintf("incident:%d", i*1000+j+1))
				if j%50 == 0 {
					h.Resync()
				}
			}
		})
		wg.Go(func() {
			for range 20 {
				ch, cancel := h.Subscribe()
				for range 5 {
					select {
					case <-ch:
					default:
					}
				}
				if i%2 == 0 {
					go cancel() // concurrently with this goroutine's next cancel
				}
				cancel()
			}
		})
	}
	wg.Wait()
	if n := h.Subscribers(); n != 0 {
		t.Fatalf("Subscribers() = %d, want 0", n)
	}
}

// TestHubRun checks that Run wires the listener to Publish and answers
// every (re)connect with a resync.
func TestHubRun(t *testing.T) {
	h := newHub(t)
	ch, cancel := h.Subscribe()
	defer cancel()
	expect := func(want live.Event) {
		t.Helper()
		if got := recv(t, ch); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
	errListen := errors.New("listen stopped")
	err := h.Run(context.Background(), func(ctx context.Context, onConnect func(), onPayload func(string)) error {
		onConnect()
		expect(live.Event{Kind: live.KindResync})
		onPayload("incident:3")
		onPayload("garbage")
		expect(live.Event{Kind: live.KindIncident, ID: 3})
		onConnect() // reconnected: changes may have been missed
		expect(live.Event{Kind: live.KindResync})
		onPayload("unit:4")
		expect(live.Event{Kind: live.KindUnit, ID: 4})
		return errListen
	})
	if !errors.Is(err, errListen) {
		t.Fatalf("Run returned %v, want the listener's error", err)
	}
	if extra := drain(ch); len(extra) != 0 {
		t.Fatalf("unexpected extra events %+v", extra)
	}
}

// TestHubQueuedResyncCoversLaterEvents checks that events published while
// an unread resync is queued are not sent: the re-read the resync causes
// happens after they were committed.
func TestHubQueuedResyncCoversLaterEvents(t *testing.T) {
	h := newHub(t)
	ch, cancel := h.Subscribe()
	defer cancel()
	h.Resync()
	h.Publish("incident:1")
	expectOnly := func(want live.Event) {
		t.Helper()
		if got := drain(ch); len(got) != 1 || got[0] != want {
			t.Fatalf("got %+v, want only %+v", got, want)
		}
	}
	expectOnly(live.Event{Kind: live.KindResync})
	h.Publish("incident:2")
	expectOnly(live.Event{Kind: live.KindIncident, ID: 2})
}
