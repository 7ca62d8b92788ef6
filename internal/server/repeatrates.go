package server

import (
	"bytes"
	"context"
	"net/http"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

// Repeat-rate figures for supervisors (issue 16): the share of DV
// incidents whose victim had an earlier DV incident in the 365 days
// before, and the median days between a victim's incidents, with the
// period, filters and scope of the other exports (reportQuery: a
// supervisor with a district gets theirs), grouped by repeat_by
// (report.RepeatGroupings; default district). Audited like every
// export. Names, numbers and safe-contact rules are never in it.

// ParamRepeatBy is the query parameter of the grouping.
const ParamRepeatBy = "repeat_by"

// repeatSource computes repeat-rate figures from the database
// (*postgres.DB).
type repeatSource interface {
	RepeatRatesMulti(ctx context.Context, q report.Query, bys []string) ([][]postgres.RepeatRate, error)
}

// repeatRates computes the repeat-rate figures of q for each grouping of
// bys: from the report store when it is loaded and can (one scan of the
// period), else from db. Both give the same figures (the store's tests
// compare them). ref, when not nil, is the reference data the caller has
// read already.
func (s *Server) repeatRates(ctx context.Context, q report.Query, bys []string, db repeatSource, ref *facts.Ref) ([][]postgres.RepeatRate, error) {
	if s.facts != nil {
		src := facts.Source{Store: s.facts, Ref: s.reportDB()}
		figs, ok, err := src.RepeatRates(ctx, q, bys, ref)
		if err != nil || ok {
			return figs, err
		}
	}
	return db.RepeatRatesMulti(ctx, q, bys)
}

func (s *Server) repeatRatesJSON(w http.ResponseWriter, r *http.Request) {
	s.exportRepeatRates(w, r, report.JSON)
}

func (s *Server) repeatRatesCSV(w http.ResponseWriter, r *http.Request) {
	s.exportRepeatRates(w, r, report.CSV)
}

func (s *Server) exportRepeatRates(w http.ResponseWriter, r *http.Request, f report.Format) {
	ctx := r.Context()
	by := r.URL.Query().Get(ParamRepeatBy)
	if by == "" {
		by = report.RepeatByDistrict
	}
	auditIt := func(q report.Query, outcome audit.Outcome) error {
		detail := q.AuditDetail()
		detail["format"], detail["repeat_by"] = string(f), by
		return s.db.Audit(ctx, audit.Entry{Actor: s.actor(r), Action: "report.export", RecordType: "report",
			RecordID: "repeat-victimisation", Outcome: outcome, Detail: detail})
	}
	q, err := s.reportQuery(r)
	if err != nil {
		if apperr.CodeOf(err) == apperr.Forbidden {
			if aerr := auditIt(q, audit.Denied); aerr != nil {
				err = aerr
			}
		}
		s.fail(w, r, err)
		return
	}
	db := s.db
	if s.readDB != nil {
		db = s.readDB
	}
	rates, err := s.repeatRates(ctx, q, []string{by}, db, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := report.EncodeRepeat(&buf, q, by, rates[0], f); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := auditIt(q, audit.OK); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	h.Set("Content-Disposition", `attachment; filename="repeat-victimisation-`+q.From.String()+`-`+q.To.String()+`.`+string(f)+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes()) //nolint:errcheck
}
