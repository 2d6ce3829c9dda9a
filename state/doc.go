// Package state owns ujumbe's record of every send: the model (Send,
// Outcome, each send under its addrs.Addr; opt-outs; how far refresh has
// read the inbound messages, State.InboundRead), its files on disk, durable
// writes and the lock. It is the part that makes "never send twice, never
// lose a message_id" (SPEC §4) true.
//
// The rest of the program sees a small interface: Read loads a state without
// locking it (plan, show); Open locks and loads it for writing (apply,
// refresh, state rm|mv) and returns a Store whose RecordIntent and
// RecordResult return only once the record is on disk; Close compacts the
// files and releases the lock. Nobody outside this package knows the file
// layout, which is, for a state at PATH:
//
//	PATH         snapshot: the records that rebuild the state from nothing
//	PATH.backup  the previous snapshot
//	PATH.wal     journal: every change since the snapshot, appended
//	PATH.lock    stable lock file (flock) holding the holder's description
//
// A state without files is empty; but a missing snapshot whose backup, or
// whose lock file's description of a run that died after it may have
// written, remains is ErrMissing, never an empty state (a journal alone is a
// first run not yet compacted; a run that died before writing anything says
// so in its description, and leaves a fresh start).
//
// Snapshot and journal are text files of checksummed lines, each
// "CRC SP JSON LF" where CRC is a chained CRC-32C in eight hex digits, so
// they can be read with cut and jq, a torn last line is told apart from
// damage in the middle, and a lost or reordered line is detected. A
// snapshot is only ever replaced whole (temporary file, fsync, rename,
// fsync of the directory); the journal is only appended to, one fdatasync
// per group of concurrent records.
//
// A state can live in PostgreSQL instead (OpenPG, ReadPG; one schema holds
// one state). The Store is the same, with the same in-memory State and the
// same record encoding; only where a batch of records goes changes. The
// schema, created and upgraded by versioned migrations under a transaction
// advisory lock (so two hosts starting at once take turns), holds:
//
//	meta         lineage, the serial the sends and opt_outs rows hold,
//	             and how far refresh read the inbound messages (inbound)
//	sends        one row per send, keyed by (campaign, message, key): its
//	             snapshot record, as a snapshot file line holds it
//	opt_outs     one row per phone, likewise
//	journal      every record since, keyed by serial: the journal's lines
//	lock_holder  the description of the run holding the lock
//
// Records are rows of the journal's own encoding rather than columns
// because the state already knows how to replay them exactly (refusals,
// attempt history, moves as one record), and a batch of them is one
// prepared INSERT of two arrays in the binary format: one round trip and one
// commit per group of concurrent records, however large, as one fdatasync
// is for a file. A commit is most of the work for a record, on the server
// and in the client, so while concurrent callers keep meeting in the queue
// a batch waits for company before it commits: up to 5 ms when it holds
// results only, up to 2 ms when it holds an intent (whose request leaves
// only after the commit). At 1,000 sends/s four to five sends share a
// commit; a lone caller never waits. Close folds the
// journal into the sends rows it changed (all of them after an rm or mv) in
// one transaction, so a plan reads one row per send.
//
// The writer holds a session advisory lock (pg_try_advisory_lock on
// hashtext(schema)) on the very connection every record goes through: if
// the process dies the server releases it, and if the connection is lost
// the next commit fails and the Store stops for good, as after a failed
// fdatasync; nothing is ever written through another session. A reader
// loads in one repeatable-read transaction, so it sees one moment.
//
// A Store's State can also list what it recorded (TrackChanges,
// TakeChanges: the addresses and opt-out phones, or All after rm or mv),
// so that apply -wait plans again only what changed.
//
// Package state must not: import ujumbe packages other than addrs and
// inputfile (nor hcl or cty: the state is not the configuration), do
// network I/O other than to its own database, print anything, or store
// secrets (no API takes one). It does not decide
// what to send; it refuses only transitions that would break the rules, such
// as a second intent for a send already accepted.
package state
