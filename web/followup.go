package web

// WorkRow is one open follow-up task or order check in a work list.
type WorkRow struct {
	Kind    string // "followup" or "check"
	ID      string
	Title   string // what it is, in the reader's language
	Number  string // the incident's or the order's number
	Href    string // its page
	Due     string // due time, in the deployment's zone
	DueISO  string
	Overdue bool
	Age     string // how long overdue, when it is
	Unit    string // call sign; "" for the district's pool
	// Action is where an outcome (a task) or a result (a check) is
	// posted; Choices are its buttons (value, label).
	Action       string
	Choices      []Option
	RescreenHref string // a task's "Re-screen": the danger screen
	// Rule is a follow-up's victim's safe-contact rule (web.SafeRuleCall
	// without its call-back), shown before the outcome buttons; where it
	// is Unsafe, "reached and safe" asks for the reason (Rule.CallReason,
	// Rule.ReasonID). nil: not shown (order checks, the board, a viewer
	// who may not see it).
	Rule *SafeContactPanel
	// AssignAction and Units: a supervisor's reassignment (value ""
	// is the district's pool).
	AssignAction string
	Units        []Option
}

// WorkPage is "My follow-ups and checks" (an officer) or the district's
// list (a supervisor).
type WorkPage struct {
	Page
	Unit       string
	Supervisor bool
	Rows       []WorkRow
	Live       LiveView // the officer's list only
	More       bool     // the officer's list shows its first items only
}
