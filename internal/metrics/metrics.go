// Package metrics exposes what operators watch of a serve process in the
// Prometheus text format: requests per route pattern, the live board's
// streams and LISTEN connection, the database pool, the audit chain, login
// failures, whether the database is writable, and how long the oldest call
// of each priority has waited for a unit.
//
// Everything is registered on the registry given to New (never the
// client library's global default), and served by Handler on its own
// listener (DVR_METRICS_ADDR), never on the application's router.
//
// Labels hold route patterns ("/incidents/{id}"), methods, status codes
// and priority levels only: no ids, usernames or personal data. A nil
// *Metrics is valid and records nothing, so that code paths need no
// "are metrics on?" checks.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds one process's metrics.
type Metrics struct {
	reg              *prometheus.Registry
	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	listenUp         prometheus.Gauge
	listenReconnects prometheus.Counter
	resyncs          prometheus.Counter
	auditAppends     prometheus.Counter
	loginFailures    prometheus.Counter
	lockouts         prometheus.Counter
}

// New creates the metrics and registers them, with the Go runtime's and
// the process's, on reg.
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dvr_http_requests_total",
			Help: "HTTP requests answered, by chi route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dvr_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by chi route pattern, method and status code (live-board streams excluded).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		listenUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dvr_listen_connected",
			Help: "1 while the live board's LISTEN connection to the database is in force, else 0.",
		}),
		listenReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dvr_listen_reconnects_total",
			Help: "Times the live board's LISTEN connection was re-established after it was lost.",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dvr_board_resyncs_total",
			Help: "Resync events sent to live-board streams (each makes one board re-read everything).",
		}),
		auditAppends: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dvr_audit_appends_total",
			Help: "Rows appended to the audit chain by committed transactions.",
		}),
		loginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dvr_login_failures_total",
			Help: "Logins refused for a wrong password of an existing account.",
		}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dvr_login_lockouts_total",
			Help: "Accounts locked after too many failed logins.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.listenUp, m.listenReconnects, m.resyncs, m.auditAppends,
		m.loginFailures, m.lockouts,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, Timeout: 10 * time.Second})
}

// Instrument counts and times the requests next answers. It must wrap the
// chi router (or sit inside it) so that the matched route pattern is known
// once next returns; requests that matched no route are "unmatched".
// Live-board streams are counted but not timed: they last as long as the
// board is open.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil {
			if p := rc.RoutePattern(); p != "" {
				route = p
			}
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		labels := prometheus.Labels{"route": route, "method": method(r.Method), "status": strconv.Itoa(status)}
		m.requests.With(labels).Inc()
		if ww.Header().Get("Content-Type") != "text/event-stream" {
			m.duration.With(labels).Observe(time.Since(start).Seconds())
		}
	})
}

// method keeps the method label to the standard methods, so that a client
// cannot grow the label set with made-up ones.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// ListenConnected records that the LISTEN connection is in force; every
// time after the first is a reconnect.
func (m *Metrics) ListenConnected(first bool) {
	if m == nil {
		return
	}
	m.listenUp.Set(1)
	if !first {
		m.listenReconnects.Inc()
	}
}

// ListenLost records that the LISTEN connection broke.
func (m *Metrics) ListenLost() {
	if m != nil {
		m.listenUp.Set(0)
	}
}

// BoardResynced counts a resync sent to one board.
func (m *Metrics) BoardResynced() {
	if m != nil {
		m.resyncs.Inc()
	}
}

// AuditAppended counts n audit rows committed.
func (m *Metrics) AuditAppended(n int) {
	if m != nil {
		m.auditAppends.Add(float64(n))
	}
}

// LoginFailed counts a failed login, and a lockout when it locked the account.
func (m *Metrics) LoginFailed(locked bool) {
	if m == nil {
		return
	}
	m.loginFailures.Inc()
	if locked {
		m.lockouts.Inc()
	}
}

// WatchBoards exports n() as the number of connected live-board streams.
func (m *Metrics) WatchBoards(n func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dvr_board_streams",
		Help: "Live-board event streams connected to this process.",
	}, func() float64 { return float64(n()) }))
}

// WatchReportStore exports the report store's state (internal/facts),
// read at scrape time: whether it serves figures (else they come from
// the database, slowly at scale), how many incidents it holds, and how
// long ago it last read the database (a load or the change log; it reads
// the log every second, so a growing age means it is not following).
func (m *Metrics) WatchReportStore(status func() (ready bool, incidents int, syncedAt time.Time)) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dvr_report_store_ready",
		Help: "1 while the in-memory report store serves the report figures, else 0 (they come from the database).",
	}, func() float64 {
		if ready, _, _ := status(); ready {
			return 1
		}
		return 0
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dvr_report_store_incidents",
		Help: "Incidents held by the in-memory report store.",
	}, func() float64 {
		_, n, _ := status()
		return float64(n)
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dvr_report_store_sync_age_seconds",
		Help: "Seconds since the report store last read the database (its load, or the change log it reads every second); -1 before its first load.",
	}, func() float64 {
		_, _, at := status()
		if at.IsZero() {
			return -1
		}
		return time.Since(at).Seconds()
	}))
}

// PoolStats is what the database pool reports of itself.
type PoolStats struct {
	Max, Total, Acquired, Idle int32
	Acquires                   int64         // connections handed out, ever
	EmptyAcquires              int64         // of which had to wait for one
	CanceledAcquires           int64         // waits given up (deadline or cancel)
	AcquireWait                time.Duration // total time spent waiting for a connection
}

// WatchPool exports the pool's use and waits, read from stats at scrape time.
func (m *Metrics) WatchPool(stats func() PoolStats) {
	m.reg.MustRegister(&poolCollector{stats: stats})
}

var (
	poolMax      = prometheus.NewDesc("dvr_db_pool_max_connections", "Largest number of connections the database pool may open.", nil, nil)
	poolConns    = prometheus.NewDesc("dvr_db_pool_connections", "Database pool connections, by state (acquired: in use; idle).", []string{"state"}, nil)
	poolAcquires = prometheus.NewDesc("dvr_db_pool_acquires_total", "Connections handed out by the database pool.", nil, nil)
	poolWaits    = prometheus.NewDesc("dvr_db_pool_waits_total", "Acquires that found no idle connection and waited for one.", nil, nil)
	poolCanceled = prometheus.NewDesc("dvr_db_pool_canceled_acquires_total", "Acquires given up before a connection came (request deadline or cancel).", nil, nil)
	poolWaitTime = prometheus.NewDesc("dvr_db_pool_wait_seconds_total", "Time spent waiting for a database pool connection.", nil, nil)
)

type poolCollector struct{ stats func() PoolStats }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMax, poolConns, poolAcquires, poolWaits, poolCanceled, poolWaitTime} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.Max))
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.Acquired), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.Acquires))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquires))
	ch <- prometheus.MustNewConstMetric(poolCanceled, prometheus.CounterValue, float64(s.CanceledAcquires))
	ch <- prometheus.MustNewConstMetric(poolWaitTime, prometheus.CounterValue, s.AcquireWait.Seconds())
}

// Waiting is, for one priority level, how long its oldest call not yet
// dispatched (and not cleared) has waited, and its call-processing
// target. Zero Oldest: no call of that priority is waiting.
type Waiting struct {
	Priority int
	Oldest   time.Duration
	Target   time.Duration // zero: no target set
}

// Database is what the scrape-time database collector reads.
type Database interface {
	// Writable reports whether the database accepts writes (a primary,
	// not a standby in recovery).
	Writable(ctx context.Context) (bool, error)
	// AwaitingDispatch lists every priority level's oldest waiting call.
	AwaitingDispatch(ctx context.Context) ([]Waiting, error)
}

// WatchDatabase exports, read at scrape time with a short deadline,
// whether the database is writable and the age of the oldest call
// awaiting dispatch per priority (with the priority's target).
func (m *Metrics) WatchDatabase(db Database) {
	m.reg.MustRegister(&dbCollector{db: db})
}

var (
	dbWritable   = prometheus.NewDesc("dvr_database_writable", "1 when the database answers and accepts writes (a primary), 0 when it does not answer or is a standby.", nil, nil)
	oldestWait   = prometheus.NewDesc("dvr_dispatch_oldest_waiting_seconds", "Age of the oldest open call not yet dispatched, per priority level (0: none waiting).", []string{"priority"}, nil)
	waitTarget   = prometheus.NewDesc("dvr_dispatch_target_seconds", "Call-processing target (received to dispatched) per priority level, where one is set.", []string{"priority"}, nil)
	scrapeErrors = prometheus.NewDesc("dvr_database_scrape_ok", "1 when the scrape-time database queries answered, else 0.", nil, nil)
)

// scrapeTimeout bounds the scrape-time queries: a hung database must not
// hang the scrape.
const scrapeTimeout = 2 * time.Second

type dbCollector struct{ db Database }

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbWritable, oldestWait, waitTarget, scrapeErrors} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	writable, err := c.db.Writable(ctx)
	ch <- prometheus.MustNewConstMetric(dbWritable, prometheus.GaugeValue, b2f(err == nil && writable))
	ok := err == nil
	if ok {
		ws, err := c.db.AwaitingDispatch(ctx)
		ok = err == nil
		for _, w := range ws {
			p := strconv.Itoa(w.Priority)
			ch <- prometheus.MustNewConstMetric(oldestWait, prometheus.GaugeValue, w.Oldest.Seconds(), p)
			if w.Target > 0 {
				ch <- prometheus.MustNewConstMetric(waitTarget, prometheus.GaugeValue, w.Target.Seconds(), p)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, b2f(ok))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Server is an HTTP server answering GET /metrics, and nothing else, on
// addr (DVR_METRICS_ADDR): a listener of its own, never the application's
// router, so that metrics are not exposed with the app.
func (m *Metrics) Server(addr string) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
}
