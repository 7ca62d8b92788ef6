package server

import (
	"net/http"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/incident"
)

// referralsPanel renders this feature's section of the incident page (not built yet).
func (s *Server) referralsPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	return nil, nil
}
