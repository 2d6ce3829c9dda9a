package sandbox

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type convItem struct {
	ID             string    `json:"id"`
	SenderID       string    `json:"sender_id"`
	RecipientPhone string    `json:"recipient_phone"`
	IsActive       bool      `json:"is_active"`
	UnreadCount    int       `json:"unread_count"`
	LastMessageAt  time.Time `json:"last_message_at"`
	Window         struct {
		Open      bool       `json:"open"`
		ExpiresAt *time.Time `json:"expires_at"`
	} `json:"window"`
}

func (h *harness) conversations(query string) (items []convItem, total int) {
	h.t.Helper()
	r := h.do("GET", "/v1/whatsapp/conversations?"+query, "")
	if r.status != http.StatusOK {
		h.t.Fatalf("GET conversations?%s: %d %s", query, r.status, r.body)
	}
	var p struct {
		Items []convItem `json:"items"`
		Total int        `json:"total"`
	}
	r.data(h.t, &p)
	return p.Items, p.Total
}

// text sends a text to phone and returns the status code and error code.
func (h *harness) text(target string) (int, string) {
	h.t.Helper()
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"text",`+target+`,"body":"Your code is ready"}`)
	code := ""
	if len(r.env.Errors) > 0 {
		code = r.env.Errors[0].Code
	}
	return r.status, code
}

// TestWindowTemplate follows Briq's rule: freeform needs an open window, a
// template opens it for 24h and a later template refreshes it.
func TestWindowTemplate(t *testing.T) {
	h := newHarness(t, Options{Silent: new(1.0)})
	const to = `"to":"+255712000001"`
	type step struct {
		advance    time.Duration
		template   bool
		wantStatus int
		wantCode   string
	}
	steps := []step{
		{wantStatus: 422, wantCode: codeWindowClosed},
		{template: true},
		{wantStatus: 202},
		{advance: 24*time.Hour - time.Second, wantStatus: 202},
		{advance: time.Second, wantStatus: 422, wantCode: codeWindowClosed},
		{template: true},
		{advance: 23 * time.Hour, wantStatus: 202},
	}
	for i, s := range steps {
		h.advance(s.advance)
		if s.template {
			h.send(`{"type":"template",` + to + `,"template_name":"welcome"}`)
			continue
		}
		status, code := h.text(to)
		if status != s.wantStatus || code != s.wantCode {
			t.Errorf("step %d: text got %d %s, want %d %s", i, status, code, s.wantStatus, s.wantCode)
		}
	}
	items, _ := h.conversations("recipient=255712000001")
	if len(items) != 1 || !items[0].Window.Open || !items[0].Window.ExpiresAt.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("conversation = %+v, want one, open until %v", items, t0.Add(48*time.Hour))
	}
}

// TestWindowInbound: a customer's answer opens the window too, from the
// moment it arrives.
func TestWindowInbound(t *testing.T) {
	h := newHarness(t, Options{Silent: new(0.0)})
	first := h.template("255712000001")
	h.advance(time.Hour)
	q := h.ask("255712000001")
	h.advance(10 * time.Minute) // every answer has arrived
	reply := h.message(q.MessageID).Reply
	if reply == nil {
		t.Fatal("no answer after the longest reply delay")
	}
	if first.ConversationID != q.ConversationID {
		t.Errorf("interactive went to conversation %s, template to %s", q.ConversationID, first.ConversationID)
	}
	// Past the template's 24h but within the answer's.
	h.advance(reply.CreatedAt.Add(24*time.Hour - time.Second).Sub(h.s.Now()))
	if status, code := h.text(`"conversation_id":"` + q.ConversationID + `"`); status != 202 {
		t.Errorf("text 24h after the template, inside the answer's window: %d %s", status, code)
	}
	items, _ := h.conversations("")
	if len(items) != 1 || !items[0].Window.ExpiresAt.Equal(reply.CreatedAt.Add(24*time.Hour)) {
		t.Errorf("conversations = %+v, want the window to expire 24h after the answer at %v", items, reply.CreatedAt)
	}
	h.advance(time.Second)
	if status, code := h.text(`"conversation_id":"` + q.ConversationID + `"`); code != codeWindowClosed {
		t.Errorf("text after the answer's window: %d %s, want 422 WINDOW_CLOSED", status, code)
	}
}

// TestWindowFailedTemplate: a template that failed at the provider opens
// nothing.
func TestWindowFailedTemplate(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{ProviderFail: 1}})
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000001","template_name":"welcome"}`)
	if r.status != 422 {
		t.Fatalf("template with provider failure: %d %s", r.status, r.body)
	}
	h.s.SetFaults(Faults{})
	if status, code := h.text(`"to":"255712000001"`); code != codeWindowClosed {
		t.Errorf("text after a failed template: %d %s, want WINDOW_CLOSED", status, code)
	}
}

// TestConversations: one conversation per (sender, recipient), G3
// sender matching, filters, order and paging.
func TestConversations(t *testing.T) {
	second := Sender{ID: "1c6f1f0e-2a3b-4c5d-8e9f-0a1b2c3d4e5f", DisplayNumber: "255700000002", PhoneNumberID: "100000000000002", IsActive: true}
	h := newHarness(t, Options{Senders: []Sender{DefaultSender, second}, Silent: new(0.0)})
	a := h.template("255712000001")
	h.advance(time.Minute)
	b := h.send(`{"type":"template","to":"255712000001","template_name":"welcome","sender_id":"` + second.ID + `"}`)
	h.advance(time.Minute)
	d := h.template("255712000002")
	h.advance(time.Minute)
	q := h.sendTo("/v1/whatsapp/messages/interactive", `{"to":"255712000001","sender":"+255700000002","interactive":`+buttons+`}`)
	if q.ConversationID != b.ConversationID || q.Sender == nil || *q.Sender != second.PhoneNumberID {
		t.Errorf("G3 send by display number went to %s from %v; want %s from %s", q.ConversationID, q.Sender, b.ConversationID, second.PhoneNumberID)
	}
	if a.ConversationID == b.ConversationID {
		t.Error("two senders share one conversation with a recipient")
	}
	h.advance(time.Minute)
	q2 := h.sendTo("/v1/whatsapp/messages/interactive", `{"to":"255712000002","sender":"100000000000001","interactive":`+buttons+`}`)
	if q2.ConversationID != d.ConversationID {
		t.Errorf("G3 send by phone_number_id went to %s, want %s", q2.ConversationID, d.ConversationID)
	}

	ids := func(items []convItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	tests := []struct {
		query     string
		want      []string
		wantTotal int
	}{
		{"", []string{d.ConversationID, b.ConversationID, a.ConversationID}, 3},
		{"recipient=%2B255712000001", []string{b.ConversationID, a.ConversationID}, 2},
		{"sender_id=" + second.ID, []string{b.ConversationID}, 1},
		{"limit=1&offset=1", []string{b.ConversationID}, 3},
		{"offset=5", nil, 3},
		{"status=unread", nil, 0},
		{"status=open", []string{d.ConversationID, b.ConversationID, a.ConversationID}, 3},
	}
	for _, tt := range tests {
		items, total := h.conversations(tt.query)
		if diff := cmp.Diff(tt.want, ids(items)); diff != "" || total != tt.wantTotal {
			t.Errorf("conversations?%s: total %d (want %d), ids (-want +got):\n%s", tt.query, total, tt.wantTotal, diff)
		}
	}

	h.advance(10 * time.Minute) // both answers have arrived
	items, _ := h.conversations("status=unread")
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff([]string{d.ConversationID, b.ConversationID}, ids(items), sorted); diff != "" || items[0].UnreadCount != 1 {
		t.Errorf("unread conversations (-want +got):\n%s%+v", diff, items)
	}
	h.advance(25 * time.Hour)
	if items, total := h.conversations("status=open"); total != 0 {
		t.Errorf("open conversations a day later: %+v", items)
	}
	items, _ = h.conversations("recipient=255712000002")
	if len(items) != 1 || items[0].IsActive || items[0].Window.Open || items[0].RecipientPhone != "255712000002" || items[0].SenderID != DefaultSender.ID {
		t.Errorf("closed conversation = %+v", items)
	}
}
