package state

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ujumbe/ujumbe/addrs"
)

// populateImage records what an image must carry: every outcome, a
// history, a reply, a window, a variant, a fingerprint, removed and moved
// sends, an opt-out, and sends of two campaigns and several messages.
func populateImage(t *testing.T, s *Store) {
	t.Helper()
	populateV3(t, s)
	populate(t, s, "F", 40)
	if err := s.RecordIntent(Intent{Addr: addr("E-0000"), Phone: "+255700E-0000", Digest: digestOf([]byte("e")), Inputs: 42, Variant: "long", At: t0}); err != nil {
		t.Fatal(err)
	}
	other := addr("G-0000")
	other.Campaign, other.Message = "spring", "hello"
	if err := s.RecordIntent(Intent{Addr: other, Phone: "+255700G-0000", At: t0}); err != nil {
		t.Fatal(err)
	}
	second := addr("F-0003")
	second.Message = "code"
	sendOne(t, s, second, OutcomeAccepted)
}

// breakSnapshot overwrites a byte in the middle of the snapshot at path
// and gives it back its modification time: the same file, as far as the
// image can tell, but one that does not load on its own.
func breakSnapshot(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("#"), fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestImageLoadsTheSnapshot: a compaction writes an image beside the
// snapshot, and loading it gives the state the snapshot holds, also after
// the image's state was changed and written again; it is the image that
// was read (a snapshot damaged in place behind its back still loads).
func TestImageLoadsTheSnapshot(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populateImage(t, s)
	live := contentsOf(s.State())
	mustClose(t, s)
	if _, err := os.Stat(path + imageSuffix); err != nil {
		t.Fatalf("no image after a compaction: %v", err)
	}
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("read through the image (-live +read):\n%s", d)
	}
	// It is the image that is read: a snapshot damaged in place behind
	// its back still loads.
	breakSnapshot(t, path)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("the image was not read (-live +read):\n%s", d)
	}

	// Changed and written again, starting from the image.
	s = mustOpen(t, path)
	populate(t, s, "H", 12)
	sendOne(t, s, addr("F-0001"), OutcomeAccepted) // a retry, accepted
	if _, err := s.Remove(addr("F-0007").Pattern()); err != nil {
		t.Fatal(err)
	}
	live = contentsOf(s.State())
	mustClose(t, s)
	withImage := mustRead(t, path)
	if d := cmp.Diff(live, contentsOf(withImage)); d != "" {
		t.Fatalf("changed, read through the image (-live +read):\n%s", d)
	}
	// The loaded state works: its index finds every send.
	for sd := range withImage.Sends(addrs.Pattern{}) {
		if got, ok := withImage.Get(sd.Addr); !ok || got.Addr != sd.Addr {
			t.Fatalf("%s not found through the image's index", sd.Addr)
		}
	}
	if err := os.Remove(path + imageSuffix); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("changed, read from the snapshot (-live +read):\n%s", d)
	}
	breakSnapshot(t, path)
	if _, _, err := Read(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("the damaged snapshot alone: %v, want ErrCorrupt", err)
	}
}

// TestImageIgnored: an image that does not belong to the snapshot file, is
// damaged or cut short is not read: the snapshot is, whole, or its damage
// is reported.
func TestImageIgnored(t *testing.T) {
	for name, spoil := range map[string]func(t *testing.T, path string){
		"snapshot rewritten": func(t *testing.T, path string) {
			// The same bytes, a new file: restored from a copy.
			b := readFile(t, path)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			breakSnapshot(t, path)
		},
		"snapshot touched": func(t *testing.T, path string) {
			breakSnapshot(t, path)
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(path, later, later); err != nil {
				t.Fatal(err)
			}
		},
		"image damaged": func(t *testing.T, path string) {
			breakSnapshot(t, path)
			b := readFile(t, path+imageSuffix)
			b[len(b)/2] ^= 1
			if err := os.WriteFile(path+imageSuffix, b, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"image cut short": func(t *testing.T, path string) {
			breakSnapshot(t, path)
			b := readFile(t, path+imageSuffix)
			if err := os.WriteFile(path+imageSuffix, b[:len(b)-5], 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"another layout": func(t *testing.T, path string) {
			breakSnapshot(t, path)
			l := imageLayout
			t.Cleanup(func() { imageLayout = l })
			imageLayout += " (another build)"
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			s := mustOpen(t, path)
			populateImage(t, s)
			mustClose(t, s)
			spoil(t, path)
			if _, _, err := Read(path); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read %v; want the snapshot's damage reported, not the image read", err)
			}
		})
	}
}

// TestImageLarge: an image of many sends, with text entries of every length
// and groups of several tables, loads to the state written.
func TestImageLarge(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	for i := range 5000 {
		a := addr(fmt.Sprintf("K-%05d", i))
		a.Message = []string{"ask", "hello", "code"}[i%3]
		if i%7 == 0 {
			a.Campaign = "other"
		}
		outcome := []Outcome{OutcomeAccepted, OutcomeRetry, OutcomeUnknown}[i%3]
		if err := s.RecordIntent(Intent{Addr: a, Phone: fmt.Sprintf("+2557%08d", i), Inputs: uint64(i), At: t0}); err != nil {
			t.Fatal(err)
		}
		r := Result{Addr: a, Outcome: outcome, ErrorCode: fmt.Sprintf("E%d", i%11), ErrorMessage: string(make([]byte, i%300))}
		if outcome == OutcomeAccepted {
			r.MessageID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		}
		if err := s.RecordResult(r); err != nil {
			t.Fatal(err)
		}
	}
	live := contentsOf(s.State())
	mustClose(t, s)
	breakSnapshot(t, path)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("(-live +read):\n%s", d)
	}
}
