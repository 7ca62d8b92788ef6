package web

// Victims across incidents (issue 16): the "same person?" offers, the
// repeat-victimisation box and the safe-contact rule.

// VictimBox is what the intake panel shows of the victim across
// incidents: the offers to link her to an earlier incident, and the
// repeat counts once she is linked (or a same-flat match exists).
type VictimBox struct {
	Offers []PersonOffer
	Repeat *RepeatView
}

// PersonOffer asks whether a person is the same as on an earlier
// incident.
type PersonOffer struct {
	Other    string // the earlier incident's id
	Role     string // victim or suspect
	Question string // "Victim: same person as in DV-... (date)?"
	Why      string // which facts agree
	Linked   string // "Already one person with N incidents", or ""
	Href     string // the earlier incident's page
	Choice   string // intake: "yes", "no" or "" as chosen so far
	Action   string // incident page: where the decision posts; "" at intake
}

// RepeatView is repeat victimisation in a sentence and its figures.
type RepeatView struct {
	Headline string // "3rd incident in 12 months"
	Lines    []string
	Alarm    bool // an earlier incident within the year
}

// PersonsPanel is the incident page's section on the people across
// incidents.
type PersonsPanel struct {
	Offers     []PersonOffer
	Linked     []LinkedPerson
	Repeat     *RepeatView
	Error      string
	UndoError  string
	UndoReason string
}

// LinkedPerson is a person of this incident and their incidents.
type LinkedPerson struct {
	Heading    string
	Incidents  []LinkRow
	Elsewhere  string // the incidents outside the viewer's area, counted
	UndoAction string // a supervisor's undo: "" when the viewer may not
	// ExportAction is a supervisor's export of everything held about
	// the person (GET, with role, requester and redact): "" when not.
	ExportAction string
	Role         string
}

// LinkRow is one incident of a person.
type LinkRow struct {
	Number, Href, When string
	This               bool
}

// SafeContactPanel is the victim's safe-contact rule, shown before any
// call-back action, with its edit form and the call-back button.
type SafeContactPanel struct {
	Has        bool
	Rule       []KV
	Unsafe     bool   // calling back is not known to be safe
	PoliceOnly bool   // partner organisations may not contact her
	Updated    string // when the rule was recorded
	Action     string // edit: "" when the viewer may not change it
	Fields     []Field
	Open       bool   // the edit form comes back with errors
	Error      string // the edit form's message
	CallAction string // call-back: "" when the viewer may not
	CallReason Field
	CallBack   string // where the call-back returns ("back"): "" the incident page
	ReasonID   string // the reason input's id where a page has several ("" f-cb_reason)
}
