package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestMissing removes the snapshot of a used state in the ways it can go
// missing. Before, a state whose snapshot and journal were gone loaded as
// empty, and plan offered to send every message again.
func TestMissing(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   []string // parts of the message; PATH stands for the state's path
	}{
		{"only the backup left", func(t *testing.T, path string) {
			os.Remove(path)
			os.Remove(path + ".wal")
		}, []string{"state file PATH is missing, but PATH.backup still exists",
			`check the previous snapshot with "ujumbe show -state=PATH.backup"`, "cp PATH.backup PATH."}},
		{"backup and journal left", func(t *testing.T, path string) {
			os.Remove(path)
		}, []string{"state file PATH is missing, but PATH.backup and PATH.wal still exist",
			"cp PATH.backup PATH, then move PATH.wal aside (mv PATH.wal PATH.wal.orphaned)"}},
		{"a dead holder's lock file left", func(t *testing.T, path string) {
			for _, name := range []string{path, path + ".wal", path + ".backup"} {
				os.Remove(name)
			}
			js, _ := json.Marshal(LockInfo{ID: "L1", PID: 4242, Host: "cron1", User: "ops", Operation: "apply", Started: t0})
			writeFile(t, path+".lock", append(js, '\n')) // as writeHolder writes it
		}, []string{"state file PATH is missing, and its lock file PATH.lock names a run that never finished (pid 4242 on cron1, user ops, \"apply\"",
			"remove PATH.lock"}},
		{"a dead holder that may have written", func(t *testing.T, path string) {
			s := mustOpen(t, path)
			sendOne(t, s, addr("last"), OutcomeAccepted)
			s.abandon()
			for _, name := range []string{path, path + ".wal", path + ".backup"} {
				os.Remove(name)
			}
		}, []string{fmt.Sprintf("state file PATH is missing, and its lock file PATH.lock names a run that never finished (pid %d on ", os.Getpid()),
			"remove PATH.lock"}},
		{"only the image left", func(t *testing.T, path string) {
			for _, name := range []string{path, path + ".wal", path + ".backup", path + ".lock"} {
				os.Remove(name)
			}
		}, []string{"state file PATH is missing, but PATH.img still exists",
			"remove PATH.img: the state starts empty, and before the next apply \"ujumbe refresh -recover\" finds the sends the provider holds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := withSnapshotAndJournal(t)
			tt.damage(t, path)
			before := snapshotFiles(t, path)
			check := func(what string, err error) {
				t.Helper()
				var me *MissingError
				if !errors.Is(err, ErrMissing) || !errors.As(err, &me) {
					t.Fatalf("%s: %v, want ErrMissing", what, err)
				}
				for _, part := range tt.want {
					part = strings.ReplaceAll(part, "PATH", path)
					if !strings.Contains(err.Error(), part) {
						t.Errorf("%s: %q\ndoes not say %q", what, err, part)
					}
				}
			}
			lock, _ := os.ReadFile(path + ".lock")
			checkRefused(t, path, before, check)
			if after, _ := os.ReadFile(path + ".lock"); string(after) != string(lock) {
				t.Errorf("the lock file changed from %q to %q", lock, after)
			}
		})
	}
}

// TestMissingRestored follows the error's advice and gets the backup's
// state: put back, it is older than its image, and only the recovery the
// advice names (refresh -recover, Options.Restored) opens it; after that
// run it reads as any state.
func TestMissingRestored(t *testing.T) {
	path := withSnapshotAndJournal(t)
	want := contentsOf(mustRead(t, path+".backup"))
	os.Remove(path)
	if _, _, err := Read(path); !errors.Is(err, ErrMissing) {
		t.Fatalf("Read = %v, want ErrMissing", err)
	}
	writeFile(t, path, readFile(t, path+".backup"))
	if err := os.Rename(path+".wal", path+".wal.orphaned"); err != nil {
		t.Fatal(err)
	}
	var rb *RolledBackError
	if _, _, err := Read(path); !errors.As(err, &rb) {
		t.Fatalf("Read of the backup put back = %v, want RolledBackError", err)
	}
	s, _, err := Open(context.Background(), path, Options{Restored: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, contentsOf(s.State())); d != "" {
		t.Errorf("restored state differs from the backup (-want +got):\n%s", d)
	}
	if err := s.Recovered(); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
		t.Errorf("after the recovery's run (-want +got):\n%s", d)
	}
}

// TestNotMissing covers the states without a snapshot that are what they
// seem: new, or not compacted yet.
func TestNotMissing(t *testing.T) {
	t.Run("new", func(t *testing.T) {
		path := statePath(t)
		if st := mustRead(t, path); st.Len() != 0 {
			t.Errorf("a new state has %d sends", st.Len())
		}
		mustClose(t, mustOpen(t, path)) // leaves an empty lock file and nothing else
		if st := mustRead(t, path); st.Len() != 0 {
			t.Errorf("a state opened and closed unused has %d sends", st.Len())
		}
		mustClose(t, mustOpen(t, path))
	})
	t.Run("first run killed", func(t *testing.T) {
		// Its journal holds the state; the lock file names the dead run.
		path := statePath(t)
		s := mustOpen(t, path)
		populate(t, s, "A", 3)
		s.abandon()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the test needs a state without snapshot: %v", err)
		}
		if n := mustRead(t, path).Len(); n != 3 {
			t.Errorf("Read: %d sends, want 3", n)
		}
		s = mustOpen(t, path)
		if n := s.State().Len(); n != 3 {
			t.Errorf("Open: %d sends, want 3", n)
		}
		mustClose(t, s)
	})
	t.Run("a dead holder that wrote nothing", func(t *testing.T) {
		// A first run killed before its first record (while it loaded its
		// inputs, say) left nothing but its description.
		path := statePath(t)
		mustOpen(t, path).abandon()
		var h LockInfo
		if err := json.Unmarshal(readFile(t, path+".lock"), &h); err != nil || !h.NothingWritten || h.PID != os.Getpid() {
			t.Fatalf("lock file %q (%v), want this process's description saying it wrote nothing", readFile(t, path+".lock"), err)
		}
		if st := mustRead(t, path); st.Len() != 0 {
			t.Errorf("Read: %d sends", st.Len())
		}
		s := mustOpen(t, path)
		sendOne(t, s, addr("A"), OutcomeAccepted)
		mustClose(t, s)
		if n := mustRead(t, path).Len(); n != 1 {
			t.Errorf("%d sends after the next run, want 1", n)
		}
	})
	t.Run("a live run holds the lock", func(t *testing.T) {
		// A plan while the first apply is about to record: no state yet,
		// and the holder description is the live run's.
		path := statePath(t)
		js, _ := json.Marshal(LockInfo{ID: "L1", PID: 4242, Host: "cron1", Operation: "apply", Started: t0})
		writeFile(t, path+".lock", js)
		f, err := os.Open(path + ".lock")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		if st := mustRead(t, path); st.Len() != 0 {
			t.Errorf("%d sends", st.Len())
		}
	})
	t.Run("journal continuing a deleted first snapshot", func(t *testing.T) {
		// Without a backup this is damage the journal itself shows.
		path := statePath(t)
		s := mustOpen(t, path)
		populate(t, s, "A", 3)
		mustClose(t, s)
		s = mustOpen(t, path)
		populate(t, s, "B", 1)
		s.abandon()
		os.Remove(path)
		if _, _, err := Read(path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "is missing") {
			t.Errorf("Read = %v, want ErrCorrupt saying the snapshot is missing", err)
		}
	})
}
