package incident

import "fmt"

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
		return "Stage: " + Stage(str("stage")).Label()
	case "note":
		return "Note added"
	case "correction":
		return fmt.Sprintf("Corrected %s from %s to %s: %s", str("field"), str("old"), str("new"), str("reason"))
	}
	return kind
}
