package config

import (
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
