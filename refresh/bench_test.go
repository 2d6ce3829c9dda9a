package refresh_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// BenchmarkRefresh measures refresh of 10,000 accepted sends against the
// sandbox on loopback, as the command runs it (open and load the state,
// refresh, close and compact): "first" finds every status moved and about
// half of the recipients answered STOP, and records it all; "steady" finds
// nothing new, as most cron refreshes do. It reports requests per refresh.
func BenchmarkRefresh(b *testing.B) {
	const n = 10000
	f := newFixture(b, func(o *sandbox.Options) { o.OptOut = 0.5 })
	f.campaign(n, false)
	f.advance(11 * time.Minute)
	if err := f.store.Close(); err != nil {
		b.Fatal(err)
	}
	snapshot, err := os.ReadFile(f.path)
	if err != nil {
		b.Fatal(err)
	}
	// fresh returns a copy of the campaign's state, nothing refreshed yet.
	fresh := func(b *testing.B) string {
		path := filepath.Join(b.TempDir(), "ujumbe.state")
		if err := os.WriteFile(path, snapshot, 0o600); err != nil {
			b.Fatal(err)
		}
		return path
	}
	run := func(b *testing.B, path string) refresh.Summary {
		store, _, err := state.Open(context.Background(), path, state.Options{Now: f.srv.Now})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := refresh.Run(context.Background(), f.client, store, f.opts())
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Close(); err != nil {
			b.Fatal(err)
		}
		return sum
	}

	b.Run("first", func(b *testing.B) {
		var sum refresh.Summary
		for range b.N {
			b.StopTimer()
			path := fresh(b)
			b.StartTimer()
			sum = run(b, path)
		}
		if sum.Statuses != n {
			b.Fatalf("summary %+v", sum)
		}
		b.ReportMetric(float64(sum.Requests), "requests/op")
	})
	b.Run("steady", func(b *testing.B) {
		path := fresh(b)
		run(b, path)
		var sum refresh.Summary
		b.ResetTimer()
		for range b.N {
			sum = run(b, path)
		}
		if sum.Statuses != 0 {
			b.Fatalf("summary %+v", sum)
		}
		b.ReportMetric(float64(sum.Requests), "requests/op")
	})
}
