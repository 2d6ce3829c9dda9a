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
	// Renderings are the contents the configuration renders for it: one,
	// or one per variant when which variant went out is not recorded. None
	// when what it renders now is known not to be what was sent.
	Renderings []Rendering
	// Since is the earliest the message can have been created, for
	// certain: the send's first recorded attempt, or the acceptance of the
	// message a follow-up follows; zero when neither is known.
	Since time.Time
	// Soft is a bound that holds unless the state lost more than its
	// newest sends or the campaign's start_at moved: its start_at, or its
	// first send the state records. A message older than it needs the
	// operator's word; SoftWhat names it.
	Soft     time.Time
	SoftWhat string
	// Conversation is the conversation a follow-up goes into (that of the
	// message it follows); "" for a first contact, or when not known.
	Conversation string
}

// A Rendering is one content a send may have been made with.
type Rendering struct {
	Variant string
	Digest  state.Digest
	// Content is the body of the request that sends it, without targeting
	// (plan.RequestContent), to compare with the content Briq lists.
	Content json.RawMessage
}

// ImportOptions are the operator's choices for Import.
type ImportOptions struct {
	// Force takes the message on the operator's word where the provider
	// cannot confirm it, or contradicts what the configuration says now: a
	// rival could be it too, its content differs from what the
	// configuration renders now, or it is older than a soft bound, or
	// nothing bounds or dates it.
	Force bool
}

// Imported is what Import recorded: the send's message at the provider,
// and the requests made to check it.
type Imported struct {
	MessageID, ConversationID string
	Status                    state.ProviderStatus
	// Content is what comparing Briq's content with the send's
	// renderings (briq.SameContent) found: ContentSame, ContentDiffers
	// (taken on the operator's word) or ContentNotCompared.
	Content  string
	Requests int
}

// The outcomes of comparing content, for Imported.Content.
const (
	ContentSame        = "same"
	ContentDiffers     = "differs"
	ContentNotCompared = "not compared"
)

// Import records, on the operator's word, that the message id at the
// provider is the send of claim (ujumbe import): the answer to a send
// refresh leaves unknown for want of evidence, or to one a restored state
// lost. rivals are the other sends to the same phone that are not done:
// the message may be one of theirs.
//
// The operator's word is checked against everything the provider can say,
// and nothing is recorded unless all of it agrees. The send is unknown,
// due again or not recorded (an accepted one has its message already), no
// send in the state claims the id, and an unknown send that carries the id
// Briq answered with takes no other. The message is an outbound one in a
// conversation with the send's phone (for a follow-up, the conversation
// it goes into), created since claim.Since less Options.Skew, of the
// send's kind, and not failed. Then, unless opts.Force: the message has a
// creation time, and one not before claim.Soft when nothing surer bounds
// it; where Briq lists content in a form briq.SameContent reads, it is
// one of the send's renderings; and no rival could be the message as well
// (its kind, its time, its conversation, its content as far as Briq shows
// it): attached to the wrong send, the message would leave the right one
// to be sent again.
//
// The send is then accepted with the message's id, conversation and
// status, at the time the message was created; a send the state does not
// record (or records as due again) first gets the intent of that attempt,
// with the variant and digest of the rendering Briq's content matched, or
// the planned variant and no digest (content not known).
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
	if claim.Since.IsZero() && claim.Soft.IsZero() && !opts.Force {
		return Imported{}, fmt.Errorf("nothing bounds when %s can have been sent (no attempt recorded, no start_at, no send of its campaign in the state), "+
			"so any older message to %s could be taken for it. If Briq's inbox shows that message %s is the send's, run the import again with -force", a, claim.Phone, id)
	}
	for o := range st.Sends(addrs.Pattern{}) {
		if o.Addr != a && o.HadID(id) {
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
	d, err := call(ctx, r, func() (*briq.MessageDetail, error) {
		r.lookups.Add(1)
		return r.c.GetMessage(ctx, cand.id)
	})
	if err != nil {
		return Imported{}, fmt.Errorf("cannot look message %s up at the provider: %w", cand.id, err)
	}
	kind, created, content := cmp.Or(cand.kind, d.MessageType), cmp.Or(cand.created, d.CreatedAt.Time), cand.content
	if len(content) == 0 {
		content = d.Content
	}
	force := func(why string) error {
		return fmt.Errorf("%s. If Briq's inbox shows that message %s is the send's, run the import again with -force", why, cand.id)
	}
	switch {
	case created.IsZero() && !opts.Force:
		return Imported{}, force(fmt.Sprintf("the provider gives no creation time for message %s, so it cannot be checked against %s's time", cand.id, a))
	case claim.Since.IsZero() && created.Before(claim.Soft.Add(-r.opts.Skew)) && !opts.Force:
		return Imported{}, force(fmt.Sprintf("message %s was created at %s, before %s (%s), which a send of the campaign cannot precede unless the state lost more than its newest sends or start_at moved",
			cand.id, stamp(created), claim.SoftWhat, stamp(claim.Soft)))
	case kind != "" && claim.Kind != "" && !strings.EqualFold(kind, claim.Kind):
		return Imported{}, fmt.Errorf("message %s is of kind %s, and %s sends one of kind %s", cand.id, kind, a, claim.Kind)
	case claim.Conversation != "" && cand.conv != claim.Conversation:
		return Imported{}, fmt.Errorf("message %s is in conversation %s, and %s follows a message in conversation %s, where it goes", cand.id, cand.conv, a, claim.Conversation)
	case d.Status == briq.StatusFailed:
		code, reason := d.Failure()
		return Imported{}, fmt.Errorf("message %s failed at the provider (%s), so it never reached %s", cand.id, cmp.Or(reason, code, "no reason given"), claim.Phone)
	case d.ConversationID != "" && d.ConversationID != cand.conv:
		return Imported{}, fmt.Errorf("the provider lists message %s in conversation %s and looks it up in conversation %s", cand.id, cand.conv, d.ConversationID)
	}
	match, known := matching(content, claim.Renderings)
	if known && match == nil && !opts.Force {
		return Imported{}, force(fmt.Sprintf("message %s has other content at the provider than %s renders now: %s; the configuration may have changed since it was sent (with -force its content is recorded as not known)",
			cand.id, a, content))
	}
	var others []string
	for _, o := range rivals {
		if o.Kind != "" && kind != "" && !strings.EqualFold(o.Kind, kind) ||
			!o.Since.IsZero() && !created.IsZero() && created.Before(o.Since.Add(-r.opts.Skew)) ||
			o.Conversation != "" && o.Conversation != cand.conv {
			continue
		}
		theirs, known := matching(content, o.Renderings)
		switch {
		case known && theirs == nil:
			continue
		case known:
			others = append(others, o.Addr.String()+" (the same content, as far as Briq lists it)")
		default:
			others = append(others, o.Addr.String()+" (its content not compared)")
		}
	}
	if len(others) > 0 && !opts.Force {
		return Imported{}, force(fmt.Sprintf("message %s could be the message of another send to %s that is not done: %s; attached to the wrong send, it would leave the right one to be sent again",
			cand.id, claim.Phone, strings.Join(others, ", ")))
	}

	// The send was made when the message was created: its follow-ups are
	// due, and its window closes, from then.
	at := cmp.Or(created, r.now)
	if startable {
		kind, _ := state.ParseKind(claim.Kind) // KindUnknown when it has none
		in := state.Intent{Addr: a, Phone: claim.Phone, Variant: claim.Variant, Kind: kind, At: at}
		if match != nil {
			in.Variant, in.Digest = match.Variant, match.Digest
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
	compared := ContentNotCompared
	switch {
	case match != nil:
		compared = ContentSame
	case known:
		compared = ContentDiffers
	}
	return Imported{MessageID: cand.id, ConversationID: cand.conv, Status: status, Content: compared}, nil
}

// matching returns the rendering whose content is listed, if one is, and
// whether listed could be compared with any.
func matching(listed json.RawMessage, rs []Rendering) (match *Rendering, known bool) {
	for i := range rs {
		same, k := briq.SameContent(listed, rs[i].Content)
		known = known || k
		if same {
			return &rs[i], true
		}
	}
	return nil, known
}

// plural is "1 noun" or "n nouns".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
