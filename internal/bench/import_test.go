package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dvresponse/dvresponse/internal/importer"
	"github.com/dvresponse/dvresponse/internal/importer/importtest"
	"github.com/dvresponse/dvresponse/internal/pgtest"
	"github.com/dvresponse/dvresponse/internal/postgres"
)

// TestBenchImport is the import part of `make bench` (DVR_BENCH=1): a
// 100,000-row export generated on the fly imported into a fresh database,
// with the time, the rate and the heap sampled while it runs (the
// requirement: well under a minute, memory flat), then imported again
// (all duplicates). internal/postgres TestImportSynthetic checks the same
// counts on a smaller file in every `go test`.
func TestBenchImport(t *testing.T) {
	if os.Getenv("DVR_BENCH") == "" {
		t.Skip("the import benchmark runs with DVR_BENCH=1 (make bench); internal/postgres TestImportSynthetic checks the import")
	}
	rows := envInt(t, "DVR_BENCH_IMPORT_ROWS", 100_000)
	db := pgtest.DB(t)
	path := filepath.Join(t.TempDir(), "big.csv")
	want := importtest.WriteSynthetic(t, path, rows, 42)
	m, err := importer.ParseMapping(strings.NewReader(importtest.SyntheticMapping))
	if err != nil {
		t.Fatal(err)
	}
	mib := func(b uint64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	var heap []string
	sample := func() { heap = append(heap, mib(importtest.HeapReport())) }
	run := func(opt postgres.ImportOptions) (*importer.Summary, time.Duration) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		opt.FileName = path
		start := time.Now()
		sum, err := db.Import(context.Background(), f, m, opt)
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		return sum, time.Since(start)
	}

	sample()
	every := max(rows/5, 1000)
	sum, took := run(postgres.ImportOptions{Run: importer.Options{
		// Sample the heap while the import runs: every 1000th row is
		// rejected, so this is every fifth of the file.
		OnReject: func(r importer.Rejection) {
			if r.Row%every == 0 {
				sample()
			}
		},
	}})
	sample()
	if sum.RowsRead != want.Rows || sum.Imported != want.Rows-want.Bad || sum.Rejected != want.Bad || !sum.Balanced() {
		t.Errorf("read %d imported %d duplicates %d rejected %d; want %d, %d, 0, %d", sum.RowsRead, sum.Imported,
			sum.Duplicates, sum.Rejected, want.Rows, want.Rows-want.Bad, want.Bad)
	}
	again, tookAgain := run(postgres.ImportOptions{})
	if again.Imported != 0 || again.Duplicates != want.Rows-want.Bad {
		t.Errorf("re-import: imported %d duplicates %d", again.Imported, again.Duplicates)
	}
	fmt.Printf("\n===== dvresponse import benchmark =====\n"+
		"%d rows: imported %d, rejected %d, out of order %d in %v (%.0f rows/s; requirement: well under a minute)\n"+
		"heap after GC while importing (MiB): %v\n"+
		"re-import of the same rows: %d duplicates, %d imported in %v\n"+
		"(%d CPUs, GOMAXPROCS %d; PostgreSQL on the same machine over loopback)\n"+
		"=======================================\n\n",
		sum.RowsRead, sum.Imported, sum.Rejected, sum.Inconsistent, took.Round(time.Millisecond),
		float64(sum.RowsRead)/took.Seconds(), heap, again.Duplicates, again.Imported, tookAgain.Round(time.Millisecond),
		runtime.NumCPU(), runtime.GOMAXPROCS(0))
}
