package plan_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

// BenchmarkWaitRound measures what a later round of apply -wait spends
// planning (issue 12), on BenchmarkPlanFollowUps's campaign and state (n
// recipients × 3 messages, 70 % awaiting an answer). Each round, answers
// arrive for `answers` recipients awaiting one, half "yes"; the round
// plans — the timed part, what apply -wait does in a later round:
// State.TakeChanges, Rebuild (mode=rebuild) or Build (mode=build), Guard,
// Brief, Due and NextDue — and then records the sends it found due as
// accepted and moves the clock on a minute (untimed).
//
// It reports, besides ns/op and cpu-s/op, the sends due per round and
// pct-of-round: the planning time as a share of the time those sends take
// at 1,000 sends/s. Target: ≤ 10 % at 1M recipients.
//
// Filling the 1M state takes minutes; UJUMBE_BENCH_FOLLOWUPS=DIR copies it
// instead from DIR, made by bench/mkfixture -n 1000000 -messages 3
// -replied 0.3 -full DIR (its state is read, not changed).
func BenchmarkWaitRound(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			if err := waitFixture(dir, n); err != nil {
				b.Fatal(err)
			}
			cfg, err := fixture.Load(dir)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			store, _, err := state.Open(context.Background(), filepath.Join(dir, fixture.StateName), state.Options{Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			st := store.State()
			st.TrackChanges()
			opts := plan.Options{Payloads: true, Incremental: true}
			p, diags := plan.Build(cfg, st, now, opts)
			if diags.HasErrors() {
				b.Fatal(diags.Error())
			}
			// The recipients awaiting an answer, taken in turn by the rounds.
			var awaiting []addrs.Addr
			for i := range p.Items {
				if it := &p.Items[i]; it.AwaitsReply {
					awaiting = append(awaiting, addrs.Addr{Campaign: it.Addr().Campaign, Message: "ask", Key: it.Addr().Key})
				}
			}
			due := p.Due()
			send := func(b *testing.B) int {
				if err := fixture.Parallel(due, func(it **plan.Item) error { return fixture.Record(store, *it, now, (*it).ConversationID()) }); err != nil {
					b.Fatal(err)
				}
				return len(due)
			}
			send(b) // the first round's sends
			// The first later round also indexes the recipients by key,
			// once: timed here, apart from the rounds measured below.
			now = now.Add(time.Minute)
			start := time.Now()
			if p, diags = plan.Rebuild(p, cfg, st, now, opts, st.TakeChanges()); diags.HasErrors() {
				b.Fatal(diags.Error())
			}
			b.Logf("first later round: Rebuild of %d sends recorded in %v", len(due), time.Since(start))
			due = p.Due()
			for _, answers := range []int{1_000, 10_000} {
				for _, mode := range []string{"rebuild", "build"} {
					b.Run(fmt.Sprintf("answers=%d/mode=%s", answers, mode), func(b *testing.B) {
						sent, rounds := 0, 0
						var cpu time.Duration // of the timed part
						for b.Loop() {
							b.StopTimer()
							now = now.Add(time.Minute)
							if len(awaiting) < answers {
								b.Fatalf("%d recipients left awaiting an answer, want %d: use a smaller -benchtime", len(awaiting), answers)
							}
							var ups []state.Update
							for k, a := range awaiting[:answers] {
								id := []string{"yes", "no"}[k%2]
								ups = append(ups, state.Update{Addr: a, At: now, Reply: &state.Reply{ID: id, Title: id, At: now, MessageID: fmt.Sprint("in-", a.Key)}})
							}
							awaiting = awaiting[answers:]
							if err := fixture.Parallel(ups, func(u *state.Update) error { return store.Refresh(*u) }); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
							user0, sys0, _ := fixture.CPUTime()

							ch := st.TakeChanges()
							if mode == "build" {
								p, diags = plan.Build(cfg, st, now, opts)
							} else {
								p, diags = plan.Rebuild(p, cfg, st, now, opts, ch)
							}
							if diags.HasErrors() {
								b.Fatal(diags.Error())
							}
							if diags := plan.Guard(cfg, p, plan.GuardOptions{}); diags.HasErrors() {
								b.Fatal(diags.Error())
							}
							if err := plan.Render(io.Discard, p.Brief(), plan.RenderOptions{}); err != nil {
								b.Fatal(err)
							}
							due = p.Due()
							_, scheduled, _ := p.NextDue(time.Time{}, time.Minute)

							user1, sys1, _ := fixture.CPUTime()
							cpu += user1 - user0 + sys1 - sys0
							b.StopTimer()
							if scheduled == 0 {
								b.Fatal("nothing scheduled")
							}
							sent += send(b)
							rounds++
							b.StartTimer()
						}
						b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
						perRound := float64(sent) / float64(rounds)
						b.ReportMetric(perRound, "sends/round")
						b.ReportMetric(float64(b.Elapsed())/float64(b.N)/1e9/(perRound/1000)*100, "pct-of-round")
					})
				}
			}
		})
	}
}

// waitFixture makes BenchmarkWaitRound's campaign of n recipients in dir,
// copying UJUMBE_BENCH_FOLLOWUPS when it is set and n is a million.
func waitFixture(dir string, n int) error {
	src := os.Getenv("UJUMBE_BENCH_FOLLOWUPS")
	if src == "" || n != 1_000_000 {
		if err := fixture.WriteCampaign(dir, n, fixture.MaxMessages); err != nil {
			return err
		}
		return fixture.FillReplies(dir, 0.3)
	}
	for _, name := range []string{"main.hcl", "customers.csv", fixture.StateName, fixture.StateName + ".wal"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if os.IsNotExist(err) && name != "main.hcl" && name != "customers.csv" {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
