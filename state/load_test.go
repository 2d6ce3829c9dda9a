package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ujumbe/ujumbe/addrs"
)

// withSnapshotAndJournal makes a state whose snapshot holds some sends and
// whose journal holds more, as a run that was killed leaves it.
func withSnapshotAndJournal(t *testing.T) string {
	t.Helper()
	path := statePath(t)
	s := mustOpen(t, path)
	populate(t, s, "A", 8)
	mustClose(t, s)
	s = mustOpen(t, path) // a second snapshot, so there is a backup
	sendOne(t, s, addr("A2"), OutcomeAccepted)
	mustClose(t, s)
	s = mustOpen(t, path)
	populate(t, s, "B", 8)
	s.abandon()
	return path
}

// splitLines splits b after each LF.
func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n') + 1
		if i == 0 {
			i = len(b)
		}
		out = append(out, b[:i])
		b = b[i:]
	}
	return out
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTornTail cuts the journal's last record at every byte and checks that
// the state loads without it, warns when locked, and truncates it.
func TestTornTail(t *testing.T) {
	src := withSnapshotAndJournal(t)
	journal := readFile(t, src+".wal")
	lines := splitLines(journal)
	last := lines[len(lines)-1]
	cleanEnd := len(journal) - len(last)

	// The state without the last record.
	ref := filepath.Join(t.TempDir(), "ujumbe.state")
	copyState(t, src, ref)
	writeFile(t, ref+".wal", journal[:cleanEnd])
	want := contentsOf(mustRead(t, ref))
	if full := contentsOf(mustRead(t, src)); cmp.Equal(want, full) {
		t.Fatal("the last record changes nothing; the test would prove nothing")
	}

	damaged := map[string][]byte{}
	for n := 1; n < len(last); n++ {
		damaged[fmt.Sprintf("cut %d of %d bytes", n, len(last))] = journal[:cleanEnd+n]
	}
	flipped := bytes.Clone(journal)
	flipped[len(flipped)-5] ^= 1
	damaged["bad checksum"] = flipped
	damaged["zeros"] = append(bytes.Clone(journal[:cleanEnd]), make([]byte, 300)...)

	for name, data := range damaged {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ujumbe.state")
			copyState(t, src, path)
			writeFile(t, path+".wal", data)
			complete := data[len(data)-1] == '\n'

			st, warns, err := Read(path)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if d := cmp.Diff(want, contentsOf(st)); d != "" {
				t.Fatalf("Read (-want +got):\n%s", d)
			}
			// An unlocked reader takes an unterminated line for one being
			// written, and keeps quiet about it.
			if got := len(warns); got != map[bool]int{true: 1, false: 0}[complete] {
				t.Errorf("Read: %d warnings: %v", got, warns)
			}

			s, warns, err := Open(context.Background(), path, Options{Now: fixedNow})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(warns) != 1 || !strings.Contains(warns[0].Detail, "has been removed") || !strings.Contains(warns[0].Detail, path+".wal") {
				t.Errorf("Open warnings = %v", warns)
			}
			if d := cmp.Diff(want, contentsOf(s.State())); d != "" {
				t.Fatalf("Open (-want +got):\n%s", d)
			}
			if got := fileSize(t, path+".wal"); got != int64(cleanEnd) {
				t.Errorf("journal is %d bytes after Open, want %d", got, cleanEnd)
			}
			sendOne(t, s, addr("after"), OutcomeAccepted)
			want := contentsOf(s.State())
			s.abandon()
			if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
				t.Fatalf("after appending (-want +got):\n%s", d)
			}
		})
	}
}

// TestCorruption damages the files in ways no crash can and expects an
// error naming the file and the way back, and files left as they were.
func TestCorruption(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		file   string // suffix of the damaged file
		want   string
	}{
		{"journal byte flipped", func(t *testing.T, path string) {
			b := readFile(t, path+".wal")
			lines := splitLines(b)
			lines[3][20] ^= 1
			writeFile(t, path+".wal", bytes.Join(lines, nil))
		}, ".wal", "line 4: checksum mismatch, and it is not the last line"},
		{"journal line lost", func(t *testing.T, path string) {
			lines := splitLines(readFile(t, path+".wal"))
			writeFile(t, path+".wal", bytes.Join(append(lines[:3:3], lines[4:]...), nil))
		}, ".wal", "line 4: checksum mismatch"},
		{"journal line repeated", func(t *testing.T, path string) {
			lines := splitLines(readFile(t, path+".wal"))
			writeFile(t, path+".wal", bytes.Join(append(lines[:4:4], lines[3:]...), nil))
		}, ".wal", "line 5: checksum mismatch"},
		{"journal from another state", func(t *testing.T, path string) {
			other := filepath.Join(t.TempDir(), "other.state")
			s := mustOpen(t, other)
			populate(t, s, "A", 2)
			mustClose(t, s)
			copyState(t, other, path+".x")
			writeFile(t, path, readFile(t, path+".x"))
		}, ".wal", "it belongs to another state"},
		{"older snapshot put back", func(t *testing.T, path string) {
			writeFile(t, path, readFile(t, path+".backup"))
		}, ".wal", "continues the snapshot of serial 20, but the snapshot is at serial 18"},
		{"snapshot byte flipped", func(t *testing.T, path string) {
			lines := splitLines(readFile(t, path))
			lines[2][30] ^= 1
			writeFile(t, path, bytes.Join(lines, nil))
		}, "", "line 3: checksum mismatch"},
		{"snapshot cut at a line", func(t *testing.T, path string) {
			lines := splitLines(readFile(t, path))
			writeFile(t, path, bytes.Join(lines[:len(lines)-2], nil))
		}, "", "the file ends at line 8, before the records its header lists"},
		{"snapshot cut in a line", func(t *testing.T, path string) {
			b := readFile(t, path)
			writeFile(t, path, b[:len(b)-10])
		}, "", "line 10: the line is incomplete"},
		{"snapshot empty", func(t *testing.T, path string) {
			writeFile(t, path, nil)
		}, "", "the file is empty"},
		{"snapshot with extra lines", func(t *testing.T, path string) {
			b := readFile(t, path)
			writeFile(t, path, append(b, splitLines(b)[1]...))
		}, "", "line 11: unexpected data after the last record its header lists"},
		{"journal as snapshot", func(t *testing.T, path string) {
			writeFile(t, path, readFile(t, path+".wal"))
		}, "", `not a ujumbe state file (header says "journal")`},
		{"newer format", func(t *testing.T, path string) {
			lines := splitLines(readFile(t, path))
			hdr, _ := appendHeader(nil, header{Format: formatState, Version: Version + 1, Lineage: "L", Serial: 1})
			writeFile(t, path, bytes.Join(append([][]byte{hdr}, lines[1:]...), nil))
		}, "", "written by a newer ujumbe"},
		{"record the state refuses", func(t *testing.T, path string) {
			b := readFile(t, path+".wal")
			lines := splitLines(b)
			crc := crcOf(t, lines[len(lines)-1])
			bad := record{op: opResult, send: Send{Addr: addr("never"), Outcome: OutcomeFailed}}
			b, crc = appendFramed(b, crc, &bad)
			b, _ = appendFramed(b, crc, &bad)
			writeFile(t, path+".wal", b)
		}, ".wal", `ask["never"] has no recorded intent`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := withSnapshotAndJournal(t)
			tt.damage(t, path)
			before := snapshotFiles(t, path)
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, path)
			}
			check := func(what string, err error) {
				t.Helper()
				var ce *CorruptError
				if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
					t.Fatalf("%s: %v, want ErrCorrupt", what, err)
				}
				msg := err.Error()
				for _, part := range []string{"state file " + path + tt.file + " is damaged", want, "copy " + path + ".backup over " + path} {
					if !strings.Contains(msg, part) {
						t.Errorf("%s: %q\ndoes not say %q", what, msg, part)
					}
				}
			}
			checkRefused(t, path, before, check)
		})
	}
}

// checkRefused checks with check the errors of Read and of two Opens (a
// failed Open releases the lock) of the state at path, and that the files
// are still as before.
func checkRefused(t *testing.T, path string, before map[string]string, check func(what string, err error)) {
	t.Helper()
	st, _, err := Read(path)
	check("Read", err)
	if st != nil {
		t.Error("Read returned a state with its error")
	}
	for range 2 {
		_, _, err = Open(context.Background(), path, Options{})
		check("Open", err)
	}
	if d := cmp.Diff(before, snapshotFiles(t, path)); d != "" {
		t.Errorf("loading changed the files (-before +after):\n%s", d)
	}
}

func crcOf(t *testing.T, line []byte) uint32 {
	t.Helper()
	var sum uint32
	if _, err := fmt.Sscanf(string(line[:crcLen]), "%08x", &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

func snapshotFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, suffix := range []string{"", ".wal", ".backup"} {
		if b, err := os.ReadFile(path + suffix); err == nil {
			out[suffix] = string(b)
		}
	}
	return out
}

// TestReadDuringCompaction reads while another store compacts over and over.
func TestReadDuringCompaction(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	s.compactAt = 2 << 10
	done := make(chan struct{})
	go func() {
		defer close(done)
		populate(t, s, "C", 150)
	}()
	reads := readUntil(t, path, done, nil)
	want := contentsOf(s.State())
	mustClose(t, s)
	diffStates(t, s.State(), mustRead(t, path))
	if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	t.Logf("%d reads", reads)
}

// readUntil reads the state at path without locking it until done is
// closed, failing on any error and on an accepted send without its
// message_id, and passes each state read to check (unless nil). It returns
// how many reads it made.
func readUntil(t *testing.T, path string, done <-chan struct{}, check func(read int, st *State)) int {
	t.Helper()
	reads := 0
	for running := true; running; reads++ {
		select {
		case <-done:
			running = false
		default:
		}
		st, _, err := Read(path)
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		for snd := range st.Sends(addrs.Pattern{}) {
			if snd.Outcome == OutcomeAccepted && snd.MessageID == "" {
				t.Fatalf("read %d: %s accepted without message_id", reads, snd.Addr)
			}
		}
		if check != nil {
			check(reads, st)
		}
	}
	return reads
}

// TestSnapshotBatches reads snapshots of several decoding batches
// (snapshotBatch lines each) and checks that every send is loaded and that
// of two problems the first in the file is the one reported, wherever the
// batches end.
func TestSnapshotBatches(t *testing.T) {
	const n = 3*snapshotBatch + 5
	write := func(t *testing.T, spoil func(i int, r *record)) string {
		t.Helper()
		h := header{Format: formatState, Version: Version, Lineage: "L", Serial: n,
			Messages: []messageCount{{"black_friday", "ask", n}}}
		b, crc := appendHeader(nil, h)
		for i := range n {
			r := record{op: opSend, send: Send{Addr: addr(fmt.Sprintf("k%06d", i)), Phone: "255700000001", Attempts: 1, Outcome: OutcomeAccepted, MessageID: fmt.Sprint("m", i)}}
			spoil(i, &r)
			b, crc = appendFramed(b, crc, &r)
		}
		path := statePath(t)
		writeFile(t, path, b)
		return path
	}
	st, _, err := Read(write(t, func(int, *record) {}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != n {
		t.Fatalf("%d sends loaded, want %d", st.Len(), n)
	}
	for _, i := range []int{0, snapshotBatch - 1, snapshotBatch, n - 1} {
		s, ok := st.Get(addr(fmt.Sprintf("k%06d", i)))
		if !ok || s.MessageID != fmt.Sprint("m", i) || s.Outcome != OutcomeAccepted {
			t.Errorf("send %d: %+v, %v", i, s, ok)
		}
	}

	tests := []struct {
		name  string
		spoil func(i int, r *record)
		want  string
	}{
		{"another message", func(i int, r *record) {
			if i == snapshotBatch+7 || i == 2*snapshotBatch+1 {
				r.send.Addr.Message = "offer"
			}
		}, fmt.Sprintf("line %d: expected a send of campaign %q, message %q", snapshotBatch+9, "black_friday", "ask")},
		{"a key twice, then another message", func(i int, r *record) {
			if i == snapshotBatch+3 {
				r.send.Addr.Key = "k000000"
			}
			if i == 2*snapshotBatch {
				r.op = opOptOut
				r.optOut = OptOut{Phone: "255700000001"}
			}
		}, fmt.Sprintf(`line %d: campaign.black_friday.message.ask["k000000"] appears twice`, snapshotBatch+5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Read(write(t, tt.spoil))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read: %v, want ErrCorrupt saying %q", err, tt.want)
			}
		})
	}
}
