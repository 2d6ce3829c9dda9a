// Package prefault has the kernel map the pages of a large, freshly
// allocated slice at once, instead of one page fault at a time as the
// program first writes each. A plan of a million recipients writes
// hundreds of megabytes once each, and in the virtual machines CI and the
// bench run in a fault costs microseconds. It imports no ujumbe package.
package prefault

import (
	"os"
	"unsafe"
)

// Pages maps in the whole pages of the capacity of s at once, as if each
// were written, where the system can (Linux 5.14's MADV_POPULATE_WRITE),
// and reports whether it did; where it did not, they fault in as they are
// first written. It changes no content.
//
// On the bench machine of BENCHMARKS.md (a Firecracker guest), 288 MB of
// fresh memory took 113–140 ms to fault in page by page, and 75–101 ms
// mapped at once (six runs each). Huge pages were left out: asked for
// with MADV_HUGEPAGE, the same memory took 39–58 ms in most runs but
// 258–944 ms in one run of three, and plan at 1M × 3 was slower with them
// (median 2.34 s against 1.91 s, six runs each).
func Pages[T any](s []T) bool {
	if cap(s) == 0 {
		return true
	}
	var zero T
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), uintptr(cap(s))*unsafe.Sizeof(zero))
	start, page := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(os.Getpagesize())
	lo, hi := int((start+page-1)&^(page-1)-start), int((start+uintptr(len(b)))&^(page-1)-start)
	if lo >= hi {
		return false
	}
	return populate(b[lo:hi])
}
