package main

import (
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
)

// text renders an error's message for the command line, in English (the
// command line's output is for administrators, not translated).
func text(m apperr.Msg) string {
	return i18n.Shared().Localizer("en").Text(m.ID, m.Args...)
}
