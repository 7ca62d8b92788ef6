package match

import "testing"

// sameFlat lists spellings of one flat (or of one house without flats):
// every pair must share the flat key.
var sameFlat = [][]string{
	{
		"ул. Московская, д. 60, кв. 5", "Moskovskaya St 60, apt 5", "Московская 60-5",
		"Московская ул., 60, кв 5", "Moskovskaya ulitsa, dom 60, kvartira 5",
		"г. Бишкек, ул. Московская 60 кв. 5", "Bishkek, Moskovskaya str. 60, flat 5",
		"60 Moskovskaya St, apt 5", "ул.Московская,д.60,кв.5", "Moskovskaya 60 kv 5",
		"Московская көчөсү, 60-үй, 5-батир", "Moskovskaya, house 60, apartment 5",
		"Московская 60, кв.5, 3 подъезд, 2 этаж", "Московская 60, подъезд 3, этаж 2, кв. 5",
		"Moskovskaia 60 #5", "MOSKOVSKAYA 60 - 5", "Бишкек ш., Московская көч. 60, 5",
		"Moskovskaya60kv5", "Московская60-5", "Кыргызстан, Бишкек, Московская 60, кв. 5",
		"Bishkek city, Moskovskaya 60-5", "Moskovskaya 60, apt 5, Bishkek city",
	},
	{
		"мкр Тунгуч, д. 9, кв. 68", "Tunguch mkr 9 apt 68", "Тунгуч 9-68",
		"микрорайон Тунгуч, дом 9, квартира 68", "Tunguch microdistrict, bldg 9, flat 68",
		"Тунгуч кичирайону, 9-үй, 68-батир", "мкрн. Тунгуч 9 кв 68", "Bishkek, Tunguch 9, apt. 68",
		"Tunguch mkr., bld. 9, apt. 68", "мкр. Тунгуч 9, кв 68", "кв. 68, д. 9, мкр Тунгуч",
		"м-н Тунгуч, 9-68", "mkrn Tunguch, h. 9, ap. 68", "Тунгуч, 9 үй, 68 батир", "Тунгуч кичирайону 9 үй 68 батир",
	},
	{"пр. Чуй 120", "Chuy Ave 120", "проспект Чуй, 120", "Чүй проспектиси, 120", "Chui avenue 120", "Chuy prospekt 120", "пр-т Чуй 120", "Бишкек ш., Чүй пр., 120", "Chüy Ave. 120"},
	{"ул. Ахунбаева 12/1", "Akhunbaev St 12, block 1", "Ахунбаева 12 корп. 1", "Akhunbaeva 12 korpus 1", "Ахунбаева, д. 12, корпус 1", "Akhunbaeva 12k1", "Ahunbaeva 12/1", "Ахунбаева 12 к 1"},
	{"Ахунбаева 12а", "Akhunbaeva 12a", "Ахунбаева 12-а", "Ахунбаева д. 12 А", "Akhunbaev St 12A"},
	{"გორი, სტალინის გამზირი 12", "Gori, Stalin Avenue 12", "სტალინის გამზირი 12", "სტალინის გამზ. 12", "Stalin Ave 12", "Gori, Stalini Ave 12", "г. Гори, проспект Сталина 12", "ქ. გორი, სტალინის გამზ., 12", "Stalin avenue 12, Gori"},
	{"ჭავჭავაძის ქ. 3, ბინა 4", "Chavchavadze St 3, apt 4", "ჭავჭავაძის ქუჩა 3, ბ. 4", "ул. Чавчавадзе 3, кв. 4", "Tbilisi, Chavchavadze street 3-4", "ჭავჭავაძის ქ. N3, ბინა 4", "Ch'avch'avadze St. 3, apt. 4", "თბილისი, ჭავჭავაძის ქ. 3, ბ. 4", "ᲭᲐᲕᲭᲐᲕᲐᲫᲘᲡ Ქ. 3, ᲑᲘᲜᲐ 4", "Tiflis, Chavchavadze 3 kv 4"},
	{"რუსთაველის გამზირი 25, ბინა 10", "Rustaveli Ave 25, apt 10", "пр. Руставели 25, кв. 10", "Tbilisi, Rustaveli avenue 25-10", "თბილისი, რუსთაველის გამზ. 25, ბინა 10", "Rustavelis gamziri 25, bina 10"},
	{"აღმაშენებლის გამზირი 45", "Aghmashenebeli Ave 45", "Agmashenebeli Avenue 45", "пр. Агмашенебели 45", "აღმაშენებლის გამზ. 45"},
	{"კოსტავას ქ. 7, ბინა 12", "Kostava St 7, apt 12", "ул. Костава 7, кв 12", "K'ostava street 7-12"},
	{"ვაჟა-ფშაველას გამზირი 30, ბინა 2", "Vazha-Pshavela Ave 30, apt 2", "Vaja-Pshavela avenue 30-2", "пр. Важа-Пшавела 30, кв. 2", "Vazha Pshavela Ave 30 apt 2"},
	{"წერეთლის გამზ. 100", "Tsereteli Ave 100", "пр. Церетели 100", "Ts'ereteli avenue 100"},
	{"ყაზბეგის გამზ. 20", "Kazbegi Ave 20", "Qazbegi Ave 20", "пр. Казбеги 20"},
	{"პეკინის გამზ. 5", "Pekini Ave 5", "пр. Пекина 5"},
	{"ул. Токтогула 100, кв. 15", "Toktogul St 100, apt 15", "Токтогул көчөсү, 100-үй, 15-батир", "Toktogula 100-15"},
	{"жилмассив Ак-Орго, д. 15", "Ak-Orgo 15", "Ak Orgo zhilmassiv 15", "Акорго 15", "ж/м Ак-Орго, 15", "zh/m Ak-Orgo, house 15"},
	{"12 мкр, д. 5, кв. 3", "мкр 12, 5-3", "12-й микрорайон, дом 5, квартира 3", "mkr 12, bldg 5, apt 3", "12 mkr 5-3", "Бишкек, 12 мкр., 5, кв. 3"},
	{"мкр Восток-5, д. 12, кв. 34", "Vostok-5 12-34", "Восток-5 мкр, 12-34", "Vostok-5 microdistrict, bldg 12, apt 34"},
	{"мкр Джал-29, д. 5, кв. 3", "Dzhal-29 5-3", "Джал 29 мкр, дом 5, кв 3", "Jal-29 mkr 5 apt 3"},
	{"Gldani 3 mkr, korpus 10, apt 25", "გლდანის მე-3 მ/რ, მე-10 კორპუსი, ბინა 25", "Глдани 3 мкр, корп. 10, кв. 25", "Gldani, 3rd microdistrict, building 10, flat 25"},
	{"Ибраимова көчөсү 24, 8-батир", "ул. Ибраимова 24, кв. 8", "Ibraimov St 24, apt 8", "Ibraimova 24-8"},
	{"Zugdidi, Rustaveli St 5", "ზუგდიდი, რუსთაველის ქ. 5", "Зугдиди, ул. Руставели 5", "Rustaveli 5"},
	{"г. Ош, ул. Ленина 205, кв. 1", "Osh, Lenin St 205, apt 1", "Ош ш., Ленин көчөсү, 205-үй, 1-батир", "Lenina 205-1"},
	{"ул. 7 Апреля 12, кв 3", "7 Aprelya St 12, apt 3", "7 Апреля көчөсү 12-3"},
	{"ул. Южная 3", "Yuzhnaya St 3", "Iuzhnaia 3", "Yujnaya 3"},
	{"ул. Щорса 8", "Shchorsa St 8", "Schorsa 8", "Shorsa 8"},
	{"ул. Циолковского 4-12", "Tsiolkovskogo 4, apt 12", "Ciolkovskogo 4 kv 12", "Tsiolkovsky St 4, apt 12"},
	{"ул. Хвойная 11", "Khvoinaya 11", "Hvoynaya 11", "Khvoynaya street 11"},
	{"ул. Джантошева 45, кв 7", "Dzhantosheva 45-7", "Jantoshev St 45 apt 7", "Djantosheva 45 kv 7", "Жантошев көчөсү 45, 7-батир"},
	{"Jalal-Abad, Lenina 5", "Джалал-Абад, ул. Ленина 5", "Жалал-Абад ш., Ленин көч. 5", "Lenin St 5, Jalalabad"},
	{"Karakol, Toktogul 10-2", "Каракол, Токтогула 10, кв 2", "г. Каракол, ул. Токтогул 10, кв. 2"},
	{"Kutaisi, Tamar Mepe St 14", "ქუთაისი, თამარ მეფის ქ. 14", "Кутаиси, ул. Тамар Мепе 14"},
	{"Batumi, Gorgiladze St 20, apt 33", "ბათუმი, გორგილაძის ქ. 20, ბინა 33", "Батуми, ул. Горгиладзе 20-33"},
	{"Rustavi, Megobroba Ave 9", "რუსთავი, მეგობრობის გამზ. 9", "Рустави, пр. Мегоброба 9"},
	{"Tserovani settlement, cottage 105", "სოფ. წეროვანი, კოტეჯი 105", "с. Церовани, коттедж 105", "Tserovani 105"},
	{"Vake, Chavchavadze Ave 37", "ვაკე, ჭავჭავაძის გამზ. 37", "Chavchavadze Ave 37", "Tbilisi, Vake district, Chavchavadze 37", "пр. Чавчавадзе 37"},
	{"Gldani, Khizanishvili St 5", "Khizanishvili 5", "გლდანი, ხიზანიშვილის ქ. 5", "Глдани, ул. Хизанишвили 5"},
	{"Gori, IDP settlement Tserovani, 5th street, 12", "Tserovani, 5th street 12", "წეროვანი, მე-5 ქუჩა, 12", "с. Церовани, 5-я улица, 12"},
	{"Ч. Айтматов көчөсү 10", "Aitmatov Ave 10", "пр. Ч. Айтматова 10", "Ch. Aitmatov St. 10"},
	{"ул. Фрунзе 300", "Frunze St 300", "Фрунзе көчөсү 300"},
	{"Kutaisi St 5", "ул. Кутаиси 5", "ქუთაისის ქ. 5", "Tbilisi, Kutaisi street 5"},
	{"пер. Ботанический 4", "Botanicheskiy lane 4", "Botanichesky per. 4", "переулок Ботанический, 4"},
	{"бульвар Эркиндик 35, кв. 2", "Erkindik Blvd 35, apt 2", "Эркиндик бульвары 35-2", "Erkindik boulevard 35, flat 2"},
}

// sameBuildingOnly lists pairs in one building but not one flat.
var sameBuildingOnly = [][2]string{
	{"Московская 60, кв. 5", "Moskovskaya 60, apt 7"},
	{"мкр Тунгуч 9, кв 68", "Tunguch 9-12"},
	{"Tunguch 9-68", "Tunguch 9-86"},
	{"Московская 60", "Moskovskaya 60 apt 5"},
	{"ჭავჭავაძის ქ. 3, ბინა 4", "Chavchavadze St 3, apt 5"},
	{"Ахунбаева 12/1 кв 3", "Akhunbaeva 12 block 1 apt 4"},
	{"Gldani 3 mkr, korpus 10, apt 25", "გლდანის მე-3 მ/რ, მე-10 კორპუსი, ბინა 26"},
	{"Токтогул көчөсү, 100-үй, 15-батир", "ул. Токтогула 100, кв. 51"},
	{"12 мкр, д. 5, кв. 3", "mkr 12, 5-4"},
	{"Московская 60, кв. 5", "Московская 60, кв. 50"},
	{"Chuy 120, apt 1", "пр. Чуй 120, кв. 10"},
	{"ჭავჭავაძის ქ. 3, ბინა 4", "Chavchavadze St 3"},
	{"Gori, Stalin Ave 12, apt 3", "სტალინის გამზ. 12, ბინა 30"},
	{"Ибраимова 24-8", "Ибраимова көчөсү 24, 9-батир"},
}

// apart lists pairs of other buildings: neither key is shared.
var apart = [][2]string{
	{"Московская 60", "Московская 6"},
	{"Московская 60", "Московская 600"},
	{"Чуй 120", "Чуй 210"},
	{"Чуй 120", "Chuy 12"},
	{"ул. Ахунбаева 12/1", "Akhunbaeva 121"},
	{"Ахунбаева 12/1", "Ахунбаева 12/2"},
	{"Ахунбаева 12/1", "Ахунбаева 12"},
	{"Ахунбаева 12а", "Ахунбаева 12б"},
	{"Ахунбаева 12а", "Ахунбаева 12"},
	{"bldg 68, apt 9, Tunguch", "Tunguch, bldg 9, apt 68"},
	{"Московская 60-5", "Московская 65"},
	{"Московская 60-5", "Московская 6-05"},
	{"Московская 60", "Мичурина 60"},
	{"Moskovskaya 60", "Moskva St 60"},
	{"Руставели 25", "Руставели 52"},
	{"Rustaveli Ave 25", "Tsereteli Ave 25"},
	{"12 мкр, д. 5", "5 мкр, д. 12"},
	{"мкр 12, 5-3", "мкр 12, 3-5"},
	{"мкр 12, 5-3", "мкр 11, 5-3"},
	{"Токтогула 100, кв. 15", "Токтогула 15, кв. 100"},
	{"Chavchavadze St 3, apt 4", "Chavchavadze St 4, apt 3"},
	{"Lenina 5", "Lenina 5, block 2"},
	{"Gldani 3 mkr, korpus 10", "Gldani 4 mkr, korpus 10"},
	{"Тунгуч 9-68", "Асанбай 9-68"},
	{"Тунгуч 9-68", "Тунгуч 68-9"},
	{"ул. 7 Апреля 12", "ул. 8 Марта 12"},
	{"ул. Южная 3", "ул. Северная 3"},
	{"Чуй 120", "Жибек Жолу 120"},
	{"Kostava St 7", "Kazbegi Ave 7"},
	{"ვაჟა-ფშაველას გამზირი 30", "ვაჟა-ფშაველას გამზირი 3"},
	{"Akhunbaeva 12 korpus 1", "Akhunbaeva 12 korpus 2"},
	{"Ахунбаева 12 корпус 1", "Ахунбаева 1 корпус 12"},
	{"Московская 60, кв. 5", "Московская 5, кв. 60"},
	{"Tserovani, cottage 105", "Tserovani, cottage 15"},
	{"Vostok-5 12-34", "Vostok-6 12-34"},
	{"Джал-29 5-3", "Джал-23 5-3"},
	{"Tserovani, 5th street 12", "Tserovani, 6th street 12"},
	{"Vake, Chavchavadze Ave 37", "Chavchavadze Ave 73"},
	{"с. Кок-Жар, ул. Ленина 5", "с. Дачное, ул. Ленина 5"},
	{"Московская 60", "Московская 60/1"},
	{"Московская 60а", "Московская 60б"},
	{"Ахунбаева 12/1", "Ахунбаева 1/12"},
	{"мкр Тунгуч 9", "мкр Тунгуч 19"},
	{"Chuy Ave 120", "Chuy Ave 120/2"},
	{"12 мкр, д. 5", "11 мкр, д. 5"},
	{"Vostok-5 12-34", "Vostok 12-34"},
	{"Gori, Stalin Ave 12", "Gori, Stalin Ave 21"},
	{"ул. Киевская 77", "ул. Киевская 7-7"},
	{"Rustaveli Ave 25, apt 10", "Rustaveli Ave 2, apt 510"},
	{"Kazbegi Ave 20", "Kostava St 20"},
	{"ул. Ленина 5", "пр. Ленинский 5"},
	{"Жибек Жолу 400", "Жибек Жолу 40"},
	{"Ibraimova 24-8", "Ibraimova 2-48"},
	{"ул. Токтогула 100", "ул. Токтоналиева 100"},
	{"Akhunbaeva 12", "Akhunbaeva 12, block 1"},
	{"Aghmashenebeli Ave 45", "Agmashenebeli Ave 54"},
	{"Тунгуч, 9 үй, 68 батир", "Тунгуч, 68 үй, 9 батир"},
}

// noKeys lists addresses that name no building.
var noKeys = []string{
	"", "   ", "Тунгуч", "кв. 5", "д. 60, кв. 5", "Bishkek", "გორი", "Tbilisi, Rustaveli Ave",
	"мкр Тунгуч", "bldg 9, apt 68", "г. Бишкек", "Kyrgyzstan, Bishkek", "60-5", "12/1", "ул.", "№",
}

func TestAddressSameFlat(t *testing.T) {
	for _, g := range sameFlat {
		f0, b0 := Address(g[0])
		if f0 == "" || b0 == "" {
			t.Errorf("Address(%q) = %q, %q: want keys", g[0], f0, b0)
			continue
		}
		for _, a := range g[1:] {
			if f, b := Address(a); f != f0 || b != b0 {
				t.Errorf("Address(%q) = %q, %q; Address(%q) = %q, %q: want the same flat", a, f, b, g[0], f0, b0)
			}
		}
	}
}

func TestAddressSameBuildingOnly(t *testing.T) {
	for _, p := range sameBuildingOnly {
		fa, ba := Address(p[0])
		fb, bb := Address(p[1])
		if ba == "" || ba != bb || fa == fb {
			t.Errorf("%q: %q, %q; %q: %q, %q: want one building, two flats", p[0], fa, ba, p[1], fb, bb)
		}
	}
}

func TestAddressApart(t *testing.T) {
	for _, p := range apart {
		fa, ba := Address(p[0])
		fb, bb := Address(p[1])
		if fa == "" || fb == "" {
			t.Errorf("%q: %q; %q: %q: want keys", p[0], fa, p[1], fb)
		}
		if fa == fb || ba == bb {
			t.Errorf("%q: %q, %q; %q: %q, %q: want nothing shared", p[0], fa, ba, p[1], fb, bb)
		}
	}
}

func TestAddressNoKeys(t *testing.T) {
	for _, a := range noKeys {
		if f, b := Address(a); f != "" || b != "" {
			t.Errorf("Address(%q) = %q, %q: want no keys", a, f, b)
		}
	}
}

// TestAddressKeys pins the keys' form: street skeleton, house, block, flat.
func TestAddressKeys(t *testing.T) {
	for _, c := range []struct{ in, flat, building string }{
		{"Московская 60", "mskvsk#60", "mskvsk#60"},
		{"Московская 60-5", "mskvsk#60-5", "mskvsk#60"},
		{"Ахунбаева 12/1, кв. 3", "ahnbv#12/1-3", "ahnbv#12/1"},
		{"Ахунбаева 012а", "ahnbv#12a", "ahnbv#12a"},
		{"мкр 12, 5-3", "12#5-3", "12#5"},
	} {
		if f, b := Address(c.in); f != c.flat || b != c.building {
			t.Errorf("Address(%q) = %q, %q; want %q, %q", c.in, f, b, c.flat, c.building)
		}
	}
}

func FuzzAddress(f *testing.F) {
	for _, g := range sameFlat {
		for _, a := range g {
			f.Add(a)
		}
	}
	f.Add("-/-,,12//3--а")
	f.Add("к к к 1 к")
	f.Fuzz(func(t *testing.T, s string) {
		flat, building := Address(s)
		if (flat == "") != (building == "") {
			t.Fatalf("Address(%q) = %q, %q: one key without the other", s, flat, building)
		}
		_ = Name(s)
		_ = Rules{Region: "KG"}.Phone(s)
	})
}
