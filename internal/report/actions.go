package report

// ActionCounts are what was done for the victims of the period's
// incidents (whenever it was recorded): the dashboard's action figures,
// computed by postgres.DashboardExtras and by the report store
// (facts.Store.ActionCounts) alike.
type ActionCounts struct {
	Incidents          int // the period's incidents that pass the filters: what the counts rest on
	Referrals          int // referrals offered to the victims
	ReferralsAccepted  int // of which the victim accepted (accepted_at recorded)
	IncidentsReferred  int // incidents with at least one referral
	Screens            int // danger screens done
	IncidentsScreened  int // incidents with at least one danger screen
	IncidentsHighRisk  int // incidents a screen found at high danger
	Orders             int // protection orders issued on the incidents
	IncidentsWithOrder int // incidents with at least one order
}
