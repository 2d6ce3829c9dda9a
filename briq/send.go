package briq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

const (
	pathMessages    = "/v1/whatsapp/messages"
	pathInteractive = "/v1/whatsapp/messages/interactive"
)

// Message types of the G2 send endpoint (MessageRequest.Type).
const (
	TypeTemplate    = "template"
	TypeText        = "text"
	TypeMedia       = "media"
	TypeInteractive = "interactive"
)

// Media kinds of the G2 send endpoint (MessageRequest.MediaKind).
const (
	MediaImage    = "IMAGE"
	MediaDocument = "DOCUMENT"
	MediaVideo    = "VIDEO"
)

// MessageRequest is the body of the G2 send, POST /v1/whatsapp/messages.
// Type decides which content fields Briq requires: TemplateName (+Variables)
// for "template", Body for "text", MediaKind and MediaURL (+Caption,
// Filename) for "media", Interactive for "interactive". Target with To (+
// optional SenderID) for a first contact, or ConversationID alone to write
// into an existing thread. Empty fields are left out of the JSON; the client
// does not validate, the server does.
type MessageRequest struct {
	To             string            `json:"to,omitempty"`
	SenderID       string            `json:"sender_id,omitempty"`
	ConversationID string            `json:"conversation_id,omitempty"`
	Type           string            `json:"type"`
	TemplateName   string            `json:"template_name,omitempty"`
	Variables      map[string]string `json:"variables,omitempty"`
	Body           string            `json:"body,omitempty"`
	MediaKind      string            `json:"media_kind,omitempty"`
	MediaURL       string            `json:"media_url,omitempty"`
	Caption        string            `json:"caption,omitempty"`
	Filename       string            `json:"filename,omitempty"`
	Interactive    json.RawMessage   `json:"interactive,omitempty"`
}

// InteractiveRequest is the body of the G3 interactive send,
// POST /v1/whatsapp/messages/interactive. Interactive is WhatsApp's
// interactive object, passed through as is (its "type" is required). Target
// with To (+ optional Sender, a number or phone_number_id) or ConversationID.
type InteractiveRequest struct {
	To             string          `json:"to,omitempty"`
	Sender         string          `json:"sender,omitempty"`
	ConversationID string          `json:"conversation_id,omitempty"`
	Interactive    json.RawMessage `json:"interactive"`
}

// SendResult is what Briq said about a send. The JSON fields are the
// envelope's data (WaSendData), or the answer's own fields when it has no
// data (the G3 pages show a bare 202 { message_id, status }); HTTPStatus
// and RequestID come from the answer.
type SendResult struct {
	MessageID         string `json:"message_id"`
	ConversationID    string `json:"conversation_id"`
	SenderID          string `json:"sender_id"`
	Sender            string `json:"sender"`
	ProviderMessageID string `json:"provider_message_id"`
	Status            string `json:"status"`
	HTTPStatus        int    `json:"-"`
	RequestID         string `json:"-"`
}

// SendMessage sends one message through the G2 endpoint.
//
// It always returns a non-nil *SendResult. The error is nil exactly when the
// outcome is Accepted: a 2xx answer with a message_id whose status is not
// "failed", whatever its "success" says. A 2xx whose status is "failed" is
// ProviderFailed with that message_id (its record is polled before the
// send is tried again). Otherwise the error is an *Error whose
// Class says what happened, and the result still carries whatever ids Briq
// returned (a 422 provider failure's pollable message_id, for one). The
// request is sent at most once: nothing here or in net/http retries it.
func (c *Client) SendMessage(ctx context.Context, req *MessageRequest) (*SendResult, error) {
	return c.send(ctx, "send message", pathMessages, req)
}

// SendInteractive sends one interactive message through the G3 endpoint,
// with the same result and error contract as SendMessage.
func (c *Client) SendInteractive(ctx context.Context, req *InteractiveRequest) (*SendResult, error) {
	return c.send(ctx, "send interactive", pathInteractive, req)
}

func (c *Client) send(ctx context.Context, op, path string, payload any) (*SendResult, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		// Nothing was sent, and the same body would fail again.
		return &SendResult{}, c.newError(op, Permanent, 0, fmt.Errorf("encode request: %w", err))
	}
	resp, e := c.exchange(ctx, op, http.MethodPost, path, body)
	if e != nil {
		return &SendResult{HTTPStatus: e.HTTPStatus}, e
	}
	return c.classifySend(op, resp)
}

// errNoMessageID marks a 2xx answer that does not name the message it made,
// and errFailedAnswer one that names it failed.
var (
	errNoMessageID  = errors.New("2xx answer without data.message_id")
	errFailedAnswer = errors.New(`2xx answer with status "failed"`)
)

// classifySend turns a send's answer into a result and, unless it is
// Accepted, an *Error.
func (c *Client) classifySend(op string, resp *response) (*SendResult, error) {
	// The answer is the envelope the OpenAPI documents or, as the G3 send
	// pages' prose shows it, WaSendData's fields bare: a message_id is
	// kept from either.
	var env struct {
		envelope[*SendResult]
		SendResult
	}
	decErr := json.Unmarshal(resp.body, &env)
	res := env.Data
	switch {
	case decErr != nil && resp.status/100 == 2:
		// A 2xx body that does not decode cannot be trusted field by field.
		res = &SendResult{}
	case res == nil:
		res = &env.SendResult
	}
	res.HTTPStatus = resp.status
	res.RequestID = c.redact(env.envelope.RequestID)

	if resp.status/100 == 2 {
		switch {
		case decErr != nil:
			return res, c.newError(op, InDoubt, resp.status, fmt.Errorf("decode response: %w", decErr))
		case res.MessageID == "":
			e := c.newError(op, InDoubt, resp.status, errNoMessageID)
			e.RequestID, e.ConversationID = res.RequestID, res.ConversationID
			return res, e
		case strings.EqualFold(res.Status, StatusFailed):
			// WaSendData's status allows it in a 2xx: the message exists
			// and failed, as a 422 SEND_FAILED's record does, and is
			// polled the same way before the send is tried again.
			e := c.newError(op, ProviderFailed, resp.status, errFailedAnswer)
			e.RequestID, e.MessageID, e.ConversationID = res.RequestID, res.MessageID, res.ConversationID
			return res, e
		}
		return res, nil
	}

	errs := env.apiErrors()
	class, decider := classifySendStatus(resp.status, errs)
	e := &Error{
		Op:             op,
		Class:          class,
		HTTPStatus:     resp.status,
		RequestID:      res.RequestID,
		MessageID:      res.MessageID,
		ConversationID: res.ConversationID,
	}
	c.fillAPIErrors(e, errs, decider)
	if class == RateLimited {
		e.RetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), c.now())
	}
	return res, e
}
