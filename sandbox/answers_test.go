package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestAcceptedButErrorAnswers: the switches that answer an accepted send
// with an error status still record a live message, pollable by its id
// where the answer carries one.
func TestAcceptedButErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		faults     Faults
		wantStatus int
		wantCode   string
		withID     bool
		retryAfter string
	}{
		{"500 with id", Faults{AcceptThen500: 1}, http.StatusInternalServerError, codeInternal, true, ""},
		{"504 without id", Faults{AcceptThen504: 1}, http.StatusGatewayTimeout, codeGatewayTimeout, false, ""},
		{"429 with id", Faults{RateLimitWithID: 1}, http.StatusTooManyRequests, codeRateLimited, true, "1"},
		{"429 with id, long Retry-After", Faults{RateLimitWithID: 1, RetryAfter: 10 * time.Minute}, http.StatusTooManyRequests, codeRateLimited, true, "600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{Faults: tc.faults})
			r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000001","template_name":"welcome"}`)
			if r.status != tc.wantStatus || r.env.Success || len(r.env.Errors) != 1 || r.env.Errors[0].Code != tc.wantCode {
				t.Fatalf("answer %d %s, want %d %s", r.status, r.body, tc.wantStatus, tc.wantCode)
			}
			if got := r.header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			st := h.s.Stats()
			if st.Accepted != 1 || len(st.Messages) != 1 {
				t.Fatalf("stats %+v: want one accepted message", st)
			}
			if !tc.withID {
				if string(r.env.Data) != "null" {
					t.Errorf("data %s, want null", r.env.Data)
				}
				return
			}
			var d sent
			r.data(t, &d)
			if d.MessageID != st.Messages[0].ID || d.ConversationID == "" || d.Status != "pending" {
				t.Errorf("data %+v, want the recorded message %s, pending", d, st.Messages[0].ID)
			}
			h.advance(time.Minute)
			if got := h.message(d.MessageID); got.Status != "read" {
				t.Errorf("the message is %s a minute later, want read", got.Status)
			}
		})
	}
}

// TestSent200: accepted sends are answered 200 "sent" with a provider id and
// read as sent at once.
func TestSent200(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Sent200: true}})
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000001","template_name":"welcome"}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d %s, want 200", r.status, r.body)
	}
	var d sent
	r.data(t, &d)
	if d.Status != "sent" || d.ProviderMessageID == nil || d.MessageID == "" {
		t.Errorf("data %+v, want sent with a provider_message_id", d)
	}
	if got := h.message(d.MessageID); got.Status != "sent" {
		t.Errorf("the message reads %s, want sent", got.Status)
	}
}

// TestListWithoutStatus: list items carry no status field, while the
// message status endpoint and the status filter still work.
func TestListWithoutStatus(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{ListWithoutStatus: true}})
	m := h.template("255712000001")
	r := h.do("GET", "/v1/whatsapp/messages?direction=outbound", "")
	if r.status != http.StatusOK || bytes.Contains(r.body, []byte(`"status"`)) || !bytes.Contains(r.body, []byte(m.MessageID)) {
		t.Errorf("listing %d %s: want the message without a status field", r.status, r.body)
	}
	if got := h.list("status=pending").Total; got != 1 {
		t.Errorf("status=pending lists %d, want 1", got)
	}
	if got := h.message(m.MessageID); got.Status != "pending" {
		t.Errorf("message status %q, want pending", got.Status)
	}
}

// TestNumericErrorCodes: a failed message's code is a JSON number where it
// is one (Meta's 131026, a failure at WhatsApp), in the status and in the
// listing, and a string otherwise (Briq's PROVIDER_UNAVAILABLE or
// SEND_FAILED).
func TestNumericErrorCodes(t *testing.T) {
	h := newHarness(t, Options{Silent: new(1.0), Faults: Faults{FailLater: 1, NumericErrorCodes: true}})
	late := h.template("255712000001")
	if err := h.s.SetFaults(Faults{ProviderFail: 1, NumericErrorCodes: true}); err != nil {
		t.Fatal(err)
	}
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000002","template_name":"bf_offer","variables":{"1":"Asha","2":"20%"}}`)
	var failed sent
	r.data(t, &failed)
	h.advance(time.Hour)
	for id, want := range map[string]string{late.MessageID: `"error_code":` + codeUndeliverable, failed.MessageID: `"error_code":"`} {
		if r := h.do("GET", "/v1/whatsapp/messages/"+id, ""); !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("message %s: %s, want %s", id, r.body, want)
		}
	}
	if r := h.do("GET", "/v1/whatsapp/messages?status=failed", ""); !bytes.Contains(r.body, []byte(`"error_code":`+codeUndeliverable+`,`)) {
		t.Errorf("listing: %s, want the number", r.body)
	}
}

// TestG1Conversations: the conversations' listing in G1's shape: no
// envelope, no window, the number with a leading "+"; the recipient filter
// still matches it.
func TestG1Conversations(t *testing.T) {
	h := newHarness(t, Options{Silent: new(1.0), Faults: Faults{G1Conversations: true}})
	h.template("255712000001")
	r := h.do("GET", "/v1/whatsapp/conversations?recipient=255712000001", "")
	var p struct {
		Items []map[string]any `json:"items"`
		Total int              `json:"total"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || r.status != http.StatusOK || bytes.Contains(r.body, []byte(`"success"`)) {
		t.Fatalf("%d %s: want a bare page", r.status, r.body)
	}
	if p.Total != 1 || len(p.Items) != 1 || p.Items[0]["recipient_phone"] != "+255712000001" || p.Items[0]["window"] != nil || p.Items[0]["is_active"] != true {
		t.Errorf("page %+v: want one active conversation, its number with +, no window", p)
	}
}

// TestListActiveOnly: the listing shows an active conversation's messages
// and, once its window has closed, leaves them out, with its id or
// without, while the conversation itself is still listed, inactive, and
// its message is still found by id.
func TestListActiveOnly(t *testing.T) {
	h := newHarness(t, Options{Silent: new(1.0), Faults: Faults{ListActiveOnly: true}})
	m := h.template("255712000001") // Briq's rule: the template opens the window
	queries := []string{"", "direction=outbound", "conversation_id=" + m.ConversationID}
	for _, q := range queries {
		if p := h.list(q); p.Total != 1 {
			t.Errorf("messages?%s lists %d of an active conversation, want the template", q, p.Total)
		}
	}
	h.advance(25 * time.Hour)
	items, _ := h.conversations("")
	if len(items) != 1 || items[0].IsActive || !items[0].LastMessageAt.Equal(h.message(m.MessageID).CreatedAt) {
		t.Fatalf("conversations %+v: want one, inactive, its last message the template", items)
	}
	for _, q := range queries {
		if p := h.list(q); p.Total != 0 || len(p.Items) != 0 {
			t.Errorf("messages?%s lists %d of a closed conversation, want none", q, p.Total)
		}
	}
	if h.message(m.MessageID).ID != m.MessageID {
		t.Error("the message is not found by id")
	}
	if err := h.s.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if p := h.list("conversation_id=" + m.ConversationID); p.Total != 1 {
		t.Errorf("without the switch: %d listed, want the template", p.Total)
	}
}

// TestMetaWindowRule: under Meta's rule a template does not open the
// window; the customer's message does.
func TestMetaWindowRule(t *testing.T) {
	h := newHarness(t, Options{MetaWindowRule: true, OptOut: 1, Silent: new(0.0)})
	const to = `"to":"255712000001"`
	h.send(`{"type":"template",` + to + `,"template_name":"welcome"}`)
	if status, code := h.text(to); status != 422 || code != codeWindowClosed {
		t.Errorf("text after a template: %d %s, want 422 WINDOW_CLOSED", status, code)
	}
	if items, _ := h.conversations(""); len(items) != 1 || items[0].Window.Open || items[0].Window.ExpiresAt != nil {
		t.Errorf("conversations %+v: want one, window never opened", items)
	}
	h.advance(10 * time.Minute) // the STOP answer has arrived
	if status, code := h.text(to); status != 202 {
		t.Errorf("text after the customer wrote: %d %s, want 202", status, code)
	}
	if items, _ := h.conversations(""); len(items) != 1 || !items[0].Window.Open {
		t.Errorf("conversations %+v: want the window open", items)
	}
}

// TestBareAnswer: accepted sends are answered with the bare {message_id,
// status} the G3 pages show, no envelope, and the message is recorded.
func TestBareAnswer(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{BareAnswer: 1}})
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000001","template_name":"welcome"}`)
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d %s, want 202", r.status, r.body)
	}
	var bare map[string]any
	if err := json.Unmarshal(r.body, &bare); err != nil {
		t.Fatal(err)
	}
	id, _ := bare["message_id"].(string)
	if len(bare) != 2 || id == "" || bare["status"] != "pending" {
		t.Fatalf("answer %s, want only message_id and status pending", r.body)
	}
	if got := h.message(id); got.Status != "pending" {
		t.Errorf("the message reads %q, want pending", got.Status)
	}
}

// TestNullID: an accepted send answered 202 with its ids null, in the
// envelope; the message is recorded all the same.
func TestNullID(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{NullID: 1}})
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000001","template_name":"welcome"}`)
	if r.status != http.StatusAccepted || !bytes.Contains(r.body, []byte(`"message_id":null`)) || !bytes.Contains(r.body, []byte(`"conversation_id":null`)) {
		t.Fatalf("%d %s, want 202 with message_id and conversation_id null", r.status, r.body)
	}
	if p := h.list("direction=outbound"); p.Total != 1 || p.Items[0].Status != "pending" {
		t.Errorf("listing %+v, want the message, pending", p)
	}
}

// TestWholeReplies: answers are stored as WhatsApp's whole inbound
// message: a STOP as {"type":"text","text":{"body":"STOP"}}, a button as
// {"type":"interactive","interactive":{"type":"button_reply",...}}.
func TestWholeReplies(t *testing.T) {
	h := newHarness(t, Options{WholeReplies: true, OptOut: 1, Silent: new(0.0)})
	h.template("255712000001")
	h.ask("255712000001") // the template opened the window
	h.advance(time.Hour)
	p := h.list("direction=inbound")
	kinds := map[string]int{}
	for _, it := range p.Items {
		kinds[it.MessageType]++
		var whole struct {
			Type        string `json:"type"`
			Text        struct{ Body string }
			Interactive struct {
				Type        string
				ButtonReply struct{ ID string } `json:"button_reply"`
			}
		}
		if err := json.Unmarshal(it.Content, &whole); err != nil || whole.Type != it.MessageType ||
			it.MessageType == "text" && whole.Text.Body != "STOP" ||
			it.MessageType == "interactive" && (whole.Interactive.Type != "button_reply" || whole.Interactive.ButtonReply.ID == "") {
			t.Errorf("%s answer %s, want the whole message's layout", it.MessageType, it.Content)
		}
	}
	if kinds["text"] != 1 || kinds["interactive"] != 1 {
		t.Errorf("answers by type %v, want a STOP and a button", kinds)
	}
}

// TestUnpairedReplies: with UnpairedReplies the answers carry no
// paired_message_id and the question's GET shows no reply; they are in
// the question's thread all the same.
func TestUnpairedReplies(t *testing.T) {
	h := newHarness(t, Options{UnpairedReplies: true, Silent: new(0.0)})
	h.template("255712000001")
	q := h.ask("255712000001")
	h.advance(time.Hour)
	p := h.list("direction=inbound")
	if len(p.Items) != 1 || p.Items[0].PairedMessageID != nil || p.Items[0].ConversationID != q.ConversationID {
		t.Fatalf("answers %+v, want one in the question's thread without paired_message_id", p.Items)
	}
	if got := h.message(q.MessageID); got.Reply != nil || got.Status != "read" {
		t.Errorf("the question reads %s with reply %+v, want read without one", got.Status, got.Reply)
	}
}

// TestReadFaults: ReadFail5xx and ReadRateLimited answer reads with a
// server error or a 429 with Retry-After, and leave sends alone.
func TestReadFaults(t *testing.T) {
	for _, tc := range []struct {
		faults Faults
		want   func(status int) bool
	}{
		{Faults{ReadFail5xx: 1}, func(s int) bool { return s == 500 || s == 502 || s == 503 }},
		{Faults{ReadRateLimited: 1}, func(s int) bool { return s == http.StatusTooManyRequests }},
	} {
		h := newHarness(t, Options{})
		m := h.template("255712000001")
		if err := h.s.SetFaults(tc.faults); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/v1/whatsapp/messages/" + m.MessageID, "/v1/whatsapp/messages", "/v1/whatsapp/conversations",
			"/v1/whatsapp/senders", "/v1/whatsapp/templates"} {
			r := h.do("GET", path, "")
			if !tc.want(r.status) {
				t.Errorf("%+v: GET %s answered %d %s", tc.faults, path, r.status, r.body)
			}
			if r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "1" {
				t.Errorf("%+v: Retry-After %q, want 1", tc.faults, r.header.Get("Retry-After"))
			}
		}
		if r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000002","template_name":"welcome"}`); r.status != http.StatusAccepted {
			t.Errorf("%+v: a send answered %d %s, want 202", tc.faults, r.status, r.body)
		}
	}
}

// TestFailLater: a send accepted with 202 fails at WhatsApp when it would
// have been delivered: it reads failed with Meta's code from then on, in
// the status and in the listing, and nobody answers it.
func TestFailLater(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{FailLater: 1}, Silent: new(0.0)})
	m := h.template("255712000001")
	q := h.ask("255712000001")
	if got := h.message(m.MessageID); got.Status != "pending" || got.ErrorCode != nil {
		t.Fatalf("at once: %s, code %v; want pending without a code", got.Status, got.ErrorCode)
	}
	h.advance(time.Hour)
	for _, id := range []string{m.MessageID, q.MessageID} {
		got := h.message(id)
		if got.Status != "failed" || got.ErrorCode == nil || *got.ErrorCode != codeUndeliverable || got.Reply != nil {
			t.Errorf("an hour later: %s, code %v, reply %v; want failed with %s and no reply", got.Status, got.ErrorCode, got.Reply, codeUndeliverable)
		}
	}
	if got := h.list("direction=inbound").Total; got != 0 {
		t.Errorf("%d inbound messages, want none: failed messages get no answer", got)
	}
	if got := h.list("status=failed").Total; got != 2 {
		t.Errorf("status=failed lists %d, want 2", got)
	}
}
