package command

import (
	"bytes"
	"fmt"

	"github.com/ujumbe/ujumbe/atomicfile"
	"github.com/ujumbe/ujumbe/report"
	"github.com/ujumbe/ujumbe/state"
)

// writeHTMLReport writes the HTML report of the configuration and st to
// out ("-" for standard output), for report -html.
func (c *cli) writeHTMLReport(st *state.State, out string, cf configFlags, sf stateFlags) int {
	cfg, diags := c.loadConfig(cf)
	if diags.HasErrors() {
		c.printDiags(view{}, diags, filesOf(cfg))
		return exitError
	}
	r, ok := c.reportOf(view{}, cfg, diags, st, sf)
	if !ok {
		return exitError
	}
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, r, report.HTMLOptions{Version: Version}); err != nil {
		return c.fail(view{}, "Cannot write the HTML report", err)
	}
	if out == "-" {
		if _, err := c.stdout.Write(buf.Bytes()); err != nil {
			return c.fail(view{}, "Cannot write the HTML report", err)
		}
		return exitOK
	}
	if err := atomicfile.WriteFile(c.path(out), buf.Bytes(), 0o600); err != nil {
		return c.fail(view{}, "Cannot write the HTML report", err)
	}
	messages := 0
	for _, camp := range r.Campaigns {
		messages += len(camp.Messages)
	}
	fmt.Fprintf(c.stdout, "Wrote the HTML report of %s and %s to %s.\n", plural(len(r.Campaigns), "campaign"), plural(messages, "message"), out)
	return exitOK
}
