package config

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// csvTable is a CSV file read into memory. Its bytes are registered in
// Config.Files so that diagnostics about a row print that row.
type csvTable struct {
	name   string // file name in ranges and Config.Files
	src    []byte // the whole file, BOM included
	bom    int    // length of the UTF-8 byte order mark, 0 or 3
	comma  rune   // the field delimiter: set, or detected from the header
	set    bool   // comma was set with the delimiter attribute
	header []string
	index  map[string]int // column name -> position

	linesOnce sync.Once
	lines     []int // byte offset of the start of each line, built on first use
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// delimiters are the field delimiters spreadsheets write, in the order a
// tie in detectDelimiter is decided.
const delimiters = ",;\t"

// newCSVTable wraps the bytes of the file called name. Its fields are
// separated by comma, or when comma is 0 by the delimiter detected from the
// header line.
func newCSVTable(name string, src []byte, comma rune) *csvTable {
	t := &csvTable{name: name, src: src, comma: comma, set: comma != 0}
	if bytes.HasPrefix(src, utf8BOM) {
		t.bom = len(utf8BOM)
	}
	if comma == 0 {
		t.comma = detectDelimiter(src[t.bom:])
	}
	return t
}

// detectDelimiter returns the delimiter of delimiters that occurs most often
// outside quotes in the first line of src: a comma, or a semicolon (Excel's
// export where the decimal mark is a comma) or a tab. Ties go to the earlier
// in delimiters, so a header of one column reads as comma-separated.
func detectDelimiter(src []byte) rune {
	var counts [len(delimiters)]int
	quoted := false
	for _, b := range src {
		if b == '"' {
			quoted = !quoted
		}
		if quoted {
			continue
		}
		if b == '\n' || b == '\r' {
			break
		}
		if i := bytes.IndexByte([]byte(delimiters), b); i >= 0 {
			counts[i]++
		}
	}
	best := 0
	for i, n := range counts {
		if n > counts[best] {
			best = i
		}
	}
	return rune(delimiters[best])
}

// quoteDelimiter writes a delimiter as HCL would: ",", ";", "\t".
func quoteDelimiter(r rune) string { return strconv.Quote(string(r)) }

// file returns the table as an hcl.File for Config.Files. The body is empty:
// the diagnostic printer only needs the bytes.
func (t *csvTable) file() *hcl.File {
	return &hcl.File{Body: hcl.EmptyBody(), Bytes: t.src}
}

// csvRows iterates over a table's records.
type csvRows struct {
	t *csvTable
	r *csv.Reader
	// last is the input offset after the previous record, to detect a
	// reader that stops making progress.
	last int64
}

// rows reads the header and returns an iterator over the records, or
// diagnostics (with subject attr, the csv attribute) when the header is
// missing or unusable.
func (t *csvTable) rows(attr hcl.Range) (*csvRows, hcl.Diagnostics) {
	r := csv.NewReader(bytes.NewReader(t.src[t.bom:]))
	r.Comma = t.comma
	r.FieldsPerRecord = 0 // every record has as many fields as the header
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, hcl.Diagnostics{errorf(attr, "Empty CSV file",
				"The file %s is empty. A CSV file needs a header row naming its columns, then one row per line.", t.name)}
		}
		return nil, hcl.Diagnostics{t.recordError(err, attr)}
	}
	// Spreadsheets pad header names with spaces that nobody sees; row.name
	// must still find " name ".
	t.header = make([]string, len(header))
	t.index = make(map[string]int, len(t.header))
	var diags hcl.Diagnostics
	for i, raw := range header {
		rng := t.fieldRange(1, i, r)
		name := strings.TrimSpace(raw)
		t.header[i] = name
		if name != raw && name != "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "CSV column name trimmed",
				Detail:  fmt.Sprintf("Column %d of the header of %s is %q, with spaces around it; it is read as row.%s.", i+1, t.name, raw, name),
				Subject: rng.Ptr()})
		}
		switch {
		case !utf8.ValidString(name):
			diags = append(diags, errorf(rng, "Invalid CSV header",
				"Column %d of the header of %s is not valid UTF-8. Save the file as UTF-8.", i+1, t.name))
		case name == "":
			diags = append(diags, errorf(rng, "Empty CSV column name",
				"Column %d of the header of %s has no name. Every column needs a name for row.<name> to refer to it.", i+1, t.name))
		default:
			if prev, dup := t.index[name]; dup {
				diags = append(diags, errorf(rng, "Duplicate CSV column",
					"The header of %s names column %q twice (columns %d and %d), so row.%s would be ambiguous.", t.name, name, prev+1, i+1, name))
				continue
			}
			t.index[name] = i
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	if d := t.dialectHint(); d != nil {
		diags = append(diags, d)
	}
	return &csvRows{t: t, r: r}, diags
}

// dialectHint warns when the header is one column whose name holds another
// delimiter: the file was most likely written with that delimiter.
func (t *csvTable) dialectHint() *hcl.Diagnostic {
	if len(t.header) != 1 {
		return nil
	}
	for _, d := range delimiters + "|" {
		if d != t.comma && strings.ContainsRune(t.header[0], d) {
			how := "the delimiter attribute sets it"
			if !t.set {
				how = "ujumbe could not tell it from the header"
			}
			return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "CSV file read as one column",
				Detail: fmt.Sprintf("The header of %s is one column, %q, separated by %s (%s). If the file's fields are separated by %s, set delimiter = %s in the block that reads it.",
					t.name, t.header[0], quoteDelimiter(t.comma), how, quoteDelimiter(d), quoteDelimiter(d)),
				Subject: t.lineRange(1).Ptr()}
		}
	}
	return nil
}

// next returns the next record and the line it starts on. The record is only
// valid until the following call. At the end it returns io.EOF; a malformed
// record returns a diagnostic and the iteration can go on.
func (it *csvRows) next() (rec []string, line int, diag *hcl.Diagnostic, err error) {
	for {
		rec, err = it.r.Read()
		off := it.r.InputOffset()
		progressed := off > it.last
		it.last = off
		switch {
		case errors.Is(err, io.EOF):
			return nil, 0, nil, io.EOF
		case err != nil && !progressed:
			// A reader that fails without consuming input would fail forever.
			return nil, 0, nil, io.EOF
		case err != nil:
			return nil, 0, it.t.recordError(err, hcl.Range{}, it.r), nil
		}
		line, _ = it.r.FieldPos(0)
		if blankRecord(rec) {
			// A row of empty fields (",,,") is how spreadsheets end a sheet.
			continue
		}
		if !validRecord(rec) {
			return nil, line, errorf(it.t.lineRange(line), "Invalid CSV encoding",
				"Line %d of %s is not valid UTF-8. Save the file as UTF-8.", line, it.t.name), nil
		}
		return rec, line, nil, nil
	}
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if !blank(f) {
			return false
		}
	}
	return true
}

// blank reports whether a CSV cell holds nothing but white space.
func blank(f string) bool {
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case ' ', '\t', '\r', '\n', '\v', '\f':
		default:
			if f[i] < utf8.RuneSelf {
				return false
			}
			return strings.TrimSpace(f) == ""
		}
	}
	return true
}

func validRecord(rec []string) bool {
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return false
		}
	}
	return true
}

// recordError turns a CSV reading error into a diagnostic at the line it
// names; fallback is used when the error carries no line. The reader, when
// given, locates a record whose field count is wrong.
func (t *csvTable) recordError(err error, fallback hcl.Range, r ...*csv.Reader) *hcl.Diagnostic {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, csv.ErrFieldCount) && len(r) > 0:
		line, _ := r[0].FieldPos(0)
		return errorf(t.lineRange(line), "Wrong number of CSV fields",
			"Line %d of %s does not have the %s the header names. Check for a missing or extra delimiter (%s), or one inside a field that is not quoted.",
			line, t.name, plural(len(t.header), "column", "columns"), quoteDelimiter(t.comma))
	case errors.As(err, &pe):
		return errorf(t.posRange(pe.Line, pe.Column), "Malformed CSV",
			"Line %d of %s cannot be read as CSV: %s. Fields that contain the delimiter (%s), quotes or line breaks must be in double quotes, with quotes inside doubled (\"\").",
			pe.Line, t.name, pe.Err, quoteDelimiter(t.comma))
	}
	if fallback.Filename == "" {
		fallback = t.lineRange(1)
	}
	return errorf(fallback, "Cannot read CSV", "Reading %s failed: %s.", t.name, err)
}

// lineStart returns the byte offset where line (1-based) starts.
func (t *csvTable) lineStart(line int) int {
	t.linesOnce.Do(func() {
		t.lines = append(t.lines, 0)
		for i, b := range t.src {
			if b == '\n' {
				t.lines = append(t.lines, i+1)
			}
		}
	})
	if line < 1 {
		return 0
	}
	if line > len(t.lines) {
		return len(t.src)
	}
	return t.lines[line-1]
}

// lineRange returns the range of line (1-based) without its line ending.
func (t *csvTable) lineRange(line int) hcl.Range {
	start := t.lineStart(line)
	end := start
	for end < len(t.src) && t.src[end] != '\n' && t.src[end] != '\r' {
		end++
	}
	if line == 1 {
		start = max(start, t.bom)
	}
	return hcl.Range{
		Filename: t.name,
		Start:    hcl.Pos{Line: line, Column: 1, Byte: start},
		End:      hcl.Pos{Line: line, Column: 1 + utf8.RuneCount(t.src[start:end]), Byte: end},
	}
}

// posRange returns the range of one character at line and byte column
// (1-based, as encoding/csv reports them, not counting a BOM).
func (t *csvTable) posRange(line, col int) hcl.Range {
	lr := t.lineRange(line)
	off := lr.Start.Byte + max(col-1, 0)
	if off > lr.End.Byte {
		off = lr.End.Byte
	}
	c := 1 + utf8.RuneCount(t.src[lr.Start.Byte:off])
	end := off
	if end < lr.End.Byte {
		_, size := utf8.DecodeRune(t.src[end:])
		end += size
	}
	return hcl.Range{
		Filename: t.name,
		Start:    hcl.Pos{Line: line, Column: c, Byte: off},
		End:      hcl.Pos{Line: line, Column: c + 1, Byte: end},
	}
}

// fieldRange returns the range of field i of the record on line, as far as
// the line goes: the field's start up to the next delimiter or the line's
// end. With a reader positioned on that record it uses the reader's exact
// field position; otherwise it counts delimiters, which is right for
// unquoted fields.
func (t *csvTable) fieldRange(line, field int, r *csv.Reader) hcl.Range {
	lr := t.lineRange(line)
	var off int
	if r != nil {
		fl, col := r.FieldPos(field)
		if fl != line {
			return lr
		}
		off = lr.Start.Byte + col - 1
	} else {
		off = lr.Start.Byte
		for n := 0; n < field && off < lr.End.Byte; off++ {
			if rune(t.src[off]) == t.comma {
				n++
				if n == field {
					off++
					break
				}
			}
		}
	}
	off = min(max(off, lr.Start.Byte), lr.End.Byte)
	end := off
	inQuotes := end < lr.End.Byte && t.src[end] == '"'
	for end < lr.End.Byte {
		c := t.src[end]
		if c == '"' && end > off {
			inQuotes = !inQuotes
		} else if rune(c) == t.comma && !inQuotes {
			break
		}
		end++
	}
	if end == off && off > lr.Start.Byte {
		// An empty field: point at the comma before it, so the range is
		// not empty and stays on its line.
		off--
	}
	c := 1 + utf8.RuneCount(t.src[lr.Start.Byte:off])
	return hcl.Range{
		Filename: t.name,
		Start:    hcl.Pos{Line: line, Column: c, Byte: off},
		End:      hcl.Pos{Line: line, Column: c + utf8.RuneCount(t.src[off:end]), Byte: end},
	}
}
