package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ujumbe/ujumbe/internal/jsonerr"
)

// Options configures a Server. The zero value is a working sandbox: a random
// API key, the wall clock, one active default sender, no templates, default
// status and reply timing, no faults and no data file.
type Options struct {
	// APIKey is the key clients must send in X-API-Key. Empty means New
	// generates a random one; APIKey reports it.
	APIKey string

	// Now is the base clock. Nil means time.Now. The sandbox's own clock is
	// Now plus every Advance so far, shifted by Start.
	Now func() time.Time

	// Start, when set and earlier than Now, is where the clock of a new
	// sandbox begins: a rehearsal of a campaign whose start_at has passed
	// plays it from its start. From there the clock runs with Now and moves
	// with Advance. A sandbox whose data file already holds messages or a
	// clock keeps the clock it had, so the clock never runs backwards.
	Start time.Time

	// Seed seeds every random draw: fault shares, unreachable recipients,
	// simulated answers. The same seed and the same sequence of requests
	// give the same outcomes.
	Seed uint64

	// Senders are the workspace's WhatsApp numbers. Nil means one active
	// default sender (DefaultSender); an empty non-nil slice means none, so
	// every send fails with 400 "no active sender".
	Senders []Sender

	// Templates are the workspace's message templates. Names must be unique.
	Templates []Template

	// TemplatesFile, when set, names a JSON file of further templates in
	// the format ReadTemplates accepts.
	TemplatesFile string

	// DataFile, when set, is an append-only file of every change to
	// conversations, messages and the clock, replayed by New, so a sandbox
	// started again on the same file sees earlier conversations and replies.
	// The file is locked while the Server is open.
	DataFile string

	// StatusDelays says how long after acceptance a message reads as sent,
	// delivered and read. The zero value means 1s, 5s and 60s.
	StatusDelays StatusDelays

	// Answers weighs the options of interactive messages by their id
	// (button reply id or list row id). Empty means every option is equally
	// likely. Otherwise an option's weight is Answers[id]; options it does
	// not list are never chosen, and a message none of whose options has a
	// positive weight gets no answer.
	Answers map[string]float64

	// Silent is the share of recipients who never answer anything. Nil
	// means 0.2.
	Silent *float64

	// OptOut is the share of recipients who answer every template with the
	// text "STOP".
	OptOut float64

	// ReplyDelay bounds how long after an outbound message its simulated
	// answer arrives, in sandbox time. The zero value means [1m, 10m].
	ReplyDelay ReplyDelay

	// MetaWindowRule applies Meta's own 24h window rule instead of Briq's:
	// only an inbound customer message opens or refreshes the window, so a
	// template alone does not allow free-form follow-ups (they get 422
	// WINDOW_CLOSED) and conversations report window.open accordingly.
	// Briq documents that a template reopens the window (the default); a
	// rehearsal with this switch shows which follow-ups would expire if
	// Briq behaved as Meta does.
	MetaWindowRule bool

	// WholeReplies stores the simulated answers' content in the layout of
	// WhatsApp's whole inbound message ({"type":"text","text":{"body":
	// "STOP"}}, {"type":"interactive","interactive":{...}}) instead of the
	// object its type names ({"body":"STOP"}, the "interactive" object):
	// Briq does not document which one a message's content holds.
	WholeReplies bool

	// UnpairedReplies leaves the simulated answers without
	// paired_message_id, and the question's GET without its reply: Briq
	// does not say how an answer is paired with the message it answers,
	// nor whether paired_message_id is set at all.
	UnpairedReplies bool

	// Faults are the faults injected from the start; SetFaults changes them.
	Faults Faults
}

// StatusDelays are the ages at which an accepted outbound message reads as
// sent, delivered and read. They must not decrease in that order.
type StatusDelays struct {
	Sent, Delivered, Read time.Duration
}

// ReplyDelay is the inclusive range of simulated answer delays.
type ReplyDelay struct {
	Min, Max time.Duration
}

// Faults are the failures the sandbox injects. Shares are probabilities in
// [0, 1] drawn from the seeded generator, one draw per request and purpose.
type Faults struct {
	// RateLimit is the number of sends accepted per second of sandbox time
	// across all clients (fixed one-second windows); a send over it gets 429
	// with Retry-After in seconds and is not accepted. Zero means no limit.
	// Only sends that would otherwise be recorded count, so validation
	// failures never use up the budget.
	RateLimit int

	// RetryAfter is the Retry-After of every 429 the sandbox answers, in
	// whole seconds (1 when zero): Briq's docs ask clients to honour it and
	// bound it nowhere.
	RetryAfter time.Duration

	// Latency delays every /v1 response by Latency plus a uniform draw in
	// [0, Jitter), in real time. For a send the delay comes after the
	// message is recorded, so a client that times out is left in doubt
	// about a message the sandbox accepted.
	Latency, Jitter time.Duration

	// Fail5xx is the share of sends answered 500, 502 or 503 before any
	// validation; such a send is not recorded.
	Fail5xx float64

	// DropAfterAccept is the share of accepted sends whose connection is
	// closed without an answer once the message is recorded.
	DropAfterAccept float64

	// Unreachable is the share of recipients (a deterministic function of
	// the seed and the phone number) every send to whom fails with 422
	// RECIPIENT_UNREACHABLE; nothing is recorded.
	Unreachable float64

	// ProviderFail is the share of sends that reach the provider and fail
	// there: recorded with status failed and answered 422 with code
	// PROVIDER_UNAVAILABLE or SEND_FAILED and a pollable data.message_id.
	ProviderFail float64

	// Reauth makes every send fail as ProviderFail does, with code
	// WHATSAPP_REAUTH_REQUIRED.
	Reauth bool

	// MarketingLimit is Meta's per-user marketing limit: a template to a
	// recipient whose conversation accepted this many templates in the
	// last 24h of sandbox time is answered 422 with error code 131049
	// ("not delivered to maintain healthy ecosystem engagement") and not
	// recorded. Zero means no limit.
	MarketingLimit int
	// MarketingLimitLate applies MarketingLimit as Meta usually does,
	// after Briq took the send: answered 202 like any other, the template
	// reads failed with code 131049 from when it would have been
	// delivered (as FailLater's do). The docs leave open whether Meta's
	// codes come with the answer or later; this is the later.
	MarketingLimitLate bool
	// NoWorkspace makes every /v1 request fail with 403 WORKSPACE_REQUIRED,
	// as for a key whose app is not linked to a workspace.
	NoWorkspace bool

	// The answers below are all ones Briq's documentation allows for a send
	// it accepted. Each is off by default; the shares are drawn per accepted
	// send, in this order, before DropAfterAccept.

	// AcceptThen500 is the share of accepted sends answered 500 with an
	// error envelope (WaErrorEnvelope) whose data carries the recorded
	// message's message_id, conversation_id and status: the docs say such
	// a data "carries the pollable message_id" of a send that produced a
	// record. The message is live and is delivered like any other.
	AcceptThen500 float64

	// AcceptThen504 is the share of accepted sends answered 504 with an
	// error envelope whose data is null, as a gateway that gave up waiting
	// would: the message is recorded and delivered, the client learns no id.
	AcceptThen504 float64

	// RateLimitWithID is the share of accepted sends answered 429 with
	// Retry-After: 1 and the recorded message's message_id in data: a 429
	// that nonetheless produced a live message (Briq documents no 429 body).
	RateLimitWithID float64

	// Sent200 answers accepted sends 200 with status "sent" and a
	// provider_message_id, the G1/G2 "sent immediately" path, instead of
	// 202 "pending"; the message reads as sent from then on.
	Sent200 bool

	// BareAnswer is the share of accepted sends answered with the bare
	// object the G3 send pages show, 202 { message_id, status: "pending" }
	// (200 "sent" with Sent200), instead of the envelope their OpenAPI
	// documents: no success, no data, no conversation_id.
	BareAnswer float64

	// NullID is the share of accepted sends answered 202 (200 with
	// Sent200) with message_id and conversation_id null in data: Briq's
	// OpenAPI makes both fields of WaSendData nullable. The message is
	// recorded and delivered like any other; the client learns no id.
	NullID float64

	// RecordLag makes every message a send records visible (in the
	// listings, to GET, and its new conversation with it) only this long
	// after the send was answered, its created_at then: Briq's G1 guide
	// says a 202 is queued to its async engine, and the docs bound
	// neither when a request whose answer was lost takes effect nor when
	// its record shows.
	RecordLag time.Duration

	// FailedAnswer is the share of sends that fail at the provider as
	// ProviderFail's do (recorded failed, code SEND_FAILED) but are
	// answered 202 with data.status "failed": WaSendData's status enum
	// (pending, sent, failed) allows it in a 2xx answer.
	FailedAnswer float64

	// FailLater is the share of accepted sends that fail at WhatsApp after
	// Briq accepted them (its whatsapp.failed event; Meta's 131026,
	// "message undeliverable"): answered 202 like any other, they read
	// failed, with that code, from when they would have been delivered,
	// and nobody answers them.
	FailLater float64

	// ReadFail5xx is the share of reads (GET requests under /v1) answered
	// 500, 502 or 503, and ReadRateLimited the share answered 429 with
	// Retry-After: 1: Briq's error-handling page allows both on any
	// request, and documents no rate limit numbers for reads.
	ReadFail5xx, ReadRateLimited float64

	// ListWithoutStatus leaves status, error_code and error_message out of
	// the items of GET /v1/whatsapp/messages, as the documented list item
	// schema has no status field. The status filter still applies.
	ListWithoutStatus bool

	// OpaqueContent gives the content of outbound messages, in GET
	// /v1/whatsapp/messages and GET /v1/whatsapp/messages/{message_id},
	// in a layout of the sandbox's own ({"sandbox": …}) instead of the
	// request's fields: the docs give the content field no schema.
	OpaqueContent bool

	// ListActiveOnly leaves the messages of conversations that are not
	// active (their 24h window closed) out of GET /v1/whatsapp/messages,
	// with a conversation_id or without: Briq's reference says the listing
	// covers the workspace's active conversations, and does not say
	// whether closed threads are included. The conversations' own listing
	// still shows them, with is_active false.
	ListActiveOnly bool

	// NumericErrorCodes gives a failed message's error_code as a JSON
	// number where it is one (Meta's 131026, 131049), in GET
	// /v1/whatsapp/messages and GET /v1/whatsapp/messages/{message_id}:
	// the docs give neither the field's name nor its type there.
	NumericErrorCodes bool

	// DerivedError gives a failed message's reason as one object,
	// "error": {"code", "message"}, instead of error_code and
	// error_message, in the listing and the status: the docs speak of a
	// "derived error" there and name no field.
	DerivedError bool

	// DerivedReason gives it as one object under "reason" instead (the
	// docs' words are "derived error"/reason); it wins over DerivedError.
	DerivedReason bool

	// G1Conversations answers GET /v1/whatsapp/conversations in the shape
	// of Briq's first generation, which the docs give for the same path
	// beside G2's without saying which one answers: a bare {items, total,
	// limit, offset} without the envelope, each conversation without a
	// window (its is_active says whether the window is open) and its
	// recipient_phone with a leading "+", as G1's guide shows it. G1's
	// listing takes sender_id, limit and offset only: the recipient and
	// status filters are ignored, and every conversation is listed.
	G1Conversations bool
}

// Sender is one of the workspace's WhatsApp numbers, as GET
// /v1/whatsapp/senders lists it.
type Sender struct {
	// ID is the sender's uuid (sender_id). Empty means one derived from
	// PhoneNumberID.
	ID string `json:"id"`
	// DisplayNumber is the number in E.164 digits, matched by the G3
	// "sender" field with or without a leading "+".
	DisplayNumber string `json:"display_number"`
	// PhoneNumberID is Meta's id for the number, also matched by "sender".
	PhoneNumberID string `json:"phone_number_id"`
	Label         string `json:"label"`
	// IsDefault marks the sender used when a send names none.
	IsDefault bool `json:"is_default"`
	IsActive  bool `json:"is_active"`
}

// DefaultSender is the one sender of a sandbox whose Options.Senders is nil.
var DefaultSender = Sender{
	ID:            "0f6f3c1e-5b7a-4d2e-9c41-7a2f1d3b8e55",
	DisplayNumber: "255700000001",
	PhoneNumberID: "100000000000001",
	Label:         "Sandbox",
	IsDefault:     true,
	IsActive:      true,
}

// Template is a message template as the sandbox knows it. The JSON form is
// the templates file format:
//
//	[{"name":"bf_offer","status":"APPROVED","params":["1","2"],"language":"en_US","category":"MARKETING"}]
type Template struct {
	Name string `json:"name"`
	// Status is one of Briq's template statuses; only APPROVED can be sent.
	// Empty means APPROVED.
	Status string `json:"status"`
	// Params are the placeholder names, the keys of a send's variables; a
	// send must give exactly len(Params) variables.
	Params   []string `json:"params"`
	Language string   `json:"language"`
	Category string   `json:"category"`
}

// templateStatuses are the statuses Briq documents for WaTemplate.
var templateStatuses = []string{
	"DRAFT", "IN_REVIEW", "APPROVED", "PAUSED", "REJECTED", "DISABLED",
	"IN_APPEAL", "PENDING_DELETION", "DELETED", "LIMIT_EXCEEDED", "ARCHIVED",
}

// ReadTemplates reads a templates file: a JSON array of Template objects.
// Unknown fields are an error, so a misspelt "params" is not silently empty.
func ReadTemplates(path string) ([]Template, error) {
	// Only a regular file: a named pipe would block the read for good.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read templates %s: not a regular file (%v)", path, st.Mode().Type())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ts []Template
	if err := dec.Decode(&ts); err != nil {
		return nil, fmt.Errorf("read templates: %w", jsonerr.Explain(path, b, err, `[{"name": "welcome", "status": "APPROVED", "params": ["1"]}]`))
	}
	return ts, nil
}

// Defaults of the Options fields whose zero value means "default".
const (
	defaultSilent     = 0.2
	defaultReplyMin   = time.Minute
	defaultReplyMax   = 10 * time.Minute
	windowLength      = 24 * time.Hour
	maxRequestBody    = 1 << 20
	defaultSentAfter  = time.Second
	defaultDelivered  = 5 * time.Second
	defaultReadAfter  = time.Minute
	templateTimestamp = "2025-01-01T00:00:00Z"
)

// settings are Options after defaults are filled in and checked.
type settings struct {
	Options
	silent    float64
	senders   []Sender
	templates []Template // sorted by name
	byName    map[string]*Template
}

// normalize fills in defaults and checks opts.
func normalize(opts Options) (*settings, error) {
	s := &settings{Options: opts}
	if s.Now == nil {
		s.Now = time.Now
	}
	s.silent = defaultSilent
	if opts.Silent != nil {
		s.silent = *opts.Silent
	}
	if s.StatusDelays == (StatusDelays{}) {
		s.StatusDelays = StatusDelays{Sent: defaultSentAfter, Delivered: defaultDelivered, Read: defaultReadAfter}
	}
	if d := s.StatusDelays; d.Sent < 0 || d.Delivered < d.Sent || d.Read < d.Delivered {
		return nil, fmt.Errorf("status delays %v, %v, %v: must be non-negative and not decreasing", d.Sent, d.Delivered, d.Read)
	}
	if s.ReplyDelay == (ReplyDelay{}) {
		s.ReplyDelay = ReplyDelay{Min: defaultReplyMin, Max: defaultReplyMax}
	}
	if d := s.ReplyDelay; d.Min < 0 || d.Max < d.Min {
		return nil, fmt.Errorf("reply delay [%v, %v]: must be non-negative and ordered", d.Min, d.Max)
	}
	for id, w := range opts.Answers {
		if w < 0 {
			return nil, fmt.Errorf("answer weight %s=%v: must not be negative", id, w)
		}
	}
	if err := checkShares(share{"silent", s.silent}, share{"opt-out", s.OptOut}); err != nil {
		return nil, err
	}
	if err := opts.Faults.check(); err != nil {
		return nil, err
	}

	s.senders = opts.Senders
	if s.senders == nil {
		s.senders = []Sender{DefaultSender}
	}
	s.senders = slices.Clone(s.senders)
	for i := range s.senders {
		sd := &s.senders[i]
		if sd.ID == "" {
			sd.ID = uuidFor("sender:" + sd.PhoneNumberID + ":" + sd.DisplayNumber)
		}
		if !isUUID(sd.ID) {
			return nil, fmt.Errorf("sender %d: id %q is not a uuid", i+1, sd.ID)
		}
	}

	ts := slices.Clone(opts.Templates)
	if opts.TemplatesFile != "" {
		more, err := ReadTemplates(opts.TemplatesFile)
		if err != nil {
			return nil, err
		}
		ts = append(ts, more...)
	}
	// Templates may share a name in different languages, as WhatsApp's do;
	// a send names none, and the docs do not say which Briq sends: the
	// sandbox sends the first defined.
	seen := make(map[[2]string]bool, len(ts))
	for i := range ts {
		t := &ts[i]
		if t.Status == "" {
			t.Status = "APPROVED"
		}
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("template %d: name is empty", i+1)
		case seen[[2]string{t.Name, t.Language}]:
			return nil, fmt.Errorf("template %q: defined twice in language %q", t.Name, t.Language)
		case !slices.Contains(templateStatuses, t.Status):
			return nil, fmt.Errorf("template %q: unknown status %q", t.Name, t.Status)
		}
		seen[[2]string{t.Name, t.Language}] = true
	}
	slices.SortStableFunc(ts, func(a, b Template) int { return strings.Compare(a.Name, b.Name) })
	s.templates = ts
	s.byName = make(map[string]*Template, len(ts))
	for i := range s.templates {
		if _, ok := s.byName[s.templates[i].Name]; !ok {
			s.byName[s.templates[i].Name] = &s.templates[i]
		}
	}
	return s, nil
}

// check reports a share outside [0, 1] or a negative duration or rate.
func (f Faults) check() error {
	if f.RetryAfter < 0 || f.RetryAfter%time.Second != 0 {
		return fmt.Errorf("retry-after %v: want whole seconds, 0 or more", f.RetryAfter)
	}
	if f.RateLimit < 0 {
		return fmt.Errorf("rate limit %d: must not be negative", f.RateLimit)
	}
	if f.MarketingLimit < 0 {
		return fmt.Errorf("marketing limit %d: must not be negative", f.MarketingLimit)
	}
	if f.MarketingLimitLate && f.MarketingLimit == 0 {
		return errors.New("marketing-limit-late needs a marketing limit (-marketing-limit=N)")
	}
	if f.Latency < 0 || f.Jitter < 0 || f.RecordLag < 0 {
		return errors.New("latency, jitter and record lag must not be negative")
	}
	return checkShares(share{"fail-5xx", f.Fail5xx}, share{"drop-after-accept", f.DropAfterAccept},
		share{"unreachable", f.Unreachable}, share{"provider-fail", f.ProviderFail},
		share{"accept-then-500", f.AcceptThen500}, share{"accept-then-504", f.AcceptThen504},
		share{"rate-limit-with-id", f.RateLimitWithID}, share{"bare-answer", f.BareAnswer}, share{"fail-later", f.FailLater},
		share{"failed-answer", f.FailedAnswer},
		share{"read-fail-5xx", f.ReadFail5xx}, share{"read-rate-limited", f.ReadRateLimited})
}

type share struct {
	name string
	p    float64
}

func checkShares(shares ...share) error {
	for _, s := range shares {
		// Written so that NaN fails too.
		if !(s.p >= 0 && s.p <= 1) {
			return fmt.Errorf("%s share %v: must be between 0 and 1", s.name, s.p)
		}
	}
	return nil
}

// uuidFor derives a stable uuid from name, for objects whose ids must not
// change between runs.
func uuidFor(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("ujumbe-sandbox:"+name)).String()
}
