package plan

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/internal/jsonstr"
	"github.com/ujumbe/ujumbe/state"
)

// FormatVersion is the version of the JSON plan document and of saved plans.
const FormatVersion = "1"

// samplesPerMessage is how many of each message's due sends the plan shows
// with their rendered content.
const samplesPerMessage = 3

// Document is the machine-readable plan (`plan -json`). The human renderer
// reads only this, so the two never disagree.
type Document struct {
	FormatVersion string         `json:"format_version"`
	CreatedAt     time.Time      `json:"created_at"`
	Lineage       string         `json:"lineage"`
	Serial        uint64         `json:"serial"`
	Filtered      bool           `json:"filtered,omitempty"`
	Summary       map[string]int `json:"summary"` // sends per class name, every class present
	// Holdout is how many of the orphan sends are held out: the control
	// groups of campaigns with a holdout, which get nothing by design.
	Holdout  int          `json:"holdout,omitempty"`
	Messages []MessageDoc `json:"messages"`
	// Sends lists every send when the document is built with all sends.
	Sends []SendDoc `json:"sends,omitempty"`
}

// MessageDoc summarises one message's sends.
type MessageDoc struct {
	Address string         `json:"address"` // campaign.NAME.message.NAME
	Kind    string         `json:"kind,omitempty"`
	Counts  map[string]int `json:"counts"` // only classes present
	// NextDue is the earliest due time of its scheduled sends, and
	// NextDueLocal the same in the campaign's time zone (its send_window's,
	// when that is one zone and not UTC), as the operator reads it.
	NextDue      *time.Time `json:"next_due,omitempty"`
	NextDueLocal string     `json:"next_due_local,omitempty"`
	// Variants counts, for a message whose recipients are split by
	// variant, its sends per variant name; the held-out recipients are in
	// Holdout, the campaign's control group, instead.
	Variants map[string]int `json:"variants,omitempty"`
	Holdout  int            `json:"holdout,omitempty"`
	// Samples are a few sends with their rendered content: the first that
	// apply would send, and one of each other class but done.
	Samples []SendDoc `json:"samples,omitempty"`
}

// SendDoc is one send.
type SendDoc struct {
	Address string     `json:"address"`
	Class   string     `json:"class"`
	Mark    string     `json:"mark"`
	Reason  string     `json:"reason,omitempty"`
	Due     *time.Time `json:"due,omitempty"`
	// DueLocal is Due in the campaign's time zone, as NextDueLocal.
	DueLocal string `json:"due_local,omitempty"`
	Phone    string `json:"phone,omitempty"`
	// Digest is the send's Item.Digest in hex: of the content it would
	// send now, or was sent with; none for a send scheduled for later,
	// which is rendered when it falls due.
	Digest         string `json:"digest,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	// Variant is the recipient's variant, for a message split by variant.
	Variant string `json:"variant,omitempty"`
	// Content is the rendered request content (samples only).
	Content json.RawMessage `json:"content,omitempty"`
}

// head is the plan's Document without counts, messages or sends.
func (p *Plan) head() *Document {
	return &Document{
		FormatVersion: FormatVersion,
		CreatedAt:     p.CreatedAt.UTC(),
		Lineage:       p.Lineage,
		Serial:        p.Serial,
		Filtered:      p.Filtered,
		Summary:       map[string]int{},
	}
}

// Document builds the plan's JSON document; withSends includes every send.
// It goes through the items once: at millions of sends, a pass per
// message and a map update per send were most of a round of apply -wait.
func (p *Plan) Document(withSends bool) *Document {
	d := p.head()
	// Counts by class (a Class is an ASCII mark), of the plan and of each
	// message, made maps at the end.
	var summary [128]int
	type tally struct {
		counts  [128]int
		sending int        // samples of sends taken
		seen    [128]bool  // classes with a sample
		first   addrs.Addr // the campaign and message
	}
	var tallies []tally
	index := map[string]int{}
	mi := -1 // the message of the previous item: a message's items come together
	var prev *config.Message
	for i := range p.Items {
		it := &p.Items[i]
		summary[it.Class]++
		// A send of the previous send's Message is of its message, told
		// without Addr, which brings the recipient into memory.
		if (it.Message == nil || it.Message != prev) && (mi < 0 || !sameMessage(it.Addr(), tallies[mi].first)) {
			addr := it.Addr().MessagePattern().String()
			var ok bool
			if mi, ok = index[addr]; !ok {
				mi = len(d.Messages)
				index[addr] = mi
				md := MessageDoc{Address: addr, Counts: map[string]int{}}
				if it.Message != nil {
					md.Kind = it.Message.Kind.String()
				}
				d.Messages = append(d.Messages, md)
				tallies = append(tallies, tally{first: it.Addr()})
				tallies[mi].seen[Done] = true
			}
		}
		prev = it.Message
		md, t := &d.Messages[mi], &tallies[mi]
		t.counts[it.Class]++
		switch {
		case it.Holdout:
			md.Holdout++
			d.Holdout++
		case it.variant != 0:
			if md.Variants == nil {
				md.Variants = map[string]int{}
			}
			md.Variants[it.Variant()]++
		}
		if it.Class == Scheduled && !it.Due().IsZero() && (md.NextDue == nil || it.Due().Before(*md.NextDue)) {
			due := it.Due().UTC()
			md.NextDue = &due
			md.NextDueLocal = localTime(it, due)
		}
		// Samples: the first few sends that apply sends, and the first of
		// every other class but done, so a reviewer sees an example of
		// each reason.
		switch {
		case it.Class.Sends() && t.sending < samplesPerMessage:
			t.sending++
			md.Samples = append(md.Samples, sendDoc(it, true))
		case !it.Class.Sends() && !t.seen[it.Class]:
			t.seen[it.Class] = true
			md.Samples = append(md.Samples, sendDoc(it, true))
		}
		if withSends {
			d.Sends = append(d.Sends, sendDoc(it, false))
		}
	}
	for _, c := range Classes {
		d.Summary[c.Name()] = summary[c]
		for i := range tallies {
			if n := tallies[i].counts[c]; n > 0 {
				d.Messages[i].Counts[c.Name()] = n
			}
		}
	}
	return d
}

// WriteJSON writes the document with every send, Document(true), as
// json.Encoder writes it (one line), but encodes the sends one at a time
// instead of holding a SendDoc for each: at a million sends that is
// hundreds of megabytes.
func (p *Plan) WriteJSON(w io.Writer) error {
	// Sends is the document's last field, so the rest is the document
	// without sends, up to its closing brace.
	head, err := json.Marshal(p.Document(false))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if len(p.Items) == 0 {
		bw.Write(head)
		bw.WriteByte('\n')
		return bw.Flush()
	}
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"sends":[`)
	var sw sendWriter
	for i := range p.Items {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(sw.append(&p.Items[i]))
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// sendWriter writes sends as json.Marshal writes sendDoc(it, false), into
// buffers it uses again: at millions of sends, what json.Marshal would
// allocate for each is garbage that raises the peak.
type sendWriter struct {
	buf, addr []byte
}

// append returns the JSON of it, valid until the next call. (A due time, Unix
// nanoseconds, lies between the years 1677 and 2262, all of which
// json.Marshal writes.)
func (w *sendWriter) append(it *Item) []byte {
	due := it.Due()
	w.addr = it.Addr().Pattern().Append(w.addr[:0])
	b := append(w.buf[:0], `{"address":`...)
	b = jsonstr.Append(b, w.addr)
	b = jsonstr.Append(append(b, `,"class":`...), it.Class.Name())
	b = jsonstr.Append(append(b, `,"mark":`...), it.Class.String())
	b = appendField(b, "reason", it.Reason)
	if !due.IsZero() {
		b = append(due.AppendFormat(append(b, `,"due":"`...), time.RFC3339Nano), '"')
		b = appendField(b, "due_local", localTime(it, due))
	}
	b = appendField(b, "phone", it.Phone())
	if it.Digest != (state.Digest{}) {
		b = append(hex.AppendEncode(append(b, `,"digest":"`...), it.Digest[:]), '"')
	}
	b = appendField(b, "conversation_id", it.ConversationID())
	b = appendField(b, "variant", it.Variant())
	w.buf = append(b, '}')
	return w.buf
}

// appendField appends ,"name":value unless value is "" (omitempty).
func appendField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":`...)
	return jsonstr.Append(b, value)
}

func sendDoc(it *Item, withContent bool) SendDoc {
	sd := SendDoc{
		Address:        it.Addr().String(),
		Class:          it.Class.Name(),
		Mark:           it.Class.String(),
		Reason:         it.Reason,
		Phone:          it.Phone(),
		ConversationID: it.ConversationID(),
		Variant:        it.Variant(),
	}
	if it.Digest != (state.Digest{}) {
		sd.Digest = it.Digest.String()
	}
	if !it.Due().IsZero() {
		due := it.Due().UTC()
		sd.Due = &due
		sd.DueLocal = localTime(it, due)
	}
	if withContent {
		if p, ok := it.Content(); ok {
			sd.Content = RequestContent(p)
		}
	}
	return sd
}

// sameMessage reports whether the sends at a and b are of one message.
func sameMessage(a, b addrs.Addr) bool {
	return a.Campaign == b.Campaign && a.Message == b.Message
}

// localTime writes t in the time zone of it's campaign, its send window's
// when that is one zone and not UTC; "" otherwise.
func localTime(it *Item, t time.Time) string {
	if it.Message == nil || it.Message.Campaign == nil || it.Message.Campaign.Window == nil {
		return ""
	}
	if loc := it.Message.Campaign.Window.Zone(); loc != nil && loc != time.UTC {
		return t.In(loc).Format("2006-01-02 15:04 MST")
	}
	return ""
}
