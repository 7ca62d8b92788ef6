package server

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/i18n"
	"github.com/dvresponse/dvresponse/internal/incident"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/refdata"
	"github.com/dvresponse/dvresponse/web"
)

// referralRoles may offer referrals and record their steps: the officer
// with the victim, dispatchers and supervisors following up. Administrators
// may read them.
var referralRoles = []account.Role{account.Officer, account.Dispatcher, account.Supervisor}

// staleReferral is how long a referral may wait for its next step before
// the supervisors' list marks it.
const staleReferral = 24 * time.Hour

func canChangeReferrals(u *account.User) bool { return slices.Contains(referralRoles, u.Role) }

func referralHref(id int64) string { return "/referrals/" + strconv.FormatInt(id, 10) }

// consentOptions are the consent values a form offers, in the request's
// language.
func (s *Server) consentOptions(r *http.Request) []web.Option {
	var out []web.Option
	for _, c := range incident.Consents {
		out = append(out, web.Option{Value: string(c), Label: s.t(r, "referral.consent."+string(c))})
	}
	return out
}

// partnerKindText is the name of a partner organisation's kind in the
// request's language (PartnerKind.Label is the English one).
func (s *Server) partnerKindText(r *http.Request, k refdata.PartnerKind) string {
	id := "referral.partner_kind." + string(k)
	if l := i18n.FromContext(r.Context()); l.Has(id) {
		return l.T(id)
	}
	return string(k)
}

// referralFormState is what a referral form sent back with errors shows.
type referralFormState struct {
	createErr    string
	createErrs   map[string]string
	partners     []string // ids ticked
	consent      string
	reason       string
	rowID        int64 // the referral whose form failed
	rowErr       string
	rowErrs      map[string]string
	rowConsent   string
	rowReason    string
	rowConsentOK bool // rowConsent/rowReason hold what was typed
}

// referralsPanel renders the referral section of the incident page.
func (s *Server) referralsPanel(r *http.Request, in *incident.Incident) (templ.Component, error) {
	p, err := s.referralsPanelData(r, in, referralFormState{})
	if err != nil {
		return nil, err
	}
	return web.ReferralsPanelView(p), nil
}

func (s *Server) referralsPanelData(r *http.Request, in *incident.Incident, st referralFormState) (web.ReferralsPanel, error) {
	ctx := r.Context()
	change := canChangeReferrals(currentUser(ctx)) && canChange(currentUser(ctx), in)
	p := web.ReferralsPanel{Consent: st.consent, OverrideReason: st.reason, ConsentOptions: s.consentOptions(r),
		Error: st.createErr, Errors: st.createErrs}
	if p.Consent == "" {
		p.Consent = string(incident.ConsentPending)
	}
	rs, err := s.db.IncidentReferrals(ctx, in.ID)
	if err != nil {
		return p, err
	}
	for i := range rs {
		ref := &rs[i]
		row := web.ReferralRow{ID: strconv.FormatInt(ref.ID, 10), Partner: ref.PartnerName,
			Kind: s.partnerKindText(r, refdata.PartnerKind(ref.PartnerKind)), Status: string(ref.Status),
			StatusLabel: s.t(r, "referral.status."+string(ref.Status)), Open: ref.Open(), Consent: string(ref.Consent),
			ConsentLabel: s.t(r, "referral.consent."+string(ref.Consent)), OverrideReason: ref.OverrideReason,
			ConsentOptions: s.consentOptions(r)}
		for _, step := range ref.Steps {
			row.Steps = append(row.Steps, web.ReferralStepRow{Label: s.t(r, "referral.status."+string(step.Status)), When: s.officerTime(r, step.At),
				ISO: step.At.UTC().Format(time.RFC3339), Who: step.By})
		}
		if change {
			row.Action = referralHref(ref.ID) + "/status"
			row.EditConsent = ref.ConsentEditable()
			for _, n := range incident.NextStatuses(ref.Status) {
				row.Next = append(row.Next, web.Option{Value: string(n), Label: s.t(r, "referral.action."+string(n))})
			}
		}
		if ref.ID == st.rowID {
			row.Error, row.Errors = st.rowErr, st.rowErrs
			if st.rowConsentOK {
				row.Consent, row.OverrideReason = st.rowConsent, st.rowReason
			}
		}
		p.Rows = append(p.Rows, row)
	}
	if change {
		p.Action = "/incidents/" + strconv.FormatInt(in.ID, 10) + "/referrals"
		partners, err := s.db.Partners(ctx)
		if err != nil {
			return p, err
		}
		open := map[int64]bool{} // organisations with an open referral are not offered again
		for _, ref := range rs {
			if ref.Open() {
				open[ref.PartnerID] = true
			}
		}
		for _, o := range partners {
			if !o.Active || open[o.ID] {
				continue
			}
			id := strconv.FormatInt(o.ID, 10)
			p.Partners = append(p.Partners, web.PartnerChoice{ID: id, Name: o.Name, Kind: s.partnerKindText(r, o.Kind),
				Selected: slices.Contains(st.partners, id)})
		}
	}
	return p, nil
}

// renderReferralsError shows the referral section on its own with the
// failed form's message and what was typed.
func (s *Server) renderReferralsError(w http.ResponseWriter, r *http.Request, in *incident.Incident, err error, st referralFormState) {
	if apperr.CodeOf(err) == apperr.Internal || apperr.CodeOf(err) == apperr.NotFound {
		s.fail(w, r, err)
		return
	}
	msg, fields := s.formError(r, err)
	if st.rowID != 0 {
		st.rowErr, st.rowErrs = msg, fields
	} else {
		st.createErr, st.createErrs = msg, fields
	}
	p, perr := s.referralsPanelData(r, in, st)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	s.render(w, r, statusOf(apperr.CodeOf(err)), web.PanelOnly(web.PanelPage{Page: s.page(r, in.Number, incidentNav(currentUser(r.Context()))),
		Heading: s.t(r, "referral.panel.heading", "Number", in.Number), BackHref: "/incidents/" + strconv.FormatInt(in.ID, 10) + "#referrals",
		Panel: web.ReferralsPanelView(p)}))
}

// createReferrals offers the victim referrals to the chosen organisations.
func (s *Server) createReferrals(w http.ResponseWriter, r *http.Request) {
	in, ok := s.loadIncidentToChange(w, r, "referral.create")
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, apperr.New(apperr.Invalid, "officer.err.form_unreadable"))
		return
	}
	st := referralFormState{partners: r.PostForm["partner_id"], consent: r.PostFormValue("consent"),
		reason: r.PostFormValue("override_reason")}
	err := func() error {
		e := apperr.Fields{}
		var ids []int64
		for _, v := range st.partners {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				e.Add("partner_id", "referral.err.choose_listed")
				continue
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if len(st.partners) == 0 {
			e.Add("partner_id", "referral.err.choose_one")
		}
		consent, reason, cerr := incident.NewReferralConsent(incident.ConsentChange{Consent: st.consent, OverrideReason: st.reason})
		for k, v := range apperr.FieldsOf(cerr) {
			e.Add(k, v.ID, v.Args...)
		}
		if err := e.Err(); err != nil {
			return err
		}
		_, err := s.db.CreateReferrals(r.Context(), postgres.NewReferrals{IncidentID: in.ID, PartnerIDs: ids,
			Consent: consent, OverrideReason: reason}, s.actor(r))
		return err
	}()
	if err != nil {
		s.renderReferralsError(w, r, in, err, st)
		return
	}
	s.setFlash(r, "ok", s.t(r, "referral.flash.offered"))
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(in.ID, 10)+"#referrals", http.StatusSeeOther)
}

// notYourReferral is the answer to a referral whose incident is outside
// the viewer's part, or one that does not exist.
const notYourReferral = "referral.err.not_yours"

// changeReferral records the next step of a referral and/or its consent.
func (s *Server) changeReferral(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "rid"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return
	}
	// A missing referral is answered like a refused one for a viewer
	// limited to part of the records (recordMissing).
	ref, err := s.db.Referral(r.Context(), id)
	if err != nil {
		s.recordMissing(w, r, err, "referral.change", "referral", id, notYourReferral)
		return
	}
	// The referral is the incident's: the viewer must be able to see it.
	in, err := s.db.Incident(r.Context(), ref.IncidentID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !canView(currentUser(r.Context()), in) {
		s.refuseRecord(w, r, "referral.change", "referral", strconv.FormatInt(ref.ID, 10), id, notYourReferral)
		return
	}
	if !canChange(currentUser(r.Context()), in) {
		s.refuseChange(w, r, "referral.change", "referral", strconv.FormatInt(ref.ID, 10))
		return
	}
	st := referralFormState{rowID: ref.ID, rowConsent: r.PostFormValue("consent"), rowReason: r.PostFormValue("override_reason"),
		rowConsentOK: true}
	to, err := incident.ParseReferralStatus(r.PostFormValue("to"))
	if err == nil {
		_, err = s.db.ChangeReferral(r.Context(), ref.ID, postgres.ReferralChange{To: to,
			Consent: incident.ConsentChange{Consent: st.rowConsent, OverrideReason: st.rowReason}}, s.actor(r))
	}
	if err != nil {
		s.renderReferralsError(w, r, in, err, st)
		return
	}
	msg := s.t(r, "referral.flash.consent", "Partner", ref.PartnerName)
	if to != "" {
		msg = s.t(r, "referral.flash.status", "Partner", ref.PartnerName, "Status", s.t(r, "referral.status."+string(to)))
	}
	s.setFlash(r, "ok", msg)
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(in.ID, 10)+"#referral-"+strconv.FormatInt(ref.ID, 10), http.StatusSeeOther)
}

// openReferrals lists the referrals not yet closed by organisation, with
// how long each has waited: a supervisor with a district sees that
// district's incidents.
func (s *Server) openReferrals(w http.ResponseWriter, r *http.Request) {
	s.openReferralsPage(w, r, http.StatusOK, nil)
}

// openReferralsPage shows the open referrals; each incident the viewer
// may call back about shows the victim's safe-contact rule first, then
// the call-back (with the refused one's message and reason).
func (s *Server) openReferralsPage(w http.ResponseWriter, r *http.Request, status int, refused *refusedCallBack) {
	u := currentUser(r.Context())
	var district *int64
	if u.Role == account.Supervisor {
		district = u.DistrictID
	}
	rs, err := s.db.OpenReferrals(r.Context(), district)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now, err := s.db.NowUTC(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := web.OpenReferralsPage{Page: s.page(r, s.t(r, "referral.open.title"), "referrals"), Total: len(rs)}
	incidents := map[int64]*incident.Incident{}
	l := i18n.FromContext(r.Context())
	for i := range rs {
		ref := &rs[i]
		if len(p.Groups) == 0 || p.Groups[len(p.Groups)-1].Partner != ref.PartnerName {
			p.Groups = append(p.Groups, web.ReferralGroup{Partner: ref.PartnerName, Kind: s.partnerKindText(r, refdata.PartnerKind(ref.PartnerKind))})
		}
		g := &p.Groups[len(p.Groups)-1]
		last := ref.LastChange()
		g.Rows = append(g.Rows, web.OpenReferralRow{Incident: ref.IncidentNumber,
			IncidentHref: "/incidents/" + strconv.FormatInt(ref.IncidentID, 10) + "#referrals", District: ref.DistrictCode,
			Status: s.t(r, "referral.status."+string(ref.Status)), Consent: s.t(r, "referral.consent."+string(ref.Consent)),
			Offered: s.officerTime(r, ref.OfferedAt), OfferedISO: ref.OfferedAt.UTC().Format(time.RFC3339),
			Waiting: durationWords(l, now.Sub(ref.OfferedAt)), SinceChange: durationWords(l, now.Sub(last)), Stale: now.Sub(last) > staleReferral})
		in, ok := incidents[ref.IncidentID]
		if !ok {
			if in, err = s.db.Incident(r.Context(), ref.IncidentID); err != nil {
				s.fail(w, r, err)
				return
			}
			incidents[ref.IncidentID] = in
		}
		var msg, reason string
		if refused != nil && refused.incident == ref.IncidentID {
			msg, reason = refused.msg, refused.reason
		}
		box, err := s.callBackBox(r, in, callBackFromReferrals, strconv.FormatInt(ref.ID, 10), msg, reason)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		g.Rows[len(g.Rows)-1].CallBack = box
	}
	s.render(w, r, status, web.OpenReferrals(p))
}
