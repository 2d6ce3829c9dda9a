package refresh

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/state"
)

// candidate is an outbound message at the provider that no send claims.
type candidate struct {
	id, conv string
	created  time.Time
	status   string // as listed; "" when the listing gives none
	failed   bool
}

// resolveUnknown applies Run's matching rule to every unknown send, one
// recipient phone per worker.
func (r *run) resolveUnknown(ctx context.Context) error {
	st := r.store.State()
	byPhone := map[string][]state.Send{}
	for s := range st.Sends(state.Pattern{}) {
		if s.Outcome == state.OutcomeUnknown {
			byPhone[s.Phone] = append(byPhone[s.Phone], s)
		}
	}
	if len(byPhone) == 0 {
		return nil
	}
	// A message in a conversation with PHONE can only be claimed by a send
	// to PHONE, so only those message_ids are needed.
	claimed := make(map[string]map[string]bool, len(byPhone))
	for phone := range byPhone {
		claimed[phone] = map[string]bool{}
	}
	for s := range st.Sends(state.Pattern{}) {
		if ids := claimed[s.Phone]; ids != nil && s.MessageID != "" {
			ids[s.MessageID] = true
		}
	}
	phones := make([]string, 0, len(byPhone))
	for p := range byPhone {
		phones = append(phones, p)
	}
	slices.Sort(phones)
	return forEach(ctx, len(phones), r.opts.Parallelism, func(ctx context.Context, i int) error {
		p := phones[i]
		return r.resolvePhone(ctx, p, byPhone[p], claimed[p])
	})
}

// resolvePhone resolves the unknown sends to one phone; claimed holds the
// message_ids the state records for sends to it.
func (r *run) resolvePhone(ctx context.Context, phone string, sends []state.Send, claimed map[string]bool) error {
	since := sends[0].IntentAt
	for _, s := range sends[1:] {
		if s.IntentAt.Before(since) {
			since = s.IntentAt
		}
	}
	since = since.Add(-r.opts.Skew)
	cands, err := r.candidates(ctx, phone, since, claimed)
	if err != nil {
		return err
	}
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
			status, _ := state.ParseProviderStatus(c[0].status)
			err = r.store.RecordResult(state.Result{Addr: s.Addr, Outcome: state.OutcomeAccepted,
				MessageID: c[0].id, ConversationID: c[0].conv, ProviderStatus: status})
			if err == nil {
				r.count(func(sum *Summary) { sum.Found++ })
			}
		case len(c) == 0 && r.now.Sub(s.IntentAt) >= r.opts.Settle:
			err = r.store.RecordResult(state.Result{Addr: s.Addr, Outcome: state.OutcomeRetry,
				ErrorMessage: fmt.Sprintf("refresh found no message to %s at the provider since the attempt of %s, so it never arrived",
					phone, s.IntentAt.UTC().Format(time.RFC3339))})
			if err == nil {
				r.count(func(sum *Summary) { sum.Absent++ })
			}
		case len(c) == 0:
			r.count(func(sum *Summary) { sum.TooRecent++ })
		default:
			r.count(func(sum *Summary) { sum.Ambiguous = append(sum.Ambiguous, s.Addr) })
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// candidates lists the outbound messages to phone created at or after since
// that no send claims and that did not fail.
func (r *run) candidates(ctx context.Context, phone string, since time.Time, claimed map[string]bool) ([]*candidate, error) {
	var convs []string
	err := eachPage(ctx, r, conversationPage, func(limit, offset int) (*briq.Page[briq.Conversation], error) {
		return r.c.ListConversations(ctx, briq.ConversationQuery{Recipient: phone, Limit: limit, Offset: offset})
	}, func(cv *briq.Conversation) {
		// The filter is documented as exact; checking it anyway keeps
		// another recipient's messages from ever becoming candidates.
		if normalizePhone(cv.RecipientPhone) == phone && !slices.Contains(convs, cv.ID) {
			convs = append(convs, cv.ID)
		}
	})
	if err != nil {
		return nil, err
	}
	var out []*candidate
	for _, conv := range convs {
		var found []*candidate
		statusless := false
		q := briq.MessageQuery{ConversationID: conv, Direction: briq.DirectionOutbound, Since: since}
		err := r.eachMessage(ctx, q, func(m *briq.Message) {
			// Only what certainly rules a message out is checked: a message
			// wrongly kept makes a send ambiguous, one wrongly dropped makes
			// it absent and so sent twice. Missing fields rule nothing out.
			if claimed[m.ID] || m.ConversationID != "" && m.ConversationID != conv ||
				!m.CreatedAt.IsZero() && m.CreatedAt.Before(since) ||
				slices.ContainsFunc(found, func(c *candidate) bool { return c.id == m.ID }) {
				return
			}
			found = append(found, &candidate{id: m.ID, conv: conv, created: m.CreatedAt.Time, status: m.Status,
				failed: m.Status == briq.StatusFailed})
			statusless = statusless || m.Status == ""
		})
		if err == nil && statusless {
			// The listing gives no status: ask for the failed ones.
			q.Status = briq.StatusFailed
			err = r.eachMessage(ctx, q, func(m *briq.Message) {
				for _, c := range found {
					if c.id == m.ID {
						c.failed = true
					}
				}
			})
		}
		if err != nil {
			return nil, err
		}
		for _, c := range found {
			if !c.failed {
				out = append(out, c)
			}
		}
	}
	return out, nil
}
