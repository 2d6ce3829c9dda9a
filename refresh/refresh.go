package refresh

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/state"
	"golang.org/x/text/unicode/norm"
)

// Defaults of the Options fields whose zero value means "default".
const (
	DefaultLookBack    = 7 * 24 * time.Hour
	DefaultSkew        = 5 * time.Minute
	DefaultSettle      = 10 * time.Minute
	DefaultMaxLookups  = 100
	DefaultParallelism = 8
	DefaultRetryDelay  = time.Second
)

// DefaultOptOutKeywords are the replies that opt a recipient out when
// Options.OptOutKeywords is nil.
var DefaultOptOutKeywords = []string{"STOP", "UNSUBSCRIBE"}

// Client is the part of the Briq client refresh reads through; *briq.Client
// implements it. Refresh only ever reads.
type Client interface {
	ListMessages(ctx context.Context, q briq.MessageQuery) (*briq.Page[briq.Message], error)
	ListConversations(ctx context.Context, q briq.ConversationQuery) (*briq.Page[briq.Conversation], error)
	GetMessage(ctx context.Context, messageID string) (*briq.MessageDetail, error)
}

// Store is the part of an opened state store refresh records into;
// *state.Store implements it. Each method returns once its record is
// durable.
type Store interface {
	State() *state.State
	RecordIntent(i state.Intent) error
	Refresh(u state.Update) error
	Defer(d state.Deferral) error
	RecordResult(r state.Result) error
	OptOut(o state.OptOut) error
	ReadInbound(t time.Time) error
}

// Options configure Run. The zero value uses every default.
type Options struct {
	// LookBack bounds which accepted sends are followed: those whose intent
	// is at most LookBack old (DefaultLookBack when zero). Older sends keep
	// the status and reply they have. Unknown sends are resolved whatever
	// their age.
	LookBack time.Duration
	// Skew is the margin taken off every "since" given to the provider, for
	// the difference between this machine's clock and the provider's
	// (DefaultSkew when zero). A larger margin costs longer listings and,
	// for unknown sends, more candidates (so more ambiguous ones).
	Skew time.Duration
	// Settle is how old an unknown send's intent must be before refresh
	// may call it absent (DefaultSettle when zero), so a request still on
	// its way to the provider, or a message Briq's async engine shows
	// late, is not taken for one that never left.
	Settle time.Duration
	// MaxLookups caps the GET /v1/whatsapp/messages/{id} requests made for
	// sends the listing did not show whose status is not final
	// (DefaultMaxLookups when zero; negative means none). The newest such
	// sends are looked up first; the rest wait for the next refresh and are
	// counted in Summary.NotReached. Unknown sends that carry their own
	// message_id are always looked up: that is their evidence.
	MaxLookups int
	// OptOutKeywords are the replies that opt a recipient out: the reply's
	// text (or a button's id) is one, whatever its case, punctuation and
	// compatibility form, or an answer of a few words starts or ends with
	// one (isOptOut). Nil means DefaultOptOutKeywords; an empty non-nil
	// slice means none.
	OptOutKeywords []string
	// Offers returns the reply ids (button and list row ids) the
	// interactive message of a send offered, for an answer tapped without
	// paired_message_id in a thread that holds two questions; ok is false
	// when it cannot tell. Nil: the latest question takes such answers.
	Offers func(s state.Send) (ids []string, ok bool)
	// Parallelism bounds concurrent requests for per-recipient lookups
	// (DefaultParallelism when zero). Listings are read one page at a time.
	Parallelism int
	// RetryDelay is the first wait before a read that failed transiently
	// (429, 5xx, a lost connection) is tried again; it doubles on each of
	// the at most three retries, and a longer Retry-After wins.
	// DefaultRetryDelay when zero.
	RetryDelay time.Duration
	// Now is the clock: the look-back, Settle, and the delivered and read
	// times recorded. time.Now when nil.
	Now func() time.Time
	// Windows, when set, selects the followed sends whose conversation's
	// 24h window refresh reads from the provider (window.open,
	// window.expires_at) and records with the send, for plan to prefer to
	// its own model: those a free-form follow-up still waits on. Nil reads
	// no windows.
	Windows func(state.Send) bool
	// Recover lists the sends the configuration wants now that the state
	// does not record, or records as due again, when the state was
	// restored from an older copy (a backup, a state pushed back) and may
	// have lost sends made since: see Run. RecoverSince is the time of the
	// copy's newest record; zero searches every message.
	Recover      []Missing
	RecoverSince time.Time
	// Targets, when set, narrows what the run records to the sends under
	// them: their statuses, answers and windows (and the single-message
	// lookups for them), and the unknown sends of the phones that have an
	// unknown send under them (the unknown sends of one phone compete for
	// the messages found there, so a phone is resolved whole). The
	// listings it reads are the same: an answer is paired with the send it
	// follows in its conversation, whichever campaign that is. Opt-outs
	// are recorded whatever the targets. Not with Recover.
	Targets []addrs.Pattern
	// NoSearch resolves unknown sends only by a message_id of their own,
	// leaving the others for a later run: refresh -recover's first pass,
	// before the sends a restored copy lost are recorded, which may own the
	// messages a search would find.
	NoSearch bool
}

// Summary counts what a Run did.
type Summary struct {
	// Requests is every request made, retries included; Lookups is how
	// many of them were GET /v1/whatsapp/messages/{id}.
	Requests, Lookups int
	// Statuses is the number of sends whose provider status moved on.
	Statuses int
	// Replies is the number of replies recorded.
	Replies int
	// OptOuts is the number of phone numbers newly opted out.
	OptOuts int
	// Windows is the number of sends whose conversation's window, as the
	// provider reports it, was recorded because it changed.
	Windows int
	// Found is the number of unknown sends found at the provider, now
	// accepted with their message_id; Absent the number certainly absent,
	// now due again; Failed the number whose message the provider reports
	// failed after Options.Settle, now due again with that id kept.
	Found, Absent, Failed int
	// Deferred is the number of sends whose message the provider refused
	// with Meta's per-user marketing limit (131049) after accepting it, or
	// that were in doubt and failed so: due again a day later, their
	// message_id kept.
	Deferred int
	// Ambiguous lists the unknown sends left unknown because more than one
	// message at the provider could be theirs, in address order.
	Ambiguous []addrs.Addr
	// TooRecent is the number of unknown sends with no message at the
	// provider, or a failed or missing one, but an intent younger than
	// Options.Settle; left unknown.
	TooRecent int
	// Incomplete is the number of unknown sends left unknown because the
	// evidence could not be gathered: a listing that could not be read to
	// its end, or a lookup that kept failing.
	Incomplete int
	// NotReached is the number of sends whose status is not final that
	// were neither in the listing nor looked up (Options.MaxLookups).
	NotReached int
	// Recovered is the number of Options.Recover sends recorded as unknown
	// because their phone holds messages that no send claims (the search
	// of unknown sends then decided them, and counted them above);
	// RecoverClear the number whose phone holds none, left due.
	Recovered, RecoverClear int
}

// Run brings the state in store up to date with the provider behind c. The
// caller holds the store open (and so locked) for the whole run.
//
// First it resolves unknown sends, by evidence only, never by the absence
// of evidence the Briq docs do not promise (SPEC §4.1):
//   - a send that carries a message_id of its own (from any answer: a 5xx or
//     408 envelope, a 429, a 422 provider failure, a 2xx whose status is
//     failed) is looked up with GET /v1/whatsapp/messages/{id}: found and not
//     failed, it is accepted with that id; failed, or 404, it becomes a retry
//     (due again, the id kept) once its intent is older than Options.Settle,
//     or deferred a day when it failed with Meta's per-user marketing limit
//     (131049). A 404 counts only from a lookup that finds messages that
//     exist: some lookup of the run found its message, or one the state
//     records as accepted is found; else the send stays unknown (Incomplete);
//   - the others are searched for. For each recipient phone it lists the
//     phone's conversations (GET /v1/whatsapp/conversations?recipient=PHONE
//     &status=all, every page, keeping only those whose recipient_phone is
//     that phone; a listing that ignored the filter, as G1's may, counts only
//     when it showed as many conversations as its total, and then serves the
//     run's other phones) and, in each, every outbound message since the
//     earliest of those intents less Options.Skew, whatever its status (every
//     page; no status filter, whose values Briq does not document). A message
//     is a candidate for a send when no send to the phone records its id (in
//     any attempt) and it was created no earlier than the send's intent less
//     Skew. Exactly one candidate, a candidate of no other unknown send: the
//     send takes its id — accepted when the listing says it did not fail,
//     otherwise decided by looking the id up as above. No candidate and an
//     intent older than Settle: certainly absent, a retry. No candidate but a
//     younger intent: left unknown (TooRecent). Several: left unknown
//     (Ambiguous).
//
// Before that, with Options.Recover, it looks for the sends a restored
// state may have lost: each phone of those sends is listed as above, since
// Options.RecoverSince less Skew, and a phone holding any message that no
// send claims has its Recover sends recorded as unknown (an intent at the
// earliest time they could have been made, and no result), so that they
// are searched for like the others and never sent while in doubt. Sends to
// a phone that holds no such message stay due (Summary.RecoverClear).
//
// A listing or lookup that cannot be completed (after the retries of every
// read) leaves the sends concerned unknown (Incomplete) and the run goes on;
// every send left unknown gets a note in its error message saying what was
// checked, when, and from when a refresh can decide, which plan shows.
//
// Briq has no idempotency key or client reference (briq-whatsapp-api.md
// §20), so the search is the best the API allows, and it has limits: a
// message sent to the same phone by another tool or by hand after the
// intent is taken for the send; two unknown sends to one phone within Skew
// of each other stay ambiguous; and a complete listing is trusted to show
// every message Briq holds in those conversations.
//
// Then it follows the accepted sends within Options.LookBack, reading
// workspace-wide listings 200 messages a page. It reads every inbound
// message since the oldest followed send or, when earlier, since where the
// last refresh's complete listing began (State.InboundRead, which a
// listing read to its end moves to this run's start; for a state without
// it, the newest accepted send), less Skew, so that an opt-out sent while
// no send was within the look-back, or while refresh did not run, is still
// read (as far as Briq lists it: the listing covers the workspace's active
// conversations, and a thread that fell silent may not be listed): a message whose
// paired_message_id is a followed send is its reply (the earliest one
// counts); one without a paired_message_id answers the latest followed send
// created before it in its conversation (for a tapped button or list row,
// the latest that offered it, Options.Offers, else the latest that could
// carry them, not a text or media); one whose text is
// an opt-out keyword opts its conversation's phone out, in the
// conversation of any send the state records. A send recorded
// without a conversation (Briq answered it without one) learns it from its
// answer or from the outbound listing. When some send's status is not final,
// or an answer needs matching by time, it reads every outbound message since
// the oldest send that still needs a status or a reply (less Skew), taking
// each message's status and creation time; when the listing gives no status
// (the documented item has no status field), it reads the listing again once
// per status (sent, delivered, read, failed) that some send has not reached
// yet, filtered by status (a filter whose values Briq does not document:
// when its answers contradict each other, a message listed as failed and as
// delivered or read, the server ignored it, and the statuses it implied are
// dropped). Sends with a status that is not final that the outbound listing
// did not show, or whose status came from an ignored filter, and those a
// filtered listing showed failed without a reason, are looked up one by one,
// up to Options.MaxLookups. Statuses are for show and report, with one
// exception: a message failed with Meta's per-user marketing limit (131049),
// by its own status and code, makes its send deferred, due again a day later
// with its id kept, as when the send's answer carries that code (SPEC §7).
// Statuses only move forward; delivered and read times are when refresh
// first saw them (Briq reports no per-status time), so they are upper
// bounds.
//
// Last, for the followed sends Options.Windows selects, it reads their
// conversations' 24h windows as the provider reports them (one listing per
// recipient, or the workspace's whole listing when there are many) and
// records those that changed, for plan to prefer to its model.
//
// The Summary counts what was done even when Run returns an error; every
// change it counts is durable.
func Run(ctx context.Context, c Client, store Store, opts Options) (Summary, error) {
	r := newRun(c, store, opts)
	r.serial = store.State().Serial()
	err := r.recover(ctx)
	if err == nil {
		err = r.resolveUnknown(ctx)
	}
	if err == nil {
		err = r.follow(ctx)
	}
	return r.summary(), err
}

// run is one Run's working set.
type run struct {
	c        Client
	store    Store
	opts     Options
	now      time.Time
	keywords []string
	serial   uint64 // the state's as the run began

	requests, lookups atomic.Int64
	// found is set once a message lookup answered with a message: the
	// endpoint works, so its 404s are about the ids asked for.
	found    atomic.Bool
	mu       sync.Mutex // guards sum and notFound
	sum      Summary
	notFound []notFound
	// exact is set once a conversations listing honoured the recipient
	// filter; until then walk serialises the listings, and workspace,
	// which walk guards, is every conversation of the workspace by phone
	// once a listing that ignored the filter was read completely (see
	// threads).
	exact     atomic.Bool
	walk      sync.Mutex
	workspace map[string][]thread
}

func newRun(c Client, store Store, opts Options) *run {
	if opts.LookBack <= 0 {
		opts.LookBack = DefaultLookBack
	}
	if opts.Skew <= 0 {
		opts.Skew = DefaultSkew
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultSettle
	}
	if opts.MaxLookups == 0 {
		opts.MaxLookups = DefaultMaxLookups
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = DefaultRetryDelay
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OptOutKeywords == nil {
		opts.OptOutKeywords = DefaultOptOutKeywords
	}
	r := &run{c: c, store: store, opts: opts, now: opts.Now()}
	for _, k := range opts.OptOutKeywords {
		if k = foldWords(k); k != "" {
			r.keywords = append(r.keywords, k)
		}
	}
	return r
}

// optOutWords is the longest answer read for an opt-out keyword among its
// first and last words ("stop please", "Stop promotions", "please STOP"):
// longer ones are sentences that may use the word otherwise.
const optOutWords = 5

// foldWords returns s compared as a keyword: compatibility forms folded
// (full-width letters), lower case, and its words, stripped of
// punctuation and symbols around them, joined by one space.
func foldWords(s string) string {
	words := strings.Fields(strings.ToLower(norm.NFKC.String(s)))
	out := words[:0]
	for _, w := range words {
		if w = strings.TrimFunc(w, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }); w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

func (r *run) count(f func(*Summary)) {
	r.mu.Lock()
	f(&r.sum)
	r.mu.Unlock()
}

func (r *run) summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sum
	s.Requests, s.Lookups = int(r.requests.Load()), int(r.lookups.Load())
	s.Ambiguous = slices.Clone(s.Ambiguous)
	slices.SortFunc(s.Ambiguous, compareAddr)
	return s
}

// targeted reports whether the run records what it learns about the send
// at a (Options.Targets).
func (r *run) targeted(a addrs.Addr) bool {
	return len(r.opts.Targets) == 0 || addrs.MatchAny(r.opts.Targets, a)
}

// isOptOut reports whether an answer's text (or a button's id or payload)
// is one of the opt-out keywords, whatever its case and punctuation
// ("Stop.", "ＳＴＯＰ"), or a short answer that starts or ends with one
// ("stop please", "Stop promotions", the usual opt-out button's text).
func (r *run) isOptOut(text, id string) bool {
	text, id = foldWords(text), foldWords(id)
	words := strings.Fields(text)
	for _, k := range r.keywords {
		if text == k || id == k {
			return true
		}
		if n := len(strings.Fields(k)); len(words) > n && len(words) <= optOutWords &&
			(strings.Join(words[:n], " ") == k || strings.Join(words[len(words)-n:], " ") == k) {
			return true
		}
	}
	return false
}

// normalizePhone makes a number from the provider comparable with the
// state's (E.164 digits without "+").
func normalizePhone(p string) string {
	return strings.TrimPrefix(strings.TrimSpace(p), "+")
}

func compareAddr(a, b addrs.Addr) int {
	return strings.Compare(a.String(), b.String())
}

// final reports whether a provider status can no longer change.
func final(s state.ProviderStatus) bool {
	return s == state.StatusRead || s == state.StatusFailed
}

// advances reports whether status next moves a send on from cur: statuses
// only go forward, pending < sent < delivered < read, and failed (the
// largest value) ends any status that is not final.
func advances(next, cur state.ProviderStatus) bool {
	return !final(cur) && next > cur
}
