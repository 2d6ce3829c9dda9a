package command

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// sendAt is the address of the fixture campaign's message to recipient i.
func sendAt(message string, i int) string {
	return fmt.Sprintf(`campaign.launch.message.%s[%q]`, message, fixture.Phone(i))
}

// mustRefuse runs ujumbe import, wants exit 1 with want on stderr, and
// the state's serial unchanged: nothing recorded.
func (w *world) mustRefuse(want string, args ...string) {
	w.t.Helper()
	serial := w.state().Serial()
	out, errOut, code := w.runInProcess(append([]string{"import"}, args...)...)
	if code != exitError || !strings.Contains(strings.Join(strings.Fields(errOut), " "), want) {
		w.t.Fatalf("import %v: exit %d, want 1 and %q\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	if got := w.state().Serial(); got != serial {
		w.t.Fatalf("import %v was refused but recorded %d changes", args, got-serial)
	}
}

// messageTo is the id of the one message of kind the sandbox recorded to
// recipient i.
func (w *world) messageTo(i int, kind string) sandbox.Message {
	w.t.Helper()
	var found []sandbox.Message
	for _, m := range w.srv.Stats().Messages {
		if m.To == fixture.Phone(i) && m.Kind == kind {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("the sandbox recorded %d %s messages to %s, want 1", len(found), kind, fixture.Phone(i))
	}
	return found[0]
}

// TestImportUnknownSend: a send whose answer was lost is unknown; the
// operator finds its message at Briq and imports it. The send is done with
// that id, nothing is sent to its recipient again, and a wrong id, or a
// second import, records nothing.
func TestImportUnknownSend(t *testing.T) {
	const n = 3
	w := newWorld(t, n, sandbox.Options{Faults: sandbox.Faults{DropAfterAccept: 1}})
	w.run("apply", "-auto-approve", "-target="+sendAt("hello", 0))
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	a, _ := addrs.ParsePattern(sendAt("hello", 0))
	addr, _ := a.Addr()
	if s, ok := w.state().Get(addr); !ok || s.Outcome != state.OutcomeUnknown || s.MessageID != "" {
		t.Fatalf("after the dropped answer: %+v, want unknown without an id", s)
	}
	msg := w.messageTo(0, "template")

	w.mustRefuse("is not among the outbound messages", sendAt("hello", 0), "0b0e6c1e-5d6a-4a8e-9a37-6d1f2b3c4d5e")
	w.mustRefuse("is not in the configuration", `campaign.launch.message.hello["255799999999"]`, msg.ID)
	w.mustRefuse("import records one send", "campaign.launch.message.hello", msg.ID)

	out := w.mustRun(exitOK, "import", sendAt("hello", 0), msg.ID)
	if !strings.Contains(out, "Imported: "+sendAt("hello", 0)+" is done with message_id "+msg.ID) {
		t.Errorf("import says:\n%s", out)
	}
	s, _ := w.state().Get(addr)
	if s.Outcome != state.OutcomeAccepted || s.MessageID != msg.ID || s.ConversationID != msg.ConversationID {
		t.Fatalf("after import: %+v, want accepted with message %s in conversation %s", s, msg.ID, msg.ConversationID)
	}
	w.mustRefuse("is already accepted", sendAt("hello", 0), msg.ID)

	if out := w.mustRun(exitOK, "apply", "-auto-approve"); !strings.Contains(out, fmt.Sprintf("Apply finished: %d sent.", n-1)) {
		t.Errorf("apply after the import:\n%s", out)
	}
	if accepted, unknown := w.audit(); accepted != n || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want %d and 0", accepted, unknown, n)
	}
}

// TestImportLostSends: the state has forgotten two sends that were made
// (state rm, as a restored copy would). A message another send claims,
// one to another phone, one of another kind and one that failed are
// refused; the right ones are imported, the follow-up into its
// conversation, and the next apply sends nothing twice.
func TestImportLostSends(t *testing.T) {
	w := askedWorld(t, 3, 2)
	hello0, ask0, hello1 := w.messageTo(0, "template"), w.messageTo(0, "interactive"), w.messageTo(1, "template")
	digests := map[addrs.Addr]state.Digest{}
	for s := range w.state().Sends(addrs.Pattern{}) {
		digests[s.Addr] = s.Digest
	}
	w.runOnSandboxClock(exitOK, "state", "rm", sendAt("hello", 0), sendAt("ask", 0))
	// A day later the question could no longer go out (its window is
	// closed once its template is imported): the plan renders no content
	// for it, and import must.
	if err := w.srv.Advance(25 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if out := w.runOnSandboxClock(exitOK, "plan"); !strings.Contains(out, "Plan: 1 to send, 1 scheduled, 4 done.") {
		t.Fatalf("the plan after state rm:\n%s", out)
	}

	w.mustRefuse("is already the message of "+sendAt("hello", 1), sendAt("hello", 0), hello1.ID)
	w.mustRefuse("is a template message, and "+sendAt("ask", 0)+" sends a interactive message", sendAt("ask", 0), hello0.ID)
	w.runOnSandboxClock(exitOK, "state", "rm", sendAt("ask", 1), sendAt("hello", 1))
	w.mustRefuse("is not among the outbound messages of the conversations with "+fixture.Phone(0), sendAt("hello", 0), hello1.ID)

	out := w.runOnSandboxClock(exitOK, "import", "-json", sendAt("hello", 0), hello0.ID)
	var got struct {
		MessageID      string `json:"message_id"`
		ConversationID string `json:"conversation_id"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.MessageID != hello0.ID || got.ConversationID != hello0.ConversationID {
		t.Fatalf("import -json: %v\n%s", err, out)
	}
	w.runOnSandboxClock(exitOK, "import", sendAt("ask", 0), ask0.ID)
	w.runOnSandboxClock(exitOK, "import", sendAt("hello", 1), hello1.ID)
	w.runOnSandboxClock(exitOK, "import", sendAt("ask", 1), w.messageTo(1, "interactive").ID)
	sent := w.srv.Stats().Accepted
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve"); !strings.Contains(out, "No changes.") {
		t.Errorf("apply after the imports:\n%s", out)
	}
	if st := w.srv.Stats(); st.Accepted != sent || len(st.Duplicates) > 0 {
		t.Errorf("after the imports: %d accepted (before: %d), duplicates %v", st.Accepted, sent, st.Duplicates)
	}
	for s := range w.state().Sends(addrs.Pattern{}) {
		if s.Outcome != state.OutcomeAccepted || s.Digest != digests[s.Addr] {
			t.Errorf("%s is %s with digest %s after the imports, want accepted with %s", s.Addr, s.Outcome, s.Digest, digests[s.Addr])
		}
	}
}

// TestImportRefusesFailedMessage: a message that failed at the provider
// never reached the customer; importing it for the send that is to be
// tried again records nothing.
func TestImportRefusesFailedMessage(t *testing.T) {
	w := newWorld(t, 1, sandbox.Options{Faults: sandbox.Faults{ProviderFail: 1}})
	w.run("apply", "-auto-approve")
	failed := w.messageTo(0, "template")
	w.refreshAt(time.Now().Add(time.Hour))
	w.mustRefuse("failed at the provider", sendAt("hello", 0), failed.ID)
}

// TestImportKeepsTheAnsweredID: an unknown send that carries the
// message_id Briq answered with is decided by that message; import takes
// no other for it.
func TestImportKeepsTheAnsweredID(t *testing.T) {
	w := newWorld(t, 1, sandbox.Options{Faults: sandbox.Faults{AcceptThen500: 1}})
	w.run("apply", "-auto-approve")
	answered := w.messageTo(0, "template")
	w.mustRefuse("answered the send "+sendAt("hello", 0)+" with message_id "+answered.ID, sendAt("hello", 0), "0b0e6c1e-5d6a-4a8e-9a37-6d1f2b3c4d5e")
}
