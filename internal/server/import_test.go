package server

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dvresponse/dvresponse/internal/account"
	"github.com/dvresponse/dvresponse/internal/importer/importtest"
)

// part is one field of a multipart form, in the order sent.
type part struct {
	name, filename string
	content        io.Reader
}

// postMultipart posts parts as a same-origin browser form would.
func (c *client) postMultipart(path string, parts ...part) *http.Response {
	c.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		var err error
		for _, p := range parts {
			var w io.Writer
			if p.filename != "" {
				w, err = mw.CreateFormFile(p.name, p.filename)
			} else {
				w, err = mw.CreateFormField(p.name)
			}
			if err != nil {
				break
			}
			if _, err = io.Copy(w, p.content); err != nil {
				break
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req := c.newRequest(http.MethodPost, path, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

func text(name, s string) part { return part{name: name, content: strings.NewReader(s)} }
func file(name, filename, s string) part {
	return part{name: name, filename: filename, content: strings.NewReader(s)}
}
func fileFrom(name, filename string, r io.Reader) part { return part{name, filename, r} }

const uploadMapping = `{"timezone": "Asia/Bishkek", "default_district": "Leninsky", "columns": {"external_id": "id", "received_at": "received",
  "dispatched_at": "dispatched", "priority": "prio", "incident_type": "type", "district": "district", "address": "address"}}`

const uploadCSV = "id,received,dispatched,prio,type,district,address\n" +
	"K1,2025-04-01 10:00:00,2025-04-01 10:01:00,1,Domestic violence,Leninsky,ul. Chui 12\n" +
	"K2,2025-04-01 11:00:00,2025-04-01 10:59:00,2,Theft,Leninsky,\n" +
	"K3,not a time,,2,Theft,,\n" +
	"K1,2025-04-01 10:00:00,2025-04-01 10:01:00,1,Domestic violence,Leninsky,ul. Chui 12\n"

func TestImportPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c, _ := adminClient(t, ts)

	resp := c.get("/admin/import")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/import: status %d", resp.StatusCode)
	}
	d := doc(t, resp)
	form := d.Find(`form[action="/admin/import"]`)
	if enc, _ := form.Attr("enctype"); enc != "multipart/form-data" {
		t.Errorf("form enctype %q, want multipart/form-data", enc)
	}
	// The mapping comes before the file, so that the file can be streamed.
	names := form.Find("textarea, input").Map(func(_ int, s *goquery.Selection) string { n, _ := s.Attr("name"); return n })
	if strings.Join(names, ",") != "mapping,mapping_file,file" {
		t.Errorf("form fields %v, want mapping, mapping_file, file in that order", names)
	}
	if m := fieldValue(d, "mapping"); !strings.Contains(m, `"received_at": ""`) || !strings.Contains(m, `"timezone": "UTC"`) {
		t.Errorf("the mapping template is %q", m)
	}

	// Upload: the summary accounts for every row.
	resp = c.postMultipart("/admin/import", text("mapping", uploadMapping), file("file", "calls.csv", uploadCSV))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: status %d; page says %q", resp.StatusCode, errorText(doc(t, resp)))
	}
	d = doc(t, resp)
	for id, want := range map[string]string{"rows-read": "4", "rows-imported": "2", "rows-rejected": "1"} {
		if got := strings.TrimSpace(d.Find("#" + id).Text()); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	if got := strings.Fields(d.Find("#rows-duplicates").Text()); len(got) == 0 || got[0] != "1" {
		t.Errorf("#rows-duplicates = %q, want 1", got)
	}
	if got := strings.Join(strings.Fields(d.Find("#rows-inconsistent").Text()), " "); !strings.Contains(got, "dispatched before received: 1") {
		t.Errorf("stages out of order: %q", got)
	}
	if got := cells(d, "#rejections tbody td"); !strings.HasPrefix(got, `3|4|received_at: "not a time" is not a recognised time`) {
		t.Errorf("rejections table: %q", got)
	}
	if got := d.Find("#created-types tbody tr").Length(); got != 2 {
		t.Errorf("%d created types listed, want 2", got)
	}
	if dv := strings.TrimSpace(d.Find("#created-types .badge-dv").Parent().Text()); !strings.HasPrefix(dv, "Domestic violence") {
		t.Errorf("DV badge on %q, want on Domestic violence", dv)
	}
	if got := cells(d, "#created-districts tbody td"); got != "LENINSKY|Leninsky" {
		t.Errorf("created districts: %q", got)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM incidents WHERE source = 'import' AND created_by = (SELECT id FROM users WHERE username = 'root')`); n != 2 {
		t.Errorf("%d incidents imported by root, want 2", n)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM audit_events WHERE action = 'import.run' AND username = 'root' AND record_id = 'calls.csv'`); n != 1 {
		t.Errorf("%d audit rows, want 1", n)
	}

	// Again, with the mapping as a file: nothing new.
	resp = c.postMultipart("/admin/import", text("mapping", ""), file("mapping_file", "m.json", uploadMapping),
		file("file", "calls.csv", uploadCSV))
	d = doc(t, resp)
	if got := strings.TrimSpace(d.Find("#rows-imported").Text()); resp.StatusCode != http.StatusOK || got != "0" {
		t.Errorf("re-upload: status %d, imported %q, want 200 and 0; page says %q", resp.StatusCode, got, errorText(d))
	}
}

func TestImportPageFixture(t *testing.T) {
	t.Parallel()
	path := importtest.FixturePath(t)
	mapping, err := os.ReadFile(importtest.MappingPath(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts := newTestServer(t)
	c, _ := adminClient(t, ts)
	resp := c.postMultipart("/admin/import", file("mapping_file", "synthetic-cad-mapping.json", string(mapping)),
		fileFrom("file", "synthetic-cad-export.csv", f))
	d := doc(t, resp)
	if got := strings.TrimSpace(d.Find("#rows-imported").Text()); resp.StatusCode != http.StatusOK || got != "1000" {
		t.Fatalf("fixture upload: status %d, imported %q; page says %q", resp.StatusCode, got, errorText(d))
	}
	if got := d.Find("#created-types .badge-dv").Length(); got != 2 {
		t.Errorf("%d created types flagged DV, want 2", got)
	}
}

func TestImportPageRefuses(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c, _ := adminClient(t, ts)
	tests := []struct {
		name    string
		parts   []part
		status  int
		want    string
		mapping string // the textarea keeps what was sent
	}{
		{"bad JSON", []part{text("mapping", `{"columns": `), file("file", "a.csv", uploadCSV)}, http.StatusUnprocessableEntity,
			"The mapping is not valid: the JSON ends too early.", `{"columns": `},
		{"missing column", []part{text("mapping", `{"default_district": "LEN", "columns": {"received_at": "when"}}`), file("file", "a.csv", uploadCSV)},
			http.StatusUnprocessableEntity, `column "when" (received_at) is not in the file's header`, `{"default_district": "LEN", "columns": {"received_at": "when"}}`},
		// An incident with no district would be hidden from every district
		// (issue 12, item 4): a mapping must place every row in one.
		{"no district", []part{text("mapping", `{"columns": {"received_at": "received"}}`), file("file", "a.csv", uploadCSV)},
			http.StatusUnprocessableEntity, `every incident needs a district: map the "district" column in "columns", or set "default_district"`,
			`{"columns": {"received_at": "received"}}`},
		{"no file", []part{text("mapping", uploadMapping), file("file", "", "")}, http.StatusUnprocessableEntity,
			"Choose the CSV file to import.", uploadMapping},
		{"file first", []part{file("file", "a.csv", uploadCSV), text("mapping", uploadMapping)}, http.StatusUnprocessableEntity,
			"The mapping is empty", ""},
		{"file missing", []part{text("mapping", uploadMapping)}, http.StatusUnprocessableEntity,
			"Choose the CSV file to import", uploadMapping},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.postMultipart("/admin/import", tt.parts...)
			d := doc(t, resp)
			if resp.StatusCode != tt.status || !strings.Contains(errorText(d), tt.want) || !strings.Contains(errorText(d), "Nothing was imported.") {
				t.Errorf("status %d, page says %q; want %d saying %q and that nothing was imported", resp.StatusCode, errorText(d), tt.status, tt.want)
			}
			if tt.mapping != "" && fieldValue(d, "mapping") != tt.mapping {
				t.Errorf("the mapping shown is %q, want what was sent, %q", fieldValue(d, "mapping"), tt.mapping)
			}
		})
	}
	// A plain form post is not an upload.
	resp := c.postForm("/admin/import", nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorText(doc(t, resp)), "Choose a CSV file") {
		t.Errorf("urlencoded POST: status %d, page says %q", resp.StatusCode, errorText(doc(t, resp)))
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM incidents`); n != 0 {
		t.Errorf("%d incidents stored by refused uploads", n)
	}
}

// TestImportPageTooLarge: an upload over the limit is refused with a page
// that names the limit, and nothing is stored.
func TestImportPageTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c, _ := adminClient(t, ts)
	resp := c.postMultipart("/admin/import", text("mapping", uploadMapping),
		fileFrom("file", "big.csv", io.MultiReader(strings.NewReader(uploadCSV[:strings.IndexByte(uploadCSV, '\n')+1]),
			&csvRows{n: maxImportBytes/2000 + 100, junk: true})))
	d := doc(t, resp)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(errorText(d), "The upload is larger than the limit of") {
		t.Errorf("oversized upload: status %d, page says %q", resp.StatusCode, errorText(d))
	}
	t.Logf("oversized upload refused: %q", errorText(d))
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM incidents`); n != 0 {
		t.Errorf("%d incidents stored by an oversized upload", n)
	}
}

// TestImportPageAboveOneMiB uploads an export of about 3 MiB, which the
// import route accepts (up to maxImportBytes) once the router's 1 MiB
// body limit exempts it.
func TestImportPageAboveOneMiB(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c, _ := adminClient(t, ts)
	rows := &csvRows{n: 50_000}
	resp := c.postMultipart("/admin/import", text("mapping", uploadMapping),
		fileFrom("file", "big.csv", io.MultiReader(strings.NewReader(uploadCSV[:strings.IndexByte(uploadCSV, '\n')+1]), rows)))
	d := doc(t, resp)
	if resp.StatusCode == http.StatusRequestEntityTooLarge && strings.Contains(errorText(d), "limit of 1 MiB") {
		t.Fatal("the router's limitBody(1 MiB) applies to POST /admin/import again (routes.go): uploads above 1 MiB are refused")
	}
	if got := strings.TrimSpace(d.Find("#rows-imported").Text()); resp.StatusCode != http.StatusOK || got != "50000" {
		t.Errorf("3 MiB upload: status %d, imported %q; page says %q", resp.StatusCode, got, errorText(d))
	}
}

// csvRows generates n rows of uploadMapping's layout (about 55 bytes
// each), or, when junk is set, n lines of 2000 bytes that are rejected at
// once (one field where the header has seven), so that an oversized
// upload costs no database work.
type csvRows struct {
	n, i int
	junk bool
	buf  bytes.Buffer
}

func (r *csvRows) Read(p []byte) (int, error) {
	for r.buf.Len() < len(p) && r.i < r.n {
		r.i++
		if r.junk {
			r.buf.WriteString(strings.Repeat("x", 1999) + "\n")
			continue
		}
		fmt.Fprintf(&r.buf, "B%07d,2025-04-01 10:%02d:%02d,,3,Theft,,Some street %d\n", r.i, r.i/60%60, r.i%60, r.i)
	}
	if r.buf.Len() == 0 {
		return 0, io.EOF
	}
	return r.buf.Read(p)
}

func TestImportPageAdminsOnly(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	createUser(t, ts.DB, "disp", account.Dispatcher, "")
	c := ts.client(t)
	c.mustLogin("disp", testPassword)
	resp := c.postMultipart("/admin/import", text("mapping", uploadMapping), file("file", "calls.csv", uploadCSV))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload as a dispatcher: status %d, want 403", resp.StatusCode)
	}
	if n := queryInt(t, ts.DB, `SELECT count(*) FROM incidents`); n != 0 {
		t.Errorf("%d incidents stored by a dispatcher's upload", n)
	}
}

// cells joins the trimmed texts of the elements sel selects with "|".
func cells(d *goquery.Document, sel string) string {
	return strings.Join(d.Find(sel).Map(func(_ int, s *goquery.Selection) string { return strings.TrimSpace(s.Text()) }), "|")
}
