package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/facts"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

// repeatCounter is the dashboard's database counting its repeat-rate
// queries.
type repeatCounter struct {
	*postgres.DB
	calls atomic.Int32
}

func (c *repeatCounter) RepeatRatesMulti(ctx context.Context, q report.Query, bys []string) ([][]postgres.RepeatRate, error) {
	c.calls.Add(1)
	return c.DB.RepeatRatesMulti(ctx, q, bys)
}

// TestDashboardRepeatRatesMatchReference: with some victims linked across
// incidents (a DV incident in February, one over a year before, a linked
// theft that must not count), the dashboard's repeat-rate figures (its
// section's fragment, GET /dashboard/repeats, as the page loads it) equal
// a reference query (the victim's previous DV incident by a window
// function, grouped in Go) for each grouping, for the whole period, a
// district filter, an IDP filter and a district supervisor's scope; the
// dashboard page itself does not run the repeat query. With the report
// store loaded the fragment reads the store, not the database.
func TestDashboardRepeatRatesMatchReference(t *testing.T) {
	t.Parallel()
	forBothSources(t, testDashboardRepeatRatesMatchReference)
}

// waitSynced waits until the report store has read the change log from
// start to end after now: what was committed before is in it.
func waitSynced(t *testing.T, store *facts.Store) {
	t.Helper()
	after := time.Now()
	for range 2 {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if _, _, at := store.Status(); at.After(after) {
				after = at
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the report store did not read the change log within 5 s")
			}
		}
	}
}

func testDashboardRepeatRatesMatchReference(t *testing.T, f *dashFixture) {
	counter := &repeatCounter{DB: f.ts.srv.reportDB()}
	f.ts.srv.dashStore = counter
	ctx := context.Background()
	db := f.ts.DB
	var inc []int64
	rows, err := db.Pool.Query(ctx, `SELECT id FROM incidents ORDER BY received_at`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		inc = append(inc, id)
	}
	if rows.Err() != nil || len(inc) != 9 {
		t.Fatalf("fixture incidents %v: %v", inc, rows.Err())
	}
	earlier := func(at time.Time, district, settlement string) int64 {
		return queryInt(t, db, `INSERT INTO incidents (number, received_at, type_id, priority, district_id, settlement_id, victim_name, victim_sex, victim_age)
			VALUES ('DV-2025-' || lpad(nextval('incident_number_seq')::text, 6, '0'), $1, $2, 1, $3, $4, $5, 'female', 30) RETURNING id`,
			at, f.ids["type:DV"], f.ids["district:"+district], f.ids["settlement:"+settlement], dashVictim)
	}
	feb := earlier(time.Date(2026, 2, 15, 10, 0, 0, 0, f.loc), "LEN", "Ak-Jol")
	old := earlier(time.Date(2024, 12, 1, 10, 0, 0, 0, f.loc), "OSH", "Nur")
	link := func(ids ...int64) {
		p := queryInt(t, db, `INSERT INTO persons DEFAULT VALUES RETURNING id`)
		for _, id := range ids {
			f.exec(t, `INSERT INTO incident_persons (incident_id, role, person_id) VALUES ($1, 'victim', $2)`, id, p)
		}
	}
	link(feb, inc[0], inc[1])    // two repeats in LEN, Ak-Jol
	link(old, inc[4])            // a previous incident over a year before: a gap, not a repeat
	link(inc[2], inc[3], inc[7]) // Kara-Balta; the theft between is no DV incident
	wantCalls := int32(1)
	if store := f.ts.srv.facts; store != nil {
		waitSynced(t, store)
		wantCalls = 0
	}

	type ref struct {
		incidents, repeats int
		gaps               []float64
	}
	reference := func(from, to string, district *int64, idpOnly bool) map[string]map[string]*ref {
		t.Helper()
		start, _ := time.ParseInLocation(time.DateOnly, from, f.loc)
		end, _ := time.ParseInLocation(time.DateOnly, to, f.loc)
		rows, err := db.Pool.Query(ctx, `WITH v AS (
				SELECT x.incident_id, lag(j.received_at) OVER (PARTITION BY x.person_id ORDER BY j.received_at) AS prev
				FROM incident_persons x JOIN incidents j ON j.id = x.incident_id JOIN incident_types jt ON jt.id = j.type_id AND jt.is_dv
				WHERE x.role = 'victim')
			SELECT coalesce(d.code, ''), CASE WHEN s.is_idp THEN s.id::text ELSE '' END, coalesce(i.victim_sex, ''), i.victim_age,
				extract(epoch FROM i.received_at - v.prev) / 86400
			FROM incidents i JOIN incident_types t ON t.id = i.type_id AND t.is_dv
			LEFT JOIN districts d ON d.id = i.district_id LEFT JOIN settlements s ON s.id = i.settlement_id
			LEFT JOIN v ON v.incident_id = i.id
			WHERE i.received_at >= $1 AND i.received_at < $2 AND ($3::bigint IS NULL OR i.district_id = $3)
				AND (NOT $4 OR coalesce(s.is_idp, false))`, start, end.AddDate(0, 0, 1), district, idpOnly)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]*ref{}
		for rows.Next() {
			var dist, settl, sex string
			var age *int
			var gap *float64
			if err := rows.Scan(&dist, &settl, &sex, &age, &gap); err != nil {
				t.Fatal(err)
			}
			band := ""
			for _, b := range report.AgeBands {
				if age != nil && *age >= b.From && *age <= b.To {
					band = b.Key
				}
			}
			for by, key := range map[string]string{"all": "all", "district": dist, "settlement": settl, "sex": sex, "age": band} {
				if out[by] == nil {
					out[by] = map[string]*ref{}
				}
				r := out[by][key]
				if r == nil {
					r = &ref{}
					out[by][key] = r
				}
				r.incidents++
				if gap != nil {
					r.gaps = append(r.gaps, *gap)
					if *gap <= 365 {
						r.repeats++
					}
				}
			}
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		return out
	}
	lenID := f.ids["district:LEN"]
	admin, _ := adminClient(t, f.ts)
	createUser(t, db, "sup-len", account.Supervisor, "LEN")
	sup := f.ts.client(t)
	sup.mustLogin("sup-len", testPassword)
	repeats := 0
	for _, tc := range []struct {
		name, query, from, to string
		c                     *client
		district              *int64
		idp                   bool
	}{
		{"all", "from=2026-03-01&to=2026-03-09", "2026-03-01", "2026-03-09", admin, nil, false},
		{"district", "from=2026-03-01&to=2026-03-09&district=" + itoa(lenID), "2026-03-01", "2026-03-09", admin, &lenID, false},
		{"idp", "from=2026-02-01&to=2026-03-09&idp_only=1", "2026-02-01", "2026-03-09", admin, nil, true},
		{"scope", "from=2026-02-01&to=2026-03-09", "2026-02-01", "2026-03-09", sup, &lenID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := doc(t, tc.c.mustGet("/dashboard?"+tc.query))
			if n := counter.calls.Load(); n != 0 {
				t.Fatalf("the dashboard page ran the repeat query %d times", n)
			}
			if page.Find("#repeat-table").Length() != 0 {
				t.Error("the dashboard page shows the repeat figures itself")
			}
			// The section loads its figures (htmx, on load), with a plain
			// link to them without JavaScript.
			body := page.Find("#repeats #repeats-body")
			href := body.AttrOr("hx-get", "")
			if !strings.HasPrefix(href, "/dashboard/repeats?") || body.AttrOr("hx-trigger", "") != "load" ||
				body.Find("a").AttrOr("href", "") != href {
				t.Fatalf("repeat section: hx-get %q, trigger %q, link %q", href, body.AttrOr("hx-trigger", ""), body.Find("a").AttrOr("href", ""))
			}
			req := tc.c.newRequest(http.MethodGet, href, nil)
			req.Header.Set("HX-Request", "true")
			resp := tc.c.do(req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d", href, resp.StatusCode)
			}
			d := doc(t, resp)
			if n := counter.calls.Swap(0); n != wantCalls {
				t.Errorf("the fragment ran the repeat query %d times, want %d", n, wantCalls)
			}
			if d.Find("html > body > header, nav").Length() != 0 {
				t.Error("the fragment came with the page layout")
			}
			got := map[string]map[string]map[string]string{}
			d.Find("#repeat-table tr[data-repeat-by]").Each(func(_ int, tr *goquery.Selection) {
				by, key := tr.AttrOr("data-repeat-by", ""), tr.AttrOr("data-key", "")
				if got[by] == nil {
					got[by] = map[string]map[string]string{}
				}
				got[by][key] = map[string]string{}
				tr.Find("td[data-col]").Each(func(_ int, td *goquery.Selection) {
					got[by][key][td.AttrOr("data-col", "")] = td.Find("data").AttrOr("value", "")
				})
			})
			want := reference(tc.from, tc.to, tc.district, tc.idp)
			for _, by := range report.RepeatGroupings {
				if len(got[by]) != len(want[by]) {
					t.Errorf("by %s: dashboard groups %v, reference %d groups", by, got[by], len(want[by]))
				}
				for key, w := range want[by] {
					g := got[by][key]
					if g == nil {
						t.Errorf("by %s: group %q not shown", by, key)
						continue
					}
					median := ""
					if n := len(w.gaps); n > 0 {
						slices.Sort(w.gaps)
						m := w.gaps[n/2]
						if n%2 == 0 {
							m = (w.gaps[n/2-1] + w.gaps[n/2]) / 2
						}
						median = strconv.FormatFloat(m, 'f', 1, 64)
					}
					if g["dv_incidents"] != strconv.Itoa(w.incidents) || g["repeats"] != strconv.Itoa(w.repeats) || g["median_days"] != median {
						t.Errorf("by %s group %q: dashboard %v, reference %d incidents, %d repeats, median %q",
							by, key, g, w.incidents, w.repeats, median)
					}
					if by == "all" {
						repeats += w.repeats
					}
				}
			}
		})
	}
	if repeats == 0 {
		t.Error("no repeats in the reference: the test tests too little")
	}

	// Without JavaScript the link gives the section on a page of its own,
	// with the way back to the dashboard.
	d := doc(t, admin.mustGet("/dashboard/repeats?from=2026-03-01&to=2026-03-09&interval=travel"))
	if d.Find("#repeats #repeat-table").Length() != 1 {
		t.Error("the section's own page shows no repeat table")
	}
	if back := d.Find(`.page-header a[href^="/dashboard?"]`).AttrOr("href", ""); !strings.Contains(back, "from=2026-03-01") ||
		!strings.Contains(back, "interval=travel") {
		t.Errorf("way back to the dashboard %q", back)
	}

	// Figures slower than the budget say so, with the exports.
	f.ts.srv.repeatBudget = time.Nanosecond
	d = doc(t, admin.mustGet("/dashboard/repeats?from=2026-03-01&to=2026-03-09"))
	if d.Find("#repeat-table").Length() != 0 {
		t.Error("over the budget: want no repeat table")
	}
	if d.Find(`#repeats a[href^="/reports/repeat-victimisation.csv?"]`).Length() != 1 {
		t.Errorf("over the budget, no export link: %q", d.Find("#repeats").Text())
	}
}
