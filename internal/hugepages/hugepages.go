// Package hugepages asks the kernel to back large, freshly allocated slices
// with huge pages (2 MiB on x86-64) where the system leaves that to the
// program (transparent huge pages in "madvise" mode). A plan of a million
// recipients touches hundreds of megabytes once each, and with 4 KiB pages
// each of them costs a page fault and, when reached at random (an index),
// a TLB miss. It imports no ujumbe package.
package hugepages

import "unsafe"

// size is the huge page size advised for.
const size = 2 << 20

// Advise asks for huge pages under the whole huge pages s spans, before
// they are first touched; it does nothing where the system has no such
// advice or for a slice smaller than two of them. The advice changes no
// content and is only a hint: failure is ignored.
func Advise[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	var zero T
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), uintptr(cap(s))*unsafe.Sizeof(zero))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := int((start+size-1)&^(size-1) - start)
	hi := int((start+uintptr(len(b)))&^(size-1) - start)
	if hi-lo < 2*size {
		return
	}
	advise(b[lo:hi])
}
