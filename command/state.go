package command

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/state"
)

var stateCommand = &subcommand{
	name:     "state",
	synopsis: "Inspect and edit the state: list, show, rm, mv",
	help:     stateHelp,
	run:      runState,
}

const stateHelp = `Usage: ujumbe [global options] state <subcommand> [options] [args]

Subcommands:
  list [ADDR]     List the sends in the state, or those under ADDR.
  show ADDR       Show one send in full.
  rm ADDR         Forget the sends under ADDR (they become sendable again).
  mv FROM TO      Re-address sends, as a moved block does.
  pull            Write the state to standard output in the local file
                  format (ujumbe state pull > ujumbe.state).
  push FILE       Upload the local state FILE into the configured pg
                  backend, which must be empty or hold an older copy of
                  the same state (same lineage, lower serial).

Addresses: campaign.NAME, campaign.NAME.message.NAME,
campaign.NAME.message.NAME["KEY"].

Options:
  -state=PATH       State file (default ujumbe.state in the config dir).
  -sandbox          The rehearsal's state (.ujumbe-sandbox/) instead.
  -lock-timeout=D   How long to wait for the state lock (default 0s).
  -force            push: replace whatever state the backend holds.
  -json             Machine-readable output.
  -no-color         Do not colour the output.
`

func runState(c *cli, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, stateHelp)
		return exitError
	}
	sub, args := args[0], args[1:]
	var sf stateFlags
	var v view
	fs := c.newFlagSet("state " + sub)
	sf.add(fs, true)
	v.addFlags(fs)
	force := fs.Bool("force", false, "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	args = fs.Args()
	want := map[string][2]int{"list": {0, 1}, "show": {1, 1}, "rm": {1, -1}, "mv": {2, 2}, "pull": {0, 0}, "push": {1, 1}}
	n, ok := want[sub]
	if !ok {
		fmt.Fprintf(c.stderr, "Error: unknown state subcommand %q.\n\n%s", sub, stateHelp)
		return exitError
	}
	if len(args) < n[0] || (n[1] >= 0 && len(args) > n[1]) {
		fmt.Fprintf(c.stderr, "Error: wrong number of addresses for \"state %s\".\n\n%s", sub, stateHelp)
		return exitError
	}
	switch sub {
	case "pull":
		return c.statePull(v, sf)
	case "push":
		return c.statePush(v, sf, args[0], *force)
	}
	patterns, diags := parsePatterns("", args)
	if diags.HasErrors() {
		c.printDiags(v, diags, nil)
		return exitError
	}
	switch sub {
	case "list", "show":
		st, warnings, err := c.readState(sf)
		if err != nil {
			c.printDiags(v, hcl.Diagnostics{errorDiag("Cannot read the state", err)}, nil)
			return exitError
		}
		c.printWarnings(v, warnings)
		if sub == "list" {
			p := state.Pattern{}
			if len(patterns) > 0 {
				p = patterns[0]
			}
			for s := range st.Sends(p) {
				fmt.Fprintln(c.stdout, s.Addr)
			}
			return exitOK
		}
		a, ok := patterns[0].Addr()
		s, found := st.Get(a)
		if !ok || !found {
			fmt.Fprintf(c.stderr, "Error: no send at %s in %s.\n", patterns[0], c.stateName(sf))
			return exitError
		}
		printSend(c.stdout, s)
		return exitOK
	}

	store, warnings, err := c.openState(sf, "state "+sub)
	if err != nil {
		c.printDiags(v, hcl.Diagnostics{errorDiag("Cannot open the state", err)}, nil)
		if errors.Is(err, state.ErrLocked) {
			return exitLocked
		}
		return exitError
	}
	defer store.Close()
	c.printWarnings(v, warnings)
	var total int
	if sub == "mv" {
		total, err = store.Move(patterns[0], patterns[1])
	} else {
		for _, p := range patterns {
			var n int
			if n, err = store.Remove(p); err != nil {
				break
			}
			total += n
		}
	}
	if err != nil {
		c.printDiags(v, hcl.Diagnostics{errorDiag("Cannot change the state", err)}, nil)
		return exitError
	}
	if err := store.Close(); err != nil {
		c.printDiags(v, hcl.Diagnostics{errorDiag("Cannot write the state", err)}, nil)
		return exitError
	}
	if sub == "mv" {
		fmt.Fprintf(c.stdout, "Moved %s from %s to %s.\n", plural(total, "send"), patterns[0], patterns[1])
	} else {
		they, were, them := "they", "were", "them"
		if total == 1 {
			they, were, them = "it", "was", "it"
		}
		fmt.Fprintf(c.stdout, "Removed %s. ujumbe no longer knows %s %s sent: the next apply sends %s again unless you remove %s from the configuration too.\n",
			plural(total, "send"), they, were, them, them)
	}
	return exitOK
}

// statePull writes the state in the local file format to standard output.
func (c *cli) statePull(v view, sf stateFlags) int {
	st, warnings, err := c.readState(sf)
	if err != nil {
		c.printDiags(v, hcl.Diagnostics{errorDiag("Cannot read the state", err)}, nil)
		return exitError
	}
	c.printWarnings(v, warnings)
	if _, err := st.WriteTo(c.stdout); err != nil {
		c.printDiags(v, hcl.Diagnostics{errorDiag("Cannot write the state", err)}, nil)
		return exitError
	}
	return exitOK
}

// statePush uploads the local state file into the pg backend.
func (c *cli) statePush(v view, sf stateFlags, file string, force bool) int {
	fail := func(summary string, err error) int {
		c.printDiags(v, hcl.Diagnostics{errorDiag(summary, err)}, nil)
		if errors.Is(err, state.ErrLocked) {
			return exitLocked
		}
		return exitError
	}
	loc, err := c.stateLocation(sf)
	if err != nil {
		return fail("Cannot open the state", err)
	}
	if loc.pg == nil {
		return fail("Nothing to push to", fmt.Errorf("the state is the local file %s; state push uploads a state into a backend \"pg\" block's database", loc))
	}
	st, warnings, err := state.Read(c.path(file))
	if err != nil {
		return fail("Cannot read the state to push", err)
	}
	c.printWarnings(v, warnings)
	if err := state.PushPG(c.ctx, *loc.pg, st, force, state.Options{LockTimeout: sf.lockTimeout, Operation: "state push"}); err != nil {
		return fail("Cannot push the state", err)
	}
	fmt.Fprintf(c.stdout, "Pushed %s (serial %d) into %s.\n", plural(st.Len(), "send"), st.Serial(), loc)
	return exitOK
}

// printSend writes every recorded attribute of one send.
func printSend(w io.Writer, s state.Send) {
	fmt.Fprintf(w, "# %s\n", s.Addr)
	attr := func(name string, v any) {
		switch v := v.(type) {
		case string:
			if v == "" {
				return
			}
			fmt.Fprintf(w, "%-16s = %q\n", name, v)
		case time.Time:
			if v.IsZero() {
				return
			}
			fmt.Fprintf(w, "%-16s = %q\n", name, v.UTC().Format(time.RFC3339Nano))
		default:
			fmt.Fprintf(w, "%-16s = %v\n", name, v)
		}
	}
	attr("phone", s.Phone)
	attr("outcome", s.Outcome.String())
	attr("attempts", s.Attempts)
	attr("message_id", s.MessageID)
	attr("conversation_id", s.ConversationID)
	attr("status", s.ProviderStatus.String())
	attr("error_code", s.ErrorCode)
	attr("error_message", s.ErrorMessage)
	attr("content_digest", s.Digest.String())
	attr("intent_at", s.IntentAt)
	attr("result_at", s.ResultAt)
	attr("delivered_at", s.DeliveredAt)
	attr("read_at", s.ReadAt)
	if r := s.Reply; r != nil {
		fmt.Fprintln(w, "reply {")
		for _, kv := range [][2]string{{"id", r.ID}, {"title", r.Title}, {"text", r.Text}, {"message_id", r.MessageID}} {
			if kv[1] != "" {
				fmt.Fprintf(w, "  %-10s = %q\n", kv[0], kv[1])
			}
		}
		fmt.Fprintf(w, "  %-10s = %q\n}\n", "at", r.At.UTC().Format(time.RFC3339))
	}
	if win := s.Window; !win.SeenAt.IsZero() {
		fmt.Fprintf(w, "window {\n  %-10s = %v\n", "open", win.Open)
		if !win.ExpiresAt.IsZero() {
			fmt.Fprintf(w, "  %-10s = %q\n", "expires_at", win.ExpiresAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(w, "  %-10s = %q\n}\n", "seen_at", win.SeenAt.UTC().Format(time.RFC3339))
	}
	// Earlier attempts, oldest first: every message_id the provider ever
	// gave this send.
	for _, a := range s.History {
		fmt.Fprintf(w, "attempt {\n  %-15s = %q\n  %-15s = %q\n", "intent_at", a.At.UTC().Format(time.RFC3339Nano), "outcome", a.Outcome.String())
		for _, kv := range [][2]string{{"message_id", a.MessageID}, {"conversation_id", a.ConversationID}, {"error_code", a.ErrorCode}} {
			if kv[1] != "" {
				fmt.Fprintf(w, "  %-15s = %q\n", kv[0], kv[1])
			}
		}
		fmt.Fprintln(w, "}")
	}
}
