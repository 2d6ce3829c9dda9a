package state

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/inputfile"
)

// ErrCorrupt marks a state that cannot be read as written: a damaged
// snapshot, damage anywhere in the journal but its last line, or files that
// do not belong together. It is never answered with an empty state.
var ErrCorrupt = errors.New("state is damaged")

// CorruptError says which file is damaged, where, and what to do.
type CorruptError struct {
	State   string // the state's path
	File    string // the damaged file: the state or its journal
	Line    int    // 1-based line, or 0 when the file as a whole is wrong
	Problem string

	// Recover is the command that finds the sends a restored state lacks,
	// as the user would type it; "ujumbe refresh -recover" when empty.
	Recover string

	retry bool // an unlocked reader may have raced a compaction
	pg    bool // State names a PostgreSQL schema, File a table, Line a serial
}

func (e *CorruptError) Error() string {
	if e.pg {
		return fmt.Sprintf("state in %s is damaged (%s, serial %d): %s. Nothing was changed. "+
			"Keep a dump of the schema (pg_dump of it), then restore it from a backup or push a state pulled earlier, "+
			"and run \"%s\" before the next apply: it finds the sends made since, which the restored state lacks", e.State, e.File, e.Line, e.Problem, recoverLine(e.Recover))
	}
	where := ""
	if e.Line > 0 {
		where = fmt.Sprintf(" at line %d", e.Line)
	}
	return fmt.Sprintf("state file %s is damaged%s: %s. Nothing was changed. "+
		"Keep a copy of every %s* file, then restore the previous snapshot: copy %s over %s and remove %s.wal. "+
		"Sends recorded after that snapshot will be missing from the state: before the next apply, run \"%s\", which finds those the provider holds",
		e.File, where, e.Problem, e.State, backupOf(e.State), e.State, e.State, recoverLine(e.Recover))
}

// recoverLine is line, the command that finds the sends a restored state
// lacks, or its plain form.
func recoverLine(line string) string {
	if line == "" {
		return "ujumbe refresh -recover"
	}
	return line
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Warning is something the user should hear about that did not stop loading,
// such as a torn last journal record.
type Warning struct {
	Summary string
	Detail  string
}

// journalInfo describes the journal found when loading.
type journalInfo struct {
	exists  bool
	version int    // its header's format version
	base    uint64 // serial of the snapshot it continues
	records int    // good records after the header
	end     int64  // offset just past the last good line
	crc     uint32 // CRC of the last good line
	torn    int64  // bytes discarded at the end
}

// last is the serial of the journal's last record.
func (j journalInfo) last() uint64 { return j.base + uint64(j.records) }

// loaded is what load found.
type loaded struct {
	st         *State
	snapshot   bool          // the snapshot file exists
	snapSerial uint64        // its serial
	held       *imageJournal // the journal's records the image read holds
	j          journalInfo
	warns      []Warning
}

// load reads the snapshot at path and replays the journal beside it.
// Missing files mean an empty state that has never been written, unless
// companions show that it was (checkMissing). locked says whether the
// caller holds the lock, and holder is then the description a previous
// holder left in the lock file; without the lock an unterminated last line
// is a record still being written, and it is skipped without a warning.
func load(path string, locked bool, holder *LockInfo, restored bool) (loaded, error) {
	l, err := loadFrom(path, locked, holder, true, restored)
	if errors.Is(err, errImage) {
		// The image holds journal records the journal does not start
		// with (replaced, cut short, or a compaction's new one while
		// this reader read): the snapshot and the journal are read.
		l, err = loadFrom(path, locked, holder, false, restored)
	}
	return l, err
}

// loadFrom is load, from the snapshot's image if image says so and it has
// one this build can use. It returns errImage when the image holds journal
// records that the journal does not start with.
func loadFrom(path string, locked bool, holder *LockInfo, image, restored bool) (loaded, error) {
	l := loaded{st: newState()}
	// An image of a later snapshot of the state than the one read, or the
	// mark of a recovery from one not finished: told once the journal is
	// read, whose own damage is told first.
	var rolledBack *RolledBackError
	if !restored {
		rolledBack = recovering(path)
	}
	var held *imageJournal // the journal's records the image holds
	f, err := inputfile.Open(path)
	switch {
	case err == nil:
		var st *State
		ierr := errImage
		if image {
			st, held, ierr = readImage(path, f)
		}
		if ierr == nil {
			l.st, l.held = st, held
		} else if err = readSnapshot(f, path, l.st); err == nil {
			if rb := rolledBackFrom(path, f, l.st); rb != nil && !restored {
				rolledBack = rb
			} else if rb != nil {
				err = markRecovering(path, rb)
			}
		}
		if ierr != nil && err == nil && locked && rolledBack == nil {
			// The run that holds the lock makes the image of a snapshot
			// that has none (or a stale one, or one of another build's
			// layout), so that the runs after it do not decode the
			// snapshot again until the next compaction.
			writeImageOf(path, f, l.st, nil)
		}
		f.Close()
		if err != nil {
			return l, err
		}
		l.snapshot, l.snapSerial = true, l.st.serial-uint64(held.records())
	case !errors.Is(err, os.ErrNotExist):
		return l, fmt.Errorf("read state %s: %w", path, err)
	}

	wal := path + ".wal"
	f, err = inputfile.Open(wal)
	if !l.snapshot {
		if err := checkMissing(path, !errors.Is(err, os.ErrNotExist), locked, holder); err != nil {
			if f != nil {
				f.Close()
			}
			return l, err
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		if held != nil {
			return l, errImage
		}
		if rolledBack != nil {
			return l, rolledBack
		}
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("read state journal %s: %w", wal, err)
	}
	defer f.Close()
	l.j, err = replay(f, wal, l.st, l.snapshot, locked, held)
	if err != nil {
		return l, err
	}
	if l.j.torn > 0 {
		what := "It was left as it is; the next run that locks the state removes it."
		if locked {
			what = "It has been removed."
		}
		l.warns = append(l.warns, Warning{
			Summary: "Discarded an incomplete record at the end of the state journal",
			Detail: fmt.Sprintf("%s ends with %d bytes (from byte %d) that are not a complete record, left by a run that stopped while writing. "+
				"That record was never reported as saved, so nothing recorded is lost. %s", wal, l.j.torn, l.j.end, what),
		})
	}
	if rolledBack != nil {
		return l, rolledBack
	}
	return l, nil
}

// rolledBackFrom returns the error of the snapshot f at path, read into
// st, when the image beside it was made of a later snapshot of the same
// state: the snapshot was put back from a backup or an older copy. A
// compaction replaces the snapshot before its image, so a reader that
// opened the snapshot before a compaction replaced it may find the new
// image: then path names another file than f, and nothing went back.
func rolledBackFrom(path string, f *os.File, st *State) *RolledBackError {
	lineage, serial, ok := staleImage(path)
	if !ok || lineage != st.lineage || serial <= st.serial {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	if now, err := os.Stat(path); err != nil || !os.SameFile(fi, now) {
		return nil
	}
	return &RolledBackError{State: path, Serial: st.serial, Image: path + imageSuffix, ImageSerial: serial}
}

// readSnapshot loads a snapshot into the empty st.
func readSnapshot(r io.Reader, name string, st *State) error {
	corrupt := func(line int, format string, args ...any) error {
		return &CorruptError{State: name, File: name, Line: line, Problem: fmt.Sprintf(format, args...)}
	}
	lr := newLineReader(r)
	line, complete, err := lr.next()
	if errors.Is(err, io.EOF) {
		return corrupt(0, "the file is empty")
	}
	if err != nil {
		return fmt.Errorf("read state %s: %w", name, err)
	}
	if !complete {
		return corrupt(1, "incomplete header")
	}
	payload, crc, err := unframe(line, 0)
	if err != nil {
		return corrupt(1, "%v", err)
	}
	h, err := parseHeader(payload, formatState)
	if err != nil {
		return corrupt(1, "%v", err)
	}
	st.lineage, st.serial, st.inbound = h.Lineage, h.Serial, fromMillis(h.Inbound)
	n := 1
	// next returns the payload of the next line, checked against its
	// checksum; it is valid until the next call.
	next := func() ([]byte, error) {
		n++
		line, complete, err := lr.next()
		switch {
		case errors.Is(err, io.EOF):
			return nil, corrupt(0, "the file ends at line %d, before the records its header lists", n-1)
		case err != nil:
			return nil, fmt.Errorf("read state %s: %w", name, err)
		case !complete:
			return nil, corrupt(n, "the line is incomplete (the file was cut short)")
		}
		payload, crc, err = unframe(line, crc)
		if err != nil {
			return nil, corrupt(n, "%v", err)
		}
		return payload, nil
	}
	// Each message's sends come together, and the header says how many:
	// its recs are allocated at once, and its index with room for a
	// quarter more (a journal usually follows) so that it need not grow.
	groups := make([]*group, len(h.Messages))
	for i, m := range h.Messages {
		g := st.group(m.Campaign, m.Message, true)
		if slices.Contains(groups[:i], g) || m.Sends <= 0 {
			return corrupt(1, "bad message list: campaign %q, message %q", m.Campaign, m.Message)
		}
		groups[i] = g
	}
	// Every message has its column before any is sized, so that a
	// campaign's table is made once.
	for i, m := range h.Messages {
		groups[i].recs = make([]rec, m.Sends)
		groups[i].index.reserve(m.Sends + m.Sends/4)
	}
	// Lines are read and checked here, decoded in batches on every CPU and
	// stored in order by one goroutine (snapshotLoader).
	sl := newSnapshotLoader(st, corrupt)
	var readErr error
read:
	for i, m := range h.Messages {
		for lo := 0; lo < m.Sends; lo += snapshotBatch {
			b := sl.batch(groups[i], n+1, lo)
			for range min(snapshotBatch, m.Sends-lo) {
				payload, err := next()
				if err != nil {
					readErr = err
					sl.submit(b)
					break read
				}
				b.add(payload)
			}
			sl.submit(b)
		}
	}
	if err := sl.wait(); err != nil {
		return err
	}
	if readErr != nil {
		return readErr
	}
	d := newDecoder()
	for range h.OptOuts {
		payload, err := next()
		if err != nil {
			return err
		}
		r, err := d.record(payload)
		if err != nil {
			return corrupt(n, "%v", err)
		}
		if r.op != opOptOut {
			return corrupt(n, "expected an opt-out")
		}
		st.apply(&r)
	}
	if _, _, err := lr.next(); !errors.Is(err, io.EOF) {
		return corrupt(n+1, "unexpected data after the last record its header lists")
	}
	return nil
}

// snapshotBatch is how many send lines a snapshot loader decodes at once.
const snapshotBatch = 2048

// snapshotLoader decodes a snapshot's send lines in batches on every CPU,
// while its reader goes on reading, and stores them in the state in file
// order on one goroutine, so that the first problem in the file is the one
// reported, as if it were read line by line.
type snapshotLoader struct {
	st      *State
	corrupt func(line int, format string, args ...any) error
	free    chan *sendBatch // batches to fill: bounds the lines in flight
	work    chan *sendBatch // filled batches, for the decoders
	ordered chan *sendBatch // filled batches in file order, for the storer
	done    chan error      // the storer's outcome
}

// sendBatch is a run of consecutive send lines of one message. Its
// decoder fills the recs at g.recs[lo:], which nobody else touches until
// the storer has them, and the batch's text chunk and recMores, whose
// places in g the storer gives them.
type sendBatch struct {
	g     *group
	first int    // the line number of the first line
	lo    int    // the position in g.recs of the first line's rec
	buf   []byte // the lines' payloads, one after the other
	ends  []int  // where each payload ends in buf
	text  []byte // the recs' text entries (appendTexts), while decoding
	chunk string // the same, once decoded
	more  []recMore
	good  int   // how many lines were decoded
	err   error // the problem with the line after them
	ready chan struct{}
}

func newSnapshotLoader(st *State, corrupt func(int, string, ...any) error) *snapshotLoader {
	workers := runtime.GOMAXPROCS(0)
	inFlight := 4 * workers
	sl := &snapshotLoader{st: st, corrupt: corrupt, free: make(chan *sendBatch, inFlight),
		work: make(chan *sendBatch, inFlight), ordered: make(chan *sendBatch, inFlight), done: make(chan error, 1)}
	for range inFlight {
		sl.free <- &sendBatch{ends: make([]int, 0, snapshotBatch)}
	}
	for range workers {
		go sl.decode()
	}
	go sl.store()
	return sl
}

// batch returns an empty batch for the lines from first on, whose recs go
// to g.recs[lo:].
func (sl *snapshotLoader) batch(g *group, first, lo int) *sendBatch {
	b := <-sl.free
	b.g, b.first, b.lo, b.good, b.err = g, first, lo, 0, nil
	b.buf, b.ends, b.text, b.more = b.buf[:0], b.ends[:0], b.text[:0], b.more[:0]
	b.ready = make(chan struct{})
	return b
}

func (b *sendBatch) add(payload []byte) {
	b.buf = append(b.buf, payload...)
	b.ends = append(b.ends, len(b.buf))
}

// submit queues b.
func (sl *snapshotLoader) submit(b *sendBatch) {
	sl.ordered <- b
	sl.work <- b
}

// wait ends the loading and returns the first problem the decoders or the
// storer found.
func (sl *snapshotLoader) wait() error {
	close(sl.work)
	close(sl.ordered)
	return <-sl.done
}

// decode decodes batches until there are none. It allocates one string per
// batch, its text chunk, and a recMore per send that has one.
func (sl *snapshotLoader) decode() {
	d := newDecoder()
	for b := range sl.work {
		g, start := b.g, 0
		recs := g.recs[b.lo : b.lo+len(b.ends)]
		for i, end := range b.ends {
			var r record
			err := d.fields(b.buf[start:end], &r)
			start = end
			if err == nil && r.op == opSend {
				err = d.addressed(&r)
			}
			if err != nil {
				b.err = sl.corrupt(b.first+i, "%v", err)
				break
			}
			if a := r.send.Addr; r.op != opSend || a.Campaign != g.key.campaign || a.Message != g.key.message {
				b.err = sl.corrupt(b.first+i, "expected a send of campaign %q, message %q", g.key.campaign, g.key.message)
				break
			}
			rc := makeRec(&r.send)
			rc.at = uint32(len(b.text))
			b.text = appendTexts(b.text, &d.texts, r.send.Reply != nil)
			if m, ok := makeMore(&r.send); ok {
				b.more = append(b.more, m)
				rc.more = uint32(len(b.more))
			}
			recs[i] = rc
			b.good++
		}
		b.chunk = string(b.text)
		close(b.ready)
	}
}

// store puts the decoded sends into the state in file order, until the
// first problem, and reports it.
func (sl *snapshotLoader) store() {
	var first error
	for b := range sl.ordered {
		<-b.ready
		if first == nil {
			first = sl.storeBatch(b)
		}
		sl.free <- b
	}
	sl.done <- first
}

// storeBatch gives b's chunk and recMores their places in its group and
// indexes its recs; it returns the first problem in b.
func (sl *snapshotLoader) storeBatch(b *sendBatch) error {
	g := b.g
	chunk, base := uint32(len(g.text)), uint32(len(g.more))
	g.text = append(g.text, b.chunk)
	g.more = append(g.more, b.more...)
	for i := range b.good {
		r := &g.recs[b.lo+i]
		r.chunk = chunk
		if r.more != 0 {
			r.more += base
		}
		if !g.index.insert(g, b.lo+i) {
			a := addrs.Addr{Campaign: g.key.campaign, Message: g.key.message, Key: g.keyOf(r)}
			return sl.corrupt(b.first+i, "%s appears twice", a)
		}
		sl.st.n++
	}
	return b.err
}

// replay applies the journal in r to st, which holds the snapshot (if
// snapshot) or nothing, and the journal's first records that held, when
// not nil, describes (an image's). Those are read but not applied; when
// the journal does not start with them, replay returns errImage.
func replay(r io.Reader, name string, st *State, snapshot, locked bool, held *imageJournal) (journalInfo, error) {
	var j journalInfo
	corrupt := func(line int, format string, args ...any) error {
		return &CorruptError{State: strings.TrimSuffix(name, ".wal"), File: name, Line: line, Problem: fmt.Sprintf(format, args...)}
	}
	lr := newLineReader(r)
	line, complete, err := lr.next()
	switch {
	case held != nil && err != nil:
		return j, errImage
	case errors.Is(err, io.EOF):
		// Journals are created whole by rename, so an empty or headless one
		// is not something this package leaves behind; still, it holds no
		// records, so the state is whatever the snapshot says.
		return j, nil
	case err != nil:
		return j, fmt.Errorf("read state journal %s: %w", name, err)
	}
	payload, crc, err := unframe(line, 0)
	if held != nil && (!complete || err != nil) {
		return j, errImage
	}
	if !complete || err != nil && lr.atEOF() {
		j.torn = lr.off
		return j, nil
	}
	if err != nil {
		return j, corrupt(1, "%v", err)
	}
	h, err := parseHeader(payload, formatJournal)
	if err != nil {
		return j, corrupt(1, "%v", err)
	}
	// The serial of the snapshot: st holds the records held too.
	snapSerial := st.serial - uint64(held.records())
	if held != nil && (h.Lineage != st.lineage || h.Serial < snapSerial) {
		return j, errImage
	}
	switch {
	case snapshot && h.Lineage != st.lineage:
		return j, corrupt(1, "it belongs to another state (lineage %s; the snapshot's is %s)", h.Lineage, st.lineage)
	case h.Serial > snapSerial:
		var err error
		if snapshot {
			err = corrupt(1, "it continues the snapshot of serial %d, but the snapshot is at serial %d (was an older snapshot put back?)", h.Serial, snapSerial)
		} else {
			err = corrupt(1, "it continues the snapshot of serial %d, but the snapshot %s is missing", h.Serial, strings.TrimSuffix(name, ".wal"))
		}
		// Without the lock, a compaction may have replaced both files
		// between the two reads: reading again tells.
		err.(*CorruptError).retry = !locked
		return j, err
	case !snapshot:
		st.lineage, st.serial = h.Lineage, h.Serial
	}
	j.exists, j.version, j.base, j.end, j.crc = true, h.Version, h.Serial, lr.off, crc
	d := newDecoder()
	for n := 2; ; n++ {
		line, complete, err := lr.next()
		if held != nil && (err != nil || !complete) {
			return j, errImage // the journal ends before the image's records do
		}
		if errors.Is(err, io.EOF) {
			return j, nil
		}
		if err != nil {
			return j, fmt.Errorf("read state journal %s: %w", name, err)
		}
		if !complete {
			// The last line of the file without its LF: a write that never
			// finished (or, for an unlocked reader, is finishing now).
			if locked {
				j.torn = lr.off - j.end
			}
			return j, nil
		}
		payload, crc, err = unframe(line, j.crc)
		if held != nil && err != nil {
			return j, errImage
		}
		if err != nil {
			if lr.atEOF() {
				j.torn = lr.off - j.end
				return j, nil
			}
			return j, corrupt(n, "%v, and it is not the last line, so it is not an interrupted write", err)
		}
		// Records the snapshot already holds are left over from a
		// compaction that stopped before it replaced the journal.
		if seq := j.base + uint64(j.records) + 1; seq > st.serial {
			if _, err := replayRecord(d, payload, st); err != nil {
				return j, corrupt(n, "%v", err)
			}
			st.serial = seq
		}
		j.records++
		j.end, j.crc = lr.off, crc
		if held != nil && j.records == held.Records {
			if j.end != held.Size || j.crc != held.Chain {
				return j, errImage
			}
			held = nil
		}
	}
}

// replayRecord decodes the journal record in payload and applies it to st.
func replayRecord(d *decoder, payload []byte, st *State) (record, error) {
	r, err := d.record(payload)
	if err == nil && r.op == opSend {
		err = errors.New("unexpected send record")
	}
	if err == nil {
		_, err = st.apply(&r)
	}
	return r, err
}

// backupOf names the previous snapshot of the state at path.
func backupOf(path string) string { return path + ".backup" }
