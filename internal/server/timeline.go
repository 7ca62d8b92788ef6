package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
)

// eventText renders a timeline event in l's language, from its stored
// details: call signs, order numbers, partner names and reasons as stored;
// stages, referral steps and consent through the catalogue. It is the one
// place a timeline event is worded.
func (s *Server) eventText(l *i18n.Localizer, e incident.Event) string {
	str := func(k string) string {
		if v, ok := e.Data[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	stage := func(st string) string { return l.T("stage_name." + st) }
	switch e.Kind {
	case "created":
		if str("received_manual") == "true" {
			return l.T("event.created_manual", "Priority", str("priority"))
		}
		return l.T("event.created", "Priority", str("priority"))
	case "unit_assigned", "unit_released":
		return l.T("event."+e.Kind, "CallSign", str("call_sign"))
	case "status_changed":
		if str("unit_only") == "true" {
			return l.T("event.status_changed_other", "Stage", stage(str("stage")))
		}
		return l.T("event.status_changed", "Stage", stage(str("stage")))
	case "danger_screen":
		if str("high_danger") == "true" {
			return l.T("event.danger_high", "Yes", str("yes_count"))
		}
		return l.T("event.danger_low", "Yes", str("yes_count"))
	case "order_issued", "order_extended", "order_violation_linked":
		return l.T("event."+e.Kind, "Number", str("number"))
	case "order_ended":
		return l.T("event.order_ended", "Number", str("number"), "Reason", str("reason"))
	case "follow_up_closed": // followup.go
		if b, _ := e.Data["unsafe"].(bool); b {
			return l.T("event.follow_up_closed_unsafe", "Outcome", l.T("followup.outcome."+str("outcome")), "Reason", str("reason"))
		}
		return l.T("event.follow_up_closed", "Outcome", l.T("followup.outcome."+str("outcome")))
	case "order_checked":
		return l.T("event.order_checked", "Number", str("number"), "Result", l.T("followup.check."+str("result")))
	case "referral_offered", "referral_accepted", "referral_declined", "referral_sent", "referral_acknowledged", "referral_closed":
		return l.T("event.referral", "Partner", str("partner"), "Status", l.T("referral.status."+strings.TrimPrefix(e.Kind, "referral_")))
	case "referral_consent":
		return l.T("event.referral_consent", "Partner", str("partner"), "Consent", l.T("referral.consent."+str("consent")))
	case "call_added":
		when := str("received_at")
		if t, err := time.Parse(time.RFC3339, when); err == nil {
			when = l.DateTimeSec(t, s.loc)
		}
		return l.T("event.call_added", "Time", when, "Caller", str("caller"), "Narrative", str("narrative"))
	case "note", "address_confidential":
		return l.T("event." + e.Kind)
	case "address_confidential_lifted":
		return l.T("event.address_confidential_lifted", "Reason", str("reason"))
	case "person_linked", "person_link_rejected", "person_link_undone": // victims.go
		return l.T("victims.event."+e.Kind, "Role", l.T("victims.role."+str("role")), "Number", str("number"), "Reason", str("reason"))
	case "call_back": // victims.go
		if b, _ := e.Data["unsafe"].(bool); b {
			return l.T("victims.event.call_back_unsafe", "Reason", str("reason"))
		}
		return l.T("victims.event.call_back")
	case "correction":
		when := func(v string) string {
			if v == "" {
				return l.T("event.not_recorded")
			}
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				return l.DateTimeSec(t, s.loc)
			}
			return v
		}
		return l.T("event.correction", "Stage", stage(str("field")), "Old", when(str("old")), "New", when(str("new")), "Reason", str("reason"))
	}
	return e.Kind
}
