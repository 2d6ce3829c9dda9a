package prefault

import (
	"fmt"
	"os"
	"runtime"
	"testing"
)

// TestPagesKeepsContent: Pages of slices of every size, empty, small,
// unaligned and spanning many pages, leaves them as they were.
func TestPagesKeepsContent(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 3<<18 + 5, 5 << 18} {
		s := make([]uint64, n)
		for i := range s {
			s[i] = uint64(i) * 0x9e3779b97f4a7c15
		}
		Pages(s)
		Pages(s[min(1, n):]) // not aligned
		for i := range s {
			if s[i] != uint64(i)*0x9e3779b97f4a7c15 {
				t.Fatalf("%d elements: element %d changed", n, i)
			}
		}
	}
	if !Pages([]struct{}{}) {
		t.Error("Pages of nothing failed")
	}
}

// TestPagesMaps: where the kernel has MADV_POPULATE_WRITE (Linux 5.14
// on), Pages maps fresh memory, and says so.
func TestPagesMaps(t *testing.T) {
	if runtime.GOOS != "linux" || !newerThan514() {
		t.Skip("needs Linux 5.14 or later")
	}
	s := make([]byte, 5<<20)
	if !Pages(s) {
		t.Fatal("Pages did not map fresh memory")
	}
	if Pages(s[:10:10]) {
		t.Error("Pages mapped a slice with no whole page")
	}
}

// newerThan514 reports whether the running Linux kernel is 5.14 or later.
func newerThan514() bool {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	var major, minor int
	if _, serr := fmt.Sscanf(string(b), "%d.%d", &major, &minor); err != nil || serr != nil {
		return false
	}
	return major > 5 || major == 5 && minor >= 14
}
