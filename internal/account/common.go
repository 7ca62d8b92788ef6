package account

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswords is a list of frequently used passwords of twelve or more
// characters, one a line, shipped with the application (no network lookups).
//
//go:embed common-passwords.txt
var commonPasswords string

var commonSet = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonPasswords, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
})

func isCommonPassword(pw string) bool { return commonSet()[strings.ToLower(pw)] }
