package refresh_test

import (
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/sandbox"
)

// TestUnknownRequestCount measures what resolving unknown sends costs on
// top of following 10,000 outstanding ones (2,000 with -short): 200 sends
// whose connection dropped after the sandbox accepted them, with and
// without statuses in the listing. BENCHMARKS.md records the figures.
func TestUnknownRequestCount(t *testing.T) {
	n, unknown := 10000, 200
	if testing.Short() {
		n, unknown = 2000, 40
	}
	for _, statusless := range []bool{false, true} {
		f := newFixture(t, nil)
		f.campaign(n, false)
		f.srv.SetFaults(sandbox.Faults{DropAfterAccept: 1})
		for i := n; i < n+unknown; i++ {
			f.send(addr("offer", i), phoneOf(i), "")
		}
		f.srv.SetFaults(sandbox.Faults{})
		f.advance(11 * time.Minute)
		client := f.client
		if statusless {
			client = f.proxy(proxy{edit: stripStatus})
		}
		sum := f.refresh(client, f.opts())
		t.Logf("%d outstanding, %d unknown, no status in the listing %v: %d requests (%d lookups); %+v", n+unknown, unknown, statusless, sum.Requests, sum.Lookups, sum)
		if sum.Found != unknown || sum.Statuses < n {
			t.Errorf("summary %+v: want %d found, %d statuses", sum, unknown, n)
		}
	}
}
