package state

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ujumbe/ujumbe/addrs"
)

// t0 is the fixed clock of the tests.
var t0 = time.Date(2025, 11, 28, 9, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

func statePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "ujumbe.state")
}

func mustOpen(t testing.TB, path string) *Store {
	t.Helper()
	s, warns, err := Open(context.Background(), path, Options{Operation: "test", Now: fixedNow})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if len(warns) > 0 {
		t.Fatalf("Open: unexpected warnings %v", warns)
	}
	return s
}

func mustClose(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustRead(t testing.TB, path string) *State {
	t.Helper()
	st, warns, err := Read(path)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(warns) > 0 {
		t.Fatalf("Read: unexpected warnings %v", warns)
	}
	return st
}

// abandon stops s as a killed process would: no compaction, the lock is
// simply gone.
func (s *Store) abandon() {
	s.mu.Lock()
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	if s.pg != nil {
		s.pg.conn.Close(context.Background())
		return
	}
	if s.j != nil {
		s.j.Close()
	}
	s.lock.f.Close()
}

// contents is what a state holds, for comparisons.
type contents struct {
	Lineage string
	Serial  uint64
	Sends   []Send
	OptOuts []OptOut
	Inbound time.Time
}

func contentsOf(st *State) contents {
	return contents{st.Lineage(), st.Serial(), slices.Collect(st.Sends(addrs.Pattern{})), st.OptOuts(), st.InboundRead()}
}

func diffStates(t testing.TB, want, got *State) {
	t.Helper()
	if d := cmp.Diff(contentsOf(want), contentsOf(got)); d != "" {
		t.Fatalf("states differ (-want +got):\n%s", d)
	}
}

func addr(key string) addrs.Addr {
	return addrs.Addr{Campaign: "black_friday", Message: "ask", Key: key}
}

// sendOne records an intent and, if outcome is not OutcomeUnknown, a result.
func sendOne(t testing.TB, s *Store, a addrs.Addr, outcome Outcome) {
	t.Helper()
	if err := s.RecordIntent(Intent{Addr: a, Phone: "+255700" + a.Key, Digest: digestOf([]byte(a.Key))}); err != nil {
		t.Fatal(err)
	}
	if outcome == OutcomeUnknown {
		return
	}
	r := Result{Addr: a, Outcome: outcome}
	if outcome == OutcomeAccepted {
		r.MessageID, r.ConversationID, r.ProviderStatus = "msg-"+a.Key, "conv-"+a.Key, StatusPending
	} else {
		r.ErrorCode, r.ErrorMessage = "E1", "failed \"badly\"\nsecond line"
	}
	if err := s.RecordResult(r); err != nil {
		t.Fatal(err)
	}
}

// populate records n sends with keys PREFIX-0000... and a mix of outcomes
// and, for n > 5, every other kind of change.
func populate(t testing.TB, s *Store, prefix string, n int) {
	t.Helper()
	outcomes := []Outcome{OutcomeAccepted, OutcomeUnknown, OutcomeFailed, OutcomeRetry, OutcomeExpired}
	key := func(i int) string { return fmt.Sprintf("%s-%04d", prefix, i) }
	for i := range n {
		sendOne(t, s, addr(key(i)), outcomes[i%len(outcomes)])
	}
	if n > 5 {
		if err := s.Refresh(Update{Addr: addr(key(0)), ProviderStatus: StatusRead, DeliveredAt: t0.Add(time.Minute),
			ReadAt: t0.Add(2 * time.Minute), Reply: &Reply{ID: "yes", Title: "Yes please", At: t0.Add(3 * time.Minute), MessageID: "in-1"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.OptOut(OptOut{Phone: "+255700" + key(5), Text: "STOP", MessageID: "in-2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Move(addr(key(1)).Pattern(), addr(key(1)+"b").Pattern()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Remove(addr(key(2)).Pattern()); err != nil {
			t.Fatal(err)
		}
	}
}

// deferLate records that the provider refused the accepted send a, as
// sendOne accepted it, with Meta's 131049 after accepting it.
func deferLate(t testing.TB, s *Store, a addrs.Addr) {
	t.Helper()
	if err := s.Defer(Deferral{Addr: a, MessageID: "msg-" + a.Key, ErrorCode: "131049", ErrorMessage: "not delivered", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t testing.TB, name string) int64 {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// copyState copies the state files of src (not the lock) beside dst.
func copyState(t testing.TB, src, dst string) {
	t.Helper()
	for _, suffix := range []string{"", ".wal", ".backup"} {
		b, err := os.ReadFile(src + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// digestOf returns a digest of content, as plan makes one: the first bytes
// of its SHA-256.
func digestOf(content []byte) Digest {
	sum := sha256.Sum256(content)
	return Digest(sum[:len(Digest{})])
}
