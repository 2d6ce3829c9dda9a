package intern

import (
	"fmt"
	"sync"
	"testing"
)

// TestTable: every string keeps its number, "" is 0, and concurrent
// callers agree on the numbers.
func TestTable(t *testing.T) {
	var tab Table
	if tab.ID("") != 0 || tab.Name(0) != "" {
		t.Fatal(`"" is not 0`)
	}
	ids := make([][]uint16, 4)
	var wg sync.WaitGroup
	for g := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				ids[g] = append(ids[g], tab.ID(fmt.Sprintf("v%d", (i*7+g)%100)))
			}
		}()
	}
	wg.Wait()
	for g := range ids {
		for i, id := range ids[g] {
			if want := fmt.Sprintf("v%d", (i*7+g)%100); tab.Name(id) != want || tab.ID(want) != id {
				t.Fatalf("%s has number %d, which names %q", want, id, tab.Name(id))
			}
		}
	}
}
