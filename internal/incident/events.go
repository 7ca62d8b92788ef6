package incident

import (
	"fmt"
	"strings"
)

// DescribeEvent renders a timeline event's data as a line for people.
func DescribeEvent(kind string, data map[string]any) string {
	str := func(k string) string {
		if v, ok := data[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	switch kind {
	case "created":
		s := "Call logged, priority P" + str("priority")
		if str("received_manual") == "true" {
			s += " (received time entered by hand)"
		}
		return s
	case "unit_assigned":
		return "Unit " + str("call_sign") + " assigned"
	case "unit_released":
		return "Unit " + str("call_sign") + " released"
	case "status_changed":
		if str("unit_only") == "true" {
			return "Another unit: " + Stage(str("stage")).Label()
		}
		return "Stage: " + Stage(str("stage")).Label()
	case "danger_screen":
		if str("high_danger") == "true" {
			return "Danger screen: HIGH DANGER (" + str("yes_count") + " yes)"
		}
		return "Danger screen: not high danger (" + str("yes_count") + " yes)"
	case "order_issued":
		return "Protection order " + str("number") + " issued"
	case "order_extended":
		return "Protection order " + str("number") + " extended"
	case "order_ended":
		return "Protection order " + str("number") + " ended early: " + str("reason")
	case "order_violation_linked":
		return "Linked to violated protection order " + str("number")
	case "referral_offered", "referral_accepted", "referral_declined", "referral_sent", "referral_acknowledged", "referral_closed":
		return "Referral to " + str("partner") + ": " + strings.TrimPrefix(kind, "referral_")
	case "referral_consent":
		return "Referral to " + str("partner") + ": consent " + str("consent")
	case "note":
		return "Note added"
	case "address_confidential":
		return "Address marked confidential"
	case "address_confidential_lifted":
		return "Address confidentiality lifted: " + str("reason")
	case "correction":
		or := func(v string) string {
			if v == "" {
				return "not recorded"
			}
			return v
		}
		return fmt.Sprintf("Corrected %s from %s to %s: %s", StageName(Stage(str("field"))), or(str("old")), or(str("new")), str("reason"))
	}
	return kind
}
