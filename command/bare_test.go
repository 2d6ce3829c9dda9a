package command

import (
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// TestBareAnswers: a Briq that answers sends with the bare {message_id,
// status} its G3 pages show (no envelope, no conversation_id). Every send
// is accepted and recorded with the message_id the sandbox gave it, none
// is left in doubt, and the follow-up, with no thread id to go into, goes
// to the phone and reaches each recipient once.
func TestBareAnswers(t *testing.T) {
	const n = 20
	w := newWorld(t, n, sandbox.Options{Faults: sandbox.Faults{BareAnswer: 1}})
	// The tip follows at once: no pair spacing holds it back.
	w.replaceInConfig("rate = var.rate\n", "rate = var.rate\n  pair_spacing = \"0s\"\n")
	w.addToCampaign(tipMessage("0s"))
	w.mustRun(exitOK, "apply", "-auto-approve")
	if out := w.mustRun(exitOK, "apply", "-auto-approve"); !strings.Contains(out, "Apply finished: 20 sent.") {
		t.Errorf("the second apply did not send the 20 tips:\n%s", out)
	}

	stats := w.srv.Stats()
	if len(stats.Duplicates) > 0 {
		t.Fatalf("the sandbox accepted %d duplicates, first %+v", len(stats.Duplicates), stats.Duplicates[0])
	}
	ids := map[string]string{} // message id → phone, as the sandbox recorded them
	for _, m := range stats.Messages {
		ids[m.ID] = m.To
	}
	if len(ids) != 2*n || stats.ByKind["text"] != n {
		t.Fatalf("the sandbox recorded %d messages, %d texts; want %d and %d", len(ids), stats.ByKind["text"], 2*n, n)
	}
	sends := 0
	for s := range w.state().Sends(addrs.Pattern{}) {
		sends++
		if s.Outcome != state.OutcomeAccepted || ids[s.MessageID] != s.Phone {
			t.Errorf("%s: %s with message_id %q, want accepted with the id the sandbox gave %s", s.Addr, s.Outcome, s.MessageID, s.Phone)
		}
		delete(ids, s.MessageID)
	}
	if sends != 2*n || len(ids) != 0 {
		t.Errorf("the state records %d sends; %d of the sandbox's messages are in none", sends, len(ids))
	}
}

// TestOptOutsWithoutThread: sends answered without a conversation_id, and
// STOPs without paired_message_id (the docs say neither how answers pair
// nor that a send's answer names its thread). Refresh records every STOP
// the sandbox's customers sent, and the follow-up after them reaches
// only those who did not opt out.
func TestOptOutsWithoutThread(t *testing.T) {
	const n = 40
	w := newWorld(t, n, sandbox.Options{OptOut: 0.5, UnpairedReplies: true, Faults: sandbox.Faults{BareAnswer: 1}})
	w.replaceInConfig("rate = var.rate\n", "rate = var.rate\n  pair_spacing = \"0s\"\n")
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if err := w.srv.Advance(11 * time.Minute); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "refresh")
	stopped := map[string]bool{}
	for _, m := range w.srv.Stats().Messages {
		if m.Kind == "template" {
			stopped[m.To] = false
		}
	}
	st := w.state()
	stops := 0
	for phone := range stopped {
		_, stopped[phone] = st.OptOut(phone)
		if stopped[phone] {
			stops++
		}
	}
	if stops < n/4 || stops > 3*n/4 {
		t.Fatalf("%d of %d phones opted out; the sandbox's customers answer STOP half the time", stops, n)
	}
	w.addToCampaign(tipMessage("0s"))
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	texts := 0
	for _, m := range w.srv.Stats().Messages {
		if m.Kind != "text" {
			continue
		}
		texts++
		if stopped[m.To] {
			t.Errorf("%s opted out and got the tip", m.To)
		}
	}
	if texts != n-stops {
		t.Errorf("%d tips sent, want one to each of the %d who did not opt out", texts, n-stops)
	}
}
