package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// sendRequest is G2's WaMessageSendRequest. Pointers tell a missing or null
// field from an empty one.
type sendRequest struct {
	Type           *string           `json:"type"`
	Body           *string           `json:"body"`
	TemplateName   *string           `json:"template_name"`
	Variables      map[string]string `json:"variables"`
	MediaKind      *string           `json:"media_kind"`
	MediaURL       *string           `json:"media_url"`
	Caption        *string           `json:"caption"`
	Filename       *string           `json:"filename"`
	Interactive    json.RawMessage   `json:"interactive"`
	To             *string           `json:"to"`
	SenderID       *string           `json:"sender_id"`
	ConversationID *string           `json:"conversation_id"`
}

// interactiveRequest is the body of G3's interactive send.
type interactiveRequest struct {
	Interactive    json.RawMessage `json:"interactive"`
	To             *string         `json:"to"`
	Sender         *string         `json:"sender"`
	ConversationID *string         `json:"conversation_id"`
	SenderID       *string         `json:"sender_id"`
}

// sendData is WaSendData.
type sendData struct {
	MessageID         string  `json:"message_id"`
	ConversationID    string  `json:"conversation_id"`
	SenderID          string  `json:"sender_id"`
	Sender            *string `json:"sender,omitempty"` // G3 only: the sender's phone_number_id
	ProviderMessageID *string `json:"provider_message_id"`
	Status            string  `json:"status"`
}

// A send is a validated request, ready to be checked against the store.
type send struct {
	g3      bool
	kind    string
	content []byte // canonical JSON object
	digest  string
	to      string  // recipient when targeted by number, digits only
	convID  string  // conversation when targeted by id
	sender  *Sender // when targeted by number
	// templateName is the template of a template send.
	templateName string
}

var phonePattern = regexp.MustCompile(`^\+?[1-9]\d{6,17}$`)

// sendMessage is G2 POST /v1/whatsapp/messages.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, c *call) {
	var req sendRequest
	s.send(w, r, c, &req, func() (*Sender, int, apiError) {
		if req.SenderID != nil {
			return s.senderBy(func(sd *Sender) bool { return sd.ID == *req.SenderID }, "sender_id", *req.SenderID)
		}
		return s.defaultSender()
	}, func(snd *send) (int, apiError) {
		if snd.kind == "template" {
			return s.checkTemplate(snd, req.Variables)
		}
		return 0, apiError{}
	})
}

// sendInteractive is G3 POST /v1/whatsapp/messages/interactive.
func (s *Server) sendInteractive(w http.ResponseWriter, r *http.Request, c *call) {
	var req interactiveRequest
	s.send(w, r, c, &req, func() (*Sender, int, apiError) {
		switch {
		case req.Sender != nil:
			want := normalizePhone(strings.ReplaceAll(*req.Sender, " ", ""))
			return s.senderBy(func(sd *Sender) bool {
				return sd.PhoneNumberID == *req.Sender || normalizePhone(sd.DisplayNumber) == want
			}, "sender", *req.Sender)
		case req.SenderID != nil:
			return s.senderBy(func(sd *Sender) bool { return sd.ID == *req.SenderID }, "sender_id", *req.SenderID)
		default:
			return s.defaultSender()
		}
	}, nil)
}

// sendBody is a send endpoint's request body.
type sendBody interface {
	validate() (*send, []apiError)
}

// send runs what both send endpoints share: the 5xx fault, decoding and
// validating req, choosing the sender with pick when the send does not go
// into a conversation, the endpoint's own check (nil for none; a zero
// status passes), then delivery.
func (s *Server) send(w http.ResponseWriter, r *http.Request, c *call, req sendBody,
	pick func() (*Sender, int, apiError), check func(*send) (int, apiError)) {
	s.stats.sends.Add(1)
	if s.fail5xx(w, c) {
		return
	}
	if e := decodeBody(w, r, req); e != nil {
		c.failWith(w, http.StatusUnprocessableEntity, nil, *e)
		return
	}
	snd, errs := req.validate()
	if len(errs) > 0 {
		c.failWith(w, http.StatusUnprocessableEntity, nil, errs...)
		return
	}
	if snd.convID == "" {
		var status int
		var e apiError
		if snd.sender, status, e = pick(); snd.sender == nil {
			c.failWith(w, status, nil, e)
			return
		}
	}
	if check != nil {
		if status, e := check(snd); status != 0 {
			c.failWith(w, status, nil, e)
			return
		}
	}
	s.deliver(w, c, snd)
}

// fail5xx applies the Fail5xx fault: the send is answered with a server
// error before anything is read or recorded.
func (s *Server) fail5xx(w http.ResponseWriter, c *call) bool {
	if c.faults.Fail5xx == 0 || c.draw(drawFail5xx) >= c.faults.Fail5xx {
		return false
	}
	c.serverError(w)
	return true
}

// retryAfter is the Retry-After of c's 429s, in seconds.
func (c *call) retryAfter() string {
	return strconv.Itoa(max(int(c.faults.RetryAfter/time.Second), 1))
}

// failRead applies the faults of reads, ReadFail5xx and ReadRateLimited,
// and reports whether it answered.
func (c *call) failRead(w http.ResponseWriter) bool {
	f := c.faults
	switch {
	case f.ReadFail5xx > 0 && c.draw(drawRead5xx) < f.ReadFail5xx:
		c.serverError(w)
	case f.ReadRateLimited > 0 && c.draw(drawRead429) < f.ReadRateLimited:
		w.Header().Set("Retry-After", c.retryAfter())
		c.fail(w, http.StatusTooManyRequests, codeRateLimited, "injected rate limit", "")
	default:
		return false
	}
	return true
}

// serverError answers 500, 502 or 503.
func (c *call) serverError(w http.ResponseWriter) {
	statuses := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
	status := statuses[int(c.draw(drawStatus5xx)*float64(len(statuses)))]
	c.fail(w, status, codeInternal, "injected server error", "")
}

// decodeBody reads a JSON object into v. Unknown fields are ignored, as
// Briq's validation does.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *apiError {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		e := fieldError("", "read request body: %v", err)
		return &e
	}
	err = json.Unmarshal(b, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field != "":
		e := fieldError(typeErr.Field, "%s: expected a JSON %s, got %s", typeErr.Field, jsonTypeName(typeErr), typeErr.Value)
		return &e
	case errors.As(err, &typeErr):
		e := fieldError("", "request body must be a JSON object")
		return &e
	default:
		e := fieldError("", "request body is not valid JSON: %v", err)
		return &e
	}
}

func jsonTypeName(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind() {
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return e.Type.Kind().String()
}

// validate checks a G2 body as WaMessageSendRequest describes it, and
// returns every problem at once.
func (req *sendRequest) validate() (*send, []apiError) {
	var errs []apiError
	snd := &send{}
	add := func(field, format string, args ...any) { errs = append(errs, fieldError(field, format, args...)) }
	content := map[string]any{}

	maxLen("body", req.Body, 4096, add)
	maxLen("template_name", req.TemplateName, 512, add)
	maxLen("caption", req.Caption, 1024, add)
	maxLen("filename", req.Filename, 255, add)
	if present(req.Interactive) && !isObject(req.Interactive) {
		add("interactive", "interactive must be a JSON object")
	}
	switch {
	case req.Type == nil:
		add("type", "type is required")
	case *req.Type == "text":
		if empty(req.Body) {
			add("body", "body is required when type is text")
		}
		content["body"] = deref(req.Body)
	case *req.Type == "template":
		if empty(req.TemplateName) {
			add("template_name", "template_name is required when type is template")
		}
		vars := req.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		content["template_name"], content["variables"] = deref(req.TemplateName), vars
	case *req.Type == "media":
		switch {
		case req.MediaKind == nil:
			add("media_kind", "media_kind is required when type is media")
		case !slices.Contains([]string{"IMAGE", "DOCUMENT", "VIDEO"}, *req.MediaKind):
			add("media_kind", "media_kind must be one of IMAGE, DOCUMENT, VIDEO")
		}
		if empty(req.MediaURL) {
			add("media_url", "media_url is required when type is media")
		}
		content["media_kind"], content["media_url"] = deref(req.MediaKind), deref(req.MediaURL)
		if req.Caption != nil {
			content["caption"] = *req.Caption
		}
		if req.Filename != nil {
			content["filename"] = *req.Filename
		}
	case *req.Type == "interactive":
		if !present(req.Interactive) {
			add("interactive", "interactive is required when type is interactive")
		}
	default:
		add("type", "type must be one of text, template, media, interactive")
	}

	// The guide asks for exactly one target; the reference says to is
	// ignored beside conversation_id. Both is refused, as the guide says.
	switch {
	case req.To == nil && req.ConversationID == nil:
		add("to", "give exactly one of to and conversation_id")
	case req.To != nil && req.ConversationID != nil:
		add("conversation_id", "give exactly one of to and conversation_id, not both")
	}
	checkTarget(req.To, req.ConversationID, add)
	if req.SenderID != nil && !isUUID(*req.SenderID) {
		add("sender_id", "sender_id must be a uuid")
	}
	if len(errs) > 0 {
		return nil, errs
	}

	snd.kind, snd.templateName = *req.Type, deref(req.TemplateName)
	if snd.kind == "interactive" {
		snd.content = canonicalObject(req.Interactive)
	} else {
		snd.content = mustMarshal(content)
	}
	snd.target(req.To, req.ConversationID)
	return snd, nil
}

// validate checks a G3 interactive body.
func (req *interactiveRequest) validate() (*send, []apiError) {
	var errs []apiError
	add := func(field, format string, args ...any) { errs = append(errs, fieldError(field, format, args...)) }
	switch {
	case !present(req.Interactive):
		add("interactive", "interactive is required")
	case !isObject(req.Interactive):
		add("interactive", "interactive must be a JSON object")
	default:
		var in struct {
			Type *string `json:"type"`
		}
		if json.Unmarshal(req.Interactive, &in) != nil || in.Type == nil || *in.Type == "" {
			add("interactive.type", "interactive.type is required (e.g. button, list)")
		}
	}
	// No exclusivity rule is documented here: conversation_id wins and to,
	// sender and sender_id are then ignored.
	if req.To == nil && req.ConversationID == nil {
		add("to", "give to (with sender when there are several) or conversation_id")
	}
	checkTarget(req.To, req.ConversationID, add)
	maxLen("sender", req.Sender, 64, add)
	if req.SenderID != nil && !isUUID(*req.SenderID) {
		add("sender_id", "sender_id must be a uuid")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	snd := &send{g3: true, kind: "interactive", content: canonicalObject(req.Interactive)}
	to := req.To
	if req.ConversationID != nil {
		to = nil
	}
	snd.target(to, req.ConversationID)
	return snd, nil
}

func checkTarget(to, convID *string, add func(field, format string, args ...any)) {
	if to != nil {
		if n := utf8.RuneCountInString(*to); n < 7 || n > 20 || !phonePattern.MatchString(*to) {
			add("to", "to must be 7 to 20 characters of E.164 digits with an optional leading + (pattern ^\\+?[1-9]\\d{6,17}$)")
		}
	}
	if convID != nil && !isUUID(*convID) {
		add("conversation_id", "conversation_id must be a uuid")
	}
}

// target sets the recipient or conversation and the content digest.
func (snd *send) target(to, convID *string) {
	if convID != nil {
		snd.convID = strings.ToLower(*convID)
	} else {
		snd.to = normalizePhone(*to)
	}
	sum := sha256.New()
	sum.Write([]byte(snd.kind))
	sum.Write([]byte{'\n'})
	sum.Write(snd.content)
	snd.digest = hex.EncodeToString(sum.Sum(nil))
}

func maxLen(field string, v *string, n int, add func(field, format string, args ...any)) {
	if v != nil && utf8.RuneCountInString(*v) > n {
		add(field, "%s must be at most %d characters", field, n)
	}
}

// senderBy finds the sender match picks; the field and value name it in
// the error when there is none (404) or it is not active (400).
func (s *Server) senderBy(match func(*Sender) bool, field, value string) (*Sender, int, apiError) {
	for i := range s.cfg.senders {
		sd := &s.cfg.senders[i]
		if !match(sd) {
			continue
		}
		if !sd.IsActive {
			return nil, http.StatusBadRequest, apiError{Code: codeNoActiveSender, Message: fmt.Sprintf("sender %s is not active", value), Field: &field}
		}
		return sd, 0, apiError{}
	}
	return nil, http.StatusNotFound, apiError{Code: codeSenderNotFound, Message: fmt.Sprintf("sender %s not found in this workspace", value), Field: &field}
}

// defaultSender picks the sender of a send that names none: the active
// default, else the first active one. With several active senders Briq's
// choice is not documented; this is the sandbox's.
func (s *Server) defaultSender() (*Sender, int, apiError) {
	var first *Sender
	for i := range s.cfg.senders {
		sd := &s.cfg.senders[i]
		if !sd.IsActive {
			continue
		}
		if sd.IsDefault {
			return sd, 0, apiError{}
		}
		if first == nil {
			first = sd
		}
	}
	if first == nil {
		return nil, http.StatusBadRequest, apiError{Code: codeNoActiveSender, Message: "the workspace has no active WhatsApp sender"}
	}
	return first, 0, apiError{}
}

// checkTemplate applies the template rules: an unknown name is 404; a
// template that is not APPROVED is also 404, with code
// TEMPLATE_NOT_APPROVED — Briq's G1 overview names the codes
// TEMPLATE_NOT_APPROVED and TEMPLATE_NOT_FOUND_OR_UNAPPROVED, the latter
// showing that Briq looks templates up among approved ones, and G2 maps
// "template not found" to 404, so a client treats both as fatal for every
// send of that template; a variables count other than len(params) is 400.
func (s *Server) checkTemplate(snd *send, vars map[string]string) (int, apiError) {
	field, name := "template_name", snd.templateName
	t := s.cfg.byName[name]
	switch {
	case t == nil:
		return http.StatusNotFound, apiError{Code: codeTemplateNotFound, Message: fmt.Sprintf("template %q not found in this workspace", name), Field: &field}
	case t.Status != "APPROVED":
		return http.StatusNotFound, apiError{Code: codeTemplateNotApproved, Message: fmt.Sprintf("template %q is %s, not APPROVED", name, t.Status), Field: &field}
	case len(vars) != len(t.Params):
		field = "variables"
		return http.StatusBadRequest, apiError{Code: codeParamMismatch, Message: fmt.Sprintf("template parameter count mismatch: %q takes %d, got %d", name, len(t.Params), len(vars)), Field: &field}
	}
	return 0, apiError{}
}

// deliver checks a validated send against the conversation, the window and
// the faults, records it and answers.
func (s *Server) deliver(w http.ResponseWriter, c *call, snd *send) {
	msgID, convID := uuid.NewString(), uuid.NewString()
	res := s.record(c, snd, msgID, convID)
	if res.status != 0 && res.msg == nil {
		if res.limited {
			w.Header().Set("Retry-After", c.retryAfter())
		}
		c.failWith(w, res.status, nil, res.err)
		return
	}
	m := res.msg
	data := sendData{MessageID: m.ID, ConversationID: m.Conv, SenderID: m.Sender, Status: "pending"}
	if snd.g3 {
		if sd := s.senderByID(m.Sender); sd != nil {
			data.Sender = &sd.PhoneNumberID
		}
	}
	if res.status != 0 {
		data.Status = "failed"
		c.failWith(w, res.status, data, res.err)
		return
	}
	if res.failedOK {
		data.Status = "failed"
		c.ok(w, http.StatusAccepted, data)
		return
	}
	if s.misanswer(w, c, data) {
		return
	}
	if c.faults.DropAfterAccept > 0 && c.draw(drawDrop) < c.faults.DropAfterAccept {
		s.stats.dropped.Add(1)
		c.wait()
		drop(w)
		return
	}
	status := http.StatusAccepted
	if m.SentNow {
		status, data.Status = http.StatusOK, "sent"
		data.ProviderMessageID = s.wamid(m, data.Status)
	}
	if c.faults.BareAnswer > 0 && c.draw(drawBare) < c.faults.BareAnswer {
		c.write(w, status, bareSendData{MessageID: data.MessageID, Status: data.Status})
		return
	}
	if c.faults.NullID > 0 && c.draw(drawNullID) < c.faults.NullID {
		c.ok(w, status, nullIDData{Status: data.Status})
		return
	}
	c.ok(w, status, data)
}

// nullIDData is WaSendData with its nullable ids null (Faults.NullID).
type nullIDData struct {
	MessageID      *string `json:"message_id"`
	ConversationID *string `json:"conversation_id"`
	Status         string  `json:"status"`
}

// bareSendData is the answer to a send as the G3 pages' prose gives it,
// without the envelope (Faults.BareAnswer).
type bareSendData struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
}

// misanswer applies the faults that answer an accepted send (data) with an
// error status: AcceptThen500, AcceptThen504 and RateLimitWithID. It
// reports whether it answered.
func (s *Server) misanswer(w http.ResponseWriter, c *call, data sendData) bool {
	f := c.faults
	switch {
	case f.AcceptThen500 > 0 && c.draw(drawAccept500) < f.AcceptThen500:
		c.failWith(w, http.StatusInternalServerError, data, apiError{Code: codeInternal, Message: "injected server error after the message was recorded"})
	case f.AcceptThen504 > 0 && c.draw(drawAccept504) < f.AcceptThen504:
		c.failWith(w, http.StatusGatewayTimeout, nil, apiError{Code: codeGatewayTimeout, Message: "injected gateway timeout after the message was recorded"})
	case f.RateLimitWithID > 0 && c.draw(drawLimitWithID) < f.RateLimitWithID:
		w.Header().Set("Retry-After", c.retryAfter())
		c.failWith(w, http.StatusTooManyRequests, data, apiError{Code: codeRateLimited, Message: "injected rate limit after the message was recorded"})
	default:
		return false
	}
	return true
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not an HTTP/1 connection (e.g. an in-process recorder): abort
		// the handler, which net/http turns into a closed connection.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func (s *Server) senderByID(id string) *Sender {
	for i := range s.cfg.senders {
		if s.cfg.senders[i].ID == id {
			return &s.cfg.senders[i]
		}
	}
	return nil
}

// A result is what record decided: a rejection (status, err, no msg), a
// provider failure (status, err and the failed msg) or an acceptance (msg).
type result struct {
	status int
	err    apiError
	// limited marks the rate limit's 429, with Retry-After.
	limited bool
	msg     *message
	// failedOK answers a send that failed at the provider 202 with
	// status "failed" (Faults.FailedAnswer) instead of 422.
	failedOK bool
}

// record decides a send under the store lock and, unless it is rejected,
// stores it (with its simulated answer) and writes it to the data file.
func (s *Server) record(c *call, snd *send, msgID, convID string) result {
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	now := s.Now()

	var conv *conversation
	if snd.convID != "" {
		if conv = st.convByID[snd.convID]; conv == nil {
			field := "conversation_id"
			return result{status: http.StatusNotFound, err: apiError{Code: codeConversationNotFound, Message: "conversation " + snd.convID + " not found", Field: &field}}
		}
	} else {
		conv = st.convByKey[convKey{snd.sender.ID, snd.to}]
	}
	recipient, senderID := snd.to, ""
	if conv != nil {
		recipient, senderID = conv.Recipient, conv.Sender
	} else {
		senderID = snd.sender.ID
	}

	if snd.kind != "template" {
		if open := conv != nil && isOpen(conv, now, s.cfg.MetaWindowRule); !open {
			msg := "the 24h window is closed; send a template first"
			if s.cfg.MetaWindowRule {
				msg = "the 24h window is closed: only a message from the customer opens it"
			}
			return result{status: http.StatusUnprocessableEntity, err: apiError{Code: codeWindowClosed, Message: msg}}
		}
	}
	if f := c.faults.Unreachable; f > 0 && unit(s.cfg.Seed, drawUnreachable, 0, recipient) < f {
		field := "to"
		return result{status: http.StatusUnprocessableEntity, err: apiError{Code: codeUnreachable, Message: "recipient " + recipient + " is unreachable on WhatsApp", Field: &field}}
	}
	overLimit := false
	if limit := c.faults.MarketingLimit; limit > 0 && snd.kind == "template" && conv != nil && templatesSince(conv, now.Add(-windowLength)) >= limit {
		overLimit = true
		if !c.faults.MarketingLimitLate {
			// The envelope ujumbe's briq package takes for Meta's code:
			// Briq documents none of its own (see briq/class.go).
			return result{status: http.StatusUnprocessableEntity, err: apiError{Code: codeMarketingLimit, Message: marketingLimitReason}}
		}
	}
	if limit := c.faults.RateLimit; limit > 0 {
		if sec := now.Unix(); sec != st.rateWindow {
			st.rateWindow, st.rateCount = sec, 0
		}
		if st.rateCount >= limit {
			return result{status: http.StatusTooManyRequests, limited: true, err: apiError{Code: codeRateLimited, Message: fmt.Sprintf("rate limit of %d sends per second exceeded", limit)}}
		}
		st.rateCount++
	}

	m := &message{ID: msgID, Sender: senderID, To: recipient, Outbound: true, Kind: snd.kind, Content: snd.content, Digest: snd.digest,
		At: now.Add(c.faults.RecordLag), SentNow: c.faults.Sent200}
	res := result{msg: m}
	switch {
	case c.faults.Reauth:
		m.Code, m.Reason = codeReauth, "the WhatsApp connection needs re-authorisation"
	case c.faults.ProviderFail > 0 && c.draw(drawProvider) < c.faults.ProviderFail:
		m.Code, m.Reason = codeProviderUnavailable, "injected provider failure: provider unavailable"
		if c.draw(drawProviderErr) < 0.5 {
			m.Code, m.Reason = codeSendFailed, "injected provider failure: send failed"
		}
	case c.faults.FailedAnswer > 0 && c.draw(drawFailedOK) < c.faults.FailedAnswer:
		m.Code, m.Reason, res.failedOK = codeSendFailed, "injected provider failure: send failed, answered 202", true
	}
	switch {
	case res.failedOK: // answered 2xx, with status "failed"
	case m.Code != "":
		res.status, res.err = http.StatusUnprocessableEntity, apiError{Code: m.Code, Message: m.Reason}
	case overLimit:
		m.LateCode, m.LateReason = codeMarketingLimit, marketingLimitReason
	case c.faults.FailLater > 0 && c.draw(drawFailLater) < c.faults.FailLater:
		m.LateCode, m.LateReason = codeUndeliverable, "Message undeliverable"
	}

	newConv := conv == nil
	if newConv {
		conv = &conversation{ID: convID, Sender: senderID, Recipient: recipient, Created: m.At}
	}
	m.Conv = conv.ID
	entries := []entry{{Op: "message", Message: m}}
	var reply *message
	if m.accepted() && m.LateCode == "" {
		if reply = s.cfg.answer(m); reply != nil {
			reply.ID = uuid.NewString()
			entries = append(entries, entry{Op: "message", Message: reply})
		}
	}
	if s.journal != nil {
		if err := s.journal.write(entries...); err != nil {
			return result{status: http.StatusInternalServerError, err: apiError{Code: codeInternal, Message: err.Error()}}
		}
	}
	if newConv {
		st.insert(conv)
	}
	st.add(m)
	if reply != nil {
		st.add(reply)
	}
	return res
}

// marketingLimitReason is Meta's description of its code 131049.
const marketingLimitReason = "This message was not delivered to maintain healthy ecosystem engagement."

// templatesSince counts the templates c accepted after since and did not
// fail later: what Meta's per-user marketing limit counts.
func templatesSince(c *conversation, since time.Time) int {
	n := 0
	for _, m := range c.msgs {
		if m.Outbound && m.Kind == "template" && m.accepted() && m.LateCode == "" && m.At.After(since) {
			n++
		}
	}
	return n
}

func isOpen(c *conversation, now time.Time, meta bool) bool {
	open, _ := c.window(now, meta)
	return open
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

func isObject(raw json.RawMessage) bool {
	return len(raw) > 0 && raw[0] == '{'
}

func empty(p *string) bool { return p == nil || *p == "" }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// isUUID reports whether v is a uuid in its canonical 36-character form.
func isUUID(v string) bool {
	_, err := uuid.Parse(v)
	return err == nil && len(v) == 36
}

// canonicalObject re-encodes a JSON object with sorted keys and exact
// numbers, so equal content has equal bytes.
func canonicalObject(raw json.RawMessage) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic(fmt.Sprintf("sandbox: re-decode validated JSON: %v", err))
	}
	return mustMarshal(v)
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sandbox: encode: %v", err))
	}
	return b
}
