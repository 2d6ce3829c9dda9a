package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

// FormatVersion is the version of the JSON form of a Report.
const FormatVersion = "1"

// Report is the funnel of every campaign and message: what was sent and how
// it went, and what was not sent and why. Its JSON form is `show -json`.
type Report struct {
	FormatVersion string    `json:"format_version"`
	GeneratedAt   time.Time `json:"generated_at"` // the clock the sends were classified at
	// Rehearsal marks a report on a rehearsal state and its simulated clock.
	Rehearsal     bool        `json:"rehearsal"`
	State         StateInfo   `json:"state"`
	Configuration ConfigInfo  `json:"configuration"`
	Campaigns     []*Campaign `json:"campaigns"`
	// OptOuts counts the phone numbers the state records as opted out.
	OptOuts int `json:"opt_outs"`
}

// StateInfo identifies the state a report was made from.
type StateInfo struct {
	Path    string `json:"path"`
	Serial  uint64 `json:"serial"`
	Lineage string `json:"lineage"`
}

// ConfigInfo identifies the configuration a report was made from.
type ConfigInfo struct {
	Dir string `json:"dir"`
	// Files are the input files (HCL and CSV), relative to Dir, sorted.
	Files []string `json:"files"`
	// Digest is a SHA-256 over the files' names and contents, in hex.
	Digest string `json:"digest"`
}

// Campaign is the funnel of one campaign's messages.
type Campaign struct {
	Name string `json:"name"`
	// InConfiguration is false for a campaign only the state knows.
	InConfiguration bool `json:"in_configuration"`
	// TimeZone is the zone the timeline is drawn in: the send window's, else
	// start_at's offset, else UTC.
	TimeZone string `json:"time_zone"`
	// Messages are in configuration order, then those only the state knows
	// in address order.
	Messages []*Message `json:"messages"`
	// Timeline counts sends and replies over time; it is left out of the
	// JSON form, which carries their totals.
	Timeline *Timeline `json:"-"`

	loc *time.Location
}

// Message is the funnel of one message: each send of it (one per
// recipient, and those the state holds for recipients since removed) is
// counted once among Sent, Failed (refused), Expired, NotTaken, AfterLost,
// Suppressed, Scheduled, Retry and Unknown.
type Message struct {
	Address string `json:"address"`
	Name    string `json:"name"`
	// InConfiguration is false for a message only the state knows.
	InConfiguration bool `json:"in_configuration"`
	// Kind, Template, After, Delay and When describe the message as
	// configured; empty for one only the state knows.
	Kind     string `json:"kind,omitempty"`
	Template string `json:"template,omitempty"`
	After    string `json:"after,omitempty"`
	Delay    string `json:"delay,omitempty"`
	When     string `json:"when,omitempty"`

	// Recipients is the number of sends counted: the campaign's recipients
	// plus the recorded sends of recipients no longer in it.
	Recipients int `json:"recipients"`

	// The funnel of the accepted sends.
	Outcomes

	// Failed counts the sends refused for good, those given up after
	// repeated transient failures, and accepted sends the provider reported
	// failed; Failures counts them by error code.
	Failed   int     `json:"failed"`
	Failures []Tally `json:"failures"`
	// Expired counts the sends that can no longer go out in time: stop_at
	// passed or the 24h window closed first.
	Expired int `json:"expired"`
	// NotTaken counts the sends of a branch not taken: its when was false,
	// or no answer came in time.
	NotTaken int `json:"not_taken"`
	// AfterLost counts the sends never made because the message they
	// follow was not sent to the recipient (it failed, expired or was a
	// branch not taken).
	AfterLost int `json:"after_not_sent"`
	// Suppressed counts the recipients never messaged because a suppress
	// block lists them or they opted out; SuppressedBy says which.
	Suppressed   int     `json:"suppressed"`
	SuppressedBy []Tally `json:"suppressed_by"`
	// Scheduled counts the sends still to come, due now or later; Retry
	// those to be tried again; Unknown those whose outcome was never
	// recorded (refresh resolves them).
	Scheduled int `json:"scheduled"`
	Retry     int `json:"retry"`
	Unknown   int `json:"unknown"`
	// Orphaned counts the recorded sends (already counted above) whose
	// recipient or message the configuration no longer has.
	Orphaned int `json:"orphaned"`

	// Variants are the funnels of each variant, for a message whose
	// recipients are split by variant: the campaign's variants in
	// declaration order, then any only the state knows, by name. Holdout
	// counts the recipients the campaign's holdout kept out of it, its
	// control group. Comparison compares the reply rates of two variants.
	Variants   []*VariantFunnel `json:"variants,omitempty"`
	Holdout    int              `json:"holdout,omitempty"`
	Comparison *Comparison      `json:"comparison,omitempty"`

	declared int // the first declared Variants are those the configuration has
	failures map[string]int
	supp     map[string]int
	sentAt   []time.Time // accepted sends, for the timeline
	replyAt  []time.Time // replies counted in Replied
}

// Outcomes counts what became of accepted sends. Sent counts the sends
// the provider accepted; Delivered and Read those it reported delivered or
// read (read implies delivered); Replied those answered with anything but
// an opt-out.
type Outcomes struct {
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Read      int `json:"read"`
	Replied   int `json:"replied"`
	// Answers count the replies by button or list row id, most frequent
	// first; TextReplies the free-text replies.
	Answers     []Answer `json:"answers"`
	TextReplies int      `json:"text_replies"`
	// OptOuts counts the replies that opted out (STOP and the other
	// opt_out_keywords); they are not in Replied.
	OptOuts int `json:"opt_outs"`

	answers map[string]*Answer
}

// add counts the accepted send s; optedOut says whether its reply opted
// out. It reports whether s counts as replied.
func (o *Outcomes) add(s state.Send, optedOut bool) (replied bool) {
	o.Sent++
	switch s.ProviderStatus {
	case state.StatusRead:
		o.Read++
		o.Delivered++
	case state.StatusDelivered:
		o.Delivered++
	}
	r := s.Reply
	switch {
	case r == nil:
		return false
	case optedOut:
		o.OptOuts++
		return false
	}
	o.Replied++
	if r.ID == "" {
		o.TextReplies++
		return true
	}
	if o.answers == nil {
		o.answers = map[string]*Answer{}
	}
	a := o.answers[r.ID]
	if a == nil {
		a = &Answer{ID: r.ID, Title: r.Title}
		o.answers[r.ID] = a
	}
	a.Count++
	return true
}

// finish turns the answers into a list, most frequent first.
func (o *Outcomes) finish() {
	o.Answers = make([]Answer, 0, len(o.answers))
	for _, a := range o.answers {
		o.Answers = append(o.Answers, *a)
	}
	slices.SortFunc(o.Answers, func(a, b Answer) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.ID, b.ID)) })
}

// Answer counts the replies with one button or list row.
type Answer struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Count int    `json:"count"`
}

// Tally is a count with its name: an error code, or a suppression reason.
type Tally struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Options are the inputs of Build besides the configuration and the state.
type Options struct {
	// Now is the clock the sends not yet accepted are classified at, as by
	// plan: the wall clock, or a rehearsal's simulated one.
	Now       time.Time
	Rehearsal bool
	// StatePath names the state, for the report's record.
	StatePath string
	// Targets, when not empty, narrow the report to the sends they match,
	// and to the messages they name (show -target).
	Targets []addrs.Pattern
	// Unrecorded, when set, is told each send the configuration wants that
	// the state does not record, and what became of it, as Unrecorded
	// names them, so that report -csv has a row for every recipient and
	// message.
	Unrecorded func(it *plan.Item, outcome Unrecorded)
}

// Unrecorded is what became of a send the state does not record: a
// funnel's word for it.
type Unrecorded string

// The outcomes of sends the state does not record.
const (
	UnrecordedHoldout    Unrecorded = "holdout"        // the campaign's control group
	UnrecordedExpired    Unrecorded = "expired"        // stop_at passed or the 24h window closed
	UnrecordedNotTaken   Unrecorded = "not_taken"      // a branch not taken
	UnrecordedAfterLost  Unrecorded = "after_not_sent" // the message it follows was not sent
	UnrecordedSuppressed Unrecorded = "suppressed"     // a suppress block lists it, or it opted out
	UnrecordedScheduled  Unrecorded = "scheduled"      // due now or later
)

// targeted reports whether m's sends are in a report narrowed to targets:
// one of them names its campaign, and its message or none.
func targeted(targets []addrs.Pattern, m *config.Message) bool {
	if len(targets) == 0 {
		return true
	}
	return slices.ContainsFunc(targets, func(t addrs.Pattern) bool {
		t.Key = ""
		return t.Contains(m.Addr())
	})
}

// Build computes the report of cfg and st at opts.Now. It reads both and
// changes neither. The diagnostics are those of planning (a message that
// cannot be rendered for a recipient); the report is complete all the same,
// counting such sends as scheduled.
func Build(cfg *config.Config, st *state.State, opts Options) (*Report, hcl.Diagnostics) {
	p, diags := plan.Build(cfg, st, opts.Now, plan.Options{NoDrift: true, Targets: opts.Targets})
	r := &Report{
		FormatVersion: FormatVersion,
		GeneratedAt:   opts.Now,
		Rehearsal:     opts.Rehearsal,
		State:         StateInfo{Path: opts.StatePath, Serial: p.Serial, Lineage: p.Lineage},
		Configuration: configInfo(cfg),
		OptOuts:       len(st.OptOuts()),
	}
	b := &builder{r: r, cfg: cfg, st: st, opts: opts, campaigns: map[string]*Campaign{}, messages: map[[2]string]*Message{}}
	for _, c := range cfg.Campaigns {
		var msgs []*config.Message
		for _, m := range c.Messages {
			if targeted(opts.Targets, m) {
				msgs = append(msgs, m)
			}
		}
		if len(msgs) == 0 {
			continue
		}
		camp := b.campaign(c.Name)
		camp.InConfiguration = true
		camp.loc = campaignZone(c)
		for _, m := range msgs {
			msg := b.message(c.Name, m.Name)
			describe(cfg, msg, m)
		}
	}
	for i := range p.Items {
		b.count(&p.Items[i])
	}
	for _, c := range r.Campaigns {
		if c.loc == nil {
			c.loc = time.UTC
		}
		c.TimeZone = zoneName(c.loc)
		for _, m := range c.Messages {
			m.finish()
		}
		c.Timeline = timeline(c)
	}
	return r, diags
}

type builder struct {
	r         *Report
	cfg       *config.Config
	st        *state.State
	opts      Options
	campaigns map[string]*Campaign
	messages  map[[2]string]*Message
	// reply holds the reply of the send count looked up last: a report
	// reads every answer, and keeps its id, title and time.
	reply state.Reply
}

// campaign returns the campaign named name, adding it in order.
func (b *builder) campaign(name string) *Campaign {
	c := b.campaigns[name]
	if c == nil {
		c = &Campaign{Name: name}
		b.campaigns[name] = c
		b.r.Campaigns = append(b.r.Campaigns, c)
	}
	return c
}

// message returns the message of campaign c named name, adding it in order.
func (b *builder) message(c, name string) *Message {
	k := [2]string{c, name}
	m := b.messages[k]
	if m == nil {
		m = &Message{Address: addrs.Pattern{Campaign: c, Message: name}.String(), Name: name,
			failures: map[string]int{}, supp: map[string]int{}}
		b.messages[k] = m
		camp := b.campaign(c)
		camp.Messages = append(camp.Messages, m)
	}
	return m
}

// describe fills in how m is configured.
func describe(cfg *config.Config, msg *Message, m *config.Message) {
	msg.InConfiguration = true
	msg.Kind = m.Kind.String()
	msg.Template = m.Template()
	if m.After != nil {
		msg.After = m.After.Name
		if m.Delay > 0 {
			msg.Delay = FormatDelay(m.Delay)
		}
	}
	msg.When = source(cfg, m.WhenRange())
	if m.Varies() {
		msg.declareVariants(m.Campaign.VariantNames())
	}
}

// unrecorded tells Options.Unrecorded of it, when set.
func (b *builder) unrecorded(it *plan.Item, o Unrecorded) {
	if b.opts.Unrecorded != nil {
		b.opts.Unrecorded(it, o)
	}
}

// count counts the plan item it into its message.
func (b *builder) count(it *plan.Item) {
	msg := b.message(it.Addr().Campaign, it.Addr().Message)
	msg.Recipients++
	if it.Holdout {
		msg.Holdout++
		b.unrecorded(it, UnrecordedHoldout)
		return
	}
	vf := msg.variant(it.Variant())
	if vf != nil {
		vf.Recipients++
	}
	s, recorded := plan.Peek(b.cfg, b.st, it.Addr(), &b.reply)
	if !recorded {
		switch it.Class {
		case plan.Expired:
			switch {
			case it.AfterLost():
				msg.AfterLost++
				b.unrecorded(it, UnrecordedAfterLost)
			case it.NotTaken():
				msg.NotTaken++
				b.unrecorded(it, UnrecordedNotTaken)
			default:
				msg.Expired++
				b.unrecorded(it, UnrecordedExpired)
			}
		case plan.Orphan:
			// Only suppression makes an orphan of a send never recorded.
			reason := "opted out"
			if name, ok := b.cfg.Suppressed(it.Phone()); ok {
				reason = "suppress." + name
			}
			msg.Suppressed++
			msg.supp[reason]++
			b.unrecorded(it, UnrecordedSuppressed)
		default:
			// Due now or later, or not renderable yet (planning said why).
			msg.Scheduled++
			b.unrecorded(it, UnrecordedScheduled)
		}
		return
	}
	if it.Class == plan.Orphan {
		msg.Orphaned++
	}
	switch s.Outcome {
	case state.OutcomeAccepted:
		optedOut := b.optedOut(it.Addr(), s)
		b.accepted(msg, s, optedOut)
		if vf != nil {
			vf.add(s, optedOut)
		}
	case state.OutcomeFailed:
		msg.failed(s.ErrorCode)
	case state.OutcomeExpired:
		msg.Expired++
	case state.OutcomeUnknown:
		msg.Unknown++
	case state.OutcomeDeferred:
		msg.Scheduled++ // due again a day after Meta's 131049
	case state.OutcomeRetry:
		if it.Class == plan.Expired {
			msg.failed(s.ErrorCode) // gave up after the last attempt
		} else {
			msg.Retry++
		}
	}
}

// accepted counts a send the provider accepted; optedOut says whether its
// reply opted out.
func (b *builder) accepted(msg *Message, s state.Send, optedOut bool) {
	msg.sentAt = append(msg.sentAt, s.IntentAt)
	if s.ProviderStatus == state.StatusFailed {
		msg.failed(s.ErrorCode)
	}
	if msg.add(s, optedOut) {
		msg.replyAt = append(msg.replyAt, s.Reply.At)
	}
}

// optedOut reports whether the reply to s, the send at a as plan.Peek gave
// it, opted out: it is the message the state's opt-out of s's phone came
// with, or one of the opt-out keywords.
func (b *builder) optedOut(a addrs.Addr, s state.Send) bool {
	r := s.Reply
	if r == nil {
		return false
	}
	if o, ok := b.st.OptOut(s.Phone); ok && o.MessageID != "" {
		// Peek leaves the reply's message id out; few phones opted out.
		if full, _ := plan.Recorded(b.cfg, b.st, a); full.Reply != nil && full.Reply.MessageID == o.MessageID {
			return true
		}
	}
	text, id := strings.TrimSpace(r.Text), strings.TrimSpace(r.ID)
	for _, k := range b.cfg.Provider.OptOutKeywords {
		if k = strings.TrimSpace(k); k != "" && (strings.EqualFold(text, k) || strings.EqualFold(id, k)) {
			return true
		}
	}
	return false
}

func (m *Message) failed(code string) {
	m.Failed++
	m.failures[cmp.Or(code, "no code")]++
}

// finish turns the maps into sorted lists.
func (m *Message) finish() {
	m.Outcomes.finish()
	m.finishVariants()
	m.Failures = tallies(m.failures)
	m.SuppressedBy = tallies(m.supp)
}

// tallies lists counts, most frequent first, then by name.
func tallies(counts map[string]int) []Tally {
	out := make([]Tally, 0, len(counts))
	for name, n := range counts {
		out = append(out, Tally{name, n})
	}
	slices.SortFunc(out, func(a, b Tally) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })
	return out
}

// Rate is part's share of whole in per cent, or -1 when whole is 0.
func Rate(part, whole int) float64 {
	if whole == 0 {
		return -1
	}
	return 100 * float64(part) / float64(whole)
}

// configInfo names cfg's input files and digests them.
func configInfo(cfg *config.Config) ConfigInfo {
	info := ConfigInfo{Dir: cfg.Dir, Files: []string{}}
	byName := map[string]string{}
	for name := range cfg.Files {
		rel, err := filepath.Rel(cfg.Dir, name)
		if err != nil {
			rel = name
		}
		rel = filepath.ToSlash(rel)
		info.Files = append(info.Files, rel)
		byName[rel] = name
	}
	slices.Sort(info.Files)
	h := sha256.New()
	for _, name := range info.Files {
		sum := cfg.FileSum(byName[name])
		fmt.Fprintf(h, "%s %x\n", name, sum)
	}
	info.Digest = hex.EncodeToString(h.Sum(nil))
	return info
}

// campaignZone is the zone a campaign's times are shown in: its send
// window's when the same for everyone, else start_at's offset, else UTC.
func campaignZone(c *config.Campaign) *time.Location {
	if c.Window != nil {
		if loc := c.Window.Zone(); loc != nil {
			return loc
		}
	}
	if !c.StartAt.IsZero() {
		return c.StartAt.Location()
	}
	return time.UTC
}

// zoneName names loc: its IANA name, or its UTC offset for a fixed zone.
func zoneName(loc *time.Location) string {
	if name := loc.String(); name != "" && name != "Local" {
		return name
	}
	_, off := time.Date(2000, 1, 1, 0, 0, 0, 0, loc).Zone()
	return "UTC" + time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", off)).Format("-07:00")
}

// source returns the text cfg's files hold at rng, on one line; "" for the
// zero range.
func source(cfg *config.Config, rng hcl.Range) string {
	f := cfg.Files[rng.Filename]
	if f == nil || rng.Start.Byte > rng.End.Byte || rng.End.Byte > len(f.Bytes) {
		return ""
	}
	return strings.Join(strings.Fields(string(rng.SliceBytes(f.Bytes))), " ")
}

// FormatDelay writes d as a delay is written: "10m", "4h", "1d12h".
func FormatDelay(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * 24 * time.Hour
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	if d > 0 {
		fmt.Fprintf(&b, "%dms", d/time.Millisecond)
	}
	return b.String()
}
