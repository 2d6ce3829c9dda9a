package refresh

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/state"
)

// Imported is what Import recorded: the send's message at the provider,
// and the requests made to check it.
type Imported struct {
	MessageID, ConversationID string
	Status                    state.ProviderStatus
	Requests                  int
}

// Import records, on the operator's word, that the message id at the
// provider is the send m (ujumbe import): the answer to a send refresh
// leaves unknown for want of evidence, or to one a restored state lost.
// m.Phone is where the send goes when the state does not record it.
//
// The operator's word is checked against everything the provider can say,
// and nothing is recorded unless all of it agrees: the send is unknown,
// due again or not recorded at all (an accepted send already has its
// message); no send in the state claims the id, and an unknown send that
// carries the id Briq answered with takes no other; the message is an
// outbound one in a conversation with the send's phone, of the send's kind
// (as refresh -recover lists them), and has not failed. Then the send is
// accepted with the id, its conversation and its status; a send the state
// does not record (or records as due again) first gets the intent of an
// attempt made when the message was created.
func Import(ctx context.Context, c Client, store Store, m Missing, id string, opts Options) (Imported, error) {
	r := newRun(c, store, opts)
	imported, err := r.importMessage(ctx, m, id)
	imported.Requests = int(r.requests.Load())
	return imported, err
}

func (r *run) importMessage(ctx context.Context, m Missing, id string) (Imported, error) {
	st := r.store.State()
	s, recorded := st.Get(m.Addr)
	switch {
	case !recorded, s.Outcome.Startable():
	case s.Outcome != state.OutcomeUnknown:
		return Imported{}, fmt.Errorf("the send %s is already %s%s: it has its message. If that is wrong, ujumbe state rm %s first",
			m.Addr, s.Outcome, withID(s.MessageID), m.Addr)
	case s.MessageID != "" && s.MessageID != id:
		return Imported{}, fmt.Errorf("the provider answered the send %s with message_id %s, so refresh decides it by that message, not by %s", m.Addr, s.MessageID, id)
	}
	if recorded {
		m.Phone = s.Phone
	}
	for o := range st.Sends(addrs.Pattern{}) {
		if o.Addr == m.Addr {
			continue
		}
		if o.MessageID == id || slices.ContainsFunc(o.History, func(a state.Attempt) bool { return a.MessageID == id }) {
			return Imported{}, fmt.Errorf("message %s is already the message of %s", id, o.Addr)
		}
	}

	cands, convs, err := r.candidates(ctx, m.Phone, time.Time{}, nil)
	if err != nil {
		return Imported{}, fmt.Errorf("cannot list the messages to %s at the provider, so message %s cannot be checked: %w", m.Phone, id, err)
	}
	i := slices.IndexFunc(cands, func(c *candidate) bool { return c.id == id })
	if i < 0 {
		return Imported{}, fmt.Errorf("message %s is not among the outbound messages of the conversations with %s at the provider (%d listed); a message_id is the id Briq answered a send with (a UUID)",
			id, m.Phone, convs)
	}
	cand := cands[i]
	if cand.kind != "" && m.Kind != "" && cand.kind != m.Kind {
		return Imported{}, fmt.Errorf("message %s is a %s message, and %s sends a %s message", id, cand.kind, m.Addr, m.Kind)
	}
	d, err := call(ctx, r, func() (*briq.MessageDetail, error) { return r.c.GetMessage(ctx, id) })
	switch {
	case err != nil:
		return Imported{}, fmt.Errorf("cannot look message %s up at the provider: %w", id, err)
	case d.Status == briq.StatusFailed:
		return Imported{}, fmt.Errorf("message %s failed at the provider (%s), so it never reached %s; the send is not made by it",
			id, cmp.Or(d.ErrorMessage, d.ErrorCode, "no reason given"), m.Phone)
	}

	// The send was made when the message was created: its follow-ups are
	// due, and its window closes, from then.
	at := cand.created
	if at.IsZero() {
		at = r.now
	}
	if !recorded || s.Outcome.Startable() {
		in := state.Intent{Addr: m.Addr, Phone: m.Phone, Digest: m.Digest, Variant: m.Variant, At: at}
		if err := r.store.RecordIntent(in); err != nil {
			return Imported{}, err
		}
	}
	status, _ := state.ParseProviderStatus(d.Status)
	res := state.Result{Addr: m.Addr, Outcome: state.OutcomeAccepted, MessageID: id,
		ConversationID: cmp.Or(d.ConversationID, cand.conv), ProviderStatus: status, At: at}
	if err := r.store.RecordResult(res); err != nil {
		return Imported{}, err
	}
	return Imported{MessageID: id, ConversationID: res.ConversationID, Status: status}, nil
}

// withID is " (message_id ID)", or "" for no id.
func withID(id string) string {
	if id == "" {
		return ""
	}
	return " (message_id " + id + ")"
}
