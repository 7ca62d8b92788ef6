package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dvresponse/dvresponse/internal/importer/importtest"
	"github.com/dvresponse/dvresponse/internal/pgtest"
)

func TestImportCommand(t *testing.T) {
	t.Parallel()
	fixture := importtest.FixturePath(t)
	mapping := importtest.MappingPath(t)
	c := newCLI(t, pgtest.URL(t))

	out := c.mustRun("", "import", "--mapping", mapping, fixture)
	t.Logf("dvresponse import --mapping %s %s:\n%s", filepath.Base(mapping), filepath.Base(fixture), out)
	for _, want := range []string{
		"import of synthetic-cad-export.csv (times without an offset read in America/New_York)\n",
		"rows read          1000\n",
		"  imported         1000\n",
		"  duplicates          0",
		"  rejected            0\n",
		"not in the mapping (left empty): on_scene_at, disposition\n",
		"imported with stages out of order: 0\n",
		"created priorities (5): 1, 2, 3, 4, 5\n",
		"created incident types (98, 2 flagged as domestic violence",
		"DOMESTIC_VIOL_WITH_INJ             DOMESTIC VIOL WITH INJ  [domestic violence]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the first import's output lacks %q", want)
		}
	}
	if strings.Contains(out, "rejected row") {
		t.Errorf("the fixture import rejected rows:\n%s", out)
	}

	// Again, with the flags after the file: nothing new.
	out = c.mustRun("", "import", fixture, "--mapping", mapping)
	for _, want := range []string{"rows read          1000\n", "  imported            0\n", "  duplicates       1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("the re-import's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "created") {
		t.Errorf("the re-import created reference data:\n%s", out)
	}
}

func TestImportCommandListsRejectedRows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := filepath.Join(dir, "m.json")
	if err := os.WriteFile(mapping, []byte(`{"timezone": "UTC", "default_district": "LEN", "columns": {"external_id": "id", "received_at": "t", "priority": "p"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, pgtest.URL(t))
	csv := "id,t,p\n1,2025-04-01 10:00:00,1\n2,soon,1\n3,2025-04-01 10:00:00,0\n1,2025-04-01 10:00:00,1\n"
	out := c.mustRun(csv, "import", "--mapping", mapping, "-")
	for _, want := range []string{
		"rejected row 2 (line 3): received_at: \"soon\" is not a recognised time",
		"rejected row 3 (line 4): priority: \"0\" is not a level from 1 (most urgent) to 999\n",
		"import of (standard input)",
		"rows read             4\n", "  imported            1\n", "  duplicates          1", "  rejected            2\n",
		"rejected rows (2): each is listed above, with its reason\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestImportCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	nodist := filepath.Join(dir, "nodist.json")
	csv := filepath.Join(dir, "calls.csv")
	for p, s := range map[string]string{
		good: `{"default_district": "LEN", "columns": {"external_id": "id", "received_at": "received", "priority": "prio"}}`,
		bad:  `{"columns": {"recieved_at": "t"}}`,
		// Every incident needs a district (issue 12, item 4).
		nodist: `{"columns": {"external_id": "id", "received_at": "received"}}`,
		csv:    "id,received\n1,2025-04-01 10:00:00\n",
	} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := newCLI(t, pgtest.URL(t))
	tests := []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"import", csv}, true, "--mapping MAPPING.json is required"},
		{[]string{"import", "--mapping", good}, true, "give exactly one CSV file"},
		{[]string{"import", "--mapping", good, csv, csv}, true, "give exactly one CSV file"},
		{[]string{"import", "--mapping", good, "--batch", "0", csv}, true, "--batch must be"},
		{[]string{"import", "--nope", csv}, true, "flag provided but not defined: -nope"},
		{[]string{"import", "--mapping", bad, csv}, false, `unknown key "recieved_at"`},
		{[]string{"import", "--mapping", nodist, csv}, false, `every incident needs a district: map the "district" column`},
		{[]string{"import", "--mapping", good, csv}, false, `column "prio" (priority) is not in the file's header`},
		{[]string{"import", "--mapping", good, filepath.Join(dir, "missing.csv")}, false, "read the export"},
	}
	for _, tt := range tests {
		_, _, err := c.run(context.Background(), "", tt.args...)
		var u usageError
		if err == nil || errors.As(err, &u) != tt.usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("dvresponse %s: %v, want a %s saying %q", strings.Join(tt.args, " "), err,
				map[bool]string{true: "usage error", false: "failure"}[tt.usage], tt.want)
		}
		if err != nil && !tt.usage && strings.Contains(tt.want, "column") && !strings.Contains(err.Error(), "nothing was imported") {
			t.Errorf("dvresponse %s: %v, want it to say nothing was imported", strings.Join(tt.args, " "), err)
		}
	}
	out := c.mustRun("", "import", "--help")
	if !strings.HasPrefix(out, "usage: dvresponse import --mapping MAPPING.json FILE.csv") {
		t.Errorf("import --help printed %q", out)
	}
}
