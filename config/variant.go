package config

import (
	"fmt"
	"math"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Variant is a variant block of a message: one of the contents a message
// with variants sends, to the share Weight / (sum of the weights) of the
// campaign's recipients (see Campaign.Assign).
type Variant struct {
	Name      string
	Weight    int
	DeclRange hcl.Range
	content

	block *hcl.Block
}

// Template returns the name of the template v sends, "" when it sends
// another kind of content.
func (v *Variant) Template() string {
	return v.template
}

var variantSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "weight", Required: true},
		{Name: "template"},
		{Name: "variables"},
		{Name: "text"},
		{Name: "interactive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "media"}},
}

// Split returns the message of c whose variants assign each recipient a
// variant, nil when c has none.
func (c *Campaign) Split() *Message {
	for _, m := range c.Messages {
		if len(m.Variants) > 0 {
			return m
		}
	}
	return nil
}

// VariantNames returns the names of the variants of c's split message, in
// declaration order; nil without one.
func (c *Campaign) VariantNames() []string {
	m := c.Split()
	if m == nil {
		return nil
	}
	names := make([]string, len(m.Variants))
	for i, v := range m.Variants {
		names[i] = v.Name
	}
	return names
}

// Varies reports whether m's recipients are split by variant: m has
// variants, or follows a message that has. Then variant is in its scope.
func (m *Message) Varies() bool {
	return m.variantScope
}

// declareVariants names the variants of every message of c, before any
// content is decoded, so that each message knows whether variant is in its
// scope: it is in a message with variants and in those that follow one.
// A campaign splits its audience once.
func (l *loader) declareVariants(c *Campaign, contents map[*Message]*hcl.BodyContent) {
	var split *Message
	for _, m := range c.Messages {
		seen := map[string]*Variant{}
		for _, b := range contents[m].Blocks {
			if b.Type != "variant" {
				continue
			}
			name, ok := l.blockName(b)
			if !ok {
				m.checked = true
				continue
			}
			if prev, dup := seen[name]; dup {
				l.duplicate(b, name, prev.DeclRange)
				m.checked = true
				continue
			}
			v := &Variant{Name: name, DeclRange: b.DefRange, block: b}
			seen[name] = v
			m.Variants = append(m.Variants, v)
		}
		if len(m.Variants) == 0 {
			continue
		}
		if split != nil {
			l.diags = append(l.diags, errorf(m.Variants[0].DeclRange, "Variants in two messages",
				"Campaign %q already assigns its recipients variants in message %q (%s). A campaign splits its audience once, and the messages that follow read the assigned name as variant: keep the variant blocks in one message, and write the others' content with variant, as in text = variant == %q ? \"...\" : \"...\".",
				c.Name, split.Name, split.Variants[0].DeclRange, split.Variants[0].Name))
			m.checked = true
			continue
		}
		split = m
	}
	for _, m := range c.Messages {
		for a := m; a != nil; a = a.After {
			if len(a.Variants) > 0 {
				m.variantScope = true
				break
			}
		}
	}
}

// decodeVariants decodes the variant blocks of m, which has no content of
// its own, each like a message's content.
func (l *loader) decodeVariants(m *Message, body *hcl.BodyContent, media hcl.Blocks, firstContact bool, sc refScope, newExpr func(hcl.Expression) *expr) {
	for _, name := range []string{"template", "variables", "text", "interactive"} {
		if a, ok := body.Attributes[name]; ok {
			l.contentAndVariants(m, name, a.NameRange)
		}
	}
	for _, b := range media {
		l.contentAndVariants(m, "a media block", b.DefRange)
	}
	if len(m.Variants) == 1 {
		v := m.Variants[0]
		l.diags = append(l.diags, errorf(v.DeclRange, "Only one variant",
			"Message %q has one variant, %q, and variants split the recipients between two or more. Add another variant block to compare them, or move the content of %q into the message and remove the variant block.",
			m.Name, v.Name, v.Name))
		m.checked = true
	}
	var kindOf *Variant // the first variant whose content decoded
	for _, v := range m.Variants {
		vc, diags := v.block.Body.Content(variantSchema)
		l.diags = append(l.diags, diags...)
		what := fmt.Sprintf("variant %q of message %q", v.Name, m.Name)
		if a, ok := vc.Attributes["weight"]; ok {
			if f, ok := l.staticNumber(a, what, true, 1); ok {
				v.Weight = int(f)
			} else {
				m.checked = true
			}
		}
		w := who{noun: "variant", name: what, Name: capitalize(what), rng: v.DeclRange, checked: &m.checked}
		if !l.decodeContent(&v.content, vc.Attributes, vc.Blocks, w, firstContact, sc, newExpr) {
			m.checked = true
			continue
		}
		switch {
		case kindOf == nil:
			kindOf = v
			m.Kind = v.Kind
		case v.Kind != kindOf.Kind:
			l.diags = append(l.diags, errorf(v.DeclRange, "Variants of different kinds",
				"Variant %q of message %q sends %s, and variant %q sends %s. The variants of a message send one kind of content, so that the message is a first contact or a follow-up alike for everyone; compare the same kind.",
				v.Name, m.Name, v.Kind, kindOf.Name, kindOf.Kind))
			m.checked = true
		}
	}
}

func (l *loader) contentAndVariants(m *Message, what string, rng hcl.Range) {
	l.diags = append(l.diags, errorf(rng, "Content and variants",
		"Message %q has both %s and variant blocks. A message holds either its own content or variant blocks, each with its own content: move %s into the variants.",
		m.Name, what, what))
	m.checked = true
}

// variantValues lists the values variant takes in m, to check m once for
// each: its own variants' names, those of the message with variants it
// follows, or "" alone when variant is not in its scope.
func (m *Message) variantValues() []string {
	if !m.variantScope {
		return []string{""}
	}
	for a := m; a != nil; a = a.After {
		if len(a.Variants) > 0 {
			return a.Campaign.VariantNames()
		}
	}
	return []string{""}
}

// contentFor returns what m sends to a recipient assigned variant: its
// own content, or its variant of that name.
func (m *Message) contentFor(variant string) (*content, hcl.Diagnostics) {
	if len(m.Variants) == 0 {
		return &m.content, nil
	}
	for _, v := range m.Variants {
		if v.Name == variant {
			return &v.content, nil
		}
	}
	names := make([]string, len(m.Variants))
	for i, v := range m.Variants {
		names[i] = v.Name
	}
	return nil, hcl.Diagnostics{errorf(m.DeclRange, "Unknown variant",
		"Message %q has no variant %q; its variants are %s.", m.Name, variant, describeNames(names))}
}

// The assignment of recipients to variants and to the holdout. Both are
// hashes of the campaign's name and the recipient's key, and of nothing
// else, so that planning again, adding or removing recipients, and editing
// other messages never move anyone; nor renaming the campaign with a moved
// block, which makes the name hashed the one the campaign had (assignName).

// assignName is the name c's assignments hash: the name a moved block says
// c had before, else its own.
func (c *Campaign) assignName() string {
	if c.assignAs != "" {
		return c.assignAs
	}
	return c.Name
}

// HeldOut reports whether the recipient with key is in c's holdout: the
// control group, which gets nothing from the campaign. Its own hash, below
// the share Holdout, decides: raising the share only adds recipients.
func (c *Campaign) HeldOut(key string) bool {
	if c.Holdout <= 0 {
		return false
	}
	return unit(hashOf("ujumbe.holdout", c.assignName(), key, "")) < c.Holdout
}

// Assign returns the name of the variant of c's split message the
// recipient with key is assigned, "" when c has no variants. It is weighted
// rendezvous hashing: each variant scores -weight/ln(u), u a hash of the
// campaign, the key and the variant's name, and the highest score wins.
// A variant wins with the share weight / (sum of weights), and changing a
// weight moves only the recipients the new shares require.
func (c *Campaign) Assign(key string) string {
	m := c.Split()
	if m == nil {
		return ""
	}
	best, bestScore := "", math.Inf(-1)
	for _, v := range m.Variants {
		u := unit(hashOf("ujumbe.variant", c.assignName(), key, v.Name))
		// u is in (0, 1), so ln(u) < 0 and the score is positive.
		if score := -float64(max(v.Weight, 1)) / math.Log(u); score > bestScore {
			best, bestScore = v.Name, score
		}
	}
	return best
}

// hashOf is a 64-bit hash of its parts, each followed by a zero byte:
// FNV-1a, then the splitmix64 finaliser, which spreads FNV's weak low bits
// over all 64. It is fixed for good: changing it would move recipients.
func hashOf(parts ...string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= prime
		}
		h *= prime // the zero byte: ^0 leaves h as it is
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// unit maps h to (0, 1): its top 53 bits, offset by half a step.
func unit(h uint64) float64 {
	return (float64(h>>11) + 0.5) / (1 << 53)
}

// decodeHoldout decodes a campaign's holdout = share.
func (l *loader) decodeHoldout(c *Campaign, a *hcl.Attribute) {
	v, ok := l.staticValue(a.Expr, fmt.Sprintf("campaign %q", c.Name))
	if !ok {
		return
	}
	f, ok := numberOf(v)
	switch {
	case !ok:
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Incorrect value type",
			"holdout must be a number, the share of recipients kept out as a control group, as in holdout = 0.05 for 5%%; this is %s.", describeValue(v)))
	case f < 0 || f >= 1:
		hint := ""
		if f >= 1 && f < 100 {
			hint = fmt.Sprintf(" For %g%%, write holdout = %g.", f, f/100)
		}
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid holdout",
			"holdout is the share of recipients kept out as a control group, at least 0 and less than 1; it is %s.%s",
			strings.TrimSuffix(fmt.Sprintf("%g", f), ".0"), hint))
	default:
		c.Holdout = f
	}
}

// numberOf converts v to a float64, if it is a number or a string of one.
func numberOf(v cty.Value) (float64, bool) {
	v, _ = v.Unmark()
	nv, err := convert.Convert(v, cty.Number)
	if err != nil || nv.IsNull() {
		return 0, false
	}
	f, _ := nv.AsBigFloat().Float64()
	return f, true
}
