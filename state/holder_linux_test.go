package state

import (
	"strings"
	"testing"
)

// TestFlockListed: a run's lock is found in the kernel's list by the lock
// file's device and inode, or, where the kernel names another device (a
// btrfs subvolume: seen listed as 00:29 for a file stat puts on 00:2b),
// by its inode and the holder the lock file names. (TestLockAcrossProcesses
// with TMPDIR in a btrfs subvolume failed before, and passes.)
func TestFlockListed(t *testing.T) {
	const listing = `1: POSIX  ADVISORY  WRITE 700 fe:00:4242 0 EOF
2: FLOCK  ADVISORY  READ 701 fe:00:4242 0 EOF
3: FLOCK  ADVISORY  WRITE 702 fe:00:14242 0 EOF
4: FLOCK  ADVISORY  WRITE 3829 00:29:9986899 0 EOF
4: -> FLOCK  ADVISORY  WRITE 3900 00:29:9986899 0 EOF
5: FLOCK  ADVISORY  WRITE 3901 fe:00:77 0 EOF
`
	for _, c := range []struct {
		name string
		dev  string
		ino  uint64
		pid  int
		want bool
	}{
		{"its device and inode", "fe:00", 77, 0, true},
		{"another device, the holder's pid", "00:2b", 9986899, 3829, true},
		{"another device, no holder named", "00:2b", 9986899, 0, false},
		{"another device, another holder named", "00:2b", 9986899, 3900, false}, // 3900 only waits
		{"a POSIX lock or a shared flock", "fe:00", 4242, 700, false},
		{"an inode that ends like another's", "fe:00", 4242, 702, false},
		{"not listed", "fe:00", 99, 3901, false},
	} {
		if got := flockListed(strings.NewReader(listing), c.dev, c.ino, c.pid); got != c.want {
			t.Errorf("%s: flockListed = %v, want %v", c.name, got, c.want)
		}
	}
}
