package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/ujumbe/ujumbe/addrs"
)

var movedSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true},
		{Name: "to", Required: true},
	},
}

// decodeMoved decodes moved blocks. Both addresses must have the same shape
// (a campaign, or a message of a campaign); to must exist in the
// configuration and from must not, as in Terraform. The blocks are then
// checked as a whole (checkMovedSet), because apply makes all their moves
// at once: none may move what another moves, or to where another moves,
// or move on what another moved there.
func (l *loader) decodeMoved(blocks hcl.Blocks) {
	var valid []*Moved
	for _, b := range blocks {
		content, diags := b.Body.Content(movedSchema)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		m := &Moved{DeclRange: b.DefRange}
		fromOK := l.movedAddr(content.Attributes["from"], &m.From, &m.FromRange)
		toOK := l.movedAddr(content.Attributes["to"], &m.To, &m.ToRange)
		if !fromOK || !toOK {
			continue
		}
		switch {
		case m.From.Depth() != m.To.Depth():
			l.diags = append(l.diags, errorf(m.ToRange, "Mismatched moved addresses",
				"from (%s) and to (%s) must both be campaigns or both be messages.", m.From, m.To))
			continue
		case m.From == m.To:
			l.diags = append(l.diags, errorf(m.ToRange, "Moved to itself",
				"from and to are both %s; a moved block records a rename.", m.From))
			continue
		}
		valid = append(valid, m)
	}
	bad := l.checkMovedSet(valid)
	for i, m := range valid {
		switch {
		case !l.addrExists(m.To):
			l.diags = append(l.diags, errorf(m.ToRange, "Moved target not found",
				"to names %s, which is not in the configuration. It must name the campaign or message that the sends were renamed to.", m.To))
			continue
		case l.addrExists(m.From):
			l.diags = append(l.diags, errorf(m.FromRange, "Moved object still exists",
				"from names %s, which is still in the configuration. A moved block records that the object was renamed; remove the old block or the moved block.", m.From))
			continue
		case bad[i]:
			continue
		}
		l.cfg.Moved = append(l.cfg.Moved, m)
		if m.To.Depth() == 1 {
			// A renamed campaign keeps its recipients' holdout and
			// variants: they hash the name it had.
			for _, c := range l.cfg.Campaigns {
				if c.Name == m.To.Campaign {
					c.assignAs = m.From.Campaign
				}
			}
		}
	}
}

// checkMovedSet reports pairs of moved blocks that cannot be applied
// together, at the later block with the earlier one's range (the first such
// pair of each block), and returns which blocks are in such a pair. Two blocks conflict when they move the
// same sends (one from contains or equals the other), or move sends to the
// same address (equal to; whether a campaign's sends and a message's meet
// inside it depends on the state, which apply checks before it moves
// anything); they chain when one moves on sends that the other moves there
// (its from is, or is inside, the other's to), and form a cycle when each
// does so to the other.
func (l *loader) checkMovedSet(ms []*Moved) map[int]bool {
	bad := map[int]bool{}
	reported := map[int]bool{} // one problem per block is enough
	for j, b := range ms {
		for i, a := range ms[:j] {
			if reported[i] {
				continue
			}
			if d := movedPairProblem(a, b); d != nil {
				l.diags = append(l.diags, d)
				bad[i], bad[j], reported[j] = true, true, true
				break
			}
		}
	}
	return bad
}

// movedPairProblem returns the diagnostic for moved blocks a and b (a
// first), or nil when they can be applied together.
func movedPairProblem(a, b *Moved) *hcl.Diagnostic {
	other := fmt.Sprintf("the moved block at %s (from %s to %s)", a.DeclRange, a.From, a.To)
	switch {
	case a.From == b.From:
		return errorf(b.FromRange, "Duplicate moved block",
			"%s was already moved by %s. Each old address can be moved once; remove one of the blocks.", b.From, other)
	case a.From.Contains(b.From) || b.From.Contains(a.From):
		campaign := a.From
		if b.From.Contains(a.From) {
			campaign = b.From
		}
		return errorf(b.FromRange, "Overlapping moved blocks",
			"This block moves the sends of %s, some of which %s moves too, and each send can be moved once. To rename %s and some of its messages, write one block per message instead (from = %s.message.NAME, to = the message's new address).",
			b.From, other, campaign, campaign)
	case a.To == b.To:
		return errorf(b.ToRange, "Conflicting moved blocks",
			"This block moves the sends of %s to %s, and %s moves sends there too, so the same recipient could end up with two sends at one address. Keep one block; move the other sends with \"ujumbe state mv\" after checking them.", b.From, b.To, other)
	case a.To.Contains(b.From) && b.To.Contains(a.From):
		return errorf(b.FromRange, "Cycle in moved blocks",
			"This block moves %s to %s, and %s moves them back. Moves are made together, not one after another, so a cycle has no meaning; remove both blocks.", b.From, b.To, other)
	case a.To.Contains(b.From), b.To.Contains(a.From):
		first, second := a, b
		if b.To.Contains(a.From) {
			first, second = b, a
		}
		merged := fmt.Sprintf("one block: from = %s, to = %s", first.From, second.To)
		if first.From.Depth() != second.To.Depth() {
			// A campaign moved, and then one of its messages: the message
			// needs a block of its own, straight from its old address.
			merged = fmt.Sprintf("one block from the old address straight to the final one (from = %s, to = %s), with a block for each other message of %s",
				addrs.Pattern{Campaign: first.From.Campaign, Message: second.From.Message}, second.To, first.From)
		}
		return errorf(b.FromRange, "Chained moved blocks",
			"The moved blocks at %s (from %s to %s) and %s (from %s to %s) form a chain: the second moves on what the first moves there. Moves are made together, not one after another; merge them into %s.",
			first.DeclRange, first.From, first.To, second.DeclRange, second.From, second.To, merged)
	}
	return nil
}

// movedAddr decodes attribute a, campaign.<c> or campaign.<c>.message.<m>,
// into *p, and its range into *rng.
func (l *loader) movedAddr(a *hcl.Attribute, p *addrs.Pattern, rng *hcl.Range) bool {
	*rng = a.Expr.Range()
	t, diags := hcl.AbsTraversalForExpr(a.Expr)
	var parts []string
	if !diags.HasErrors() {
		parts = append(parts, t.RootName())
		for _, step := range t[1:] {
			name, ok := step.(hcl.TraverseAttr)
			if !ok {
				parts = nil
				break
			}
			parts = append(parts, name.Name)
		}
	}
	switch {
	case len(parts) == 2 && parts[0] == "campaign":
		*p = addrs.Pattern{Campaign: parts[1]}
	case len(parts) == 4 && parts[0] == "campaign" && parts[2] == "message":
		*p = addrs.Pattern{Campaign: parts[1], Message: parts[3]}
	}
	if p.Campaign == "" || p.Validate() != nil {
		l.diags = append(l.diags, errorf(*rng, "Invalid address",
			"%s must be an address such as campaign.black_friday or campaign.black_friday.message.offer.", a.Name))
		return false
	}
	return true
}

// addrExists reports whether a campaign or message address is configured.
func (l *loader) addrExists(p addrs.Pattern) bool {
	for _, c := range l.cfg.Campaigns {
		if p == (addrs.Pattern{Campaign: c.Name}) {
			return true
		}
		for _, m := range c.Messages {
			if p == m.Addr() {
				return true
			}
		}
	}
	return false
}
