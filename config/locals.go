package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// local is one named value of a locals block.
type local struct {
	name  string
	expr  hcl.Expression
	rng   hcl.Range
	value cty.Value // cty.DynamicVal when it could not be evaluated
	state int       // 0 not evaluated, 1 being evaluated, 2 done
}

func (l *loader) decodeLocals(blocks hcl.Blocks) {
	var order []*local
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		l.diags = append(l.diags, diags...)
		for _, name := range slices.Sorted(maps.Keys(attrs)) {
			attr := attrs[name]
			if prev, dup := l.locals[name]; dup {
				l.diags = append(l.diags, errorf(attr.NameRange, "Duplicate local value",
					"A local value named %q was already defined at %s. Local value names must be unique.", name, prev.rng))
				continue
			}
			lv := &local{name: name, expr: attr.Expr, rng: attr.Range, value: cty.DynamicVal}
			l.locals[name] = lv
			order = append(order, lv)
		}
	}
	for _, lv := range order {
		l.evalLocal(lv, nil)
	}
}

// evalLocal evaluates lv after the locals it refers to. path is the chain of
// locals being evaluated, to name a cycle.
func (l *loader) evalLocal(lv *local, path []string) {
	switch lv.state {
	case 2:
		return
	case 1:
		l.diags = append(l.diags, errorf(lv.rng, "Cycle in local values",
			"The local values refer to each other in a loop: %s. A local value cannot depend on itself.",
			strings.Join(append(path, lv.name), " → ")))
		return
	}
	lv.state = 1
	e := l.newExpr(lv.expr, refScope{what: "a local value"})
	if !e.broken {
		for _, t := range lv.expr.Variables() {
			if t.RootName() != "local" || len(t) < 2 {
				continue
			}
			if name, ok := traverserName(t[1]); ok {
				if dep, ok := l.locals[name]; ok {
					l.evalLocal(dep, append(path[:len(path):len(path)], lv.name))
				}
			}
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": l.varObject(), "local": l.localObject()},
			Functions: functions,
		}
		val, diags := lv.expr.Value(ctx)
		l.diags = append(l.diags, diags...)
		if !diags.HasErrors() {
			lv.value = val
		}
	}
	lv.state = 2
}

// localObject returns `local` with the values evaluated so far.
func (l *loader) localObject() cty.Value {
	vals := make(map[string]cty.Value, len(l.locals))
	for name, lv := range l.locals {
		vals[name] = lv.value
	}
	return cty.ObjectVal(vals)
}

// traverserName returns the name a traversal step selects: .name or
// ["name"].
func traverserName(t hcl.Traverser) (string, bool) {
	switch t := t.(type) {
	case hcl.TraverseAttr:
		return t.Name, true
	case hcl.TraverseIndex:
		if t.Key.Type() == cty.String && t.Key.IsKnown() && !t.Key.IsNull() {
			return t.Key.AsString(), true
		}
	}
	return "", false
}

// describeNames lists names for a message: `"a", "b" and "c"`.
func describeNames(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	switch len(quoted) {
	case 0:
		return "none"
	case 1:
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}
