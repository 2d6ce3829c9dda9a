package state

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/internal/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the files under testdata")

// FuzzJournal checks that any prefix of a valid journal loads, and loads to
// exactly the records it holds whole. Its seeds in testdata/fuzz/FuzzJournal
// are real journals, written by TestJournalSeeds -update.
func FuzzJournal(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		full := newState()
		_, fullErr := replay(bytes.NewReader(data), "fuzz.wal", full, false, true, nil)
		n := int(cut % uint(len(data)+1))
		prefix := newState()
		j, err := replay(bytes.NewReader(data[:n]), "fuzz.wal", prefix, false, true, nil)
		if fullErr != nil {
			return // not a valid journal; it only had not to panic
		}
		if err != nil {
			t.Fatalf("the first %d bytes of a valid journal: %v", n, err)
		}
		whole := newState()
		jw, err := replay(bytes.NewReader(data[:j.end]), "fuzz.wal", whole, false, true, nil)
		if err != nil || jw.torn != 0 || jw.records != j.records {
			t.Fatalf("the %d whole lines of the prefix: %+v, %v", j.records, jw, err)
		}
		if d := cmp.Diff(contentsOf(whole), contentsOf(prefix)); d != "" {
			t.Fatalf("prefix of %d bytes differs from its whole lines (-whole +prefix):\n%s", n, d)
		}
		if prefix.Serial() > full.Serial() {
			t.Fatalf("prefix has serial %d, the whole journal %d", prefix.Serial(), full.Serial())
		}
	})
}

// FuzzRecord feeds the hand-written record decoder anything: it must not
// panic, and what it accepts must encode back to something it reads the same.
func FuzzRecord(f *testing.F) {
	for _, r := range []record{
		{op: opSend, send: fullSend()},
		{op: opIntent, replace: true, send: Send{Addr: addr("k"), Phone: "+1", IntentAt: t0}},
		{op: opOptOut, optOut: OptOut{Phone: "+1", Text: "STOP \"now\""}},
		{op: opMove, moves: []Move{{From: addrs.Pattern{Campaign: "a"}, To: addrs.Pattern{Campaign: "b"}}}},
		{op: opMove, moves: []Move{{From: addrs.Pattern{Campaign: "a"}, To: addrs.Pattern{Campaign: "b"}}, {From: addrs.Pattern{Campaign: "c"}, To: addrs.Pattern{Campaign: "d"}}}},
	} {
		f.Add(appendRecord(nil, &r))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := newDecoder().record(payload)
		if err != nil {
			return
		}
		again, err := newDecoder().record(appendRecord(nil, &r))
		if err != nil {
			t.Fatalf("re-encoding %s: %v", payload, err)
		}
		if d := cmp.Diff(r, again, cmp.AllowUnexported(record{})); d != "" {
			t.Fatalf("%s read back differently (-first +second):\n%s", payload, d)
		}
	})
}

// TestJournalSeeds checks that the committed FuzzJournal seeds are valid
// journals (so the fuzzer tests the property it claims), and writes them
// with -update.
func TestJournalSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzJournal")
	if *update {
		writeJournalSeeds(t, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no seeds in %s (run go test -run TestJournalSeeds -update): %v", dir, err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			b := readFile(t, filepath.Join(dir, e.Name()))
			var data string
			var cut uint
			if _, err := fmt.Sscanf(string(b), "go test fuzz v1\n[]byte(%q)\nuint(%d)\n", &data, &cut); err != nil {
				t.Fatalf("seed file: %v", err)
			}
			j, err := replay(bytes.NewReader([]byte(data)), e.Name(), newState(), false, true, nil)
			if err != nil || !j.exists || j.records == 0 {
				t.Fatalf("seed is not a valid journal with records: %+v, %v", j, err)
			}
		})
	}
}

func writeJournalSeeds(t *testing.T, dir string) {
	path := statePath(t)
	s := mustOpen(t, path)
	populate(t, s, "C", 12)
	if _, err := s.Remove(addrs.Pattern{Campaign: "black_friday", Message: "ask", Key: ""}); err != nil {
		t.Fatal(err)
	}
	populate(t, s, "D", 6)
	if _, err := s.Move(addrs.Pattern{Campaign: "black_friday"}, addrs.Pattern{Campaign: "cyber_monday"}); err != nil {
		t.Fatal(err)
	}
	journal := readFile(t, path+".wal")
	s.abandon()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, cut := range []int{len(journal), len(journal) / 2, len(journal) - 3, 100} {
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint(%d)\n", journal, cut)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("journal-%d", i)), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOlderVersionsLoad: a snapshot and a journal written by earlier
// format versions load to the sends today's code records for the same
// changes: version 1 (testdata/v1), before sends kept their attempt
// history, version 2 (testdata/v2), before the outcome deferred and a
// send's variant, version 3 (testdata/v3), before the fingerprint of a
// send's inputs, version 4 (testdata/v4), before attempts that failed
// for the run's reasons were marked, and so on to version 7 (testdata/v7),
// before how far refresh read the inbound messages was kept.
func TestOlderVersionsLoad(t *testing.T) {
	for version, changes := range map[string]func(*testing.T, *Store){
		"v1": func(t *testing.T, s *Store) { populate(t, s, "C", 6) },
		"v2": func(t *testing.T, s *Store) { populateV2(t, s, "") },
		"v3": populateV3,
		"v4": populateV4,
		"v5": populateV5,
		"v6": populateV6,
		"v7": populateV7,
	} {
		fresh := mustOpen(t, statePath(t))
		changes(t, fresh)
		want := contentsOf(fresh.State())
		want.Lineage = "00000000-0000-4000-8000-000000000000"
		mustClose(t, fresh)
		for file, suffix := range map[string]string{"snapshot": "", "journal": ".wal"} {
			path := statePath(t)
			if err := os.WriteFile(path+suffix, readFile(t, filepath.Join("testdata", version, file)), 0o600); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
				t.Errorf("%s %s (-want +got):\n%s", version, file, d)
			}
		}
	}
}

// populateV2 makes the changes testdata/v2 holds: populate's, a retried
// send whose second attempt is in doubt, made with variant (none when "":
// version 2 has none), and a window refresh saw.
func populateV2(t *testing.T, s *Store, variant string) {
	t.Helper()
	populate(t, s, "C", 6)
	if err := s.RecordIntent(Intent{Addr: addr("C-0003"), Phone: "+255700C-0003", Variant: variant, At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResult(Result{Addr: addr("C-0003"), Outcome: OutcomeUnknown, MessageID: "msg-C-0003", ErrorCode: "HTTP_500"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(Update{Addr: addr("C-0000"), Window: goldenWindow}); err != nil {
		t.Fatal(err)
	}
}

// populateV3 makes the changes testdata/v3 holds: populateV2's with a
// variant, a deferred send (131049), and another's next attempt, which may
// start.
func populateV3(t *testing.T, s *Store) {
	t.Helper()
	populateV2(t, s, "short")
	if err := s.RecordIntent(Intent{Addr: addr("D-0000"), Phone: "+255700D-0000", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResult(Result{Addr: addr("D-0000"), Outcome: OutcomeDeferred, ErrorCode: "131049"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordIntent(Intent{Addr: addr("D-0001"), Phone: "+255700D-0001", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResult(Result{Addr: addr("D-0001"), Outcome: OutcomeDeferred, ErrorCode: "131049"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordIntent(Intent{Addr: addr("D-0001"), Phone: "+255700D-0001", At: t0.Add(DeferFor)}); err != nil {
		t.Fatal(err)
	}
}

// populateV4 makes the changes testdata/v4 holds: populateV3's and a send
// with the fingerprint of its inputs.
func populateV4(t *testing.T, s *Store) {
	t.Helper()
	populateV3(t, s)
	if err := s.RecordIntent(Intent{Addr: addr("E-0000"), Phone: "+255700E-0000", Digest: digestOf([]byte("e")), Inputs: 0x0123456789abcdef, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResult(Result{Addr: addr("E-0000"), Outcome: OutcomeAccepted, MessageID: "msg-E-0000"}); err != nil {
		t.Fatal(err)
	}
}

// populateV5 makes the changes testdata/v5 holds: populateV4's and two
// attempts that failed for the run's reasons, the first now in the
// history.
func populateV5(t *testing.T, s *Store) {
	t.Helper()
	populateV4(t, s)
	for range 2 {
		if err := s.RecordIntent(Intent{Addr: addr("S-0000"), Phone: "+255700S-0000", At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordResult(Result{Addr: addr("S-0000"), Outcome: OutcomeRetry, ErrorCode: "UNAUTHORIZED", Systemic: true}); err != nil {
			t.Fatal(err)
		}
	}
}

// populateV6 makes the changes testdata/v6 holds: populateV5's and what
// two sends were: a template accepted, an interactive message in doubt.
func populateV6(t *testing.T, s *Store) {
	t.Helper()
	populateV5(t, s)
	if err := s.RecordIntent(Intent{Addr: addr("K-0000"), Phone: "+255700K-0000", Kind: KindTemplate, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResult(Result{Addr: addr("K-0000"), Outcome: OutcomeAccepted, MessageID: "msg-K-0000"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordIntent(Intent{Addr: addr("K-0001"), Phone: "+255700K-0001", Kind: KindInteractive, At: t0}); err != nil {
		t.Fatal(err)
	}
}

// populateV7 makes the changes testdata/v7 holds: populateV6's and an
// accepted template refused later (131049).
func populateV7(t *testing.T, s *Store) {
	t.Helper()
	populateV6(t, s)
	deferLate(t, s, addr("K-0000"))
}

// populateV8 makes the changes the golden files hold: populateV7's and
// how far refresh read the inbound messages, recorded twice, the second
// time earlier (which changes nothing).
func populateV8(t *testing.T, s *Store) {
	t.Helper()
	populateV7(t, s)
	for _, at := range []time.Time{t0.Add(3 * time.Hour), t0.Add(time.Hour)} {
		if err := s.ReadInbound(at); err != nil {
			t.Fatal(err)
		}
	}
}

// goldenWindow is the window populateV2 records.
var goldenWindow = Window{SeenAt: t0.Add(2 * time.Hour), Open: true, ExpiresAt: t0.Add(24 * time.Hour)}

// TestVariantKept: a send made with a variant keeps it through the journal
// and the snapshot.
func TestVariantKept(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	populateV2(t, s, "short")
	if got, _ := s.State().Get(addr("C-0003")); got.Variant != "short" {
		t.Errorf("the journal's send has variant %q, want short", got.Variant)
	}
	mustClose(t, s)
	if got, _ := mustRead(t, path).Get(addr("C-0003")); got.Variant != "short" {
		t.Errorf("the snapshot's send has variant %q, want short", got.Variant)
	}
}

// TestFormatGolden pins the file format: a change to it shows here, and
// must come with a new Version. Regenerate with -update.
func TestFormatGolden(t *testing.T) {
	newLineage = func() string { return "00000000-0000-4000-8000-000000000000" }
	defer func() { newLineage = uuid.NewString }()
	path := statePath(t)
	s := mustOpen(t, path)
	populateV8(t, s)
	journal := readFile(t, path+".wal")
	live := contentsOf(s.State())
	mustClose(t, s)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Errorf("the snapshot reads back differently (-live +read):\n%s", d)
	}
	if got, _ := mustRead(t, path).Get(addr("C-0000")); got.Window != goldenWindow {
		t.Errorf("window read back %+v, want %+v", got.Window, goldenWindow)
	}
	if got, _ := mustRead(t, path).Get(addr("D-0000")); got.Outcome != OutcomeDeferred {
		t.Errorf("deferred send read back %s", got.Outcome)
	}
	if got, _ := mustRead(t, path).Get(addr("E-0000")); got.Inputs != 0x0123456789abcdef {
		t.Errorf("inputs fingerprint read back %x", got.Inputs)
	}
	if got, _ := mustRead(t, path).Get(addr("S-0000")); !got.Systemic || len(got.History) != 1 || !got.History[0].Systemic {
		t.Errorf("failures of the run read back %+v", got)
	}
	if got, _ := mustRead(t, path).Get(addr("K-0000")); got.Outcome != OutcomeDeferred || got.MessageID != "msg-K-0000" || got.ErrorCode != "131049" {
		t.Errorf("a send refused later read back %s %q %q", got.Outcome, got.MessageID, got.ErrorCode)
	}
	if got := mustRead(t, path).InboundRead(); !got.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("inbound read to %v, want %v", got, t0.Add(3*time.Hour))
	}
	for key, want := range map[string]Kind{"K-0000": KindTemplate, "K-0001": KindInteractive, "S-0000": KindUnknown} {
		if got, _ := mustRead(t, path).Get(addr(key)); got.Kind != want {
			t.Errorf("%s: kind read back %s, want %s", key, got.Kind, want)
		}
	}
	for name, got := range map[string][]byte{"journal.golden": journal, "snapshot.golden": readFile(t, path)} {
		goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
	}
}

// TestOlderJournalNotContinued: records of this version never go into a
// journal an older ujumbe wrote, which that ujumbe, run again, would call
// damaged (and advise putting the backup back, losing them): a journal
// with records becomes a snapshot of this version at Open, an empty one
// is replaced at the first record. Either way what it held is kept.
func TestOlderJournalNotContinued(t *testing.T) {
	v7 := readFile(t, filepath.Join("testdata", "v7", "journal"))
	empty, _ := appendHeader(nil, header{Format: formatJournal, Version: 7, Lineage: "00000000-0000-4000-8000-000000000000", Serial: 33})
	for name, files := range map[string]map[string][]byte{
		"records": {".wal": v7},
		"empty":   {"": readFile(t, filepath.Join("testdata", "v7", "snapshot")), ".wal": empty},
	} {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			for suffix, b := range files {
				if err := os.WriteFile(path+suffix, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want := contentsOf(mustRead(t, path))
			s := mustOpen(t, path)
			if err := s.ReadInbound(t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			s.abandon() // killed: the journal is as the record left it
			if first, _, _ := bytes.Cut(readFile(t, path+".wal"), []byte("\n")); !bytes.Contains(first, []byte(`"version":8`)) {
				t.Errorf("the journal starts %s, want a version 8 header", first)
			}
			want.Serial++
			want.Inbound = t0.Add(time.Hour)
			if d := cmp.Diff(want, contentsOf(mustRead(t, path))); d != "" {
				t.Errorf("read back (-want +got):\n%s", d)
			}
		})
	}
}
