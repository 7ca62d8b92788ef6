package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/dvresponse/dvresponse/internal/apperr"
	"github.com/dvresponse/dvresponse/internal/audit"
	"github.com/dvresponse/dvresponse/internal/config"
	"github.com/dvresponse/dvresponse/internal/importer"
	"github.com/dvresponse/dvresponse/internal/match"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

const importUsage = `usage: dvresponse import --mapping MAPPING.json FILE.csv

Imports historic calls for service from a CSV export of another dispatch
system. MAPPING.json names the export's columns, e.g.

  {"timezone": "Asia/Bishkek", "null_values": ["", "NULL"],
   "columns": {"external_id": "call_id", "received_at": "event_time",
               "dispatched_at": "time_call_dispatched", "priority": "priority_number",
               "incident_type": "problem", "address": "address"}}

Only received_at is required; en_route_at, on_scene_at, cleared_at,
disposition, district and time_format are optional too (see README.md,
"Importing historic data"). FILE.csv "-" reads standard input. The file is
imported in one transaction: whole or not at all. Rows imported before
(same external id) are counted as duplicates; every rejected row is listed
with its reason, then the summary.`

// importActor is who the audit trail names for a command-line import.
var importActor = audit.Actor{Username: "cli", Role: "cli"}

// cmdImport imports a CSV export.
func cmdImport(ctx context.Context, cfg config.Config, args []string, e env) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mappingPath := fs.String("mapping", "", "the JSON mapping of the export's columns")
	batch := fs.Int("batch", importer.DefaultBatchSize, "rows stored at once")
	// Flags may come before or after the file.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(e.stdout, importUsage)
				return nil
			}
			return usageError(fmt.Sprintf("dvresponse import: %v\n\n%s", err, importUsage))
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case *mappingPath == "":
		return usageError("dvresponse import: --mapping MAPPING.json is required\n\n" + importUsage)
	case len(files) != 1:
		return usageError("dvresponse import: give exactly one CSV file\n\n" + importUsage)
	case *batch < 1 || *batch > 100_000:
		return usageError("dvresponse import: --batch must be from 1 to 100000\n\n" + importUsage)
	}

	mf, err := os.Open(*mappingPath)
	if err != nil {
		return fmt.Errorf("read the mapping: %w", err)
	}
	m, err := importer.ParseMapping(mf)
	mf.Close()
	if err != nil {
		return describeImport(*mappingPath, err)
	}
	var src io.Reader = e.stdin
	name := files[0]
	if name == "-" {
		name = "(standard input)"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("read the export: %w", err)
		}
		defer f.Close()
		src = f
	}
	if err := needDatabase(cfg); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	db.SetMatchRules(match.Rules{Region: cfg.Country})
	defer db.Close()

	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	sum, err := db.Import(ctx, src, m, postgres.ImportOptions{FileName: name, Location: cfg.Location, By: importActor,
		Run: importer.Options{BatchSize: *batch, KeepRejections: -1, OnReject: func(r importer.Rejection) {
			fmt.Fprintf(out, "rejected %s\n", r)
		}}})
	if err != nil {
		out.Flush()
		return describeImport(name, err)
	}
	if err := sum.Format(out); err != nil {
		return err
	}
	return out.Flush()
}

// describeImport turns an import error into what the command prints:
// the message (e.g. the mapping's problem) and that nothing was stored.
func describeImport(what string, err error) error {
	switch apperr.CodeOf(err) {
	case apperr.Invalid:
		// The message is the first problem; the others (a mapping or a
		// header can have several) follow, one a line.
		msg := text(apperr.MessageOf(err))
		fields := apperr.FieldsOf(err)
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if t := text(fields[k]); t != msg {
				msg += "\n" + t
			}
		}
		return fmt.Errorf("%s: %s\nnothing was imported", what, msg)
	case apperr.Internal:
		var ae *apperr.Error
		if errors.As(err, &ae) && ae.Err != nil {
			err = ae.Err
		}
		return fmt.Errorf("import of %s failed, nothing was imported: %v", what, err)
	}
	return fmt.Errorf("import of %s failed, nothing was imported: %s", what, strings.TrimSuffix(text(apperr.MessageOf(err)), "."))
}
