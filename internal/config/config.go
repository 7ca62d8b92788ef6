// Package config reads dvresponse's settings from environment variables.
// Every setting has a documented default (README.md, "Configuration").
package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/dvresponse/dvresponse/internal/match"
)

// Config is the whole configuration of one process.
type Config struct {
	DatabaseURL     string         // DATABASE_URL (required)
	DatabaseReadURL string         // DATABASE_READ_URL: streaming replica that report figures are read from; default none
	Addr            string         // DVR_ADDR, or serve --addr; default ":8080"
	MetricsAddr     string         // DVR_METRICS_ADDR: HOST:PORT of the Prometheus /metrics listener; default none (no listener)
	Location        *time.Location // DVR_TIME_ZONE; default Asia/Bishkek
	// Country (DVR_COUNTRY, an ISO 3166-1 alpha-2 code such as KG or GE;
	// default: the country of DVR_TIME_ZONE) reads phone numbers written
	// without a country code for the history lookup.
	Country        string
	Language       string         // DVR_LANGUAGE; default "en"
	CookieSecure   bool           // DVR_COOKIE_SECURE; default true when TLS is configured
	TLSCert        string         // DVR_TLS_CERT
	TLSKey         string         // DVR_TLS_KEY
	TrustedProxies []netip.Prefix // DVR_TRUSTED_PROXIES, comma-separated CIDRs; default none
	LogLevel       string         // DVR_LOG_LEVEL: debug, info, warn, error; default info
	LogFormat      string         // DVR_LOG_FORMAT: json, text or auto (json unless a terminal)
	DBMaxConns     int32          // DVR_DB_MAX_CONNS; default 20
	// ReportStore is DVR_REPORT_STORE: "memory" (default) keeps the report
	// store (internal/facts: about 80 bytes per incident in each serve
	// process) and serves figures from it; "off" computes every figure
	// from the database, slowly at millions of incidents.
	ReportStore string
	IdleTimeout time.Duration // DVR_SESSION_IDLE; default 30m
	SessionMax  time.Duration // DVR_SESSION_MAX; default 12h
	// TOTPKey (DVR_TOTP_KEY: 32 random bytes in standard base64, as
	// `openssl rand -base64 32` prints them) seals the second-factor
	// secrets in the database; nil (unset): they are stored in clear.
	TOTPKey []byte
	// AuditKey (DVR_AUDIT_KEY: 32 random bytes in standard base64) keys
	// the audit trail's hash chain (HMAC-SHA-256); nil (unset): the public
	// development key, with a warning at start.
	AuditKey []byte
	// AppRole (DVR_APP_ROLE) is the PostgreSQL role `migrate up` grants
	// what serve needs (created when missing), with AppPassword
	// (DVR_APP_PASSWORD) as its password when set; "": no grants.
	AppRole     string
	AppPassword string
}

// FromEnv reads the configuration with getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL:     getenv("DATABASE_URL"),
		DatabaseReadURL: strings.TrimSpace(getenv("DATABASE_READ_URL")),
		Addr:            or(getenv("DVR_ADDR"), ":8080"),
		MetricsAddr:     strings.TrimSpace(getenv("DVR_METRICS_ADDR")),
		Language:        or(getenv("DVR_LANGUAGE"), "en"),
		TLSCert:         getenv("DVR_TLS_CERT"),
		TLSKey:          getenv("DVR_TLS_KEY"),
		LogLevel:        or(getenv("DVR_LOG_LEVEL"), "info"),
		LogFormat:       or(getenv("DVR_LOG_FORMAT"), "auto"),
		DBMaxConns:      20,
		IdleTimeout:     30 * time.Minute,
		SessionMax:      12 * time.Hour,
		AppRole:         strings.TrimSpace(getenv("DVR_APP_ROLE")),
		AppPassword:     getenv("DVR_APP_PASSWORD"),
		ReportStore:     strings.ToLower(or(strings.TrimSpace(getenv("DVR_REPORT_STORE")), "memory")),
	}
	var errs []string
	tz := or(getenv("DVR_TIME_ZONE"), "Asia/Bishkek")
	loc, err := time.LoadLocation(tz)
	if err != nil {
		errs = append(errs, fmt.Sprintf("DVR_TIME_ZONE=%q is not a known time zone (use a name like Asia/Bishkek or Asia/Tbilisi)", tz))
	}
	c.Location = loc
	c.Country = strings.ToUpper(strings.TrimSpace(getenv("DVR_COUNTRY")))
	if c.Country == "" {
		c.Country = match.RegionOfZone(tz)
	} else if !match.ValidRegion(c.Country) {
		errs = append(errs, fmt.Sprintf("DVR_COUNTRY=%q: use a two-letter country code such as KG or GE", c.Country))
	}
	switch c.Language {
	case "en", "ru", "ky", "ka":
	default:
		errs = append(errs, fmt.Sprintf("DVR_LANGUAGE=%q: use en, ru, ky or ka", c.Language))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, "DVR_TLS_CERT and DVR_TLS_KEY go together")
	}
	c.CookieSecure = c.TLSCert != ""
	if v := getenv("DVR_COOKIE_SECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, "DVR_COOKIE_SECURE: use true or false")
		}
		c.CookieSecure = b
	}
	for _, s := range strings.Split(getenv("DVR_TRUSTED_PROXIES"), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				errs = append(errs, fmt.Sprintf("DVR_TRUSTED_PROXIES: %q is not an address or CIDR", s))
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if v := getenv("DVR_DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 1000 {
			errs = append(errs, "DVR_DB_MAX_CONNS: use a number from 2 to 1000")
		}
		c.DBMaxConns = int32(n)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"DVR_SESSION_IDLE", &c.IdleTimeout}, {"DVR_SESSION_MAX", &c.SessionMax}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < time.Second {
				errs = append(errs, d.name+": use a duration such as 30m or 12h")
			}
			*d.dst = x
		}
	}
	for _, k := range []struct {
		name string
		dst  *[]byte
	}{{"DVR_TOTP_KEY", &c.TOTPKey}, {"DVR_AUDIT_KEY", &c.AuditKey}} {
		if v := strings.TrimSpace(getenv(k.name)); v != "" {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(b) != 32 {
				errs = append(errs, k.name+": use 32 random bytes in base64, as `openssl rand -base64 32` prints them")
			} else {
				*k.dst = b
			}
		}
	}
	if c.ReportStore != "memory" && c.ReportStore != "off" {
		errs = append(errs, fmt.Sprintf("DVR_REPORT_STORE=%q: use memory or off", c.ReportStore))
	}
	if c.AppPassword != "" && c.AppRole == "" {
		errs = append(errs, "DVR_APP_PASSWORD is set but DVR_APP_ROLE is not: name the role it is for")
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			errs = append(errs, fmt.Sprintf("DVR_METRICS_ADDR=%q: use HOST:PORT, such as 127.0.0.1:9464", c.MetricsAddr))
		}
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		errs = append(errs, "DVR_LOG_FORMAT: use json, text or auto")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
