package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

var movedSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true},
		{Name: "to", Required: true},
	},
}

// movedBlock is a moved block whose addresses are well formed.
type movedBlock struct {
	from, to         string
	fromAttr, toAttr *hcl.Attribute
	decl             hcl.Range
}

// decodeMoved decodes moved blocks. Both addresses must have the same shape
// (a campaign, or a message of a campaign); to must exist in the
// configuration and from must not, as in Terraform. The blocks are then
// checked as a whole (checkMovedSet), because apply makes all their moves
// at once: none may move what another moves, or to where another moves,
// or move on what another moved there.
func (l *loader) decodeMoved(blocks hcl.Blocks) {
	var valid []*movedBlock
	for _, b := range blocks {
		content, diags := b.Body.Content(movedSchema)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		from, fromOK := l.movedAddr(content.Attributes["from"])
		to, toOK := l.movedAddr(content.Attributes["to"])
		if !fromOK || !toOK {
			continue
		}
		fromAttr, toAttr := content.Attributes["from"], content.Attributes["to"]
		switch {
		case strings.Count(from, ".") != strings.Count(to, "."):
			l.diags = append(l.diags, errorf(toAttr.Expr.Range(), "Mismatched moved addresses",
				"from (%s) and to (%s) must both be campaigns or both be messages.", from, to))
			continue
		case from == to:
			l.diags = append(l.diags, errorf(toAttr.Expr.Range(), "Moved to itself",
				"from and to are both %s; a moved block records a rename.", from))
			continue
		}
		valid = append(valid, &movedBlock{from: from, to: to, fromAttr: fromAttr, toAttr: toAttr, decl: b.DefRange})
	}
	bad := l.checkMovedSet(valid)
	for i, m := range valid {
		switch {
		case !l.addrExists(m.to):
			l.diags = append(l.diags, errorf(m.toAttr.Expr.Range(), "Moved target not found",
				"to names %s, which is not in the configuration. It must name the campaign or message that the sends were renamed to.", m.to))
			continue
		case l.addrExists(m.from):
			l.diags = append(l.diags, errorf(m.fromAttr.Expr.Range(), "Moved object still exists",
				"from names %s, which is still in the configuration. A moved block records that the object was renamed; remove the old block or the moved block.", m.from))
			continue
		case bad[i]:
			continue
		}
		l.cfg.Moved = append(l.cfg.Moved, &Moved{From: m.from, To: m.to, DeclRange: m.decl})
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
func (l *loader) checkMovedSet(ms []*movedBlock) map[int]bool {
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
func movedPairProblem(a, b *movedBlock) *hcl.Diagnostic {
	other := fmt.Sprintf("the moved block at %s (from %s to %s)", a.decl, a.from, a.to)
	switch {
	case a.from == b.from:
		return errorf(b.fromAttr.Expr.Range(), "Duplicate moved block",
			"%s was already moved by %s. Each old address can be moved once; remove one of the blocks.", b.from, other)
	case within(a.from, b.from) || within(b.from, a.from):
		campaign := a.from
		if within(b.from, a.from) {
			campaign = b.from
		}
		return errorf(b.fromAttr.Expr.Range(), "Overlapping moved blocks",
			"This block moves the sends of %s, some of which %s moves too, and each send can be moved once. To rename %s and some of its messages, write one block per message instead (from = %s.message.NAME, to = the message's new address).",
			b.from, other, campaign, campaign)
	case a.to == b.to:
		return errorf(b.toAttr.Expr.Range(), "Conflicting moved blocks",
			"This block moves the sends of %s to %s, and %s moves sends there too, so the same recipient could end up with two sends at one address. Keep one block; move the other sends with \"ujumbe state mv\" after checking them.", b.from, b.to, other)
	case within(a.to, b.from) && within(b.to, a.from):
		return errorf(b.fromAttr.Expr.Range(), "Cycle in moved blocks",
			"This block moves %s to %s, and %s moves them back. Moves are made together, not one after another, so a cycle has no meaning; remove both blocks.", b.from, b.to, other)
	case within(a.to, b.from), within(b.to, a.from):
		first, second := a, b
		if within(b.to, a.from) {
			first, second = b, a
		}
		merged := fmt.Sprintf("one block: from = %s, to = %s", first.from, second.to)
		if strings.Count(first.from, ".") != strings.Count(second.to, ".") {
			// A campaign moved, and then one of its messages: the message
			// needs a block of its own, straight from its old address.
			merged = fmt.Sprintf("one block from the old address straight to the final one (from = %s, to = %s), with a block for each other message of %s",
				first.from+strings.TrimPrefix(second.from, first.to), second.to, first.from)
		}
		return errorf(b.fromAttr.Expr.Range(), "Chained moved blocks",
			"The moved blocks at %s (from %s to %s) and %s (from %s to %s) form a chain: the second moves on what the first moves there. Moves are made together, not one after another; merge them into %s.",
			first.decl, first.from, first.to, second.decl, second.from, second.to, merged)
	}
	return nil
}

// within reports whether address b is a or inside a: campaign.x contains
// campaign.x.message.y.
func within(a, b string) bool {
	return a == b || strings.HasPrefix(b, a+".")
}

// movedAddr reads campaign.<c> or campaign.<c>.message.<m>.
func (l *loader) movedAddr(a *hcl.Attribute) (string, bool) {
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
	valid := len(parts) == 2 && parts[0] == "campaign" ||
		len(parts) == 4 && parts[0] == "campaign" && parts[2] == "message"
	if !valid {
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid address",
			"%s must be an address such as campaign.black_friday or campaign.black_friday.message.offer.", a.Name))
		return "", false
	}
	return strings.Join(parts, "."), true
}

// addrExists reports whether a campaign or message address is configured.
func (l *loader) addrExists(addr string) bool {
	for _, c := range l.cfg.Campaigns {
		if addr == "campaign."+c.Name {
			return true
		}
		for _, m := range c.Messages {
			if addr == m.Addr() {
				return true
			}
		}
	}
	return false
}
