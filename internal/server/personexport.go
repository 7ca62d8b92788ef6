package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/dvresponse/dvresponse/internal/access"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// The per-person export (issue 16, data-subject care): a supervisor
// exports everything held about the person of an incident (its victim or
// suspect) for a lawful request: her incidents (those the supervisor may
// see), what each records of her, the orders, referrals and call-backs
// of them, and (for a victim's own request) her safe-contact rule.
// Redacted (redact=1), other people's identifying details are left out
// (the other party's and the caller's name, phone and age, the
// narrative). When the requester is on the suspect's side
// (requester=suspect_side) the victim's addresses, locations and
// safe-contact rule are always left out. Audited ("person.export", with
// the choices, never the content).

type personExportIncident struct {
	Number       string     `json:"number"`
	ReceivedAt   time.Time  `json:"received_at"`
	ClearedAt    *time.Time `json:"cleared_at,omitempty"`
	Type         string     `json:"type"`
	Role         string     `json:"role"`
	Name         string     `json:"name"`
	Sex          string     `json:"sex,omitempty"`
	Age          *int       `json:"age,omitempty"`
	Address      string     `json:"address,omitempty"`
	Location     string     `json:"location_notes,omitempty"`
	Caller       string     `json:"caller,omitempty"`
	CallerPhone  string     `json:"caller_phone,omitempty"`
	OtherParty   string     `json:"other_party,omitempty"`
	OtherAge     *int       `json:"other_party_age,omitempty"`
	Relationship string     `json:"relationship,omitempty"`
	Narrative    string     `json:"narrative,omitempty"`
	Disposition  string     `json:"disposition,omitempty"`
	HighDanger   bool       `json:"high_danger"`
}

type personExport struct {
	Person      int64                  `json:"person"`
	Role        string                 `json:"role"`
	Requester   string                 `json:"requester"`
	Redacted    bool                   `json:"redacted"`
	ExportedAt  time.Time              `json:"exported_at"`
	Incidents   []personExportIncident `json:"incidents"`
	Elsewhere   int                    `json:"incidents_outside_your_area"`
	SafeContact *postgres.SafeContact  `json:"safe_contact,omitempty"`
}

// exportPerson answers GET /incidents/{id}/persons/export.
func (s *Server) exportPerson(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncident(w, r)
	if !ok {
		return
	}
	u := currentUser(r.Context())
	if !access.CanUndoPersonLink(u, access.Of(in)) {
		s.refuseChange(w, r, "person.export", "incident", in.Number)
		return
	}
	qv := r.URL.Query()
	role := qv.Get("role")
	if role != postgres.RoleSuspect {
		role = postgres.RoleVictim
	}
	requester := qv.Get("requester")
	if requester != "suspect_side" {
		requester = "subject"
	}
	redact := qv.Get("redact") == "1" || requester == "suspect_side"
	ctx := r.Context()
	person, err := s.db.PersonOf(ctx, in.ID, role)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if person == 0 {
		s.fail(w, r, apperr.New(apperr.Conflict, "victims.err.not_linked"))
		return
	}
	links, err := s.db.PersonIncidents(ctx, person, role)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := personExport{Person: person, Role: role, Requester: requester, Redacted: redact, ExportedAt: s.now().UTC()}
	hideVictimPlace := role == postgres.RoleVictim && requester == "suspect_side"
	for _, l := range links {
		x, err := s.db.Incident(ctx, l.IncidentID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !canView(u, x) {
			out.Elsewhere++
			continue
		}
		own, other := x.Victim, x.Suspect
		if role == postgres.RoleSuspect {
			own, other = x.Suspect, x.Victim
		}
		e := personExportIncident{Number: x.Number, ReceivedAt: x.ReceivedAt.UTC(), ClearedAt: x.ClearedAt, Type: x.TypeName,
			Role: role, Name: own.Name, Sex: own.Sex, Age: own.Age, Disposition: x.Disposition, HighDanger: x.HighDanger,
			Address: x.Address, Location: x.LocationNotes, Caller: x.Caller.Name, CallerPhone: x.Caller.Phone,
			OtherParty: other.Name, OtherAge: other.Age, Relationship: x.Relationship, Narrative: x.Narrative}
		if x.AddressConfidential && !addressShown(u, x) || hideVictimPlace {
			e.Address, e.Location = "", ""
		}
		if redact {
			e.OtherParty, e.OtherAge, e.Narrative = "", nil, ""
			if !(x.Caller.Relation == "victim" && role == postgres.RoleVictim) {
				e.Caller, e.CallerPhone = "", ""
			}
		}
		out.Incidents = append(out.Incidents, e)
	}
	if role == postgres.RoleVictim && requester == "subject" {
		if out.SafeContact, _, err = s.db.SafeContactOf(ctx, in.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.Audit(ctx, audit.Entry{Actor: s.actor(r), Action: "person.export", RecordType: "incident", RecordID: in.Number,
		Detail: map[string]any{"person": person, "role": role, "requester": requester, "redacted": redact,
			"incidents": len(out.Incidents)}}); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="person-`+strconv.FormatInt(person, 10)+`.json"`)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes()) //nolint:errcheck
}
