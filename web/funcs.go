package web

import (
	"context"
	"strconv"
	"strings"
)

// fieldType maps a Field's type to an input type attribute.
func fieldType(t string) string {
	switch t {
	case "", "text":
		return "text"
	default:
		return t
	}
}

// badgeClass picks the badge style for a list badge.
func badgeClass(b string) string {
	switch b {
	case "IDP":
		return "badge-idp"
	case "DV":
		return "badge-dv"
	case "inactive":
		return "badge-off"
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// langOr is the page's language for <html lang>, English when unset.
func langOr(lang string) string {
	if lang == "" {
		return "en"
	}
	return lang
}

// joinWarnings writes warnings on one line, for the board's compact flags.
func joinWarnings(ws []string) string { return strings.Join(ws, "; ") }

// workField is the form field a work item's buttons post: a task's
// outcome or a check's result.
func workField(kind string) string {
	if kind == "check" {
		return "result"
	}
	return "outcome"
}

// breachConfirm is the question a "breach found" button asks before it is
// sent (the data-confirm of its form); "" for the other buttons.
func breachConfirm(ctx context.Context, value string) string {
	if value == "breach" {
		return T(ctx, "followup.check.breach_confirm")
	}
	return ""
}

// needsReason says whether the button of value on row r asks for the
// reason first: "reached and safe" (she was contacted) where her
// safe-contact rule does not say contact is safe.
func needsReason(r WorkRow, value string) bool {
	return r.Kind == "followup" && value == "reached_safe" && r.Rule != nil && r.Rule.Unsafe
}
