package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// VariantFunnel is the funnel of one variant of a message: the sends to
// the recipients assigned it.
type VariantFunnel struct {
	Name string `json:"name"`
	// Recipients counts the sends of the message to recipients of the
	// variant, sent or not.
	Recipients int `json:"recipients"`
	Outcomes
	// ReplyRate is Replied / Sent, 0 before anything was sent.
	ReplyRate float64 `json:"reply_rate"`
}

// Comparison compares the reply rates of a message's two variants, A and B
// in declaration order: Difference is A's rate minus B's, and Low and High
// bound it with 95% confidence (Newcombe's hybrid score interval). An
// interval that contains 0 means the data cannot tell the variants apart.
type Comparison struct {
	A          string  `json:"a"`
	B          string  `json:"b"`
	Difference float64 `json:"difference"`
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
}

// Decided reports whether the interval leaves out 0: one variant's reply
// rate is higher than the other's with 95% confidence.
func (c *Comparison) Decided() bool {
	return c.Low > 0 || c.High < 0
}

// declareVariants adds the funnels of names, the variants the
// configuration declares, in their order.
func (m *Message) declareVariants(names []string) {
	for _, n := range names {
		m.variant(n)
	}
	m.declared = len(m.Variants)
}

// variant returns the funnel of the variant named name, adding it; nil
// for "", a send with no variant.
func (m *Message) variant(name string) *VariantFunnel {
	if name == "" {
		return nil
	}
	for _, v := range m.Variants {
		if v.Name == name {
			return v
		}
	}
	v := &VariantFunnel{Name: name}
	m.Variants = append(m.Variants, v)
	return v
}

// finishVariants sorts the variants only the state knows by name, works
// out the reply rates, and compares two variants.
func (m *Message) finishVariants() {
	slices.SortFunc(m.Variants[m.declared:], func(a, b *VariantFunnel) int { return cmp.Compare(a.Name, b.Name) })
	for _, v := range m.Variants {
		v.Outcomes.finish()
		if v.Sent > 0 {
			v.ReplyRate = float64(v.Replied) / float64(v.Sent)
		}
	}
	if len(m.Variants) == 2 {
		a, b := m.Variants[0], m.Variants[1]
		// Without a reply to either there is no rate to compare: a
		// template, say, that asks nothing.
		if a.Sent > 0 && b.Sent > 0 && a.Replied+b.Replied > 0 {
			low, high := Newcombe(a.Replied, a.Sent, b.Replied, b.Sent)
			m.Comparison = &Comparison{A: a.Name, B: b.Name, Difference: a.ReplyRate - b.ReplyRate, Low: low, High: high}
		}
	}
}

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// Wilson returns the 95% Wilson score interval of the proportion x/n.
func Wilson(x, n int) (low, high float64) {
	if n == 0 {
		return 0, 1
	}
	p, nf := float64(x)/float64(n), float64(n)
	z2 := z95 * z95
	center := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z95 / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, center-half), min(1, center+half)
}

// Newcombe returns the 95% confidence interval of the difference of two
// proportions, x1/n1 - x2/n2, by Newcombe's hybrid score method (method
// 10 of Newcombe, "Interval estimation for the difference between
// independent proportions", Statistics in Medicine 17, 1998), from the
// Wilson intervals of each. Unlike the textbook Wald interval it stays
// within [-1, 1] and holds its coverage for small counts and rates near 0,
// which reply rates often are.
func Newcombe(x1, n1, x2, n2 int) (low, high float64) {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	l1, u1 := Wilson(x1, n1)
	l2, u2 := Wilson(x2, n2)
	d := p1 - p2
	low = d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	high = d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	return low, high
}

// Sentence says what c shows, for people: the difference in percentage
// points with its interval, and whether a variant is ahead.
func (c *Comparison) Sentence() string {
	verdict := "no clear difference: the interval includes 0"
	switch {
	case c.Low > 0:
		verdict = c.A + " has the higher reply rate"
	case c.High < 0:
		verdict = c.B + " has the higher reply rate"
	}
	return fmt.Sprintf("reply rate %s − %s: %s points (95%% CI %s to %s), %s",
		c.A, c.B, points(c.Difference), points(c.Low), points(c.High), verdict)
}

// points writes a difference of rates in percentage points, signed.
func points(d float64) string {
	return strings.Replace(fmt.Sprintf("%+.1f", 100*d), "-", "−", 1)
}

// Percent writes a rate as a percentage with one decimal.
func Percent(rate float64) string {
	return fmt.Sprintf("%.1f%%", 100*rate)
}
