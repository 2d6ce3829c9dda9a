package refresh

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/state"
)

// candidate is an outbound message at the provider that no send claims.
type candidate struct {
	id, conv string
	created  time.Time
	status   string // as listed; "" when the listing gives none
	kind     string // message_type as listed
	content  json.RawMessage
}

// errIncomplete marks evidence refresh could not gather (a listing or a
// lookup that failed after its retries): the sends concerned stay unknown
// and the run goes on with the others.
var errIncomplete = errors.New("incomplete evidence")

// resolveUnknown applies Run's rule to every unknown send, one recipient
// phone per worker.
func (r *run) resolveUnknown(ctx context.Context) error {
	st := r.store.State()
	byPhone := map[string][]state.Send{}
	targeted := map[string]bool{} // phones with an unknown send under the targets
	for s := range st.Sends(addrs.Pattern{}) {
		if s.Outcome == state.OutcomeUnknown {
			byPhone[s.Phone] = append(byPhone[s.Phone], s)
			if r.targeted(s.Addr) {
				targeted[s.Phone] = true
			}
		}
	}
	// The unknown sends of one phone compete for the messages found there:
	// a phone is resolved whole, or not at all, whatever the targets.
	maps.DeleteFunc(byPhone, func(phone string, _ []state.Send) bool { return !targeted[phone] })
	if len(byPhone) == 0 {
		return nil
	}
	claimed := claimedIDs(st, byPhone)
	phones := slices.Sorted(maps.Keys(byPhone))
	err := forEach(ctx, len(phones), r.opts.Parallelism, func(ctx context.Context, i int) error {
		p := phones[i]
		return r.resolvePhone(ctx, p, byPhone[p], claimed[p])
	})
	if err != nil {
		return err
	}
	return r.settleNotFound(ctx)
}

// notFound is an unknown send whose own message_id the provider answered
// 404 for, after the settle time: absent, once the lookup is known to
// work (settleNotFound).
type notFound struct {
	s        state.Send
	id, conv string
	checked  string
}

// settleNotFound decides the sends whose message_id the provider answered
// 404 for. A 404 is evidence that a message does not exist only from an
// endpoint that finds the messages that do: one that answered 404 for every
// id (a wrong path, a proxy) would make every such send due again. So
// unless some lookup of the run found its message, the message of the
// newest send the state records as accepted is looked up first. Found, the
// sends are absent, due again; not found, or not answered, or with no
// accepted send to look up, they stay unknown, with a note, until a
// refresh can tell.
func (r *run) settleNotFound(ctx context.Context) error {
	if len(r.notFound) == 0 {
		return nil
	}
	doubt, err := r.lookupDoubt(ctx)
	if err != nil {
		return err
	}
	for _, nf := range r.notFound {
		if doubt != "" {
			if err := r.undecided(nf.s, nf.id, nf.checked+": not found (404), but "+doubt+", so the 404 proves nothing", r.now, errIncomplete); err != nil {
				return err
			}
			continue
		}
		err := r.decide(nf.s, state.Result{Addr: nf.s.Addr, Outcome: state.OutcomeRetry, MessageID: nf.id, ConversationID: nf.conv,
			Systemic: nf.s.Systemic, ErrorCode: nf.s.ErrorCode, ErrorMessage: fmt.Sprintf("refresh %s: the provider has no such message (404), so it never arrived", stamp(r.now))},
			func(sum *Summary) { sum.Absent++ })
		if err != nil {
			return err
		}
	}
	return nil
}

// lookupDoubt returns "" when the message lookup is known to find messages
// that exist, or what makes its 404s doubtful.
func (r *run) lookupDoubt(ctx context.Context) (string, error) {
	if r.found.Load() {
		return "", nil
	}
	control, newest := "", time.Time{}
	for s := range r.store.State().Sends(addrs.Pattern{}) {
		if s.Outcome == state.OutcomeAccepted && s.MessageID != "" && (control == "" || s.IntentAt.After(newest)) {
			control, newest = s.MessageID, s.IntentAt
		}
	}
	if control == "" {
		return "no message is known to exist to check the lookup with", nil
	}
	_, err := call(ctx, r, func() (*briq.MessageDetail, error) {
		r.lookups.Add(1)
		return r.c.GetMessage(ctx, control)
	})
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, briq.ErrNotFound):
		return fmt.Sprintf("message %s, which the provider accepted, is not found either", control), nil
	case fatal(ctx, err):
		return "", err
	}
	return fmt.Sprintf("looking up message %s, which the provider accepted, to check the 404 failed: %v", control, err), nil
}

// resolvePhone resolves the unknown sends to one phone; claimed holds the
// message_ids the state records for sends to it. A send that carries its
// own message_id is looked up by it; the others are searched for.
func (r *run) resolvePhone(ctx context.Context, phone string, sends []state.Send, claimed map[string]bool) error {
	var search []state.Send
	for _, s := range sends {
		if s.MessageID == "" {
			search = append(search, s)
			continue
		}
		if err := r.resolveByID(ctx, s, s.MessageID, s.ConversationID, false); err != nil {
			return err
		}
	}
	if len(search) == 0 || r.opts.NoSearch {
		return nil
	}
	return r.search(ctx, phone, search, claimed)
}

// resolveByID decides the unknown send s by the message id (in conv) that
// Briq named for it or that its search found (listed): a message that
// exists and did not fail makes it accepted with that id; one that failed,
// or (unless listed, which would contradict the listing) a 404, makes it a
// retry once its intent is older than Options.Settle; before that, or when
// the lookup fails, it stays unknown with a note.
func (r *run) resolveByID(ctx context.Context, s state.Send, id, conv string, listed bool) error {
	d, err := call(ctx, r, func() (*briq.MessageDetail, error) {
		r.lookups.Add(1)
		return r.c.GetMessage(ctx, id)
	})
	settled := r.settled(s)
	checked := fmt.Sprintf("looked up message_id %s", id)
	if err == nil {
		r.found.Store(true)
	}
	switch {
	case errors.Is(err, briq.ErrNotFound) && listed:
		// The evidence contradicts itself. The id is not recorded, so the
		// next refresh searches again rather than trust the 404.
		return r.undecided(s, "", checked+": not found, though the conversation's listing shows it", r.now, errIncomplete)
	case errors.Is(err, briq.ErrNotFound) && settled:
		// Decided once every lookup is made (settleNotFound).
		r.mu.Lock()
		r.notFound = append(r.notFound, notFound{s: s, id: id, conv: conv, checked: checked})
		r.mu.Unlock()
		return nil
	case errors.Is(err, briq.ErrNotFound):
		return r.undecided(s, id, checked+": not found yet", s.IntentAt.Add(r.opts.Settle), nil)
	case err != nil:
		if fatal(ctx, err) {
			return err
		}
		return r.undecided(s, id, checked+": "+err.Error(), r.now, errIncomplete)
	case d.Status == briq.StatusFailed && settled:
		// The run's failure still when the record failed as the answer
		// said it would (PROVIDER_UNAVAILABLE) or says nothing else; one
		// that failed with a reason of its own is the send's.
		code, reason := d.Failure()
		systemic := s.Systemic && (code == "" || strings.EqualFold(code, s.ErrorCode) || briq.SystemicCode(code))
		res := state.Result{Addr: s.Addr, Outcome: state.OutcomeRetry, MessageID: id, Systemic: systemic,
			ConversationID: cmp.Or(d.ConversationID, conv), ProviderStatus: state.StatusFailed,
			ErrorCode:    cmp.Or(code, s.ErrorCode),
			ErrorMessage: fmt.Sprintf("refresh %s: message %s failed at the provider: %s", stamp(r.now), id, cmp.Or(reason, "no reason given"))}
		count := func(sum *Summary) { sum.Failed++ }
		if briq.MarketingLimitCode(code) {
			// Meta's "not today": due again a day later (SPEC §7).
			res.Outcome, res.Systemic = state.OutcomeDeferred, false
			count = func(sum *Summary) { sum.Deferred++ }
		}
		return r.decide(s, res, count)
	case d.Status == briq.StatusFailed:
		return r.undecided(s, id, checked+": failed, but younger than the settle time", s.IntentAt.Add(r.opts.Settle), nil)
	}
	status, _ := state.ParseProviderStatus(d.Status)
	return r.decide(s, state.Result{Addr: s.Addr, Outcome: state.OutcomeAccepted, MessageID: id,
		ConversationID: cmp.Or(d.ConversationID, conv), ProviderStatus: status, At: r.madeAt(s, d.CreatedAt.Time)},
		func(sum *Summary) { sum.Found++ })
}

// madeAt is when the send s, found at Briq as a message created at
// created, was made: then, within the intent and now (the clocks differ);
// its intent's time when Briq gives none. Its follow-ups are due, and the
// 24h window it opened closes, from then, not from when refresh found it.
func (r *run) madeAt(s state.Send, created time.Time) time.Time {
	switch {
	case created.IsZero() || created.Before(s.IntentAt):
		return s.IntentAt
	case created.After(r.now):
		return r.now
	}
	return created
}

// search resolves the unknown sends to phone that carry no message_id by
// the listing of the phone's conversations: every conversation with the
// phone, every outbound message in each since the earliest intent less
// Skew, all statuses, every page.
func (r *run) search(ctx context.Context, phone string, sends []state.Send, claimed map[string]bool) error {
	since := sends[0].IntentAt
	for _, s := range sends[1:] {
		if s.IntentAt.Before(since) {
			since = s.IntentAt
		}
	}
	since = since.Add(-r.opts.Skew)
	cands, convs, err := r.candidates(ctx, phone, since, claimed)
	if err != nil {
		if fatal(ctx, err) {
			return err
		}
		for _, s := range sends {
			if err := r.undecided(s, "", "listing the conversations of "+phone+" failed: "+err.Error(), r.now, errIncomplete); err != nil {
				return err
			}
		}
		return nil
	}
	checked := fmt.Sprintf("listed every outbound message since %s in %d conversation(s) with %s", stamp(since), convs, phone)
	// Which candidates each send could be, and how many sends each
	// candidate could belong to.
	mine := make([][]*candidate, len(sends))
	users := map[string]int{}
	for i, s := range sends {
		from := s.IntentAt.Add(-r.opts.Skew)
		for _, c := range cands {
			if c.created.IsZero() || !c.created.Before(from) {
				mine[i] = append(mine[i], c)
				users[c.id]++
			}
		}
	}
	for i, s := range sends {
		c := mine[i]
		switch {
		case len(c) == 1 && users[c[0].id] == 1 && c[0].id != "":
			if c[0].status != "" && c[0].status != briq.StatusFailed {
				// The message exists and did not fail.
				status, _ := state.ParseProviderStatus(c[0].status)
				err = r.decide(s, state.Result{Addr: s.Addr, Outcome: state.OutcomeAccepted,
					MessageID: c[0].id, ConversationID: c[0].conv, ProviderStatus: status, At: r.madeAt(s, c[0].created)},
					func(sum *Summary) { sum.Found++ })
			} else {
				// The listing does not say (or says failed): the status
				// endpoint decides, with the id recorded either way.
				err = r.resolveByID(ctx, s, c[0].id, c[0].conv, true)
			}
		case len(c) == 0 && r.settled(s):
			err = r.decide(s, state.Result{Addr: s.Addr, Outcome: state.OutcomeRetry, Systemic: s.Systemic, ErrorCode: s.ErrorCode,
				ErrorMessage: fmt.Sprintf("refresh %s %s and found no message that could be the attempt of %s, so it never arrived",
					stamp(r.now), checked, stamp(s.IntentAt))},
				func(sum *Summary) { sum.Absent++ })
		case len(c) == 0:
			err = r.undecided(s, "", checked+": none yet", s.IntentAt.Add(r.opts.Settle), nil)
		default:
			ids := make([]string, len(c))
			for j := range c {
				ids[j] = c[j].id
			}
			err = r.undecided(s, "", fmt.Sprintf("%s: %d messages could be this send (%s), and other unknown sends may claim them",
				checked, len(c), strings.Join(ids, ", ")), time.Time{}, nil)
			r.count(func(sum *Summary) { sum.Ambiguous = append(sum.Ambiguous, s.Addr) })
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// settled reports whether s's intent is older than Options.Settle, so that
// a message refresh does not see is not one still on its way.
func (r *run) settled(s state.Send) bool { return r.now.Sub(s.IntentAt) >= r.opts.Settle }

// decide records the result that resolves s and counts it, at res.At, or
// now when it has none.
func (r *run) decide(s state.Send, res state.Result, count func(*Summary)) error {
	if res.At.IsZero() {
		res.At = r.now
	}
	if err := r.store.RecordResult(res); err != nil {
		return err
	}
	r.count(count)
	return nil
}

// undecided leaves s unknown and records why: what was checked (with the
// message id refresh now knows for it, if any) and from when a later
// refresh can decide (zero when only the operator can, as for an
// ambiguous send). reason is errIncomplete for evidence that could not be
// gathered, nil otherwise; it decides the counter (Incomplete, TooRecent;
// Ambiguous is counted by the caller).
func (r *run) undecided(s state.Send, id, checked string, next time.Time, reason error) error {
	note := fmt.Sprintf("refresh %s %s", stamp(r.now), checked)
	switch {
	case reason != nil:
		note += "; the next refresh tries again"
	case !next.IsZero():
		note += "; a refresh from " + stamp(next) + " on can decide"
	default:
		note += "; only the operator can decide (ujumbe import ADDR MESSAGE_ID records the message it is; ujumbe apply -replace=ADDR sends it again)"
	}
	res := state.Result{Addr: s.Addr, Outcome: state.OutcomeUnknown, MessageID: id, ConversationID: s.ConversationID,
		ErrorCode: s.ErrorCode, ErrorMessage: note, Systemic: s.Systemic, At: r.now}
	if err := r.store.RecordResult(res); err != nil {
		return err
	}
	switch {
	case reason != nil:
		r.count(func(sum *Summary) { sum.Incomplete++ })
	case !next.IsZero():
		r.count(func(sum *Summary) { sum.TooRecent++ })
	}
	return nil
}

// candidates lists the outbound messages to phone created at or after since
// that no send claims, whatever their status, and how many conversations
// with phone there are. Any listing it cannot complete is an error, and so
// is a conversation whose messages the listing leaves out (see shows).
func (r *run) candidates(ctx context.Context, phone string, since time.Time, claimed map[string]bool) ([]*candidate, int, error) {
	convs, err := r.threads(ctx, phone)
	if err != nil {
		return nil, 0, err
	}
	var out []*candidate
	for _, t := range convs {
		conv := t.id
		q := briq.MessageQuery{ConversationID: conv, Direction: briq.DirectionOutbound, Since: since}
		listed := false
		err := r.eachMessage(ctx, q, func(m *briq.Message) {
			listed = true
			// Only what certainly rules a message out is checked: a message
			// wrongly kept makes a send ambiguous, one wrongly dropped makes
			// it absent and so sent twice. Missing fields rule nothing out.
			if claimed[m.ID] || m.ConversationID != "" && m.ConversationID != conv ||
				!m.CreatedAt.IsZero() && m.CreatedAt.Before(since) ||
				slices.ContainsFunc(out, func(c *candidate) bool { return c.id == m.ID }) {
				return
			}
			out = append(out, &candidate{id: m.ID, conv: conv, created: m.CreatedAt.Time, status: m.Status, kind: m.MessageType, content: m.Content})
		})
		if err == nil && !listed && t.last.After(since) {
			err = r.shows(ctx, conv, since, t.last)
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return out, len(convs), nil
}

// thread is a conversation with a phone, as the conversations listing
// gives it: its id and its last message's time.
type thread struct {
	id   string
	last time.Time
}

// threads lists the conversations with phone. A listing that ignores the
// recipient filter (G1 documents none) is every conversation of the
// workspace, in an order Briq does not document: one that moves towards
// the pages already read while the rest are read (the sandbox's, most
// recently active first, does) is never seen, so all of them must be
// seen, as many as the total says. Such a listing, once complete, serves
// the rest of the run's phones (the sends searched for were all made
// before the run began); until a listing has shown that it honours the
// filter, the phones' searches list one at a time, so that the workspace
// is read once, not once per phone.
func (r *run) threads(ctx context.Context, phone string) ([]thread, error) {
	locked := !r.exact.Load()
	if locked {
		r.walk.Lock()
		defer r.walk.Unlock()
		if r.workspace != nil {
			return r.workspace[phone], nil
		}
	}
	byPhone := map[string][]thread{}
	listed := map[string]bool{}
	total := 0
	err := eachPage(ctx, r, conversationPage, func(limit, offset int) (*briq.Page[briq.Conversation], error) {
		p, err := r.c.ListConversations(ctx, briq.ConversationQuery{Recipient: phone, Status: briq.ConversationsAll, Limit: limit, Offset: offset})
		if err == nil {
			total = p.Total
		}
		return p, err
	}, func(cv *briq.Conversation) {
		if !listed[cv.ID] {
			listed[cv.ID] = true
			p := normalizePhone(cv.RecipientPhone)
			byPhone[p] = append(byPhone[p], thread{cv.ID, cv.LastMessageAt.Time})
		}
	})
	// The filter is documented as exact; checking it anyway keeps another
	// recipient's messages from ever becoming candidates.
	others := len(byPhone) > 1 || len(byPhone) == 1 && byPhone[phone] == nil
	switch {
	case err != nil:
		return nil, err
	case others && total <= 0:
		return nil, errors.New("the conversations listing ignored the recipient filter and gave no total, so it cannot show that it listed every conversation")
	case others && len(listed) < total:
		return nil, fmt.Errorf("the conversations listing, which ignored the recipient filter, changed while it was read "+
			"(%d distinct conversations of a total of %d): a conversation may have moved to a page already read, so not finding one proves nothing", len(listed), total)
	case others && locked:
		r.workspace = byPhone
	case !others && len(listed) > 0:
		r.exact.Store(true)
	}
	return byPhone[phone], nil
}

// shows checks that the listing of messages shows conversation conv's,
// whose last message is at last, after since: the outbound messages since
// then listed none. Briq's reference says the listing covers the
// workspace's active conversations, and leaves open whether a closed
// thread's messages are listed; a send in doubt whose conversation has
// closed since (a template nobody answered, a day later) would then be
// found nowhere and sent again. Listed in either direction, the
// conversation's messages since then must show at least its last.
func (r *run) shows(ctx context.Context, conv string, since, last time.Time) error {
	p, err := call(ctx, r, func() (*briq.Page[briq.Message], error) {
		return r.c.ListMessages(ctx, briq.MessageQuery{ConversationID: conv, Since: since, Limit: 1})
	})
	switch {
	case err != nil:
		return err
	case len(p.Items) == 0:
		return fmt.Errorf("the provider lists no message since %s in conversation %s, whose last message it gives as %s: "+
			"its listing leaves that conversation's messages out, so not finding a message there proves nothing", stamp(since), conv, stamp(last))
	}
	return nil
}

// fatal reports whether err must end the run rather than leave the sends
// concerned unknown: a cancelled run, or an answer that fails every read.
func fatal(ctx context.Context, err error) bool {
	return ctx.Err() != nil || briq.ClassOf(err) == briq.Fatal
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
