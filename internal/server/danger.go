package server

import (
	"net/http"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/incident"
)

// dangerPanel renders this feature's section of the incident page (not built yet).
func (s *Server) dangerPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	return nil, nil
}
