package match

import "testing"

// samePhone lists spellings of one number, each read in its region.
var samePhone = []struct {
	want string
	in   []struct{ region, s string }
}{
	{"+996555123456", []struct{ region, s string }{
		{"KG", "+996 555 12-34-56"}, {"KG", "0555 123 456"}, {"KG", "555123456"}, {"KG", "+996555123456"},
		{"KG", "996555123456"}, {"KG", "00996 555 123456"}, {"KG", "(0555) 12-34-56"}, {"KG", "+996 (555) 123 456"},
		{"KG", "0555-12-34-56"}, {"KG", "тел. 0555 123456"}, {"kg", "0555123456"}, {"", "0555 123 456"},
		{"GE", "+996 555 123 456"}, {"KG", "+996 (0555) 123456"}, {"KG", "0555 123 456 доб. 12"}, {"KG", "0555 123 456, 0700 123 456"}, {"Kg", "0555 123 456"}, {" KG ", "0555 123 456"}, {"XX", "+996 555 123 456"}, {"KG", "+996 555 123456; +996 700 123456"},
	}},
	{"+996312661234", []struct{ region, s string }{
		{"KG", "0 (312) 66-12-34"}, {"KG", "+996 312 661 234"}, {"KG", "0312 661234"}, {"KG", "312-66-12-34"},
		{"KG", "(0312) 66 12 34"}, {"GE", "+996 312 66 12 34"},
	}},
	{"+996322251234", []struct{ region, s string }{ // Osh landline
		{"KG", "0 (3222) 5-12-34"}, {"KG", "+996 3222 51234"}, {"KG", "03222 51234"},
	}},
	{"+996700123456", []struct{ region, s string }{
		{"KG", "0700 123 456"}, {"KG", "+996 700 123456"}, {"KG", "700-12-34-56"},
	}},
	{"+996770123456", []struct{ region, s string }{
		{"KG", "0770 12 34 56"}, {"KG", "+996 770 12 34 56"}, {"KG", "(770) 123-456"},
	}},
	{"+995599123456", []struct{ region, s string }{
		{"GE", "+995 599 12 34 56"}, {"GE", "599 12 34 56"}, {"GE", "599123456"}, {"GE", "+995599123456"},
		{"GE", "00995 599 123 456"}, {"GE", "(599) 12-34-56"}, {"KG", "+995 599 12 34 56"}, {"ge", "599-123-456"},
	}},
	{"+995322123456", []struct{ region, s string }{ // Tbilisi landline
		{"GE", "032 2 12 34 56"}, {"GE", "+995 32 212 34 56"}, {"GE", "(032) 212-34-56"}, {"GE", "322123456"},
		{"KG", "+995 32 2 12 34 56"},
	}},
	{"+995431241234", []struct{ region, s string }{ // Kutaisi landline
		{"GE", "0431 24 12 34"}, {"GE", "+995 431 24 12 34"}, {"GE", "431241234"},
	}},
	{"+77011234567", []struct{ region, s string }{ // a foreign mobile keeps its country
		{"KG", "+7 701 123 45 67"}, {"GE", "+7 (701) 123-45-67"}, {"KG", "00 7 701 1234567"},
	}},
}

// otherPhones lists other numbers.
var otherPhones = []struct{ ra, a, rb, b string }{
	{"KG", "0555 123 456", "KG", "0555 123 457"},
	{"KG", "0555 123 456", "KG", "0556 123 456"},
	{"KG", "+996 555 123456", "KG", "+995 555 123456"},
	{"KG", "555123456", "GE", "555123456"},
	{"GE", "599 12 34 56", "GE", "599 12 34 65"},
	{"KG", "0312 661234", "KG", "0312 661243"},
	{"KG", "0312 661234", "KG", "03122 61234"},
	{"GE", "032 2 12 34 56", "GE", "0322 12 34 56 7"},
	{"KG", "0555 123 456", "KG", "0755 123 456"},
	{"GE", "599 123 456", "GE", "595 123 456"},
	{"KG", "+996 312 661234", "KG", "+996 3122 61234"},
	{"GE", "+995 32 212 34 56", "GE", "+995 32 212 34 65"},
	{"KG", "+996 555 123 456", "GE", "+995 555 123 456"},
}

// noPhone lists what is no phone number.
var noPhone = []struct{ region, s string }{
	{"KG", ""}, {"KG", "нет"}, {"KG", "no phone"}, {"KG", "12345"}, {"KG", "0555 12"}, {"KG", "66-12-34"},
	{"KG", "+996"}, {"KG", "0000"}, {"KG", "999"}, {"KG", "0555 123 456 789 0"}, {"GE", "599 12"},
	{"GE", "+995 599 12 34 56 78 90"}, {"KG", "abc-def"}, {"", "112"}, {"XX", "0555 123 456"},
}

func TestPhoneSame(t *testing.T) {
	for _, g := range samePhone {
		for _, c := range g.in {
			if got := (Rules{Region: c.region}).Phone(c.s); got != g.want {
				t.Errorf("Rules{%q}.Phone(%q) = %q, want %q", c.region, c.s, got, g.want)
			}
		}
	}
}

func TestPhoneOther(t *testing.T) {
	for _, c := range otherPhones {
		a, b := Rules{Region: c.ra}.Phone(c.a), Rules{Region: c.rb}.Phone(c.b)
		if a == b {
			t.Errorf("%s %q and %s %q both give %q: want other numbers", c.ra, c.a, c.rb, c.b, a)
		}
	}
}

func TestPhoneNone(t *testing.T) {
	for _, c := range noPhone {
		if got := (Rules{Region: c.region}).Phone(c.s); got != "" {
			t.Errorf("Rules{%q}.Phone(%q) = %q, want none", c.region, c.s, got)
		}
	}
}

func TestKeys(t *testing.T) {
	r := Rules{Region: "KG"}
	k := r.Keys("Moskovskaya St 60, apt 5", "0555 123 456", "Marina Morozova", "Айгуль Бекова", "Руслан Беков")
	want := Keys{Flat: "mskvsk#60-5", Building: "mskvsk#60", Phone: "+996555123456", Caller: "marina morozova", Victim: "aigul bekova", Suspect: "bekov ruslan"}
	if k != want {
		t.Errorf("Keys = %+v, want %+v", k, want)
	}
	if k.Empty() {
		t.Error("Keys.Empty() = true with every key set")
	}
	if k := r.Keys("Тунгуч", "нет", "неизвестно", "", " "); !k.Empty() {
		t.Errorf("Keys = %+v, want empty", k)
	}
}

var sink Keys

func BenchmarkKeys(b *testing.B) {
	inputs := [][5]string{
		{"ул. Московская, д. 60, кв. 5", "+996 555 12-34-56", "Морозова Марина Ивановна", "Айгуль Бекова", "Руслан Беков"},
		{"ჭავჭავაძის ქ. 3, ბინა 4", "599 12 34 56", "ნინო ბერიძე", "Nino Beridze", "Giorgi Kipiani"},
		{"Tunguch mkr 9 apt 68", "0 (312) 66-12-34", "Jyldyz Omurbekova", "Жылдыз Өмүрбекова", ""},
	}
	r := Rules{Region: "KG"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		in := inputs[i%len(inputs)]
		sink = r.Keys(in[0], in[1], in[2], in[3], in[4])
	}
}

func BenchmarkAddress(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink.Flat, sink.Building = Address("ул. Московская, д. 60, кв. 5")
	}
}

func BenchmarkName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink.Victim = Name("Морозова Марина Ивановна")
	}
}

func BenchmarkPhone(b *testing.B) {
	r := Rules{Region: "KG"}
	b.ReportAllocs()
	for b.Loop() {
		sink.Phone = r.Phone("+996 555 12-34-56")
	}
}
