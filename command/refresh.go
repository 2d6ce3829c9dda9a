package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/state"
)

var refreshCommand = &subcommand{
	name:     "refresh",
	synopsis: "Pull delivery statuses and replies into the state",
	help: `Usage: ujumbe [global options] refresh [options]

  Asks the provider for the delivery status and the replies of the sends
  that still need them (accepted in the last 7 days), records replies that
  are opt-out keywords (the provider block's opt_out_keywords, by default
  STOP and UNSUBSCRIBE) as opt-outs, and resolves sends whose outcome is
  unknown, by evidence only: a send that has a message_id from the
  provider's answer is looked up by it; the others are searched for in the
  recipient's conversations. One found at the provider gets its message_id;
  one whose message failed at the provider, or that certainly never arrived
  (attempted longer ago than the provider block's settle, 10 minutes by
  default, every listing read to its end), is due again; one that several
  messages could be stays unknown and is named; one whose evidence could
  not be gathered stays unknown, and plan says why.

  It reads message listings page by page rather than asking about each send,
  and says how many requests it made. It needs a valid configuration, for
  the provider block.

  After restoring the state from an older copy (ujumbe.state.backup, or a
  state pushed back), run it once with -recover before the next apply: the
  copy lacks the sends made since it was taken, which the plan would send
  again. -recover refreshes, plans, and lists the conversations of every
  phone a send is to go to (due or scheduled), looking for messages created
  since the copy's newest intent (or -recover-since) that no send claims. A
  send takes such a message when it is the one of its kind there;
  otherwise it becomes unknown and is resolved like any unknown send (never
  sent while in doubt). Sends to phones with none stay as planned. It makes
  two requests or more per phone.

  -target narrows what refresh records to the sends under an address
  (-target=campaign.NAME, campaign.NAME.message.NAME or one send,
  campaign.NAME.message.NAME["KEY"]; repeatable): their statuses and
  answers, and the unknown sends of the phones that have one under it (the
  unknown sends of one phone compete for the messages found there, so a
  phone is resolved whole). It reads the same listings, since an answer
  belongs to the send it follows in its conversation, whatever its
  campaign, and records every opt-out it finds. Not with -recover, which
  looks for what a restored state lost in every campaign.

Options:
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
  -state=PATH           State file (default ujumbe.state in the config dir).
  -lock-timeout=D       How long to wait for the state lock (default 0s).
  -target=ADDR          Only record what concerns the sends under ADDR (repeatable).
  -recover              Also look for the sends a restored state has lost.
  -recover-since=TIME   With -recover: look from TIME (RFC 3339), when the
                        restored copy was made, instead of its newest intent.
  -sandbox              Refresh the rehearsal state from the embedded sandbox.
  -json                 Print the summary as JSON.
  -no-color             Do not colour the output.

Exit status: 0 success, 1 error, 3 the state is locked by another run.
`,
	run: runRefresh,
}

// refreshJSON is the -json form of a refresh summary.
type refreshJSON struct {
	Requests int         `json:"requests"`
	Lookups  int         `json:"lookups"`
	Statuses int         `json:"statuses_updated"`
	Replies  int         `json:"replies_recorded"`
	OptOuts  int         `json:"opt_outs_recorded"`
	Windows  int         `json:"windows_recorded"`
	Unknown  unknownJSON `json:"unknown"`
	// NotReached counts sends left for the next refresh by the lookup cap.
	NotReached int `json:"not_reached"`
	// Recover is what -recover did; absent without it.
	Recover *recoverJSON `json:"recover,omitempty"`
	Error   string       `json:"error,omitempty"`
}

// recoverJSON is what refresh -recover did: the sends due that it looked
// for, from when, how many became unknown and how many stay due.
type recoverJSON struct {
	Since    time.Time `json:"since"`
	Due      int       `json:"due"`
	Unknown  int       `json:"unknown"`
	StillDue int       `json:"still_due"`
}

type unknownJSON struct {
	Found      int      `json:"found"`
	Absent     int      `json:"absent"`
	Failed     int      `json:"failed"`
	Ambiguous  []string `json:"ambiguous"`
	TooRecent  int      `json:"too_recent"`
	Incomplete int      `json:"incomplete"`
}

func runRefresh(c *cli, args []string) int {
	var (
		cf           configFlags
		sf           stateFlags
		v            view
		recoverLost  bool
		recoverSince string
		targets      multiFlag
	)
	fs := c.newFlagSet("refresh")
	cf.add(fs)
	sf.add(fs, true)
	v.addFlags(fs)
	fs.BoolVar(&recoverLost, "recover", false, "")
	fs.StringVar(&recoverSince, "recover-since", "", "")
	fs.Var(&targets, "target", "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	var since time.Time
	switch {
	case fs.NArg() > 0:
		return c.usage(v, "", "refresh takes no arguments, got %q.", fs.Args())
	case recoverLost && len(targets) > 0:
		return c.usage(v, "", "-recover looks for the sends a restored state lost in every campaign; -target cannot narrow it.")
	case recoverSince != "" && !recoverLost:
		return c.usage(v, "", "-recover-since bounds -recover, and -recover is not given.")
	case recoverSince != "":
		var err error
		if since, err = time.Parse(time.RFC3339, recoverSince); err != nil {
			return c.usage(v, "", "-recover-since=%s: want a time such as 2026-11-27T08:00:00+03:00 (RFC 3339).", recoverSince)
		}
	}
	patterns, diags := parsePatterns("target", targets)
	if diags.HasErrors() {
		c.printDiags(v, diags, nil)
		return exitError
	}
	cfg, diags := c.loadConfig(cf)
	c.printDiags(v, diags, filesOf(cfg))
	if diags.HasErrors() {
		return exitError
	}
	sf.restored = recoverLost
	store, warnings, err := c.openState(sf, "refresh")
	if err != nil {
		return c.fail(v, "Cannot open the state", err)
	}
	defer store.Close()
	c.printWarnings(v, warnings)
	if diags := plan.CheckAddrs(cfg, store.State(), plan.Options{Targets: patterns}); diags.HasErrors() {
		c.printDiags(v, diags, cfg.Files)
		return exitError
	}
	if !v.json && !isTerminal(c.stdout) {
		defer c.logRun("refresh", store.State().Serial(), func() uint64 { return store.State().Serial() })()
	}
	prov, err := c.openProvider(cfg, sf.sandbox, refresh.DefaultParallelism)
	if err != nil {
		return c.fail(v, providerTrouble(err), err)
	}
	defer prov.close()

	opts := refreshOptions(cfg, store.State(), prov.now)
	opts.Targets = patterns
	// run refreshes once and reports it; rec is what -recover looked for.
	run := func(opts refresh.Options, rec *recoverJSON) error {
		end := c.windingDown(stoppingNote)
		sum, runErr := refresh.Run(c.ctx, prov.client, store, opts)
		end()
		if rec != nil {
			rec.Unknown, rec.StillDue = sum.Recovered, sum.RecoverClear
		}
		if v.json {
			c.refreshEvent(sum, rec, runErr)
			return runErr
		}
		fmt.Fprintln(c.stdout, refreshSummary(sum, runErr))
		if rec != nil {
			fmt.Fprintf(c.stdout, "Recover: %s to phones holding messages that no send claims (or whose listing failed) were recorded and searched for (above); %s to phones holding none stay as planned.\n",
				plural(rec.Unknown, "send"), plural(rec.StillDue, "send"))
		}
		if len(sum.Ambiguous) > 0 {
			c.printDiags(v, hcl.Diagnostics{ambiguousDiag(sum.Ambiguous)}, nil)
		}
		return runErr
	}
	var runErr error
	if recoverLost {
		if runErr = c.recoverLost(v, cfg, store, prov, opts, since, run); runErr == nil {
			// Finished: a state put back opens as any other again.
			runErr = store.Recovered()
		}
	} else {
		runErr = run(opts, nil)
	}
	if err := store.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		summary := headingOf(runErr, "Refresh stopped")
		if errors.Is(runErr, context.Canceled) {
			summary = "Refresh interrupted"
		}
		return c.fail(v, summary, runErr)
	}
	return exitOK
}

// sentTo is the phone the send of it goes to: a follow-up goes into the
// conversation of the send it follows, whose phone the state records (the
// CSV's number may have changed since); a first contact to the CSV's.
func sentTo(cfg *config.Config, st *state.State, it *plan.Item) string {
	for m := it.Message; m.After != nil; m = m.After {
		a := it.Addr()
		if s, ok := plan.Recorded(cfg, st, addrs.Addr{Campaign: a.Campaign, Message: m.After.Name, Key: a.Key}); ok && s.Phone != "" {
			return s.Phone
		}
	}
	return it.Phone()
}

// refreshEvent writes a refresh's summary as a -json event.
func (c *cli) refreshEvent(sum refresh.Summary, rec *recoverJSON, runErr error) {
	out := refreshJSON{Requests: sum.Requests, Lookups: sum.Lookups, Statuses: sum.Statuses, Replies: sum.Replies,
		OptOuts: sum.OptOuts, Windows: sum.Windows, NotReached: sum.NotReached, Recover: rec,
		Unknown: unknownJSON{Found: sum.Found, Absent: sum.Absent, Failed: sum.Failed, Ambiguous: []string{},
			TooRecent: sum.TooRecent, Incomplete: sum.Incomplete}}
	for _, a := range sum.Ambiguous {
		out.Unknown.Ambiguous = append(out.Unknown.Ambiguous, a.String())
	}
	if runErr != nil {
		out.Error = runErr.Error()
	}
	c.event("refresh", refreshSummary(sum, runErr), struct {
		Refresh refreshJSON `json:"refresh"`
	}{out})
}

// windowsFor selects the sends whose conversation's 24h window refresh
// reads from the provider: accepted sends of a message that a free-form
// (text, media or interactive) follow-up comes after, while that follow-up
// is not yet accepted for the same recipient. Nil when the configuration
// has no free-form follow-up, so refresh reads no windows.
func windowsFor(cfg *config.Config, st *state.State) func(state.Send) bool {
	type msgKey struct{ campaign, message string }
	followUps := map[msgKey][]string{}
	for _, c := range cfg.Campaigns {
		for _, m := range c.Messages {
			if m.After != nil && m.Kind != config.KindTemplate {
				k := msgKey{c.Name, m.After.Name}
				followUps[k] = append(followUps[k], m.Name)
			}
		}
	}
	if len(followUps) == 0 {
		return nil
	}
	return func(s state.Send) bool {
		for _, child := range followUps[msgKey{s.Addr.Campaign, s.Addr.Message}] {
			if cs, ok := st.Get(addrs.Addr{Campaign: s.Addr.Campaign, Message: child, Key: s.Addr.Key}); !ok || cs.Outcome != state.OutcomeAccepted {
				return true
			}
		}
		return false
	}
}

// recoverLost is refresh -recover. It refreshes once, so that the answers
// to the sends the restored copy records are in, and plans; then it
// refreshes again looking for every send the plan still has to make (due
// now, due again, or scheduled) that reached the provider after since:
// -recover-since, else the newest intent the state records. Intents are
// written only when a send starts (and by recover itself, never later than
// that), so a refresh in between does not move it.
func (c *cli) recoverLost(v view, cfg *config.Config, store *state.Store, prov *provider, opts refresh.Options, since time.Time,
	run func(refresh.Options, *recoverJSON) error) error {
	what := "-recover-since"
	if since.IsZero() {
		for s := range store.State().Sends(addrs.Pattern{}) {
			if s.IntentAt.After(since) {
				since = s.IntentAt
			}
		}
		what = "the state's newest intent"
	}
	if since.IsZero() {
		return &headedError{"Cannot recover", errors.New("the state records no send, so refresh -recover cannot tell since when sends may be missing: " +
			"give -recover-since=TIME, when the copy you restored was made (its file's modification time, or the campaign's start)")}
	}
	first := opts
	first.NoSearch = true
	if err := run(first, nil); err != nil {
		return err
	}
	p, diags := plan.Build(cfg, store.State(), prov.now(), plan.Options{})
	c.printDiags(v, diags, cfg.Files)
	if diags.HasErrors() {
		return &headedError{"Cannot recover", errors.New("the configuration cannot be planned, so the sends to look for are not known")}
	}
	for i := range p.Items {
		it := &p.Items[i]
		if it.Class.Sends() || it.Class == plan.Scheduled {
			opts.Recover = append(opts.Recover, refresh.Missing{Addr: it.Addr(), Phone: sentTo(cfg, store.State(), it), Digest: recoverDigest(it),
				Variant: it.Variant(), Kind: it.Message.Kind.String()})
		}
	}
	opts.RecoverSince = since
	if !v.json {
		fmt.Fprintf(c.stdout, "Recover: the plan still has %s to make (due or scheduled); looking for messages to their phones since %s (%s) less %s that no send claims.\n",
			plural(len(opts.Recover), "send"), since.UTC().Format(time.RFC3339), what, refresh.DefaultSkew)
	}
	return run(opts, &recoverJSON{Since: since, Due: len(opts.Recover)})
}

// recoverDigest is the digest of it's content for a recovered intent: the
// plan's, or, for a send scheduled for a time, which the plan leaves
// undigested until it falls due, that of its content now (Item.Content).
// A send that waits for an answer or another send has none.
func recoverDigest(it *plan.Item) state.Digest {
	if it.Digest != (state.Digest{}) {
		return it.Digest
	}
	if p, ok := it.Content(); ok {
		return plan.ContentDigest(p)
	}
	return state.Digest{}
}

// refreshSummary is the one-paragraph account of a refresh.
func refreshSummary(s refresh.Summary, err error) string {
	var b strings.Builder
	verb := "finished"
	if err != nil {
		verb = "stopped"
	}
	fmt.Fprintf(&b, "Refresh %s after %s to the provider", verb, plural(s.Requests, "request"))
	if s.Lookups > 0 {
		fmt.Fprintf(&b, " (%d of them single-message lookups)", s.Lookups)
	}
	fmt.Fprintf(&b, ": %s updated, %s recorded, %s recorded.",
		plural(s.Statuses, "status"), plural(s.Replies, "reply"), plural(s.OptOuts, "opt-out"))
	if s.Windows > 0 {
		fmt.Fprintf(&b, " %s changed as the provider reports them.", plural(s.Windows, "conversation window"))
	}
	var unknown []string
	for _, part := range []struct {
		n    int
		what string
	}{
		{s.Found, "found at the provider (message_id recorded)"},
		{s.Absent, "certainly never arrived (due again)"},
		{s.Failed, "failed at the provider (due again, message_id kept)"},
		{len(s.Ambiguous), "still unknown (several messages could be theirs)"},
		{s.TooRecent, "too recent to decide (a later refresh will)"},
		{s.Incomplete, "still unknown (the provider's answers were incomplete; the next refresh tries again)"},
	} {
		if part.n > 0 {
			unknown = append(unknown, fmt.Sprintf("%d %s", part.n, part.what))
		}
	}
	if len(unknown) > 0 {
		fmt.Fprintf(&b, " Unknown sends: %s.", strings.Join(unknown, ", "))
	}
	if s.Deferred > 0 {
		fmt.Fprintf(&b, " %s refused by Meta's per-user marketing limit (131049) after Briq took them: due again a day later, message_id kept.", plural(s.Deferred, "send"))
	}
	if s.NotReached > 0 {
		fmt.Fprintf(&b, " Left for the next refresh (lookup cap): %s not in the provider's listing.", plural(s.NotReached, "send"))
	}
	return b.String()
}

// refreshOptions are refresh's options for the configuration cfg and the
// state st, on the clock now.
func refreshOptions(cfg *config.Config, st *state.State, now func() time.Time) refresh.Options {
	return refresh.Options{Now: now, OptOutKeywords: cfg.Provider.OptOutKeywords, Settle: cfg.Provider.Settle, Windows: windowsFor(cfg, st), Offers: offersOf(cfg, st)}
}

// plural writes n and the noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	switch {
	case strings.HasSuffix(noun, "s"):
		noun += "es"
	case strings.HasSuffix(noun, "y"):
		noun = strings.TrimSuffix(noun, "y") + "ies"
	default:
		noun += "s"
	}
	return fmt.Sprintf("%d %s", n, noun)
}

// ambiguousDiag names the unknown sends refresh could not match.
func ambiguousDiag(addrs []addrs.Addr) *hcl.Diagnostic {
	const shown = 10
	var b strings.Builder
	for i, a := range addrs {
		if i == shown {
			fmt.Fprintf(&b, "  … and %d more\n", len(addrs)-shown)
			break
		}
		fmt.Fprintf(&b, "  %s\n", a)
	}
	return sourceless(hcl.DiagWarning, "Some unknown sends match several messages",
		"More than one message at the provider could be each of these sends, and Briq offers no idempotency key to tell which:\n"+
			b.String()+
			"They stay unknown, so they are never sent again automatically. Look at the recipients' conversations at the provider: "+
			"if the message arrived, record it with \"ujumbe import ADDR MESSAGE_ID\" (its follow-ups then go on); if it did not, \"ujumbe apply -replace=ADDR\" sends it.")
}

// offersOf returns refresh's Options.Offers for cfg and st: the reply ids
// the interactive message of a send offered, rendered again as it was
// sent, for its recipient, variant and the answer it followed (rendering
// is deterministic). It is asked only of answers tapped without
// paired_message_id in threads holding two questions.
func offersOf(cfg *config.Config, st *state.State) func(state.Send) ([]string, bool) {
	render := plan.NewRenderer(cfg, st)
	return func(s state.Send) ([]string, bool) {
		p, err := render.Render(plan.MovedTo(cfg, s.Addr), s.Variant)
		if err != nil || p.Interactive == nil {
			return nil, false
		}
		ids := replyIDs(p.Interactive)
		return ids, len(ids) > 0
	}
}

// replyIDs returns the ids an interactive message offers: its reply
// buttons' and its list rows'.
func replyIDs(interactive json.RawMessage) []string {
	var v struct {
		Action struct {
			Buttons []struct {
				Reply struct {
					ID string `json:"id"`
				} `json:"reply"`
			} `json:"buttons"`
			Sections []struct {
				Rows []struct {
					ID string `json:"id"`
				} `json:"rows"`
			} `json:"sections"`
		} `json:"action"`
	}
	if json.Unmarshal(interactive, &v) != nil {
		return nil
	}
	var ids []string
	for _, b := range v.Action.Buttons {
		ids = append(ids, b.Reply.ID)
	}
	for _, s := range v.Action.Sections {
		for _, r := range s.Rows {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
