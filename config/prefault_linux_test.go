package config

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ujumbe/ujumbe/internal/prefault"
)

// TestDupIndexMapped: the duplicate index's table is mapped in when it is
// made, every page of it, not page by page as add probes it (reading a
// slot first, then writing it: two faults and a flush of every CPU's TLB
// for each page).
func TestDupIndexMapped(t *testing.T) {
	if !prefault.Pages(make([]byte, 1<<20)) {
		t.Skip("this kernel cannot map pages in at once (MADV_POPULATE_WRITE, Linux 5.14)")
	}
	idx := newDupIndex(1 << 20) // 2M slots, 32 MB
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(idx.slots))), len(idx.slots)*int(unsafe.Sizeof(idx.slots[0])))
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo, hi := int((start+page-1)&^(page-1)-start), int((start+uintptr(len(b)))&^(page-1)-start)
	vec := make([]byte, (hi-lo)/int(page))
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, start+uintptr(lo), uintptr(hi-lo), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	absent := 0
	for _, v := range vec {
		if v&1 == 0 {
			absent++
		}
	}
	if absent > 0 {
		t.Errorf("%d of the index's %d pages are not mapped in", absent, len(vec))
	}
}
