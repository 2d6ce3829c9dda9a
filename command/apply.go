package command

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
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

  A saved plan is shown as it was approved and applied with the options it
  was made with (-target, -exclude, -replace, -allow-large, -allow-rekey,
  -allow-resend), which cannot be changed on the command line. -sandbox and
  -state must be given as when it was made: a rehearsal's plan is refused
  for real and a real one in a rehearsal, with the command to run, and a
  plan of another state as stale.
  Apply may send less than it
  approved, as time rules (stop_at, send windows, the 24h window) are
  checked again at send time, never more; it lists the sends it skipped.

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
  -allow-resend         Permit sends to phones that already accepted (or,
                        in doubt, may have) the same content under another
                        address (a rename without a moved block), or get
                        it under two addresses in this plan.
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
	fs.DurationVar(&o.state.lockTimeout, "lock-timeout", 0, "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	switch {
	case o.view.json && !o.autoApprove && fs.NArg() == 0:
		return c.usage(o.view, "", "-json needs -auto-approve (or a saved plan): a confirmation prompt is not JSON.")
	case o.waitTimeout != 0 && !o.wait:
		return c.usage(o.view, "", "-wait-timeout bounds -wait, and -wait is not given: add -wait, or leave -wait-timeout out.")
	case o.waitTimeout < 0:
		return c.usage(o.view, "", "-wait-timeout must be a positive duration, such as 2h.")
	case fs.NArg() > 1 && strings.HasPrefix(fs.Arg(1), "-"):
		return c.usage(o.view, "", "apply takes at most one argument, the saved plan; got %q. Options go before it: ujumbe apply %s %s.",
			fs.Args(), strings.Join(fs.Args()[1:], " "), fs.Arg(0))
	case fs.NArg() > 1:
		return c.usage(o.view, "", "apply takes at most one argument, the saved plan; got %q.", fs.Args())
	case o.parallelism < 1:
		return c.usage(o.view, "", "-parallelism must be at least 1.")
	case o.wait && fs.NArg() == 1:
		return c.usage(o.view, "", "-wait cannot be used with a saved plan, which covers one moment; plan and apply without a plan file.")
	case fs.NArg() == 1 && (len(o.addrs.targets)+len(o.addrs.excludes)+len(o.addrs.replace) > 0 || o.guard != plan.GuardOptions{}):
		return c.usage(o.view, "", "-target, -exclude, -replace, -allow-large, -allow-rekey and -allow-resend cannot be used with a saved plan: they were fixed when the plan was made, and apply repeats them. To change them, make a new plan.")
	}
	a := &applier{cli: c, o: o}
	if fs.NArg() == 1 {
		var err error
		if a.saved, err = plan.ReadFile(c.path(fs.Arg(0))); err != nil {
			return a.fail("Cannot read the saved plan", err)
		}
		if err := c.checkSavedMode(a.saved, fs.Arg(0), o); err != nil {
			return a.fail("Saved plan refused", err)
		}
		if loc, err := c.stateLocation(o.state); err != nil {
			return a.fail("Cannot find the state", err)
		} else if a.saved.Backend != loc.backend() {
			return a.fail("Saved plan refused", fmt.Errorf("it was made from the state in %s, and this apply's state is in %s: a plan applies only to the state it was made from; run \"ujumbe plan -out\" again", a.saved.Backend, loc.backend()))
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
	// inflight counts the sends between their intent and their result.
	inflight atomic.Int64
	// last is the plan of the last round of -wait, for the next.
	last *plan.Plan
	// retries and doubts are how many sends the last round of -wait left
	// to retry and in doubt (?).
	retries, doubts int
}

// fail stops the apply on err (cli.fail, with apply's view).
func (a *applier) fail(summary string, err error) int {
	return a.cli.fail(a.o.view, summary, err)
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
	openState := func() {
		store, warnings, err := a.openState(a.o.state, "apply")
		open <- opened{store, warnings, err}
	}
	// A first rehearsal makes its directory, so it waits for a
	// configuration that loads: a mistyped directory gets no litter.
	first := a.o.state.sandbox && !dirExists(filepath.Join(a.dir, rehearsalDir))
	if !first {
		go openState()
	}
	var diags hcl.Diagnostics
	a.cfg, diags = a.loadPlanConfig(a.o.config)
	if first {
		if diags.HasErrors() {
			a.printDiags(a.o.view, diags, filesOf(a.cfg))
			return exitError
		}
		openState()
	}
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
	if a.logged() {
		defer a.logRun("apply", st.Serial(), func() uint64 { return a.store.State().Serial() })()
	}
	if a.saved != nil {
		if err := a.saved.Check(time.Now(), st.Lineage(), st.Serial(), inputDigests(a.cfg), a.variablesDigest(a.o.config)); err != nil {
			return a.fail("Saved plan refused", err)
		}
	}
	if err := a.applyMoves(); err != nil {
		return a.fail("Cannot apply the moved blocks", err)
	}
	if a.prov, err = a.openProvider(a.cfg, a.o.state.sandbox, a.o.parallelism); err != nil {
		return a.fail(providerTrouble(err), err)
	}
	defer a.prov.close()
	switch {
	case a.prov.clockNote == "":
	case a.o.view.json:
		a.event("rehearsal_clock", a.prov.clockNote, struct {
			Now time.Time `json:"now"`
		}{a.prov.now()})
	default:
		fmt.Fprintf(a.stdout, "%s\n\n", a.prov.clockNote)
	}
	if diags := checkTemplates(a.ctx, a.prov.client, a.cfg, a.prov.templatesNote); len(diags) > 0 {
		a.printDiags(a.o.view, diags, a.cfg.Files)
		if diags.HasErrors() {
			return exitError
		}
	}
	a.approved = a.saved != nil || a.o.autoApprove

	code := a.rounds()
	if code == exitOK {
		if err := a.store.Close(); err != nil {
			return a.fail("Cannot write the state", err)
		}
	}
	return code
}

// logRun writes, for a log, the line that starts a run of command on the
// state at serial, and returns the function that writes the line ending it
// with the serial then: when and on what each run started and ended, so
// appended runs can be told apart.
func (c *cli) logRun(command string, serial uint64, end func() uint64) func() {
	dir, _ := filepath.Abs(c.dir)
	fmt.Fprintf(c.stdout, "ujumbe %s started %s in %s, state serial %d.\n", command, time.Now().UTC().Format(time.RFC3339), dir, serial)
	return func() {
		fmt.Fprintf(c.stdout, "ujumbe %s ended %s, state serial %d.\n", command, time.Now().UTC().Format(time.RFC3339), end())
	}
}

// logged reports whether apply writes to a log rather than a person: not
// to a terminal, and not -json.
func (a *applier) logged() bool {
	return !a.o.view.json && !isTerminal(a.stdout)
}

// rounds sends what is due and, with -wait, goes on refreshing, sending
// and sleeping until nothing is scheduled.
func (a *applier) rounds() int {
	var deadline time.Time
	if a.o.waitTimeout > 0 {
		deadline = a.prov.now().Add(a.o.waitTimeout)
	}
	if a.o.wait {
		a.store.State().TrackChanges()
	}
	for round := 0; ; round++ {
		p, code := a.round(round)
		if code != exitOK || !a.o.wait {
			return code
		}
		now := a.prov.now()
		wake, scheduled, awaiting := nextWake(p, now)
		// Sends that failed for now are tried again after a pause, up to
		// the attempts allowed; those in doubt are looked for once refresh
		// may decide on them, and sent again if Briq never took them.
		for _, back := range []struct {
			n     int
			after time.Duration
		}{{a.retries, waitPoll}, {a.doubts, cmp.Or(a.cfg.Provider.Settle, refresh.DefaultSettle) + waitCoalesce}} {
			if at := now.Add(back.after); back.n > 0 && (wake.IsZero() || at.Before(wake)) {
				wake = at
			}
		}
		pending := scheduled + a.retries + a.doubts
		if pending == 0 || (!deadline.IsZero() && !wake.Before(deadline)) {
			msg := "Nothing more is scheduled."
			if pending > 0 {
				msg = fmt.Sprintf("Stopped waiting (-wait-timeout): %d sends are still scheduled, to retry or in doubt.", pending)
			}
			if a.o.view.json {
				a.event("wait_end", msg, struct {
					Scheduled int `json:"scheduled"`
					Retry     int `json:"retry,omitempty"`
					Unknown   int `json:"unknown,omitempty"`
				}{scheduled, a.retries, a.doubts})
			} else {
				fmt.Fprintf(a.stdout, "\n%s\n", msg)
				fmt.Fprintln(a.stdout)
				r, _ := a.buildReport(a.cfg, a.store.State(), a.stateName(a.o.state), a.o.state.sandbox, a.prov.now())
				a.printFunnels(r)
				fmt.Fprintf(a.stdout, "\nStatuses are those of the last refresh. Later, %q brings in deliveries, reads and answers since, and %q shows them.\n",
					a.commandLine("refresh", a.o.state, a.o.config), a.commandLine("show", a.o.state, a.o.config))
			}
			return exitOK
		}
		if wait := waitLine(wake, scheduled, a.retries, a.doubts, awaiting); a.o.view.json {
			a.event("wait", wait, struct {
				Until     time.Time `json:"until"`
				Scheduled int       `json:"scheduled"`
				Retry     int       `json:"retry,omitempty"`
				Unknown   int       `json:"unknown,omitempty"`
				Awaiting  int       `json:"awaiting"`
			}{wake.UTC(), scheduled, a.retries, a.doubts, awaiting})
		} else if wake.Sub(now) >= waitPoll {
			fmt.Fprintln(a.stdout, wait)
		}
		end := a.windingDown(stoppingNote)
		err := a.prov.sleep(a.ctx, wake.Sub(a.prov.now()))
		end()
		if err != nil {
			return a.fail("Apply stopped", apply.ErrInterrupted)
		}
	}
}

// applyMoves re-addresses in the state the sends of every moved block that
// has sends left to move, so that the state follows the configuration. The
// moves are made together, in one record: all of them, or none.
func (a *applier) applyMoves() error {
	ms := a.cfg.Moved
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
		if n == 0 {
			continue
		}
		msg := fmt.Sprintf("Moved %s from %s to %s, as a moved block says.", plural(n, "send"), ms[i].From, ms[i].To)
		if a.o.view.json {
			a.event("moved", msg, struct {
				From  string `json:"from"`
				To    string `json:"to"`
				Sends int    `json:"sends"`
			}{ms[i].From.String(), ms[i].To.String(), n})
		} else {
			fmt.Fprintln(a.stdout, msg)
		}
	}
	return nil
}

// planFlags returns the addresses and guards a round plans with: a saved
// plan's, which is planned again with the options it was made with (and
// shown as it was approved), else the command line's.
func (a *applier) planFlags() (addrFlags, plan.GuardOptions) {
	if a.saved != nil {
		return addrFlags{targets: a.saved.Targets, excludes: a.saved.Excludes, replace: a.saved.Replace}, a.saved.Guard
	}
	return a.o.addrs, a.o.guard
}

// round refreshes, plans and sends what is due once, and returns the plan.
func (a *applier) round(round int) (*plan.Plan, int) {
	a.retries, a.doubts = 0, 0 // the last round's; this one's are set by afterRound
	if a.o.refresh {
		end := a.windingDown(stoppingNote)
		sum, err := refresh.Run(a.ctx, a.prov.client, a.store, refreshOptions(a.cfg, a.store.State(), a.prov.now))
		end()
		if err != nil {
			return nil, a.fail("Refresh failed", err)
		}
		changed := sum.Statuses + sum.Replies + sum.OptOuts + sum.Found + sum.Absent + len(sum.Ambiguous) + sum.TooRecent + sum.NotReached +
			sum.Failed + sum.Incomplete + sum.Windows
		switch {
		case a.o.view.json:
			a.refreshEvent(sum, nil, nil)
		case changed > 0:
			fmt.Fprintln(a.stdout, refreshSummary(sum, nil))
		}
		if len(sum.Ambiguous) > 0 {
			a.printDiags(a.o.view, hcl.Diagnostics{ambiguousDiag(sum.Ambiguous)}, nil)
		}
	}
	addrs, guard := a.planFlags()
	// Later rounds of -wait classify again only the sends that changed or
	// whose time came (plan.Rebuild).
	st := a.store.State()
	p, diags := a.replan(a.last, st.TakeChanges(), a.cfg, st, addrs, guard, a.prov.now(), true)
	a.last = p
	a.printDiags(a.o.view, diags, a.cfg.Files)
	if diags.HasErrors() {
		return nil, exitError
	}
	var items []*plan.Item
	var skipped []plan.Skip
	unapproved := 0
	var shown *plan.Document
	if a.saved != nil {
		shown = a.saved.Plan
		items, skipped, unapproved = a.saved.Select(p)
	} else {
		if round == 0 {
			shown = p.Document(false)
		} else {
			// Later rounds show the summary only; Brief and Due read
			// what plan.Rebuild keeps rather than every send.
			shown = p.Brief()
		}
		items = p.Due()
	}
	switch {
	case a.o.view.json:
		a.event("plan", plan.SummaryLine(shown), struct {
			Round   int            `json:"round"`
			Summary map[string]int `json:"summary"`
			Skipped []plan.Skip    `json:"skipped,omitempty"`
		}{round, shown.Summary, skipped})
	case round == 0:
		if err := plan.Render(a.stdout, shown, plan.RenderOptions{Color: a.color(a.o.view, a.stdout)}); err != nil {
			return nil, a.fail("Cannot write the plan", err)
		}
	case len(items) > 0:
		// Later rounds of -wait: one line each; the first showed the plan.
		fmt.Fprintf(a.stdout, "%s  %s\n", a.prov.now().UTC().Format("2006-01-02 15:04 UTC"), plan.SummaryLine(shown))
	}
	if !a.o.view.json {
		a.printSkipped("The saved plan approved %d sends that are no longer due; skipped:", skipped)
		if unapproved > 0 {
			fmt.Fprintf(a.stdout, "\n%d sends became due after the plan was made; it did not approve them, so they are left for the next plan.\n", unapproved)
		}
	}
	if len(items) == 0 {
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
	var late []plan.Skip // sends no longer due at send time
	end := a.windingDown(func(again string) string {
		n := plural(int(a.inflight.Load()), "send")
		return fmt.Sprintf("Interrupted: no new sends start; finishing the %s in flight and recording them.\n%s stops at once: the sends in flight are then unknown (?) until refresh resolves them.", n, again)
	})
	var tier *apply.Budget
	if left := plan.TierLeft(a.cfg, a.store.State(), a.prov.now()); left >= 0 {
		tier = apply.NewBudget(left)
	}
	sum, runErr := apply.Run(a.ctx, items, a.prov.client, a.store, apply.Options{
		Tier:        tier,
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
		Skipped: func(it *plan.Item, why string) {
			late = append(late, plan.Skip{Address: it.Addr().String(), Reason: why})
		},
		Recorded: a.sendEvent,
		InFlight: &a.inflight,
	})
	end()
	prog.finish()
	if a.o.view.json {
		res := applyJSON{Plan: shown.Summary, Applied: sum, Skipped: late}
		if runErr != nil {
			res.Error = runErr.Error()
		}
		a.event("summary", summaryLine(sum), res)
	} else {
		a.printSkipped("%d sends were no longer due when their turn came; skipped:", late)
		a.printSummary(sum)
	}
	if runErr != nil {
		return nil, a.fail("Apply stopped", runErr)
	}
	return a.afterRound(p, sum), exitOK
}

// waitLine is what apply -wait says before it sleeps until wake.
func waitLine(wake time.Time, scheduled, retries, doubts, awaiting int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Waiting until %s: %d sends scheduled", wake.UTC().Format("2006-01-02 15:04 UTC"), scheduled)
	if retries > 0 {
		fmt.Fprintf(&b, ", %d to retry", retries)
	}
	if doubts > 0 {
		fmt.Fprintf(&b, ", %d in doubt (refresh looks for them)", doubts)
	}
	fmt.Fprintf(&b, ", %d awaiting an answer.", awaiting)
	return b.String()
}

// afterRound returns the plan apply -wait schedules its next round by,
// given the round's plan p and what apply made of it, sum, and notes the
// sends the round left to retry and in doubt. A send this round made,
// which p holds as sent, may be due again: a day later when Meta's 131049
// refused it, now when it failed for the moment; then the state is
// planned again, so that -wait does not stop before them.
func (a *applier) afterRound(p *plan.Plan, sum apply.Summary) *plan.Plan {
	a.retries, a.doubts = 0, sum.Unknown
	if !a.o.wait || sum.Deferred+sum.Retry == 0 {
		return p
	}
	addrs, guard := a.planFlags()
	st := a.store.State()
	again, diags := a.replan(a.last, st.TakeChanges(), a.cfg, st, addrs, guard, a.prov.now(), true)
	if diags.HasErrors() {
		// The changes are taken: the next round plans whole, and says
		// why it cannot.
		a.last = nil
		return p
	}
	a.last = again
	a.retries = again.Count()[plan.Retry]
	return again
}

// sendEvent writes a send's recorded outcome as a -json event.
func (a *applier) sendEvent(it *plan.Item, r state.Result) {
	if !a.o.view.json {
		return
	}
	a.event("send", it.Addr().String()+": "+r.Outcome.String(), struct {
		Address   string `json:"address"`
		Outcome   string `json:"outcome"`
		MessageID string `json:"message_id,omitempty"`
		ErrorCode string `json:"error_code,omitempty"`
	}{it.Addr().String(), r.Outcome.String(), r.MessageID, r.ErrorCode})
}

// applyJSON is the payload of apply's "summary" event, one per round that
// sends.
type applyJSON struct {
	Plan    map[string]int `json:"plan"`
	Applied apply.Summary  `json:"applied"`
	// Skipped are the sends the plan approved that apply did not make, as
	// they were no longer due when their turn came, and why.
	Skipped []plan.Skip `json:"skipped,omitempty"`
	Error   string      `json:"error,omitempty"`
}

// maxSkippedShown caps the skipped sends apply lists one by one.
const maxSkippedShown = 10

// printSkipped lists skipped sends under a heading, whose %d is their
// number; nothing when there are none.
func (c *cli) printSkipped(heading string, skipped []plan.Skip) {
	if len(skipped) == 0 {
		return
	}
	fmt.Fprintf(c.stdout, "\n"+heading+"\n", len(skipped))
	for i, s := range skipped {
		if i == maxSkippedShown {
			fmt.Fprintf(c.stdout, "  … and %d more\n", len(skipped)-maxSkippedShown)
			break
		}
		fmt.Fprintf(c.stdout, "  %s: %s\n", s.Address, s.Reason)
	}
}

// nextWake returns when apply -wait should look again: the earliest due
// time of a scheduled send, but no later than waitPoll while sends await
// an answer; and how many sends are scheduled and awaiting. Sends that wait
// for another send wake with it, or, when p sends that one now, their
// delay after now: a later send (held by the limits, say) must not make
// them miss their window.
func nextWake(p *plan.Plan, now time.Time) (wake time.Time, scheduled, awaiting int) {
	wake, scheduled, awaiting = p.NextDue(now, waitCoalesce)
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
	fmt.Fprintf(c.stdout, "\n%s\n", summaryLine(s))
	if len(s.Unrecorded) == 0 {
		return
	}
	fmt.Fprintf(c.stdout, "\nBriq accepted %s whose message_id the state could not record; the state has them in doubt (?), never sent again, and refresh finds them. Their ids, should it not (\"ujumbe import ADDRESS MESSAGE_ID\" records one):\n",
		plural(len(s.Unrecorded), "send"))
	for _, u := range s.Unrecorded {
		fmt.Fprintf(c.stdout, "  %s  message_id %s\n", u.Address, u.MessageID)
	}
}

// summaryLine is a round's outcome in one line: "Apply finished: 3 sent."
func summaryLine(s apply.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Apply finished: %d sent", s.Sent)
	for _, part := range []struct {
		n    int
		what string
	}{
		{s.Retry, "to retry"}, {s.Deferred, "deferred a day (Meta's 131049)"}, {s.Unknown, "unknown (run \"ujumbe refresh\")"}, {s.Failed, "failed"},
		{s.Expired, "expired"}, {s.Skipped, "no longer due"}, {s.RateLimited, "rate-limited answers (retried)"},
	} {
		if part.n > 0 {
			fmt.Fprintf(&b, ", %d %s", part.n, part.what)
		}
	}
	b.WriteString(".")
	return b.String()
}

// checkSavedMode refuses a saved plan applied the other way round from how
// it was made: a rehearsal's plan for real, or a real plan as a rehearsal.
// The error says which command applies it as it was made.
func (c *cli) checkSavedMode(f *plan.File, file string, o applyOptions) error {
	if f.Sandbox == o.state.sandbox {
		return nil
	}
	sf := o.state
	sf.sandbox = f.Sandbox
	if f.Sandbox {
		return fmt.Errorf("the saved plan %s was made by a rehearsal (plan -sandbox), against the rehearsal state and the embedded sandbox: applying it for real would message real customers on a plan nobody saw for real. "+
			"To rehearse it, run:\n  %s\nTo send for real, make a real plan first: \"ujumbe plan -out=FILE\" without -sandbox", file, c.applyCommandLine(file, sf, o.config))
	}
	return fmt.Errorf("the saved plan %s was made for real (without -sandbox), against the real state: a rehearsal does not apply it. "+
		"To send it for real, run:\n  %s\nTo rehearse, make a rehearsal's plan: \"ujumbe plan -sandbox -out=FILE\"", file, c.applyCommandLine(file, sf, o.config))
}
