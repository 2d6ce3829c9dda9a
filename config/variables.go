package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/ujumbe/ujumbe/inputfile"
)

// sensitive is the cty mark of values that come from a variable declared
// with sensitive = true. HCL's diagnostic printer skips marked values.
type valueMark string

const sensitive = valueMark("sensitive")

// envVarPrefix is the prefix of environment variables that set variables.
const envVarPrefix = "UJUMBE_VAR_"

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
	},
}

// variable is a declared input variable.
type variable struct {
	name     string
	typ      cty.Type // cty.DynamicPseudoType when no type is given
	defaults *typeexpr.Defaults
	def      cty.Value // cty.NilVal when the variable is required
	// badDefault says the default given could not be used, which is
	// reported as such: the variable is not required for it.
	badDefault bool
	sensitive  bool
	declRange  hcl.Range

	value cty.Value // final value, converted and marked; cty.NilVal if missing
	set   bool      // a value came from the environment, a var-file or -var
}

func (l *loader) decodeVariables(blocks hcl.Blocks) {
	for _, b := range blocks {
		name, ok := l.blockName(b)
		if !ok {
			continue
		}
		if prev, dup := l.vars[name]; dup {
			l.duplicate(b, name, prev.declRange)
			continue
		}
		v := &variable{name: name, typ: cty.DynamicPseudoType, declRange: b.DefRange}
		l.vars[name] = v
		content, diags := b.Body.Content(variableSchema)
		l.diags = append(l.diags, diags...)
		if attr, ok := content.Attributes["type"]; ok {
			ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(attr.Expr)
			l.diags = append(l.diags, diags...)
			if !diags.HasErrors() {
				v.typ, v.defaults = ty, defaults
			}
		}
		if attr, ok := content.Attributes["sensitive"]; ok {
			val, diags := attr.Expr.Value(nil)
			l.diags = append(l.diags, diags...)
			if !diags.HasErrors() {
				b, err := convert.Convert(val, cty.Bool)
				if err != nil || b.IsNull() {
					l.diags = append(l.diags, errorf(attr.Expr.Range(), "Incorrect value type",
						"sensitive must be true or false."))
				} else {
					v.sensitive = b.True()
				}
			}
		}
		if attr, ok := content.Attributes["description"]; ok {
			_, diags := attr.Expr.Value(nil)
			l.diags = append(l.diags, diags...)
		}
		if attr, ok := content.Attributes["default"]; ok {
			val, diags := attr.Expr.Value(nil)
			l.diags = append(l.diags, diags...)
			if !diags.HasErrors() {
				if val, ok := l.convertVar(v, val, attr.Expr.Range(), "default value"); ok {
					v.def = val
				}
			}
			v.badDefault = v.def == cty.NilVal
		}
	}
	l.setVariableValues()
	for _, name := range slices.Sorted(maps.Keys(l.vars)) {
		v := l.vars[name]
		if v.value == cty.NilVal && !v.set {
			if v.badDefault {
				continue
			}
			if v.def == cty.NilVal {
				l.diags = append(l.diags, errorf(v.declRange, "No value for required variable",
					"The variable %q has no default, so it needs a value: -var '%s=...', a -var-file, or the environment variable %s%s.",
					name, name, envVarPrefix, name))
				continue
			}
			v.value = v.def
		}
		if v.sensitive && v.value != cty.NilVal {
			v.value = v.value.Mark(sensitive)
		}
	}
}

// convertVar applies the variable's type constraint (and its optional
// attribute defaults) to val, reporting a problem at rng.
func (l *loader) convertVar(v *variable, val cty.Value, rng hcl.Range, what string) (cty.Value, bool) {
	out, err := convert.Convert(applyDefaults(v, val), v.typ)
	if err != nil {
		l.diags = append(l.diags, errorf(rng, "Invalid value for variable",
			"The %s of variable %q is not suitable: %s. The variable's type is %s.",
			what, v.name, err, typeexpr.TypeString(v.typ)))
		return cty.NilVal, false
	}
	return out, true
}

// setVariableValues applies the environment, the var-files and -var, in
// increasing precedence.
func (l *loader) setVariableValues() {
	for _, kv := range l.opts.Env {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, envVarPrefix) {
			continue
		}
		// As in Terraform, the environment may hold values for variables
		// this configuration does not declare.
		if v, ok := l.vars[strings.TrimPrefix(k, envVarPrefix)]; ok {
			l.setRaw(v, val, "environment variable "+k)
		}
	}
	for _, path := range l.opts.VarFiles {
		l.readVarFile(path)
	}
	for _, arg := range l.opts.Vars {
		name, val, ok := strings.Cut(arg, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid -var option",
				Detail:   fmt.Sprintf("The option -var %q is not of the form NAME=VALUE, as in -var 'discount=25%%'.", arg),
			})
			continue
		}
		v, ok := l.vars[name]
		if !ok {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("The option -var sets %q, but no variable of that name is declared.%s Declare it with a variable block first.",
					name, didYouMean(name, slices.Sorted(maps.Keys(l.vars)))),
			})
			continue
		}
		l.setRaw(v, val, "option -var "+name)
	}
}

// setRaw sets v from a string given outside the configuration. Like
// Terraform, it takes the string as it is for a primitive type and parses it
// as an HCL expression for lists, maps and objects.
func (l *loader) setRaw(v *variable, raw, source string) {
	var val cty.Value
	if v.typ.IsPrimitiveType() || v.typ == cty.DynamicPseudoType {
		val = cty.StringVal(raw)
	} else {
		expr, diags := hclsyntax.ParseExpression([]byte(raw), "<value for var."+v.name+">", hcl.InitialPos)
		if !diags.HasErrors() {
			val, diags = expr.Value(nil)
		}
		if diags.HasErrors() {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail:   fmt.Sprintf("The value from the %s is not a valid %s: %s.", source, typeexpr.TypeString(v.typ), diags[0].Detail),
			})
			return
		}
	}
	out, err := convert.Convert(applyDefaults(v, val), v.typ)
	if err != nil {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value from the %s is not suitable for variable %q: %s. The variable's type is %s.", source, v.name, err, typeexpr.TypeString(v.typ)),
		})
		return
	}
	v.value, v.set = out, true
}

func applyDefaults(v *variable, val cty.Value) cty.Value {
	if v.defaults == nil {
		return val
	}
	return v.defaults.Apply(val)
}

// readVarFile applies one -var-file: an HCL file of name = value lines, or a
// JSON object when the name ends in .json.
func (l *loader) readVarFile(path string) {
	src, err := inputfile.ReadFile(path)
	if err != nil {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot read variables file",
			Detail:   readFailed(path, err),
		})
		return
	}
	parse := l.parser.ParseHCL
	if strings.HasSuffix(path, ".json") {
		parse = l.parser.ParseJSON
	}
	f, diags := parse(src, path)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return
	}
	attrs, diags := f.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		attr := attrs[name]
		v, ok := l.vars[name]
		if !ok {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("The file sets %q, but no variable of that name is declared, so the value is ignored.%s", name, didYouMean(name, slices.Sorted(maps.Keys(l.vars)))),
				Subject:  attr.NameRange.Ptr(),
			})
			continue
		}
		val, diags := attr.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		if out, ok := l.convertVar(v, val, attr.Expr.Range(), "value"); ok {
			v.value, v.set = out, true
		}
	}
}

// varObject returns `var`: every variable with a value.
func (l *loader) varObject() cty.Value {
	vals := make(map[string]cty.Value, len(l.vars))
	for name, v := range l.vars {
		if v.value != cty.NilVal {
			vals[name] = v.value
		} else {
			// A missing required variable was reported; unknown keeps
			// evaluation going without a second error for each use.
			vals[name] = cty.UnknownVal(v.typ)
		}
	}
	return cty.ObjectVal(vals)
}
