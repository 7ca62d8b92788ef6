package server

import (
	"bytes"
	"fmt"
	"github.com/dvresponse/dvresponse/internal/facts"
	"net/http"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/report"
)

// reports is where report figures come from: the database's exact
// report.Source (the incidents themselves), read from the reporting
// replica when there is one (replica.go), behind the in-memory report
// store (s.facts; internal/facts, see internal/report/ENGINE.md), which
// answers once loaded.
func (s *Server) reports() report.Source {
	var db facts.Fallback = s.db
	if s.readDB != nil {
		db = replicaSource{s.readDB}
	}
	if s.facts == nil {
		return db
	}
	return facts.Source{Store: s.facts, Ref: s.reportDB(), Fallback: db}
}

// responseTimesJSON exports the response-time report as JSON.
func (s *Server) responseTimesJSON(w http.ResponseWriter, r *http.Request) {
	s.exportResponseTimes(w, r, report.JSON)
}

// responseTimesCSV exports the response-time report as CSV.
func (s *Server) responseTimesCSV(w http.ResponseWriter, r *http.Request) {
	s.exportResponseTimes(w, r, report.CSV)
}

// reportQuery reads the report query of a request (the dashboard's and
// the exports' parameters, report.ParseQuery). A supervisor with a
// district is limited to it: without a district parameter the query gets
// theirs; with another district it is Forbidden (q is still returned, for
// the audit record of the refusal).
func (s *Server) reportQuery(r *http.Request) (report.Query, error) {
	q, err := report.ParseQuery(r.URL.Query(), s.loc, s.now())
	if err != nil {
		return q, err
	}
	if u := currentUser(r.Context()); u != nil && u.Role == account.Supervisor && u.DistrictID != nil {
		if q.DistrictID != nil && *q.DistrictID != *u.DistrictID {
			return q, apperr.New(apperr.Forbidden, "dashboard.err.own_district")
		}
		q.DistrictID = u.DistrictID
	}
	return q, nil
}

// exportResponseTimes answers GET /reports/response-times.{json,csv}. Every
// export is audited ("report.export", with the query) before a byte of it
// is sent; a refused one is audited as denied.
func (s *Server) exportResponseTimes(w http.ResponseWriter, r *http.Request, f report.Format) {
	ctx := r.Context()
	q, err := s.reportQuery(r)
	if err != nil {
		if apperr.CodeOf(err) == apperr.Forbidden {
			if aerr := s.auditExport(r, q, f, audit.Denied); aerr != nil {
				err = aerr
			}
		}
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := report.Export(ctx, s.reports(), q, f, &buf); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.auditExport(r, q, f, audit.OK); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	h.Set("Content-Disposition", `attachment; filename="`+q.FileName(f)+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// auditExport records an export of q (ids and dates only).
func (s *Server) auditExport(r *http.Request, q report.Query, f report.Format, outcome audit.Outcome) error {
	detail := q.AuditDetail()
	detail["format"] = string(f)
	return s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "report.export", RecordType: "report",
		RecordID: "response-times", Outcome: outcome, Detail: detail})
}

// followThroughJSON exports the follow-up and protection-order figures
// (report.WriteFollowThrough) as JSON.
func (s *Server) followThroughJSON(w http.ResponseWriter, r *http.Request) {
	s.exportFollowThrough(w, r, report.JSON)
}

// followThroughCSV exports them as CSV.
func (s *Server) followThroughCSV(w http.ResponseWriter, r *http.Request) {
	s.exportFollowThrough(w, r, report.CSV)
}

// exportFollowThrough answers GET /reports/follow-through.{json,csv}: the
// dashboard's follow-through figures for the same query (read from the
// primary, as the dashboard reads them), audited as every export is.
func (s *Server) exportFollowThrough(w http.ResponseWriter, r *http.Request, f report.Format) {
	q, err := s.reportQuery(r)
	audit1 := func(outcome audit.Outcome) error {
		detail := q.AuditDetail()
		detail["format"] = string(f)
		return s.db.Audit(r.Context(), audit.Entry{Actor: s.actor(r), Action: "report.export", RecordType: "report",
			RecordID: "follow-through", Outcome: outcome, Detail: detail})
	}
	if err != nil {
		if apperr.CodeOf(err) == apperr.Forbidden {
			if aerr := audit1(audit.Denied); aerr != nil {
				err = aerr
			}
		}
		s.fail(w, r, err)
		return
	}
	figs, err := s.followThrough(r.Context(), q, s.now(), nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := report.WriteFollowThrough(&buf, q, figs, f); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := audit1(audit.OK); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	h.Set("Content-Disposition", `attachment; filename="`+fmt.Sprintf("follow-through_%s_%s.%s", q.From, q.To, f)+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
