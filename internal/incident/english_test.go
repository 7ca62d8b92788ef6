package incident

import (
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
)

// english renders a message as an English reader sees it; a message the
// catalogue lacks comes out as ⟦id⟧ and matches no expected text.
func english(m apperr.Msg) string {
	return i18n.Shared().Localizer("en").T(m.ID, m.Args...)
}
