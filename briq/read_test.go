package briq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// offsetServer serves n items in offset pages wrapped in Briq's envelope,
// the way GET /v1/whatsapp/messages and /conversations do, and records each
// request's query. withTotal=false leaves "total" out. failAt, when > 0,
// answers 503 to the request with that offset.
type offsetServer struct {
	n         int
	maxLimit  int
	withTotal bool
	failAt    int
	item      func(i int) string

	mu      sync.Mutex
	queries []url.Values
}

func (s *offsetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", fixedNow.Format(http.TimeFormat))
	q := r.URL.Query()
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	limit, offset := 100, 0
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	if v := q.Get("offset"); v != "" {
		offset, _ = strconv.Atoi(v)
	}
	w.Header().Set("Content-Type", "application/json")
	if limit < 1 || limit > s.maxLimit {
		w.WriteHeader(422)
		fmt.Fprintf(w, `{"success":false,"data":null,"errors":[{"code":"VALIDATION_ERROR","message":"limit out of range","field":"limit"}],"request_id":"r"}`)
		return
	}
	if s.failAt > 0 && offset == s.failAt {
		w.WriteHeader(503)
		return
	}
	var items []string
	for i := offset; i < min(offset+limit, s.n); i++ {
		items = append(items, s.item(i))
	}
	total := ""
	if s.withTotal {
		total = fmt.Sprintf(`,"total":%d`, s.n)
	}
	fmt.Fprintf(w, `{"success":true,"data":{"items":[%s]%s,"limit":%d,"offset":%d},"errors":null,"request_id":"r"}`,
		strings.Join(items, ","), total, limit, offset)
}

// offsets returns the offset of each recorded request.
func (s *offsetServer) offsets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, q := range s.queries {
		out = append(out, q.Get("offset"))
	}
	return out
}

func messageJSON(i int) string {
	return fmt.Sprintf(`{"id":"m-%d","message_id":"wamid.%d","conversation_id":"c-1","is_outbound":%t,"message_type":"text","status":"delivered","content":{"type":"text","text":{"body":"hi %d"}},"created_at":"2026-11-27T08:00:%02dZ","paired_message_id":null}`, i, i, i%2 == 0, i, i%60)
}

func TestAllMessages(t *testing.T) {
	since := time.Date(2026, 11, 27, 11, 0, 0, 0, time.FixedZone("EAT", 3*3600))
	tests := []struct {
		name        string
		n           int
		withTotal   bool
		failAt      int
		limit       int
		stopAfter   int // break after this many items; 0 = never
		wantItems   int
		wantOffsets []string
		wantErr     Class // 0: no error expected
	}{
		{name: "three pages by total", n: 450, withTotal: true, wantItems: 450, wantOffsets: []string{"", "200", "400"}},
		{name: "exact multiple of the page size", n: 400, withTotal: true, wantItems: 400, wantOffsets: []string{"", "200"}},
		{name: "no total: stops after a short page", n: 450, wantItems: 450, wantOffsets: []string{"", "200", "400"}},
		{name: "no total, exact multiple: stops after an empty page", n: 400, wantItems: 400, wantOffsets: []string{"", "200", "400"}},
		{name: "empty listing", n: 0, withTotal: true, wantItems: 0, wantOffsets: []string{""}},
		{name: "caller's page size", n: 120, withTotal: true, limit: 50, wantItems: 120, wantOffsets: []string{"", "50", "100"}},
		{name: "caller stops early", n: 450, withTotal: true, stopAfter: 250, wantItems: 250, wantOffsets: []string{"", "200"}},
		{name: "caller stops at a page boundary", n: 450, withTotal: true, stopAfter: 200, wantItems: 200, wantOffsets: []string{""}},
		{name: "error on the second page", n: 450, withTotal: true, failAt: 200, wantItems: 200, wantOffsets: []string{"", "200"}, wantErr: InDoubt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &offsetServer{n: tt.n, maxLimit: 200, withTotal: tt.withTotal, failAt: tt.failAt, item: messageJSON}
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			c := newTestClient(t, srv.URL)
			q := MessageQuery{ConversationID: "c-1", Direction: DirectionInbound, Since: since, Limit: tt.limit}
			var got []string
			var errs []error
			for m, err := range c.AllMessages(context.Background(), q) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				got = append(got, m.ID)
				if tt.stopAfter > 0 && len(got) == tt.stopAfter {
					break
				}
			}
			if len(got) != tt.wantItems {
				t.Errorf("items = %d, want %d", len(got), tt.wantItems)
			}
			for i, id := range got {
				if id != fmt.Sprintf("m-%d", i) {
					t.Fatalf("item %d = %s, want m-%d (order kept, none skipped)", i, id, i)
				}
			}
			if diff := cmp.Diff(tt.wantOffsets, s.offsets()); diff != "" {
				t.Errorf("requested offsets (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantErr == 0 && len(errs) > 0:
				t.Errorf("unexpected errors: %v", errs)
			case tt.wantErr != 0 && (len(errs) != 1 || ClassOf(errs[0]) != tt.wantErr):
				t.Errorf("errors = %v, want exactly one of class %v", errs, tt.wantErr)
			}
			for _, q := range s.queries {
				if q.Get("conversation_id") != "c-1" || q.Get("direction") != "inbound" || q.Get("since") != "2026-11-27T08:00:00Z" {
					t.Errorf("filters not sent on every page: %v", q)
				}
			}
		})
	}
}

func TestListMessagesQueryAndDecoding(t *testing.T) {
	s := &offsetServer{n: 3, maxLimit: 200, withTotal: true, item: messageJSON}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	until := time.Date(2026, 11, 28, 0, 0, 0, 500, time.UTC)
	page, err := c.ListMessages(context.Background(), MessageQuery{
		ConversationID: "c-1", Direction: DirectionOutbound, MessageType: "template", Status: StatusDelivered,
		Since: fixedNow, Until: until, Limit: 2, Offset: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantQuery := url.Values{
		"conversation_id": {"c-1"}, "direction": {"outbound"}, "message_type": {"template"}, "status": {"delivered"},
		"since": {"2026-11-27T08:00:00Z"}, "until": {"2026-11-28T00:00:00.0000005Z"}, "limit": {"2"}, "offset": {"1"},
	}
	if diff := cmp.Diff(wantQuery, s.queries[0]); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	want := &Page[Message]{
		Items: []Message{
			{ID: "m-1", MessageID: "wamid.1", ConversationID: "c-1", IsOutbound: false, MessageType: "text", Status: "delivered",
				Content: json.RawMessage(`{"type":"text","text":{"body":"hi 1"}}`), CreatedAt: Time{time.Date(2026, 11, 27, 8, 0, 1, 0, time.UTC)}},
			{ID: "m-2", MessageID: "wamid.2", ConversationID: "c-1", IsOutbound: true, MessageType: "text", Status: "delivered",
				Content: json.RawMessage(`{"type":"text","text":{"body":"hi 2"}}`), CreatedAt: Time{time.Date(2026, 11, 27, 8, 0, 2, 0, time.UTC)}},
		},
		Total: 3, Limit: 2, Offset: 1,
		Date: fixedNow, // the answer's Date header
	}
	if diff := cmp.Diff(want, page); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}

	if _, err := c.ListMessages(context.Background(), MessageQuery{Limit: 201}); ClassOf(err) != Permanent || len(s.queries) != 1 {
		t.Errorf("limit 201: error %v after %d requests, want a permanent usage error and no request", err, len(s.queries)-1)
	}
}

func TestAllConversations(t *testing.T) {
	s := &offsetServer{n: 230, maxLimit: 100, withTotal: true, item: func(i int) string {
		return fmt.Sprintf(`{"id":"c-%d","sender_id":"s-1","recipient_phone":"2557%08d","is_active":true,"unread_count":0,"contact_profile_name":"A","last_message_at":"2026-11-27T08:00:00Z","window":{"open":true,"expires_at":"2026-11-28T08:00:00Z"},"created_at":"2026-11-27T08:00:00Z","updated_at":"2026-11-27T08:00:00Z"}`, i, i)
	}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	var n int
	for conv, err := range c.AllConversations(context.Background(), ConversationQuery{Recipient: "+255700000001", Status: ConversationsOpen}) {
		if err != nil {
			t.Fatal(err)
		}
		if conv.ID != fmt.Sprintf("c-%d", n) {
			t.Fatalf("conversation %d = %s", n, conv.ID)
		}
		n++
	}
	if n != 230 {
		t.Errorf("conversations = %d, want 230", n)
	}
	if diff := cmp.Diff([]string{"", "100", "200"}, s.offsets()); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
	if q := s.queries[0]; q.Get("recipient") != "+255700000001" || q.Get("status") != "open" || q.Get("limit") != "100" {
		t.Errorf("query = %v", q)
	}
	if _, err := c.ListConversations(context.Background(), ConversationQuery{Limit: 101}); ClassOf(err) != Permanent {
		t.Errorf("limit 101: %v, want a permanent usage error", err)
	}
}

func TestListConversationsDecoding(t *testing.T) {
	srv := rawServer(t, 200, nil, `{"success":true,"data":{"items":[{"id":"c-1","sender_id":"s-1","recipient_phone":"255712345678","is_active":true,"unread_count":2,"contact_profile_name":"Asha","last_message_at":"2026-11-27T08:00:00.123456","window":{"open":true,"expires_at":"2026-11-28T08:00:00+03:00"},"created_at":"2026-11-20 10:00:00","updated_at":null}],"total":1,"limit":50,"offset":0},"errors":null,"request_id":"r"}`)
	c := newTestClient(t, srv.URL)
	page, err := c.ListConversations(context.Background(), ConversationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Page[Conversation]{Items: []Conversation{{
		ID: "c-1", SenderID: "s-1", RecipientPhone: "255712345678", IsActive: true, UnreadCount: 2, ContactProfileName: "Asha",
		LastMessageAt: Time{time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)},
		Window:        &Window{Open: true, ExpiresAt: Time{time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)}},
		CreatedAt:     Time{time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
	}}, Total: 1, Limit: 50}
	if diff := cmp.Diff(want, page, cmp.Comparer(func(a, b Time) bool { return a.Equal(b.Time) }), cmpopts.IgnoreFields(Page[Conversation]{}, "Date")); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
}

// TestListConversationsG1: G1's bare page, without the envelope, and its
// conversations without a window, are read as they are.
func TestListConversationsG1(t *testing.T) {
	srv := rawServer(t, 200, nil, `{"items":[{"id":"c-1","whatsapp_account_id":"a-1","recipient_phone":"+255712345678","is_active":false,"created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z","whatsapp_sender_number_id":"n-1","last_message_at":"2026-11-27T08:00:00Z"}],"total":1,"limit":50,"offset":0}`)
	c := newTestClient(t, srv.URL)
	page, err := c.ListConversations(context.Background(), ConversationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Total != 1 {
		t.Fatalf("page %+v, want one conversation", page)
	}
	if cv := page.Items[0]; cv.ID != "c-1" || cv.RecipientPhone != "+255712345678" || cv.IsActive || cv.Window != nil || cv.LastMessageAt.IsZero() {
		t.Errorf("conversation %+v, want c-1, inactive, without a window", cv)
	}
	// An envelope without data is still no answer.
	srv = rawServer(t, 200, nil, `{"success":true,"data":null,"errors":null,"request_id":"r"}`)
	if _, err := newTestClient(t, srv.URL).ListConversations(context.Background(), ConversationQuery{}); ClassOf(err) != InDoubt {
		t.Errorf("envelope without data: %v, want in doubt", err)
	}
}

func TestGetMessage(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     *MessageDetail
		wantErr  Class
		notFound bool
	}{
		{
			name:   "outbound with paired reply",
			status: 200,
			body: `{"success":true,"data":{"id":"m-1","conversation_id":"c-1","is_outbound":true,"message_type":"interactive","status":"read","provider_message_id":"wamid.A","created_at":"2026-11-27T08:00:00Z","content":{"type":"button"},
				"reply":{"id":"m-2","conversation_id":"c-1","is_outbound":false,"message_type":"interactive","content":{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes please"}}},"created_at":"2026-11-27T08:05:00Z","paired_message_id":"m-1"}},"errors":null,"request_id":"r"}`,
			want: &MessageDetail{
				Message: Message{ID: "m-1", ConversationID: "c-1", IsOutbound: true, MessageType: "interactive", Status: "read",
					CreatedAt: Time{time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}, Content: json.RawMessage(`{"type":"button"}`)},
				ProviderMessageID: "wamid.A",
				Reply: &Message{ID: "m-2", ConversationID: "c-1", MessageType: "interactive", PairedMessageID: "m-1",
					CreatedAt: Time{time.Date(2026, 11, 27, 8, 5, 0, 0, time.UTC)},
					Content:   json.RawMessage(`{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes please"}}}`)},
			},
		},
		{
			name:   "failed with reason, no reply yet",
			status: 200,
			body:   `{"success":true,"data":{"status":"failed","provider_message_id":null,"error_code":"131026","error_message":"undeliverable","reply":null},"errors":null,"request_id":"r"}`,
			want:   &MessageDetail{Message: Message{Status: "failed", ErrorCode: "131026", ErrorMessage: "undeliverable"}},
		},
		{
			name:   "failed with a numeric code",
			status: 200,
			body:   `{"success":true,"data":{"status":"failed","provider_message_id":null,"error_code":131026,"reply":null},"errors":null,"request_id":"r"}`,
			want:   &MessageDetail{Message: Message{Status: "failed", ErrorCode: "131026"}},
		},
		{name: "unknown id", status: 404, body: `{"detail":"Message not found"}`, wantErr: Permanent, notFound: true},
		{name: "workspace required", status: 403, body: `{"success":false,"data":null,"errors":[{"code":"WORKSPACE_REQUIRED","message":"no workspace","field":null}],"request_id":"r"}`, wantErr: Fatal},
		{name: "server error", status: 500, body: `oops`, wantErr: InDoubt},
		{name: "2xx without data", status: 200, body: `{"success":true,"data":null}`, wantErr: InDoubt},
		{name: "2xx undecodable", status: 200, body: `<html>`, wantErr: InDoubt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.EscapedPath()
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			c := newTestClient(t, srv.URL)
			got, err := c.GetMessage(context.Background(), "m-1/x")
			if path != "/v1/whatsapp/messages/m-1%2Fx" {
				t.Errorf("path = %s, want the id escaped", path)
			}
			if tt.wantErr != 0 {
				if ClassOf(err) != tt.wantErr || got != nil {
					t.Fatalf("got %+v, %v; want nil and class %v", got, err, tt.wantErr)
				}
				if errors.Is(err, ErrNotFound) != tt.notFound {
					t.Errorf("errors.Is(err, ErrNotFound) = %t, want %t", !tt.notFound, tt.notFound)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("detail (-want +got):\n%s", diff)
			}
		})
	}
	c := newTestClient(t, "http://127.0.0.1:1")
	if _, err := c.GetMessage(context.Background(), ""); ClassOf(err) != Permanent {
		t.Errorf("empty id: %v, want a permanent usage error", err)
	}
}

func TestListSenders(t *testing.T) {
	var query url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		if r.URL.Path != "/v1/whatsapp/senders" {
			w.WriteHeader(404)
			return
		}
		if query.Has("is_default") {
			w.WriteHeader(422)
			_, _ = w.Write([]byte(`{"success":false,"data":null,"errors":[{"code":"VALIDATION_ERROR","message":"bad bool","field":"is_default"}],"request_id":"r-s"}`))
			return
		}
		_, _ = w.Write([]byte(`[{"id":"s-1","user_id":"u-1","whatsapp_account_id":null,"display_number":"+255700000001","label":"Main","is_default":true,"is_active":true,"phone_number_id":"1107264639145282"},{"id":"s-2","user_id":"u-1","whatsapp_account_id":"w-1","is_default":false,"is_active":false}]`))
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	yes := true
	got, err := c.ListSenders(context.Background(), SenderQuery{IsActive: &yes})
	if err != nil {
		t.Fatal(err)
	}
	want := []Sender{
		{ID: "s-1", UserID: "u-1", DisplayNumber: "+255700000001", PhoneNumberID: "1107264639145282", Label: "Main", IsDefault: true, IsActive: true},
		{ID: "s-2", UserID: "u-1", WhatsAppAccountID: "w-1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("senders (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(url.Values{"is_active": {"true"}}, query); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}

	// The 422 envelope of a bare-shaped endpoint still decodes into the error.
	no := false
	_, err = c.ListSenders(context.Background(), SenderQuery{IsDefault: &no})
	var e *Error
	if !errors.As(err, &e) || e.Class != Permanent || e.Code != "VALIDATION_ERROR" || e.Field != "is_default" || e.RequestID != "r-s" {
		t.Errorf("422 error = %#v", err)
	}
}

// templateServer serves templates in cursor pages of the requested size;
// the cursor is the index of the next item. repeatCursor makes it hand back
// the cursor it was given.
type templateServer struct {
	n            int
	repeatCursor bool
	mu           sync.Mutex
	queries      []url.Values
}

func (s *templateServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit == 0 {
		limit = 50
	}
	start := 0
	if c := q.Get("cursor"); c != "" {
		start, _ = strconv.Atoi(strings.TrimPrefix(c, "cur-"))
	}
	var items []string
	end := min(start+limit, s.n)
	for i := start; i < end; i++ {
		items = append(items, fmt.Sprintf(`{"id":"t-%d","name":"tpl_%d","status":"APPROVED","is_deleted":false,"language":"en_US","category":"MARKETING","params":["1","2"],"template_type":"standard","parameter_format":"POSITIONAL","quality_score":"GREEN","whatsapp_sender_number_id":"s-1","details":{},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z","approved_at":"2026-01-02T00:00:00Z","last_sent_at":null,"rejection_reason_code":null,"rejection_reason_text":null}`, i, i))
	}
	next := "null"
	switch {
	case s.repeatCursor && q.Get("cursor") != "":
		next = `"` + q.Get("cursor") + `"`
	case end < s.n:
		next = fmt.Sprintf(`"cur-%d"`, end)
	}
	fmt.Fprintf(w, `{"items":[%s],"cursor_next":%s,"total_count":%d}`, strings.Join(items, ","), next, s.n)
}

func TestAllTemplates(t *testing.T) {
	tests := []struct {
		name         string
		n            int
		repeatCursor bool
		limit        int
		stopAfter    int
		wantItems    int
		wantCursors  []string
		wantErr      bool
	}{
		{name: "three pages", n: 450, wantItems: 450, wantCursors: []string{"", "cur-200", "cur-400"}},
		{name: "one page", n: 3, wantItems: 3, wantCursors: []string{""}},
		{name: "caller's page size", n: 5, limit: 2, wantItems: 5, wantCursors: []string{"", "cur-2", "cur-4"}},
		{name: "caller stops early", n: 450, stopAfter: 10, wantItems: 10, wantCursors: []string{""}},
		{name: "server repeats its cursor", n: 450, repeatCursor: true, wantItems: 400, wantCursors: []string{"", "cur-200"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &templateServer{n: tt.n, repeatCursor: tt.repeatCursor}
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			c := newTestClient(t, srv.URL)
			q := TemplateQuery{Status: []string{"APPROVED", "PAUSED"}, Category: []string{"MARKETING"}, Sort: "name_asc", Limit: tt.limit}
			var names []string
			var errs []error
			for tpl, err := range c.AllTemplates(context.Background(), q) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				names = append(names, tpl.Name)
				if tt.stopAfter > 0 && len(names) == tt.stopAfter {
					break
				}
			}
			if len(names) != tt.wantItems {
				t.Errorf("templates = %d, want %d", len(names), tt.wantItems)
			}
			var cursors []string
			for _, q := range s.queries {
				cursors = append(cursors, q.Get("cursor"))
				if diff := cmp.Diff([]string{"APPROVED", "PAUSED"}, q["status"]); diff != "" || q.Get("sort") != "name_asc" || q.Get("category") != "MARKETING" {
					t.Errorf("filters not kept across pages: %v", q)
				}
			}
			if diff := cmp.Diff(tt.wantCursors, cursors); diff != "" {
				t.Errorf("cursors (-want +got):\n%s", diff)
			}
			if (len(errs) == 1) != tt.wantErr || len(errs) > 1 {
				t.Errorf("errors = %v, want error: %t", errs, tt.wantErr)
			}
		})
	}
}

func TestListTemplatesDecoding(t *testing.T) {
	s := &templateServer{n: 1}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	page, err := c.ListTemplates(context.Background(), TemplateQuery{SenderID: "s-1", Language: []string{"en_US"}, NameOrContent: "tpl"})
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	day := func(d int) Time { return Time{time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC)} }
	want := &TemplatePage{Items: []Template{{
		ID: "t-0", Name: "tpl_0", Status: TemplateApproved, Language: "en_US", Category: "MARKETING", Params: []string{"1", "2"},
		TemplateType: "standard", ParameterFormat: "POSITIONAL", QualityScore: "GREEN", WhatsAppSenderNumberID: "s-1",
		Details: json.RawMessage(`{}`), CreatedAt: day(1), UpdatedAt: day(2), ApprovedAt: day(2),
	}}, TotalCount: &one}
	if diff := cmp.Diff(want, page); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
	wantQuery := url.Values{"sender_id": {"s-1"}, "language": {"en_US"}, "name_or_content": {"tpl"}}
	if diff := cmp.Diff(wantQuery, s.queries[0]); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
}

// TestReadErrors pins the classes of read failures, which are all safe to
// repeat: only auth is fatal.
func TestReadErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		want       Class
		retryAfter time.Duration
	}{
		{name: "401", status: 401, body: `{"detail":"bad key"}`, want: Fatal},
		{name: "403", status: 403, body: `{"success":false,"errors":[{"code":"WORKSPACE_REQUIRED","message":"m","field":null}]}`, want: Fatal},
		{name: "429", status: 429, header: map[string]string{"Retry-After": "2"}, want: RateLimited, retryAfter: 2 * time.Second},
		{name: "422", status: 422, body: `{"detail":[{"loc":["query","limit"],"msg":"too big","type":"value_error"}]}`, want: Permanent},
		{name: "503", status: 503, want: InDoubt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := rawServer(t, tt.status, tt.header, tt.body)
			c := newTestClient(t, srv.URL)
			checks := map[string]error{}
			_, checks["templates"] = c.ListTemplates(context.Background(), TemplateQuery{})
			_, checks["senders"] = c.ListSenders(context.Background(), SenderQuery{})
			_, checks["conversations"] = c.ListConversations(context.Background(), ConversationQuery{})
			_, checks["messages"] = c.ListMessages(context.Background(), MessageQuery{})
			for name, err := range checks {
				var e *Error
				if !errors.As(err, &e) || e.Class != tt.want || e.HTTPStatus != tt.status || e.RetryAfter != tt.retryAfter {
					t.Errorf("%s: error %v (%+v), want class %v, status %d, retry after %v", name, err, e, tt.want, tt.status, tt.retryAfter)
				}
			}
		})
	}
}

func TestTimeDecoding(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: `"2026-11-27T08:00:00Z"`, want: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)},
		{in: `"2026-11-27T11:00:00.5+03:00"`, want: time.Date(2026, 11, 27, 8, 0, 0, 5e8, time.UTC)},
		{in: `"2026-11-27T08:00:00.123456"`, want: time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)},
		{in: `"2026-11-27 08:00:00+00:00"`, want: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)},
		{in: `"2026-11-27 08:00:00"`, want: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)},
		{in: `null`},
		{in: `""`},
		{in: `"yesterday"`, wantErr: true},
		{in: `1764230400`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got Time
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error: %t", err, tt.wantErr)
			}
			if !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got.Time, tt.want)
			}
		})
	}
	b, err := json.Marshal(struct{ A, B Time }{A: Time{fixedNow}})
	if err != nil || string(b) != `{"A":"2026-11-27T08:00:00Z","B":null}` {
		t.Errorf("marshal = %s, %v", b, err)
	}
}

// TestTextDecoding: a field whose type the docs do not give is read from a
// string or a number, kept as written; null is empty; anything else fails.
func TestTextDecoding(t *testing.T) {
	for in, want := range map[string]Text{`"131026"`: "131026", `131026`: "131026", `"SEND_FAILED"`: "SEND_FAILED", `null`: "", `1.5e3`: "1.5e3"} {
		var got Text
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`true`, `{}`, `["131026"]`} {
		var got Text
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("%s: %q, want an error", in, got)
		}
	}
}
