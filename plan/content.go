package plan

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// ErrNotConfigured is returned by SentContent for a send whose campaign,
// message or recipient the configuration no longer has.
var ErrNotConfigured = errors.New("not in the configuration")

// SentContent renders the content of the send s from cfg, with the answer
// the state records to the message it follows, in the request shape of
// RequestContent. The state keeps only a digest of what was sent, so same
// reports whether this rendering has that digest: when it does, it is what
// the customer was sent; when not, the configuration or its CSV changed
// since. The error is ErrNotConfigured when cfg cannot render s at all.
func SentContent(cfg *config.Config, st *state.State, s state.Send) (content json.RawMessage, same bool, err error) {
	var camp *config.Campaign
	for _, c := range cfg.Campaigns {
		if c.Name == s.Addr.Campaign {
			camp = c
		}
	}
	if camp == nil || camp.Recipients == nil {
		return nil, false, fmt.Errorf("campaign %q is %w", s.Addr.Campaign, ErrNotConfigured)
	}
	var msg *config.Message
	for _, m := range camp.Messages {
		if m.Name == s.Addr.Message {
			msg = m
		}
	}
	if msg == nil {
		return nil, false, fmt.Errorf("message %q of campaign %q is %w", s.Addr.Message, camp.Name, ErrNotConfigured)
	}
	var rcpt *config.Recipient
	for _, r := range camp.Recipients.Recipients {
		if r.Key == s.Addr.Key {
			rcpt = r
			break
		}
	}
	if rcpt == nil {
		return nil, false, fmt.Errorf("recipient %q is %w", s.Addr.Key, ErrNotConfigured)
	}
	var reply *config.Reply
	if msg.After != nil {
		if prev, ok := Recorded(cfg, st, addrs.Addr{Campaign: camp.Name, Message: msg.After.Name, Key: rcpt.Key}); ok && prev.Reply != nil {
			reply = &config.Reply{ID: prev.Reply.ID, Title: prev.Reply.Title, Text: prev.Reply.Text, At: prev.Reply.At}
		}
	}
	p, diags := msg.Render(rcpt, reply, variantOf(cfg, st, camp, rcpt.Key))
	if diags.HasErrors() {
		return nil, false, fmt.Errorf("render %s: %w", s.Addr, diags)
	}
	return RequestContent(p), ContentDigest(p) == s.Digest, nil
}
