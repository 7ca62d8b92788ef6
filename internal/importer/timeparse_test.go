package importer

import (
	"testing"
	"time"
)

func TestParseTimeRecognised(t *testing.T) {
	bishkek, err := time.LoadLocation("Asia/Bishkek")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewTimeParser("", bishkek)
	if err != nil {
		t.Fatal(err)
	}
	local := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, bishkek)
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		// ISO 8601 with and without an offset.
		{"2025-04-01T14:30:00Z", time.Date(2025, 4, 1, 14, 30, 0, 0, time.UTC)},
		{"2025-04-01T14:30:00+06:00", local(2025, 4, 1, 14, 30, 0, 0)},
		{"2025-04-01T14:30:00+0600", local(2025, 4, 1, 14, 30, 0, 0)},
		{"2025-04-01T14:30:00+06", local(2025, 4, 1, 14, 30, 0, 0)},
		{"2025-04-01T10:30:00-02:00", time.Date(2025, 4, 1, 12, 30, 0, 0, time.UTC)},
		{"2025-04-01T14:30:00.123456789Z", time.Date(2025, 4, 1, 14, 30, 0, 123456789, time.UTC)},
		{"2025-04-01T14:30", local(2025, 4, 1, 14, 30, 0, 0)},
		{"2025-04-01t14:30:05z", time.Date(2025, 4, 1, 14, 30, 5, 0, time.UTC)},
		// YYYY-MM-DD HH:MM:SS[.fraction], local.
		{"2025-04-01 00:30:50", local(2025, 4, 1, 0, 30, 50, 0)},
		{"  2025-04-01 00:30:50.5  ", local(2025, 4, 1, 0, 30, 50, 500000000)},
		{"2025-04-01 00:30:50,25", local(2025, 4, 1, 0, 30, 50, 250000000)},
		{"2025-04-01 00:30:50 +06:00", local(2025, 4, 1, 0, 30, 50, 0)},
		// MM/DD/YYYY HH:MM[:SS] [AM|PM].
		{"04/01/2025 14:30", local(2025, 4, 1, 14, 30, 0, 0)},
		{"04/01/2025 14:30:15", local(2025, 4, 1, 14, 30, 15, 0)},
		{"4/1/2025 2:30 PM", local(2025, 4, 1, 14, 30, 0, 0)},
		{"04/01/2025 02:30:15 pm", local(2025, 4, 1, 14, 30, 15, 0)},
		{"04/01/2025 12:05 AM", local(2025, 4, 1, 0, 5, 0, 0)},
		{"04/01/2025 12:05 PM", local(2025, 4, 1, 12, 5, 0, 0)},
		{"04/01/2025 2:30PM", local(2025, 4, 1, 14, 30, 0, 0)},
	}
	for _, tt := range tests {
		got, err := p.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseTimeRefused(t *testing.T) {
	p, _ := NewTimeParser("", time.UTC)
	for _, in := range []string{
		"", "not a time", "2025-04-01", "04/01/2025", "2025-13-01 10:00:00", "2025-04-31 10:00:00",
		"2025-04-01 25:00:00", "04/01/2025 13:00 PM", "13/01/2025 10:00", "2025-04-01 10:00:00+6:00",
		"2025-04-01X10:00:00", "1743500000", "2025-04-01 10", "2025-04-01 10:00:00:00",
	} {
		if got, err := p.Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
}

func TestTimeFormat(t *testing.T) {
	tbilisi, err := time.LoadLocation("Asia/Tbilisi")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 4, 13, 21, 5, 9, 0, tbilisi)
	for _, tt := range []struct{ format, in string }{
		{"%d.%m.%Y %H:%M:%S", "13.04.2025 21:05:09"},
		{"%d/%m/%Y %I:%M:%S %p", "13/04/2025 09:05:09 PM"},
		{"02.01.2006 15:04:05", "13.04.2025 21:05:09"},
		{"%F %T", "2025-04-13 21:05:09"},
		{"%Y%m%d%H%M%S", "20250413210509"},
	} {
		p, err := NewTimeParser(tt.format, tbilisi)
		if err != nil {
			t.Errorf("NewTimeParser(%q): %v", tt.format, err)
			continue
		}
		got, err := p.Parse(tt.in)
		if err != nil || !got.Equal(want) {
			t.Errorf("format %q: Parse(%q) = %v, %v; want %v", tt.format, tt.in, got, err, want)
		}
	}
	for _, bad := range []string{"%Y-%m-%d", "%H:%M", "%Q", "abc", "%Y-%m-%d %I:%M", "2006-01-02 3:04", "%"} {
		if _, err := NewTimeParser(bad, time.UTC); err == nil {
			t.Errorf("NewTimeParser(%q) accepted a format that cannot give a full time", bad)
		}
	}
	p, _ := NewTimeParser("%d.%m.%Y %H:%M", time.UTC)
	if _, err := p.Parse("2025-04-13 21:05"); err == nil {
		t.Errorf("a time not in time_format was accepted")
	}
}

func TestOrderProblems(t *testing.T) {
	base := time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)
	var tm Times
	tm[Received] = base
	tm[Dispatched] = base.Add(-time.Minute) // before received
	tm[Cleared] = base.Add(time.Hour)
	bits := tm.OrderProblems()
	var got []string
	for k, p := range Pairs {
		if bits&(1<<k) != 0 {
			got = append(got, p.String())
		}
	}
	if len(got) != 1 || got[0] != "dispatched before received" {
		t.Errorf("OrderProblems = %v, want [dispatched before received]", got)
	}
	tm[Dispatched] = base // equal times are in order
	if bits := tm.OrderProblems(); bits != 0 {
		t.Errorf("OrderProblems with equal times = %b, want 0", bits)
	}
	if len(Pairs) != 10 {
		t.Errorf("len(Pairs) = %d, want 10", len(Pairs))
	}
}
