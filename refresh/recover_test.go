package refresh_test

import (
	"context"
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
	lost1, err := f.client.SendMessage(context.Background(), &briq.MessageRequest{To: phoneOf(1), Type: briq.TypeTemplate,
		TemplateName: "welcome", Variables: map[string]string{"1": "k00001"}})
	if err != nil {
		t.Fatal(err)
	}
	lost2, err := f.client.SendInteractive(context.Background(), &briq.InteractiveRequest{ConversationID: conv2, Interactive: buttons})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.SendMessage(context.Background(), &briq.MessageRequest{To: phoneOf(4), Type: briq.TypeTemplate,
		TemplateName: "welcome", Variables: map[string]string{"1": "k00004"}}); err != nil {
		t.Fatal(err)
	}
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
