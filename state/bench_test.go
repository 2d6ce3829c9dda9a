package state

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
)

// benchSend is a realistic send: a uuid message and conversation id, an
// E.164 phone number.
func benchSend(i int) (Intent, Result) {
	key := fmt.Sprintf("C-%07d", i)
	a := addrs.Addr{Campaign: "black_friday_2025", Message: "ask", Key: key}
	at := t0.Add(time.Duration(i) * time.Millisecond)
	return Intent{Addr: a, Phone: fmt.Sprintf("+2557%08d", i), Digest: digestOf([]byte(key)), At: at},
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

// benchJournal writes, without the Store's fsyncs, a journal of the sends
// numbered from to to-1 (an intent and a result each), applying them to st.
func benchJournal(b *testing.B, name string, st *State, from, to int) {
	b.Helper()
	err := writeNew(name, func(w *bufio.Writer) error {
		buf, crc := appendHeader(nil, header{Format: formatJournal, Version: Version, Lineage: st.lineage, Serial: st.serial})
		for i := from; i < to; i++ {
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
}

// benchStates writes states of n sends in a new directory of b: "journal"
// (a journal alone: a run killed before compacting), "snapshot" (after
// Close, without its image), "image" (the same, with its image), and for
// 1M sends "snapshot+journal" (the largest state a plan
// meets: the snapshot plus a journal just under the 64 MiB that makes a run
// compact, of further sends).
func benchStates(b *testing.B, n int) map[string]string {
	b.Helper()
	dir := b.TempDir()
	paths := map[string]string{}
	st := newState()
	st.lineage = "0b7e6c1a-3f4d-4e5a-8b6c-7d8e9f0a1b2c"
	paths["journal"] = filepath.Join(dir, "journal.state")
	benchJournal(b, paths["journal"]+".wal", st, 0, n)
	paths["snapshot"] = filepath.Join(dir, "snapshot.state")
	var tail uint32
	if err := writeNew(paths["snapshot"], func(w *bufio.Writer) (err error) {
		tail, err = writeSnapshot(w, st)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	paths["image"] = filepath.Join(dir, "image.state")
	if err := os.Link(paths["snapshot"], paths["image"]); err != nil {
		b.Fatal(err)
	}
	if fi, err := os.Stat(paths["image"]); err != nil {
		b.Fatal(err)
	} else if err := writeImage(paths["image"], st, fi, tail, nil); err != nil {
		b.Fatal(err)
	}
	if n >= 1_000_000 {
		both := filepath.Join(dir, "both.state")
		if err := os.Link(paths["snapshot"], both); err != nil {
			b.Fatal(err)
		}
		benchJournal(b, both+".wal", st, n, n+defaultCompactAt/367)
		paths["snapshot+journal"] = both
	}
	return paths
}

// BenchmarkLoad measures Read of 100k and 1M sends from each kind of state
// benchStates writes, with the file size and the heap the loaded state
// keeps, per send.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		if testing.Short() && n > 100_000 {
			continue
		}
		var paths map[string]string
		for _, from := range []string{"snapshot", "image", "journal", "snapshot+journal"} {
			if n < 1_000_000 && from == "snapshot+journal" {
				continue
			}
			b.Run(fmt.Sprintf("sends=%d/from=%s", n, from), func(sub *testing.B) {
				if paths == nil {
					paths = benchStates(b, n) // in b's directory, which outlives sub
				}
				path := paths[from]
				sends, live := benchRead(sub, path)
				size := int64(0)
				for _, name := range []string{path, path + ".wal", path + imageSuffix} {
					if fi, err := os.Stat(name); err == nil {
						size += fi.Size()
					}
				}
				sub.ReportMetric(float64(sends), "sends")
				sub.ReportMetric(float64(live)/float64(sends), "heap-B/send")
				sub.ReportMetric(float64(size)/float64(sends), "file-B/send")
			})
		}
	}
}

// benchSnapshot reads the snapshot of n sends benchStates writes: 1M, or
// 100k under -short. It returns the state, its path and n.
func benchSnapshot(b *testing.B) (*State, string, int) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	path := benchStates(b, n)["snapshot"]
	st, _, err := Read(path)
	if err != nil {
		b.Fatal(err)
	}
	return st, path, n
}

// BenchmarkSnapshot measures writing the snapshot of 1M sends, fsync
// included, as a compaction does.
func BenchmarkSnapshot(b *testing.B) {
	st, path, n := benchSnapshot(b)
	tmp := path + ".tmp"
	for b.Loop() {
		if err := writeNew(tmp, func(w *bufio.Writer) error { _, err := writeSnapshot(w, st); return err }); err != nil {
			b.Fatal(err)
		}
	}
	os.Remove(tmp)
	b.ReportMetric(float64(n), "sends")
}

// BenchmarkImage measures writing the image of 1M sends, as a compaction
// does after the snapshot (not synced: it is a cache).
func BenchmarkImage(b *testing.B) {
	st, path, n := benchSnapshot(b)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	tail := tailOf(b, path)
	for b.Loop() {
		if err := writeImage(path, st, fi, tail, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "sends")
}

// BenchmarkSends measures walking 1M sends in address order, as plan does to
// find orphans.
func BenchmarkSends(b *testing.B) {
	st, _, n := benchSnapshot(b)
	for b.Loop() {
		count := 0
		for range st.Sends(addrs.Pattern{}) {
			count++
		}
		if count != n {
			b.Fatalf("%d sends", count)
		}
	}
	b.ReportMetric(float64(n), "sends")
}

// BenchmarkLookup measures looking up each of 1M sends, as plan does: in
// the order they were recorded, through the index alone (Peek) and from a
// cursor (PeekFrom), and in an order unrelated to it (PeekFrom, where the
// cursor only costs its look ahead).
func BenchmarkLookup(b *testing.B) {
	st, _, _ := benchSnapshot(b)
	var recorded []addrs.Addr
	for _, g := range st.groups {
		for i := range g.recs {
			recorded = append(recorded, addrs.Addr{Campaign: g.key.campaign, Message: g.key.message, Key: g.keyOf(&g.recs[i])})
		}
	}
	shuffled := slices.Clone(recorded)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, c := range []struct {
		name   string
		order  []addrs.Addr
		cursor bool
	}{{"recorded/Peek", recorded, false}, {"recorded/PeekFrom", recorded, true}, {"shuffled/Peek", shuffled, false}, {"shuffled/PeekFrom", shuffled, true}} {
		b.Run(c.name, func(b *testing.B) {
			var reply Reply
			var s Send
			for b.Loop() {
				var cur Cursor
				for _, a := range c.order {
					var ok bool
					if c.cursor {
						ok = st.PeekFrom(a, &s, &reply, &cur)
					} else {
						_, ok = st.Peek(a, &reply)
					}
					if !ok {
						b.Fatalf("%s not found", a)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(c.order)), "ns/send")
		})
	}
}

// BenchmarkReadFixture measures Read of the state at $UJUMBE_BENCH_STATE
// (a bench/mkfixture state, such as DIR3/ujumbe.state: 2M sends): wall time,
// CPU (user + system, on every core), allocations, and the heap the loaded
// state keeps. Skipped when the variable is unset.
func BenchmarkReadFixture(b *testing.B) {
	path := os.Getenv("UJUMBE_BENCH_STATE")
	if path == "" {
		b.Skip("UJUMBE_BENCH_STATE is not set")
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	sends, live := benchRead(b, path)
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N+1), "cpu-s/op")
	b.ReportMetric(float64(sends), "sends")
	b.ReportMetric(float64(live)/(1<<20), "live-MiB")
	b.ReportMetric(float64(live)/float64(sends), "heap-B/send")
}

// benchRead times Read of path in b's loop, then reads it once more,
// untimed, to measure the heap the loaded state keeps. It returns the
// state's sends and that heap in bytes.
func benchRead(b *testing.B, path string) (sends int, live uint64) {
	var st *State
	for b.Loop() {
		st = nil
		var err error
		if st, _, err = Read(path); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sends = st.Len()
	st = nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st, _, _ = Read(path)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(st)
	return sends, after.HeapAlloc - before.HeapAlloc
}

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
