package state

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/ujumbe/ujumbe/addrs"
)

// group holds the sends of one message of one campaign. A plan loads up to
// millions of sends, so they are kept densely and with few pointers for the
// collector to follow: recs by value in one slice, an index of 8-byte slots
// from key to position (a column of its campaign's table), and the text
// fields of many recs in one string.
//
// Every field is read under the State's read lock and changed under its
// write lock (or by load, the state's only user then). Text chunks are
// strings, so a Send handed out keeps pieces of them that never change.
type group struct {
	key   groupKey
	recs  []rec     // in no particular order; a removed rec's place takes the last one
	index index     // recipient key → position in recs
	text  []string  // chunks of text entries (appendTexts); rec.chunk indexes it
	more  []recMore // the fields few sends have; rec.more is 1 + a position here
	buf   []byte    // where set makes a text entry
}

// rec is the compact form of a Send kept in memory: 72 bytes and no pointer,
// plus its text entry (about 50 bytes for a send with a key, a phone equal
// to it and two UUIDs). The times few sends have are out of line, in a
// recMore.
type rec struct {
	digest   Digest
	inputs   uint64
	intentAt int64 // Unix milliseconds; 0 is the zero time
	resultAt int64
	updateAt int64
	chunk    uint32 // the text entry is in group.text[chunk] ...
	at       uint32 // ... from this byte
	attempts int32
	more     uint32 // 0, or 1 + the position of its recMore in group.more
	outcome  Outcome
	status   ProviderStatus
	variant  uint16 // the variant's number in variants
	own      bool   // the chunk holds this rec's entry alone, and is replaced with it
	systemic bool
	kind     Kind
}

// recMore holds the fields few sends have, so the others do not pay for
// them. The reply's text fields are at the end of the rec's text entry.
type recMore struct {
	deliveredAt, readAt int64
	replyAt             int64
	windowSeen          int64
	windowExpires       int64
	history             []Attempt
	reply               bool
	windowOpen          bool
}

// A text entry holds a rec's text fields one after the other, each a
// uvarint length and its bytes: the key; the phone (0 when it equals the
// key, else 1 + its length); the message and conversation ids (see
// appendID); the error code and message; and, for a send with a reply, the
// reply's id, title, text and message id (appendID).
//
// Text fields are at most maxField bytes (maxText for a reply's title and
// text), checked before they reach the state.

// appendTexts appends the text entry of the fields f (indexed by tKey …
// tReplyMessageID) to dst; reply says whether the send has a reply.
func appendTexts[T string | []byte](dst []byte, f *[nTexts]T, reply bool) []byte {
	dst = appendText(dst, f[tKey])
	if string(f[tPhone]) == string(f[tKey]) {
		dst = append(dst, 0)
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(f[tPhone]))+1)
		dst = append(dst, f[tPhone]...)
	}
	dst = appendID(dst, f[tMessageID])
	dst = appendID(dst, f[tConversationID])
	dst = appendText(dst, f[tErrorCode])
	dst = appendText(dst, f[tErrorMessage])
	if reply {
		dst = appendText(dst, f[tReplyID])
		dst = appendText(dst, f[tReplyTitle])
		dst = appendText(dst, f[tReplyText])
		dst = appendID(dst, f[tReplyMessageID])
	}
	return dst
}

func appendText[T string | []byte](dst []byte, s T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendID appends an identifier: 0 for none, 1 and 16 bytes for a UUID in
// the canonical lowercase form Briq gives its ids in (36 bytes of text),
// otherwise 2 + its length and its bytes, so any other form is kept as it
// is.
func appendID[T string | []byte](dst []byte, id T) []byte {
	if len(id) == 0 {
		return append(dst, 0)
	}
	if u, ok := parseUUID(id); ok {
		dst = append(dst, 1)
		return append(dst, u[:]...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(id))+2)
	return append(dst, id...)
}

// parseUUID reads a UUID written as 8-4-4-4-12 lowercase hex digits, the
// only form appendUUID gives back byte for byte.
func parseUUID[T string | []byte](s T) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	var bad byte
	for j, i := range uuidDigits {
		hi, lo := hexValue[s[i]], hexValue[s[i+1]]
		bad |= hi | lo
		u[j] = hi<<4 | lo
	}
	return u, bad < 16
}

// uuidDigits are where each byte's two hex digits are in a UUID's text.
var uuidDigits = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// hexValue is the value of each lowercase hex digit, and 0xff for any other
// byte.
var hexValue = func() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		default:
			t[c] = 0xff
		}
	}
	return t
}()

// appendUUID appends the 16 bytes u as 8-4-4-4-12 lowercase hex digits.
func appendUUID[T string | []byte](dst []byte, u T) []byte {
	const digits = "0123456789abcdef"
	for i := range 16 {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, digits[u[i]>>4], digits[u[i]&15])
	}
	return dst
}

// textReader reads a text entry's fields in order.
type textReader struct {
	s string
	i int
}

func (t *textReader) uvarint() int {
	var n, shift int
	for {
		c := t.s[t.i]
		t.i++
		n |= int(c&0x7f) << shift
		if c < 0x80 {
			return n
		}
		shift += 7
	}
}

func (t *textReader) text() string {
	n := t.uvarint()
	t.i += n
	return t.s[t.i-n : t.i]
}

// skipIDs reads past the n ids (appendID) that follow.
func (t *textReader) skipIDs(n int) {
	for range n {
		switch k := t.uvarint(); k {
		case 0:
		case 1:
			t.i += 16
		default:
			t.i += k - 2
		}
	}
}

// ids reads the one or two ids (appendID) that follow into dst. The text of
// those that are UUIDs is made in one allocation.
func (t *textReader) ids(dst ...*string) {
	var buf [72]byte
	b := buf[:0]
	var uuids [2]bool
	for i, p := range dst {
		switch n := t.uvarint(); n {
		case 0:
			*p = ""
		case 1:
			b = appendUUID(b, t.s[t.i:t.i+16])
			t.i += 16
			uuids[i] = true
		default:
			*p = t.s[t.i : t.i+n-2]
			t.i += n - 2
		}
	}
	if len(b) == 0 {
		return
	}
	all := string(b)
	for i, p := range dst {
		if uuids[i] {
			*p, all = all[:36], all[36:]
		}
	}
}

// entry returns a reader of r's text entry.
func (g *group) entry(r *rec) textReader { return textReader{s: g.text[r.chunk], i: int(r.at)} }

// keyOf returns the recipient key of r.
func (g *group) keyOf(r *rec) string {
	t := g.entry(r)
	return t.text()
}

// send expands the rec at pos into a Send, with its ids or without them,
// and its reply in *reply when that is not nil (see State.Peek).
func (g *group) send(pos int, ids bool, reply *Reply) Send {
	var s Send
	g.sendTo(&s, pos, ids, reply)
	return s
}

// sendTo is send into *s: a Send is over 400 bytes, and a plan that looks
// up millions of sends copies each once less.
func (g *group) sendTo(s *Send, pos int, ids bool, reply *Reply) {
	r := &g.recs[pos]
	t := g.entry(r)
	*s = Send{
		Addr:           addrs.Addr{Campaign: g.key.campaign, Message: g.key.message, Key: t.text()},
		Digest:         r.digest,
		Inputs:         r.inputs,
		Attempts:       int(r.attempts),
		IntentAt:       fromMillis(r.intentAt),
		Outcome:        r.outcome,
		Systemic:       r.systemic,
		Kind:           r.kind,
		ProviderStatus: r.status,
		Variant:        variants.Name(r.variant),
		ResultAt:       fromMillis(r.resultAt),
		UpdatedAt:      fromMillis(r.updateAt),
	}
	if n := t.uvarint(); n == 0 {
		s.Phone = s.Addr.Key
	} else {
		t.i += n - 1
		s.Phone = t.s[t.i-(n-1) : t.i]
	}
	if ids {
		t.ids(&s.MessageID, &s.ConversationID)
	} else {
		t.skipIDs(2)
	}
	s.ErrorCode = t.text()
	s.ErrorMessage = t.text()
	if r.more == 0 {
		return
	}
	m := &g.more[r.more-1]
	s.DeliveredAt, s.ReadAt = fromMillis(m.deliveredAt), fromMillis(m.readAt)
	if m.windowSeen != 0 {
		s.Window = Window{SeenAt: fromMillis(m.windowSeen), Open: m.windowOpen, ExpiresAt: fromMillis(m.windowExpires)}
	}
	if m.reply {
		if reply == nil {
			reply = new(Reply)
		}
		*reply = Reply{ID: t.text(), Title: t.text(), Text: t.text(), At: fromMillis(m.replyAt)}
		s.Reply = reply
		if ids {
			t.ids(&s.Reply.MessageID)
		}
	}
	s.History = slices.Clone(m.history)
}

// messageID returns the message id of the rec at pos.
func (g *group) messageID(pos int) string {
	var id string
	g.ids(pos, &id)
	return id
}

// ids reads the message id and, with two dst, the conversation id of the
// rec at pos.
func (g *group) ids(pos int, dst ...*string) {
	t := g.entry(&g.recs[pos])
	t.text()
	t.i += max(t.uvarint()-1, 0)
	t.ids(dst...)
}

// makeRec returns the rec of s, without its text entry. Its text fields
// must be checked (at most maxField bytes each) before.
func makeRec(s *Send) rec {
	return rec{
		digest:   s.Digest,
		inputs:   s.Inputs,
		attempts: int32(min(s.Attempts, 1<<31-1)),
		outcome:  s.Outcome,
		systemic: s.Systemic,
		kind:     s.Kind,
		status:   s.ProviderStatus,
		variant:  variants.ID(s.Variant),
		intentAt: millis(s.IntentAt),
		resultAt: millis(s.ResultAt),
		updateAt: millis(s.UpdatedAt),
	}
}

// makeMore returns the recMore of s, and whether s needs one.
func makeMore(s *Send) (recMore, bool) {
	m := recMore{deliveredAt: millis(s.DeliveredAt), readAt: millis(s.ReadAt)}
	if w := s.Window; !w.SeenAt.IsZero() {
		m.windowSeen, m.windowOpen, m.windowExpires = millis(w.SeenAt), w.Open, millis(w.ExpiresAt)
	}
	if rp := s.Reply; rp != nil {
		m.reply, m.replyAt = true, millis(rp.At)
	}
	for _, h := range s.History {
		// Copies, so that a few ids do not keep a whole chunk or buffer alive.
		m.history = append(m.history, Attempt{At: fromMillis(millis(h.At)), Outcome: h.Outcome, Systemic: h.Systemic,
			MessageID: strings.Clone(h.MessageID), ConversationID: strings.Clone(h.ConversationID),
			ErrorCode: strings.Clone(h.ErrorCode)})
	}
	return m, m.deliveredAt != 0 || m.readAt != 0 || m.windowSeen != 0 || m.reply || len(m.history) > 0
}

// textsOf returns the text fields of s, indexed as appendTexts wants them.
func textsOf(s *Send) *[nTexts]string {
	f := [nTexts]string{tKey: s.Addr.Key, tPhone: s.Phone, tMessageID: s.MessageID,
		tConversationID: s.ConversationID, tErrorCode: s.ErrorCode, tErrorMessage: s.ErrorMessage}
	if rp := s.Reply; rp != nil {
		f[tReplyID], f[tReplyTitle], f[tReplyText], f[tReplyMessageID] = rp.ID, rp.Title, rp.Text, rp.MessageID
	}
	return &f
}

// set stores s in g, at pos or, if pos < 0, as a new rec. The caller holds
// the write lock. The rec keeps its own text chunk and recMore place when it
// has them, so a send changed again and again does not leave a trail behind.
func (g *group) set(pos int, s *Send) {
	r := makeRec(s)
	m, more := makeMore(s)
	g.buf = appendTexts(g.buf[:0], textsOf(s), m.reply)
	entry := string(g.buf)
	r.own = true
	if pos >= 0 && g.recs[pos].own {
		r.chunk = g.recs[pos].chunk
		g.text[r.chunk] = entry
	} else {
		r.chunk = uint32(len(g.text))
		g.text = append(g.text, entry)
	}
	switch {
	case more && pos >= 0 && g.recs[pos].more != 0:
		r.more = g.recs[pos].more
		g.more[r.more-1] = m
	case more:
		g.more = append(g.more, m)
		r.more = uint32(len(g.more))
	case pos >= 0 && g.recs[pos].more != 0:
		g.more[g.recs[pos].more-1] = recMore{} // let go of its history
	}
	if pos >= 0 {
		g.recs[pos] = r
		return
	}
	g.recs = append(g.recs, r)
	g.index.insert(g, len(g.recs)-1)
}

// remove forgets the rec at pos: the last rec takes its place.
func (g *group) remove(pos int) {
	r := &g.recs[pos]
	g.index.remove(g, g.keyOf(r))
	if r.own {
		g.text[r.chunk] = ""
	}
	if r.more != 0 {
		g.more[r.more-1] = recMore{}
	}
	last := len(g.recs) - 1
	if pos != last {
		g.recs[pos] = g.recs[last]
		g.index.move(g.keyOf(&g.recs[pos]), last, pos)
	}
	g.recs[last] = rec{}
	g.recs = g.recs[:last]
}

// find returns the position of key's rec, or -1.
func (g *group) find(key string) int {
	return g.index.find(g, key)
}
