package config

import (
	"fmt"
	"hash/maphash"
	"io"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/internal/phone"
	"github.com/ujumbe/ujumbe/internal/prefault"
)

// Reading a CSV file is a pipeline: one goroutine parses records into chunks
// of compactly stored rows, one worker per CPU evaluates where, phone and key
// and normalizes the phone numbers of whole chunks, and a final pass in CSV
// order builds the recipients and finds duplicates. Normalization dominates
// the cost, so it is what the workers spread over the cores.

// chunkRows is the number of rows handed to a worker at a time.
const chunkRows = 4096

// problemClass groups row problems for capping.
type problemClass int

const (
	classCSV problemClass = iota
	classEval
	classPhone
	classKey
	classDuplicatePhone
	classDuplicateKey
	numClasses
)

// classNoun names a class in the "N more" summary.
var classNoun = [numClasses]string{
	classCSV:            "malformed rows",
	classEval:           "rows whose expressions failed",
	classPhone:          "invalid phone numbers",
	classKey:            "empty keys",
	classDuplicatePhone: "duplicate phone numbers",
	classDuplicateKey:   "duplicate keys",
}

// problems collects the row problems of one CSV pass, capped per class.
type problems [numClasses]RowDiags

// add records the diagnostics of one row.
func (p *problems) add(c problemClass, d ...*hcl.Diagnostic) {
	p[c].Add(d)
}

// merge adds q's problems, which come from later rows, to p.
func (p *problems) merge(q *problems) {
	for c := range numClasses {
		p[c].Merge(&q[c])
	}
}

// diagnostics returns the listed problems and, per class with more, a
// count at subject.
func (p *problems) diagnostics(file string, subject hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for c := range numClasses {
		diags = append(diags, p[c].Diagnostics(func(n int) *hcl.Diagnostic {
			return errorf(subject, "More problems in "+file,
				"%s has %d more %s besides the %d shown.", file, n, classNoun[c], MaxListed)
		})...)
	}
	return diags
}

// chunk is a run of rows from one CSV file.
type chunk struct {
	data   string   // the fields of all rows, concatenated
	starts []uint32 // where each row's fields start in data
	ends   []uint32 // per row, one end offset per column, relative to the row's start
	lines  []int32
	ncols  int

	// Filled by a worker.
	kept     []bool
	keys     []string
	phones   []string
	filtered int
	probs    problems
}

func (c *chunk) len() int { return len(c.lines) }

// row returns row i.
func (c *chunk) row(i int) rowData {
	end := uint32(len(c.data))
	if i+1 < len(c.starts) {
		end = c.starts[i+1]
	}
	return rowData{data: c.data[c.starts[i]:end], ends: c.ends[i*c.ncols : (i+1)*c.ncols : (i+1)*c.ncols]}
}

// readChunks parses db's records into chunks and sends them on out, in
// order; CSV problems go into the chunk where the bad record was.
func readChunks(db *dataBlock, out chan<- *chunk) {
	defer close(out)
	ncols := len(db.table.header)
	var buf []byte
	c := &chunk{ncols: ncols}
	flush := func() {
		c.data = string(buf)
		buf = buf[:0]
		out <- c
		c = &chunk{ncols: ncols}
	}
	for {
		rec, line, diag, err := db.rows.next()
		if err == io.EOF {
			break
		}
		if diag != nil {
			c.probs.add(classCSV, diag)
			continue
		}
		c.starts = append(c.starts, uint32(len(buf)))
		start := len(buf)
		for _, f := range rec {
			// A cell of spaces is empty, so coalesce falls through it.
			if !blank(f) {
				buf = append(buf, f...)
			}
			c.ends = append(c.ends, uint32(len(buf)-start))
		}
		c.lines = append(c.lines, int32(line))
		if c.len() == chunkRows {
			flush()
		}
	}
	flush()
}

// evalRows runs the pipeline over db's rows and returns the chunks in CSV
// order with every row evaluated.
func (l *loader) evalRows(db *dataBlock) []*chunk {
	read := make(chan *chunk, 4)
	go readChunks(db, read)

	type job struct {
		seq int
		c   *chunk
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var chunks []*chunk
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &evalScope{root: l.cfg.root, shape: db.shape, file: db.table.name, roots: rootRow, reused: true}
			norm := phone.New(db.region)
			for j := range jobs {
				db.evalChunk(j.c, s, norm)
				mu.Lock()
				for len(chunks) <= j.seq {
					chunks = append(chunks, nil)
				}
				chunks[j.seq] = j.c
				mu.Unlock()
			}
		}()
	}
	seq := 0
	for c := range read {
		jobs <- job{seq, c}
		seq++
	}
	close(jobs)
	wg.Wait()
	return chunks
}

// evalChunk evaluates where, phone and key for every row of c.
func (db *dataBlock) evalChunk(c *chunk, s *evalScope, norm *phone.Normalizer) {
	n := c.len()
	c.kept = make([]bool, n)
	c.phones = make([]string, n)
	if db.key != nil {
		c.keys = make([]string, n)
	}
	for i := range n {
		line := int(c.lines[i])
		s.reset(c.row(i), line)
		if db.where != nil {
			keep, ok, diags := s.bool(db.where, "where")
			if !ok {
				c.probs.add(classEval, diags...)
				continue
			}
			if !keep {
				c.filtered++
				continue
			}
		}
		raw, ok, diags := s.str(db.phone, "phone")
		if !ok {
			c.probs.add(classEval, diags...)
			continue
		}
		phone, err := norm.Normalize(raw)
		if err != nil {
			c.probs.add(classPhone, db.phoneError(line, raw, err))
			continue
		}
		c.phones[i] = phone
		if db.key != nil {
			key, ok, diags := s.str(db.key, "key")
			if !ok {
				c.probs.add(classEval, diags...)
				continue
			}
			key = strings.TrimSpace(key)
			if key == "" {
				c.probs.add(classKey, errorf(db.rowRange(line, db.key), "Empty recipient key",
					"The key of the row on line %d of %s is empty. Every recipient needs a key: it identifies the recipient in the state.", line, db.table.name))
				continue
			}
			c.keys[i] = key
		}
		c.kept[i] = true
	}
}

// rowRange is the range to report a problem of row line with: the field when
// e reads one column, else the whole line.
func (db *dataBlock) rowRange(line int, e *expr) hcl.Range {
	if e != nil && e.col >= 0 {
		return db.table.fieldRange(line, e.col, nil)
	}
	return db.table.lineRange(line)
}

// scientific matches a number a spreadsheet wrote in scientific notation,
// as 2.55712E+11.
var scientific = regexp.MustCompile(`^[0-9]+([.,][0-9]+)?[eE]\+?[0-9]+$`)

// idd matches an international number written after 00, the calling
// prefix of many countries (not Tanzania's, 000), as 00255712345678.
var idd = regexp.MustCompile(`^00[1-9][0-9 ]{7,}$`)

// phoneError describes an invalid phone number.
func (db *dataBlock) phoneError(line int, raw string, err error) *hcl.Diagnostic {
	var hint string
	trimmed := strings.TrimSpace(raw)
	international := strings.HasPrefix(trimmed, "+")
	switch {
	case err == phone.ErrEmpty:
		return errorf(db.rowRange(line, db.phone), "Missing phone number",
			"The row on line %d of %s has no phone number.", line, db.table.name)
	case scientific.MatchString(trimmed):
		hint = " A spreadsheet wrote the number in scientific notation, which has lost its last digits: format the column as text, and type the numbers again or export them from where they came."
	case idd.MatchString(trimmed):
		hint = fmt.Sprintf(" Write an international number with + instead of 00: %q.", "+"+strings.TrimPrefix(trimmed, "00"))
	case err == phone.ErrCountryCode && db.region == "":
		hint = " Write numbers with their country code (+255 712 345 678), or set default_region for numbers written without it."
	case err == phone.ErrExtension || international:
	case db.region != "":
		hint = fmt.Sprintf(" Numbers without a country code are read as numbers of region %s (default_region).", db.region)
	}
	return errorf(db.rowRange(line, db.phone), "Invalid phone number",
		"The phone number %q on line %d of %s is not valid: %s.%s", raw, line, db.table.name, err, hint)
}

// loadRecipients evaluates the rows of a recipients block and keeps those
// that pass where, after checking phone numbers and keys are unique.
func (l *loader) loadRecipients(set *RecipientSet) {
	db := set.block
	chunks := l.evalRows(db)
	var probs problems
	kept := 0
	for _, c := range chunks {
		probs.merge(&c.probs)
		for i := range c.len() {
			if c.kept[i] {
				kept++
			}
		}
	}

	// Recipients live in one slab: a million rows are a million structs,
	// not a million allocations.
	slab := make([]Recipient, 0, kept)
	set.Recipients = make([]*Recipient, 0, kept)
	// Mapped in at once, in one call, instead of a fault per page as the
	// loop writes them; a page a collection running meanwhile read first
	// would fault twice (see newDupIndex).
	prefault.Pages(slab)
	prefault.Pages(set.Recipients)
	for _, c := range chunks {
		for i := range c.len() {
			if !c.kept[i] {
				continue
			}
			r := Recipient{Phone: c.phones[i], Line: int(c.lines[i]), row: c.row(i), set: set}
			r.Key = r.Phone
			if c.keys != nil {
				r.Key = c.keys[i]
			}
			slab = append(slab, r)
			set.Recipients = append(set.Recipients, &slab[len(slab)-1])
		}
		set.Filtered += c.filtered
	}
	// A file of no rows, or a where that keeps none, is valid, and sends
	// nothing: most likely not what was meant ("Yes" is not "yes").
	var empty *hcl.Diagnostic
	switch {
	case kept > 0 || db.rows == nil:
	case set.Filtered > 0:
		empty = &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "No recipients", Subject: db.where.Range().Ptr(),
			Detail: fmt.Sprintf("where leaves out every row of %s (%s), so recipients %q has nobody to message. Check the condition against the file's values: a comparison is exact, and \"Yes\" is not \"yes\".", db.table.name, plural(set.Filtered, "row", "rows"), set.Name)}
	default:
		empty = &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "No recipients", Subject: db.csvAttr.Expr.Range().Ptr(),
			Detail: fmt.Sprintf("%s has no rows under its header, so recipients %q has nobody to message.", db.table.name, set.Name)}
	}

	// The duplicates are looked for while the rest of the configuration
	// is decoded (a million recipients take a CPU for a while), and their
	// diagnostics, with the rows', go here when Load is done.
	dups := make(chan *problems, 1)
	go func() { dups <- findDuplicates(set) }()
	l.later = append(l.later, laterDiags{at: len(l.diags), wait: func() hcl.Diagnostics {
		probs.merge(<-dups)
		diags := probs.diagnostics(db.table.name, db.csvAttr.Expr.Range())
		if empty != nil && !diags.HasErrors() {
			diags = append(diags, empty)
		}
		return diags
	}})
}

// findDuplicates reports phone numbers and keys used by more than one
// recipient, each at its later row. The two checks run side by side.
func findDuplicates(set *RecipientSet) *problems {
	db := set.block
	rs := set.Recipients
	var phones, keys problems
	var wg sync.WaitGroup
	if db.key != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idx := newDupIndex(len(rs))
			for i, r := range rs {
				if first := idx.add(r.Key, i, func(j int) string { return rs[j].Key }); first >= 0 {
					keys.add(classDuplicateKey, errorf(db.rowRange(r.Line, db.key), "Duplicate recipient key",
						"The key %q on line %d of %s is already used on line %d. Keys identify recipients in the state, so each must be unique.",
						r.Key, r.Line, db.table.name, rs[first].Line))
				}
			}
		}()
	}
	idx := newDupIndex(len(rs))
	for i, r := range rs {
		if first := idx.add(r.Phone, i, func(j int) string { return rs[j].Phone }); first >= 0 {
			phones.add(classDuplicatePhone, errorf(db.rowRange(r.Line, db.phone), "Duplicate phone number",
				"The phone number on line %d of %s (%s) is already on line %d. List each recipient once, or filter the extra rows out with where.",
				r.Line, db.table.name, r.Phone, rs[first].Line))
		}
	}
	wg.Wait()
	phones.merge(&keys)
	return &phones
}

// dupIndex finds repeated strings among many. Unlike a map of strings, it
// holds only hashes and positions, in one pointer-free table: a million
// entries give the garbage collector nothing to scan.
type dupIndex struct {
	seed  maphash.Seed
	slots []dupSlot // open addressing, linear probing; a power of two long
	mask  uint64
}

type dupSlot struct {
	hash uint64 // 0 for an empty slot
	pos  int
}

func newDupIndex(n int) *dupIndex {
	size := 1
	for size < 2*n {
		size <<= 1
	}
	slots := make([]dupSlot, size)
	// add reads a slot before it writes it: a fresh page read first maps
	// the kernel's shared zero page, and the write then copies it and
	// flushes the old mapping from every CPU (an interrupt to each). Mapped
	// in for writing at once, the 32 MB of a million recipients' index
	// fault no more.
	prefault.Pages(slots)
	return &dupIndex{seed: maphash.MakeSeed(), slots: slots, mask: uint64(size - 1)}
}

// add records s at pos and returns the position of an earlier equal
// string, or -1. at returns the string at a recorded position, to tell equal
// strings from colliding hashes.
func (d *dupIndex) add(s string, pos int, at func(int) string) int {
	h := maphash.String(d.seed, s) | 1
	for i := h & d.mask; ; i = (i + 1) & d.mask {
		sl := &d.slots[i]
		switch {
		case sl.hash == 0:
			*sl = dupSlot{hash: h, pos: pos}
			return -1
		case sl.hash == h && at(sl.pos) == s:
			return sl.pos
		}
	}
}

// loadSuppress collects the phone numbers of a suppress block.
func (l *loader) loadSuppress(s *SuppressSet, db *dataBlock) {
	var probs problems
	for _, c := range l.evalRows(db) {
		probs.merge(&c.probs)
		for i := range c.len() {
			if c.kept[i] {
				s.Phones[c.phones[i]] = struct{}{}
			}
		}
	}
	l.diags = append(l.diags, probs.diagnostics(db.table.name, db.csvAttr.Expr.Range())...)
}
