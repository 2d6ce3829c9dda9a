package state

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// heldFlock reports whether a process holds an exclusive flock on f (a
// run's lock; a shared one is a look at the lock file, see staleHolder),
// from the kernel's list of file locks (/proc/locks), which names each
// locked file by device and inode; reading it takes no lock.
func heldFlock(f *os.File) bool {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return false
	}
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return false
	}
	defer locks.Close()
	// "1: FLOCK  ADVISORY  WRITE 4242 fe:00:9977937 0 EOF"; a lock
	// another waits for is listed after it as "1: -> FLOCK ...".
	file := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && fields[1] == "FLOCK" && fields[3] == "WRITE" && fields[5] == file {
			return true
		}
	}
	return false
}
