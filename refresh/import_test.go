package refresh_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/state"
)

// TestImportNeedsTheListing: Import takes the operator's message only once
// Briq lists it in a conversation with the send's phone. While that
// listing fails, nothing is recorded, whatever the lookup by id says;
// once it answers, the lost send is accepted with the message's id and
// conversation, and the request count Import reports is what the sandbox
// saw.
func TestImportNeedsTheListing(t *testing.T) {
	f := newFixture(t, nil)
	lost := f.lostTemplate(1)
	m := refresh.Claim{Missing: refresh.Missing{Addr: addr("offer", 1), Phone: phoneOf(1), Kind: "template"}, Since: f.srv.Now()}

	broken := f.proxy(proxy{fail: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v1/whatsapp/conversations" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}})
	if _, err := refresh.Import(context.Background(), broken, f.store, m, nil, lost.MessageID, refresh.ImportOptions{}, f.opts()); err == nil ||
		!strings.Contains(err.Error(), "cannot list the messages to "+phoneOf(1)) {
		t.Fatalf("import while the listing fails: %v", err)
	}
	if _, ok := f.store.State().Get(m.Addr); ok {
		t.Fatal("a refused import recorded the send")
	}

	before := f.srv.Stats().Requests
	got, err := refresh.Import(context.Background(), f.client, f.store, m, nil, lost.MessageID, refresh.ImportOptions{}, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if n := int(f.srv.Stats().Requests - before); got.Requests != n {
		t.Errorf("import reports %d requests, the sandbox saw %d", got.Requests, n)
	}
	s := f.get(m.Addr)
	if s.Outcome != state.OutcomeAccepted || s.MessageID != lost.MessageID || s.ConversationID != lost.ConversationID || s.Attempts != 1 {
		t.Errorf("after import: %+v, want accepted with %s in %s", s, lost.MessageID, lost.ConversationID)
	}
}
