package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestStatusProgress: an accepted message reads pending, then sent (with a
// wamid), delivered and read as the sandbox clock passes the delays, with
// no sleeping.
func TestStatusProgress(t *testing.T) {
	for _, tt := range []struct {
		name   string
		delays StatusDelays
	}{
		{"defaults", StatusDelays{}},
		{"custom", StatusDelays{Sent: time.Minute, Delivered: time.Hour, Read: 24 * time.Hour}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{StatusDelays: tt.delays})
			d := h.s.cfg.StatusDelays
			m := h.template("255712000001")
			if m.Status != "pending" || m.ProviderMessageID != nil {
				t.Errorf("send answer: status %q, provider id %v; want pending, null", m.Status, m.ProviderMessageID)
			}
			steps := []struct {
				at   time.Duration
				want string
			}{
				{0, "pending"},
				{d.Sent - 1, "pending"},
				{d.Sent, "sent"},
				{d.Delivered - 1, "sent"},
				{d.Delivered, "delivered"},
				{d.Read - 1, "delivered"},
				{d.Read, "read"},
				{d.Read + 365*24*time.Hour, "read"},
			}
			var at time.Duration
			for _, s := range steps {
				h.advance(s.at - at)
				at = s.at
				got := h.message(m.MessageID)
				if got.Status != s.want {
					t.Errorf("at +%v: status %q, want %q", s.at, got.Status, s.want)
				}
				if hasID := got.ProviderMessageID != nil && strings.HasPrefix(*got.ProviderMessageID, "wamid."); hasID != (s.want != "pending") {
					t.Errorf("at +%v: provider_message_id %v", s.at, got.ProviderMessageID)
				}
			}
		})
	}
}

// TestAdvanceEndpoint: another process moves the clock over HTTP.
func TestAdvanceEndpoint(t *testing.T) {
	h := newHarness(t, Options{})
	m := h.template("255712000001")
	r := h.do("POST", "/_sandbox/advance?by=90s", "")
	var got struct {
		Now time.Time `json:"now"`
	}
	if err := json.Unmarshal(r.body, &got); r.status != 200 || err != nil || !got.Now.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("advance: %d %s", r.status, r.body)
	}
	if s := h.message(m.MessageID).Status; s != "read" {
		t.Errorf("status after 90s = %q, want read", s)
	}
	for _, by := range []string{"", "-1s", "soon"} {
		if r := h.do("POST", "/_sandbox/advance?by="+by, ""); r.status != 422 {
			t.Errorf("advance by %q: status %d, want 422", by, r.status)
		}
	}
	if err := h.s.Advance(-time.Second); err == nil {
		t.Error("Advance(-1s) succeeded")
	}
}

// TestListMessages: newest first, filters, paging, and the item fields.
func TestListMessages(t *testing.T) {
	h := newHarness(t, Options{Silent: new(0.0), Answers: map[string]float64{"yes": 1}})
	a := h.template("255712000001")
	h.advance(time.Minute)
	b := h.template("255712000002")
	h.advance(time.Minute)
	q := h.ask("255712000001")
	h.advance(30 * time.Second)
	text := h.send(`{"type":"text","conversation_id":"` + b.ConversationID + `","body":"Hello"}`)

	ids := func(p itemPage) []string {
		var out []string
		for _, it := range p.Items {
			out = append(out, it.ID)
		}
		return out
	}
	tests := []struct {
		query     string
		want      []string
		wantTotal int
	}{
		{"", []string{text.MessageID, q.MessageID, b.MessageID, a.MessageID}, 4},
		{"limit=2", []string{text.MessageID, q.MessageID}, 4},
		{"limit=2&offset=2", []string{b.MessageID, a.MessageID}, 4},
		{"offset=9", nil, 4},
		{"conversation_id=" + a.ConversationID, []string{q.MessageID, a.MessageID}, 2},
		{"direction=outbound&message_type=template", []string{b.MessageID, a.MessageID}, 2},
		{"direction=inbound", nil, 0},
		{"status=read", []string{b.MessageID, a.MessageID}, 2},
		{"status=delivered", []string{q.MessageID}, 1},
		{"status=pending", []string{text.MessageID}, 1},
		{"since=" + t0.Add(time.Minute).Format(time.RFC3339) + "&until=" + t0.Add(2*time.Minute).Format(time.RFC3339), []string{b.MessageID}, 1},
	}
	for _, tt := range tests {
		p := h.list(tt.query)
		if diff := cmp.Diff(tt.want, ids(p)); diff != "" || p.Total != tt.wantTotal {
			t.Errorf("messages?%s: total %d (want %d), ids (-want +got):\n%s", tt.query, p.Total, tt.wantTotal, diff)
		}
	}
	p := h.list("limit=1")
	if p.Limit != 1 || p.Offset != 0 {
		t.Errorf("page limit %d offset %d", p.Limit, p.Offset)
	}
	got := p.Items[0]
	want := item{
		ID: text.MessageID, ConversationID: b.ConversationID, IsOutbound: true, MessageType: "text",
		Content: json.RawMessage(`{"body":"Hello"}`), CreatedAt: t0.Add(150 * time.Second), Status: "pending",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("item (-want +got):\n%s", diff)
	}
	if r := h.do("GET", "/v1/whatsapp/messages", ""); !strings.Contains(string(r.body), `"paired_message_id":null`) || !strings.Contains(string(r.body), `"message_id":null`) {
		t.Errorf("list does not spell out null fields: %s", r.body)
	}
}

// TestSendAnswer pins the send answer's envelope and data for both paths.
func TestSendAnswer(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"+255712000001","template_name":"welcome"}`)
	if r.status != http.StatusAccepted || !r.env.Success || r.env.Errors != nil || !isUUID(r.env.RequestID) {
		t.Fatalf("template: %d %s", r.status, r.body)
	}
	var m sent
	r.data(t, &m)
	if !isUUID(m.MessageID) || !isUUID(m.ConversationID) || m.SenderID != DefaultSender.ID || m.Sender != nil || m.Status != "pending" {
		t.Errorf("G2 data = %+v", m)
	}
	if !strings.Contains(string(r.body), `"provider_message_id":null`) || !strings.Contains(string(r.body), `"errors":null`) {
		t.Errorf("G2 answer lacks explicit nulls: %s", r.body)
	}
	q := h.ask("255712000001")
	if q.ConversationID != m.ConversationID || q.Sender == nil || *q.Sender != DefaultSender.PhoneNumberID {
		t.Errorf("G3 data = %+v", q)
	}
	if d := h.message(m.MessageID); d.ID != m.MessageID || d.ConversationID != m.ConversationID || !d.IsOutbound ||
		d.MessageType != "template" || string(d.Content) != `{"template_name":"welcome","variables":{}}` || !d.CreatedAt.Equal(t0) {
		t.Errorf("detail = %+v", d)
	}
}
