package command

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/briq"
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
// one to another phone, one of another kind, and a follow-up before the
// message it follows are refused; the right ones are imported, the
// follow-up into its conversation, with the digests of what was sent, and
// the next apply sends nothing twice.
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
	w.mustRefuse("follows "+sendAt("hello", 0)+", which the state does not record as accepted", sendAt("ask", 0), ask0.ID)
	w.mustRefuse("is of kind interactive, and "+sendAt("hello", 0)+" sends one of kind template", sendAt("hello", 0), ask0.ID)
	w.runOnSandboxClock(exitOK, "state", "rm", sendAt("ask", 1), sendAt("hello", 1))
	w.mustRefuse("in the 1 conversation with "+fixture.Phone(0), sendAt("hello", 0), hello1.ID)

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

// otherSystem sends a template to recipient i as something else on the
// same Briq account would (another campaign directory, a person): a
// message no send of the state claims. It returns its id.
func (w *world) otherSystem(i int, req briq.MessageRequest) string {
	w.t.Helper()
	c, err := briq.New(briq.Options{BaseURL: w.url, APIKey: w.srv.APIKey()})
	if err != nil {
		w.t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	req.To, req.Type = fixture.Phone(i), briq.TypeTemplate
	req.TemplateName, req.Variables = fixture.TemplateName, map[string]string{"1": "someone else"}
	res, err := c.SendMessage(context.Background(), &req)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.MessageID
}

// TestImportRefusesOlderMessage: an unknown send's attempt was made two
// days after another system's template to the same phone; that message
// cannot be the send's (found in review: import took it, losing the real
// message_id and dating the send two days back).
func TestImportRefusesOlderMessage(t *testing.T) {
	w := newWorld(t, 1, sandbox.Options{})
	old := w.otherSystem(0, briq.MessageRequest{})
	if err := w.srv.Advance(48 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.SetFaults(sandbox.Faults{DropAfterAccept: 1}); err != nil {
		t.Fatal(err)
	}
	w.runInProcess("apply", "-auto-approve")
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	w.mustRefuse("is not among the outbound messages created since", sendAt("hello", 0), old)
}

// TestImportFollowUpInItsConversation: the question a restored state lost
// goes into the conversation of the template it follows. An interactive
// message another sender sent the customer, in another conversation, is
// refused (found in review: the journey moved into that conversation and
// the customer's real answer was never read); the real one is taken.
func TestImportFollowUpInItsConversation(t *testing.T) {
	second := sandbox.Sender{ID: "1f6f3c1e-5b7a-4d2e-9c41-7a2f1d3b8e56", DisplayNumber: "255700000002",
		PhoneNumberID: "100000000000002", Label: "Support", IsActive: true}
	w := newWorld(t, 1, sandbox.Options{Answers: map[string]float64{"yes": 1}, Silent: new(0.0),
		Senders: []sandbox.Sender{sandbox.DefaultSender, second}})
	if err := fixture.WriteCampaign(w.dir, 1, 2); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if err := w.srv.Advance(11 * time.Minute); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	ask := w.messageTo(0, "interactive")
	w.otherSystem(0, briq.MessageRequest{SenderID: second.ID}) // opens that conversation's window
	c, err := briq.New(briq.Options{BaseURL: w.url, APIKey: w.srv.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	other, err := c.SendInteractive(context.Background(), &briq.InteractiveRequest{To: fixture.Phone(0), Sender: second.DisplayNumber,
		Interactive: []byte(`{"type":"button","body":{"text":"Rate our support?"},"action":{"buttons":[{"type":"reply","reply":{"id":"good","title":"Good"}}]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "state", "rm", sendAt("ask", 0))
	w.mustRefuse("follows a message in conversation "+ask.ConversationID, sendAt("ask", 0), other.MessageID)
	w.runOnSandboxClock(exitOK, "import", sendAt("ask", 0), ask.ID)
}

// TestImportUnderMovedBlock: the campaign was renamed with a moved block,
// and its unknown send still sits at the old address until the next
// apply moves it. Import at the new address is refused (found in review:
// it recorded a second send there, and every later apply failed).
func TestImportUnderMovedBlock(t *testing.T) {
	w := newWorld(t, 1, sandbox.Options{Faults: sandbox.Faults{DropAfterAccept: 1}})
	w.runInProcess("apply", "-auto-approve")
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	msg := w.messageTo(0, "template")
	w.replaceInConfig(`campaign "launch" {`, "moved {\n  from = campaign.launch\n  to   = campaign.renamed\n}\n\ncampaign \"renamed\" {")
	renamed := `campaign.renamed.message.hello["` + fixture.Phone(0) + `"]`
	w.mustRefuse("is recorded at "+sendAt("hello", 0)+", where a moved block moves it from", renamed, msg.ID)
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if accepted, unknown := w.audit(); accepted != 1 || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want 1 and 0", accepted, unknown)
	}
}

// TestImportLocked: import takes the state's lock like any writer: exit 3
// while another run holds it, nothing recorded; then it imports, on
// either backend.
func TestImportLocked(t *testing.T) { eachBackend(t, testImportLocked) }

func testImportLocked(t *testing.T, backend string) {
	w := newWorld(t, 2, sandbox.Options{Faults: sandbox.Faults{DropAfterAccept: 1}}).on(backend)
	w.runInProcess("apply", "-auto-approve", "-target="+sendAt("hello", 0))
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	msg := w.messageTo(0, "template")
	store := w.openStore(state.Options{Operation: "apply"})
	if _, errOut, code := w.runInProcess("import", sendAt("hello", 0), msg.ID); code != exitLocked {
		t.Errorf("import of a locked state: exit %d, want %d\n%s", code, exitLocked, errOut)
	}
	store.Close()
	w.runOnSandboxClock(exitOK, "import", sendAt("hello", 0), strings.ToUpper(msg.ID))
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if accepted, unknown := w.audit(); accepted != 2 || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want 2 and 0", accepted, unknown)
	}
}

// twoUnknownTemplates makes hello and promo, two first-contact templates
// to recipient 0, unknown, when only hello reached Briq, under faults
// (whose content layout the test chooses); it returns hello's message.
func twoUnknownTemplates(t *testing.T, faults sandbox.Faults) (*world, sandbox.Message) {
	faults.DropAfterAccept = 1
	w := newWorld(t, 1, sandbox.Options{Faults: faults})
	w.addToCampaign(`
  message "promo" {
    template  = "welcome"
    variables = { "1" = "promo" }
  }
`)
	w.runInProcess("apply", "-auto-approve", "-target="+sendAt("hello", 0))
	faults.DropAfterAccept, faults.Fail5xx = 0, 1
	if err := w.srv.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Advance(7 * time.Second); err != nil { // past the pair spacing
		t.Fatal(err)
	}
	w.runInProcess("apply", "-auto-approve", "-refresh=false", "-target="+sendAt("promo", 0))
	faults.Fail5xx = 0
	if err := w.srv.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	if n := w.state().Len(); n != 2 {
		t.Fatalf("the state records %d sends, want hello and promo", n)
	}
	for s := range w.state().Sends(addrs.Pattern{}) {
		if s.Outcome != state.OutcomeUnknown {
			t.Fatalf("%s is %s, want unknown", s.Addr, s.Outcome)
		}
	}
	return w, w.messageTo(0, "template")
}

// TestImportComparesContent: of two unknown templates to one phone, only
// hello reached Briq. Briq lists its content, so importing it for promo
// is refused (found in review: import agreed, and the next apply sent
// hello again), and importing it for hello is taken without -ambiguous:
// promo's content is not the message's. The next apply sends promo,
// which never went, and nothing twice.
func TestImportComparesContent(t *testing.T) {
	w, hello := twoUnknownTemplates(t, sandbox.Faults{})
	w.mustRefuse("has other content at the provider than "+sendAt("promo", 0)+" renders now", sendAt("promo", 0), hello.ID)
	out := w.runOnSandboxClock(exitOK, "import", sendAt("hello", 0), hello.ID)
	if !strings.Contains(out, "its content at Briq is the send's") {
		t.Errorf("import says:\n%s", out)
	}
	if err := w.srv.Advance(11 * time.Minute); err != nil { // past the settle time
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if st := w.srv.Stats(); len(st.Duplicates) > 0 || st.ByRecipient[fixture.Phone(0)] != 2 {
		t.Errorf("after the import: %d messages to %s (want hello and promo), duplicates %+v", st.ByRecipient[fixture.Phone(0)], fixture.Phone(0), st.Duplicates)
	}
}

// TestImportAmbiguous: the same two unknown templates, where Briq lists
// content in a layout ujumbe does not read. Import cannot tell which send
// the message is, names promo and refuses; with -force (the operator read
// the content in Briq's inbox) it records hello.
func TestImportAmbiguous(t *testing.T) {
	w, hello := twoUnknownTemplates(t, sandbox.Faults{OpaqueContent: true})
	w.mustRefuse("that is not done: "+sendAt("promo", 0)+" (its content not compared)", sendAt("hello", 0), hello.ID)
	out := w.runOnSandboxClock(exitOK, "import", "-force", sendAt("hello", 0), hello.ID)
	if !strings.Contains(out, "its content was not compared (Briq lists none in a form ujumbe reads") {
		t.Errorf("import -force says:\n%s", out)
	}
	a, _ := addrs.ParsePattern(sendAt("hello", 0))
	addr, _ := a.Addr()
	if s, _ := w.state().Get(addr); s.Outcome != state.OutcomeAccepted || s.MessageID != hello.ID {
		t.Errorf("after import -force: %+v", s)
	}
}

// TestImportRehearsalVariants: in a rehearsal of examples/ab-test, the
// offer and question of a few customers are forgotten (state rm -sandbox)
// and imported back (import -sandbox): each keeps its variant, digest and
// conversation, and the plan then has nothing to send.
func TestImportRehearsalVariants(t *testing.T) {
	dir := copyExample(t, "ab-test")
	w := &world{t: t, dir: dir}
	w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	rehearsal := filepath.Join(dir, rehearsalDir, defaultStateName)
	st, _, err := state.Read(rehearsal)
	if err != nil {
		t.Fatal(err)
	}
	before := map[addrs.Addr]state.Send{}
	for s := range st.Sends(addrs.Pattern{}) {
		if s.Addr.Message != "code" && len(before) < 6 {
			before[s.Addr] = s
		}
	}
	for a := range before {
		w.mustRun(exitOK, "state", "rm", "-sandbox", a.String())
	}
	for _, msg := range []string{"offer", "ask"} { // each after the message it follows
		for a, s := range before {
			if a.Message == msg {
				w.mustRun(exitOK, "import", "-sandbox", a.String(), s.MessageID)
			}
		}
	}
	if st, _, err = state.Read(rehearsal); err != nil {
		t.Fatal(err)
	}
	for a, b := range before {
		s, _ := st.Get(a)
		if s.Outcome != state.OutcomeAccepted || s.MessageID != b.MessageID || s.Variant != b.Variant || s.Digest != b.Digest || s.ConversationID != b.ConversationID {
			t.Errorf("%s: before %s/%s/%s/%s, after import %s/%s/%s/%s/%s", a, b.MessageID, b.Variant, b.Digest, b.ConversationID,
				s.Outcome, s.MessageID, s.Variant, s.Digest, s.ConversationID)
		}
	}
	if out := w.mustRun(exitOK, "plan", "-sandbox"); !strings.Contains(out, "Plan: 0 to send") {
		t.Errorf("the rehearsal's plan after the imports:\n%s", out)
	}
}

// reminderWorld: hello and reminder (a template an hour after hello) both
// reached recipients 0 and 1, and a restored state lost both of recipient
// 0's (state rm). Briq lists content in a layout ujumbe does not read. It
// returns recipient 0's reminder.
func reminderWorld(t *testing.T) (*world, sandbox.Message) {
	w := newWorld(t, 2, sandbox.Options{Faults: sandbox.Faults{OpaqueContent: true}})
	w.addToCampaign(`
  message "reminder" {
    after     = message.hello
    delay     = "1h"
    template  = "welcome"
    variables = { "1" = "again, ${row.name}" }
  }
`)
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if err := w.srv.Advance(61 * time.Minute); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	var msgs []sandbox.Message
	for _, m := range w.srv.Stats().Messages {
		if m.To == fixture.Phone(0) {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 2 {
		t.Fatalf("the sandbox recorded %d messages to %s, want hello and the reminder", len(msgs), fixture.Phone(0))
	}
	w.runOnSandboxClock(exitOK, "state", "rm", sendAt("hello", 0), sendAt("reminder", 0))
	return w, msgs[1]
}

// TestImportRivalFollowUpOfLostParent: the reminder's message imported as
// hello. The reminder is a rival though its parent (hello) is not
// accepted (found in review: it was dropped as a rival, import took the
// wrong message, and the next apply sent the reminder a second time).
func TestImportRivalFollowUpOfLostParent(t *testing.T) {
	w, reminder := reminderWorld(t)
	w.mustRefuse("that is not done: "+sendAt("reminder", 0), sendAt("hello", 0), reminder.ID)
}

// TestImportRivalFollowUpAfterRecover: the same through the README's
// path: refresh -recover records both lost sends as unknown, and the
// reminder, unknown with an unknown parent, is still a rival.
func TestImportRivalFollowUpAfterRecover(t *testing.T) {
	w, reminder := reminderWorld(t)
	since := w.srv.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	w.runOnSandboxClock(exitOK, "refresh", "-recover", "-recover-since="+since)
	for s := range w.state().Sends(addrs.Pattern{}) {
		if s.Phone == fixture.Phone(0) && s.Outcome != state.OutcomeUnknown {
			t.Fatalf("after refresh -recover %s is %s, want unknown", s.Addr, s.Outcome)
		}
	}
	w.mustRefuse("that is not done: "+sendAt("reminder", 0), sendAt("hello", 0), reminder.ID)
}

// TestImportTemplateWithoutVariables: ujumbe's request leaves out the
// variables of a template that has none, and the sandbox lists them as
// {}: the same content (found in review: import refused the send's own
// message).
func TestImportTemplateWithoutVariables(t *testing.T) {
	w := newWorld(t, 1, sandbox.Options{Faults: sandbox.Faults{DropAfterAccept: 1},
		Templates: []sandbox.Template{{Name: "ping", Status: "APPROVED"}}})
	w.replaceInConfig("template  = \"welcome\"\n    variables = { \"1\" = row.name }", `template = "ping"`)
	w.runInProcess("apply", "-auto-approve")
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	if out := w.runOnSandboxClock(exitOK, "import", sendAt("hello", 0), w.messageTo(0, "template").ID); !strings.Contains(out, "its content at Briq is the send's") {
		t.Errorf("import says:\n%s", out)
	}
}

// TestImportVariantWeightsChanged: an A/B split whose weights changed after
// the first sends. A restored state lost the offer of a recipient who got
// variant a and would be assigned b now: import tries every variant's
// content, records a, and the next apply sends the recipient nothing
// (found in review: import rendered b only and refused the real message).
func TestImportVariantWeightsChanged(t *testing.T) {
	const n = 40
	w := newWorld(t, n, sandbox.Options{})
	if err := fixture.SplitHello(w.dir); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	w.replaceInConfig("variant \"a\" {\n      weight    = 50", "variant \"a\" {\n      weight    = 1")
	w.replaceInConfig("variant \"b\" {\n      weight    = 50", "variant \"b\" {\n      weight    = 5000")
	cfg, err := fixture.Load(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	var moved *state.Send
	for s := range w.state().Sends(addrs.Pattern{}) {
		if s.Variant == "a" && cfg.Campaigns[0].Assign(s.Addr.Key) == "b" {
			moved = &s
			break
		}
	}
	if moved == nil {
		t.Fatal("no recipient of variant a is assigned b now")
	}
	w.runOnSandboxClock(exitOK, "state", "rm", moved.Addr.String())
	w.runOnSandboxClock(exitOK, "import", moved.Addr.String(), moved.MessageID)
	if s, _ := w.state().Get(moved.Addr); s.Variant != "a" || s.Digest != moved.Digest {
		t.Errorf("import recorded variant %q, digest %s; the message is variant a, digest %s", s.Variant, s.Digest, moved.Digest)
	}
	before := w.srv.Stats().ByRecipient[moved.Phone]
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if after := w.srv.Stats().ByRecipient[moved.Phone]; after > before {
		t.Errorf("%s got a second first contact (%d messages, %d before the apply)", moved.Phone, after, before)
	}
}

// TestImportLostFirstContactWithoutBound: a campaign without start_at, of
// which the state records nothing, lost its first contact; two days
// before it, another campaign on the account sent the same content.
// Nothing bounds the lost send's time, so import refuses without -force
// (found in review: it took the old message).
func TestImportLostFirstContactWithoutBound(t *testing.T) {
	w := newWorld(t, 1, sandbox.Options{})
	old := w.otherSystem(0, briq.MessageRequest{})
	if err := w.srv.Advance(48 * time.Hour); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	w.runOnSandboxClock(exitOK, "state", "rm", sendAt("hello", 0))
	w.mustRefuse("bounds when "+sendAt("hello", 0)+" can have been sent", sendAt("hello", 0), old)
}

// TestImportAfterContentEdit: the campaign went out, then its variables
// were edited, so its accepted sends are drift, never resent. A restored
// state lost one: its message has other content than the configuration
// renders now, so import refuses without -force, and with it records the
// message with its content not known; the next apply sends it nothing
// (found in review: there was no way round the refusal, and apply sent
// the customer the first contact again).
func TestImportAfterContentEdit(t *testing.T) {
	w := newWorld(t, 2, sandbox.Options{})
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	msg := w.messageTo(0, "template")
	w.replaceInConfig(`variables = { "1" = row.name }`, `variables = { "1" = upper(row.name) }`)
	w.runOnSandboxClock(exitOK, "state", "rm", sendAt("hello", 0))
	w.mustRefuse("has other content at the provider than "+sendAt("hello", 0)+" renders now", sendAt("hello", 0), msg.ID)
	// It says the content differed (found in review: it said Briq did not
	// list the content in a form ujumbe compares).
	if out := w.runOnSandboxClock(exitOK, "import", "-force", sendAt("hello", 0), msg.ID); !strings.Contains(out, "differs from what the configuration renders now") {
		t.Errorf("import -force over a content mismatch says:\n%s", out)
	}
	if s, _ := w.state().Get(mustAddr(t, sendAt("hello", 0))); s.Digest != (state.Digest{}) {
		t.Errorf("the forced import recorded digest %s, want none (content not known)", s.Digest)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if n := w.srv.Stats().ByRecipient[fixture.Phone(0)]; n != 1 {
		t.Errorf("%s got %d first contacts", fixture.Phone(0), n)
	}
}

func mustAddr(t *testing.T, s string) addrs.Addr {
	t.Helper()
	p, err := addrs.ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := p.Addr()
	if !ok {
		t.Fatalf("%s is not one send", s)
	}
	return a
}

// TestImportSoftBound: recipient 0 got hello an hour before recipient 1.
// After state rm of recipient 0's send, the campaign's first send in the
// state is an hour after hello[0]'s message, a bound that does not hold
// any more: import names it and needs -force, and with it takes the
// message (found in review: it refused even with -force, and the next
// apply sent hello again).
func TestImportSoftBound(t *testing.T) {
	w := newWorld(t, 2, sandbox.Options{})
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-target="+sendAt("hello", 0))
	msg := w.messageTo(0, "template")
	if err := w.srv.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	w.runOnSandboxClock(exitOK, "state", "rm", sendAt("hello", 0))
	w.mustRefuse("before the campaign's first send in the state", sendAt("hello", 0), msg.ID)
	w.runOnSandboxClock(exitOK, "import", "-force", sendAt("hello", 0), msg.ID)
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if accepted, unknown := w.audit(); accepted != 2 || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want 2 and 0", accepted, unknown)
	}
}

// secondCampaign adds campaign "later" to the world's configuration: a
// template to the same customers.
func (w *world) secondCampaign(startAt string) {
	w.t.Helper()
	w.replaceInConfig("campaign \"launch\" {", `campaign "later" {
  recipients = recipients.customers
`+startAt+`
  message "promo" {
    template  = "welcome"
    variables = { "1" = "promo for ${row.name}" }
  }
}

campaign "launch" {`)
}

func laterAt(i int) string { return `campaign.later.message.promo["` + fixture.Phone(i) + `"]` }

// TestImportRivalsLostFromTheState: campaign later's promo[0] went out; a
// restored state lost it and launch's hello[0] (state rm), and Briq lists
// content ujumbe cannot read. Importing promo[0]'s message as hello[0]
// names promo[0], whatever bounds its campaign would suggest: its first
// send in the state after the message (found in review), or a start_at
// moved a day ahead to pause it (found in review). Either way promo[0]
// was dropped as a rival, and sent again later.
func TestImportRivalsLostFromTheState(t *testing.T) {
	for _, paused := range []bool{false, true} {
		t.Run(fmt.Sprintf("paused=%v", paused), func(t *testing.T) {
			w := newWorld(t, 2, sandbox.Options{Faults: sandbox.Faults{OpaqueContent: true}})
			w.secondCampaign("")
			w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-target="+laterAt(0), "-target="+sendAt("hello", 1))
			promo0 := w.messageTo(0, "template")
			if err := w.srv.Advance(time.Hour); err != nil {
				t.Fatal(err)
			}
			w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
			if paused {
				restart := w.srv.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
				w.replaceInConfig("campaign \"later\" {\n  recipients = recipients.customers\n", "campaign \"later\" {\n  recipients = recipients.customers\n  start_at   = \""+restart+"\"\n")
			}
			w.runOnSandboxClock(exitOK, "state", "rm", sendAt("hello", 0), laterAt(0))
			w.mustRefuse("that is not done: "+laterAt(0), sendAt("hello", 0), promo0.ID)
		})
	}
}

// TestImportRivalsByRecordedPhone: recipients keyed by name; hello and
// promo to Customer 0 are unknown, only hello reached Briq, whose content
// ujumbe cannot read; then Customer 0's phone changes in the CSV. hello,
// recorded to the old phone, is still a rival of an import of its message
// as promo (found in review: the CSV's phone was compared, the import
// taken, and refresh then made hello due again).
func TestImportRivalsByRecordedPhone(t *testing.T) {
	w := newWorld(t, 1, sandbox.Options{Faults: sandbox.Faults{DropAfterAccept: 1, OpaqueContent: true}})
	w.replaceInConfig("phone = row.phone\n", "phone = row.phone\n  key   = row.name\n")
	w.addToCampaign(`
  message "promo" {
    template  = "welcome"
    variables = { "1" = "promo" }
  }
`)
	hello, promo := `campaign.launch.message.hello["Customer 0"]`, `campaign.launch.message.promo["Customer 0"]`
	w.runInProcess("apply", "-auto-approve", "-target="+hello)
	if err := w.srv.SetFaults(sandbox.Faults{Fail5xx: 1, OpaqueContent: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Advance(7 * time.Second); err != nil {
		t.Fatal(err)
	}
	w.runInProcess("apply", "-auto-approve", "-refresh=false", "-target="+promo)
	if err := w.srv.SetFaults(sandbox.Faults{OpaqueContent: true}); err != nil {
		t.Fatal(err)
	}
	if n := w.state().Len(); n != 2 {
		t.Fatalf("the state records %d sends, want hello and promo", n)
	}
	msg := w.messageTo(0, "template")
	w.mustRefuse("that is not done: "+hello, promo, msg.ID)
	if err := os.WriteFile(filepath.Join(w.dir, "customers.csv"), []byte("name,phone\nCustomer 0,"+fixture.Phone(5)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.mustRefuse("that is not done: "+hello, promo, msg.ID)
}

// TestImportRivalsOutOfTheConfiguration: promo and hello to recipient 0
// are unknown; only hello reached Briq, whose content ujumbe cannot read.
// With hello's block taken out of the configuration, its unknown send is
// still in the state and still decided by refresh, so it is still a
// rival (found in review: it was not, and refresh then made hello due
// again).
func TestImportRivalsOutOfTheConfiguration(t *testing.T) {
	w, hello := twoUnknownTemplates(t, sandbox.Faults{OpaqueContent: true})
	const helloBlock = "  message \"hello\" {\n    template  = \"welcome\"\n    variables = { \"1\" = row.name }\n  }\n"
	w.replaceInConfig(helloBlock, "")
	w.mustRefuse("that is not done: "+sendAt("hello", 0), sendAt("promo", 0), hello.ID)
}

// TestImportRivalsComparedWhereKnown: Briq lists content ujumbe reads,
// and hello's message is hello's, not promo's. With Customer 0's phone
// changed in the CSV since (recipients keyed by name), promo, recorded to
// the old phone, is still compared by its content and ruled out (found in
// review: it was looked up by the CSV's phone, not found, and named with
// nothing compared). With promo's block gone from the configuration it
// has nothing to compare, and import names it: -force then takes the
// operator's word.
func TestImportRivalsComparedWhereKnown(t *testing.T) {
	w := newWorld(t, 1, sandbox.Options{Faults: sandbox.Faults{DropAfterAccept: 1}})
	w.replaceInConfig("phone = row.phone\n", "phone = row.phone\n  key   = row.name\n")
	const promoBlock = "  message \"promo\" {\n    template  = \"welcome\"\n    variables = { \"1\" = \"promo\" }\n  }\n"
	w.addToCampaign(promoBlock)
	hello, promo := `campaign.launch.message.hello["Customer 0"]`, `campaign.launch.message.promo["Customer 0"]`
	w.runInProcess("apply", "-auto-approve", "-target="+hello)
	if err := w.srv.SetFaults(sandbox.Faults{Fail5xx: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Advance(7 * time.Second); err != nil {
		t.Fatal(err)
	}
	w.runInProcess("apply", "-auto-approve", "-refresh=false", "-target="+promo)
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	if n := w.state().Len(); n != 2 {
		t.Fatalf("the state records %d sends, want hello and promo", n)
	}
	msg := w.messageTo(0, "template")
	if err := os.WriteFile(filepath.Join(w.dir, "customers.csv"), []byte("name,phone\nCustomer 0,"+fixture.Phone(5)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.replaceInConfig(promoBlock, "")
	w.mustRefuse("that is not done: "+promo+" (its content not compared)", hello, msg.ID)
	w.addToCampaign(promoBlock)
	w.runOnSandboxClock(exitOK, "import", hello, msg.ID)
}
