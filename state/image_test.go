package state

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ujumbe/ujumbe/addrs"
	"golang.org/x/sys/unix"
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
	if err := s.ReadInbound(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Two attempts that failed for the run's reasons: one in the history,
	// one the latest.
	held := addr("S-0000")
	for range 2 {
		if err := s.RecordIntent(Intent{Addr: held, Phone: "+255700S-0000", At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordResult(Result{Addr: held, Outcome: OutcomeRetry, ErrorCode: "UNAUTHORIZED", Systemic: true}); err != nil {
			t.Fatal(err)
		}
	}
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

// TestImageRemade: a run that holds the lock and finds no image it can
// use (none, a stale one, another build's) makes the snapshot's, so that
// the runs after it read the image without waiting for a compaction; a
// run that only reads (plan) does not write it.
func TestImageRemade(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populateImage(t, s)
	live := contentsOf(s.State())
	mustClose(t, s)
	if err := os.Remove(path + imageSuffix); err != nil {
		t.Fatal(err)
	}
	mustRead(t, path)
	if _, err := os.Stat(path + imageSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an unlocked read wrote an image: %v", err)
	}
	mustClose(t, mustOpen(t, path)) // nothing recorded: no compaction
	breakSnapshot(t, path)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("the image made by the locked run was not read (-live +read):\n%s", d)
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
		"image of another serial": func(t *testing.T, path string) {
			rewriteImage(t, path, func(st *State) { st.serial++ })
		},
		"image with a send less": func(t *testing.T, path string) {
			rewriteImage(t, path, func(st *State) { st.remove(st.groups[groupKey{"black_friday", "ask"}], 0) })
		},
		"image with a slot at another rec": func(t *testing.T, path string) {
			rewriteImage(t, path, func(st *State) {
				g := st.groups[groupKey{"black_friday", "ask"}]
				i, _ := g.index.lookup(g, g.keyOf(&g.recs[0]))
				*g.index.slot(i) += 1
			})
		},
		"image a named pipe": func(t *testing.T, path string) {
			breakSnapshot(t, path)
			os.Remove(path + imageSuffix)
			if err := unix.Mkfifo(path+imageSuffix, 0o600); err != nil {
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

// rewriteImage writes the image of the snapshot at path again, from its
// state changed by change, and breaks the snapshot.
func rewriteImage(t *testing.T, path string, change func(st *State)) {
	t.Helper()
	st := mustRead(t, path)
	change(st)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeImage(path, st, fi, tailOf(t, path), nil); err != nil {
		t.Fatal(err)
	}
	breakSnapshot(t, path)
}

// tailOf returns the CRC on the last line of the snapshot at path.
func tailOf(t testing.TB, path string) uint32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	tail, ok := snapshotTail(f, fi.Size())
	if !ok {
		t.Fatalf("%s has no framed last line", path)
	}
	return tail
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
		r := Result{Addr: a, Outcome: outcome, ErrorCode: fmt.Sprintf("E%d", i%11), ErrorMessage: string(make([]byte, i%300)),
			Systemic: outcome == OutcomeRetry && i%2 == 0}
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

// imageState loads the state at path through its image, and fails the test
// when the image is not what was read.
func imageState(t *testing.T, path string) *State {
	t.Helper()
	breakSnapshot(t, path)
	return mustRead(t, path)
}

// TestImageDeadColumns: the index columns of messages whose sends were all
// removed are left out of the image, which loads to the same state.
func TestImageDeadColumns(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populateImage(t, s)
	for _, p := range []addrs.Pattern{{Campaign: "black_friday", Message: "code"}, {Campaign: "spring"}} {
		if n, err := s.Remove(p); err != nil || n == 0 {
			t.Fatalf("remove %v: %d, %v", p, n, err)
		}
	}
	live := contentsOf(s.State())
	if cols := s.State().tables["black_friday"].cols; cols != 2 {
		t.Fatalf("the test needs a dead column beside a live one: %d columns", cols)
	}
	mustClose(t, s)
	st := imageState(t, path)
	if d := cmp.Diff(live, contentsOf(st)); d != "" {
		t.Fatalf("(-live +read):\n%s", d)
	}
	if len(st.tables) != 1 || st.tables["black_friday"].cols != 1 {
		t.Errorf("the image kept dead columns: %d tables, %d columns", len(st.tables), st.tables["black_friday"].cols)
	}
	for sd := range st.Sends(addrs.Pattern{}) {
		if _, ok := st.Get(sd.Addr); !ok {
			t.Fatalf("%s not found through the image's index", sd.Addr)
		}
	}
}

// TestImageGroupCheck spoils, one way at a time, a group read from an
// image the ways a wrong image could be wrong and its CRC still right: the
// check that loading makes before using a group refuses each, and passes
// the group as it was read.
func TestImageGroupCheck(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populateImage(t, s)
	mustClose(t, s)
	ids := make([]uint16, 1<<16)
	for i := range ids {
		ids[i] = uint16(i)
	}
	// slotOf returns the row of the slot of the rec at pos.
	slotOf := func(g *group, pos int) uint64 {
		i, ok := g.index.lookup(g, g.keyOf(&g.recs[pos]))
		if !ok {
			t.Fatalf("rec %d not in the index", pos)
		}
		return i
	}
	for name, spoil := range map[string]func(g *group){
		"as read":                func(g *group) {},
		"an entry's start moved": func(g *group) { g.recs[3].at++ },
		"two recs' recMores swapped": func(g *group) {
			var with []int
			for i := range g.recs {
				if g.recs[i].more != 0 {
					with = append(with, i)
				}
			}
			a, b := &g.recs[with[0]], &g.recs[with[1]]
			a.more, b.more = b.more, a.more
		},
		"the text cut short": func(g *group) { g.text[0] = g.text[0][:len(g.text[0])-1] },
		"a key's length spoiled": func(g *group) {
			b := []byte(g.text[0])
			b[g.recs[5].at] = 0x7f
			g.text[0] = string(b)
		},
		"a length without end": func(g *group) {
			b := []byte(g.text[0])
			for i := int(g.recs[len(g.recs)-1].at); i < len(b); i++ {
				b[i] = 0x80
			}
			g.text[0] = string(b)
		},
		"an unknown outcome":  func(g *group) { g.recs[2].outcome = Outcome(len(outcomeNames)) },
		"a rec its own chunk": func(g *group) { g.recs[1].own = true },
		"a slot at another rec": func(g *group) {
			p := g.index.slot(slotOf(g, 4))
			*p = *p&^0xffffffff | 6
		},
		"a slot out of range": func(g *group) {
			p := g.index.slot(slotOf(g, 4))
			*p = *p&^0xffffffff | uint64(len(g.recs)+1)
		},
		"a slot lost": func(g *group) { *g.index.slot(slotOf(g, 4)) = 0 },
		"a slot before its row": func(g *group) {
			mask := uint64(g.index.t.rows - 1)
			for pos := range g.recs {
				i := slotOf(g, pos)
				s := *g.index.slot(i)
				if before := g.index.slot((s>>32 - 1) & mask); *before == 0 {
					*before, *g.index.slot(i) = s, 0
					return
				}
			}
			t.Fatal("no slot with a free row before its own")
		},
		"the hash of another build": func(g *group) {
			for i := range g.index.t.rows {
				if p := g.index.slot(uint64(i)); *p != 0 {
					*p ^= 1 << 32
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := imageState(t, path)
			g := st.groups[groupKey{"black_friday", "ask"}]
			if len(g.text) != 1 {
				t.Fatalf("not read from the image: %d chunks", len(g.text))
			}
			spoil(g)
			if got, want := g.check(ids), name == "as read"; got != want {
				t.Errorf("check = %v, want %v", got, want)
			}
		})
	}
}

// TestImageHeaderChecked: sizes in an image's header that do not fit the
// image are refused, without a panic or an allocation of their size.
func TestImageHeaderChecked(t *testing.T) {
	body := make([]byte, 4096)
	for name, h := range map[string]imageHeader{
		"rows times columns overflow": {Tables: []imageTable{{Campaign: "c", Rows: 1 << (strconv.IntSize - 2), Columns: make([]string, 8)}}},
		"rows not a power of two":     {Tables: []imageTable{{Campaign: "c", Rows: 24, Columns: []string{"m"}}}},
		"more rows than bytes":        {Tables: []imageTable{{Campaign: "c", Rows: 1 << 10, Columns: []string{"m"}}}},
		"a table without columns":     {Tables: []imageTable{{Campaign: "c", Rows: 16}}},
		"a group without a table":     {Groups: []imageGroup{{Campaign: "c", Message: "m", Recs: 1}}},
		"a column without a group":    {Tables: []imageTable{{Campaign: "c", Rows: 16, Columns: []string{"m"}}}},
		"more recs than bytes": {Tables: []imageTable{{Campaign: "c", Rows: 16, Columns: []string{"m"}}},
			Groups: []imageGroup{{Campaign: "c", Message: "m", Recs: math.MaxInt / 2}}},
		"more text than bytes": {Tables: []imageTable{{Campaign: "c", Rows: 16, Columns: []string{"m"}}},
			Groups: []imageGroup{{Campaign: "c", Message: "m", Recs: 1, Text: math.MaxInt / 2}}},
		"more recMores than bytes": {Tables: []imageTable{{Campaign: "c", Rows: 16, Columns: []string{"m"}}},
			Groups: []imageGroup{{Campaign: "c", Message: "m", Recs: 1, Mores: math.MaxInt / 2}}},
	} {
		t.Run(name, func(t *testing.T) {
			ir := &imageReader{b: body}
			if st, err := ir.state(&h); err == nil && !ir.bad {
				t.Errorf("read %d sends, want the image refused", st.Len())
			}
		})
	}
}

// TestImageHoldsRange: a slot whose position is past the group's recs is
// refused, also at 1<<31 and beyond, where int(pos) is negative on 32-bit.
// The sum is made to match, so only the range check can refuse it.
func TestImageHoldsRange(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populateImage(t, s)
	mustClose(t, s)
	st := imageState(t, path)
	g := st.groups[groupKey{"black_friday", "ask"}]
	i, ok := g.index.lookup(g, g.keyOf(&g.recs[4]))
	if !ok {
		t.Fatal("not found")
	}
	p := g.index.slot(i)
	*p = *p&^0xffffffff | 0x80000001
	var sum uint64
	for r := range g.index.t.rows {
		if s := *g.index.slot(uint64(r)); s != 0 {
			sum += mixSlot(s)
		}
	}
	if g.index.holds(len(g.recs), sum) {
		t.Errorf("holds accepted a slot at position 0x80000001 in a group of %d recs", len(g.recs))
	}
}

// TestImageOfAForkedCopy: two copies of one state (same lineage) each
// record one result for the same send, so both reach serial 2 with one send.
// In one the send was accepted; in the other it is "retry" (sendable). The
// accepted copy is put in place over the other's snapshot file the way
// `cp -p` / `rsync --inplace -t` do (same inode, the copy's mtime), and the
// two snapshots happen to share size and mtime (same coarse timestamp
// tick, or mtimes preserved). Everything the image's header names matches
// but the snapshot's last line: Read must read the snapshot ("accepted"),
// not the image ("retry"), or a plan would send the message again.
func TestImageOfAForkedCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ujumbe.state")
	other := filepath.Join(t.TempDir(), "ujumbe.state")
	x := addr("X")

	s := mustOpen(t, path)
	if err := s.RecordIntent(Intent{Addr: x, Phone: "+255700000001", At: t0}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	copyState(t, path, other)

	// Fork B: the send was accepted.
	s = mustOpen(t, other)
	if err := s.RecordResult(Result{Addr: x, Outcome: OutcomeAccepted, MessageID: "0b1c2d3e-0000-4000-8000-000000000001",
		ConversationID: "0b1c2d3e-0000-4000-8000-000000000002", ProviderStatus: StatusPending, At: t0}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	accepted := readFile(t, other)

	// Fork A, here: the send certainly never reached the provider (retry),
	// its error message as long as makes the two snapshots the same size.
	s = mustOpen(t, path)
	r := Result{Addr: x, Outcome: OutcomeRetry, ErrorCode: "E", At: t0}
	probe := r
	// Find the padding by trying sizes on a scratch copy.
	for n := 1; n < 400; n++ {
		scratch := filepath.Join(t.TempDir(), "ujumbe.state")
		copyState(t, path, scratch)
		ss := mustOpen(t, scratch)
		probe.ErrorMessage = strings.Repeat("m", n)
		if err := ss.RecordResult(probe); err != nil {
			t.Fatal(err)
		}
		mustClose(t, ss)
		if fileSize(t, scratch) == int64(len(accepted)) {
			r.ErrorMessage = probe.ErrorMessage
			break
		}
	}
	if r.ErrorMessage == "" {
		t.Fatal("no padding makes the sizes equal")
	}
	if err := s.RecordResult(r); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	// cp -p other path: written in place, same inode; mtime equal.
	if err := os.WriteFile(path, accepted, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}

	got, ok := mustRead(t, path).Get(x)
	if !ok || got.Outcome != OutcomeAccepted || got.MessageID == "" {
		t.Fatalf("the snapshot says %s is accepted; Read says %v %q (read from the stale image)", x, got.Outcome, got.MessageID)
	}
}

// TestImageOfALongLastLine: a send whose history has grown long (cron
// through an outage adds an attempt a run, none counted) may be the
// snapshot's last line, and longer than one read at the file's end: the
// image of that snapshot is still read.
func TestImageOfALongLastLine(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	for i := range 20 {
		sendOne(t, s, addr(fmt.Sprintf("A-%04d", i)), OutcomeAccepted)
	}
	held := addr("Z-held") // last in address order, and no opt-out after it
	for i := range 1500 {
		if err := s.RecordIntent(Intent{Addr: held, Phone: "+255700999", At: t0.Add(time.Duration(i) * 5 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordResult(Result{Addr: held, Outcome: OutcomeRetry, ErrorCode: "HTTP_503",
			ErrorMessage: "dial tcp 10.0.0.1:443: connect: connection refused", Systemic: true}); err != nil {
			t.Fatal(err)
		}
	}
	live := contentsOf(s.State())
	mustClose(t, s)
	b := readFile(t, path)
	if last := b[bytes.LastIndexByte(b[:len(b)-1], '\n')+1:]; len(last) <= 1<<16 {
		t.Fatalf("the last line is %d bytes, no longer than one read", len(last))
	}
	breakSnapshot(t, path)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("the image was not read (-live +read):\n%s", d)
	}
}

// TestChecksumInChunks: the image's CRC taken a megabyte at a time is the
// CRC of the whole, at and around the chunk's edges.
func TestChecksumInChunks(t *testing.T) {
	b := make([]byte, 3<<20+7)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	for _, n := range []int{0, 1, 1<<20 - 1, 1 << 20, 1<<20 + 1, 2 << 20, len(b)} {
		if got, want := checksum(b[:n]), crc32.Checksum(b[:n], castagnoli); got != want {
			t.Errorf("checksum of %d bytes = %08x, want %08x", n, got, want)
		}
	}
}
