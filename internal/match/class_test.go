package match

import "testing"

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		e    Evidence
		want Class
	}{
		{Evidence{}, NoMatch},
		{Evidence{Name: true}, Namesake},
		{Evidence{Name: true, Age: true}, Person},
		{Evidence{Age: true}, NoMatch},
		{Evidence{Phone: true, Name: true}, Phone},
		{Evidence{Building: true, Phone: true}, Building},
		{Evidence{Flat: true, Building: true}, Flat},
	} {
		if got := Classify(c.e); got != c.want {
			t.Errorf("Classify(%+v) = %v, want %v", c.e, got, c.want)
		}
	}
	if Namesake.Strong() || !Person.Strong() || !Flat.Strong() {
		t.Error("only namesakes are weak")
	}
}

func TestRegion(t *testing.T) {
	if RegionOfZone("Asia/Bishkek") != "KG" || RegionOfZone("Asia/Tbilisi") != "GE" || RegionOfZone("UTC") != "" {
		t.Error("RegionOfZone")
	}
	if (Rules{Region: "KG"}).Version() == (Rules{Region: "GE"}).Version() {
		t.Error("the region is part of the keys' version")
	}
}
