package command

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/apply"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

var applyCommand = &subcommand{
	name:     "apply",
	synopsis: "Send what the plan says, recording every message_id",
	help: `Usage: ujumbe [global options] apply [options] [PLANFILE]

  Plans (or loads PLANFILE saved by "plan -out"), asks for confirmation, then
  sends under the configured rate limit. Every send is recorded in the state
  before the request leaves and its message_id as soon as it is accepted, so
  apply can be interrupted and run again without messaging anyone twice.

Options:
  -auto-approve         Do not ask for confirmation (required when stdin is
                        not a terminal).
  -parallelism=N        Concurrent requests (default 16).
  -refresh=false        Do not refresh statuses and replies first.
  -replace=ADDR         Send again to ADDR even though it was sent
                        (repeatable).
  -target=ADDR          Apply only sends under ADDR (repeatable).
  -exclude=ADDR         Leave out sends under ADDR (repeatable).
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
  -state=PATH           State file (default ujumbe.state in the config dir).
  -lock-timeout=D       How long to wait for the state lock (default 0s).
  -sandbox              Rehearse against an embedded sandbox.
  -wait                 Keep going until nothing is scheduled.
  -wait-timeout=D       Give up waiting after D.
  -json                 Machine-readable output.
  -no-color             Do not colour the output.

Exit status: 0 success or nothing to do, 1 error (also when the apply
stopped partway), 3 the state is locked by another run.
`,
	run: runApply,
}

type applyOptions struct {
	planOptions
	autoApprove bool
	parallelism int
	refresh     bool
	wait        bool
	waitTimeout time.Duration
}

func runApply(c *cli, args []string) int {
	var o applyOptions
	fs := c.newFlagSet("apply")
	o.add(fs)
	fs.BoolVar(&o.autoApprove, "auto-approve", false, "")
	fs.IntVar(&o.parallelism, "parallelism", 16, "")
	fs.BoolVar(&o.refresh, "refresh", true, "")
	fs.BoolVar(&o.wait, "wait", false, "")
	fs.DurationVar(&o.waitTimeout, "wait-timeout", 0, "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(c.stderr, "Error: apply takes at most one argument, the saved plan; got %q.\n", fs.Args())
		return exitError
	}
	if o.parallelism < 1 {
		fmt.Fprintln(c.stderr, "Error: -parallelism must be at least 1.")
		return exitError
	}
	if o.wait {
		return notBuilt(c, "apply -wait")
	}
	fail := func(summary string, err error, files map[string]*hcl.File) int {
		c.printDiags(o.view, hcl.Diagnostics{errorDiag(summary, err)}, files)
		if errors.Is(err, state.ErrLocked) {
			return exitLocked
		}
		return exitError
	}

	var saved *plan.File
	if fs.NArg() == 1 {
		var err error
		if saved, err = plan.ReadFile(c.path(fs.Arg(0))); err != nil {
			return fail("Cannot read the saved plan", err, nil)
		}
	}
	cfg, diags := c.loadConfig(o.config)
	if diags.HasErrors() {
		c.printDiags(o.view, diags, filesOf(cfg))
		return exitError
	}
	store, warnings, err := c.openState(o.state, "apply")
	if err != nil {
		return fail("Cannot open the state", err, cfg.Files)
	}
	c.printWarnings(o.view, warnings)
	defer store.Close()
	st := store.State()
	if saved != nil {
		if err := saved.Check(time.Now(), st.Lineage(), st.Serial(), inputDigests(cfg), c.variablesDigest(o.config)); err != nil {
			return fail("Saved plan refused", err, cfg.Files)
		}
	}
	p, d := c.buildPlan(cfg, st, o.addrs)
	diags = append(diags, d...)
	c.printDiags(o.view, diags, cfg.Files)
	if diags.HasErrors() {
		return exitError
	}
	var items []*plan.Item
	approves := func(*plan.Item) bool { return true }
	if saved != nil {
		approves = saved.Approves()
	}
	for i := range p.Items {
		if it := &p.Items[i]; it.Class.Sends() && approves(it) {
			items = append(items, it)
		}
	}
	if err := plan.Render(c.stdout, p.Document(false), plan.RenderOptions{Color: c.color(o.view, c.stdout)}); err != nil {
		return exitError
	}
	if len(items) == 0 {
		return exitOK
	}
	if saved == nil && !o.autoApprove {
		ok, err := c.confirm(len(items))
		if err != nil {
			return fail("Cannot apply", err, nil)
		}
		if !ok {
			fmt.Fprintln(c.stdout, "\nApply cancelled.")
			return exitError
		}
	}

	prov, err := c.openProvider(cfg, o.state.sandbox, o.parallelism)
	if err != nil {
		return fail("Cannot reach the provider", err, nil)
	}
	defer prov.close()
	senderID, err := c.senderID(prov, cfg.Provider.Sender)
	if err != nil {
		return fail("Cannot resolve the sender", err, nil)
	}
	prog := c.newProgress(o.view, len(items))
	sum, runErr := apply.Run(c.ctx, items, prov.client, store, apply.Options{
		Rate:        cfg.Provider.Rate,
		Burst:       cfg.Provider.Burst,
		Parallelism: o.parallelism,
		SenderID:    senderID,
		Sender:      cfg.Provider.Sender,
		Progress:    prog.update,
	})
	prog.finish()
	if err := store.Close(); err != nil && runErr == nil {
		runErr = err
	}
	c.printSummary(sum)
	if runErr != nil {
		return fail("Apply stopped", runErr, nil)
	}
	return exitOK
}

// confirm asks the operator, on a terminal, to type "yes".
func (c *cli) confirm(n int) (bool, error) {
	if !isTerminal(c.stdin) {
		return false, errors.New("standard input is not a terminal, so there is no one to confirm the sends: run with -auto-approve, or apply a saved plan")
	}
	fmt.Fprintf(c.stdout, "\nDo you want to send these %d messages?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", n)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	return strings.TrimSpace(line) == "yes", nil
}

// printSummary writes the one-paragraph outcome of an apply.
func (c *cli) printSummary(s apply.Summary) {
	fmt.Fprintf(c.stdout, "\nApply finished: %d sent", s.Sent)
	for _, part := range []struct {
		n    int
		what string
	}{
		{s.Retry, "to retry"}, {s.Unknown, "unknown (run \"ujumbe refresh\")"}, {s.Failed, "failed"},
		{s.Expired, "expired"}, {s.Skipped, "no longer due"}, {s.RateLimited, "rate-limited answers (retried)"},
	} {
		if part.n > 0 {
			fmt.Fprintf(c.stdout, ", %d %s", part.n, part.what)
		}
	}
	fmt.Fprintln(c.stdout, ".")
}
