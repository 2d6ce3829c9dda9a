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
// first written. It changes no content. A region of HugeFrom bytes or more
// is first advised to use huge pages (MADV_HUGEPAGE), where the kernel
// allows them: one fault maps 2 MB instead of 4 kB.
//
// On the bench machine of BENCHMARKS.md (a Firecracker guest), 288 MB of
// fresh memory took 113–140 ms to fault in page by page, and 75–101 ms
// mapped at once (six runs each); on a slower day of the same machine,
// 0.8 s page by page. Huge pages, first tried while the state's image was
// also read into fresh memory, made plan at 1M × 3 slower (median 2.34 s
// against 1.91 s, six runs each); with the image mapped instead
// (state/mapimage_linux.go), only the plan's Items are this large, and
// with huge pages the 1M × 3 plan took 1.815 s against 2.050 s (median of
// twelve alternated rounds), 1M × 1 the same. A kernel set never to use
// huge pages (/sys/kernel/mm/transparent_hugepage/enabled) ignores the
// advice.
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
	return populate(b[lo:hi], hi-lo >= HugeFrom)
}

// HugeFrom is the size of a region from which Pages asks for huge pages:
// the Items of 350,000 sends (plan.faultIn gives each CPU its part).
const HugeFrom = 32 << 20
