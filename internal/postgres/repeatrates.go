package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/report"
)

// Repeat-rate figures for supervisors (issue 16): of the DV incidents a
// report query selects (its period, filters and scope, as reportFilter),
// how many had a victim with an earlier DV incident in the 365 days
// before (through the confirmed person links), and the median days
// between a victim's DV incident and her previous one. Counts are exact.

// RepeatRate is one group's figures.
type RepeatRate = report.RepeatFigure

// RepeatRates computes the repeat-rate figures of q's DV incidents grouped
// by by (report.RepeatGroupings), ordered by key.
func (db *DB) RepeatRates(ctx context.Context, q report.Query, by string) ([]RepeatRate, error) {
	res, err := db.RepeatRatesMulti(ctx, q, []string{by})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// repeatKey is the key and label expressions of a grouping.
func repeatKey(by string) (key, label string, err error) {
	switch by {
	case report.RepeatByAll, "":
		return "'all'", "''", nil
	case report.RepeatByDistrict:
		return "coalesce(d.code, '')", "coalesce(d.name, '')", nil
	case report.RepeatBySettlement:
		return "CASE WHEN s.is_idp THEN s.id::text ELSE '' END", "CASE WHEN s.is_idp THEN s.name ELSE '' END", nil
	case report.RepeatBySex:
		return "coalesce(i.victim_sex, '')", "coalesce(i.victim_sex, '')", nil
	case report.RepeatByAge:
		var b strings.Builder
		b.WriteString("CASE")
		for _, band := range report.AgeBands {
			b.WriteString(" WHEN i.victim_age BETWEEN " + strconv.Itoa(band.From) + " AND " + strconv.Itoa(band.To) + " THEN '" + band.Key + "'")
		}
		b.WriteString(" ELSE '' END")
		return b.String(), b.String(), nil
	}
	return "", "", apperr.New(apperr.Invalid, "victims.err.grouping")
}

// RepeatRatesMulti computes the figures of q for each of bys at once (the
// incidents and their victims' previous incidents read once): the
// dashboard's, the exports' and the command line's one implementation.
// The result's i-th element is bys[i]'s groups, ordered by key.
func (db *DB) RepeatRatesMulti(ctx context.Context, q report.Query, bys []string) ([][]RepeatRate, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if len(bys) == 0 {
		return nil, nil
	}
	var args sqlArgs
	where, err := reportFilter(q, &args, true)
	if err != nil {
		return nil, err
	}
	var cols, branches []string
	for n, by := range bys {
		key, label, err := repeatKey(by)
		if err != nil {
			return nil, err
		}
		ns := strconv.Itoa(n)
		cols = append(cols, key+" AS k"+ns, label+" AS l"+ns)
		branches = append(branches, `SELECT `+ns+` AS g, k`+ns+` AS key, min(l`+ns+`), count(*)::int,
			(count(*) FILTER (WHERE prev >= received_at - interval '365 days'))::int,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - prev) / 86400) FILTER (WHERE prev IS NOT NULL)
		FROM r GROUP BY k`+ns)
	}
	// prev: the victim's latest earlier DV incident (strictly earlier).
	rows, err := db.Pool.Query(ctx, `WITH base AS (
			SELECT i.id, i.received_at, `+strings.Join(cols, ", ")+`, ip.person_id
			FROM incidents i
			JOIN incident_types t ON t.id = i.type_id AND t.is_dv
			LEFT JOIN districts d ON d.id = i.district_id
			LEFT JOIN settlements s ON s.id = i.settlement_id
			LEFT JOIN incident_persons ip ON ip.incident_id = i.id AND ip.role = 'victim'
			WHERE `+where+`),
		r AS MATERIALIZED (
			SELECT b.*, (
				SELECT max(j.received_at) FROM incident_persons x
				JOIN incidents j ON j.id = x.incident_id
				JOIN incident_types jt ON jt.id = j.type_id AND jt.is_dv
				WHERE b.person_id IS NOT NULL AND x.person_id = b.person_id AND x.role = 'victim' AND j.id <> b.id
					AND j.received_at < b.received_at) AS prev
			FROM base b)
		SELECT * FROM (`+strings.Join(branches, "\n\t\tUNION ALL ")+`) u ORDER BY g, key`, args...)
	if err != nil {
		return nil, mapErr(err, "")
	}
	out := make([][]RepeatRate, len(bys))
	var g int
	var x RepeatRate
	_, err = pgx.ForEachRow(rows, []any{&g, &x.Key, &x.Label, &x.Incidents, &x.Repeats, &x.MedianDays}, func() error {
		y := x
		if x.MedianDays != nil {
			m := *x.MedianDays
			y.MedianDays = &m
		}
		out[g] = append(out[g], y)
		return nil
	})
	return out, mapErr(err, "")
}
