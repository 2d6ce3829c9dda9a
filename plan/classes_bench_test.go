package plan_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

// BenchmarkPlanClasses measures what Build spends on a follow-up send of
// each class (issue 12: a scheduled, expired or branch-not-taken send costs
// no more CPU or memory than a done one). The campaign is
// BenchmarkPlanFollowUps's at 100k recipients; in every case hello is done
// for every recipient, and every recipient's send of one follow-up has the
// class the case names:
//
//   - hello-only: the campaign without follow-ups, the baseline;
//   - ask=done: ask was accepted too;
//   - ask=scheduled: planned a minute after hello, ask is due in nine;
//     with pair_spacing 0, the same without the limits' pass over the
//     sends that are due (pair_spacing is 6 s by default);
//   - ask=expired: planned 25 hours after hello, ask's 24h window closed;
//   - ask=send: planned an hour after hello, ask is due now;
//   - code=awaiting: ask was accepted and nobody answered yet;
//   - code=not-taken: everyone answered "no" to ask.
//
// The follow-up's cost is its case's figures less hello-only's (for the
// code cases, less ask=done's): ns/recipient and B/op.
func BenchmarkPlanClasses(b *testing.B) {
	const n = 100_000
	// hello: hello alone accepted; both: hello and ask accepted; no: both,
	// and every ask answered "no".
	hello, both, no := b.TempDir(), b.TempDir(), b.TempDir()
	for _, f := range []struct {
		dir      string
		messages int // accepted
	}{{hello, 1}, {both, 2}, {no, 2}} {
		if err := fixture.WriteCampaign(f.dir, n, f.messages); err != nil {
			b.Fatal(err)
		}
		if err := fixture.FillState(f.dir); err != nil {
			b.Fatal(err)
		}
	}
	answerNo(b, no)
	sentAt := helloSentAt(b, hello)
	for _, c := range []struct {
		name     string
		dir      string
		messages int
		at       time.Time
		want     map[plan.Class]int
		noLimits bool
	}{
		{"hello-only", hello, 1, sentAt.Add(time.Hour), map[plan.Class]int{plan.Done: n}, false},
		{"ask=done", both, 2, time.Now(), map[plan.Class]int{plan.Done: 2 * n}, false},
		{"ask=scheduled", hello, 2, sentAt.Add(time.Minute), map[plan.Class]int{plan.Done: n, plan.Scheduled: n}, false},
		{"ask=scheduled,pair_spacing=0", hello, 2, sentAt.Add(time.Minute), map[plan.Class]int{plan.Done: n, plan.Scheduled: n}, true},
		{"ask=expired", hello, 2, sentAt.Add(25 * time.Hour), map[plan.Class]int{plan.Done: n, plan.Expired: n}, false},
		{"ask=send", hello, 2, sentAt.Add(time.Hour), map[plan.Class]int{plan.Done: n, plan.Send: n}, false},
		{"code=awaiting", both, 3, time.Now(), map[plan.Class]int{plan.Done: 2 * n, plan.Scheduled: n}, false},
		{"code=not-taken", no, 3, time.Now(), map[plan.Class]int{plan.Done: 2 * n, plan.Expired: n}, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			// The configuration the case plans: its state was filled with
			// fewer messages, or the same.
			if err := fixture.WriteCampaign(c.dir, n, c.messages); err != nil {
				b.Fatal(err)
			}
			cfg, err := fixture.Load(c.dir)
			if err != nil {
				b.Fatal(err)
			}
			if c.noLimits {
				cfg.Provider.PairSpacing = 0
			}
			st, _, err := state.Read(filepath.Join(c.dir, fixture.StateName))
			if err != nil {
				b.Fatal(err)
			}
			var p *plan.Plan
			b.ReportAllocs()
			user0, sys0, err := fixture.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				var diags hcl.Diagnostics
				if p, diags = plan.Build(cfg, st, c.at, plan.Options{}); diags.HasErrors() {
					b.Fatal(diags.Error())
				}
			}
			user1, sys1, err := fixture.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/recipient")
			b.ReportMetric((user1-user0+sys1-sys0).Seconds()/float64(b.N), "cpu-s/op")
			if d := cmp.Diff(c.want, p.Count()); d != "" {
				b.Fatalf("plan (-want +got):\n%s", d)
			}
		})
	}
}

// helloSentAt returns when FillState recorded hello as accepted in dir.
func helloSentAt(b *testing.B, dir string) time.Time {
	st, _, err := state.Read(filepath.Join(dir, fixture.StateName))
	if err != nil {
		b.Fatal(err)
	}
	s, ok := st.Get(addrs.Addr{Campaign: "launch", Message: "hello", Key: fixture.Phone(0)})
	if !ok {
		b.Fatal("FillState recorded no hello to the first recipient")
	}
	return s.ResultAt
}

// answerNo records an answer "no" to every ask in dir's state.
func answerNo(b *testing.B, dir string) {
	store, _, err := state.Open(context.Background(), filepath.Join(dir, fixture.StateName), state.Options{Operation: "benchmark"})
	if err != nil {
		b.Fatal(err)
	}
	var answers []state.Update
	for s := range store.State().Sends(addrs.Pattern{Campaign: "launch", Message: "ask"}) {
		at := s.ResultAt.Add(5 * time.Minute)
		answers = append(answers, state.Update{Addr: s.Addr, At: at,
			Reply: &state.Reply{ID: "no", Title: "No thanks", At: at, MessageID: "reply-" + s.Addr.Key}})
	}
	err = fixture.Parallel(answers, func(u *state.Update) error { return store.Refresh(*u) })
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
}
