package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// unspaced is the recipients r (id, phone and name) without pair spacing,
// for campaigns to follow.
const unspaced = `
provider "briq" {
  pair_spacing = "0s"
}
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
}
`

// twoOffers is two campaigns, promo (PROMO stands for its further
// attributes) and again, that send one recipient set the same template
// with the same variables.
const twoOffers = `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
}
campaign "promo" {
  recipients = recipients.r
  PROMO
  message "offer" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
}
campaign "again" {
  recipients = recipients.r
  message "offer" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
}
`

// Two campaigns send the same template to the same phone. promo's was
// accepted; again's is about to go: a resend (the guard's business).
// promo has a stop_at that has passed, so a -replace of promo's send
// makes that item Expired rather than Send. The state still records
// promo's send as accepted, and it is still evidence of a resend; the walk
// of the state (-target) finds it, the plan's own items (fromItems) do not.
func TestResendBesideReplaceNotDue(t *testing.T) {
	hcl := strings.Replace(twoOffers, "PROMO", `stop_at = "2026-11-21T10:00:00Z"`, 1)
	cfg := loadFiles(t, map[string]string{"main.hcl": hcl, "r.csv": "id,phone,name\nk1,+255712000001,Asha\n"}, config.LoadOptions{})
	store := openStore(t)
	promo := cfg.Campaigns[0]
	recordAccepted(t, store, promo.Messages[0], promo.Recipients.Recipients[0], nil, t0)
	st := store.State()

	replace, _ := addrs.ParsePattern(`campaign.promo.message.offer["k1"]`)
	target, _ := addrs.ParsePattern(`campaign.again`)
	for name, opts := range map[string]Options{
		"plain":                 {},
		"targeted (state walk)": {Targets: []addrs.Pattern{target}},
		"promo's send replaced": {Replace: []addrs.Pattern{replace}},
	} {
		if d := CheckAddrs(cfg, st, opts); d.HasErrors() {
			t.Fatalf("%s: %v", name, d)
		}
		p, diags := Build(cfg, st, now, opts)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", name, diags)
		}
		sending := sendingAddrs(p)
		if len(p.Resends) != 1 || !Guard(cfg, p, GuardOptions{}).HasErrors() {
			t.Errorf("%s: sends %v, resends %v: want campaign.again.message.offer[\"k1\"] flagged as a resend of promo's accepted send", name, sending, p.Resends)
		}
	}
}

// A campaign with two follow-ups of the same text: "a" was accepted, "b"
// (after the same offer, an hour later) is due now. That is not a
// resend: the plan skips a follow-up whose content another address the
// configuration wants also sent. Renaming the campaign with a moved block
// must not change that; but the walk of the state feeds the resend index
// the send's old address, which the configuration no longer "wants".
func TestResendFollowUpAfterMovedCampaign(t *testing.T) {
	const body = `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
}
campaign "NAME" {
  recipients = recipients.r
  message "offer" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
  message "a" {
    after = message.offer
    text  = "Same words"
  }
  message "b" {
    after = message.offer
    delay = "1h"
    text  = "Same words"
  }
}
`
	const csv = "id,phone,name\nk1,+255712000001,Asha\n"
	old := loadFiles(t, map[string]string{"main.hcl": strings.Replace(body, "NAME", "bf_2026", 1), "r.csv": csv}, config.LoadOptions{})
	store := openStore(t)
	c := old.Campaigns[0]
	r := c.Recipients.Recipients[0]
	recordAccepted(t, store, c.Messages[0], r, nil, t0)
	recordAccepted(t, store, c.Messages[1], r, nil, t0)
	st := store.State()

	renamed := loadFiles(t, map[string]string{"main.hcl": strings.Replace(body, "NAME", "black_friday", 1) + `
moved {
  from = campaign.bf_2026
  to   = campaign.black_friday
}
`, "r.csv": csv}, config.LoadOptions{})

	for name, cfg := range map[string]*config.Config{"before the rename": old, "renamed with a moved block": renamed} {
		p, diags := Build(cfg, st, now, Options{})
		if diags.HasErrors() {
			t.Fatalf("%s: %v", name, diags)
		}
		sends := sendingAddrs(p)
		g := Guard(cfg, p, GuardOptions{})
		t.Logf("%s: sends %v, resends %d, guard errors %v", name, sends, len(p.Resends), g.HasErrors())
		if len(p.Resends) != 0 || g.HasErrors() {
			t.Errorf("%s: %d resends, guard %v; want none (the same as before the rename)", name, len(p.Resends), g)
		}
	}
}

// TestResendTwiceInOnePlan copies a campaign under a second name, neither
// sent yet: with pair_spacing 0 nothing holds the copy's sends back, and one
// plan would send the same template with the same variables to each phone
// twice, under two addresses. The copy's sends repeat the first campaign's
// in the same plan; once the first contacts are accepted, the two
// campaigns' follow-ups with one text are two journeys sharing a step, as
// with accepted sends, and go.
func TestResendTwiceInOnePlan(t *testing.T) {
	campaign := `
campaign "NAME" {
  recipients = recipients.r
  message "offer" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
  message "thanks" {
    after = message.offer
    text  = "Thanks!"
  }
}
`
	hcl := unspaced + strings.ReplaceAll(campaign, "NAME", "promo") + strings.ReplaceAll(campaign, "NAME", "promo_copy")
	cfg := loadFiles(t, map[string]string{"main.hcl": hcl, "r.csv": "id,phone,name\nk1,+255712000001,Asha\nk2,+255712000002,Juma\n"}, config.LoadOptions{})
	store := openStore(t)
	p, diags := Build(cfg, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []string
	for _, r := range p.Resends {
		if it := &p.Items[r.Item]; r.InPlan && it.Reason == twinReason {
			got = append(got, it.Addr().String()+" as "+r.Of.String())
		}
	}
	want := []string{
		`campaign.promo_copy.message.offer["k1"] as campaign.promo.message.offer["k1"]`,
		`campaign.promo_copy.message.offer["k2"] as campaign.promo.message.offer["k2"]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(p.Resends) != len(want) {
		t.Fatalf("resends in the plan: %q (of %d); want %q", got, len(p.Resends), want)
	}
	g := Guard(cfg, p, GuardOptions{})
	if !g.HasErrors() || g[0].Summary != "Same content twice to the same phones" ||
		!strings.Contains(g[0].Detail, `campaign.promo_copy.message.offer["k1"] to 255712000001, also sent now as campaign.promo.message.offer["k1"]`) ||
		strings.Contains(g[0].Detail, "moved {") {
		t.Errorf("guard: %v", g)
	}
	if g := Guard(cfg, p, GuardOptions{AllowResend: true}); g.HasErrors() || len(g) != 1 {
		t.Errorf("guard with -allow-resend: %v", g)
	}

	// Both first contacts accepted (-allow-resend): each campaign's
	// follow-up is due, with the same text to the same phones.
	for _, c := range cfg.Campaigns {
		for _, r := range c.Recipients.Recipients {
			recordAccepted(t, store, c.Messages[0], r, nil, t0)
		}
	}
	p, diags = Build(cfg, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if n := p.Count()[Send]; n != 4 || len(p.Resends) != 0 {
		t.Errorf("follow-ups: %d to send, resends %v; want 4 and none", n, p.Resends)
	}
}

// TestResendTwinOfAReplace: promo's send failed for good, and the operator
// sends it again (-replace); a copy campaign sends the same template with
// the same variables to the same phone as a first contact in the same
// plan. The replace goes, as asked; its twin is flagged.
func TestResendTwinOfAReplace(t *testing.T) {
	hcl := "provider \"briq\" {\n  pair_spacing = \"0s\"\n}\n" + strings.Replace(twoOffers, "PROMO", "", 1)
	cfg := loadFiles(t, map[string]string{"main.hcl": hcl, "r.csv": "id,phone,name\nk1,+255712000001,Asha\n"}, config.LoadOptions{})
	store := openStore(t)
	m, r := cfg.Campaigns[0].Messages[0], cfg.Campaigns[0].Recipients.Recipients[0]
	p, diags := m.Render(r, nil, "")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a := addrs.Addr{Campaign: "promo", Message: "offer", Key: "k1"}
	if err := store.RecordIntent(state.Intent{Addr: a, Phone: r.Phone, Digest: ContentDigest(p), At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeFailed, ErrorCode: "RECIPIENT_UNREACHABLE", At: t0}); err != nil {
		t.Fatal(err)
	}
	replace, _ := addrs.ParsePattern(`campaign.promo.message.offer["k1"]`)
	opts := Options{Replace: []addrs.Pattern{replace}}
	if d := CheckAddrs(cfg, store.State(), opts); d.HasErrors() {
		t.Fatal(d)
	}
	plan, diags := Build(cfg, store.State(), now, opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sending := sendingAddrs(plan)
	if len(sending) == 2 && (len(plan.Resends) == 0 || !Guard(cfg, plan, GuardOptions{}).HasErrors()) {
		t.Errorf("one plan sends the same content to +255712000001 twice (%v), resends %v: want the second flagged (InPlan)", sending, plan.Resends)
	}
}

// sendingAddrs lists the addresses of p's sends about to go out.
func sendingAddrs(p *Plan) []string {
	var out []string
	for i := range p.Items {
		if it := &p.Items[i]; it.Class.Sends() {
			out = append(out, it.Addr().String())
		}
	}
	return out
}

// TestResendManyOfOneContent: two campaigns send one template without
// variables, the same for everyone, to 3,000 recipients; promo's went to
// every third of them. The index of the sends about to go out holds 3,000
// sends of one digest, told apart by phone alone: again's sends to promo's
// recipients are resends of promo's, the others twins of promo's sends in
// the plan, and nothing else.
func TestResendManyOfOneContent(t *testing.T) {
	campaign := `
campaign "NAME" {
  recipients = recipients.r
  message "offer" {
    template = "friday_sale"
  }
}
`
	hcl := unspaced + strings.ReplaceAll(campaign, "NAME", "promo") + strings.ReplaceAll(campaign, "NAME", "again")
	const n = 3000
	var csv strings.Builder
	csv.WriteString("id,phone\n")
	for i := range n {
		fmt.Fprintf(&csv, "k%d,+2557%08d\n", i, 12000000+i)
	}
	cfg := loadFiles(t, map[string]string{"main.hcl": hcl, "r.csv": csv.String()}, config.LoadOptions{})
	store := openStore(t)
	promo := cfg.Campaigns[0]
	for i, r := range promo.Recipients.Recipients {
		if i%3 == 0 {
			recordAccepted(t, store, promo.Messages[0], r, nil, t0)
		}
	}
	p, diags := Build(cfg, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	resent, twins := 0, 0
	for _, r := range p.Resends {
		it := &p.Items[r.Item]
		key := it.Addr().Key
		var i int
		fmt.Sscanf(key, "k%d", &i)
		want := `campaign.promo.message.offer["` + key + `"]`
		switch {
		case it.Addr().Campaign != "again" || r.Of.String() != want:
			t.Fatalf("%s flagged as a resend of %s", it.Addr(), r.Of)
		case i%3 == 0 && !r.InPlan:
			resent++
		case i%3 != 0 && r.InPlan:
			twins++
		default:
			t.Fatalf("%s: in plan %v", it.Addr(), r.InPlan)
		}
	}
	if resent != n/3 || twins != n-n/3 {
		t.Fatalf("%d resends of accepted sends and %d twins; want %d and %d", resent, twins, n/3, n-n/3)
	}
}

// A send in doubt (?) may have reached its phone as much as an accepted
// one (SPEC §4.1): the same content about to go to the same phone under
// another address is a resend too. A rename without a moved block leaves
// the send in doubt an orphan (the walk of the state finds it); two
// campaigns with the same content keep it in the plan (fromItems).
func TestResendOfASendInDoubt(t *testing.T) {
	const one = `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
}
campaign "NAME" {
  recipients = recipients.r
  message "offer" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
}
`
	csv := "id,phone,name\nk1,+255712000001,Asha\n"
	for name, c := range map[string]struct {
		before, after string
		of            string
	}{
		"renamed":       {strings.Replace(one, "NAME", "autumn", 1), strings.Replace(one, "NAME", "autumn_sale", 1), `campaign.autumn.message.offer["k1"]`},
		"two campaigns": {strings.Replace(twoOffers, "PROMO", "", 1), strings.Replace(twoOffers, "PROMO", "", 1), `campaign.promo.message.offer["k1"]`},
	} {
		t.Run(name, func(t *testing.T) {
			before := loadFiles(t, map[string]string{"main.hcl": c.before, "r.csv": csv}, config.LoadOptions{})
			store := openStore(t)
			m, r := before.Campaigns[0].Messages[0], before.Campaigns[0].Recipients.Recipients[0]
			p, diags := m.Render(r, nil, "")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			a := addrs.Addr{Campaign: m.Campaign.Name, Message: m.Name, Key: r.Key}
			if err := store.RecordIntent(state.Intent{Addr: a, Phone: r.Phone, Digest: ContentDigest(p), At: t0}); err != nil {
				t.Fatal(err)
			}
			st := store.State()
			if s, _ := st.Get(a); s.Outcome != state.OutcomeUnknown {
				t.Fatalf("the send is %v, want in doubt", s.Outcome)
			}
			after := loadFiles(t, map[string]string{"main.hcl": c.after, "r.csv": csv}, config.LoadOptions{})
			plan, diags := Build(after, st, now, Options{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if len(plan.Resends) != 1 || !plan.Resends[0].InDoubt || plan.Resends[0].Of.String() != c.of {
				t.Fatalf("sends %v, resends %v: want the send flagged as a resend of %s, in doubt", sendingAddrs(plan), plan.Resends, c.of)
			}
			g := Guard(after, plan, GuardOptions{})
			if !g.HasErrors() || !strings.Contains(g.Error(), "in doubt") {
				t.Errorf("guard: %v; want an error naming the send in doubt", g)
			}
		})
	}
}

// TestOptedOutRecordedSends: a recipient who opted out, or whose number a
// suppress list holds, gets no send at all: not a first one, nor a retry
// of a recorded one, a send Meta deferred a day, nor an explicit -replace
// of one accepted.
func TestOptedOutRecordedSends(t *testing.T) {
	cfg := loadFiles(t, map[string]string{"main.hcl": unspaced + `
campaign "c" {
  recipients = recipients.r
  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
}
`, "r.csv": "id,phone,name\nk1,+255712000001,Asha\nk2,+255712000002,Baraka\nk3,+255712000003,Chausiku\n"}, config.LoadOptions{})
	store := openStore(t)
	at := now.Add(-25 * time.Hour)
	for key, outcome := range map[string]state.Outcome{"k1": state.OutcomeRetry, "k2": state.OutcomeDeferred, "k3": state.OutcomeAccepted} {
		recordSend(t, cfg, store, addrs.Addr{Campaign: "c", Message: "hello", Key: key}, at, outcome, "")
	}
	for _, phone := range []string{"255712000001", "255712000002", "255712000003"} {
		if err := store.OptOut(state.OptOut{Phone: phone, Text: "STOP", At: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := addrs.ParsePattern("campaign.c")
	for name, opts := range map[string]Options{"plain": {}, "-replace": {Replace: []addrs.Pattern{all}}} {
		p, diags := Build(cfg, store.State(), now, opts)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		for i := range p.Items {
			if it := &p.Items[i]; it.Class.Sends() || it.Class == Orphan && it.Reason != "the recipient opted out" {
				t.Errorf("%s: %s: %s (%s); want nothing sent to a recipient who opted out", name, it.Addr(), it.Class, it.Reason)
			}
		}
	}
}
