package sandbox

import (
	"cmp"
	"net/http"
	"slices"
	"time"
)

// Stats is what the sandbox has seen, for tests to compare with a client's
// records. The traffic totals (Requests, Sends, Dropped, Rejected) count
// since the Server started or was Reset; the rest describes the stored
// messages, including those replayed from a data file.
type Stats struct {
	// Now is the sandbox clock.
	Now time.Time `json:"now"`
	// Requests counts /v1 requests, Sends the send requests among them.
	Requests int64 `json:"requests"`
	Sends    int64 `json:"sends"`
	// Accepted counts accepted outbound messages.
	Accepted int `json:"accepted"`
	// Dropped counts accepted sends whose connection was closed unanswered.
	Dropped int64 `json:"dropped"`
	// Rejected counts error responses by error code, including 401 and
	// the injected 5xx (INTERNAL_ERROR) and provider failures.
	Rejected map[string]int64 `json:"rejected"`
	// ByRecipient and ByKind count accepted outbound messages per
	// recipient phone (digits only) and per type.
	ByRecipient map[string]int `json:"by_recipient"`
	ByKind      map[string]int `json:"by_kind"`
	// Duplicates lists every (recipient, content) that reached the
	// recipient more than once: accepted, and not failed later.
	Duplicates []Duplicate `json:"duplicates"`
	// MaxTemplatesPer24h is the most templates accepted in any 24 hours
	// (of sandbox time): what a number's messaging tier bounds.
	MaxTemplatesPer24h int `json:"max_templates_per_24h"`
	// MinPairGap is the least time between two accepted messages to the
	// same recipient (what Meta's pair rate limit bounds); nil when no
	// recipient got two.
	MinPairGap *time.Duration `json:"min_pair_gap_ns,omitempty"`
	// Messages lists every outbound message recorded, accepted or failed
	// at the provider, in the order recorded.
	Messages []Message `json:"messages"`
}

// Duplicate is content accepted more than once for one recipient.
type Duplicate struct {
	To     string `json:"to"`
	Kind   string `json:"kind"`
	Digest string `json:"digest"`
	Count  int    `json:"count"`
}

// Message is one recorded outbound message.
type Message struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	To             string `json:"to"`
	Kind           string `json:"kind"`
	// Digest is the hex SHA-256 of the type and the canonical JSON of the
	// content (body; template_name and variables; media fields; or the
	// interactive object), so equal content has equal digests.
	Digest     string    `json:"digest"`
	AcceptedAt time.Time `json:"accepted_at"`
	// Error is the provider failure code of a send recorded as failed,
	// empty for an accepted one.
	Error string `json:"error,omitempty"`
}

// Stats returns what the sandbox has seen so far.
func (s *Server) Stats() Stats {
	out := Stats{
		Now:         s.Now(),
		Requests:    s.stats.requests.Load(),
		Sends:       s.stats.sends.Load(),
		Dropped:     s.stats.dropped.Load(),
		Rejected:    map[string]int64{},
		ByRecipient: map[string]int{},
		ByKind:      map[string]int{},
		Duplicates:  []Duplicate{},
		Messages:    []Message{},
	}
	s.stats.mu.Lock()
	for k, v := range s.stats.rejected {
		out.Rejected[k] = v
	}
	s.stats.mu.Unlock()

	type key struct{ to, digest string }
	seen := map[key]*Duplicate{}
	s.st.mu.RLock()
	for _, m := range s.st.all {
		if !m.Outbound {
			continue
		}
		out.Messages = append(out.Messages, Message{ID: m.ID, ConversationID: m.Conv, To: m.To, Kind: m.Kind, Digest: m.Digest, AcceptedAt: m.At, Error: m.Code})
		if !m.accepted() {
			continue
		}
		out.Accepted++
		out.ByRecipient[m.To]++
		out.ByKind[m.Kind]++
		if m.LateCode != "" {
			continue // never reached the recipient
		}
		k := key{m.To, m.Digest}
		if d := seen[k]; d != nil {
			d.Count++
		} else {
			seen[k] = &Duplicate{To: m.To, Kind: m.Kind, Digest: m.Digest, Count: 1}
		}
	}
	s.st.mu.RUnlock()
	out.MaxTemplatesPer24h, out.MinPairGap = paceOf(out.Messages)
	for _, d := range seen {
		if d.Count > 1 {
			out.Duplicates = append(out.Duplicates, *d)
		}
	}
	slices.SortFunc(out.Duplicates, func(a, b Duplicate) int {
		return cmp.Or(cmp.Compare(a.To, b.To), cmp.Compare(a.Digest, b.Digest))
	})
	return out
}

// paceOf returns the most templates accepted within any 24 hours, and the
// least time between two accepted messages to one recipient (nil for
// none), of msgs.
func paceOf(msgs []Message) (perDay int, minGap *time.Duration) {
	var templates []time.Time
	last := map[string]time.Time{}
	accepted := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		if m.Error == "" {
			accepted = append(accepted, m)
		}
	}
	slices.SortStableFunc(accepted, func(a, b Message) int { return a.AcceptedAt.Compare(b.AcceptedAt) })
	for _, m := range accepted {
		if prev, ok := last[m.To]; ok {
			if gap := m.AcceptedAt.Sub(prev); minGap == nil || gap < *minGap {
				minGap = &gap
			}
		}
		last[m.To] = m.AcceptedAt
		if m.Kind != "template" {
			continue
		}
		templates = append(templates, m.AcceptedAt)
		// The window of 24 hours ending at this template.
		lo, _ := slices.BinarySearchFunc(templates, m.AcceptedAt.Add(-windowLength), func(t, target time.Time) int {
			if !t.After(target) {
				return -1
			}
			return 1
		})
		perDay = max(perDay, len(templates)-lo)
	}
	return perDay, minGap
}

// getStats is GET /_sandbox/stats; ?messages=false leaves the message list
// out of a large answer.
func (s *Server) getStats(w http.ResponseWriter, r *http.Request, c *call) {
	q := &query{v: r.URL.Query()}
	withMessages := q.boolean("messages")
	if len(q.errs) > 0 {
		c.failWith(w, http.StatusUnprocessableEntity, nil, q.errs...)
		return
	}
	st := s.Stats()
	if withMessages != nil && !*withMessages {
		st.Messages = nil
	}
	c.write(w, http.StatusOK, st)
}

// postAdvance is POST /_sandbox/advance?by=DURATION (Go syntax, e.g. 90s,
// 1h): it moves the sandbox clock forward and answers {"now": …}.
func (s *Server) postAdvance(w http.ResponseWriter, r *http.Request, c *call) {
	by, err := time.ParseDuration(r.URL.Query().Get("by"))
	if err != nil || by < 0 {
		c.failWith(w, http.StatusUnprocessableEntity, nil, fieldError("by", "by must be a non-negative duration such as 90s or 1h"))
		return
	}
	if err := s.Advance(by); err != nil {
		c.fail(w, http.StatusInternalServerError, codeInternal, err.Error(), "")
		return
	}
	c.write(w, http.StatusOK, map[string]time.Time{"now": s.Now()})
}

// postReset is POST /_sandbox/reset: Reset, answered with 204.
func (s *Server) postReset(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.Reset(); err != nil {
		c.fail(w, http.StatusInternalServerError, codeInternal, err.Error(), "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
