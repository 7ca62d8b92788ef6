package seed

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/dvresponse/dvresponse/internal/postgres"
)

// scaleSeed seeds the generator of a scale load (xor the incidents present).
const scaleSeed = 0x5ca1e

// ScaleOptions are the parameters of Scale.
type ScaleOptions struct {
	Incidents int           // how many scale incidents the database should hold in all
	Years     int           // received over this many years up to now; default 5
	Batch     int           // incidents per COPY transaction; default 250,000
	Now       time.Time     // default time.Now()
	Progress  time.Duration // how often to print progress; default 10 s
}

// Scale loads cleared incidents until the database holds o.Incidents of
// them (external ids postgres.ScalePrefix + number), for load tests: the
// demo's reference data, then incidents drawn like the demo history's
// (deployments, districts and places, types, priorities, hours, weekdays,
// seasons, holidays, stage times and their improvement over time, missing
// stages) spread over the last o.Years years, copied in batches, then the
// planner's statistics refreshed. Nothing derived is rebuilt: report
// figures come from the in-memory report store (internal/facts, see
// internal/report/ENGINE.md), and from the incidents themselves until it
// is loaded. Running it again with a larger count tops up with more
// incidents over the same years. It prints progress and rates to out.
func Scale(ctx context.Context, db *postgres.DB, loc *time.Location, o ScaleOptions, out io.Writer) error {
	began := time.Now()
	if loc == nil {
		loc = bishkekZone
	}
	if o.Years <= 0 {
		o.Years = 5
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Progress <= 0 {
		o.Progress = 10 * time.Second
	}
	if _, err := db.SeedReference(ctx, referenceData()); err != nil {
		return fmt.Errorf("seed reference data: %w", err)
	}
	ids, err := loadIDs(ctx, db)
	if err != nil {
		return err
	}
	have, err := db.SeedBatchPresent(ctx, postgres.SeedBatch{Prefix: postgres.ScalePrefix})
	if err != nil {
		return err
	}
	want := int64(o.Incidents)
	if have >= want {
		fmt.Fprintf(out, "scale: %s incidents present already; none added\n", thousands(have))
		return nil
	}
	add := want - have
	fmt.Fprintf(out, "scale: adding %s incidents over %d years to the %s present\n", thousands(add), o.Years, thousands(have))

	sg := newScaleGen(ids, loc, o.Now, o.Years, have, add)
	t0, last := time.Now(), time.Now()
	loaded, err := db.SeedScale(ctx, o.Batch, sg.next, func(n int64) {
		if time.Since(last) >= o.Progress || n == add {
			el := time.Since(t0).Seconds()
			fmt.Fprintf(out, "scale: %s / %s copied, %.0f incidents/s\n", thousands(n), thousands(add), float64(n)/el)
			last = time.Now()
		}
	})
	if err != nil {
		return fmt.Errorf("seed incidents (%s copied): %w", thousands(loaded), err)
	}
	copySecs := time.Since(t0).Seconds()
	fmt.Fprintf(out, "scale: %s incidents copied in %.1fs (%.0f/s)\n", thousands(loaded), copySecs, float64(loaded)/copySecs)

	// Nothing derived to rebuild (the report rollups are gone): the
	// report store loads the incidents when the server starts.
	t2 := time.Now()
	if err := db.Analyze(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "scale: analyzed in %.1fs; %s incidents in all, done in %.1fs\n",
		time.Since(t2).Seconds(), thousands(have+loaded), time.Since(began).Seconds())
	return nil
}

// scaleGen draws the incidents of a scale load day by day: each day gets
// its share of the count by the demo history's weekday, season and
// holiday factors, split between the deployments by their call volumes.
type scaleGen struct {
	g          *generator
	start, end time.Time // received from start to end (UTC instants)
	days       int
	weights    []float64
	total      float64
	add        int64
	made       int64
	seq        int64 // last external id number
	day        int   // current day index
	dayLeft    int   // incidents still to draw on day
	cum        float64
	deps       []weighted[*deployment]
}

func newScaleGen(ids *refIDs, loc *time.Location, now time.Time, years int, have, add int64) *scaleGen {
	g := newGenerator(ids, loc, now, uint64(scaleSeed)^uint64(have))
	end := now.Add(-2 * time.Hour)
	start := end.AddDate(-years, 0, 0)
	sg := &scaleGen{g: g, start: start, end: end, add: add, seq: have, day: -1,
		deps: []weighted[*deployment]{{bishkek, bishkek.perDay}, {gori, gori.perDay}}}
	sg.days = int(end.Sub(start).Hours()/24) + 1
	for d := range sg.days {
		day := start.AddDate(0, 0, d)
		w := weekdayFactor[day.Weekday()] * season(day) * bishkek.holiday(day.Month(), day.Day(), day.Year())
		sg.weights = append(sg.weights, w)
		sg.total += w
	}
	return sg
}

// next draws one incident into in; false when all are drawn.
func (sg *scaleGen) next(in *postgres.ScaleIncident) bool {
	if sg.made >= sg.add {
		return false
	}
	for sg.dayLeft == 0 {
		sg.day++
		before := int64(math.Round(sg.cum / sg.total * float64(sg.add)))
		sg.cum += sg.weights[min(sg.day, sg.days-1)]
		after := int64(math.Round(sg.cum / sg.total * float64(sg.add)))
		if sg.day >= sg.days-1 {
			after = sg.add
		}
		sg.dayLeft = int(after - before)
	}
	sg.dayLeft--
	sg.made++
	sg.seq++
	g, r := sg.g, sg.g.r
	dep := pick(r, sg.deps)
	day := sg.start.AddDate(0, 0, sg.day).In(dep.zone)
	midnight := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, dep.zone)
	wd := midnight.Weekday()
	hour := pickHour(r, wd == time.Saturday || wd == time.Sunday)
	lt := midnight.Add(time.Duration(hour)*time.Hour + time.Duration(r.Int64N(int64(time.Hour/time.Microsecond)))*time.Microsecond)
	if lt.After(sg.end) {
		lt = sg.end.Add(-time.Duration(r.IntN(86400)) * time.Second).In(dep.zone)
	}
	f := g.call(dep)
	// Repeat callers come from recent households; keep the list short so
	// that ten million calls do not keep ten million households.
	if hs := g.homes[dep]; len(hs) > 40_000 {
		g.homes[dep] = append([]*household(nil), hs[len(hs)-20_000:]...)
	}
	dispo := pick(r, g.dispos[f.typ.code])
	frac := float64(lt.Sub(sg.start)) / float64(sg.end.Sub(sg.start))
	hol := dep.holiday(lt.Month(), lt.Day(), lt.Year())
	s := g.timing(f, lt, frac, hol, dispo.onScene, dispo.code == "CANCELLED")

	t := lt.UTC()
	// Stage times carry the server clock's sub-second part.
	at := func(sec float64) *time.Time {
		if sec < 0 {
			return nil
		}
		x := t.Add(time.Duration(sec)*time.Second + time.Duration(r.IntN(1_000_000))*time.Microsecond)
		return &x
	}
	h := f.home
	did, sid := g.ids.place(h.place)
	dispoID := g.ids.dispos[dispo.code]
	*in = postgres.ScaleIncident{
		Number:     fmt.Sprintf("SC-%04d-%08d", lt.In(g.loc).Year(), sg.seq),
		ExternalID: fmt.Sprintf("%s%08d", postgres.ScalePrefix, sg.seq),
		ReceivedAt: t, DispatchedAt: at(s.dispatch), EnRouteAt: at(s.enRoute), OnSceneAt: at(s.onScene), ClearedAt: at(s.cleared),
		TypeID: g.ids.types[f.typ.code], Priority: f.prio.level, DispositionID: &dispoID,
		DistrictID: did, SettlementID: sid, Address: h.address,
		Latitude: math.Round(h.lat*1e5) / 1e5, Longitude: math.Round(h.lon*1e5) / 1e5,
		CallerLanguage: h.language, Weapons: f.weapons, ChildrenPresent: f.children, Injuries: f.injuries,
		HighDanger: f.highDanger,
	}
	if f.typ.dv || chance(r, 0.5) {
		if !chance(r, 0.04) {
			in.VictimSex = h.victim.sex
		}
		if !chance(r, 0.1) {
			age := h.victim.age
			in.VictimAge = &age
		}
	}
	return true
}
