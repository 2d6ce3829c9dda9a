package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// refScope says which names an expression may refer to, besides var, local
// and the functions, which every expression may use.
type refScope struct {
	// what names the place for messages: "a local value", "the phone of
	// recipients \"customers\"".
	what string
	// columns is the CSV header `row` has, nil when row is not available
	// here. noColumns is set when row is available but the header could not
	// be read, so column names cannot be checked.
	columns   []string
	noColumns bool
	rowOK     bool
	recipient bool
	// reply is replyAbsent outside messages, replyNoAfter in a message
	// without after, replyOK in a follow-up.
	reply replyScope
	// variant is set where variant, the name of the recipient's variant,
	// is available: in a message with variants and those that follow it.
	variant bool
	// use collects the columns read, when row is available.
	use *rowUse
	// csv names the CSV file row comes from, for messages.
	csv string
}

type replyScope int

const (
	replyAbsent replyScope = iota
	replyNoAfter
	replyOK
)

// newExpr checks the references of e against sc and returns it wrapped for
// evaluation. Problems are reported once, at the reference's range, and
// mark the expression broken.
func (l *loader) newExpr(e hcl.Expression, sc refScope) *expr {
	x := &expr{Expression: e, col: -1}
	for _, t := range e.Variables() {
		if !l.checkRef(t, sc, x) {
			x.broken = true
		}
	}
	if !l.checkFunctions(e) {
		x.broken = true
	}
	if x.broken {
		return x
	}
	if sc.rowOK && sc.columns != nil {
		if t, diags := hcl.AbsTraversalForExpr(e); !diags.HasErrors() && len(t) == 2 && t.RootName() == "row" {
			if name, ok := traverserName(t[1]); ok {
				x.col = indexOf(sc.columns, name)
			}
		}
	}
	return x
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// checkRef checks one traversal, reporting what is wrong with it.
func (l *loader) checkRef(t hcl.Traversal, sc refScope, x *expr) bool {
	root := t.RootName()
	rng := t.SourceRange()
	var attr string
	var attrOK bool
	var attrRange hcl.Range
	if len(t) > 1 {
		attr, attrOK = traverserName(t[1])
		attrRange = hcl.RangeBetween(t[0].SourceRange(), t[1].SourceRange())
	}
	switch root {
	case "var":
		if attrOK {
			if _, ok := l.vars[attr]; !ok {
				l.diags = append(l.diags, errorf(attrRange, "Reference to undeclared variable",
					"No variable named %q is declared.%s Declare it with a variable block.", attr, didYouMean(attr, slices.Sorted(maps.Keys(l.vars)))))
				return false
			}
		}
		return true
	case "local":
		if attrOK {
			if _, ok := l.locals[attr]; !ok {
				l.diags = append(l.diags, errorf(attrRange, "Reference to undefined local value",
					"No local value named %q is defined.%s", attr, didYouMean(attr, slices.Sorted(maps.Keys(l.locals)))))
				return false
			}
		}
		return true
	case "row":
		if !sc.rowOK {
			l.diags = append(l.diags, errorf(rng, "Invalid reference to row",
				"row is a CSV row; it is available in the phone, key and where of recipients and suppress blocks, in messages and in send_window, but not in %s.", sc.what))
			return false
		}
		x.roots |= rootRow
		if !attrOK {
			// row as a whole (keys(row), row[var.column]).
			if sc.use != nil {
				sc.use.all = true
			}
			return true
		}
		if sc.noColumns {
			return true
		}
		col := indexOf(sc.columns, attr)
		if col < 0 {
			hint := didYouMean(attr, sc.columns)
			if spaced := spacedColumn(attr, sc.columns); spaced != "" {
				// row.customer_id for "Customer ID": a name with a space
				// is written as an index.
				hint = fmt.Sprintf(" Did you mean row[%q]? A column whose name is not a plain word is written so.", spaced)
			}
			l.diags = append(l.diags, errorf(attrRange, "Unknown CSV column",
				"%s has no column %q.%s Its columns are %s.", sc.csv, attr, hint, describeNames(sc.columns)))
			return false
		}
		if sc.use != nil {
			sc.use.add(col)
		}
		return true
	case "recipient":
		if !sc.recipient {
			l.diags = append(l.diags, errorf(rng, "Invalid reference to recipient",
				"recipient (key and phone) is available in messages and send_window, but not in %s.", sc.what))
			return false
		}
		x.roots |= rootRecipient
		return l.checkAttr(attr, attrOK, attrRange, "recipient", recipientType)
	case "reply":
		switch sc.reply {
		case replyAbsent:
			l.diags = append(l.diags, errorf(rng, "Invalid reference to reply",
				"reply is the answer to a message's after message; it is available only in messages with after, not in %s.", sc.what))
			return false
		case replyNoAfter:
			l.diags = append(l.diags, errorf(rng, "Invalid reference to reply",
				"reply is the answer to the message named by after, but this message has no after. Add after = message.<name> to make it a follow-up."))
			return false
		}
		x.roots |= rootReply
		return l.checkAttr(attr, attrOK, attrRange, "reply", replyType)
	case "variant":
		if !sc.variant {
			l.diags = append(l.diags, errorf(rng, "Invalid reference to variant",
				"variant is the name of the variant a recipient was assigned by a message with variant blocks; it is available in that message and in the messages that follow it, but not in %s.", sc.what))
			return false
		}
		if len(t) > 1 {
			l.diags = append(l.diags, errorf(rng, "Unsupported attribute",
				"variant is a string, the name of the recipient's variant, and has no attributes: compare it, as in variant == \"short\"."))
			return false
		}
		x.roots |= rootVariant
		return true
	}
	names := []string{"var", "local"}
	if sc.rowOK {
		names = append(names, "row")
	}
	if sc.recipient {
		names = append(names, "recipient")
	}
	if sc.reply == replyOK {
		names = append(names, "reply")
	}
	if sc.variant {
		names = append(names, "variant")
	}
	l.diags = append(l.diags, errorf(t[0].SourceRange(), "Unknown variable",
		"There is no variable named %q.%s The names available in %s are %s.", root, didYouMean(root, names), sc.what, describeNames(names)))
	return false
}

// checkFunctions reports calls of functions that are not in the table,
// suggesting a near name, which HCL's own message does not.
func (l *loader) checkFunctions(e hcl.Expression) bool {
	node, ok := e.(hclsyntax.Node)
	if !ok {
		return true
	}
	good := true
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok {
			return nil
		}
		if _, known := functions[call.Name]; !known {
			l.diags = append(l.diags, errorf(call.NameRange, "Call to unknown function",
				"There is no function named %q.%s", call.Name, didYouMean(call.Name, functionNames())))
			good = false
		}
		return nil
	})
	return good
}

// checkAttr checks the attribute selected from an object of type ty.
func (l *loader) checkAttr(attr string, ok bool, rng hcl.Range, root string, ty cty.Type) bool {
	if !ok || ty.HasAttribute(attr) {
		return true
	}
	names := slices.Sorted(maps.Keys(ty.AttributeTypes()))
	l.diags = append(l.diags, errorf(rng, "Unsupported attribute",
		"%s has no attribute %q.%s Its attributes are %s.", root, attr, didYouMean(attr, names), describeNames(names)))
	return false
}

// staticValue evaluates an expression that depends on nothing per recipient
// (provider settings, file names, times) in the root context.
func (l *loader) staticValue(e hcl.Expression, what string) (cty.Value, bool) {
	x := l.newExpr(e, refScope{what: what})
	if x.broken {
		return cty.NilVal, false
	}
	v, diags := e.Value(l.cfg.root)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// staticString evaluates e as a string with staticValue. Sensitive values
// are refused unless allowSensitive (the API key).
func (l *loader) staticString(attr *hcl.Attribute, what string, allowSensitive bool) (string, bool) {
	v, ok := l.staticValue(attr.Expr, what)
	if !ok {
		return "", false
	}
	if v.IsMarked() {
		if !allowSensitive {
			l.diags = append(l.diags, errorf(attr.Expr.Range(), "Sensitive value not allowed",
				"%s cannot use a sensitive value: it is shown in plans and messages.", attr.Name))
			return "", false
		}
		v, _ = v.Unmark()
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil || sv.IsNull() {
		l.diags = append(l.diags, errorf(attr.Expr.Range(), "Incorrect value type",
			"%s must be a string, but this is %s.", attr.Name, describeValue(v)))
		return "", false
	}
	return sv.AsString(), true
}

// staticNumber evaluates e as a number with staticValue. whole requires a
// whole number; the result must be at least min.
func (l *loader) staticNumber(attr *hcl.Attribute, what string, whole bool, min float64) (float64, bool) {
	v, ok := l.staticValue(attr.Expr, what)
	if !ok {
		return 0, false
	}
	v, _ = v.Unmark()
	nv, err := convert.Convert(v, cty.Number)
	if err != nil || nv.IsNull() {
		l.diags = append(l.diags, errorf(attr.Expr.Range(), "Incorrect value type",
			"%s must be a number, but this is %s.", attr.Name, describeValue(v)))
		return 0, false
	}
	f, _ := nv.AsBigFloat().Float64()
	switch {
	case whole && !nv.AsBigFloat().IsInt():
		l.diags = append(l.diags, errorf(attr.Expr.Range(), "Invalid value",
			"%s must be a whole number, not %s.", attr.Name, nv.AsBigFloat().Text('g', -1)))
		return 0, false
	case f < min:
		l.diags = append(l.diags, errorf(attr.Expr.Range(), "Invalid value",
			"%s must be at least %g; it is %s.", attr.Name, min, nv.AsBigFloat().Text('g', -1)))
		return 0, false
	case math.IsInf(f, 0) || f > math.MaxInt32:
		l.diags = append(l.diags, errorf(attr.Expr.Range(), "Invalid value",
			"%s is too large: %s.", attr.Name, nv.AsBigFloat().Text('g', -1)))
		return 0, false
	}
	return f, true
}

// describeValue is typeName with null spelled out.
func describeValue(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return typeName(v.Type())
}

// spacedColumn returns the column of columns whose name, with its spaces
// and dashes as underscores and in lower case, is attr's: the name attr
// was written for, which row.NAME cannot spell. "" when there is none.
func spacedColumn(attr string, columns []string) string {
	fold := func(s string) string { return strings.ToLower(strings.NewReplacer(" ", "_", "-", "_").Replace(s)) }
	for _, c := range columns {
		if c != attr && strings.ContainsAny(c, " -") && fold(c) == fold(attr) {
			return c
		}
	}
	return ""
}
