package briq

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Message is one item of GET /v1/whatsapp/messages, and the shape of the
// paired reply on GET /v1/whatsapp/messages/{message_id}.
type Message struct {
	// ID is Briq's internal message id (the send's message_id).
	ID string `json:"id"`
	// MessageID is a string the docs do not explain (likely the provider's).
	MessageID       string `json:"message_id"`
	ConversationID  string `json:"conversation_id"`
	IsOutbound      bool   `json:"is_outbound"`
	MessageType     string `json:"message_type"`
	Status          string `json:"status"`
	CreatedAt       Time   `json:"created_at"`
	PairedMessageID string `json:"paired_message_id"`
	// Content is the message body as Briq stores it; its layout is not
	// documented. ParseReplyContent reads the inbound reply shapes.
	Content json.RawMessage `json:"content"`
	// ErrorCode and ErrorMessage are a failed message's reason, when the
	// listing gives it: the documented list item has neither (nor a
	// status), and MessageDetail's are read under the same names.
	ErrorCode    Text `json:"error_code"`
	ErrorMessage Text `json:"error_message"`
	// Error and Reason are the reason under the names the docs' "derived
	// error"/reason allows: an object {code, message}, or a string.
	// Failure reads them all.
	Error  json.RawMessage `json:"error"`
	Reason json.RawMessage `json:"reason"`
}

// Failure returns a failed message's code and message: error_code and
// error_message, or else what Error holds, or else what Reason holds.
func (m *Message) Failure() (code, message string) {
	if m.ErrorCode != "" || m.ErrorMessage != "" {
		return string(m.ErrorCode), string(m.ErrorMessage)
	}
	for _, raw := range []json.RawMessage{m.Error, m.Reason} {
		var obj struct {
			Code    Text `json:"code"`
			Message Text `json:"message"`
		}
		var s Text
		switch {
		case json.Unmarshal(raw, &obj) == nil && (obj.Code != "" || obj.Message != ""):
			return string(obj.Code), string(obj.Message)
		case json.Unmarshal(raw, &s) == nil && s != "":
			return "", string(s)
		}
	}
	return "", ""
}

// MessageDetail is the data of GET /v1/whatsapp/messages/{message_id}. The
// docs show status, provider_message_id and reply; the other fields are read
// when present. ErrorCode and ErrorMessage use the names of the
// whatsapp.failed webhook's fields, since the status endpoint's name for the
// failure reason is not documented, nor are their types (see Text).
type MessageDetail struct {
	Message
	ProviderMessageID string `json:"provider_message_id"`
	// Reply is the inbound message paired with this outbound one; nil until
	// the recipient answers.
	Reply *Message `json:"reply"`
}

// Outbound message statuses (SPEC; briq-whatsapp-api.md §16).
const (
	StatusPending   = "pending"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// Directions for MessageQuery.Direction.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// GetMessage fetches one message by the message_id its send returned. A 404
// answers errors.Is(err, ErrNotFound).
func (c *Client) GetMessage(ctx context.Context, messageID string) (*MessageDetail, error) {
	const op = "get message"
	if messageID == "" {
		return nil, usageError(op, "empty message id")
	}
	resp, e := c.exchange(ctx, op, http.MethodGet, pathMessages+"/"+url.PathEscape(messageID), nil)
	if e != nil {
		return nil, e
	}
	var env envelope[*MessageDetail]
	if err := c.decodeRead(op, resp, &env); err != nil {
		return nil, err
	}
	if env.Data == nil {
		return nil, c.newError(op, InDoubt, resp.status, fmt.Errorf("answer without data"))
	}
	return env.Data, nil
}

// Page is one page of an offset-paged listing: data {items, total, limit, offset}.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	// Date is the answer's HTTP Date header: the provider's clock when it
	// answered, to the second; zero when absent or unreadable.
	Date time.Time `json:"-"`
}

// MessageQuery filters GET /v1/whatsapp/messages. Zero fields are left out.
// Limit is 1..200 (server default 100).
type MessageQuery struct {
	ConversationID string
	Direction      string // DirectionInbound or DirectionOutbound
	MessageType    string
	Status         string
	Since, Until   time.Time
	Limit, Offset  int
}

// maxMessagesLimit is the largest page GET /v1/whatsapp/messages serves.
const maxMessagesLimit = 200

func (q MessageQuery) values() url.Values {
	v := url.Values{}
	setNonEmpty(v, "conversation_id", q.ConversationID)
	setNonEmpty(v, "direction", q.Direction)
	setNonEmpty(v, "message_type", q.MessageType)
	setNonEmpty(v, "status", q.Status)
	setTime(v, "since", q.Since)
	setTime(v, "until", q.Until)
	setPaging(v, q.Limit, q.Offset)
	return v
}

// ListMessages fetches one page of messages, newest first.
func (c *Client) ListMessages(ctx context.Context, q MessageQuery) (*Page[Message], error) {
	const op = "list messages"
	if err := checkLimit(op, q.Limit, maxMessagesLimit); err != nil {
		return nil, err
	}
	return getEnvelopePage[Message](ctx, c, op, pathMessages, q.values())
}

// AllMessages iterates over every message matching q, fetching pages of
// q.Limit (default 200) from q.Offset on. Breaking out of the loop stops
// the fetching. On an error the iterator yields it once and stops. Pages are
// offset-based over a newest-first list, so messages arriving meanwhile can
// shift an item into the next page and it is seen twice.
func (c *Client) AllMessages(ctx context.Context, q MessageQuery) iter.Seq2[Message, error] {
	return offsetPages(q.Limit, maxMessagesLimit, q.Offset, func(limit, offset int) (*Page[Message], error) {
		q.Limit, q.Offset = limit, offset
		return c.ListMessages(ctx, q)
	})
}

// getEnvelopePage fetches one offset page wrapped in Briq's envelope.
func getEnvelopePage[T any](ctx context.Context, c *Client, op, path string, v url.Values) (*Page[T], error) {
	resp, e := c.exchange(ctx, op, http.MethodGet, withQuery(path, v), nil)
	if e != nil {
		return nil, e
	}
	var env envelope[*Page[T]]
	if err := c.decodeRead(op, resp, &env); err != nil {
		return nil, err
	}
	date, _ := http.ParseTime(resp.header.Get("Date"))
	if env.Data == nil {
		// G1 answers its listings bare, {items, total, limit, offset},
		// and which generation answers is not documented.
		var bare Page[T]
		if json.Unmarshal(resp.body, &bare) == nil && bare.Items != nil {
			bare.Date = date
			return &bare, nil
		}
		return nil, c.newError(op, InDoubt, resp.status, fmt.Errorf("answer without data"))
	}
	env.Data.Date = date
	return env.Data, nil
}

// offsetPages iterates over the items of offset pages. It asks for pages of
// limit items (maxLimit when limit is 0) and stops after an empty page, when
// offset reaches the page's total, or, when the server gives no total, after
// a page shorter than the page size the server says it used.
func offsetPages[T any](limit, maxLimit, offset int, fetch func(limit, offset int) (*Page[T], error)) iter.Seq2[T, error] {
	if limit <= 0 {
		limit = maxLimit
	}
	return func(yield func(T, error) bool) {
		for {
			p, err := fetch(limit, offset)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Items {
				if !yield(item, nil) {
					return
				}
			}
			offset += len(p.Items)
			size := limit
			if p.Limit > 0 {
				size = p.Limit
			}
			switch {
			case len(p.Items) == 0:
				return
			case p.Total > 0 && offset >= p.Total:
				return
			case p.Total <= 0 && len(p.Items) < size:
				return
			}
		}
	}
}

func usageError(op, msg string) *Error {
	return &Error{Op: op, Class: Permanent, Err: fmt.Errorf("%s", msg)}
}

func checkLimit(op string, limit, maxLimit int) error {
	if limit < 0 || limit > maxLimit {
		return usageError(op, fmt.Sprintf("limit %d outside 1..%d", limit, maxLimit))
	}
	return nil
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

func setNonEmpty(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

func setTime(v url.Values, key string, t time.Time) {
	if !t.IsZero() {
		v.Set(key, t.UTC().Format(time.RFC3339Nano))
	}
}

func setPaging(v url.Values, limit, offset int) {
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
}
