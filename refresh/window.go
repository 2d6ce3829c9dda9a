package refresh

import (
	"context"
	"slices"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/state"
)

// maxWindowPhones is how many conversations readWindows reads one
// recipient at a time; with more it reads the workspace's whole listing,
// 100 conversations a page, instead.
const maxWindowPhones = 20

// readWindows reads the 24h window of the conversations of the followed
// sends Options.Windows selects, as Briq reports it (window.open,
// window.expires_at), so that plan can prefer it to its own model.
func (r *run) readWindows(ctx context.Context, fs *followSet) error {
	if r.opts.Windows == nil {
		return nil
	}
	byConv := map[string][]*followed{}
	phones := map[string]bool{}
	for _, f := range fs.byID {
		if f.send.ConversationID != "" && r.opts.Windows(f.send) && r.targeted(f.send.Addr) {
			byConv[f.send.ConversationID] = append(byConv[f.send.ConversationID], f)
			phones[f.send.Phone] = true
		}
	}
	if len(byConv) == 0 {
		return nil
	}
	take := func(cv *briq.Conversation) {
		w := state.Window{SeenAt: r.now, Open: cv.IsActive}
		if cv.Window != nil {
			w.Open, w.ExpiresAt = cv.Window.Open, cv.Window.ExpiresAt.Time
		}
		for _, f := range byConv[cv.ID] {
			f.window = w
		}
	}
	fetch := func(q briq.ConversationQuery) error {
		return eachPage(ctx, r, conversationPage, func(limit, offset int) (*briq.Page[briq.Conversation], error) {
			q.Limit, q.Offset = limit, offset
			return r.c.ListConversations(ctx, q)
		}, take)
	}
	if len(phones) > maxWindowPhones {
		return fetch(briq.ConversationQuery{Status: briq.ConversationsAll})
	}
	list := make([]string, 0, len(phones))
	for p := range phones {
		list = append(list, p)
	}
	slices.Sort(list)
	for _, p := range list {
		if err := fetch(briq.ConversationQuery{Recipient: p, Status: briq.ConversationsAll}); err != nil {
			return err
		}
	}
	return nil
}

// windowChanged reports whether refresh saw a window for f that differs
// from the recorded one. An unchanged window is not recorded again, so the
// recorded SeenAt is when the provider first reported it so.
func (f *followed) windowChanged() bool {
	w, cur := f.window, f.send.Window
	// The state keeps times to the millisecond: compare them so.
	return !w.SeenAt.IsZero() && (cur.SeenAt.IsZero() || w.Open != cur.Open || w.ExpiresAt.UnixMilli() != cur.ExpiresAt.UnixMilli())
}
