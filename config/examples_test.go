package config

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// TestExamples loads and checks every example of examples/, so that the
// READMEs stay true.
func TestExamples(t *testing.T) {
	tests := map[string]Counts{
		"quickstart": {Campaigns: 1, Messages: 1, Recipients: 10, Filtered: 2},
		"follow-ups": {Campaigns: 1, Messages: 4, Recipients: 10, Filtered: 2, Suppressed: 1},
		"list-menu":  {Campaigns: 1, Messages: 3, Recipients: 4},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, diags := Load(filepath.Join("..", "examples", name), LoadOptions{})
			diags = append(diags, cfg.Check()...)
			if len(diags) > 0 {
				t.Fatalf("unexpected diagnostics:\n%s", diagText(cfg.Files, diags))
			}
			if diff := cmp.Diff(want, cfg.Counts()); diff != "" {
				t.Errorf("wrong counts (-want +got):\n%s", diff)
			}
			// Render what a plan would: each message whose when holds, for
			// a follow-up both without an answer and with one, and each
			// variant.
			answer := &Reply{ID: "yes", Title: "Yes please"}
			for _, c := range cfg.Campaigns {
				for _, m := range c.Messages {
					replies := []*Reply{nil}
					if m.After != nil {
						replies = append(replies, answer)
					}
					for _, r := range c.Recipients.Recipients {
						for _, reply := range replies {
							for _, v := range m.variantValues() {
								ok, diags := m.When(r, reply, v)
								if diags.HasErrors() {
									t.Fatalf("%s when for %s:\n%s", m.Addr(), r.Key, diagText(cfg.Files, diags))
								}
								if !ok {
									continue
								}
								if _, diags := m.Render(r, reply, v); diags.HasErrors() {
									t.Errorf("%s variant %q for %s:\n%s", m.Addr(), v, r.Key, diagText(cfg.Files, diags))
								}
							}
						}
					}
				}
			}
		})
	}
}

// diagText formats diagnostics as the command prints them, without colour.
func diagText(files map[string]*hcl.File, diags hcl.Diagnostics) string {
	var b bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&b, files, 100, false)
	if err := w.WriteDiagnostics(diags); err != nil {
		return err.Error()
	}
	return b.String()
}
