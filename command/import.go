package command

import (
	"fmt"
	"strings"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
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
  ujumbe state rm first; one a moved block still has at its old address
  needs apply or state mv first), and no other send may have MESSAGE_ID.
  Briq must list the message as an outbound one of the send's kind
  (template, text, interactive), not failed, in a conversation with the
  send's phone (a follow-up's: the conversation of the message it
  follows, which must be accepted), created since the send's first
  recorded attempt or, for a follow-up not in the state, since the first
  attempt of the message it follows.

  More needs -force, your word that you read the message in Briq's inbox
  and it is the send's:
  - a message Briq gives no creation time;
  - a send not in the state whose message is older than its campaign's
    start_at or first send in the state (which hold only if the state lost
    no more than its newest sends and start_at never moved), or when
    neither exists;
  - content Briq lists, in a form ujumbe reads, other than the
    configuration renders for the send now (each variant is tried; with
    -force the content is recorded as not known);
  - another send to the phone that is not done, and could be the same
    message as far as Briq shows (kind, time, conversation, content): the
    state's unknown, due again or deferred sends, and every send the state
    does not record, whatever the plan says of it now. (A send no longer in
    the configuration has no kind or content to compare: it always could.)
    Attached to the wrong send, a message would leave the right one to be
    sent again, so import names the others.

  It makes a few requests to Briq and sends nothing. It plans the whole
  configuration to find the other sends to the phone: at a million
  recipients that takes as long as ujumbe plan.

Options:
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
  -state=PATH           State file (default ujumbe.state in the config dir).
  -lock-timeout=D       How long to wait for the state lock (default 0s).
  -force                Import on your word where Briq cannot confirm it
                        (see above): you read the message in Briq's inbox.
  -sandbox              Import into the rehearsal state from the embedded
                        sandbox.
  -json                 Print what was recorded as JSON.
  -no-color             Do not colour the output.

Exit status: 0 recorded, 1 error, 3 the state is locked by another run.
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
	force := fs.Bool("force", false, "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() != 2 {
		return c.usage(v, "import", "import takes an address and a message_id (ujumbe import ADDR MESSAGE_ID), got %s.", plural(fs.NArg(), "argument"))
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
	id := strings.TrimSpace(fs.Arg(1))
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

	st := store.State()
	if s, ok := plan.Recorded(cfg, st, a); ok && s.Addr != a {
		return c.fail(v, "Cannot import", fmt.Errorf("the send %s is recorded at %s, where a moved block moves it from: "+
			"run ujumbe apply (which makes the move) or ujumbe state mv first, then import at %s", a, s.Addr, a))
	}
	// The whole plan: the other sends to the phone may be the message too.
	p, diags := plan.Build(cfg, st, prov.now(), plan.Options{})
	c.printDiags(v, diags, cfg.Files)
	if diags.HasErrors() {
		return exitError
	}
	var claim *refresh.Claim
	cs := claimSource{cfg: cfg, st: st}
	for i := range p.Items {
		if it := &p.Items[i]; it.Message != nil && it.Addr() == a {
			cl, err := cs.claimOf(it)
			if err != nil {
				return c.fail(v, "Cannot import", err)
			}
			if _, recorded := plan.Recorded(cfg, st, a); !recorded && it.Message.After == nil {
				softBound(st, it.Message.Campaign, &cl)
			}
			claim = &cl
			break
		}
	}
	if claim == nil {
		return c.fail(v, "Cannot import", fmt.Errorf("the send %s is not in the configuration: no recipient of campaign %q's message %q has the key %q", a, a.Campaign, a.Message, a.Key))
	}
	rivals := cs.rivals(p, *claim, id)
	got, err := refresh.Import(c.ctx, prov.client, store, *claim, rivals, id, refresh.ImportOptions{Force: *force}, refresh.Options{Now: prov.now})
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
			Content        string `json:"content"`
			Requests       int    `json:"requests"`
		}{a.String(), got.MessageID, got.ConversationID, got.Status.String(), got.Content, got.Requests})
	}
	checked := map[string]string{
		refresh.ContentSame:        "its content at Briq is the send's",
		refresh.ContentDiffers:     "its content at Briq differs from what the configuration renders now, and is recorded as not known",
		refresh.ContentNotCompared: "its content was not compared (Briq lists none in a form ujumbe reads, or the configuration no longer renders what was attempted)",
	}[got.Content]
	fmt.Fprintf(c.stdout, "Imported: %s is done with message_id %s (conversation %s, status %s); %s. Briq was asked %s.\n",
		a, got.MessageID, got.ConversationID, got.Status, checked, plural(got.Requests, "time"))
	return exitOK
}

// claimSource makes the Claims of an import.
type claimSource struct {
	cfg *config.Config
	st  *state.State
}

// claimOf is the Claim of the plan's send it: where it goes, what it may
// have sent and since when its message can exist. A follow-up whose
// parent is not accepted cannot have been sent; that is the error, with a
// Claim that has no bound.
func (cs *claimSource) claimOf(it *plan.Item) (refresh.Claim, error) {
	a := it.Addr()
	cl := refresh.Claim{Missing: refresh.Missing{Addr: a, Phone: sentTo(cs.cfg, cs.st, it), Variant: it.Variant(), Kind: it.Message.Kind.String()}}
	render := func(variant string) {
		if p, err := plan.RenderSend(cs.cfg, cs.st, a, variant); err == nil {
			cl.Renderings = append(cl.Renderings, refresh.Rendering{Variant: variant, Digest: plan.ContentDigest(p), Content: plan.RequestContent(p)})
		}
	}
	s, recorded := plan.Recorded(cs.cfg, cs.st, a)
	switch {
	case recorded:
		cl.Phone, cl.Since, cl.Variant = s.Phone, s.FirstAttempt(), s.Variant
		// What was attempted is known by its digest: the configuration's
		// rendering tells Briq's content apart only while it is that.
		if render(s.Variant); len(cl.Renderings) == 1 && cl.Renderings[0].Digest != s.Digest {
			cl.Renderings, cl.Kind = nil, "" // the configuration changed since: neither is known
		}
	case it.Message.Varies() && cs.variantOpen(it):
		for _, v := range it.Message.Campaign.VariantNames() {
			render(v)
		}
	default:
		render(it.Variant())
	}
	if after := it.Message.After; after != nil {
		pa := addrs.Addr{Campaign: a.Campaign, Message: after.Name, Key: a.Key}
		parent, ok := plan.Recorded(cs.cfg, cs.st, pa)
		if !ok || parent.Outcome != state.OutcomeAccepted {
			return cl, fmt.Errorf("the send %s follows %s, which the state does not record as accepted, so it cannot have been made: import the message of %s first", a, pa, pa)
		}
		cl.Conversation = parent.ConversationID
		if !recorded {
			// After the parent's first attempt, for certain: its result
			// may have been recorded later than it came (by refresh).
			cl.Since = parent.FirstAttempt()
		}
	}
	return cl, nil
}

// softBound gives cl, the claim of a first contact the state does not
// record, the bound that holds unless the state lost more than its newest
// sends or start_at moved: the campaign's start_at, or its first send the
// state records. Rivals have none: it may be later than their message.
func softBound(st *state.State, campaign *config.Campaign, cl *refresh.Claim) {
	if !campaign.StartAt.IsZero() {
		cl.Soft, cl.SoftWhat = campaign.StartAt, "the campaign's start_at"
		return
	}
	for s := range st.Sends(addrs.Pattern{Campaign: campaign.Name}) {
		if at := s.IntentAt; !at.IsZero() && (cl.Soft.IsZero() || at.Before(cl.Soft)) {
			cl.Soft = at
		}
	}
	cl.SoftWhat = "the campaign's first send in the state"
}

// rivals are the sends other than claim's that the message id may be: to
// the same phone, and not done. From the state, every send recorded to it
// that is unknown (without an answered id of its own), due again or
// deferred, in the configuration or not; from the plan p, every send to
// it the state does not record, whatever its class now (a stop_at moved,
// a window reopened, a holdout changed, and it goes out). A follow-up
// whose parent is not accepted is a rival with nothing to bound it; a
// send the configuration no longer has, one with nothing to compare.
func (cs *claimSource) rivals(p *plan.Plan, claim refresh.Claim, id string) []refresh.Claim {
	// The state's, by the address of their Item (a moved block's); and the
	// recipients with any send recorded to the phone, whose follow-ups go
	// to it whatever the CSV says now (sentTo).
	recorded := map[addrs.Addr]state.Send{}
	type recipient struct{ campaign, key string }
	sentHere := map[recipient]bool{}
	for s := range cs.st.Sends(addrs.Pattern{}) {
		if s.Phone != claim.Phone {
			continue
		}
		at := plan.MovedTo(cs.cfg, s.Addr)
		sentHere[recipient{at.Campaign, at.Key}] = true
		if s.Addr != claim.Addr && (s.Outcome == state.OutcomeUnknown && (s.MessageID == "" || strings.EqualFold(s.MessageID, id)) || s.Outcome.Startable()) {
			recorded[at] = s
		}
	}
	var out []refresh.Claim
	for i := range p.Items {
		it := &p.Items[i]
		if it.Message == nil {
			continue
		}
		a := it.Addr()
		if _, ok := recorded[a]; ok {
			o, _ := cs.claimOf(it)
			out = append(out, o)
			delete(recorded, a)
			continue
		}
		if a == claim.Addr || it.Phone() != claim.Phone && (!sentHere[recipient{a.Campaign, a.Key}] || sentTo(cs.cfg, cs.st, it) != claim.Phone) {
			continue
		}
		if _, ok := plan.Recorded(cs.cfg, cs.st, a); !ok {
			o, _ := cs.claimOf(it)
			out = append(out, o)
		}
	}
	for _, s := range recorded {
		out = append(out, refresh.Claim{Missing: refresh.Missing{Addr: s.Addr, Phone: s.Phone}, Since: s.FirstAttempt()})
	}
	return out
}

// variantOpen reports whether the state leaves open which variant the
// recipient of it got: its campaign's split message is not recorded for
// them with one.
func (cs *claimSource) variantOpen(it *plan.Item) bool {
	split := it.Message.Campaign.Split()
	s, ok := plan.Recorded(cs.cfg, cs.st, addrs.Addr{Campaign: it.Addr().Campaign, Message: split.Name, Key: it.Addr().Key})
	return !ok || s.Variant == ""
}
