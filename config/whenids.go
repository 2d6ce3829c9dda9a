package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// checkWhenIDs reports each id or title that m's when compares reply.id
// or reply.title with (==, != or contains) that the interactive message m
// follows never offers: a typo there (or "Yes Please" for "Yes please")
// makes a branch that is never taken, or always, and nothing else would
// say so. It checks only when every id (title) the message offers is known
// at load (not read from the row) and the comparison is with a constant;
// "" (an answer in text, not a button) is always allowed.
func (l *loader) checkWhenIDs(m *Message) {
	if m.when == nil || m.checked || m.After == nil || m.After.checked {
		return
	}
	e, ok := m.when.Expression.(hclsyntax.Expression)
	if !ok {
		return
	}
	for _, field := range []string{"id", "title"} {
		offered, ok := offeredIDs(m.After, field)
		if !ok {
			continue
		}
		for _, lit := range replyLiterals(e, field) {
			if lit.id == "" || slices.Contains(offered, lit.id) {
				continue
			}
			detail := fmt.Sprintf("when compares reply.%s with %q, but message %q offers only %s: no answer can have that %s.",
				field, lit.id, m.After.Name, describeNames(offered), field)
			if near := Nearest(lit.id, offered); near != "" {
				detail += fmt.Sprintf(" Did you mean %q?", near)
			} else if i := slices.IndexFunc(offered, func(o string) bool { return strings.EqualFold(o, lit.id) }); i >= 0 {
				detail += fmt.Sprintf(" Did you mean %q? A comparison is exact.", offered[i])
			}
			l.diags = append(l.diags, errorf(lit.rng, "Unknown reply "+field, "%s", detail))
		}
	}
}

// offeredIDs returns the ids (field "id") or titles ("title") of the
// buttons or list rows the interactive message m sends, in every variant;
// ok is false unless m is interactive and each is a string known at load.
func offeredIDs(m *Message, field string) (ids []string, ok bool) {
	for _, v := range m.variantValues() {
		c, _ := m.contentFor(v)
		if c == nil || c.Kind != KindInteractive || c.interactive == nil {
			return nil, false
		}
		val, diags := m.unknownScope(v).value(c.interactive)
		if diags.HasErrors() {
			return nil, false
		}
		var found []cty.Value
		action := attr(val, "action")
		for _, b := range elements(attr(action, "buttons")) {
			found = append(found, attr(attr(b, "reply"), field))
		}
		for _, s := range elements(attr(action, "sections")) {
			for _, r := range elements(attr(s, "rows")) {
				found = append(found, attr(r, field))
			}
		}
		if len(found) == 0 {
			return nil, false
		}
		for _, id := range found {
			if !id.IsKnown() || id.IsNull() || !id.Type().Equals(cty.String) {
				return nil, false
			}
			if s := id.AsString(); !slices.Contains(ids, s) {
				ids = append(ids, s)
			}
		}
	}
	return ids, len(ids) > 0
}

// attr returns v's attribute name, or cty.NilVal when v is not a known
// object or map with it.
func attr(v cty.Value, name string) cty.Value {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return cty.NilVal
	}
	switch t := v.Type(); {
	case t.IsObjectType() && t.HasAttribute(name):
		return v.GetAttr(name)
	case t.IsMapType() && v.HasIndex(cty.StringVal(name)).True():
		return v.Index(cty.StringVal(name))
	}
	return cty.NilVal
}

// elements returns the elements of a known tuple or list v; nil otherwise.
func elements(v cty.Value) []cty.Value {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil
	}
	return v.AsValueSlice()
}

// idLiteral is a constant that a when compares reply.id with.
type idLiteral struct {
	id  string
	rng hcl.Range
}

// replyLiterals returns the constants e compares reply.FIELD with: either
// side of == and !=, and the list of contains(LIST, reply.FIELD).
func replyLiterals(e hclsyntax.Expression, field string) []idLiteral {
	var out []idLiteral
	add := func(x hclsyntax.Expression) {
		if v, diags := x.Value(nil); !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type().Equals(cty.String) {
			out = append(out, idLiteral{id: v.AsString(), rng: x.Range()})
		}
	}
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		switch n := n.(type) {
		case *hclsyntax.BinaryOpExpr:
			if n.Op != hclsyntax.OpEqual && n.Op != hclsyntax.OpNotEqual {
				break
			}
			if isReplyField(n.LHS, field) {
				add(n.RHS)
			} else if isReplyField(n.RHS, field) {
				add(n.LHS)
			}
		case *hclsyntax.FunctionCallExpr:
			if n.Name != "contains" || len(n.Args) != 2 || !isReplyField(n.Args[1], field) {
				break
			}
			if t, ok := n.Args[0].(*hclsyntax.TupleConsExpr); ok {
				for _, x := range t.Exprs {
					add(x)
				}
			}
		}
		return nil
	})
	return out
}

// isReplyField reports whether e is exactly reply.FIELD.
func isReplyField(e hclsyntax.Expression, field string) bool {
	t, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(t.Traversal) != 2 || t.Traversal.RootName() != "reply" {
		return false
	}
	a, ok := t.Traversal[1].(hcl.TraverseAttr)
	return ok && a.Name == field
}
