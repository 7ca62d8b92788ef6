package server

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/importer"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/web"
)

// maxImportBytes bounds an upload of the import page: the CSV export, the
// mapping and the form's overhead.
//
// The router's limitBody(1 MiB) wraps every request body; the import route
// raises its own limit to this one (raiseBodyLimit, routes.go). Without
// that the effective limit is 1 MiB (the page then says so, with the limit
// that was hit).
const maxImportBytes = 64 << 20

// importTransferTime is how long an upload and its import may take: the
// server's read and write timeouts are lifted to it for this request.
const importTransferTime = 10 * time.Minute

// importKeepRejections is how many rejected rows the page lists.
const importKeepRejections = 1000

// importMappingTemplate is the mapping the form starts with.
func (s *Server) importMappingTemplate() string {
	return `{
  "timezone": "` + s.loc.String() + `",
  "null_values": ["", "NULL"],
  "default_district": "",
  "columns": {
    "external_id": "",
    "received_at": "",
    "dispatched_at": "",
    "en_route_at": "",
    "on_scene_at": "",
    "cleared_at": "",
    "priority": "",
    "incident_type": "",
    "disposition": "",
    "district": "",
    "address": ""
  }
}`
}

func (s *Server) importPage(r *http.Request, mapping string) web.ImportPage {
	return web.ImportPage{Page: s.page(r, s.t(r, "admin.import.title"), "admin"), Mapping: mapping,
		Limit: s.byteSize(r, maxImportBytes)}
}

// importForm shows the upload form.
func (s *Server) importForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, web.Import(s.importPage(r, s.importMappingTemplate())))
}

// importUpload streams an uploaded CSV export into the database. The form
// sends the mapping before the file, so that the file is read straight
// from the request into the import's batches: it is never held whole in
// memory nor written to disk.
func (s *Server) importUpload(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(importTransferTime))
	_ = rc.SetWriteDeadline(time.Now().Add(importTransferTime))
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)

	p := s.importPage(r, "")
	refuse := func(status int, msg string, mappingError bool) {
		p.Error, p.MappingError = msg+" "+s.t(r, "admin.import.nothing_imported"), mappingError
		if p.Mapping == "" {
			p.Mapping = s.importMappingTemplate()
		}
		s.render(w, r, status, web.Import(p))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		refuse(http.StatusUnprocessableEntity, s.t(r, "admin.import.err.no_form"), false)
		return
	}
	var mappingText, mappingFile string
	var sum *importer.Summary
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.importFailed(w, r, refuse, err)
			return
		}
		switch part.FormName() {
		case "mapping":
			if mappingText, err = readSmall(part); err != nil {
				s.importFailed(w, r, refuse, err)
				return
			}
			p.Mapping = mappingText
		case "mapping_file":
			if mappingFile, err = readSmall(part); err != nil {
				s.importFailed(w, r, refuse, err)
				return
			}
		case "file":
			if sum != nil {
				break // one file per import; a second is ignored
			}
			if part.FileName() == "" {
				refuse(http.StatusUnprocessableEntity, s.t(r, "admin.import.err.no_file"), false)
				return
			}
			text := mappingText
			if strings.TrimSpace(mappingFile) != "" {
				text = mappingFile
				p.Mapping = mappingFile
			}
			m, err := importer.ParseMapping(strings.NewReader(text))
			if err != nil {
				drain(part)
				refuse(statusOf(apperr.CodeOf(err)), s.tr(r, apperr.MessageOf(err)), true)
				return
			}
			sum, err = s.db.Import(r.Context(), part, m, postgres.ImportOptions{FileName: part.FileName(), Location: s.loc,
				By: s.actor(r), Run: importer.Options{KeepRejections: importKeepRejections}})
			if err != nil {
				s.importFailed(w, r, refuse, err)
				return
			}
		}
		drain(part)
	}
	if sum == nil {
		refuse(http.StatusUnprocessableEntity, s.t(r, "admin.import.err.no_file_after_mapping"), false)
		return
	}
	p.Result = s.importResultView(r, sum)
	s.render(w, r, http.StatusOK, web.Import(p))
}

// importFailed answers a failed upload or import: too large, a file that
// does not fit the mapping, the database unavailable, or an internal error.
func (s *Server) importFailed(w http.ResponseWriter, r *http.Request, refuse func(int, string, bool), err error) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		refuse(http.StatusRequestEntityTooLarge, s.t(r, "admin.import.err.too_large", "Limit", s.byteSize(r, tooLarge.Limit)), false)
	case apperr.CodeOf(err) == apperr.Invalid:
		refuse(http.StatusUnprocessableEntity, s.tr(r, apperr.MessageOf(err)), strings.Contains(apperr.MessageOf(err).ID, "mapping"))
	case apperr.CodeOf(err) == apperr.Unavailable:
		s.log.Warn("import: database unavailable", "err", err)
		refuse(http.StatusServiceUnavailable, s.t(r, "admin.import.err.unavailable"), false)
	case r.Context().Err() != nil:
		return // the client went away or the deadline passed (answered by the middleware)
	default:
		s.log.Error("import failed", "route", routePattern(r), "err", err)
		refuse(http.StatusInternalServerError, s.t(r, "admin.import.err.internal"), false)
	}
}

// readSmall reads a short form part (the mapping).
func readSmall(part *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, importer.MaxMappingBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > importer.MaxMappingBytes {
		return "", apperr.New(apperr.Invalid, "admin.import.err.mapping_too_large", "KiB", importer.MaxMappingBytes>>10)
	}
	return string(b), nil
}

// drain reads the rest of a part, so that the browser gets the answer
// rather than a connection reset (the body is bounded by maxImportBytes).
func drain(part *multipart.Part) { _, _ = io.Copy(io.Discard, part) }

func (s *Server) byteSize(r *http.Request, n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return s.t(r, "admin.import.mib", "N", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return s.t(r, "admin.import.kib", "N", n>>10)
	}
	return s.t(r, "admin.import.bytes", "Count", n)
}

// importResultView turns a summary into the page's view model.
func (srv *Server) importResultView(r *http.Request, s *importer.Summary) *web.ImportResult {
	v := &web.ImportResult{File: s.File, TimeZone: s.TimeZone, RowsRead: s.RowsRead, Imported: s.Imported,
		Duplicates: s.Duplicates, Rejected: s.Rejected, Balanced: s.Balanced(), Unmapped: s.Unmapped,
		Inconsistent: s.Inconsistent, WithoutPriority: s.WithoutPriority, DefaultPriority: s.DefaultPriority,
		WithoutType: s.WithoutType, MoreRejections: s.Rejected - len(s.Rejections),
		Took: s.Duration.Round(time.Millisecond).String()}
	if v.File == "" {
		v.File = srv.t(r, "admin.import.the_file")
	}
	for _, p := range s.Pairs {
		v.Pairs = append(v.Pairs, web.ImportCount{Label: p.Pair.String(), Rows: p.Rows})
	}
	for _, p := range s.Created.Priorities {
		v.CreatedPriorities = append(v.CreatedPriorities, strconv.Itoa(p))
	}
	for _, t := range s.Created.IncidentTypes {
		v.CreatedTypes = append(v.CreatedTypes, web.ImportCreated{Code: t.Code, Name: t.Name, DV: t.IsDV})
	}
	for _, d := range s.Created.Districts {
		v.CreatedDistricts = append(v.CreatedDistricts, web.ImportCreated{Code: d.Code, Name: d.Name})
	}
	for _, d := range s.Created.Dispositions {
		v.CreatedDispositions = append(v.CreatedDispositions, web.ImportCreated{Code: d.Code, Name: d.Name})
	}
	l := i18n.FromContext(r.Context())
	for _, x := range s.Rejections {
		v.Rejections = append(v.Rejections, web.ImportRejection{Row: x.Row, Line: x.Line, Reason: x.Reason(l)})
	}
	return v
}
