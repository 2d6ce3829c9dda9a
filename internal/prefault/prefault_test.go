package prefault

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"
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

// TestPagesAdvisesHugePages: a region of HugeFrom bytes or more is advised
// to use huge pages (the kernel's account of the mapping holding it shows
// the advice, "hg"), a smaller one is not.
func TestPagesAdvisesHugePages(t *testing.T) {
	if runtime.GOOS != "linux" || !newerThan514() {
		t.Skip("needs Linux 5.14 or later")
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skipf("this kernel has no huge pages to advise: %v", err)
	}
	large, small := make([]byte, HugeFrom+4<<20), make([]byte, HugeFrom/4)
	Pages(large)
	Pages(small)
	if !advisedHuge(t, &large[len(large)/2]) {
		t.Errorf("a region of %d bytes was not advised to use huge pages", len(large))
	}
	if advisedHuge(t, &small[len(small)/2]) {
		t.Errorf("a region of %d bytes was advised to use huge pages", len(small))
	}
}

// advisedHuge reports whether the mapping holding p has the huge page
// advice, by /proc/self/smaps.
func advisedHuge(t *testing.T, p *byte) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	addr := uint64(uintptr(unsafe.Pointer(p)))
	in := false
	for line := range strings.Lines(string(b)) {
		fields := strings.Fields(line)
		if len(fields) >= 5 && len(fields[1]) == 4 {
			var lo, hi uint64
			if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err == nil {
				in = lo <= addr && addr < hi
			}
		}
		if in && len(fields) > 0 && fields[0] == "VmFlags:" {
			return slices.Contains(fields[1:], "hg")
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return false
}
