package server

import (
	"net/http"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/incident"
)

// correctionsPanel renders this feature's section of the incident page (not built yet).
func (s *Server) correctionsPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	return nil, nil
}
