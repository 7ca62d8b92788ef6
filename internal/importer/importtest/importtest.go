// Package importtest helps tests of the CSV import: it finds the shared
// fixture export, writes large synthetic exports and computes response-time
// percentiles independently of the importer and of PostgreSQL.
package importtest

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

// FixtureName is the shared fixture export, kept outside the repository
// in shared/data/, a sibling of the repository's root.
const FixtureName = "synthetic-cad-export.csv"

// FixturePath returns the path of shared/data/synthetic-cad-export.csv,
// found by walking up from the working directory, or skips the test with
// a message saying where it was looked for.
func FixturePath(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "data", FixtureName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	t.Skipf("fixture shared/data/%s not found in any directory above %s (it lives next to the repository, "+
		"e.g. ../shared/data/ from the repository root, and is not copied into it): skipping", FixtureName, wd)
	return ""
}

// MappingPath is the example mapping of the fixture.
func MappingPath(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the importtest package")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "synthetic-cad-mapping.json")
}

// Percentile is PostgreSQL's percentile_cont (numpy's default): the
// linear interpolation between the closest ranks of sorted values.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	x := p * float64(len(sorted)-1)
	lo := int(math.Floor(x))
	hi := int(math.Ceil(x))
	return sorted[lo] + (x-float64(lo))*(sorted[hi]-sorted[lo])
}

// Stats are the median and 90th percentile of one priority's intervals.
type Stats struct {
	N           int
	Median, P90 float64 // seconds
}

// CallProcessing computes, from a CSV export read with encoding/csv alone,
// the median and 90th percentile of call processing (dispatched minus
// received, in seconds) per priority, over the rows that have both times
// in order. Times are read with layout in loc.
func CallProcessing(t testing.TB, path, receivedCol, dispatchedCol, priorityCol, layout string, loc *time.Location) map[int]Stats {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("%s has no column %q", path, name)
		}
		return i
	}
	ci, cd, cp := col(receivedCol), col(dispatchedCol), col(priorityCol)
	secs := map[int][]float64{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec[ci] == "" || rec[cd] == "" {
			continue
		}
		rt, err1 := time.ParseInLocation(layout, rec[ci], loc)
		dt, err2 := time.ParseInLocation(layout, rec[cd], loc)
		p, err3 := strconv.Atoi(rec[cp])
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("fixture row %v does not parse: %v %v %v", rec[:3], err1, err2, err3)
		}
		if d := dt.Sub(rt); d >= 0 {
			secs[p] = append(secs[p], d.Seconds())
		}
	}
	out := map[int]Stats{}
	for p, v := range secs {
		slices.Sort(v)
		out[p] = Stats{N: len(v), Median: Percentile(v, 0.5), P90: Percentile(v, 0.9)}
	}
	return out
}

// SyntheticHeader is the header WriteSynthetic writes; SyntheticMapping
// maps it.
var SyntheticHeader = []string{"id", "received", "dispatched", "enroute", "onscene", "closed",
	"prio", "type", "disposition", "beat", "address", "notes"}

// SyntheticMapping is the mapping of WriteSynthetic's files.
const SyntheticMapping = `{"timezone": "Asia/Bishkek", "null_values": ["", "NULL"],
  "columns": {"external_id": "id", "received_at": "received", "dispatched_at": "dispatched",
    "en_route_at": "enroute", "on_scene_at": "onscene", "cleared_at": "closed", "priority": "prio",
    "incident_type": "type", "disposition": "disposition", "district": "beat", "address": "address"}}`

// SyntheticCounts are what a synthetic file holds.
type SyntheticCounts struct {
	Rows      int
	Bad       int // rows with an unreadable received time
	Reordered int // good rows with dispatched before received
}

// WriteSynthetic writes an export of n calls to path: ids S0000001...,
// every 1000th row with a bad received time, every 250th with its
// dispatch time before its received time, some stages missing (NULL),
// times in the three recognised formats. It returns what it wrote.
func WriteSynthetic(t testing.TB, path string, n int, seed uint64) SyntheticCounts {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	types := []string{"DOMESTIC VIOLENCE", "DV - threats", "NOISE COMPLAINT", "THEFT", "ASSAULT", "Семейное насилие", "WELFARE CHECK"}
	dispositions := []string{"ARREST", "REPORT", "ADVISED", "NULL"}
	beats := []string{"LEN", "OKT", "PER", "SVE", "Beat 7"}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("Asia/Bishkek", 6*3600))
	var c SyntheticCounts
	if err := w.Write(SyntheticHeader); err != nil {
		t.Fatal(err)
	}
	rec := make([]string, len(SyntheticHeader))
	stamp := func(tm time.Time, style int) string {
		switch style {
		case 0:
			return tm.Format("2006-01-02 15:04:05")
		case 1:
			return tm.Format("2006-01-02T15:04:05.000-07:00")
		}
		return tm.Format("01/02/2006 3:04:05 PM")
	}
	for i := 1; i <= n; i++ {
		rec[0] = fmt.Sprintf("S%07d", i)
		recv := start.Add(time.Duration(i)*37*time.Second + time.Duration(rng.IntN(30))*time.Second)
		style := i % 3
		disp := recv.Add(time.Duration(20+rng.IntN(600)) * time.Second)
		if i%250 == 0 {
			disp = recv.Add(-time.Duration(1+rng.IntN(120)) * time.Second)
			if i%1000 != 0 {
				c.Reordered++ // (every 1000th row is rejected for its received time)
			}
		}
		enr := disp.Add(time.Duration(10+rng.IntN(300)) * time.Second)
		ons := enr.Add(time.Duration(60+rng.IntN(1200)) * time.Second)
		clr := ons.Add(time.Duration(300+rng.IntN(3600)) * time.Second)
		rec[1] = stamp(recv, style)
		if i%1000 == 0 {
			rec[1] = "not a time"
			c.Bad++
		}
		rec[2] = stamp(disp, style)
		rec[3] = stamp(enr, style)
		rec[4] = stamp(ons, style)
		if rng.IntN(10) == 0 {
			rec[4] = "NULL" // no arrival recorded
		}
		rec[5] = stamp(clr, style)
		rec[6] = strconv.Itoa(1 + rng.IntN(4))
		rec[7] = types[rng.IntN(len(types))]
		rec[8] = dispositions[rng.IntN(len(dispositions))]
		rec[9] = beats[rng.IntN(len(beats))]
		rec[10] = fmt.Sprintf("%d Chui Avenue, apt %d", 1+rng.IntN(300), 1+rng.IntN(120))
		rec[11] = "free text, \"quoted\", with a comma"
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		c.Rows++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return c
}

// HeapReport samples the heap in use after a collection, for logging the
// memory an import holds.
func HeapReport() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
