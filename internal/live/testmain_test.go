package live_test

import (
	"testing"

	"github.com/dvresponse/dvresponse/internal/pgtest"
)

// TestMain drops the test databases of passing tests in batches, not one
// by one as each test ends (see pgtest.Main).
func TestMain(m *testing.M) { pgtest.Main(m) }
