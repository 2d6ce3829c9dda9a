package command

import (
	"bytes"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/ujumbe/ujumbe/atomicfile"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/report"
	"github.com/ujumbe/ujumbe/state"
)

// reportFile is a file report writes from the funnel (report.Report), which
// needs the configuration: -html, -variants.
type reportFile struct {
	what  string // "the HTML report", for messages
	write func(io.Writer, *report.Report) error
	// wrote says what was written to out, after "Wrote ".
	wrote func(r *report.Report, out string) string
}

var htmlFile = reportFile{
	what: "the HTML report",
	write: func(w io.Writer, r *report.Report) error {
		return report.WriteHTML(w, r, report.HTMLOptions{Version: Version})
	},
	wrote: func(r *report.Report, out string) string {
		messages := 0
		for _, camp := range r.Campaigns {
			messages += len(camp.Messages)
		}
		return fmt.Sprintf("the HTML report of %s and %s to %s", plural(len(r.Campaigns), "campaign"), plural(messages, "message"), out)
	},
}

// configReport is the report of the configuration cfg (loaded with diags)
// and st, narrowed to opts.Targets when there are any, for -html,
// -variants and the unrecorded rows of -csv; ok is false when it printed
// why there is none.
func (c *cli) configReport(cfg *config.Config, diags hcl.Diagnostics, st *state.State, sf stateFlags, opts report.Options) (*report.Report, bool) {
	if !diags.HasErrors() {
		diags = append(diags, plan.CheckAddrs(cfg, st, plan.Options{Targets: opts.Targets})...)
	}
	if diags.HasErrors() {
		c.printDiags(view{}, diags, filesOf(cfg))
		return nil, false
	}
	return c.reportOf(view{}, cfg, diags, st, sf, opts)
}

// writeReportFile writes f of the report r to out ("-" for standard
// output).
func (c *cli) writeReportFile(f reportFile, r *report.Report, out string) int {
	var buf bytes.Buffer
	if err := f.write(&buf, r); err != nil {
		return c.fail(view{}, "Cannot write "+f.what, err)
	}
	if out == "-" {
		if _, err := c.stdout.Write(buf.Bytes()); err != nil {
			return c.fail(view{}, "Cannot write "+f.what, err)
		}
		return exitOK
	}
	if err := atomicfile.WriteFile(c.path(out), buf.Bytes(), 0o600); err != nil {
		return c.fail(view{}, "Cannot write "+f.what, err)
	}
	fmt.Fprintf(c.stdout, "Wrote %s.\n", f.wrote(r, c.path(out)))
	return exitOK
}
