package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dvresponse/dvresponse/internal/live"
	"github.com/dvresponse/dvresponse/internal/metrics"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// startMetrics serves /metrics on addr (DVR_METRICS_ADDR) until ctx ends,
// on a registry of its own, and has db and hub report to it. With addr
// empty there are no metrics and no listener: it returns nil, which the
// server takes as "count nothing". A busy or bad address fails start-up.
func startMetrics(ctx context.Context, addr string, db *postgres.DB, hub *live.Hub, log *slog.Logger) (*metrics.Metrics, error) {
	if addr == "" {
		return nil, nil
	}
	mx := metrics.New(prometheus.NewRegistry())
	db.SetObserver(mx)
	mx.WatchBoards(hub.Subscribers)
	mx.WatchPool(func() metrics.PoolStats {
		s := db.PoolStat()
		return metrics.PoolStats{Max: s.Max, Total: s.Total, Acquired: s.Acquired, Idle: s.Idle, Acquires: s.Acquires,
			EmptyAcquires: s.EmptyAcquires, CanceledAcquires: s.CanceledAcquires, AcquireWait: s.AcquireWait}
	})
	mx.WatchDatabase(metricsDB{db})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener (DVR_METRICS_ADDR): %w", err)
	}
	hs := mx.Server(addr)
	go func() {
		log.Info("serving metrics", "addr", ln.Addr().String())
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	return mx, nil
}

// metricsDB is what the metrics read from the database at scrape time.
type metricsDB struct{ db *postgres.DB }

func (m metricsDB) Writable(ctx context.Context) (bool, error) { return m.db.Writable(ctx) }

func (m metricsDB) AwaitingDispatch(ctx context.Context) ([]metrics.Waiting, error) {
	ws, err := m.db.AwaitingDispatch(ctx)
	out := make([]metrics.Waiting, len(ws))
	for i, w := range ws {
		out[i] = metrics.Waiting{Priority: w.Priority, Oldest: w.Oldest, Target: w.Target}
	}
	return out, err
}
