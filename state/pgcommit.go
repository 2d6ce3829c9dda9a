package state

import (
	"context"
	"encoding/binary"
	"time"
)

// Group commit on PostgreSQL.
//
// A commit is most of the server's work for a record — its WAL flush (an
// fdatasync), the transaction, the round trip — and most of the client's
// (BENCHMARKS.md, issue 11). A file's fdatasync groups the records that
// arrive while the previous one runs; a commit is too short for that at a
// steady 1,000 sends/s, where records come one at a time, half a
// millisecond apart. So on PostgreSQL a batch waits a moment for company
// before it commits. The durability rules keep their meaning: an intent is
// still committed before its request leaves (at most pgRecordLinger later),
// and a result before the call recording it returns.
const (
	// pgResultLinger bounds the wait of a batch of results only. Nothing
	// waits on a result but its caller's next send, which is a provider
	// round trip (~100 ms) away in any case.
	pgResultLinger = 5 * time.Millisecond
	// pgRecordLinger bounds the wait of a batch holding anything else,
	// from when the first such record came: an intent's request leaves
	// only after its commit.
	pgRecordLinger = 2 * time.Millisecond
)

// pgLinger decides whether a batch waits. Batches wait only while waiting
// pays: a wait that ended without company stops the waits (a lone caller
// recording one record after another, such as refresh deciding unknown
// sends, would otherwise pay the whole wait on every record), and a batch
// that found company without waiting — callers concurrent enough to meet in
// the queue — starts them again. It starts off, so a lone caller never
// waits.
type pgLinger struct {
	on bool
}

// limit returns how long batch, just gathered from the queue, may wait
// for company: 0 when it commits at once.
func (l *pgLinger) limit(batch []*request) time.Duration {
	if len(batch) > 1 {
		l.on = true
	}
	switch {
	case !l.on || len(batch) >= maxBatch:
		return 0
	case onlyResults(batch):
		return pgResultLinger
	default:
		return pgRecordLinger
	}
}

// ended notes how a wait ended: whether any record joined the batch.
func (l *pgLinger) ended(joined bool) {
	if !joined {
		l.on = false
	}
}

// linger returns batch once it has waited for company as long as pgLinger
// allows, with every record that came meanwhile (up to maxBatch).
func (s *Store) linger(batch []*request) []*request {
	l := &s.pg.linger
	wait := l.limit(batch)
	if wait == 0 {
		return batch
	}
	deadline := time.Now().Add(wait)
	urgent := wait == pgRecordLinger
	timer := time.NewTimer(wait)
	defer timer.Stop()
	before := len(batch)
	for len(batch) < maxBatch {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return batch
			}
			from := len(batch)
			batch = s.gather(append(batch, r))
			if !urgent && !onlyResults(batch[from:]) {
				// A record that must not wait as long shortens the wait.
				urgent = true
				if d := time.Now().Add(pgRecordLinger); d.Before(deadline) {
					timer.Reset(time.Until(d))
				}
			}
		case <-timer.C:
			l.ended(len(batch) > before)
			return batch
		}
	}
	return batch
}

// onlyResults reports whether every record of batch is a result.
func onlyResults(batch []*request) bool {
	for _, r := range batch {
		if r.rec.op != opResult {
			return false
		}
	}
	return true
}

// The journal rows of a batch go to the server as two arrays in
// PostgreSQL's binary format, built as the records are queued: no
// per-record allocation, no type mapping, one prepared statement.
const (
	pgJournalInsert = "ujumbe_journal_insert" // the prepared statement's name
	pgArrayHeader   = 20                      // ndim, flags, element type, length, lower bound
	pgOIDInt8       = 20
	pgOIDText       = 25
)

// pgArray is a one-dimensional array without NULLs in PostgreSQL's binary
// format, its header written when it is sent.
type pgArray struct {
	b   []byte
	n   int32
	oid uint32
}

func (a *pgArray) reset() {
	a.b = append(a.b[:0], make([]byte, pgArrayHeader)...)
	a.n = 0
}

// appendInt8 adds v.
func (a *pgArray) appendInt8(v int64) {
	a.b = binary.BigEndian.AppendUint32(a.b, 8)
	a.b = binary.BigEndian.AppendUint64(a.b, uint64(v))
	a.n++
}

// appendRecord adds r's encoding as a text element.
func (a *pgArray) appendRecord(r *record) {
	at := len(a.b)
	a.b = appendRecord(append(a.b, 0, 0, 0, 0), r)
	binary.BigEndian.PutUint32(a.b[at:], uint32(len(a.b)-at-4))
	a.n++
}

// bytes returns the array, its header filled in.
func (a *pgArray) bytes() []byte {
	h := a.b[:pgArrayHeader]
	binary.BigEndian.PutUint32(h[0:], 1) // one dimension
	binary.BigEndian.PutUint32(h[4:], 0) // no NULLs
	binary.BigEndian.PutUint32(h[8:], a.oid)
	binary.BigEndian.PutUint32(h[12:], uint32(a.n))
	binary.BigEndian.PutUint32(h[16:], 1) // lower bound
	return a.b
}

// prepare readies the statement that inserts a batch's journal rows.
func (j *pgJournal) prepare(ctx context.Context) error {
	j.serials, j.recs = pgArray{oid: pgOIDInt8}, pgArray{oid: pgOIDText}
	j.serials.reset()
	j.recs.reset()
	_, err := j.conn.PgConn().Prepare(ctx, pgJournalInsert,
		`INSERT INTO `+j.schema+`.journal (serial, rec) SELECT * FROM unnest($1::bigint[], $2::text[])`, nil)
	return err
}

// add queues r, the state's record of serial, for the next write.
func (j *pgJournal) add(r *record, serial uint64) {
	j.serials.appendInt8(int64(serial))
	j.recs.appendRecord(r)
	j.touch(r)
}

// write commits the queued records with one statement: one round trip and
// one transaction for the batch, durable when it returns (the server's
// synchronous_commit decides what durable means, as fsync does for a file).
func (j *pgJournal) write(st *State) error {
	defer func() { j.serials.reset(); j.recs.reset() }()
	ctx, cancel := context.WithTimeout(context.Background(), pgWriteTimeout)
	defer cancel()
	insert := func() error {
		_, err := j.conn.PgConn().ExecPrepared(ctx, pgJournalInsert,
			[][]byte{j.serials.bytes(), j.recs.bytes()}, []int16{1, 1}, nil).Close()
		return err
	}
	var err error
	if j.fresh {
		// The lineage and the first records are committed together.
		tx, berr := j.conn.Begin(ctx)
		if err = berr; err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO `+j.schema+`.meta (id, lineage, serial) VALUES (1, $1, $2)`, st.Lineage(), int64(j.base))
			if err == nil {
				err = insert()
			}
			if err == nil {
				err = tx.Commit(ctx)
			} else {
				tx.Rollback(ctx)
			}
		}
	} else {
		err = insert()
	}
	if err != nil {
		return pgError(j.pg, "write", err)
	}
	j.fresh = false
	return nil
}
