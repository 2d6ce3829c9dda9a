package plan

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// limitsScenario loads testdata/limits — a frequency cap of 1 per 168h, a
// tier of 3 per 24h, 6s pair spacing — and a state where p1 got welcome's
// hello two days ago and p2 got it 3s before now.
func limitsScenario(t *testing.T) (*config.Config, *state.Store) {
	t.Helper()
	cfg, diags := config.Load("testdata/limits", config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	store := openStore(t)
	for key, at := range map[string]time.Time{"p1": now.Add(-48 * time.Hour), "p2": now.Add(-3 * time.Second)} {
		recordSend(t, cfg, store, addrs.Addr{Campaign: "welcome", Message: "hello", Key: key}, at, state.OutcomeAccepted, "")
	}
	return cfg, store
}

// recordSend records the send at a, rendered as cfg has it, with outcome
// at at.
func recordSend(t *testing.T, cfg *config.Config, store *state.Store, a addrs.Addr, at time.Time, outcome state.Outcome, code string) {
	t.Helper()
	var m *config.Message
	for _, c := range cfg.Campaigns {
		for _, cm := range c.Messages {
			if c.Name == a.Campaign && cm.Name == a.Message {
				m = cm
			}
		}
	}
	for _, r := range m.Campaign.Recipients.Recipients {
		if r.Key != a.Key {
			continue
		}
		p, diags := m.Render(r, nil, "")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if err := store.RecordIntent(state.Intent{Addr: a, Phone: r.Phone, Digest: ContentDigest(p), At: at}); err != nil {
			t.Fatal(err)
		}
		res := state.Result{Addr: a, Outcome: outcome, ErrorCode: code, At: at}
		if outcome == state.OutcomeAccepted {
			res.MessageID = "m-" + a.String()
		}
		if err := store.RecordResult(res); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no recipient %s", a.Key)
}

// TestLimitsGolden pins the plan of the limits scenario, and checks the
// rules one send at a time.
func TestLimitsGolden(t *testing.T) {
	cfg, store := limitsScenario(t)
	p := goldenPlan(t, cfg, store.State(), "limits")

	tier := now.Add(-3 * time.Second).Add(24 * time.Hour) // p2's hello leaves the tier's window
	week := 168 * time.Hour
	want := map[string]struct {
		class Class
		due   time.Time
	}{
		// p2 got hello 3s ago: tip (2s after) waits out the pair spacing.
		`campaign.welcome.message.tip["p2"]`: {Scheduled, now.Add(3 * time.Second)},
		// The tier (3 per 24h, p2's hello among them): p3 and p4 now, p5
		// once p2's hello is 24h old.
		`campaign.welcome.message.hello["p3"]`: {Send, now},
		`campaign.welcome.message.hello["p4"]`: {Send, now},
		`campaign.welcome.message.hello["p5"]`: {Scheduled, tier},
		// The cap (1 per 168h): each phone's next template a week after
		// its last, in plan order; the tier's slots are taken by then.
		`campaign.promo.message.offer["p1"]`: {Scheduled, now.Add(-48 * time.Hour).Add(week)},
		`campaign.promo.message.offer["p2"]`: {Scheduled, now.Add(-3 * time.Second).Add(week)},
		`campaign.promo.message.offer["p3"]`: {Scheduled, now.Add(week)},
		`campaign.promo.message.offer["p5"]`: {Scheduled, tier.Add(week)},
		// flash stops before the cap frees any phone.
		`campaign.flash.message.sale["p1"]`: {Expired, time.Time{}},
		`campaign.flash.message.sale["p4"]`: {Expired, time.Time{}},
	}
	for _, it := range p.Items {
		w, ok := want[it.Addr().String()]
		if !ok {
			continue
		}
		if it.Class != w.class || !it.Due().Equal(w.due) {
			t.Errorf("%s: %s due %s (%s), want %s due %s", it.Addr(), it.Class, it.Due(), it.Reason, w.class, w.due)
		}
	}
}

// TestCapInPlanOrder: two campaigns in one plan to the same phone, with a
// cap of 1: the first in plan order goes now, the second once the first
// leaves the window.
func TestCapInPlanOrder(t *testing.T) {
	cfg, _ := limitsScenario(t)
	prov := *cfg.Provider
	prov.DailyFirstContacts, prov.PairSpacing = 0, 0
	cfg.Provider = &prov
	empty, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "s"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	p, diags := Build(cfg, empty.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, it := range p.Items {
		var want Class
		switch it.Addr().Campaign {
		case "welcome":
			want = map[string]Class{"hello": Send, "tip": Scheduled}[it.Addr().Message]
		case "promo":
			want = Scheduled
		case "flash":
			want = Expired
		}
		if it.Class != want {
			t.Errorf("%s: %s (%s), want %s", it.Addr(), it.Class, it.Reason, want)
		}
		if it.Addr().Campaign == "promo" && !it.Due().Equal(now.Add(168*time.Hour)) {
			t.Errorf("%s due %s, want a week from now", it.Addr(), it.Due())
		}
	}
}

// TestDeferred: a send Meta's per-user marketing limit refused (131049) is
// scheduled a day after the refusal, then retried, and never given up on
// for it.
func TestDeferred(t *testing.T) {
	cfg, store := unlimitedScenario(t)
	a := addrs.Addr{Campaign: "promo", Message: "offer", Key: "p4"}
	for range DefaultMaxAttempts {
		if err := store.RecordIntent(state.Intent{Addr: a, Phone: "255712000004", At: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeDeferred, ErrorCode: "131049", At: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	at := func(when time.Time) *Item { return itemAt(t, cfg, store, a, when) }
	if it := at(now); it.Class != Scheduled || !it.Due().Equal(now.Add(23*time.Hour)) ||
		it.Reason != "Meta's per-user marketing limit (131049) refused it for a day; due again 2026-11-22 11:00 UTC" {
		t.Errorf("an hour after 131049: %s due %s: %s", it.Class, it.Due(), it.Reason)
	}
	if it := at(now.Add(23 * time.Hour)); it.Class != Retry || it.Reason != "attempt 5 was deferred a day (131049)" {
		t.Errorf("a day after 131049: %s: %s", it.Class, it.Reason)
	}
	// A transient failure after the deferrals: one attempt used of five.
	if err := store.RecordIntent(state.Intent{Addr: a, Phone: "255712000004", At: now.Add(23 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeRetry, ErrorCode: "HTTP_429", At: now.Add(23 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if it := at(now.Add(23 * time.Hour)); it.Class != Retry {
		t.Errorf("a transient failure after 5 deferrals: %s: %s", it.Class, it.Reason)
	}
}

// TestSystemicFailuresNotCounted: attempts that failed for the run's
// reasons (Briq not reached, the key refused, rate limited), as every
// send of an outage does at each cron run, do not use up a send's
// attempts; its own failures do, and give up on it after
// DefaultMaxAttempts of them, whatever came between; and all of them,
// after allAttemptsFactor times as many.
func TestSystemicFailuresNotCounted(t *testing.T) {
	cfg, store := unlimitedScenario(t)
	a := addrs.Addr{Campaign: "promo", Message: "offer", Key: "p4"}
	fail := func(code string, systemic bool) {
		t.Helper()
		if err := store.RecordIntent(state.Intent{Addr: a, Phone: "255712000004", At: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeRetry, ErrorCode: code, Systemic: systemic, At: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	class := func() *Item { return itemAt(t, cfg, store, a, now) }
	for range 3 * DefaultMaxAttempts {
		fail("UNAUTHORIZED", true)
	}
	if it := class(); it.Class != Retry {
		t.Fatalf("after %d failures of the run: %s: %s", 3*DefaultMaxAttempts, it.Class, it.Reason)
	}
	for range DefaultMaxAttempts - 1 {
		fail("SEND_FAILED", false)
		fail("HTTP_429", true)
	}
	if it := class(); it.Class != Retry {
		t.Fatalf("after %d of its own failures: %s: %s", DefaultMaxAttempts-1, it.Class, it.Reason)
	}
	fail("SEND_FAILED", false)
	if it := class(); it.Class != Expired || it.Reason != fmt.Sprintf("gave up after %d failed attempts: SEND_FAILED", DefaultMaxAttempts) {
		t.Errorf("after %d of its own failures: %s: %q", DefaultMaxAttempts, it.Class, it.Reason)
	}

	// What one send alone keeps meeting, though the run's kind of
	// failure, ends too: at allAttemptsFactor times its own attempts.
	a = addrs.Addr{Campaign: "promo", Message: "offer", Key: "p3"}
	for range allAttemptsFactor*DefaultMaxAttempts - 1 {
		fail("HTTP_500", true)
	}
	if it := class(); it.Class != Retry {
		t.Fatalf("after %d failures of the run: %s: %s", allAttemptsFactor*DefaultMaxAttempts-1, it.Class, it.Reason)
	}
	fail("HTTP_500", true)
	want := fmt.Sprintf("gave up after %d attempts, %[1]d of them failures every send met (Briq unreachable or unavailable): HTTP_500", allAttemptsFactor*DefaultMaxAttempts)
	if it := class(); it.Class != Expired || it.Reason != want {
		t.Errorf("after %d failures of the run: %s: %q", allAttemptsFactor*DefaultMaxAttempts, it.Class, it.Reason)
	}
}

// unlimitedScenario is limitsScenario without daily_first_contacts,
// pair_spacing or frequency_cap: a send's own rules alone give its class.
func unlimitedScenario(t *testing.T) (*config.Config, *state.Store) {
	cfg, store := limitsScenario(t)
	prov := *cfg.Provider
	prov.DailyFirstContacts, prov.PairSpacing = 0, 0
	cfg.Provider = &prov
	cfg.FrequencyCap = nil
	return cfg, store
}

// itemAt returns the send at a in the plan of cfg and store at now.
func itemAt(t *testing.T, cfg *config.Config, store *state.Store, a addrs.Addr, now time.Time) *Item {
	t.Helper()
	p, diags := Build(cfg, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for i := range p.Items {
		if p.Items[i].Addr() == a {
			return &p.Items[i]
		}
	}
	t.Fatalf("no %s in the plan", a)
	return nil
}

// TestTierLeft counts the templates the state records in the last 24h,
// accepted or in doubt.
func TestTierLeft(t *testing.T) {
	cfg, store := limitsScenario(t)
	if got := TierLeft(cfg, store.State(), now); got != 2 { // p2's hello 3s ago
		t.Errorf("tier left %d, want 2", got)
	}
	// A send in doubt (an apply killed after its intent) counts too.
	if err := store.RecordIntent(state.Intent{Addr: addrs.Addr{Campaign: "promo", Message: "offer", Key: "p3"}, Phone: "255712000003", At: now}); err != nil {
		t.Fatal(err)
	}
	if got := TierLeft(cfg, store.State(), now); got != 1 {
		t.Errorf("tier left %d with a send in doubt, want 1", got)
	}
	// A second before the send in doubt is 24h old, p2's hello is out.
	if got := TierLeft(cfg, store.State(), now.Add(24*time.Hour-time.Second)); got != 2 {
		t.Errorf("tier left a day later %d, want 2", got)
	}
	cfg.Provider = &config.Provider{}
	if got := TierLeft(cfg, store.State(), now); got != -1 {
		t.Errorf("tier left without a tier %d, want -1", got)
	}
}

// TestPairSpacingFromUnknownIntent: a send in doubt went out, if at all, at
// its intent. Each refresh that cannot decide it records a result with its
// note; the pair spacing of the next message to the phone counts from the
// intent, not from those notes, or a send left unknown would hold every
// other message to its phone for good.
func TestPairSpacingFromUnknownIntent(t *testing.T) {
	cfg, store := limitsScenario(t)
	prov := *cfg.Provider
	prov.DailyFirstContacts = 0
	cfg.Provider = &prov
	cfg.FrequencyCap = nil
	a := addrs.Addr{Campaign: "welcome", Message: "hello", Key: "p3"}
	if err := store.RecordIntent(state.Intent{Addr: a, Phone: "255712000003", At: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeUnknown, ErrorMessage: "refresh: none yet", At: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	p, diags := Build(cfg, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, it := range p.Items {
		if it.Addr() == (addrs.Addr{Campaign: "promo", Message: "offer", Key: "p3"}) && it.Class != Send {
			t.Errorf("%s: %s (%s), want due now: the unknown hello's intent is an hour old", it.Addr(), it.Class, it.Reason)
		}
	}
}

// TestUnknownContentIsDone: a send accepted with no digest recorded (refresh
// -recover found the message of a follow-up it could not render yet) is
// done: what was sent is not known, so it is no drift.
func TestUnknownContentIsDone(t *testing.T) {
	cfg, store := limitsScenario(t)
	a := addrs.Addr{Campaign: "welcome", Message: "hello", Key: "p3"}
	if err := store.RecordIntent(state.Intent{Addr: a, Phone: "255712000003", At: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeAccepted, MessageID: "m-3", At: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	p, diags := Build(cfg, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, it := range p.Items {
		if it.Addr() == a && it.Class != Done {
			t.Errorf("%s: %s (%s), want done", a, it.Class, it.Reason)
		}
	}
}

// twoPeopleCSV is the recipients of two people.
const twoPeopleCSV = "id,name,phone\np1,Asha,255712000001\np2,Baraka,255712000002\n"

// TestTierSlotInSendWindow: a send the daily first-contact budget holds
// until a slot frees at 22:00 goes at the send window's next opening, not
// at 22:00 outside it; with stop_at before that opening it expires.
func TestTierSlotInSendWindow(t *testing.T) {
	for _, stopAt := range []string{"", `stop_at = "2026-11-21T23:00:00Z"`} {
		cfg := loadFiles(t, map[string]string{"people.csv": twoPeopleCSV, "main.hcl": `
provider "briq" {
  daily_first_contacts = 1
  pair_spacing         = "0s"
}
recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}
campaign "c" {
  recipients = recipients.people
  ` + stopAt + `
  send_window {
    from      = "08:00"
    to        = "20:00"
    time_zone = "UTC"
  }
  message "hello" {
    template  = "hello"
    variables = { "1" = row.name }
  }
}
`}, config.LoadOptions{})
		store := openStore(t)
		// p1 got hello at 22:00 yesterday: the tier's slot frees at 22:00 today.
		recordSend(t, cfg, store, addrs.Addr{Campaign: "c", Message: "hello", Key: "p1"}, now.Add(-14*time.Hour), state.OutcomeAccepted, "")
		it := itemAt(t, cfg, store, addrs.Addr{Campaign: "c", Message: "hello", Key: "p2"}, now)
		if stopAt == "" {
			want := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
			if it.Class != Scheduled || !it.Due().Equal(want) {
				t.Errorf("hello[p2]: %s due %v (%s); want scheduled for the window's next opening, %v", it.Class, it.Due(), it.Reason, want)
			}
		} else if it.Class != Expired {
			t.Errorf("with stop_at 23:00, hello[p2]: %s due %v (%s); want expired: the window next opens after stop_at", it.Class, it.Due(), it.Reason)
		}
	}
}

// TestReplacedTemplateStillCounts: a template the phone accepted an hour
// ago counts against frequency_cap although the operator then sent it
// again (-replace) and that attempt failed: the accepted one is in the
// send's history, not its latest outcome.
func TestReplacedTemplateStillCounts(t *testing.T) {
	cfg, store := limitsScenario(t)
	prov := *cfg.Provider
	prov.DailyFirstContacts, prov.PairSpacing = 0, 0
	cfg.Provider = &prov
	cfg.FrequencyCap = &config.FrequencyCap{Max: 1, Per: 168 * time.Hour}
	a := addrs.Addr{Campaign: "welcome", Message: "hello", Key: "p3"}
	recordSend(t, cfg, store, a, now.Add(-time.Hour), state.OutcomeAccepted, "")
	if err := store.RecordIntent(state.Intent{Addr: a, Phone: "255712000003", At: now.Add(-30 * time.Minute), Replace: true}); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeFailed, ErrorCode: "VALIDATION_ERROR", At: now.Add(-30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	it := itemAt(t, cfg, store, addrs.Addr{Campaign: "promo", Message: "offer", Key: "p3"}, now)
	if it.Class.Sends() {
		t.Errorf("promo.offer[p3] %s (%s): the phone accepted a template an hour ago, cap 1 per 168h", it.Class, it.Reason)
	}
}

// TestFollowUpGoesWhereItsParentWent: p1's hello went to 255712000001 an
// hour ago; since, p1 changed number and p2 took the old one. p1's ask
// goes into hello's conversation, on the old number, which p2's hello
// opens now: pair_spacing holds one of the two, and the plan says where
// the ask goes. When the old number's holder opts out, the ask does not
// go at all.
func TestFollowUpGoesWhereItsParentWent(t *testing.T) {
	const hcl = `
provider "briq" {
  pair_spacing = "60s"
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
	after := loadFiles(t, map[string]string{"main.hcl": hcl, "people.csv": "id,name,phone\np1,Asha,255712000009\np2,Baraka,255712000001\n"}, config.LoadOptions{})
	store := openStore(t)
	recordSend(t, before, store, addrs.Addr{Campaign: "c", Message: "hello", Key: "p1"}, now.Add(-time.Hour), state.OutcomeAccepted, "")
	p, diags := Build(after, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ask, hello := p.Items[2], p.Items[1] // ask[p1], hello[p2]
	if ask.Addr() != (addrs.Addr{Campaign: "c", Message: "ask", Key: "p1"}) || hello.Addr() != (addrs.Addr{Campaign: "c", Message: "hello", Key: "p2"}) {
		t.Fatalf("items %s, %s", ask.Addr(), hello.Addr())
	}
	if ask.Phone() != "255712000001" {
		t.Errorf("ask[p1] goes to %s, want 255712000001: into hello's conversation", ask.Phone())
	}
	// In plan order: p2's hello now, the ask 60s after it.
	if hello.Class != Send || ask.Class != Scheduled || !ask.Due().Equal(now.Add(time.Minute)) {
		t.Errorf("hello[p2] %s (%s), ask[p1] %s due %v (%s); want p2's hello now and the ask 60s after it, on the same phone",
			hello.Class, hello.Reason, ask.Class, ask.Due(), ask.Reason)
	}
	if err := store.OptOut(state.OptOut{Phone: "255712000001", Text: "STOP", At: now}); err != nil {
		t.Fatal(err)
	}
	if it := itemAt(t, after, store, addrs.Addr{Campaign: "c", Message: "ask", Key: "p1"}, now); it.Class.Sends() {
		t.Errorf("ask[p1] %s (%s): the phone it goes to opted out", it.Class, it.Reason)
	}
}

// TestCountedByRecordedKind: the frequency cap counts what the state says
// a send was. A text of a campaign since deleted from the configuration
// does not count (it did before the state recorded kinds: a message the
// configuration no longer has might have been a template); a template
// whose message was since edited into a text does; a send recorded
// without its kind (an older state) is judged by the configuration, as
// before.
func TestCountedByRecordedKind(t *testing.T) {
	cfg := loadFiles(t, map[string]string{"people.csv": "id,name,phone\np1,Asha,255712000001\np2,Baraka,255712000002\np3,Chausiku,255712000003\n", "main.hcl": `
provider "briq" {
  pair_spacing = "0s"
}
frequency_cap {
  max = 1
  per = "168h"
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
}
campaign "promo" {
  recipients = recipients.people
  stop_at    = "2020-01-01T00:00:00Z"
  message "offer" {
    template = "offer"
  }
  message "note" {
    after = message.offer
    text  = "Thanks, ${row.name}"
  }
}
`}, config.LoadOptions{})
	store := openStore(t)
	record := func(a addrs.Addr, phone string, kind state.Kind) {
		t.Helper()
		if err := store.RecordIntent(state.Intent{Addr: a, Phone: phone, Kind: kind, At: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeAccepted, MessageID: "m-" + a.Key, At: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	record(addrs.Addr{Campaign: "old", Message: "tip", Key: "p1"}, "255712000001", state.KindText)
	record(addrs.Addr{Campaign: "promo", Message: "note", Key: "p2"}, "255712000002", state.KindTemplate)
	record(addrs.Addr{Campaign: "old", Message: "tip", Key: "p3"}, "255712000003", state.KindUnknown)
	p, diags := Build(cfg, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for key, held := range map[string]bool{"p1": false, "p2": true, "p3": true} {
		for _, it := range p.Items {
			if it.Addr() == (addrs.Addr{Campaign: "c", Message: "hello", Key: key}) && it.Class.Sends() == held {
				t.Errorf("c.hello[%s] %s (%s); held by the cap: %v", key, it.Class, it.Reason, held)
			}
		}
	}
}

// TestGuardMaxRecipientsUnderLimits: the messaging tier spreads a
// campaign's first contacts over days, and each run's share stays under
// max_recipients; before its first send, the campaign counts all of them
// (the limits hold the rest back), so a wrong CSV does not trickle out
// run by run unconfirmed. Once it has begun, the runs that go on with it
// count what they send.
func TestGuardMaxRecipientsUnderLimits(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("id,name,phone\n")
	for i := range 6 {
		fmt.Fprintf(&csv, "p%d,Name%d,25571200000%d\n", i, i, i)
	}
	cfg := loadFiles(t, map[string]string{"people.csv": csv.String(), "main.hcl": `
provider "briq" {
  pair_spacing         = "0s"
  daily_first_contacts = 2
  max_recipients       = 2
}
recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}
campaign "c" {
  recipients = recipients.people
  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
}
`}, config.LoadOptions{})
	store := openStore(t)
	p, diags := Build(cfg, store.State(), now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if n := p.Count()[Send]; n != 2 {
		t.Fatalf("%d to send, want the tier's 2", n)
	}
	g := Guard(cfg, p, GuardOptions{})
	if !g.HasErrors() || !strings.Contains(g.Error(), "6 first-contact messages (2 now, the rest as the limits allow)") {
		t.Fatalf("guard before the first send: %v", g)
	}
	if g := Guard(cfg, p, GuardOptions{AllowLarge: true}); g.HasErrors() {
		t.Fatalf("guard with -allow-large: %v", g)
	}
	for _, key := range []string{"p0", "p1"} {
		recordSend(t, cfg, store, addrs.Addr{Campaign: "c", Message: "hello", Key: key}, now, state.OutcomeAccepted, "")
	}
	p, _ = Build(cfg, store.State(), now.Add(25*time.Hour), Options{})
	if g := Guard(cfg, p, GuardOptions{}); g.HasErrors() {
		t.Fatalf("guard of a run going on with the campaign: %v", g)
	}
}
