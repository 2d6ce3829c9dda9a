package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

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
	p, err := RenderSend(cfg, st, s.Addr, "")
	if err != nil {
		return nil, false, err
	}
	return RequestContent(p), ContentDigest(p) == s.Digest, nil
}

// RenderSend renders the send at a from cfg as a send made now would: with the
// answer the state records to the message it follows, and as variant, or
// when variant is "" its recipient's variant. The error is
// ErrNotConfigured when cfg cannot render it at all.
func RenderSend(cfg *config.Config, st *state.State, a addrs.Addr, variant string) (*config.Payload, error) {
	return renderSend(cfg, st, a, variant, func(rs *config.RecipientSet, key string) *config.Recipient {
		for _, r := range rs.Recipients {
			if r.Key == key {
				return r
			}
		}
		return nil
	})
}

// Renderer renders sends as RenderSend does, for a caller that renders
// many: it finds recipients by key in an index of each recipients block,
// made on first use, instead of reading the block through. Safe for
// concurrent use.
type Renderer struct {
	cfg *config.Config
	st  *state.State
	mu  sync.Mutex
	// keys index each recipients block by key.
	keys map[*config.RecipientSet]map[string]*config.Recipient
}

// NewRenderer returns a Renderer of sends from cfg, with the answers st
// records.
func NewRenderer(cfg *config.Config, st *state.State) *Renderer {
	return &Renderer{cfg: cfg, st: st, keys: map[*config.RecipientSet]map[string]*config.Recipient{}}
}

// Render is RenderSend(cfg, st, a, variant).
func (r *Renderer) Render(a addrs.Addr, variant string) (*config.Payload, error) {
	return renderSend(r.cfg, r.st, a, variant, r.recipient)
}

func (r *Renderer) recipient(rs *config.RecipientSet, key string) *config.Recipient {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := r.keys[rs]
	if keys == nil {
		keys = make(map[string]*config.Recipient, len(rs.Recipients))
		for _, rc := range rs.Recipients {
			keys[rc.Key] = rc
		}
		r.keys[rs] = keys
	}
	return keys[key]
}

// renderSend is RenderSend, finding the recipient with find.
func renderSend(cfg *config.Config, st *state.State, a addrs.Addr, variant string, find func(*config.RecipientSet, string) *config.Recipient) (*config.Payload, error) {
	var camp *config.Campaign
	for _, c := range cfg.Campaigns {
		if c.Name == a.Campaign {
			camp = c
		}
	}
	if camp == nil || camp.Recipients == nil {
		return nil, fmt.Errorf("campaign %q is %w", a.Campaign, ErrNotConfigured)
	}
	var msg *config.Message
	for _, m := range camp.Messages {
		if m.Name == a.Message {
			msg = m
		}
	}
	if msg == nil {
		return nil, fmt.Errorf("message %q of campaign %q is %w", a.Message, camp.Name, ErrNotConfigured)
	}
	rcpt := find(camp.Recipients, a.Key)
	if rcpt == nil {
		return nil, fmt.Errorf("recipient %q is %w", a.Key, ErrNotConfigured)
	}
	var reply *config.Reply
	if msg.After != nil {
		if prev, ok := Recorded(cfg, st, addrs.Addr{Campaign: camp.Name, Message: msg.After.Name, Key: rcpt.Key}); ok && prev.Reply != nil {
			reply = &config.Reply{ID: prev.Reply.ID, Title: prev.Reply.Title, Text: prev.Reply.Text, At: prev.Reply.At}
		}
	}
	if variant == "" {
		variant = variantOf(cfg, st, camp, rcpt.Key)
	}
	p, diags := msg.Render(rcpt, reply, variant)
	if diags.HasErrors() {
		return nil, fmt.Errorf("render %s: %w", a, diags)
	}
	return p, nil
}
