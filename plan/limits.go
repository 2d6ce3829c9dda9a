package plan

import (
	"cmp"
	"container/heap"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// tierWindow is the window of the number's messaging tier
// (daily_first_contacts): new conversations per rolling 24 hours.
const tierWindow = 24 * time.Hour

// Counted reports whether a send of m counts against the frequency cap and
// the messaging tier: a template, the business-initiated message that
// opens a conversation. Text, media and interactive follow-ups go inside
// an open conversation and do not count. A send whose message the
// configuration no longer has (m nil) counts: it may have been a template.
func Counted(m *config.Message) bool {
	return m == nil || m.Kind == config.KindTemplate
}

// limiter holds what the audience policy and WhatsApp's limits need to
// know to give each send that is due, in time order, the earliest time the
// limits allow: frequency_cap, daily_first_contacts and pair_spacing.
type limiter struct {
	now     time.Time
	cap     *config.FrequencyCap
	tier    int
	spacing int64 // milliseconds
	// phones indexes logs by phone number (E.164 digits as a number; the
	// rare phone that is not, by text in others): only the phones of the
	// sends that are due are tracked.
	phones map[uint64]int32
	others map[string]int32
	logs   []phoneLog
	// tierTimes are the times (Unix ms, ascending) of the counted sends in
	// the last 24h and those given a time in this plan.
	tierTimes []int64
	// memos keep the reasons of scheduled sends, one per rule: the sends
	// a rule moves mostly fall due in the same minutes; texts are the
	// rules' texts (ruleText), made once.
	memos [nRules]stampMemo
	texts [nRules]string
	// moved are the indices in items of the sends a rule moved, for
	// heldWakes; a send moved twice is there twice.
	moved []int32
	// due are the sends due, in plan order (collect), then in time order.
	due []queued
}

// phoneLog is what the limits know of one phone.
type phoneLog struct {
	last    int64   // the latest send (Unix ms), recorded or given a time; 0 for none
	counted []int64 // counted sends within the cap's window, ascending (Unix ms)
}

// rule names the limit that moved a send.
type rule int

const (
	ruleNone rule = iota
	ruleSpacing
	ruleCap
	ruleTier
	ruleWindow
	nRules
)

// newLimiter returns the limiter of the configuration's audience policy
// and WhatsApp's limits at b's time; nil when there are none.
func (b *builder) newLimiter() *limiter {
	if !b.limited {
		return nil
	}
	prov := b.cfg.Provider
	return &limiter{now: b.now, cap: b.cfg.FrequencyCap, tier: prov.DailyFirstContacts, spacing: prov.PairSpacing.Milliseconds()}
}

// collect queues the sends of items at the indices timed yields (plan
// order), each with its due time and its phone's log. It reads items and
// changes nothing in them: Build runs it beside the search for resends,
// which reads the same sends. The first call sizes the queue and the maps
// for the sends it is given: a million sends are due in a campaign's first
// plan.
func (l *limiter) collect(items []Item, timed iter.Seq[int32]) {
	var idx []int32
	for i := range timed {
		idx = append(idx, i)
	}
	if l.phones == nil {
		l.due = make([]queued, 0, len(idx))
		l.phones, l.logs = make(map[uint64]int32, len(idx)), make([]phoneLog, 0, len(idx))
	}
	for _, i := range idx {
		it := &items[i]
		l.due = append(l.due, queued{at: it.Due().UnixMilli(), item: i, log: l.phone(it.Phone(), true)})
	}
}

// limits gives the sends of items that are due (Send, Retry, and Scheduled
// with a Due) the earliest time frequency_cap, daily_first_contacts and
// pair_spacing allow, taking them in time order and then plan order: those
// the limits move later become Scheduled (Expired when that is past
// stop_at or the 24h window), with the rule as the reason. It counts the
// sends the state records as accepted or in doubt (they may have been
// accepted), and the sends of this plan as it gives them times. l is
// b.newLimiter() (nil for none), with the sends due collected; limits
// collects them when l has none yet.
//
// When only is not nil, items are the sends of the configuration's one
// campaign (see incremental) and limits looks only at those of the
// recipients at the indices in only, ascending, as Rebuild classified them
// again: the frequency cap and pair spacing couple only the sends to one
// phone, which are those of one recipient (see needsFullBuild), and it
// gives them the times the whole pass would. There must be no tier.
//
// With one campaign, the sends it moves leave wakes, as classify's do, for
// Rebuild to classify them again when their time comes (see heldWakes).
func (b *builder) limits(l *limiter, items []Item, only []int32) {
	if l == nil {
		return
	}
	if l.phones == nil {
		l.collect(items, b.timedItems(items, only))
	}
	due := l.due
	if len(due) == 0 {
		return
	}
	for r := ruleNone + 1; r < nRules; r++ {
		if r != ruleCap || l.cap != nil {
			l.texts[r] = l.ruleText(r)
		}
	}
	l.recorded(b, only)
	// Stable: sends due at the same time keep plan order.
	slices.SortStableFunc(due, func(x, y queued) int { return cmp.Compare(x.at, y.at) })
	var later laterQueue // sends a per-phone rule moved, at their new time
	for len(due) > 0 || len(later) > 0 {
		var e queued
		if len(later) > 0 && (len(due) == 0 || later[0].before(due[0])) {
			e = heap.Pop(&later).(queued)
		} else {
			e, due = due[0], due[1:]
		}
		t := e.at
		it := &items[e.item]
		lg := &l.logs[e.log]
		// Rules of the phone first: a send they move goes back in line at
		// its new time, after the sends due before it.
		if at, why := l.perPhone(it, lg, t); at > t {
			l.moved = append(l.moved, e.item)
			if l.schedule(it, at, why) {
				e.at = at
				heap.Push(&later, e)
			}
			continue
		}
		if l.tier > 0 && Counted(it.Message) {
			// The tier's slot is given at once: every send waiting for one
			// would otherwise go back in line at the same time, again and
			// again.
			for {
				at, why := t, ruleNone
				if slot := l.tierSlot(); slot > at {
					// Within the send window, as every move is.
					at, why = windowFrom(it, slot), ruleTier
				}
				if at2, why2 := l.perPhone(it, lg, at); at2 > at {
					at, why = at2, why2
				}
				if at == t {
					break
				}
				l.moved = append(l.moved, e.item)
				if !l.schedule(it, at, why) {
					break
				}
				t = at
			}
		}
		if it.Class != Expired {
			l.record(it, lg, t)
		}
	}
	if len(b.cfg.Campaigns) == 1 && b.opts.Incremental {
		b.heldWakes(items, l.moved)
	}
}

// timedItems yields the indices in items of the sends that go now and,
// when there are limits, of those scheduled for a time (Item.timed), in
// plan order: of every recipient, or of those in only (see limits). Build
// gathered them where it could (builder.gathers); elsewhere it yields
// every timed send.
func (b *builder) timedItems(items []Item, only []int32) iter.Seq[int32] {
	return func(yield func(int32) bool) {
		switch {
		case only == nil && b.gathered:
			for _, i := range b.active {
				if !yield(i) {
					return
				}
			}
		case only == nil:
			for i := range items {
				if items[i].timed() && !yield(int32(i)) {
					return
				}
			}
		default:
			n := len(b.cfg.Campaigns[0].Recipients.Recipients)
			for j := range b.cfg.Campaigns[0].Messages {
				for _, i := range only {
					if k := int32(j*n) + i; items[k].timed() && !yield(k) {
						return
					}
				}
			}
		}
	}
}

// heldWakes adds, for Rebuild, a wake for each of the sends of items at
// moved (indices, in any order, repeats allowed), items being the sends of
// the configuration's one campaign, that the limits moved: for when the
// rules alone give the send a due time at or after the one the limits gave
// it (a held send, whose new time is also its due time for NextDue), or at
// or after the earlier of stop_at and its 24h window's end (a send they
// expired). Until then a Build gives it what the limits gave it; from
// then on its reason, at least, is the rules'. That comes before the
// limits' time when the rules' due time jumps to the send window's next
// opening as the window closes.
func (b *builder) heldWakes(items []Item, moved []int32) {
	if len(moved) == 0 {
		return
	}
	slices.Sort(moved)
	n := int32(len(b.cfg.Campaigns[0].Recipients.Recipients))
	w := &worker{builder: b}
	for _, k := range slices.Compact(moved) {
		it := &items[k]
		c := it.Message.Campaign
		w.recipient = k % n
		var at time.Time
		switch it.Class {
		case Scheduled:
			at = it.Due()
			w.dues = append(w.dues, wake{at.UnixMilli(), w.recipient})
		case Expired:
			at = it.WindowEnd()
			if at.IsZero() || !c.StopAt.IsZero() && c.StopAt.Before(at) {
				at = c.StopAt
			}
		}
		var loc *time.Location // the send window's, as due found it
		if c.Window != nil {
			loc, _ = c.Window.Location(it.Recipient)
		}
		// From now: a send held from a later due time has a wake there
		// (scheduledAt), and is classified again then.
		w.wakeAt(dueComes(c, loc, b.now, b.now, at))
	}
	b.wakes, b.dues = append(b.wakes, w.wakes), append(b.dues, w.dues)
}

// phone returns the index in logs of phone p's log, adding one if add;
// -1 for a phone not tracked.
func (l *limiter) phone(p string, add bool) int32 {
	key, ok := phoneKey(p)
	var i int32
	var found bool
	if ok {
		i, found = l.phones[key]
	} else {
		i, found = l.others[p]
	}
	switch {
	case found:
		return i
	case !add:
		return -1
	}
	l.logs = append(l.logs, phoneLog{})
	i = int32(len(l.logs) - 1)
	if ok {
		l.phones[key] = i
	} else {
		if l.others == nil {
			l.others = map[string]int32{}
		}
		l.others[p] = i
	}
	return i
}

// phoneKey returns phone p, E.164 digits (up to 15, the first not 0), as a
// number, which a map holds in less room and hashes faster than the text.
func phoneKey(p string) (uint64, bool) {
	if len(p) == 0 || len(p) > 18 || p[0] == '0' {
		return 0, false
	}
	var k uint64
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		k = k*10 + uint64(c-'0')
	}
	return k, true
}

// recorded loads what the state records of the phones being tracked: the
// latest send to each, and the counted sends within the cap's and the
// tier's windows; with only (see limits), the sends of those recipients.
func (l *limiter) recorded(b *builder, only []int32) {
	span := time.Duration(l.spacing) * time.Millisecond
	if l.cap != nil {
		span = max(span, l.cap.Per)
	}
	if l.tier > 0 {
		span = max(span, tierWindow)
	}
	counted := countedMessages(b.cfg)
	capFrom, tierFrom := int64(0), l.now.Add(-tierWindow).UnixMilli()
	if l.cap != nil {
		capFrom = l.now.Add(-l.cap.Per).UnixMilli()
	}
	l.sendsSince(b, only, l.now.Add(-span), func(s state.Send) {
		isCounted := counted(&s)
		i := l.phone(s.Phone, false)
		sentTimes(s, func(t int64) {
			if isCounted && l.tier > 0 && t > tierFrom {
				l.tierTimes = append(l.tierTimes, t)
			}
			if i < 0 {
				return
			}
			lg := &l.logs[i]
			lg.last = max(lg.last, t)
			if isCounted && l.cap != nil && t > capFrom {
				lg.counted = append(lg.counted, t)
			}
		})
	})
	slices.Sort(l.tierTimes)
	for i := range l.logs {
		slices.Sort(l.logs[i].counted)
	}
}

// sendsSince calls f with the sends st records whose latest intent or
// result is at or after since (State.Recent): all of them, or, with only
// (see limits), those of the recipients in only whose phone is tracked,
// looked up by address. With one campaign, no moved blocks, no orphans and
// no send recorded to another phone than its recipient's (see
// needsFullBuild), these are every send to their phones.
func (l *limiter) sendsSince(b *builder, only []int32, since time.Time, f func(state.Send)) {
	if only == nil {
		b.st.Recent(since, f)
		return
	}
	c := b.cfg.Campaigns[0]
	floor := since.UnixMilli()
	for _, i := range only {
		r := c.Recipients.Recipients[i]
		if l.phone(r.Phone, false) < 0 {
			continue
		}
		for _, m := range c.Messages {
			s, ok := b.st.Get(addrs.Addr{Campaign: c.Name, Message: m.Name, Key: r.Key})
			// Recent's test; a send the provider certainly did not
			// accept is passed over later anyway (sentAt).
			if ok && max(s.IntentAt.UnixMilli(), s.ResultAt.UnixMilli()) >= floor {
				f(s)
			}
		}
	}
}

// failures counts the attempts at s that failed, own those for its own
// reasons and all of them, but for those Meta's per-user marketing limit
// deferred (not failures). The failures of the run (Systemic: Briq not
// reached or unavailable, the account refused, rate limited), which every
// send of the run met alike, are not its own: an outage must not give up
// on the customers it held back. Attempts the state kept no history of
// count as its own.
func failures(s *state.Send) (own, all int) {
	all = s.Attempts
	systemic := 0
	for _, a := range s.History {
		switch {
		case a.Outcome == state.OutcomeDeferred:
			all--
		case a.Systemic:
			systemic++
		}
	}
	if s.Systemic {
		systemic++
	}
	return all - systemic, all
}

// allAttemptsFactor bounds the attempts at a send in all, failures of the
// run too, at this many times its own (MaxAttempts): what one recipient
// alone keeps meeting (a 5xx for that number every time) must end, and
// at a 15-minute cron ten times five attempts see half a day of outage
// through.
const allAttemptsFactor = 10

// sentTimes calls f with when each attempt at s that the provider may
// have accepted went out (Unix ms): its earlier attempts (History) at their
// intent, the latest as sentAt has it. A send made again with -replace
// reached its phone each time it was accepted, whatever became of the
// attempt after.
func sentTimes(s state.Send, f func(t int64)) {
	for _, a := range s.History {
		if a.Outcome == state.OutcomeAccepted || a.Outcome == state.OutcomeUnknown {
			f(a.At.UnixMilli())
		}
	}
	if t, ok := sentAt(s); ok {
		f(t)
	}
}

// sentAt returns when s went out (Unix ms): its result, or its intent
// while in doubt (each refresh that cannot decide records a result with its
// note, which is not when anything went out); false when the provider
// certainly did not accept it.
func sentAt(s state.Send) (int64, bool) {
	switch s.Outcome {
	case state.OutcomeAccepted:
		return max(s.IntentAt.UnixMilli(), s.ResultAt.UnixMilli()), true
	case state.OutcomeUnknown:
		return s.IntentAt.UnixMilli(), true
	}
	return 0, false
}

// countedMessages returns whether a send the state records counts: a
// template, by what the state says it was; for a send recorded without
// its kind, by the message the configuration has at its address, through
// its moved blocks (Counted).
func countedMessages(cfg *config.Config) func(*state.Send) bool {
	kinds := map[[2]string]bool{}
	for _, c := range cfg.Campaigns {
		for _, m := range c.Messages {
			kinds[[2]string{c.Name, m.Name}] = Counted(m)
		}
	}
	b := &builder{cfg: cfg}
	return func(s *state.Send) bool {
		if s.Kind != state.KindUnknown {
			return s.Kind == state.KindTemplate
		}
		a := b.movedTo(s.Addr)
		counted, known := kinds[[2]string{a.Campaign, a.Message}]
		return counted || !known
	}
}

// SendKind is the kind the state records of a send of m.
func SendKind(m *config.Message) state.Kind {
	switch m.Kind {
	case config.KindTemplate:
		return state.KindTemplate
	case config.KindText:
		return state.KindText
	case config.KindMedia:
		return state.KindMedia
	case config.KindInteractive:
		return state.KindInteractive
	}
	return state.KindUnknown
}

// TierLeft returns how many counted sends (Counted) the number's
// messaging tier (daily_first_contacts) still allows at now, counting
// those st records as accepted or in doubt in the last 24 hours; -1 when
// the configuration sets no tier. Apply holds a run to it, as a plan made
// earlier may be applied later, and an apply killed mid-way leaves its
// sends in doubt, which count.
func TierLeft(cfg *config.Config, st *state.State, now time.Time) int {
	tier := cfg.Provider.DailyFirstContacts
	if tier == 0 {
		return -1
	}
	counted := countedMessages(cfg)
	from := now.Add(-tierWindow).UnixMilli()
	used := 0
	st.Recent(now.Add(-tierWindow), func(s state.Send) {
		if counted(&s) {
			sentTimes(s, func(t int64) {
				if t > from {
					used++
				}
			})
		}
	})
	return max(tier-used, 0)
}

// perPhone returns the earliest time from t at which it may go to its
// phone under pair_spacing, frequency_cap and its campaign's send window,
// and the rule that moved it last (ruleNone when none did).
func (l *limiter) perPhone(it *Item, lg *phoneLog, t int64) (int64, rule) {
	why := ruleNone
	for {
		t0 := t
		if l.spacing > 0 && lg.last != 0 && t < lg.last+l.spacing {
			t, why = lg.last+l.spacing, ruleSpacing
		}
		if l.cap != nil && Counted(it.Message) && len(lg.counted) >= l.cap.Max {
			// Once the oldest of the last Max leaves the window, at most
			// Max-1 counted sends share a window with this one.
			if free := lg.counted[len(lg.counted)-l.cap.Max] + l.cap.Per.Milliseconds(); t < free {
				t, why = free, ruleCap
			}
		}
		if t != t0 {
			if nt := windowFrom(it, t); nt != t {
				t, why = nt, ruleWindow
			}
		}
		if t == t0 {
			return t, why
		}
	}
}

// windowFrom returns the earliest time from t (Unix ms) within the send
// window of it's campaign, in its recipient's time zone: t without one.
func windowFrom(it *Item, t int64) int64 {
	if w := it.Message.Campaign.Window; w != nil {
		if loc, diags := w.Location(it.Recipient); !diags.HasErrors() {
			return nextInWindow(time.UnixMilli(t), w.From, w.To, loc).UnixMilli()
		}
	}
	return t
}

// tierSlot returns the earliest time a counted send may go under
// daily_first_contacts: once the oldest of the last tier sends is 24h old.
func (l *limiter) tierSlot() int64 {
	if len(l.tierTimes) < l.tier {
		return 0
	}
	return l.tierTimes[len(l.tierTimes)-l.tier] + tierWindow.Milliseconds()
}

// record notes that it goes to its phone at t.
func (l *limiter) record(it *Item, lg *phoneLog, t int64) {
	lg.last = max(lg.last, t)
	if !Counted(it.Message) {
		return
	}
	if l.cap != nil {
		lg.counted = insertSorted(lg.counted, t)
	}
	if l.tier > 0 {
		l.tierTimes = insertSorted(l.tierTimes, t)
	}
}

// insertSorted inserts t into the ascending s; mostly at its end.
func insertSorted(s []int64, t int64) []int64 {
	if n := len(s); n == 0 || s[n-1] <= t {
		return append(s, t)
	}
	i, _ := slices.BinarySearch(s, t)
	return slices.Insert(s, i, t)
}

// schedule moves it to t (Unix ms), later than it was due, because of
// rule why: Scheduled, or Expired when t is past its campaign's stop_at or
// the 24h window it needs. It reports whether it is still to be sent.
func (l *limiter) schedule(it *Item, t int64, why rule) bool {
	at := time.UnixMilli(t).UTC()
	c := it.Message.Campaign
	switch {
	case !c.StopAt.IsZero() && !at.Before(c.StopAt):
		it.Class, it.Reason = Expired, fmt.Sprintf("%s until %s, after stop_at %s", l.texts[why], stamp(at), stamp(c.StopAt))
		it.setDue(time.Time{})
		it.setPayload(nil)
		return false
	case !it.WindowEnd().IsZero() && !at.Before(it.WindowEnd()):
		it.Class, it.Reason = Expired, fmt.Sprintf("%s until %s, after the 24h window closes at %s", l.texts[why], stamp(at), stamp(it.WindowEnd()))
		it.setDue(time.Time{})
		it.setPayload(nil)
		return false
	}
	it.Class = Scheduled
	it.setDue(at)
	it.setPayload(nil)
	var held string
	if why == ruleSpacing {
		// Seconds matter here; the others hold sends hours or days.
		held = l.texts[why] + " until " + at.Format("2006-01-02 15:04:05 UTC")
	} else {
		held = l.memos[why].get(l.texts[why]+" until ", at, "")
	}
	switch {
	case it.Replace, it.RekeyedFrom() != "", strings.HasPrefix(it.Reason, resendReason):
		// What the guards and -replace said still holds; a send moved
		// twice keeps only the last hold.
		base, _, _ := strings.Cut(it.Reason, heldSep)
		it.Reason = base + heldSep + held
	default:
		it.Reason = held
	}
	return true
}

// heldSep joins a reason the limits keep and why they hold the send.
const heldSep = "; limits: "

// ruleText says, for people, what a rule holds a send back for.
func (l *limiter) ruleText(why rule) string {
	switch why {
	case ruleSpacing:
		return fmt.Sprintf("pair_spacing: %s after the previous message to this phone; held", time.Duration(l.spacing)*time.Millisecond)
	case ruleCap:
		return fmt.Sprintf("frequency_cap: %d template %s per %s to this phone; held", l.cap.Max, plural(l.cap.Max, "message", "messages"), shortDuration(l.cap.Per))
	case ruleTier:
		return fmt.Sprintf("daily_first_contacts: the tier's %d new conversations per 24h are used up; held", l.tier)
	}
	return "outside the send window after the limits; held"
}

// shortDuration writes d as a configuration would: 168h, not 168h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// queued is a due send, items[item], at the time it is due or a rule
// moved it to (Unix ms); log is its phone's.
type queued struct {
	at        int64
	item, log int32
}

// before orders queued sends by time, then plan order.
func (q queued) before(r queued) bool {
	return cmp.Or(cmp.Compare(q.at, r.at), cmp.Compare(q.item, r.item)) < 0
}

// laterQueue is a min-heap of queued sends (container/heap).
type laterQueue []queued

func (q laterQueue) Len() int           { return len(q) }
func (q laterQueue) Less(i, j int) bool { return q[i].before(q[j]) }
func (q laterQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *laterQueue) Push(x any)        { *q = append(*q, x.(queued)) }
func (q *laterQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
