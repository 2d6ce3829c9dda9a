package hugepages

import "testing"

// TestAdviseKeepsContent: advice on slices of every size, empty, small,
// unaligned and spanning several huge pages, leaves them as they were.
func TestAdviseKeepsContent(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 3*size/8 + 5, 5 * size / 8} {
		s := make([]uint64, n)
		for i := range s {
			s[i] = uint64(i) * 0x9e3779b97f4a7c15
		}
		Advise(s)
		Advise(s[min(1, n):]) // not aligned
		for i := range s {
			if s[i] != uint64(i)*0x9e3779b97f4a7c15 {
				t.Fatalf("%d elements: element %d changed", n, i)
			}
		}
	}
	Advise([]struct{}{}) // nothing to advise
}
