package server

import (
	"net/http"

	"github.com/dvresponse/dvresponse/web"
)

// home sends each role to its start page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, homeOf(currentUser(r.Context()).Role), http.StatusSeeOther)
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, web.Dashboard(web.DashboardPage{Page: s.page(r, "Dashboard", "dashboard")}))
}
