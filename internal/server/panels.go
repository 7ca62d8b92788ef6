package server

import (
	"net/http"

	"github.com/a-h/templ"

	"github.com/dvresponse/dvresponse/internal/incident"
)

// panelFunc renders one feature section of the incident page, or nil when
// the feature has nothing to show this viewer.
type panelFunc func(r *http.Request, in *incident.Incident) (templ.Component, error)

// incidentPanels renders the feature sections of the incident page, in
// the order they appear.
func (s *Server) incidentPanels(r *http.Request, in *incident.Incident) ([]templ.Component, error) {
	var out []templ.Component
	for _, f := range []panelFunc{s.safeContactPanel, s.personsPanel, s.confidentialPanel, s.dangerPanel, s.ordersPanel, s.referralsPanel, s.correctionsPanel} {
		c, err := f(r, in)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}
