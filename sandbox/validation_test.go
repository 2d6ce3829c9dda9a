package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// problem is what a rejected request must answer: the status, the code of
// every error and the fields they name ("" for null).
type problem struct {
	Status int
	Codes  []string
	Fields []string
}

func problemOf(r response) problem {
	p := problem{Status: r.status}
	for _, e := range r.env.Errors {
		p.Codes = append(p.Codes, e.Code)
		f := ""
		if e.Field != nil {
			f = *e.Field
		}
		p.Fields = append(p.Fields, f)
	}
	return p
}

func invalid(fields ...string) problem {
	p := problem{Status: http.StatusUnprocessableEntity, Fields: fields}
	for range fields {
		p.Codes = append(p.Codes, codeValidation)
	}
	return p
}

const inactiveSenderID = "5d0f2b8e-7a11-4c3e-8f0a-2b9d6c4e1a77"

// TestValidation pins every documented 4xx of the endpoints, one row each,
// with raw JSON requests.
func TestValidation(t *testing.T) {
	h := newHarness(t, Options{Senders: []Sender{
		DefaultSender,
		{ID: inactiveSenderID, DisplayNumber: "255700000002", PhoneNumberID: "100000000000002", Label: "Old"},
	}})
	// An open conversation for the rows that target one.
	conv := h.template("255712000001").ConversationID

	long := func(n int) string { return strings.Repeat("a", n) }
	const msgs, inter = "/v1/whatsapp/messages", "/v1/whatsapp/messages/interactive"
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		key         string // "" means the right key
		faults      Faults
		want        problem
		wantHeaders map[string]string
	}{
		{name: "no key", path: msgs, body: `{"type":"text","to":"255712000001","body":"hi"}`, key: "none",
			want: problem{401, []string{codeUnauthorized}, []string{""}}},
		{name: "wrong key", path: msgs, body: `{"type":"text","to":"255712000001","body":"hi"}`, key: "wrong",
			want: problem{401, []string{codeUnauthorized}, []string{""}}},
		{name: "wrong key on a read", method: "GET", path: "/v1/whatsapp/senders", key: "wrong",
			want: problem{401, []string{codeUnauthorized}, []string{""}}},
		{name: "key without workspace", path: msgs, body: `{"type":"text","to":"255712000001","body":"hi"}`,
			faults: Faults{NoWorkspace: true}, want: problem{403, []string{codeWorkspace}, []string{""}}},

		{name: "not JSON", path: msgs, body: `{"type":`, want: invalid("")},
		{name: "array body", path: msgs, body: `[1]`, want: invalid("")},
		{name: "type missing", path: msgs, body: `{"to":"255712000001","body":"hi"}`, want: invalid("type")},
		{name: "type unknown", path: msgs, body: `{"type":"audio","to":"255712000001"}`, want: invalid("type")},
		{name: "type not a string", path: msgs, body: `{"type":3,"to":"255712000001"}`, want: invalid("type")},
		{name: "text without body", path: msgs, body: `{"type":"text","to":"255712000001"}`, want: invalid("body")},
		{name: "text with empty body", path: msgs, body: `{"type":"text","to":"255712000001","body":""}`, want: invalid("body")},
		{name: "body too long", path: msgs, body: `{"type":"text","to":"255712000001","body":"` + long(4097) + `"}`, want: invalid("body")},
		{name: "template without name", path: msgs, body: `{"type":"template","to":"255712000001"}`, want: invalid("template_name")},
		{name: "template name too long", path: msgs, body: `{"type":"template","to":"255712000001","template_name":"` + long(513) + `"}`, want: invalid("template_name")},
		{name: "variables not strings", path: msgs, body: `{"type":"template","to":"255712000001","template_name":"bf_offer","variables":{"1":2}}`, want: invalid("variables")},
		{name: "media without kind or url", path: msgs, body: `{"type":"media","to":"255712000001"}`, want: invalid("media_kind", "media_url")},
		{name: "media kind AUDIO", path: msgs, body: `{"type":"media","to":"255712000001","media_kind":"AUDIO","media_url":"https://x.test/a.ogg"}`, want: invalid("media_kind")},
		{name: "caption too long", path: msgs, body: `{"type":"media","to":"255712000001","media_kind":"IMAGE","media_url":"https://x.test/a.png","caption":"` + long(1025) + `"}`, want: invalid("caption")},
		{name: "filename too long", path: msgs, body: `{"type":"media","to":"255712000001","media_kind":"DOCUMENT","media_url":"https://x.test/a.pdf","filename":"` + long(256) + `"}`, want: invalid("filename")},
		{name: "interactive missing", path: msgs, body: `{"type":"interactive","to":"255712000001"}`, want: invalid("interactive")},
		{name: "interactive not an object", path: msgs, body: `{"type":"interactive","to":"255712000001","interactive":"buttons"}`, want: invalid("interactive")},
		{name: "neither to nor conversation_id", path: msgs, body: `{"type":"text","body":"hi"}`, want: invalid("to")},
		{name: "both to and conversation_id", path: msgs, body: `{"type":"text","body":"hi","to":"255712000001","conversation_id":"` + conv + `"}`, want: invalid("conversation_id")},
		{name: "to with leading zero", path: msgs, body: `{"type":"text","body":"hi","to":"0712000001"}`, want: invalid("to")},
		{name: "to too short", path: msgs, body: `{"type":"text","body":"hi","to":"+255712"}`, want: invalid("to")},
		{name: "to too long", path: msgs, body: `{"type":"text","body":"hi","to":"2557120000011234567"}`, want: invalid("to")},
		{name: "to with spaces", path: msgs, body: `{"type":"text","body":"hi","to":"255 712 000 001"}`, want: invalid("to")},
		{name: "sender_id not a uuid", path: msgs, body: `{"type":"template","template_name":"welcome","to":"255712000001","sender_id":"main"}`, want: invalid("sender_id")},
		{name: "conversation_id not a uuid", path: msgs, body: `{"type":"text","body":"hi","conversation_id":"42"}`, want: invalid("conversation_id")},
		{name: "every problem at once", path: msgs, body: `{"type":"media","media_kind":"GIF","caption":"` + long(1025) + `"}`,
			want: invalid("caption", "media_kind", "media_url", "to")},

		{name: "G3 interactive missing", path: inter, body: `{"to":"255712000001"}`, want: invalid("interactive")},
		{name: "G3 interactive without type", path: inter, body: `{"to":"255712000001","interactive":{"body":{"text":"?"}}}`, want: invalid("interactive.type")},
		{name: "G3 no target", path: inter, body: `{"interactive":` + buttons + `}`, want: invalid("to")},
		{name: "G3 bad to", path: inter, body: `{"to":"12ab","interactive":` + buttons + `}`, want: invalid("to")},
		{name: "G3 sender too long", path: inter, body: `{"to":"255712000001","sender":"` + long(65) + `","interactive":` + buttons + `}`, want: invalid("sender")},

		{name: "unknown template", path: msgs, body: `{"type":"template","to":"255712000001","template_name":"bf_ofer"}`,
			want: problem{404, []string{codeTemplateNotFound}, []string{"template_name"}}},
		{name: "template not approved", path: msgs, body: `{"type":"template","to":"255712000001","template_name":"draft_offer","variables":{"1":"x"}}`,
			want: problem{404, []string{codeTemplateNotApproved}, []string{"template_name"}}},
		{name: "too few variables", path: msgs, body: `{"type":"template","to":"255712000001","template_name":"bf_offer","variables":{"1":"Asha"}}`,
			want: problem{400, []string{codeParamMismatch}, []string{"variables"}}},
		{name: "variables for a template without params", path: msgs, body: `{"type":"template","to":"255712000001","template_name":"welcome","variables":{"1":"Asha"}}`,
			want: problem{400, []string{codeParamMismatch}, []string{"variables"}}},
		{name: "unknown sender_id", path: msgs, body: `{"type":"template","template_name":"welcome","to":"255712000001","sender_id":"9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"}`,
			want: problem{404, []string{codeSenderNotFound}, []string{"sender_id"}}},
		{name: "inactive sender_id", path: msgs, body: `{"type":"template","template_name":"welcome","to":"255712000001","sender_id":"` + inactiveSenderID + `"}`,
			want: problem{400, []string{codeNoActiveSender}, []string{"sender_id"}}},
		{name: "G3 unknown sender", path: inter, body: `{"to":"255712000001","sender":"255799999999","interactive":` + buttons + `}`,
			want: problem{404, []string{codeSenderNotFound}, []string{"sender"}}},
		{name: "unknown conversation", path: msgs, body: `{"type":"text","body":"hi","conversation_id":"9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"}`,
			want: problem{404, []string{codeConversationNotFound}, []string{"conversation_id"}}},

		{name: "text before any template", path: msgs, body: `{"type":"text","to":"255712000002","body":"hi"}`,
			want: problem{422, []string{codeWindowClosed}, []string{""}}},
		{name: "G3 interactive before any template", path: inter, body: `{"to":"255712000002","interactive":` + buttons + `}`,
			want: problem{422, []string{codeWindowClosed}, []string{""}}},
		{name: "unreachable recipient", path: msgs, body: `{"type":"template","to":"255712000003","template_name":"welcome"}`,
			faults: Faults{Unreachable: 1}, want: problem{422, []string{codeUnreachable}, []string{"to"}}},
		{name: "provider failure", path: msgs, body: `{"type":"template","to":"255712000003","template_name":"welcome"}`,
			faults: Faults{Reauth: true}, want: problem{422, []string{codeReauth}, []string{""}}},

		{name: "message id not a uuid", method: "GET", path: msgs + "/abc", want: invalid("message_id")},
		{name: "unknown message", method: "GET", path: msgs + "/9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
			want: problem{404, []string{codeMessageNotFound}, []string{"message_id"}}},
		{name: "list limit 0", method: "GET", path: msgs + "?limit=0", want: invalid("limit")},
		{name: "list limit 201", method: "GET", path: msgs + "?limit=201", want: invalid("limit")},
		{name: "list bad filters", method: "GET", path: msgs + "?direction=up&since=yesterday&offset=-1&conversation_id=x",
			want: invalid("conversation_id", "direction", "since", "offset")},
		{name: "conversations limit 101", method: "GET", path: "/v1/whatsapp/conversations?limit=101", want: invalid("limit")},
		{name: "conversations bad status and recipient", method: "GET", path: "/v1/whatsapp/conversations?status=closed&recipient=123",
			want: invalid("recipient", "status")},
		{name: "senders bad filter", method: "GET", path: "/v1/whatsapp/senders?is_active=maybe", want: invalid("is_active")},
		{name: "templates limit 201", method: "GET", path: "/v1/whatsapp/templates?limit=201", want: invalid("limit")},
		{name: "templates bad cursor", method: "GET", path: "/v1/whatsapp/templates?cursor=zzz", want: invalid("cursor")},
		{name: "templates bad sort", method: "GET", path: "/v1/whatsapp/templates?sort=random", want: invalid("sort")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			if err := h.s.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			method, key := "POST", h.s.APIKey()
			if tt.method != "" {
				method = tt.method
			}
			switch tt.key {
			case "none":
				key = ""
			case "wrong":
				key = "not-the-key"
			}
			r := h.doKey(method, tt.path, tt.body, key)
			if diff := cmp.Diff(tt.want, problemOf(r)); diff != "" {
				t.Errorf("wrong answer (-want +got):\n%s\nbody: %s", diff, r.body)
			}
			if r.env.Success || r.env.RequestID == "" || !isUUID(r.env.RequestID) {
				t.Errorf("envelope: success %v, request_id %q; want false and a uuid", r.env.Success, r.env.RequestID)
			}
		})
	}
	h.t = t

	// Nothing rejected was recorded; the failed provider send was.
	st := h.s.Stats()
	if st.Accepted != 1 || len(st.Messages) != 2 || st.Messages[1].Error != codeReauth {
		t.Errorf("stats after rejections: accepted %d, messages %+v; want the one template and the failed send", st.Accepted, st.Messages)
	}
}

// TestNoActiveSender: a workspace without active senders refuses every
// send with 400.
func TestNoActiveSender(t *testing.T) {
	for name, senders := range map[string][]Sender{
		"none":     {},
		"inactive": {{DisplayNumber: "255700000002", PhoneNumberID: "2"}},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, Options{Senders: senders})
			for _, tt := range []struct{ path, body string }{
				{"/v1/whatsapp/messages", `{"type":"template","to":"255712000001","template_name":"welcome"}`},
				{"/v1/whatsapp/messages/interactive", `{"to":"255712000001","interactive":` + buttons + `}`},
			} {
				r := h.do("POST", tt.path, tt.body)
				want := problem{400, []string{codeNoActiveSender}, []string{""}}
				if diff := cmp.Diff(want, problemOf(r)); diff != "" {
					t.Errorf("POST %s: wrong answer (-want +got):\n%s", tt.path, diff)
				}
			}
		})
	}
}

// TestRateLimit: with a limit of N per second, the N+1st send in one second
// of sandbox time gets 429 with Retry-After and is not recorded; the next
// second accepts again. Rejected sends do not use up the budget.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{RateLimit: 3}})
	if r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000001","template_name":"nope"}`); r.status != 404 {
		t.Fatalf("unknown template: status %d", r.status)
	}
	for i := range 3 {
		h.send(`{"type":"template","to":"25571200000` + string(rune('1'+i)) + `","template_name":"welcome"}`)
	}
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000009","template_name":"welcome"}`)
	want := problem{429, []string{codeRateLimited}, []string{""}}
	if diff := cmp.Diff(want, problemOf(r)); diff != "" {
		t.Fatalf("4th send: (-want +got):\n%s", diff)
	}
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	h.advance(time.Second)
	h.send(`{"type":"template","to":"255712000009","template_name":"welcome"}`)
	st := h.s.Stats()
	if st.Accepted != 4 || st.Rejected[codeRateLimited] != 1 || st.ByRecipient["255712000009"] != 1 {
		t.Errorf("stats: accepted %d, rejected %v, by recipient %v", st.Accepted, st.Rejected, st.ByRecipient)
	}
}
