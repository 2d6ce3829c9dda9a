package command

import (
	"bufio"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/apply"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/refresh"
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
  -allow-large          Permit a campaign more first contacts than its
                        max_recipients.
  -allow-rekey          Permit first contacts to phones the state knows
                        under keys the recipients no longer have.
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

// waitPoll is how long apply -wait sleeps at most while sends wait for
// answers, whose arrival time nobody knows.
const waitPoll = 5 * time.Minute

// waitCoalesce gathers sends falling due close together into one round:
// apply -wait wakes for the first and sends those due up to this much later
// with it.
const waitCoalesce = time.Minute

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
	switch {
	case fs.NArg() > 1:
		fmt.Fprintf(c.stderr, "Error: apply takes at most one argument, the saved plan; got %q.\n", fs.Args())
		return exitError
	case o.parallelism < 1:
		fmt.Fprintln(c.stderr, "Error: -parallelism must be at least 1.")
		return exitError
	case o.wait && fs.NArg() == 1:
		fmt.Fprintln(c.stderr, "Error: -wait cannot be used with a saved plan, which covers one moment; plan and apply without a plan file.")
		return exitError
	}
	a := &applier{cli: c, o: o}
	if fs.NArg() == 1 {
		var err error
		if a.saved, err = plan.ReadFile(c.path(fs.Arg(0))); err != nil {
			return a.fail("Cannot read the saved plan", err)
		}
	}
	return a.run()
}

// applier is one apply command: its configuration, state, provider and
// clock, kept for the rounds of -wait.
type applier struct {
	*cli
	o        applyOptions
	saved    *plan.File
	cfg      *config.Config
	store    *state.Store
	prov     *provider
	approved bool
	senderID string
	resolved bool // senderID is known
}

func (a *applier) fail(summary string, err error) int {
	var files map[string]*hcl.File
	if a.cfg != nil {
		files = a.cfg.Files
	}
	a.printDiags(a.o.view, hcl.Diagnostics{errorDiag(summary, err)}, files)
	if errors.Is(err, state.ErrLocked) {
		return exitLocked
	}
	return exitError
}

func (a *applier) run() int {
	// Lock and load the state while the configuration loads: both take a
	// second or so at a million recipients.
	type opened struct {
		store    *state.Store
		warnings []state.Warning
		err      error
	}
	open := make(chan opened, 1)
	go func() {
		store, warnings, err := a.openState(a.o.state, "apply")
		open <- opened{store, warnings, err}
	}()
	var diags hcl.Diagnostics
	a.cfg, diags = a.loadConfig(a.o.config)
	o := <-open
	if o.store != nil {
		defer o.store.Close()
	}
	if diags.HasErrors() {
		a.printDiags(a.o.view, diags, filesOf(a.cfg))
		return exitError
	}
	a.printDiags(a.o.view, diags, a.cfg.Files)
	store, warnings, err := o.store, o.warnings, o.err
	if err != nil {
		return a.fail("Cannot open the state", err)
	}
	a.store = store
	a.printWarnings(a.o.view, warnings)
	st := store.State()
	if a.saved != nil {
		if err := a.saved.Check(time.Now(), st.Lineage(), st.Serial(), inputDigests(a.cfg), a.variablesDigest(a.o.config)); err != nil {
			return a.fail("Saved plan refused", err)
		}
	}
	if err := a.applyMoves(); err != nil {
		return a.fail("Cannot apply the moved blocks", err)
	}
	if a.prov, err = a.openProvider(a.cfg, a.o.state.sandbox, a.o.parallelism); err != nil {
		return a.fail("Cannot reach the provider", err)
	}
	defer a.prov.close()
	if a.prov.clockNote != "" && !a.o.view.json {
		fmt.Fprintf(a.stdout, "%s\n\n", a.prov.clockNote)
	}
	if diags := checkTemplates(a.ctx, a.prov.client, a.cfg); len(diags) > 0 {
		a.printDiags(a.o.view, diags, a.cfg.Files)
		if diags.HasErrors() {
			return exitError
		}
	}
	a.approved = a.saved != nil || a.o.autoApprove
	a.setInterruptNote(func(again string) string {
		return fmt.Sprintf("Interrupted: no new sends start; finishing the sends in flight and recording them.\n%s stops at once: the sends in flight are then unknown (?) until refresh resolves them.", again)
	})

	code := a.rounds()
	if code == exitOK {
		if err := a.store.Close(); err != nil {
			return a.fail("Cannot write the state", err)
		}
	}
	return code
}

// rounds sends what is due and, with -wait, goes on refreshing, sending
// and sleeping until nothing is scheduled.
func (a *applier) rounds() int {
	var deadline time.Time
	if a.o.waitTimeout > 0 {
		deadline = a.prov.now().Add(a.o.waitTimeout)
	}
	for round := 0; ; round++ {
		p, code := a.round(round)
		if code != exitOK || !a.o.wait {
			return code
		}
		wake, scheduled, awaiting := nextWake(p, a.prov.now())
		if scheduled == 0 || (!deadline.IsZero() && !wake.Before(deadline)) {
			if scheduled == 0 {
				fmt.Fprintln(a.stdout, "\nNothing more is scheduled.")
			} else {
				fmt.Fprintf(a.stdout, "\nStopped waiting (-wait-timeout): %d sends are still scheduled.\n", scheduled)
			}
			if !a.o.view.json {
				fmt.Fprintln(a.stdout)
				r, _ := a.buildReport(a.cfg, a.store.State(), a.stateName(a.o.state), a.o.state.sandbox, a.prov.now())
				a.printFunnels(r)
			}
			return exitOK
		}
		if !a.o.view.json && wake.Sub(a.prov.now()) >= waitPoll {
			fmt.Fprintf(a.stdout, "Waiting until %s: %d sends scheduled, %d awaiting an answer.\n", wake.UTC().Format("2006-01-02 15:04 UTC"), scheduled, awaiting)
		}
		if err := a.prov.sleep(a.ctx, wake.Sub(a.prov.now())); err != nil {
			return a.fail("Apply stopped", apply.ErrInterrupted)
		}
	}
}

// applyMoves re-addresses in the state the sends of every moved block that
// has sends left to move, so that the state follows the configuration. The
// moves are made together, in one record: all of them, or none.
func (a *applier) applyMoves() error {
	ms, diags := moves(a.cfg)
	if diags.HasErrors() {
		return diags
	}
	if len(ms) == 0 {
		return nil
	}
	all := make([]state.Move, len(ms))
	for i, m := range ms {
		all[i] = state.Move{From: m.From, To: m.To}
	}
	counts, err := a.store.MoveAll(all)
	switch {
	case errors.Is(err, state.ErrNoMatch):
		return nil
	case err != nil:
		return fmt.Errorf("%w; no moved block was applied", err)
	}
	for i, n := range counts {
		if n > 0 {
			fmt.Fprintf(a.stdout, "Moved %d sends from %s to %s, as a moved block says.\n", n, ms[i].From, ms[i].To)
		}
	}
	return nil
}

// round refreshes, plans and sends what is due once, and returns the plan.
func (a *applier) round(round int) (*plan.Plan, int) {
	if a.o.refresh {
		sum, err := refresh.Run(a.ctx, a.prov.client, a.store, refresh.Options{Now: a.prov.now, OptOutKeywords: a.cfg.Provider.OptOutKeywords,
			Windows: windowsFor(a.cfg, a.store.State())})
		if err != nil {
			return nil, a.fail("Refresh failed", err)
		}
		changed := sum.Statuses + sum.Replies + sum.OptOuts + sum.Found + sum.Absent + len(sum.Ambiguous) + sum.TooRecent + sum.NotReached +
			sum.Failed + sum.Incomplete + sum.Windows
		if changed > 0 && !a.o.view.json {
			fmt.Fprintln(a.stdout, refreshSummary(sum, nil))
		}
		if len(sum.Ambiguous) > 0 {
			a.printDiags(a.o.view, hcl.Diagnostics{ambiguousDiag(sum.Ambiguous)}, nil)
		}
	}
	guard := a.o.guard
	if a.saved != nil {
		guard.AllowLarge = guard.AllowLarge || a.saved.Guard.AllowLarge
		guard.AllowRekey = guard.AllowRekey || a.saved.Guard.AllowRekey
	}
	p, diags := a.buildPlan(a.cfg, a.store.State(), a.o.addrs, guard, a.prov.now())
	a.printDiags(a.o.view, diags, a.cfg.Files)
	if diags.HasErrors() {
		return nil, exitError
	}
	approves := func(*plan.Item) bool { return true }
	if a.saved != nil {
		approves = a.saved.Approves()
	}
	var items []*plan.Item
	for i := range p.Items {
		if it := &p.Items[i]; it.Class.Sends() && approves(it) {
			items = append(items, it)
		}
	}
	switch {
	case a.o.view.json:
	case round == 0:
		if err := plan.Render(a.stdout, p.Document(false), plan.RenderOptions{Color: a.color(a.o.view, a.stdout)}); err != nil {
			return nil, exitError
		}
	case len(items) > 0:
		// Later rounds of -wait: one line each; the first showed the plan.
		fmt.Fprintf(a.stdout, "%s  %s\n", a.prov.now().UTC().Format("2006-01-02 15:04 UTC"), plan.SummaryLine(p.Document(false).Summary))
	}
	if len(items) == 0 {
		if a.o.view.json && !a.o.wait {
			return p, a.writeJSON(applyJSON{Plan: p.Document(false).Summary})
		}
		return p, exitOK
	}
	if !a.approved {
		ok, err := a.confirm(len(items))
		if err != nil {
			return nil, a.fail("Cannot apply", err)
		}
		if !ok {
			fmt.Fprintln(a.stdout, "\nApply cancelled.")
			return nil, exitError
		}
		a.approved = true
	}
	if !a.resolved {
		id, err := a.resolveSender(a.prov, a.cfg.Provider.Sender)
		if err != nil {
			return nil, a.fail("Cannot resolve the sender", err)
		}
		a.senderID, a.resolved = id, true
	}
	prog := a.newProgress(a.o.view, len(items))
	sum, runErr := apply.Run(a.ctx, items, a.prov.client, a.store, apply.Options{
		Rate:        a.cfg.Provider.Rate,
		Burst:       a.cfg.Provider.Burst,
		Parallelism: a.o.parallelism,
		SenderID:    a.senderID,
		Sender:      a.cfg.Provider.Sender,
		Now:         a.prov.now,
		Progress:    prog.update,
		Breaker: apply.Breaker{
			Window:         a.cfg.Provider.FailureWindow,
			MaxShare:       a.cfg.Provider.MaxFailureRate,
			MaxConsecutive: a.cfg.Provider.MaxConsecutiveFailures,
		},
	})
	prog.finish()
	if a.o.view.json {
		res := applyJSON{Plan: p.Document(false).Summary, Applied: sum}
		if runErr != nil {
			res.Error = runErr.Error()
		}
		a.writeJSON(res)
	} else {
		a.printSummary(sum)
	}
	if runErr != nil {
		return nil, a.fail("Apply stopped", runErr)
	}
	return p, exitOK
}

// applyJSON is apply's -json output, one document per round that sends.
type applyJSON struct {
	Plan    map[string]int `json:"plan"`
	Applied apply.Summary  `json:"applied"`
	Error   string         `json:"error,omitempty"`
}

// nextWake returns when apply -wait should look again: the earliest due
// time of a scheduled send, but no later than waitPoll while sends await
// an answer; and how many sends are scheduled and awaiting. Sends that wait
// for another send wake with it.
func nextWake(p *plan.Plan, now time.Time) (wake time.Time, scheduled, awaiting int) {
	var dues []time.Time
	for i := range p.Items {
		it := &p.Items[i]
		if it.Class != plan.Scheduled {
			continue
		}
		scheduled++
		switch {
		case it.AwaitsReply:
			awaiting++
		case !it.Due.IsZero():
			dues = append(dues, it.Due)
		}
	}
	if len(dues) > 0 {
		slices.SortFunc(dues, time.Time.Compare)
		wake = dues[0]
		for _, d := range dues {
			if d.Sub(dues[0]) <= waitCoalesce {
				wake = d
			}
		}
	}
	if poll := now.Add(waitPoll); awaiting > 0 && (wake.IsZero() || poll.Before(wake)) {
		wake = poll
	}
	return wake, scheduled, awaiting
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
