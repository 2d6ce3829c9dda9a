package state

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// heldFlock reports whether a process holds an exclusive flock on f (a
// run's lock; a shared one is a look at the lock file, see staleHolder),
// from the kernel's list of file locks (/proc/locks), which names each
// locked file by device and inode; reading it takes no lock. pid is the
// process the lock file names as its holder, 0 for none (see flockListed).
func heldFlock(f *os.File, pid int) bool {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return false
	}
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return false
	}
	defer locks.Close()
	dev := fmt.Sprintf("%02x:%02x", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)))
	return flockListed(locks, dev, st.Ino, pid)
}

// flockListed reports whether the listing of /proc/locks names an
// exclusive flock on the file of device dev ("fe:00") and inode ino:
//
//	1: FLOCK  ADVISORY  WRITE 4242 fe:00:9977937 0 EOF
//
// (a lock another waits for is listed after it as "1: -> FLOCK ...").
// On btrfs the device listed is the filesystem's, and stat gives a file
// in a subvolume (a Fedora or openSUSE home, say) the subvolume's own
// (seen: 00:29 listed, 00:2b from stat): there a lock on the same inode
// counts when the process holding it is pid, the holder the lock file
// names. pid 0 matches no process.
func flockListed(locks io.Reader, dev string, ino uint64, pid int) bool {
	inode := ":" + strconv.FormatUint(ino, 10)
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[3] != "WRITE" || !strings.HasSuffix(fields[5], inode) {
			continue
		}
		if fields[5] == dev+inode || pid > 0 && fields[4] == strconv.Itoa(pid) {
			return true
		}
	}
	return false
}
