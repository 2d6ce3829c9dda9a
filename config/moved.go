package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

var movedSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true},
		{Name: "to", Required: true},
	},
}

// decodeMoved decodes moved blocks. Both addresses must have the same shape
// (a campaign, or a message of a campaign); to must exist in the
// configuration and from must not, as in Terraform.
func (l *loader) decodeMoved(blocks hcl.Blocks) {
	froms := map[string]*Moved{}
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
		case !l.addrExists(to):
			l.diags = append(l.diags, errorf(toAttr.Expr.Range(), "Moved target not found",
				"to names %s, which is not in the configuration. It must name the campaign or message that the sends were renamed to.", to))
			continue
		case l.addrExists(from):
			l.diags = append(l.diags, errorf(fromAttr.Expr.Range(), "Moved object still exists",
				"from names %s, which is still in the configuration. A moved block records that the object was renamed; remove the old block or the moved block.", from))
			continue
		}
		if prev, dup := froms[from]; dup {
			l.diags = append(l.diags, errorf(fromAttr.Expr.Range(), "Duplicate moved block",
				"%s was already moved by the block at %s.", from, prev.DeclRange))
			continue
		}
		mv := &Moved{From: from, To: to, DeclRange: b.DefRange}
		froms[from] = mv
		l.cfg.Moved = append(l.cfg.Moved, mv)
	}
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
