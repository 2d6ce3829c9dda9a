package config

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/inputfile"
	"github.com/ujumbe/ujumbe/internal/phone"
)

// csvTable is a CSV file, read streaming: a pass over its records holds one
// buffer of the file at a time, so memory grows with the rows kept, not with
// the file. Diagnostics about a row are made as the rows stream past, when
// the row's bytes are gone; their ranges name the line (and field) only and
// are resolved once loading is done (see resolve).
type csvTable struct {
	name   string   // file name in ranges and Config.Files
	f      *os.File // opened by openCSVTable for the first pass; nil after
	bom    int      // length of the UTF-8 byte order mark, 0 or 3
	comma  rune     // the field delimiter: set, or detected from the header
	set    bool     // comma was set with the delimiter attribute
	header []string
	index  map[string]int // column name -> position

	// sum is the SHA-256 of the whole file, taken by the first pass.
	sum    [sha256.Size]byte
	summed bool

	// src is the file from its start up to the last line a diagnostic
	// points at, read by resolve; nil before.
	src       []byte
	linesOnce sync.Once
	lines     []int // byte offset of the start of each line of src, built on first use
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// utf16 reports whether a file starting with head is in UTF-16: its byte
// order mark, or, without one, the zero byte every ASCII character of a
// header gets beside it.
func utf16(head []byte) bool {
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return true
	}
	return len(head) >= 4 && (head[1] == 0 && head[3] == 0 || head[0] == 0 && head[2] == 0)
}

// delimiters are the field delimiters spreadsheets write, in the order a
// tie in detectDelimiter is decided.
const delimiters = ",;\t"

// headSize is how much of a CSV file is looked at for its byte order mark
// and delimiter: the header line, unless it is longer.
const headSize = 64 << 10

// openCSVTable opens the regular file called name. Its fields are separated
// by comma, or when comma is 0 by the delimiter detected from the header
// line.
func openCSVTable(name string, comma rune) (*csvTable, error) {
	f, err := inputfile.Open(name)
	if err != nil {
		return nil, err
	}
	return &csvTable{name: name, f: f, comma: comma, set: comma != 0}, nil
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
// the diagnostic printer only needs the bytes, which resolve sets.
func (t *csvTable) file() *hcl.File {
	return &hcl.File{Body: hcl.EmptyBody()}
}

// csvRows iterates over a table's records.
type csvRows struct {
	t    *csvTable
	f    *os.File
	in   *bufio.Reader // reads f through hash
	hash hash.Hash
	r    *csv.Reader
	// last is the input offset after the previous record, to detect a
	// reader that stops making progress.
	last int64
	// phoneCol is the column the phone numbers are read from, -1 when
	// they are not read from one column as it is.
	phoneCol int
}

// rows reads the header and returns an iterator over the records, or
// diagnostics (with subject attr, the csv attribute) when the header is
// missing or unusable.
func (t *csvTable) rows(attr hcl.Range) (*csvRows, hcl.Diagnostics) {
	f := t.f
	t.f = nil
	if f == nil {
		// A second block reading the same file.
		var err error
		if f, err = inputfile.Open(t.name); err != nil {
			return nil, hcl.Diagnostics{errorf(attr, "Cannot read CSV file", "%s", readFailed(t.name, err))}
		}
	}
	it := &csvRows{t: t, f: f, hash: sha256.New(), phoneCol: -1}
	it.in = bufio.NewReaderSize(io.TeeReader(f, it.hash), headSize)
	// Peek returns less than headSize at the end of the file, and its error
	// then is the one the first read would see, which r.Read reports.
	head, _ := it.in.Peek(headSize)
	if utf16(head) {
		it.close()
		return nil, hcl.Diagnostics{errorf(attr, "CSV file in UTF-16",
			"%s is in UTF-16 (what spreadsheets call \"Unicode text\"), which ujumbe does not read. Save it as \"CSV UTF-8\".", t.name)}
	}
	if bytes.HasPrefix(head, utf8BOM) {
		t.bom = len(utf8BOM)
	}
	if !t.set {
		t.comma = detectDelimiter(head[t.bom:])
	}
	if _, err := it.in.Discard(t.bom); err != nil {
		it.close()
		return nil, hcl.Diagnostics{t.recordError(err, attr)}
	}
	r := csv.NewReader(it.in)
	r.Comma = t.comma
	r.FieldsPerRecord = 0 // every record has as many fields as the header
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		it.close()
		if errors.Is(err, io.EOF) {
			return nil, hcl.Diagnostics{errorf(attr, "Empty CSV file",
				"The file %s is empty. A CSV file needs a header row naming its columns, then one row per line.", t.name)}
		}
		return nil, hcl.Diagnostics{t.recordError(err, attr)}
	}
	it.r = r
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
		it.close()
		return nil, diags
	}
	if d := t.dialectHint(); d != nil {
		diags = append(diags, d)
	}
	return it, diags
}

// close reads the rest of the file for its sum, which the first pass records
// in the table, and closes it. A read error leaves the table without a sum,
// and Config.FileSum falls back to what resolve read.
func (it *csvRows) close() {
	if it.f == nil {
		return
	}
	defer it.f.Close()
	it.f = nil
	if _, err := io.Copy(io.Discard, it.in); err != nil || it.t.summed {
		return
	}
	it.hash.Sum(it.t.sum[:0])
	it.t.summed = true
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
// record returns a diagnostic and the iteration can go on, and so does a
// read error, after which the next call returns io.EOF.
func (it *csvRows) next() (rec []string, line int, diag *hcl.Diagnostic, err error) {
	for {
		if it.r == nil {
			return nil, 0, nil, io.EOF
		}
		rec, err = it.r.Read()
		off := it.r.InputOffset()
		progressed := off > it.last
		it.last = off
		switch {
		case errors.Is(err, io.EOF):
			it.close()
			return nil, 0, nil, io.EOF
		case err != nil && !progressed:
			// A reader that fails without consuming input (a read error
			// between records) would fail forever: the error is reported
			// once, and the pass ends, rather than end as if the file did.
			it.close()
			it.r = nil
			return nil, 0, it.t.recordError(err, hcl.Range{}), nil
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
		if d := it.t.lineBreak(rec, line, it.r, it.phoneCol); d != nil {
			return nil, line, d, nil
		}
		return rec, line, nil, nil
	}
}

// lineBreak returns an error for a record on line one of whose quoted
// fields looks like rows a stray double quote swallowed, nil for any other
// (the common case, no line break, is told by where its last field starts
// and ends). A quote opened by mistake is closed by one on some later
// line: the rows between merge into one recipient, who gets the phone of
// another, with nothing else amiss when the field is not used. Such a
// field holds, before its first line break, the fields after it on its
// line, or on a later line a whole row: as many delimiters, and where the
// phone column (phoneCol, -1 when unknown) falls, a phone number. A
// spreadsheet's cell that holds a line break (an address) does not.
func (t *csvTable) lineBreak(rec []string, line int, r *csv.Reader, phoneCol int) *hcl.Diagnostic {
	last := len(rec) - 1
	if ll, _ := r.FieldPos(last); ll == line && !strings.ContainsAny(rec[last], "\r\n") {
		return nil
	}
	// row reports whether text holds the fields from column from on, as a
	// row's part would.
	row := func(text string, from int) bool {
		parts := strings.Split(text, string(t.comma))
		if from > last || len(parts) < last-from+1 {
			return false
		}
		return phoneCol < from || phone.Looks(parts[phoneCol-from])
	}
	for i, f := range rec {
		lines := strings.Split(strings.ReplaceAll(f, "\r\n", "\n"), "\n")
		if len(lines) == 1 {
			continue
		}
		swallowed := i < last && row(lines[0], i)
		for _, l := range lines[1:] {
			swallowed = swallowed || last > 0 && row(l, 0)
		}
		if !swallowed {
			continue
		}
		fl, _ := r.FieldPos(i)
		end := fl + len(lines) - 1
		return errorf(t.fieldRange(fl, i, r), "Rows merged by a double quote",
			"The field %s of the record on line %d of %s is in double quotes that run over to line %d and holds what looks like the rest of a row: a stray double quote probably merged lines %d to %d into one recipient, with the phone of another. Remove the stray quote; a cell that holds line breaks must not hold the delimiter (%s) as often as a row does.",
			strconv.Quote(t.header[i]), line, t.name, end, line, end, quoteDelimiter(t.comma))
	}
	return nil
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
		at, rng := fmt.Sprintf("Line %d", pe.Line), t.posRange(pe.Line, pe.Column)
		if pe.StartLine != pe.Line {
			// A quote opened on an earlier line: that line is the one to fix.
			at, rng = fmt.Sprintf("The record from line %d to line %d", pe.StartLine, pe.Line), t.lineRange(pe.StartLine)
		}
		return errorf(rng, "Malformed CSV",
			"%s of %s cannot be read as CSV: %s. Fields that contain the delimiter (%s), quotes or line breaks must be in double quotes, with quotes inside doubled (\"\").",
			at, t.name, pe.Err, quoteDelimiter(t.comma))
	}
	if fallback.Filename == "" {
		fallback = t.lineRange(1)
	}
	return errorf(fallback, "Cannot read CSV", "Reading %s failed: %s.", t.name, err)
}

// A range into a CSV file is made while the file streams past, so at first
// it holds only what locates it: the line, and what to find on it, coded in
// the range's columns with its bytes at -1. resolve turns it into a real
// range once loading is done.
type spotKind int

const (
	spotLine    spotKind = iota // the whole line
	spotChar                    // one character at byte column n
	spotFieldAt                 // the field starting at byte column n
	spotField                   // field number n, counting delimiters
)

// spot returns the placeholder range of kind on line.
func (t *csvTable) spot(line int, kind spotKind, n int) hcl.Range {
	return hcl.Range{Filename: t.name,
		Start: hcl.Pos{Line: line, Column: n, Byte: -1},
		End:   hcl.Pos{Line: line, Column: int(kind), Byte: -1}}
}

// lineRange returns the range of line (1-based) without its line ending.
func (t *csvTable) lineRange(line int) hcl.Range { return t.spot(line, spotLine, 0) }

// posRange returns the range of one character at line and byte column
// (1-based, as encoding/csv reports them, not counting a BOM).
func (t *csvTable) posRange(line, col int) hcl.Range { return t.spot(line, spotChar, col) }

// fieldRange returns the range of field i of the record on line, as far as
// the line goes. With a reader positioned on that record it uses the
// reader's exact field position; otherwise it counts delimiters, which is
// right for unquoted fields.
func (t *csvTable) fieldRange(line, field int, r *csv.Reader) hcl.Range {
	if r == nil {
		return t.spot(line, spotField, field)
	}
	if fl, col := r.FieldPos(field); fl == line {
		return t.spot(line, spotFieldAt, col)
	}
	return t.lineRange(line)
}

// unresolved reports whether r is a placeholder of t's.
func (t *csvTable) unresolved(r *hcl.Range) bool {
	return r != nil && r.Filename == t.name && r.Start.Byte == -1 && r.End.Byte == -1
}

// resolve reads the file up to the last line that the placeholders among
// diags point at, keeps those bytes as src for the diagnostic printer, and
// turns the placeholders into ranges.
func (t *csvTable) resolve(diags hcl.Diagnostics) error {
	var spots []*hcl.Range
	last := 0
	for _, d := range diags {
		for _, r := range []*hcl.Range{d.Subject, d.Context} {
			if t.unresolved(r) {
				spots = append(spots, r)
				last = max(last, r.Start.Line)
			}
		}
	}
	if len(spots) == 0 {
		return nil
	}
	src, err := readLines(t.name, last)
	if err != nil {
		return err
	}
	t.src = src
	for _, r := range spots {
		line, n := r.Start.Line, r.Start.Column
		switch spotKind(r.End.Column) {
		case spotChar:
			*r = t.srcChar(line, n)
		case spotFieldAt:
			*r = t.srcField(line, 0, n)
		case spotField:
			*r = t.srcField(line, n, 0)
		default:
			*r = t.srcLine(line)
		}
	}
	return nil
}

// readLines reads the regular file called name from its start to the end
// of line n (1-based).
func readLines(name string, n int) ([]byte, error) {
	f, err := inputfile.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var src []byte
	in := bufio.NewReader(f)
	for range n {
		b, err := in.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			src = append(src, b...)
			b, err = in.ReadSlice('\n')
		}
		src = append(src, b...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return src, nil
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

// srcLine returns the range in src of line (1-based) without its line ending.
func (t *csvTable) srcLine(line int) hcl.Range {
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

// srcChar returns the range in src of one character at line and byte column
// (1-based, as encoding/csv reports them, not counting a BOM).
func (t *csvTable) srcChar(line, col int) hcl.Range {
	lr := t.srcLine(line)
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

// srcField returns the range in src of a field of the record on line, as far
// as the line goes: the field's start up to the next delimiter or the line's
// end. The field starts at byte column col when col > 0 (the reader's exact
// position); otherwise it is field number field, found by counting
// delimiters, which is right for unquoted fields.
func (t *csvTable) srcField(line, field, col int) hcl.Range {
	lr := t.srcLine(line)
	var off int
	if col > 0 {
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
