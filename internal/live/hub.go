// Package live fans database change notifications out to the live-board
// clients of this process.
//
// Every serve process LISTENs on one PostgreSQL channel (see
// postgres.DB.Listen), so a change committed through any process reaches
// the boards of all of them. Notifications carry ids only; a client that
// receives one re-reads the record, with its own permissions, through the
// ordinary read paths.
//
// Delivery is best effort and never blocks the database listener. Whenever
// events may have been lost (a slow client's buffer overflowed, or the
// listening connection broke and was re-established) the client is sent a
// resync event instead, telling it to re-read the whole board. That makes
// the board eventually correct without any per-client replay log.
package live

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// Event kinds. Payloads may name other kinds too; subscribers should ignore
// kinds they do not know.
const (
	KindIncident = "incident" // an incident changed; re-read it by ID
	KindUnit     = "unit"     // a unit changed; re-read it by ID
	// KindRefdata: reference data changed (targets, units, labels);
	// every board re-reads. Its ID says nothing (always 1).
	KindRefdata = "refdata"
	// KindResync means events may have been missed: re-read everything.
	// Its ID is zero.
	KindResync = "resync"
)

// Event says that the record of Kind with ID has changed, or, for
// KindResync, that the subscriber must re-read the whole board.
type Event struct {
	Kind string
	ID   int64
}

// bufferSize is each subscriber's channel capacity: enough to absorb a
// burst of changes while a client is busy writing to its network
// connection, small enough that re-reading the board is cheaper than
// catching up.
const bufferSize = 64

// Hub distributes events to subscribers. Its methods are safe for
// concurrent use; the zero value is not usable, call NewHub.
type Hub struct {
	log *slog.Logger

	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

// subscriber is one Subscribe call's channel and delivery state, guarded by
// Hub.mu. The hub is the only sender on ch, and sends only while holding
// Hub.mu, which is what makes the len(ch) reasoning in deliver sound.
type subscriber struct {
	ch chan Event
	// resyncQueued: the last event put on ch was a resync. While ch is
	// not empty, that resync is still unread (ch is FIFO and it went in
	// last), so it covers every later change and nothing more is sent.
	// This is the per-subscriber pending-resync flag that coalesces
	// resyncs.
	resyncQueued bool
}

// NewHub returns a hub with no subscribers. log receives notes on ignored
// payloads and listener failures; nil discards them.
func NewHub(log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{log: log, subs: make(map[*subscriber]struct{})}
}

// Subscribe registers a new subscriber and returns its events, and a cancel
// function that unregisters it and closes the channel. Cancel is safe to
// call more than once and from any goroutine; call it when the client goes
// away, or the hub keeps the subscriber forever.
//
// The channel is buffered. A subscriber that falls behind loses events but
// is then sent a resync, so it must answer a resync by re-reading the whole
// board.
func (h *Hub) Subscribe() (events <-chan Event, cancel func()) {
	s := &subscriber{ch: make(chan Event, bufferSize)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, s)
			close(s.ch)
			h.mu.Unlock()
		})
	}
}

// Subscribers returns the number of current subscribers, for metrics and
// tests.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Publish parses a notification payload of the form "kind:id" (as written
// by postgres.Notify) and sends the event to every subscriber. Malformed
// payloads are ignored: anyone connected to the database can NOTIFY on the
// channel, and a bad payload must not disturb the boards. Publish never
// blocks on a slow subscriber.
func (h *Hub) Publish(payload string) {
	ev, ok := parse(payload)
	if !ok {
		// The payload itself is not logged: it is not ours to trust.
		h.log.Debug("live: ignored malformed notification", "len", len(payload))
		return
	}
	h.broadcast(ev)
}

// Resync tells every subscriber to re-read the whole board, because events
// may have been missed (the listening connection was re-established).
func (h *Hub) Resync() {
	h.broadcast(Event{Kind: KindResync})
}

func (h *Hub) broadcast(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.deliver(ev)
	}
}

// deliver puts ev on s.ch without blocking. The last slot of the buffer is
// kept for a resync: when only one slot is left, the event is replaced by
// a resync, which the subscriber will read as soon as it catches up, with
// no need for a later Publish to send it. Consequently, whenever ch is
// full, its last element is a resync and dropping ev loses nothing.
func (s *subscriber) deliver(ev Event) {
	n := len(s.ch)
	if s.resyncQueued && n > 0 {
		// An unread resync is queued behind everything in ch; the re-read
		// it causes will happen after this change committed.
		return
	}
	s.resyncQueued = false
	if ev.Kind != KindResync && n < cap(s.ch)-1 {
		s.ch <- ev
		return
	}
	if n < cap(s.ch) { // always true, by the invariant above; never block
		s.ch <- Event{Kind: KindResync}
		s.resyncQueued = true
	}
}

// parse reads "kind:id". The kind must be a short lower-case word other
// than resync (which only the hub itself sends); the id a positive integer.
func parse(payload string) (Event, bool) {
	kind, id, ok := strings.Cut(payload, ":")
	if !ok || kind == KindResync || !validKind(kind) {
		return Event{}, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || id[0] == '+' {
		return Event{}, false
	}
	return Event{Kind: kind, ID: n}, true
}

func validKind(k string) bool {
	if k == "" || len(k) > 32 {
		return false
	}
	for _, c := range k {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// Run relays the database's change notifications to the subscribers until
// ctx ends. listen is normally a closure over postgres.DB.Listen: it must
// call onConnect each time its LISTEN is in force (after every reconnect as
// well as the first time) and onPayload for each notification, and return
// once ctx is done.
//
// Every onConnect triggers a Resync. Changes committed while the
// connection was down were never delivered, so clients re-read the board.
// On the first connect this is usually a no-op (no one has subscribed yet),
// but a client that subscribed before LISTEN was in force, for instance
// while the database was still starting, may have missed changes in the
// same way, so the first connect is not treated differently.
func (h *Hub) Run(ctx context.Context, listen func(ctx context.Context, onConnect func(), onPayload func(string)) error) error {
	return listen(ctx, h.Resync, h.Publish)
}
