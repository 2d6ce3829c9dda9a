package command

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/sandbox"
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

// TestTemplatesSharingAName: the workspace has the campaign's template in
// two languages. A send names neither, and Briq does not say which it
// sends: when both take the message's variables, plan and apply go ahead;
// when the other language's takes other parameters, plan refuses, naming
// both, and apply sends nothing.
func TestTemplatesSharingAName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []string
		want   string
	}{
		{"same parameters", fixture.TemplateParams, ""},
		{"other parameters", []string{"1", "2"}, "which names 2 templates of the workspace (language en, sender not given; language sw, sender not given)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 3
			dir := t.TempDir()
			if err := fixture.WriteConfig(dir, n); err != nil {
				t.Fatal(err)
			}
			w := worldIn(t, dir, n, sandbox.Options{Templates: []sandbox.Template{
				{Name: fixture.TemplateName, Language: "en", Params: fixture.TemplateParams},
				{Name: fixture.TemplateName, Language: "sw", Params: tc.params},
			}})
			if tc.want == "" {
				w.mustRun(exitOK, "plan")
				if out := w.mustRun(exitOK, "apply", "-auto-approve"); !strings.Contains(out, fmt.Sprintf("Apply finished: %d sent.", n)) {
					t.Errorf("apply:\n%s", out)
				}
				return
			}
			for _, cmd := range []string{"plan", "apply"} {
				_, stderr, code := w.run(cmd, "-auto-approve")
				if cmd == "plan" {
					_, stderr, code = w.run(cmd)
				}
				if code != exitError || !strings.Contains(strings.Join(strings.Fields(stderr), " "), tc.want) {
					t.Errorf("%s: exit %d, want %d naming both templates:\n%s", cmd, code, exitError, stderr)
				}
			}
			if sends := w.srv.Stats().Sends; sends != 0 {
				t.Errorf("the sandbox got %d sends, want none", sends)
			}
		})
	}
}
