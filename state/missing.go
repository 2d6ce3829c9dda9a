package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ujumbe/ujumbe/atomicfile"
	"golang.org/x/sys/unix"
)

// ErrMissing marks a state file that is gone while files that only a used
// state leaves behind are still there. Such a state is never read as empty:
// an empty state would send every message again.
var ErrMissing = errors.New("state file is missing")

// MissingError says which companions of a missing state file were found and
// how to restore the state.
type MissingError struct {
	State string // the state's path
	// Backup, Journal and Image are the backup, the journal and the
	// snapshot's image when they exist.
	Backup, Journal, Image string
	// Holder describes the run that last held the lock and never released
	// it, when it left the only trace.
	Holder *LockInfo
	// Recover is as CorruptError's.
	Recover string
}

func (e *MissingError) Error() string {
	var found []string
	for _, name := range []string{e.Backup, e.Journal, e.Image} {
		if name != "" {
			found = append(found, name)
		}
	}
	var b strings.Builder
	if e.Holder != nil {
		h := e.Holder
		fmt.Fprintf(&b, "state file %s is missing, and its lock file %s.lock names a run that never finished "+
			"(pid %d on %s, user %s, %q since %s): this is not a fresh start. Nothing was changed. "+
			"That run may have sent messages whose records were in the missing file: put %s back from where it went (a copy, a backup of the machine) before anything else. "+
			"Only if you are sure that run recorded nothing, remove %s.lock, and the next run starts an empty state",
			e.State, e.State, h.PID, h.Host, h.User, h.Operation, h.Started.Format(time.RFC3339), e.State, e.State)
		return b.String()
	}
	fmt.Fprintf(&b, "state file %s is missing, but %s still exist%s: this is not a fresh start, and an empty state would send every message again. Nothing was changed. ",
		e.State, strings.Join(found, " and "), map[bool]string{true: "s", false: ""}[len(found) == 1])
	if e.Backup == "" {
		// Only the image: a cache that is read with its snapshot, never
		// alone.
		fmt.Fprintf(&b, "Put %s back if you can. Otherwise keep a copy of every %s* file, and remove %s", e.State, e.State, e.Image)
		fmt.Fprintf(&b, ": the state starts empty, and before the next apply \"%s\" finds the sends the provider holds"+
			" (with -recover-since=TIME, when the campaign began: an empty state records no send to start from)", recoverLine(e.Recover))
		return b.String()
	}
	fmt.Fprintf(&b, "Put %s back if you can. Otherwise keep a copy of every %s* file, check the previous snapshot with \"ujumbe show -state=%s\", and restore it: cp %s %s",
		e.State, e.State, e.Backup, e.Backup, e.State)
	if e.Journal != "" {
		fmt.Fprintf(&b, ", then move %s aside (mv %s %s.orphaned), as it continues the missing snapshot", e.Journal, e.Journal, e.Journal)
	}
	fmt.Fprintf(&b, ". Sends recorded after that snapshot will be missing from the state: before the next apply, run \"%s\", which finds those the provider holds", recoverLine(e.Recover))
	return b.String()
}

// Is makes errors.Is(err, ErrMissing) true.
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// RolledBackError is a snapshot older than the image beside it, of the same
// state: a snapshot put back from a backup or an older copy (a state pull
// of an older copy among them), which lacks the sends recorded after it.
// Planned from it, those would be sent again. Only refresh -recover, which
// finds them at the provider, opens it (Options.Restored).
type RolledBackError struct {
	State       string // the snapshot's path
	Serial      uint64 // the snapshot's serial
	Image       string // the image's path
	ImageSerial uint64 // the serial of the state the image holds
	// Recover is as CorruptError's.
	Recover string `json:"-"`
	// unfinished marks a recovery that began (refresh -recover) and did
	// not end: the image has been replaced since.
	unfinished bool
}

// recoveringSuffix names the mark a recovery from a snapshot put back
// leaves until it finishes (Store.Recovered): the compaction that ends
// its run replaces the image, the evidence, whether the recovery finished
// or not.
const recoveringSuffix = ".recovering"

// markRecovering durably marks the state at path as being recovered from
// rb's snapshot.
func markRecovering(path string, rb *RolledBackError) error {
	b, err := json.Marshal(rb)
	if err == nil {
		err = atomicfile.WriteFile(path+recoveringSuffix, b, 0o600)
	}
	if err != nil {
		return fmt.Errorf("mark the recovery of state %s: %w", path, err)
	}
	return nil
}

// recovering returns the error of the state at path while a recovery
// from a snapshot put back is marked as not finished; nil otherwise.
func recovering(path string) *RolledBackError {
	b, err := os.ReadFile(path + recoveringSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// The mark's presence is what counts; what it says (the serials) only
	// details it, and an unreadable mark refuses all the same.
	rb := &RolledBackError{State: path, Image: path + imageSuffix}
	if err == nil {
		_ = json.Unmarshal(b, rb)
	}
	rb.unfinished = true
	return rb
}

// Recovered ends the recovery of a snapshot put back (refresh -recover,
// Options.Restored): the state opens as any other from now on.
func (s *Store) Recovered() error {
	err := os.Remove(s.path + recoveringSuffix)
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(s.path))
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("end the recovery of state %s: %w", s.path, err)
	}
	return nil
}

func (e *RolledBackError) Error() string {
	if e.unfinished {
		return fmt.Sprintf("state file %s was put back from a backup or an older copy, and its recovery (\"%s\") began but did not finish (%s is left): "+
			"it still lacks sends recorded after it, which a plan would send again. Nothing was changed. Run \"%s\" again before anything else.",
			e.State, recoverLine(e.Recover), e.State+recoveringSuffix, recoverLine(e.Recover))
	}
	return fmt.Sprintf("state file %s (serial %d) is older than the state its image %s holds (serial %d, the same state): "+
		"it was put back from a backup or an older copy, and lacks the sends recorded after it, which a plan would send again. Nothing was changed. "+
		"Before anything else run \"%s\", which finds the messages the provider holds for them and replaces the image. "+
		"(The image is a cache, and removing it hides this; if the newer state still exists, put it back instead.)",
		e.State, e.Serial, e.Image, e.ImageSerial, recoverLine(e.Recover))
}

// checkMissing is called when the snapshot at path does not exist. It
// returns a *MissingError when files that only a used state leaves are
// there: the backup (made from a snapshot that existed), or, with no
// journal either, the description of a lock holder that died and may have
// written (holder, or for an unlocked reader what the lock file says while
// nobody holds it), or else the image of a snapshot. A holder that died
// before writing anything left nothing to lose: with no other file that is
// a fresh start, and the run that now holds the lock has already replaced
// its description with its own. A journal alone is a state whose first run has not compacted yet, which
// load reads, or refuses when it continues a snapshot.
func checkMissing(path string, journal bool, locked bool, holder *LockInfo) error {
	e := &MissingError{State: path}
	if _, err := os.Lstat(backupOf(path)); err == nil {
		e.Backup = backupOf(path)
		if journal {
			e.Journal = path + ".wal"
		}
		return e
	}
	if journal {
		return nil
	}
	if !locked {
		holder = staleHolder(path)
	}
	if holder != nil && !holder.NothingWritten {
		e.Holder = holder
		return e
	}
	if _, err := os.Lstat(path + imageSuffix); err == nil {
		e.Image = path + imageSuffix
		return e
	}
	return nil
}

// staleHolder returns the description in the lock file of the state at
// path when nobody holds the lock: what a run that died left. It returns nil
// when there is no lock file, it is empty, or a live run holds the lock.
func staleHolder(path string) *LockInfo {
	f, err := os.Open(path + ".lock")
	if err != nil {
		return nil
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return nil // held: a live run, which may be about to write the state
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return readHolder(f)
}
