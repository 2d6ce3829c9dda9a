package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
)

// The tests below run this test binary again as a helper process, chosen by
// the environment variable helperEnv, and kill it with SIGKILL.
const helperEnv = "UJUMBE_STATE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "hold-lock":
		helperHoldLock()
	case "writer":
		helperWriter()
	case "runs":
		helperRuns()
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helperHoldLock locks the state and waits to be killed.
func helperHoldLock() {
	s, _, err := Open(context.Background(), os.Getenv("STATE"), Options{Operation: "helper-hold"})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Println("LOCKED")
	io.Copy(io.Discard, os.Stdin) // until the test closes stdin or kills us
}

// helperWriter sends as fast as it can with WORKERS concurrent workers,
// printing "I KEY" once an intent is durable and "R KEY" once its result is,
// until it is killed. It compacts every 32 KiB so kills land in compactions
// too.
func helperWriter() {
	s, _, err := Open(context.Background(), os.Getenv("STATE"), Options{Operation: "helper-writer", compactAt: 32 << 10})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	workers, _ := strconv.Atoi(os.Getenv("WORKERS"))
	run := os.Getenv("RUN")
	var out sync.Mutex
	say := func(kind, key string) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf("%s %s\n", kind, key) // one write, unbuffered
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				key := fmt.Sprintf("%s-%06d", run, next.Add(1))
				a := addr(key)
				if err := s.RecordIntent(Intent{Addr: a, Phone: "+255700000000", Digest: digestOf([]byte(key))}); err != nil {
					say("ERROR", err.Error())
					os.Exit(1)
				}
				say("I", key)
				if err := s.RecordResult(Result{Addr: a, Outcome: OutcomeAccepted, MessageID: "msg-" + key, ProviderStatus: StatusPending}); err != nil {
					say("ERROR", err.Error())
					os.Exit(1)
				}
				say("R", key)
			}
		})
	}
	wg.Wait()
}

// helperRuns is runs one after the other, as cron makes them: each opens
// the state, records 10 sends one by one (printing "I KEY" and "R KEY" as
// each intent and result is durable), and closes it, which compacts or
// writes the image of the snapshot and its journal (imageAt 1); until it
// is killed.
func helperRuns() {
	for run := 0; ; run++ {
		s, _, err := Open(context.Background(), os.Getenv("STATE"), Options{Operation: "helper-runs", imageAt: 1, compactAt: 256 << 10})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		for i := range 10 {
			key := fmt.Sprintf("%s-%04d-%02d", os.Getenv("RUN"), run, i)
			if err := s.RecordIntent(Intent{Addr: addr(key), Phone: "+255700000000", Digest: digestOf([]byte(key))}); err != nil {
				fmt.Println("ERROR", err)
				os.Exit(1)
			}
			fmt.Println("I", key)
			if err := s.RecordResult(Result{Addr: addr(key), Outcome: OutcomeAccepted, MessageID: "msg-" + key}); err != nil {
				fmt.Println("ERROR", err)
				os.Exit(1)
			}
			fmt.Println("R", key)
		}
		if err := s.Close(); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
	}
}

func helper(t *testing.T, kind, path string, env ...string) (*exec.Cmd, *bufio.Scanner, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + kind, "STATE=" + path}, env...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(stdout), stdin
}

func TestLockAcrossProcesses(t *testing.T) {
	path := statePath(t)
	cmd, out, _ := helper(t, "hold-lock", path)
	if !out.Scan() || out.Text() != "LOCKED" {
		t.Fatalf("helper said %q, %v", out.Text(), out.Err())
	}

	for _, timeout := range []time.Duration{0, 300 * time.Millisecond} {
		_, _, err := Open(context.Background(), path, Options{LockTimeout: timeout})
		var le *LockError
		if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
			t.Fatalf("Open with timeout %v = %v, want ErrLocked", timeout, err)
		}
		h := le.Holder
		if h == nil || h.PID != cmd.Process.Pid || h.Operation != "helper-hold" || h.ID == "" || h.Started.IsZero() {
			t.Fatalf("holder = %+v, want the helper (pid %d)", h, cmd.Process.Pid)
		}
		if le.Waited < timeout {
			t.Errorf("gave up after %v, before the timeout %v", le.Waited, timeout)
		}
		for _, part := range []string{path, fmt.Sprintf("pid %d", h.PID), `running "helper-hold"`, h.ID} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%q does not say %q", err, part)
			}
		}
	}
	// Unlocked readers do not care; Holder tells them who holds it.
	mustRead(t, path)
	if runtime.GOOS == "linux" {
		if h, held := Holder(path); !held || h == nil || h.PID != cmd.Process.Pid {
			t.Errorf("Holder = %+v, %v; want the helper (pid %d)", h, held, cmd.Process.Pid)
		}
	}

	// The kernel releases the lock of a killed holder: a waiting Open gets
	// it. The holder died before writing anything, and its lock file says
	// so: this is a fresh start.
	got := make(chan error, 1)
	go func() {
		s, _, err := Open(context.Background(), path, Options{LockTimeout: time.Minute})
		if err == nil {
			err = s.Close()
		}
		got <- err
	}()
	cmd.Process.Signal(syscall.SIGKILL)
	if err := <-got; err != nil {
		t.Fatalf("Open after the holder died before writing: %v", err)
	}
	if st := mustRead(t, path); st.Len() != 0 {
		t.Errorf("%d sends in a state nobody wrote", st.Len())
	}
	// The killed holder's description is still in the lock file (the run
	// after it learns from it), but nobody holds the lock.
	if h, held := Holder(path); held {
		t.Errorf("Holder after the holder died and the next run closed: %+v", h)
	}
}

// TestKill9AfterFirstRecord kills a first run once its first record is
// durable and then deletes the state's files: the lock file's description
// says that run wrote, so it could have sent messages whose records are
// gone, and the state is refused until someone removes the lock file, as
// the error says.
func TestKill9AfterFirstRecord(t *testing.T) {
	path := statePath(t)
	cmd, out, _ := helper(t, "writer", path, "WORKERS=1", "RUN=r")
	if !out.Scan() || !strings.HasPrefix(out.Text(), "I ") {
		t.Fatalf("helper said %q, %v", out.Text(), out.Err())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for _, name := range []string{path, path + ".wal", path + ".backup"} {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	for _, open := range []func() error{
		func() error { _, _, err := Read(path); return err },
		func() error { _, _, err := Open(context.Background(), path, Options{}); return err },
	} {
		err := open()
		var me *MissingError
		if !errors.As(err, &me) || me.Holder == nil || me.Holder.PID != cmd.Process.Pid {
			t.Fatalf("after the first run died = %v, want ErrMissing naming pid %d", err, cmd.Process.Pid)
		}
		if !strings.Contains(err.Error(), "remove "+path+".lock") {
			t.Errorf("%q does not say how to start afresh", err)
		}
	}
	if err := os.Remove(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	mustClose(t, mustOpen(t, path))
}

func TestLockInProcess(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Open(ctx, path, Options{LockTimeout: time.Minute}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context = %v", err)
	}
	released := make(chan error, 1)
	go func() {
		s2, _, err := Open(context.Background(), path, Options{LockTimeout: time.Minute})
		if err == nil {
			err = s2.Close()
		}
		released <- err
	}()
	mustClose(t, s)
	if err := <-released; err != nil {
		t.Fatalf("Open waiting for Close: %v", err)
	}
	if b := readFile(t, path+".lock"); len(b) != 0 {
		t.Errorf("a released lock file still names a holder: %s", b)
	}
}

// TestLockFileRemoved removes the lock file while a run holds it, as an
// operator clearing what looks like a stale lock would. The next run then
// locks a new file of that name; the first stops recording at its next
// write, with an error that says why, so that two runs never write the
// state at once: what each was told is durable loads, and nothing else.
func TestLockFileRemoved(t *testing.T) {
	path := statePath(t)
	a := mustOpen(t, path)
	sendOne(t, a, addr("A-0"), OutcomeAccepted)
	if err := os.Remove(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	b := mustOpen(t, path)
	err := a.RecordIntent(Intent{Addr: addr("A-1"), Phone: "+255700000001"})
	if err == nil || !strings.Contains(err.Error(), "was removed or replaced while this run held it") {
		t.Fatalf("the first run's record after its lock file went: %v; want it refused", err)
	}
	sendOne(t, b, addr("B-1"), OutcomeAccepted)
	mustClose(t, b)
	a.Close() // its compaction is refused too
	st := mustRead(t, path)
	for k, want := range map[string]bool{"A-0": true, "A-1": false, "B-1": true} {
		if _, ok := st.Get(addr(k)); ok != want {
			t.Errorf("%s in the state: %v, want %v", k, ok, want)
		}
	}
}

// TestKill9 kills a writer at random moments and checks after each kill that
// the state opens, that every intent and result the writer was told is
// durable is there, and that at most the writes in flight are in doubt.
func TestKill9(t *testing.T) {
	kills := 20
	if testing.Short() {
		kills = 5
	}
	const workers = 8
	path := statePath(t)
	durable := map[string]string{} // key -> "I" or "R"
	for run := range kills {
		cmd, out, _ := helper(t, "writer", path, fmt.Sprintf("WORKERS=%d", workers), fmt.Sprintf("RUN=r%02d", run))
		lines := make(chan string)
		go func() {
			for out.Scan() {
				lines <- out.Text()
			}
			close(lines)
		}()
		// Kill after a random number of results, at a random moment.
		target := 1 + rand.IntN(400)
		results := 0
		for line := range lines {
			kind, key, _ := strings.Cut(line, " ")
			switch kind {
			case "I", "R":
				durable[key] = kind
			default:
				t.Fatalf("helper: %s", line)
			}
			if kind == "R" {
				results++
			}
			if results == target {
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				target = -1
			}
		}
		cmd.Wait()

		st, warns, err := Read(path)
		if err != nil {
			t.Fatalf("kill %d: the state does not load: %v", run, err)
		}
		unknown := 0
		for key, kind := range durable {
			snd, ok := st.Get(addr(key))
			switch {
			case !ok:
				t.Fatalf("kill %d: %s was durable (%s) but is missing", run, key, kind)
			case kind == "R" && (snd.Outcome != OutcomeAccepted || snd.MessageID != "msg-"+key):
				t.Fatalf("kill %d: %s was accepted as msg-%s but the state says %v %q", run, key, key, snd.Outcome, snd.MessageID)
			case kind == "I" && snd.Outcome != OutcomeUnknown && snd.Outcome != OutcomeAccepted:
				// Unknown, or accepted if the result became durable just
				// before the kill, too late to be printed.
				t.Fatalf("kill %d: intent %s loaded as %v", run, key, snd.Outcome)
			}
		}
		for snd := range st.Sends(addrs.Pattern{}) {
			if snd.Outcome == OutcomeUnknown && strings.HasPrefix(snd.Addr.Key, fmt.Sprintf("r%02d-", run)) {
				unknown++
			}
		}
		if unknown > workers {
			t.Errorf("kill %d: %d sends in doubt with %d workers", run, unknown, workers)
		}
		t.Logf("kill %d after %d results: %d sends, %d in doubt, %d warnings", run, results, st.Len(), unknown, len(warns))
	}
	// A locked open repairs whatever the last kill left, and the state closes
	// cleanly.
	s, _, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := s.State().Len()
	mustClose(t, s)
	if got := mustRead(t, path).Len(); got != n {
		t.Errorf("%d sends after Close, %d before", got, n)
	}
}

// TestKill9Images kills, at random moments, runs that end by writing the
// image of the snapshot and the journal, or by compacting (helperRuns):
// whatever a kill interrupts (a record, the image's write, a compaction,
// the next run's read of the image), the state loads with every send the
// runs were told was durable, and reads the same with its image as
// without.
func TestKill9Images(t *testing.T) {
	kills := 12
	if testing.Short() {
		kills = 4
	}
	path := statePath(t)
	// A snapshot that the runs' journals take a few runs to reach an
	// eighth of: most runs end by writing an image of it and the journal.
	s := mustOpen(t, path)
	populate(t, s, "P", 500)
	mustClose(t, s)
	held := 0
	durable := map[string]string{}
	for kill := range kills {
		cmd, out, _ := helper(t, "runs", path, fmt.Sprintf("RUN=k%02d", kill))
		target := 20 + rand.IntN(200)
		for n := 0; out.Scan(); n++ {
			kind, key, _ := strings.Cut(out.Text(), " ")
			if kind != "I" && kind != "R" {
				t.Fatalf("helper: %s", out.Text())
			}
			durable[key] = kind
			if n == target {
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		cmd.Wait()
		st := mustRead(t, path)
		for key, kind := range durable {
			s, ok := st.Get(addr(key))
			if !ok || kind == "R" && (s.Outcome != OutcomeAccepted || s.MessageID != "msg-"+key) {
				t.Fatalf("kill %d: %s was durable (%s) but loads as %+v, %v", kill, key, kind, s, ok)
			}
		}
		if f, err := os.Open(path); err == nil {
			if _, j, err := readImage(path, f); err == nil && j != nil {
				held++
			}
			f.Close()
		}
		// The same without the image: the snapshot and the whole journal.
		img := path + imageSuffix
		if b, err := os.ReadFile(img); err == nil {
			if err := os.Remove(img); err != nil {
				t.Fatal(err)
			}
			diffStates(t, mustRead(t, path), st)
			writeFile(t, img, b)
		}
	}
	if held == 0 {
		t.Errorf("after none of %d kills did the image hold journal records", kills)
	}
}

// TestLockMissingDirectory: a state whose directory does not exist (a
// mistyped path) is not started there: the error names the directory and
// says to create it for a new state; nothing is created.
func TestLockMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "stat")
	_, _, err := Open(context.Background(), filepath.Join(dir, "prod.state"), Options{})
	if err == nil || !strings.Contains(err.Error(), "the directory "+dir+" does not exist") {
		t.Fatalf("open in a missing directory: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the directory was made: %v", err)
	}
}
