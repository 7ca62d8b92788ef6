// Package account holds users, roles and the rules for passwords. It knows
// nothing of HTTP or storage.
package account

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// Role is what a user is allowed to do.
type Role string

// The roles of DESIGN.md section 1.
const (
	Dispatcher Role = "dispatcher"
	Officer    Role = "officer"
	Supervisor Role = "supervisor"
	Admin      Role = "admin"
)

// Roles lists every role, in the order forms show them.
var Roles = []Role{Dispatcher, Officer, Supervisor, Admin}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// Label is the role's name for people.
func (r Role) Label() string {
	switch r {
	case Dispatcher:
		return "Dispatcher"
	case Officer:
		return "Officer"
	case Supervisor:
		return "Supervisor"
	case Admin:
		return "Administrator"
	}
	return string(r)
}

// User is an account. PasswordHash is never shown.
type User struct {
	ID           int64
	Username     string
	FullName     string
	Role         Role
	DistrictID   *int64
	DistrictCode string // filled by queries that join districts
	UnitID       *int64
	UnitCallSign string // filled by queries that join units
	PasswordHash string
	SessionEpoch int
	DisabledAt   *time.Time
	LockedUntil  *time.Time // set after too many failed logins
	CreatedAt    time.Time
	Language     string // en, ru, ky, ka; "" for the deployment's default
}

// Lockout policy: MaxFailedLogins failures within FailureWindow lock the
// account for LockDuration, or until an administrator unlocks it. Thirty
// minutes slows a password-guessing attack to a crawl (at most five guesses
// per half hour per account) without leaving a night shift without its
// dispatcher until an administrator wakes up.
const (
	MaxFailedLogins = 5
	FailureWindow   = 15 * time.Minute
	LockDuration    = 30 * time.Minute
)

// Locked reports whether the account is locked at time now.
func (u *User) Locked(now time.Time) bool { return u.LockedUntil != nil && now.Before(*u.LockedUntil) }

// Disabled reports whether the user may no longer log in.
func (u *User) Disabled() bool { return u.DisabledAt != nil }

// DisplayName is the full name, or the username when none is recorded.
func (u *User) DisplayName() string {
	if u.FullName != "" {
		return u.FullName
	}
	return u.Username
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,39}$`)

// NormalizeUsername lower-cases and trims a typed username.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Draft is what a form or the CLI supplies to create or change a user.
type Draft struct {
	Username string
	FullName string
	Role     string
	District string // district code, may be empty
	Unit     string // unit call sign, may be empty (officers work in a unit)
	Password string // only on create
}

// Validate checks d and returns per-field messages. checkPassword is false
// when editing a user without changing the password.
func (d *Draft) Validate(checkPassword bool) error {
	f := apperr.Fields{}
	d.Username = NormalizeUsername(d.Username)
	d.FullName = strings.TrimSpace(d.FullName)
	d.District = strings.ToUpper(strings.TrimSpace(d.District))
	d.Unit = strings.ToUpper(strings.TrimSpace(d.Unit))
	switch {
	case d.Username == "":
		f.Add("username", "account.err.username_empty")
	case !usernameRE.MatchString(d.Username):
		f.Add("username", "account.err.username_form")
	}
	if utf8.RuneCountInString(d.FullName) > 100 {
		f.Add("full_name", "err.text.max", "Max", 100)
	}
	role, ok := ParseRole(d.Role)
	if !ok {
		f.Add("role", "account.err.role")
	}
	// Officers patrol a district. A supervisor without a district oversees
	// all of them (a national or city-wide supervisor).
	if ok && role == Officer && d.District == "" {
		f.Add("district", "account.err.officer_district")
	}
	if checkPassword {
		if msg := PasswordMsg(d.Password); msg.ID != "" {
			f.Add("password", msg.ID, msg.Args...)
		}
	}
	return f.Err()
}
