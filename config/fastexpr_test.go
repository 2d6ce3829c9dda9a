package config

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TestFastExprMatchesHCL compiles expressions of the shapes fastexpr.go
// handles and checks, on rows chosen to hit the edge cases (Unicode
// normalization, empty cells, values a function rejects), that the compiled
// form gives HCL's value or steps aside.
func TestFastExprMatchesHCL(t *testing.T) {
	columns := []string{"id", "name", "opt_in", "n"}
	rows := [][]string{
		{"1", "Asha", "yes", "42"},
		{"C-2", "", "no", "x"},
		{"3", "Jose\u0301", "YES", "007"}, // "José" decomposed (NFD)
		{"4", "Jos\u00e9", "", "-1"},      // "José" composed (NFC)
		{"5", " e\u0301 ", " Ya ", " 7 "}, // combining mark first, spaces
	}
	root := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(map[string]cty.Value{"yes": cty.StringVal("yes"), "on": cty.True}),
			"local": cty.ObjectVal(map[string]cty.Value{"prefix": cty.StringVal("K-")}),
		},
		Functions: functions,
	}
	type expression struct {
		src  string
		fast bool // whether the shape is one fastexpr.go compiles
	}
	strs := []expression{
		{`row.name`, true},
		{`row["opt_in"]`, true},
		{`"K-${row.id}"`, true},
		{`"${local.prefix}${row.id}-${row.name}"`, true},
		{`"${row.name}"`, true},
		{`upper(row.name)`, true},
		{`lower("${row.name}-${row.opt_in}")`, true},
		{`trimspace(row.n)`, true},
		{`upper("ß ${row.name}")`, true}, // ß, which has no one-letter upper case: left alone
		{`title(lower(row.opt_in))`, true},
		{`trimspace("  ${row.name} ")`, true},
		{`coalesce(row.name, "there")`, true},
		{`substr(row.name, 0, 3)`, true},
		{`replace(row.id, "-", "")`, true},
		{`(row.name)`, true},
		{`"` + strings.Repeat("long ", 120) + `${row.name}"`, true}, // longer than the stack's buffer
		{`"n=${parseint(row.n, 10)}"`, false},                       // a number inside a template
		{`row.opt_in == "yes" ? "a" : "b"`, false},
	}
	bools := []expression{
		{`row.opt_in == "yes"`, true},
		{`row.opt_in != var.yes`, true},
		{`row.name == "Jos\u00e9"`, true},
		{`lower(row.opt_in) == "yes" && row.name != ""`, true},
		{`row.opt_in == "yes" || row.opt_in == "YES"`, true},
		{`!(row.opt_in == "no")`, true},
		{`var.on && row.id != ""`, true},
		{`contains(["yes", "YES"], row.opt_in)`, true},
		{`parseint(row.n, 10) > 0`, false},
		{`can(parseint(row.n, 10))`, false},
	}
	fc := &fastCompiler{root: root, columns: columns}
	parse := func(src string) hclsyntax.Expression {
		e, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", src, diags)
		}
		return e
	}
	hclValue := func(e hclsyntax.Expression, row []string) (cty.Value, bool) {
		m := map[string]cty.Value{}
		for i, c := range columns {
			m[c] = cty.StringVal(row[i])
		}
		ctx := root.NewChild()
		ctx.Variables = map[string]cty.Value{"row": cty.MapVal(m)}
		v, diags := e.Value(ctx)
		return v, !diags.HasErrors()
	}
	for _, x := range strs {
		src, e := x.src, parse(x.src)
		f, ok := fc.str(e)
		if ok != x.fast {
			t.Errorf("%s: compiled %v, want %v", src, ok, x.fast)
		}
		if !ok {
			continue
		}
		for _, row := range rows {
			got, ok := f(storeRow(row))
			want, wantOK := hclValue(e, row)
			if ok && (!wantOK || want.AsString() != got) {
				t.Errorf("%s on %q: compiled %q, HCL %#v (ok %v)", src, row, got, want, wantOK)
			}
		}
	}
	for _, x := range bools {
		src, e := x.src, parse(x.src)
		f, ok := fc.bool(e)
		if ok != x.fast {
			t.Errorf("%s: compiled %v, want %v", src, ok, x.fast)
		}
		if !ok {
			continue
		}
		for _, row := range rows {
			got, ok := f(storeRow(row))
			want, wantOK := hclValue(e, row)
			if ok && (!wantOK || want.True() != got) {
				t.Errorf("%s on %q: compiled %v, HCL %#v (ok %v)", src, row, got, want, wantOK)
			}
		}
	}
}

// storeRow stores fields as readChunks does.
func storeRow(fields []string) rowData {
	var r rowData
	for _, f := range fields {
		r.data += f
		r.ends = append(r.ends, uint32(len(r.data)))
	}
	return r
}
