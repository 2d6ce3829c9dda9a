package command

import (
	"flag"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

var planCommand = &subcommand{
	name:     "plan",
	synopsis: "Show which messages apply would send",
	help: `Usage: ujumbe [global options] plan [options]

  Compares the sends the configuration wants (campaign x message x
  recipient) with the state file and prints what apply would do, grouped by
  message, with a few rendered samples and a summary line.

  Marks: + send now, > scheduled, = done, ~ drift (content changed after
  sending), ! retry, ? unknown outcome (run refresh), x expired, - orphan.

Options:
  -out=FILE             Save the plan to FILE for "ujumbe apply FILE".
  -detailed-exitcode    Exit 0 when nothing is to be sent now, 2 when sends
                        are due now (+ or !), 1 on error.
  -target=ADDR          Plan only sends under ADDR (repeatable).
  -replace=ADDR         Plan to send ADDR again even though it was sent
                        (repeatable).
  -allow-large          Permit a campaign more first contacts than its
                        max_recipients.
  -allow-rekey          Permit first contacts to phones the state knows
                        under keys the recipients no longer have.
  -allow-resend         Permit sends to phones that already accepted (or,
                        in doubt, may have) the same content under another
                        address (a rename without a moved block), or get
                        it under two addresses in this plan.
  -exclude=ADDR         Leave out sends under ADDR (repeatable).
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
  -state=PATH           State file (default ujumbe.state in the config dir).
  -sandbox              Rehearse against an embedded sandbox and a separate
                        rehearsal state.
  -json                 Print the plan as one JSON document.
  -no-color             Do not colour the output.
`,
	run: runPlan,
}

type planOptions struct {
	config   configFlags
	state    stateFlags
	addrs    addrFlags
	guard    plan.GuardOptions
	view     view
	out      string
	detailed bool
}

func (o *planOptions) add(fs *flag.FlagSet) {
	o.config.add(fs)
	o.state.add(fs, false) // plan reads the state without locking it
	o.addrs.add(fs)
	o.view.addFlags(fs)
	fs.BoolVar(&o.guard.AllowLarge, "allow-large", false, "")
	fs.BoolVar(&o.guard.AllowRekey, "allow-rekey", false, "")
	fs.BoolVar(&o.guard.AllowResend, "allow-resend", false, "")
}

func runPlan(c *cli, args []string) int {
	var o planOptions
	fs := c.newFlagSet("plan")
	o.add(fs)
	fs.StringVar(&o.out, "out", "", "")
	fs.BoolVar(&o.detailed, "detailed-exitcode", false, "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() > 0 {
		return c.usage(o.view, "", "plan takes no arguments, got %q.", fs.Args())
	}
	// The state and the configuration are independent, and at a million
	// recipients each takes a second or so: read them side by side.
	read := make(chan stateRead, 1)
	go func() {
		st, warnings, err := c.readState(o.state)
		read <- stateRead{st, warnings, err}
	}()
	cfg, diags := c.loadPlanConfig(o.config)
	r := <-read
	if diags.HasErrors() {
		c.printDiags(o.view, diags, filesOf(cfg))
		return exitError
	}
	st, warnings, err := r.st, r.warnings, r.err
	if err != nil {
		c.printDiags(o.view, diags, cfg.Files)
		return c.fail(o.view, "Cannot read the state", err)
	}
	c.printWarnings(o.view, warnings)
	now := time.Now()
	if o.state.sandbox || c.apiKey(cfg) != "" {
		// With a provider to ask, plan checks the templates; a rehearsal
		// plans on the embedded sandbox's clock, which apply -wait moves.
		prov, err := c.openProvider(cfg, o.state.sandbox, 1)
		if err != nil {
			return c.fail(o.view, providerTrouble(err), err)
		}
		now = prov.now()
		diags = append(diags, checkTemplates(c.ctx, prov.client, cfg, prov.templatesNote)...)
		prov.close()
		if prov.clockNote != "" && !o.view.json {
			fmt.Fprintf(c.stdout, "%s\n\n", prov.clockNote)
		}
	}
	p, d := c.buildPlan(cfg, st, o.addrs, o.guard, now, false)
	diags = append(diags, d...)
	c.printDiags(o.view, diags, cfg.Files)
	if diags.HasErrors() {
		return exitError
	}
	if o.view.json {
		if code := c.streamJSON(p.WriteJSON); code != exitOK {
			return code
		}
	} else if err := plan.Render(c.stdout, p.Document(false), plan.RenderOptions{Color: c.color(o.view, c.stdout)}); err != nil {
		return c.fail(o.view, "Cannot write the plan", err)
	}
	if o.out != "" {
		loc, err := c.stateLocation(o.state)
		if err != nil {
			return c.fail(o.view, "Cannot save the plan", err)
		}
		f := plan.NewFile(p, plan.Made{
			// A rehearsal plans on the sandbox's clock; the plan expires
			// by the wall clock all the same.
			ExpiresAt: time.Now().Add(plan.DefaultTTL),
			Sandbox:   o.state.sandbox,
			Backend:   loc.backend(),
			Inputs:    inputDigests(cfg),
			Variables: c.variablesDigest(o.config),
			Targets:   o.addrs.targets,
			Excludes:  o.addrs.excludes,
			Replace:   o.addrs.replace,
			Guard:     o.guard,
		})
		if err := f.Write(c.path(o.out)); err != nil {
			return c.fail(o.view, "Cannot save the plan", err)
		}
		if !o.view.json {
			what := "send exactly these messages"
			if o.state.sandbox {
				what = "rehearse exactly these sends"
			}
			fmt.Fprintf(c.stdout, "\nSaved the plan to: %s\n\nTo %s, run:\n  %s\n", o.out, what, c.applyCommandLine(o.out, o.state, o.config))
		}
	}
	if o.detailed && p.Pending() {
		return exitChanges
	}
	return exitOK
}

// stateRead is the outcome of reading or opening the state.
type stateRead struct {
	st       *state.State
	warnings []state.Warning
	err      error
}

// buildPlan plans cfg against st at now, narrowed by the address flags,
// with the moved blocks, and checks the plan against the guards. Apply
// asks for the payloads of the sends that are due, to send them.
func (c *cli) buildPlan(cfg *config.Config, st *state.State, a addrFlags, g plan.GuardOptions, now time.Time, payloads bool) (*plan.Plan, hcl.Diagnostics) {
	return c.replan(nil, state.Changes{All: true}, cfg, st, a, g, now, payloads)
}

// replan is buildPlan from prev, the plan of the same options made at an
// earlier time, and ch, what st recorded since (plan.Rebuild); prev is not
// to be used afterwards.
func (c *cli) replan(prev *plan.Plan, ch state.Changes, cfg *config.Config, st *state.State, a addrFlags, g plan.GuardOptions, now time.Time, payloads bool) (*plan.Plan, hcl.Diagnostics) {
	// apply, which sends the payloads, plans again every round from the
	// plan it made last (Rebuild); plan plans once.
	opts := plan.Options{Payloads: payloads, Incremental: payloads, Reserved: c.items}
	c.items = nil
	var diags, d hcl.Diagnostics
	opts.Targets, d = parsePatterns("target", a.targets)
	diags = append(diags, d...)
	opts.Excludes, d = parsePatterns("exclude", a.excludes)
	diags = append(diags, d...)
	opts.Replace, d = parsePatterns("replace", a.replace)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	if diags = append(diags, plan.CheckAddrs(cfg, st, opts)...); diags.HasErrors() {
		return nil, diags
	}
	p, d := plan.Rebuild(prev, cfg, st, now, opts, ch)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return p, diags
	}
	return p, append(diags, plan.Guard(cfg, p, g)...)
}

// filesOf returns cfg's files for the diagnostic printer; cfg may be nil
// when loading failed early.
func filesOf(cfg *config.Config) map[string]*hcl.File {
	if cfg == nil {
		return nil
	}
	return cfg.Files
}
