package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ujumbe/ujumbe/addrs"
)

func TestRecordAndReload(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populate(t, s, "C", 20)
	live := contentsOf(s.State())

	// Unlocked readers see every committed record while the store is open.
	diffStates(t, s.State(), mustRead(t, path))

	// Replaying the journal (as after a crash) gives the same state...
	s.abandon()
	s = mustOpen(t, path)
	if d := cmp.Diff(live, contentsOf(s.State())); d != "" {
		t.Fatalf("after replay (-want +got):\n%s", d)
	}
	// ...and so does the snapshot Close writes.
	mustClose(t, s)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("after compaction (-want +got):\n%s", d)
	}
	if got := fileSize(t, path+".wal"); got > 200 {
		t.Errorf("journal after Close is %d bytes, want a bare header", got)
	}
}

func TestSendLifecycle(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	defer s.Close()
	a := addr("C-1042")
	get := func() Send {
		t.Helper()
		got, ok := s.State().Get(a)
		if !ok {
			t.Fatalf("%s missing", a)
		}
		return got
	}

	if err := s.RecordIntent(Intent{Addr: a, Phone: "+255712345678", Digest: digestOf([]byte("v1")), At: t0}); err != nil {
		t.Fatal(err)
	}
	want := Send{Addr: a, Phone: "+255712345678", Digest: digestOf([]byte("v1")), Attempts: 1, IntentAt: t0, UpdatedAt: t0}
	if d := cmp.Diff(want, get()); d != "" {
		t.Fatalf("after intent (-want +got):\n%s", d)
	}

	// Not accepted: 429.
	if err := s.RecordResult(Result{Addr: a, Outcome: OutcomeRetry, ErrorCode: "429", At: t0.Add(time.Second), Systemic: true}); err != nil {
		t.Fatal(err)
	}
	// Retry, in doubt after a timeout, then resolved by refresh.
	if err := s.RecordIntent(Intent{Addr: a, Phone: "+255712345678", Digest: digestOf([]byte("v1")), At: t0.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResult(Result{Addr: a, Outcome: OutcomeUnknown, ErrorMessage: "timeout", At: t0.Add(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResult(Result{Addr: a, Outcome: OutcomeAccepted, MessageID: "m1", ConversationID: "c1",
		ProviderStatus: StatusSent, At: t0.Add(4 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(Update{Addr: a, ProviderStatus: StatusRead, ReadAt: t0.Add(time.Hour),
		Reply: &Reply{Text: "yes", At: t0.Add(time.Hour)}, At: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	want = Send{Addr: a, Phone: "+255712345678", Digest: digestOf([]byte("v1")), Attempts: 2,
		IntentAt: t0.Add(2 * time.Second), Outcome: OutcomeAccepted, MessageID: "m1", ConversationID: "c1",
		ProviderStatus: StatusRead, ResultAt: t0.Add(4 * time.Second), UpdatedAt: t0.Add(2 * time.Hour),
		ReadAt: t0.Add(time.Hour), Reply: &Reply{Text: "yes", At: t0.Add(time.Hour)},
		History: []Attempt{{At: t0, Outcome: OutcomeRetry, Systemic: true, ErrorCode: "429"}}}
	if d := cmp.Diff(want, get()); d != "" {
		t.Fatalf("after refresh (-want +got):\n%s", d)
	}
	// The returned Send is a copy.
	got := get()
	got.Reply.Text = "changed"
	if get().Reply.Text != "yes" {
		t.Error("changing a returned Reply changed the state")
	}

	// An explicit replace starts over, keeping the earlier attempts.
	if err := s.RecordIntent(Intent{Addr: a, Phone: "+255712345678", Digest: digestOf([]byte("v2")), At: t0.Add(3 * time.Hour), Replace: true}); err != nil {
		t.Fatal(err)
	}
	want = Send{Addr: a, Phone: "+255712345678", Digest: digestOf([]byte("v2")), Attempts: 3,
		IntentAt: t0.Add(3 * time.Hour), UpdatedAt: t0.Add(3 * time.Hour),
		History: []Attempt{{At: t0, Outcome: OutcomeRetry, Systemic: true, ErrorCode: "429"},
			{At: t0.Add(2 * time.Second), Outcome: OutcomeAccepted, MessageID: "m1", ConversationID: "c1"}}}
	if d := cmp.Diff(want, get()); d != "" {
		t.Fatalf("after replace (-want +got):\n%s", d)
	}
	if s.State().Serial() != 7 {
		t.Errorf("serial = %d after 7 records", s.State().Serial())
	}
}

// TestDeferLate: an accepted send the provider refused later with Meta's
// 131049 is deferred as one refused at once: due again a day after the
// refusal, its message_id kept into the next attempt's history; from the
// journal (a run that died) and from the snapshot alike.
func TestDeferLate(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	a := addr("late")
	sendOne(t, s, a, OutcomeAccepted)
	deferLate(t, s, a)
	want := Send{Addr: a, Phone: "+255700late", Digest: digestOf([]byte("late")), Attempts: 1, Outcome: OutcomeDeferred,
		MessageID: "msg-late", ConversationID: "conv-late", ProviderStatus: StatusFailed, ErrorCode: "131049",
		ErrorMessage: "not delivered", IntentAt: t0, ResultAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}
	for _, how := range []string{"live", "journal", "snapshot"} {
		switch how {
		case "journal":
			s.abandon()
			s = mustOpen(t, path)
		case "snapshot":
			mustClose(t, s)
			s = mustOpen(t, path)
		}
		got, _ := s.State().Get(a)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%s (-want +got):\n%s", how, d)
		}
	}
	if err := s.RecordIntent(Intent{Addr: a, Phone: "+255700late", At: t0.Add(25 * time.Hour)}); err != nil {
		t.Fatalf("a deferred send may start again: %v", err)
	}
	got, _ := s.State().Get(a)
	if h := []Attempt{{At: t0, Outcome: OutcomeDeferred, MessageID: "msg-late", ConversationID: "conv-late", ErrorCode: "131049"}}; !cmp.Equal(h, got.History) {
		t.Errorf("history %+v, want %+v", got.History, h)
	}
	mustClose(t, s)
}

// TestRefreshLearnsThread: a refresh gives a send recorded without a
// conversation its thread, through the journal and the snapshot, and never
// replaces a recorded one.
func TestRefreshLearnsThread(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	bare, known := addr("bare"), addr("known")
	for _, a := range []addrs.Addr{bare, known} {
		if err := s.RecordIntent(Intent{Addr: a, Phone: "+1", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordResult(Result{Addr: bare, Outcome: OutcomeAccepted, MessageID: "m-bare"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResult(Result{Addr: known, Outcome: OutcomeAccepted, MessageID: "m-known", ConversationID: "c-1"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []addrs.Addr{bare, known} {
		if err := s.Refresh(Update{Addr: a, ConversationID: "c-2"}); err != nil {
			t.Fatal(err)
		}
	}
	s.abandon()
	for _, how := range []string{"journal", "snapshot"} {
		s = mustOpen(t, path)
		for a, want := range map[addrs.Addr]string{bare: "c-2", known: "c-1"} {
			if got, _ := s.State().Get(a); got.ConversationID != want {
				t.Errorf("%s: %s has conversation %q, want %q", how, a, got.ConversationID, want)
			}
		}
		mustClose(t, s)
	}
}

// TestSystemicTimeoutKept: an attempt in doubt with nothing to show (a
// timeout: no id, no error code) is left out of the history when the send
// is made again (-replace), unless it was the run's failure, which the
// attempts limit must not count as the send's own.
func TestSystemicTimeoutKept(t *testing.T) {
	s := mustOpen(t, statePath(t))
	defer s.Close()
	for key, systemic := range map[string]bool{"plain": false, "run": true} {
		a := addr(key)
		if err := s.RecordIntent(Intent{Addr: a, Phone: "+1", At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordResult(Result{Addr: a, Outcome: OutcomeUnknown, ErrorMessage: "timeout", Systemic: systemic, At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordIntent(Intent{Addr: a, Phone: "+1", At: t0.Add(time.Hour), Replace: true}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.State().Get(a)
		if kept := len(got.History) == 1 && got.History[0].Systemic; kept != systemic || !systemic && len(got.History) != 0 {
			t.Errorf("%s: history %+v", key, got.History)
		}
	}
}

func TestRefusals(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	defer s.Close()
	sendOne(t, s, addr("acc"), OutcomeAccepted)
	sendOne(t, s, addr("unk"), OutcomeUnknown)
	sendOne(t, s, addr("fail"), OutcomeFailed)
	serial := s.State().Serial()

	intent := func(k string) error { return s.RecordIntent(Intent{Addr: addr(k), Phone: "+1"}) }
	tests := []struct {
		name string
		err  error
		is   error
		want string
	}{
		{"intent on accepted", intent("acc"), ErrConflict, `ask["acc"] is already accepted (message_id msg-acc)`},
		{"intent on unknown", intent("unk"), ErrConflict, "already unknown"},
		{"intent on failed", intent("fail"), ErrConflict, "already failed"},
		{"result without intent", s.RecordResult(Result{Addr: addr("none"), Outcome: OutcomeFailed}), ErrConflict, "no recorded intent"},
		{"second result", s.RecordResult(Result{Addr: addr("acc"), Outcome: OutcomeFailed}), ErrConflict, "no attempt in doubt"},
		{"defer in doubt", s.Defer(Deferral{Addr: addr("unk"), MessageID: "msg-unk"}), ErrConflict, "not accepted as message_id msg-unk"},
		{"defer another message", s.Defer(Deferral{Addr: addr("acc"), MessageID: "msg-old"}), ErrConflict, "is accepted (message_id msg-acc), not accepted as message_id msg-old"},
		{"defer without id", s.Defer(Deferral{Addr: addr("acc")}), nil, "message_id is empty"},
		{"refresh without id", s.Refresh(Update{Addr: addr("unk"), ProviderStatus: StatusRead}), ErrConflict, "no message_id"},
		{"accepted without id", s.RecordResult(Result{Addr: addr("unk"), Outcome: OutcomeAccepted}), nil, "needs its message_id"},
		{"bad campaign", s.RecordIntent(Intent{Addr: addrs.Addr{Campaign: "a b", Message: "m", Key: "k"}, Phone: "+1"}), nil, "not a valid identifier"},
		{"no phone", s.RecordIntent(Intent{Addr: addr("new")}), nil, "phone is empty"},
		{"bad outcome", s.RecordResult(Result{Addr: addr("unk"), Outcome: 9}), nil, "invalid outcome"},
		{"systemic failure of another outcome", s.RecordResult(Result{Addr: addr("unk"), Outcome: OutcomeFailed, Systemic: true}), nil, "only a send to try again"},
		{"long id", s.RecordResult(Result{Addr: addr("unk"), MessageID: strings.Repeat("x", 2000)}), nil, "longer than"},
		{"rm nothing", second(s.Remove(addrs.Pattern{Campaign: "nope"})), ErrNoMatch, "remove campaign.nope: no send matches"},
		{"rm everything", second(s.Remove(addrs.Pattern{})), nil, "an address is required"},
		{"mv depth", second(s.Move(addrs.Pattern{Campaign: "black_friday"}, addrs.Pattern{Campaign: "x", Message: "y", Key: "z"})), nil, "both must name"},
		{"mv onto itself", second(s.Move(addrs.Pattern{Campaign: "black_friday"}, addrs.Pattern{Campaign: "black_friday"})), nil, "onto itself"},
		{"mv onto existing", second(s.Move(addr("acc").Pattern(), addr("unk").Pattern())), ErrConflict, `ask["unk"] already exists`},
		{"mv nothing", second(s.Move(addrs.Pattern{Campaign: "nope"}, addrs.Pattern{Campaign: "x"})), ErrNoMatch, "no send matches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", tt.err, tt.want)
			}
			if tt.is != nil && !errors.Is(tt.err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.is)
			}
		})
	}
	if got := s.State().Serial(); got != serial {
		t.Errorf("refused changes moved the serial from %d to %d", serial, got)
	}
	// A refused record does not poison the store.
	sendOne(t, s, addr("later"), OutcomeAccepted)
}

func second(_ int, err error) error { return err }

func TestMoveAndRemove(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	for _, a := range []addrs.Addr{{Campaign: "c1", Message: "m1", Key: "k1"}, {Campaign: "c1", Message: "m1", Key: "k2"}, {Campaign: "c1", Message: "m2", Key: "k1"}, {Campaign: "c2", Message: "m1", Key: "k1"}} {
		sendOne(t, s, a, OutcomeAccepted)
	}
	keys := func() []string {
		var out []string
		for snd := range s.State().Sends(addrs.Pattern{}) {
			out = append(out, snd.Addr.String())
		}
		return out
	}
	steps := []struct {
		name string
		do   func() (int, error)
		n    int
		want []string
	}{
		{"send", func() (int, error) {
			return s.Move(addrs.Pattern{Campaign: "c1", Message: "m1", Key: "k2"}, addrs.Pattern{Campaign: "c1", Message: "m1", Key: "k3"})
		}, 1,
			[]string{`campaign.c1.message.m1["k1"]`, `campaign.c1.message.m1["k3"]`, `campaign.c1.message.m2["k1"]`, `campaign.c2.message.m1["k1"]`}},
		{"message", func() (int, error) {
			return s.Move(addrs.Pattern{Campaign: "c1", Message: "m1", Key: ""}, addrs.Pattern{Campaign: "c3", Message: "m9", Key: ""})
		}, 2,
			[]string{`campaign.c1.message.m2["k1"]`, `campaign.c2.message.m1["k1"]`, `campaign.c3.message.m9["k1"]`, `campaign.c3.message.m9["k3"]`}},
		{"campaign", func() (int, error) { return s.Move(addrs.Pattern{Campaign: "c3"}, addrs.Pattern{Campaign: "c0"}) }, 2,
			[]string{`campaign.c0.message.m9["k1"]`, `campaign.c0.message.m9["k3"]`, `campaign.c1.message.m2["k1"]`, `campaign.c2.message.m1["k1"]`}},
		{"campaign clash", func() (int, error) { return s.Move(addrs.Pattern{Campaign: "c1"}, addrs.Pattern{Campaign: "c0"}) }, 1,
			[]string{`campaign.c0.message.m2["k1"]`, `campaign.c0.message.m9["k1"]`, `campaign.c0.message.m9["k3"]`, `campaign.c2.message.m1["k1"]`}},
		{"rm message", func() (int, error) { return s.Remove(addrs.Pattern{Campaign: "c0", Message: "m9", Key: ""}) }, 2,
			[]string{`campaign.c0.message.m2["k1"]`, `campaign.c2.message.m1["k1"]`}},
		{"rm send", func() (int, error) { return s.Remove(addrs.Pattern{Campaign: "c2", Message: "m1", Key: "k1"}) }, 1,
			[]string{`campaign.c0.message.m2["k1"]`}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			n, err := st.do()
			if err != nil || n != st.n {
				t.Fatalf("got %d, %v; want %d", n, err, st.n)
			}
			if d := cmp.Diff(st.want, keys()); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
	live := contentsOf(s.State())
	mustClose(t, s)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("after reload (-want +got):\n%s", d)
	}
}

func TestSerialAndLineage(t *testing.T) {
	path := statePath(t)
	st := mustRead(t, path)
	if st.Lineage() != "" || st.Serial() != 0 || st.Len() != 0 {
		t.Fatalf("missing state: lineage %q serial %d len %d", st.Lineage(), st.Serial(), st.Len())
	}
	s := mustOpen(t, path)
	if s.State().Lineage() != "" {
		t.Fatal("a state gets its lineage on its first record, not on Open")
	}
	mustClose(t, s)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("an Open without records wrote a state: %v", err)
	}

	s = mustOpen(t, path)
	sendOne(t, s, addr("a"), OutcomeAccepted)
	lineage := s.State().Lineage()
	if len(lineage) != 36 || s.State().Serial() != 2 {
		t.Fatalf("lineage %q serial %d", lineage, s.State().Serial())
	}
	mustClose(t, s)
	for i := range 3 {
		s = mustOpen(t, path)
		if got := s.State().Lineage(); got != lineage {
			t.Fatalf("lineage changed to %q", got)
		}
		if got, want := s.State().Serial(), uint64(2+2*i); got != want {
			t.Fatalf("serial %d, want %d", got, want)
		}
		sendOne(t, s, addr(fmt.Sprint(i)), OutcomeAccepted)
		mustClose(t, s)
	}
	// Closing without changes writes nothing.
	before := fileSize(t, path)
	mtime := func() time.Time { fi, _ := os.Stat(path); return fi.ModTime() }
	m := mtime()
	s = mustOpen(t, path)
	mustClose(t, s)
	if fileSize(t, path) != before || !mtime().Equal(m) {
		t.Error("Close without changes rewrote the snapshot")
	}

	other := statePath(t)
	s = mustOpen(t, other)
	sendOne(t, s, addr("a"), OutcomeAccepted)
	if s.State().Lineage() == lineage {
		t.Error("two states share a lineage")
	}
	mustClose(t, s)
}

func TestFileModes(t *testing.T) {
	path := statePath(t)
	for range 2 { // the second round makes a backup
		s := mustOpen(t, path)
		populate(t, s, "C", 6)
		if _, err := s.Remove(addrs.Pattern{Campaign: "black_friday"}); err != nil {
			t.Fatal(err)
		}
		mustClose(t, s)
	}
	for _, name := range []string{path, path + ".wal", path + ".backup", path + ".lock"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left over %s", e.Name())
		}
	}
}

func TestBackupIsPreviousSnapshot(t *testing.T) {
	for _, link := range []bool{true, false} {
		t.Run(fmt.Sprintf("link=%v", link), func(t *testing.T) {
			if !link {
				linkFile = func(string, string) error { return errors.New("no hard links here") }
				defer func() { linkFile = os.Link }()
			}
			path := statePath(t)
			s := mustOpen(t, path)
			sendOne(t, s, addr("first"), OutcomeAccepted)
			mustClose(t, s)
			first, _ := os.ReadFile(path)
			s = mustOpen(t, path)
			sendOne(t, s, addr("second"), OutcomeAccepted)
			mustClose(t, s)
			backup, err := os.ReadFile(path + ".backup")
			if err != nil {
				t.Fatal(err)
			}
			if string(backup) != string(first) {
				t.Errorf("backup is not the previous snapshot:\n%s\nwant\n%s", backup, first)
			}
		})
	}
}

// TestCloseLeavesSmallJournal checks that Close does not rewrite a large
// snapshot for a few records, and does once the journal has grown.
func TestCloseLeavesSmallJournal(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populate(t, s, "C", 200)
	mustClose(t, s)
	snapshot := readFile(t, path)

	s = mustOpen(t, path)
	sendOne(t, s, addr("one more"), OutcomeAccepted)
	want := contentsOf(s.State())
	mustClose(t, s)
	if string(readFile(t, path)) != string(snapshot) {
		t.Error("Close rewrote the snapshot for one send")
	}
	if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}

	s = mustOpen(t, path)
	populate(t, s, "D", 30)
	want = contentsOf(s.State())
	mustClose(t, s)
	if string(readFile(t, path)) == string(snapshot) {
		t.Error("Close left a journal an eighth of the snapshot's size")
	}
	if string(readFile(t, path+".backup")) != string(snapshot) {
		t.Error("the backup is not the previous snapshot")
	}
	if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// TestCompactionDuringRun makes the journal outgrow its limit many times.
func TestCompactionDuringRun(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	s.compactAt = 4 << 10
	populate(t, s, "C", 300)
	if got := fileSize(t, path+".wal"); got > 5<<10 {
		t.Errorf("journal is %d bytes, over the 4 KiB limit", got)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no snapshot written during the run: %v", err)
	}
	live := contentsOf(s.State())
	s.abandon()
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// TestCompactionCrash stops a compaction after each of its steps, as a
// crash would, and checks that nothing is lost and the next runs go on.
func TestCompactionCrash(t *testing.T) {
	steps := []string{"snapshot-written", "backup-replaced", "snapshot-renamed", "snapshot-synced", "journal-written", "journal-renamed"}
	for _, step := range steps {
		for _, round := range []int{1, 2} { // the first compaction has no backup to replace
			t.Run(fmt.Sprintf("%s/round%d", step, round), func(t *testing.T) {
				path := statePath(t)
				for i := range round - 1 {
					s := mustOpen(t, path)
					sendOne(t, s, addr(fmt.Sprint("before", i)), OutcomeAccepted)
					mustClose(t, s)
				}
				s := mustOpen(t, path)
				populate(t, s, "C", 10)
				want := contentsOf(s.State())

				crashed := errors.New("simulated crash")
				crashPoint = func(at string) error {
					if at == step {
						return crashed
					}
					return nil
				}
				err := s.Close()
				crashPoint = func(string) error { return nil }
				if !errors.Is(err, crashed) {
					t.Fatalf("Close = %v, want the simulated crash", err)
				}

				if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
					t.Fatalf("unlocked read after the crash (-want +got):\n%s", d)
				}
				s = mustOpen(t, path)
				if d := cmp.Diff(want, contentsOf(s.State())); d != "" {
					t.Fatalf("open after the crash (-want +got):\n%s", d)
				}
				sendOne(t, s, addr("after"), OutcomeAccepted)
				want = contentsOf(s.State())
				mustClose(t, s)
				if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
					t.Fatalf("after the next run (-want +got):\n%s", d)
				}
			})
		}
	}
}

// TestWriteFailureIsFatal checks the fsyncgate rule: after one failed sync
// nothing more is accepted, even if syncing would work again.
func TestWriteFailureIsFatal(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	sendOne(t, s, addr("ok"), OutcomeAccepted)

	eio := errors.New("input/output error")
	syncData = func(*os.File) error { return eio }
	err := s.RecordIntent(Intent{Addr: addr("lost"), Phone: "+1"})
	syncData = fdatasync
	if !errors.Is(err, eio) || !strings.Contains(err.Error(), "no later change can be recorded") {
		t.Fatalf("RecordIntent with a failing sync = %v", err)
	}
	for _, err := range []error{
		s.RecordIntent(Intent{Addr: addr("later"), Phone: "+1"}),
		s.RecordResult(Result{Addr: addr("ok"), Outcome: OutcomeFailed}),
		s.OptOut(OptOut{Phone: "+1"}),
	} {
		if !errors.Is(err, eio) {
			t.Errorf("a later call returned %v, want the sticky sync error", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after a failure only unlocks; got %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("Close compacted a state whose journal failed")
	}
	// What was acknowledged survives; the record whose sync failed may or
	// may not be there, and counts as in doubt.
	st := mustRead(t, path)
	if got, ok := st.Get(addr("ok")); !ok || got.Outcome != OutcomeAccepted {
		t.Errorf("acknowledged send = %+v, %v", got, ok)
	}
	if got, ok := st.Get(addr("lost")); ok && got.Outcome != OutcomeUnknown {
		t.Errorf("unacknowledged intent loaded as %v", got.Outcome)
	}
	if _, ok := st.Get(addr("later")); ok {
		t.Error("a record refused after the failure reached the disk")
	}
}

// TestGroupCommit holds the first sync until more records queue up and
// checks they share the next one.
func TestGroupCommit(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	defer s.Close()
	sendOne(t, s, addr("warm-up"), OutcomeUnknown) // creates the journal

	release := make(chan struct{})
	syncData = func(f *os.File) error {
		<-release
		return fdatasync(f)
	}
	defer func() { syncData = fdatasync }()
	syncsBefore := s.syncs.Load()
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	wg.Go(func() { errs <- s.RecordIntent(Intent{Addr: addr("first"), Phone: "+1"}) })
	for s.syncs.Load() == syncsBefore { // the first record is being synced
		time.Sleep(time.Millisecond)
	}
	for i := range n {
		wg.Go(func() { errs <- s.RecordIntent(Intent{Addr: addr(fmt.Sprint(i)), Phone: "+1"}) })
	}
	for len(s.reqs) < n {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.syncs.Load() - syncsBefore; got != 2 {
		t.Errorf("%d records took %d syncs, want 2", n+1, got)
	}
}

func TestConcurrentUse(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	s.compactAt = 16 << 10
	const workers, each = 16, 60
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				a := addrs.Addr{Campaign: "c", Message: fmt.Sprintf("m%d", w%3), Key: fmt.Sprintf("w%d-%d", w, i)}
				if err := s.RecordIntent(Intent{Addr: a, Phone: "+1"}); err != nil {
					t.Error(err)
					return
				}
				if err := s.RecordResult(Result{Addr: a, Outcome: OutcomeAccepted, MessageID: a.Key}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for snd := range s.State().Sends(addrs.Pattern{Campaign: "c"}) {
					if snd.Outcome == OutcomeAccepted && snd.MessageID != snd.Addr.Key {
						t.Errorf("%s has message_id %q", snd.Addr, snd.MessageID)
					}
					s.State().Get(snd.Addr)
					break
				}
				s.State().Len()
				s.State().Serial()
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if got := s.State().Len(); got != workers*each {
		t.Fatalf("%d sends, want %d", got, workers*each)
	}
	live := contentsOf(s.State())
	mustClose(t, s)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestClosed(t *testing.T) {
	s := mustOpen(t, statePath(t))
	mustClose(t, s)
	mustClose(t, s)
	if err := s.RecordIntent(Intent{Addr: addr("k"), Phone: "+1"}); !errors.Is(err, ErrClosed) {
		t.Errorf("RecordIntent after Close = %v", err)
	}
}

// TestMoveAll makes the moves of a configuration's moved blocks together.
// Before, each moved block was a record of its own: with two blocks moving
// to the same campaign, the first moved its sends and the second failed,
// leaving the state half-moved.
func TestMoveAll(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	for _, a := range []addrs.Addr{{Campaign: "a", Message: "m", Key: "k1"}, {Campaign: "a", Message: "m", Key: "k2"}, {Campaign: "b", Message: "m", Key: "k2"}, {Campaign: "b", Message: "m", Key: "k3"}, {Campaign: "c", Message: "m", Key: "k1"}, {Campaign: "d", Message: "n", Key: "k1"}} {
		sendOne(t, s, a, OutcomeAccepted)
	}
	camp := func(c string) addrs.Pattern { return addrs.Pattern{Campaign: c} }
	refused := []struct {
		name  string
		moves []Move
		want  error
		text  string
	}{
		{"shared destination", []Move{{camp("a"), camp("x")}, {camp("b"), camp("x")}}, ErrConflict,
			`cannot move campaign.a and campaign.b both to campaign.x: campaign.x.message.m["k2"] would be taken twice`},
		{"selected twice", []Move{{camp("a"), camp("x")}, {addrs.Pattern{Campaign: "a", Message: "m", Key: ""}, addrs.Pattern{Campaign: "y", Message: "m", Key: ""}}}, ErrConflict,
			"to both campaign.x and campaign.y.message.m"},
		{"destination exists", []Move{{camp("b"), camp("x")}, {camp("a"), camp("c")}}, ErrConflict,
			`campaign.c.message.m["k1"] already exists`},
		{"nothing to move", []Move{{camp("p"), camp("q")}, {camp("r"), camp("s")}}, ErrNoMatch,
			"move campaign.p, campaign.r: no send matches"},
		{"a bad move", []Move{{camp("a"), camp("x")}, {camp("b"), addrs.Pattern{Campaign: "y", Message: "m", Key: ""}}}, nil,
			"both must name a campaign, a message or a send"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before, size := contentsOf(s.State()), fileSize(t, path+".wal")
			counts, err := s.MoveAll(tt.moves)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("MoveAll = %v, %v; want %v saying %q", counts, err, tt.want, tt.text)
			}
			if d := cmp.Diff(before, contentsOf(s.State())); d != "" {
				t.Errorf("a refused MoveAll changed the state (-before +after):\n%s", d)
			}
			if got := fileSize(t, path+".wal"); got != size {
				t.Errorf("a refused MoveAll wrote %d bytes", got-size)
			}
		})
	}

	// Two moves, one of which finds nothing: one journal line.
	lines := len(splitLines(readFile(t, path+".wal")))
	counts, err := s.MoveAll([]Move{{camp("a"), camp("x")}, {camp("nope"), camp("z")}, {addrs.Pattern{Campaign: "b", Message: "m", Key: ""}, addrs.Pattern{Campaign: "y", Message: "n", Key: ""}}})
	if err != nil || !cmp.Equal(counts, []int{2, 0, 2}) {
		t.Fatalf("MoveAll = %v, %v; want [2 0 2]", counts, err)
	}
	journal := readFile(t, path+".wal")
	if n := len(splitLines(journal)); n != lines+1 {
		t.Fatalf("MoveAll wrote %d journal lines, want 1", n-lines)
	}
	moved := contentsOf(s.State())
	s.abandon()
	if d := cmp.Diff(moved, contentsOf(mustRead(t, path))); d != "" {
		t.Errorf("after reload (-want +got):\n%s", d)
	}
	var keys []string
	for snd := range mustRead(t, path).Sends(addrs.Pattern{}) {
		keys = append(keys, snd.Addr.String())
	}
	want := []string{`campaign.c.message.m["k1"]`, `campaign.d.message.n["k1"]`, `campaign.x.message.m["k1"]`, `campaign.x.message.m["k2"]`,
		`campaign.y.message.n["k2"]`, `campaign.y.message.n["k3"]`}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	// A crash while the record was written: cut anywhere, none of the moves
	// is made.
	last := splitLines(journal)[lines]
	for cut := 1; cut < len(last); cut += max(1, len(last)/7) {
		writeFile(t, path+".wal", journal[:len(journal)-len(last)+cut])
		st := mustRead(t, path)
		if _, ok := st.Get(addrs.Addr{Campaign: "a", Message: "m", Key: "k1"}); !ok {
			t.Fatalf("cut at byte %d of the record: campaign a moved", cut)
		}
		if _, ok := st.Get(addrs.Addr{Campaign: "b", Message: "m", Key: "k2"}); !ok {
			t.Fatalf("cut at byte %d of the record: campaign b moved", cut)
		}
	}
}
