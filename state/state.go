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
// "deferred" (OutcomeDeferred), which earlier versions never hold; version
// 4 the fingerprint of a send's inputs (the "in" field, Send.Inputs),
// without which a send loads with none; version 5 marks an attempt that
// failed for the run's reasons (the "sy" field, Send.Systemic), which
// earlier files never do; version 6 what a send was (the "kd" field,
// Send.Kind), without which a send loads with KindUnknown; version 7 the
// journal's "defer" records (Store.Defer), which earlier ones never hold;
// version 8 how far refresh has read the inbound messages (the journal's
// "inbound" records and the headers' "inbound" field, State.InboundRead),
// which a state without loads as never read.
const Version = 8

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
	mu sync.RWMutex
	// frozen marks a state that no Store writes into (Read, ReadPG): it
	// never changes, so its readers take no lock. A plan looks up millions
	// of sends on every CPU, and the lock's shared counter would cost it as
	// much as the lookups.
	frozen  bool
	lineage string
	serial  uint64
	n       int
	groups  map[groupKey]*group
	// generation counts the groups made and removed (see Cursor).
	generation uint64
	tables     map[string]*table // the indexes of each campaign's groups
	last       *group            // the group used last: loading meets one group at a time
	optOuts    map[string]OptOut
	// inbound is InboundRead's.
	inbound time.Time
	changes *Changes // what apply changed, when tracked (TrackChanges)
}

// groupKey names the sends of one message of one campaign.
type groupKey struct{ campaign, message string }

func newState() *State {
	return &State{groups: map[groupKey]*group{}, tables: map[string]*table{}, optOuts: map[string]OptOut{}}
}

// Lineage returns the random id given to the state when it was first written,
// or "" for a state that has never been written. It never changes, so a saved
// plan can tell its state from a different one at the same path.
func (st *State) Lineage() string {
	st.rlock()
	defer st.runlock()
	return st.lineage
}

// Serial returns the number of changes committed since the state was
// created; every committed record adds one.
func (st *State) Serial() uint64 {
	st.rlock()
	defer st.runlock()
	return st.serial
}

// InboundRead returns the time before which refresh has read every inbound
// message the provider listed, for opt-outs: where its next listing starts
// when no send it follows is older. Zero when no refresh has recorded it.
func (st *State) InboundRead() time.Time {
	st.rlock()
	defer st.runlock()
	return st.inbound
}

// Len returns the number of sends.
func (st *State) Len() int {
	st.rlock()
	defer st.runlock()
	return st.n
}

// rlock takes the read lock of a state that can change; runlock releases it.
func (st *State) rlock() {
	if !st.frozen {
		st.mu.RLock()
	}
}

func (st *State) runlock() {
	if !st.frozen {
		st.mu.RUnlock()
	}
}

// Get returns the send at a.
func (st *State) Get(a addrs.Addr) (Send, bool) {
	return st.get(a, true, nil)
}

// Peek is Get without the send's ids: its MessageID, ConversationID and
// its reply's MessageID are "". A plan looks up every send and needs the
// ids of few, and each UUID is made into text to be read. When reply is
// not nil, the Send's reply, if it has one, is written there and its Reply
// points to it, instead of to a new Reply: a plan reads a million answers
// and keeps few.
func (st *State) Peek(a addrs.Addr, reply *Reply) (Send, bool) {
	return st.get(a, false, reply)
}

// A Cursor is where a caller found its last send of a message. A caller
// that goes through recipients in the order their sends were recorded (a
// plan, in the order of the CSV that apply sent in) finds each next send a
// few places after the last in memory, and the memory there is already on
// its way, where the index would send it to a random place three times
// (slot, rec, key). The zero Cursor is ready; a Cursor serves one goroutine.
type Cursor struct {
	g   *group
	pos int
	hit bool // the last send was found where the cursor looked
	// st, groups and key are where g was looked up: the state, its
	// groups' generation and the group's name. A plan looks its sends up
	// by message, a cursor for each, and finds g there, or that there is
	// none, without hashing the names again.
	st     *State
	groups uint64
	key    groupKey
}

// group returns the group of a's campaign and message, nil when there is
// none, from c when the state's groups have not changed since c found it.
// The caller holds the read lock.
func (c *Cursor) group(st *State, a addrs.Addr) *group {
	if c.st == st && c.groups == st.generation && c.key.campaign == a.Campaign && c.key.message == a.Message {
		return c.g
	}
	if g := st.group(a.Campaign, a.Message, false); g != c.g {
		c.g, c.pos, c.hit = g, -1, false
	}
	c.st, c.groups, c.key = st, st.generation, groupKey{a.Campaign, a.Message}
	return c.g
}

// cursorReach is how many places after a Cursor PeekFrom looks when it
// found the last send there: apply's workers record sends a few places out
// of order. After a miss it looks at the next place only, which the index
// has just brought into memory, so that an order of its own costs little.
const cursorReach = 8

// PeekFrom is Peek for a caller that looks sends up in about the order they
// were recorded: it looks a few places after c first, and moves c to the
// send found. It finds what Peek finds, in any order; only its speed
// depends on the order. The send found is written to *s, which is left as
// it was when there is none.
func (st *State) PeekFrom(a addrs.Addr, s *Send, reply *Reply, c *Cursor) bool {
	st.rlock()
	defer st.runlock()
	g := c.group(st, a)
	if g == nil {
		return false
	}
	pos := -1
	if c.pos >= 0 {
		reach := 1
		if c.hit {
			reach = cursorReach
		}
		for p := c.pos + 1; p < len(g.recs) && p <= c.pos+reach; p++ {
			if g.keyOf(&g.recs[p]) == a.Key {
				pos = p
				break
			}
		}
	}
	c.hit = pos >= 0
	if pos < 0 {
		if pos = g.find(a.Key); pos < 0 {
			return false
		}
	}
	c.g, c.pos = g, pos
	g.sendTo(s, pos, false, reply)
	return true
}

// ConversationAt returns the conversation_id of the send at a when c is at
// it, where PeekFrom left it: a plan that peeked a send and needs its id
// after all reads it there instead of looking the send up again. ok is
// false when c is elsewhere.
func (st *State) ConversationAt(c *Cursor, a addrs.Addr) (id string, ok bool) {
	st.rlock()
	defer st.runlock()
	g := c.g
	if g == nil || g.key.campaign != a.Campaign || g.key.message != a.Message || st.groups[g.key] != g ||
		c.pos < 0 || c.pos >= len(g.recs) || g.keyOf(&g.recs[c.pos]) != a.Key {
		return "", false
	}
	var msg string
	g.ids(c.pos, &msg, &id)
	return id, true
}

func (st *State) get(a addrs.Addr, ids bool, reply *Reply) (Send, bool) {
	st.rlock()
	defer st.runlock()
	g, pos := st.lookup(a)
	if pos < 0 {
		return Send{}, false
	}
	return g.send(pos, ids, reply), true
}

// Sends yields the sends p selects in address order (campaign, message, then
// key, bytewise). Sends recorded while the loop runs may or may not appear;
// the loop body may record into the Store that owns st.
func (st *State) Sends(p addrs.Pattern) iter.Seq[Send] {
	return func(yield func(Send) bool) {
		st.rlock()
		var gs []*group
		for k, g := range st.groups {
			if (p.Campaign == "" || p.Campaign == k.campaign) && (p.Message == "" || p.Message == k.message) {
				gs = append(gs, g)
			}
		}
		st.runlock()
		slices.SortFunc(gs, func(a, b *group) int {
			return cmp.Or(cmp.Compare(a.key.campaign, b.key.campaign), cmp.Compare(a.key.message, b.key.message))
		})
		type item struct {
			key string
			pos int
		}
		var items []item
		for _, g := range gs {
			// List one group's keys under the lock, and read each send
			// under it again when its turn comes: a loop body that records
			// (and so needs the write lock) cannot deadlock, and a send
			// changed meanwhile is yielded as it is now.
			items = items[:0]
			st.rlock()
			if p.Key != "" {
				if pos := g.find(p.Key); pos >= 0 {
					items = append(items, item{p.Key, pos})
				}
			} else {
				for pos := range g.recs {
					items = append(items, item{g.keyOf(&g.recs[pos]), pos})
				}
			}
			st.runlock()
			slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.key, b.key) })
			for _, it := range items {
				st.rlock()
				pos := it.pos
				if pos >= len(g.recs) || g.keyOf(&g.recs[pos]) != it.key {
					pos = g.find(it.key) // moved by a removal, or removed
				}
				var s Send
				if pos >= 0 {
					s = g.send(pos, true, nil)
				}
				st.runlock()
				if pos >= 0 && !yield(s) {
					return
				}
			}
		}
	}
}

// messages counts the sends of each message, in address order.
func (st *State) messages() []messageCount {
	st.rlock()
	out := make([]messageCount, 0, len(st.groups))
	for k, g := range st.groups {
		out = append(out, messageCount{k.campaign, k.message, len(g.recs)})
	}
	st.runlock()
	slices.SortFunc(out, func(a, b messageCount) int {
		return cmp.Or(cmp.Compare(a.Campaign, b.Campaign), cmp.Compare(a.Message, b.Message))
	})
	return out
}

// OptOut returns the opt-out recorded for phone.
func (st *State) OptOut(phone string) (OptOut, bool) {
	st.rlock()
	defer st.runlock()
	o, ok := st.optOuts[phone]
	return o, ok
}

// OptOuts returns every opt-out, by phone number.
func (st *State) OptOuts() []OptOut {
	st.rlock()
	out := make([]OptOut, 0, len(st.optOuts))
	for _, o := range st.optOuts {
		out = append(out, o)
	}
	st.runlock()
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
		t := st.tables[k.campaign]
		if t == nil {
			t = &table{}
			st.tables[k.campaign] = t
		}
		g = &group{key: k, index: t.column(k.message)}
		st.groups[k] = g
		st.generation++
	}
	if g != nil && create {
		st.last = g
	}
	return g
}

// lookup returns the group of a and the position of a's rec in it, or -1.
func (st *State) lookup(a addrs.Addr) (*group, int) {
	g := st.group(a.Campaign, a.Message, false)
	if g == nil {
		return nil, -1
	}
	return g, g.find(a.Key)
}

// put stores s at its address, replacing the rec at pos, what lookup
// found there (-1: none). The caller holds the write lock, or is loading
// st (and so its only user).
func (st *State) put(s *Send, pos int) {
	g := st.group(s.Addr.Campaign, s.Addr.Message, true)
	g.set(pos, s)
	if pos < 0 {
		st.n++
	}
}

func (st *State) remove(g *group, pos int) {
	g.remove(pos)
	st.n--
	if len(g.recs) == 0 {
		delete(st.groups, g.key)
		st.generation++
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

	case opInbound:
		// Never backwards: a refresh that started earlier may finish last.
		if t := fromMillis(millis(r.inbound)); t.After(st.inbound) {
			st.inbound = t
		}
		return 0, nil

	case opIntent:
		s := Send{Addr: a, Phone: r.send.Phone, Digest: r.send.Digest, Inputs: r.send.Inputs, Variant: r.send.Variant, Kind: r.send.Kind, Attempts: 1,
			IntentAt: r.send.IntentAt, UpdatedAt: r.send.IntentAt}
		g, pos := st.lookup(a)
		if pos >= 0 {
			cur := &g.recs[pos]
			if !cur.outcome.Startable() && !r.replace {
				return 0, conflictf("%s is already %s%s; only an explicit replace sends it again", a, cur.outcome, idNote(g.messageID(pos)))
			}
			s.Attempts = int(cur.attempts) + 1
			prev := g.send(pos, true, nil)
			s.History = appendAttempt(prev.History, &prev)
		}
		st.put(&s, pos)
		return 1, nil

	case opResult:
		g, pos := st.lookup(a)
		if pos < 0 {
			return 0, conflictf("%s has no recorded intent", a)
		}
		if o := g.recs[pos].outcome; o != OutcomeUnknown {
			return 0, conflictf("%s has no attempt in doubt: it is %s%s", a, o, idNote(g.messageID(pos)))
		}
		s := g.send(pos, true, nil)
		if id := r.send.MessageID; id != "" && s.MessageID != "" && id != s.MessageID {
			// Another message than the one recorded: keep that one too.
			s.History = appendAttempt(s.History, &s)
		}
		s.Outcome, s.Systemic = r.send.Outcome, r.send.Systemic
		s.MessageID = cmp.Or(r.send.MessageID, s.MessageID)
		s.ConversationID = cmp.Or(r.send.ConversationID, s.ConversationID)
		s.ProviderStatus = r.send.ProviderStatus
		s.ErrorCode = r.send.ErrorCode
		s.ErrorMessage = r.send.ErrorMessage
		s.ResultAt = r.send.ResultAt
		s.UpdatedAt = r.send.ResultAt
		st.put(&s, pos)
		return 1, nil

	case opRefresh:
		g, pos := st.lookup(a)
		var s Send
		if pos >= 0 {
			s = g.send(pos, true, nil)
		}
		if s.MessageID == "" {
			return 0, conflictf("%s has no message_id to refresh", a)
		}
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
		s.ConversationID = cmp.Or(s.ConversationID, u.ConversationID)
		s.UpdatedAt = u.UpdatedAt
		st.put(&s, pos)
		return 1, nil

	case opDefer:
		g, pos := st.lookup(a)
		if pos < 0 {
			return 0, conflictf("%s has no recorded send", a)
		}
		s := g.send(pos, true, nil)
		if s.Outcome != OutcomeAccepted || s.MessageID != r.send.MessageID {
			return 0, conflictf("%s is %s%s, not accepted as message_id %s: only the message its latest attempt sent can be refused later", a, s.Outcome, idNote(s.MessageID), r.send.MessageID)
		}
		s.Outcome, s.ProviderStatus = OutcomeDeferred, StatusFailed
		s.ErrorCode, s.ErrorMessage = r.send.ErrorCode, r.send.ErrorMessage
		s.ResultAt, s.UpdatedAt = r.send.ResultAt, r.send.ResultAt
		st.put(&s, pos)
		return 1, nil

	case opRemove:
		var victims []addrs.Addr
		st.each(r.from, func(g *group, pos int) { victims = append(victims, g.send(pos, false, nil).Addr) })
		if len(victims) == 0 {
			return 0, fmt.Errorf("remove %s: %w", patternText(r.from), ErrNoMatch)
		}
		for _, a := range victims {
			st.remove(st.lookup(a))
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
		s        Send
	}
	var steps []step
	counts := make([]int, len(ms))
	by := map[addrs.Addr]int{}    // the move that takes each send
	dests := map[addrs.Addr]int{} // the move that fills each destination
	var err error
	for i, m := range ms {
		st.each(m.From, func(g *group, pos int) {
			s := g.send(pos, true, nil)
			a := s.Addr
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
			steps = append(steps, step{a, b, s})
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
		if _, pos := st.lookup(s.to); pos >= 0 {
			return nil, conflictf("cannot move %s to %s: %s already exists", ms[by[s.from]].From, ms[by[s.from]].To, s.to)
		}
	}
	for _, s := range steps {
		st.remove(st.lookup(s.from))
		s.s.Addr = s.to
		st.put(&s.s, -1)
	}
	return counts, nil
}

// each calls fn for every send p selects, in no particular order; fn must
// not change st.
func (st *State) each(p addrs.Pattern, fn func(g *group, pos int)) {
	for k, g := range st.groups {
		if (p.Campaign != "" && p.Campaign != k.campaign) || (p.Message != "" && p.Message != k.message) {
			continue
		}
		if p.Key != "" {
			if pos := g.find(p.Key); pos >= 0 {
				fn(g, pos)
			}
			continue
		}
		for pos := range g.recs {
			fn(g, pos)
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
// that attempt left nothing worth keeping (no result, no id, no error, not
// the run's failure, which the attempts limit must tell from the send's).
func appendAttempt(history []Attempt, s *Send) []Attempt {
	if s.Outcome == OutcomeUnknown && s.MessageID == "" && s.ErrorCode == "" && !s.Systemic {
		return history
	}
	return append(slices.Clip(history), Attempt{At: s.IntentAt, Outcome: s.Outcome, Systemic: s.Systemic,
		MessageID: s.MessageID, ConversationID: s.ConversationID, ErrorCode: s.ErrorCode})
}

// conflict is an ErrConflict with its own message.
type conflict struct{ msg string }

func conflictf(format string, args ...any) error {
	return &conflict{fmt.Sprintf(format, args...)}
}

func (c *conflict) Error() string        { return c.msg }
func (c *conflict) Is(target error) bool { return target == ErrConflict }

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
