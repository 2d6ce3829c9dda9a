package plan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/internal/goldenfile"
	"github.com/ujumbe/ujumbe/state"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// t0 is when the scenario's first sends were accepted; now is when it plans.
var (
	t0  = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
)

// scenario loads testdata/classes and records a state that puts its sends
// in every class (see the comments below).
func scenario(t *testing.T) (*config.Config, *state.State) {
	t.Helper()
	cfg, diags := config.Load("testdata/classes", config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := cfg.Campaigns[0]
	msg := map[string]*config.Message{}
	for _, m := range c.Messages {
		msg[m.Name] = m
	}
	rec := map[string]*config.Recipient{}
	for _, r := range c.Recipients.Recipients {
		rec[r.Key] = r
	}
	store := openStore(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	send := func(message, key string, at time.Time, outcome state.Outcome, code string, d state.Digest) {
		t.Helper()
		a := addrs.Addr{Campaign: "promo", Message: message, Key: key}
		if d == (state.Digest{}) {
			p, diags := msg[message].Render(rec[key], nil, "")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			d = ContentDigest(p)
		}
		phone := "255712000099" // the orphan's recipient is gone from the CSV
		if r := rec[key]; r != nil {
			phone = r.Phone
		}
		must(store.RecordIntent(state.Intent{Addr: a, Phone: phone, Digest: d, At: at}))
		if outcome == state.OutcomeUnknown {
			return
		}
		r := state.Result{Addr: a, Outcome: outcome, ErrorCode: code, At: at.Add(time.Second)}
		if outcome == state.OutcomeAccepted {
			r.MessageID, r.ConversationID = "msg-"+message+"-"+key, "conv-"+key
		}
		must(store.RecordResult(r))
	}
	// Digests of other content than the configuration renders, as sends
	// made before it changed recorded them.
	digest := func(content string) state.Digest {
		sum := sha256.Sum256([]byte(content))
		return state.Digest(sum[:len(state.Digest{})])
	}
	older, removed := digest("older content"), digest("removed row")
	send("offer", "p1", t0, state.OutcomeAccepted, "", state.Digest{})                   // = offer; + ask
	send("offer", "p2", t0, state.OutcomeAccepted, "", older)                            // ~ offer
	send("offer", "p3", t0, state.OutcomeUnknown, "", state.Digest{})                    // ? offer; ask waits
	send("offer", "p4", t0, state.OutcomeRetry, "HTTP_503", state.Digest{})              // ! offer
	send("offer", "p5", t0, state.OutcomeFailed, "VALIDATION_ERROR", state.Digest{})     // x offer and everything after
	send("offer", "p7", t0, state.OutcomeAccepted, "", state.Digest{})                   // p7 answered yes
	send("ask", "p7", t0.Add(10*time.Minute), state.OutcomeAccepted, "", state.Digest{}) //
	send("offer", "p8", t0, state.OutcomeAccepted, "", state.Digest{})                   // p8 has not answered
	send("ask", "p8", t0.Add(10*time.Minute), state.OutcomeAccepted, "", state.Digest{}) //
	send("offer", "gone", t0, state.OutcomeAccepted, "", removed)                        // - orphan
	must(store.Refresh(state.Update{
		Addr:  addrs.Addr{Campaign: "promo", Message: "ask", Key: "p7"},
		Reply: &state.Reply{ID: "yes", Title: "Yes", At: t0.Add(15 * time.Minute), MessageID: "in-p7"},
		At:    t0.Add(16 * time.Minute),
	}))
	return cfg, store.State()
}

func TestBuildClasses(t *testing.T) {
	cfg, st := scenario(t)
	p, diags := Build(cfg, st, now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]string{}
	for _, it := range p.Items {
		got[it.Addr().String()] = it.Class.String()
	}
	want := map[string]string{
		`campaign.promo.message.offer["p1"]`: "=", `campaign.promo.message.ask["p1"]`: "+",
		`campaign.promo.message.code["p1"]`: ">", `campaign.promo.message.nudge["p1"]`: ">",
		`campaign.promo.message.offer["p2"]`: "~", `campaign.promo.message.ask["p2"]`: "+",
		`campaign.promo.message.code["p2"]`: ">", `campaign.promo.message.nudge["p2"]`: ">",
		`campaign.promo.message.offer["p3"]`: "?", `campaign.promo.message.ask["p3"]`: ">",
		`campaign.promo.message.code["p3"]`: ">", `campaign.promo.message.nudge["p3"]`: ">",
		`campaign.promo.message.offer["p4"]`: "!", `campaign.promo.message.ask["p4"]`: ">",
		`campaign.promo.message.code["p4"]`: ">", `campaign.promo.message.nudge["p4"]`: ">",
		`campaign.promo.message.offer["p5"]`: "x", `campaign.promo.message.ask["p5"]`: "x",
		`campaign.promo.message.code["p5"]`: "x", `campaign.promo.message.nudge["p5"]`: "x",
		`campaign.promo.message.offer["p6"]`: "+", `campaign.promo.message.ask["p6"]`: ">",
		`campaign.promo.message.code["p6"]`: ">", `campaign.promo.message.nudge["p6"]`: ">",
		`campaign.promo.message.offer["p7"]`: "=", `campaign.promo.message.ask["p7"]`: "=",
		`campaign.promo.message.code["p7"]`: "+", `campaign.promo.message.nudge["p7"]`: "x",
		`campaign.promo.message.offer["p8"]`: "=", `campaign.promo.message.ask["p8"]`: "=",
		`campaign.promo.message.code["p8"]`: ">", `campaign.promo.message.nudge["p8"]`: ">",
		`campaign.promo.message.offer["p9"]`: "-", `campaign.promo.message.ask["p9"]`: "-",
		`campaign.promo.message.code["p9"]`: "-", `campaign.promo.message.nudge["p9"]`: "-",
		`campaign.promo.message.offer["gone"]`: "-",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	for _, it := range p.Items {
		switch it.Addr().String() {
		case `campaign.promo.message.ask["p1"]`:
			if it.ConversationID() != "conv-p1" || !it.WindowEnd().Equal(t0.Add(24*time.Hour+time.Second)) {
				t.Errorf("ask to p1: conversation %q, window end %v", it.ConversationID(), it.WindowEnd())
			}
		case `campaign.promo.message.nudge["p8"]`:
			if want := t0.Add(10*time.Minute + time.Second + 20*time.Hour); !it.Due().Equal(want) {
				t.Errorf("nudge to p8 due %v, want %v", it.Due(), want)
			}
		case `campaign.promo.message.code["p7"]`:
			if it.Reply() == nil || it.Reply().ID != "yes" {
				t.Errorf("code to p7 planned without the answer: %+v", it.Reply())
			}
		}
	}
}

// TestBuildTimeRules moves the clock: past the 24h window the unanswered
// follow-ups expire; past stop_at everything unsent does.
func TestBuildTimeRules(t *testing.T) {
	cfg, st := scenario(t)
	classOf := func(p *Plan, addr string) string {
		for _, it := range p.Items {
			if it.Addr().String() == addr {
				return it.Class.String() + " " + it.Reason
			}
		}
		return "missing"
	}
	later := t0.Add(30 * time.Hour)
	p, _ := Build(cfg, st, later, Options{})
	for addr, want := range map[string]string{
		`campaign.promo.message.code["p8"]`:  "x no answer to message.ask before the 24h window closed at 2026-11-22 09:00 UTC",
		`campaign.promo.message.nudge["p8"]`: "x the 24h window closes at 2026-11-22 09:00 UTC, before it is due",
		`campaign.promo.message.offer["p6"]`: "+ first contact",
	} {
		if got := classOf(p, addr); got != want {
			t.Errorf("at t0+30h %s: %q, want %q", addr, got, want)
		}
	}
	p, _ = Build(cfg, st, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), Options{})
	if got := classOf(p, `campaign.promo.message.offer["p6"]`); got != "x stop_at 2026-12-01 00:00 UTC comes before it is due" {
		t.Errorf("after stop_at: %q", got)
	}
}

func TestBuildTargetsAndReplace(t *testing.T) {
	cfg, st := scenario(t)
	target, _ := addrs.ParsePattern(`campaign.promo.message.offer`)
	exclude, _ := addrs.ParsePattern(`campaign.promo.message.offer["p6"]`)
	replace, _ := addrs.ParsePattern(`campaign.promo.message.offer["p1"]`)
	p, diags := Build(cfg, st, now, Options{Targets: []addrs.Pattern{target}, Excludes: []addrs.Pattern{exclude}, Replace: []addrs.Pattern{replace}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !p.Filtered {
		t.Error("a targeted plan is not marked filtered")
	}
	for _, it := range p.Items {
		if it.Addr().Message != "offer" || it.Addr().Key == "p6" {
			t.Errorf("%s is outside the target", it.Addr())
		}
		if it.Addr().Key == "p1" && (it.Class != Send || !it.Replace) {
			t.Errorf("replaced send: class %s, replace %v", it.Class, it.Replace)
		}
	}
}

// goldenPlan builds the plan of cfg and st at now and checks its human and
// JSON forms against testdata/NAME.plan.golden and NAME.plan.json.golden.
func goldenPlan(t *testing.T, cfg *config.Config, st *state.State, name string) *Plan {
	t.Helper()
	p, diags := Build(cfg, st, now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p.Lineage = "00000000-0000-4000-8000-000000000000" // random in the state
	var human bytes.Buffer
	if err := Render(&human, p.Document(false), RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/"+name+".plan.golden", human.Bytes())
	js, err := json.MarshalIndent(p.Document(true), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/"+name+".plan.json.golden", append(js, '\n'))
	return p
}

// TestRenderGolden pins the human and JSON plans of the scenario.
func TestRenderGolden(t *testing.T) {
	cfg, st := scenario(t)
	p := goldenPlan(t, cfg, st, "classes")

	// WriteJSON streams what json.Encoder writes of the whole document.
	var want, got bytes.Buffer
	if err := json.NewEncoder(&want).Encode(p.Document(true)); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("WriteJSON:\n%s\nwant (json.Encoder):\n%s", got.String(), want.String())
	}
	var empty Plan
	want.Reset()
	got.Reset()
	if err := json.NewEncoder(&want).Encode(empty.Document(true)); err != nil {
		t.Fatal(err)
	}
	if err := empty.WriteJSON(&got); err != nil || got.String() != want.String() {
		t.Errorf("WriteJSON of an empty plan = %s, %v; want %s", got.String(), err, want.String())
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got, *update)
}

func TestSummaryLine(t *testing.T) {
	got := SummaryLine(&Document{Summary: map[string]int{"send": 1204, "scheduled": 310, "done": 88, "unknown": 2}})
	if want := "Plan: 1204 to send, 310 scheduled, 88 done, 2 unknown."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Held-out sends are Orphans, but not counted as orphaned.
	got = SummaryLine(&Document{Summary: map[string]int{"send": 95, "orphan": 7}, Holdout: 5})
	if want := "Plan: 95 to send, 2 orphaned, 5 held out."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// renamedCampaign loads the scenario's campaign again under the name
// name: a copy of the *config.Campaign would keep messages whose Campaign,
// from which an Item's address comes, is still the original.
func renamedCampaign(t *testing.T, name string) *config.Campaign {
	t.Helper()
	dir := t.TempDir()
	files, err := os.ReadDir("testdata/classes")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata/classes", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte(`campaign "promo"`), []byte(`campaign "`+name+`"`), 1)
		if err := os.WriteFile(filepath.Join(dir, f.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg.Campaigns[0]
}

// TestBuildSafeChanges renders the plans of a rename with a moved block, a
// changed key column and an opt-out.
func TestBuildSafeChanges(t *testing.T) {
	cfg, st := scenario(t)
	c := cfg.Campaigns[0]

	// campaign.promo is renamed campaign.renamed: a move keeps its sends.
	movedCfg := *cfg
	movedCfg.Campaigns = []*config.Campaign{renamedCampaign(t, "renamed")}
	movedCfg.Moved = []*config.Moved{{From: addrs.Pattern{Campaign: "promo"}, To: addrs.Pattern{Campaign: "renamed"}}}
	p, diags := Build(&movedCfg, st, now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	counts := p.Count()
	if counts[Done] != 5 || counts[Orphan] != 5 {
		t.Errorf("after a move: %v, want the 5 done sends kept and only gone/suppressed orphans", counts)
	}
	unmoved := movedCfg
	unmoved.Moved = nil
	without, _ := Build(&unmoved, st, now, Options{})
	if n := without.Count()[Done]; n != 0 {
		t.Errorf("without the moved block %d sends are done, want 0", n)
	}

	// A changed key column: every recipient's key differs, phones do not.
	rekeyed := *c.Recipients
	rekeyed.Recipients = nil
	for _, r := range c.Recipients.Recipients {
		nr := *r
		nr.Key = "new-" + r.Key
		rekeyed.Recipients = append(rekeyed.Recipients, &nr)
	}
	rc := *c
	rc.Recipients = &rekeyed
	rcfg := *cfg
	rcfg.Campaigns = []*config.Campaign{&rc}
	p, _ = Build(&rcfg, st, now, Options{})
	rek := 0
	for _, it := range p.Items {
		if it.RekeyedFrom() != "" {
			rek++
			if it.RekeyedFrom() != it.Addr().Key[len("new-"):] {
				t.Errorf("%s rekeyed from %q", it.Addr(), it.RekeyedFrom())
			}
		}
	}
	// p1..p5, p7 and p8 were sent to (p9 is suppressed, p6 never was).
	if rek != 7 {
		t.Errorf("%d sends flagged as rekeyed, want 7", rek)
	}
	diags = Guard(&rcfg, p, GuardOptions{})
	if !diags.HasErrors() || diags[0].Summary != "Recipients with new keys but phones already messaged" {
		t.Errorf("guard: %v", diags)
	}
	if diags := Guard(&rcfg, p, GuardOptions{AllowRekey: true}); diags.HasErrors() {
		t.Errorf("guard with -allow-rekey: %v", diags)
	}
}

func TestBuildOptOut(t *testing.T) {
	cfg, _ := scenario(t)
	store, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "s"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.OptOut(state.OptOut{Phone: "255712000006", Text: "STOP", At: t0}); err != nil {
		t.Fatal(err)
	}
	p, _ := Build(cfg, store.State(), now, Options{})
	for _, it := range p.Items {
		if it.Addr().Key == "p6" && (it.Class != Orphan || it.Reason != "the recipient opted out") {
			t.Errorf("%s: %s %s, want - opted out", it.Addr(), it.Class, it.Reason)
		}
	}
}

func TestGuardMaxRecipients(t *testing.T) {
	cfg, st := scenario(t)
	p, _ := Build(cfg, st, now, Options{})
	c := *cfg.Campaigns[0]
	c.MaxRecipients = 1 // the scenario sends 2 first contacts (p4 retry, p6)
	small := *cfg
	small.Campaigns = []*config.Campaign{&c}
	diags := Guard(&small, p, GuardOptions{})
	if !diags.HasErrors() || diags[0].Summary != "Campaign larger than max_recipients" {
		t.Fatalf("guard: %v", diags)
	}
	if diags := Guard(&small, p, GuardOptions{AllowLarge: true}); diags.HasErrors() {
		t.Errorf("guard with -allow-large: %v", diags)
	}
}

// TestResends renames the scenario's campaign without a moved block: the
// first contacts to phones that accepted the same content are resends,
// which Guard refuses with the moved block that makes the change a rename.
func TestResends(t *testing.T) {
	cfg, st := scenario(t)
	rcfg := *cfg
	rcfg.Campaigns = []*config.Campaign{renamedCampaign(t, "renamed")}
	p, diags := Build(&rcfg, st, now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []string
	for _, r := range p.Resends {
		got = append(got, p.Items[r.Item].Addr().String()+" as "+r.Of.String())
		if it := &p.Items[r.Item]; it.Reason != resendReason {
			t.Errorf("%s: reason %q, want %q", it.Addr(), it.Reason, resendReason)
		}
	}
	// p2 accepted other content; p3's send is in doubt, which may have
	// reached the phone as much; p4 and p5 accepted nothing.
	want := []string{
		`campaign.renamed.message.offer["p1"] as campaign.promo.message.offer["p1"]`,
		`campaign.renamed.message.offer["p3"] as campaign.promo.message.offer["p3"]`,
		`campaign.renamed.message.offer["p7"] as campaign.promo.message.offer["p7"]`,
		`campaign.renamed.message.offer["p8"] as campaign.promo.message.offer["p8"]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resends (-want +got):\n%s", diff)
	}
	diags = Guard(&rcfg, p, GuardOptions{})
	if !diags.HasErrors() || diags[0].Summary != "Same content to phones that already accepted it" ||
		!strings.Contains(diags[0].Detail, "moved {\n  from = campaign.promo\n  to   = campaign.renamed\n}") {
		t.Errorf("guard: %v", diags)
	}
	if diags := Guard(&rcfg, p, GuardOptions{AllowResend: true}); diags.HasErrors() || len(diags) != 1 {
		t.Errorf("guard with -allow-resend: %v", diags)
	}

	// -replace is the operator's explicit resend, not an accidental one.
	all, _ := addrs.ParsePattern("campaign.renamed")
	p, _ = Build(&rcfg, st, now, Options{Replace: []addrs.Pattern{all}})
	if len(p.Resends) != 4 {
		t.Errorf("with -replace of sends the state does not have: %d resends, want 4", len(p.Resends))
	}
	// Unchanged, the configuration resends nothing.
	p, _ = Build(cfg, st, now, Options{})
	if len(p.Resends) != 0 {
		t.Errorf("unchanged configuration: resends %v", p.Resends)
	}
	// A report's plan (NoDrift) guards nothing and does not look.
	p, _ = Build(&rcfg, st, now, Options{NoDrift: true})
	if len(p.Resends) != 0 {
		t.Errorf("NoDrift: resends %v", p.Resends)
	}
}

func TestMovedBlock(t *testing.T) {
	cfg, _ := scenario(t) // campaign promo, messages offer, ask, code, nudge
	addr := func(c, m, k string) addrs.Addr { return addrs.Addr{Campaign: c, Message: m, Key: k} }
	for _, tc := range []struct {
		from, to addrs.Addr
		want     string
	}{
		{addr("old", "offer", "p1"), addr("promo", "offer", "p1"), "moved {\n  from = campaign.old\n  to   = campaign.promo\n}\n"},
		{addr("promo", "first", "p1"), addr("promo", "offer", "p1"), "moved {\n  from = campaign.promo.message.first\n  to   = campaign.promo.message.offer\n}\n"},
		{addr("old", "first", "p1"), addr("promo", "offer", "p1"), "moved {\n  from = campaign.old.message.first\n  to   = campaign.promo.message.offer\n}\n"},
		{addr("promo", "ask", "p1"), addr("promo", "offer", "p1"), ""}, // still configured
		{addr("old", "offer", "k1"), addr("promo", "offer", "p1"), ""}, // another key
	} {
		if got := movedBlock(cfg, tc.from, tc.to); got != tc.want {
			t.Errorf("movedBlock(%s, %s) = %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestFileRoundTrip(t *testing.T) {
	cfg, st := scenario(t)
	p, _ := Build(cfg, st, now, Options{})
	m := Made{ExpiresAt: now.Add(DefaultTTL), Sandbox: true, Replace: []string{`campaign.promo.message.offer["p1"]`}, Guard: GuardOptions{AllowResend: true}}
	path := filepath.Join(t.TempDir(), "p.plan")
	if err := NewFile(p, m).Write(path); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, f.Made); diff != "" {
		t.Errorf("made (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(p.Document(false).Summary, f.Plan.Summary); diff != "" {
		t.Errorf("saved plan summary (-want +got):\n%s", diff)
	}

	// A plan of the first format has neither the mode nor the options.
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"format_version":"2"`, `"format_version":"1"`, 1)), 0o600)
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), `run "ujumbe plan -out" again`) {
		t.Errorf("a plan of format 1: %v", err)
	}
}

// TestFileMarshal: a saved plan's bytes are json.Marshal's, for a plan's
// sends (one a resend) and for addresses and digests that JSON escapes.
func TestFileMarshal(t *testing.T) {
	cfg, st := scenario(t)
	p, _ := Build(cfg, st, now, Options{Replace: []addrs.Pattern{{Campaign: "promo", Message: "offer", Key: "p1"}}})
	for _, f := range []*File{
		NewFile(p, Made{ExpiresAt: now.Add(DefaultTTL), Inputs: map[string]string{`dir/"q".csv`: "x"}, Targets: []string{"campaign.promo"}}),
		{FormatVersion: FileFormatVersion, Sends: []Planned{}, Plan: p.Document(false)},
		{FormatVersion: FileFormatVersion, Sends: []Planned{
			{Address: `campaign.c.message.m["<&> \"q\" \\ Zoë \u2028"]`, Digest: "\x00\xff", Replace: true},
			{Address: "campaign.c.message.m[\"k\"]", Digest: "00"},
		}},
	} {
		var resends int
		for _, s := range f.Sends {
			if s.Replace {
				resends++
			}
		}
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.marshal()
		if err != nil || string(got) != string(want)+"\n" {
			t.Errorf("marshal = %s, %v\nwant %s", got, err, want)
		}
		if len(f.Sends) > 2 && resends == 0 {
			t.Errorf("the plan's file approves no resend: %s", want)
		}
	}
}

// TestFileSelect applies a saved plan to the plan made again at apply time:
// the same moment sends what it approved; after stop_at nothing, and each
// skipped send says why.
func TestFileSelect(t *testing.T) {
	cfg, st := scenario(t)
	p, _ := Build(cfg, st, now, Options{})
	f := NewFile(p, Made{ExpiresAt: now.Add(DefaultTTL)})
	sending := p.Count()[Send] + p.Count()[Retry]

	items, skipped, unapproved := f.Select(p)
	if len(items) != sending || len(skipped) != 0 || unapproved != 0 {
		t.Errorf("same moment: %d items, skipped %v, %d unapproved; want %d items", len(items), skipped, unapproved, sending)
	}

	late, _ := Build(cfg, st, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), Options{})
	items, skipped, _ = f.Select(late)
	if len(items) != 0 || len(skipped) != sending {
		t.Fatalf("after stop_at: %d items, %d skipped, want 0 and %d", len(items), len(skipped), sending)
	}
	for _, s := range skipped {
		if !strings.HasPrefix(s.Reason, "now expired: ") {
			t.Errorf("%s skipped: %q", s.Address, s.Reason)
		}
	}

	// A plan that approved no resend does not approve one made since.
	for i := range p.Items {
		if p.Items[i].Class == Send {
			p.Items[i].Replace = true
		}
	}
	if items, _, _ := f.Select(p); len(items) != sending-p.Count()[Send] {
		t.Errorf("%d items selected where the saved plan approved no resend", len(items))
	}
}

// TestResendsSecondCampaign adds a copy of the scenario's campaign while
// the first stays: the state has no orphans, so the plan's own done sends
// are the evidence, and a -target that leaves them out makes Build walk the
// state instead. Both find the same resends, by the phone the state records;
// and the copy's offers that go out beside the first campaign's in the
// same plan repeat those.
func TestResendsSecondCampaign(t *testing.T) {
	cfg, _ := scenario(t)
	c := cfg.Campaigns[0]
	store, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "s"), state.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	offer := c.Messages[0]
	for _, r := range c.Recipients.Recipients[:2] { // p1 and p2
		p, diags := offer.Render(r, nil, "")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		a := addrs.Addr{Campaign: "promo", Message: offer.Name, Key: r.Key}
		phone := r.Phone
		if r.Key == "p1" {
			phone = "255700000001" // p1's number has changed since: that phone has not had it
		}
		if err := store.RecordIntent(state.Intent{Addr: a, Phone: phone, Digest: ContentDigest(p)}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeAccepted, MessageID: "m-" + r.Key}); err != nil {
			t.Fatal(err)
		}
	}
	two := *cfg
	two.Campaigns = []*config.Campaign{c, renamedCampaign(t, "again")}
	// Without pair spacing, which would hold the copy's offer to p2 back
	// 6s behind promo's follow-up to p2, due now: a scheduled send is not
	// about to go out, so not a resend yet.
	prov := *cfg.Provider
	prov.PairSpacing = 0
	two.Provider = &prov
	want := []string{
		`campaign.again.message.offer["p2"] as campaign.promo.message.offer["p2"]`,
	}
	for _, k := range []string{"p3", "p4", "p5", "p6", "p7", "p8"} {
		want = append(want, fmt.Sprintf(`campaign.again.message.offer[%q] in this plan as campaign.promo.message.offer[%[1]q]`, k))
	}
	target, _ := addrs.ParsePattern("campaign.again")
	// The send -replace makes again is looked up in the state: what it
	// was accepted with is still accepted.
	replaced, _ := addrs.ParsePattern(`campaign.promo.message.offer["p2"]`)
	for name, opts := range map[string]Options{"whole plan": {}, "targeted": {Targets: []addrs.Pattern{target}},
		"promo's replaced": {Replace: []addrs.Pattern{replaced}}} {
		p, diags := Build(&two, store.State(), now, opts)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		var got []string
		for _, r := range p.Resends {
			in := ""
			if r.InPlan {
				in = " in this plan"
			}
			got = append(got, p.Items[r.Item].Addr().String()+in+" as "+r.Of.String())
		}
		want := want
		if name == "targeted" {
			want = want[:1] // promo's offers are left out: none goes out beside again's
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: resends (-want +got):\n%s", name, diff)
		}
		if diags := Guard(&two, p, GuardOptions{}); !diags.HasErrors() || strings.Contains(diags[0].Detail, "moved {") {
			t.Errorf("%s: guard, with no moved block to suggest: %v", name, diags)
		}
	}
}

// TestDocumentOrphansByMessage counts orphans, which have no Message, by
// the message their address names: consecutive orphans of two messages
// are two entries of the document.
func TestDocumentOrphansByMessage(t *testing.T) {
	cfg, diags := config.Load("testdata/classes", config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	store := openStore(t)
	for _, a := range []addrs.Addr{{Campaign: "old", Message: "first", Key: "k1"}, {Campaign: "old", Message: "first", Key: "k2"}, {Campaign: "old", Message: "second", Key: "k1"}} {
		if err := store.RecordIntent(state.Intent{Addr: a, Phone: "255712000099", At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeAccepted, MessageID: "m-" + a.String(), At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	p, d := Build(cfg, store.State(), now, Options{})
	if d.HasErrors() {
		t.Fatal(d)
	}
	orphans := map[string]int{}
	for _, md := range p.Document(false).Messages {
		if strings.HasPrefix(md.Address, "campaign.old.") {
			orphans[md.Address] = md.Counts[Orphan.Name()]
		}
	}
	if want := map[string]int{"campaign.old.message.first": 2, "campaign.old.message.second": 1}; !maps.Equal(orphans, want) {
		t.Errorf("orphans by message: %v, want %v", orphans, want)
	}
}

// TestReservation: the room Reserve made is taken once, when large
// enough; otherwise, and after, take allocates.
func TestReservation(t *testing.T) {
	r := Reserve(10)
	if items := r.take(5); cap(items) != 10 || len(items) != 0 {
		t.Errorf("first take of 5 from 10 reserved: len %d cap %d, want the reserved room", len(items), cap(items))
	}
	if items := r.take(5); cap(items) != 5 {
		t.Errorf("second take: cap %d, want new room for 5", cap(items))
	}
	if items := Reserve(3).take(5); cap(items) != 5 {
		t.Errorf("take of 5 from 3 reserved: cap %d, want new room for 5", cap(items))
	}
	var none *Reservation
	if items := none.take(2); cap(items) != 2 {
		t.Errorf("take without a reservation: cap %d", cap(items))
	}
}
