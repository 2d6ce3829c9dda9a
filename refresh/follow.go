package refresh

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/state"
)

// followed is an accepted send within the look-back, and what this run
// learnt about it.
type followed struct {
	send       state.Send
	needStatus bool // its recorded status is not final

	seen            bool      // the outbound listing showed its message
	suspect         bool      // seen, but its status came from a filter the server ignored
	conv            string    // its conversation
	created         time.Time // its message's created_at at the provider
	status          state.ProviderStatus
	errCode, errMsg string
	reply           *state.Reply // the earliest answer found
	window          state.Window // its conversation's, when read
}

// refusedLater returns the deferral of a send whose message failed with
// Meta's per-user marketing limit (131049), as this run or an earlier one
// learnt, at now.
func (f *followed) refusedLater(now time.Time) (state.Deferral, bool) {
	code, msg := f.errCode, f.errMsg
	if f.status == f.send.ProviderStatus {
		code, msg = f.send.ErrorCode, f.send.ErrorMessage
	}
	if f.status != state.StatusFailed || !briq.MarketingLimitCode(code) {
		return state.Deferral{}, false
	}
	return state.Deferral{Addr: f.send.Addr, MessageID: f.send.MessageID, ErrorCode: code, ErrorMessage: msg, At: now}, true
}

func (f *followed) needReply() bool   { return f.send.Reply == nil }
func (f *followed) outstanding() bool { return f.needStatus || f.needReply() }

// observe takes a status the provider reported, if it moves the send on.
func (f *followed) observe(status string) {
	if s, err := state.ParseProviderStatus(status); err == nil && advances(s, f.status) {
		f.status = s
	}
}

// followSet is the followed sends, indexed.
type followSet struct {
	byID      map[string]*followed   // by message_id
	byConv    map[string][]*followed // seen ones by conversation, oldest first
	convPhone map[string]string      // conversation_id -> phone
	// threadless counts the followed sends the state knows no
	// conversation of (answered without a conversation_id): answers in
	// threads not known yet may be theirs, found by the outbound listing.
	threadless int
	optOuts    map[string]state.OptOut
	// unpaired are inbound messages without paired_message_id in
	// conversations of followed sends, matched once byConv is known.
	unpaired []briq.Message
	// newest is the intent of the newest accepted send, followed or not;
	// zero when the state has none.
	newest time.Time
	// strangers are opt-out messages in conversations of no followed send
	// (older sends' threads), whose phones the state's sends tell.
	strangers []briq.Message
	// listedAt is the provider's clock as the inbound listing began (its
	// first page's Date), zero when it did not say.
	listedAt time.Time
}

// follow pulls statuses, replies and opt-outs for the followed sends and
// records them.
func (r *run) follow(ctx context.Context) error {
	fs := r.collect()
	if fs.newest.IsZero() {
		return nil // no thread of ours to read
	}
	if err := r.readInbound(ctx, fs); err != nil {
		return err
	}
	if err := r.readOutbound(ctx, fs); err != nil {
		return err
	}
	for i := range fs.unpaired {
		r.inbound(fs, &fs.unpaired[i], nil)
	}
	r.placeStrangers(fs)
	if err := r.lookUp(ctx, fs); err != nil {
		return err
	}
	if err := r.readWindows(ctx, fs); err != nil {
		return err
	}
	return r.record(ctx, fs)
}

func (r *run) collect() *followSet {
	fs := &followSet{byID: map[string]*followed{}, byConv: map[string][]*followed{},
		convPhone: map[string]string{}, optOuts: map[string]state.OptOut{}}
	cutoff := r.now.Add(-r.opts.LookBack)
	for s := range r.store.State().Sends(addrs.Pattern{}) {
		if s.Outcome != state.OutcomeAccepted || s.MessageID == "" {
			continue
		}
		if s.IntentAt.After(fs.newest) {
			fs.newest = s.IntentAt
		}
		if s.IntentAt.Before(cutoff) {
			continue
		}
		fs.byID[s.MessageID] = &followed{send: s, needStatus: !final(s.ProviderStatus), status: s.ProviderStatus,
			conv: s.ConversationID}
		if s.ConversationID != "" {
			fs.convPhone[s.ConversationID] = s.Phone
		} else {
			fs.threadless++
		}
	}
	return fs
}

// since returns the oldest intent among the sends keep selects, less the
// skew margin, and whether keep selected any.
func (r *run) since(fs *followSet, keep func(*followed) bool) (time.Time, bool) {
	var t time.Time
	for _, f := range fs.byID {
		if keep(f) && (t.IsZero() || f.send.IntentAt.Before(t)) {
			t = f.send.IntentAt
		}
	}
	return t.Add(-r.opts.Skew), !t.IsZero()
}

// readOutbound lists the outbound messages since the oldest outstanding
// send: which followed sends the listing shows, when each was created and,
// when the listing says, its status. Without statuses in the listing it
// reads it once more per status some send has yet to reach. It reads
// nothing when no send needs a status and no answer needs matching by time,
// as in most refreshes of sends that were all read.
func (r *run) readOutbound(ctx context.Context, fs *followSet) error {
	since, ok := r.since(fs, (*followed).outstanding)
	_, statuses := r.since(fs, func(f *followed) bool { return f.needStatus })
	if !ok || !statuses && len(fs.unpaired) == 0 {
		return nil
	}
	statusless := false
	err := r.eachMessage(ctx, briq.MessageQuery{Direction: briq.DirectionOutbound, Since: since}, func(m *briq.Message) {
		f := fs.byID[m.ID]
		if f == nil {
			return
		}
		f.seen, f.created = true, m.CreatedAt.Time
		if m.ConversationID != "" {
			f.conv = m.ConversationID
		}
		if m.Status != "" {
			f.observe(m.Status)
			if f.status == state.StatusFailed && f.errCode == "" {
				f.errCode, f.errMsg = m.Failure()
			}
		} else if f.needStatus {
			statusless = true
		}
	})
	if err != nil {
		return err
	}
	// What each status-filtered pass showed, applied once every pass is
	// in: the filter's values are not documented, so its answers are used
	// only if they are consistent.
	shown := map[state.ProviderStatus]map[*followed]listed{}
	tentative := func(f *followed) state.ProviderStatus {
		cur := f.status
		for _, pass := range shown {
			if l, ok := pass[f]; ok {
				if st, err := state.ParseProviderStatus(l.status); err == nil && advances(st, cur) {
					cur = st
				}
			}
		}
		return cur
	}
	for _, want := range []state.ProviderStatus{state.StatusSent, state.StatusDelivered, state.StatusRead, state.StatusFailed} {
		if !statusless {
			break
		}
		// The earlier passes' answers already count for where this one
		// starts, as they would if they were applied; but the failed pass
		// covers every send not final before this run, so that a server
		// that ignores the filter shows itself.
		since, ok := r.since(fs, func(f *followed) bool {
			if want == state.StatusFailed {
				return f.needStatus && advances(want, f.status)
			}
			return f.needStatus && advances(want, tentative(f))
		})
		if !ok {
			continue
		}
		shown[want] = map[*followed]listed{}
		q := briq.MessageQuery{Direction: briq.DirectionOutbound, Status: want.String(), Since: since}
		err := r.eachMessage(ctx, q, func(m *briq.Message) {
			if f := fs.byID[m.ID]; f != nil {
				// A status on the item wins over the filter, in case a
				// server ignores a filter value it does not know.
				shown[want][f] = listed{cmp.Or(m.Status, want.String()), m.Status != ""}
			}
		})
		if err != nil {
			return err
		}
	}
	if filterIgnored(shown) {
		// A message cannot be failed and also delivered or read: the server
		// ignored the filter. Only statuses the items carry count; the
		// sends are looked up one by one instead (up to MaxLookups).
		for _, pass := range shown {
			for f, l := range pass {
				if l.fromItem {
					f.observe(l.status)
				} else {
					f.suspect = true
				}
			}
		}
	} else {
		for _, pass := range shown {
			for f, l := range pass {
				f.observe(l.status)
			}
		}
	}
	for _, f := range fs.byID {
		if f.seen && f.conv != "" {
			fs.byConv[f.conv] = append(fs.byConv[f.conv], f)
			if f.send.ConversationID == "" {
				fs.convPhone[f.conv] = f.send.Phone
			}
		}
	}
	for _, list := range fs.byConv {
		// Equal creation times are told apart by intent, then address, so
		// the choice does not depend on map order.
		slices.SortFunc(list, func(a, b *followed) int {
			return cmp.Or(a.created.Compare(b.created), a.send.IntentAt.Compare(b.send.IntentAt), compareAddr(a.send.Addr, b.send.Addr))
		})
	}
	return nil
}

// listed is a status a status-filtered listing gave a send: the item's own,
// or else the filter's.
type listed struct {
	status   string
	fromItem bool
}

// filterIgnored reports whether the status-filtered listings contradict
// each other: one message listed both as failed and as delivered or read,
// which Briq's lifecycle rules out (failed is the alternative to delivery),
// so the server did not apply the filter.
func filterIgnored(shown map[state.ProviderStatus]map[*followed]listed) bool {
	for f := range shown[state.StatusFailed] {
		if _, ok := shown[state.StatusDelivered][f]; ok {
			return true
		}
		if _, ok := shown[state.StatusRead][f]; ok {
			return true
		}
	}
	return false
}

// readInbound lists the inbound messages since the oldest followed send, or
// since the inbound messages were last read (inboundFrom) when that is
// earlier, keeping those that need matching by time for after
// readOutbound.
func (r *run) readInbound(ctx context.Context, fs *followSet) error {
	since, ok := r.since(fs, func(*followed) bool { return true })
	if from := r.inboundFrom(fs); !ok || from.Before(since) {
		since = from
	}
	var err error
	fs.listedAt, err = r.listMessages(ctx, briq.MessageQuery{Direction: briq.DirectionInbound, Since: since}, func(m *briq.Message) {
		if m.PairedMessageID == "" && (fs.convPhone[m.ConversationID] != "" || fs.threadless > 0) {
			fs.unpaired = append(fs.unpaired, *m)
			return
		}
		r.inbound(fs, m, nil)
	})
	return err
}

// inbound takes in an inbound message: an opt-out for its phone if its text
// is a keyword, and the reply of the send it answers (owner, when known)
// if that send has none yet and no earlier answer was found. Messages in
// conversations of no followed send are not ours and are ignored.
func (r *run) inbound(fs *followSet, m *briq.Message, owner *followed) {
	if owner == nil && m.PairedMessageID != "" {
		// The question names the phone, whether or not its thread is
		// known (a send answered without a conversation_id).
		owner = fs.byID[m.PairedMessageID]
	}
	phone := fs.convPhone[m.ConversationID]
	if owner != nil {
		phone = owner.send.Phone
		if owner.conv == "" {
			owner.conv = m.ConversationID
		}
	}
	// An answer whose content cannot be read is an answer all the same.
	content, _ := briq.ParseReplyContent(m.Content)
	optOut := r.isOptOut(content.Text, content.ID)
	if phone == "" {
		// One listed before the mark was placed then, or is not ours.
		if read := r.store.State().InboundRead(); optOut && !m.CreatedAt.Before(read.Add(-r.opts.Skew)) {
			fs.strangers = append(fs.strangers, *m)
		}
		return
	}
	at := m.CreatedAt.Time
	if optOut {
		fs.optOut(phone, m, content)
	}
	f := owner
	if f == nil {
		f = fs.answered(m, content.ID, r.opts.Offers)
	}
	if f == nil || !f.needReply() {
		return
	}
	if f.reply == nil || at.Before(f.reply.At) {
		f.reply = &state.Reply{ID: content.ID, Title: content.Title, Text: content.Text, At: at, MessageID: m.ID}
	}
}

// optOut takes the opt-out of phone that m, whose content is c, says, if
// it is the phone's earliest one found.
func (fs *followSet) optOut(phone string, m *briq.Message, c briq.ReplyContent) {
	at := m.CreatedAt.Time
	if o, ok := fs.optOuts[phone]; !ok || at.Before(o.At) {
		fs.optOuts[phone] = state.OptOut{Phone: phone, At: at, Text: cmp.Or(c.Text, c.ID), MessageID: m.ID}
	}
}

// inboundFrom returns where the inbound listing starts for opt-outs: where
// the last complete one did (State.InboundRead) or, for a state without
// it, the newest accepted send; less Skew.
func (r *run) inboundFrom(fs *followSet) time.Time {
	from := r.store.State().InboundRead()
	if from.IsZero() {
		from = fs.newest
	}
	return from.Add(-r.opts.Skew)
}

// placeStrangers finds the phones of the opt-outs sent in threads of no
// followed send: the phone of a send the state records in that
// conversation, or whose message the opt-out answers. One pass over the
// state, only when there are such opt-outs; one in a thread the state
// does not know is not ours and is ignored.
func (r *run) placeStrangers(fs *followSet) {
	if len(fs.strangers) == 0 {
		return
	}
	phones := map[string]string{} // by conversation_id and by message_id
	for _, m := range fs.strangers {
		phones[m.ConversationID], phones[m.PairedMessageID] = "", ""
	}
	delete(phones, "")
	note := func(id, phone string) {
		if p, ok := phones[id]; ok && p == "" {
			phones[id] = phone
		}
	}
	for s := range r.store.State().Sends(addrs.Pattern{}) {
		note(s.ConversationID, s.Phone)
		note(s.MessageID, s.Phone)
		for _, h := range s.History {
			note(h.ConversationID, s.Phone)
			note(h.MessageID, s.Phone)
		}
	}
	for i := range fs.strangers {
		m := &fs.strangers[i]
		phone := phones[m.PairedMessageID]
		if phone == "" {
			phone = phones[m.ConversationID]
		}
		if phone != "" {
			content, _ := briq.ParseReplyContent(m.Content)
			fs.optOut(phone, m, content)
		}
	}
}

// answered returns the followed send an inbound message answers: the one its
// paired_message_id names or, as Briq does not say how answers are paired,
// for a message without one the latest followed send in its conversation
// created at or before it; for a button or list answer (tapped, its id),
// the latest that offered that id when offers can tell (two questions in
// one thread), else the latest that could carry buttons, not a text or
// media sent after the question (a reminder), when there is one.
func (fs *followSet) answered(m *briq.Message, tapped string, offers func(state.Send) ([]string, bool)) *followed {
	if m.PairedMessageID != "" {
		return fs.byID[m.PairedMessageID]
	}
	var last *followed
	var asked []*followed // the sends that could carry buttons, oldest first
	for _, f := range fs.byConv[m.ConversationID] {
		if f.created.After(m.CreatedAt.Time) {
			break
		}
		last = f
		if k := f.send.Kind; k != state.KindText && k != state.KindMedia {
			asked = append(asked, f)
		}
	}
	if tapped == "" || len(asked) == 0 {
		return last
	}
	if offers != nil && len(asked) > 1 {
		for _, f := range slices.Backward(asked) {
			if ids, ok := offers(f.send); ok && slices.Contains(ids, tapped) {
				return f
			}
		}
	}
	return asked[len(asked)-1]
}

// lookUp fetches, one by one and newest first, the sends whose status is
// not final that the outbound listing did not show, and those it showed
// failed without a reason (a status-filtered listing does), whose reason
// decides whether they are due again (Meta's 131049), up to
// Options.MaxLookups; the answer comes with the status. A send that only
// lacks a reply is not looked up: an answer makes its conversation active
// again, and the inbound listing shows it.
func (r *run) lookUp(ctx context.Context, fs *followSet) error {
	var todo []*followed
	for _, f := range fs.byID {
		unseen := (!f.seen || f.suspect) && !final(f.status)
		unexplained := f.status == state.StatusFailed && f.errCode == ""
		if f.needStatus && (unseen || unexplained) && r.targeted(f.send.Addr) {
			todo = append(todo, f)
		}
	}
	slices.SortFunc(todo, func(a, b *followed) int { return b.send.IntentAt.Compare(a.send.IntentAt) })
	n := min(len(todo), max(r.opts.MaxLookups, 0))
	r.count(func(s *Summary) { s.NotReached += len(todo) - n })
	var mu sync.Mutex // guards fs and the followed sends
	return forEach(ctx, n, r.opts.Parallelism, func(ctx context.Context, i int) error {
		f := todo[i]
		d, err := call(ctx, r, func() (*briq.MessageDetail, error) {
			r.lookups.Add(1)
			return r.c.GetMessage(ctx, f.send.MessageID)
		})
		if errors.Is(err, briq.ErrNotFound) {
			// The provider no longer knows the message: nothing to learn.
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		f.observe(d.Status)
		if f.status == state.StatusFailed {
			f.errCode, f.errMsg = d.Failure()
		}
		if d.Reply != nil {
			r.inbound(fs, d.Reply, f)
		}
		return nil
	})
}

// markLag is how far behind where refresh's inbound listing must begin
// anyway the mark of how far it has read may fall before a run that
// records nothing else moves it: a record raises the state's serial, which
// makes a saved plan stale, so an idle cron run every 15 minutes moves it
// once a day, and lists at most a day more than it needs.
const markLag = 24 * time.Hour

// record writes what the run learnt: status and reply updates, then new
// opt-outs, submitting many at once so the store commits them in groups;
// last, that the inbound messages were read up to where the listing began
// (by the provider's clock), which is where the next run's listing begins
// for opt-outs, when the run recorded anything or the mark lags a day.
func (r *run) record(ctx context.Context, fs *followSet) error {
	var updates []state.Update
	var deferrals []state.Deferral
	for _, f := range fs.byID {
		if !r.targeted(f.send.Addr) {
			continue
		}
		u := state.Update{Addr: f.send.Addr}
		if d, ok := f.refusedLater(r.now); ok {
			// Meta's 131049 after Briq accepted it: due again a day later,
			// as when it answers the send (SPEC §7). A status recorded
			// failed with it by an earlier ujumbe is deferred now.
			deferrals = append(deferrals, d)
		} else if f.status != f.send.ProviderStatus {
			u.ProviderStatus = f.status
			if f.status >= state.StatusDelivered && f.status != state.StatusFailed && f.send.DeliveredAt.IsZero() {
				u.DeliveredAt = r.now
			}
			if f.status == state.StatusRead && f.send.ReadAt.IsZero() {
				u.ReadAt = r.now
			}
			u.ErrorCode, u.ErrorMessage = f.errCode, f.errMsg
		}
		if f.needReply() {
			u.Reply = f.reply
		}
		if f.windowChanged() {
			u.Window = f.window
		}
		if f.send.ConversationID == "" {
			u.ConversationID = f.conv
		}
		if u.ProviderStatus != state.StatusNone || u.Reply != nil || !u.Window.SeenAt.IsZero() || u.ConversationID != "" {
			updates = append(updates, u)
		}
	}
	err := forEach(ctx, len(updates), writers, func(_ context.Context, i int) error {
		u := updates[i]
		if err := r.store.Refresh(u); err != nil {
			return err
		}
		r.count(func(s *Summary) {
			if u.ProviderStatus != state.StatusNone {
				s.Statuses++
			}
			if u.Reply != nil {
				s.Replies++
			}
			if !u.Window.SeenAt.IsZero() {
				s.Windows++
			}
		})
		return nil
	})
	if err != nil {
		return err
	}
	err = forEach(ctx, len(deferrals), writers, func(_ context.Context, i int) error {
		if err := r.store.Defer(deferrals[i]); err != nil {
			return err
		}
		r.count(func(s *Summary) { s.Deferred++ })
		return nil
	})
	if err != nil {
		return err
	}
	st := r.store.State()
	var optOuts []state.OptOut
	for phone, o := range fs.optOuts {
		if _, ok := st.OptOut(phone); !ok {
			optOuts = append(optOuts, o)
		}
	}
	err = forEach(ctx, len(optOuts), writers, func(_ context.Context, i int) error {
		if err := r.store.OptOut(optOuts[i]); err != nil {
			return err
		}
		r.count(func(s *Summary) { s.OptOuts++ })
		return nil
	})
	if err != nil {
		return err
	}
	st, mark := r.store.State(), fs.listedAt
	if mark.IsZero() {
		mark = r.now
	}
	need := mark
	if oldest, ok := r.since(fs, func(*followed) bool { return true }); ok {
		need = oldest
	}
	if st.Serial() == r.serial && !st.InboundRead().Before(need.Add(-markLag)) {
		return nil
	}
	return r.store.ReadInbound(mark)
}
