package server

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// healthz answers 200 while the process runs.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 when the database answers, accepts writes (a
// primary, not a standby: during a failover there is none until the
// standby is promoted) and its schema is the one this binary expects,
// else 503 with the reason. With a reporting replica
// a second line says how far behind it is, or that it is unavailable: it
// does not decide readiness (dispatch works without it).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	st, err := s.db.Schema(ctx)
	var writable bool
	if err == nil {
		writable, err = s.db.Writable(ctx)
	}
	switch {
	case err != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "database unavailable")
	case !writable:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "no writable database: the server is a standby in recovery (waiting for a primary)")
	case !st.Current():
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "schema version %d (dirty=%v), binary expects %d: run `dvresponse migrate up`\n", st.Version, st.Dirty, st.Latest)
	default:
		fmt.Fprintf(w, "ready (schema %d)\n", st.Version)
	}
	if line := s.replicaStatus(r.Context()); line != "" {
		fmt.Fprintln(w, line)
	}
}
