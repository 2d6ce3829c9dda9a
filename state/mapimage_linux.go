package state

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapImagesFrom is the size from which an image is mapped rather than
// read: below it, reading costs little, and a test process that loads
// thousands of small states keeps no mapping for them.
var mapImagesFrom int64 = 16 << 20

// localFilesystems are the filesystems on which a file renamed over (the
// only way ujumbe replaces an image) stays readable through a mapping of
// the old one: local ones. On a network filesystem (NFS, SMB, FUSE) the
// old file may vanish from the server, and reading a page of its mapping
// then kills the process (SIGBUS); there the image is read.
var localFilesystems = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:      true, // also ext2 and ext3
	unix.XFS_SUPER_MAGIC:       true,
	unix.BTRFS_SUPER_MAGIC:     true,
	unix.TMPFS_MAGIC:           true,
	unix.OVERLAYFS_SUPER_MAGIC: true,
	unix.F2FS_SUPER_MAGIC:      true,
	0x2fc12fc1:                 true, // ZFS
}

// mapImage maps the image file f, of the given size, copy on write: the
// State uses its recs and slots where they lie, as it does those of an
// image read into memory, and a run that changes one gets a page of its
// own. It returns nil when the image is small, on a filesystem that is
// not local, or when the mapping fails; the caller reads it instead.
//
// Mapped, the image's pages are those the kernel already caches for the
// file: loading copies nothing, and no fresh memory is faulted in for it
// (BENCHMARKS.md: a 1M x 3 state's 290 MB took 1.1 s to read into fresh
// memory on a Firecracker guest, and 0.35 s mapped). The mapping is never
// undone: the State's strings point into it, and nothing tells when the
// last of them is gone; not even that of an image found unusable, whose
// reading may have left such pointers in memory the collector has yet to
// drop (pointers into memory that is gone, or reused, would be invalid).
// A process loads a state of that size once (a reader that meets a
// compaction reads again, and keeps both mappings); a file replaced while
// it runs keeps its disk space until the process ends.
func mapImage(f *os.File, size int64) []byte {
	if size < mapImagesFrom || size > int64(^uint(0)>>1) {
		return nil
	}
	var fs unix.Statfs_t
	if unix.Fstatfs(int(f.Fd()), &fs) != nil || !localFilesystems[int64(fs.Type)] {
		return nil
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}
