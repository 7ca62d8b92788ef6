package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/postgres"
	"github.com/dvresponse/dvresponse/internal/report"
)

const reportUsage = `usage: dvresponse report [--from YYYY-MM-DD] [--to YYYY-MM-DD]
         [--group-by priority|district|settlement|type|week|shift|all] [--dv-only] [--idp-only]
         [--district ID] [--settlement ID] [--priority LEVEL] [--type ID] [--shift day|night] [--unit ID]
         [--format json|csv] [--repeat-by all|district|settlement|sex|age]
         [--figures response-times|follow-through]

Response times of the incidents received from the first to the last day,
both whole days in the deployment's time zone (DVR_TIME_ZONE), by default
the 28 days ending today, grouped by priority. The figures are those of the
web exports /reports/response-times.json and .csv with the same parameters.
Output goes to standard output (default JSON); every run is audited.
With --repeat-by the report is instead the repeat-victimisation figures
of the DV incidents selected (share with an earlier DV incident of the
same victim in the 365 days before, median days between them), as the web
export /reports/repeat-victimisation.json and .csv.
With --figures follow-through, the follow-up and protection-order figures
of the same selection instead (those of /reports/follow-through.json and
.csv and the dashboard's card; --group-by does not apply; read from
DATABASE_URL). Output goes to standard output (default JSON); every run is
audited.
With DATABASE_READ_URL set the figures are read from that reporting
replica (its lag is printed to standard error) and the audit record is
written to DATABASE_URL.`

// cmdReport writes a response-time report. The flags are the web export's
// query parameters, read by the same report.ParseQuery.
func cmdReport(ctx context.Context, cfg config.Config, args []string, e env) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {} // the usage error below prints reportUsage
	v := url.Values{}
	str := func(name, param, help string) {
		fs.Func(name, help, func(s string) error { v.Set(param, s); return nil })
	}
	str("from", report.ParamFrom, "first day, YYYY-MM-DD")
	str("to", report.ParamTo, "last day, YYYY-MM-DD")
	str("group-by", report.ParamGroupBy, "priority, district, settlement, type, week, shift or all")
	str("district", report.ParamDistrict, "district id")
	str("settlement", report.ParamSettlement, "settlement id")
	str("priority", report.ParamPriority, "priority level")
	str("type", report.ParamType, "incident type id")
	str("shift", report.ParamShift, "day or night")
	str("unit", report.ParamUnit, "unit id")
	dvOnly := fs.Bool("dv-only", false, "domestic-violence incident types only")
	idpOnly := fs.Bool("idp-only", false, "incidents in IDP settlements only")
	formatName := fs.String("format", "json", "json or csv")
	repeatBy := fs.String("repeat-by", "", "repeat-victimisation figures by all, district, settlement, sex or age")
	figures := fs.String("figures", "response-times", "response-times or follow-through")
	if err := fs.Parse(args); err != nil {
		return usageError(reportUsage)
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("unexpected argument %q\n\n%s", fs.Arg(0), reportUsage))
	}
	if *dvOnly {
		v.Set(report.ParamDVOnly, "1")
	}
	if *idpOnly {
		v.Set(report.ParamIDPOnly, "1")
	}
	format, err := report.ParseFormat(*formatName)
	if err != nil {
		return usageError(err.Error() + "\n\n" + reportUsage)
	}
	if *repeatBy != "" && !slices.Contains(report.RepeatGroupings, *repeatBy) {
		return usageError("--repeat-by: all, district, settlement, sex or age\n\n" + reportUsage)
	}
	q, err := report.ParseQuery(v, cfg.Location, time.Now())
	if err != nil {
		return usageError(flagNames(err) + "\n\n" + reportUsage)
	}
	if *figures != "response-times" && *figures != "follow-through" {
		return usageError(fmt.Sprintf("--figures: %q is neither response-times nor follow-through\n\n%s", *figures, reportUsage))
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	defer db.Close()
	if *repeatBy != "" {
		src := db
		if cfg.DatabaseReadURL != "" {
			rdb, err := postgres.OpenReplica(ctx, cfg.DatabaseReadURL, postgres.Options{MaxConns: 2})
			if err != nil {
				return err
			}
			defer rdb.Close()
			src = rdb
		}
		return exportRepeat(ctx, src, db, q, *repeatBy, format, e)
	}
	if *figures == "follow-through" {
		return exportFollowThrough(ctx, db, q, format, e)
	}
	if cfg.DatabaseReadURL == "" {
		return exportReport(ctx, db, db, q, format, e)
	}
	// The figures come from the reporting replica; the audit record goes
	// to the primary. A replica that cannot be reached is an error, not a
	// reason to load the primary.
	rdb, err := postgres.OpenReplica(ctx, cfg.DatabaseReadURL, postgres.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer rdb.Close()
	lag, isReplica, err := rdb.ReplicaLag(ctx)
	switch {
	case err != nil:
		return describe(replicaUnavailable(err))
	case !isReplica:
		fmt.Fprintln(e.stderr, "report: figures from DATABASE_READ_URL, which is not a replica in recovery")
	case lag == postgres.LagUnknown:
		fmt.Fprintln(e.stderr, "report: figures from the reporting replica (DATABASE_READ_URL); its lag is not known yet")
	default:
		fmt.Fprintf(e.stderr, "report: figures from the reporting replica (DATABASE_READ_URL), %.1f s behind\n", lag.Seconds())
	}
	return exportReport(ctx, replicaSource{rdb}, db, q, format, e)
}

// replicaSource reads a report from the reporting replica and names it
// when it cannot be reached.
type replicaSource struct{ db *postgres.DB }

func (rs replicaSource) ResponseTimes(ctx context.Context, q report.Query) (report.Result, error) {
	res, err := rs.db.ResponseTimes(ctx, q)
	switch apperr.CodeOf(err) {
	case apperr.Unavailable:
		err = replicaUnavailable(err)
	case apperr.Conflict: // canceled by a conflict with recovery (40001): a report only reads
		err = apperr.Wrap(apperr.Unavailable, err, "cli.err.replica_stopped")
	}
	return res, err
}

// replicaUnavailable is the error of a report the replica could not give.
func replicaUnavailable(err error) error {
	return apperr.Wrap(apperr.Unavailable, err, "cli.err.replica_unavailable")
}

// exportReport computes the report from src into memory, audits the
// export and only then writes it: no unaudited export leaves the system.
func exportReport(ctx context.Context, src report.Source, db *postgres.DB, q report.Query, f report.Format, e env) error {
	var buf bytes.Buffer
	if err := report.Export(ctx, src, q, f, &buf); err != nil {
		return describe(err)
	}
	detail := q.AuditDetail()
	detail["format"] = string(f)
	detail["via"] = "cli"
	if err := db.Audit(ctx, audit.Entry{Actor: audit.Actor{Username: "cli", Role: "cli"}, Action: "report.export",
		RecordType: "report", RecordID: "response-times", Detail: detail}); err != nil {
		return describe(err)
	}
	_, err := e.stdout.Write(buf.Bytes())
	return err
}

// exportRepeat computes the repeat-victimisation figures from src,
// audits the export and only then writes them.
func exportRepeat(ctx context.Context, src, db *postgres.DB, q report.Query, by string, f report.Format, e env) error {
	figs, err := src.RepeatRates(ctx, q, by)
	if err != nil {
		return describe(err)
	}
	var buf bytes.Buffer
	if err := report.EncodeRepeat(&buf, q, by, figs, f); err != nil {
		return err
	}
	detail := q.AuditDetail()
	detail["format"], detail["via"], detail["repeat_by"] = string(f), "cli", by
	if err := db.Audit(ctx, audit.Entry{Actor: audit.Actor{Username: "cli", Role: "cli"}, Action: "report.export",
		RecordType: "report", RecordID: "repeat-victimisation", Detail: detail}); err != nil {
		return describe(err)
	}
	_, err = e.stdout.Write(buf.Bytes())
	return err
}

// flagNames rewrites a query error's parameter names as the flags a user
// typed (group_by → --group-by).
func flagNames(err error) string {
	fields := apperr.FieldsOf(err)
	if len(fields) == 0 {
		return text(apperr.MessageOf(err))
	}
	var b strings.Builder
	b.WriteString("invalid report parameters:")
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		fmt.Fprintf(&b, "\n  --%s: %s", strings.ReplaceAll(k, "_", "-"), text(fields[k]))
	}
	return b.String()
}

// exportFollowThrough writes the follow-through figures of q, audited
// before they are written, as exportReport does.
func exportFollowThrough(ctx context.Context, db *postgres.DB, q report.Query, f report.Format, e env) error {
	figs, err := db.FollowThrough(ctx, q, time.Now())
	if err != nil {
		return describe(err)
	}
	var buf bytes.Buffer
	if err := report.WriteFollowThrough(&buf, q, figs, f); err != nil {
		return err
	}
	detail := q.AuditDetail()
	detail["format"] = string(f)
	detail["via"] = "cli"
	if err := db.Audit(ctx, audit.Entry{Actor: audit.Actor{Username: "cli", Role: "cli"}, Action: "report.export",
		RecordType: "report", RecordID: "follow-through", Detail: detail}); err != nil {
		return describe(err)
	}
	_, err = e.stdout.Write(buf.Bytes())
	return err
}
