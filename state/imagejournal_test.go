package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// journalOnImage leaves at path a snapshot (populateImage's) and a journal
// of answers and sends after it, too small to compact for, and returns
// the store that wrote the journal, still open, with imageAt set to at.
func journalOnImage(t *testing.T, path string, at int64) *Store {
	t.Helper()
	s := mustOpen(t, path)
	populateImage(t, s)
	populate(t, s, "J", 200) // a snapshot large enough that the journal below stays under an eighth
	mustClose(t, s)
	s = mustOpen(t, path)
	s.imageAt = at
	answerAll(t, s, "J", 200)
	return s
}

// answerAll records a provider status and an answer for the accepted sends
// among the first n of populate's prefix.
func answerAll(t *testing.T, s *Store, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i += 5 { // populate's accepted ones
		a := addr(fmt.Sprintf("%s-%04d", prefix, i))
		if err := s.Refresh(Update{Addr: a, ProviderStatus: StatusRead, Reply: &Reply{ID: "yes", Title: "Yes please", At: t0}}); err != nil {
			t.Fatal(err)
		}
	}
}

// imageJournalOf returns the journal records the image at path holds, per
// its header (nil for none).
func imageJournalOf(t *testing.T, path string) *imageJournal {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, held, err := readImage(path, f)
	if err != nil {
		t.Fatalf("the image is not usable: %v", err)
	}
	return held
}

// TestImageHoldsTheJournal: a run that leaves many records in a journal
// too small to compact writes the image of the snapshot and the journal,
// and the runs after it read the state from that image without applying
// those records again (a snapshot damaged behind the image's back still
// loads, to the state the run left); records written after it are
// replayed on top of it.
func TestImageHoldsTheJournal(t *testing.T) {
	path := statePath(t)
	s := journalOnImage(t, path, 1)
	live := contentsOf(s.State())
	records := int(s.st.Serial() - s.snapSerial)
	mustClose(t, s)
	if fi, err := os.Stat(path + ".wal"); err != nil || fi.Size() < 1000 {
		t.Fatalf("the run was compacted, or left no journal: %v", err)
	}
	held := imageJournalOf(t, path)
	if held == nil || held.Records != records {
		t.Fatalf("the image holds %+v of the journal; want its %d records", held, records)
	}
	breakSnapshot(t, path)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("read through the image of the snapshot and the journal (-live +read):\n%s", d)
	}

	// A run that writes a few records (under imageAt) leaves them to be
	// replayed on top of the image.
	s = mustOpen(t, path)
	if d := cmp.Diff(live, contentsOf(s.State())); d != "" {
		t.Fatalf("opened through the image (-live +opened):\n%s", d)
	}
	sendOne(t, s, addr("K-0000"), OutcomeAccepted)
	live = contentsOf(s.State())
	mustClose(t, s)
	if got := imageJournalOf(t, path); *got != *held {
		t.Fatalf("a run under imageAt wrote an image holding %+v; want the one before, %+v", got, held)
	}
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("the image and the journal's records after it (-live +read):\n%s", d)
	}
}

// TestImageJournalReplaced: an image that holds journal records is used
// only while the journal starts with them. A journal cut short, one
// written by another run from the same snapshot, or none, makes the
// snapshot and the journal be read (and a locked run rewrites the image).
func TestImageJournalReplaced(t *testing.T) {
	for name, spoil := range map[string]func(t *testing.T, path, other string){
		"journal cut short": func(t *testing.T, path, _ string) {
			b := readFile(t, path+".wal")
			lines := splitLines(b)
			writeFile(t, path+".wal", b[:len(b)-len(lines[len(lines)-1])-len(lines[len(lines)-2])])
		},
		"another run's journal": func(t *testing.T, path, other string) {
			writeFile(t, path+".wal", readFile(t, other+".wal"))
		},
		"journal removed": func(t *testing.T, path, _ string) {
			if err := os.Remove(path + ".wal"); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			s := journalOnImage(t, path, 1<<40) // no image for this journal
			mustClose(t, s)
			// other: the same snapshot and journal, then other records.
			other := filepath.Join(t.TempDir(), "ujumbe.state")
			for _, suffix := range []string{"", ".wal"} {
				writeFile(t, other+suffix, readFile(t, path+suffix))
			}
			s = mustOpen(t, path)
			s.imageAt = 1
			sendOne(t, s, addr("K-0000"), OutcomeAccepted)
			mustClose(t, s)
			if imageJournalOf(t, path) == nil {
				t.Fatal("no image of the journal was written")
			}
			o := mustOpen(t, other)
			sendOne(t, o, addr("K-0001"), OutcomeAccepted) // as many records, other content
			mustClose(t, o)

			spoil(t, path, other)
			// What the snapshot and the journal hold, without the image.
			img := readFile(t, path+imageSuffix)
			if err := os.Remove(path + imageSuffix); err != nil {
				t.Fatal(err)
			}
			want := contentsOf(mustRead(t, path))
			writeFile(t, path+imageSuffix, img)
			if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
				t.Fatalf("read with the image (-snapshot and journal +read):\n%s", d)
			}
			s = mustOpen(t, path)
			if d := cmp.Diff(want, contentsOf(s.State())); d != "" {
				t.Fatalf("opened with the image (-snapshot and journal +opened):\n%s", d)
			}
			mustClose(t, s)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, held, err := readImage(path, f); err != nil || held != nil {
				t.Fatalf("after a locked run: image holding %+v, %v; want the snapshot's image", held, err)
			}
		})
	}
}

// TestImageJournalOfNoRecords: an image whose header says it holds none
// of the journal's records, or a journal of no bytes, is refused with its
// header, before the rest of it is read.
func TestImageJournalOfNoRecords(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populate(t, s, "A", 20)
	mustClose(t, s)
	st := mustRead(t, path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, j := range []imageJournal{{Records: 0, Size: 100}, {Records: 3, Size: 0}} {
		writeImageOf(path, f, st, &j)
		if _, held, err := readImage(path, f); !errors.Is(err, errImage) {
			t.Errorf("an image holding %+v of the journal: read, holding %+v (%v); want it refused", j, held, err)
		}
	}
}

// TestReplayHeldErrors: replay refuses, with errImage, a journal that does
// not start with the records an image holds, however it differs.
func TestReplayHeldErrors(t *testing.T) {
	path := statePath(t)
	s := journalOnImage(t, path, 1)
	mustClose(t, s)
	held := imageJournalOf(t, path)
	wal := readFile(t, path+".wal")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, change := range map[string]func(j imageJournal) (imageJournal, []byte){
		"as written":     func(j imageJournal) (imageJournal, []byte) { return j, wal },
		"other size":     func(j imageJournal) (imageJournal, []byte) { j.Size--; return j, wal },
		"other chain":    func(j imageJournal) (imageJournal, []byte) { j.Chain++; return j, wal },
		"cut short":      func(j imageJournal) (imageJournal, []byte) { return j, wal[:j.Size-1] },
		"no line at all": func(j imageJournal) (imageJournal, []byte) { return j, nil },
		"torn header":    func(j imageJournal) (imageJournal, []byte) { return j, wal[:10] },
	} {
		j, b := change(*held)
		st, _, err := readImage(path, f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = replay(bytes.NewReader(b), "x.wal", st, true, true, &j)
		if name == "as written" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, errImage) {
			t.Errorf("%s: %v, want errImage", name, err)
		}
	}

	// The journal a compaction started since the image was read, as an
	// unlocked reader may find it: read again (CorruptError.retry), not
	// the snapshot, which the next read finds with its image.
	st, _, err := readImage(path, f)
	if err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path)
	s.compactAt = 1
	sendOne(t, s, addr("K-0000"), OutcomeAccepted)
	mustClose(t, s)
	_, err = replay(bytes.NewReader(readFile(t, path+".wal")), "x.wal", st, true, false, held)
	var ce *CorruptError
	if !errors.As(err, &ce) || !ce.retry {
		t.Fatalf("a compaction's new journal: %v, want a CorruptError to read again", err)
	}
}

// TestReadWhileImagesAreWritten: readers that do not lock read every state
// whole while runs one after the other write records, images that hold
// them and, now and then, compactions: never an error, never a serial
// going back, and every accepted send with its message id.
func TestReadWhileImagesAreWritten(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populate(t, s, "A", 50)
	mustClose(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for run := range 12 {
			s, _, err := Open(context.Background(), path, Options{Operation: "test", Now: fixedNow, imageAt: 1})
			if err != nil {
				t.Error(err)
				return
			}
			if run%4 == 3 {
				s.compactAt = 1 // this run compacts as it goes
			}
			populate(t, s, fmt.Sprintf("R%02d", run), 20)
			if err := s.Close(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var last uint64
	reads := readUntil(t, path, done, func(read int, st *State) {
		if st.Serial() < last {
			t.Fatalf("read %d: serial %d after %d", read, st.Serial(), last)
		}
		last = st.Serial()
	})
	want := mustRead(t, path)
	if err := os.Remove(path + imageSuffix); err != nil {
		t.Fatal(err)
	}
	diffStates(t, mustRead(t, path), want)
	t.Logf("%d reads", reads)
}
