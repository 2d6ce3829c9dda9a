package command

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"

	"github.com/ujumbe/ujumbe/state"
)

// view holds the output choices shared by commands: machine-readable JSON,
// and colour (only on a terminal, never with -no-color).
type view struct {
	json    bool
	noColor bool
}

// addFlags registers -json and -no-color on fs.
func (v *view) addFlags(fs *flag.FlagSet) {
	fs.BoolVar(&v.json, "json", false, "")
	fs.BoolVar(&v.noColor, "no-color", false, "")
}

// isTerminal reports whether stream (standard input, output or error) is a
// terminal.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// termWidth is the width of w when it is a terminal, else 80 columns.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 0 {
			return wd
		}
	}
	return 80
}

// color reports whether output to w may use colour.
func (c *cli) color(v view, w io.Writer) bool {
	return !v.noColor && c.getenv("NO_COLOR") == "" && isTerminal(w)
}

// sourceless is a diagnostic without a source range: a problem with flags,
// the environment or the run rather than with a file.
func sourceless(sev hcl.DiagnosticSeverity, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

// printDiags writes diags to stderr: HCL's text writer with source snippets
// from files, or with -json on stdout as the -json rule says (jsonout.go):
// in the command's document, or as events.
func (c *cli) printDiags(v view, diags hcl.Diagnostics, files map[string]*hcl.File) {
	if len(diags) == 0 {
		return
	}
	if v.json {
		for _, d := range diags {
			c.jsonDiagnostic(jsonDiagnostic(d))
		}
		return
	}
	wr := hcl.NewDiagnosticTextWriter(c.stderr, files, uint(termWidth(c.stderr)), c.color(v, c.stderr))
	if err := wr.WriteDiagnostics(diags); err != nil {
		fmt.Fprintf(c.stderr, "Error: write diagnostics: %v\n", err)
	}
}

// diagJSON is the machine-readable form of a diagnostic, shaped like
// Terraform's so that tools written for one read the other.
type diagJSON struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *rangeJSON `json:"range,omitempty"`
}

type rangeJSON struct {
	Filename string  `json:"filename"`
	Start    posJSON `json:"start"`
	End      posJSON `json:"end"`
}

type posJSON struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

func jsonDiagnostic(d *hcl.Diagnostic) diagJSON {
	out := diagJSON{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		out.Severity = "warning"
	}
	if d.Subject != nil {
		r := d.Subject
		out.Range = &rangeJSON{
			Filename: r.Filename,
			Start:    posJSON{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
			End:      posJSON{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
		}
	}
	return out
}

// jsonDiagnostics converts diags for embedding in a command's JSON output.
func jsonDiagnostics(diags hcl.Diagnostics) []diagJSON {
	out := make([]diagJSON, 0, len(diags))
	for _, d := range diags {
		out = append(out, jsonDiagnostic(d))
	}
	return out
}

// printWarnings prints the state's loading warnings as warning diagnostics.
func (c *cli) printWarnings(v view, ws []state.Warning) {
	var diags hcl.Diagnostics
	for _, w := range ws {
		diags = append(diags, sourceless(hcl.DiagWarning, w.Summary, w.Detail))
	}
	c.printDiags(v, diags, nil)
}
