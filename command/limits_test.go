package command

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// limitsHCL is two template campaigns, welcome (with a text tip a second
// after its hello) and promo, to the same five customers; %s is the
// audience policy and the provider block.
const limitsHCL = `
recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "welcome" {
  recipients = recipients.customers

  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
  message "tip" {
    after = message.hello
    delay = "1s"
    text  = "Reply HELP any time, ${row.name}."
  }
}

campaign "promo" {
  recipients = recipients.customers

  message "offer" {
    template  = "offer"
    variables = { "1" = row.name }
  }
}
`

// limitsDir writes a configuration directory for a rehearsal: limitsHCL
// with policy, five customers, the templates, and sandbox.json when
// rehearsal is not empty.
func limitsDir(t *testing.T, policy, rehearsal string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"main.hcl":       limitsHCL + policy,
		"customers.csv":  "name,phone\nAsha,255712000001\nBaraka,255712000002\nChausiku,255712000003\nDalila,255712000004\nEshe,255712000005\n",
		"templates.json": `[{"name":"welcome","params":["1"]},{"name":"offer","params":["1"]}]`,
	}
	if rehearsal != "" {
		files[rehearsalFile] = rehearsal
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rehearsalStats returns the stats of a rehearsal's sandbox, from its data
// file, and its state.
func rehearsalStats(t *testing.T, dir string) (sandbox.Stats, *state.State) {
	t.Helper()
	srv, err := sandbox.New(sandbox.Options{DataFile: filepath.Join(dir, rehearsalDir, "sandbox.data")})
	if err != nil {
		t.Fatal(err)
	}
	stats := srv.Stats()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	st, _, err := state.Read(filepath.Join(dir, rehearsalDir, defaultStateName))
	if err != nil {
		t.Fatal(err)
	}
	return stats, st
}

// templatesTo returns when each phone was sent templates, in order.
func templatesTo(stats sandbox.Stats) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, m := range stats.Messages {
		if m.Kind == "template" && m.Error == "" {
			out[m.To] = append(out[m.To], m.AcceptedAt)
		}
	}
	return out
}

// TestFrequencyCapRehearsal: two campaigns to the same customers with a
// cap of one template per 168h. An apply sends welcome's hello and holds
// promo's offer, scheduled, not sent; a rehearsal with -wait moves the
// clock past the week and sends the offers then, once each.
func TestFrequencyCapRehearsal(t *testing.T) {
	dir := limitsDir(t, `
frequency_cap {
  max = 1
  per = "168h"
}
`, "")
	w := &world{t: t, dir: dir}
	out := w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve")
	for _, want := range []string{"campaign.promo.message.offer", "5 scheduled", "frequency_cap: 1 template message per 168h to this phone; held until"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply lacks %q:\n%s", want, out)
		}
	}
	stats, _ := rehearsalStats(t, dir)
	if stats.ByKind["template"] != 5 {
		t.Fatalf("after the first apply the sandbox accepted %v templates, want welcome's 5 only", stats.ByKind)
	}
	for phone, at := range templatesTo(stats) {
		if len(at) != 1 {
			t.Errorf("%s got %d templates before the week was out", phone, len(at))
		}
	}

	out = w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	if !strings.Contains(out, "Nothing more is scheduled.") {
		t.Errorf("apply -wait did not finish the rehearsal:\n%s", out)
	}
	stats, st := rehearsalStats(t, dir)
	if len(stats.Duplicates) > 0 {
		t.Fatalf("duplicates: %+v", stats.Duplicates)
	}
	byPhone := templatesTo(stats)
	if len(byPhone) != 5 {
		t.Fatalf("templates went to %d phones, want 5", len(byPhone))
	}
	for phone, at := range byPhone {
		if len(at) != 2 || at[1].Sub(at[0]) < 168*time.Hour {
			t.Errorf("%s got templates at %v: want two, a week apart", phone, at)
		}
	}
	for s := range st.Sends(addrs.Pattern{Campaign: "promo"}) {
		if s.Outcome != state.OutcomeAccepted || s.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts, want accepted at the first", s.Addr, s.Outcome, s.Attempts)
		}
	}
}

// TestTierAndSpacingRehearsal: a tier of 3 new conversations per 24h and
// the default pair spacing, in a rehearsal with -wait against the embedded
// sandbox. Its stats prove both held: never more than 3 templates in any
// 24 hours, never two messages to one phone less than 6s apart (the tip
// follows its hello by 1s in the configuration), and in the end everyone
// got everything once.
func TestTierAndSpacingRehearsal(t *testing.T) {
	dir := limitsDir(t, `
provider "briq" {
  daily_first_contacts = 3
}
`, "")
	w := &world{t: t, dir: dir}
	out := w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	for _, want := range []string{"daily_first_contacts: the tier's 3 new conversations per 24h are used up", "Nothing more is scheduled."} {
		if !strings.Contains(out, want) {
			t.Errorf("apply -wait lacks %q:\n%s", want, out)
		}
	}
	stats, _ := rehearsalStats(t, dir)
	if stats.MaxTemplatesPer24h != 3 {
		t.Errorf("at most %d templates in 24 hours, want the tier's 3", stats.MaxTemplatesPer24h)
	}
	if stats.MinPairGap == nil || *stats.MinPairGap < 6*time.Second {
		t.Errorf("two messages to one phone %v apart, want at least 6s", stats.MinPairGap)
	}
	if stats.ByKind["template"] != 10 || stats.ByKind["text"] != 5 || len(stats.Duplicates) > 0 {
		t.Errorf("the sandbox accepted %v with duplicates %v, want 10 templates and 5 texts, once each", stats.ByKind, stats.Duplicates)
	}
}

// welcomedUnderMarketingLimit returns a rehearsal whose sandbox applies
// Meta's per-user marketing limit (one template a day), after welcome's
// hellos went out: in one apply, a hello and an offer to one phone race,
// and either may be the day's one template.
func welcomedUnderMarketingLimit(t *testing.T) (string, *world) {
	t.Helper()
	dir := limitsDir(t, `
provider "briq" {
  pair_spacing = "0s"
}
`, `{"marketing_limit": 1}`)
	w := &world{t: t, dir: dir}
	w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-target=campaign.welcome")
	return dir, w
}

// TestMarketingLimitRehearsal: the rehearsal's sandbox applies Meta's
// per-user marketing limit (one template a day). promo's offers, right
// after welcome's hello, are refused with 131049: recorded as deferred,
// shown scheduled a day later, then sent once, a day after the refusal.
func TestMarketingLimitRehearsal(t *testing.T) {
	dir, w := welcomedUnderMarketingLimit(t)
	out := w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve")
	if !strings.Contains(out, "5 deferred a day (Meta's 131049)") {
		t.Errorf("apply does not report the deferred sends:\n%s", out)
	}
	_, st := rehearsalStats(t, dir)
	refused := map[string]time.Time{}
	for s := range st.Sends(addrs.Pattern{Campaign: "promo"}) {
		if s.Outcome != state.OutcomeDeferred || s.ErrorCode != "131049" {
			t.Errorf("%s: %s %s, want deferred with 131049", s.Addr, s.Outcome, s.ErrorCode)
		}
		refused[s.Addr.Key] = s.ResultAt
	}
	out = w.mustRun(exitOK, "plan", "-sandbox")
	if !strings.Contains(out, "Meta's per-user marketing limit (131049) refused it for a day; due again") {
		t.Errorf("plan does not show the deferred sends scheduled:\n%s", out)
	}

	w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	stats, st := rehearsalStats(t, dir)
	if len(stats.Duplicates) > 0 || stats.ByKind["template"] != 10 {
		t.Fatalf("the sandbox accepted %v with duplicates %v, want 10 templates, once each", stats.ByKind, stats.Duplicates)
	}
	for s := range st.Sends(addrs.Pattern{Campaign: "promo"}) {
		if s.Outcome != state.OutcomeAccepted || s.Attempts != 2 || len(s.History) != 1 || s.History[0].ErrorCode != "131049" {
			t.Errorf("%s: %s after %d attempts (history %+v), want accepted at the second, after one 131049", s.Addr, s.Outcome, s.Attempts, s.History)
		}
		if gap := s.ResultAt.Sub(refused[s.Addr.Key]); gap < 24*time.Hour || gap > 25*time.Hour {
			t.Errorf("%s went %s after its refusal, want a day", s.Addr, gap)
		}
	}
}

// TestMarketingLimitLate: Meta's per-user marketing limit arriving after
// Briq accepted the template (a 202, then failed with 131049), as Meta
// usually sends it. promo's offers, sent after welcome's hellos, are
// accepted; the refresh that learns of the refusal defers them, plan shows
// them due a day later, apply sends nothing before then, and a day later
// each is sent once more and reaches its customer once; the refused
// message's id stays in the history.
func TestMarketingLimitLate(t *testing.T) {
	dir := limitsDir(t, `
provider "briq" {
  pair_spacing = "0s"
}
`, "")
	w := worldIn(t, dir, 5, sandbox.Options{TemplatesFile: filepath.Join(dir, "templates.json"),
		Faults: sandbox.Faults{MarketingLimit: 1, MarketingLimitLate: true}})
	srv := w.srv
	advance := func(d time.Duration) {
		if err := srv.Advance(d); err != nil {
			t.Fatal(err)
		}
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-target=campaign.welcome.message.hello")
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-target=campaign.promo"); !strings.Contains(out, "Apply finished: 5 sent.") {
		t.Fatalf("the offers were not all accepted:\n%s", out)
	}
	refused := map[string]string{}
	for s := range w.state().Sends(addrs.Pattern{Campaign: "promo"}) {
		refused[s.Addr.Key] = s.MessageID
	}

	advance(11 * time.Minute)
	if out := w.runOnSandboxClock(exitOK, "refresh"); !strings.Contains(out, "5 sends refused by Meta's per-user marketing limit (131049) after Briq took them") {
		t.Errorf("refresh does not report the refusals:\n%s", out)
	}
	deferredAt := srv.Now()
	for s := range w.state().Sends(addrs.Pattern{Campaign: "promo"}) {
		if s.Outcome != state.OutcomeDeferred || s.ErrorCode != "131049" || s.MessageID != refused[s.Addr.Key] {
			t.Errorf("%s: %s %s %q, want deferred with 131049 and %q", s.Addr, s.Outcome, s.ErrorCode, s.MessageID, refused[s.Addr.Key])
		}
	}
	if out := w.runOnSandboxClock(exitOK, "plan", "-target=campaign.promo"); !strings.Contains(out, "Meta's per-user marketing limit (131049) refused it for a day; due again") {
		t.Errorf("plan does not show the refused sends scheduled:\n%s", out)
	}
	before := srv.Stats().Sends
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-target=campaign.promo")
	if sent := srv.Stats().Sends - before; sent != 0 {
		t.Errorf("apply sent %d within the day of the refusal", sent)
	}

	advance(24*time.Hour - 11*time.Minute)
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-target=campaign.promo")
	if sent := srv.Stats().Sends - before; sent != 0 {
		t.Errorf("apply sent %d before the day after the refusal", sent)
	}
	advance(11 * time.Minute)
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-target=campaign.promo"); !strings.Contains(out, "5 sent") {
		t.Errorf("a day after the refusals, apply did not send the offers again:\n%s", out)
	}
	advance(11 * time.Minute)
	w.runOnSandboxClock(exitOK, "refresh")
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-target=campaign.promo"); !strings.Contains(out, "No changes.") {
		t.Errorf("apply after the offers arrived:\n%s", out)
	}
	for s := range w.state().Sends(addrs.Pattern{Campaign: "promo"}) {
		if s.Outcome != state.OutcomeAccepted || s.ProviderStatus == state.StatusFailed || s.Attempts != 2 || len(s.History) != 1 ||
			s.History[0].MessageID != refused[s.Addr.Key] || s.History[0].Outcome != state.OutcomeDeferred {
			t.Errorf("%s: %s (%s) after %d attempts, history %+v; want accepted at the second, the refused id kept", s.Addr, s.Outcome, s.ProviderStatus, s.Attempts, s.History)
		}
		if gap := s.IntentAt.Sub(deferredAt); gap < 24*time.Hour {
			t.Errorf("%s sent again %s after its refusal was recorded, want a day", s.Addr, gap)
		}
	}
	stats := srv.Stats()
	if stats.ByKind["template"] != 15 || len(stats.Duplicates) != 0 {
		t.Errorf("the sandbox accepted %v with duplicates %v, want 15 templates (5 refused later), none reaching a customer twice", stats.ByKind, stats.Duplicates)
	}
	for _, c := range []string{"255712000001", "255712000005"} {
		if got := stats.ByRecipient[c]; got != 3 {
			t.Errorf("%s got %d templates, want 3: hello, the refused offer, the offer", c, got)
		}
	}
}

// TestTierKill9: apply killed with SIGKILL at random moments, 20 times,
// and resumed, with a tier of 1,200 new conversations per 24h for 3,000
// recipients: the sandbox never accepts more than the tier, since a send
// in doubt (its intent durable, its result lost with the process) counts
// against the tier like an accepted one; the state holds exactly the
// tier's sends, and the plan schedules the rest. On both backends.
func TestTierKill9(t *testing.T) { eachBackend(t, testTierKill9) }

func testTierKill9(t *testing.T, backend string) {
	const n, tier = 3000, 1200
	w := newWorld(t, n, sandbox.Options{Faults: sandbox.Faults{Latency: 2 * time.Millisecond, Jitter: 8 * time.Millisecond}}).on(backend)
	w.replaceInConfig("  rate = var.rate\n", fmt.Sprintf("  rate = var.rate\n  daily_first_contacts = %d\n", tier))
	w.kill9(16, true)
	w.mustRun(exitOK, "apply", "-auto-approve")
	accepted, unknown := w.audit()
	stats := w.srv.Stats()
	if stats.Accepted > tier || stats.MaxTemplatesPer24h > tier {
		t.Fatalf("the sandbox accepted %d (%d within 24h), more than the tier's %d", stats.Accepted, stats.MaxTemplatesPer24h, tier)
	}
	if accepted+unknown != tier {
		t.Errorf("the state has %d accepted and %d unknown sends, want the tier's %d in all", accepted, unknown, tier)
	}
	out := w.mustRun(exitOK, "plan")
	if want := fmt.Sprintf("> %d scheduled", n-tier); !strings.Contains(out, want) || !strings.Contains(out, "daily_first_contacts") {
		t.Errorf("plan after the tier is used up lacks %q and the tier's reason:\n%s", want, out)
	}
	t.Logf("20 kills: %d accepted, %d unknown, %d scheduled", accepted, unknown, n-tier)
}

// TestNumberMovedRehearsal: Asha got hello on 255712000001, her tip to
// follow it; then the CSV gives her a new number and the old one to
// Farida. The tip goes into hello's conversation, on the old number, which
// Farida's hello opens at the same time: the pair spacing must hold the
// two 6s apart, and the state records the tip to the number it reached.
func TestNumberMovedRehearsal(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.hcl", `
recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  key   = row.id
}
campaign "welcome" {
  recipients = recipients.customers
  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
  message "tip" {
    after = message.hello
    text  = "Reply HELP any time, ${row.name}."
  }
}
`)
	write("templates.json", `[{"name":"welcome","params":["1"]}]`)
	write("customers.csv", "id,name,phone\nc1,Asha,255712000001\n")
	w := &world{t: t, dir: dir}
	w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve")
	write("customers.csv", "id,name,phone\nc1,Asha,255712000009\nc2,Farida,255712000001\n")
	w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	stats, st := rehearsalStats(t, dir)
	to := map[string]int{}
	for _, m := range stats.Messages {
		if m.Error == "" {
			to[m.To]++
		}
	}
	if to["255712000001"] != 4 || len(to) != 1 || len(stats.Duplicates) > 0 {
		t.Errorf("the sandbox accepted %v (duplicates %v); want Asha's and Farida's hello and tip, all on 255712000001", to, stats.Duplicates)
	}
	if stats.MinPairGap == nil || *stats.MinPairGap < 6*time.Second {
		t.Errorf("two messages to one phone %v apart, want at least 6s", stats.MinPairGap)
	}
	if s, ok := st.Get(addrs.Addr{Campaign: "welcome", Message: "tip", Key: "c1"}); !ok || s.Phone != "255712000001" || s.Outcome != state.OutcomeAccepted || s.Kind != state.KindText {
		t.Errorf("tip[c1] recorded %+v, want a text accepted on 255712000001", s)
	}
	if s, _ := st.Get(addrs.Addr{Campaign: "welcome", Message: "hello", Key: "c2"}); s.Kind != state.KindTemplate {
		t.Errorf("hello[c2] recorded as %q, want template", s.Kind)
	}
}

// TestShowTarget: show -target narrows the funnel to the campaigns and
// messages it names; an address that matches nothing is an error.
func TestShowTarget(t *testing.T) {
	w := &world{t: t, dir: limitsDir(t, "", "")}
	w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve")
	all := w.mustRun(exitOK, "show", "-sandbox")
	promo := w.mustRun(exitOK, "show", "-sandbox", "-target=campaign.promo")
	for _, want := range []string{"campaign.welcome.message.hello", "campaign.promo.message.offer"} {
		if !strings.Contains(all, want) {
			t.Errorf("show lacks %s:\n%s", want, all)
		}
	}
	if !strings.Contains(promo, "campaign.promo.message.offer") || !strings.Contains(promo, "5 scheduled") || strings.Contains(promo, "welcome") {
		t.Errorf("show -target=campaign.promo:\n%s", promo)
	}
	one := w.mustRun(exitOK, "show", "-sandbox", "-json", `-target=campaign.welcome.message.hello["255712000001"]`)
	var r struct {
		Campaigns []struct {
			Name     string `json:"name"`
			Messages []struct {
				Address string `json:"address"`
				Sent    int    `json:"sent"`
			} `json:"messages"`
		} `json:"campaigns"`
	}
	if err := json.Unmarshal([]byte(one), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Campaigns) != 1 || len(r.Campaigns[0].Messages) != 1 || r.Campaigns[0].Messages[0].Sent != 1 {
		t.Errorf("show -json of one send: %+v\n%s", r, one)
	}
	if _, errOut, code := w.run("show", "-sandbox", "-target=campaign.promt"); code != exitError || !strings.Contains(errOut, "No send matches -target") || !strings.Contains(errOut, "campaign.promo") {
		t.Errorf("show -target of nothing: exit %d\n%s", code, errOut)
	}
}

// TestMaxRecipientsUnderTier: the tier spreads six first contacts over
// three days, two a day, under max_recipients = 2. Before the campaign's
// first send apply counts all six and refuses without -allow-large
// (nothing sent); confirmed, it sends the tier's two, and the next run,
// going on with the confirmed campaign, is not asked again.
func TestMaxRecipientsUnderTier(t *testing.T) {
	w := newWorld(t, 6, sandbox.Options{})
	w.replaceInConfig("rate = var.rate\n", "rate = var.rate\n  pair_spacing = \"0s\"\n  daily_first_contacts = 2\n  max_recipients = 2\n")
	_, errOut, code := w.run("apply", "-auto-approve")
	if msg := strings.Join(strings.Fields(errOut), " "); code != exitError || !strings.Contains(msg, "6 first-contact messages (2 now, the rest as the limits allow)") {
		t.Fatalf("apply without -allow-large: exit %d\n%s", code, errOut)
	}
	if got := w.srv.Stats().Accepted; got != 0 {
		t.Fatalf("the sandbox accepted %d before the confirmation", got)
	}
	if out := w.mustRun(exitOK, "apply", "-auto-approve", "-allow-large"); !strings.Contains(out, "Apply finished: 2 sent.") {
		t.Fatalf("apply -allow-large:\n%s", out)
	}
	w.mustRun(exitOK, "apply", "-auto-approve")
	if got := w.srv.Stats().Accepted; got != 2 {
		t.Errorf("the sandbox accepted %d, want the tier's 2", got)
	}
}

// TestMarketingLimitWait: apply -wait whose own round has sends refused
// with 131049, and nothing else scheduled, waits the day and sends them
// again, rather than saying nothing more is scheduled.
func TestMarketingLimitWait(t *testing.T) {
	dir, w := welcomedUnderMarketingLimit(t)
	out := w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait", "-target=campaign.promo")
	for _, want := range []string{"5 deferred a day (Meta's 131049)", "Waiting until", "Nothing more is scheduled."} {
		if !strings.Contains(out, want) {
			t.Errorf("apply -wait lacks %q:\n%s", want, out)
		}
	}
	stats, st := rehearsalStats(t, dir)
	if len(stats.Duplicates) > 0 || stats.ByKind["template"] != 10 {
		t.Errorf("the sandbox accepted %v with duplicates %v, want 10 templates, once each", stats.ByKind, stats.Duplicates)
	}
	for s := range st.Sends(addrs.Pattern{Campaign: "promo"}) {
		if s.Outcome != state.OutcomeAccepted || s.Attempts != 2 {
			t.Errorf("%s: %s after %d attempts, want accepted at the second, a day after the 131049", s.Addr, s.Outcome, s.Attempts)
		}
	}
}

// TestDoubtWait: apply -wait whose round leaves sends in doubt comes back
// once refresh may decide on them, waits once, and ends with everyone's
// message accepted once, rather than saying nothing more is scheduled —
// whether refresh finds the messages (the connection dropped after Briq
// took them) or finds them failed (Briq's WhatsApp provider failed them)
// and they go again.
func TestDoubtWait(t *testing.T) {
	for name, faults := range map[string]sandbox.Faults{"found": {DropAfterAccept: 0.3}, "failed": {ProviderFail: 0.3}} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, 6, sandbox.Options{Seed: 3, Faults: faults})
			out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-wait", "-wait-timeout=3h")
			for _, want := range []string{"in doubt (refresh looks for them)", "Nothing more is scheduled."} {
				if !strings.Contains(out, want) {
					t.Errorf("apply -wait lacks %q:\n%s", want, out)
				}
			}
			if n := strings.Count(out, "Waiting until"); n != 1 {
				t.Errorf("apply -wait waited %d times, want once:\n%s", n, out)
			}
			stats := w.srv.Stats()
			if stats.Accepted != 6 || len(stats.Duplicates) > 0 {
				t.Errorf("the sandbox accepted %d messages with duplicates %v, want 6, once each", stats.Accepted, stats.Duplicates)
			}
			for s := range w.state().Sends(addrs.Pattern{}) {
				if s.Outcome != state.OutcomeAccepted {
					t.Errorf("%s: %s after %d attempts, want accepted", s.Addr, s.Outcome, s.Attempts)
				}
			}
		})
	}
}

// TestRetryWait: apply -wait whose round leaves sends to retry (429s
// asking for a ten-minute pause, too long to hold their intents open)
// says so, comes back for them, and ends with everyone's message accepted
// once.
func TestRetryWait(t *testing.T) {
	w := newWorld(t, 4, sandbox.Options{Seed: 3, Faults: sandbox.Faults{RateLimit: 1, RetryAfter: 10 * time.Minute}})
	out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-wait", "-wait-timeout=2h")
	for _, want := range []string{"to retry", "Nothing more is scheduled."} {
		if !strings.Contains(out, want) {
			t.Errorf("apply -wait lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`Waiting until .*, \d+ to retry,`).MatchString(out) {
		t.Errorf("apply -wait does not say it waits for the sends to retry:\n%s", out)
	}
	stats := w.srv.Stats()
	if stats.Accepted != 4 || len(stats.Duplicates) > 0 {
		t.Errorf("the sandbox accepted %d messages with duplicates %v, want 4, once each", stats.Accepted, stats.Duplicates)
	}
}
