package plan

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// TestSendWriterMatchesEncodingJSON: plan -json streams its sends through
// sendWriter, which must write what json.Marshal writes of sendDoc, byte
// for byte, for every kind of send: each class of the golden scenarios,
// orphans, variants, due times with and without a send window's zone
// (testdata/rebuild, planned through random rounds), and strings that JSON
// or HCL escape.
func TestSendWriterMatchesEncodingJSON(t *testing.T) {
	var sw sendWriter
	checked := map[string]int{}
	check := func(it *Item) {
		t.Helper()
		want, err := json.Marshal(sendDoc(it, false))
		if err != nil {
			t.Fatal(err)
		}
		if got := sw.append(it); string(got) != string(want) {
			t.Fatalf("sendWriter wrote\n%s\njson.Marshal writes\n%s", got, want)
		}
		checked[it.Class.Name()]++
		if sendDoc(it, false).DueLocal != "" {
			checked["due_local"]++
		}
	}
	checkPlan := func(cfg *config.Config, st *state.State, at time.Time) {
		t.Helper()
		p, diags := Build(cfg, st, at, Options{})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		for i := range p.Items {
			check(&p.Items[i])
		}
	}

	cfg, st := scenario(t)
	checkPlan(cfg, st, now)
	checkPlan(cfg, st, now.Add(123456789)) // due now, to the nanosecond
	cfg, store := limitsScenario(t)
	checkPlan(cfg, store.State(), now)
	cfg, st, _, _ = variantScenario(t)
	checkPlan(cfg, st, now)

	// Strings that JSON escapes in every field, a key that HCL quotes.
	p, diags := Build(cfg, st, now, Options{})
	if diags.HasErrors() || len(p.Items) == 0 {
		t.Fatal(diags)
	}
	for _, odd := range []string{`"q" \ <&>`, "Zoë \u2028 tab\t", "bad \xff", "${x} %{y}", "\x00"} {
		for i := range p.Items {
			it := p.Items[i]
			if it.Recipient != nil {
				r := *it.Recipient
				r.Key, r.Phone = odd, odd
				it.Recipient = &r
			}
			it.Reason, it.set().conversationID = odd, odd
			check(&it)
		}
	}
	// testdata/rebuild (a send window in Africa/Dar_es_Salaam), through
	// random rounds of results, answers and time.
	cfg, diags = config.Load("testdata/rebuild", config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 7))
		at := time.Date(2026, 11, 21, 4, 0, 0, 0, time.UTC)
		store, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "ujumbe.state"), state.Options{Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		for range 8 {
			p, diags := Build(cfg, store.State(), at, Options{Payloads: true})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			for i := range p.Items {
				check(&p.Items[i])
			}
			at = at.Add(time.Duration(rng.IntN(600)) * time.Minute)
			changeAtRandom(t, rng, store, p, at)
		}
		store.Close()
	}
	for _, class := range []string{"send", "scheduled", "done", "drift", "retry", "expired", "orphan", "due_local"} {
		if checked[class] == 0 {
			t.Errorf("no %s send checked (checked: %v)", class, checked)
		}
	}
}
