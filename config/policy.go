package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// FrequencyCap is the frequency_cap block: at most Max business-initiated
// (template) messages to one phone in any rolling Per, across every
// campaign of the state.
type FrequencyCap struct {
	Max int
	Per time.Duration
	// DeclRange is the block's header.
	DeclRange hcl.Range
}

// The WhatsApp limits' defaults on the provider block.
const (
	// defaultPairSpacing is the least time between two messages to one
	// phone: Meta's pair rate limit allows about one message every 6
	// seconds to the same user.
	defaultPairSpacing = 6 * time.Second
	// maxPairSpacing bounds pair_spacing: it is a rate, not a schedule.
	maxPairSpacing = time.Hour
	// minSettle and maxSettle bound settle: longer than a request may
	// take (briq's client gives up after a minute), and not so long that
	// a send in doubt waits days.
	minSettle, maxSettle = 2 * time.Minute, 24 * time.Hour
)

var frequencyCapSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "max", Required: true},
		{Name: "per", Required: true},
	},
}

// decodeFrequencyCaps reads the frequency_cap block, of which there may be
// one; further ones are reported, and checked all the same.
func (l *loader) decodeFrequencyCaps(blocks hcl.Blocks) {
	for i, b := range blocks {
		if i > 0 {
			l.diags = append(l.diags, errorf(b.DefRange, "Duplicate frequency_cap",
				"A frequency_cap block was already declared at %s. The cap covers every campaign, so there is one; merge the two.", blocks[0].DefRange))
		}
		if fc := l.decodeFrequencyCap(b); i == 0 {
			l.cfg.FrequencyCap = fc
		}
	}
}

// decodeFrequencyCap returns the cap b declares, nil when it has errors.
func (l *loader) decodeFrequencyCap(b *hcl.Block) *FrequencyCap {
	content, diags := b.Body.Content(frequencyCapSchema)
	l.diags = append(l.diags, diags...)
	const what = "the frequency_cap block"
	fc := &FrequencyCap{DeclRange: b.DefRange}
	ok := true
	if a, found := content.Attributes["max"]; found {
		f, valid := l.staticNumber(a, what, true, 1)
		fc.Max, ok = int(f), ok && valid
	}
	if a, found := content.Attributes["per"]; found {
		d, valid := l.duration(a, what, "per", "the rolling window the cap counts over, such as \"168h\" or \"7d\"", maxDelay, false)
		fc.Per, ok = d, ok && valid
	}
	if !ok || diags.HasErrors() {
		return nil
	}
	return fc
}

// duration reads attribute a, called name, as a duration written as a
// delay is ("6s", "168h", "7d"), up to most; zero only when allowZero.
// meaning says, for the diagnostic, what the value is.
func (l *loader) duration(a *hcl.Attribute, what, name, meaning string, most time.Duration, allowZero bool) (time.Duration, bool) {
	s, ok := l.staticString(a, what, false)
	if !ok {
		return 0, false
	}
	d, err := parseDelay(s)
	switch {
	case err != nil:
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid "+name,
			"%s is %s: %s.", name, meaning, err))
		return 0, false
	case d == 0 && !allowZero:
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid "+name,
			"%s is %s, and must be longer than 0; it is %q.", name, meaning, s))
		return 0, false
	case d > most:
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid "+name,
			"%s is %s, at most %s; it is %q.", name, meaning, most, s))
		return 0, false
	}
	return d, true
}

// decodeLimits reads the provider block's WhatsApp limits:
// daily_first_contacts (the number's messaging tier) and pair_spacing;
// and settle, which bounds how late Briq may show a message.
func (l *loader) decodeLimits(p *Provider, attrs hcl.Attributes) {
	const what = "the provider block"
	if a, ok := attrs["daily_first_contacts"]; ok {
		if f, ok := l.staticNumber(a, what, true, 1); ok {
			p.DailyFirstContacts = int(f)
		}
	}
	if a, ok := attrs["pair_spacing"]; ok {
		meaning := fmt.Sprintf("the least time between two messages to one phone, such as %q (\"0s\" turns it off)", defaultPairSpacing.String())
		if d, ok := l.duration(a, what, "pair_spacing", meaning, maxPairSpacing, true); ok {
			p.PairSpacing = d
		}
	}
	if a, ok := attrs["settle"]; ok {
		const meaning = "how long after a send in doubt refresh waits before it may call it absent, such as \"10m\""
		if d, ok := l.duration(a, what, "settle", meaning, maxSettle, false); ok && d < minSettle {
			l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid settle",
				"settle is %s, at least %s: a request may be on its way to Briq for a minute.", meaning, minSettle))
		} else if ok {
			p.Settle = d
		}
	}
}
