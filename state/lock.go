package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
)

// ErrLocked marks a failure to lock a state another run holds.
var ErrLocked = errors.New("state is locked")

// LockInfo describes the run that holds a state's lock.
type LockInfo struct {
	ID        string    `json:"id"`
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	User      string    `json:"user"`
	Operation string    `json:"operation"`
	Started   time.Time `json:"started"`
	// NothingWritten says that the holder had not written to the state
	// yet: a file state's lock is taken with it set, and it is cleared
	// (durably) before the run's first record or snapshot reaches the disk.
	// Descriptions written before the field existed lack it, and so still
	// mean that the holder may have written.
	NothingWritten bool `json:"nothing_written,omitempty"`
}

// LockError is returned by Open when the lock stayed taken until the lock
// timeout; errors.Is(err, ErrLocked) is true for it.
type LockError struct {
	Path   string    // the state's path
	Holder *LockInfo // nil when the holder could not be told
	Waited time.Duration
}

func (e *LockError) Error() string {
	who := "another run (it left no description)"
	if h := e.Holder; h != nil {
		who = h.String()
	}
	waited := "did not wait (lock timeout 0)"
	if e.Waited > 0 {
		waited = "waited " + e.Waited.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("state %s is locked by %s; %s", e.Path, who, waited)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockError) Unwrap() error { return ErrLocked }

// Back-off between attempts to take a held lock.
const (
	lockFirstDelay = 50 * time.Millisecond
	lockMaxDelay   = time.Second
)

// fileLock is an exclusive flock on the stable file PATH.lock. The kernel
// releases it when the process dies, so a crash leaves no stale lock. The
// file is never renamed or removed, so every run locks the same inode (the
// state file itself cannot be locked: it is replaced by rename). A lock
// file removed by hand while a run holds it lets the next run lock a new
// one: the holder checks before each write that its file is still the one
// at PATH.lock (mayWrite), and stops writing when it is not.
type fileLock struct {
	f *os.File
	// fi describes f, to tell it from another file at its name.
	fi os.FileInfo
	// prev is the description a previous holder left, which only a run
	// that died without releasing the lock does.
	prev *LockInfo
	// info is this run's description, as the lock file holds it.
	info LockInfo
}

// lock takes the lock of the state at path, waiting up to timeout, and
// writes info into the lock file, saying that nothing is written yet, for a
// run that finds it taken or a run after this one dies.
func lock(ctx context.Context, path string, timeout time.Duration, info LockInfo) (*fileLock, error) {
	name := path + ".lock"
	start := time.Now()
	for tries := 1; ; tries++ {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if errors.Is(err, os.ErrNotExist) {
			// Not made here: a mistyped directory would start an empty
			// state, and send every message again.
			return nil, fmt.Errorf("lock state %s: the directory %s does not exist. Check the state's path; for a new state there, create the directory first", path, filepath.Dir(path))
		}
		if err != nil {
			return nil, fmt.Errorf("lock state %s: %w", path, err)
		}
		if err := waitFlock(ctx, path, f, start, timeout); err != nil {
			return nil, err
		}
		// The lock is the file's, not the name's: a file removed between
		// the open and the flock is locked by this run alone.
		fi, err := f.Stat()
		if err == nil && isFile(name, fi) {
			info.NothingWritten = true
			l := &fileLock{f: f, fi: fi, prev: readHolder(f), info: info}
			if err := writeHolder(f, &info); err != nil {
				unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
				return nil, fmt.Errorf("lock state %s: write %s: %w", path, name, err)
			}
			return l, nil
		}
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		if tries == 10 {
			return nil, fmt.Errorf("lock state %s: %s is removed or replaced as soon as it is locked; something else is managing that file", path, name)
		}
	}
}

// isFile reports whether name is the file fi describes.
func isFile(name string, fi os.FileInfo) bool {
	cur, err := os.Stat(name)
	return err == nil && os.SameFile(cur, fi)
}

// waitFlock takes an exclusive flock on f, the lock file of the state at
// path, waiting until timeout after start; it closes f when it fails.
func waitFlock(ctx context.Context, path string, f *os.File, start time.Time, timeout time.Duration) error {
	name := f.Name()
	delay := lockFirstDelay
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return fmt.Errorf("lock state %s: flock %s: %w", path, name, err)
		}
		left := timeout - time.Since(start)
		if left <= 0 {
			e := &LockError{Path: path, Holder: busyHolder(f)}
			if timeout > 0 {
				e.Waited = time.Since(start)
			}
			f.Close()
			return e
		}
		t := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return fmt.Errorf("lock state %s: %w", path, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, lockMaxDelay)
	}
}

// mayWrite makes the lock file say, durably, that this run may have written
// to the state, unless it already does. It is called before anything of the
// run's reaches the state's files: a run that dies after it has to be
// accounted for if the state then goes missing, and one that dies before it
// is not (checkMissing). It fails when the lock file is no longer the one
// this run locked: removed by hand, it may be another run's now, which
// reads the state without what this run would write.
func (l *fileLock) mayWrite() error {
	if !isFile(l.f.Name(), l.fi) {
		return fmt.Errorf("the lock file %s was removed or replaced while this run held it, and another run may be using the state now; this run stops recording (never remove a lock file: the lock ends with the run that holds it)", l.f.Name())
	}
	if !l.info.NothingWritten {
		return nil
	}
	l.info.NothingWritten = false
	err := writeHolder(l.f, &l.info)
	if err == nil {
		err = syncData(l.f)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", l.f.Name(), err)
	}
	return nil
}

func writeHolder(f *os.File, info *LockInfo) error {
	js, _ := json.Marshal(info) // a struct of strings, ints, bools and a time always encodes
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(append(js, '\n'), 0)
	return err
}

// busyHolder reads the description of the run holding the lock. A run
// writes it just after taking the lock, so one found taken without a
// description may be a moment from having one: look again for a little
// while before saying it left none.
func busyHolder(f *os.File) *LockInfo {
	h := readHolder(f)
	for i := 0; h == nil && i < 20; i++ {
		time.Sleep(10 * time.Millisecond)
		h = readHolder(f)
	}
	return h
}

// readHolder returns the description the holder wrote, or nil when it is
// missing or half written.
func readHolder(f *os.File) *LockInfo {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	var info LockInfo
	if n == 0 || json.Unmarshal(b[:n], &info) != nil || info.PID == 0 {
		return nil
	}
	return &info
}

// release empties the lock file, so it names no holder, and unlocks it.
func (l *fileLock) release() error {
	return l.unlock(l.f.Truncate(0))
}

// giveBack unlocks after a failed Open, putting back what the previous
// holder wrote: if that run died, the next run must learn it too.
func (l *fileLock) giveBack() error {
	var err error
	if l.prev == nil {
		err = l.f.Truncate(0)
	} else {
		err = writeHolder(l.f, l.prev)
	}
	return l.unlock(err)
}

func (l *fileLock) unlock(err error) error {
	if uerr := unix.Flock(int(l.f.Fd()), unix.LOCK_UN); err == nil {
		err = uerr
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unlock state: %w", err)
	}
	return nil
}

// newLockInfo describes this process running operation.
func newLockInfo(operation string, now time.Time) LockInfo {
	host, _ := os.Hostname()
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return LockInfo{
		ID:        uuid.NewString(),
		PID:       os.Getpid(),
		Host:      host,
		User:      name,
		Operation: operation,
		Started:   now.UTC().Truncate(time.Second),
	}
}
