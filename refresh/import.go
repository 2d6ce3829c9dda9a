package refresh

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/state"
)

// A Claim is a send that a message at the provider may be: the send an
// import names, or another one (a rival) that could be the same message.
type Claim struct {
	Missing
	// Content is the body of the request that sends it, without targeting
	// (plan.RequestContent), to compare with the content Briq lists.
	Content json.RawMessage
	// Since is the earliest the message can have been created: the send's
	// first recorded attempt, the acceptance of the message a follow-up
	// follows, or the campaign's start; zero when nothing bounds it.
	Since time.Time
	// Conversation is the conversation a follow-up goes into (that of the
	// message it follows); "" for a first contact.
	Conversation string
}

// ImportOptions are the operator's choices for Import.
type ImportOptions struct {
	// Ambiguous takes the message although a rival could be it too, on
	// the operator's word that its content is the send's.
	Ambiguous bool
}

// Imported is what Import recorded: the send's message at the provider,
// and the requests made to check it.
type Imported struct {
	MessageID, ConversationID string
	Status                    state.ProviderStatus
	// ContentChecked says whether Briq listed the message's content in a
	// form compared with the send's (briq.SameContent).
	ContentChecked bool
	Requests       int
}

// Import records, on the operator's word, that the message id at the
// provider is the send of claim (ujumbe import): the answer to a send
// refresh leaves unknown for want of evidence, or to one a restored state
// lost. rivals are the other sends to the same phone, of the same kind,
// that are not done: the message may be one of theirs.
//
// The operator's word is checked against everything the provider can say,
// and nothing is recorded unless all of it agrees. The send is unknown,
// due again or not recorded (an accepted one has its message already), no
// send in the state claims the id, and an unknown send that carries the id
// Briq answered with takes no other. The message is an outbound one in a
// conversation with the send's phone (for a follow-up, the conversation
// it goes into), created since claim.Since less Options.Skew, of the
// send's kind, not failed, and with the send's content where Briq lists
// content in a form briq.SameContent reads. A rival that the message could
// be as well (its kind, its time, its content as far as Briq shows it)
// makes the import refused unless opts.Ambiguous: attached to the wrong
// send, the message would leave the right one to be sent again.
//
// The send is then accepted with the message's id, conversation and
// status, at the time the message was created; a send the state does not
// record (or records as due again) first gets the intent of that attempt,
// with claim.Digest when the content was compared and found the same, and
// none (content not known) otherwise.
func Import(ctx context.Context, c Client, store Store, claim Claim, rivals []Claim, id string, opts ImportOptions, ropts Options) (Imported, error) {
	r := newRun(c, store, ropts)
	imported, err := r.importMessage(ctx, claim, rivals, id, opts)
	imported.Requests = int(r.requests.Load())
	return imported, err
}

func (r *run) importMessage(ctx context.Context, claim Claim, rivals []Claim, id string, opts ImportOptions) (Imported, error) {
	st := r.store.State()
	a := claim.Addr
	s, recorded := st.Get(a)
	startable := !recorded || s.Outcome.Startable()
	switch {
	case startable:
	case s.Outcome == state.OutcomeAccepted:
		return Imported{}, fmt.Errorf("the send %s is already accepted with message_id %s. If that is wrong, ujumbe state rm %s first", a, s.MessageID, a)
	case s.Outcome != state.OutcomeUnknown:
		return Imported{}, fmt.Errorf("the send %s is %s for good (%s), so it was not made. If a message did reach the customer, ujumbe state rm %s first",
			a, s.Outcome, cmp.Or(s.ErrorCode, s.ErrorMessage, "no reason recorded"), a)
	case s.MessageID != "" && !strings.EqualFold(s.MessageID, id):
		return Imported{}, fmt.Errorf("the provider answered the send %s with message_id %s, so refresh decides it by that message, not by %s", a, s.MessageID, id)
	}
	if recorded {
		claim.Phone = s.Phone
		claim.Since = s.IntentAt
		if len(s.History) > 0 {
			claim.Since = s.History[0].At
		}
	}
	for o := range st.Sends(addrs.Pattern{}) {
		if o.Addr != a && (strings.EqualFold(o.MessageID, id) ||
			slices.ContainsFunc(o.History, func(h state.Attempt) bool { return strings.EqualFold(h.MessageID, id) })) {
			return Imported{}, fmt.Errorf("message %s is already the message of %s", id, o.Addr)
		}
	}

	since := time.Time{}
	if !claim.Since.IsZero() {
		since = claim.Since.Add(-r.opts.Skew)
	}
	cands, convs, err := r.candidates(ctx, claim.Phone, since, nil)
	if err != nil {
		return Imported{}, fmt.Errorf("cannot list the messages to %s at the provider, so message %s cannot be checked: %w", claim.Phone, id, err)
	}
	i := slices.IndexFunc(cands, func(c *candidate) bool { return strings.EqualFold(c.id, id) })
	if i < 0 {
		when := ""
		if !since.IsZero() {
			when = " created since " + stamp(since)
		}
		return Imported{}, fmt.Errorf("message %s is not among the outbound messages%s in the %s with %s at the provider; a message_id is the id Briq answered a send with (a UUID)",
			id, when, plural(convs, "conversation"), claim.Phone)
	}
	cand := cands[i]
	switch {
	case cand.kind != "" && claim.Kind != "" && cand.kind != claim.Kind:
		return Imported{}, fmt.Errorf("message %s is of kind %s, and %s sends one of kind %s", cand.id, cand.kind, a, claim.Kind)
	case claim.Conversation != "" && cand.conv != claim.Conversation:
		return Imported{}, fmt.Errorf("message %s is in conversation %s, and %s follows a message in conversation %s, where it goes", cand.id, cand.conv, a, claim.Conversation)
	}
	d, err := call(ctx, r, func() (*briq.MessageDetail, error) {
		r.lookups.Add(1)
		return r.c.GetMessage(ctx, cand.id)
	})
	switch {
	case err != nil:
		return Imported{}, fmt.Errorf("cannot look message %s up at the provider: %w", cand.id, err)
	case d.Status == briq.StatusFailed:
		return Imported{}, fmt.Errorf("message %s failed at the provider (%s), so it never reached %s", cand.id, cmp.Or(d.ErrorMessage, d.ErrorCode, "no reason given"), claim.Phone)
	case d.ConversationID != "" && d.ConversationID != cand.conv:
		return Imported{}, fmt.Errorf("the provider lists message %s in conversation %s and looks it up in conversation %s", cand.id, cand.conv, d.ConversationID)
	}
	content := cand.content
	if len(content) == 0 {
		content = d.Content
	}
	same, known := briq.SameContent(content, claim.Content)
	if known && !same {
		return Imported{}, fmt.Errorf("message %s has other content at the provider than %s sends: %s", cand.id, a, content)
	}
	var others []string
	for _, o := range rivals {
		if o.Kind != "" && cand.kind != "" && o.Kind != cand.kind ||
			!o.Since.IsZero() && !cand.created.IsZero() && cand.created.Before(o.Since.Add(-r.opts.Skew)) ||
			o.Conversation != "" && o.Conversation != cand.conv {
			continue
		}
		if theirs, known := briq.SameContent(content, o.Content); known && !theirs {
			continue
		}
		others = append(others, o.Addr.String())
	}
	if len(others) > 0 && !opts.Ambiguous {
		what := "Briq does not list its content in a form ujumbe can compare"
		if known {
			what = "its content, as far as Briq lists it, is theirs too"
		}
		return Imported{}, fmt.Errorf("message %s could be the message of %s as well: same phone, same kind, and %s. "+
			"Attached to the wrong send it would leave the right one to be sent again. If Briq's inbox shows that its content is %s's, run the import again with -ambiguous",
			cand.id, strings.Join(others, ", "), what, a)
	}

	// The send was made when the message was created: its follow-ups are
	// due, and its window closes, from then.
	at := cmp.Or(cand.created, r.now)
	if startable {
		in := state.Intent{Addr: a, Phone: claim.Phone, Variant: claim.Variant, At: at}
		if same {
			in.Digest = claim.Digest
		}
		if err := r.store.RecordIntent(in); err != nil {
			return Imported{}, err
		}
	}
	status, _ := state.ParseProviderStatus(d.Status)
	res := state.Result{Addr: a, Outcome: state.OutcomeAccepted, MessageID: cand.id, ConversationID: cand.conv, ProviderStatus: status, At: at}
	if err := r.store.RecordResult(res); err != nil {
		return Imported{}, err
	}
	return Imported{MessageID: cand.id, ConversationID: cand.conv, Status: status, ContentChecked: known}, nil
}

// plural is "1 noun" or "n nouns".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
