package command

import (
	"fmt"

	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/state"
)

var importCommand = &subcommand{
	name:     "import",
	synopsis: "Record the message at Briq that a send made",
	help:     importHelp,
	run:      runImport,
}

const importHelp = `Usage: ujumbe [global options] import [options] ADDR MESSAGE_ID

  Records that the message MESSAGE_ID at Briq is the send ADDR (one send:
  campaign.C.message.M["KEY"]), as terraform import attaches an object that
  exists to an address. It is the way out of a send refresh leaves unknown
  ("?") because several messages at Briq could be it, and of one a
  restored state has lost: you found the message in Briq's inbox, and the
  send becomes done ("=") with that message_id instead of being sent
  again. Its follow-ups then go into the message's conversation.

  Nothing is recorded unless Briq agrees with you. The send must be
  unknown, due again, or not in the state (a send with its message needs
  ujumbe state rm first), and no other send may have MESSAGE_ID. Briq must
  list the message as an outbound message in a conversation with the
  send's phone, of the send's kind (template, text, interactive), and not
  failed. It makes a few requests to Briq and sends nothing.

Options:
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
  -state=PATH           State file (default ujumbe.state in the config dir).
  -lock-timeout=D       How long to wait for the state lock (default 0s).
  -sandbox              Import into the rehearsal state from the embedded
                        sandbox.
  -json                 Print what was recorded as JSON.
  -no-color             Do not colour the output.

Exit status: 0 recorded, 1 error (nothing recorded), 3 the state is locked
by another run.
`

func runImport(c *cli, args []string) int {
	var (
		cf configFlags
		sf stateFlags
		v  view
	)
	fs := c.newFlagSet("import")
	cf.add(fs)
	sf.add(fs, true)
	v.addFlags(fs)
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() != 2 {
		return c.usage(v, "import", "import takes an address and a message_id (ujumbe import ADDR MESSAGE_ID), got %d arguments.", fs.NArg())
	}
	patterns, diags := parsePatterns("", fs.Args()[:1])
	if diags.HasErrors() {
		c.printDiags(v, diags, nil)
		return exitError
	}
	a, ok := patterns[0].Addr()
	if !ok {
		return c.usage(v, "", "import records one send, and %s names a campaign or a message: give its recipient's key too, as in %s[\"KEY\"].", patterns[0], patterns[0])
	}
	id := fs.Arg(1)
	if id == "" {
		return c.usage(v, "", "the message_id is empty.")
	}

	cfg, diags := c.loadConfig(cf)
	c.printDiags(v, diags, filesOf(cfg))
	if diags.HasErrors() {
		return exitError
	}
	store, warnings, err := c.openState(sf, "import")
	if err != nil {
		return c.fail(v, "Cannot open the state", err)
	}
	defer store.Close()
	c.printWarnings(v, warnings)
	prov, err := c.openProvider(cfg, sf.sandbox, 1)
	if err != nil {
		return c.fail(v, providerTrouble(err), err)
	}
	defer prov.close()

	p, diags := plan.Build(cfg, store.State(), prov.now(), plan.Options{Targets: patterns})
	c.printDiags(v, diags, cfg.Files)
	if diags.HasErrors() {
		return exitError
	}
	var it *plan.Item
	for i := range p.Items {
		if p.Items[i].Message != nil && p.Items[i].Addr() == a {
			it = &p.Items[i]
		}
	}
	if it == nil {
		return c.fail(v, "Cannot import", fmt.Errorf("the send %s is not in the configuration: no recipient of campaign %q's message %q has the key %q", a, a.Campaign, a.Message, a.Key))
	}
	m := refresh.Missing{Addr: a, Phone: sentTo(cfg, store.State(), it), Digest: it.Digest, Variant: it.Variant(), Kind: it.Message.Kind.String()}
	if m.Digest == (state.Digest{}) {
		// The plan renders only what it may send (an expired send, or one
		// awaiting an answer, has no digest); the state records what was.
		m.Digest, _ = plan.WantedDigest(cfg, store.State(), a)
	}
	got, err := refresh.Import(c.ctx, prov.client, store, m, id, refresh.Options{Now: prov.now})
	if err == nil {
		err = store.Close()
	}
	if err != nil {
		return c.fail(v, "Cannot import", err)
	}
	if v.json {
		return c.writeJSON(struct {
			Address        string `json:"address"`
			MessageID      string `json:"message_id"`
			ConversationID string `json:"conversation_id,omitempty"`
			Status         string `json:"status,omitempty"`
			Requests       int    `json:"requests"`
		}{a.String(), got.MessageID, got.ConversationID, got.Status.String(), got.Requests})
	}
	fmt.Fprintf(c.stdout, "Imported: %s is done with message_id %s (conversation %s, status %s); Briq was asked %s. The next refresh reads its status and reply.\n",
		a, got.MessageID, got.ConversationID, got.Status, plural(got.Requests, "time"))
	return exitOK
}
