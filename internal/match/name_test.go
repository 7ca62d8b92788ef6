package match

import "testing"

// samePerson lists spellings of one person's name: every pair must share
// the name key.
var samePerson = [][]string{
	{"Морозова Марина", "Marina Morozova", "MOROZOVA marina", "Морозова, Марина", "Морозова Марина Ивановна", "Marina Ivanovna Morozova", " Marina  Morozova "},
	{"Айгуль Бекова", "Aigul Bekova", "Aygul Bekova", "Бекова Айгүл", "Aigul' Bekova", "BEKOVA AIGUL"},
	{"ნინო ბერიძე", "Nino Beridze", "Нино Беридзе", "BERIDZE Nino", "ბერიძე ნინო"},
	{"Жылдыз Өмүрбекова", "Jyldyz Omurbekova", "Zhyldyz Omurbekova", "Жылдыз Омурбекова", "Dzhyldyz Omurbekova", "Jildiz Ömürbekova"},
	{"Юлия Щербакова", "Yulia Shcherbakova", "Iuliia Shcherbakova", "Yuliya Sherbakova", "Щербакова Юлия Сергеевна"},
	{"Хасанов Рустам", "Khasanov Rustam", "Hasanov Rustam", "Рустам Хасанов"},
	{"Евгений Соловьёв", "Yevgeniy Solovyev", "Evgenii Solovev", "Evgeny Soloviev", "Евгений Соловьев"},
	{"Фёдор Семёнов", "Fyodor Semyonov", "Fedor Semenov", "Fiodor Semionov", "Федор Семенов"},
	{"Гиорги Кипиани", "Giorgi Kipiani", "გიორგი ყიფიანი", "Giorgi Qipiani", "Giorgi Q'ip'iani"},
	{"ნანა ჭიჭინაძე", "Nana Chichinadze", "Nana Ch'ich'inadze", "Нана Чичинадзе"},
	{"თამარ წერეთელი", "Tamar Tsereteli", "Тамар Церетели", "Tamar Ts'ereteli"},
	{"ლევან ხარაძე", "Levan Kharadze", "Леван Харадзе", "Levan Haradze"},
	{"ეკატერინე ღლონტი", "Ekaterine Ghlonti", "Екатерине Глонти"},
	{"Азамат Асан уулу", "Azamat Asan uulu", "Asan uulu Azamat", "АСАН УУЛУ Азамат"},
	{"Нурлан Жээнбеков", "Nurlan Zheenbekov", "Nurlan Jeenbekov", "Nurlan Dzheenbekov"},
	{"Чолпон Токтосунова", "Cholpon Toktosunova", "Čolpon Toktosunova"},
	{"Бактыгүл Ысмайылова", "Baktygul Ysmaiylova", "Baktygul Ismailova", "Бактыгуль Исмаилова"},
	{"Жаңыл Мамбетова", "Janyl Mambetova", "Jangyl Mambetova", "Жаныл Мамбетова"},
	{"Ольга Ильина", "Olga Ilyina", "Ol'ga Il'ina"},
	{"Татьяна Ким", "Tatiana Kim", "Tatyana Kim", "Tat'yana Kim"},
	{"Ксения Кузнецова", "Kseniya Kuznetsova", "Ksenia Kuznecova"},
	{"Николай Сергеевич Петров", "Nikolay Petrov", "Petrov Nikolai", "Петров Николай"},
	{"Ruslan Bekov", "Руслан Беков", "Bekov Ruslan"},
	{"Анна-Мария Ли", "Anna Maria Li", "Li Anna-Maria"},
	{"ქეთევან ჯაფარიძე", "Ketevan Japaridze", "Кетеван Джапаридзе", "Ketevan Dzhaparidze"},
}

// otherPeople lists names of other people that must not share a key:
// family members, other given names, other family names.
var otherPeople = [][2]string{
	{"Aigul Bekova", "Ruslan Bekov"},
	{"Aigul Bekova", "Aigul Bekov"},
	{"Aigul Bekova", "Ruslan Bekova"},
	{"Nino Beridze", "Nino Berishvili"},
	{"Nino Beridze", "Nana Beridze"},
	{"ნინო ბერიძე", "ნანა ბერიძე"},
	{"Marina Morozova", "Marina Morozov"},
	{"Мария Морозова", "Марина Морозова"},
	{"Жылдыз Өмүрбекова", "Жылдыз Өмүрбеков"},
	{"Giorgi Kipiani", "Giorgi Kipshidze"},
	{"Рустам Хасанов", "Рустам Хасанова"},
	{"Азамат Асан уулу", "Айжан Асан кызы"},
	{"Alexander Petrov", "Alexandra Petrova"},
	{"Evgeniy Solovyev", "Evgenia Solovyeva"},
	{"Марина", "Марина Морозова"},
	{"Nino Beridze", "Nino Beridze Giorgi"},
	{"Tamar Tsereteli", "Tamara Tsereteli"},
	{"Нурлан Жээнбеков", "Нурлан Жээнбекова"},
	{"Baktygul Ismailova", "Baktygul Ismailov"},
	{"Анна Ли", "Анна Лим"},
	{"Giorgi Beridze", "Giorgi Beriashvili"},
	{"Айжан Асанова", "Айжан Осмонова"},
	{"Nino Beridze", "Nina Beridze"},
	{"Sergey Ivanov", "Sergey Ivanova"},
	{"Ketevan Japaridze", "Ketevan Japaridze-Kipiani"},
	{"Мээрим Токтосунова", "Мээрим Токтогулова"},
	{"Жаңыл Мамбетова", "Жаңыл Мамбетов"},
	{"Marina Morozova", "Marina Ivanovna"},
}

// noName lists what names nobody.
var noName = []string{"", "  ", "-", "123", "неизвестно", "Unknown", "не назвала", "аноним", "უცნობი", "белгисиз", "N/A", "?"}

func TestNameSamePerson(t *testing.T) {
	for _, g := range samePerson {
		want := Name(g[0])
		if want == "" {
			t.Errorf("Name(%q) is empty", g[0])
			continue
		}
		for _, n := range g[1:] {
			if got := Name(n); got != want {
				t.Errorf("Name(%q) = %q, Name(%q) = %q: want equal", n, got, g[0], want)
			}
		}
	}
}

func TestNameOtherPeople(t *testing.T) {
	for _, p := range otherPeople {
		a, b := Name(p[0]), Name(p[1])
		if a == "" || b == "" || a == b {
			t.Errorf("Name(%q) = %q, Name(%q) = %q: want two keys", p[0], a, p[1], b)
		}
	}
}

func TestNameNone(t *testing.T) {
	for _, n := range noName {
		if got := Name(n); got != "" {
			t.Errorf("Name(%q) = %q, want none", n, got)
		}
	}
}
