package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/ujumbe/ujumbe/internal/jsonstr"
)

// Reply is a recipient's answer to a message: the chosen button or list row
// (ID and Title) or free text (Text), and when it arrived. In expressions it
// is reply.id, reply.title, reply.text and reply.at (RFC 3339, UTC); fields
// that are not set are "".
type Reply struct {
	ID, Title, Text string
	At              time.Time
}

// Payload is the content of one send, exactly as it goes to Briq. Targeting
// (to, conversation_id, sender) is not part of it.
type Payload struct {
	Kind Kind `json:"kind"`
	// TemplateName and Variables are set for KindTemplate; Variables is
	// empty (possibly nil) for a template without parameters.
	TemplateName string            `json:"template_name,omitempty"`
	Variables    map[string]string `json:"variables,omitempty"`
	// Body is set for KindText.
	Body string `json:"body,omitempty"`
	// Media is set for KindMedia.
	Media *Media `json:"media,omitempty"`
	// Interactive is set for KindInteractive: the evaluated object as
	// canonical JSON (keys sorted, null attributes left out).
	Interactive json.RawMessage `json:"interactive,omitempty"`
}

// Media is the content of a media message.
type Media struct {
	Kind     string `json:"kind"` // IMAGE, DOCUMENT or VIDEO
	URL      string `json:"url"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// digestVersion prefixes the digested encoding, so that a future change of
// encoding cannot collide with today's digests.
const digestVersion = "ujumbe.payload.v1\n"

// Digest returns "sha256:<hex>" of p's canonical encoding. Equal content has
// equal digests on every run and machine.
func (p *Payload) Digest() string {
	sum := p.Sum()
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Sum is the SHA-256 that Digest spells out in hex.
func (p *Payload) Sum() [sha256.Size]byte {
	// encoding/json writes struct fields in order and map keys sorted, and
	// Interactive is canonical already, so the encoding is deterministic.
	// marshalJSON writes the same bytes without reflection when it can.
	buf := startSum()
	defer sumBuffers.Put(buf)
	if !p.marshalJSON(&buf.Buffer) {
		b, err := json.Marshal(p)
		if err != nil {
			// Only an invalid Interactive can fail, and Render never makes one.
			panic(fmt.Sprintf("config: digest of an invalid payload: %v", err))
		}
		buf.Truncate(len(digestVersion))
		buf.Write(b)
	}
	return sha256.Sum256(buf.Bytes())
}

// sumBuffers are the buffers in which Sum and ContentSum encode what they
// hash, each used again by the next: a plan takes millions.
var sumBuffers = sync.Pool{New: func() any { return new(jsonBuf) }}

// startSum returns a buffer of sumBuffers holding digestVersion, to which
// the caller appends the canonical encoding, hashes it all and puts the
// buffer back.
func startSum() *jsonBuf {
	buf := sumBuffers.Get().(*jsonBuf)
	buf.Reset()
	buf.unfit = false
	buf.WriteString(digestVersion)
	return buf
}

// marshalJSON writes json.Marshal(p) to b, byte for byte, or reports false
// (having written nothing) when it cannot tell it would: an invalid kind,
// or Interactive content that json.Marshal would compact or escape
// (Render's, valid JSON, is compact and escaped already).
func (p *Payload) marshalJSON(b *bytes.Buffer) bool {
	if p.Kind < 0 || int(p.Kind) >= len(kindNames) || !compactEscaped(p.Interactive) {
		return false
	}
	w := payloadWriter{b: b}
	w.kind(p.Kind)
	w.field("template_name", p.TemplateName)
	if len(p.Variables) > 0 {
		keys := maps.Keys(p.Variables)
		if len(p.Variables) > 1 {
			keys = slices.Values(slices.Sorted(keys))
		}
		for k := range keys {
			w.variable(k, p.Variables[k])
		}
		w.endVariables()
	}
	w.field("body", p.Body)
	if m := p.Media; m != nil {
		b.WriteString(`,"media":{"kind":`)
		writeJSONString(b, m.Kind)
		b.WriteString(`,"url":`)
		writeJSONString(b, m.URL)
		w.field("caption", m.Caption)
		w.field("filename", m.Filename)
		b.WriteByte('}')
	}
	if len(p.Interactive) > 0 {
		w.interactive()
		b.Write(p.Interactive)
	}
	w.end()
	return true
}

// payloadWriter writes the canonical JSON of a payload, field by field in
// the order of Payload's, each written only when set. marshalJSON writes a
// Payload with it and ContentSum content that was never built into one, so
// the two write the same bytes.
type payloadWriter struct {
	b    *bytes.Buffer
	vars int // the template variables written so far
}

// kind opens the object with its kind, which must be valid.
func (w *payloadWriter) kind(k Kind) {
	w.b.WriteString(`{"kind":`)
	writeJSONString(w.b, kindNames[k])
}

// field writes a string field, unless v is empty.
func (w *payloadWriter) field(name, v string) {
	if v != "" {
		w.b.WriteString(`,"`)
		w.b.WriteString(name)
		w.b.WriteString(`":`)
		writeJSONString(w.b, v)
	}
}

// variable writes one template variable; they must come in key order, and
// endVariables follows the last.
func (w *payloadWriter) variable(k, v string) {
	if w.vars == 0 {
		w.b.WriteString(`,"variables":{`)
	} else {
		w.b.WriteByte(',')
	}
	w.vars++
	writeJSONString(w.b, k)
	w.b.WriteByte(':')
	writeJSONString(w.b, v)
}

// endVariables closes the variables, when any were written.
func (w *payloadWriter) endVariables() {
	if w.vars > 0 {
		w.b.WriteByte('}')
	}
}

// interactive starts the interactive field; the caller writes the object,
// compact and escaped as json.Marshal would copy it.
func (w *payloadWriter) interactive() {
	w.b.WriteString(`,"interactive":`)
}

// end closes the object.
func (w *payloadWriter) end() {
	w.b.WriteByte('}')
}

// compactEscaped reports whether raw, taken as JSON, has no whitespace
// outside strings and nothing json.Marshal escapes in a RawMessage (<, >,
// &, U+2028, U+2029, whose UTF-8 starts with 0xE2): then json.Marshal
// copies it unchanged.
func compactEscaped(raw []byte) bool {
	in, esc := false, false
	for _, c := range raw {
		switch {
		case c == '<' || c == '>' || c == '&' || c == 0xE2:
			return false
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return !in
}

// Render evaluates m's content for r, with reply as the answer to m.After
// (nil when there is none yet: reply is then null) and variant as the
// recipient's variant (its name; "" where variant is not in m's scope): of
// a message with variants, it renders that variant. It checks the
// per-recipient limits (lengths, interactive limits, string template
// variables) and returns diagnostics at the expression, naming r, on
// failure; the payload is nil then.
func (m *Message) Render(r *Recipient, reply *Reply, variant string) (*Payload, hcl.Diagnostics) {
	return m.render(r, reply, variant, true)
}

// render is Render, from the compiled forms of the content's expressions
// when fast and they allow it (fastRender).
func (m *Message) render(r *Recipient, reply *Reply, variant string, fast bool) (*Payload, hcl.Diagnostics) {
	c, diags := m.contentFor(variant)
	if c == nil {
		return nil, diags
	}
	if p, ok := c.fastRender(r); fast && ok {
		return p, nil
	}
	p, diags := c.render(m.answerScope(r, reply, variant))
	if p == nil && !diags.HasErrors() {
		// Every input is known, so this is a bug, not a user error.
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Content not known",
			Detail: fmt.Sprintf("The content of %s for recipient %q could not be determined.", m.Addr(), r.Key), Subject: m.DeclRange.Ptr()})
	}
	return p, diags
}

// When evaluates m's when condition for r and reply, with Render's scope;
// it is true when m has no condition. Without an answer reply is null, and
// HCL refuses reply.id on null; so when that fails, the condition is tried
// again with a reply whose attributes are all null, which makes
// reply.id == "yes" false while reply == null stays true.
func (m *Message) When(r *Recipient, reply *Reply, variant string) (bool, hcl.Diagnostics) {
	if m.when == nil {
		return true, nil
	}
	if m.when.roots != rootReply {
		return m.when1(r, reply, variant)
	}
	// A condition that reads nothing but reply has the same value for
	// every recipient with the same answer, or with none: evaluated once
	// per answer, unless it reports anything, whose diagnostics name the
	// recipient. Most questions have a few answers (their buttons); past
	// maxWhenMemo distinct ones (free text, times) the rest are evaluated
	// each time.
	if reply == nil {
		if w := m.noAnswer.Load(); w != nil {
			return *w, nil
		}
		ok, diags := m.when1(r, nil, variant)
		if len(diags) == 0 {
			m.noAnswer.Store(&ok)
		}
		return ok, diags
	}
	k := *reply
	k.At = k.At.UTC() // reply.at is the UTC time: one entry per instant
	if w, ok := m.answers.Load(k); ok {
		return w.(bool), nil
	}
	ok, diags := m.when1(r, reply, variant)
	if len(diags) == 0 && m.answered.Add(1) <= maxWhenMemo {
		m.answers.Store(k, ok)
	}
	return ok, diags
}

// maxWhenMemo bounds the answers whose when value a message remembers.
const maxWhenMemo = 64

// when1 is When, evaluated for r.
func (m *Message) when1(r *Recipient, reply *Reply, variant string) (bool, hcl.Diagnostics) {
	ok, known, diags := m.answerScope(r, reply, variant).bool(m.when, "when")
	if reply == nil && diags.HasErrors() && m.when.roots&rootReply != 0 {
		ok2, known2, diags2 := m.scope(r, noAnswer, variant).bool(m.when, "when")
		if !diags2.HasErrors() {
			ok, known, diags = ok2, known2, diags2
		}
	}
	if !known {
		return false, diags
	}
	return ok, diags
}

// noAnswer is reply with every attribute null, for When.
var noAnswer = cty.ObjectVal(map[string]cty.Value{
	"id":    cty.NullVal(cty.String),
	"title": cty.NullVal(cty.String),
	"text":  cty.NullVal(cty.String),
	"at":    cty.NullVal(cty.String),
})

// scope returns the evaluation scope of m for r.
func (m *Message) scope(r *Recipient, reply cty.Value, variant string) *evalScope {
	s := &evalScope{root: m.root, shape: m.shape, row: r.row, key: r.Key, phone: r.Phone, line: r.Line, stale: true, roots: m.roots}
	if r.set != nil && r.set.block != nil && r.set.block.table != nil {
		s.file = r.set.block.table.name
	}
	if m.hasAfter {
		s.reply = reply
	}
	if m.variantScope {
		s.variant = cty.StringVal(variant)
	}
	return s
}

// answerScope is scope with reply as the answer (nil for none), made into
// a value only when an expression needs it: a compiled expression reads
// only the row, and building reply costs more than such a render.
func (m *Message) answerScope(r *Recipient, reply *Reply, variant string) *evalScope {
	s := m.scope(r, cty.NilVal, variant)
	if m.hasAfter {
		s.answer, s.lazyReply = reply, true
	}
	return s
}

// replyValue returns `reply` for r: null when there is no answer.
func replyValue(r *Reply) cty.Value {
	if r == nil {
		return cty.NullVal(replyType)
	}
	at := ""
	if !r.At.IsZero() {
		at = r.At.UTC().Format(time.RFC3339)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"id":    cty.StringVal(r.ID),
		"title": cty.StringVal(r.Title),
		"text":  cty.StringVal(r.Text),
		"at":    cty.StringVal(at),
	})
}

// render evaluates c in s. The payload is nil when there are errors or, in
// an unknown scope, when some of the content is unknown.
func (c *content) render(s *evalScope) (*Payload, hcl.Diagnostics) {
	r := renderer{s: s, known: true}
	p := c.renderWith(&r)
	if !r.known || r.diags.HasErrors() {
		return nil, r.diags
	}
	return p, r.diags
}

// renderWith evaluates c with r, which collects the problems.
func (c *content) renderWith(r *renderer) *Payload {
	p := &Payload{Kind: c.Kind}
	switch c.Kind {
	case KindTemplate:
		p.TemplateName = c.template
		p.Variables = r.variables(c)
	case KindText:
		p.Body = r.str(c.text, "text", maxTextLen, true)
	case KindMedia:
		p.Media = r.media(c.media)
	case KindInteractive:
		p.Interactive = r.interactive(c.interactive)
	}
	return p
}

// renderer accumulates the outcome of one render.
type renderer struct {
	s     *evalScope
	diags hcl.Diagnostics
	known bool // false once a part is unknown or failed
}

// str evaluates a string attribute and checks its length. Empty strings are
// refused when required.
func (r *renderer) str(e *expr, what string, max int, required bool) string {
	v, ok, diags := r.s.str(e, what)
	r.diags = append(r.diags, diags...)
	if !ok {
		r.known = false
		return ""
	}
	r.checkLen(e, what, v, max, required)
	return v
}

func (r *renderer) checkLen(e *expr, what, v string, max int, required bool) {
	if fitsLen(v, max, required) {
		return
	}
	if required && strings.TrimSpace(v) == "" {
		r.diags = append(r.diags, r.s.errorf(e, "Empty "+what, "The %s is empty; WhatsApp does not send empty %s.", what, what))
		return
	}
	if n := utf8.RuneCountInString(v); n > max {
		d := r.s.errorf(e, capitalize(what)+" too long",
			"The %s has %d characters; Briq accepts at most %d.", what, n, max)
		// The printer would quote the values the expression read, which
		// can be thousands of characters here.
		d.Expression, d.EvalContext = nil, nil
		r.diags = append(r.diags, d)
	}
}

// fitsLen reports whether v passes checkLen: at most max characters, and
// not blank when required.
func fitsLen(v string, max int, required bool) bool {
	return fitsCount(utf8.RuneCountInString(v), strings.TrimSpace(v) == "", max, required)
}

// fitsCount is fitsLen for a string of n characters, blank or not.
func fitsCount(n int, blank bool, max int, required bool) bool {
	return !(required && blank) && n <= max
}

// variables evaluates the template variables: a map of strings, none empty.
func (r *renderer) variables(m *content) map[string]string {
	if m.items != nil {
		out := make(map[string]string, len(m.items))
		for i := range m.items {
			it := &m.items[i]
			v, ok, diags := r.s.str(it.e, it.what)
			r.diags = append(r.diags, diags...)
			if !ok {
				r.known = false
				continue
			}
			if r.emptyVariable(it.e, it.key, v) || r.refusedVariable(it.e, it.key, v) {
				continue
			}
			out[it.key] = v
		}
		return out
	}
	if m.variables == nil {
		return nil
	}
	e := m.variables
	v, diags := r.s.value(e)
	r.diags = append(r.diags, diags...)
	switch {
	case diags.HasErrors():
		r.known = false
		return nil
	case v.ContainsMarked():
		r.diags = append(r.diags, r.s.errorf(e, "Sensitive value not allowed",
			"The template variables use a sensitive value. Message content appears in plans and state, so it cannot contain sensitive values."))
		r.known = false
		return nil
	case !v.IsKnown():
		r.known = false
		return nil
	case v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()):
		r.diags = append(r.diags, r.s.errorf(e, "Incorrect value type",
			"variables must be an object of strings such as { \"1\" = row.first_name }, but this is %s.", describeValue(v)))
		r.known = false
		return nil
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		key := k.AsString()
		sv, err := convert.Convert(ev, cty.String) // numbers and bools, as str converts them
		switch {
		case err != nil:
			r.diags = append(r.diags, r.s.errorf(e, "Incorrect value type",
				"The template variable %q must be a string, but this is %s.", key, describeValue(ev)))
			r.known = false
		case !ev.IsKnown():
			r.known = false
		case ev.IsNull():
			r.diags = append(r.diags, r.s.errorf(e, "Missing value",
				"The template variable %q is null; it must be a string.", key))
			r.known = false
		default:
			if v := sv.AsString(); !r.emptyVariable(e, key, v) && !r.refusedVariable(e, key, v) {
				out[key] = v
			}
		}
	}
	return out
}

// variableAllowed reports whether a template variable passes emptyVariable
// and refusedVariable: WhatsApp takes it.
func variableAllowed(v string) bool {
	what, _ := variableRefusal(v)
	return strings.TrimSpace(v) != "" && what == ""
}

// emptyVariable reports an empty template variable, which WhatsApp refuses.
func (r *renderer) emptyVariable(e *expr, key, v string) bool {
	if strings.TrimSpace(v) != "" {
		return false
	}
	r.diags = append(r.diags, r.s.errorf(e, "Empty template variable",
		"The template variable %q is empty, and WhatsApp refuses template parameters without text. Give a fallback, as in coalesce(row.first_name, \"there\").", key))
	return true
}

// refusedVariable reports a template variable WhatsApp refuses (Meta's
// error 132018): one with a newline, a tab or more than 4 consecutive
// spaces. Per recipient, the diagnostic names the CSV line.
func (r *renderer) refusedVariable(e *expr, key, v string) bool {
	what, fix := variableRefusal(v)
	if what == "" {
		return false
	}
	d := r.s.errorf(e, "Template variable refused by WhatsApp",
		"The template variable %q contains %s, and WhatsApp refuses template parameters with line breaks, tabs or more than 4 consecutive spaces. Clean the value where it comes from%s.", key, what, fix)
	d.Expression, d.EvalContext = nil, nil // the value can be long
	r.diags = append(r.diags, d)
	return true
}

// variableRefusal returns what in v WhatsApp refuses in a template
// variable, and how to fix it in the expression; "" when nothing.
func variableRefusal(v string) (what, fix string) {
	switch {
	case strings.ContainsAny(v, "\n\r"):
		return "a line break", `, or replace it in the expression, with replace(..., "\n", " ")`
	case strings.ContainsRune(v, '\t'):
		return "a tab", `, or replace it in the expression, with replace(..., "\t", " ")`
	case strings.Contains(v, "     "):
		return "more than 4 spaces in a row", ""
	}
	return "", ""
}

func (r *renderer) media(mc *mediaContent) *Media {
	out := &Media{Kind: mc.kind}
	if mc.url != nil {
		out.URL = r.str(mc.url, "media url", 2048, true)
		if out.URL != "" {
			u, err := url.Parse(out.URL)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				r.diags = append(r.diags, r.s.errorf(mc.url, "Invalid media URL",
					"The media url must be a public https:// URL that WhatsApp can download; %q is not.", out.URL))
			}
		}
	}
	if mc.caption != nil {
		out.Caption = r.str(mc.caption, "caption", maxCaptionLen, false)
	}
	if mc.filename != nil {
		out.Filename = r.str(mc.filename, "filename", maxFilenameLen, false)
	}
	return out
}

func (r *renderer) interactive(e *expr) json.RawMessage {
	v, diags := r.s.value(e)
	r.diags = append(r.diags, diags...)
	if diags.HasErrors() {
		r.known = false
		return nil
	}
	if v.ContainsMarked() {
		r.diags = append(r.diags, r.s.errorf(e, "Sensitive value not allowed",
			"The interactive message uses a sensitive value. Message content appears in plans and state, so it cannot contain sensitive values."))
		r.known = false
		return nil
	}
	for _, p := range checkInteractive(v) {
		d := r.s.errorf(e, p.summary, "%s", p.detail)
		d.Subject = rangeAt(e.Expression, p.path).Ptr()
		if p.tooLong {
			d.Expression, d.EvalContext = nil, nil // as in checkLen
		}
		r.diags = append(r.diags, d)
	}
	if !v.IsWhollyKnown() {
		r.known = false
		return nil
	}
	var b bytes.Buffer
	if err := writeJSON(&b, v); err != nil {
		r.diags = append(r.diags, r.s.errorf(e, "Invalid interactive object", "%s.", capitalize(err.Error())))
		r.known = false
		return nil
	}
	return b.Bytes()
}

// writeJSON writes v as canonical JSON: object keys sorted, null object
// attributes left out (so that header = cond ? {...} : null means "no
// header"), numbers in their shortest exact decimal form. A marked or
// unknown value anywhere in v is an error.
func writeJSON(b *bytes.Buffer, v cty.Value) error {
	if v.IsMarked() {
		return fmt.Errorf("a sensitive value cannot be sent")
	}
	if !v.IsKnown() {
		return fmt.Errorf("an unknown value cannot be sent")
	}
	if v.IsNull() {
		b.WriteString("null")
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		writeJSONString(b, v.AsString())
	case ty == cty.Bool:
		if v.True() {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case ty == cty.Number:
		f := v.AsBigFloat()
		if f.IsInf() {
			return fmt.Errorf("the number %s cannot be sent as JSON", f.String())
		}
		b.WriteString(f.Text('f', -1))
	case ty.IsObjectType() || ty.IsMapType():
		// cty iterates objects and maps in key order.
		b.WriteByte('{')
		first := true
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			if ev.IsNull() {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeJSONString(b, k.AsString())
			b.WriteByte(':')
			if err := writeJSON(b, ev); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		b.WriteByte('[')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, ev := it.Element()
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, ev); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		return fmt.Errorf("a value of type %s cannot be sent as JSON", ty.FriendlyName())
	}
	return nil
}

// writeJSONString writes s as encoding/json does (jsonstr.Append).
func writeJSONString(b *bytes.Buffer, s string) {
	b.Grow(len(s) + 2) // room for s unescaped: b's own buffer is appended to
	b.Write(jsonstr.Append(b.AvailableBuffer(), s))
}

// writeJSONChars writes s as writeJSONString does, without the quotes.
func writeJSONChars(b *bytes.Buffer, s string) {
	b.Grow(len(s))
	b.Write(jsonstr.AppendChars(b.AvailableBuffer(), s))
}
