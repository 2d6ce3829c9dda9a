package state

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/internal/intern"
)

// Version is the format version of the files this package writes. It refuses
// files of a later version and reads every earlier one: version 2 added a
// send's attempt history (the "h" field), which version 1 files lack, and
// version 3 the variant a send was made with (the "vr" field), which
// earlier files lack (their sends load with no variant), and the outcome
// "deferred" (OutcomeDeferred), which earlier versions never hold.
const Version = 3

var (
	// ErrConflict marks a change the recorded state does not allow, such as
	// a second intent for an accepted send or a result without an intent.
	ErrConflict = errors.New("conflicts with the recorded state")
	// ErrNoMatch marks a Remove or Move whose pattern selects no send.
	ErrNoMatch = errors.New("no send matches")
)

// variants numbers the variant names of every rec in the process: a
// campaign has a few variants and a million sends.
var variants intern.Table

// State is the set of recorded sends and opt-outs. Its methods are safe for
// concurrent use; a Store changes it only after taking its lock.
type State struct {
	mu      sync.RWMutex
	lineage string
	serial  uint64
	n       int
	groups  map[groupKey]*group
	last    *group // the group used last: loading meets one group at a time
	optOuts map[string]OptOut
	loading bool     // st is private to load, which may change recs in place
	slab    []rec    // where load takes new recs from
	changes *Changes // what apply changed, when tracked (TrackChanges)
}

// groupKey names the sends of one message of one campaign.
type groupKey struct{ campaign, message string }

type group struct {
	key   groupKey
	sends map[string]*rec // by recipient key
}

func newState() *State {
	return &State{groups: map[groupKey]*group{}, optOuts: map[string]OptOut{}}
}

// Lineage returns the random id given to the state when it was first written,
// or "" for a state that has never been written. It never changes, so a saved
// plan can tell its state from a different one at the same path.
func (st *State) Lineage() string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.lineage
}

// Serial returns the number of changes committed since the state was
// created; every committed record adds one.
func (st *State) Serial() uint64 {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.serial
}

// Len returns the number of sends.
func (st *State) Len() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.n
}

// Get returns the send at a.
func (st *State) Get(a addrs.Addr) (Send, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	g, r := st.lookup(a)
	if r == nil {
		return Send{}, false
	}
	return r.send(addrs.Addr{Campaign: g.key.campaign, Message: g.key.message, Key: a.Key}), true
}

// Sends yields the sends p selects in address order (campaign, message, then
// key, bytewise). Sends recorded while the loop runs may or may not appear;
// the loop body may record into the Store that owns st.
func (st *State) Sends(p addrs.Pattern) iter.Seq[Send] {
	return func(yield func(Send) bool) {
		st.mu.RLock()
		var gs []*group
		for k, g := range st.groups {
			if (p.Campaign == "" || p.Campaign == k.campaign) && (p.Message == "" || p.Message == k.message) {
				gs = append(gs, g)
			}
		}
		st.mu.RUnlock()
		slices.SortFunc(gs, func(a, b *group) int {
			return cmp.Or(cmp.Compare(a.key.campaign, b.key.campaign), cmp.Compare(a.key.message, b.key.message))
		})
		type item struct {
			key string
			r   *rec
		}
		var items []item
		for _, g := range gs {
			// Copy one group's entries under the lock and yield without it,
			// so a loop body that records (and so needs the write lock)
			// cannot deadlock. Records are immutable once stored.
			items = items[:0]
			st.mu.RLock()
			if p.Key != "" {
				if r := g.sends[p.Key]; r != nil {
					items = append(items, item{p.Key, r})
				}
			} else {
				for k, r := range g.sends {
					items = append(items, item{k, r})
				}
			}
			st.mu.RUnlock()
			slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.key, b.key) })
			for _, it := range items {
				if !yield(it.r.send(addrs.Addr{Campaign: g.key.campaign, Message: g.key.message, Key: it.key})) {
					return
				}
			}
		}
	}
}

// messages counts the sends of each message, in address order.
func (st *State) messages() []messageCount {
	st.mu.RLock()
	out := make([]messageCount, 0, len(st.groups))
	for k, g := range st.groups {
		out = append(out, messageCount{k.campaign, k.message, len(g.sends)})
	}
	st.mu.RUnlock()
	slices.SortFunc(out, func(a, b messageCount) int {
		return cmp.Or(cmp.Compare(a.Campaign, b.Campaign), cmp.Compare(a.Message, b.Message))
	})
	return out
}

// OptOut returns the opt-out recorded for phone.
func (st *State) OptOut(phone string) (OptOut, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	o, ok := st.optOuts[phone]
	return o, ok
}

// OptOuts returns every opt-out, by phone number.
func (st *State) OptOuts() []OptOut {
	st.mu.RLock()
	out := make([]OptOut, 0, len(st.optOuts))
	for _, o := range st.optOuts {
		out = append(out, o)
	}
	st.mu.RUnlock()
	slices.SortFunc(out, func(a, b OptOut) int { return cmp.Compare(a.Phone, b.Phone) })
	return out
}

// group returns the group of campaign and message, creating it if create.
// The caller holds the write lock if create.
func (st *State) group(campaign, message string, create bool) *group {
	if g := st.last; g != nil && g.key.campaign == campaign && g.key.message == message {
		return g
	}
	k := groupKey{campaign, message}
	g := st.groups[k]
	if g == nil && create {
		// Copies, so that the state does not keep alive whatever buffer
		// the caller's strings are part of.
		k = groupKey{strings.Clone(campaign), strings.Clone(message)}
		g = &group{key: k, sends: map[string]*rec{}}
		st.groups[k] = g
	}
	if g != nil && create {
		st.last = g
	}
	return g
}

func (st *State) lookup(a addrs.Addr) (*group, *rec) {
	g := st.group(a.Campaign, a.Message, false)
	if g == nil {
		return nil, nil
	}
	return g, g.sends[a.Key]
}

// put stores r (whose key is a.Key) at a, replacing cur, what lookup(a)
// found there.
func (st *State) put(a addrs.Addr, r rec, cur *rec) {
	g := st.group(a.Campaign, a.Message, true)
	p := cur
	switch {
	case p != nil && st.loading:
		// Nobody else sees a state being loaded: overwrite in place rather
		// than allocate, which makes replaying a journal much cheaper.
		*p = r
	case st.loading:
		// Take recs from a block, too: fewer objects for the collector.
		if len(st.slab) == 0 {
			st.slab = make([]rec, 1024)
		}
		p, st.slab = &st.slab[0], st.slab[1:]
		*p = r
	default:
		p = new(rec)
		*p = r
	}
	n := len(g.sends)
	// Assigning over an entry also replaces its key with p's (the runtime
	// does that for string keys so as not to keep an old backing store
	// alive), so the old string is released.
	g.sends[p.key()] = p
	st.n += len(g.sends) - n
}

// insert stores r at a, which must be free.
func (st *State) insert(a addrs.Addr, r *rec) error {
	return st.insertLoaded(st.group(a.Campaign, a.Message, true), r)
}

// insertLoaded stores r in g, where its key must be free. The caller holds
// the write lock, or is loading st (and so its only user).
func (st *State) insertLoaded(g *group, r *rec) error {
	n := len(g.sends)
	g.sends[r.key()] = r
	if len(g.sends) == n {
		return fmt.Errorf("%s appears twice", addrs.Addr{Campaign: g.key.campaign, Message: g.key.message, Key: r.key()})
	}
	st.n++
	return nil
}

func (st *State) remove(g *group, key string) {
	delete(g.sends, key)
	st.n--
	if len(g.sends) == 0 {
		delete(st.groups, g.key)
		if st.last == g {
			st.last = nil
		}
	}
}

// apply makes the change journal record r describes, or returns why it may
// not, leaving st unchanged. It returns how many sends were touched. The
// caller holds the write lock and adds one to the serial.
func (st *State) apply(r *record) (int, error) {
	a := r.send.Addr
	switch r.op {
	case opOptOut:
		o := OptOut{Phone: strings.Clone(r.optOut.Phone), At: fromMillis(millis(r.optOut.At)),
			Text: strings.Clone(r.optOut.Text), MessageID: strings.Clone(r.optOut.MessageID)}
		st.optOuts[o.Phone] = o
		return 1, nil

	case opIntent:
		s := Send{Addr: a, Phone: r.send.Phone, Digest: r.send.Digest, Variant: r.send.Variant, Attempts: 1,
			IntentAt: r.send.IntentAt, UpdatedAt: r.send.IntentAt}
		_, cur := st.lookup(a)
		if cur != nil {
			if !cur.outcome.Startable() && !r.replace {
				return 0, conflictf("%s is already %s%s; only an explicit replace sends it again", a, cur.outcome, idNote(cur.messageID()))
			}
			s.Attempts = int(cur.attempts) + 1
			prev := cur.send(a)
			s.History = appendAttempt(prev.History, &prev)
		}
		st.put(a, pack(&s, r.text), cur)
		return 1, nil

	case opResult:
		_, cur := st.lookup(a)
		if cur == nil {
			return 0, conflictf("%s has no recorded intent", a)
		}
		if cur.outcome != OutcomeUnknown {
			return 0, conflictf("%s has no attempt in doubt: it is %s%s", a, cur.outcome, idNote(cur.messageID()))
		}
		s := cur.send(a)
		if id := r.send.MessageID; id != "" && s.MessageID != "" && id != s.MessageID {
			// Another message than the one recorded: keep that one too.
			s.History = appendAttempt(s.History, &s)
		}
		s.Outcome = r.send.Outcome
		s.MessageID = cmp.Or(r.send.MessageID, s.MessageID)
		s.ConversationID = cmp.Or(r.send.ConversationID, s.ConversationID)
		s.ProviderStatus = r.send.ProviderStatus
		s.ErrorCode = r.send.ErrorCode
		s.ErrorMessage = r.send.ErrorMessage
		s.ResultAt = r.send.ResultAt
		s.UpdatedAt = r.send.ResultAt
		st.put(a, pack(&s, ""), cur)
		return 1, nil

	case opRefresh:
		_, cur := st.lookup(a)
		if cur == nil || cur.messageID() == "" {
			return 0, conflictf("%s has no message_id to refresh", a)
		}
		s := cur.send(a)
		u := &r.send
		if u.ProviderStatus != StatusNone {
			s.ProviderStatus = u.ProviderStatus
		}
		if !u.DeliveredAt.IsZero() {
			s.DeliveredAt = u.DeliveredAt
		}
		if !u.ReadAt.IsZero() {
			s.ReadAt = u.ReadAt
		}
		if u.Reply != nil {
			s.Reply = u.Reply
		}
		if !u.Window.SeenAt.IsZero() {
			s.Window = u.Window
		}
		if u.ErrorCode != "" || u.ErrorMessage != "" {
			s.ErrorCode, s.ErrorMessage = u.ErrorCode, u.ErrorMessage
		}
		s.UpdatedAt = u.UpdatedAt
		st.put(a, pack(&s, ""), cur)
		return 1, nil

	case opRemove:
		var victims []addrs.Addr
		st.each(r.from, func(a addrs.Addr, _ *rec) { victims = append(victims, a) })
		if len(victims) == 0 {
			return 0, fmt.Errorf("remove %s: %w", patternText(r.from), ErrNoMatch)
		}
		for _, a := range victims {
			g, _ := st.lookup(a)
			st.remove(g, a.Key)
		}
		return len(victims), nil

	case opMove:
		var err error
		r.counts, err = st.move(r.moves)
		n := 0
		for _, c := range r.counts {
			n += c
		}
		return n, err
	}
	return 0, fmt.Errorf("unknown operation %d", r.op)
}

// Move re-addresses the sends From selects to the same place under To; both
// patterns fix the same parts.
type Move struct {
	From, To addrs.Pattern
}

// move makes every move in ms, or none: it returns how many sends each moved
// or, leaving st unchanged, why they cannot all be made. A move that selects
// nothing is skipped, unless none selects anything (ErrNoMatch). A send that
// two moves select, a destination that exists, and a destination two moves
// share are conflicts.
func (st *State) move(ms []Move) ([]int, error) {
	type step struct {
		from, to addrs.Addr
		r        *rec
	}
	var steps []step
	counts := make([]int, len(ms))
	by := map[addrs.Addr]int{}    // the move that takes each send
	dests := map[addrs.Addr]int{} // the move that fills each destination
	var err error
	for i, m := range ms {
		st.each(m.From, func(a addrs.Addr, r *rec) {
			b := a
			b.Campaign = m.To.Campaign
			if m.To.Message != "" {
				b.Message = m.To.Message
			}
			if m.To.Key != "" {
				b.Key = m.To.Key
			}
			if j, dup := by[a]; dup && err == nil {
				err = conflictf("cannot move %s to both %s and %s", a, ms[j].To, m.To)
			}
			if j, dup := dests[b]; dup && err == nil {
				err = conflictf("cannot move %s and %s both to %s: %s would be taken twice", ms[j].From, m.From, m.To, b)
			}
			by[a], dests[b] = i, i
			steps = append(steps, step{a, b, r})
			counts[i]++
		})
	}
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		froms := make([]string, len(ms))
		for i, m := range ms {
			froms[i] = m.From.String()
		}
		return nil, fmt.Errorf("move %s: %w", strings.Join(froms, ", "), ErrNoMatch)
	}
	for _, s := range steps {
		if _, cur := st.lookup(s.to); cur != nil {
			return nil, conflictf("cannot move %s to %s: %s already exists", ms[by[s.from]].From, ms[by[s.from]].To, s.to)
		}
	}
	for _, s := range steps {
		g, _ := st.lookup(s.from)
		st.remove(g, s.from.Key)
		snd := s.r.send(s.to) // repacked: the key is part of the rec
		st.put(s.to, pack(&snd, ""), nil)
	}
	return counts, nil
}

// each calls fn for every send p selects, in no particular order; fn must
// not change st.
func (st *State) each(p addrs.Pattern, fn func(addrs.Addr, *rec)) {
	for k, g := range st.groups {
		if (p.Campaign != "" && p.Campaign != k.campaign) || (p.Message != "" && p.Message != k.message) {
			continue
		}
		for key, r := range g.sends {
			if p.Key == "" || p.Key == key {
				fn(addrs.Addr{Campaign: k.campaign, Message: k.message, Key: key}, r)
			}
		}
	}
}

func patternText(p addrs.Pattern) string {
	if p.Campaign == "" {
		return "every send"
	}
	return p.String()
}

func idNote(id string) string {
	if id == "" {
		return ""
	}
	return " (message_id " + id + ")"
}

// appendAttempt returns history with the latest attempt of s added, unless
// that attempt left nothing worth keeping (no result, no id, no error).
func appendAttempt(history []Attempt, s *Send) []Attempt {
	if s.Outcome == OutcomeUnknown && s.MessageID == "" && s.ErrorCode == "" {
		return history
	}
	return append(slices.Clip(history), Attempt{At: s.IntentAt, Outcome: s.Outcome,
		MessageID: s.MessageID, ConversationID: s.ConversationID, ErrorCode: s.ErrorCode})
}

// conflict is an ErrConflict with its own message.
type conflict struct{ msg string }

func conflictf(format string, args ...any) error {
	return &conflict{fmt.Sprintf(format, args...)}
}

func (c *conflict) Error() string        { return c.msg }
func (c *conflict) Is(target error) bool { return target == ErrConflict }

// rec is the compact form of a Send kept in memory, about a third of a
// Send's size, because every plan loads a state of up to a million sends.
// Its text fields share one string, of which the key is also the map key.
// Once the state is loaded, a rec is never changed; a change stores a new
// one, so readers may use a rec without holding the lock.
type rec struct {
	str      string    // key, phone, message id, conversation id, error code, error message
	end      [5]uint16 // where each of the first five ends in str
	digest   Digest
	attempts int32
	outcome  Outcome
	status   ProviderStatus
	variant  uint16 // the variant's number in variants, in what would be padding
	// Unix milliseconds; 0 is the zero time.
	intentAt, resultAt, updatedAt, deliveredAt, readAt int64
	more                                               *recMore // nil for most sends
}

// recMore holds the fields few sends have, so the others do not pay for them.
type recMore struct {
	reply   *Reply
	history []Attempt
	window  Window
}

// pack builds the rec for s. Its text fields must be checked (at most
// maxField bytes each) before. If text already holds them as the rec lays
// them out (a decoded record's text does), the rec shares it.
func pack(s *Send, text string) rec {
	r := rec{
		digest:      s.Digest,
		attempts:    int32(min(s.Attempts, 1<<31-1)),
		outcome:     s.Outcome,
		status:      s.ProviderStatus,
		variant:     variants.ID(s.Variant),
		intentAt:    millis(s.IntentAt),
		resultAt:    millis(s.ResultAt),
		updatedAt:   millis(s.UpdatedAt),
		deliveredAt: millis(s.DeliveredAt),
		readAt:      millis(s.ReadAt),
	}
	fields := [...]string{s.Addr.Key, s.Phone, s.MessageID, s.ConversationID, s.ErrorCode, s.ErrorMessage}
	n, same := 0, true
	for i, f := range fields {
		same = same && len(text) >= n+len(f) && text[n:n+len(f)] == f
		n += len(f)
		if i < len(r.end) {
			r.end[i] = uint16(n)
		}
	}
	if same && len(text) == n {
		r.str = text
	} else {
		b := make([]byte, 0, n)
		for _, f := range fields {
			b = append(b, f...)
		}
		r.str = string(b)
	}
	if s.Reply == nil && len(s.History) == 0 && s.Window.SeenAt.IsZero() {
		return r
	}
	r.more = &recMore{}
	if w := s.Window; !w.SeenAt.IsZero() {
		r.more.window = Window{SeenAt: fromMillis(millis(w.SeenAt)), Open: w.Open, ExpiresAt: fromMillis(millis(w.ExpiresAt))}
	}
	if rp := s.Reply; rp != nil {
		r.more.reply = &Reply{ID: strings.Clone(rp.ID), Title: strings.Clone(rp.Title), Text: strings.Clone(rp.Text),
			At: fromMillis(millis(rp.At)), MessageID: strings.Clone(rp.MessageID)}
	}
	for _, h := range s.History {
		r.more.history = append(r.more.history, Attempt{At: fromMillis(millis(h.At)), Outcome: h.Outcome,
			MessageID: strings.Clone(h.MessageID), ConversationID: strings.Clone(h.ConversationID), ErrorCode: strings.Clone(h.ErrorCode)})
	}
	return r
}

func (r *rec) key() string       { return r.str[:r.end[0]] }
func (r *rec) messageID() string { return r.str[r.end[1]:r.end[2]] }

// send expands r into the Send at a.
func (r *rec) send(a addrs.Addr) Send {
	s := Send{
		Addr:           a,
		Phone:          r.str[r.end[0]:r.end[1]],
		Digest:         r.digest,
		Attempts:       int(r.attempts),
		IntentAt:       fromMillis(r.intentAt),
		Outcome:        r.outcome,
		MessageID:      r.messageID(),
		ConversationID: r.str[r.end[2]:r.end[3]],
		ProviderStatus: r.status,
		Variant:        variants.Name(r.variant),
		ErrorCode:      r.str[r.end[3]:r.end[4]],
		ErrorMessage:   r.str[r.end[4]:],
		ResultAt:       fromMillis(r.resultAt),
		UpdatedAt:      fromMillis(r.updatedAt),
		DeliveredAt:    fromMillis(r.deliveredAt),
		ReadAt:         fromMillis(r.readAt),
	}
	if r.more == nil {
		return s
	}
	if rp := r.more.reply; rp != nil {
		cp := *rp // callers get their own copy
		s.Reply = &cp
	}
	s.History = slices.Clone(r.more.history)
	s.Window = r.more.window
	return s
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
