package plan_test

import (
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

// BenchmarkPlan measures plan for 100k and 1M recipients × one template
// message, against an empty state and against a full one (every send
// accepted, compacted into a snapshot). The inputs are built once per size,
// outside the timer: the full state alone takes about a minute for 1M.
//
// Sub-benchmarks, each reporting ns/recipient and cpu-s/op (user + system
// CPU seconds of all goroutines per op: on a busy machine wall time also
// counts waiting for a CPU):
//   - load: config.Load (HCL, CSV, phone normalisation), state-independent;
//   - read: state.Read of the full state;
//   - load+read+build: config.Load, state.Read and plan.Build, what the plan
//     command does before printing;
//   - build: plan.Build alone, also reporting the live heap of the inputs and
//     the plan (live-MiB);
//   - render: Plan.Document and Render to io.Discard, the printing.
//
// Targets (issue 4): the whole plan command for 1M in ≤ 5 s and ≤ 1 GiB
// RSS, the state load of 1M sends ≤ 2 s. bench/run measures the command.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			empty := b.TempDir()
			if err := fixture.WriteConfig(empty, n); err != nil {
				b.Fatal(err)
			}
			full := b.TempDir()
			// Only the sub-benchmarks that -bench selects pay for the full state.
			fill := sync.OnceValue(func() error {
				if err := fixture.WriteConfig(full, n); err != nil {
					return err
				}
				return fixture.FillState(full)
			})
			b.Run("state=empty", func(b *testing.B) { benchPlanDir(b, empty, n, map[plan.Class]int{plan.Send: n}, nil) })
			b.Run("state=full", func(b *testing.B) { benchPlanDir(b, full, n, map[plan.Class]int{plan.Done: n}, fill) })
		})
	}
}

// BenchmarkPlanFollowUps is BenchmarkPlan's state=full case for a campaign
// of three messages (issue 12): hello, the question ask ten minutes later
// and the text code to those who answered "yes", against a state two hours
// into it in which hello and ask were accepted for every recipient and 30 %
// answered, alternately "yes" and "no" (bench/mkfixture -messages 3
// -replied 0.3 -full). Its plan: 2n done, 0.15n to send, 0.15n branches
// not taken, 0.7n awaiting an answer.
//
// Target (issue 12): the command within 1.6× of the one-message plan.
func BenchmarkPlanFollowUps(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			fill := func() error {
				if err := fixture.WriteCampaign(dir, n, fixture.MaxMessages); err != nil {
					return err
				}
				return fixture.FillReplies(dir, 0.3)
			}
			want := map[plan.Class]int{plan.Done: 2 * n, plan.Send: 15 * n / 100, plan.Expired: 15 * n / 100, plan.Scheduled: 70 * n / 100}
			benchPlanDir(b, dir, n, want, fill)
		})
	}
}

// benchPlanDir runs the sub-benchmarks on the configuration in dir, whose
// plan must have want sends per class; a state with no done send is
// empty. prepare, when not nil, makes dir first.
func benchPlanDir(b *testing.B, dir string, n int, want map[plan.Class]int, prepare func() error) {
	if prepare != nil {
		if err := prepare(); err != nil {
			b.Fatal(err)
		}
	}
	statePath := filepath.Join(dir, fixture.StateName)
	now := time.Now()
	loadAll := func(b *testing.B) (*config.Config, *state.State) {
		cfg, err := fixture.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		st, _, err := state.Read(statePath)
		if err != nil {
			b.Fatal(err)
		}
		return cfg, st
	}
	build := func(b *testing.B, cfg *config.Config, st *state.State) *plan.Plan {
		p, diags := plan.Build(cfg, st, now, plan.Options{})
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		return p
	}
	// timed runs op b.N times and reports, besides ns/op, ns/recipient and
	// the CPU seconds per op (user + system, all goroutines), which a busy
	// machine inflates much less than wall time.
	timed := func(b *testing.B, op func()) {
		b.ReportAllocs()
		user0, sys0, err := fixture.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			op()
		}
		user1, sys1, err := fixture.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
		b.ReportMetric((user1-user0+sys1-sys0).Seconds()/float64(b.N), "cpu-s/op")
	}

	if want[plan.Done] == 0 {
		b.Run("load", func(b *testing.B) {
			timed(b, func() {
				if _, err := fixture.Load(dir); err != nil {
					b.Fatal(err)
				}
			})
		})
	} else {
		b.Run("read", func(b *testing.B) {
			timed(b, func() {
				st, _, err := state.Read(statePath)
				if err != nil {
					b.Fatal(err)
				}
				if st.Len() < n {
					b.Fatalf("the state holds %d sends, want at least %d", st.Len(), n)
				}
			})
		})
	}
	b.Run("load+read+build", func(b *testing.B) {
		timed(b, func() {
			cfg, st := loadAll(b)
			build(b, cfg, st)
		})
	})

	cfg, st := loadAll(b)
	b.Run("build", func(b *testing.B) {
		var p *plan.Plan
		timed(b, func() { p = build(b, cfg, st) })
		if d := cmp.Diff(want, p.Count()); d != "" {
			b.Fatalf("plan (-want +got):\n%s", d)
		}
		// What the command holds at its peak: configuration, state and plan.
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MiB")
		runtime.KeepAlive(p)
	})
	p := build(b, cfg, st)
	b.Run("render", func(b *testing.B) {
		timed(b, func() {
			if err := plan.Render(io.Discard, p.Document(false), plan.RenderOptions{}); err != nil {
				b.Fatal(err)
			}
		})
	})
}
