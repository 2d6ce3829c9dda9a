package config

import (
	"crypto/sha256"
)

// ContentSum returns the Sum of the payload Render(r, reply, variant)
// returns, for any reply, without building it: the compiled forms of the
// content's expressions (see fastexpr.go) write the canonical encoding
// that Sum hashes straight into a reused buffer, with no evaluation scope,
// no variables map and no Payload. Content of constants and row columns
// costs no allocation.
//
// ok is false when it cannot be done that way, and the caller renders: an
// expression that is not compiled (one that reads reply, recipient or
// variant, or has a shape fastexpr.go does not know), a function call that
// fails, variables not written as { key = expression, ... }, media, or
// content that fails a check Render makes on template variables or text,
// so that Render reports it.
//
// checked reports whether ok also means that Render reports no problem. It
// is false for interactive content that breaks WhatsApp's limits, and for
// interactive content whose checks could not be compiled (see
// compileInteractive): those need the evaluated object. A caller that must
// report those problems renders such content; one that only compares
// digests need not.
func (m *Message) ContentSum(r *Recipient, variant string) (sum [sha256.Size]byte, checked, ok bool) {
	c, _ := m.contentFor(variant)
	if c == nil {
		return sum, false, false
	}
	buf := startSum()
	defer sumBuffers.Put(buf)
	w := payloadWriter{b: &buf.Buffer}
	w.kind(c.Kind)
	checked = true
	switch c.Kind {
	case KindTemplate:
		if c.variables != nil && c.items == nil {
			return sum, false, false
		}
		w.field("template_name", c.template)
		for _, i := range c.byKey {
			it := &c.items[i]
			if it.e.fastStr == nil {
				return sum, false, false
			}
			v, ok := it.e.fastStr(r.row)
			if !ok || !variableAllowed(v) {
				return sum, false, false
			}
			w.variable(it.key, v)
		}
		w.endVariables()
	case KindText:
		if c.text.fastStr == nil {
			return sum, false, false
		}
		v, ok := c.text.fastStr(r.row)
		if !ok || !fitsLen(v, maxTextLen, true) {
			return sum, false, false
		}
		w.field("body", v)
	case KindInteractive:
		// fastJSON writes what writeJSON would: compact, and with every
		// string escaped by encoding/json, so json.Marshal copies it as
		// it is (see compactEscaped).
		if c.interactive.fastJSON == nil {
			return sum, false, false
		}
		w.interactive()
		if !c.interactive.fastJSON(buf, r.row) {
			return sum, false, false
		}
		checked = c.interactive.limitsCompiled && !buf.unfit
	default:
		return sum, false, false
	}
	w.end()
	return sha256.Sum256(buf.Bytes()), checked, true
}

// ContentChecked reports what ContentSum's checked and ok report together,
// that Render(r, reply, variant) would report no problem for any reply,
// without writing or summing the payload: for a send due later, whose
// content is rendered when it falls due and whose problems are reported
// now. False means that it cannot tell, and the caller renders.
func (m *Message) ContentChecked(r *Recipient, variant string) bool {
	c, _ := m.contentFor(variant)
	if c == nil {
		return false
	}
	switch c.Kind {
	case KindTemplate:
		if c.variables != nil && c.items == nil {
			return false
		}
		for i := range c.items {
			it := &c.items[i]
			if it.e.fastStr == nil {
				return false
			}
			if v, ok := it.e.fastStr(r.row); !ok || !variableAllowed(v) {
				return false
			}
		}
		return true
	case KindText:
		if c.text.fastStr == nil {
			return false
		}
		v, ok := c.text.fastStr(r.row)
		return ok && fitsLen(v, maxTextLen, true)
	case KindInteractive:
		if c.interactive.fastJSON == nil || !c.interactive.limitsCompiled {
			return false
		}
		for i := range c.interactive.fastChecks {
			if fit, ok := c.interactive.fastChecks[i].fits(r.row); !fit || !ok {
				return false
			}
		}
		return true
	}
	return false
}

// fastRender is Render for content that ContentSum answers, checked: the
// same Payload, from the compiled forms of its expressions, without an
// evaluation scope. Those read neither reply nor variant, and pass every
// check Render makes, so there is nothing to report. ok is false for other
// content, which the caller renders. An interactive message rendered this
// way costs a microsecond instead of tens (apply renders every send that
// is due).
func (c *content) fastRender(r *Recipient) (p *Payload, ok bool) {
	p = &Payload{Kind: c.Kind}
	switch c.Kind {
	case KindTemplate:
		if c.variables != nil && c.items == nil {
			return nil, false
		}
		p.TemplateName = c.template
		if c.items != nil {
			p.Variables = make(map[string]string, len(c.items))
		}
		for i := range c.items {
			it := &c.items[i]
			if it.e.fastStr == nil {
				return nil, false
			}
			v, ok := it.e.fastStr(r.row)
			if !ok || !variableAllowed(v) {
				return nil, false
			}
			p.Variables[it.key] = v
		}
	case KindText:
		if c.text.fastStr == nil {
			return nil, false
		}
		if p.Body, ok = c.text.fastStr(r.row); !ok || !fitsLen(p.Body, maxTextLen, true) {
			return nil, false
		}
	case KindInteractive:
		if c.interactive.fastJSON == nil || !c.interactive.limitsCompiled {
			return nil, false
		}
		var buf jsonBuf
		if !c.interactive.fastJSON(&buf, r.row) || buf.unfit {
			return nil, false
		}
		p.Interactive = buf.Bytes()
	default:
		return nil, false
	}
	return p, true
}
