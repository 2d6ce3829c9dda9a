package plan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// TestRebuildEqualsBuild runs apply -wait's rounds against a state that
// changes at random — sends accepted, failed, retried or left in doubt,
// answers, opt-outs, time moving on by minutes to days — and checks after
// every change that Rebuild of the previous round's plan gives exactly the
// plan Build gives. The campaign (testdata/rebuild) has a start time, a
// stop time, a send window, a question, a branch on its answer, a nudge to
// those who did not answer and a reminder template 20h after the first, so
// sends fall due, expire and change branch with time alone. It plans
// without limits, and under each limit Rebuild applies to the recipients
// it classifies again: the default pair spacing (6s: sends retried in the
// same minute), a long one (15m: the nudge and the reminder fall due
// minutes apart) and a frequency cap of one template per 21h (the
// reminder waits for the offer to leave the window).
func TestRebuildEqualsBuild(t *testing.T) {
	for _, limits := range []struct {
		name    string
		spacing time.Duration // -1: the default
		cap     *config.FrequencyCap
	}{
		{"none", 0, nil},
		{"spacing=default", -1, nil},
		{"spacing=15m", 15 * time.Minute, nil},
		{"cap=1per21h,spacing=15m", 15 * time.Minute, &config.FrequencyCap{Max: 1, Per: 21 * time.Hour}},
	} {
		t.Run(limits.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := config.Load("testdata/rebuild", config.LoadOptions{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if limits.spacing >= 0 {
				cfg.Provider.PairSpacing = limits.spacing
			}
			cfg.FrequencyCap = limits.cap
			incremental, held := rebuildRounds(t, cfg)
			// The rounds that could be planned again in part must have
			// been: not every one fell back to Build.
			if incremental < rebuildSeeds*16/4 {
				t.Errorf("Rebuild updated the plan in place in %d of %d rounds; want at least a quarter", incremental, rebuildSeeds*16)
			}
			// And the limits must have held sends back, or this would
			// test nothing of them.
			if limits.spacing != 0 && held == 0 {
				t.Errorf("the limits held no send back in %d rounds", rebuildSeeds*16)
			}
			t.Logf("%d of %d rounds updated in place; %d sends held back by the limits", incremental, rebuildSeeds*16, held)
		})
	}
}

// rebuildSeeds is how many seeds TestRebuildEqualsBuild runs in each
// configuration: with fewer, no seed has the limits push a send past the
// send window's close while its recipient has nothing else due (seeds 35
// and 49 do).
const rebuildSeeds = 50

// rebuildRounds runs TestRebuildEqualsBuild's rounds of cfg, 16 for each
// seed, and returns how many Rebuild updated in place, and how many sends
// the limits held back in Build's plans.
func rebuildRounds(t *testing.T, cfg *config.Config) (incremental, held int) {
	steps := []time.Duration{0, time.Minute, 7 * time.Minute, 11 * time.Minute, time.Hour, 5 * time.Hour, 21 * time.Hour, 25 * time.Hour}
	for seed := range uint64(rebuildSeeds) {
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
			opts := Options{Payloads: true, Incremental: true}
			p, _ := Build(cfg, st, now, opts)
			for round := range 16 {
				now = now.Add(steps[rng.IntN(len(steps))])
				changeAtRandom(t, rng, store, p, now)
				prev := p
				var diags hcl.Diagnostics
				p, diags = Rebuild(p, cfg, st, now, opts, st.TakeChanges())
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				if p == prev {
					incremental++
				}
				want, _ := Build(cfg, st, now, opts)
				for i := range want.Items {
					if strings.Contains(want.Items[i].Reason, "; held until") {
						held++
					}
				}
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
	return incremental, held
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
		"conversation": it.ConversationID(), "attempts": it.Attempts, "window_end": it.WindowEnd(),
		"awaits": it.AwaitsReply, "not_taken": it.NotTaken(), "after_lost": it.AfterLost(), "reply": it.Reply, "payload": it.Payload() != nil,
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

// TestRebuildSendElsewhere: a send the state records to another phone than
// its recipient's (r01's offer, to r02's phone: the CSV's number changed)
// counts under pair spacing for that phone, so that r02's offer is held
// back by a send that is not r02's. Rebuild, which looks up only the sends
// of the recipients it classifies again, cannot update such a plan in
// place, and Build leaves it nothing to update; without the limits it can.
func TestRebuildSendElsewhere(t *testing.T) {
	for _, spacing := range []time.Duration{6 * time.Second, 0} {
		cfg, diags := config.Load("testdata/rebuild", config.LoadOptions{})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		cfg.Provider.PairSpacing = spacing
		store, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "ujumbe.state"), state.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		r01 := addrs.Addr{Campaign: "promo", Message: "offer", Key: "r01"}
		if err := store.RecordIntent(state.Intent{Addr: r01, Phone: "255712000102", At: now.Add(-2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordResult(state.Result{Addr: r01, Outcome: state.OutcomeAccepted, MessageID: "m1", At: now.Add(-2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		p, diags := Build(cfg, store.State(), now, Options{Incremental: true})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		store.Close()
		var r02 *Item
		for i := range p.Items {
			if it := &p.Items[i]; it.Addr() == (addrs.Addr{Campaign: "promo", Message: "offer", Key: "r02"}) {
				r02 = it
			}
		}
		if held := r02.Class == Scheduled && strings.HasPrefix(r02.Reason, "pair_spacing"); held != (spacing > 0) {
			t.Errorf("spacing %v: r02's offer is %s (%s)", spacing, r02.Class, r02.Reason)
		}
		if incremental := p.inc != nil; incremental != (spacing == 0) {
			t.Errorf("spacing %v: Build's plan can be updated in place: %v", spacing, incremental)
		}
	}
}

// TestRebuildOptOutWhereFollowUpGoes: p1's hello went to 255712000001,
// and p1 has a new number since; p1's ask goes into hello's conversation,
// on the old number. When that number opts out, Rebuild gives the plan
// Build gives, the ask an orphan, though no recipient of the CSV has that
// number now (without limits, so that Build's plan can be updated in
// place).
func TestRebuildOptOutWhereFollowUpGoes(t *testing.T) {
	const hcl = `
provider "briq" {
  pair_spacing = "0s"
}
recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}
campaign "c" {
  recipients = recipients.people
  message "hello" {
    template  = "hello"
    variables = { "1" = row.name }
  }
  message "ask" {
    after = message.hello
    delay = "10m"
    text  = "Did it arrive, ${row.name}?"
  }
}
`
	before := loadFiles(t, map[string]string{"main.hcl": hcl, "people.csv": "id,name,phone\np1,Asha,255712000001\n"}, config.LoadOptions{})
	after := loadFiles(t, map[string]string{"main.hcl": hcl, "people.csv": "id,name,phone\np1,Asha,255712000009\n"}, config.LoadOptions{})
	at := now
	store, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "ujumbe.state"), state.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	recordSend(t, before, store, addrs.Addr{Campaign: "c", Message: "hello", Key: "p1"}, now.Add(-time.Minute), state.OutcomeAccepted, "")
	st := store.State()
	st.TrackChanges()
	opts := Options{Payloads: true, Incremental: true}
	p, diags := Build(after, st, now, opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if p.inc == nil {
		t.Fatal("Build's plan cannot be updated in place: the test tests nothing")
	}
	at = now.Add(time.Minute)
	if err := store.OptOut(state.OptOut{Phone: "255712000001", Text: "STOP", At: at}); err != nil {
		t.Fatal(err)
	}
	p, diags = Rebuild(p, after, st, at, opts, st.TakeChanges())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want, _ := Build(after, st, at, opts)
	for i := range want.Items {
		if got, w := &p.Items[i], &want.Items[i]; got.Class != w.Class {
			t.Errorf("%s after %s opted out: Rebuild %s (%s), Build %s (%s)", w.Addr(), w.Phone(), got.Class, got.Reason, w.Class, w.Reason)
		}
	}
	_, s1, _ := want.NextDue(at, 0)
	if _, s2, _ := p.NextDue(at, 0); s1 != s2 {
		t.Errorf("%d sends scheduled after Rebuild, %d after Build", s2, s1)
	}
}
