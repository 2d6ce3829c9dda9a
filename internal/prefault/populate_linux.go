package prefault

import "golang.org/x/sys/unix"

func populate(b []byte, huge bool) bool {
	if huge {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // advice only: may be refused
	}
	return unix.Madvise(b, unix.MADV_POPULATE_WRITE) == nil
}
