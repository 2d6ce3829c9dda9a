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
// mapped at once (six runs each).
//
// Huge pages are not asked for (MADV_HUGEPAGE). That guest hands memory
// freed in blocks of 8 MB back to its host a few seconds later (its
// kernel's free page reporting), and a huge page is cut from such a block:
// zeroing it then waits on the host for every page of it. The plan's
// Items (229 MiB at 1M × 3) took 0.04 s to map in with huge pages when the
// plan ran right after another, which had just freed the memory, and
// 0.29–0.55 s otherwise; page by page, 0.13–0.23 s either way. With three
// seconds between runs, as a user runs plan, 1M × 1 took 0.815 s with huge
// pages against 0.660 s without, and 1M × 3 1.760 s against 1.435 s
// (medians of eight alternated rounds). Runs back to back had made huge
// pages look faster.
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
