package config

import (
	"fmt"
	"maps"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The per-recipient names an expression can use, as bits.
const (
	rootRow = 1 << iota
	rootRecipient
	rootReply
	rootVariant
)

// expr is an expression evaluated per row or per recipient, with what the
// structural phase learned about it so that evaluation can take shortcuts.
type expr struct {
	hcl.Expression
	// col is the column position when the expression is exactly row.<col>
	// (or row["col"]), so that a problem with its value can point at the
	// CSV field; -1 otherwise.
	col int
	// roots are the per-recipient names (rootRow, ...) it uses.
	roots int
	// static is its value when it uses no per-recipient name and evaluated
	// without error at load; cty.NilVal otherwise.
	static cty.Value
	// broken is set when a problem was reported at load (an unknown
	// reference, a type error, a limit exceeded by a constant): it is then
	// never evaluated per recipient, so the problem is reported once.
	broken bool
	// fastStr and fastBool evaluate the expression without HCL when its
	// shape allows (see fastexpr.go); nil otherwise.
	fastStr  strFunc
	fastBool boolFunc
	// fastJSON writes the canonical JSON of interactive content of that
	// shape, for ContentSum; nil otherwise. limitsCompiled is set when it
	// also checks WhatsApp's limits (see compileInteractive), and
	// fastChecks are then those checks alone, for ContentChecked.
	fastJSON       jsonFunc
	limitsCompiled bool
	fastChecks     []leafCheck
}

// rowData is one CSV row stored compactly: its fields concatenated, and the
// end offset of each field.
type rowData struct {
	data string
	ends []uint32
}

// field returns the value of column i.
func (r rowData) field(i int) string {
	start := uint32(0)
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.data[start:r.ends[i]]
}

// rowShape says which columns the `row` value holds. Building `row` costs an
// allocation per column, so it holds only the columns that the expressions
// evaluated in that scope read, or all of them when one reads row as a whole
// (row[var.col], keys(row)).
type rowShape struct {
	names []string
	idx   []int
}

// rowUse accumulates the columns a group of expressions reads.
type rowUse struct {
	all  bool
	cols map[int]bool
}

func (u *rowUse) add(col int) {
	if u.cols == nil {
		u.cols = map[int]bool{}
	}
	u.cols[col] = true
}

// shape returns the rowShape for the columns used, given the header.
func (u *rowUse) shape(header []string) *rowShape {
	s := &rowShape{}
	for i, name := range header {
		if u.all || u.cols[i] {
			s.names = append(s.names, name)
			s.idx = append(s.idx, i)
		}
	}
	return s
}

// value builds `row` for r: a map of strings.
func (s *rowShape) value(r rowData) cty.Value {
	if len(s.idx) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	m := make(map[string]cty.Value, len(s.idx))
	for i, col := range s.idx {
		m[s.names[i]] = cty.StringVal(r.field(col))
	}
	return cty.MapVal(m)
}

// replyType is the type of `reply`: the answer to the `after` message.
var replyType = cty.Object(map[string]cty.Type{
	"id":    cty.String,
	"title": cty.String,
	"text":  cty.String,
	"at":    cty.String,
})

// recipientType is the type of `recipient`.
var recipientType = cty.Object(map[string]cty.Type{
	"key":   cty.String,
	"phone": cty.String,
})

// evalScope evaluates expressions for one row or recipient. It builds the
// child EvalContext only when an expression needs one, since plain column
// references and constants are answered without it.
type evalScope struct {
	root  *hcl.EvalContext
	shape *rowShape
	row   rowData
	// unknown makes row, recipient and reply unknown values of their types:
	// the scope of the checks done once at load.
	unknown bool
	// roots are the names (rootRow, rootRecipient) the scope's
	// expressions read; the others are left out of the context.
	roots      int
	key, phone string
	reply      cty.Value // cty.NilVal where reply does not exist
	// lazyReply is set while reply is still to be made of answer.
	answer    *Reply
	lazyReply bool
	variant   cty.Value // cty.NilVal where variant does not exist

	// file and line locate the row in diagnostics; line is 0 in an unknown
	// scope.
	file string
	line int

	ctx   *hcl.EvalContext
	stale bool // ctx.Variables do not describe the current row yet
	// reused is set for a scope that reset moves from row to row; its
	// diagnostics then get a copy of the context, or the printer would show
	// the values of whatever row came last.
	reused bool
}

// context returns the child EvalContext, building it on first use and
// refreshing it after reset.
func (s *evalScope) context() *hcl.EvalContext {
	if s.ctx == nil {
		s.ctx = s.root.NewChild()
		s.ctx.Variables = make(map[string]cty.Value, 3)
		s.stale = true
	}
	if !s.stale {
		return s.ctx
	}
	vars := s.ctx.Variables
	switch {
	case s.unknown:
		vars["row"] = cty.UnknownVal(cty.Map(cty.String))
		vars["recipient"] = cty.UnknownVal(recipientType)
	default:
		// Only what the expressions of this scope read: building row and
		// recipient is most of the cost of a general evaluation.
		if s.roots&rootRow != 0 {
			vars["row"] = s.shape.value(s.row)
		}
		if s.roots&rootRecipient != 0 {
			vars["recipient"] = cty.ObjectVal(map[string]cty.Value{
				"key":   cty.StringVal(s.key),
				"phone": cty.StringVal(s.phone),
			})
		}
	}
	if s.lazyReply {
		s.reply, s.lazyReply = replyValue(s.answer), false
	}
	if s.reply != cty.NilVal {
		vars["reply"] = s.reply
	}
	if s.variant != cty.NilVal {
		vars["variant"] = s.variant
	}
	s.stale = false
	return s.ctx
}

// reset points a reused scope at another row.
func (s *evalScope) reset(r rowData, line int) {
	s.row, s.line, s.stale = r, line, true
}

// value evaluates e.
func (s *evalScope) value(e *expr) (cty.Value, hcl.Diagnostics) {
	switch {
	case e.static != cty.NilVal:
		return e.static, nil
	case e.col >= 0 && !s.unknown:
		return cty.StringVal(s.row.field(e.col)), nil
	}
	v, diags := e.Value(s.context())
	return v, s.located(diags)
}

// str evaluates e as a string. ok is false when the value is unknown (only
// in an unknown scope) or an error was reported. what names the attribute
// in messages ("text", "phone"). Numbers and bools are converted, as HCL
// does for string attributes.
func (s *evalScope) str(e *expr, what string) (str string, ok bool, diags hcl.Diagnostics) {
	if e.fastStr != nil && !s.unknown {
		if v, ok := e.fastStr(s.row); ok {
			return v, true, nil
		}
	}
	v, diags := s.value(e)
	if diags.HasErrors() {
		return "", false, diags
	}
	if v.IsMarked() {
		return "", false, append(diags, s.errorf(e, "Sensitive value not allowed",
			"The %s uses a sensitive value. Message content and recipient data appear in plans and state, so they cannot contain sensitive values.", what))
	}
	if !v.IsKnown() {
		return "", false, diags
	}
	if v.IsNull() {
		return "", false, append(diags, s.errorf(e, "Missing value", "The %s is null; it must be a string.", what))
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", false, append(diags, s.errorf(e, "Incorrect value type",
			"The %s must be a string, but this is %s.", what, typeName(v.Type())))
	}
	return sv.AsString(), true, diags
}

// bool evaluates e as a boolean, with str's conventions.
func (s *evalScope) bool(e *expr, what string) (b bool, ok bool, diags hcl.Diagnostics) {
	if e.fastBool != nil && !s.unknown {
		if v, ok := e.fastBool(s.row); ok {
			return v, true, nil
		}
	}
	v, diags := s.value(e)
	if diags.HasErrors() {
		return false, false, diags
	}
	if v.IsMarked() {
		return false, false, append(diags, s.errorf(e, "Sensitive value not allowed",
			"The %s condition uses a sensitive value, which plans would reveal.", what))
	}
	if !v.Type().Equals(cty.Bool) && v.Type() != cty.DynamicPseudoType {
		return false, false, append(diags, s.errorf(e, "Incorrect value type",
			"The %s condition must be true or false, but this is %s.", what, typeName(v.Type())))
	}
	if !v.IsKnown() {
		return false, false, diags
	}
	if v.IsNull() {
		return false, false, append(diags, s.errorf(e, "Missing value",
			"The %s condition is null; it must be true or false.", what))
	}
	return v.True(), true, diags
}

// errorf returns an error at e's range, naming the row when there is one.
func (s *evalScope) errorf(e *expr, summary, format string, args ...any) *hcl.Diagnostic {
	d := errorf(e.Range(), summary, format, args...)
	d.Expression = e.Expression
	if s.ctx != nil {
		d.EvalContext = s.ctx
	}
	return s.locate(d)
}

// located adds the row's location to diagnostics from HCL's evaluator.
func (s *evalScope) located(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		s.locate(d)
	}
	return diags
}

func (s *evalScope) locate(d *hcl.Diagnostic) *hcl.Diagnostic {
	if s.line > 0 && d.Severity == hcl.DiagError {
		d.Detail = fmt.Sprintf("%s\n\nThis happened for %s.", d.Detail, s.describe())
	}
	if s.reused && s.ctx != nil && d.EvalContext == s.ctx {
		snapshot := s.root.NewChild()
		snapshot.Variables = maps.Clone(s.ctx.Variables)
		d.EvalContext = snapshot
	}
	return d
}

// describe names the row or recipient of the scope.
func (s *evalScope) describe() string {
	if s.key != "" && s.variant != cty.NilVal && s.variant.IsKnown() && s.variant.AsString() != "" {
		return fmt.Sprintf("recipient %q (line %d of %s) with variant %q", s.key, s.line, s.file, s.variant.AsString())
	}
	if s.key != "" {
		return fmt.Sprintf("recipient %q (line %d of %s)", s.key, s.line, s.file)
	}
	return fmt.Sprintf("the row on line %d of %s", s.line, s.file)
}

// typeName describes a type for messages: "a number", "an object".
func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "a bool"
	case t.IsObjectType():
		return "an object"
	case t.IsTupleType(), t.IsListType():
		return "a list"
	case t.IsMapType():
		return "a map"
	case t.IsSetType():
		return "a set"
	}
	return t.FriendlyName()
}
