package state

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
)

// op is the kind of a record. Snapshots hold opSend and opOptOut records;
// the journal holds every kind but opSend.
type op uint8

const (
	opSend op = iota + 1
	opOptOut
	opIntent
	opResult
	opRefresh
	opRemove
	opMove
	opDefer
	opInbound
)

var opNames = [...]string{"", "send", "opt_out", "intent", "result", "refresh", "rm", "mv", "defer", "inbound"}

// record is one line of a state file: a whole send or opt-out (snapshot),
// or one change (journal).
type record struct {
	op op
	// send carries the address and the fields the op sets: everything for
	// opSend; Phone, Digest, IntentAt for opIntent; the result fields and
	// ResultAt for opResult; the refreshed fields and UpdatedAt for opRefresh;
	// MessageID, ErrorCode, ErrorMessage and ResultAt for opDefer.
	send    Send
	replace bool          // opIntent
	from    addrs.Pattern // opRemove
	moves   []Move        // opMove: all moved at once, or none
	counts  []int         // opMove: set by apply, how many sends each move moved
	optOut  OptOut        // opOptOut
	inbound time.Time     // opInbound: read up to then
}

// The record encoding is a flat JSON object with short keys, written and read
// by hand because encoding/json would make loading a million sends take
// several seconds. Empty and zero fields are left out.
//
//	op   record kind             c, m, k   campaign, message, recipient key
//	ph   phone                   dg        content digest (hex)
//	n    attempts                o         outcome name
//	id   message_id              cv        conversation_id
//	st   provider status         ec, em    error code and message
//	ti   intent time             tr        result time
//	tu   update time             tdl, trd  delivered and read times
//	rid, rtl, rtx, rat, rmi      reply id, title, text, time, message id
//	rpl  replace (true)          from, to  address patterns (rm, mv); an
//	                             mv of several moves has lists of them
//	tx, ta                       opt-out text and time
//	h    history: earlier attempts, oldest first, each an object with
//	     ti, o, id, cv, ec as above (format version 2)
//	tws, wo, twx                 conversation window: when seen, open
//	                             (true), expires at (format version 2)
//	vr   variant name            (format version 3)
//	in   inputs fingerprint, 16 hex digits (format version 4)
//	sy   the attempt failed for the run's reasons (true), in a send and
//	     in its history's attempts (format version 5)
//	kd   what the latest attempt sent: template, text, media or
//	     interactive (format version 6)
//	op "defer": an accepted send refused later, in the journal
//	     (format version 7)
//	op "inbound": refresh read every inbound message created before
//	     ta, in the journal (format version 8)
//
// Times are Unix milliseconds.

// appendRecord appends r's JSON encoding to dst.
func appendRecord(dst []byte, r *record) []byte {
	dst = append(dst, `{"op":"`...)
	dst = append(dst, opNames[r.op]...)
	dst = append(dst, '"')
	switch r.op {
	case opOptOut:
		o := &r.optOut
		dst = appendStr(dst, "ph", o.Phone)
		dst = appendStr(dst, "id", o.MessageID)
		dst = appendStr(dst, "tx", o.Text)
		dst = appendInt(dst, "ta", millis(o.At))
	case opInbound:
		dst = appendInt(dst, "ta", millis(r.inbound))
	case opRemove:
		dst = appendStr(dst, "from", r.from.String())
	case opMove:
		if len(r.moves) == 1 {
			dst = appendStr(dst, "from", r.moves[0].From.String())
			dst = appendStr(dst, "to", r.moves[0].To.String())
			break
		}
		for i, name := range []string{"from", "to"} {
			dst = append(dst, `,"`...)
			dst = append(dst, name...)
			dst = append(dst, `":[`...)
			for j, m := range r.moves {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendJSONString(dst, [2]addrs.Pattern{m.From, m.To}[i].String())
			}
			dst = append(dst, ']')
		}
	default:
		s := &r.send
		dst = appendStr(dst, "c", s.Addr.Campaign)
		dst = appendStr(dst, "m", s.Addr.Message)
		dst = appendStr(dst, "k", s.Addr.Key)
		dst = appendStr(dst, "ph", s.Phone)
		if s.Digest != (Digest{}) {
			dst = append(dst, `,"dg":"`...)
			dst = hex.AppendEncode(dst, s.Digest[:])
			dst = append(dst, '"')
		}
		if s.Inputs != 0 {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], s.Inputs)
			dst = append(dst, `,"in":"`...)
			dst = hex.AppendEncode(dst, b[:])
			dst = append(dst, '"')
		}
		dst = appendInt(dst, "n", int64(s.Attempts))
		dst = appendStr(dst, "vr", s.Variant)
		dst = appendStr(dst, "kd", s.Kind.String())
		if s.Outcome != OutcomeUnknown {
			dst = appendStr(dst, "o", s.Outcome.String())
		}
		if s.Systemic {
			dst = append(dst, `,"sy":true`...)
		}
		dst = appendStr(dst, "id", s.MessageID)
		dst = appendStr(dst, "cv", s.ConversationID)
		dst = appendStr(dst, "st", s.ProviderStatus.String())
		dst = appendStr(dst, "ec", s.ErrorCode)
		dst = appendStr(dst, "em", s.ErrorMessage)
		dst = appendInt(dst, "ti", millis(s.IntentAt))
		dst = appendInt(dst, "tr", millis(s.ResultAt))
		dst = appendInt(dst, "tu", millis(s.UpdatedAt))
		dst = appendInt(dst, "tdl", millis(s.DeliveredAt))
		dst = appendInt(dst, "trd", millis(s.ReadAt))
		if rp := s.Reply; rp != nil {
			dst = appendStr(dst, "rid", rp.ID)
			dst = appendStr(dst, "rtl", rp.Title)
			dst = appendStr(dst, "rtx", rp.Text)
			dst = appendInt(dst, "rat", millis(rp.At))
			dst = appendStr(dst, "rmi", rp.MessageID)
		}
		if w := s.Window; !w.SeenAt.IsZero() {
			dst = appendInt(dst, "tws", millis(w.SeenAt))
			if w.Open {
				dst = append(dst, `,"wo":true`...)
			}
			dst = appendInt(dst, "twx", millis(w.ExpiresAt))
		}
		if len(s.History) > 0 {
			dst = append(dst, `,"h":[`...)
			for i := range s.History {
				h := &s.History[i]
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `{"o":"`...)
				dst = append(dst, h.Outcome.String()...)
				dst = append(dst, '"')
				if h.Systemic {
					dst = append(dst, `,"sy":true`...)
				}
				dst = appendInt(dst, "ti", millis(h.At))
				dst = appendStr(dst, "id", h.MessageID)
				dst = appendStr(dst, "cv", h.ConversationID)
				dst = appendStr(dst, "ec", h.ErrorCode)
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		if r.replace {
			dst = append(dst, `,"rpl":true`...)
		}
	}
	return append(dst, '}')
}

func appendStr(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return appendJSONString(dst, v)
}

func appendInt(dst []byte, key string, v int64) []byte {
	if v == 0 {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return strconv.AppendInt(dst, v, 10)
}

// appendJSONString appends s, which must be valid UTF-8, as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// decoder reads records. It interns campaign and message names, which repeat
// on every line, so a loaded state holds one copy of each.
type decoder struct {
	names map[string]string
	last  string // the name interned last

	// What fields leaves for record: the text fields, as pieces of the
	// line (or of a buffer, when escaped), and the fields of rm, mv and
	// opt-out records.
	texts    [nTexts][]byte
	reply    Reply // r.send.Reply points here; its text fields are in texts
	from, to []string
	optText  string
	optAt    int64
}

func newDecoder() *decoder { return &decoder{names: map[string]string{}} }

func (d *decoder) intern(b []byte) string {
	if string(b) == d.last {
		return d.last
	}
	s, ok := d.names[string(b)]
	if !ok {
		s = string(b)
		d.names[s] = s
	}
	d.last = s
	return s
}

// Where the fields a rec packs are gathered while decoding.
const (
	tKey = iota
	tPhone
	tMessageID
	tConversationID
	tErrorCode
	tErrorMessage
	tReplyID
	tReplyTitle
	tReplyText
	tReplyMessageID
	nTexts
)

// record decodes one record written by appendRecord. It does not keep line.
// The send's text fields come as pieces of one string, so that loading
// makes one copy of them.
func (d *decoder) record(line []byte) (record, error) {
	var r record
	if err := d.fields(line, &r); err != nil {
		return r, err
	}
	var buf []byte
	for _, t := range d.texts {
		buf = append(buf, t...)
	}
	text := string(buf)
	var pieces [nTexts]string
	for i, t := range d.texts {
		pieces[i], text = text[:len(t)], text[len(t):]
	}
	s := &r.send
	s.Addr.Key, s.Phone, s.MessageID = pieces[tKey], pieces[tPhone], pieces[tMessageID]
	s.ConversationID, s.ErrorCode, s.ErrorMessage = pieces[tConversationID], pieces[tErrorCode], pieces[tErrorMessage]
	if s.Reply != nil {
		s.Reply = &Reply{ID: pieces[tReplyID], Title: pieces[tReplyTitle], Text: pieces[tReplyText],
			At: d.reply.At, MessageID: pieces[tReplyMessageID]}
	}
	return r, d.finish(&r)
}

// fields decodes one record written by appendRecord into r, but for its
// text fields, which it leaves in d.texts, valid until the next call, and
// the fields finish sets. A send's Reply, if it has one, is d.reply.
func (d *decoder) fields(line []byte, r *record) error {
	sc := scanner{b: line}
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return errors.New("not a JSON object")
	}
	sc.i = 1
	texts := &d.texts
	*texts = [nTexts][]byte{}
	d.reply, d.from, d.to, d.optText, d.optAt = Reply{}, nil, nil, "", 0
	reply := func() *Reply {
		r.send.Reply = &d.reply
		return r.send.Reply
	}
	s := &r.send
	for sc.err == nil {
		key := sc.key()
		switch string(key) {
		case "op":
			v := sc.str()
			for i, name := range opNames {
				if i > 0 && string(v) == name {
					r.op = op(i)
				}
			}
			if r.op == 0 {
				sc.fail("unknown op %q", v)
			}
		case "c":
			s.Addr.Campaign = d.intern(sc.str())
		case "m":
			s.Addr.Message = d.intern(sc.str())
		case "k":
			texts[tKey] = sc.str()
		case "ph":
			texts[tPhone] = sc.str()
		case "dg":
			if v := sc.str(); len(v) != hex.EncodedLen(len(s.Digest)) {
				sc.fail("bad digest")
			} else if _, err := hex.Decode(s.Digest[:], v); err != nil {
				sc.fail("bad digest: %v", err)
			}
		case "in":
			var b [8]byte
			if v := sc.str(); len(v) != hex.EncodedLen(len(b)) {
				sc.fail("bad inputs fingerprint")
			} else if _, err := hex.Decode(b[:], v); err != nil {
				sc.fail("bad inputs fingerprint: %v", err)
			} else if s.Inputs = binary.BigEndian.Uint64(b[:]); s.Inputs == 0 {
				sc.fail("bad inputs fingerprint: zero")
			}
		case "n":
			s.Attempts = int(sc.num())
		case "vr":
			s.Variant = d.intern(sc.str())
		case "kd":
			s.Kind = Kind(sc.name("kind", kindNames[1:]) + 1)
		case "o":
			s.Outcome = Outcome(sc.name("outcome", outcomeNames[:]))
		case "id":
			texts[tMessageID] = sc.str()
		case "cv":
			texts[tConversationID] = sc.str()
		case "st":
			s.ProviderStatus = ProviderStatus(sc.name("provider status", statusNames[1:]) + 1)
		case "ec":
			texts[tErrorCode] = sc.str()
		case "em":
			texts[tErrorMessage] = sc.str()
		case "ti":
			s.IntentAt = fromMillis(sc.num())
		case "tr":
			s.ResultAt = fromMillis(sc.num())
		case "tu":
			s.UpdatedAt = fromMillis(sc.num())
		case "tdl":
			s.DeliveredAt = fromMillis(sc.num())
		case "trd":
			s.ReadAt = fromMillis(sc.num())
		case "rid":
			reply()
			texts[tReplyID] = sc.str()
		case "rtl":
			reply()
			texts[tReplyTitle] = sc.str()
		case "rtx":
			reply()
			texts[tReplyText] = sc.str()
		case "rat":
			reply().At = fromMillis(sc.num())
		case "rmi":
			reply()
			texts[tReplyMessageID] = sc.str()
		case "rpl":
			r.replace = sc.boolean()
		case "sy":
			s.Systemic = sc.boolean()
		case "h":
			s.History = sc.history()
		case "tws":
			s.Window.SeenAt = fromMillis(sc.num())
		case "wo":
			s.Window.Open = sc.boolean()
		case "twx":
			s.Window.ExpiresAt = fromMillis(sc.num())
		case "from":
			d.from = sc.strs()
		case "to":
			d.to = sc.strs()
		case "tx":
			d.optText = string(sc.str())
		case "ta":
			d.optAt = sc.num()
		default:
			if sc.err == nil {
				sc.fail("unknown field %q", key)
			}
		}
		if sc.err != nil || sc.i == len(line)-1 {
			break
		}
		sc.expect(',')
	}
	if sc.err != nil {
		return sc.err
	}
	if d.reply.At.IsZero() && len(texts[tReplyID])+len(texts[tReplyTitle])+len(texts[tReplyText])+len(texts[tReplyMessageID]) == 0 {
		r.send.Reply = nil // an empty reply is no reply, as appendRecord writes it
	}
	if r.op == 0 {
		return errors.New("no op")
	}
	return nil
}

// finish moves the fields of opt-out, rm and mv records to their places and
// checks that r has what its op needs.
func (d *decoder) finish(r *record) error {
	from, to := d.from, d.to
	var err error
	switch r.op {
	case opOptOut:
		r.optOut = OptOut{Phone: r.send.Phone, At: fromMillis(d.optAt), Text: d.optText, MessageID: r.send.MessageID}
		r.send = Send{}
		if r.optOut.Phone == "" {
			return errors.New("opt_out without phone")
		}
	case opInbound:
		if r.inbound = fromMillis(d.optAt); r.inbound.IsZero() {
			return errors.New("inbound without time")
		}
	case opRemove:
		if len(from) != 1 {
			return errors.New("rm needs one address")
		}
		r.from, err = addrs.ParsePattern(from[0])
	case opMove:
		if len(from) == 0 || len(from) != len(to) {
			return errors.New("mv needs as many from as to addresses")
		}
		r.moves = make([]Move, len(from))
		for i := range from {
			m := &r.moves[i]
			if m.From, err = addrs.ParsePattern(from[i]); err == nil {
				m.To, err = addrs.ParsePattern(to[i])
			}
			if err != nil {
				return err
			}
		}
	default:
		return d.addressed(r)
	}
	return err
}

// addressed checks that the send record r, just read by fields, has a
// complete address.
func (d *decoder) addressed(r *record) error {
	if a := r.send.Addr; a.Campaign == "" || a.Message == "" || len(d.texts[tKey]) == 0 {
		return fmt.Errorf("%s record without a complete address", opNames[r.op])
	}
	return nil
}

// scanner walks a flat JSON object; the first error sticks.
type scanner struct {
	b   []byte
	i   int
	err error
}

func (sc *scanner) fail(format string, args ...any) {
	if sc.err == nil {
		sc.err = fmt.Errorf("byte %d: %s", sc.i, fmt.Sprintf(format, args...))
	}
}

func (sc *scanner) expect(c byte) {
	if sc.err == nil && (sc.i >= len(sc.b) || sc.b[sc.i] != c) {
		sc.fail("expected %q", c)
		return
	}
	sc.i++
}

// key reads `"name":` and returns name, which never needs unescaping.
func (sc *scanner) key() []byte {
	sc.expect('"')
	if sc.err != nil {
		return nil
	}
	start := sc.i
	for sc.i < len(sc.b) && sc.b[sc.i] != '"' && sc.b[sc.i] != '\\' {
		sc.i++
	}
	k := sc.b[start:sc.i]
	sc.expect('"')
	sc.expect(':')
	return k
}

// str reads a string value: a piece of the input unless it has escapes.
// name reads a string that must be one of names and returns its index;
// another is a failure, naming what it is.
func (sc *scanner) name(what string, names []string) uint8 {
	v := sc.str()
	for i, name := range names {
		if string(v) == name {
			return uint8(i)
		}
	}
	sc.fail("unknown %s %q", what, v)
	return 0
}

func (sc *scanner) str() []byte {
	sc.expect('"')
	if sc.err != nil {
		return nil
	}
	start := sc.i
	// Most strings have neither escapes nor control characters: find the
	// closing quote at once, and look no further if there are none.
	if end := bytes.IndexByte(sc.b[start:], '"'); end >= 0 {
		s := sc.b[start : start+end]
		plain := true
		for _, c := range s {
			if c < 0x20 || c == '\\' {
				plain = false
				break
			}
		}
		if plain {
			sc.i = start + end + 1
			return s
		}
	}
	escaped := false
	for ; sc.i < len(sc.b); sc.i++ {
		c := sc.b[sc.i]
		switch {
		case c == '"':
			sc.i++
			if !escaped {
				return sc.b[start : sc.i-1]
			}
			// Escapes are rare (quotes or newlines in an error message);
			// leave them to the standard library.
			var s string
			if err := json.Unmarshal(sc.b[start-1:sc.i], &s); err != nil {
				sc.fail("bad string: %v", err)
				return nil
			}
			return []byte(s)
		case c == '\\':
			escaped = true
			sc.i++
		case c < 0x20:
			sc.fail("control character in string")
			return nil
		}
	}
	sc.fail("unterminated string")
	return nil
}

// strs reads a string, or a list of strings.
func (sc *scanner) strs() []string {
	if sc.i >= len(sc.b) || sc.b[sc.i] != '[' {
		return []string{string(sc.str())}
	}
	sc.i++
	var out []string
	for sc.err == nil && sc.i < len(sc.b) && sc.b[sc.i] != ']' {
		if len(out) > 0 {
			sc.expect(',')
		}
		out = append(out, string(sc.str()))
	}
	sc.expect(']')
	return out
}

func (sc *scanner) num() int64 {
	neg := sc.i < len(sc.b) && sc.b[sc.i] == '-'
	if neg {
		sc.i++
	}
	var v int64
	digits := 0
	for ; sc.i < len(sc.b) && sc.b[sc.i] >= '0' && sc.b[sc.i] <= '9'; sc.i++ {
		d := int64(sc.b[sc.i] - '0')
		if v > (1<<63-1-d)/10 {
			sc.fail("number out of range")
			return 0
		}
		v = v*10 + d
		digits++
	}
	if digits == 0 {
		sc.fail("expected a number")
	}
	if neg {
		return -v
	}
	return v
}

// history reads the array of earlier attempts. Few sends have one, so
// encoding/json reads it, from the scanner's position to the array's end.
func (sc *scanner) history() []Attempt {
	if sc.err != nil {
		return nil
	}
	var raw []struct {
		O  string `json:"o"`
		Sy bool   `json:"sy"`
		Ti int64  `json:"ti"`
		ID string `json:"id"`
		Cv string `json:"cv"`
		Ec string `json:"ec"`
	}
	dec := json.NewDecoder(bytes.NewReader(sc.b[sc.i:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		sc.fail("bad history: %v", err)
		return nil
	}
	sc.i += int(dec.InputOffset())
	out := make([]Attempt, len(raw))
	for i, h := range raw {
		o := slices.Index(outcomeNames[:], h.O)
		if o < 0 {
			sc.fail("unknown outcome %q in history", h.O)
			return nil
		}
		out[i] = Attempt{At: fromMillis(h.Ti), Outcome: Outcome(o), Systemic: h.Sy, MessageID: h.ID, ConversationID: h.Cv, ErrorCode: h.Ec}
	}
	return out
}

func (sc *scanner) boolean() bool {
	switch {
	case len(sc.b)-sc.i >= 4 && string(sc.b[sc.i:sc.i+4]) == "true":
		sc.i += 4
		return true
	case len(sc.b)-sc.i >= 5 && string(sc.b[sc.i:sc.i+5]) == "false":
		sc.i += 5
		return false
	}
	sc.fail("expected true or false")
	return false
}
