package command

import (
	"fmt"
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

// TestFailedAnswers: Briq answers a share of sends 202 with status
// "failed" (WaSendData's status allows it in a 2xx). Each is held in doubt
// with its message_id, as a 422 SEND_FAILED's record is; the next apply's
// refresh confirms the failure after the settle time and sends it again,
// keeping the failed message's id: every recipient ends with one message
// that did not fail.
func TestFailedAnswers(t *testing.T) {
	const n = 40
	w := newWorld(t, n, sandbox.Options{Seed: 7, Faults: sandbox.Faults{FailedAnswer: 0.2}})
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	failed := map[addrs.Addr]string{} // the failed message's id, by send
	for s := range w.state().Sends(addrs.Pattern{}) {
		if s.Outcome == state.OutcomeUnknown {
			failed[s.Addr] = s.MessageID
			if s.MessageID == "" {
				t.Errorf("%s is in doubt without the message_id of its answer", s.Addr)
			}
		} else if s.Outcome != state.OutcomeAccepted {
			t.Errorf("%s: %s, want accepted or in doubt", s.Addr, s.Outcome)
		}
	}
	if len(failed) == 0 || len(failed) > n/2 {
		t.Fatalf("%d of %d sends in doubt; the seed should fail a fifth", len(failed), n)
	}
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Advance(11 * time.Minute); err != nil { // past the settle time
		t.Fatal(err)
	}
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve"); !strings.Contains(out, fmt.Sprintf("Apply finished: %d sent.", len(failed))) {
		t.Errorf("the second apply did not send the %d failed ones again:\n%s", len(failed), out)
	}
	for s := range w.state().Sends(addrs.Pattern{}) {
		id, was := failed[s.Addr]
		if s.Outcome != state.OutcomeAccepted || was && (len(s.History) != 1 || s.History[0].MessageID != id) {
			t.Errorf("%s: %s, history %+v; want accepted, keeping the failed %q", s.Addr, s.Outcome, s.History, id)
		}
	}
	good := map[string]int{}
	for _, m := range w.srv.Stats().Messages {
		if m.Error == "" {
			good[m.To]++
		}
	}
	for to, c := range good {
		if c != 1 {
			t.Errorf("%s got %d messages that did not fail, want 1", to, c)
		}
	}
	if len(good) != n {
		t.Errorf("%d recipients got a message, want %d", len(good), n)
	}
}
