package config

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// spreadsheetConfig reads r.csv with the attributes given, and renders the
// first name with coalesce.
func spreadsheetConfig(attrs string) string {
	return `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
  default_region = "TZ"
` + attrs + `
}
campaign "c" {
  recipients = recipients.r
  message "m" {
    template  = "t"
    variables = { "1" = replace(coalesce(row.name, "there"), "\n", " ") }
  }
}
`
}

// TestSpreadsheetCSV reads files as spreadsheets export them: Excel's
// semicolons with a byte order mark and CRLF, LibreOffice's tabs, padded
// header names and cells, quoted line breaks and the rows of empty cells a
// sheet ends with.
func TestSpreadsheetCSV(t *testing.T) {
	type row struct{ Key, Phone, Name string }
	want := []row{{"A1", "255712000001", "Asha"}, {"A6", "255712000006", "there"}, {"A7", "255712000007", "Line one line two"}}
	for _, tt := range []struct {
		name, csv, attrs string
	}{
		{"excel semicolons, BOM, CRLF",
			"\uFEFFid; name ;phone;note\r\nA1;Asha;0712 000 001;x\r\n A6 ;  ;0712000006;\r\nA7;\"Line one\nline two\";+255712000007;\"a;b\"\r\n;;;\r\n\r\n", ""},
		{"tabs", "id\t name\tphone\nA1\tAsha\t0712000001\n A6 \t \t0712000006\nA7\t\"Line one\nline two\"\t255712000007\n\n\n", ""},
		{"commas, delimiter set", "id, name,phone\nA1,Asha,0712000001\n A6 , ,0712000006\nA7,\"Line one\nline two\",255712000007\n,,\n", `delimiter = ","`},
		{"semicolons, delimiter set", "id;name;phone\nA1;Asha;0712000001\nA6;;0712000006\nA7;\"Line one\nline two\";255712000007\n", `delimiter = ";"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig(tt.attrs), "r.csv": tt.csv})
			cfg, diags := Load(dir, LoadOptions{})
			diags = append(diags, cfg.Check()...)
			for _, d := range diags {
				if d.Severity == hcl.DiagError || d.Summary != "CSV column name trimmed" {
					t.Errorf("unexpected diagnostic: %s: %s", d.Summary, d.Detail)
				}
			}
			var got []row
			for _, r := range cfg.Recipients["r"].Recipients {
				p, d := cfg.Campaigns[0].Messages[0].Render(r, nil, "")
				if d.HasErrors() {
					t.Fatal(d)
				}
				got = append(got, row{r.Key, r.Phone, p.Variables["1"]})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("recipients (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCSVHeaderTrimmed: a padded header name is read trimmed, with a
// warning at the column.
func TestCSVHeaderTrimmed(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig(""), "r.csv": "id, name ,phone\nA1,Asha,0712000001\n"})
	cfg, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() || len(diags) != 1 {
		t.Fatalf("want one warning, got:\n%s", diagText(cfg.Files, diags))
	}
	d := diags[0]
	if d.Severity != hcl.DiagWarning || !strings.Contains(d.Detail, `" name "`) || !strings.Contains(d.Detail, "row.name") || d.Subject.Start.Line != 1 || d.Subject.Start.Column != 4 {
		t.Errorf("warning %s: %s at %v", d.Summary, d.Detail, d.Subject)
	}
}

// TestCSVDialectProblems: a delimiter that is not the file's gives a hint
// naming the one to set; a bad delimiter and a key of spaces are errors.
func TestCSVDialectProblems(t *testing.T) {
	for _, tt := range []struct {
		name, csv, attrs string
		want             []string // in the diagnostics, in order
	}{
		{"semicolon file read with commas", "id;name;phone\nA1;Asha;0712000001\n", `delimiter = ","`,
			[]string{`one column, "id;name;phone", separated by ","`, `set delimiter = ";"`, `has no column "phone"`}},
		{"two-character delimiter", "id,name,phone\n", `delimiter = ";;"`, []string{`delimiter must be the one character`}},
		{"quote as delimiter", "id,name,phone\n", `delimiter = "\""`, []string{`delimiter must be the one character`}},
		{"key of spaces", "id,name,phone\n   ,Asha,0712000001\n", "", []string{`The key of the row on line 2`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig(tt.attrs), "r.csv": tt.csv})
			cfg, diags := Load(dir, LoadOptions{})
			if !diags.HasErrors() {
				t.Fatalf("no error:\n%s", diagText(cfg.Files, diags))
			}
			var text string
			for _, d := range diags {
				text += d.Summary + ": " + d.Detail + "\n"
			}
			at := 0
			for _, w := range tt.want {
				i := strings.Index(text[at:], w)
				if i < 0 {
					t.Fatalf("diagnostics lack %q (after offset %d):\n%s", w, at, text)
				}
				at += i + len(w)
			}
		})
	}
}

func TestDetectDelimiter(t *testing.T) {
	for in, want := range map[string]rune{
		"a,b,c\n":            ',',
		"a;b;c\r\n1,5;2,5;3": ';',
		"a\tb\tc":            '\t',
		"name\n":             ',',
		`"a;b",c` + "\n":     ',',
		`"x,y";"z";w`:        ';',
		"a;b,c\n":            ',',
		"":                   ',',
	} {
		if got := detectDelimiter([]byte(in)); got != want {
			t.Errorf("detectDelimiter(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCSVNotKept: a CSV file is read streaming. Without diagnostics none of
// its bytes stay in Config.Files; with one, the lines up to it do, so the
// printer shows the row, and FileSum digests the whole file either way.
func TestCSVNotKept(t *testing.T) {
	const good = "id,name,phone\nA1,Asha,0712000001\nA2,Baraka,0712000002\nA3,Chausiku,0712000003\n"
	bad := strings.Replace(good, "0712000002", "0812", 1)
	for _, tt := range []struct {
		name, csv, kept string
	}{
		{"valid", good, ""},
		{"bad phone on line 3", bad, "id,name,phone\nA1,Asha,0712000001\nA2,Baraka,0812\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig(""), "r.csv": tt.csv})
			cfg, diags := Load(dir, LoadOptions{})
			name := filepath.Join(dir, "r.csv")
			if got := string(cfg.Files[name].Bytes); got != tt.kept {
				t.Errorf("Files[r.csv] holds %q, want %q", got, tt.kept)
			}
			if got, want := cfg.FileSum(name), sha256.Sum256([]byte(tt.csv)); got != want {
				t.Errorf("FileSum = %x, want %x", got, want)
			}
			if tt.kept == "" {
				if len(diags) > 0 {
					t.Fatalf("unexpected diagnostics:\n%s", diagText(cfg.Files, diags))
				}
				return
			}
			text := diagText(cfg.Files, diags)
			if !strings.Contains(text, "3: A2,Baraka,0812") || len(diags) != 1 {
				t.Errorf("want one diagnostic showing line 3, got:\n%s", text)
			}
			if s := diags[0].Subject; s.Start.Line != 3 || s.Start.Column != 11 || s.Start.Byte != len("id,name,phone\nA1,Asha,0712000001\nA2,Baraka,") {
				t.Errorf("subject %#v, want line 3 column 11", s)
			}
		})
	}
}

// TestCSVReadErrorReported: a read error between two records (a failing
// disk, a network file system) is a diagnostic, not the end of the file:
// the rows after it must not be dropped in silence.
func TestCSVReadErrorReported(t *testing.T) {
	tbl := &csvTable{name: "r.csv", header: []string{"id", "phone"}}
	in := bufio.NewReader(io.MultiReader(strings.NewReader("A1,0712000001\n"), iotest.ErrReader(errors.New("input/output error"))))
	r := csv.NewReader(in)
	r.ReuseRecord = true
	it := &csvRows{t: tbl, in: in, r: r}
	if rec, line, diag, err := it.next(); err != nil || diag != nil || line != 1 || rec[0] != "A1" {
		t.Fatalf("first record: %q line %d, %v, %v", rec, line, diag, err)
	}
	_, _, diag, err := it.next()
	if err != nil || diag == nil || diag.Severity != hcl.DiagError || !strings.Contains(diag.Detail, "input/output error") {
		t.Fatalf("after the read error: diagnostic %v, err %v; want an error diagnostic naming it", diag, err)
	}
	if _, _, diag, err := it.next(); err != io.EOF || diag != nil {
		t.Fatalf("after the reported error: %v, %v; want io.EOF", diag, err)
	}
}

// TestCSVStrayQuote: two stray double quotes that merge rows into one
// recipient, who would get another's phone, are refused at the line the
// first opened; one quote left open names the line it opened on; a cell
// that holds a line break and a comma or two (an address) is read.
func TestCSVStrayQuote(t *testing.T) {
	for _, tt := range []struct {
		name, csv string
		want      []string // in the diagnostics; none for a file that loads
		line      int
	}{
		{"merged rows", "id,name,phone\nA1,Asha,0712000001\nA2,\"Juma,0712000111\nA3,Ali\",0712000222\nA4,Bo,0712000333\n",
			[]string{"Rows merged by a double quote", `The field "name" of the record on line 3`, "merged lines 3 to 4"}, 3},
		{"a row swallowed whole", "id,phone,name\nA1,0712000001,\"Asha\nA2,0712000002,Juma\nA3,0712000003,Ali\"\n",
			[]string{"Rows merged by a double quote", "merged lines 2 to 4"}, 2},
		{"quote left open", "id,name,phone\nA1,Asha,0712000001\nA2,\"Juma,0712000111\nA3,Ali,0712000222\n",
			[]string{"Malformed CSV", "The record from line 3 to line 4"}, 3},
		{"an address", "id,name,phone\nA1,\"Asha\nPlot 4, Mikocheni\",0712000001\n", nil, 0},
		{"an address before the phone", "id,name,address,phone\nA1,Asha,\"Plot 4, Mikocheni\nDar es Salaam, Tanzania\",0712000001\n", nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig(""), "r.csv": tt.csv})
			cfg, diags := Load(dir, LoadOptions{})
			if tt.want == nil {
				if len(diags) > 0 {
					t.Fatalf("unexpected diagnostics:\n%s", diagText(cfg.Files, diags))
				}
				return
			}
			if !diags.HasErrors() {
				t.Fatalf("loaded %d recipients, want an error", len(cfg.Recipients["r"].Recipients))
			}
			text := diagText(cfg.Files, diags)
			for _, want := range tt.want {
				if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
					t.Errorf("diagnostics lack %q:\n%s", want, text)
				}
			}
			if got := diags[0].Subject.Start.Line; got != tt.line {
				t.Errorf("diagnostic at line %d, want %d:\n%s", got, tt.line, text)
			}
		})
	}
}

// TestPhoneHints: the phone numbers spreadsheets and habits garble get a
// hint at what to do: 00 for +, and the scientific notation that lost the
// number's last digits.
func TestPhoneHints(t *testing.T) {
	for raw, want := range map[string]string{
		"00255712000111": `Write an international number with + instead of 00: "+255712000111".`,
		"2.55712E+11":    "A spreadsheet wrote the number in scientific notation",
	} {
		dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig(""), "r.csv": "id,name,phone\nA1,Asha," + raw + "\n"})
		cfg, diags := Load(dir, LoadOptions{})
		if text := strings.Join(strings.Fields(diagText(cfg.Files, diags)), " "); !strings.Contains(text, "Invalid phone number") || !strings.Contains(text, want) {
			t.Errorf("%s: diagnostics lack %q:\n%s", raw, want, text)
		}
	}
}

// TestNoRecipients: a file of no rows, or a where that keeps none, loads
// with a warning at what to check, since it sends nothing.
func TestNoRecipients(t *testing.T) {
	for name, tt := range map[string]struct{ csv, attrs, want string }{
		"no rows":    {"id,name,phone\n", "", "r.csv has no rows under its header"},
		"none kept":  {"id,name,phone\nA1,Yes,0712000001\nA2,Yes,0712000002\n", `where = row.name == "yes"`, `r.csv (2 rows), so recipients "r" has nobody`},
		"some kept":  {"id,name,phone\nA1,yes,0712000001\nA2,Yes,0712000002\n", `where = row.name == "yes"`, ""},
		"bad phones": {"id,name,phone\nA1,x,12\n", "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig(tt.attrs), "r.csv": tt.csv})
			cfg, diags := Load(dir, LoadOptions{})
			text := strings.Join(strings.Fields(diagText(cfg.Files, diags)), " ")
			if got := strings.Contains(text, "No recipients"); got != (tt.want != "") || !strings.Contains(text, tt.want) {
				t.Errorf("diagnostics %q, want a No recipients warning saying %q (none when empty)", text, tt.want)
			}
			if tt.want != "" && diags.HasErrors() {
				t.Errorf("a warning, not an error: %s", text)
			}
		})
	}
}

// TestCSVUTF16: a spreadsheet's "Unicode text" (UTF-16, with or without
// its byte order mark) gets one error saying how to save it, not a header
// of unknown columns full of zero bytes.
func TestCSVUTF16(t *testing.T) {
	text := "id,name,phone\r\nA1,Asha,0712000001\r\n"
	le := make([]byte, 0, 2*len(text))
	for _, b := range []byte(text) {
		le = append(le, b, 0)
	}
	for name, data := range map[string][]byte{"with BOM": append([]byte{0xFF, 0xFE}, le...), "without": le} {
		dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig(""), "r.csv": string(data)})
		cfg, diags := Load(dir, LoadOptions{})
		if len(diags) != 1 || diags[0].Summary != "CSV file in UTF-16" || !strings.Contains(diags[0].Detail, `Save it as "CSV UTF-8"`) {
			t.Errorf("%s: want one UTF-16 error, got:\n%s", name, diagText(cfg.Files, diags))
		}
	}
}

// TestSpacedColumnHint: row.customer_name for a column "Customer Name",
// which row.NAME cannot spell, points at row["Customer Name"].
func TestSpacedColumnHint(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": `
recipients "r" {
  csv            = "r.csv"
  phone          = row.phone
  key            = row.customer_id
  default_region = "TZ"
}
campaign "c" {
  recipients = recipients.r
  message "m" {
    template  = "t"
    variables = { "1" = row["Customer ID"] }
  }
}
`,
		"r.csv": "Customer ID,phone\nA1,0712000001\n",
	})
	cfg, diags := Load(dir, LoadOptions{})
	text := strings.Join(strings.Fields(diagText(cfg.Files, diags)), " ")
	if !strings.Contains(text, `Did you mean row["Customer ID"]?`) || strings.Count(text, "Error:") != 1 {
		t.Errorf("want one error pointing at row[\"Customer ID\"], got:\n%s", text)
	}
}
