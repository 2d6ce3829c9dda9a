package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// t0 is the base time of every test clock.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fixedClock is a base clock that never moves; tests move the sandbox
// clock with Advance.
func fixedClock() time.Time { return t0 }

// testTemplates are the templates of most tests.
var testTemplates = []Template{
	{Name: "bf_offer", Status: "APPROVED", Params: []string{"1", "2"}, Language: "en_US", Category: "MARKETING"},
	{Name: "welcome", Status: "APPROVED", Language: "en_US", Category: "UTILITY"},
	{Name: "draft_offer", Status: "DRAFT", Params: []string{"1"}, Language: "en_US", Category: "MARKETING"},
}

// harness is a sandbox on a real loopback listener and a client that
// speaks raw JSON to it: the tests must not share structs with any client.
type harness struct {
	t      *testing.T
	s      *Server
	url    string
	client *http.Client
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	if opts.Templates == nil {
		opts.Templates = testTemplates
	}
	if opts.APIKey == "" {
		opts.APIKey = "test-key"
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	url, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	t.Cleanup(tr.CloseIdleConnections)
	return &harness{t: t, s: s, url: url, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// response is a decoded answer; env is filled when the body is an envelope.
type response struct {
	status int
	header http.Header
	body   []byte
	env    struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
		Errors  []struct {
			Code    string  `json:"code"`
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"errors"`
		RequestID string `json:"request_id"`
	}
}

// do sends a request with the harness's API key and returns the answer.
func (h *harness) do(method, path, body string) response {
	h.t.Helper()
	return h.doKey(method, path, body, h.s.APIKey())
}

func (h *harness) doKey(method, path, body, key string) response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header}
	if r.body, err = io.ReadAll(res.Body); err != nil {
		h.t.Fatal(err)
	}
	json.Unmarshal(r.body, &r.env)
	return r
}

// data decodes the envelope's data into v.
func (r response) data(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.env.Data, v); err != nil {
		t.Fatalf("decode data %s: %v", r.env.Data, err)
	}
}

// sent is the data of a send answer.
type sent struct {
	MessageID         string  `json:"message_id"`
	ConversationID    string  `json:"conversation_id"`
	SenderID          string  `json:"sender_id"`
	Sender            *string `json:"sender"`
	ProviderMessageID *string `json:"provider_message_id"`
	Status            string  `json:"status"`
}

// send posts body to the G2 send endpoint and wants 202.
func (h *harness) send(body string) sent {
	h.t.Helper()
	return h.sendTo("/v1/whatsapp/messages", body)
}

func (h *harness) sendTo(path, body string) sent {
	h.t.Helper()
	r := h.do("POST", path, body)
	if r.status != http.StatusAccepted {
		h.t.Fatalf("POST %s %s: status %d, want 202: %s", path, body, r.status, r.body)
	}
	var s sent
	r.data(h.t, &s)
	return s
}

// template sends bf_offer to phone.
func (h *harness) template(phone string) sent {
	h.t.Helper()
	return h.send(`{"type":"template","to":"` + phone + `","template_name":"bf_offer","variables":{"1":"Asha","2":"20%"}}`)
}

// buttons is an interactive object with yes/no/later reply buttons.
const buttons = `{"type":"button","body":{"text":"Interested?"},"action":{"buttons":[` +
	`{"type":"reply","reply":{"id":"yes","title":"Yes"}},` +
	`{"type":"reply","reply":{"id":"no","title":"No"}},` +
	`{"type":"reply","reply":{"id":"later","title":"Later"}}]}}`

// ask sends the buttons to phone through G3.
func (h *harness) ask(phone string) sent {
	h.t.Helper()
	return h.sendTo("/v1/whatsapp/messages/interactive", `{"to":"`+phone+`","interactive":`+buttons+`}`)
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	if err := h.s.Advance(d); err != nil {
		h.t.Fatal(err)
	}
}

// detail is the data of GET /v1/whatsapp/messages/{id}.
type detail struct {
	ID                string          `json:"id"`
	ConversationID    string          `json:"conversation_id"`
	IsOutbound        bool            `json:"is_outbound"`
	MessageType       string          `json:"message_type"`
	Content           json.RawMessage `json:"content"`
	Status            string          `json:"status"`
	ProviderMessageID *string         `json:"provider_message_id"`
	CreatedAt         time.Time       `json:"created_at"`
	ErrorCode         *string         `json:"error_code"`
	Reply             *item           `json:"reply"`
}

// item is one message of the list endpoint.
type item struct {
	ID              string          `json:"id"`
	MessageID       *string         `json:"message_id"`
	ConversationID  string          `json:"conversation_id"`
	IsOutbound      bool            `json:"is_outbound"`
	MessageType     string          `json:"message_type"`
	Content         json.RawMessage `json:"content"`
	CreatedAt       time.Time       `json:"created_at"`
	PairedMessageID *string         `json:"paired_message_id"`
	Status          string          `json:"status"`
}

func (h *harness) message(id string) detail {
	h.t.Helper()
	r := h.do("GET", "/v1/whatsapp/messages/"+id, "")
	if r.status != http.StatusOK {
		h.t.Fatalf("GET message %s: status %d: %s", id, r.status, r.body)
	}
	var d detail
	r.data(h.t, &d)
	return d
}

type itemPage struct {
	Items  []item `json:"items"`
	Total  int    `json:"total"`
	Limit  int    `json:"limit"`
	Offset int    `json:"offset"`
}

func (h *harness) list(query string) itemPage {
	h.t.Helper()
	r := h.do("GET", "/v1/whatsapp/messages?"+query, "")
	if r.status != http.StatusOK {
		h.t.Fatalf("GET messages?%s: status %d: %s", query, r.status, r.body)
	}
	var p itemPage
	r.data(h.t, &p)
	return p
}
