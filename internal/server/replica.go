package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

// The reporting replica (Deps.ReadDB, DATABASE_READ_URL) is where report
// figures are read from in a deployment that moves reporting off the
// primary. While it cannot be reached, reports are answered 503
// "reporting database unavailable" and nothing else is affected: reports
// do not fall back to the primary, whose load the replica is there to
// spare, and /readyz does not fail (dispatch works without it).

// reportingUnavailable is the catalogue ID of the message of a report the
// replica could not give.
const reportingUnavailable = "replica.unavailable"

// replicaSource reads reports from the replica, and says so when it
// cannot be reached.
type replicaSource struct{ db *postgres.DB }

func (rs replicaSource) ResponseTimes(ctx context.Context, q report.Query) (report.Result, error) {
	res, err := rs.db.ResponseTimes(ctx, q)
	return res, replicaError(err)
}

func (rs replicaSource) ResponseTimesMulti(ctx context.Context, q report.Query, gbs []report.GroupBy) ([]report.Result, error) {
	res, err := rs.db.ResponseTimesMulti(ctx, q, gbs)
	return res, replicaError(err)
}

// reportDB is the database to read report figures from that
// report.Source does not give (a dashboard's other panels): the replica
// when there is one, else the primary. Pass its errors through
// reportingError. Figures of report.Source come through reports().
func (s *Server) reportDB() *postgres.DB {
	if s.readDB != nil {
		return s.readDB
	}
	return s.db
}

// reportingError is an error from reportDB as the user is to see it: with
// a replica, one that cannot be reached is named (503 "reporting database
// unavailable"); without one, err as it is.
func (s *Server) reportingError(err error) error {
	if s.readDB == nil {
		return err
	}
	return replicaError(err)
}

// replicaError names the reporting replica in an Unavailable error from
// it. A Conflict from it is a query the replica cancelled to go on
// replaying the primary's changes ("conflict with recovery", SQLSTATE
// 40001: a report reads only, so it is no conflicting change of the
// user's); that one is answered 503 "try again" too. Other errors it
// returns as they are.
func replicaError(err error) error {
	switch apperr.CodeOf(err) {
	case apperr.Unavailable:
		return apperr.Wrap(apperr.Unavailable, err, reportingUnavailable)
	case apperr.Conflict:
		return apperr.Wrap(apperr.Unavailable, err, reportingBusy)
	}
	return err
}

// reportingBusy is the catalogue ID of the message of a report the
// replica cancelled.
const reportingBusy = "replica.busy"

// freshnessTimeout bounds the replica's lag query of a page or /readyz.
const freshnessTimeout = time.Second

// ReportFreshness says, for a page that shows report figures (the
// dashboard), where they come from and how fresh they are:
//
//	""                                                  no reporting replica: figures from the primary
//	"Figures from the reporting replica, up to date."   under a second behind
//	"Figures from the reporting replica, 12 s behind."  (then "4 min", "2 h 5 min"; past 5 minutes a warning follows)
//	"The reporting database is unavailable ..."         it cannot be reached
//
// It asks the replica (ReplicaLag, one query, at most a second), and says
// it in the request's language.
func (s *Server) ReportFreshness(r *http.Request) string {
	if s.readDB == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(r.Context(), freshnessTimeout)
	defer cancel()
	lag, isReplica, err := s.readDB.ReplicaLag(ctx)
	return freshness(i18n.FromContext(r.Context()), lag, isReplica, err)
}

// freshness is ReportFreshness's sentence, in l's language.
func freshness(l *i18n.Localizer, lag time.Duration, isReplica bool, err error) string {
	switch {
	case err != nil:
		return l.T(reportingUnavailable)
	case !isReplica:
		// DATABASE_READ_URL names a database that is not in recovery (a
		// copy kept some other way, or the primary itself).
		return l.T("replica.primary")
	case lag == postgres.LagUnknown:
		return l.T("replica.started")
	case lag < time.Second:
		return l.T("replica.current")
	case lag < 5*time.Minute:
		return l.T("replica.behind", "Lag", fmtLag(l, lag))
	}
	return l.T("replica.behind_warn", "Lag", fmtLag(l, lag))
}

// fmtLag writes a lag of a second or more for people: "12 s", "4 min",
// "2 h 5 min" in English.
func fmtLag(l *i18n.Localizer, d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return l.T("replica.lag.s", "S", int(d/time.Second))
	case d < time.Hour:
		return l.T("replica.lag.min", "Min", int(d/time.Minute))
	}
	return l.T("replica.lag.h_min", "H", int(d/time.Hour), "Min", int(d%time.Hour/time.Minute))
}

// replicaStatus is /readyz's line about the reporting replica, "" when
// there is none. It never fails readiness.
func (s *Server) replicaStatus(ctx context.Context) string {
	if s.readDB == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, freshnessTimeout)
	defer cancel()
	lag, isReplica, err := s.readDB.ReplicaLag(ctx)
	switch {
	case err != nil:
		return "reporting replica unavailable: reports answer 503 until it is back"
	case !isReplica:
		return "reporting database: not a replica in recovery"
	case lag == postgres.LagUnknown:
		return "reporting replica: lag not known yet"
	}
	return fmt.Sprintf("reporting replica: %.1f s behind", lag.Seconds())
}
