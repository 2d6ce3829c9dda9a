package plan

import (
	"testing"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// variantScenario loads testdata/variants (two variants, a 20% holdout)
// and records two first contacts: one made with the variant the
// recipient is not assigned now (weights changed since, say), and one to
// a recipient the holdout holds out now. It returns those two keys.
func variantScenario(t *testing.T) (cfg *config.Config, st *state.State, switched, messaged string) {
	t.Helper()
	cfg, diags := config.Load("testdata/variants", config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := cfg.Campaigns[0]
	for _, r := range c.Recipients.Recipients {
		switch {
		case c.HeldOut(r.Key) && messaged == "":
			messaged = r.Key
		case !c.HeldOut(r.Key) && c.Assign(r.Key) == "long" && switched == "":
			switched = r.Key
		}
	}
	if switched == "" || messaged == "" {
		t.Fatal("the scenario needs a recipient assigned long and one held out")
	}
	store := openStore(t)
	offer := c.Messages[0]
	for key, variant := range map[string]string{switched: "short", messaged: c.Assign(messaged)} {
		r := recipient(t, c, key)
		p, diags := offer.Render(r, nil, variant)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		a := addrs.Addr{Campaign: c.Name, Message: offer.Name, Key: key}
		if err := store.RecordIntent(state.Intent{Addr: a, Phone: r.Phone, Digest: ContentDigest(p), Variant: variant, At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeAccepted, MessageID: "msg-" + key, ConversationID: "conv-" + key, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	return cfg, store.State(), switched, messaged
}

func recipient(t *testing.T, c *config.Campaign, key string) *config.Recipient {
	t.Helper()
	for _, r := range c.Recipients.Recipients {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no recipient %q", key)
	return nil
}

// TestBuildVariants: every recipient's sends carry its variant, the
// recorded one where a send was recorded, and its content is that
// variant's; held-out recipients get nothing, unless the campaign already
// messaged them; the plan counts both per message.
func TestBuildVariants(t *testing.T) {
	cfg, st, switched, messaged := variantScenario(t)
	c := cfg.Campaigns[0]
	p, diags := Build(cfg, st, now, Options{Payloads: true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	perVariant := map[string]int{}
	held := 0
	for _, it := range p.Items {
		key := it.Addr().Key
		want := c.Assign(key)
		if key == switched {
			want = "short"
		}
		switch {
		case c.HeldOut(key) && key != messaged:
			if it.Class != Orphan || it.Reason != "holdout" || !it.Holdout {
				t.Errorf("%s: held out, but %s %q", it.Addr(), it.Class, it.Reason)
			}
			held++
			continue
		case it.Variant() != want:
			t.Errorf("%s: variant %q, want %q", it.Addr(), it.Variant(), want)
		}
		perVariant[it.Variant()]++
		if it.Addr().Message == "offer" && it.Class == Send && it.Payload().TemplateName != "offer_"+want {
			t.Errorf("%s: sends template %q, want offer_%s", it.Addr(), it.Payload().TemplateName, want)
		}
		if it.Addr().Message == "ask" && it.Class == Send {
			name, _ := recipient(t, c, key).Column("name")
			text := map[string]string{"short": "Want the code, " + name + "?", "long": "Want your 20% code, " + name + "?"}[want]
			if it.Payload().Body != text {
				t.Errorf("%s: sends %q, want %q", it.Addr(), it.Payload().Body, text)
			}
		}
	}
	if held == 0 || perVariant["short"] == 0 || perVariant["long"] == 0 {
		t.Fatalf("held %d, per variant %v: the scenario should have some of each", held, perVariant)
	}
	d := p.Document(false)
	for _, m := range d.Messages {
		if m.Holdout*2 != held || m.Variants["short"]+m.Variants["long"] != len(c.Recipients.Recipients)-held/2 {
			t.Errorf("%s: variants %v, holdout %d; want %d held out", m.Address, m.Variants, m.Holdout, held/2)
		}
	}
}

// TestRenderVariantsGolden pins the human and JSON plans of the variant
// scenario.
func TestRenderVariantsGolden(t *testing.T) {
	cfg, st, _, _ := variantScenario(t)
	goldenPlan(t, cfg, st, "variants")
}
