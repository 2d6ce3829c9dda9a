package config

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/text/unicode/norm"
)

// Evaluating an HCL expression for a row costs a few microseconds: building
// `row` as a cty map, walking the syntax tree, calling cty functions for ==
// and friends, allocating at every step. A million-row file makes that the
// whole budget. But the expressions that run for every row are nearly always
// a handful of shapes: row.col, "K-${row.id}", row.opt_in == "yes",
// a && b, !a. Those are compiled here into Go closures over the stored row,
// with the same results as HCL (strings are NFC-normalized as cty.StringVal
// does); any other shape is evaluated by HCL. TestFastExprMatchesHCL checks
// the two agree.

// strFunc returns a string-valued expression's value for a row; ok is false
// when a function call failed, and HCL must evaluate the expression to
// report why.
type strFunc func(r rowData) (s string, ok bool)

// boolFunc returns a bool-valued expression's value for a row, with
// strFunc's ok.
type boolFunc func(r rowData) (b bool, ok bool)

// fastCompiler compiles expressions that read only row, var and local.
type fastCompiler struct {
	root    *hcl.EvalContext
	columns []string
	// leaves are, for json, the length rules of each string from the row
	// by its placeholder; checks are the same strings with their rules.
	leaves map[string]*[]lenRule
	checks []leafCheck
}

// leafCheck is a string of interactive content that comes from the row,
// compiled, and the length rules it must meet (see compileInteractive);
// parts are its template's parts, when it is a template of several.
type leafCheck struct {
	str   strFunc
	parts []strFunc
	rules *[]lenRule
}

// fits reports whether the leaf's string for row r meets its rules; ok is
// false when the string cannot be made. A template of ASCII parts is
// measured part by part, without joining them.
func (l *leafCheck) fits(r rowData) (fit, ok bool) {
	n, blank := 0, true
	for _, p := range l.parts {
		s, ok := p(r)
		if !ok {
			return false, false
		}
		if !isASCII(s) {
			n = -1
			break
		}
		n += len(s)
		blank = blank && strings.TrimSpace(s) == ""
	}
	if l.parts == nil || n < 0 {
		s, ok := l.str(r)
		if !ok {
			return false, false
		}
		n, blank = utf8.RuneCountInString(s), strings.TrimSpace(s) == ""
	}
	return fitsRules(*l.rules, n, blank), true
}

// constant returns e's value when it reads no per-row name, evaluated once.
func (fc *fastCompiler) constant(e hclsyntax.Expression) (cty.Value, bool) {
	for _, t := range e.Variables() {
		if r := t.RootName(); r != "var" && r != "local" {
			return cty.NilVal, false
		}
	}
	v, diags := e.Value(fc.root)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.IsMarked() {
		return cty.NilVal, false
	}
	return v, true
}

// column returns the column position e reads when it is row.<col>.
func (fc *fastCompiler) column(e hclsyntax.Expression) (int, bool) {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != "row" {
		return 0, false
	}
	name, ok := traverserName(st.Traversal[1])
	if !ok {
		return 0, false
	}
	col := indexOf(fc.columns, name)
	return col, col >= 0
}

// str compiles a string-valued expression.
func (fc *fastCompiler) str(e hclsyntax.Expression) (strFunc, bool) {
	if v, ok := fc.constant(e); ok {
		if v.Type() != cty.String {
			return nil, false
		}
		s := v.AsString()
		return func(rowData) (string, bool) { return s, true }, true
	}
	if col, ok := fc.column(e); ok {
		return func(r rowData) (string, bool) { return norm.NFC.String(r.field(col)), true }, true
	}
	switch e := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		return fc.str(e.Expression)
	case *hclsyntax.TemplateWrapExpr:
		return fc.str(e.Wrapped)
	case *hclsyntax.TemplateExpr:
		parts := make([]strFunc, len(e.Parts))
		for i, p := range e.Parts {
			f, ok := fc.str(p)
			if !ok {
				return nil, false
			}
			parts[i] = f
		}
		return func(r rowData) (string, bool) {
			// Joined on the stack, then copied once: most messages are
			// short, and a Builder would grow part by part.
			var buf [512]byte
			b := buf[:0]
			for _, p := range parts {
				s, ok := p(r)
				if !ok {
					return "", false
				}
				b = append(b, s...)
			}
			// A concatenation of normalized strings need not be normal.
			return norm.NFC.String(string(b)), true
		}, true
	case *hclsyntax.FunctionCallExpr:
		if f, ok := nativeStr[e.Name]; ok && len(e.Args) == 1 && !e.ExpandFinal {
			if arg, ok := fc.str(e.Args[0]); ok {
				return func(r rowData) (string, bool) {
					s, ok := arg(r)
					if !ok {
						return "", false
					}
					return norm.NFC.String(f(s)), true
				}, true
			}
		}
		call, ok := fc.call(e, cty.String)
		if !ok {
			return nil, false
		}
		return func(r rowData) (string, bool) {
			v, ok := call(r)
			if !ok {
				return "", false
			}
			return v.AsString(), true
		}, true
	}
	return nil, false
}

// nativeStr are functions of one string that the compiled form calls in
// Go, as their cty implementations do (cty.StringVal of the result
// normalizes it): calling through cty costs about a microsecond a row, in
// checks of the arguments and values made.
var nativeStr = map[string]func(string) string{
	"upper":     strings.ToUpper,
	"lower":     strings.ToLower,
	"trimspace": strings.TrimSpace,
}

// call compiles a call of a function of the table whose arguments are
// constants or compile to strings, and whose result has type want. The
// function itself runs, so the result is the one HCL would get.
func (fc *fastCompiler) call(e *hclsyntax.FunctionCallExpr, want cty.Type) (func(rowData) (cty.Value, bool), bool) {
	f, ok := functions[e.Name]
	if !ok || e.ExpandFinal {
		return nil, false
	}
	args := make([]strFunc, len(e.Args))
	consts := make([]cty.Value, len(e.Args))
	types := make([]cty.Type, len(e.Args))
	for i, a := range e.Args {
		if v, ok := fc.constant(a); ok {
			consts[i], types[i] = v, v.Type()
			continue
		}
		if args[i], ok = fc.str(a); !ok {
			return nil, false
		}
		types[i] = cty.String
	}
	if rt, err := f.ReturnType(types); err != nil || !rt.Equals(want) {
		return nil, false
	}
	return func(r rowData) (cty.Value, bool) {
		vals := make([]cty.Value, len(args))
		for i, a := range args {
			if a == nil {
				vals[i] = consts[i]
				continue
			}
			s, ok := a(r)
			if !ok {
				return cty.NilVal, false
			}
			vals[i] = cty.StringVal(s)
		}
		v, err := f.Call(vals)
		if err != nil || !v.IsKnown() || v.IsNull() || v.IsMarked() || !v.Type().Equals(want) {
			return cty.NilVal, false
		}
		return v, true
	}, true
}

// bool compiles a bool-valued expression.
func (fc *fastCompiler) bool(e hclsyntax.Expression) (boolFunc, bool) {
	if v, ok := fc.constant(e); ok {
		if v.Type() != cty.Bool {
			return nil, false
		}
		b := v.True()
		return func(rowData) (bool, bool) { return b, true }, true
	}
	switch e := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		return fc.bool(e.Expression)
	case *hclsyntax.UnaryOpExpr:
		if e.Op != hclsyntax.OpLogicalNot {
			return nil, false
		}
		f, ok := fc.bool(e.Val)
		if !ok {
			return nil, false
		}
		return func(r rowData) (bool, bool) {
			b, ok := f(r)
			return !b, ok
		}, true
	case *hclsyntax.BinaryOpExpr:
		switch e.Op {
		case hclsyntax.OpEqual, hclsyntax.OpNotEqual:
			// Only string operands: == across types has its own rules.
			lhs, ok1 := fc.str(e.LHS)
			rhs, ok2 := fc.str(e.RHS)
			if !ok1 || !ok2 {
				return nil, false
			}
			equal := e.Op == hclsyntax.OpEqual
			return func(r rowData) (bool, bool) {
				a, ok1 := lhs(r)
				b, ok2 := rhs(r)
				return (a == b) == equal, ok1 && ok2
			}, true
		case hclsyntax.OpLogicalAnd, hclsyntax.OpLogicalOr:
			lhs, ok1 := fc.bool(e.LHS)
			rhs, ok2 := fc.bool(e.RHS)
			if !ok1 || !ok2 {
				return nil, false
			}
			and := e.Op == hclsyntax.OpLogicalAnd
			return func(r rowData) (bool, bool) {
				a, ok := lhs(r)
				if !ok {
					return false, false
				}
				// HCL short-circuits && and || too.
				if a != and {
					return a, true
				}
				return rhs(r)
			}, true
		}
	case *hclsyntax.FunctionCallExpr:
		call, ok := fc.call(e, cty.Bool)
		if !ok {
			return nil, false
		}
		return func(r rowData) (bool, bool) {
			v, ok := call(r)
			if !ok {
				return false, false
			}
			return v.True(), true
		}, true
	}
	return nil, false
}

// compiler returns a compiler for x when its shape allows compiling it.
func (l *loader) compiler(x *expr, columns []string) (*fastCompiler, hclsyntax.Expression, bool) {
	if x.broken || columns == nil || x.roots&^rootRow != 0 {
		return nil, nil, false
	}
	e, ok := x.Expression.(hclsyntax.Expression)
	return &fastCompiler{root: l.cfg.root, columns: columns}, e, ok
}

// compileFast sets x's compiled forms when its shape allows.
func (l *loader) compileFast(x *expr, columns []string) {
	if fc, e, ok := l.compiler(x, columns); ok {
		x.fastStr, _ = fc.str(e)
		x.fastBool, _ = fc.bool(e)
	}
}

// compileInteractive sets the compiled JSON of interactive content x, and
// the checks of WhatsApp's limits on the row's strings in it, when its
// shape allows.
//
// The object's shape is fixed, and only its strings from the row vary, so
// checkInteractive runs once here, on the object with a distinct
// placeholder for each of those strings: the length limits it applies to
// a placeholder are all a row's string must meet. When a placeholder meets
// a check that compares it (a type, a unique id or title), or the object
// has problems of its own, no checks are compiled, and ContentSum leaves
// the checks to Render.
func (l *loader) compileInteractive(x *expr, columns []string) {
	fc, e, ok := l.compiler(x, columns)
	if _, object := e.(*hclsyntax.ObjectConsExpr); !ok || !object {
		return
	}
	fc.leaves = map[string]*[]lenRule{}
	f, probe, ok := fc.json(e)
	if !ok {
		return
	}
	x.fastJSON = f
	c := &limits{leaves: fc.leaves}
	c.check(probe)
	x.limitsCompiled = len(c.probs) == 0 && !c.compared
	if x.limitsCompiled {
		x.fastChecks = fc.checks
	}
}

// lenRule is a length check of checkInteractive's on a string: at most
// max characters, and not blank when required.
type lenRule struct {
	max      int
	required bool
}

// jsonBuf is a buffer a jsonFunc writes to, with what it found while
// writing.
type jsonBuf struct {
	bytes.Buffer
	// unfit is set when a string from the row breaks a lenRule.
	unfit bool
}

// jsonFunc writes an expression's value for a row as writeJSON does; ok is
// strFunc's.
type jsonFunc func(b *jsonBuf, r rowData) (ok bool)

// json compiles an object or tuple constructor whose keys are constant and
// whose values are constants (written once, here), strings str compiles,
// or such constructors: the shape of interactive content, where only a
// text or two read the row. Anything that could be null (and so be left
// out of its object) is not compiled. It also returns the value with each
// string from the row replaced by a placeholder, a key of fc.leaves, whose
// length rules the returned function checks.
func (fc *fastCompiler) json(e hclsyntax.Expression) (jsonFunc, cty.Value, bool) {
	if v, ok := fc.constant(e); ok {
		var b bytes.Buffer
		if err := writeJSON(&b, v); err != nil {
			return nil, cty.NilVal, false
		}
		c := b.Bytes()
		return func(b *jsonBuf, _ rowData) bool { b.Write(c); return true }, v, true
	}
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		type field struct {
			key string
			f   jsonFunc
		}
		fields := make([]field, 0, len(e.Items))
		probe := make(map[string]cty.Value, len(e.Items))
		for _, it := range e.Items {
			key, ok := fc.key(it.KeyExpr)
			if !ok || slices.ContainsFunc(fields, func(f field) bool { return f.key == key }) {
				return nil, cty.NilVal, false
			}
			f, v, ok := fc.json(it.ValueExpr)
			if !ok {
				return nil, cty.NilVal, false
			}
			fields = append(fields, field{key, f})
			probe[key] = v
		}
		// writeJSON writes keys in cty's order, sorted.
		slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.key, b.key) })
		return func(b *jsonBuf, r rowData) bool {
			b.WriteByte('{')
			for i, f := range fields {
				if i > 0 {
					b.WriteByte(',')
				}
				writeJSONString(&b.Buffer, f.key)
				b.WriteByte(':')
				if !f.f(b, r) {
					return false
				}
			}
			b.WriteByte('}')
			return true
		}, cty.ObjectVal(probe), true
	case *hclsyntax.TupleConsExpr:
		elems := make([]jsonFunc, len(e.Exprs))
		probe := make([]cty.Value, len(e.Exprs))
		for i, x := range e.Exprs {
			f, v, ok := fc.json(x)
			if !ok {
				return nil, cty.NilVal, false
			}
			elems[i], probe[i] = f, v
		}
		return func(b *jsonBuf, r rowData) bool {
			b.WriteByte('[')
			for i, f := range elems {
				if i > 0 {
					b.WriteByte(',')
				}
				if !f(b, r) {
					return false
				}
			}
			b.WriteByte(']')
			return true
		}, cty.TupleVal(probe), true
	}
	str, ok := fc.str(e)
	if !ok {
		return nil, cty.NilVal, false
	}
	// A placeholder no configuration writes, and short and not blank, so
	// that it meets every length rule.
	placeholder := fmt.Sprintf("\uE000%d\uE001", len(fc.leaves))
	rules := new([]lenRule)
	fc.leaves[placeholder] = rules
	leaf := func(b *jsonBuf, r rowData) bool {
		s, ok := str(r)
		if !ok {
			return false
		}
		writeJSONString(&b.Buffer, s)
		b.check(*rules, utf8.RuneCountInString(s), strings.TrimSpace(s) == "")
		return true
	}
	parts := fc.templateParts(e)
	fc.checks = append(fc.checks, leafCheck{str, parts, rules})
	if parts == nil {
		return leaf, cty.StringVal(placeholder), true
	}
	// A string template ("Hi ${row.name}") is written part by part, without
	// building the string, when every part is ASCII: then the whole is
	// normalized (NFC) already, and escaped as its parts are.
	return func(b *jsonBuf, r rowData) bool {
		start := b.Len()
		b.WriteByte('"')
		n, blank := 0, true
		for _, p := range parts {
			s, ok := p(r)
			if !ok {
				return false
			}
			if !isASCII(s) {
				b.Truncate(start)
				return leaf(b, r)
			}
			writeJSONChars(&b.Buffer, s)
			n += len(s)
			blank = blank && strings.TrimSpace(s) == ""
		}
		b.WriteByte('"')
		b.check(*rules, n, blank)
		return true
	}, cty.StringVal(placeholder), true
}

// check sets b.unfit when a string of n characters, blank or not, breaks
// one of rules.
func (b *jsonBuf) check(rules []lenRule, n int, blank bool) {
	if !fitsRules(rules, n, blank) {
		b.unfit = true
	}
}

// fitsRules reports whether a string of n characters, blank or not, meets
// every one of rules.
func fitsRules(rules []lenRule, n int, blank bool) bool {
	for _, rule := range rules {
		if !fitsCount(n, blank, rule.max, rule.required) {
			return false
		}
	}
	return true
}

// templateParts returns the compiled parts of a string template of
// several parts, nil for any other expression.
func (fc *fastCompiler) templateParts(e hclsyntax.Expression) []strFunc {
	for {
		p, ok := e.(*hclsyntax.ParenthesesExpr)
		if !ok {
			break
		}
		e = p.Expression
	}
	t, ok := e.(*hclsyntax.TemplateExpr)
	if !ok || len(t.Parts) < 2 {
		return nil
	}
	parts := make([]strFunc, len(t.Parts))
	for i, p := range t.Parts {
		if parts[i], ok = fc.str(p); !ok {
			return nil
		}
	}
	return parts
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// key returns an object constructor's key when it is a constant string: a
// bare name (type = ...) or a constant expression ("type" = ...).
func (fc *fastCompiler) key(e hclsyntax.Expression) (string, bool) {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if name := hcl.ExprAsKeyword(k.Wrapped); name != "" && !k.ForceNonLiteral {
			// As HCL's evaluation makes it: a cty string, normalized.
			return norm.NFC.String(name), true
		}
		e = k.Wrapped
	}
	v, ok := fc.constant(e)
	if !ok || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}
