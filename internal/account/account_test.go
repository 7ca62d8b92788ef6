package account

import (
	"testing"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

func TestDistrictRuleByRole(t *testing.T) {
	for _, c := range []struct {
		role, district string
		wantErr        bool
	}{
		{"officer", "", true},     // an officer patrols a district
		{"officer", "LEN", false}, //
		{"supervisor", "", false}, // oversees every district
		{"supervisor", "LEN", false},
		{"dispatcher", "", false}, // a city-wide control room
		{"admin", "", false},
	} {
		d := Draft{Username: "ann", Role: c.role, District: c.district, Password: "a long enough password"}
		err := d.Validate(true)
		if got := apperr.FieldsOf(err)["district"].ID != ""; got != c.wantErr {
			t.Errorf("%s with district %q: error %v, want error %v", c.role, c.district, err, c.wantErr)
		}
	}
}
