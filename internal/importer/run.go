package importer

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/i18n"
)

// Sink stores converted rows; internal/postgres implements it inside the
// import's transaction.
type Sink interface {
	// Store stores rows, whose external ids are distinct, and sets
	// inserted[i] to whether rows[i] was new (false: an incident with its
	// external id was imported before). len(inserted) == len(rows).
	Store(ctx context.Context, rows []Row, inserted []bool) error
}

// Options tune Run; zero values take defaults.
type Options struct {
	// Location is the zone of times without an offset when the mapping
	// names none (the deployment's zone). Default UTC.
	Location *time.Location
	// BatchSize is the number of rows handed to the Sink at once. Default
	// 5000.
	BatchSize int
	// Now is the clock against which times in the future are refused.
	Now func() time.Time
	// KeepRejections is how many rejections the Summary lists (default
	// 1000; negative: none). OnReject sees every one.
	KeepRejections int
	// OnReject, when set, is called for every rejected row as it is read.
	OnReject func(Rejection)
}

// DefaultBatchSize is the number of rows stored at once.
const DefaultBatchSize = 5000

// PairCount is how many imported rows have one pair of stages out of
// order.
type PairCount struct {
	Pair Pair
	Rows int
}

// Summary accounts for every row of an import: RowsRead = Imported +
// Duplicates + Rejected.
type Summary struct {
	File     string
	TimeZone string
	Mapped   []string // fields the mapping maps
	Unmapped []string // fields left out: their values stay empty (NULL)

	RowsRead   int
	Imported   int // new incidents
	Duplicates int // rows whose external id was imported before, or came earlier in the file
	Rejected   int

	// Rejections lists the first rejected rows (Options.KeepRejections).
	Rejections []Rejection

	// Inconsistent counts imported rows with at least one pair of stages
	// out of order; Pairs counts them per pair. Reports leave such an
	// interval out (Interval), never count it negative.
	Inconsistent int
	Pairs        []PairCount

	// WithoutPriority counts imported rows that had no priority and got
	// DefaultPriority; WithoutType those that had no incident type and got
	// the store's "not recorded" type.
	WithoutPriority int
	DefaultPriority int
	WithoutType     int

	// Created is the reference data the import created (set by the store).
	Created Created

	Duration time.Duration
}

// Created lists the reference data an import created because the export
// named it and it did not exist.
type Created struct {
	Priorities    []int
	IncidentTypes []CreatedType
	Districts     []CreatedRef
	Dispositions  []CreatedRef
}

// CreatedRef is a district or disposition an import created.
type CreatedRef struct{ Code, Name string }

// CreatedType is an incident type an import created.
type CreatedType struct {
	Code, Name string
	IsDV       bool
}

// Balanced says whether every row read is accounted for.
func (s *Summary) Balanced() bool { return s.RowsRead == s.Imported+s.Duplicates+s.Rejected }

// Run reads a CSV export from src (a header row, then one row per call)
// according to m and hands the good rows to sink in batches. It streams:
// memory holds one batch, whatever the size of the file. A row that cannot
// be imported is rejected with its reason and the import goes on; Run
// stops with an error only when the file does not fit the mapping (a
// mapped column is missing), cannot be read, or the sink fails.
func Run(ctx context.Context, src io.Reader, m *Mapping, sink Sink, opt Options) (*Summary, error) {
	start := time.Now()
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultBatchSize
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.KeepRejections == 0 {
		opt.KeepRejections = 1000
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	loc, err := m.Location(opt.Location)
	if err != nil {
		return nil, err
	}
	sum := &Summary{TimeZone: loc.String(), Mapped: m.Mapped(), Unmapped: m.Unmapped(),
		DefaultPriority: m.DefaultPriority}

	cr := csv.NewReader(bufio.NewReaderSize(src, 256<<10))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, invalid("import.err.file_empty")
	case err != nil:
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, invalid("import.err.header_csv", "Detail", pe.Err.Error())
		}
		return nil, fmt.Errorf("read the header: %w", err)
	}
	conv, err := newConverter(m, rec, loc, opt.Now())
	if err != nil {
		return nil, err
	}

	batch := make([]Row, opt.BatchSize)
	inserted := make([]bool, opt.BatchSize)
	seen := make(map[string]struct{}, opt.BatchSize)
	pairs := make([]int, len(Pairs))
	n := 0
	reject := func(r Rejection) {
		sum.Rejected++
		if len(sum.Rejections) < opt.KeepRejections {
			sum.Rejections = append(sum.Rejections, r)
		}
		if opt.OnReject != nil {
			opt.OnReject(r)
		}
	}
	flush := func() error {
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		clear(inserted[:n])
		if err := sink.Store(ctx, batch[:n], inserted[:n]); err != nil {
			return err
		}
		for i := range n {
			if !inserted[i] {
				sum.Duplicates++
				continue
			}
			r := &batch[i]
			sum.Imported++
			if r.OrderProblems != 0 {
				sum.Inconsistent++
				for k := range Pairs {
					if r.OrderProblems&(1<<k) != 0 {
						pairs[k]++
					}
				}
			}
			if r.Priority == 0 {
				sum.WithoutPriority++
			}
			if r.IncidentType == "" {
				sum.WithoutType++
			}
		}
		n = 0
		clear(seen)
		return nil
	}

	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read row %d: %w", sum.RowsRead+1, err)
			}
			sum.RowsRead++
			reason := i18n.M("reject.csv", "Err", pe.Err.Error())
			if pe.Line > pe.StartLine {
				reason = i18n.M("reject.csv_lines", "Err", pe.Err.Error(), "From", pe.StartLine, "To", pe.Line)
			}
			reject(Rejection{Row: sum.RowsRead, Line: pe.StartLine, Problems: []i18n.Msg{reason}})
			continue
		}
		sum.RowsRead++
		line, _ := cr.FieldPos(0)
		row := &batch[n]
		row.RowNo, row.Line = sum.RowsRead, line
		if problems := conv.convert(rec, row); problems != nil {
			reject(Rejection{Row: sum.RowsRead, Line: line, Problems: problems})
			continue
		}
		if _, dup := seen[row.ExternalID]; dup {
			// The same id earlier in this batch: the first one counts.
			sum.Duplicates++
			continue
		}
		seen[row.ExternalID] = struct{}{}
		n++
		if n == len(batch) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for k, c := range pairs {
		if c > 0 {
			sum.Pairs = append(sum.Pairs, PairCount{Pair: Pairs[k], Rows: c})
		}
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

// Format writes the summary for people, as the import command prints it.
func (s *Summary) Format(w io.Writer) error {
	var b strings.Builder
	file := s.File
	if file == "" {
		file = "(standard input)"
	}
	fmt.Fprintf(&b, "import of %s (times without an offset read in %s)\n", file, s.TimeZone)
	fmt.Fprintf(&b, "rows read      %8d\n", s.RowsRead)
	fmt.Fprintf(&b, "  imported     %8d\n", s.Imported)
	fmt.Fprintf(&b, "  duplicates   %8d  (imported before, or repeated in the file)\n", s.Duplicates)
	fmt.Fprintf(&b, "  rejected     %8d\n", s.Rejected)
	if !s.Balanced() {
		fmt.Fprintf(&b, "WARNING: the counts do not add up (%d + %d + %d != %d)\n", s.Imported, s.Duplicates, s.Rejected, s.RowsRead)
	}
	if len(s.Unmapped) > 0 {
		fmt.Fprintf(&b, "not in the mapping (left empty): %s\n", strings.Join(s.Unmapped, ", "))
	}
	fmt.Fprintf(&b, "imported with stages out of order: %d", s.Inconsistent)
	if s.Inconsistent > 0 {
		b.WriteString(" (those intervals are left out of reports, never counted negative)")
	}
	b.WriteString("\n")
	for _, p := range s.Pairs {
		fmt.Fprintf(&b, "  %-28s %d\n", p.Pair.String()+":", p.Rows)
	}
	if s.WithoutPriority > 0 {
		fmt.Fprintf(&b, "imported without a priority: %d (given priority %d)\n", s.WithoutPriority, s.DefaultPriority)
	}
	if s.WithoutType > 0 {
		fmt.Fprintf(&b, "imported without an incident type: %d (given the type \"Not recorded\")\n", s.WithoutType)
	}
	c := s.Created
	if len(c.Priorities) > 0 {
		ps := make([]string, len(c.Priorities))
		for i, p := range c.Priorities {
			ps[i] = fmt.Sprint(p)
		}
		fmt.Fprintf(&b, "created priorities (%d): %s\n", len(ps), strings.Join(ps, ", "))
	}
	if len(c.IncidentTypes) > 0 {
		var dv []string
		for _, t := range c.IncidentTypes {
			if t.IsDV {
				dv = append(dv, t.Name)
			}
		}
		fmt.Fprintf(&b, "created incident types (%d, %d flagged as domestic violence; edit them under Administration):\n", len(c.IncidentTypes), len(dv))
		for _, t := range c.IncidentTypes {
			flag := ""
			if t.IsDV {
				flag = "  [domestic violence]"
			}
			fmt.Fprintf(&b, "  %-34s %s%s\n", t.Code, t.Name, flag)
		}
	}
	for _, x := range []struct {
		what string
		refs []CreatedRef
	}{{"districts", c.Districts}, {"dispositions", c.Dispositions}} {
		if len(x.refs) > 0 {
			fmt.Fprintf(&b, "created %s (%d):\n", x.what, len(x.refs))
			for _, r := range x.refs {
				fmt.Fprintf(&b, "  %-34s %s\n", r.Code, r.Name)
			}
		}
	}
	switch {
	case s.Rejected > 0 && len(s.Rejections) == 0:
		fmt.Fprintf(&b, "rejected rows (%d): each is listed above, with its reason\n", s.Rejected)
	case s.Rejected > 0:
		fmt.Fprintf(&b, "rejected rows (%d):\n", s.Rejected)
		for _, r := range s.Rejections {
			fmt.Fprintf(&b, "  %s\n", r)
		}
		if more := s.Rejected - len(s.Rejections); more > 0 {
			fmt.Fprintf(&b, "  ... and %d more, not listed here\n", more)
		}
	}
	secs := s.Duration.Seconds()
	if secs > 0 {
		fmt.Fprintf(&b, "took %.1fs (%.0f rows/s)\n", secs, float64(s.RowsRead)/secs)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
