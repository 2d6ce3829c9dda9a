package plan

import (
	"container/heap"
	"iter"
	"slices"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// Rebuild returns the plan Build(cfg, st, now, opts) returns, given prev,
// the plan Build or Rebuild made of the same cfg and opts at an earlier
// time, and ch, what st recorded since prev was made (State.TakeChanges).
// It classifies again only the recipients with a send in ch, with a send
// that was due in prev, or with a send whose time came (a scheduled send
// falling due, the 24h window of a send awaiting an answer closing), and
// updates prev in place: prev is not to be used afterwards.
//
// It builds the whole plan, as Build does, when it cannot tell which sends
// changed: ch.All; a configuration or options that needsFullBuild; a prev with
// orphans, resends or sends left out by -target or -exclude; a send in ch
// at an address prev does not have; a send recorded to another phone than
// its recipient's while the limits are on (coupled), or while a phone opted
// out (touched); or a first contact about to be sent, for which every
// accepted send is searched for a resend.
//
// Under the frequency cap and pair spacing, it gives the sends of the
// recipients it classified again the times the limits allow, as Build
// does (see limits).
//
// Its diagnostics are those of the recipients it classified again.
func Rebuild(prev *Plan, cfg *config.Config, st *state.State, now time.Time, opts Options, ch state.Changes) (*Plan, hcl.Diagnostics) {
	if prev == nil || prev.inc == nil || ch.All || needsFullBuild(cfg, opts) || cfg.Campaigns[0] != prev.inc.campaign || now.Before(prev.CreatedAt) {
		return Build(cfg, st, now, opts)
	}
	x := prev.inc
	only, ok := x.touched(now, ch)
	if !ok {
		return Build(cfg, st, now, opts)
	}
	b := newBuilder(cfg, st, now, opts)
	b.changed = make(map[addrs.Addr]bool, len(ch.Sends))
	for _, a := range ch.Sends {
		b.changed[a] = true
	}
	x.count(prev.Items, only, -1)
	diags := b.campaign(x.campaign, prev.Items, only)
	// Before the limits hold any send back: Build searches every send the
	// rules make due for a resend, held or not.
	if x.firstContactDue(prev.Items, b.sending) || b.coupled() {
		return Build(cfg, st, now, opts)
	}
	b.limits(b.newLimiter(), prev.Items, only)
	x.elsewhere = x.elsewhere || b.elsewhere.Load()
	x.count(prev.Items, only, 1)
	x.setSending(prev.Items, b.sending)
	for w := range b.wakes {
		for _, k := range b.wakes[w] {
			heap.Push(&x.wakes, k)
		}
		for _, k := range b.dues[w] {
			heap.Push(&x.dues, k)
		}
	}
	prev.CreatedAt, prev.Lineage, prev.Serial = now, st.Lineage(), st.Serial()
	return prev, diags
}

// needsFullBuild reports whether a plan of cfg made with opts must always
// be built whole, because a send's class can depend on other recipients'
// sends, which Rebuild does not look at again: with more than one campaign
// (a first contact of one may be a resend of another's, and the limits
// count every campaign's sends to a phone), with moved blocks (a send may
// be recorded under another address), or with a tier budget
// (daily_first_contacts: every counted send takes a slot from the number's
// one budget, so each recipient's sends move with everyone's). With
// -replace too: a replaced send is due again whatever the state records of
// it, and Rebuild is not proven equal to Build there.
//
// The frequency cap and pair spacing do not need it: they couple only the
// sends to one phone, and in one campaign a phone is one recipient's (a
// CSV cannot list a phone twice) and every send the state records to it
// is that recipient's — unless a send was recorded to another phone than
// its recipient's now (the CSV's number changed), which coupled finds as
// the sends are classified. Rebuild gives the sends it classifies again
// their times under those limits (limits over the recipients it touched).
func needsFullBuild(cfg *config.Config, opts Options) bool {
	return len(cfg.Campaigns) != 1 || len(cfg.Moved) > 0 || cfg.Provider.DailyFirstContacts > 0 || len(opts.Replace) > 0
}

// coupled reports whether the frequency cap or pair spacing apply and the
// sends classified include one the state records to another phone than
// its recipient's now: the limits then count it for the other phone,
// another recipient's, whose sends Rebuild might not classify again, and
// which limits, over the recipients classified again, does not look up.
func (b *builder) coupled() bool {
	return (b.cfg.FrequencyCap != nil || b.cfg.Provider.PairSpacing > 0) && b.elsewhere.Load()
}

// incremental is what Rebuild keeps of a plan of one campaign to classify
// some of its recipients again. The plan's items are then the campaign's
// only: those of message ordered(msgs)[j] to recipient i at j*len(rs)+i.
type incremental struct {
	campaign *config.Campaign
	// wakes are the times at which a recipient's sends change class with
	// no change in the state, earliest first; an entry may be stale (the
	// recipient was classified again since), which costs a look only.
	wakes wakeHeap
	// dues are the due times of scheduled sends, earliest first, stale
	// entries included (see NextDue).
	dues wakeHeap
	// sending are the recipients with a send due (Send, Retry), ascending.
	sending []int32
	// classes counts the plan's sends by class (a Class is an ASCII mark),
	// awaiting those that await an answer, and holdout those held out.
	classes  [128]int
	awaiting int
	holdout  int
	// byKey and byPhone index the recipients by key, and by phone (their
	// indices sorted by phone); each is built when first needed.
	byKey   map[string]int32
	byPhone []int32
	// elsewhere reports that a send goes to, or is recorded to, another
	// phone than its recipient's now (see builder.elsewhere): byPhone does
	// not find its recipient from an opt-out of that phone.
	elsewhere bool
}

// incremental returns what Rebuild needs to update p, or nil when it must
// build the plan whole. orphans reports that p has orphans.
func (b *builder) incremental(p *Plan, orphans bool) *incremental {
	if !b.opts.Incremental || needsFullBuild(b.cfg, b.opts) || p.Filtered || orphans || len(p.Resends) > 0 || b.coupled() {
		return nil
	}
	x := &incremental{campaign: b.cfg.Campaigns[0], elsewhere: b.elsewhere.Load()}
	for w := range b.wakes {
		x.wakes = append(x.wakes, b.wakes[w]...)
		x.dues = append(x.dues, b.dues[w]...)
	}
	heap.Init(&x.wakes)
	heap.Init(&x.dues)
	for i := range p.Items {
		x.classes[p.Items[i].Class]++
		if p.Items[i].AwaitsReply {
			x.awaiting++
		}
		if p.Items[i].Holdout {
			x.holdout++
		}
	}
	x.setSending(p.Items, b.sending)
	return x
}

// touched returns the indices, ascending, of the recipients to classify
// again at now given ch, or false when a send in ch is not one of the
// campaign's, or an opt-out may be of a phone a send goes to that is not
// its recipient's (elsewhere). It takes the wakes that came off the heap.
func (x *incremental) touched(now time.Time, ch state.Changes) ([]int32, bool) {
	if len(ch.OptOuts) > 0 && x.elsewhere {
		return nil, false
	}
	rs := x.campaign.Recipients.Recipients
	only := append([]int32{}, x.sending...)
	for ms := now.UnixMilli(); len(x.wakes) > 0 && x.wakes[0].at <= ms; {
		only = append(only, heap.Pop(&x.wakes).(wake).recipient)
	}
	if len(ch.Sends) > 0 && x.byKey == nil {
		x.byKey = make(map[string]int32, len(rs))
		for i, r := range rs {
			x.byKey[r.Key] = int32(i)
		}
	}
	for _, a := range ch.Sends {
		i, ok := x.byKey[a.Key]
		if !ok || a.Campaign != x.campaign.Name || !slices.ContainsFunc(x.campaign.Messages, func(m *config.Message) bool { return m.Name == a.Message }) {
			return nil, false
		}
		only = append(only, i)
	}
	if len(ch.OptOuts) > 0 && x.byPhone == nil {
		x.byPhone = make([]int32, len(rs))
		for i := range x.byPhone {
			x.byPhone[i] = int32(i)
		}
		sort.Slice(x.byPhone, func(a, b int) bool { return rs[x.byPhone[a]].Phone < rs[x.byPhone[b]].Phone })
	}
	for _, phone := range ch.OptOuts {
		k := sort.Search(len(x.byPhone), func(k int) bool { return rs[x.byPhone[k]].Phone >= phone })
		for ; k < len(x.byPhone) && rs[x.byPhone[k]].Phone == phone; k++ {
			only = append(only, x.byPhone[k])
		}
	}
	slices.Sort(only)
	return slices.Compact(only), true
}

// kept reports whether it, the item at addr of msgs[j] in the plan Rebuild
// updates, stays as it is: a send the provider accepted (done or drift)
// depends on nothing but its own send, and the answer to the send it
// follows, so when the state recorded neither since, rendering it again
// to compare digests would find what it found before.
func (b *worker) kept(it *Item, j int, addr addrs.Addr) bool {
	if b.changed == nil || (it.Class != Done && it.Class != Drift) || b.changed[addr] {
		return false
	}
	if k := b.after[j]; k >= 0 {
		addr.Message = b.msgs[k].Name
		return !b.changed[addr]
	}
	return true
}

// count adds sign times the classes of the sends of the recipients in
// only to x's counts.
func (x *incremental) count(items []Item, only []int32, sign int) {
	n := len(x.campaign.Recipients.Recipients)
	for j := range x.campaign.Messages {
		for _, i := range only {
			it := &items[j*n+int(i)]
			x.classes[it.Class] += sign
			if it.AwaitsReply {
				x.awaiting += sign
			}
			if it.Holdout {
				x.holdout += sign
			}
		}
	}
}

// firstContactDue reports whether a first contact is about to be sent to
// one of the recipients in sending (by worker, see builder).
func (x *incremental) firstContactDue(items []Item, sending [][]int32) bool {
	n := len(x.campaign.Recipients.Recipients)
	for j, m := range ordered(x.campaign.Messages) {
		if m.After != nil {
			continue
		}
		for _, s := range sending {
			for _, i := range s {
				if items[j*n+int(i)].Class.Sends() {
					return true
				}
			}
		}
	}
	return false
}

// setSending makes x.sending the recipients in sending (by worker, see
// builder) with a send the plan sends: classify found one due, and the
// limits did not hold every such send back (those they held have a wake
// instead).
func (x *incremental) setSending(items []Item, sending [][]int32) {
	n := len(x.campaign.Recipients.Recipients)
	x.sending = x.sending[:0]
	for _, s := range sending {
		for _, i := range s {
			for j := range x.campaign.Messages {
				if items[j*n+int(i)].Class.Sends() {
					x.sending = append(x.sending, i)
					break
				}
			}
		}
	}
}

// stopAtComes returns when a send that expired for its 24h window, due
// from base on, expires for stop_at instead, as the plan then says: the
// first time from now on at which dueFrom reaches stop_at (dueComes); zero
// without a stop_at.
func stopAtComes(c *config.Campaign, loc *time.Location, base, now time.Time) time.Time {
	if c.StopAt.IsZero() {
		return time.Time{}
	}
	return dueComes(c, loc, base, now, c.StopAt)
}

// dueComes returns the first time t from now on at which dueFrom(c, loc,
// base, t) reaches at; zero when at is before now. dueFrom grows with t and
// is never before it, so that time comes, at at the latest.
func dueComes(c *config.Campaign, loc *time.Location, base, now, at time.Time) time.Time {
	lo, hi := now.UnixMilli(), at.UnixMilli()
	if lo > hi {
		return time.Time{}
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if dueFrom(c, loc, base, time.UnixMilli(mid)).Before(at) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return time.UnixMilli(lo)
}

// wake is a time, in Unix milliseconds, at which a recipient's sends change
// class with no change in the state.
type wake struct {
	at        int64
	recipient int32
}

// wakeAt notes that the recipient being classified has a send whose class
// changes at t, unless t is zero.
func (b *worker) wakeAt(t time.Time) {
	if b.opts.Incremental && !t.IsZero() {
		// Floored to the millisecond: waking a little early only
		// classifies the recipient again, to the same class.
		b.wakes = append(b.wakes, wake{t.UnixMilli(), b.recipient})
	}
}

// scheduledAt notes that the recipient being classified has a send
// scheduled for due, and so changes class then.
func (b *worker) scheduledAt(due time.Time) {
	if !b.opts.Incremental {
		return
	}
	b.wakeAt(due)
	b.dues = append(b.dues, wake{due.UnixMilli(), b.recipient})
}

// wakeHeap is a min-heap of wakes by time (container/heap).
type wakeHeap []wake

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h wakeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *wakeHeap) Push(v any)        { *h = append(*h, v.(wake)) }
func (h *wakeHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}

// Brief returns the plan's Document without its messages and sends: what
// a later round of apply -wait shows. Its Summary comes from the counts
// Rebuild keeps, when it keeps them, instead of a pass over every send.
func (p *Plan) Brief() *Document {
	x := p.inc
	if x == nil {
		d := p.Document(false)
		d.Messages = nil
		return d
	}
	d := p.head()
	for _, c := range Classes {
		d.Summary[c.Name()] = x.classes[c]
	}
	d.Holdout = x.holdout
	return d
}

// Due returns the sends apply sends (Send, Retry), in plan order; from the
// recipients Rebuild knows to have one, when it knows them, instead of a
// pass over every send.
func (p *Plan) Due() []*Item {
	var out []*Item
	for it := range p.dueBeforeLimits() {
		if it.Class.Sends() {
			out = append(out, it)
		}
	}
	return out
}

// dueBeforeLimits yields, in plan order, every send of the recipients with
// a send due before the limits (see incremental) when Rebuild knows them,
// else every send: the sends due, and those the limits hold back, among
// others.
func (p *Plan) dueBeforeLimits() iter.Seq[*Item] {
	return func(yield func(*Item) bool) {
		if x := p.inc; x != nil {
			n := len(x.campaign.Recipients.Recipients)
			for j := range x.campaign.Messages {
				for _, i := range x.sending {
					if !yield(&p.Items[j*n+int(i)]) {
						return
					}
				}
			}
			return
		}
		for i := range p.Items {
			if !yield(&p.Items[i]) {
				return
			}
		}
	}
}

// NextDue returns the latest due time of a scheduled send that is within
// coalesce of the earliest (zero when no scheduled send has one), so that
// one wake serves the sends falling due close together; and how many sends
// are scheduled, and how many of those await an answer. A send that waits
// for another one the plan sends (Send, Retry) counts as due its delay
// after now: a later due time (a send the limits hold back, say) must not
// make it miss its window. When Rebuild keeps the due times it reads them
// from there, dropping stale entries, instead of going through every send.
func (p *Plan) NextDue(now time.Time, coalesce time.Duration) (next time.Time, scheduled, awaiting int) {
	x := p.inc
	if x == nil {
		var dues []time.Time
		sending := map[addrs.Addr]bool{}
		for i := range p.Items {
			if it := &p.Items[i]; it.Class.Sends() {
				sending[it.Addr()] = true
			}
		}
		for i := range p.Items {
			it := &p.Items[i]
			if it.Class != Scheduled {
				continue
			}
			scheduled++
			switch {
			case it.AwaitsReply:
				awaiting++
			case !it.Due().IsZero():
				dues = append(dues, it.Due())
			case followsSending(it, sending):
				dues = append(dues, now.Add(it.Message.Delay))
			}
		}
		return coalesced(dues, coalesce), scheduled, awaiting
	}
	// The follow-ups of the sends due: only the recipients with one.
	n := len(x.campaign.Recipients.Recipients)
	var dues []time.Time
	for _, i := range x.sending {
		sending := map[addrs.Addr]bool{}
		for j := range x.campaign.Messages {
			if it := &p.Items[j*n+int(i)]; it.Class.Sends() {
				sending[it.Addr()] = true
			}
		}
		for j := range x.campaign.Messages {
			if it := &p.Items[j*n+int(i)]; it.Class == Scheduled && !it.AwaitsReply && it.Due().IsZero() && followsSending(it, sending) {
				dues = append(dues, now.Add(it.Message.Delay))
			}
		}
	}
	// due is the due time of the scheduled send the entry w stands for, or
	// zero when it is stale.
	due := func(w wake) time.Time {
		for j := range x.campaign.Messages {
			if it := &p.Items[j*n+int(w.recipient)]; it.Class == Scheduled && !it.Due().IsZero() && it.Due().UnixMilli() == w.at {
				return it.Due()
			}
		}
		return time.Time{}
	}
	for len(x.dues) > 0 && due(x.dues[0]).IsZero() {
		heap.Pop(&x.dues)
	}
	if len(x.dues) > 0 {
		first := due(x.dues[0])
		if len(dues) > 0 {
			if m := slices.MinFunc(dues, time.Time.Compare); m.Before(first) {
				first = m
			}
		}
		limit := first.Add(coalesce).UnixMilli()
		// The entries up to limit, found down the heap from its root.
		var visit func(k int)
		visit = func(k int) {
			if k >= len(x.dues) || x.dues[k].at > limit {
				return
			}
			if d := due(x.dues[k]); !d.IsZero() {
				dues = append(dues, d)
			}
			visit(2*k + 1)
			visit(2*k + 2)
		}
		visit(0)
	}
	return coalesced(dues, coalesce), x.classes[Scheduled], x.awaiting
}

// followsSending reports whether it waits for a send of its recipient that
// is in sending.
func followsSending(it *Item, sending map[addrs.Addr]bool) bool {
	return it.Message != nil && it.Message.After != nil &&
		sending[addrs.Addr{Campaign: it.Addr().Campaign, Message: it.Message.After.Name, Key: it.Addr().Key}]
}

// coalesced is the latest of dues within coalesce of the earliest; zero
// for none.
func coalesced(dues []time.Time, coalesce time.Duration) (next time.Time) {
	if len(dues) == 0 {
		return next
	}
	first := slices.MinFunc(dues, time.Time.Compare)
	for _, d := range dues {
		if d.Sub(first) <= coalesce && d.After(next) {
			next = d
		}
	}
	return next
}
