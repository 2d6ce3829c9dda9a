package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// split returns a campaign named name whose message "offer" has variants
// of the given names and weights.
func split(name string, holdout float64, variants ...any) *Campaign {
	m := &Message{Name: "offer"}
	for i := 0; i < len(variants); i += 2 {
		m.Variants = append(m.Variants, &Variant{Name: variants[i].(string), Weight: variants[i+1].(int)})
	}
	c := &Campaign{Name: name, Holdout: holdout, Messages: []*Message{m}}
	m.Campaign = c
	return c
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("C-%06d", i)
	}
	return out
}

// within fails unless got is within tolerance of want, a share of n: five
// standard deviations of a binomial share, so a correct assignment fails
// about once in three million runs, and a wrong one by a few percent
// always.
func within(t *testing.T, what string, got, n int, want float64) {
	t.Helper()
	tol := 5 * math.Sqrt(want*(1-want)/float64(n))
	if share := float64(got) / float64(n); math.Abs(share-want) > tol {
		t.Errorf("%s: share %.4f (%d of %d), want %.4f ± %.4f", what, share, got, n, want, tol)
	}
}

// TestAssignWeights: on 100k recipients each variant gets its weight's
// share, and the holdout its share, within statistical tolerance.
func TestAssignWeights(t *testing.T) {
	const n = 100_000
	for _, tt := range []struct {
		weights []any
		holdout float64
	}{
		{[]any{"short", 50, "long", 50}, 0.05},
		{[]any{"a", 1, "b", 3}, 0.1},
		{[]any{"a", 70, "b", 20, "c", 10}, 0},
	} {
		c := split("black_friday", tt.holdout, tt.weights...)
		count := map[string]int{}
		held := 0
		for _, k := range keys(n) {
			count[c.Assign(k)]++
			if c.HeldOut(k) {
				held++
			}
		}
		total := 0
		for i := 1; i < len(tt.weights); i += 2 {
			total += tt.weights[i].(int)
		}
		for i := 0; i < len(tt.weights); i += 2 {
			name := tt.weights[i].(string)
			within(t, fmt.Sprintf("%v: variant %s", tt.weights, name), count[name], n, float64(tt.weights[i+1].(int))/float64(total))
		}
		within(t, fmt.Sprintf("%v: holdout", tt.weights), held, n, tt.holdout)
	}
}

// TestAssignIndependent: the holdout and the variants are drawn from
// different hashes, so each variant loses the same share to the holdout,
// and another campaign draws its recipients afresh.
func TestAssignIndependent(t *testing.T) {
	const n = 100_000
	c := split("black_friday", 0.2, "short", 1, "long", 1)
	other := split("cyber_monday", 0.2, "short", 1, "long", 1)
	heldShort, short, same := 0, 0, 0
	for _, k := range keys(n) {
		v := c.Assign(k)
		if v == "short" {
			short++
			if c.HeldOut(k) {
				heldShort++
			}
		}
		if other.Assign(k) == v {
			same++
		}
	}
	within(t, "held out among short", heldShort, short, 0.2)
	within(t, "same variant in another campaign", same, n, 0.5)
}

// TestAssignWeightChange: changing weights moves only the share the new
// weights require, and only towards the variant that gained; raising the
// holdout only adds recipients to it.
func TestAssignWeightChange(t *testing.T) {
	const n = 100_000
	before := split("black_friday", 0.05, "short", 50, "long", 50)
	after := split("black_friday", 0.06, "short", 60, "long", 40)
	moved, wrongWay, left := 0, 0, 0
	for _, k := range keys(n) {
		a, b := before.Assign(k), after.Assign(k)
		if a != b {
			moved++
			if a != "long" || b != "short" {
				wrongWay++
			}
		}
		if before.HeldOut(k) && !after.HeldOut(k) {
			left++
		}
	}
	within(t, "moved by 50/50 → 60/40", moved, n, 0.10)
	if wrongWay > 0 {
		t.Errorf("%d recipients moved away from the variant that gained weight", wrongWay)
	}
	if left > 0 {
		t.Errorf("%d recipients left the holdout when it grew from 5%% to 6%%", left)
	}

	// A third variant takes its share from both, and nobody moves between
	// the first two.
	three := split("black_friday", 0.05, "short", 50, "long", 50, "emoji", 25)
	between := 0
	toNew := 0
	for _, k := range keys(n) {
		a, b := before.Assign(k), three.Assign(k)
		switch {
		case b == "emoji":
			toNew++
		case a != b:
			between++
		}
	}
	within(t, "moved to the new variant", toNew, n, 0.2)
	if between > 0 {
		t.Errorf("%d recipients moved between the old variants when one was added", between)
	}
}

// TestAssignStableUnderEdits loads a campaign, then the same campaign with
// recipients added and removed, another message edited and added, and
// another campaign: every recipient in both keeps its variant and its
// place in or out of the holdout.
func TestAssignStableUnderEdits(t *testing.T) {
	const n = 3000
	write := func(dir, hcl string, from, to int) {
		t.Helper()
		var csv strings.Builder
		csv.WriteString("id,phone\n")
		for i := from; i < to; i++ {
			fmt.Fprintf(&csv, "C-%06d,+2557%08d\n", i, i)
		}
		for name, body := range map[string]string{"main.hcl": hcl, "people.csv": csv.String()} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	const head = `
recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}
`
	const campaign = `
campaign "black_friday" {
  recipients = recipients.people
  holdout    = 0.1
%s
  message "offer" {
    variant "short" {
      weight   = 1
      template = "offer_short"
    }
    variant "long" {
      weight    = 1
      template  = "offer_long"
      variables = { "1" = row.id }
    }
  }
%s
}
`
	dirA, dirB := t.TempDir(), t.TempDir()
	write(dirA, head+fmt.Sprintf(campaign, "", `
  message "ask" {
    after = message.offer
    text  = variant == "short" ? "Want it?" : "Want the long one?"
  }`), 0, n)
	write(dirB, head+`
campaign "other" {
  recipients = recipients.people
  holdout    = 0.5
  message "hello" {
    template = "hello"
  }
}
`+fmt.Sprintf(campaign, `
  message "teaser" {
    template = "teaser"
  }`, `
  message "ask" {
    after = message.offer
    delay = "1h"
    text  = variant == "short" ? "Still want it?" : "Still want the long one?"
  }`), n/3, n+n/3)
	load := func(dir string) *Campaign {
		cfg, diags := Load(dir, LoadOptions{})
		if diags.HasErrors() {
			t.Fatal(diagText(cfg.Files, diags))
		}
		for _, c := range cfg.Campaigns {
			if c.Name == "black_friday" {
				return c
			}
		}
		t.Fatal("no campaign black_friday")
		return nil
	}
	a, b := load(dirA), load(dirB)
	inB := map[string]bool{}
	for _, r := range b.Recipients.Recipients {
		inB[r.Key] = true
	}
	common, held := 0, 0
	for _, r := range a.Recipients.Recipients {
		if !inB[r.Key] {
			continue
		}
		common++
		if va, vb := a.Assign(r.Key), b.Assign(r.Key); va != vb {
			t.Fatalf("recipient %s moved from %s to %s", r.Key, va, vb)
		}
		if ha := a.HeldOut(r.Key); ha != b.HeldOut(r.Key) {
			t.Fatalf("recipient %s moved in or out of the holdout", r.Key)
		}
		if a.HeldOut(r.Key) {
			held++
		}
	}
	if common != n*2/3 {
		t.Fatalf("%d recipients in both, want %d", common, n*2/3)
	}
	within(t, "holdout", held, common, 0.1)
}

// TestAssignKeptThroughMoved: a campaign renamed with a moved block keeps
// every recipient's holdout and variant (they hash the name it had), so
// no member of its control group is messaged after the rename; renamed
// without one, it is another campaign, assigned afresh.
func TestAssignKeptThroughMoved(t *testing.T) {
	const body = `
recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}
campaign "NAME" {
  recipients = recipients.people
  holdout    = 0.3
  message "offer" {
    variant "a" {
      weight   = 1
      template = "offer_a"
    }
    variant "b" {
      weight   = 1
      template = "offer_b"
    }
  }
}
`
	var csv strings.Builder
	csv.WriteString("id,phone\n")
	for i := range 500 {
		fmt.Fprintf(&csv, "C-%06d,+2557%08d\n", i, i)
	}
	load := func(hcl string) *Campaign {
		t.Helper()
		cfg, diags := Load(writeDir(t, map[string]string{"main.hcl": hcl, "people.csv": csv.String()}), LoadOptions{})
		if diags.HasErrors() {
			t.Fatal(diagText(cfg.Files, diags))
		}
		return cfg.Campaigns[0]
	}
	before := load(strings.Replace(body, "NAME", "spring", 1))
	moved := load(strings.Replace(body, "NAME", "spring26", 1) + "moved {\n  from = campaign.spring\n  to   = campaign.spring26\n}\n")
	renamed := load(strings.Replace(body, "NAME", "spring26", 1))
	changed := 0
	for _, k := range keys(500) {
		if moved.HeldOut(k) != before.HeldOut(k) || moved.Assign(k) != before.Assign(k) {
			t.Fatalf("%s: held out %v, variant %q after the moved rename; %v, %q before", k, moved.HeldOut(k), moved.Assign(k), before.HeldOut(k), before.Assign(k))
		}
		if renamed.HeldOut(k) != before.HeldOut(k) || renamed.Assign(k) != before.Assign(k) {
			changed++
		}
	}
	if changed == 0 {
		t.Error("renamed without a moved block, no recipient's assignment changed: the test cannot tell")
	}
}
