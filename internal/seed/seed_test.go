package seed

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// fingerprint summarises everything Demo writes, so that a second run can
// be shown to change nothing.
const fingerprintSQL = `SELECT concat_ws(E'\n',
	(SELECT 'districts ' || count(*) || ' max ' || coalesce(max(id), 0) FROM districts),
	(SELECT 'settlements ' || count(*) || ' max ' || coalesce(max(id), 0) FROM settlements),
	(SELECT 'units ' || count(*) || ' ' || string_agg(call_sign || '=' || status, ',' ORDER BY call_sign) FROM units),
	(SELECT 'incident types ' || count(*) || ' max ' || coalesce(max(id), 0) FROM incident_types),
	(SELECT 'priorities ' || count(*) || ' ' || md5(string_agg(p::text, ',' ORDER BY level)) FROM priorities p),
	(SELECT 'dispositions ' || count(*) || ' max ' || coalesce(max(id), 0) FROM dispositions),
	(SELECT 'partners ' || count(*) || ' max ' || coalesce(max(id), 0) FROM partner_orgs),
	(SELECT 'users ' || count(*) || ' ' || md5(string_agg(username || password_hash || session_epoch || updated_at, ',' ORDER BY id)) FROM users),
	(SELECT 'incidents ' || count(*) || ' ' || md5(string_agg(number || updated_at, ',' ORDER BY id)) FROM incidents),
	(SELECT 'incident units ' || count(*) FROM incident_units),
	(SELECT 'incident events ' || count(*) || ' max ' || coalesce(max(id), 0) FROM incident_events),
	(SELECT 'number sequence ' || last_value FROM incident_number_seq))`

func fingerprint(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var s string
	if err := db.Pool.QueryRow(context.Background(), fingerprintSQL).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func count(t *testing.T, db *postgres.DB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestDemo(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	loc := bishkekZone

	var out1, out2 bytes.Buffer
	start := time.Now()
	if err := Demo(ctx, db, loc, &out1); err != nil {
		t.Fatalf("first run: %v", err)
	}
	first := time.Since(start)
	before := fingerprint(t, db)
	start = time.Now()
	if err := Demo(ctx, db, loc, &out2); err != nil {
		t.Fatalf("second run: %v", err)
	}
	second := time.Since(start)
	t.Logf("first run %v, second run %v\n%s", first.Round(time.Millisecond), second.Round(time.Millisecond), out1.String())
	if after := fingerprint(t, db); after != before {
		t.Errorf("second run changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	for _, out := range []string{out1.String(), out2.String()} {
		for _, a := range demoAccounts {
			if !strings.Contains(out, "| "+a.Username+" ") || !strings.Contains(out, a.Password) {
				t.Errorf("output lacks account %s and its password:\n%s", a.Username, out)
			}
		}
		if !strings.Contains(out, "DEMO ACCOUNTS") || !strings.Contains(out, "user disable") {
			t.Errorf("output lacks the demo-account warning:\n%s", out)
		}
	}
	if !strings.Contains(out2.String(), "history: already present") || !strings.Contains(out2.String(), "none added") {
		t.Errorf("second run output does not say nothing was added:\n%s", out2.String())
	}

	t.Run("accounts", func(t *testing.T) {
		for _, a := range demoAccounts {
			u, err := db.UserByUsername(ctx, a.Username)
			if err != nil {
				t.Fatalf("%s: %v", a.Username, err)
			}
			if !account.CheckPassword(u.PasswordHash, a.Password) {
				t.Errorf("%s: demo password does not verify", a.Username)
			}
			if string(u.Role) != a.Role || u.DistrictCode != a.District || u.UnitCallSign != a.Unit {
				t.Errorf("%s: role %s district %q unit %q, want %s %q %q", a.Username, u.Role, u.DistrictCode, u.UnitCallSign, a.Role, a.District, a.Unit)
			}
			if msg := account.PasswordProblem(a.Password); msg != "" {
				t.Errorf("%s: demo password refused: %s", a.Username, msg)
			}
		}
	})

	t.Run("reference data", func(t *testing.T) {
		if n := count(t, db, `SELECT count(*) FROM settlements s JOIN districts d ON d.id = s.district_id
			WHERE s.is_idp AND d.code = 'GORI' AND s.name IN ('Tserovani', 'Karaleti', 'Shavshvebi', 'Berbuki', 'Skra')`); n != 5 {
			t.Errorf("%d IDP settlements in GORI, want 5", n)
		}
		if n := count(t, db, `SELECT count(*) FROM partner_orgs WHERE name NOT LIKE '%(demo)'`); n != 0 {
			t.Errorf("%d partner organisations not marked (demo)", n)
		}
		if n := count(t, db, `SELECT count(*) FROM incident_types WHERE is_dv`); n < 5 {
			t.Errorf("%d DV incident types, want at least 5", n)
		}
	})

	t.Run("volumes", func(t *testing.T) {
		hist := count(t, db, `SELECT count(*) FROM incidents WHERE external_id LIKE 'hist-%'`)
		if hist < 12000 || hist > 20000 {
			t.Errorf("%d history incidents, want 12,000 to 20,000", hist)
		}
		if n := count(t, db, `SELECT count(*) FROM incidents WHERE external_id LIKE 'hist-%' AND (cleared_at IS NULL OR disposition_id IS NULL)`); n != 0 {
			t.Errorf("%d history incidents not cleared with a disposition", n)
		}
		if n := count(t, db, `SELECT count(*) FROM incidents WHERE received_at < now() - interval '366 days' OR received_at > now()`); n != 0 {
			t.Errorf("%d incidents received outside the last year", n)
		}
		open := count(t, db, `SELECT count(*) FROM incidents WHERE cleared_at IS NULL`)
		if open < 8 || open > 12 {
			t.Errorf("%d open incidents, want 8 to 12", open)
		}
		for _, c := range []struct {
			what, cond string
			lo, hi     float64
		}{
			{"missing on scene", "on_scene_at IS NULL", 0.015, 0.045},
			{"missing en route", "en_route_at IS NULL", 0.005, 0.02},
			{"high danger", "high_danger", 0.06, 0.14},
			{"domestic violence", "(SELECT is_dv FROM incident_types WHERE id = type_id)", 0.6, 0.9},
			{"female victims", "victim_sex = 'female'", 0.55, 0.85},
			{"received on Saturday or Sunday", "extract(isodow FROM received_at AT TIME ZONE 'Asia/Bishkek') >= 6", 0.3, 0.4},
			{"received 18:00 to 02:00 local", "extract(hour FROM received_at AT TIME ZONE (CASE WHEN district_id = (SELECT id FROM districts WHERE code = 'GORI') THEN 'Asia/Tbilisi' ELSE 'Asia/Bishkek' END)) NOT BETWEEN 2 AND 17", 0.45, 0.65},
		} {
			n := count(t, db, `SELECT count(*) FROM incidents WHERE external_id LIKE 'hist-%' AND `+c.cond)
			if share := float64(n) / float64(hist); share < c.lo || share > c.hi {
				t.Errorf("%s: %.3f of history, want %.3f to %.3f", c.what, share, c.lo, c.hi)
			}
		}
	})

	t.Run("stage order", func(t *testing.T) {
		if n := count(t, db, `SELECT count(*) FROM incidents WHERE
			dispatched_at <= received_at
			OR en_route_at <= coalesce(dispatched_at, received_at)
			OR on_scene_at <= coalesce(en_route_at, dispatched_at, received_at)
			OR cleared_at <= coalesce(on_scene_at, en_route_at, dispatched_at, received_at)
			OR (dispatched_at IS NULL AND (en_route_at IS NOT NULL OR on_scene_at IS NOT NULL OR cleared_at IS NOT NULL))
			OR greatest(dispatched_at, en_route_at, on_scene_at, cleared_at) > now()`); n != 0 {
			t.Errorf("%d incidents with stage timestamps out of order", n)
		}
		// The timeline is in step with the stage timestamps.
		if n := count(t, db, `SELECT count(*) FROM incidents i WHERE
			NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'created' AND e.at = i.received_at)
			OR (i.dispatched_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'unit_assigned' AND e.at = i.dispatched_at))
			OR (i.en_route_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.data->>'stage' = 'en_route' AND e.at = i.en_route_at))
			OR (i.on_scene_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.data->>'stage' = 'on_scene' AND e.at = i.on_scene_at))
			OR (i.cleared_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.data->>'stage' = 'cleared' AND e.at = i.cleared_at))`); n != 0 {
			t.Errorf("%d incidents whose timeline does not match their stage timestamps", n)
		}
		if n := count(t, db, `SELECT count(*) FROM incident_units u JOIN incidents i ON i.id = u.incident_id
			WHERE u.assigned_at < i.dispatched_at OR u.assigned_at > coalesce(i.cleared_at, now())
			OR u.released_at IS DISTINCT FROM i.cleared_at`); n != 0 {
			t.Errorf("%d unit assignments outside their incident's dispatch and clearance", n)
		}
		if n := count(t, db, `SELECT count(*) FROM incidents WHERE number !~ '^DV-[0-9]{4}-[0-9]{6}$'`); n != 0 {
			t.Errorf("%d incident numbers not like DV-YYYY-NNNNNN", n)
		}
		// Numbers follow received times.
		if n := count(t, db, `SELECT count(*) FROM (SELECT right(number, 6) AS seq,
			row_number() OVER (ORDER BY received_at, right(number, 6)) AS rn,
			row_number() OVER (ORDER BY right(number, 6)) AS sn FROM incidents) x WHERE rn <> sn`); n != 0 {
			t.Errorf("%d incidents numbered out of received order", n)
		}
	})

	t.Run("open incidents", func(t *testing.T) {
		for _, c := range []struct{ what, cond string }{
			{"awaiting dispatch", "dispatched_at IS NULL"},
			{"dispatched", "dispatched_at IS NOT NULL AND en_route_at IS NULL"},
			{"en route", "en_route_at IS NOT NULL AND on_scene_at IS NULL"},
			{"on scene", "on_scene_at IS NOT NULL"},
			{"P1 past its response target", "priority = 1 AND on_scene_at IS NULL AND received_at < now() - (SELECT target_response_s FROM priorities WHERE level = 1) * interval '1 second'"},
			{"in an IDP settlement", "(SELECT is_idp FROM settlements WHERE id = settlement_id)"},
		} {
			if count(t, db, `SELECT count(*) FROM incidents WHERE cleared_at IS NULL AND `+c.cond) == 0 {
				t.Errorf("no open incident %s", c.what)
			}
		}
		if n := count(t, db, `SELECT count(*) FROM incidents i JOIN incident_units iu ON iu.incident_id = i.id AND iu.released_at IS NULL
			JOIN units u ON u.id = iu.unit_id
			WHERE u.status <> CASE WHEN i.on_scene_at IS NOT NULL THEN 'on_scene' WHEN i.en_route_at IS NOT NULL THEN 'en_route' ELSE 'dispatched' END`); n != 0 {
			t.Errorf("%d assigned units whose status does not match their incident's stage", n)
		}
		if n := count(t, db, `SELECT count(*) FROM incidents i JOIN incident_units iu ON iu.incident_id = i.id
			JOIN users u ON u.unit_id = iu.unit_id WHERE i.cleared_at IS NULL AND u.username = 'officer'`); n == 0 {
			t.Error("the demo officer's unit has no open incident")
		}
	})

	t.Run("response times", func(t *testing.T) {
		// Every IDP settlement's median travel time exceeds that of its
		// district's other settlements together.
		rows, err := db.Pool.Query(ctx, `WITH travel AS (
				SELECT i.district_id, s.name, coalesce(s.is_idp, false) AS idp,
					extract(epoch FROM i.on_scene_at - i.en_route_at) AS secs
				FROM incidents i LEFT JOIN settlements s ON s.id = i.settlement_id
				WHERE i.on_scene_at IS NOT NULL AND i.en_route_at IS NOT NULL),
			base AS (SELECT district_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS median
				FROM travel WHERE NOT idp GROUP BY district_id)
			SELECT t.name, percentile_cont(0.5) WITHIN GROUP (ORDER BY t.secs), min(b.median), count(*)
			FROM travel t JOIN base b USING (district_id) WHERE t.idp GROUP BY t.name ORDER BY t.name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		seen := 0
		for rows.Next() {
			var name string
			var idp, base float64
			var n int64
			if err := rows.Scan(&name, &idp, &base, &n); err != nil {
				t.Fatal(err)
			}
			seen++
			t.Logf("IDP %s: median travel %.0fs over %d incidents; district's other settlements %.0fs", name, idp, n, base)
			if idp <= 1.5*base {
				t.Errorf("IDP settlement %s: median travel %.0fs, not clearly above its district's %.0fs", name, idp, base)
			}
		}
		if seen != 5 {
			t.Errorf("travel medians for %d IDP settlements, want 5", seen)
		}

		// Pervomaisky is Bishkek's slow district; P1 is fastest; times
		// improve over the year.
		type median struct {
			key string
			v   float64
		}
		medians := func(sql string) []median {
			t.Helper()
			rows, err := db.Pool.Query(ctx, sql)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []median
			for rows.Next() {
				var m median
				if err := rows.Scan(&m.key, &m.v); err != nil {
					t.Fatal(err)
				}
				out = append(out, m)
			}
			return out
		}
		byDistrict := medians(`SELECT d.code, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM on_scene_at - received_at))
			FROM incidents i JOIN districts d ON d.id = i.district_id WHERE d.code <> 'GORI' GROUP BY d.code ORDER BY 2 DESC`)
		if len(byDistrict) != 4 || byDistrict[0].key != "PER" {
			t.Errorf("Bishkek response medians by district, slowest first: %v; want PER slowest", byDistrict)
		}
		byPriority := medians(`SELECT priority::text, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM on_scene_at - received_at))
			FROM incidents GROUP BY priority ORDER BY 1`)
		for i := 1; i < len(byPriority); i++ {
			if byPriority[i].v <= byPriority[i-1].v {
				t.Errorf("response medians by priority not increasing: %v", byPriority)
			}
		}
		byHalf := medians(`SELECT (received_at > now() - interval '182 days')::text, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - received_at))
			FROM incidents WHERE external_id LIKE 'hist-%' GROUP BY 1 ORDER BY 1`)
		if len(byHalf) != 2 || byHalf[1].v >= byHalf[0].v {
			t.Errorf("call processing medians, earlier and later half-year: %v; want an improvement", byHalf)
		}
	})

	// Issue 17: the demo officer's unit has follow-ups overdue and due, one
	// is done, and an order has checks done and a violation a check found.
	t.Run("follow-through", func(t *testing.T) {
		unit := `(SELECT unit_id FROM users WHERE username = 'officer')`
		for what, q := range map[string]string{
			"overdue tasks of the officer's unit": `SELECT count(*) FROM follow_up_tasks WHERE closed_at IS NULL AND due_at <= now() AND unit_id = ` + unit,
			"tasks due within a week":             `SELECT count(*) FROM follow_up_tasks WHERE closed_at IS NULL AND due_at > now() AND due_at < now() + interval '7 days' AND unit_id = ` + unit,
			"tasks done":                          `SELECT count(*) FROM follow_up_tasks WHERE outcome = 'reached_safe'`,
			"order checks due for the unit":       `SELECT count(*) FROM order_checks WHERE done_at IS NULL AND due_at < now() + interval '7 days' AND unit_id = ` + unit,
			"order checks done":                   `SELECT count(*) FROM order_checks WHERE result = 'complied'`,
			"violations found by a check":         `SELECT count(*) FROM order_checks c JOIN incidents i ON i.id = c.violation_incident_id WHERE c.result = 'breach' AND i.violation_found_by = 'police_check' AND i.protection_order_id = c.order_id`,
		} {
			if n := count(t, db, q); n == 0 {
				t.Errorf("the demo has no %s", what)
			}
		}
	})

	t.Run("new open incidents once all are cleared", func(t *testing.T) {
		if _, err := db.Pool.Exec(ctx, `UPDATE incidents SET cleared_at = now() WHERE cleared_at IS NULL`); err != nil {
			t.Fatal(err)
		}
		before := count(t, db, `SELECT count(*) FROM incidents`)
		var out bytes.Buffer
		if err := Demo(ctx, db, loc, &out); err != nil {
			t.Fatal(err)
		}
		if got := count(t, db, `SELECT count(*) FROM incidents`); got != before+int64(len(openSpecs)) {
			t.Errorf("after clearing every open incident, a run went from %d to %d incidents; want %d more", before, got, len(openSpecs))
		}
	})
}

// TestDemoConcurrent runs two seeds at once, as two `make run`s would: each
// part is loaded once.
func TestDemoConcurrent(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = Demo(ctx, db, bishkekZone, &bytes.Buffer{}) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM incidents WHERE cleared_at IS NULL`); n != int64(len(openSpecs)) {
		t.Errorf("%d open incidents, want %d", n, len(openSpecs))
	}
	if n := count(t, db, `SELECT count(*) FROM users`); n != int64(len(demoAccounts)) {
		t.Errorf("%d users, want %d", n, len(demoAccounts))
	}
	if n, max := count(t, db, `SELECT count(*) FROM incidents WHERE external_id LIKE 'hist-%'`),
		count(t, db, `SELECT max(substr(external_id, 6)::bigint) FROM incidents WHERE external_id LIKE 'hist-%'`); n != max {
		t.Errorf("%d history incidents numbered up to %d: loaded twice?", n, max)
	}
}

// fakeIDs gives the demo reference data made-up ids, for tests of the
// generator without a database.
func fakeIDs() *refIDs {
	ids := &refIDs{
		district: map[string]int64{}, settlement: map[string]int64{}, units: map[string][]int64{},
		callSign: map[int64]string{}, unit: map[string]int64{}, types: map[string]int64{}, dispos: map[string]int64{},
	}
	var next int64
	id := func() int64 { next++; return next }
	for _, d := range districts {
		ids.district[d.code] = id()
		for _, cs := range unitCallSigns[d] {
			u := id()
			ids.units[d.code] = append(ids.units[d.code], u)
			ids.unit[cs], ids.callSign[u] = u, cs
		}
	}
	for _, p := range places {
		ids.settlement[p.district.code+"/"+p.name] = id()
	}
	for _, t := range incidentTypes {
		ids.types[t.code] = id()
	}
	for _, d := range dispositions {
		ids.dispos[d.code] = id()
	}
	return ids
}

func TestHistoryDeterministic(t *testing.T) {
	now := time.Date(2026, 3, 8, 21, 40, 0, 0, time.UTC)
	a := newGenerator(fakeIDs(), bishkekZone, now, historySeed).history()
	b := newGenerator(fakeIDs(), bishkekZone, now, historySeed).history()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generations with the same seed and clock differ")
	}
	if len(a) < 12000 || len(a) > 20000 {
		t.Errorf("%d incidents, want 12,000 to 20,000", len(a))
	}
	for _, in := range a {
		prev := in.ReceivedAt
		for _, s := range []*time.Time{in.DispatchedAt, in.EnRouteAt, in.OnSceneAt, in.ClearedAt} {
			if s == nil {
				continue
			}
			if !s.After(prev) {
				t.Fatalf("%s: stages out of order", in.ExternalID)
			}
			prev = *s
		}
		if in.ClearedAt == nil || in.DispatchedAt == nil || in.ClearedAt.After(now) || in.ReceivedAt.Before(now.AddDate(0, 0, -historyDays)) {
			t.Fatalf("%s: received %v, dispatched %v, cleared %v", in.ExternalID, in.ReceivedAt, in.DispatchedAt, in.ClearedAt)
		}
		for _, s := range []string{in.Address, in.CallerName, in.VictimName, in.SuspectName, in.Narrative} {
			if !utf8.ValidString(s) || len(s) > 300 {
				t.Fatalf("%s: bad text %q", in.ExternalID, s)
			}
		}
		if in.CallerPhone != "" && !strings.Contains(in.CallerPhone, " 555 0") {
			t.Fatalf("%s: phone %q not in the fictitious block", in.ExternalID, in.CallerPhone)
		}
	}
}

func TestPrintAccounts(t *testing.T) {
	var rows []accountRow
	for i, a := range demoAccounts {
		u := &account.User{Username: a.Username, FullName: a.FullName, Role: account.Role(a.Role), DistrictCode: a.District, UnitCallSign: a.Unit}
		pw := a.Password
		if i == 1 {
			pw = ""
		}
		rows = append(rows, accountRow{user: u, password: pw})
	}
	var b bytes.Buffer
	printAccounts(&b, rows)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for _, l := range lines {
		if utf8.RuneCountInString(l) != utf8.RuneCountInString(lines[0]) {
			t.Errorf("ragged box:\n%s", b.String())
			break
		}
	}
	if !strings.Contains(b.String(), "(changed; not shown)") || strings.Contains(b.String(), demoAccounts[1].Password) {
		t.Errorf("a changed password is shown:\n%s", b.String())
	}
}

func TestOrthodoxEaster(t *testing.T) {
	for year, want := range map[int]string{2024: "2024-05-05", 2025: "2025-04-20", 2026: "2026-04-12", 2027: "2027-05-02"} {
		if got := orthodoxEaster(year).Format("2006-01-02"); got != want {
			t.Errorf("Orthodox Easter %d = %s, want %s", year, got, want)
		}
	}
}
