package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

var stateCommand = &subcommand{
	name:     "state",
	synopsis: "Inspect and edit the state: list, show, rm, mv, pull, push",
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
                  the same state (same lineage, no higher serial, nothing
                  FILE lacks). FILE stays, marked as pushed (FILE.pushed).

Addresses: campaign.NAME, campaign.NAME.message.NAME,
campaign.NAME.message.NAME["KEY"].

Options:
  -state=PATH       State file (default ujumbe.state in the config dir).
  -var 'NAME=VALUE' show: a variable of the configuration, which renders
                    the content sent again (repeatable).
  -var-file=FILE    show: variables from FILE (repeatable).
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
	var cf configFlags
	var v view
	fs := c.newFlagSet("state " + sub)
	sf.add(fs, true)
	cf.add(fs)
	v.addFlags(fs)
	force := fs.Bool("force", false, "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	args = fs.Args()
	want := map[string][2]int{"list": {0, 1}, "show": {1, 1}, "rm": {1, -1}, "mv": {2, 2}, "pull": {0, 0}, "push": {1, 1}}
	n, ok := want[sub]
	if !ok {
		code := c.usage(v, "", "unknown state subcommand %q.", sub)
		fmt.Fprint(c.stderr, stateHelp)
		return code
	}
	if len(args) < n[0] || (n[1] >= 0 && len(args) > n[1]) {
		code := c.usage(v, "", "wrong number of addresses for \"state %s\".", sub)
		fmt.Fprint(c.stderr, stateHelp)
		return code
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
		sf.inspect = true
		st, warnings, err := c.readState(sf)
		if err != nil {
			return c.fail(v, "Cannot read the state", err)
		}
		c.printWarnings(v, warnings)
		if sub == "list" {
			p := addrs.Pattern{}
			if len(patterns) > 0 {
				p = patterns[0]
			}
			addrs := []string{}
			for s := range st.Sends(p) {
				if v.json {
					addrs = append(addrs, s.Addr.String())
				} else {
					fmt.Fprintln(c.stdout, s.Addr)
				}
			}
			if v.json {
				return c.writeJSON(struct {
					Sends []string `json:"sends"`
				}{addrs})
			}
			return exitOK
		}
		a, ok := patterns[0].Addr()
		s, found := st.Get(a)
		if !ok || !found {
			c.printDiags(v, hcl.Diagnostics{sourceless(hcl.DiagError, "No such send", fmt.Sprintf("There is no send at %s in %s.", patterns[0], c.stateName(sf)))}, nil)
			return exitError
		}
		content, same, note := c.sentContent(st, s, cf)
		if v.json {
			return c.writeJSON(struct {
				sendJSON
				Content json.RawMessage `json:"content,omitempty"`
				// ContentSent is whether content is what was sent (its
				// digest is the one recorded), not only what the
				// configuration renders now.
				ContentSent bool   `json:"content_sent"`
				ContentNote string `json:"content_note,omitempty"`
			}{sendJSONOf(s), content, same, note})
		}
		printSend(c.stdout, s)
		printContent(c.stdout, content, same, note)
		return exitOK
	}

	store, warnings, err := c.openState(sf, "state "+sub)
	if err != nil {
		return c.fail(v, "Cannot open the state", err)
	}
	defer store.Close()
	c.printWarnings(v, warnings)
	var total int
	from := patterns[0]
	if sub == "mv" {
		total, err = store.Move(patterns[0], patterns[1])
	} else {
		for _, p := range patterns {
			var n int
			from = p
			if n, err = store.Remove(p); err != nil {
				break
			}
			total += n
		}
	}
	if errors.Is(err, state.ErrNoMatch) {
		if near := plan.NearestRecorded(store.State(), from); near != "" {
			err = fmt.Errorf("%w. Did you mean %s?", err, near)
		}
	}
	if err != nil {
		return c.fail(v, "Cannot change the state", err)
	}
	if err := store.Close(); err != nil {
		return c.fail(v, "Cannot write the state", err)
	}
	switch {
	case v.json:
		return c.writeJSON(struct {
			Operation string `json:"operation"`
			Sends     int    `json:"sends"`
		}{sub, total})
	case sub == "mv":
		fmt.Fprintf(c.stdout, "Moved %s from %s to %s.\n", plural(total, "send"), patterns[0], patterns[1])
	default:
		they, were, them := "they", "were", "them"
		if total == 1 {
			they, were, them = "it", "was", "it"
		}
		fmt.Fprintf(c.stdout, "Removed %s. ujumbe no longer knows %s %s sent: the next apply sends %s again unless you remove %s from the configuration too.\n",
			plural(total, "send"), they, were, them, them)
	}
	return exitOK
}

// sentContent is what the customer was sent: the state keeps only a digest
// of it, so the content is rendered again from the configuration, and same
// says whether its digest is the one recorded. note says why there is no
// content, when there is none. cf are the configuration's variables.
func (c *cli) sentContent(st *state.State, s state.Send, cf configFlags) (content json.RawMessage, same bool, note string) {
	if s.Digest == (state.Digest{}) {
		return nil, false, ""
	}
	cfg, diags := c.loadConfig(cf)
	if diags.HasErrors() {
		return nil, false, fmt.Sprintf("the configuration does not load (%s: ujumbe validate says why; state show takes -var and -var-file, as plan does)", diags.Errs()[0].(*hcl.Diagnostic).Summary)
	}
	content, same, err := plan.SentContent(cfg, st, s)
	if err != nil {
		return nil, false, err.Error()
	}
	return content, same, ""
}

// printContent writes the content of sentContent for a person.
func printContent(w io.Writer, content json.RawMessage, same bool, note string) {
	var buf bytes.Buffer
	switch {
	case note != "":
		fmt.Fprintf(w, "# The content is not shown: %s.\n", note)
	case content == nil || json.Indent(&buf, content, "", "  ") != nil:
	case same:
		fmt.Fprintf(w, "# What was sent, rendered again from the configuration (its digest is the one recorded):\ncontent = %s\n", buf.String())
	default:
		fmt.Fprintf(w, "# The configuration now renders other content than was sent (the digests differ);\n# what was sent is known by its digest only. What the configuration renders now:\ncontent_now = %s\n", buf.String())
	}
}

// statePull writes the state in the local file format to standard output.
func (c *cli) statePull(v view, sf stateFlags) int {
	sf.inspect = true
	st, warnings, err := c.readState(sf)
	if err != nil {
		return c.fail(v, "Cannot read the state", err)
	}
	c.printWarnings(v, warnings)
	if _, err := st.WriteTo(c.stdout); err != nil {
		return c.fail(v, "Cannot write the state", err)
	}
	return exitOK
}

// statePush uploads the local state file into the pg backend.
func (c *cli) statePush(v view, sf stateFlags, file string, force bool) int {
	loc, err := c.stateLocation(sf)
	if err != nil {
		return c.fail(v, "Cannot open the state", err)
	}
	if loc.pg == nil {
		return c.fail(v, "Nothing to push to", fmt.Errorf("the state is the local file %s; state push uploads a state into a backend \"pg\" block's database", loc))
	}
	if _, err := os.Stat(c.path(file)); err != nil {
		return c.fail(v, "Cannot read the state to push", err)
	}
	st, warnings, err := state.Read(c.path(file))
	if err != nil {
		return c.fail(v, "Cannot read the state to push", err)
	}
	c.printWarnings(v, warnings)
	if st.Lineage() == "" {
		return c.fail(v, "Nothing to push", fmt.Errorf("%s holds no state (nothing was ever recorded in it)", file))
	}
	if err := state.PushPG(c.ctx, *loc.pg, st, force, state.Options{LockTimeout: sf.lockTimeout, Operation: "state push"}); err != nil {
		return c.fail(v, "Cannot push the state", err)
	}
	fmt.Fprintf(c.stdout, "Pushed %s (serial %d) into %s.\n", plural(st.Len(), "send"), st.Serial(), loc)
	if err := markPushed(c.path(file), st, loc.String(), time.Now()); err != nil {
		return c.fail(v, "Cannot mark the pushed file", fmt.Errorf("%w; %s is a copy of the state as pushed, and must not be used as the state again", err, file))
	}
	fmt.Fprintf(c.stdout, "%s stays as a copy of the state as pushed; %s marks it, so that it is not used as the state again.\n", file, filepath.Base(markPath(c.path(file))))
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
	attr("kind", s.Kind.String())
	attr("variant", s.Variant)
	attr("outcome", s.Outcome.String())
	if s.Systemic {
		attr("failure", systemicNote)
	}
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
		failure := ""
		if a.Systemic {
			failure = systemicNote
		}
		for _, kv := range [][2]string{{"failure", failure}, {"message_id", a.MessageID}, {"conversation_id", a.ConversationID}, {"error_code", a.ErrorCode}} {
			if kv[1] != "" {
				fmt.Fprintf(w, "  %-15s = %q\n", kv[0], kv[1])
			}
		}
		fmt.Fprintln(w, "}")
	}
}

// systemicNote says of an attempt that failed for the run's reasons why it
// does not count against the send's attempts.
const systemicNote = "the run's (not counted against the attempts)"

// sendJSON is one send in state show -json.
type sendJSON struct {
	Address        string        `json:"address"`
	Phone          string        `json:"phone"`
	Kind           string        `json:"kind,omitempty"`
	Outcome        string        `json:"outcome"`
	Systemic       bool          `json:"systemic,omitempty"`
	Attempts       int           `json:"attempts"`
	MessageID      string        `json:"message_id,omitempty"`
	ConversationID string        `json:"conversation_id,omitempty"`
	Status         string        `json:"status,omitempty"`
	ErrorCode      string        `json:"error_code,omitempty"`
	ErrorMessage   string        `json:"error_message,omitempty"`
	ContentDigest  string        `json:"content_digest,omitempty"`
	IntentAt       *time.Time    `json:"intent_at,omitempty"`
	ResultAt       *time.Time    `json:"result_at,omitempty"`
	DeliveredAt    *time.Time    `json:"delivered_at,omitempty"`
	ReadAt         *time.Time    `json:"read_at,omitempty"`
	Reply          *replyJSON    `json:"reply,omitempty"`
	History        []attemptJSON `json:"history,omitempty"`
}

type replyJSON struct {
	ID        string    `json:"id,omitempty"`
	Title     string    `json:"title,omitempty"`
	Text      string    `json:"text,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	At        time.Time `json:"at"`
}

type attemptJSON struct {
	IntentAt       time.Time `json:"intent_at"`
	Outcome        string    `json:"outcome"`
	Systemic       bool      `json:"systemic,omitempty"`
	MessageID      string    `json:"message_id,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	ErrorCode      string    `json:"error_code,omitempty"`
}

func sendJSONOf(s state.Send) sendJSON {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	out := sendJSON{Address: s.Addr.String(), Phone: s.Phone, Kind: s.Kind.String(), Outcome: s.Outcome.String(), Systemic: s.Systemic, Attempts: s.Attempts,
		MessageID: s.MessageID, ConversationID: s.ConversationID, Status: s.ProviderStatus.String(),
		ErrorCode: s.ErrorCode, ErrorMessage: s.ErrorMessage, IntentAt: at(s.IntentAt), ResultAt: at(s.ResultAt),
		DeliveredAt: at(s.DeliveredAt), ReadAt: at(s.ReadAt)}
	if s.Digest != (state.Digest{}) {
		out.ContentDigest = s.Digest.String()
	}
	if r := s.Reply; r != nil {
		out.Reply = &replyJSON{ID: r.ID, Title: r.Title, Text: r.Text, MessageID: r.MessageID, At: r.At.UTC()}
	}
	for _, a := range s.History {
		out.History = append(out.History, attemptJSON{IntentAt: a.At.UTC(), Outcome: a.Outcome.String(), Systemic: a.Systemic,
			MessageID: a.MessageID, ConversationID: a.ConversationID, ErrorCode: a.ErrorCode})
	}
	return out
}
