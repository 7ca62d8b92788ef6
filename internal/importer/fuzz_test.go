package importer

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/refdata"
)

// FuzzParseTime: no string and no time_format makes the parser panic, and
// every time written in ISO 8601 (with an offset, or as a local
// YYYY-MM-DD HH:MM:SS.fraction) or MM/DD/YYYY hh:mm:ss AM/PM is read back
// as the same instant.
func FuzzParseTime(f *testing.F) {
	f.Add("2025-04-01 00:30:50", "", int64(1743467450), uint32(0), int16(360))
	f.Add("2025-04-01T14:30:00.5+06:00", "%Y-%m-%d", int64(0), uint32(999999999), int16(-300))
	f.Add("04/01/2025 2:30 PM", "%d.%m.%Y %H:%M:%S", int64(-62135596800), uint32(1), int16(0))
	f.Add("13.04.2025 21:05:09", "02.01.2006 15:04:05", int64(253402300799), uint32(500), int16(840))
	f.Add("2025-04-01T", "%", int64(42), uint32(42), int16(-840))
	f.Add("9999-12-31 23:59:59.999999999999", "%Y%m%d%H%M%S", int64(1), uint32(2), int16(1))
	f.Fuzz(func(t *testing.T, s, format string, sec int64, nsec uint32, offMin int16) {
		zone := time.FixedZone("", int(offMin)%(14*60)*60)
		auto, err := NewTimeParser("", zone)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := auto.Parse(s); err == nil && got.IsZero() && !strings.Contains(s, "0001") {
			t.Errorf("Parse(%q) = the zero time without error", s)
		}
		if p, err := NewTimeParser(format, zone); err == nil {
			_, _ = p.Parse(s)
		}

		// Round trips, for years 1 to 9999.
		const first, last = -62135596800 + 86400, 253402300799 - 86400 // local years stay within 1..9999
		sec = first + int64(uint64(sec)%uint64(last-first+1))
		tm := time.Unix(sec, int64(nsec%1e9)).In(zone)
		for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05.999999999-0700",
			"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00"} {
			want := tm
			if !strings.Contains(layout, ".9") {
				want = tm.Truncate(time.Second)
			}
			in := tm.Format(layout)
			got, err := auto.Parse(in)
			if err != nil {
				t.Fatalf("Parse(%q) (layout %q): %v", in, layout, err)
			}
			if !got.Equal(want) {
				t.Fatalf("Parse(%q) = %v, want %v", in, got, want)
			}
		}
		if tm.Year() >= 1000 {
			in := tm.Format("01/02/2006 03:04:05 PM")
			if got, err := auto.Parse(in); err != nil || !got.Equal(tm.Truncate(time.Second)) {
				t.Fatalf("Parse(%q) = %v, %v; want %v", in, got, err, tm.Truncate(time.Second))
			}
		}
	})
}

// fuzzHeader is the header of FuzzRow's records.
var fuzzHeader = []string{"id", "recv", "disp", "enr", "ons", "clr", "pri", "type", "disp_code", "district", "addr"}

const fuzzMapping = `{"timezone": "Asia/Bishkek", "null_values": ["NULL"],
  "columns": {"external_id": "id", "received_at": "recv", "dispatched_at": "disp", "en_route_at": "enr",
    "on_scene_at": "ons", "cleared_at": "clr", "priority": "pri", "incident_type": "type",
    "disposition": "disp_code", "district": "district", "address": "addr"}}`

// FuzzRow: whatever the fields of a record, converting it never panics and
// either rejects it with a reason or yields a row whose times, priority and
// texts are within what the database accepts.
func FuzzRow(f *testing.F) {
	f.Add("25-L1", "2025-04-01 00:30:50", "2025-04-01 00:32:25", "NULL", "", "2025-04-01 01:05:29", "5", "DOMESTIC VIOL WITH INJ", "", "LEN", "0282 Tony Burg")
	f.Add("", "04/01/2025 2:30 PM", "garbage", "2025-04-01T14:30:00Z", "x", "", "P1", "", "ARREST", "", "")
	f.Add("a\x00b", "2025-04-01 00:30:50", "", "", "", "", "0", "\xff", "", "", "")
	f.Add("id", "1969-12-31 23:59:59", "3000-01-01 00:00:00", "", "", "", "9", "t", "d", "Ленинский", strings.Repeat("a", 301))
	f.Fuzz(func(t *testing.T, id, recv, disp, enr, ons, clr, pri, typ, dcode, district, addr string) {
		m, err := ParseMapping(strings.NewReader(fuzzMapping))
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := m.Location(time.UTC)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		c, err := newConverter(m, fuzzHeader, loc, now)
		if err != nil {
			t.Fatal(err)
		}
		rec := []string{id, recv, disp, enr, ons, clr, pri, typ, dcode, district, addr}
		var row Row
		if problems := c.convert(rec, &row); problems != nil {
			reason := Rejection{Problems: problems}.Reason(nil)
			if !utf8.ValidString(reason) {
				t.Errorf("reason %q is not UTF-8", reason)
			}
			return
		}
		text := map[string]string{"external_id": row.ExternalID, "incident_type": row.IncidentType,
			"disposition": row.Disposition, "district": row.District, "address": row.Address}
		for name, v := range text {
			if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				t.Errorf("%s %q is not storable text", name, v)
			}
		}
		if row.ExternalID == "" || runeLen(row.ExternalID) > MaxExternalIDLen {
			t.Errorf("external id %q accepted", row.ExternalID)
		}
		if runeLen(row.IncidentType) > MaxNameLen || runeLen(row.Disposition) > MaxNameLen ||
			runeLen(row.District) > MaxNameLen || runeLen(row.Address) > MaxAddressLen {
			t.Errorf("an over-long text was accepted: %+v", row)
		}
		if row.Priority < 0 || row.Priority > refdata.MaxLevel {
			t.Errorf("priority %d accepted from %q", row.Priority, pri)
		}
		if row.Times[Received].IsZero() {
			t.Errorf("a row without a received time was accepted (%q)", recv)
		}
		if row.District == "" {
			t.Errorf("a row without a district was accepted (%q)", district)
		}
		for s, tm := range row.Times {
			if tm.IsZero() {
				continue
			}
			if tm.Before(EarliestTime) || tm.After(now.Add(time.Hour)) || tm.Location() != time.UTC {
				t.Errorf("%s time %v accepted", Stage(s), tm)
			}
		}
		if row.OrderProblems != row.Times.OrderProblems() {
			t.Errorf("OrderProblems %b, want %b", row.OrderProblems, row.Times.OrderProblems())
		}
	})
}

// FuzzRun: no input file makes the import panic, and whenever it runs to
// the end every row read is imported, a duplicate or rejected.
func FuzzRun(f *testing.F) {
	f.Add("id,recv\nA1,2025-04-01 10:00:00\nA1,2025-04-01 10:00:00\n,x\n")
	f.Add("\ufeffid,recv\n\"A\"\"1\",\"2025-04-01\n10:00\"\nA2,2025-04-01 \"10:00\"\n")
	f.Add("recv\n")
	f.Add("id,recv,extra\nA1,2025-04-01 10:00:00\n\n\nA2,04/01/2025 10:00 AM,1,2\n")
	f.Fuzz(func(t *testing.T, input string) {
		m, err := ParseMapping(strings.NewReader(`{"default_district": "LEN", "columns": {"external_id": "id", "received_at": "recv"}}`))
		if err != nil {
			t.Fatal(err)
		}
		sink := &setSink{ids: map[string]bool{}}
		sum, err := Run(context.Background(), strings.NewReader(input), m, sink, Options{BatchSize: 2})
		if err != nil {
			return
		}
		if !sum.Balanced() {
			t.Errorf("read %d != imported %d + duplicates %d + rejected %d", sum.RowsRead, sum.Imported, sum.Duplicates, sum.Rejected)
		}
		if sum.Imported != len(sink.ids) {
			t.Errorf("imported %d, the sink stored %d", sum.Imported, len(sink.ids))
		}
		if len(sum.Rejections) != sum.Rejected {
			t.Errorf("%d rejections listed, %d counted", len(sum.Rejections), sum.Rejected)
		}
	})
}

type setSink struct{ ids map[string]bool }

func (s *setSink) Store(_ context.Context, rows []Row, inserted []bool) error {
	for i, r := range rows {
		if !s.ids[r.ExternalID] {
			s.ids[r.ExternalID] = true
			inserted[i] = true
		}
	}
	return nil
}
