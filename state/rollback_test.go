package state

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestRolledBack: a snapshot put back from its backup (as README's restore
// says, the journal moved aside) lacks the sends recorded after it; the
// image beside it still holds the later state of the same lineage. Every
// reader and writer refuses it, naming refresh -recover, except one opened
// with Options.Restored. That run replaces the image, the evidence, as it
// ends whether its recovery finished or not: until it says so
// (Recovered), the state is refused all the same.
func TestRolledBack(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	sendOne(t, s, addr("C-1"), OutcomeAccepted)
	mustClose(t, s)
	s = mustOpen(t, path)
	sendOne(t, s, addr("C-2"), OutcomeAccepted)
	mustClose(t, s)
	if _, err := os.Stat(path + imageSuffix); err != nil {
		t.Fatalf("no image after a compaction: %v", err)
	}
	backup, err := os.ReadFile(backupOf(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".wal", path+".wal.orphaned"); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}

	var rb *RolledBackError
	if _, _, err := Read(path); !errors.As(err, &rb) || rb.Serial >= rb.ImageSerial {
		t.Fatalf("read of the restored snapshot: %v; want RolledBackError", err)
	}
	if _, _, err := Open(context.Background(), path, Options{}); !errors.As(err, &rb) {
		t.Fatalf("open of the restored snapshot: %v; want RolledBackError", err)
	}
	s, _, err = Open(context.Background(), path, Options{Restored: true})
	if err != nil {
		t.Fatalf("open with Restored: %v", err)
	}
	if _, ok := s.State().Get(addr("C-2")); ok || s.State().Len() != 1 {
		t.Fatalf("the restored state holds %d sends; want C-1 alone", s.State().Len())
	}
	mustClose(t, s) // a recovery that stopped
	if _, _, err := Read(path); !errors.As(err, &rb) || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("read after a recovery that did not finish: %v; want RolledBackError", err)
	}
	s, _, err = Open(context.Background(), path, Options{Restored: true})
	if err != nil {
		t.Fatalf("open with Restored again: %v", err)
	}
	if err := s.Recovered(); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	if st := mustRead(t, path); st.Len() != 1 {
		t.Fatalf("after the recovery's run: %d sends, want 1", st.Len())
	}
}
