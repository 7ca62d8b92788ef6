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

// TestConfigAuditKey: DVR_AUDIT_KEY is 32 bytes in standard base64, read
// like DVR_TOTP_KEY, and an error about it never repeats it.
func TestConfigAuditKey(t *testing.T) {
	const good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // bytes 0 to 31
	for _, tt := range []struct {
		set     string
		wantLen int
	}{{"", 0}, {good, 32}, {" " + good + "\n", 32}, {"AAECAwQFBgcICQoLDA0ODw==", -1}, {"not base64!", -1}} {
		c, err := FromEnv(env(map[string]string{"DVR_AUDIT_KEY": tt.set}))
		if tt.wantLen < 0 {
			if err == nil || !strings.Contains(err.Error(), "DVR_AUDIT_KEY") || strings.Contains(err.Error(), tt.set) {
				t.Errorf("DVR_AUDIT_KEY=%q: error %v, want one naming DVR_AUDIT_KEY, without the value", tt.set, err)
			}
			continue
		}
		if err != nil || len(c.AuditKey) != tt.wantLen || c.TOTPKey != nil || (tt.wantLen > 0 && c.AuditKey[31] != 31) {
			t.Errorf("DVR_AUDIT_KEY=%q: key %v, TOTP key %v, err %v; want %d bytes 0 to 31 and no TOTP key",
				tt.set, c.AuditKey, c.TOTPKey, err, tt.wantLen)
		}
	}
	if _, err := FromEnv(env(map[string]string{"DVR_APP_PASSWORD": "secret-password"})); err == nil ||
		!strings.Contains(err.Error(), "DVR_APP_ROLE") || strings.Contains(err.Error(), "secret-password") {
		t.Errorf("DVR_APP_PASSWORD without DVR_APP_ROLE: %v, want an error naming DVR_APP_ROLE", err)
	}
}

func TestConfigMetricsAddr(t *testing.T) {
	tests := []struct {
		set, want string
		wantErr   bool
	}{
		{"", "", false}, // unset: no metrics listener
		{"127.0.0.1:9464", "127.0.0.1:9464", false},
		{" :9464 ", ":9464", false},
		{"9464", "", true},
		{"metrics.example:", "", true}, // no port
		{"10.0.5.12:9464", "10.0.5.12:9464", false},
	}
	for _, tt := range tests {
		c, err := FromEnv(env(map[string]string{"DVR_METRICS_ADDR": tt.set}))
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "DVR_METRICS_ADDR") {
				t.Errorf("DVR_METRICS_ADDR=%q: error %v, want one naming DVR_METRICS_ADDR", tt.set, err)
			}
			continue
		}
		if err != nil || c.MetricsAddr != tt.want {
			t.Errorf("DVR_METRICS_ADDR=%q: MetricsAddr %q, err %v; want %q", tt.set, c.MetricsAddr, err, tt.want)
		}
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
