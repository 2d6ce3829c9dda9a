package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/ujumbe/ujumbe/addrs"
	"github.com/zclconf/go-cty/cty"
)

// Kind is the kind of content a message sends.
type Kind int

// The content kinds, one per message.
const (
	KindTemplate Kind = iota
	KindText
	KindMedia
	KindInteractive
)

var kindNames = [...]string{
	KindTemplate:    "template",
	KindText:        "text",
	KindMedia:       "media",
	KindInteractive: "interactive",
}

// String returns the kind's name as the configuration spells it.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText encodes k as its name, for JSON.
func (k Kind) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(kindNames) {
		return nil, fmt.Errorf("invalid message kind %d", int(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText decodes a kind name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, name := range kindNames {
		if name == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown message kind %q", b)
}

// Message is a message block: one send per recipient of its campaign.
type Message struct {
	Name     string
	Campaign *Campaign
	// After is the message this one follows up, in the same conversation;
	// nil for a first contact, which is always a template.
	After *Message
	// Delay is how long after After was accepted this message is due.
	Delay time.Duration
	// HasWhen is set when the message has a when condition.
	HasWhen   bool
	DeclRange hcl.Range

	root     *hcl.EvalContext
	shape    *rowShape // the columns the message's expressions read
	roots    int       // per-recipient names the message uses
	hasAfter bool      // after is written, even if it did not resolve

	when *expr
	// noAnswer is the value of when for every recipient without an answer,
	// once known (see When).
	noAnswer atomic.Pointer[bool]
	// answers holds the value of when by answer (a Reply with its time in
	// UTC), for a when that reads nothing but reply; answered counts the
	// answers stored, at most maxWhenMemo (see When).
	answers  sync.Map
	answered atomic.Int32

	// content is what the message sends, unless it has Variants: then each
	// variant has its own, and Kind is theirs.
	content
	// Variants are the message's variant blocks, in declaration order; nil
	// for a message with content of its own.
	Variants []*Variant
	// variantScope is set when `variant` is in scope: the message has
	// variants or follows one that has.
	variantScope bool

	// checked is set when a problem was reported at load, so validating
	// every recipient would only repeat it.
	checked bool
}

// content is what a message or one of its variants sends: exactly one kind.
type content struct {
	Kind        Kind
	template    string
	variables   *expr          // the variables expression, when items is nil
	items       []templateItem // variables written as { key = expression, ... }
	byKey       []int          // the indexes of items in key order, the JSON's
	text        *expr
	media       *mediaContent
	interactive *expr
	// inputs seeds the fingerprints of InputSum; 0 when the content has
	// none.
	inputs uint64
}

// templateItem is one entry of a variables object with a constant key.
type templateItem struct {
	key  string
	what string // "template variable \"1\"", for messages
	e    *expr
}

// mediaContent is a media block.
type mediaContent struct {
	kind                   string // IMAGE, DOCUMENT or VIDEO
	url, caption, filename *expr  // caption and filename may be nil
}

// Template returns the name of the template m sends, "" when m is not a
// template message. It is the same for every recipient.
func (m *Message) Template() string {
	return m.template
}

// WhenRange returns where m's when condition is written, for showing its
// source; the zero range when m has none.
func (m *Message) WhenRange() hcl.Range {
	if m.when == nil {
		return hcl.Range{}
	}
	return m.when.Range()
}

// Addr returns the message's address, campaign.<c>.message.<m>.
func (m *Message) Addr() addrs.Pattern {
	return addrs.Pattern{Campaign: m.Campaign.Name, Message: m.Name}
}

// Briq's documented maximum lengths, in characters (send-a-message:
// body ≤ 4096, caption ≤ 1024, template_name ≤ 512, filename ≤ 255).
const (
	maxTextLen         = 4096
	maxCaptionLen      = 1024
	maxTemplateNameLen = 512
	maxFilenameLen     = 255
)

// mediaKinds are Briq's media_kind values for POST /v1/whatsapp/messages.
var mediaKinds = []string{"IMAGE", "DOCUMENT", "VIDEO"}

var messageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "after"},
		{Name: "delay"},
		{Name: "when"},
		{Name: "template"},
		{Name: "variables"},
		{Name: "text"},
		{Name: "interactive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "media"}, {Type: "variant", LabelNames: []string{"name"}}},
}

var mediaSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "kind", Required: true},
		{Name: "url", Required: true},
		{Name: "caption"},
		{Name: "filename"},
	},
}

// decodeMessages decodes a campaign's message blocks in three steps: names,
// then after (which may point forward), then content.
func (l *loader) decodeMessages(c *Campaign, blocks hcl.Blocks) {
	byName := map[string]*Message{}
	contents := map[*Message]*hcl.BodyContent{}
	for _, b := range blocks {
		name, ok := l.blockName(b)
		if !ok {
			continue
		}
		if prev, dup := byName[name]; dup {
			l.duplicate(b, name, prev.DeclRange)
			continue
		}
		m := &Message{Name: name, Campaign: c, DeclRange: b.DefRange, root: l.cfg.root}
		byName[name] = m
		c.Messages = append(c.Messages, m)
		content, diags := b.Body.Content(messageSchema)
		l.diags = append(l.diags, diags...)
		contents[m] = content
	}
	names := slices.Sorted(maps.Keys(byName))
	for _, m := range c.Messages {
		if a, ok := contents[m].Attributes["after"]; ok {
			m.After = l.resolveAfter(a, m, byName, names)
		}
	}
	broken := l.checkCycles(c)
	l.declareVariants(c, contents)
	for _, m := range c.Messages {
		l.decodeMessage(m, contents[m], broken[m])
	}
	for _, m := range c.Messages {
		l.checkWhenIDs(m)
	}
}

// resolveAfter resolves after = message.<name> within the campaign.
func (l *loader) resolveAfter(a *hcl.Attribute, m *Message, byName map[string]*Message, names []string) *Message {
	t, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() || len(t) != 2 || t.RootName() != "message" {
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid after",
			"after must name another message of the same campaign, as in after = message.offer."))
		return nil
	}
	name, _ := traverserName(t[1])
	after, ok := byName[name]
	if !ok {
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Unknown message",
			"Campaign %q has no message named %q.%s after can only name a message of the same campaign.",
			m.Campaign.Name, name, didYouMean(name, names)))
		return nil
	}
	return after
}

// checkCycles reports messages whose after chain loops, and returns them so
// their content is not checked as if they were reachable.
func (l *loader) checkCycles(c *Campaign) map[*Message]bool {
	inCycle := map[*Message]bool{}
	for _, m := range c.Messages {
		seen := map[*Message]bool{}
		var chain []string
		for cur := m; cur != nil; cur = cur.After {
			if seen[cur] {
				if cur == m {
					inCycle[m] = true
					l.diags = append(l.diags, errorf(m.DeclRange, "Cycle in after",
						"Message %q follows itself through after: %s. Each message follows one earlier message, and the first contact follows none.",
						m.Name, strings.Join(append(chain, m.Name), " → ")))
				}
				break
			}
			seen[cur] = true
			chain = append(chain, cur.Name)
		}
	}
	for m := range inCycle {
		// Keep later steps (planning, rendering) from walking the loop.
		m.After = nil
	}
	return inCycle
}

// decodeMessage decodes the content of m.
func (l *loader) decodeMessage(m *Message, content *hcl.BodyContent, inCycle bool) {
	attrs := content.Attributes
	what := fmt.Sprintf("message %q", m.Name)
	_, hasAfter := attrs["after"]
	m.hasAfter = hasAfter
	var use rowUse
	sc := refScope{what: what, rowOK: true, recipient: true, reply: replyNoAfter, use: &use, variant: m.variantScope}
	if hasAfter {
		sc.reply = replyOK
	}
	if set := m.Campaign.Recipients; set != nil && set.Columns != nil {
		sc.columns, sc.csv = set.Columns, set.block.table.name
	} else {
		sc.noColumns = true
	}
	newExpr := func(e hcl.Expression) *expr {
		x := l.newExpr(e, sc)
		l.prepare(x)
		l.compileFast(x, sc.columns)
		m.roots |= x.roots
		return x
	}

	if a, ok := attrs["delay"]; ok {
		if !hasAfter {
			l.diags = append(l.diags, errorf(a.NameRange, "delay without after",
				"delay counts from the message named by after, and this message has no after. A first contact goes out as soon as the campaign allows (start_at, send_window)."))
		} else if s, ok := l.staticString(a, what, false); ok {
			d, err := parseDelay(s)
			if err != nil {
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid delay", "%s.", capitalize(err.Error())))
			} else {
				m.Delay = d
			}
		}
	}
	if a, ok := attrs["when"]; ok {
		m.HasWhen = true
		if !hasAfter {
			l.diags = append(l.diags, errorf(a.NameRange, "when without after",
				"when decides whether a follow-up is sent, usually from reply, the answer to the after message. This message has no after, so it cannot have when; filter recipients with where in the recipients block instead."))
			m.checked = true
		} else {
			m.when = newExpr(a.Expr)
		}
	}

	var media hcl.Blocks
	for _, b := range content.Blocks {
		if b.Type == "media" {
			media = append(media, b)
		}
	}
	first := !hasAfter && !inCycle
	if len(m.Variants) > 0 {
		l.decodeVariants(m, content, media, first, sc, newExpr)
	} else if !l.decodeContent(&m.content, attrs, media, messageWho(m), first, sc, newExpr) {
		m.checked = true
		return
	}

	if set := m.Campaign.Recipients; set != nil {
		m.shape = use.shape(set.Columns)
	} else {
		m.shape = &rowShape{}
	}
	l.checkMessage(m)
}

// who names a message or a variant in diagnostics: noun is "message" or
// "variant", name the whole phrase (`message "offer"`, `variant "short" of
// message "offer"`), with a capital in Name.
type who struct {
	noun, name, Name string
	rng              hcl.Range // the block, for a missing content
	checked          *bool     // set when a problem is reported
}

func messageWho(m *Message) who {
	n := fmt.Sprintf("message %q", m.Name)
	return who{noun: "message", name: n, Name: capitalize(n), rng: m.DeclRange, checked: &m.checked}
}

// decodeContent decodes the content attributes and media blocks of a
// message or variant into c: exactly one kind. It reports false when no
// kind could be told, and nothing more can be checked.
func (l *loader) decodeContent(c *content, attrs hcl.Attributes, media hcl.Blocks, w who, firstContact bool, sc refScope, newExpr func(hcl.Expression) *expr) bool {
	type kindAt struct {
		kind Kind
		rng  hcl.Range
		name string
	}
	var kinds []kindAt
	for _, k := range []struct {
		name string
		kind Kind
	}{{"template", KindTemplate}, {"text", KindText}, {"interactive", KindInteractive}} {
		if a, ok := attrs[k.name]; ok {
			kinds = append(kinds, kindAt{k.kind, a.NameRange, k.name})
		}
	}
	for _, b := range media {
		kinds = append(kinds, kindAt{KindMedia, b.DefRange, "media"})
	}
	switch {
	case len(kinds) == 0:
		l.diags = append(l.diags, errorf(w.rng, capitalize(w.noun)+" without content",
			"%s has no content. A %s has exactly one of template (with variables), text, media or interactive.", w.Name, w.noun))
		return false
	case len(kinds) > 1 && kinds[0].kind == KindMedia && kinds[1].kind == KindMedia:
		l.diags = append(l.diags, errorf(kinds[1].rng, "Duplicate media block",
			"%s has more than one media block; a %s sends one media file. Split it into several messages.", w.Name, w.noun))
		return false
	case len(kinds) > 1:
		l.diags = append(l.diags, errorf(kinds[1].rng, "Several content kinds",
			"%s has both %s and %s. A %s has exactly one of template (with variables), text, media or interactive; split it into two %ss.",
			w.Name, kinds[0].name, kinds[1].name, w.noun, w.noun))
		return false
	}
	c.Kind = kinds[0].kind
	if firstContact && c.Kind != KindTemplate {
		l.diags = append(l.diags, errorf(kinds[0].rng, "First contact must be a template",
			"%s has no after, so it opens the conversation, and WhatsApp only lets a business open one with an approved template. Use template = \"...\", or add after = message.<name> to send it as a follow-up.",
			w.Name))
		*w.checked = true
	}
	if a, ok := attrs["variables"]; ok && c.Kind != KindTemplate {
		l.diags = append(l.diags, errorf(a.NameRange, "variables without template",
			"variables are the parameters of a template, and %s has no template.", w.name))
		*w.checked = true
	}

	switch c.Kind {
	case KindTemplate:
		a := attrs["template"]
		if s, ok := l.staticString(a, w.name, false); ok {
			switch n := utf8.RuneCountInString(s); {
			case strings.TrimSpace(s) == "":
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Empty template name",
					"template must name an approved WhatsApp template."))
			case n > maxTemplateNameLen:
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Template name too long",
					"The template name has %d characters; Briq accepts at most %d.", n, maxTemplateNameLen))
			default:
				c.template = s
			}
		}
		if a, ok := attrs["variables"]; ok {
			c.variables = newExpr(a.Expr)
			c.items = l.templateItems(c.variables, sc)
			c.byKey = make([]int, len(c.items))
			for i := range c.byKey {
				c.byKey[i] = i
			}
			slices.SortFunc(c.byKey, func(i, j int) int { return strings.Compare(c.items[i].key, c.items[j].key) })
		}
	case KindText:
		c.text = newExpr(attrs["text"].Expr)
	case KindInteractive:
		c.interactive = newExpr(attrs["interactive"].Expr)
		l.compileInteractive(c.interactive, sc.columns)
	case KindMedia:
		c.media = l.decodeMedia(media[0], newExpr)
	}
	c.inputs = l.inputsOf(c, sc.columns)
	return true
}

// templateItems splits variables = { "1" = expr, ... } into its entries so
// that each is evaluated on its own: a column reference or a constant then
// costs nothing per recipient. It returns nil for any other expression.
func (l *loader) templateItems(vars *expr, sc refScope) []templateItem {
	if vars.broken {
		return nil
	}
	pairs, diags := hcl.ExprMap(vars.Expression)
	if diags.HasErrors() {
		return nil
	}
	sc.use = nil // the whole expression already recorded its columns
	items := make([]templateItem, 0, len(pairs))
	seen := map[string]bool{}
	for _, p := range pairs {
		k, diags := p.Key.Value(nil)
		if diags.HasErrors() || k.Type() != cty.String || k.IsNull() || !k.IsKnown() {
			return nil
		}
		key := k.AsString()
		if seen[key] {
			// A duplicate key is an error HCL reports when it builds the
			// object; keep the whole expression so it does.
			return nil
		}
		seen[key] = true
		// The references were checked on the whole expression; checking
		// again would only repeat the reports.
		n := len(l.diags)
		x := l.newExpr(p.Value, sc)
		l.diags = l.diags[:n]
		l.prepare(x)
		l.compileFast(x, sc.columns)
		items = append(items, templateItem{key: key, what: fmt.Sprintf("template variable %q", key), e: x})
	}
	return items
}

// decodeMedia decodes a media block.
func (l *loader) decodeMedia(b *hcl.Block, newExpr func(hcl.Expression) *expr) *mediaContent {
	content, diags := b.Body.Content(mediaSchema)
	l.diags = append(l.diags, diags...)
	mc := &mediaContent{}
	attrs := content.Attributes
	if a, ok := attrs["kind"]; ok {
		if s, ok := l.staticString(a, "a media block", false); ok {
			kind := strings.ToUpper(s)
			if indexOf(mediaKinds, kind) < 0 {
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Unsupported media kind",
					"kind must be one of %s; %q is not.%s", describeNames(mediaKinds), s, didYouMean(kind, mediaKinds)))
			} else {
				mc.kind = kind
			}
		}
	}
	if a, ok := attrs["url"]; ok {
		mc.url = newExpr(a.Expr)
	}
	if a, ok := attrs["caption"]; ok {
		mc.caption = newExpr(a.Expr)
	}
	if a, ok := attrs["filename"]; ok {
		if mc.kind != "" && mc.kind != "DOCUMENT" {
			l.diags = append(l.diags, errorf(a.NameRange, "filename only for documents",
				"filename is the name a document is shown with; an %s has none.", strings.ToLower(mc.kind)))
		} else {
			mc.filename = newExpr(a.Expr)
		}
	}
	return mc
}

// prepare evaluates an expression that uses no per-recipient name once, at
// load, and keeps its value.
func (l *loader) prepare(x *expr) {
	if x.broken || x.roots != 0 {
		return
	}
	v, diags := x.Value(l.cfg.root)
	l.diags = append(l.diags, diags...)
	switch {
	case diags.HasErrors():
		x.broken = true
	case v.IsWhollyKnown() && !v.ContainsMarked():
		x.static = v
	}
}

// checkMessage renders m once with every per-recipient value unknown (but
// variant, which it renders once per variant): type errors and limits
// broken by constants are reported here, once, and mark the message
// checked.
func (l *loader) checkMessage(m *Message) {
	for _, x := range m.exprs() {
		if x.broken {
			m.checked = true
		}
	}
	if m.checked {
		return
	}
	for _, v := range m.variantValues() {
		c, diags := m.contentFor(v)
		if c != nil {
			s := m.unknownScope(v)
			_, diags = c.render(s)
			if m.when != nil {
				_, _, d := s.bool(m.when, "when")
				diags = append(diags, d...)
			}
		}
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			m.checked = true
			return
		}
	}
}

// exprs returns m's expressions, its variants' included.
func (m *Message) exprs() []*expr {
	var out []*expr
	if m.when != nil {
		out = append(out, m.when)
	}
	out = m.content.exprs(out)
	for _, v := range m.Variants {
		out = v.content.exprs(out)
	}
	return out
}

// exprs appends c's expressions to out.
func (c *content) exprs(out []*expr) []*expr {
	for _, x := range []*expr{c.variables, c.text, c.interactive} {
		if x != nil {
			out = append(out, x)
		}
	}
	for _, it := range c.items {
		out = append(out, it.e)
	}
	if c.media != nil {
		for _, x := range []*expr{c.media.url, c.media.caption, c.media.filename} {
			if x != nil {
				out = append(out, x)
			}
		}
	}
	return out
}

// unknownScope returns a scope in which row, recipient and reply are
// unknown, and variant is the given one.
func (m *Message) unknownScope(variant string) *evalScope {
	s := &evalScope{root: m.root, shape: m.shape, unknown: true, stale: true}
	if m.hasAfter {
		s.reply = cty.UnknownVal(replyType)
	}
	if m.variantScope {
		s.variant = cty.StringVal(variant)
	}
	return s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}
