package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// TestProviderWindowWins: a text follow-up an hour after the template. By
// Briq's documented rule (the model) the template opened the window, so the
// follow-up is scheduled. A provider that follows Meta's rule reports the
// window closed; after a refresh, plan prefers what the provider reported
// and shows the follow-up expired, and the follow-up is never sent. The
// same with conversations in G1's shape, whose is_active is the window.
func TestProviderWindowWins(t *testing.T) {
	for _, tc := range []struct{ meta, g1 bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		meta := tc.meta
		name := "briq rule"
		if meta {
			name = "meta rule"
		}
		if tc.g1 {
			// Conversations in G1's shape: the window is is_active.
			name += ", G1 conversations"
		}
		t.Run(name, func(t *testing.T) {
			const n = 5
			w := newWorld(t, n, sandbox.Options{MetaWindowRule: meta, Faults: sandbox.Faults{G1Conversations: tc.g1}})
			w.addToCampaign(tipMessage("1h"))
			w.mustRun(exitOK, "apply", "-auto-approve")
			out := w.mustRun(exitOK, "refresh")
			if !strings.Contains(out, "5 conversation windows changed") {
				t.Errorf("refresh:\n%s", out)
			}
			var doc plan.Document
			if err := json.Unmarshal([]byte(w.mustRun(exitOK, "plan", "-json")), &doc); err != nil {
				t.Fatal(err)
			}
			tips := 0
			for _, s := range doc.Sends {
				if !strings.Contains(s.Address, "message.tip") {
					continue
				}
				tips++
				switch {
				case !meta && s.Class != "scheduled":
					t.Errorf("%s: %s (%s), want scheduled by the model", s.Address, s.Class, s.Reason)
				case meta && (s.Class != "expired" || !strings.Contains(s.Reason, "24h window")):
					t.Errorf("%s: %s (%s), want expired with the reported window", s.Address, s.Class, s.Reason)
				}
			}
			if tips != n {
				t.Fatalf("%d tips in the plan, want %d", tips, n)
			}
			for s := range w.state().Sends(addrs.Pattern{Campaign: "launch", Message: "hello"}) {
				if s.Window.SeenAt.IsZero() || s.Window.Open == meta {
					t.Errorf("%s: window %+v, want the provider's window recorded (open %v)", s.Addr, s.Window, !meta)
				}
			}
			if got := w.srv.Stats().ByKind["text"]; got != 0 {
				t.Errorf("the sandbox accepted %d texts", got)
			}
		})
	}
}

// TestMetaWindowRehearsal: a rehearsal of the follow-ups example on a
// sandbox with Meta's window rule (sandbox.json "meta_window_rule") shows
// that the button question would not go out: the window the provider
// reports is closed (and a send into it would get 422 WINDOW_CLOSED), so
// the plan shows it expired and nothing free-form reaches the sandbox.
func TestMetaWindowRehearsal(t *testing.T) {
	dir := copyExample(t, "follow-ups")
	if err := os.WriteFile(filepath.Join(dir, rehearsalFile), []byte(`{"seed": 2, "silent": 0.3, "meta_window_rule": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: dir}
	w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	var doc plan.Document
	if err := json.Unmarshal([]byte(w.mustRun(exitOK, "plan", "-sandbox", "-json")), &doc); err != nil {
		t.Fatal(err)
	}
	asks := 0
	for _, s := range doc.Sends {
		if !strings.Contains(s.Address, "message.ask") || s.Class == "orphan" {
			continue
		}
		asks++
		// Expired either way: refused by the provider, or, once apply's
		// refresh has read the window closed, before it is sent at all.
		if s.Class != "expired" || !strings.Contains(s.Reason, "WINDOW_CLOSED") && !strings.Contains(s.Reason, "24h window") {
			t.Errorf("%s: %s (%s), want expired by the closed window", s.Address, s.Class, s.Reason)
		}
	}
	if asks == 0 {
		t.Fatal("no ask in the plan")
	}
	srv, err := sandbox.New(sandbox.Options{DataFile: filepath.Join(dir, rehearsalDir, "sandbox.data")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if stats := srv.Stats(); stats.ByKind["interactive"] != 0 || stats.ByKind["text"] != 0 || stats.ByKind["template"] == 0 {
		t.Errorf("the rehearsal's sandbox accepted %v, want templates only", stats.ByKind)
	}
}

// TestOffersOf: refresh learns the reply ids a send's question offered by
// rendering it again from the configuration: the follow-ups example's
// question offers yes and no; its template offers none, nor does a send
// of a message or recipient the configuration no longer has.
func TestOffersOf(t *testing.T) {
	cfg, diags := config.Load("../examples/follow-ups", config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, _, err := state.Read(filepath.Join(t.TempDir(), "ujumbe.state")) // nothing recorded
	if err != nil {
		t.Fatal(err)
	}
	offers := offersOf(cfg, st)
	send := func(message, key string) state.Send {
		return state.Send{Addr: addrs.Addr{Campaign: "black_friday", Message: message, Key: key}}
	}
	if ids, ok := offers(send("ask", "C-2001")); !ok || !slices.Equal(ids, []string{"yes", "no"}) {
		t.Errorf("ask offers %v, %v; want yes and no", ids, ok)
	}
	for _, s := range []state.Send{send("offer", "C-2001"), send("ask", "C-9999"), send("gone", "C-2001")} {
		if ids, ok := offers(s); ok {
			t.Errorf("%s offers %v", s.Addr, ids)
		}
	}
}
