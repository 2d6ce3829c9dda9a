package briq

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Class is what a send's outcome means for the run (SPEC §4.1). Every answer
// and every transport failure falls into exactly one Class. The zero value is
// not a class.
type Class int

const (
	// Accepted: 2xx with a message_id. The message exists at Briq.
	Accepted Class = iota + 1
	// RateLimited: 429. Not accepted; retry after Error.RetryAfter, unless
	// the answer names a message_id (see VerdictOf).
	RateLimited
	// Fatal: every further send will fail the same way (401, 403, 404
	// template or sender or any other 404 but a conversation's, 400 no
	// active sender, 422 WHATSAPP_REAUTH_REQUIRED,
	// template not approved, an unexpected redirect). Stop the run.
	Fatal
	// Permanent: this send will never succeed as it is (422
	// VALIDATION_ERROR, recipient unreachable, 400 parameter-count mismatch,
	// 404 conversation not found, other 4xx). Not accepted; do not retry.
	Permanent
	// WindowClosed: 422 WINDOW_CLOSED. The 24h window of the conversation is
	// closed; only a template can reopen it.
	WindowClosed
	// ProviderFailed: 422 PROVIDER_UNAVAILABLE or SEND_FAILED. Briq kept a
	// record (Error.MessageID, status "failed") that must be polled before
	// the send is tried again (see VerdictOf).
	ProviderFailed
	// InDoubt: the request may have been acted on and the answer is lost or
	// unusable (timeout or connection loss after the request was written,
	// 5xx, 408, 2xx without message_id, undecodable 2xx body). Never resend
	// automatically; reconcile by listing.
	InDoubt
	// NeverReached: the request certainly did not reach Briq (dial error,
	// connection refused, DNS, deadline before the request was written).
	// Safe to retry.
	NeverReached
	// MarketingLimited: 422 with Meta's error code 131049, "not delivered
	// to maintain healthy ecosystem engagement": the recipient got as many
	// marketing messages as Meta allows for now. Not accepted and not
	// failed for good: the send may go again a day later (see VerdictOf).
	MarketingLimited
)

var classNames = [...]string{
	Accepted:       "accepted",
	RateLimited:    "rate limited",
	Fatal:          "fatal",
	Permanent:      "permanent",
	WindowClosed:   "window closed",
	ProviderFailed: "provider failed",
	InDoubt:        "in doubt",
	NeverReached:   "never reached",

	MarketingLimited: "marketing limited",
}

// String returns the class in lower-case words, e.g. "in doubt".
func (c Class) String() string {
	if c > 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Retryable reports whether an outcome of this class may be repeated within
// the same run, under the same intent: RateLimited (after RetryAfter) and
// NeverReached, provided VerdictOf the answer is Resend — a 429 that names a
// message_id is in doubt, not retried. Every other class either exists at
// Briq, may exist, or would fail again.
func (c Class) Retryable() bool { return c == RateLimited || c == NeverReached }

// Stops reports whether an outcome of this class fails every further send,
// so the run must stop at once: Fatal.
func (c Class) Stops() bool { return c == Fatal }

// Verdict is what a send's outcome means for that send beyond the request
// (SPEC §4.1): the policy a run records. It depends on the Class and on
// whether the answer named a message_id, since any message_id Briq returns,
// on any answer, is a record that may exist and must be checked before the
// send is called absent or failed. The zero value is not a verdict.
type Verdict int

const (
	// Exists: accepted with a message_id. Never sent again.
	Exists Verdict = iota + 1
	// Resend: certainly not accepted and nothing named: a 429 or a failure
	// that fails every send without a message_id, a request that never
	// reached Briq, a provider failure without a record. The send may go
	// again as it is (within the run only when its Class is Retryable).
	Resend
	// Doubt: Briq may hold a message for the send: an answer that named a
	// message_id without accepting (5xx or 408 envelope, 429, 422 provider
	// failure, reauth), or no usable answer at all. Never resent until
	// evidence says it does not exist: its message_id looked up (404, or
	// status failed after the settle time), or, without an id, a complete
	// and settled listing of the recipient's conversations.
	Doubt
	// Refused: refused for this recipient; it will not succeed as it is.
	// A message_id on the answer is kept all the same.
	Refused
	// Closed: the 24h window of the conversation is closed (WINDOW_CLOSED).
	Closed
	// Later: refused for now by Meta's per-user marketing limit (131049).
	// Send it again no sooner than a day later, as it is; any message_id
	// on the answer names a failed record and is kept all the same.
	Later
)

var verdictNames = [...]string{Exists: "exists", Resend: "resend", Doubt: "in doubt", Refused: "refused", Closed: "window closed", Later: "later"}

// String returns the verdict in lower-case words.
func (v Verdict) String() string {
	if v > 0 && int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// VerdictOf returns the Verdict for a send whose request returned err (nil
// for an accepted send):
//
//	Accepted                              Exists
//	Permanent                             Refused
//	WindowClosed                          Closed
//	MarketingLimited                      Later
//	RateLimited, Fatal, ProviderFailed    Doubt with a message_id, else Resend
//	NeverReached                          Resend
//	InDoubt (and anything unclassified)   Doubt
func VerdictOf(err error) Verdict {
	class := ClassOf(err)
	switch class {
	case Accepted:
		return Exists
	case Permanent:
		return Refused
	case WindowClosed:
		return Closed
	case MarketingLimited:
		return Later
	case NeverReached:
		return Resend
	case RateLimited, Fatal, ProviderFailed:
		if MessageIDOf(err) != "" {
			return Doubt
		}
		return Resend
	}
	return Doubt
}

// Systemic reports whether err, the outcome of a send, is a failure of the
// run rather than of the send, one every send would have met alike: Briq
// not reached, rate limited, its answer lost or a 5xx (InDoubt), the
// WhatsApp provider unavailable, or the account refused (401, 403,
// WORKSPACE_REQUIRED, WHATSAPP_REAUTH_REQUIRED: "fatal for every send
// until fixed"). Such failures do not use up a send's own attempts, so
// that an outage gives up on nobody. Other Fatal answers are not: some
// are one send's (a 404 for a conversation that is gone), and as Fatal
// stops the run, such a send would otherwise stop every run first.
func Systemic(err error) bool {
	var e *Error
	errors.As(err, &e)
	switch ClassOf(err) {
	case NeverReached, RateLimited, InDoubt:
		return true
	case ProviderFailed:
		return SystemicCode(e.Code)
	case Fatal:
		return e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden ||
			strings.EqualFold(e.Code, codeWorkspaceRequired) || strings.EqualFold(e.Code, codeReauthRequired)
	}
	return false
}

// SystemicCode reports whether a failed message's error code says the
// failure was the provider's for every send (PROVIDER_UNAVAILABLE).
func SystemicCode(code string) bool { return strings.EqualFold(code, codeProviderUnavailable) }

// MarketingLimitCode reports whether a failed message's error code is
// Meta's per-user marketing limit (131049): a refusal for now, as the
// class MarketingLimited is when it answers the send.
func MarketingLimitCode(code string) bool { return code == codeMarketingLimit }

// MessageIDOf returns the message_id an *Error in err carries, or "".
func MessageIDOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.MessageID
	}
	return ""
}

// ClassOf returns the Class of an error returned by this package: Accepted
// for nil, the *Error's Class when err wraps one, and InDoubt for any other
// error, because an outcome nobody classified cannot be assumed unsent.
func ClassOf(err error) Class {
	if err == nil {
		return Accepted
	}
	var e *Error
	if errors.As(err, &e) && e.Class != 0 {
		return e.Class
	}
	return InDoubt
}

// ErrNotFound matches, with errors.Is, any *Error from a 404 answer.
var ErrNotFound = errors.New("briq: not found")

// APIError is one entry of a Briq error envelope's "errors" list.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// Error is every error this package returns from a request. Its Class says
// what the outcome means; the other fields say what the server answered.
type Error struct {
	// Op is the operation, e.g. "send message", "list templates".
	Op    string
	Class Class
	// HTTPStatus is 0 when no answer was received.
	HTTPStatus int
	// Code, Message and Field come from the error entry that decided the
	// class (the first one otherwise), or from a {"detail": ...} body.
	Code, Message, Field string
	// Errors is the whole "errors" list of the envelope, if any.
	Errors    []APIError
	RequestID string
	// RetryAfter is the parsed Retry-After header of a 429 (seconds or
	// HTTP-date); 0 when the header is absent, unparsable or in the past.
	RetryAfter time.Duration
	// MessageID and ConversationID are set when the answer's data named
	// them, on any status (a 422 provider failure's pollable record, a 5xx
	// or 429 envelope whose data carries an id).
	MessageID, ConversationID string
	// Err is the underlying transport or decoding error, if any.
	Err error
}

// Error renders "briq: <op>: <class>: HTTP <status> <code>: <message> ...".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("briq: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Class.String())
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		if e.Field != "" {
			b.WriteString(" (field " + e.Field + ")")
		}
		if e.RetryAfter > 0 {
			b.WriteString(" (retry after " + e.RetryAfter.String() + ")")
		}
		if e.MessageID != "" {
			b.WriteString(" (message_id " + e.MessageID + ")")
		}
		if e.RequestID != "" {
			b.WriteString(" (request_id " + e.RequestID + ")")
		}
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying transport or decoding error.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for 404 answers.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.HTTPStatus == http.StatusNotFound
}

// Error codes Briq documents (briq-whatsapp-api.md §14). The template codes
// come from the G1 overview, which does not say their HTTP status.
const (
	codeValidation          = "VALIDATION_ERROR"
	codeWindowClosed        = "WINDOW_CLOSED"
	codeWorkspaceRequired   = "WORKSPACE_REQUIRED"
	codeProviderUnavailable = "PROVIDER_UNAVAILABLE"
	codeReauthRequired      = "WHATSAPP_REAUTH_REQUIRED"
	codeSendFailed          = "SEND_FAILED"
	codeTemplateNotApproved = "TEMPLATE_NOT_APPROVED"
	codeTemplateUnapproved  = "TEMPLATE_NOT_FOUND_OR_UNAPPROVED"

	// codeMarketingLimit is Meta's per-user marketing limit ("healthy
	// ecosystem engagement"). Briq documents no code of its own for it, nor
	// whether Meta's codes reach a send's answer (briq-whatsapp-api.md §14
	// lists Meta's 131052 and 131053 as delivery failures, and says which
	// error_code values arrive is NOT DOCUMENTED). We take the envelope the
	// docs allow for a refused send: 422 WaErrorEnvelope whose errors[]
	// entry has code "131049", as the sandbox answers with
	// -marketing-limit.
	codeMarketingLimit = "131049"
)

// classifySendStatus maps a non-2xx answer to a send onto a Class, using the
// error entries where the status alone is ambiguous (400, 422). It returns the
// class and the index of the deciding entry (-1 when the status decided).
func classifySendStatus(status int, errs []APIError) (Class, int) {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited, -1
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		// 403 is WORKSPACE_REQUIRED in the docs; any 403 is an authorization
		// problem that the next send will hit too.
		return Fatal, -1
	case status == http.StatusNotFound:
		return worst404(errs)
	case status == http.StatusRequestTimeout, status >= 500:
		return InDoubt, -1
	case status >= 300 && status < 400:
		// Redirects are not followed (see New): the base URL points at the
		// wrong place, and every send would be redirected the same way.
		return Fatal, -1
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return worstEntry(status, errs)
	case status >= 400 && status < 500:
		// 409, 413, 415 and friends: something about this request.
		return Permanent, -1
	}
	// 1xx or a status outside the HTTP range: nothing to go on.
	return InDoubt, -1
}

// worst404 classifies a 404 answer to a send. The docs name "template or
// sender not found", which every further send hits too: Fatal, as is a 404
// without entries (a wrong base URL). An entry whose code or message names a
// conversation but neither a template nor a sender is a follow-up into a
// thread that does not exist (the sandbox answers CONVERSATION_NOT_FOUND):
// Permanent for that recipient only. With several entries Fatal wins.
func worst404(errs []APIError) (Class, int) {
	class, at := Fatal, -1
	for i, e := range errs {
		text := strings.ToLower(e.Code + " " + e.Message)
		if !strings.Contains(text, "conversation") || containsAny(text, "template", "sender") {
			return Fatal, i
		}
		if at < 0 {
			class, at = Permanent, i
		}
	}
	return class, at
}

// classRank orders the classes the entries of one 400/422 envelope can
// produce: when several entries disagree, the one that stops more wins.
var classRank = map[Class]int{Permanent: 0, MarketingLimited: 1, WindowClosed: 2, ProviderFailed: 3, Fatal: 4}

// worstEntry classifies each error entry of a 400 or 422 and returns the
// highest-ranked class with the index of its entry. No entries: Permanent.
func worstEntry(status int, errs []APIError) (Class, int) {
	class, at := Permanent, -1
	for i, e := range errs {
		c := classifyEntry(status, e)
		if at < 0 || classRank[c] > classRank[class] {
			class, at = c, i
		}
	}
	return class, at
}

// classifyEntry classifies one error entry of a 400 or 422 answer.
//
// 422 entries carry documented codes. For 400 the docs name two causes
// without code strings — "no active sender" (fatal for every send) and
// "template parameter count mismatch" (permanent for this send) — so they are
// told apart by the words of code and message, lower-cased:
//   - parameter words ("param", "variable", "placeholder") together with
//     count words ("count", "mismatch", "expect", "number") mean a
//     parameter-count mismatch: Permanent, checked first because such a
//     message may also name the sender or the template;
//   - otherwise "sender" means no usable sender: Fatal;
//   - otherwise "template" with "not found"/"not approved"/"unapproved"
//     means a template that cannot be used by any send: Fatal;
//   - anything else: Permanent.
func classifyEntry(status int, e APIError) Class {
	switch strings.ToUpper(e.Code) {
	case codeWorkspaceRequired, codeReauthRequired, codeTemplateNotApproved, codeTemplateUnapproved:
		return Fatal
	case codeWindowClosed:
		return WindowClosed
	case codeProviderUnavailable, codeSendFailed:
		return ProviderFailed
	case codeValidation:
		return Permanent
	case codeMarketingLimit:
		return MarketingLimited
	}
	if status != http.StatusBadRequest {
		// A 422 with another code (or none) is "recipient unreachable" or a
		// validation the docs did not name: permanent for this send.
		return Permanent
	}
	text := strings.ToLower(e.Code + " " + e.Message)
	switch {
	case containsAny(text, "param", "variable", "placeholder") && containsAny(text, "count", "mismatch", "expect", "number"):
		return Permanent
	case strings.Contains(text, "sender"):
		return Fatal
	case strings.Contains(text, "template") && containsAny(text, "not found", "not_found", "not approved", "not_approved", "unapproved"):
		return Fatal
	}
	return Permanent
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// classifyReadStatus maps a non-2xx answer to a read onto a Class. Reads are
// safe to repeat, so InDoubt here only means "transient, try again".
func classifyReadStatus(status int) Class {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return Fatal
	case status == http.StatusRequestTimeout, status >= 500:
		return InDoubt
	}
	return Permanent
}

// maxRetryAfter caps a Retry-After so that a bogus value cannot overflow a
// Duration or park a run for days.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3): a number of
// seconds or an HTTP-date, relative to now. Absent, unparsable and past
// values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	secs, err := strconv.ParseUint(v, 10, 64)
	switch {
	case err == nil && secs < uint64(maxRetryAfter/time.Second):
		d = time.Duration(secs) * time.Second
	case err == nil || errors.Is(err, strconv.ErrRange):
		return maxRetryAfter
	default:
		if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, 0), maxRetryAfter)
}
