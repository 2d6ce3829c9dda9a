package sandbox

import (
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// A message is one outbound send the sandbox recorded (accepted or failed at
// the provider) or one inbound message from a simulated recipient. Its JSON
// form is the data file's record.
type message struct {
	ID       string    `json:"id"`
	Conv     string    `json:"conversation_id"`
	Sender   string    `json:"sender_id"`
	To       string    `json:"recipient"` // recipient phone, digits only
	Outbound bool      `json:"outbound"`
	Kind     string    `json:"kind"`    // message_type: text, template, media, interactive
	Content  rawObject `json:"content"` // canonical JSON object
	Digest   string    `json:"digest"`  // hex sha256 of kind and content
	At       time.Time `json:"at"`      // accepted at (outbound) or arrives at (inbound)
	// Code and Reason describe a send that failed at the provider.
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Paired is, on an inbound message, the id of the outbound one it answers.
	Paired string `json:"paired,omitempty"`
	// SentNow marks an outbound message answered 200 "sent" (Faults.Sent200):
	// it reads as sent from the start.
	SentNow bool `json:"sent_now,omitempty"`
	// LateCode and LateReason describe an accepted send that fails later,
	// when it would have been delivered (Faults.FailLater).
	LateCode   string `json:"late_code,omitempty"`
	LateReason string `json:"late_reason,omitempty"`

	seq   uint64   // insertion order, the tie-break for equal times
	reply *message // on an outbound message, its scheduled answer
}

// rawObject is a JSON object kept as canonical bytes.
type rawObject = json.RawMessage

// accepted reports whether m is an outbound send the sandbox accepted.
func (m *message) accepted() bool { return m.Outbound && m.Code == "" }

// visible reports whether m exists yet at sandbox time now: a simulated
// answer is stored when its question is sent but arrives later.
func (m *message) visible(now time.Time) bool { return !m.At.After(now) }

// A conversation is the thread between one sender and one recipient.
type conversation struct {
	ID        string
	Sender    string
	Recipient string
	Created   time.Time
	// opened is when the last accepted template opened or refreshed the
	// window; inbound messages open it too, but only once they arrive, so
	// they are kept apart.
	opened  time.Time
	inbound []*message
	msgs    []*message // in insertion order
}

// window reports whether the 24h window is open at now and when it expires
// (zero if nothing ever opened it). Briq's rule: an accepted template or an
// inbound customer message opens or refreshes it. Meta's rule (meta): only
// an inbound customer message does.
func (c *conversation) window(now time.Time, meta bool) (open bool, expires time.Time) {
	t := c.opened
	if meta {
		t = time.Time{}
	}
	for _, in := range c.inbound {
		if in.visible(now) && in.At.After(t) {
			t = in.At
		}
	}
	if t.IsZero() {
		return false, time.Time{}
	}
	expires = t.Add(windowLength)
	return now.Before(expires), expires
}

type convKey struct{ sender, recipient string }

// store holds conversations and messages. Its critical sections are map
// operations and appends; JSON work happens outside the lock.
type store struct {
	mu        sync.RWMutex
	convByKey map[convKey]*conversation
	convByID  map[string]*conversation
	msgByID   map[string]*message
	all       []*message // in insertion order
	seq       uint64

	// The rate limit's current one-second window and its count of sends.
	rateWindow int64
	rateCount  int
}

func newStore() *store {
	st := &store{}
	st.clear()
	return st
}

// clear forgets everything. The caller holds mu, which clear leaves alone.
func (st *store) clear() {
	st.convByKey = make(map[convKey]*conversation)
	st.convByID = make(map[string]*conversation)
	st.msgByID = make(map[string]*message)
	st.all, st.seq = nil, 0
	st.rateWindow, st.rateCount = 0, 0
}

// insert adds a new conversation. The caller holds mu.
func (st *store) insert(c *conversation) {
	st.convByKey[convKey{c.Sender, c.Recipient}] = c
	st.convByID[c.ID] = c
}

// add records m in its conversation, which must exist. The caller holds mu.
func (st *store) add(m *message) {
	c := st.convByID[m.Conv]
	st.seq++
	m.seq = st.seq
	st.msgByID[m.ID] = m
	st.all = append(st.all, m)
	c.msgs = append(c.msgs, m)
	switch {
	case !m.Outbound:
		c.inbound = append(c.inbound, m)
		if out := st.msgByID[m.Paired]; out != nil {
			out.reply = m
		}
	case m.accepted() && m.Kind == "template" && m.At.After(c.opened):
		c.opened = m.At
	}
}

// normalizePhone strips the optional leading "+" of an E.164 number.
func normalizePhone(p string) string { return strings.TrimPrefix(p, "+") }
