// Package seed loads demo data: two deployments' reference data (Bishkek,
// Kyrgyzstan, and Gori, Georgia, with its settlements of internally
// displaced people), one account per role, incidents open right now and a
// year of cleared history.
//
// Demo runs on every `make run`, so it is idempotent and quick: reference
// data and accounts are matched by their natural keys (codes, call signs,
// names, usernames) and only missing ones are added; the open incidents
// are added only when no seed incident is open; the history only when none
// is present. Each part is loaded in one transaction. All people, phone
// numbers and addresses are synthetic.
package seed

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dvresponse/dvresponse/internal/postgres"
)

// Demo loads the demo data idempotently and prints the demo accounts and a
// line per part to out. loc is the deployment's time zone; incident
// numbers take their year from it.
func Demo(ctx context.Context, db *postgres.DB, loc *time.Location, out io.Writer) error {
	return demo(ctx, db, loc, out, time.Now())
}

func demo(ctx context.Context, db *postgres.DB, loc *time.Location, out io.Writer, now time.Time) error {
	began := time.Now()
	if loc == nil {
		loc = bishkekZone
	}

	// 1. Reference data.
	ref := referenceData()
	res, err := db.SeedReference(ctx, ref)
	if err != nil {
		return fmt.Errorf("seed reference data: %w", err)
	}
	idp := 0
	for _, s := range ref.Settlements {
		if s.IsIDP {
			idp++
		}
	}
	fmt.Fprintf(out, "reference data: %d districts, %d settlements (%d IDP), %d units, %d incident types, %d priorities, %d dispositions, %d partner organisations (%s)\n",
		len(ref.Districts), len(ref.Settlements), idp, len(ref.Units), len(ref.IncidentTypes), len(ref.Priorities),
		len(ref.Dispositions), len(ref.Partners), newCount(res.Total()))

	// 2. Accounts.
	accounts, err := ensureAccounts(ctx, db)
	if err != nil {
		return fmt.Errorf("seed accounts: %w", err)
	}
	created := 0
	for _, a := range accounts {
		if a.created {
			created++
		}
	}
	fmt.Fprintf(out, "accounts: %d demo accounts (%s)\n", len(accounts), newCount(int64(created)))

	ids, err := loadIDs(ctx, db)
	if err != nil {
		return err
	}

	// 3a. A year of history, first, so that incident numbers follow received
	// times.
	histBatch := postgres.SeedBatch{Prefix: historyPrefix}
	n, err := db.SeedBatchPresent(ctx, histBatch)
	if err != nil {
		return fmt.Errorf("seed history: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(out, "history: already present (%s incidents); none added\n", thousands(n))
	} else {
		hist := newGenerator(ids, loc, now, historySeed).history()
		n, err := db.SeedIncidents(ctx, histBatch, hist)
		if err != nil {
			return fmt.Errorf("seed history: %w", err)
		}
		if n > 0 {
			fmt.Fprintf(out, "history: %s cleared incidents loaded, received %s to %s\n", thousands(n),
				hist[0].ReceivedAt.In(loc).Format("2006-01-02"), hist[len(hist)-1].ReceivedAt.In(loc).Format("2006-01-02"))
		} else {
			fmt.Fprintln(out, "history: already present; none added")
		}
	}

	// 3b. Incidents open right now.
	openBatch := postgres.SeedBatch{Prefix: openPrefix, OpenOnly: true}
	n, err = db.SeedBatchPresent(ctx, openBatch)
	if err != nil {
		return fmt.Errorf("seed open incidents: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(out, "open incidents: %d demo incidents still open; none added\n", n)
	} else {
		dispatchers := map[*deployment]*int64{}
		for _, a := range accounts {
			switch a.user.Username {
			case "dispatcher":
				dispatchers[bishkek] = &a.user.ID
			case "dispatcher.gori":
				dispatchers[gori] = &a.user.ID
			}
		}
		g := newGenerator(ids, loc, now, openSeed)
		n, err := db.SeedIncidents(ctx, openBatch, g.openIncidents(dispatchers))
		if err != nil {
			return fmt.Errorf("seed open incidents: %w", err)
		}
		fmt.Fprintf(out, "open incidents: %d loaded at every stage, relative to now\n", n)
	}

	// 3c. Victims across incidents: repeat victims linked, safe-contact
	// rules (victims.go).
	if err := seedVictims(ctx, db, out); err != nil {
		return fmt.Errorf("seed victims: %w", err)
	}
	// 3d. Follow-ups and order checks on the open DV incidents (issue 17),
	// relative to now: each role sees its work list at once.
	ft, err := db.SeedFollowThrough(ctx, now, loc)
	if err != nil {
		return fmt.Errorf("seed follow-ups: %w", err)
	}
	if ft.Tasks+ft.Orders > 0 {
		fmt.Fprintf(out, "follow-through: %d follow-up tasks, %d protection orders (%d checks done, %d violation found by a check)\n",
			ft.Tasks, ft.Orders, ft.Checks, ft.Violations)
	} else {
		fmt.Fprintln(out, "follow-through: already present; none added")
	}

	printAccounts(out, accounts)
	fmt.Fprintf(out, "demo data ready in %.1fs\n", time.Since(began).Seconds())
	return nil
}

// loadIDs reads the ids of the demo reference data, which SeedReference
// has just made sure exist.
func loadIDs(ctx context.Context, db *postgres.DB) (*refIDs, error) {
	ids := &refIDs{
		district: map[string]int64{}, settlement: map[string]int64{}, units: map[string][]int64{},
		callSign: map[int64]string{}, unit: map[string]int64{}, types: map[string]int64{}, dispos: map[string]int64{},
	}
	ds, err := db.Districts(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		ids.district[d.Code] = d.ID
	}
	ss, err := db.Settlements(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		ids.settlement[s.DistrictCode+"/"+s.Name] = s.ID
	}
	us, err := db.Units(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		ids.unit[u.CallSign] = u.ID
		ids.callSign[u.ID] = u.CallSign
	}
	ts, err := db.IncidentTypes(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		ids.types[t.Code] = t.ID
	}
	dis, err := db.Dispositions(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range dis {
		ids.dispos[d.Code] = d.ID
	}

	// Only the demo units take demo calls, so that units an admin adds
	// stay free.
	var missing []string
	for _, d := range districts {
		if _, ok := ids.district[d.code]; !ok {
			missing = append(missing, "district "+d.code)
		}
		for _, cs := range unitCallSigns[d] {
			id, ok := ids.unit[cs]
			if !ok {
				missing = append(missing, "unit "+cs)
				continue
			}
			ids.units[d.code] = append(ids.units[d.code], id)
		}
	}
	for _, p := range places {
		if _, ok := ids.settlement[p.district.code+"/"+p.name]; p.name != "" && !ok {
			missing = append(missing, "settlement "+p.name)
		}
	}
	for _, t := range incidentTypes {
		if _, ok := ids.types[t.code]; !ok {
			missing = append(missing, "incident type "+t.code)
		}
	}
	for _, d := range dispositions {
		if _, ok := ids.dispos[d.code]; !ok {
			missing = append(missing, "disposition "+d.code)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("seed: demo reference data missing after loading: %v", missing)
	}
	return ids, nil
}

func newCount(n int64) string {
	if n == 0 {
		return "none new"
	}
	return strconv.FormatInt(n, 10) + " new"
}

// thousands writes n with thousands separators: 15234 is "15,234".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Reference loads the demo's reference data alone (districts, settlements,
// units, incident types, priorities with their targets, dispositions,
// partners), idempotently: what the intake form and the board need,
// without the demo's accounts and year of history, for tests that must
// set up quickly.
func Reference(ctx context.Context, db *postgres.DB) error {
	if _, err := db.SeedReference(ctx, referenceData()); err != nil {
		return fmt.Errorf("seed reference data: %w", err)
	}
	return nil
}
