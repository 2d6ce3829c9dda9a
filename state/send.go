package state

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
)

// Outcome is what became of a send's latest attempt.
type Outcome uint8

const (
	// OutcomeUnknown: an intent was recorded but no result, or the result
	// left it in doubt (timeout after writing, dropped connection, 5xx, a
	// reply without a message_id). Such a send is never sent again
	// automatically; refresh resolves it with RecordResult.
	OutcomeUnknown Outcome = iota
	// OutcomeAccepted: the provider accepted it and gave a message_id.
	OutcomeAccepted
	// OutcomeFailed: rejected for good for this recipient.
	OutcomeFailed
	// OutcomeRetry: certainly never accepted (connection refused, 429, a
	// send refresh found absent); the caller may send it again.
	OutcomeRetry
	// OutcomeExpired: can no longer be sent (the 24h window closed).
	OutcomeExpired
	// OutcomeDeferred: refused for now, not for good — Meta's per-user
	// marketing limit (131049) — and due again DeferFor after the result.
	// Like OutcomeRetry it may start again, but not before then.
	OutcomeDeferred
)

// DeferFor is how long a deferred send waits: Meta's per-user marketing
// limit is about the messages a user got in the last day.
const DeferFor = 24 * time.Hour

var outcomeNames = [...]string{"unknown", "accepted", "failed", "retry", "expired", "deferred"}

// Startable reports whether a send with this outcome may be attempted
// again without an explicit replace: OutcomeRetry, and OutcomeDeferred
// once its day has passed (which plan, not the state, judges).
func (o Outcome) Startable() bool { return o == OutcomeRetry || o == OutcomeDeferred }

// String returns the outcome's name as the state files and the CLI spell it.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Kind is what a send was: a template, which opens a conversation and
// counts against the frequency cap and the messaging tier, or a message
// inside one. KindUnknown is a send recorded without it (by a state
// format before version 6, or by import and refresh -recover): the plan
// then goes by what the configuration has at its address.
type Kind uint8

const (
	KindUnknown Kind = iota
	KindTemplate
	KindText
	KindMedia
	KindInteractive
)

var kindNames = [...]string{"", "template", "text", "media", "interactive"}

// String returns the kind's name ("" for KindUnknown).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind maps a kind's name to its Kind.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if i > 0 && n == s {
			return Kind(i), nil
		}
	}
	return KindUnknown, fmt.Errorf("unknown kind %q", s)
}

// ProviderStatus is the provider's delivery status of an accepted message.
type ProviderStatus uint8

const (
	StatusNone ProviderStatus = iota // not reported
	StatusPending
	StatusSent
	StatusDelivered
	StatusRead
	StatusFailed
)

var statusNames = [...]string{"", "pending", "sent", "delivered", "read", "failed"}

// String returns the status as Briq spells it ("" for StatusNone).
func (s ProviderStatus) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// ParseProviderStatus maps Briq's status names (pending, sent, delivered,
// read, failed) to a ProviderStatus.
func ParseProviderStatus(s string) (ProviderStatus, error) {
	for i, n := range statusNames {
		if i > 0 && n == s {
			return ProviderStatus(i), nil
		}
	}
	return StatusNone, fmt.Errorf("unknown provider status %q", s)
}

// Digest identifies the content of a send, so plan can tell a send made with
// different content (drift). It is the first 16 bytes of a SHA-256.
type Digest [16]byte

// String returns the digest in hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Send is everything the state knows about one send. Times are UTC with
// millisecond precision; a zero time means "not yet".
type Send struct {
	Addr   addrs.Addr
	Phone  string // recipient number the send went to
	Digest Digest // content of the latest attempt
	// Inputs is the fingerprint of what the latest attempt's content was
	// made from (config.Message.InputSum); 0 when not known. A plan that
	// makes the same fingerprint knows the content unchanged without
	// making it.
	Inputs   uint64
	Attempts int // intents recorded for this address
	// Variant is the name of the message's variant the latest attempt sent
	// (config's variant blocks); "" for a message without variants.
	Variant string
	// Kind is what the latest attempt sent.
	Kind Kind

	IntentAt time.Time // latest intent
	Outcome  Outcome
	// Systemic marks an OutcomeRetry whose failure was the run's, not the
	// send's (briq.Systemic: Briq not reached, rate limited, a lost answer
	// or a 5xx, the WhatsApp provider unavailable), or an OutcomeUnknown
	// whose doubt came of one, for when refresh finds the send never
	// arrived. Every send would have failed alike, so the attempt does not
	// count against the attempts limit.
	Systemic bool

	MessageID      string
	ConversationID string
	ProviderStatus ProviderStatus
	ErrorCode      string
	ErrorMessage   string
	ResultAt       time.Time // latest result
	UpdatedAt      time.Time // latest change of any kind

	// Filled by refresh.
	DeliveredAt time.Time
	ReadAt      time.Time
	Reply       *Reply
	// Window is the 24h window of the send's conversation as the provider
	// last reported it; zero when refresh never looked.
	Window Window

	// History lists the earlier attempts at this send, oldest first, so
	// that no message_id Briq ever returned for it is lost when it is
	// tried again (a new intent) or when a result names another message
	// than the one recorded. The latest attempt is the fields above. Sends
	// recorded before the state kept history have none, whatever their
	// Attempts.
	History []Attempt
}

// FirstAttempt is when the send was first attempted, as far as the state
// knows: the intent of its oldest attempt.
func (s *Send) FirstAttempt() time.Time {
	if len(s.History) > 0 {
		return s.History[0].At
	}
	return s.IntentAt
}

// HadID reports whether id is the message_id of the send's latest attempt
// or of an earlier one, in any case (ids are uuids, and one given by hand
// may be written in capitals).
func (s *Send) HadID(id string) bool {
	return strings.EqualFold(s.MessageID, id) || slices.ContainsFunc(s.History, func(a Attempt) bool { return strings.EqualFold(a.MessageID, id) })
}

// Window is a conversation's 24h window as Briq reported it (the G2
// conversation's window.open and window.expires_at) at SeenAt.
type Window struct {
	SeenAt    time.Time // zero: never reported
	Open      bool
	ExpiresAt time.Time // zero when the provider gave none
}

// Attempt is one earlier attempt at a send, as its result left it.
type Attempt struct {
	At             time.Time // its intent
	Outcome        Outcome
	Systemic       bool // see Send.Systemic
	MessageID      string
	ConversationID string
	ErrorCode      string
}

// Reply is the recipient's answer to a send.
type Reply struct {
	ID        string // button or list row id, for interactive answers
	Title     string // button or list row title
	Text      string // free text
	At        time.Time
	MessageID string // the inbound message's id
}

// OptOut records that a phone number asked not to be messaged again.
type OptOut struct {
	Phone     string
	At        time.Time
	Text      string // what the recipient wrote
	MessageID string // the inbound message that carried it
}

// Intent says a send is about to be attempted. RecordIntent returns once it
// is durable; only then may the request leave.
type Intent struct {
	Addr   addrs.Addr
	Phone  string
	Digest Digest
	// Inputs is the fingerprint of what the content was made from
	// (Send.Inputs); 0 when not known.
	Inputs uint64
	// Variant names the variant of the message being sent; "" for none.
	Variant string
	// Kind is what is being sent; KindUnknown when not known.
	Kind Kind
	At   time.Time // zero: Options.Now
	// Replace allows an intent for a send that is not retryable (accepted,
	// unknown, failed or expired): the operator's explicit resend
	// (-replace=ADDR). Without it, only a new send, OutcomeRetry or
	// OutcomeDeferred may start.
	Replace bool
}

// Result is the outcome of the attempt started by the latest intent. An
// empty MessageID or ConversationID keeps the one recorded; another
// MessageID than the recorded one moves that one into History.
type Result struct {
	Addr           addrs.Addr
	Outcome        Outcome
	MessageID      string // required with OutcomeAccepted
	ConversationID string
	ProviderStatus ProviderStatus
	ErrorCode      string
	ErrorMessage   string    // shortened to 1024 bytes
	At             time.Time // zero: Options.Now
	// Systemic marks a failure of the run, not of the send (see
	// Send.Systemic); only with OutcomeRetry or OutcomeUnknown.
	Systemic bool
}

// Deferral says that the provider refused, after accepting it, the message
// a send's latest attempt sent, for Meta's per-user marketing limit
// (131049): the send becomes OutcomeDeferred as if refused at once, due
// again DeferFor after At, its message_id kept (the next intent moves it
// into History).
type Deferral struct {
	Addr         addrs.Addr
	MessageID    string // the accepted message's; must be the recorded one
	ErrorCode    string
	ErrorMessage string    // shortened to 1024 bytes
	At           time.Time // zero: Options.Now
}

// Update carries what refresh learnt about a send that has a message_id.
// Zero fields leave the recorded value unchanged.
type Update struct {
	Addr           addrs.Addr
	ProviderStatus ProviderStatus
	DeliveredAt    time.Time
	ReadAt         time.Time
	Reply          *Reply
	ErrorCode      string
	ErrorMessage   string
	// ConversationID is the send's thread, for a send recorded without
	// one (answered without a conversation_id); a recorded one is kept.
	ConversationID string
	// Window, when its SeenAt is set, replaces the recorded window.
	Window Window
	At     time.Time // zero: Options.Now
}
