package command

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

var showCommand = &subcommand{
	name:     "show",
	synopsis: "Show per campaign and message what was sent and how it went",
	help: `Usage: ujumbe [global options] show [options]

  Prints, per campaign and message, how many sends were accepted, delivered,
  read, replied to, failed, expired or are still pending.

Options:
  -state=PATH           State file (default ujumbe.state in the config dir).
  -sandbox              Show the rehearsal state.
  -json                 Print as JSON.
  -no-color             Do not colour the output.
`,
	run: runShow,
}

// funnel counts the sends of one message by how far they got.
type funnel struct {
	Address   string         `json:"address"`
	Sent      int            `json:"sent"` // accepted by the provider
	Delivered int            `json:"delivered"`
	Read      int            `json:"read"`
	Replied   int            `json:"replied"`
	Answers   map[string]int `json:"answers,omitempty"` // replies by button/row id, or "text"
	Failed    int            `json:"failed"`
	Expired   int            `json:"expired"`
	Unknown   int            `json:"unknown"`
	Retry     int            `json:"retry"`
}

func runShow(c *cli, args []string) int {
	var sf stateFlags
	var v view
	fs := c.newFlagSet("show")
	sf.add(fs, false)
	v.addFlags(fs)
	if !c.parseFlags(fs, args) {
		return exitError
	}
	st, warnings, err := state.Read(c.statePath(sf))
	if err != nil {
		c.printDiags(v, hcl.Diagnostics{errorDiag("Cannot read the state", err)}, nil)
		return exitError
	}
	c.printWarnings(v, warnings)
	if v.json {
		return c.writeJSON(map[string]any{"messages": funnels(st, nil), "opt_outs": len(st.OptOuts())})
	}
	c.printFunnels(st, nil)
	return exitOK
}

// funnels counts the state's sends per message: the messages of cfg first,
// in the order they are declared, then any others in address order. cfg may
// be nil.
func funnels(st *state.State, cfg *config.Config) []*funnel {
	var out []*funnel
	index := map[string]*funnel{}
	for s := range st.Sends(state.Pattern{}) {
		addr := "campaign." + s.Addr.Campaign + ".message." + s.Addr.Message
		f := index[addr]
		if f == nil {
			f = &funnel{Address: addr, Answers: map[string]int{}}
			index[addr] = f
			out = append(out, f)
		}
		f.count(s)
	}
	if cfg != nil {
		rank := map[string]int{}
		for _, c := range cfg.Campaigns {
			for _, m := range c.Messages {
				rank[m.Addr()] = len(rank)
			}
		}
		pos := func(f *funnel) int {
			if r, ok := rank[f.Address]; ok {
				return r
			}
			return len(rank) // after the declared ones, in address order
		}
		slices.SortStableFunc(out, func(a, b *funnel) int { return cmp.Compare(pos(a), pos(b)) })
	}
	return out
}

// printFunnels writes show's human output, in cfg's order when cfg is not
// nil.
func (c *cli) printFunnels(st *state.State, cfg *config.Config) {
	fs := funnels(st, cfg)
	if len(fs) == 0 {
		fmt.Fprintln(c.stdout, "The state has no sends yet.")
		return
	}
	for _, f := range fs {
		fmt.Fprintf(c.stdout, "%s\n  sent %d, delivered %d, read %d, replied %d", f.Address, f.Sent, f.Delivered, f.Read, f.Replied)
		for _, part := range []struct {
			n    int
			what string
		}{{f.Failed, "failed"}, {f.Expired, "expired"}, {f.Unknown, "unknown"}, {f.Retry, "to retry"}} {
			if part.n > 0 {
				fmt.Fprintf(c.stdout, ", %d %s", part.n, part.what)
			}
		}
		fmt.Fprintln(c.stdout)
		for _, id := range sortedKeys(f.Answers) {
			fmt.Fprintf(c.stdout, "    answered %q: %d\n", id, f.Answers[id])
		}
	}
	if n := len(st.OptOuts()); n > 0 {
		fmt.Fprintf(c.stdout, "opted out: %d\n", n)
	}
}

func (f *funnel) count(s state.Send) {
	switch s.Outcome {
	case state.OutcomeAccepted:
		f.Sent++
	case state.OutcomeFailed:
		f.Failed++
	case state.OutcomeExpired:
		f.Expired++
	case state.OutcomeUnknown:
		f.Unknown++
	case state.OutcomeRetry:
		f.Retry++
	}
	switch s.ProviderStatus {
	case state.StatusRead:
		f.Read++
		f.Delivered++
	case state.StatusDelivered:
		f.Delivered++
	}
	if r := s.Reply; r != nil {
		f.Replied++
		id := r.ID
		if id == "" {
			id = "text"
		}
		f.Answers[id]++
	}
}
