package refresh

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/state"
)

// Missing is a send the configuration wants now that a restored state may
// have lost (Options.Recover), or that an import names (Claim): its
// address, its phone, the digest and variant of the content it would send,
// recorded with its intent, and its kind as the provider lists messages
// (message_type: template, text, media or interactive).
type Missing struct {
	Addr    addrs.Addr
	Phone   string
	Digest  state.Digest
	Variant string
	Kind    string
}

// recover looks, before the unknown sends are resolved, for the sends of
// Options.Recover that reached the provider although the state does not
// record them: for each phone, every outbound message created since
// Options.RecoverSince (less Skew) in every conversation with it, as the
// search of unknown sends lists them. A phone with a message no send
// claims has its missing sends recorded as unknown (an intent and no
// result): they are never sent while unknown, and the search that follows
// decides them as it decides any unknown send. A send whose kind is the
// kind of no other send to the phone and of exactly one such message,
// listed as not failed, takes that message at once (matchByKind): the
// search goes by time only, and the sends a restored state lost to one
// phone, a question and the template before it, were made after the same
// moment, so it would find them ambiguous. A phone with none keeps its
// sends as they are: due, sent by the next apply. A listing that cannot be
// completed makes the phone's sends unknown too: the search tries it again
// and, failing, says so in their note.
func (r *run) recover(ctx context.Context) error {
	st := r.store.State()
	byPhone := map[string][]Missing{}
	for _, m := range r.opts.Recover {
		if s, ok := st.Get(m.Addr); ok && s.Outcome != state.OutcomeRetry && s.Outcome != state.OutcomeDeferred {
			continue // recorded already, and not to be sent
		}
		byPhone[m.Phone] = append(byPhone[m.Phone], m)
	}
	if len(byPhone) == 0 {
		return nil
	}
	claimed := claimedIDs(st, byPhone)
	// A phone with unknown sends of its own may owe a message to them.
	doubtful := map[string]bool{}
	for s := range st.Sends(addrs.Pattern{}) {
		if s.Outcome == state.OutcomeUnknown {
			doubtful[s.Phone] = true
		}
	}
	phones := slices.Sorted(maps.Keys(byPhone))
	since := time.Time{}
	if !r.opts.RecoverSince.IsZero() {
		since = r.opts.RecoverSince.Add(-r.opts.Skew)
	}
	return forEach(ctx, len(phones), r.opts.Parallelism, func(ctx context.Context, i int) error {
		p := phones[i]
		cands, _, listErr := r.candidates(ctx, p, since, claimed[p])
		switch {
		case listErr != nil && fatal(ctx, listErr):
			return listErr
		case listErr == nil && len(cands) == 0:
			r.count(func(sum *Summary) { sum.RecoverClear += len(byPhone[p]) })
			return nil
		}
		// The intent goes back to when the lost sends may have been made,
		// so that the search finds the messages it must consider.
		at := r.opts.RecoverSince
		for _, c := range cands {
			if at.IsZero() || !c.created.IsZero() && c.created.Before(at) {
				at = c.created
			}
		}
		if at.IsZero() {
			at = time.Unix(0, 0)
		}
		var matched []*candidate
		if !doubtful[p] {
			matched = matchByKind(byPhone[p], cands)
		}
		for i, m := range byPhone[p] {
			var c *candidate
			if matched != nil {
				c = matched[i]
			}
			// Never later than RecoverSince: a -recover run again after
			// this one, or cut short, looks from the same time.
			kind, _ := state.ParseKind(m.Kind) // KindUnknown when it has none
			if err := r.store.RecordIntent(state.Intent{Addr: m.Addr, Phone: m.Phone, Digest: m.Digest, Variant: m.Variant, Kind: kind, At: at}); err != nil {
				return err
			}
			r.count(func(sum *Summary) { sum.Recovered++ })
			if c == nil {
				continue
			}
			status, _ := state.ParseProviderStatus(c.status)
			err := r.decide(state.Send{Addr: m.Addr}, state.Result{Addr: m.Addr, Outcome: state.OutcomeAccepted,
				MessageID: c.id, ConversationID: c.conv, ProviderStatus: status}, func(sum *Summary) { sum.Found++ })
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// matchByKind returns, for each of sends, the one candidate of its kind
// when no other send has that kind, exactly one candidate has it, and the
// listing says that message did not fail; nil for the others.
func matchByKind(sends []Missing, cands []*candidate) []*candidate {
	out := make([]*candidate, len(sends))
	for i, m := range sends {
		same := 0
		for _, o := range sends {
			if o.Kind == m.Kind {
				same++
			}
		}
		if m.Kind == "" || same != 1 {
			continue
		}
		var found *candidate
		n := 0
		for _, c := range cands {
			if c.kind == m.Kind {
				found, n = c, n+1
			}
		}
		if n == 1 && found.status != "" && found.status != briq.StatusFailed {
			out[i] = found
		}
	}
	return out
}

// claimedIDs returns, for each phone of byPhone, every message_id any send
// to it was ever given, earlier attempts included: a message in a
// conversation with a phone can only be claimed by a send to that phone.
func claimedIDs[T any](st *state.State, byPhone map[string]T) map[string]map[string]bool {
	claimed := make(map[string]map[string]bool, len(byPhone))
	for phone := range byPhone {
		claimed[phone] = map[string]bool{}
	}
	for s := range st.Sends(addrs.Pattern{}) {
		ids := claimed[s.Phone]
		if ids == nil {
			continue
		}
		if s.MessageID != "" {
			ids[s.MessageID] = true
		}
		for _, h := range s.History {
			if h.MessageID != "" {
				ids[h.MessageID] = true
			}
		}
	}
	return claimed
}
