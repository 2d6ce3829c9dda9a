package plan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// TestRebuildEqualsBuild runs apply -wait's rounds against a state that
// changes at random — sends accepted, failed, retried or left in doubt,
// answers, opt-outs, time moving on by minutes to days — and checks after
// every change that Rebuild of the previous round's plan gives exactly the
// plan Build gives. The campaign (testdata/rebuild) has a start time, a
// stop time, a send window, a question, a branch on its answer and a
// nudge to those who did not answer, so sends fall due, expire and change
// branch with time alone.
func TestRebuildEqualsBuild(t *testing.T) {
	cfg, diags := config.Load("testdata/rebuild", config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	steps := []time.Duration{0, time.Minute, 7 * time.Minute, 11 * time.Minute, time.Hour, 5 * time.Hour, 21 * time.Hour, 25 * time.Hour}
	incremental := 0
	for seed := range uint64(24) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 12))
			now := time.Date(2026, 11, 21, 4, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(600)) * time.Minute)
			store, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "ujumbe.state"), state.Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			st := store.State()
			st.TrackChanges()
			opts := Options{Payloads: true}
			p, _ := Build(cfg, st, now, opts)
			for round := range 16 {
				now = now.Add(steps[rng.IntN(len(steps))])
				changeAtRandom(t, rng, store, p, now)
				prev := p
				p, diags = Rebuild(p, cfg, st, now, opts, st.TakeChanges())
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				if p == prev {
					incremental++
				}
				want, _ := Build(cfg, st, now, opts)
				if p.CreatedAt != want.CreatedAt || p.Serial != want.Serial || p.Lineage != want.Lineage {
					t.Fatalf("round %d: plan made at %v, serial %d, lineage %q; Build's at %v, %d, %q", round, p.CreatedAt, p.Serial, p.Lineage, want.CreatedAt, want.Serial, want.Lineage)
				}
				if !reflect.DeepEqual(p.Items, want.Items) || p.Filtered || len(p.Resends) > 0 {
					for i := range want.Items {
						if diff := cmp.Diff(itemView(&want.Items[i]), itemView(&p.Items[i])); diff != "" {
							t.Fatalf("round %d (now %v): Rebuild differs from Build at %s (-Build +Rebuild):\n%s", round, now, want.Items[i].Addr(), diff)
						}
					}
					t.Fatalf("round %d: Rebuild differs from Build", round)
				}
				// What apply -wait reads of a plan, from what Rebuild keeps
				// and from the sends themselves.
				want.inc = nil
				if diff := cmp.Diff(want.Brief(), p.Brief()); diff != "" {
					t.Fatalf("round %d: summary (-Build +Rebuild):\n%s", round, diff)
				}
				if diff := cmp.Diff(addrsOf(want.Due()), addrsOf(p.Due())); diff != "" {
					t.Fatalf("round %d: due sends (-Build +Rebuild):\n%s", round, diff)
				}
				for _, coalesce := range []time.Duration{0, time.Minute, 3 * time.Hour} {
					w1, s1, a1 := want.NextDue(time.Time{}, coalesce)
					w2, s2, a2 := p.NextDue(time.Time{}, coalesce)
					if !w1.Equal(w2) || s1 != s2 || a1 != a2 {
						t.Fatalf("round %d: NextDue(%v) = %v, %d scheduled, %d awaiting; Build's plan: %v, %d, %d", round, coalesce, w2, s2, a2, w1, s1, a1)
					}
				}
			}
		})
	}
	// The rounds that could be planned again in part must have been: not
	// every one fell back to Build.
	if incremental < 24*16/4 {
		t.Errorf("Rebuild updated the plan in place in %d of %d rounds; want at least a quarter", incremental, 24*16)
	}
}

func addrsOf(items []*Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Addr().String())
	}
	return out
}

// itemView is what a failing TestRebuildEqualsBuild shows of an item.
func itemView(it *Item) map[string]any {
	return map[string]any{
		"class": it.Class.String(), "reason": it.Reason, "due": it.Due, "digest": it.Digest,
		"conversation": it.ConversationID, "attempts": it.Attempts, "window_end": it.WindowEnd(),
		"awaits": it.AwaitsReply, "not_taken": it.NotTaken, "reply": it.Reply, "payload": it.Payload() != nil,
	}
}

// changeAtRandom records what a round of apply and refresh might: most of
// p's due sends attempted with a random outcome, some sends in doubt
// resolved, answers to accepted questions, an opt-out now and then.
func changeAtRandom(t *testing.T, rng *rand.Rand, store *state.Store, p *Plan, now time.Time) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	st := store.State()
	for i := range p.Items {
		it := &p.Items[i]
		switch {
		case it.Class.Sends() && rng.IntN(10) < 8:
			must(store.RecordIntent(state.Intent{Addr: it.Addr(), Phone: it.Phone(), Digest: it.Digest, At: now}))
			if rng.IntN(6) > 0 {
				must(store.RecordResult(randomResult(rng, it.Addr(), now)))
			}
		case it.Class == Unknown && rng.IntN(3) == 0:
			must(store.RecordResult(randomResult(rng, it.Addr(), now)))
		case it.Class == Done && it.Addr().Message == "ask" && rng.IntN(3) == 0:
			if s, ok := st.Get(it.Addr()); ok && s.Reply == nil {
				id := []string{"yes", "no"}[rng.IntN(2)]
				must(store.Refresh(state.Update{Addr: it.Addr(), Reply: &state.Reply{ID: id, Title: id, At: now, MessageID: "in-" + it.Addr().Key}, At: now}))
			}
		case it.Addr().Message == "offer" && rng.IntN(60) == 0:
			must(store.OptOut(state.OptOut{Phone: it.Phone(), At: now, Text: "STOP"}))
		}
	}
}

// randomResult is the outcome of an attempt at a, mostly accepted.
func randomResult(rng *rand.Rand, a addrs.Addr, now time.Time) state.Result {
	r := state.Result{Addr: a, At: now.Add(time.Second)}
	switch n := rng.IntN(10); {
	case n < 7:
		r.Outcome, r.MessageID, r.ConversationID = state.OutcomeAccepted, "msg-"+a.Message+"-"+a.Key, "conv-"+a.Key
	case n < 9:
		r.Outcome, r.ErrorCode = state.OutcomeRetry, "HTTP_503"
	default:
		r.Outcome, r.ErrorCode = state.OutcomeFailed, "VALIDATION_ERROR"
	}
	return r
}
