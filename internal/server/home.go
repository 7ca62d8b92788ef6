package server

import (
	"net/http"
)

// home sends each role to its start page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, homeOf(currentUser(r.Context()).Role), http.StatusSeeOther)
}
