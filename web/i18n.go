package web

import (
	"context"

	"github.com/dvresponse/dvresponse/internal/i18n"
)

// T renders a catalogue message in the language of the request that ctx
// belongs to. Templates take every text they show from it.
func T(ctx context.Context, id string, kv ...any) string {
	return i18n.T(ctx, id, kv...)
}

// L returns the request's localizer, for numbers and dates.
func L(ctx context.Context) *i18n.Localizer {
	return i18n.FromContext(ctx)
}

// Languages are the languages a user can choose.
func Languages() []i18n.Language { return i18n.Languages }
