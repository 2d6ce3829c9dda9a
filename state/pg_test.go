package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/internal/pgtest"
)

func testPG(t *testing.T) PG {
	dsn, schema := pgtest.Schema(t)
	return PG{ConnStr: dsn, Schema: schema}
}

func mustOpenPG(t testing.TB, pg PG) *Store {
	t.Helper()
	s, _, err := OpenPG(context.Background(), pg, Options{Operation: "test", Now: fixedNow})
	if err != nil {
		t.Fatalf("OpenPG: %v", err)
	}
	return s
}

func mustReadPG(t testing.TB, pg PG) *State {
	t.Helper()
	st, err := ReadPG(context.Background(), pg)
	if err != nil {
		t.Fatalf("ReadPG: %v", err)
	}
	return st
}

// fill records every kind of record the journal knows into s.
func fill(t testing.TB, s *Store, n int) {
	t.Helper()
	for i := range n {
		sendOne(t, s, addr(fmt.Sprintf("C-%d", i)), []Outcome{OutcomeAccepted, OutcomeUnknown, OutcomeRetry, OutcomeDeferred}[i%4])
	}
	if err := s.Refresh(Update{Addr: addr("C-0"), ProviderStatus: StatusRead, Reply: &Reply{ID: "yes", Title: "Yes", At: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := s.OptOut(OptOut{Phone: "+255700C-3", Text: "STOP"}); err != nil {
		t.Fatal(err)
	}
	deferLate(t, s, addr("C-4"))
	if err := s.ReadInbound(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A retried send made with a variant, which the rows must keep.
	if err := s.RecordIntent(Intent{Addr: addr("C-2"), Phone: "+255700C-2", Variant: "short"}); err != nil {
		t.Fatal(err)
	}
}

// TestPGRoundTrip: what a Store on PostgreSQL records reads back the same,
// from the journal (a run that died), after compaction (a run that closed),
// and after rm and mv, which rewrite the rows.
func TestPGRoundTrip(t *testing.T) {
	pg := testPG(t)
	s := mustOpenPG(t, pg)
	fill(t, s, 30)
	want := contentsOf(s.State())
	s.abandon() // killed: only the journal holds it
	diffStates(t, s.State(), mustReadPG(t, pg))

	s = mustOpenPG(t, pg)
	if d := contentsOf(s.State()); d.Serial != want.Serial || d.Lineage != want.Lineage {
		t.Fatalf("reopened at %s/%d, want %s/%d", d.Lineage, d.Serial, want.Lineage, want.Serial)
	}
	sendOne(t, s, addr("C-100"), OutcomeAccepted)
	mustClose(t, s) // compacted into the sends rows
	diffStates(t, s.State(), mustReadPG(t, pg))

	s = mustOpenPG(t, pg)
	if _, err := s.Remove(addrs.Pattern{Campaign: "black_friday", Message: "ask", Key: "C-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Move(addrs.Pattern{Campaign: "black_friday"}, addrs.Pattern{Campaign: "bf"}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	got := mustReadPG(t, pg)
	diffStates(t, s.State(), got)
	if v, _ := got.Get(addrs.Addr{Campaign: "bf", Message: "ask", Key: "C-2"}); v.Variant != "short" {
		t.Errorf("the moved send has variant %q, want short", v.Variant)
	}
	if got.Len() != 30 {
		t.Fatalf("%d sends after rm of one of 31", got.Len())
	}

	// A run that only read the inbound messages further.
	s = mustOpenPG(t, pg)
	if err := s.ReadInbound(t0.Add(5 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	if got := mustReadPG(t, pg).InboundRead(); !got.Equal(t0.Add(5 * time.Hour)) {
		t.Errorf("inbound read to %v after compaction, want %v", got, t0.Add(5*time.Hour))
	}
}

// TestPGLocked: a second writer finds the state locked, with the first's
// description; a reader does not wait; the lock is free after Close, and
// after the holder's session dies.
func TestPGLocked(t *testing.T) {
	pg := testPG(t)
	s := mustOpenPG(t, pg)
	sendOne(t, s, addr("a"), OutcomeAccepted)
	_, _, err := OpenPG(context.Background(), pg, Options{Operation: "second"})
	var le *LockError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenPG: %v, want a LockError", err)
	}
	if le.Holder == nil || le.Holder.PID != os.Getpid() || le.Holder.Operation != "test" {
		t.Fatalf("holder %+v, want this process running test", le.Holder)
	}
	if !strings.Contains(err.Error(), "schema "+pg.Schema) {
		t.Fatalf("lock error %q does not name the schema", err)
	}
	mustReadPG(t, pg)
	if h, held, err := PGHolder(context.Background(), pg); err != nil || !held || h == nil || h.Operation != "test" {
		t.Fatalf("PGHolder while held: %+v, %v, %v; want this run's description", h, held, err)
	}
	mustClose(t, s)
	if h, held, err := PGHolder(context.Background(), pg); err != nil || held {
		t.Fatalf("PGHolder after the run closed: %+v, %v, %v; want none", h, held, err)
	}
	s = mustOpenPG(t, pg)
	s.abandon()
	// The server ends the dead session, and so frees its lock, shortly after
	// the connection closes, not at once: the next run waits for it as a
	// user's would with -lock-timeout.
	next, _, err := OpenPG(context.Background(), pg, Options{Operation: "test", Now: fixedNow, LockTimeout: time.Minute})
	if err != nil {
		t.Fatalf("OpenPG after the holder's session died: %v", err)
	}
	mustClose(t, next)
}

// TestPGLostConnection: when the lock's session is killed, the record being
// written and every later one fail, as after a failed fdatasync, and nothing
// is written through another session.
func TestPGLostConnection(t *testing.T) {
	pg := testPG(t)
	s := mustOpenPG(t, pg)
	sendOne(t, s, addr("a"), OutcomeAccepted)
	pgtest.Exec(t, pg.ConnStr, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1`, int(s.pg.conn.PgConn().PID()))
	for _, k := range []string{"b", "c"} {
		if err := s.RecordIntent(Intent{Addr: addr(k), Phone: "+255700"}); err == nil {
			t.Fatalf("intent %s recorded on a dead session", k)
		} else if !strings.Contains(err.Error(), "no later change can be recorded") {
			t.Fatalf("intent %s: %v", k, err)
		}
	}
	s.Close()
	if got := mustReadPG(t, pg); got.Len() != 1 {
		t.Fatalf("%d sends, want the 1 recorded before the session died", got.Len())
	}
}

// TestPGPushPull: a state pulled into the local format and pushed back is the
// same; a push over another lineage or a newer serial is refused without
// -force.
func TestPGPushPull(t *testing.T) {
	path := statePath(t)
	local := mustOpen(t, path)
	fill(t, local, 300)
	mustClose(t, local)
	st := mustRead(t, path)

	pg := testPG(t)
	if err := PushPG(context.Background(), pg, st, false, Options{}); err != nil {
		t.Fatal(err)
	}
	got := mustReadPG(t, pg)
	diffStates(t, st, got)

	var buf bytes.Buffer
	if _, err := got.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	pulled := statePath(t)
	if err := os.WriteFile(pulled, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	diffStates(t, st, mustRead(t, pulled))

	other := mustOpen(t, statePath(t))
	sendOne(t, other, addr("x"), OutcomeAccepted)
	if err := PushPG(context.Background(), pg, other.State(), false, Options{}); !errors.Is(err, ErrPushRefused) {
		t.Fatalf("push of another lineage: %v", err)
	}
	s := mustOpenPG(t, pg)
	sendOne(t, s, addr("new"), OutcomeAccepted)
	mustClose(t, s)
	if err := PushPG(context.Background(), pg, st, false, Options{}); !errors.Is(err, ErrPushRefused) {
		t.Fatalf("push of an older serial: %v", err)
	}
	if err := PushPG(context.Background(), pg, other.State(), true, Options{}); err != nil {
		t.Fatal(err)
	}
	diffStates(t, other.State(), mustReadPG(t, pg))
	mustClose(t, other)
}

// TestPGMigrateTogether: runs starting together on a new schema all find it
// created once.
func TestPGMigrateTogether(t *testing.T) {
	pg := testPG(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = ReadPG(context.Background(), pg) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestPGErrorsHideThePassword: an unreachable server is an error naming
// host, database and schema, with the driver's reason, and no password.
func TestPGErrorsHideThePassword(t *testing.T) {
	pgtest.DSN(t)
	for _, conn := range []string{
		"postgres://ops:s3cr3tpw@127.0.0.1:1/campaigns?connect_timeout=2",
		"host=127.0.0.1 port=1 user=ops password=s3cr3tpw dbname=campaigns connect_timeout=2",
	} {
		_, err := ReadPG(context.Background(), PG{ConnStr: conn, Schema: "ujumbe"})
		if err == nil {
			t.Fatal("no error from a closed port")
		}
		msg := err.Error()
		for _, want := range []string{"host 127.0.0.1", "database campaigns", "schema ujumbe", "refused"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%q does not say %q", msg, want)
			}
		}
		if strings.Contains(msg, "s3cr3tpw") {
			t.Errorf("%q shows the password", msg)
		}
	}
}

// bigState returns a state of n accepted sends, built in memory.
func bigState(t testing.TB, n int) *State {
	st := newState()
	st.lineage = "big-state"
	for i := range n {
		a := addrs.Addr{Campaign: "black_friday", Message: []string{"offer", "ask"}[i%2], Key: fmt.Sprintf("C-%07d", i)}
		for _, r := range []record{
			{op: opIntent, send: Send{Addr: a, Phone: fmt.Sprintf("+2557%08d", i), Digest: digestOf([]byte(a.Key)), IntentAt: t0}},
			{op: opResult, send: Send{Addr: a, Outcome: OutcomeAccepted, MessageID: fmt.Sprintf("wamid.%d", i), ConversationID: fmt.Sprintf("conv-%d", i), ResultAt: t0}},
		} {
			if _, err := st.apply(&r); err != nil {
				t.Fatal(err)
			}
			st.serial++
		}
	}
	return st
}

// TestPGPushPull100k: a 100,000-send state pushed into PostgreSQL and pulled
// back into the local format loses nothing.
func TestPGPushPull100k(t *testing.T) {
	pg := testPG(t)
	st := bigState(t, 100_000)
	if err := PushPG(context.Background(), pg, st, false, Options{}); err != nil {
		t.Fatal(err)
	}
	// The snapshot encoding holds every field: equal encodings, equal
	// states (and much faster to compare than 100,000 Sends with cmp).
	want := snapshotOf(t, st)
	got := mustReadPG(t, pg)
	if !bytes.Equal(want, snapshotOf(t, got)) {
		t.Fatal("the state read back from PostgreSQL differs from the one pushed")
	}
	path := statePath(t)
	if err := os.WriteFile(path, snapshotOf(t, got), 0o600); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, snapshotOf(t, mustRead(t, path))) {
		t.Fatal("the pulled state file differs from the state pushed")
	}
}

func snapshotOf(t testing.TB, st *State) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := st.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPGNewerSchemaWhileWaiting: a run checks the schema's version when it
// connects, then may wait for the lock while a newer ujumbe upgrades the
// schema and writes rows this one cannot read. The load after the lock
// must say so ("upgrade ujumbe"), not call the state damaged, whose advice
// (restore a backup, push an older copy) would lose message_ids.
func TestPGNewerSchemaWhileWaiting(t *testing.T) {
	pg := testPG(t)
	s := mustOpenPG(t, pg)
	fill(t, s, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// What the newer ujumbe does while this one waits.
	newer, err := connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	schema := pgx.Identifier{pg.Schema}.Sanitize()
	if _, err := newer.Exec(ctx, `INSERT INTO `+schema+`.schema_migrations (version) VALUES ($1)`, len(pgMigrations)); err != nil {
		t.Fatal(err)
	}
	newer.Close(ctx)
	_, _, err = pgLoad(ctx, conn, pg, nil)
	var ce *CorruptError
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "written by a newer ujumbe") {
		t.Fatalf("load after a newer ujumbe's upgrade: %v; want upgrade advice, not damage", err)
	}
}

// TestPGPushDiverged: a copy pulled from the database goes on recording
// (a refresh of the copy) while the team records more in the database; the
// copy's serial may then be as high as the database's or higher, yet it
// lacks what the database recorded since. Pushed, it would drop those
// sends, their message_ids and opt-outs, and their recipients would be
// messaged again: the push is refused, naming them, unless -force.
func TestPGPushDiverged(t *testing.T) {
	ctx := context.Background()
	pg := testPG(t)
	s := mustOpenPG(t, pg)
	fill(t, s, 5)
	mustClose(t, s)
	var buf bytes.Buffer
	if _, err := mustReadPG(t, pg).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	path := statePath(t)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The team, through the database: a new send, a retry's new message_id
	// (C-3 was deferred before), an opt-out.
	s = mustOpenPG(t, pg)
	sendOne(t, s, addr("team"), OutcomeAccepted)
	sendOne(t, s, addr("C-3"), OutcomeAccepted)
	if err := s.OptOut(OptOut{Phone: "+255700C-1", Text: "STOP"}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	// The copy: refreshed many times, its serial past the database's.
	local := mustOpen(t, path)
	for range 20 {
		if err := local.Refresh(Update{Addr: addr("C-0"), ProviderStatus: StatusRead}); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, local)
	copied, db := mustRead(t, path), mustReadPG(t, pg)
	if copied.Serial() < db.Serial() {
		t.Fatalf("the copy's serial %d is below the database's %d: the case is the other", copied.Serial(), db.Serial())
	}
	err := PushPG(ctx, pg, copied, false, Options{})
	if !errors.Is(err, ErrPushRefused) {
		t.Fatalf("push of a diverged copy: %v; want refused", err)
	}
	for _, want := range []string{`["team"] (not in the copy)`, `["C-3"] (attempt`, "the opt-out of +255700C-1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not name %s:\n%v", want, err)
		}
	}
	diffStates(t, db, mustReadPG(t, pg))
	if err := PushPG(ctx, pg, copied, true, Options{}); err != nil {
		t.Fatalf("push -force: %v", err)
	}
	// A copy holding all the database holds goes.
	if err := PushPG(ctx, pg, mustReadPG(t, pg), false, Options{}); err != nil {
		t.Fatalf("push of the database's own state: %v", err)
	}
}

// TestPGKeepalives: the writer's session asks the server to notice a
// vanished client within minutes, not the default two hours, so that the
// lock of a run whose machine vanished is released for the next cron run.
func TestPGKeepalives(t *testing.T) {
	pg := testPG(t)
	ctx := context.Background()
	conn, err := connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for name, want := range map[string]string{"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "6", "tcp_user_timeout": "120000"} {
		var got string
		if err := conn.QueryRow(ctx, "SHOW "+name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
