package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// WhatsApp's limits on interactive messages. Briq passes the interactive
// object through to WhatsApp unchanged and documents no limits of its own,
// so these are Meta's, from the WhatsApp Cloud API documentation:
//
//   - Reply buttons (developers.facebook.com/documentation/business-messaging/
//     whatsapp/messages/interactive-reply-buttons-messages; the WhatsApp
//     Node.js SDK's ButtonObject and InteractiveObject references): up to
//     three buttons; button title at most 20 characters, not empty and
//     unique within the message; button id at most 256 characters; body
//     text at most 1024 characters; header text and footer text at most 60.
//   - Lists (…/whatsapp/messages/interactive-list-messages): one button whose
//     label is at most 20 characters; up to 10 sections with up to 10 rows
//     for all sections combined, at least one row; section title at most 24
//     characters (required when there is more than one section); row id at
//     most 200, row title at most 24, row description at most 72; header
//     (text only) and footer at most 60. Meta's list page gives the body
//     4096 characters, where its older SDK reference says 1024; we follow
//     the current page.
//
// Characters are counted as Unicode code points.
const (
	maxButtons          = 3
	maxButtonTitle      = 20
	maxButtonID         = 256
	maxButtonBody       = 1024
	maxListBody         = 4096
	maxHeaderText       = 60
	maxFooterText       = 60
	maxListButton       = 20
	maxSections         = 10
	maxRows             = 10
	maxSectionTitle     = 24
	maxRowID            = 200
	maxRowTitle         = 24
	maxRowDescription   = 72
	interactiveListType = "list"
	interactiveButton   = "button"
)

// limitProblem is a limit an interactive object breaks, at a path inside it.
type limitProblem struct {
	path    []any // attribute names (string) and list indexes (int)
	summary string
	detail  string
	tooLong bool // a length limit, whose value may be long to quote
}

// ival is a value inside an interactive object, with its path.
type ival struct {
	v    cty.Value
	path []any
}

// at returns the value of attribute name and whether it is present (not
// absent and not null). An unknown object has every attribute, unknown.
func (x ival) at(name string) (ival, bool) {
	child := ival{path: append(x.path[:len(x.path):len(x.path)], name)}
	v := x.v
	switch {
	case !v.IsKnown():
		child.v = cty.DynamicVal
		return child, true
	case v.IsNull():
		return child, false
	case v.Type().IsObjectType():
		if !v.Type().HasAttribute(name) {
			return child, false
		}
		child.v = v.GetAttr(name)
	case v.Type().IsMapType():
		k := cty.StringVal(name)
		if v.HasIndex(k).False() {
			return child, false
		}
		child.v = v.Index(k)
	default:
		return child, false
	}
	return child, !child.v.IsNull()
}

// elems returns the elements of a list or tuple; known is false when the
// list itself is unknown, ok is false when x is not a list.
func (x ival) elems() (elems []ival, known, ok bool) {
	v := x.v
	if !v.IsKnown() {
		return nil, false, true
	}
	ty := v.Type()
	if v.IsNull() || !(ty.IsListType() || ty.IsTupleType() || ty.IsSetType()) {
		return nil, true, false
	}
	for i, e := range v.AsValueSlice() {
		elems = append(elems, ival{v: e, path: append(x.path[:len(x.path):len(x.path)], i)})
	}
	return elems, true, true
}

// str returns x as a string; known is false for unknown values, ok false
// for values that are not strings, numbers or bools.
func (x ival) str() (s string, known, ok bool) {
	if !x.v.IsKnown() {
		return "", false, true
	}
	sv, err := convert.Convert(x.v, cty.String)
	if err != nil || sv.IsNull() {
		return "", true, false
	}
	return sv.AsString(), true, true
}

// limits accumulates the problems of one interactive object.
type limits struct {
	probs []limitProblem
	// leaves, when not nil, are placeholders for strings from the row (see
	// compileInteractive): text records the rules it applies to them, and
	// compared is set when a check compares one with another string.
	leaves   map[string]*[]lenRule
	compared bool
}

func (c *limits) add(x ival, summary, format string, args ...any) {
	c.probs = append(c.probs, limitProblem{path: x.path, summary: summary, detail: fmt.Sprintf(format, args...)})
}

// text checks a string attribute of x: present when required, at most max
// characters, not empty. It returns the string when known.
func (c *limits) text(x ival, name string, max int, required bool) (string, bool) {
	f, present := x.at(name)
	if !present {
		if required {
			c.add(x, "Missing "+pathString(f.path), "The interactive object has no %s, which WhatsApp requires.", pathString(f.path))
		}
		return "", false
	}
	s, known, ok := f.str()
	if rules := c.leaves[s]; known && rules != nil {
		*rules = append(*rules, lenRule{max, required})
	}
	switch {
	case !ok:
		c.add(f, "Incorrect value type", "%s must be a string.", pathString(f.path))
		return "", false
	case !known:
		return "", false
	case strings.TrimSpace(s) == "" && required:
		c.add(f, "Empty "+pathString(f.path), "%s is empty; WhatsApp requires text here.", pathString(f.path))
	case utf8.RuneCountInString(s) > max:
		c.add(f, "Text too long", "%s has %d characters; WhatsApp allows at most %d.", pathString(f.path), utf8.RuneCountInString(s), max)
		c.probs[len(c.probs)-1].tooLong = true
	}
	return s, true
}

// checkInteractive checks an interactive object against WhatsApp's limits.
// Unknown parts are skipped, so it can run at load with per-recipient values
// unknown.
func checkInteractive(v cty.Value) []limitProblem {
	c := &limits{}
	c.check(v)
	return c.probs
}

// check is checkInteractive, adding to c.
func (c *limits) check(v cty.Value) {
	root := ival{v: v}
	if v.IsKnown() && !v.IsNull() && !v.Type().IsObjectType() && !v.Type().IsMapType() {
		c.add(root, "Incorrect value type", "interactive must be an object with type, body and action, as WhatsApp defines interactive messages; this is %s.", typeName(v.Type()))
		return
	}
	typ, known := c.text(root, "type", 100, true)
	if !known {
		return
	}
	switch typ {
	case interactiveButton:
		c.header(root, false)
		c.text(root.child("body"), "text", maxButtonBody, true)
		c.footer(root)
		c.buttons(root)
	case interactiveListType:
		c.header(root, true)
		c.text(root.child("body"), "text", maxListBody, true)
		c.footer(root)
		c.list(root)
	default:
		t, _ := root.at("type")
		c.add(t, "Unsupported interactive type",
			"ujumbe sends interactive messages of type %q (reply buttons) or %q, whose replies it can branch on; %q is neither.%s",
			interactiveButton, interactiveListType, typ, didYouMean(typ, []string{interactiveButton, interactiveListType}))
	}
}

// child returns attribute name of x for a nested check; a missing object is
// reported by the text check on it.
func (x ival) child(name string) ival {
	f, present := x.at(name)
	if !present {
		f.v = cty.NullVal(cty.DynamicPseudoType)
	}
	return f
}

func (c *limits) header(root ival, textOnly bool) {
	h, present := root.at("header")
	if !present {
		return
	}
	typ, known := c.text(h, "type", 100, true)
	if !known {
		return
	}
	switch {
	case typ == "text":
		c.text(h, "text", maxHeaderText, true)
	case textOnly:
		t, _ := h.at("type")
		c.add(t, "Unsupported header", "A list message's header can only be of type \"text\", not %q.", typ)
	case typ != "image" && typ != "video" && typ != "document":
		t, _ := h.at("type")
		c.add(t, "Unsupported header", "A header has type \"text\", \"image\", \"video\" or \"document\", not %q.", typ)
	}
}

func (c *limits) footer(root ival) {
	if f, present := root.at("footer"); present {
		c.text(f, "text", maxFooterText, true)
	}
}

func (c *limits) buttons(root ival) {
	action := root.child("action")
	list, present := action.at("buttons")
	if !present {
		c.add(action, "Missing action.buttons", "A button message needs action.buttons: one to three reply buttons.")
		return
	}
	buttons, known, ok := list.elems()
	switch {
	case !ok:
		c.add(list, "Incorrect value type", "action.buttons must be a list of buttons.")
		return
	case !known:
		return
	case len(buttons) == 0 || len(buttons) > maxButtons:
		c.add(list, "Wrong number of buttons", "A button message has 1 to %d reply buttons; this one has %d.", maxButtons, len(buttons))
	}
	ids, titles := map[string]bool{}, map[string]bool{}
	for _, b := range buttons {
		if t, known := c.text(b, "type", 100, true); known && t != "reply" {
			f, _ := b.at("type")
			c.add(f, "Unsupported button type", "Reply buttons have type \"reply\", not %q.", t)
		}
		reply := b.child("reply")
		if !reply.v.IsNull() || !reply.v.IsKnown() {
			if id, known := c.text(reply, "id", maxButtonID, true); known {
				c.unique(reply, "id", id, ids)
			}
			if title, known := c.text(reply, "title", maxButtonTitle, true); known {
				c.unique(reply, "title", title, titles)
			}
		} else {
			c.add(b, "Missing "+pathString(reply.path), "Each button needs reply = { id = \"...\", title = \"...\" }.")
		}
	}
}

// unique reports value when an earlier element already used it.
func (c *limits) unique(x ival, name, value string, seen map[string]bool) {
	if c.leaves[value] != nil {
		c.compared = true
	}
	if seen[value] {
		f, _ := x.at(name)
		c.add(f, "Duplicate "+name, "%s is %q, like an earlier one; WhatsApp requires each %s to be unique within the message.", pathString(f.path), value, name)
		return
	}
	seen[value] = true
}

func (c *limits) list(root ival) {
	action := root.child("action")
	c.text(action, "button", maxListButton, true)
	list, present := action.at("sections")
	if !present {
		c.add(action, "Missing action.sections", "A list message needs action.sections: 1 to %d sections of rows.", maxSections)
		return
	}
	sections, known, ok := list.elems()
	switch {
	case !ok:
		c.add(list, "Incorrect value type", "action.sections must be a list of sections.")
		return
	case !known:
		return
	case len(sections) == 0 || len(sections) > maxSections:
		c.add(list, "Wrong number of sections", "A list message has 1 to %d sections; this one has %d.", maxSections, len(sections))
	}
	ids := map[string]bool{}
	total, allKnown := 0, true
	for _, s := range sections {
		c.text(s, "title", maxSectionTitle, len(sections) > 1)
		rl, present := s.at("rows")
		if !present {
			c.add(s, "Missing rows", "Each section needs rows: at least one row.")
			continue
		}
		rows, known, ok := rl.elems()
		switch {
		case !ok:
			c.add(rl, "Incorrect value type", "rows must be a list of rows.")
			continue
		case !known:
			allKnown = false
			continue
		case len(rows) == 0:
			c.add(rl, "Empty section", "Each section needs at least one row.")
		}
		for _, r := range rows {
			if id, known := c.text(r, "id", maxRowID, true); known {
				c.unique(r, "id", id, ids)
			}
			c.text(r, "title", maxRowTitle, true)
			c.text(r, "description", maxRowDescription, false)
			total++
		}
	}
	if allKnown && total > maxRows {
		c.add(list, "Too many rows", "A list message has at most %d rows in all its sections together; this one has %d.", maxRows, total)
	}
}

// pathString formats a path as written in HCL: action.buttons[0].reply.
func pathString(path []any) string {
	var b strings.Builder
	for _, step := range path {
		switch s := step.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			b.WriteString("[" + strconv.Itoa(s) + "]")
		}
	}
	if b.Len() == 0 {
		return "interactive"
	}
	return b.String()
}

// rangeAt returns the range of the part of e at path, when e spells the
// object out with { ... } and [ ... ], or the nearest enclosing range.
func rangeAt(e hcl.Expression, path []any) hcl.Range {
	rng := e.Range()
	for _, step := range path {
		switch x := e.(type) {
		case *hclsyntax.ObjectConsExpr:
			name, ok := step.(string)
			if !ok {
				return rng
			}
			found := false
			for _, item := range x.Items {
				k, diags := item.KeyExpr.Value(nil)
				if !diags.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() && k.AsString() == name {
					e, found = item.ValueExpr, true
					break
				}
			}
			if !found {
				return rng
			}
		case *hclsyntax.TupleConsExpr:
			i, ok := step.(int)
			if !ok || i >= len(x.Exprs) {
				return rng
			}
			e = x.Exprs[i]
		default:
			return rng
		}
		rng = e.Range()
	}
	return rng
}
