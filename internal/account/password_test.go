package account

import (
	"strings"
	"testing"
)

// TestHashPasswordProductionCost checks the cost every stored hash gets
// (tests of other packages lower it with UseCheapHashesInTests; this
// package never does) and that the hash verifies the password and no other.
func TestHashPasswordProductionCost(t *testing.T) {
	if cheapHashes.Load() {
		t.Fatal("cheap hashes are on in the account package's own tests")
	}
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(h, want) {
		t.Errorf("hash %q does not start with %q (19 MiB, 2 passes, 1 lane)", h, want)
	}
	if !CheckPassword(h, "correct horse battery staple") {
		t.Error("the hash does not verify its own password")
	}
	if CheckPassword(h, "correct horse battery stapler") {
		t.Error("the hash verifies another password")
	}
	if h2, _ := HashPassword("correct horse battery staple"); h2 == h {
		t.Error("two hashes of one password are equal: no random salt")
	}
}
