package config

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // time zones must load on hosts without a zoneinfo database

	"github.com/hashicorp/hcl/v2"
)

// Campaign is a campaign block: who gets which messages, and when.
type Campaign struct {
	Name string
	// Recipients is the recipients block named by the recipients attribute;
	// nil only in a configuration with errors.
	Recipients *RecipientSet
	// StartAt and StopAt bound when messages may go out; zero when unset.
	StartAt, StopAt time.Time
	// Window holds the quiet hours; nil when every hour is allowed.
	Window *SendWindow
	// MaxRecipients is the size above which apply asks for confirmation;
	// 0 defers to the provider's max_recipients.
	MaxRecipients int
	// Holdout is the share of recipients kept out as a control group (see
	// HeldOut); 0 for none.
	Holdout float64
	// Messages are in declaration order.
	Messages  []*Message
	DeclRange hcl.Range

	// assignAs is the name a moved block says the campaign had, which its
	// assignments keep hashing (assignName); "" when none.
	assignAs string
}

// SendWindow is a campaign's daily window for sending.
type SendWindow struct {
	// From and To are offsets from local midnight ("09:00" is 9h). To may be
	// before From for a window that runs overnight; From == To means the
	// window is always open.
	From, To  time.Duration
	DeclRange hcl.Range

	loc   *time.Location // the zone when time_zone is constant
	zone  *expr          // time_zone when it depends on the recipient
	shape *rowShape
	root  *hcl.EvalContext
}

// Location returns the window's time zone for r: the constant time_zone, or
// the value of a per-recipient expression such as row.tz. A zone that does
// not exist is reported at the expression with r's CSV line.
func (w *SendWindow) Location(r *Recipient) (*time.Location, hcl.Diagnostics) {
	if w.loc != nil {
		return w.loc, nil
	}
	s := &evalScope{root: w.root, shape: w.shape, row: r.row, key: r.Key, phone: r.Phone,
		file: r.set.block.table.name, line: r.Line, stale: true, roots: w.zone.roots}
	return w.location(s)
}

// Zone returns the window's time zone when it is the same for every
// recipient, nil when time_zone depends on the recipient.
func (w *SendWindow) Zone() *time.Location {
	return w.loc
}

func (w *SendWindow) location(s *evalScope) (*time.Location, hcl.Diagnostics) {
	if w.zone == nil || w.zone.broken {
		return time.UTC, nil
	}
	name, ok, diags := s.str(w.zone, "time_zone")
	if !ok {
		return nil, diags
	}
	loc, err := loadLocation(name)
	if err != nil {
		return nil, append(diags, s.errorf(w.zone, "Unknown time zone",
			"%q is not a time zone. Use an IANA zone name such as \"Africa/Dar_es_Salaam\" or \"Africa/Nairobi\".", name))
	}
	return loc, diags
}

// zones caches time.LoadLocation, which parses the zone data on each call.
var zones sync.Map // name -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "" || name == "Local" {
		// "Local" depends on the machine, so it would make a plan differ
		// between hosts; "" means UTC to LoadLocation, which is surprising.
		return nil, fmt.Errorf("time zone %q is not allowed", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}

var campaignSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "recipients", Required: true},
		{Name: "start_at"},
		{Name: "stop_at"},
		{Name: "max_recipients"},
		{Name: "holdout"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "send_window"},
		{Type: "message", LabelNames: []string{"name"}},
	},
}

var sendWindowSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true},
		{Name: "to", Required: true},
		{Name: "time_zone", Required: true},
	},
}

func (l *loader) decodeCampaigns(blocks hcl.Blocks) {
	seen := map[string]*Campaign{}
	for _, b := range blocks {
		name, ok := l.blockName(b)
		if !ok {
			continue
		}
		if prev, dup := seen[name]; dup {
			l.duplicate(b, name, prev.DeclRange)
			continue
		}
		c := &Campaign{Name: name, DeclRange: b.DefRange}
		seen[name] = c
		l.cfg.Campaigns = append(l.cfg.Campaigns, c)
		l.decodeCampaign(c, b)
	}
}

func (l *loader) decodeCampaign(c *Campaign, b *hcl.Block) {
	content, diags := b.Body.Content(campaignSchema)
	l.diags = append(l.diags, diags...)
	what := fmt.Sprintf("campaign %q", c.Name)

	if a, ok := content.Attributes["recipients"]; ok {
		c.Recipients = l.resolveRecipients(a)
	}
	if a, ok := content.Attributes["start_at"]; ok {
		c.StartAt = l.staticTime(a, what)
	}
	if a, ok := content.Attributes["stop_at"]; ok {
		c.StopAt = l.staticTime(a, what)
	}
	if !c.StartAt.IsZero() && !c.StopAt.IsZero() && !c.StartAt.Before(c.StopAt) {
		l.diags = append(l.diags, errorf(content.Attributes["stop_at"].Expr.Range(), "Campaign ends before it starts",
			"stop_at (%s) must be later than start_at (%s).", c.StopAt.Format(time.RFC3339), c.StartAt.Format(time.RFC3339)))
	}
	if a, ok := content.Attributes["max_recipients"]; ok {
		if f, ok := l.staticNumber(a, what, true, 0); ok {
			c.MaxRecipients = int(f)
		}
	}

	if a, ok := content.Attributes["holdout"]; ok {
		l.decodeHoldout(c, a)
	}

	var messages hcl.Blocks
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "send_window":
			if c.Window != nil {
				l.diags = append(l.diags, errorf(blk.DefRange, "Duplicate send_window",
					"A campaign has at most one send_window; one is already declared at %s.", c.Window.DeclRange))
				continue
			}
			c.Window = l.decodeSendWindow(c, blk)
		case "message":
			messages = append(messages, blk)
		}
	}
	if len(messages) == 0 {
		l.diags = append(l.diags, errorf(b.DefRange, "Campaign without messages",
			"Campaign %q has no message blocks, so it would send nothing. Add a message with a template for the first contact.", c.Name))
	}
	l.decodeMessages(c, messages)
}

// resolveRecipients resolves recipients = recipients.<name>.
func (l *loader) resolveRecipients(a *hcl.Attribute) *RecipientSet {
	t, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() || len(t) != 2 || t.RootName() != "recipients" {
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid recipients",
			"recipients must name a recipients block, as in recipients = recipients.customers."))
		return nil
	}
	name, _ := traverserName(t[1])
	set, ok := l.cfg.Recipients[name]
	if !ok {
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Unknown recipients",
			"There is no recipients block named %q.%s", name, didYouMean(name, slices.Sorted(maps.Keys(l.cfg.Recipients)))))
		return nil
	}
	return set
}

// The range of campaign times: anything outside is a typo, and the zero
// time stands for "unset".
var (
	earliestTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latestTime   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// staticTime evaluates an RFC 3339 time.
func (l *loader) staticTime(a *hcl.Attribute, what string) time.Time {
	s, ok := l.staticString(a, what, false)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid time",
			"%s must be an RFC 3339 time with its UTC offset, such as \"2026-11-27T08:00:00+03:00\"; %q is not.", a.Name, s))
		return time.Time{}
	}
	if t.Before(earliestTime) || !t.Before(latestTime) {
		// Also keeps the zero time, which means "unset", from being set.
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Time out of range",
			"%s must be in the years 2000 to 2199; %q is not. Leave %s out for no bound.", a.Name, s, a.Name))
		return time.Time{}
	}
	return t
}

func (l *loader) decodeSendWindow(c *Campaign, b *hcl.Block) *SendWindow {
	w := &SendWindow{DeclRange: b.DefRange, root: l.cfg.root, loc: time.UTC}
	content, diags := b.Body.Content(sendWindowSchema)
	l.diags = append(l.diags, diags...)
	what := fmt.Sprintf("the send_window of campaign %q", c.Name)
	for _, name := range []string{"from", "to"} {
		a, ok := content.Attributes[name]
		if !ok {
			continue
		}
		s, ok := l.staticString(a, what, false)
		if !ok {
			continue
		}
		d, err := parseClock(s)
		if err != nil {
			l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid time of day", "%s: %s.", name, err))
			continue
		}
		if name == "from" {
			w.From = d
		} else {
			w.To = d
		}
	}
	a, ok := content.Attributes["time_zone"]
	if !ok {
		return w
	}
	var use rowUse
	sc := refScope{what: what, rowOK: true, recipient: true, use: &use}
	if c.Recipients != nil && c.Recipients.Columns != nil {
		sc.columns, sc.csv = c.Recipients.Columns, c.Recipients.block.table.name
	}
	sc.noColumns = sc.columns == nil
	zone := l.newExpr(a.Expr, sc)
	l.prepare(zone)
	l.compileFast(zone, sc.columns)
	if zone.broken {
		return w
	}
	if c.Recipients != nil {
		w.shape = use.shape(c.Recipients.Columns)
	}
	unknown := &evalScope{root: l.cfg.root, unknown: true}
	w.zone = zone
	w.loc = nil
	loc, diags := w.location(unknown)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		zone.broken = true
		w.loc = time.UTC
	} else if loc != nil {
		w.loc = loc // constant zone: checked once, here
	}
	return w
}
