package refresh_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/state"
)

// TestRecover: a state restored from an older copy lost the sends made
// since. Recipient 0 is in the copy. Recipient 1's offer reached the
// provider but is not in it, nor is recipient 2's ask, made after the copy
// into the conversation it records; recipient 3 was never sent to. A
// refresh with Recover finds the two lost sends (each the only message no
// send claims to its phone) and records them accepted with the provider's
// ids; recipient 3's send stays out of the state, due. Recipient 4's
// phone cannot be listed: its send is left unknown, never due.
func TestRecover(t *testing.T) {
	f := newFixture(t, nil)
	f.mustSend(addr("offer", 0), phoneOf(0), "")
	conv2 := f.mustSend(addr("offer", 2), phoneOf(2), "").ConversationID
	restoredAt := f.srv.Now()
	f.advance(time.Hour)
	// What the lost part of the state held: sends the provider has.
	lost1 := f.lostTemplate(1)
	lost2, err := f.client.SendInteractive(context.Background(), &briq.InteractiveRequest{ConversationID: conv2, Interactive: buttons})
	if err != nil {
		t.Fatal(err)
	}
	f.lostTemplate(4)
	f.advance(time.Minute)

	broken := f.proxy(proxy{fail: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v1/whatsapp/conversations" && r.URL.Query().Get("recipient") == phoneOf(4) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}})
	opts := f.opts()
	opts.RecoverSince = restoredAt
	for _, i := range []int{1, 3, 4} {
		opts.Recover = append(opts.Recover, refresh.Missing{Addr: addr("offer", i), Phone: phoneOf(i)})
	}
	opts.Recover = append(opts.Recover, refresh.Missing{Addr: addr("ask", 2), Phone: phoneOf(2)},
		refresh.Missing{Addr: addr("offer", 0), Phone: phoneOf(0)}) // recorded: left alone
	sum := f.refresh(broken, opts)
	if sum.Recovered != 3 || sum.RecoverClear != 1 || sum.Found != 2 || sum.Absent != 0 || sum.Incomplete != 1 {
		t.Errorf("summary %+v: want 3 recovered (2 found, 1 incomplete), 1 clear", sum)
	}
	for a, id := range map[string]string{"1": lost1.MessageID, "2": lost2.MessageID} {
		m := "offer"
		if a == "2" {
			m = "ask"
		}
		s := f.get(addr(m, int(a[0]-'0')))
		if s.Outcome != state.OutcomeAccepted || s.MessageID != id {
			t.Errorf("%s: %s with %q, want accepted with the provider's %s", s.Addr, s.Outcome, s.MessageID, id)
		}
	}
	if s, ok := f.store.State().Get(addr("offer", 3)); ok {
		t.Errorf("%s was recorded (%s) though its phone has no message", s.Addr, s.Outcome)
	}
	if s := f.get(addr("offer", 4)); s.Outcome != state.OutcomeUnknown || !strings.Contains(s.ErrorMessage, "failed") {
		t.Errorf("%s: %s (%s), want unknown, saying the listing failed", s.Addr, s.Outcome, s.ErrorMessage)
	}
}

// TestRecoverMatchesByKind: a restored state lost both sends to one phone,
// the template and the question after it. By time alone either message
// could be either send; each is the one message of its kind, so each send
// takes its own. Two lost templates to another phone, with one message,
// stay unknown for the search, which finds them ambiguous.
func TestRecoverMatchesByKind(t *testing.T) {
	f := newFixture(t, nil)
	f.mustSend(addr("offer", 0), phoneOf(0), "")
	restoredAt := f.srv.Now()
	f.advance(time.Hour)
	lostOffer := f.lostTemplate(5)
	lostAsk, err := f.client.SendInteractive(context.Background(), &briq.InteractiveRequest{ConversationID: lostOffer.ConversationID, Interactive: buttons})
	if err != nil {
		t.Fatal(err)
	}
	f.lostTemplate(6)
	f.advance(time.Minute)

	opts := f.opts()
	opts.RecoverSince = restoredAt
	opts.Recover = []refresh.Missing{
		{Addr: addr("ask", 5), Phone: phoneOf(5), Kind: "interactive"},
		{Addr: addr("offer", 5), Phone: phoneOf(5), Kind: "template"},
		{Addr: addr("offer", 6), Phone: phoneOf(6), Kind: "template"},
		{Addr: addr("promo", 6), Phone: phoneOf(6), Kind: "template"},
	}
	sum := f.refresh(nil, opts)
	if sum.Recovered != 4 || sum.Found != 2 || len(sum.Ambiguous) != 2 {
		t.Errorf("summary %+v: want 4 recovered, 2 found, 2 ambiguous", sum)
	}
	for a, id := range map[string]string{"offer": lostOffer.MessageID, "ask": lostAsk.MessageID} {
		if s := f.get(addr(a, 5)); s.Outcome != state.OutcomeAccepted || s.MessageID != id {
			t.Errorf("%s: %s with %q, want accepted with %s", s.Addr, s.Outcome, s.MessageID, id)
		}
	}
	for _, m := range []string{"offer", "promo"} {
		if s := f.get(addr(m, 6)); s.Outcome != state.OutcomeUnknown {
			t.Errorf("%s: %s, want unknown", s.Addr, s.Outcome)
		}
	}
}

// lostTemplate sends the template to recipient i as a run whose records
// the state lost did: the provider has the message, the state nothing.
func (f *fixture) lostTemplate(i int) *briq.SendResult {
	f.t.Helper()
	res, err := f.client.SendMessage(context.Background(), &briq.MessageRequest{To: phoneOf(i), Type: briq.TypeTemplate,
		TemplateName: "welcome", Variables: map[string]string{"1": fmt.Sprintf("k%05d", i)}})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}
