package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// TestScheduledChecks: a send due later is not rendered and has no
// digest, but the problems Render's checks find in its content are
// reported all the same, and exactly as when the send is due now: a
// template variable that is empty or has a tab (a first contact waiting
// for start_at), a text and an interactive body that are empty or too long
// (follow-ups waiting for their delay). The digests of the sends due now
// with good content are those of their rendered payloads.
func TestScheduledChecks(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"main.hcl": unspaced + `
campaign "c" {
  recipients = recipients.r
  start_at   = "2026-11-21T13:00:00Z"
  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
  message "text" {
    after = message.hello
    delay = "1h"
    text  = row.t
  }
  message "ask" {
    after = message.hello
    delay = "1h"
    interactive = {
      type   = "button"
      body   = { text = row.t }
      action = { buttons = [{ type = "reply", reply = { id = "yes", title = "Yes" } }] }
    }
  }
}
`,
		// a1-a3 had hello; b1-b3 wait for start_at.
		"r.csv": "id,phone,name,t\n" +
			"a1,+255712000001,Asha,fine\n" +
			"a2,+255712000002,Baraka,\n" +
			"a3,+255712000003,Chausiku," + strings.Repeat("long ", 1000) + "\n" +
			"b1,+255712000004,,fine\n" +
			"b2,+255712000005,\"Dau\tDau\",fine\n" +
			"b3,+255712000006,Eshe,fine\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := cfg.Campaigns[0]
	hello := c.Messages[0]
	store := openStore(t)
	for _, r := range c.Recipients.Recipients[:3] {
		recordAccepted(t, store, hello, r, nil, now.Add(-10*time.Minute))
	}

	type problem struct{ Summary, Detail, Subject string }
	// build returns the problems Build reports at at, and the digests of
	// the sends that have one, which must all be in class want.
	build := func(at time.Time, want Class) ([]problem, map[string]state.Digest) {
		t.Helper()
		p, diags := Build(cfg, store.State(), at, Options{})
		if p == nil {
			t.Fatalf("no plan at %s: %v", at, diags)
		}
		var got []problem
		for _, d := range diags {
			got = append(got, problem{d.Summary, d.Detail, d.Subject.String()})
		}
		digests := map[string]state.Digest{}
		for _, it := range p.Items {
			if it.Digest == (state.Digest{}) || it.Class == Done {
				continue
			}
			digests[it.Addr().String()] = it.Digest
			if it.Class != want {
				t.Errorf("at %s, %s is %s, want %s", at, it.Addr(), it.Class, want)
			}
		}
		return got, digests
	}
	scheduled, schedDigests := build(now, Scheduled)
	// Two hours on, they are due.
	due, dueDigests := build(now.Add(2*time.Hour), Send)
	if diff := cmp.Diff(due, scheduled); diff != "" {
		t.Errorf("problems of the sends due later differ from those of the same sends due now (-due +scheduled):\n%s", diff)
	}
	var summaries []string
	for _, p := range scheduled {
		summaries = append(summaries, p.Summary)
	}
	for _, s := range []string{"Empty template variable", "Template variable refused by WhatsApp", "Empty text", "Text too long", "Empty body.text"} {
		if !strings.Contains(strings.Join(summaries, "\n"), s) {
			t.Errorf("no %q among the problems of the scheduled sends: %q", s, summaries)
		}
	}

	// A send due later has no digest: it is rendered when it falls due.
	if len(schedDigests) != 0 {
		t.Errorf("scheduled sends with a digest: %v", schedDigests)
	}
	// But a sample of one shows its content, as it would be rendered now.
	p, _ := Build(cfg, store.State(), now, Options{})
	shown := 0
	for _, md := range p.Document(false).Messages {
		for _, sd := range md.Samples {
			if sd.Class == Scheduled.Name() && strings.HasSuffix(sd.Address, `["a1"]`) {
				if shown++; sd.Content == nil {
					t.Errorf("sample %s, scheduled for %v, without its content", sd.Address, sd.Due)
				}
			}
		}
	}
	if shown != 2 { // text and ask to a1
		t.Errorf("%d samples of a1's scheduled sends, want 2", shown)
	}
	// The good sends due now have the digests of what Render renders.
	want := map[string]state.Digest{}
	for _, m := range c.Messages {
		for _, r := range c.Recipients.Recipients {
			a := addrs.Addr{Campaign: "c", Message: m.Name, Key: r.Key}.String()
			if _, ok := dueDigests[a]; !ok {
				continue
			}
			p, diags := m.Render(r, nil, "")
			if diags.HasErrors() {
				t.Fatalf("%s is due with content that fails its checks: %v", a, hcl.Diagnostics(diags))
			}
			want[a] = ContentDigest(p)
		}
	}
	if len(want) != 3 { // hello to b3; text and ask to a1
		t.Errorf("%d sends due with good content, want 3: %v", len(want), want)
	}
	if diff := cmp.Diff(want, dueDigests); diff != "" {
		t.Errorf("digests of the sends due now (-Render +plan):\n%s", diff)
	}
}
