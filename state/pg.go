package state

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ujumbe/ujumbe/addrs"
)

// PG says where a state lives in PostgreSQL: one schema holds one state.
type PG struct {
	// ConnStr is a libpq connection string or URL. It may carry a password,
	// so it is never printed: String names host, database and schema only.
	ConnStr string
	Schema  string
}

// String names the state's database for messages: host, database and
// schema, never the user's password.
func (p PG) String() string {
	c, err := pgx.ParseConfig(p.ConnStr)
	if err != nil {
		return fmt.Sprintf("PostgreSQL schema %q (the connection string does not parse)", p.Schema)
	}
	return fmt.Sprintf("PostgreSQL host %s database %s schema %s", c.Host, c.Database, p.Schema)
}

// Advisory lock classes (the first key of the two-key form); the second key
// is hashtext(schema).
const (
	pgLockClass    = 0x756a756d // "ujum": the writer's session lock
	pgMigrateClass = 0x756a756e // schema migrations, a transaction lock
)

const (
	// pgWriteTimeout bounds one commit: a database that stops answering
	// stops the run as a failed fdatasync does.
	pgWriteTimeout = 30 * time.Second
	// pgChunk bounds the rows one statement writes at compaction.
	pgChunk = 10000
)

// pgMigrations are the schema's versions, each run once, in order, in the
// transaction that records it. %[1]s is the quoted schema name. Never edit a
// migration that has shipped: add one.
var pgMigrations = []string{
	1: `CREATE TABLE %[1]s.meta (
		id      int PRIMARY KEY CHECK (id = 1),
		lineage text NOT NULL,
		serial  bigint NOT NULL
	);
	CREATE TABLE %[1]s.sends (
		campaign text NOT NULL,
		message  text NOT NULL,
		key      text NOT NULL,
		rec      text NOT NULL,
		PRIMARY KEY (campaign, message, key)
	);
	CREATE TABLE %[1]s.opt_outs (
		phone text PRIMARY KEY,
		rec   text NOT NULL
	);
	CREATE TABLE %[1]s.journal (
		serial bigint PRIMARY KEY,
		rec    text NOT NULL
	);
	CREATE TABLE %[1]s.lock_holder (
		id          int PRIMARY KEY CHECK (id = 1),
		backend_pid int NOT NULL,
		info        jsonb NOT NULL
	);`,
	// Records may carry a send's variant ("vr", state format version 3),
	// which an older ujumbe would refuse as an unknown field: the schema's
	// version makes it say that a newer ujumbe wrote the state instead.
	2: `COMMENT ON COLUMN %[1]s.sends.rec IS 'a ujumbe state record, format version 3 (vr: the variant sent)'`,
	// The same for the fingerprint of a send's inputs ("in", version 4).
	3: `COMMENT ON COLUMN %[1]s.sends.rec IS 'a ujumbe state record, format version 4 (in: the inputs fingerprint)'`,
	// And for attempts that failed for the run's reasons ("sy", version 5).
	4: `COMMENT ON COLUMN %[1]s.sends.rec IS 'a ujumbe state record, format version 5 (sy: failed for the run''s reasons)'`,
	// And for what a send was ("kd", version 6).
	5: `COMMENT ON COLUMN %[1]s.sends.rec IS 'a ujumbe state record, format version 6 (kd: template, text, media or interactive)'`,
	// And for the journal's records of accepted sends refused later
	// ("defer", version 7).
	6: `COMMENT ON COLUMN %[1]s.journal.rec IS 'a ujumbe state record, format version 7 (op defer: an accepted send refused later)'`,
	// How far refresh has read the inbound messages (State.InboundRead,
	// Unix ms; the journal's op inbound records, version 8).
	7: `ALTER TABLE %[1]s.meta ADD COLUMN inbound bigint;
	COMMENT ON COLUMN %[1]s.journal.rec IS 'a ujumbe state record, format version 8 (op inbound: how far refresh read the inbound messages)'`,
}

// pgJournal is where a Store on PostgreSQL writes: the connection that holds
// the advisory lock, so that no write can outlive the lock.
type pgJournal struct {
	pg     PG
	schema string // quoted
	conn   *pgx.Conn
	holder LockInfo
	base   uint64 // the serial the sends table holds

	serials pgArray // the batch being committed: its journal rows
	recs    pgArray
	linger  pgLinger
	buf     []byte
	fresh   bool // the state got its lineage in this batch

	touched map[addrs.Addr]struct{} // sends changed since the sends table's serial
	phones  map[string]struct{}     // opt-outs likewise
	inbound bool                    // State.InboundRead likewise
	rewrite bool                    // a rm or mv: every row is rewritten at close
}

// pgError wraps err from the database at pg, with the password removed from
// anything the driver put in its message.
func pgError(pg PG, what string, err error) error {
	msg := err.Error()
	if c, perr := pgx.ParseConfig(pg.ConnStr); perr == nil && c.Password != "" {
		msg = strings.ReplaceAll(msg, c.Password, "********")
	}
	return &redacted{msg: fmt.Sprintf("%s state in %s: %s", what, pg, msg), err: err}
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// connect opens a session with the database and brings its schema up to
// date.
func connect(ctx context.Context, pg PG) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(pg.ConnStr)
	if err != nil {
		return nil, pgError(pg, "open", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	cfg.RuntimeParams["application_name"] = "ujumbe"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, pgError(pg, "open", err)
	}
	// The writer's lock lives as long as its session. The server's default
	// keepalive notices a vanished client (a cron host powered off, its
	// network gone) after two hours, and every run meanwhile finds the
	// state locked; with these, within about two minutes. Not fatal when
	// refused (a pooler that passes no SET): the default stays.
	for _, set := range []string{"SET tcp_keepalives_idle = 60", "SET tcp_keepalives_interval = 10", "SET tcp_keepalives_count = 6", "SET tcp_user_timeout = 120000"} {
		if _, err := conn.Exec(ctx, set); err != nil {
			break
		}
	}
	if err := migrate(ctx, conn, pg); err != nil {
		conn.Close(context.Background())
		return nil, pgError(pg, "migrate", err)
	}
	return conn, nil
}

// migrate creates the schema or upgrades it, under a transaction-level
// advisory lock so that runs starting together on several hosts take turns.
func migrate(ctx context.Context, conn *pgx.Conn, pg PG) error {
	schema := pgx.Identifier{pg.Schema}.Sanitize()
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, pgMigrateClass, pg.Schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+schema+`.schema_migrations (
			version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		have, err := schemaVersion(ctx, tx, schema)
		if err != nil {
			return err
		}
		for v := have + 1; v < len(pgMigrations); v++ {
			// The simple protocol runs a migration's several statements.
			if _, err := tx.Conn().PgConn().Exec(ctx, fmt.Sprintf(pgMigrations[v], schema)).ReadAll(); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+schema+`.schema_migrations (version) VALUES ($1)`, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// schemaVersion returns the version of the schema, or an error when a newer
// ujumbe wrote it than this one can read.
func schemaVersion(ctx context.Context, tx pgx.Tx, schema string) (int, error) {
	var have int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+schema+`.schema_migrations`).Scan(&have); err != nil {
		return 0, err
	}
	if have > len(pgMigrations)-1 {
		return have, fmt.Errorf("the schema is at version %d, written by a newer ujumbe (this one knows up to %d); upgrade ujumbe", have, len(pgMigrations)-1)
	}
	return have, nil
}

// OpenPG locks the state in pg (waiting up to opts.LockTimeout for another
// run to release it) and loads it, as Open does for a file. The lock is a
// session advisory lock held on the connection every record is written
// through, so the server releases it if this process dies, and a lost
// connection fails every later record.
func OpenPG(ctx context.Context, pg PG, opts Options) (*Store, []Warning, error) {
	s := &Store{now: opts.Now, reqs: make(chan *request, maxBatch), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	conn, err := connect(ctx, pg)
	if err != nil {
		return nil, nil, err
	}
	j := &pgJournal{pg: pg, schema: pgx.Identifier{pg.Schema}.Sanitize(), conn: conn,
		holder: newLockInfo(opts.Operation, s.now()), touched: map[addrs.Addr]struct{}{}, phones: map[string]struct{}{}}
	if err := j.lock(ctx, opts.LockTimeout); err != nil {
		conn.Close(context.Background())
		return nil, nil, err
	}
	if err := j.prepare(ctx); err != nil {
		conn.Close(context.Background())
		return nil, nil, pgError(pg, "open", err)
	}
	st, base, err := pgLoad(ctx, conn, pg, j.touch)
	if err != nil {
		conn.Close(context.Background())
		return nil, nil, err
	}
	s.st, j.base, s.pg = st, base, j
	go s.run()
	return s, nil, nil
}

// ReadPG loads the state in pg without locking it, for commands that only
// look. It reads in one repeatable-read transaction, so it sees the state as
// of one moment.
func ReadPG(ctx context.Context, pg PG) (*State, error) {
	conn, err := connect(ctx, pg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	st, _, err := pgLoad(ctx, conn, pg, nil)
	if err != nil {
		return nil, err
	}
	st.frozen = true // no Store writes into it
	return st, nil
}

// lock takes the session advisory lock, waiting up to timeout, and then
// describes this run in the lock_holder row for a run that finds it taken.
func (j *pgJournal) lock(ctx context.Context, timeout time.Duration) error {
	start := time.Now()
	delay := lockFirstDelay
	for {
		var ok bool
		if err := j.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, pgLockClass, j.pg.Schema).Scan(&ok); err != nil {
			return pgError(j.pg, "lock", err)
		}
		if ok {
			break
		}
		waited := time.Since(start)
		if waited >= timeout {
			return &LockError{Path: j.pg.String(), Waited: timeout, Holder: j.holderInfo(ctx)}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock state in %s: %w", j.pg, ctx.Err())
		case <-time.After(min(delay, timeout-waited)):
		}
		delay = min(2*delay, lockMaxDelay)
	}
	js, _ := json.Marshal(j.holder)
	_, err := j.conn.Exec(ctx, `INSERT INTO `+j.schema+`.lock_holder (id, backend_pid, info) VALUES (1, pg_backend_pid(), $1)
		ON CONFLICT (id) DO UPDATE SET backend_pid = excluded.backend_pid, info = excluded.info`, js)
	if err != nil {
		return pgError(j.pg, "lock", err)
	}
	return nil
}

// holderInfo returns the description of the run holding the lock, or nil.
// The row is only believed while its session holds the lock: a run that
// died leaves its row behind. A holder that has just taken the lock writes
// its row a moment later, so an absent row is looked for again, briefly.
func (j *pgJournal) holderInfo(ctx context.Context) *LockInfo {
	for range 20 {
		var js []byte
		err := j.conn.QueryRow(ctx, `SELECT h.info FROM `+j.schema+`.lock_holder h JOIN pg_locks l ON l.pid = h.backend_pid
			WHERE h.id = 1 AND l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.classid = $1::int4::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2`, pgLockClass, j.pg.Schema).Scan(&js)
		if err == nil {
			var h LockInfo
			if json.Unmarshal(js, &h) != nil {
				return nil
			}
			return &h
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(25 * time.Millisecond):
		}
	}
	return nil
}

// pgLoad reads the state: the sends and opt-outs as of the sends table's
// serial, then the journal after it. touch, if not nil, hears of every
// journal record, which a later compaction must write.
func pgLoad(ctx context.Context, conn *pgx.Conn, pg PG, touch func(*record)) (*State, uint64, error) {
	st := newState()
	var base uint64
	schema := pgx.Identifier{pg.Schema}.Sanitize()
	corrupt := func(table string, format string, args ...any) error {
		return &CorruptError{State: pg.String(), File: "table " + table, Problem: fmt.Sprintf(format, args...), pg: true}
	}
	err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// Again, as of the read: a newer ujumbe may have upgraded the
		// schema since connect did, while this run waited for the lock,
		// and its rows are not damaged, only newer.
		if _, err := schemaVersion(ctx, tx, schema); err != nil {
			return err
		}
		var serial int64
		var inbound *int64
		err := tx.QueryRow(ctx, `SELECT lineage, serial, inbound FROM `+schema+`.meta WHERE id = 1`).Scan(&st.lineage, &serial, &inbound)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if inbound != nil {
			st.inbound = fromMillis(*inbound)
		}
		base = uint64(serial)
		st.serial = base
		d := newDecoder()
		each := func(table, query string, fn func(payload []byte) error) error {
			rows, err := tx.Query(ctx, query)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := fn(rows.RawValues()[0]); err != nil {
					return corrupt(table, "%v", err)
				}
			}
			return rows.Err()
		}
		// Each message's recs and index are made at their final size, as
		// readSnapshot does: growing them to a million sends would cost
		// more than counting them first.
		err = func() error {
			rows, err := tx.Query(ctx, `SELECT campaign, message, count(*) FROM `+schema+`.sends GROUP BY campaign, message`)
			if err != nil {
				return err
			}
			defer rows.Close()
			counts := map[*group]int{}
			for rows.Next() {
				var c, m string
				var n int
				if err := rows.Scan(&c, &m, &n); err != nil {
					return err
				}
				counts[st.group(c, m, true)] = n
			}
			// Sized once every message has its column, so that a
			// campaign's table is made once.
			for g, n := range counts {
				g.recs = make([]rec, 0, n)
				g.index.reserve(n + n/4)
			}
			return rows.Err()
		}()
		if err == nil {
			err = each("sends", `SELECT rec FROM `+schema+`.sends`, func(p []byte) error {
				r, err := d.record(p)
				if err == nil && r.op != opSend {
					err = fmt.Errorf("a %s record among the sends", opNames[r.op])
				}
				if err != nil {
					return err
				}
				g, pos := st.lookup(r.send.Addr)
				if pos >= 0 {
					return fmt.Errorf("%s appears twice", r.send.Addr)
				}
				if g == nil || len(g.recs) == cap(g.recs) {
					return errors.New("more sends than counted")
				}
				st.put(&r.send, -1)
				return nil
			})
		}
		if err == nil {
			err = each("opt_outs", `SELECT rec FROM `+schema+`.opt_outs`, func(p []byte) error {
				r, err := d.record(p)
				if err == nil && r.op != opOptOut {
					err = fmt.Errorf("a %s record among the opt-outs", opNames[r.op])
				}
				if err == nil {
					_, err = st.apply(&r)
				}
				return err
			})
		}
		if err == nil {
			err = replayPG(ctx, tx, schema, st, d, touch)
			if ce := (*CorruptError)(nil); errors.As(err, &ce) {
				ce.State, ce.pg = pg.String(), true
			}
		}
		return err
	})
	if ce := (*CorruptError)(nil); errors.As(err, &ce) {
		return nil, 0, err
	}
	if err != nil {
		return nil, 0, pgError(pg, "read", err)
	}
	return st, base, nil
}

// touch notes what r changes, for the compaction at close.
func (j *pgJournal) touch(r *record) {
	switch r.op {
	case opOptOut:
		j.phones[r.optOut.Phone] = struct{}{}
	case opInbound:
		j.inbound = true
	case opRemove, opMove:
		j.rewrite = true
	default:
		j.touched[r.send.Addr] = struct{}{}
	}
}

// close folds the journal into the sends and opt-out rows (unless the run
// failed: then what was committed stays as it is), and releases the lock.
func (j *pgJournal) close(st *State, failed bool) error {
	ctx := context.Background()
	var err error
	if !failed && (j.rewrite || len(j.touched) > 0 || len(j.phones) > 0 || j.inbound) {
		err = pgx.BeginFunc(ctx, j.conn, func(tx pgx.Tx) error { return j.compact(ctx, tx, st) })
		if err != nil {
			err = pgError(j.pg, "compact", err)
		}
	}
	if !failed {
		// Closing the session releases the lock too; unlocking first lets
		// the next run in before the connection's teardown.
		_, uerr := j.conn.Exec(ctx, `DELETE FROM `+j.schema+`.lock_holder WHERE info->>'id' = $1`, j.holder.ID)
		if uerr == nil {
			_, uerr = j.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, pgLockClass, j.pg.Schema)
		}
		if uerr != nil && err == nil {
			err = pgError(j.pg, "unlock", uerr)
		}
	}
	if cerr := j.conn.Close(ctx); cerr != nil && err == nil {
		err = pgError(j.pg, "close", cerr)
	}
	return err
}

// compact writes the rows of what changed (or of everything) and drops the
// journal records they now hold, in one transaction.
func (j *pgJournal) compact(ctx context.Context, tx pgx.Tx, st *State) error {
	if j.rewrite {
		if err := j.copyAll(ctx, tx, st); err != nil {
			return err
		}
		j.touched, j.phones = nil, nil
	}
	// Rows to upsert (up) and addresses to delete (del), a chunk at a time.
	type rows struct{ c, m, k, rec []string }
	var up, del rows
	flush := func(final bool) error {
		if n := len(up.c); n >= pgChunk || final && n > 0 {
			_, err := tx.Exec(ctx, `INSERT INTO `+j.schema+`.sends (campaign, message, key, rec)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
				ON CONFLICT (campaign, message, key) DO UPDATE SET rec = excluded.rec`, up.c, up.m, up.k, up.rec)
			if err != nil {
				return err
			}
			up = rows{up.c[:0], up.m[:0], up.k[:0], up.rec[:0]}
		}
		if n := len(del.c); n >= pgChunk || final && n > 0 {
			_, err := tx.Exec(ctx, `DELETE FROM `+j.schema+`.sends s
				USING unnest($1::text[], $2::text[], $3::text[]) AS d(c, m, k)
				WHERE s.campaign = d.c AND s.message = d.m AND s.key = d.k`, del.c, del.m, del.k)
			if err != nil {
				return err
			}
			del = rows{del.c[:0], del.m[:0], del.k[:0], nil}
		}
		return nil
	}
	for a := range j.touched {
		to := &del
		if s, ok := st.Get(a); ok {
			to = &up
			j.buf = appendRecord(j.buf[:0], &record{op: opSend, send: s})
			up.rec = append(up.rec, string(j.buf))
		}
		to.c, to.m, to.k = append(to.c, a.Campaign), append(to.m, a.Message), append(to.k, a.Key)
		if err := flush(false); err != nil {
			return err
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	var phones, orecs []string
	for p := range j.phones {
		if o, ok := st.OptOut(p); ok {
			j.buf = appendRecord(j.buf[:0], &record{op: opOptOut, optOut: o})
			phones, orecs = append(phones, p), append(orecs, string(j.buf))
		}
	}
	if len(phones) > 0 {
		_, err := tx.Exec(ctx, `INSERT INTO `+j.schema+`.opt_outs (phone, rec) SELECT * FROM unnest($1::text[], $2::text[])
			ON CONFLICT (phone) DO UPDATE SET rec = excluded.rec`, phones, orecs)
		if err != nil {
			return err
		}
	}
	serial := int64(st.Serial())
	if j.rewrite {
		// A forced push may replace a state that had gone further.
		serial = math.MaxInt64
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+j.schema+`.journal WHERE serial <= $1`, serial); err != nil {
		return err
	}
	var inbound *int64
	if t := st.InboundRead(); !t.IsZero() {
		ms := millis(t)
		inbound = &ms
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+j.schema+`.meta (id, lineage, serial, inbound) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET lineage = excluded.lineage, serial = excluded.serial, inbound = excluded.inbound`,
		st.Lineage(), int64(st.Serial()), inbound)
	return err
}

// copyAll replaces every sends and opt_outs row with st's, by COPY.
func (j *pgJournal) copyAll(ctx context.Context, tx pgx.Tx, st *State) error {
	for _, table := range []string{"sends", "opt_outs"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+j.schema+`.`+table); err != nil {
			return err
		}
	}
	next, stop := iter.Pull(st.Sends(addrs.Pattern{}))
	defer stop()
	var row [4]any
	_, err := tx.CopyFrom(ctx, pgx.Identifier{j.pg.Schema, "sends"}, []string{"campaign", "message", "key", "rec"},
		pgx.CopyFromFunc(func() ([]any, error) {
			s, ok := next()
			if !ok {
				return nil, nil
			}
			j.buf = appendRecord(j.buf[:0], &record{op: opSend, send: s})
			row = [4]any{s.Addr.Campaign, s.Addr.Message, s.Addr.Key, string(j.buf)}
			return row[:], nil
		}))
	if err != nil {
		return err
	}
	optOuts := st.OptOuts()
	_, err = tx.CopyFrom(ctx, pgx.Identifier{j.pg.Schema, "opt_outs"}, []string{"phone", "rec"},
		pgx.CopyFromSlice(len(optOuts), func(i int) ([]any, error) {
			return []any{optOuts[i].Phone, string(appendRecord(nil, &record{op: opOptOut, optOut: optOuts[i]}))}, nil
		}))
	return err
}

// replayPG applies the journal records after st's serial, in order.
func replayPG(ctx context.Context, tx pgx.Tx, schema string, st *State, d *decoder, touch func(*record)) error {
	rows, err := tx.Query(ctx, `SELECT serial, rec FROM `+schema+`.journal WHERE serial > $1 ORDER BY serial`, int64(st.serial))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var serial int64
		var payload []byte
		if err := rows.Scan(&serial, &payload); err != nil {
			return err
		}
		corrupt := func(format string, args ...any) error {
			return &CorruptError{File: "table journal", Line: int(serial), Problem: fmt.Sprintf(format, args...)}
		}
		if uint64(serial) != st.serial+1 {
			return corrupt("record %d follows serial %d: records are missing", serial, st.serial)
		}
		r, err := replayRecord(d, payload, st)
		if err != nil {
			return corrupt("%v", err)
		}
		if touch != nil {
			touch(&r)
		}
		st.serial++
	}
	return rows.Err()
}

// ErrPushRefused marks a push that would replace a different or newer
// state, or drop what the database recorded since the copy was pulled.
var ErrPushRefused = errors.New("push refused")

// PushPG replaces the state in pg with st (state push), under the lock. It
// refuses (ErrPushRefused) when pg holds a state of another lineage, a
// higher serial, or anything st lacks (see lacks), unless force.
func PushPG(ctx context.Context, pg PG, st *State, force bool, opts Options) error {
	s, _, err := OpenPG(ctx, pg, opts)
	if err != nil {
		return err
	}
	cur := s.st
	if lin := cur.Lineage(); !force && lin != "" {
		var why string
		switch {
		case lin != st.Lineage():
			why = fmt.Sprintf("it holds another state (lineage %s; the pushed one's is %s)", lin, st.Lineage())
		case cur.Serial() > st.Serial():
			why = fmt.Sprintf("it holds a newer copy of this state (serial %d; the pushed one's is %d)", cur.Serial(), st.Serial())
		default:
			why = lacks(st, cur)
		}
		if why != "" {
			return errors.Join(fmt.Errorf("%w: %s %s; -force replaces it", ErrPushRefused, pg, why), s.Close())
		}
	}
	s.st, s.pg.rewrite = st, true
	return s.Close()
}

// lacks says what of cur, the state in the database, st does not hold: a
// send, an attempt or a message_id, an answer or an opt-out, recorded
// there since st was pulled. A copy can have a serial as high as the
// database's and still lack them, when both went on recording (a refresh
// of the copy, an apply through the database); pushed, the copy would drop
// them, and those recipients would be messaged again. "" when st holds all.
func lacks(st, cur *State) string {
	var missing []string
	for c := range cur.Sends(addrs.Pattern{}) {
		p, ok := st.Get(c.Addr)
		switch {
		case !ok:
			missing = append(missing, c.Addr.String()+" (not in the copy)")
		case p.Attempts < c.Attempts || c.MessageID != "" && !p.HadID(c.MessageID):
			missing = append(missing, fmt.Sprintf("%s (attempt %d, message_id %q there)", c.Addr, c.Attempts, c.MessageID))
		case c.Reply != nil && p.Reply == nil:
			missing = append(missing, c.Addr.String()+" (its answer)")
		}
	}
	for _, o := range cur.OptOuts() {
		if _, ok := st.OptOut(o.Phone); !ok {
			missing = append(missing, "the opt-out of "+o.Phone)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	more := ""
	if len(missing) > 5 {
		more = fmt.Sprintf(" and %d more", len(missing)-5)
		missing = missing[:5]
	}
	return fmt.Sprintf("it records what the pushed copy lacks, written there since the copy was pulled: %s%s. "+
		"Pushed, the copy would drop them and message those recipients again; pull the state again and redo the change on that copy", strings.Join(missing, ", "), more)
}

// WriteTo writes st in the local backend's snapshot format (state pull).
func (st *State) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<16)
	_, err := writeSnapshot(bw, st)
	if err == nil {
		err = bw.Flush()
	}
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
