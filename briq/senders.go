package briq

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

const pathSenders = "/v1/whatsapp/senders"

// Sender is one of the workspace's WhatsApp numbers (WaSenderItem). ID is
// the sender_id of G2 sends. PhoneNumberID is read from "phone_number_id",
// a guess: the docs do not say which field carries the value G3's "sender"
// accepts.
type Sender struct {
	ID                string `json:"id"`
	UserID            string `json:"user_id"`
	WhatsAppAccountID string `json:"whatsapp_account_id"`
	DisplayNumber     string `json:"display_number"`
	PhoneNumberID     string `json:"phone_number_id"`
	Label             string `json:"label"`
	IsDefault         bool   `json:"is_default"`
	IsActive          bool   `json:"is_active"`
}

// SenderQuery filters GET /v1/whatsapp/senders; nil fields are left out.
type SenderQuery struct {
	IsActive  *bool
	IsDefault *bool
}

// ListSenders fetches the workspace's senders. The endpoint is not paged and
// answers a bare JSON array.
func (c *Client) ListSenders(ctx context.Context, q SenderQuery) ([]Sender, error) {
	const op = "list senders"
	v := url.Values{}
	setBool(v, "is_active", q.IsActive)
	setBool(v, "is_default", q.IsDefault)
	resp, e := c.exchange(ctx, op, http.MethodGet, withQuery(pathSenders, v), nil)
	if e != nil {
		return nil, e
	}
	var senders []Sender
	if err := c.decodeRead(op, resp, &senders); err != nil {
		return nil, err
	}
	return senders, nil
}

func setBool(v url.Values, key string, b *bool) {
	if b != nil {
		v.Set(key, strconv.FormatBool(*b))
	}
}
