package state

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// benchSend is a realistic send: a uuid message and conversation id, an
// E.164 phone number.
func benchSend(i int) (Intent, Result) {
	key := fmt.Sprintf("C-%07d", i)
	a := Addr{"black_friday_2025", "ask", key}
	at := t0.Add(time.Duration(i) * time.Millisecond)
	return Intent{Addr: a, Phone: fmt.Sprintf("+2557%08d", i), Digest: DigestOf([]byte(key)), At: at},
		Result{Addr: a, Outcome: OutcomeAccepted, ProviderStatus: StatusPending, At: at.Add(150 * time.Millisecond),
			MessageID:      fmt.Sprintf("%08x-5c1e-4d2a-9b7f-%012x", i, i*7919),
			ConversationID: fmt.Sprintf("%08x-0a0b-4c0d-8e0f-%012x", i, i*104729)}
}

// BenchmarkRecord measures an intent and its result (one send) with 1 to 256
// concurrent callers: time per send, fdatasyncs per send and journal bytes
// per send.
func BenchmarkRecord(b *testing.B) {
	for _, callers := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			s, _, err := Open(context.Background(), statePath(b), Options{compactAt: 1 << 62})
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			send := func() {
				in, res := benchSend(int(next.Add(1)))
				if err := s.RecordIntent(in); err != nil {
					b.Error(err)
				}
				if err := s.RecordResult(res); err != nil {
					b.Error(err)
				}
			}
			if callers == 1 {
				for b.Loop() {
					send()
				}
			} else {
				b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						send()
					}
				})
			}
			b.StopTimer()
			n := float64(next.Load())
			b.ReportMetric(float64(s.syncs.Load())/n, "fsyncs/send")
			b.ReportMetric(float64(s.jsize)/n, "journal-B/send")
			s.abandon() // compaction is measured by BenchmarkSnapshot
		})
	}
}

// benchFiles writes, without the Store's fsyncs, a journal of n sends (an
// intent and a result each) and the equivalent snapshot; it returns the two
// state paths.
func benchFiles(b *testing.B, n int) (journalOnly, snapshotOnly string) {
	b.Helper()
	journalOnly, snapshotOnly = statePath(b), statePath(b)
	st := newState()
	st.lineage = "0b7e6c1a-3f4d-4e5a-8b6c-7d8e9f0a1b2c"
	err := writeNew(journalOnly+".wal", func(w *bufio.Writer) error {
		buf, crc := appendHeader(nil, header{Format: formatJournal, Version: Version, Lineage: st.lineage})
		for i := range n {
			in, res := benchSend(i)
			for _, r := range []record{
				{op: opIntent, send: Send{Addr: in.Addr, Phone: in.Phone, Digest: in.Digest, IntentAt: in.At}},
				{op: opResult, send: Send{Addr: res.Addr, Outcome: res.Outcome, MessageID: res.MessageID,
					ConversationID: res.ConversationID, ProviderStatus: res.ProviderStatus, ResultAt: res.At}},
			} {
				if _, err := st.apply(&r); err != nil {
					return err
				}
				st.serial++
				buf, crc = appendFramed(buf, crc, &r)
			}
			if len(buf) > 1<<20 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		_, err := w.Write(buf)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := writeNew(snapshotOnly, func(w *bufio.Writer) error { return writeSnapshot(w, st) }); err != nil {
		b.Fatal(err)
	}
	return journalOnly, snapshotOnly
}

// BenchmarkLoad measures Read of 100k and 1M sends from a snapshot alone and
// from a journal alone (the worst case: a run killed before compacting),
// with the file size and the heap the loaded state keeps, per send.
func BenchmarkLoad(b *testing.B) {
	parent := b
	for _, n := range []int{100_000, 1_000_000} {
		if testing.Short() && n > 100_000 {
			continue
		}
		var journalOnly, snapshotOnly string
		for _, from := range []string{"snapshot", "journal"} {
			b.Run(fmt.Sprintf("sends=%d/from=%s", n, from), func(b *testing.B) {
				if journalOnly == "" {
					// In the parent's directory, which outlives this run.
					journalOnly, snapshotOnly = benchFiles(parent, n)
				}
				path, file := snapshotOnly, snapshotOnly
				if from == "journal" {
					path, file = journalOnly, journalOnly+".wal"
				}
				var st *State
				for b.Loop() {
					var err error
					if st, _, err = Read(path); err != nil {
						b.Fatal(err)
					}
				}
				if st.Len() != n {
					b.Fatalf("loaded %d sends, want %d", st.Len(), n)
				}
				st = nil
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				st, _, _ = Read(path)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-B/send")
				b.ReportMetric(float64(fileSize(b, file))/float64(n), "file-B/send")
				runtime.KeepAlive(st)
			})
		}
	}
}

// BenchmarkSnapshot measures writing the snapshot of 1M sends, fsync
// included, as a compaction does.
func BenchmarkSnapshot(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	_, snapshotOnly := benchFiles(b, n)
	st, _, err := Read(snapshotOnly)
	if err != nil {
		b.Fatal(err)
	}
	tmp := snapshotOnly + ".tmp"
	for b.Loop() {
		if err := writeNew(tmp, func(w *bufio.Writer) error { return writeSnapshot(w, st) }); err != nil {
			b.Fatal(err)
		}
	}
	os.Remove(tmp)
	b.ReportMetric(float64(n), "sends")
}

// BenchmarkSends measures walking 1M sends in address order, as plan does to
// find orphans.
func BenchmarkSends(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	_, snapshotOnly := benchFiles(b, n)
	st, _, err := Read(snapshotOnly)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		count := 0
		for range st.Sends(Pattern{}) {
			count++
		}
		if count != n {
			b.Fatalf("%d sends", count)
		}
	}
	b.ReportMetric(float64(n), "sends")
}
