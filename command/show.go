package command

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/report"
	"github.com/ujumbe/ujumbe/state"
)

var showCommand = &subcommand{
	name:     "show",
	synopsis: "Show per campaign and message what was sent and how it went",
	help: `Usage: ujumbe [global options] show [options]

  Prints, per campaign and message in the configuration's order, the funnel:
  how many sends the provider accepted (sent), how many were delivered,
  read and replied to, and the answers per button or list row. Then what
  else became of the sends: opt-outs (a STOP reply is an opt-out, not an
  answer), failures by error code, expired (stop_at or the 24h window),
  branches not taken, follow-ups of a message not sent (previous message
  not sent), suppressed (a suppress block or an earlier opt-out), scheduled, to retry, unknown, and orphaned (recipient or message gone from
  the configuration). Messages nothing was sent for are shown too.

  A message whose recipients are split by variant (variant blocks, and the
  messages after them) ends with its funnel per variant, with the reply
  rate, the size of the campaign's holdout (the control group, sent
  nothing) and, for two variants, the difference of their reply rates with
  a 95% confidence interval: an interval that includes 0 means the data
  cannot tell them apart yet.

  It reads the configuration, as plan does, and judges the sends still to
  come at the current time (with -sandbox, the rehearsal's simulated clock).
  "ujumbe report -html=FILE" draws the same numbers as a page.

  -target narrows it to the sends under an address, and the messages it
  names: -target=campaign.NAME, campaign.NAME.message.NAME, or one send,
  campaign.NAME.message.NAME["KEY"] (repeatable). An address that matches
  nothing is an error.

Options:
  -target=ADDR          Only the sends under ADDR (repeatable).
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
  -state=PATH           State file (default ujumbe.state in the config dir).
  -sandbox              Show the rehearsal state.
  -json                 Print as one JSON document.
  -no-color             Do not colour the output.
`,
	run: runShow,
}

func runShow(c *cli, args []string) int {
	var (
		cf      configFlags
		sf      stateFlags
		v       view
		targets multiFlag
	)
	fs := c.newFlagSet("show")
	fs.Var(&targets, "target", "")
	cf.add(fs)
	sf.add(fs, false)
	sf.inspect = true
	v.addFlags(fs)
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() > 0 {
		return c.usage(v, "", "show takes no arguments, got %q.", fs.Args())
	}
	patterns, diags := parsePatterns("target", targets)
	if diags.HasErrors() {
		c.printDiags(v, diags, nil)
		return exitError
	}
	r, ok := c.loadReport(v, cf, sf, patterns)
	if !ok {
		return exitError
	}
	if v.json {
		return c.writeJSON(r)
	}
	c.printFunnels(r)
	return exitOK
}

// loadReport loads the configuration and the state and builds their
// report, narrowed to targets when there are any. It prints the problems;
// ok is false when there were errors.
func (c *cli) loadReport(v view, cf configFlags, sf stateFlags, targets []addrs.Pattern) (r *report.Report, ok bool) {
	// Side by side, as plan reads them: at a million recipients each takes
	// seconds.
	read := make(chan stateRead, 1)
	go func() {
		st, warnings, err := c.readState(sf)
		read <- stateRead{st, warnings, err}
	}()
	cfg, diags := c.loadConfig(cf)
	sr := <-read
	if diags.HasErrors() {
		c.printDiags(v, diags, filesOf(cfg))
		return nil, false
	}
	st, warnings, err := sr.st, sr.warnings, sr.err
	if err != nil {
		c.printDiags(v, append(diags, errorDiag("Cannot read the state", err)), cfg.Files)
		return nil, false
	}
	c.printWarnings(v, warnings)
	if diags = append(diags, plan.CheckAddrs(cfg, st, plan.Options{Targets: targets})...); diags.HasErrors() {
		c.printDiags(v, diags, cfg.Files)
		return nil, false
	}
	return c.reportOf(v, cfg, diags, st, sf, report.Options{Targets: targets})
}

// reportOf builds the report of cfg (loaded with diags) and st, narrowed
// to targets, at the current time or, with -sandbox, the rehearsal's. It
// prints the problems; ok is false when there were errors.
func (c *cli) reportOf(v view, cfg *config.Config, diags hcl.Diagnostics, st *state.State, sf stateFlags, opts report.Options) (r *report.Report, ok bool) {
	if !sf.sandbox && sf.path == "" && st.Len() == 0 && fileExists(filepath.Join(c.dir, rehearsalDir, defaultStateName)) {
		// A newcomer's first runs are rehearsals: the real state is empty.
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "The state is empty; the rehearsal's is not",
			Detail: fmt.Sprintf("Nothing has been sent for real yet, but a rehearsal (apply -sandbox) keeps its own state in %s: add -sandbox to see it.", rehearsalDir)})
	}
	now := time.Now()
	if sf.sandbox {
		// A rehearsal's sends are judged on the sandbox's clock.
		prov, err := c.openProvider(cfg, true, 1)
		if err != nil {
			c.printDiags(v, append(diags, errorDiag("Cannot start the embedded sandbox", err)), cfg.Files)
			return nil, false
		}
		now = prov.now()
		prov.close()
	}
	opts.Now, opts.Rehearsal, opts.StatePath = now, sf.sandbox, c.stateName(sf)
	r, d := report.Build(cfg, st, opts)
	// A message that cannot be rendered for some recipient is the plan's
	// error; the report counts its sends as scheduled all the same.
	for _, dg := range d {
		dg.Severity = hcl.DiagWarning
	}
	c.printDiags(v, append(diags, d...), cfg.Files)
	return r, true
}

// buildReport builds the report of cfg and st at now.
func (c *cli) buildReport(cfg *config.Config, st *state.State, statePath string, rehearsal bool, now time.Time) (*report.Report, hcl.Diagnostics) {
	return report.Build(cfg, st, report.Options{Now: now, Rehearsal: rehearsal, StatePath: statePath})
}

// printFunnels writes show's human output: per message, the funnel, the
// answers, and what else became of its sends.
func (c *cli) printFunnels(r *report.Report) {
	w := c.stdout
	for _, camp := range r.Campaigns {
		for _, m := range camp.Messages {
			fmt.Fprintf(w, "%s%s\n", m.Address, messageNote(m))
			fmt.Fprintf(w, "  sent %d, delivered %d, read %d, replied %d", m.Sent, m.Delivered, m.Read, m.Replied)
			if m.OptOuts > 0 {
				fmt.Fprintf(w, ", opted out %d", m.OptOuts)
			}
			fmt.Fprintln(w)
			printAnswers(w, "    ", &m.Outcomes)
			if rest := otherOutcomes(m); rest != "" {
				fmt.Fprintf(w, "  %s\n", rest)
			}
			printVariants(w, m)
		}
	}
	if r.OptOuts > 0 {
		fmt.Fprintf(w, "opted out: %d\n", r.OptOuts)
	}
}

// printAnswers writes the answers of o, one a line, after indent.
func printAnswers(w io.Writer, indent string, o *report.Outcomes) {
	for _, a := range o.Answers {
		title := ""
		if a.Title != "" && a.Title != a.ID {
			title = fmt.Sprintf(" (%s)", a.Title)
		}
		fmt.Fprintf(w, "%sanswered %q%s: %d\n", indent, a.ID, title, a.Count)
	}
	if o.TextReplies > 0 {
		fmt.Fprintf(w, "%sanswered with text: %d\n", indent, o.TextReplies)
	}
}

// printVariants writes the funnel of each variant of m, its holdout and
// the comparison of two variants; nothing for a message not split.
func printVariants(w io.Writer, m *report.Message) {
	for _, v := range m.Variants {
		fmt.Fprintf(w, "  variant %s: %d recipients, sent %d, delivered %d, read %d, replied %d (%s of sent)\n",
			v.Name, v.Recipients, v.Sent, v.Delivered, v.Read, v.Replied, report.Percent(v.ReplyRate))
		printAnswers(w, "    ", &v.Outcomes)
	}
	if m.Holdout > 0 {
		fmt.Fprintf(w, "  holdout: %d recipients, the control group, sent nothing\n", m.Holdout)
	}
	if c := m.Comparison; c != nil {
		fmt.Fprintf(w, "  %s\n", c.Sentence())
	}
}

// messageNote describes a message in brackets after its address: its kind
// and template, or that the configuration no longer has it.
func messageNote(m *report.Message) string {
	switch {
	case !m.InConfiguration:
		return " (no longer in the configuration)"
	case m.Template != "":
		return fmt.Sprintf(" (%s %s)", m.Kind, m.Template)
	}
	return fmt.Sprintf(" (%s)", m.Kind)
}

// otherOutcomes lists, on one line, what became of the sends besides the
// funnel; "" when nothing did.
func otherOutcomes(m *report.Message) string {
	var parts []string
	add := func(n int, what string, detail []report.Tally) {
		if n == 0 {
			return
		}
		s := fmt.Sprintf("%d %s", n, what)
		switch {
		case len(detail) == 1 && detail[0].Count == n:
			s += " (" + detail[0].Name + ")"
		case len(detail) > 0:
			var ds []string
			for _, t := range detail {
				ds = append(ds, fmt.Sprintf("%s: %d", t.Name, t.Count))
			}
			s += " (" + strings.Join(ds, ", ") + ")"
		}
		parts = append(parts, s)
	}
	add(m.Failed, "failed", m.Failures)
	add(m.Expired, "expired", nil)
	add(m.NotTaken, "branch not taken", nil)
	add(m.AfterLost, "previous message not sent", nil)
	add(m.Suppressed, "suppressed", m.SuppressedBy)
	add(m.Scheduled, "scheduled", nil)
	add(m.Retry, "to retry", nil)
	add(m.Unknown, "unknown", nil)
	add(m.Orphaned, "orphaned", nil)
	return strings.Join(parts, ", ")
}
