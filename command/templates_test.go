package command

import (
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/briq"
)

func TestCompareParams(t *testing.T) {
	named := briq.Template{Name: "offer", Params: []string{"first_name", "code"}, ParameterFormat: "NAMED"}
	positional := briq.Template{Name: "welcome", Params: []string{"1", "2"}, ParameterFormat: "POSITIONAL"}
	unsaid := briq.Template{Name: "old", Params: []string{"1", "2"}}
	vars := func(keys ...string) map[string]string {
		m := map[string]string{}
		for _, k := range keys {
			m[k] = "x"
		}
		return m
	}
	tests := []struct {
		name          string
		t             briq.Template
		vars          map[string]string
		summary, want string
	}{
		{"named match", named, vars("code", "first_name"), "", ""},
		{"positional match", positional, vars("1", "2"), "", ""},
		// The finding: as many variables as parameters, but not the same.
		{"named by position", named, vars("1", "2"), "Wrong template parameters",
			"it takes 2 named parameters ({{first_name}}, {{code}}); the message gives 2 variables (1, 2). Missing: first_name, code. Not a parameter of the template: 1, 2. Briq refuses such a send (400)."},
		{"named typo", named, vars("firstname", "code"), "Wrong template parameters",
			`Missing: first_name. Not a parameter of the template: firstname. Did you mean "first_name"?`},
		{"positional gap", positional, vars("1", "3"), "Wrong template parameters",
			`it takes 2 positional parameters ({{1}}, {{2}}), written as variables = { "1" = ..., "2" = ... }; the message gives 2 variables (1, 3). Missing: 2. Not a position of the template: 3.`},
		{"format inferred", unsaid, vars("1", "two"), "Wrong template parameters", "Not a position of the template: two."},
		{"count", positional, vars("1"), "Wrong number of template parameters", "the message gives 1 variable (1). Missing: 2."},
		{"none given", named, vars(), "Wrong number of template parameters", "the message gives no variables."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			summary, detail := compareParams(tt.t, tt.vars)
			if summary != tt.summary || !strings.Contains(detail, tt.want) {
				t.Errorf("compareParams = %q, %q\nwant %q with %q", summary, detail, tt.summary, tt.want)
			}
		})
	}
}
