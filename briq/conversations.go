package briq

import (
	"context"
	"iter"
	"net/url"
)

const pathConversations = "/v1/whatsapp/conversations"

// Conversation is the G2 conversation object: the thread between one of the
// workspace's senders and one recipient, with its 24h window; or G1's,
// which the docs give for the same path, without a window.
type Conversation struct {
	ID                 string `json:"id"`
	SenderID           string `json:"sender_id"`
	RecipientPhone     string `json:"recipient_phone"`
	IsActive           bool   `json:"is_active"`
	UnreadCount        int    `json:"unread_count"`
	ContactProfileName string `json:"contact_profile_name"`
	LastMessageAt      Time   `json:"last_message_at"`
	// Window is the 24h window (G2); nil when the answer has none, as
	// G1's conversations have not: their IsActive is whether it is open.
	Window    *Window `json:"window"`
	CreatedAt Time    `json:"created_at"`
	UpdatedAt Time    `json:"updated_at"`
}

// Window is a conversation's 24h customer-service window.
type Window struct {
	Open      bool `json:"open"`
	ExpiresAt Time `json:"expires_at"`
}

// Conversation status filters for ConversationQuery.Status.
const (
	ConversationsAll    = "all"
	ConversationsOpen   = "open"
	ConversationsUnread = "unread"
)

// ConversationQuery filters GET /v1/whatsapp/conversations. Zero fields are
// left out. Recipient is an exact number (optional "+"); it may match one
// thread per sender. Limit is 1..100 (server default 50).
type ConversationQuery struct {
	Recipient     string
	SenderID      string
	Status        string // ConversationsAll (default), ConversationsOpen, ConversationsUnread
	Limit, Offset int
}

// maxConversationsLimit is the largest page GET /v1/whatsapp/conversations serves.
const maxConversationsLimit = 100

// ListConversations fetches one page of conversations.
func (c *Client) ListConversations(ctx context.Context, q ConversationQuery) (*Page[Conversation], error) {
	const op = "list conversations"
	if err := checkLimit(op, q.Limit, maxConversationsLimit); err != nil {
		return nil, err
	}
	v := url.Values{}
	setNonEmpty(v, "recipient", q.Recipient)
	setNonEmpty(v, "sender_id", q.SenderID)
	setNonEmpty(v, "status", q.Status)
	setPaging(v, q.Limit, q.Offset)
	return getEnvelopePage[Conversation](ctx, c, op, pathConversations, v)
}

// AllConversations iterates over every conversation matching q, in pages of
// q.Limit (default 100), with the contract of AllMessages.
func (c *Client) AllConversations(ctx context.Context, q ConversationQuery) iter.Seq2[Conversation, error] {
	return offsetPages(q.Limit, maxConversationsLimit, q.Offset, func(limit, offset int) (*Page[Conversation], error) {
		q.Limit, q.Offset = limit, offset
		return c.ListConversations(ctx, q)
	})
}
