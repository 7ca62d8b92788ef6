package config

import (
	"fmt"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigReadURL(t *testing.T) {
	const primary = "postgres://app@db1:5432/dvresponse?sslmode=require"
	tests := []struct {
		name, set, want string
	}{
		{"unset: reports read the primary", "", ""},
		{"set", "postgres://reports@db2:5432/dvresponse?sslmode=require", "postgres://reports@db2:5432/dvresponse?sslmode=require"},
		{"blank is unset", "  ", ""},
		{"surrounding spaces dropped", " postgres://reports@db2/dvresponse\n", "postgres://reports@db2/dvresponse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(map[string]string{"DATABASE_URL": primary, "DATABASE_READ_URL": tt.set}))
			if err != nil {
				t.Fatal(err)
			}
			if c.DatabaseReadURL != tt.want || c.DatabaseURL != primary {
				t.Errorf("DATABASE_READ_URL=%q: DatabaseReadURL %q, DatabaseURL %q; want %q and the primary unchanged",
					tt.set, c.DatabaseReadURL, c.DatabaseURL, tt.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "" || c.DatabaseReadURL != "" || c.Addr != ":8080" || c.Location.String() != "Asia/Bishkek" ||
		c.DBMaxConns != 20 || c.LogFormat != "auto" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestConfigTOTPKey(t *testing.T) {
	const good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // bytes 0 to 31
	tests := []struct {
		name, set string
		wantLen   int  // of TOTPKey
		wantErr   bool // a configuration error naming DVR_TOTP_KEY
	}{
		{"unset: secrets in clear", "", 0, false},
		{"32 bytes", good, 32, false},
		{"surrounding spaces dropped", " " + good + "\n", 32, false},
		{"not base64", "not base64 at all!", 0, true},
		{"URL-safe base64 is not standard", "-_-_" + good[4:], 0, true},
		{"16 bytes", "AAECAwQFBgcICQoLDA0ODw==", 0, true},
		{"33 bytes", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(map[string]string{"DVR_TOTP_KEY": tt.set}))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "DVR_TOTP_KEY") {
					t.Errorf("DVR_TOTP_KEY=%q: error %v, want one naming DVR_TOTP_KEY", tt.set, err)
				}
				if strings.Contains(fmt.Sprint(err), strings.TrimSpace(tt.set)) {
					t.Errorf("DVR_TOTP_KEY=%q: the error %q repeats the key", tt.set, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.TOTPKey) != tt.wantLen {
				t.Errorf("DVR_TOTP_KEY=%q: key of %d bytes, want %d", tt.set, len(c.TOTPKey), tt.wantLen)
			}
			if tt.wantLen > 0 && (c.TOTPKey[0] != 0 || c.TOTPKey[31] != 31) {
				t.Errorf("DVR_TOTP_KEY=%q: key %v, want bytes 0 to 31", tt.set, c.TOTPKey)
			}
		})
	}
}

func TestConfigCountry(t *testing.T) {
	for _, c := range []struct{ tz, country, want string }{
		{"", "", "KG"},
		{"Asia/Tbilisi", "", "GE"},
		{"Asia/Tbilisi", "kg", "KG"},
		{"UTC", "", ""},
	} {
		cfg, err := FromEnv(func(k string) string {
			return map[string]string{"DVR_TIME_ZONE": c.tz, "DVR_COUNTRY": c.country}[k]
		})
		if err != nil || cfg.Country != c.want {
			t.Errorf("DVR_TIME_ZONE=%q DVR_COUNTRY=%q: country %q, %v; want %q", c.tz, c.country, cfg.Country, err, c.want)
		}
	}
	if _, err := FromEnv(func(k string) string { return map[string]string{"DVR_COUNTRY": "Kyrgyzstan"}[k] }); err == nil {
		t.Error("DVR_COUNTRY=Kyrgyzstan accepted")
	}
}
