package seed

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// Demo victims across incidents (issue 16): households whose victim
// called more than once are linked into one person each, as a dispatcher
// would have confirmed; some get a safe-contact rule; others are left
// unlinked, so that a new user sees "same person as in DV-...?" offered.

// demoLinkedHouseholds is how many repeat households are linked;
// demoHouseholds how many are looked at (the rest stay unlinked).
const (
	demoLinkedHouseholds = 25
	demoHouseholds       = 45
	demoLinksPerVictim   = 5 // later calls of hers are left to confirm
)

// demoRules are the safe-contact rules the linked victims get in turn
// (nil: none recorded).
var demoRules = []*postgres.SafeContact{
	{SafeToCall: ptrBool(false), SafeTimes: "weekdays 10:00–13:00, when he is at work", MessageOK: ptrBool(false), CodeWord: "Is the bakery open?", Who: "police"},
	{SafeToCall: ptrBool(true), SafeTimes: "any time", MessageOK: ptrBool(true), Who: "police_ngo"},
	nil,
	{SafeToCall: ptrBool(false), MessageOK: ptrBool(false), CodeWord: "aunt Gulnara", Who: "police"},
	{SafeToCall: ptrBool(true), SafeTimes: "after 18:00", MessageOK: ptrBool(false), Who: "police_ngo"},
}

func ptrBool(b bool) *bool { return &b }

// seedVictims links the demo's repeat victims, once: nothing is done when
// any person record exists.
func seedVictims(ctx context.Context, db *postgres.DB, out io.Writer) error {
	ran, err := db.SeedPersonsOnce(ctx, func() error { return linkVictims(ctx, db, out) })
	if err == nil && !ran {
		fmt.Fprintln(out, "victims: linked persons already present; none added")
	}
	return err
}

func linkVictims(ctx context.Context, db *postgres.DB, out io.Writer) error {
	began := time.Now()
	groups, err := db.RepeatHouseholds(ctx, demoHouseholds)
	if err != nil {
		return err
	}
	var linked [][]int64
	var rules []*postgres.SafeContact
	persons, incidents, nrules := 0, 0, 0
	for i, g := range groups {
		if i >= demoLinkedHouseholds {
			break
		}
		g = g[:min(len(g), demoLinksPerVictim+1)]
		linked = append(linked, g)
		rule := demoRules[i%len(demoRules)]
		rules = append(rules, rule)
		persons, incidents = persons+1, incidents+len(g)
		if rule != nil {
			nrules++
		}
	}
	if err := db.SeedPersons(ctx, linked, rules, audit.Actor{Username: "seed"}); err != nil {
		return err
	}
	fmt.Fprintf(out, "victims: %d repeat victims linked across %d incidents, %d safe-contact rules, %d households left to confirm (%.1fs)\n",
		persons, incidents, nrules, max(0, len(groups)-demoLinkedHouseholds), time.Since(began).Seconds())
	return nil
}
