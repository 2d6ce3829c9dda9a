package plan

import (
	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// holdoutReason is the reason of a held-out recipient's sends.
const holdoutReason = "holdout"

// assign sets the worker's assignment for r, before its messages are
// classified: the variant c assigns it (until its send of the split
// message says otherwise), and whether it is held out. A recipient the
// state records any send of c to is not held out: raising the holdout does
// not make a control group of people the campaign already messaged.
func (b *worker) assign(c *config.Campaign, r *config.Recipient) {
	b.variant = c.Assign(r.Key)
	b.held = c.HeldOut(r.Key)
	if !b.held {
		return
	}
	for _, m := range b.msgs {
		if _, ok := b.get(addrs.Addr{Campaign: c.Name, Message: m.Name, Key: r.Key}); ok {
			b.held = false
			return
		}
	}
}

// variantOf returns the variant of the recipient of c with key, as Build
// works it out: the one its send of c's split message was recorded with,
// else the one c assigns it.
func variantOf(cfg *config.Config, st *state.State, c *config.Campaign, key string) string {
	if m := c.Split(); m != nil {
		if s, ok := Recorded(cfg, st, addrs.Addr{Campaign: c.Name, Message: m.Name, Key: key}); ok && s.Variant != "" {
			return s.Variant
		}
	}
	return c.Assign(key)
}
