package i18n

import "testing"

func TestOrdinals(t *testing.T) {
	c := Shared()
	for _, tc := range []struct {
		lang string
		n    int
		want string
	}{
		{"en", 1, "1st"}, {"en", 2, "2nd"}, {"en", 3, "3rd"}, {"en", 4, "4th"}, {"en", 11, "11th"}, {"en", 12, "12th"},
		{"en", 13, "13th"}, {"en", 21, "21st"}, {"en", 22, "22nd"}, {"en", 23, "23rd"}, {"en", 111, "111th"}, {"en", 102, "102nd"},
		{"ru", 1, "1-е"}, {"ru", 2, "2-е"}, {"ru", 23, "23-е"},
		{"ky", 1, "1-"}, {"ky", 3, "3-"},
		{"ka", 1, "1-ლი"}, {"ka", 2, "მე-2"}, {"ka", 20, "მე-20"}, {"ka", 21, "21-ე"}, {"ka", 40, "მე-40"}, {"ka", 101, "101-ე"},
	} {
		if got := c.Localizer(tc.lang).Ordinal(tc.n); got != tc.want {
			t.Errorf("%s %d: %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
	// The sentence the intake panel shows.
	for lang, want := range map[string]string{"en": "2nd incident in 12 months", "ru": "2-е происшествие за 12 месяцев",
		"ky": "12 айдагы 2-окуя", "ka": "მე-2 შემთხვევა 12 თვეში"} {
		l := c.Localizer(lang)
		if got := l.T("victims.repeat.nth", "Ordinal", l.Ordinal(2)); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
}
