package plan

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/internal/intern"
	"github.com/ujumbe/ujumbe/internal/prefault"
	"github.com/ujumbe/ujumbe/state"
)

// windowLength is Briq's customer-service window: a template or an inbound
// message opens it for 24 hours, and text, media and interactive messages
// need it open (briq-whatsapp-api.md §15).
const windowLength = 24 * time.Hour

// DefaultMaxAttempts bounds how often a send that failed transiently is tried.
const DefaultMaxAttempts = 5

// Item is one send — (campaign, message, recipient key) — and its class.
// A plan holds one per send, millions at a time, so an Item is kept to 80
// bytes: what every send has is inline, with the small fields sharing
// words; the address and phone come from Message and Recipient; what few
// sends have (an answer, a payload, a conversation, a window end, a
// changed key, an orphan's address) is in one struct out of line.
type Item struct {
	// Message and Recipient are nil for orphans.
	Message   *config.Message
	Recipient *config.Recipient
	// Reason says, for people, why the send has its class.
	Reason string
	// Digest is the content digest of what the configuration renders for
	// the send: what would be sent (Send, Retry, and a send due now that
	// the limits hold back, which they make Scheduled), or what it wants
	// now (Done, Drift; zero for Done in a NoDrift plan or when the content
	// no longer renders). It is zero for the other classes: a send
	// scheduled by its own rules is rendered when it falls due.
	Digest state.Digest
	// due is Due in Unix nanoseconds (years 1678 to 2262); 0 for none.
	due int64
	// rare holds the fields few sends have; nil when all are zero.
	rare *rareFields
	// Attempts is how often the send was tried before.
	Attempts int32
	// windowIn is WindowEnd as milliseconds after Due, when the send has
	// both and the gap fits (a send due within its 24h window always
	// does); 0 otherwise, when WindowEnd is in rare.
	windowIn uint32
	Class    Class
	// Replace marks the operator's explicit resend (-replace) of a send the
	// state already has.
	Replace bool
	// sentElsewhere marks a send the state records as accepted by another
	// phone than the recipient's now (the CSV's number changed).
	sentElsewhere bool
	// AwaitsReply marks a Scheduled send that only an answer to the message
	// it follows can make due; it has no Due.
	AwaitsReply bool
	// lost says why an Expired send of a follow-up will never go, when its
	// own rules are not why (NotTaken, AfterLost).
	lost lostKind
	// Holdout marks the Orphan send of a recipient in the campaign's
	// holdout, its control group, which gets nothing from it.
	Holdout bool
	// variant is Variant's number in variants: a plan holds a million
	// Items, and a number fits where the struct has padding.
	variant uint16
}

// lostKind is why a follow-up will never go: its branch was not taken, or
// the message it follows will not be sent. A byte, where the Item has
// room for no more.
type lostKind uint8

const (
	lostNot lostKind = iota
	lostNotTaken
	lostAfter
)

// NotTaken reports an Expired send of a branch not taken: its when was
// false for the answer (or for no answer before the window closed).
func (it *Item) NotTaken() bool { return it.lost == lostNotTaken }

// AfterLost reports an Expired send whose message follows one that will
// not be sent to the recipient (failed, expired, or not taken).
func (it *Item) AfterLost() bool { return it.lost == lostAfter }

// rareFields are the fields of an Item that few sends have, out of line.
// They belong to one Item: Build and Rebuild move Items, and never change
// one of two copies apart.
type rareFields struct {
	// addr is an orphan's, which has no Message or Recipient; phone is
	// an orphan's, or a follow-up's going to another phone than its
	// recipient's now (see Phone).
	addr    addrs.Addr
	phone   string
	reply   *config.Reply
	payload *config.Payload
	// conversationID is ConversationID's.
	conversationID string
	// windowEnd is WindowEnd in Unix milliseconds (the state's times, from
	// which it is worked out, have no finer precision); 0 for none.
	windowEnd   int64
	rekeyedFrom string
}

// noRare are the rare fields of an Item that has none; never written.
var noRare rareFields

// get returns the item's rare fields, to be read.
func (it *Item) get() *rareFields {
	if it.rare == nil {
		return &noRare
	}
	return it.rare
}

// set returns the item's rare fields to be written, allocating them on first use.
func (it *Item) set() *rareFields {
	if it.rare == nil {
		it.rare = &rareFields{}
	}
	return it.rare
}

// variants numbers the variant names of Items.
var variants intern.Table

// Addr is the send's address: its message's campaign and name (config
// gives every message the campaign it is declared in) and its recipient's
// key; an orphan's as the state records it (after moved blocks).
func (it *Item) Addr() addrs.Addr {
	if it.Message == nil {
		return it.rare.addr
	}
	return addrs.Addr{Campaign: it.Message.Campaign.Name, Message: it.Message.Name, Key: it.Recipient.Key}
}

// Phone is the number the send goes to, E.164 digits: the recipient's;
// for a follow-up whose parent was accepted, the phone the parent went to
// (the follow-up goes into its conversation, though the CSV's number
// changed since); for an orphan, the one the state records.
func (it *Item) Phone() string {
	if p := it.get().phone; p != "" || it.Recipient == nil {
		return p
	}
	return it.Recipient.Phone
}

// Reply is the answer to the message this one follows, as Build used it
// for `when` and the content of a send that is due, scheduled or drifted;
// nil when there is none.
func (it *Item) Reply() *config.Reply { return it.get().reply }

func (it *Item) setReply(r *config.Reply) {
	if r != nil || it.rare != nil {
		it.set().reply = r
	}
}

// ConversationID is, for a follow-up whose parent was accepted and that is
// due now (Send, Retry), the thread of the earlier sends, into which it
// goes. A send scheduled for later, awaiting an answer or not to go has
// none: it is looked up when the send falls due.
func (it *Item) ConversationID() string { return it.get().conversationID }

// Payload is, for a send that is due (Send, Retry) when Build was asked
// for it (Options.Payloads), the content Build rendered and digested:
// apply sends it as it is, so a send is rendered once. Nil otherwise.
func (it *Item) Payload() *config.Payload { return it.get().payload }

// Content is the content of a send that has some now: one with a Digest
// (its Payload when Build kept one, else rendered again with the answer
// Build used; rendering is deterministic, so this is what was digested),
// or one scheduled for a time, which has no digest until it falls due
// (rendered as it would be now). ok is false for the other sends, and for
// content that no longer renders.
func (it *Item) Content() (p *config.Payload, ok bool) {
	if it.Message == nil || it.Digest == (state.Digest{}) && (it.Class != Scheduled || it.due == 0) {
		return nil, false
	}
	if p = it.Payload(); p != nil {
		return p, true
	}
	p, diags := it.Message.Render(it.Recipient, it.Reply(), it.Variant())
	return p, !diags.HasErrors()
}

func (it *Item) setPayload(p *config.Payload) {
	if p != nil || it.rare != nil {
		it.set().payload = p
	}
}

// Due is when a Send became due or when a Scheduled send will be, in UTC;
// it is zero for a send that waits on another send or on a reply.
func (it *Item) Due() time.Time {
	if it.due == 0 {
		return time.Time{}
	}
	return time.Unix(0, it.due).UTC()
}

// timed reports whether the send goes now or is scheduled for a time:
// those the limits order (see builder.limits).
func (it *Item) timed() bool {
	return it.Class.Sends() || it.Class == Scheduled && it.due != 0
}

// setDue keeps WindowEnd as it was.
func (it *Item) setDue(t time.Time) { it.setTimes(t, it.WindowEnd()) }

// setTimes sets Due and WindowEnd.
func (it *Item) setTimes(due, windowEnd time.Time) {
	it.due = 0
	if !due.IsZero() {
		it.due = due.UnixNano()
	}
	it.setWindowEnd(windowEnd)
}

// RekeyedFrom is, for a first contact about to be sent, the key under
// which the state records a send to the same phone that the recipients no
// longer have (see Guard); "" otherwise.
func (it *Item) RekeyedFrom() string { return it.get().rekeyedFrom }

// Variant is, for a send of a message that Varies, the name of the
// recipient's variant: the one its send of the campaign's split message
// was recorded with, else the one the campaign assigns it. It is "" for
// other sends.
func (it *Item) Variant() string { return variants.Name(it.variant) }

// WindowEnd is when the 24h window a due follow-up needs closes, in UTC;
// zero when none applies.
func (it *Item) WindowEnd() time.Time {
	switch {
	case it.windowIn != 0:
		return time.UnixMilli(time.Unix(0, it.due).UnixMilli() + int64(it.windowIn)).UTC()
	case it.get().windowEnd != 0:
		return time.UnixMilli(it.rare.windowEnd).UTC()
	}
	return time.Time{}
}

// setWindowEnd sets WindowEnd, in the Item when it can be told from Due,
// else in its rare fields.
func (it *Item) setWindowEnd(t time.Time) {
	it.windowIn = 0
	if it.rare != nil {
		it.rare.windowEnd = 0
	}
	if t.IsZero() {
		return
	}
	end := t.UnixMilli()
	if it.due != 0 {
		if gap := end - time.Unix(0, it.due).UnixMilli(); gap > 0 && gap <= math.MaxUint32 {
			it.windowIn = uint32(gap)
			return
		}
	}
	it.set().windowEnd = end
}

// Plan is the outcome of Build. Items are in configuration order —
// campaigns and messages as declared, recipients in CSV order — followed by
// orphans sorted by address.
type Plan struct {
	CreatedAt time.Time
	// Lineage and Serial identify the state the plan was made from; apply
	// refuses a saved plan whose state has moved on.
	Lineage string
	Serial  uint64
	Items   []Item
	// Filtered reports that -target or -exclude left sends out.
	Filtered bool
	// Resends are the sends about to go to a phone that already accepted
	// the same content under another address, or that gets it from an
	// earlier send of this plan (see Guard), in Items order.
	Resends []Resend
	// inc is what Rebuild needs to classify only some sends again; nil
	// when it must build the plan whole.
	inc *incremental
}

// Resend is a send about to go out — Items[Item] — with content that its
// phone already accepted under another address, Of: a rename without a
// moved block, or the same message under two names. When InPlan is set,
// Of is a send of the same plan, about to go out too: two campaigns, or
// two first contacts of one, with the same content for one phone. When
// InDoubt is set, Of is a send in doubt (Unknown), which may have reached
// the phone as much as an accepted one (SPEC §4.1).
type Resend struct {
	Item    int
	Of      addrs.Addr
	InPlan  bool
	InDoubt bool
}

// Options narrow or widen a plan.
type Options struct {
	Targets  []addrs.Pattern // only sends matching one of these (all when empty)
	Excludes []addrs.Pattern // minus sends matching one of these
	Replace  []addrs.Pattern // resend these even though the state has them
	// MaxAttempts bounds retries; DefaultMaxAttempts when zero.
	MaxAttempts int
	// NoDrift classifies every accepted send as Done, without rendering
	// its content again to tell Drift, and looks for no resends (Resends
	// is empty): for reports, which count accepted sends alike and guard
	// nothing. At a million sends it halves the time; at 1M x 3 the resend
	// search alone would look up 2M done sends in the state again.
	NoDrift bool
	// Payloads keeps on each send that is due the payload Build rendered
	// for its digest (Item.Payload), for apply to send. Plan shows a few
	// samples only and leaves it off: at a million sends the payloads are
	// hundreds of megabytes.
	Payloads bool
	// Incremental keeps with the plan what Rebuild needs to update it in
	// place (the times at which sends change class, the recipients with a
	// send due): for apply -wait, which plans again every round. A plan
	// made once leaves it off: at a million sends awaiting an answer that
	// is tens of megabytes.
	Incremental bool
	// Reserved is room for the plan's sends allocated ahead (Reserve);
	// Build takes it when it is large enough, else allocates its own.
	Reserved *Reservation
}

// Reservation is room for a plan's sends, allocated and mapped in on a
// goroutine of its own while the caller is still loading the
// configuration: at a million recipients and three messages that is
// 240 MB, whose pages take a CPU a tenth of a second or more to map in,
// and zeroing reused memory longer, time the load leaves a CPU idle for.
type Reservation struct {
	mu    sync.Mutex
	ready chan []Item // the Items; nil once taken
}

// Reserve starts allocating room for n sends.
func Reserve(n int) *Reservation {
	ready := make(chan []Item, 1)
	go func() {
		items := make([]Item, 0, n)
		faultIn(items[:n])
		ready <- items
	}()
	return &Reservation{ready: ready}
}

// take returns room for n Items: the reserved room when r has it and it is
// large enough, else new room. Only the first call may have r's.
func (r *Reservation) take(n int) []Item {
	if r != nil {
		r.mu.Lock()
		ready := r.ready
		r.ready = nil
		r.mu.Unlock()
		if ready != nil {
			if items := <-ready; cap(items) >= n {
				return items[:0]
			}
		}
	}
	items := make([]Item, 0, n)
	faultIn(items[:n])
	return items
}

// movedFrom returns the address a send at a had before the move m, if m
// covers a.
func movedFrom(m *config.Moved, a addrs.Addr) (addrs.Addr, bool) {
	if !m.To.Match(a) {
		return a, false
	}
	a.Campaign = m.From.Campaign
	if m.From.Message != "" {
		a.Message = m.From.Message
	}
	return a, true
}

// Count returns the number of items per class.
func (p *Plan) Count() map[Class]int {
	n := map[Class]int{}
	for i := range p.Items {
		n[p.Items[i].Class]++
	}
	return n
}

// Pending reports whether apply would send anything.
func (p *Plan) Pending() bool {
	for i := range p.Items {
		if p.Items[i].Class.Sends() {
			return true
		}
	}
	return false
}

// Build classifies every send the configuration wants, and every send the
// state holds that it no longer wants, at time now. It reads cfg and st and
// changes neither. Problems found while rendering a message for a recipient
// are returned as diagnostics; a plan with errors must not be applied.
func Build(cfg *config.Config, st *state.State, now time.Time, opts Options) (*Plan, hcl.Diagnostics) {
	b := newBuilder(cfg, st, now, opts)
	p := &Plan{CreatedAt: now, Lineage: st.Lineage(), Serial: st.Serial()}
	// Items is allocated once and classified in place: appending a million
	// Items would copy them again and again and hold two copies at once.
	p.Items = opts.Reserved.take(cfg.Sends())
	var diags hcl.Diagnostics
	filtering := len(b.opts.Targets) > 0 || len(b.opts.Excludes) > 0
	for _, c := range cfg.Campaigns {
		start := len(p.Items)
		p.Items = p.Items[:start+len(c.Messages)*len(c.Recipients.Recipients)]
		diags = append(diags, b.campaign(c, p.Items[start:], nil)...)
		if !filtering {
			b.gatherTimed(start, len(c.Recipients.Recipients))
			continue
		}
		// Keep the selected items, moving each down over those left out.
		kept := start
		for i := start; i < len(p.Items); i++ {
			if b.selected(p.Items[i].Addr()) {
				p.Items[kept] = p.Items[i]
				kept++
			} else {
				p.Filtered = true
			}
		}
		clear(p.Items[kept:])
		p.Items = p.Items[:kept]
	}
	// The limits' look at the sends due reads the sends the search for
	// resends reads, and changes none: on another CPU, while it runs. The
	// orphans' sends are collected once they are in p.Items.
	lim := b.newLimiter()
	var collecting sync.WaitGroup
	collected := 0
	if lim != nil && b.gathered {
		items, timed := p.Items, b.active
		collected = len(timed)
		collecting.Go(func() { lim.collect(items, slices.Values(timed)) })
	}
	// The sends about to go out, to check against what the state records
	// as accepted (during the walk of the state for orphans when there is
	// one, else through the plan's own accepted sends) and against each
	// other: with one first-contact message, and no state, two cannot
	// meet.
	var resends *resendIndex
	if !b.opts.NoDrift && (st.Len() > 0 || firstMessages(cfg) > 1) {
		// Whether a follow-up's content was accepted at an address still
		// wanted is asked of the address a moved block gives it now.
		resends = newResendIndex(p.Items, b.timedItems(p.Items, nil), func(a addrs.Addr) bool { return b.wanted(b.movedTo(a)) })
	}
	orphans, walked := b.orphans(resends)
	collecting.Wait()
	markRekeyed(p.Items, orphans)
	for _, it := range orphans {
		if b.selected(it.Addr()) {
			if b.gathers(&it) && !filtering {
				b.active = append(b.active, int32(len(p.Items)))
			}
			p.Items = append(p.Items, it)
		} else {
			p.Filtered = true
		}
	}
	if resends != nil && !walked {
		if p.Filtered || len(b.opts.Replace) > 0 {
			// Sends left out by -target or -exclude are not in p.Items,
			// and an accepted send that -replace makes due later or never
			// is not Done there.
			resends.walk(st)
		} else {
			resends.fromItems(st)
		}
	}
	p.Resends = resends.list(p.Items)
	// Last, so that the guards above judge every send the rules alone
	// make due: one the limits hold back a few seconds is as much a resend.
	if lim != nil && b.gathered {
		lim.collect(p.Items, slices.Values(b.active[collected:]))
	}
	b.limits(lim, p.Items, nil)
	p.inc = b.incremental(p, len(orphans) > 0)
	return p, diags
}

// faultIn maps in the fresh pages of a million Items before the workers
// fill them: at once where the kernel can (prefault.Pages), a part on each
// CPU, else by writing one Item in each memory page on one goroutine. On
// the 2-core machine of BENCHMARKS.md, two workers faulting the pages in
// as they went spent 0.3 s more system time at 1M x 3 than one pass takes
// (0.1 s); two parts take 0.09 s where one took 0.14–0.18 s (288 MB).
func faultIn(items []Item) {
	var failed atomic.Bool
	inParts(len(items), func(_, lo, hi int) {
		if !prefault.Pages(items[lo:hi:hi]) {
			failed.Store(true)
		}
	})
	if !failed.Load() {
		return
	}
	step := max(1, os.Getpagesize()/int(unsafe.Sizeof(Item{})))
	for i := 0; i < len(items); i += step {
		items[i].Attempts = 0
	}
}

// inParts calls f for each of up to GOMAXPROCS consecutive parts [lo, hi)
// of [0, n), numbered from 0, each on a goroutine of its own, and returns
// when all have.
func inParts(n int, f func(part, lo, hi int)) {
	parts := runtime.GOMAXPROCS(0)
	size := (n + parts - 1) / parts
	var wg sync.WaitGroup
	for p := 0; p*size < n; p++ {
		wg.Go(func() { f(p, p*size, min((p+1)*size, n)) })
	}
	wg.Wait()
}

// resendIndex finds the sends about to go out — Send or Retry, not an
// explicit -replace — whose phone accepted the same content (digest) under
// another address, or gets it from another send of the plan (an explicit
// -replace among them). It is built over the sends about to go out, which
// are few once a campaign's first contacts are out (all of them on its
// first run), and fed the state's accepted sends once.
type resendIndex struct {
	items  []Item
	wanted func(addrs.Addr) bool
	// first finds the first item sending a content to a phone: open
	// addressing, linear probing, a power of two long, each slot the high
	// half of the hash of the phone and digest and 1 + the item's index (0
	// for an empty slot). Unlike a map keyed by phone and digest it holds
	// no pointer and a quarter of the bytes: 150k sends due at 1M x 3 were
	// indexed in 72-107 ms with a map.
	first []uint64
	seed  maphash.Seed
	more  map[int][]int // further items sending the same, rare
	seen  []uint64      // bit i: items[i] is in found
	found []Resend
	// digests has a bit set for each indexed digest (its first 8 bytes
	// modulo the bits): most accepted sends share their content with no
	// send about to go out, and a clear bit says so without hashing a
	// phone for the index. At 1M x 3 it saves 2M lookups.
	digests []uint64
}

// newResendIndex indexes the sends of items about to go out; it is nil
// when there are none. wanted says whether the configuration has a send
// at an address.
func newResendIndex(items []Item, timed iter.Seq[int32], wanted func(addrs.Addr) bool) *resendIndex {
	var sending []int
	for i := range timed {
		if it := &items[i]; it.Class.Sends() {
			sending = append(sending, int(i))
		}
	}
	n := len(sending)
	if n == 0 {
		return nil
	}
	bits, slots := 64, 1
	for bits < 16*n {
		bits *= 2
	}
	for slots < 2*n {
		slots *= 2
	}
	x := &resendIndex{items: items, wanted: wanted, first: make([]uint64, slots), seed: maphash.MakeSeed(),
		seen: make([]uint64, len(items)/64+1), digests: make([]uint64, bits/64)}
	prefault.Pages(x.first) // probed before written, as config's duplicate index
	for _, i := range sending {
		it := &items[i]
		w, bit := x.digestBit(it.Digest)
		x.digests[w] |= bit
		slot, tag, j := x.slot(it.Phone(), it.Digest)
		if j >= 0 {
			if x.more == nil {
				x.more = map[int][]int{}
			}
			x.more[j] = append(x.more[j], i)
			continue
		}
		x.first[slot] = tag | (uint64(i) + 1)
	}
	return x
}

// slot returns where in first the first item sending d to phone is, and
// that item, or the empty slot where it goes and -1; tag is the half of
// the hash the slot holds.
func (x *resendIndex) slot(phone string, d state.Digest) (slot int, tag uint64, item int) {
	const low = 1<<32 - 1
	h := maphash.String(x.seed, phone) ^ binary.LittleEndian.Uint64(d[8:])
	tag, mask := h&^low, uint64(len(x.first)-1)
	for s := h & mask; ; s = (s + 1) & mask {
		v := x.first[s]
		if v == 0 {
			return int(s), tag, -1
		}
		if i := int(v&low) - 1; v&^low == tag && x.items[i].Digest == d && x.items[i].Phone() == phone {
			return int(s), tag, i
		}
	}
}

// twins notes, after the accepted sends (whose evidence wins), each send
// that repeats the plan's first send of its content to its phone, unless
// both are follow-ups: as with accepted ones, two journeys may share a step.
func (x *resendIndex) twins() {
	for j, later := range x.more {
		for _, i := range later {
			if x.items[j].Message.After == nil || x.items[i].Message.After == nil {
				if x.items[i].Replace {
					x.note(j, x.items[i].Addr(), true, false)
				} else {
					x.note(i, x.items[j].Addr(), true, false)
				}
			}
		}
	}
}

// firstMessages counts the messages of cfg that are first contacts: with
// one, no two sends of a plan can have one content for one phone, whose
// recipients config holds unique, unless both are follow-ups.
func firstMessages(cfg *config.Config) int {
	n := 0
	for _, c := range cfg.Campaigns {
		for _, m := range c.Messages {
			if m.After == nil {
				n++
			}
		}
	}
	return n
}

// accepted notes that phone accepted content d at a. The first address
// noted for an item is kept. A follow-up is a resend only of an address
// gone from the configuration, a renamed message or campaign: one whose
// content another configured campaign also sent belongs to a journey
// whose first contact went out, resend or not, and is not asked about
// again at every run.
func (x *resendIndex) accepted(phone string, d state.Digest, a addrs.Addr, inDoubt bool) {
	if w, bit := x.digestBit(d); x.digests[w]&bit == 0 {
		return
	}
	_, _, j := x.slot(phone, d)
	if j < 0 {
		return
	}
	mark := func(i int) {
		if it := &x.items[i]; it.Message != nil && it.Message.After != nil && x.wanted(a) {
			return
		}
		x.note(i, a, false, inDoubt)
	}
	mark(j)
	for _, i := range x.more[j] {
		mark(i)
	}
}

// note records items[i] as a resend of the send at of, unless it is that
// send, an explicit -replace, or is recorded already.
func (x *resendIndex) note(i int, of addrs.Addr, inPlan, inDoubt bool) {
	if x.items[i].Replace {
		return
	}
	if bit := uint64(1) << (i % 64); x.seen[i/64]&bit == 0 && x.items[i].Addr() != of {
		x.seen[i/64] |= bit
		x.found = append(x.found, Resend{Item: i, Of: of, InPlan: inPlan, InDoubt: inDoubt})
	}
}

// digestBit returns the word of x.digests and the bit in it for d.
func (x *resendIndex) digestBit(d state.Digest) (int, uint64) {
	h := binary.LittleEndian.Uint64(d[:8]) & uint64(len(x.digests)*64-1)
	return int(h / 64), 1 << (h % 64)
}

// walk feeds the index every send of st that may have reached its phone,
// in address order.
func (x *resendIndex) walk(st *state.State) {
	for s := range st.Sends(addrs.Pattern{}) {
		x.recorded(&s)
	}
}

// recorded feeds the index s, when it may have reached its phone: accepted,
// or in doubt, which may have been accepted as much (SPEC §4.1).
func (x *resendIndex) recorded(s *state.Send) {
	if s.Outcome == state.OutcomeAccepted || s.Outcome == state.OutcomeUnknown {
		x.accepted(s.Phone, s.Digest, s.Addr, s.Outcome == state.OutcomeUnknown)
	}
}

// fromItems feeds the index the accepted sends of the plan's own items, in
// plan order: enough when every send the state holds is one of them (no
// orphans, no moved blocks, nothing filtered out) and every accepted one
// is Done or Drift (nothing replaced). A done send has the
// digest and, unless the number changed, the phone the state records; for
// the few others the state is asked. The Items are read a part on each
// CPU, for the few that may have been accepted with content about to go
// out; those are then fed in order.
func (x *resendIndex) fromItems(st *state.State) {
	found := make([][]int32, runtime.GOMAXPROCS(0))
	inParts(len(x.items), func(p, lo, hi int) {
		for i := lo; i < hi; i++ {
			if x.mayHaveSent(&x.items[i]) {
				found[p] = append(found[p], int32(i))
			}
		}
	})
	for _, f := range found {
		for _, i := range f {
			it := &x.items[i]
			if x.doneWithDigest(it) {
				x.accepted(it.Phone(), it.Digest, it.Addr(), false)
			} else if s, ok := st.Get(it.Addr()); ok {
				x.recorded(&s)
			}
		}
	}
}

// doneWithDigest reports whether it is done with the digest and phone the
// state records.
func (x *resendIndex) doneWithDigest(it *Item) bool {
	return it.Class == Done && it.Digest != (state.Digest{}) && !it.sentElsewhere
}

// mayHaveSent reports whether it may have been accepted with content about
// to go out: a done send whose digest has its bit set (tested first: most
// done sends share their content with no send about to go out, and their
// phone and address are in memory elsewhere), or one whose digest the
// state is to be asked for, a send in doubt among them.
func (x *resendIndex) mayHaveSent(it *Item) bool {
	if x.doneWithDigest(it) {
		w, bit := x.digestBit(it.Digest)
		return x.digests[w]&bit != 0
	}
	return it.Class == Done || it.Class == Drift || it.Class == Unknown
}

// resendReason is a resend's reason in the plan. It does not name the
// earlier address (Guard's diagnostic does): a rename of a million sends
// would otherwise hold a million more strings.
const resendReason = "this phone already accepted the same content under another address: a rename without a moved block?"

// twinReason is the reason of a send of the same content to the same
// phone as an earlier send of the plan.
const twinReason = "the same content goes to this phone under another address in this plan"

// list returns the resends found, in item order, and gives each its
// reason in items: the plan's Items as they are now, which the orphans'
// append may have moved since the index was made. First contacts under a
// changed key are left to their own guard (markRekeyed).
func (x *resendIndex) list(items []Item) []Resend {
	if x == nil {
		return nil
	}
	x.twins()
	if len(x.found) == 0 {
		return nil
	}
	out := x.found[:0]
	for _, r := range x.found {
		if it := &items[r.Item]; it.RekeyedFrom() == "" {
			it.Reason = resendReason
			if r.InPlan {
				it.Reason = twinReason
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Resend) int { return cmp.Compare(a.Item, b.Item) })
	return out
}

// markRekeyed flags the first contacts about to be sent to a phone that the
// state records under another key, no longer in the recipients: the mark of
// a changed key column, which would message everyone a second time.
func markRekeyed(items, orphans []Item) {
	type msgKey struct{ campaign, message string }
	old := map[msgKey]map[string]string{} // phone -> orphaned key
	for _, o := range orphans {
		k := msgKey{o.Addr().Campaign, o.Addr().Message}
		if old[k] == nil {
			old[k] = map[string]string{}
		}
		old[k][o.Phone()] = o.Addr().Key
	}
	if len(old) == 0 {
		return
	}
	for i := range items {
		it := &items[i]
		if !it.Class.Sends() || it.Attempts > 0 || it.Message.After != nil {
			continue
		}
		if key, ok := old[msgKey{it.Addr().Campaign, it.Addr().Message}][it.Phone()]; ok {
			it.set().rekeyedFrom = key
			it.Reason = fmt.Sprintf("new key, but this phone was sent to as %q: did the key column change?", key)
		}
	}
}

type builder struct {
	cfg  *config.Config
	st   *state.State
	now  time.Time
	opts Options
	// limited is set when the configuration has limits: a frequency cap,
	// a messaging tier or pair spacing (newLimiter).
	limited bool
	// recorded counts the sends the configuration wants that the state
	// holds; when that is all of them, there are no orphans to look for.
	// Each worker counts its own and adds them once, when it is done: one
	// count shared by the workers, increased for each send, cost the 1M x 3
	// plan 0.1 s, the CPUs handing its cache line back and forth.
	recorded atomic.Int64
	// keys are the keys of each recipients block, for wanted.
	keys map[*config.RecipientSet]map[string]bool
	// changed are, for Rebuild, the addresses whose sends the state
	// recorded since the plan being updated was made (see kept).
	changed map[addrs.Addr]bool
	// wakes, dues and sending are, by worker, the recipients with a send
	// that time alone can change, with a send scheduled for a time, and
	// with a send due now before the limits (see incremental); the limits
	// add the wakes and dues of the sends they move (heldWakes).
	wakes, dues [][]wake
	sending     [][]int32
	// timed are, by worker and message index, the recipients whose send
	// of the message goes now or, under limits, is scheduled for a time
	// (gathers), as Build's campaign found them. Build gathers them into
	// active: the sends the passes after the workers look at
	// (newResendIndex, limits), a few in a million Items that each pass
	// would otherwise read through.
	timed  [][][]int32
	active []int32
	// gathered reports that active holds every such send of the plan:
	// Build gathered them, with no -target or -exclude moving Items.
	gathered bool
	// elsewhere reports that a send classified is recorded to, or as a
	// follow-up goes to, another phone than its recipient's now (see
	// coupled).
	elsewhere atomic.Bool
}

func newBuilder(cfg *config.Config, st *state.State, now time.Time, opts Options) *builder {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	prov := cfg.Provider
	limited := cfg.FrequencyCap != nil || prov.DailyFirstContacts != 0 || prov.PairSpacing.Milliseconds() != 0
	return &builder{cfg: cfg, st: st, now: now, opts: opts, limited: limited}
}

// get returns the send the state records at a, or under the address a
// moved block says it had before, without its ids (state.State.Peek):
// Build looks up every send, and needs a conversation_id for few
// (worker.conversation).
func (b *builder) get(a addrs.Addr) (state.Send, bool) {
	return Peek(b.cfg, b.st, a, nil)
}

// Recorded returns the send st records at a, or under the address one of
// cfg's moved blocks says it had before: the send Build classified an Item
// at a by.
func Recorded(cfg *config.Config, st *state.State, a addrs.Addr) (state.Send, bool) {
	var s state.Send
	ok := lookup(cfg, a, func(a addrs.Addr) (found bool) {
		s, found = st.Get(a)
		return found
	})
	return s, ok
}

// Peek is Recorded without the send's ids, as state.State.Peek gives it:
// for a caller that reads every send and needs the ids of few. The reply,
// if the send has one, is written to *reply when reply is not nil.
func Peek(cfg *config.Config, st *state.State, a addrs.Addr, reply *state.Reply) (state.Send, bool) {
	var s state.Send
	ok := lookup(cfg, a, func(a addrs.Addr) (found bool) {
		s, found = st.Peek(a, reply)
		return found
	})
	return s, ok
}

// lookup reports whether get finds the send at a, or under the address
// one of cfg's moved blocks says it had before; get keeps what it finds.
func lookup(cfg *config.Config, a addrs.Addr, get func(addrs.Addr) bool) bool {
	if get(a) {
		return true
	}
	for _, m := range cfg.Moved {
		if from, ok := movedFrom(m, a); ok && get(from) {
			return true
		}
	}
	return false
}

func (b *builder) selected(a addrs.Addr) bool {
	if len(b.opts.Targets) > 0 && !addrs.MatchAny(b.opts.Targets, a) {
		return false
	}
	return !addrs.MatchAny(b.opts.Excludes, a)
}

// ordered returns msgs with every message after the one it follows, keeping
// declaration order otherwise; config has already rejected cycles.
func ordered(msgs []*config.Message) []*config.Message {
	depth := func(m *config.Message) int {
		d := 0
		for a := m.After; a != nil && d <= len(msgs); a = a.After {
			d++
		}
		return d
	}
	out := append([]*config.Message(nil), msgs...)
	sort.SliceStable(out, func(i, j int) bool { return depth(out[i]) < depth(out[j]) })
	return out
}

// campaign classifies every send of c into items: the sends of each
// message (in the order ordered gives) for every recipient, in CSV order,
// one message after the other; or, when only is not nil, those of the
// recipients at the indices in only (ascending), leaving the other items
// as they are. Recipients are spread over the CPUs, and each worker
// classifies all of a recipient's messages in turn, so that a follow-up
// finds the sends it follows (its chain) already looked up.
func (b *builder) campaign(c *config.Campaign, items []Item, only []int32) hcl.Diagnostics {
	rs := c.Recipients.Recipients
	msgs := ordered(c.Messages)
	// after[j] is the index in msgs of the message msgs[j] follows, or -1;
	// ordered puts it before j.
	after := make([]int, len(msgs))
	for j, m := range msgs {
		after[j] = slices.Index(msgs, m.After)
	}
	n := len(rs)
	if only != nil {
		n = len(only)
	}
	workers := runtime.GOMAXPROCS(0)
	chunk := (n + workers - 1) / workers
	// diags[j][w] are message j's per-recipient problems from worker w.
	diags := make([][]config.RowDiags, len(msgs))
	for j := range diags {
		diags[j] = make([]config.RowDiags, workers)
	}
	b.wakes, b.dues, b.sending = make([][]wake, workers), make([][]wake, workers), make([][]int32, workers)
	b.timed = make([][][]int32, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := &worker{builder: b, msgs: msgs, after: after, chain: make([]link, len(msgs)),
				sent: make([]stampMemo, len(msgs)), dueAt: make([]stampMemo, len(msgs)), closes: make([]stampMemo, len(msgs)),
				timed: make([][]int32, len(msgs))}
			for x := lo; x < hi; x++ {
				i := x
				if only != nil {
					i = int(only[x])
				}
				wk.recipient = int32(i)
				due := false
				wk.assign(c, rs[i])
				for j := range msgs {
					pc := Class(0)
					if after[j] >= 0 {
						pc = items[after[j]*len(rs)+i].Class
					}
					it := &items[j*len(rs)+i]
					d := wk.classify(it, c, j, rs[i], pc)
					diags[j][w].Add(d)
					due = due || it.Class.Sends()
					if only == nil && b.gathers(it) {
						wk.timed[j] = append(wk.timed[j], int32(i))
					}
				}
				if due && b.opts.Incremental {
					wk.sending = append(wk.sending, int32(i))
				}
			}
			b.wakes[w], b.dues[w], b.sending[w], b.timed[w] = wk.wakes, wk.dues, wk.sending, wk.timed
			b.recorded.Add(wk.inState)
		}()
	}
	wg.Wait()
	var all hcl.Diagnostics
	for j, dm := range diags {
		var problems config.RowDiags
		for w := range dm {
			problems.Merge(&dm[w])
		}
		all = append(all, problems.ForRecipients(msgs[j].DeclRange, msgs[j].Addr().String())...)
	}
	return all
}

// gathers reports whether the passes after the workers read it, and so
// the workers note it (gatherTimed): a send that goes now, which the
// resend index reads, and, under the limits, one scheduled for a time,
// which they give a time with the others.
func (b *builder) gathers(it *Item) bool {
	return it.Class.Sends() || b.limited && it.timed()
}

// gatherTimed appends to b.active the indices of the timed sends the
// workers of the campaign whose items start at start, with n recipients,
// found: message after message, and within one, worker after worker,
// whose recipients come one range after the other; so in plan order.
func (b *builder) gatherTimed(start, n int) {
	b.gathered = true
	for j := 0; len(b.timed) > 0 && j < len(b.timed[0]); j++ {
		for _, byMessage := range b.timed {
			if byMessage == nil { // a worker with no recipients
				break
			}
			for _, i := range byMessage[j] {
				b.active = append(b.active, int32(start+j*n)+i)
			}
		}
	}
}

// worker classifies sends on one goroutine.
type worker struct {
	*builder
	// msgs are the campaign's messages in the order they are classified,
	// after the index of the message each follows (-1 for none).
	msgs  []*config.Message
	after []int
	// chain holds what the state records of the recipient being
	// classified, by message index: each send is looked up once, and its
	// follow-ups read it here.
	chain []link
	// sent and dueAt are the reasons of done and scheduled sends, by
	// message index: a recipient's messages went out (or fall due) at
	// different times, each message's mostly in the same minute.
	sent, dueAt []stampMemo
	// closes are the reasons of sends expired by the 24h window.
	closes []stampMemo
	// reply is the answer replyOf gave last.
	reply config.Reply
	// reasons are the reasons that repeat (see reason); plain are those
	// that quote no answer, by message index and kind.
	reasons map[reasonKey]string
	plain   [][reasonKinds]string
	// variant and held are the assignment of the recipient being
	// classified (see assign).
	variant string
	held    bool
	// deferredUntil is, while a deferred send (Meta's 131049) is
	// classified, when it may go again; zero otherwise.
	deferredUntil time.Time
	// recipient is the index of the recipient being classified; wakes and
	// sending collect, for Rebuild, the recipients with a send that time
	// alone changes and those with a send due now.
	recipient   int32
	wakes, dues []wake
	sending     []int32
	// timed are, by message index, the recipients whose send goes now or
	// is scheduled for a time (see builder.timed).
	timed [][]int32
	// inState counts the sends classified that the state holds (see
	// builder.recorded).
	inState int64
}

// link is the send the state records for one message of the recipient
// being classified, if ok, without its ids until conversation reads its
// conversation_id (conv).
type link struct {
	s    state.Send
	ok   bool
	conv bool
	// reply holds s.Reply, if any, until the next recipient's send of the
	// message is looked up.
	reply state.Reply
	// cursor is where the last recipient's send of the message was.
	cursor state.Cursor
}

// reasonKind names a reason that repeats from send to send (see reason).
type reasonKind uint8

const (
	reasonWaits reasonKind = iota
	reasonWillNotGo
	reasonNotTaken
	reasonAwaits
	reasonFollows
	reasonStopAt
	reasonKinds // the number of kinds
)

// reasonKey is a repeating reason of msgs[j]: its kind, and the answer for
// those that quote one.
type reasonKey struct {
	j    int
	kind reasonKind
	word string
}

// maxReasons bounds a worker's remembered reasons: free-text answers may
// all differ.
const maxReasons = 1024

// reason returns the reason of msgs[j] of kind and word, made by text the
// first time: a million sends awaiting an answer share one string instead
// of holding a million equal ones.
func (b *worker) reason(j int, kind reasonKind, word string, text func() string) string {
	if word == "" {
		// Most reasons quote no answer: found by index, not by hashing a key.
		if b.plain == nil {
			b.plain = make([][reasonKinds]string, len(b.msgs))
		}
		if r := b.plain[j][kind]; r != "" {
			return r
		}
		r := text()
		b.plain[j][kind] = r
		return r
	}
	k := reasonKey{j, kind, word}
	if r, ok := b.reasons[k]; ok {
		return r
	}
	if b.reasons == nil || len(b.reasons) >= maxReasons {
		b.reasons = make(map[reasonKey]string)
	}
	r := text()
	b.reasons[k] = r
	return r
}

// stampMemo is one reason that carries a time, as prefix + stamp(t),
// remembered for the next send: a campaign's sends were mostly recorded
// (or fall due) in the same minute, and share one string instead of a
// million equal ones.
type stampMemo struct {
	minute int64
	reason string
}

// get returns prefix + stamp(t) + suffix; one memo serves one prefix and
// suffix.
func (m *stampMemo) get(prefix string, t time.Time, suffix string) string {
	minute := t.Unix() / 60
	if t.Unix() < 0 && t.Unix()%60 != 0 {
		minute-- // floor, as stamp drops the seconds of times before 1970 too
	}
	if m.reason == "" || m.minute != minute {
		m.minute, m.reason = minute, prefix+stamp(t)+suffix
	}
	return m.reason
}

// classify makes *it the send of msgs[j] of c to r, with its class, in
// place: a plan holds millions of Items, not worth copying around.
// parentClass is the class of the same recipient's send of the message
// msgs[j] follows (zero for a first contact).
func (b *worker) classify(it *Item, c *config.Campaign, j int, r *config.Recipient, parentClass Class) hcl.Diagnostics {
	m := b.msgs[j]
	addr := addrs.Addr{Campaign: c.Name, Message: m.Name, Key: r.Key}
	l := &b.chain[j]
	// Into the link, where the follow-ups read it: a Send is over 400
	// bytes, not worth copying three million times.
	recorded := lookup(b.cfg, addr, func(a addrs.Addr) bool { return b.st.PeekFrom(a, &l.s, &l.reply, &l.cursor) })
	if l.ok, l.conv = recorded, false; !recorded {
		l.s = state.Send{} // what the follow-ups read of a send not made
	}
	s := &l.s
	var old Item // the item as Rebuild found it, when it is kept
	keep := b.kept(it, j, addr)
	if keep {
		old = *it
	}
	*it = Item{Message: m, Recipient: r}
	if k := b.after[j]; k >= 0 && b.chain[k].ok {
		// A follow-up goes where its parent went: into its conversation.
		if ps := &b.chain[k].s; ps.Outcome == state.OutcomeAccepted && ps.Phone != "" && ps.Phone != r.Phone {
			it.set().phone = ps.Phone
			b.elsewhere.Store(true)
		}
	}
	if recorded {
		b.inState++
		if s.Phone != r.Phone {
			b.elsewhere.Store(true)
		}
		if len(m.Variants) > 0 && s.Variant != "" {
			// A send keeps the variant it went out with, and so do the
			// messages after it.
			b.variant = s.Variant
		}
	}
	if b.held && !recorded {
		it.Class, it.Reason, it.Holdout = Orphan, holdoutReason, true
		return nil
	}
	if m.Varies() {
		it.variant = variants.ID(b.variant)
	}
	replace := addrs.MatchAny(b.opts.Replace, addr)
	if recorded && !replace {
		it.Attempts = int32(min(s.Attempts, 1<<31-1))
		switch s.Outcome {
		case state.OutcomeAccepted:
			if keep {
				*it = old
				return nil
			}
			return b.done(it, j, s)
		case state.OutcomeUnknown:
			it.Class, it.Reason = Unknown, unknownReason(*s)
			return nil
		case state.OutcomeFailed:
			it.Class, it.Reason = Expired, "failed permanently: "+errorText(*s)
			return nil
		case state.OutcomeExpired:
			it.Class, it.Reason = Expired, "the provider refused it: "+errorText(*s)
			return nil
		case state.OutcomeRetry:
			switch own, all := failures(s); {
			case own >= b.opts.MaxAttempts:
				it.Class, it.Reason = Expired, fmt.Sprintf("gave up after %d failed attempts: %s", own, errorText(*s))
				return nil
			case all >= allAttemptsFactor*b.opts.MaxAttempts:
				it.Class, it.Reason = Expired, fmt.Sprintf("gave up after %d attempts, %d of them failures every send met (Briq unreachable or unavailable): %s", all, all-own, errorText(*s))
				return nil
			}
		case state.OutcomeDeferred:
			// Not counted against MaxAttempts: the limit is Meta's
			// "not today", not a failure of the send.
			b.deferredUntil = s.ResultAt.Add(state.DeferFor)
			defer func() { b.deferredUntil = time.Time{} }()
		}
	}
	// Nobody who opted out or is suppressed gets a send: a new one, nor a
	// retry, a deferred one or an explicit -replace of one recorded.
	if name, ok := b.cfg.Suppressed(it.Phone()); ok {
		it.Class, it.Reason = Orphan, "suppressed by suppress."+name
		return nil
	}
	if _, ok := b.st.OptOut(it.Phone()); ok {
		it.Class, it.Reason = Orphan, "the recipient opted out"
		return nil
	}
	diags := b.due(it, c, j, r, parentClass)
	if replace && recorded && it.Class == Send {
		it.Replace = true
		it.Reason = "replace requested; " + it.Reason
	}
	switch {
	case !recorded || replace:
	case s.Outcome == state.OutcomeRetry && it.Class == Send:
		it.Class, it.Reason = Retry, fmt.Sprintf("attempt %d failed: %s", s.Attempts, errorText(*s))
	case s.Outcome == state.OutcomeDeferred && it.Class == Send:
		it.Class, it.Reason = Retry, fmt.Sprintf("attempt %d was deferred a day (%s)", s.Attempts, errorText(*s))
	case s.Outcome == state.OutcomeDeferred && it.Class == Scheduled && it.Due().Equal(b.deferredUntil):
		it.Reason = deferredReason + stamp(it.Due())
	}
	return diags
}

// done classifies a send the provider accepted: Done, or Drift when the
// configuration now wants different content.
func (b *worker) done(it *Item, j int, s *state.Send) hcl.Diagnostics {
	it.sentElsewhere = s.Phone != it.Phone()
	// No digest: what was sent is not known (refresh -recover found the
	// message of a send it could not render yet); it is done, not drift.
	if b.opts.NoDrift || s.Digest == (state.Digest{}) {
		it.Class, it.Reason = Done, b.sent[j].get("sent ", s.ResultAt, "")
		return nil
	}
	// The content's inputs, when the state recorded them and they are the
	// same now, vouch for the content without making it.
	if s.Inputs != 0 {
		if in, ok := it.Message.InputSum(it.Recipient, b.variant); ok && in == s.Inputs {
			it.Digest = s.Digest
			it.Class, it.Reason = Done, b.sent[j].get("sent ", s.ResultAt, "")
			return nil
		}
	}
	var reply *config.Reply
	if k := b.after[j]; k >= 0 && b.chain[k].ok {
		reply = b.replyOf(&b.chain[k].s)
	}
	// Most accepted sends have the content the configuration renders now,
	// which ContentSum tells without rendering: then the checks Render
	// makes cannot change the class, and are skipped. Content that differs,
	// or that ContentSum cannot sum, is rendered with them.
	if sum, _, ok := it.Message.ContentSum(it.Recipient, b.variant); ok {
		if d := sumDigest(sum); d == s.Digest {
			it.Digest = d
			it.Class, it.Reason = Done, b.sent[j].get("sent ", s.ResultAt, "")
			return nil
		}
	}
	p, diags := it.Message.Render(it.Recipient, reply, b.variant)
	if diags.HasErrors() {
		it.Class, it.Reason = Done, b.sent[j].get("sent ", s.ResultAt, "")
		return nil
	}
	it.Digest = ContentDigest(p)
	if it.Digest != s.Digest {
		it.Class, it.Reason = Drift, "sent "+stamp(s.ResultAt)+" with different content; -replace sends the new content"
		it.setReply(cloneReply(reply)) // for the sample of the new content
		return nil
	}
	it.Class, it.Reason = Done, b.sent[j].get("sent ", s.ResultAt, "")
	return nil
}

// due works out when a send not yet accepted can go: now (Send), later
// (Scheduled) or never (Expired).
func (b *worker) due(it *Item, c *config.Campaign, j int, r *config.Recipient, parentClass Class) hcl.Diagnostics {
	m := b.msgs[j]
	due := b.now
	windowEnd := time.Time{} // zero: no 24h window applies
	var reply *config.Reply
	if k := b.after[j]; k >= 0 {
		ps, ok := &b.chain[k].s, b.chain[k].ok
		if !ok || ps.Outcome != state.OutcomeAccepted {
			switch parentClass {
			case Send, Retry, Scheduled, Unknown:
				it.Class, it.Reason = Scheduled, b.reason(j, reasonWaits, "", func() string { return "waits for message." + m.After.Name })
			default:
				it.Class, it.Reason, it.lost = Expired, b.reason(j, reasonWillNotGo, "", func() string { return "message." + m.After.Name + " will not be sent" }), lostAfter
			}
			return nil
		}
		due = ps.ResultAt.Add(m.Delay)
		if m.Kind != config.KindTemplate {
			windowEnd = b.windowEnd(j)
		}
		reply = b.replyOf(ps)
		if m.HasWhen {
			take, diags := m.When(r, reply, b.variant)
			if diags.HasErrors() {
				return diags
			}
			switch {
			case reply != nil && !take:
				word := replyWord(reply)
				it.Class, it.Reason, it.lost = Expired, b.reason(j, reasonNotTaken, word, func() string {
					return fmt.Sprintf("branch not taken: the answer to message.%s was %q", m.After.Name, word)
				}), lostNotTaken
				return nil
			case reply == nil && !take:
				// Only an answer can make this branch due.
				if !windowEnd.IsZero() && !b.now.Before(windowEnd) {
					it.Class, it.Reason, it.lost = Expired, fmt.Sprintf("no answer to message.%s before the 24h window closed at %s", m.After.Name, stamp(windowEnd)), lostNotTaken
					return nil
				}
				it.Class, it.Reason, it.AwaitsReply = Scheduled, b.reason(j, reasonAwaits, "", func() string { return "awaits an answer to message." + m.After.Name }), true
				b.wakeAt(windowEnd)
				return nil
			}
		}
	}
	// Not before a deferral (Meta's 131049) ends.
	if due.Before(b.deferredUntil) {
		due = b.deferredUntil
	}
	var loc *time.Location // the send window's
	if w := c.Window; w != nil {
		var diags hcl.Diagnostics
		if loc, diags = w.Location(r); diags.HasErrors() {
			return diags
		}
	}
	base := due
	due = dueFrom(c, loc, base, b.now)
	switch {
	case !c.StopAt.IsZero() && !due.Before(c.StopAt):
		it.Class, it.Reason = Expired, b.reason(j, reasonStopAt, "", func() string { return "stop_at " + stamp(c.StopAt) + " comes before it is due" })
		return nil
	case !windowEnd.IsZero() && !due.Before(windowEnd):
		it.Class, it.Reason = Expired, b.closes[j].get("the 24h window closes at ", windowEnd, ", before it is due")
		b.wakeAt(stopAtComes(c, loc, base, b.now))
		return nil
	}
	// A send due later is rendered when it falls due: now it needs only
	// the checks Render makes, whose problems are reported now, and no
	// digest (a done send costs no more). A send due now in a plan whose
	// payloads apply does not take needs the digest of its content, not
	// the content: ContentSum gives it when it also made the checks.
	later := due.After(b.now)
	checked := false
	switch {
	case later:
		checked = m.ContentChecked(r, b.variant)
	case !b.opts.Payloads:
		sum, sumChecked, ok := m.ContentSum(r, b.variant)
		if checked = ok && sumChecked; checked {
			it.Digest = sumDigest(sum)
		}
	}
	var p *config.Payload
	var diags hcl.Diagnostics
	if !checked {
		if p, diags = m.Render(r, reply, b.variant); diags.HasErrors() {
			return diags
		}
		if !later {
			it.Digest = ContentDigest(p)
		}
	}
	if m.After != nil && !later {
		if id := b.conversation(j); id != "" {
			it.set().conversationID = id
		}
	}
	it.setReply(cloneReply(reply))
	it.setTimes(due, windowEnd)
	if later {
		it.Class, it.Reason = Scheduled, b.dueAt[j].get("due ", due, "")
		b.scheduledAt(due)
	} else {
		it.Class = Send
		if b.opts.Payloads {
			it.setPayload(p)
		}
		if m.After == nil {
			it.Reason = "first contact"
		} else {
			it.Reason = b.reason(j, reasonFollows, "", func() string { return "follows message." + m.After.Name })
		}
	}
	return diags
}

// deferredReason is the reason of a send deferred by Meta's per-user
// marketing limit, followed by when it is due again.
const deferredReason = "Meta's per-user marketing limit (131049) refused it for a day; due again "

// dueFrom is when a send that may go from base on is due, planned at now:
// not before now or start_at, and at the send window's next opening (loc
// is the window's, nil without one).
func dueFrom(c *config.Campaign, loc *time.Location, base, now time.Time) time.Time {
	due := base
	if due.Before(now) {
		due = now
	}
	if !c.StartAt.IsZero() && due.Before(c.StartAt) {
		due = c.StartAt
	}
	if w := c.Window; w != nil {
		due = nextInWindow(due, w.From, w.To, loc)
	}
	return due
}

// replyOf returns the recorded answer to s, or nil, in the worker's one
// Reply: the answer decides the class of a million sends, and only those
// that keep it (cloneReply) need one of their own.
func (b *worker) replyOf(s *state.Send) *config.Reply {
	if s.Reply == nil {
		return nil
	}
	b.reply = config.Reply{ID: s.Reply.ID, Title: s.Reply.Title, Text: s.Reply.Text, At: s.Reply.At}
	return &b.reply
}

// cloneReply returns a copy of r, which replyOf gave, for an Item to keep.
func cloneReply(r *config.Reply) *config.Reply {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

// conversation returns the thread of the sends msgs[j] follows: the
// conversation_id of the nearest accepted ancestor that has one. The chain
// was looked up without ids, so each ancestor's is read once, when asked.
func (b *worker) conversation(j int) string {
	for k := b.after[j]; k >= 0; k = b.after[k] {
		l := &b.chain[k]
		if !l.ok {
			continue
		}
		if !l.conv {
			if id, ok := b.st.ConversationAt(&l.cursor, l.s.Addr); ok {
				l.s.ConversationID = id
			} else if s, ok := b.st.Get(l.s.Addr); ok {
				l.s.ConversationID = s.ConversationID
			}
			l.conv = true
		}
		if l.s.ConversationID != "" {
			return l.s.ConversationID
		}
	}
	return ""
}

// wanted reports whether the configuration has a send at a: its campaign,
// message and recipient key. The key sets are built once, on first use.
func (b *builder) wanted(a addrs.Addr) bool {
	for _, c := range b.cfg.Campaigns {
		if c.Name != a.Campaign || c.Recipients == nil {
			continue
		}
		if !slices.ContainsFunc(c.Messages, func(m *config.Message) bool { return m.Name == a.Message }) {
			return false
		}
		if b.keys == nil {
			b.keys = map[*config.RecipientSet]map[string]bool{}
		}
		set := b.keys[c.Recipients]
		if set == nil {
			set = make(map[string]bool, len(c.Recipients.Recipients))
			for _, r := range c.Recipients.Recipients {
				set[r.Key] = true
			}
			b.keys[c.Recipients] = set
		}
		return set[a.Key]
	}
	return false
}

// orphans lists the sends the state holds that the configuration no longer
// wants: their campaign, message or recipient is gone. When it walks the
// state to find them, it feeds resends (when not nil) the accepted sends,
// and reports walked.
func (b *builder) orphans(resends *resendIndex) ([]Item, bool) {
	// Addresses are unique, so when every send in the state was counted as
	// wanted none is an orphan, and the walk through the whole state in
	// address order (a sort of every key) can be skipped. Moved blocks can
	// make one recorded send count for two addresses, so with them the walk
	// always runs.
	if len(b.cfg.Moved) == 0 && b.recorded.Load() == int64(b.st.Len()) {
		return nil, false
	}
	type msgKey struct{ campaign, message string }
	msgs := map[msgKey]*config.Campaign{}
	for _, c := range b.cfg.Campaigns {
		for _, m := range c.Messages {
			msgs[msgKey{c.Name, m.Name}] = c
		}
	}
	keys := map[*config.RecipientSet]map[string]bool{}
	var out []Item
	for s := range b.st.Sends(addrs.Pattern{}) {
		if resends != nil {
			resends.recorded(&s)
		}
		s.Addr = b.movedTo(s.Addr)
		c, ok := msgs[msgKey{s.Addr.Campaign, s.Addr.Message}]
		if ok {
			set := keys[c.Recipients]
			if set == nil {
				set = make(map[string]bool, len(c.Recipients.Recipients))
				for _, r := range c.Recipients.Recipients {
					set[r.Key] = true
				}
				keys[c.Recipients] = set
			}
			if set[s.Addr.Key] {
				continue
			}
		}
		reason := "no longer in the configuration"
		if ok {
			reason = "the recipient is no longer in " + c.Recipients.CSVPath
		}
		out = append(out, Item{rare: &rareFields{addr: s.Addr, phone: s.Phone}, Class: Orphan, Reason: reason, variant: variants.ID(s.Variant), Attempts: int32(min(s.Attempts, 1<<31-1))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rare.addr.String() < out[j].rare.addr.String() })
	return out, true
}

// Inputs returns the fingerprint of what the send's content is made from
// (config.Message.InputSum), for its intent to record; 0 when it has none.
func (it *Item) Inputs() uint64 {
	if it.Message == nil {
		return 0
	}
	sum, _ := it.Message.InputSum(it.Recipient, it.Variant())
	return sum
}

// ContentDigest is the digest the state records for a payload: the first
// half of its SHA-256.
func ContentDigest(p *config.Payload) state.Digest {
	return sumDigest(p.Sum())
}

// sumDigest is the digest of content whose SHA-256 is sum.
func sumDigest(sum [sha256.Size]byte) state.Digest {
	return state.Digest(sum[:len(state.Digest{})])
}

// movedTo returns the address a moved block gives the send recorded at a,
// or a itself.
func (b *builder) movedTo(a addrs.Addr) addrs.Addr { return MovedTo(b.cfg, a) }

// MovedTo returns the address one of cfg's moved blocks gives the send
// recorded at a, or a itself: the address of its Item.
func MovedTo(cfg *config.Config, a addrs.Addr) addrs.Addr {
	for _, m := range cfg.Moved {
		if m.From.Match(a) {
			a.Campaign = m.To.Campaign
			if m.To.Message != "" {
				a.Message = m.To.Message
			}
			return a
		}
	}
	return a
}

func errorText(s state.Send) string {
	switch {
	case s.ErrorCode != "" && s.ErrorMessage != "":
		return s.ErrorCode + ": " + s.ErrorMessage
	case s.ErrorCode != "":
		return s.ErrorCode
	case s.ErrorMessage != "":
		return s.ErrorMessage
	}
	return "no detail recorded"
}

func replyWord(r *config.Reply) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Text
}

// stamp formats t for plans: minutes are enough, and UTC keeps golden files
// independent of the machine's zone.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// StillDue re-checks at send time the time rules that made it due —
// start_at, stop_at, the send window and the 24h window — so that apply,
// even of a saved plan, may do less than the plan but never more. When the
// send is no longer due, the reason says why.
func (it *Item) StillDue(now time.Time) (bool, string) {
	c := it.Message.Campaign
	switch {
	case !c.StartAt.IsZero() && now.Before(c.StartAt):
		return false, "start_at " + stamp(c.StartAt) + " has not come"
	case !c.StopAt.IsZero() && !now.Before(c.StopAt):
		return false, "stop_at " + stamp(c.StopAt) + " has passed"
	case !it.WindowEnd().IsZero() && !now.Before(it.WindowEnd()):
		return false, "the 24h window closed at " + stamp(it.WindowEnd())
	}
	if w := c.Window; w != nil {
		loc, diags := w.Location(it.Recipient)
		if diags.HasErrors() || !nextInWindow(now, w.From, w.To, loc).Equal(now) {
			return false, "outside the send window"
		}
	}
	return true, ""
}
