package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/ujumbe/ujumbe/addrs"
)

// newLineage returns a new state's lineage; tests pin it.
var newLineage = uuid.NewString

// ErrClosed is returned by a Store's methods after Close.
var ErrClosed = errors.New("state store is closed")

// Options configure Open.
type Options struct {
	// LockTimeout is how long to wait for a lock another run holds; 0 fails
	// at once.
	LockTimeout time.Duration
	// Operation names what the run does ("apply"), for a run that finds the
	// state locked.
	Operation string
	// Now is the clock for records given no time, and for the lock
	// description; time.Now when nil.
	Now func() time.Time
	// Restored accepts a snapshot older than its image (RolledBackError):
	// refresh -recover, which finds the sends the snapshot lacks, and
	// replaces the image.
	Restored bool

	compactAt int64 // journal size that starts a compaction; tests lower it
	imageAt   int64 // journal bytes no image holds that make Close write one; tests lower it
}

const (
	// maxBatch bounds the records one fdatasync commits.
	maxBatch = 256
	// defaultCompactAt is the journal size at which the state is compacted
	// during a run (it always is at Close).
	defaultCompactAt = 64 << 20
	// defaultImageAt is the least size of the journal's records no image
	// holds that makes Close write one that does (with a 128th of the
	// snapshot's size, if more): replaying a journal costs about ten times
	// as much per byte as reading an image, and a plan of 1M x 3 sends paid
	// 0.35 s of CPU for the 36 MB of answers a refresh left.
	defaultImageAt = 1 << 20
	maxText        = 4096 // free text: reply and opt-out texts
)

// Store is a state opened for writing. It holds the lock until Close. Its
// methods are safe for concurrent use: records from concurrent callers are
// written together, with one fdatasync for the group, and each call returns
// once its record is durable. After a write or sync error every later call
// fails with that error (a failed fsync is never retried: the kernel may
// have dropped the data it reported lost).
type Store struct {
	path      string
	st        *State
	lock      *fileLock
	now       func() time.Time
	compactAt int64
	restored  bool // Options.Restored
	imageAt   int64

	mu     sync.RWMutex // guards closed against submits racing Close
	closed bool
	reqs   chan *request
	done   chan struct{}

	// Owned by the writer goroutine, and by Close once it has stopped.
	j          *os.File // the journal, open for appending; nil until needed
	jsize      int64
	jcrc       uint32 // CRC of its last line
	jbase      uint64 // the serial it continues
	imaged     int64  // how much of it the image on disk holds
	snapshot   bool   // a snapshot exists on disk
	snapSerial uint64 // its serial
	snapSize   int64  // its size
	failed     error  // the first write failure
	buf        []byte
	syncs      atomic.Int64 // journal fdatasyncs or PostgreSQL commits, for benchmarks

	// pg, for a state in PostgreSQL, takes the place of the files: every
	// field above from path to buf is then unused.
	pg *pgJournal
}

type request struct {
	rec  record
	n    int
	err  error
	done chan struct{}
}

// Open locks the state at path (waiting up to opts.LockTimeout for another
// run to release it) and loads it: the snapshot, then the journal. A torn
// last journal record is removed and reported as a Warning; damage anywhere
// else is an error matching ErrCorrupt. Missing files are an empty state,
// created on its first record; but a missing snapshot whose backup, journal
// or dead lock holder remains is an error matching ErrMissing.
func Open(ctx context.Context, path string, opts Options) (*Store, []Warning, error) {
	s := &Store{
		path:      path,
		now:       opts.Now,
		compactAt: opts.compactAt,
		imageAt:   opts.imageAt,
		restored:  opts.Restored,
		reqs:      make(chan *request, maxBatch),
		done:      make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.compactAt == 0 {
		s.compactAt = defaultCompactAt
	}
	if s.imageAt == 0 {
		s.imageAt = defaultImageAt
	}
	lk, err := lock(ctx, path, opts.LockTimeout, newLockInfo(opts.Operation, s.now()))
	if err != nil {
		return nil, nil, err
	}
	s.lock = lk
	warns, err := s.load()
	if err != nil {
		lk.giveBack()
		return nil, nil, err
	}
	go s.run()
	return s, warns, nil
}

// Read loads the state at path without locking it, for commands that only
// look (plan, show). A record being appended meanwhile is simply not there
// yet; a compaction meanwhile makes it read again.
func Read(path string) (*State, []Warning, error) {
	for attempt := 1; ; attempt++ {
		l, err := load(path, false, nil, false)
		var ce *CorruptError
		if errors.As(err, &ce) && ce.retry && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		l.st.frozen = true // no Store writes into it
		return l.st, l.warns, nil
	}
}

func (s *Store) load() ([]Warning, error) {
	// Temporary files are leftovers of a compaction that stopped; they are
	// incomplete by definition, and the lock says nobody is writing them.
	for _, name := range []string{s.path + ".tmp", backupOf(s.path) + ".tmp", s.path + ".wal.tmp", s.path + imageSuffix + ".tmp"} {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open state %s: %w", s.path, err)
		}
	}
	l, err := load(s.path, true, s.lock.prev, s.restored)
	if err != nil {
		return nil, err
	}
	s.st, s.snapshot, s.snapSerial = l.st, l.snapshot, l.snapSerial
	if s.snapshot {
		fi, err := os.Stat(s.path)
		if err != nil {
			return nil, fmt.Errorf("open state %s: %w", s.path, err)
		}
		s.snapSize = fi.Size()
	}
	wal := s.path + ".wal"
	switch {
	case l.j.torn > 0 && !l.j.exists:
		// Not even the header is whole: nothing in it was ever committed.
		if err := os.Remove(wal); err != nil {
			return nil, fmt.Errorf("open state %s: %w", s.path, err)
		}
		if err := syncDir(wal); err != nil {
			return nil, fmt.Errorf("open state %s: %w", s.path, err)
		}
	case l.j.exists:
		f, err := os.OpenFile(wal, os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil && l.j.torn > 0 {
			err = f.Truncate(l.j.end)
			if err == nil {
				err = syncData(f)
			}
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			return nil, fmt.Errorf("open state journal %s: %w", wal, err)
		}
		if l.j.last() != s.st.serial {
			// It only holds records the snapshot has: the first new record
			// starts a fresh journal.
			f.Close()
			break
		}
		if l.j.version < Version {
			// An older ujumbe's journal, which this one's records must not
			// follow: that ujumbe, run again, would call them damage, and
			// its advice (put the backup back) would lose them. Its
			// records go into a snapshot of this version, which it
			// refuses as newer; an empty one is replaced at the first
			// record.
			f.Close()
			if l.j.records == 0 {
				break
			}
			if err := s.compact(); err != nil {
				return nil, fmt.Errorf("open state %s: %w", s.path, err)
			}
			break
		}
		s.j, s.jsize, s.jcrc, s.jbase = f, l.j.end, l.j.crc, l.j.base
		if l.held != nil {
			s.imaged = l.held.Size
		}
	}
	return l.warns, nil
}

// State returns the state. It shows each record from the moment the writer
// takes it, a moment before it is durable; the call that made the record
// returns only once it is.
func (s *Store) State() *State { return s.st }

// RecordIntent records that the send in.Addr is about to be attempted and
// returns once that is durable. It refuses (ErrConflict) a send that exists
// and is neither OutcomeRetry nor OutcomeDeferred, unless in.Replace. The send becomes
// OutcomeUnknown with one more attempt; the attempt before it, if it left a
// result, an id or an error code, moves into the send's History.
func (s *Store) RecordIntent(in Intent) error {
	if err := in.Addr.Validate(); err != nil {
		return fmt.Errorf("record intent: %w", err)
	}
	if err := checkID("phone", in.Phone, true); err != nil {
		return fmt.Errorf("record intent for %s: %w", in.Addr, err)
	}
	if err := checkID("variant", in.Variant, false); err != nil {
		return fmt.Errorf("record intent for %s: %w", in.Addr, err)
	}
	if int(in.Kind) >= len(kindNames) {
		return fmt.Errorf("record intent for %s: invalid kind %d", in.Addr, in.Kind)
	}
	_, err := s.submit(record{op: opIntent, replace: in.Replace,
		send: Send{Addr: in.Addr, Phone: in.Phone, Digest: in.Digest, Inputs: in.Inputs, Variant: in.Variant, Kind: in.Kind, IntentAt: s.at(in.At)}})
	if err != nil {
		return fmt.Errorf("record intent: %w", err)
	}
	return nil
}

// RecordResult records the outcome of the send's attempt in doubt and
// returns once that is durable. It refuses (ErrConflict) a send that is not
// OutcomeUnknown. Refresh resolves an unknown send with it too: found at the
// provider, OutcomeAccepted with its message_id; certainly absent,
// OutcomeRetry, which makes it sendable again. A Result with OutcomeUnknown
// keeps the send in doubt and records why.
func (s *Store) RecordResult(r Result) error {
	err := r.Addr.Validate()
	switch {
	case err != nil:
	case r.Outcome > OutcomeDeferred:
		err = fmt.Errorf("invalid outcome %d", r.Outcome)
	case r.ProviderStatus > StatusFailed:
		err = fmt.Errorf("invalid provider status %d", r.ProviderStatus)
	case r.Outcome == OutcomeAccepted && r.MessageID == "":
		err = fmt.Errorf("%s: an accepted send needs its message_id", r.Addr)
	case r.Systemic && r.Outcome != OutcomeRetry && r.Outcome != OutcomeUnknown:
		err = fmt.Errorf("%s: only a send to try again, or one in doubt, fails for the run's reasons, not %s", r.Addr, r.Outcome)
	default:
		err = errors.Join(checkID("message_id", r.MessageID, false),
			checkID("conversation_id", r.ConversationID, false),
			checkID("error code", r.ErrorCode, false))
	}
	if err != nil {
		return fmt.Errorf("record result: %w", err)
	}
	_, err = s.submit(record{op: opResult, send: Send{
		Addr: r.Addr, Outcome: r.Outcome, MessageID: r.MessageID, ConversationID: r.ConversationID,
		ProviderStatus: r.ProviderStatus, ErrorCode: r.ErrorCode, ErrorMessage: cleanText(r.ErrorMessage, maxField),
		Systemic: r.Systemic, ResultAt: s.at(r.At)}})
	if err != nil {
		return fmt.Errorf("record result: %w", err)
	}
	return nil
}

// Refresh records what refresh learnt about a send that has a message_id
// (ErrConflict otherwise) and returns once that is durable.
func (s *Store) Refresh(u Update) error {
	err := u.Addr.Validate()
	switch {
	case err != nil:
	case u.ProviderStatus > StatusFailed:
		err = fmt.Errorf("invalid provider status %d", u.ProviderStatus)
	default:
		err = errors.Join(checkID("error code", u.ErrorCode, false), checkID("conversation_id", u.ConversationID, false))
	}
	var reply *Reply
	if err == nil && u.Reply != nil && *u.Reply != (Reply{}) {
		reply = &Reply{ID: u.Reply.ID, Title: cleanText(u.Reply.Title, maxText), Text: cleanText(u.Reply.Text, maxText),
			At: u.Reply.At, MessageID: u.Reply.MessageID}
		err = errors.Join(checkID("reply id", reply.ID, false), checkID("reply message_id", reply.MessageID, false))
	}
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	_, err = s.submit(record{op: opRefresh, send: Send{
		Addr: u.Addr, ProviderStatus: u.ProviderStatus, DeliveredAt: u.DeliveredAt, ReadAt: u.ReadAt, Reply: reply,
		ErrorCode: u.ErrorCode, ErrorMessage: cleanText(u.ErrorMessage, maxField), ConversationID: u.ConversationID,
		Window: u.Window, UpdatedAt: s.at(u.At)}})
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return nil
}

// Defer records a Deferral and returns once it is durable. It refuses
// (ErrConflict) a send that is not accepted with d.MessageID: a refusal
// of an earlier attempt's message, or of a send already resolved
// otherwise, changes nothing.
func (s *Store) Defer(d Deferral) error {
	err := d.Addr.Validate()
	if err == nil {
		err = errors.Join(checkID("message_id", d.MessageID, true), checkID("error code", d.ErrorCode, false))
	}
	if err != nil {
		return fmt.Errorf("defer: %w", err)
	}
	_, err = s.submit(record{op: opDefer, send: Send{Addr: d.Addr, MessageID: d.MessageID,
		ErrorCode: d.ErrorCode, ErrorMessage: cleanText(d.ErrorMessage, maxField), ResultAt: s.at(d.At)}})
	if err != nil {
		return fmt.Errorf("defer: %w", err)
	}
	return nil
}

// Remove forgets the sends p selects (state rm) and returns how many, once
// that is durable. A pattern that selects nothing is ErrNoMatch; the zero
// Pattern is refused.
func (s *Store) Remove(p addrs.Pattern) (int, error) {
	err := p.Validate()
	if err == nil && p.Depth() == 0 {
		err = errors.New("an address is required")
	}
	if err != nil {
		return 0, fmt.Errorf("remove: %w", err)
	}
	n, err := s.submit(record{op: opRemove, from: p})
	if err != nil {
		return 0, fmt.Errorf("remove: %w", err)
	}
	return n, nil
}

// Move re-addresses the sends from selects under to (state mv) and returns
// how many, once that is durable. Both must select at the same depth: a
// campaign to a campaign, a message to a message, a send to a send. Nothing
// moves if a destination send exists (ErrConflict).
func (s *Store) Move(from, to addrs.Pattern) (int, error) {
	counts, err := s.MoveAll([]Move{{From: from, To: to}})
	if err != nil {
		return 0, err
	}
	return counts[0], nil
}

// MoveAll makes the moves of ms together (the moved blocks of a
// configuration), as one record: once it is durable every move is made, and
// if any cannot be, none is (ErrConflict), so a failure or a crash never
// leaves the state half-moved. It returns how many sends each move moved;
// a move that selects nothing moves nothing, and if none selects anything
// the error is ErrNoMatch. Each move is checked as Move checks it.
func (s *Store) MoveAll(ms []Move) ([]int, error) {
	var errs []error
	for _, m := range ms {
		err := errors.Join(m.From.Validate(), m.To.Validate())
		switch {
		case err != nil:
		case m.From.Depth() == 0 || m.From.Depth() != m.To.Depth():
			err = fmt.Errorf("cannot move %q to %q: both must name a campaign, a message or a send", m.From, m.To)
		case m.From == m.To:
			err = fmt.Errorf("cannot move %s onto itself", m.From)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil || len(ms) == 0 {
		if err == nil {
			err = errors.New("no moves")
		}
		return nil, fmt.Errorf("move: %w", err)
	}
	req := &request{rec: record{op: opMove, moves: ms}, done: make(chan struct{})}
	if err := s.send(req); err != nil {
		return nil, fmt.Errorf("move: %w", err)
	}
	return req.rec.counts, nil
}

// OptOut records that o.Phone asked not to be messaged again, once durable.
func (s *Store) OptOut(o OptOut) error {
	if err := checkID("phone", o.Phone, true); err != nil {
		return fmt.Errorf("record opt-out: %w", err)
	}
	if err := checkID("message_id", o.MessageID, false); err != nil {
		return fmt.Errorf("record opt-out for %s: %w", o.Phone, err)
	}
	o.Text = cleanText(o.Text, maxText)
	o.At = s.at(o.At)
	if _, err := s.submit(record{op: opOptOut, optOut: o}); err != nil {
		return fmt.Errorf("record opt-out: %w", err)
	}
	return nil
}

// ReadInbound records, once durable, that every inbound message created
// before t has been read for opt-outs (State.InboundRead); an earlier t
// than the one recorded changes nothing.
func (s *Store) ReadInbound(t time.Time) error {
	if t.IsZero() {
		return errors.New("record inbound read: no time")
	}
	if !t.After(s.st.InboundRead()) {
		return nil
	}
	if _, err := s.submit(record{op: opInbound, inbound: t}); err != nil {
		return fmt.Errorf("record inbound read: %w", err)
	}
	return nil
}

// Close compacts the state and releases the lock. It writes a new snapshot
// and starts an empty journal if the journal has records and is at least an
// eighth of the snapshot's size (or there is no snapshot yet); a smaller
// journal is left to be replayed rather than rewriting a large state for a
// few records, and when the records no image holds are many (imageAt) it
// writes the image of the snapshot and the journal, so the runs after it
// read them from there. After a write failure Close only releases the
// lock: the journal on disk is what was committed. Close is safe to call
// more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	if s.pg != nil {
		return s.pg.close(s.st, s.failed != nil)
	}

	var err error
	// Rewriting a large snapshot for a few records (a cron run that sent a
	// handful) would cost seconds and write the whole state to disk every
	// time; the journal keeps them as safely. Replaying it costs every run
	// after this one, though, so once the records no image holds are many,
	// an image of them is written (a fraction of a compaction's cost).
	due := !s.snapshot || s.jsize >= s.snapSize/8 || s.jsize >= s.compactAt
	switch {
	case s.failed != nil || s.st.Serial() == s.snapSerial:
	case due:
		err = s.compact()
	case s.j != nil && s.jbase == s.snapSerial && s.jsize-s.imaged >= max(s.imageAt, s.snapSize/128):
		s.writeImage()
	}
	if s.j != nil {
		if cerr := s.j.Close(); err == nil {
			err = cerr
		}
	}
	return errors.Join(err, s.lock.release())
}

// writeImage writes the image of the state, which is the snapshot and the
// journal's records: a cache, whose failure fails nothing.
func (s *Store) writeImage() {
	f, err := os.Open(s.path)
	if err != nil {
		return
	}
	defer f.Close()
	writeImageOf(s.path, f, s.st, &imageJournal{Records: int(s.st.Serial() - s.jbase), Size: s.jsize, Chain: s.jcrc})
}

// Commits returns how many times the store has made records durable: its
// journal's fdatasyncs, or its transactions on PostgreSQL. Benchmarks divide
// it by the records (or sends) to see how well commits are shared.
func (s *Store) Commits() int64 { return s.syncs.Load() }

func (s *Store) at(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

// submit hands r to the writer and waits until it is durable or refused.
func (s *Store) submit(r record) (int, error) {
	req := &request{rec: r, done: make(chan struct{})}
	err := s.send(req)
	return req.n, err
}

// send hands req to the writer and waits until it is durable or refused.
func (s *Store) send(req *request) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.reqs <- req
	s.mu.RUnlock()
	<-req.done
	return req.err
}

// run is the writer: it takes whatever records are waiting (up to maxBatch)
// and commits them together. A lone record is written at once; records that
// arrive during a sync wait for the next one, so the group grows with load.
// On PostgreSQL, a batch may wait a moment for company (linger).
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*request, 0, maxBatch)
	for req := range s.reqs {
		batch = s.gather(append(batch[:0], req))
		if s.pg != nil {
			batch = s.linger(batch)
		}
		s.commit(batch)
	}
}

// gather adds to batch the records waiting, up to maxBatch, without waiting.
func (s *Store) gather(batch []*request) []*request {
	for len(batch) < maxBatch {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit applies the batch's records in order (refusing those the state does
// not allow), appends them to the journal with one write and one fdatasync,
// and then answers every caller.
func (s *Store) commit(batch []*request) {
	if s.failed == nil && s.pg == nil {
		if err := s.lock.mayWrite(); err != nil {
			s.failed = fmt.Errorf("lock state %s: %w; no change can be recorded", s.path, err)
		}
	}
	if s.failed == nil && s.j == nil && s.pg == nil {
		if err := s.startJournal(); err != nil {
			s.failed = fmt.Errorf("start state journal: %w; no change can be recorded", err)
		}
	}
	if s.failed != nil {
		for _, req := range batch {
			req.err = s.failed
			close(req.done)
		}
		return
	}
	s.buf = s.buf[:0]
	pending := batch[:0]
	if s.pg != nil && s.st.Lineage() == "" {
		s.st.mu.Lock()
		s.st.lineage, s.pg.fresh = newLineage(), true
		s.st.mu.Unlock()
	}
	s.st.mu.Lock()
	for _, req := range batch {
		n, err := s.st.apply(&req.rec)
		if err != nil {
			req.err = err
			close(req.done)
			continue
		}
		// The state changes before the records are durable, and a reader
		// may see them a moment early; but no caller hears of its record
		// before the sync, and a failed sync stops the store for good.
		s.st.serial++
		s.st.noteChange(&req.rec)
		if s.pg != nil {
			s.pg.add(&req.rec, s.st.serial)
		} else {
			s.buf, s.jcrc = appendFramed(s.buf, s.jcrc, &req.rec)
		}
		req.n = n
		pending = append(pending, req)
	}
	s.st.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	if s.pg != nil {
		s.syncs.Add(1)
		if err := s.pg.write(s.st); err != nil {
			s.failed = fmt.Errorf("%w; no later change can be recorded", err)
		}
		for _, req := range pending {
			req.err = s.failed
			close(req.done)
		}
		return
	}
	_, err := s.j.Write(s.buf)
	if err == nil {
		s.syncs.Add(1)
		err = syncData(s.j)
	}
	if err != nil {
		s.failed = fmt.Errorf("write state journal %s.wal: %w; no later change can be recorded", s.path, err)
	}
	s.jsize += int64(len(s.buf))
	for _, req := range pending {
		req.err = s.failed
		close(req.done)
	}
	if s.failed == nil && s.jsize >= s.compactAt {
		if err := s.compact(); err != nil {
			s.failed = fmt.Errorf("%w; no later change can be recorded", err)
		}
	}
}

// startJournal replaces the journal with an empty one that continues the
// current serial, giving the state its lineage if it has none yet.
func (s *Store) startJournal() error {
	if s.st.Lineage() == "" {
		s.st.mu.Lock()
		s.st.lineage = newLineage()
		s.st.mu.Unlock()
	}
	wal := s.path + ".wal"
	tmp := wal + ".tmp"
	h := header{Format: formatJournal, Version: Version, Lineage: s.st.Lineage(), Serial: s.st.Serial()}
	b, crc := appendHeader(nil, h)
	err := writeNew(tmp, func(w *bufio.Writer) error {
		_, err := w.Write(b)
		return err
	})
	steps := []func() error{
		func() error { return crashPoint("journal-written") },
		func() error { return os.Rename(tmp, wal) },
		func() error { return crashPoint("journal-renamed") },
		// The new journal must be in place on disk before records that
		// callers are told are durable go into it.
		func() error { return syncDir(wal) },
	}
	for _, step := range steps {
		if err != nil {
			break
		}
		err = step()
	}
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(wal, os.O_WRONLY|os.O_APPEND, 0o600)
	}
	if err != nil {
		return fmt.Errorf("start journal %s: %w", wal, err)
	}
	if s.j != nil {
		s.j.Close()
	}
	s.j, s.jsize, s.jcrc, s.jbase, s.imaged = f, int64(len(b)), crc, h.Serial, 0
	return nil
}

// compact writes the state as a new snapshot (keeping the old one as the
// backup) and starts an empty journal. Each step leaves files that load to
// the same state, so a crash anywhere in it loses nothing:
//
//  1. PATH.tmp is written and synced: ignored by load, removed by Open.
//  2. PATH.backup is replaced by the current snapshot (a hard link, or a
//     copy where links are not supported): load does not read it.
//  3. PATH.tmp is renamed over PATH and the directory synced: the snapshot
//     now holds what the journal holds, and load skips the journal records
//     it already has.
//  4. A new journal continuing the new serial replaces PATH.wal.
func (s *Store) compact() error {
	tmp := s.path + ".tmp"
	serial := s.st.Serial()
	err := s.lock.mayWrite()
	var tail uint32 // the CRC on the snapshot's last line
	if err == nil {
		err = writeNew(tmp, func(w *bufio.Writer) (err error) {
			tail, err = writeSnapshot(w, s.st)
			return err
		})
	}
	steps := []func() error{
		func() error { return crashPoint("snapshot-written") },
		func() error {
			if !s.snapshot {
				return nil
			}
			return replaceBackup(s.path)
		},
		func() error { return crashPoint("backup-replaced") },
		func() error { return os.Rename(tmp, s.path) },
		func() error { return crashPoint("snapshot-renamed") },
		// The snapshot must be in place on disk before the journal that
		// continues it replaces the old one.
		func() error { return syncDir(s.path) },
		func() error { return crashPoint("snapshot-synced") },
	}
	for _, step := range steps {
		if err != nil {
			break
		}
		err = step()
	}
	var fi os.FileInfo
	if err == nil {
		fi, err = os.Stat(s.path)
	}
	if err == nil {
		s.snapshot, s.snapSerial, s.snapSize = true, serial, fi.Size()
		// Without an image the next load reads the snapshot, as it does
		// one the image does not name; it is a cache, and not worth
		// failing a compaction for.
		_ = writeImage(s.path, s.st, fi, tail, nil)
		err = s.startJournal()
	}
	if err != nil {
		return fmt.Errorf("compact state %s (the journal still holds every record): %w", s.path, err)
	}
	return nil
}

// replaceBackup makes the snapshot at path its backup, atomically.
func replaceBackup(path string) error {
	b := backupOf(path)
	tmp := b + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := linkFile(path, tmp); err != nil {
		// Some filesystems have no hard links; a synced copy does as well.
		if err := copyFile(path, tmp); err != nil {
			return err
		}
	}
	return os.Rename(tmp, b)
}

// writeSnapshot writes st in address order, then its opt-outs by phone,
// and returns the CRC on its last line.
func writeSnapshot(w *bufio.Writer, st *State) (uint32, error) {
	optOuts := st.OptOuts()
	buf, crc := appendHeader(nil, header{Format: formatState, Version: Version,
		Lineage: st.Lineage(), Serial: st.Serial(), Messages: st.messages(), OptOuts: len(optOuts), Inbound: millis(st.InboundRead())})
	if _, err := w.Write(buf); err != nil {
		return 0, err
	}
	for s := range st.Sends(addrs.Pattern{}) {
		buf, crc = appendFramed(buf[:0], crc, &record{op: opSend, send: s})
		if _, err := w.Write(buf); err != nil {
			return 0, err
		}
	}
	for _, o := range optOuts {
		buf, crc = appendFramed(buf[:0], crc, &record{op: opOptOut, optOut: o})
		if _, err := w.Write(buf); err != nil {
			return 0, err
		}
	}
	return crc, nil
}

// checkID reports why s cannot be stored as the named identifier.
func checkID(what, s string, required bool) error {
	if s == "" && required {
		return fmt.Errorf("%s is empty", what)
	}
	return checkText(what, s)
}

// maxField is the longest key, phone number, id or error code the state
// accepts, in bytes. Longer error messages are shortened to it.
const maxField = addrs.MaxKey

// checkText reports why s cannot be stored as the named field, or nil.
func checkText(what, s string) error {
	switch {
	case len(s) > maxField:
		return fmt.Errorf("%s is longer than %d bytes", what, maxField)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	return nil
}

// cleanText makes free text storable: valid UTF-8 of at most limit bytes.
func cleanText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	s = s[:limit]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
