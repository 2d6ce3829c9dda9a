package command

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/ujumbe/ujumbe/config"
)

var validateCommand = &subcommand{
	name:     "validate",
	synopsis: "Check the configuration and the CSV files",
	help: `Usage: ujumbe [global options] validate [options]

  Checks the *.hcl files of the configuration directory and the CSV files
  they load: syntax, references, types, phone numbers, duplicate keys and
  WhatsApp's limits. Sends nothing and needs no API key.

  Exits 0 and prints one line of counts when the configuration is valid,
  prints every problem found and exits 1 otherwise.

Options:
  -var 'name=value'   Set a variable (repeatable).
  -var-file=FILE      Set variables from an HCL file (repeatable).
  -json               Print the result as JSON.
  -no-color           Do not colour the output.
`,
	run: runValidate,
}

func runValidate(c *cli, args []string) int {
	var v view
	var vars, varFiles multiFlag
	fs := c.newFlagSet("validate")
	fs.Var(&vars, "var", "")
	fs.Var(&varFiles, "var-file", "")
	v.addFlags(fs)
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() > 0 {
		return c.usage(v, "validate", "validate takes no arguments, got %q.", fs.Arg(0))
	}
	cfg, diags := c.loadConfig(configFlags{vars: vars, varFiles: varFiles})
	// Check renders every message for every recipient; it also runs after
	// load errors, so that one validate shows every problem.
	diags = append(diags, cfg.Check()...)
	valid := !diags.HasErrors()

	if v.json {
		out := validateJSON{Valid: valid, Diagnostics: jsonDiagnostics(diags)}
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				out.ErrorCount++
			} else {
				out.WarningCount++
			}
		}
		if valid {
			n := cfg.Counts()
			out.Counts = &n
		}
		if code := c.writeJSON(out); code != exitOK {
			return code
		}
		if !valid {
			return exitError
		}
		return exitOK
	}

	c.printDiags(v, diags, cfg.Files)
	if !valid {
		return exitError
	}
	n := cfg.Counts()
	fmt.Fprintf(c.stdout, "Success! %s, %s, %s (%d filtered, %d suppressed).\n",
		plural(n.Campaigns, "campaign"), plural(n.Messages, "message"),
		plural(n.Recipients, "recipient"), n.Filtered, n.Suppressed)
	return exitOK
}

// validateJSON is the -json output of validate, shaped like Terraform's.
type validateJSON struct {
	Valid        bool           `json:"valid"`
	ErrorCount   int            `json:"error_count"`
	WarningCount int            `json:"warning_count"`
	Diagnostics  []diagJSON     `json:"diagnostics"`
	Counts       *config.Counts `json:"counts,omitempty"`
}

func (validateJSON) hasDiagnostics() {}
