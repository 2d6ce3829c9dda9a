package briq_test

// Integration tests: the client against the sandbox over loopback, for every
// endpoint and every outcome class. The sandbox declares its own wire
// structs, so a field the client names wrongly fails here.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/sandbox"
)

var sandboxEpoch = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

var sandboxTemplates = []sandbox.Template{
	{Name: "welcome", Status: "APPROVED", Params: []string{"1"}, Language: "en_US", Category: "MARKETING"},
	{Name: "bf_offer", Status: "APPROVED", Params: []string{"1", "2"}, Language: "en_US", Category: "MARKETING"},
	{Name: "in_review", Status: "IN_REVIEW", Params: nil, Language: "en_US", Category: "UTILITY"},
}

// startSandbox runs a sandbox on loopback with a fixed clock, everyone
// answering "yes", and the templates above; mod adjusts the options. It
// returns the server, its base URL and a client for it.
func startSandbox(t *testing.T, mod func(*sandbox.Options)) (*sandbox.Server, string, *briq.Client) {
	t.Helper()
	silent := 0.0
	opts := sandbox.Options{
		APIKey:    "sandbox-key-7c1d",
		Now:       func() time.Time { return sandboxEpoch },
		Seed:      7,
		Templates: sandboxTemplates,
		Answers:   map[string]float64{"yes": 1},
		Silent:    &silent,
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("sandbox Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, url, newClient(t, url, srv.APIKey(), nil)
}

func newClient(t *testing.T, url, key string, mod func(*briq.Options)) *briq.Client {
	t.Helper()
	opts := briq.Options{BaseURL: url, APIKey: key, Version: "test", MaxConns: 8}
	if mod != nil {
		mod(&opts)
	}
	c, err := briq.New(opts)
	if err != nil {
		t.Fatalf("briq.New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

var buttons = []byte(`{"type":"button","body":{"text":"Want your code?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes please"}},{"type":"reply","reply":{"id":"no","title":"No thanks"}}]}}`)

// mustAccept returns a function that fails t unless a send's outcome is
// Accepted with both ids, for use as mustAccept(t)(c.SendMessage(...)).
func mustAccept(t *testing.T) func(*briq.SendResult, error) *briq.SendResult {
	return func(res *briq.SendResult, err error) *briq.SendResult {
		t.Helper()
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		if res.MessageID == "" || res.ConversationID == "" {
			t.Fatalf("accepted send without ids: %+v", res)
		}
		return res
	}
}

// TestSandboxEndpoints walks a campaign through every endpoint: senders,
// templates, a template first contact, text, media and interactive
// follow-ups (G2 and G3), status progression, the paired reply on GET and in
// the listing, and conversations.
func TestSandboxEndpoints(t *testing.T) {
	srv, _, c := startSandbox(t, nil)
	ctx := context.Background()
	const phone = "255712345678"

	senders, err := c.ListSenders(ctx, briq.SenderQuery{})
	if err != nil {
		t.Fatal(err)
	}
	d := sandbox.DefaultSender
	wantSenders := []briq.Sender{{ID: d.ID, DisplayNumber: d.DisplayNumber, PhoneNumberID: d.PhoneNumberID, Label: d.Label, IsDefault: true, IsActive: true}}
	if diff := cmp.Diff(wantSenders, senders, cmp.FilterPath(func(p cmp.Path) bool {
		f := p.Last().String()
		return f == ".UserID" || f == ".WhatsAppAccountID"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("senders (-want +got):\n%s", diff)
	}

	var names []string
	params := map[string][]string{}
	for tpl, err := range c.AllTemplates(ctx, briq.TemplateQuery{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tpl.Name+":"+tpl.Status)
		params[tpl.Name] = tpl.Params
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"bf_offer:APPROVED", "in_review:IN_REVIEW", "welcome:APPROVED"}, names); diff != "" {
		t.Errorf("templates, one per page (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1", "2"}, params["bf_offer"]); diff != "" {
		t.Errorf("bf_offer params (-want +got):\n%s", diff)
	}

	first := mustAccept(t)(c.SendMessage(ctx, &briq.MessageRequest{To: "+" + phone, Type: briq.TypeTemplate, TemplateName: "bf_offer", Variables: map[string]string{"1": "Asha", "2": "20%"}}))
	if first.SenderID != d.ID {
		t.Errorf("sender_id = %q, want %q", first.SenderID, d.ID)
	}
	conv := first.ConversationID
	mustAccept(t)(c.SendMessage(ctx, &briq.MessageRequest{ConversationID: conv, Type: briq.TypeText, Body: "Hi Asha"}))
	mustAccept(t)(c.SendMessage(ctx, &briq.MessageRequest{ConversationID: conv, Type: briq.TypeMedia, MediaKind: briq.MediaImage, MediaURL: "https://example.com/a.png", Caption: "Offer"}))
	mustAccept(t)(c.SendMessage(ctx, &briq.MessageRequest{To: phone, SenderID: d.ID, Type: briq.TypeInteractive, Interactive: buttons}))
	ask := mustAccept(t)(c.SendInteractive(ctx, &briq.InteractiveRequest{ConversationID: conv, Interactive: buttons}))
	g3 := mustAccept(t)(c.SendInteractive(ctx, &briq.InteractiveRequest{To: phone, Sender: d.PhoneNumberID, Interactive: buttons}))
	if g3.ConversationID != conv {
		t.Errorf("G3 send by number went to conversation %q, want %q", g3.ConversationID, conv)
	}

	detail, err := c.GetMessage(ctx, ask.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if detail.Status != briq.StatusPending || detail.Reply != nil || detail.ConversationID != conv || !detail.IsOutbound {
		t.Errorf("fresh message = %+v, want pending, outbound, no reply yet", detail)
	}

	if err := srv.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	detail, err = c.GetMessage(ctx, ask.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if detail.Status != briq.StatusRead || detail.ProviderMessageID == "" || detail.CreatedAt.IsZero() {
		t.Errorf("after an hour: %+v, want read with a provider id", detail)
	}
	if detail.Reply == nil {
		t.Fatal("no paired reply after an hour")
	}
	answer, err := briq.ParseReplyContent(detail.Reply.Content)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(briq.ReplyContent{Kind: briq.ReplyButton, ID: "yes", Title: "Yes please", Text: "Yes please"}, answer); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}

	var inbound []briq.Message
	for m, err := range c.AllMessages(ctx, briq.MessageQuery{ConversationID: conv, Direction: briq.DirectionInbound, Since: sandboxEpoch, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		inbound = append(inbound, m)
	}
	var paired bool
	for _, m := range inbound {
		if m.IsOutbound {
			t.Errorf("direction=inbound listed outbound message %s", m.ID)
		}
		paired = paired || (m.PairedMessageID == ask.MessageID && m.ID == detail.Reply.ID)
	}
	if !paired {
		t.Errorf("inbound listing %+v lacks the reply paired with %s", inbound, ask.MessageID)
	}
	var outbound int
	for m, err := range c.AllMessages(ctx, briq.MessageQuery{ConversationID: conv, Direction: briq.DirectionOutbound, Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsOutbound {
			t.Errorf("direction=outbound listed inbound message %s", m.ID)
		}
		outbound++
	}
	if outbound != 6 {
		t.Errorf("outbound messages listed in pages of 2 = %d, want 6", outbound)
	}

	convs, err := c.ListConversations(ctx, briq.ConversationQuery{Recipient: phone})
	if err != nil {
		t.Fatal(err)
	}
	if len(convs.Items) != 1 || convs.Total != 1 {
		t.Fatalf("conversations for %s = %+v, want one", phone, convs)
	}
	got := convs.Items[0]
	if got.ID != conv || got.SenderID != d.ID || got.RecipientPhone != phone || !got.Window.Open || got.Window.ExpiresAt.IsZero() {
		t.Errorf("conversation = %+v", got)
	}
	var all int
	for _, err := range c.AllConversations(ctx, briq.ConversationQuery{Status: briq.ConversationsAll}) {
		if err != nil {
			t.Fatal(err)
		}
		all++
	}
	if all != 1 {
		t.Errorf("all conversations = %d, want 1", all)
	}

	if _, err := c.GetMessage(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, briq.ErrNotFound) {
		t.Errorf("unknown message: %v, want ErrNotFound", err)
	}

	st := srv.Stats()
	// The G2 and the two G3 interactive sends carry the same content to the
	// same recipient: the sandbox reports that content, and nothing else.
	if st.Accepted != 6 || len(st.Duplicates) != 1 || st.Duplicates[0].Count != 3 || st.Duplicates[0].Kind != "interactive" {
		t.Errorf("stats: accepted %d, duplicates %+v; want 6 accepted and the interactive content counted thrice", st.Accepted, st.Duplicates)
	}
}

// TestSandboxOutcomes drives the sandbox into every outcome class a running
// server can produce and checks the client's classification, and that each
// send reached the sandbox exactly once. (NeverReached needs no server: it
// is pinned by TestSendTransportFailures against a port nobody listens on;
// a closed sandbox's port can be taken by another process in between.)
func TestSandboxOutcomes(t *testing.T) {
	ctx := context.Background()
	template := &briq.MessageRequest{To: "255712345678", Type: briq.TypeTemplate, TemplateName: "welcome", Variables: map[string]string{"1": "Asha"}}
	tests := []struct {
		name     string
		sandbox  func(*sandbox.Options)
		client   func(*briq.Options)
		wrongKey bool
		// before runs first (e.g. to use up a rate limit or open a window);
		// it returns the request to classify.
		before       func(t *testing.T, srv *sandbox.Server, c *briq.Client) *briq.MessageRequest
		want         briq.Class
		wantCode     string
		wantStatus   int
		wantRecorded bool // the sandbox holds the message although the client was not told "accepted"
	}{
		{name: "accepted", want: briq.Accepted, wantStatus: 202, wantRecorded: true},
		{
			name:    "rate limited",
			sandbox: func(o *sandbox.Options) { o.Faults.RateLimit = 1 },
			before: func(t *testing.T, _ *sandbox.Server, c *briq.Client) *briq.MessageRequest {
				mustAccept(t)(c.SendMessage(ctx, &briq.MessageRequest{To: "255700000099", Type: briq.TypeTemplate, TemplateName: "welcome", Variables: map[string]string{"1": "B"}}))
				return template
			},
			want: briq.RateLimited, wantCode: "RATE_LIMITED", wantStatus: 429,
		},
		{name: "fatal: wrong key", wrongKey: true, want: briq.Fatal, wantStatus: 401},
		{name: "fatal: workspace required", sandbox: func(o *sandbox.Options) { o.Faults.NoWorkspace = true }, want: briq.Fatal, wantCode: "WORKSPACE_REQUIRED", wantStatus: 403},
		{
			name: "fatal: template not found",
			before: func(*testing.T, *sandbox.Server, *briq.Client) *briq.MessageRequest {
				return &briq.MessageRequest{To: "255712345678", Type: briq.TypeTemplate, TemplateName: "nope"}
			},
			want: briq.Fatal, wantCode: "TEMPLATE_NOT_FOUND", wantStatus: 404,
		},
		{
			name: "fatal: template not approved",
			before: func(*testing.T, *sandbox.Server, *briq.Client) *briq.MessageRequest {
				return &briq.MessageRequest{To: "255712345678", Type: briq.TypeTemplate, TemplateName: "in_review"}
			},
			want: briq.Fatal, wantCode: "TEMPLATE_NOT_APPROVED", wantStatus: 404,
		},
		{
			name: "fatal: sender not found",
			before: func(*testing.T, *sandbox.Server, *briq.Client) *briq.MessageRequest {
				r := *template
				r.SenderID = "6a0c7a52-0000-4000-8000-000000000000"
				return &r
			},
			want: briq.Fatal, wantCode: "SENDER_NOT_FOUND", wantStatus: 404,
		},
		{name: "fatal: no active sender", sandbox: func(o *sandbox.Options) { o.Senders = []sandbox.Sender{} }, want: briq.Fatal, wantCode: "NO_ACTIVE_SENDER", wantStatus: 400},
		{name: "fatal: reauth required", sandbox: func(o *sandbox.Options) { o.Faults.Reauth = true }, want: briq.Fatal, wantCode: "WHATSAPP_REAUTH_REQUIRED", wantStatus: 422, wantRecorded: true},
		{
			name: "permanent: parameter count mismatch",
			before: func(*testing.T, *sandbox.Server, *briq.Client) *briq.MessageRequest {
				return &briq.MessageRequest{To: "255712345678", Type: briq.TypeTemplate, TemplateName: "bf_offer", Variables: map[string]string{"1": "Asha"}}
			},
			want: briq.Permanent, wantCode: "TEMPLATE_PARAMETER_MISMATCH", wantStatus: 400,
		},
		{
			name: "permanent: validation error",
			before: func(*testing.T, *sandbox.Server, *briq.Client) *briq.MessageRequest {
				return &briq.MessageRequest{To: "12", Type: briq.TypeTemplate, TemplateName: "welcome", Variables: map[string]string{"1": "A"}}
			},
			want: briq.Permanent, wantCode: "VALIDATION_ERROR", wantStatus: 422,
		},
		{
			name: "permanent: both to and conversation_id",
			before: func(*testing.T, *sandbox.Server, *briq.Client) *briq.MessageRequest {
				r := *template
				r.ConversationID = "6a0c7a52-0000-4000-8000-000000000001"
				return &r
			},
			want: briq.Permanent, wantCode: "VALIDATION_ERROR", wantStatus: 422,
		},
		{
			name: "permanent: conversation not found",
			before: func(*testing.T, *sandbox.Server, *briq.Client) *briq.MessageRequest {
				return &briq.MessageRequest{ConversationID: "6a0c7a52-0000-4000-8000-000000000002", Type: briq.TypeText, Body: "hi"}
			},
			want: briq.Permanent, wantCode: "CONVERSATION_NOT_FOUND", wantStatus: 404,
		},
		{name: "permanent: recipient unreachable", sandbox: func(o *sandbox.Options) { o.Faults.Unreachable = 1 }, want: briq.Permanent, wantCode: "RECIPIENT_UNREACHABLE", wantStatus: 422},
		{
			name: "window closed: no template first",
			before: func(*testing.T, *sandbox.Server, *briq.Client) *briq.MessageRequest {
				return &briq.MessageRequest{To: "255712345678", Type: briq.TypeText, Body: "hi"}
			},
			want: briq.WindowClosed, wantCode: "WINDOW_CLOSED", wantStatus: 422,
		},
		{
			name: "window closed: 25 hours after the template",
			before: func(t *testing.T, srv *sandbox.Server, c *briq.Client) *briq.MessageRequest {
				res := mustAccept(t)(c.SendMessage(ctx, template))
				if err := srv.Advance(25 * time.Hour); err != nil {
					t.Fatal(err)
				}
				return &briq.MessageRequest{ConversationID: res.ConversationID, Type: briq.TypeText, Body: "too late"}
			},
			want: briq.WindowClosed, wantCode: "WINDOW_CLOSED", wantStatus: 422,
		},
		{name: "provider failed", sandbox: func(o *sandbox.Options) { o.Faults.ProviderFail = 1 }, want: briq.ProviderFailed, wantStatus: 422, wantRecorded: true},
		{name: "in doubt: 5xx", sandbox: func(o *sandbox.Options) { o.Faults.Fail5xx = 1 }, want: briq.InDoubt},
		{name: "in doubt: dropped after accept", sandbox: func(o *sandbox.Options) { o.Faults.DropAfterAccept = 1 }, want: briq.InDoubt, wantRecorded: true},
		{
			name:         "in doubt: timeout after the request was written",
			sandbox:      func(o *sandbox.Options) { o.Faults.Latency = 2 * time.Second },
			client:       func(o *briq.Options) { o.Timeout = 300 * time.Millisecond },
			want:         briq.InDoubt,
			wantRecorded: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, url, c := startSandbox(t, tt.sandbox)
			if tt.wrongKey || tt.client != nil {
				key := srv.APIKey()
				if tt.wrongKey {
					key = "not-the-key"
				}
				c = newClient(t, url, key, tt.client)
			}
			req := template
			if tt.before != nil {
				req = tt.before(t, srv, c)
			}
			before := srv.Stats()
			res, err := c.SendMessage(ctx, req)
			var e *briq.Error
			errors.As(err, &e)
			if got := briq.ClassOf(err); got != tt.want {
				t.Fatalf("class = %v, want %v (error: %v)", got, tt.want, err)
			}
			if tt.wantCode != "" && (e == nil || e.Code != tt.wantCode) {
				t.Errorf("code: error %v, want code %s", err, tt.wantCode)
			}
			if tt.wantStatus != 0 && res.HTTPStatus != tt.wantStatus {
				t.Errorf("HTTP status = %d, want %d", res.HTTPStatus, tt.wantStatus)
			}
			after := srv.Stats()
			if n := after.Requests - before.Requests; n != 1 {
				t.Errorf("sandbox saw %d requests, want exactly 1", n)
			}
			recorded := len(after.Messages) - len(before.Messages)
			if want := map[bool]int{true: 1, false: 0}[tt.wantRecorded]; recorded != want {
				t.Errorf("sandbox recorded %d messages, want %d", recorded, want)
			}
			// Wherever the sandbox kept a record and told the client, the
			// client kept the pollable id, and polling it works.
			if tt.want == briq.ProviderFailed || tt.wantCode == "WHATSAPP_REAUTH_REQUIRED" {
				if e.MessageID == "" || res.MessageID != e.MessageID {
					t.Fatalf("provider failure without a kept message id: %+v / %v", res, err)
				}
				d, err := c.GetMessage(ctx, e.MessageID)
				if err != nil || d.Status != briq.StatusFailed || d.ErrorCode == "" {
					t.Errorf("polling %s: %+v, %v; want status failed with an error code", e.MessageID, d, err)
				}
			}
			if tt.want == briq.RateLimited && e.RetryAfter <= 0 {
				t.Errorf("429 without a parsed Retry-After: %v", err)
			}
		})
	}
}

// TestSandboxParallelSends sends 200 first contacts at once through one
// client and checks the sandbox accepted each exactly once.
func TestSandboxParallelSends(t *testing.T) {
	const n = 200
	srv, url, _ := startSandbox(t, nil)
	c := newClient(t, url, srv.APIKey(), func(o *briq.Options) { o.MaxConns = n })
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.SendMessage(context.Background(), &briq.MessageRequest{
				To: fmt.Sprintf("2557%08d", i), Type: briq.TypeTemplate, TemplateName: "welcome", Variables: map[string]string{"1": "A"},
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.Accepted != n || len(st.ByRecipient) != n || len(st.Duplicates) != 0 || st.Sends != n {
		t.Errorf("stats: %d sends, %d accepted, %d recipients, %d duplicates; want %d, %d, %d, 0", st.Sends, st.Accepted, len(st.ByRecipient), len(st.Duplicates), n, n, n)
	}
}

// BenchmarkSandboxSend measures template first contacts from GOMAXPROCS
// goroutines through one client to an in-process sandbox over loopback
// (client and server share the CPUs and the allocation count).
func BenchmarkSandboxSend(b *testing.B) {
	srv, err := sandbox.New(sandbox.Options{APIKey: "bench-key", Templates: sandboxTemplates})
	if err != nil {
		b.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	c, err := briq.New(briq.Options{BaseURL: url, APIKey: "bench-key", MaxConns: 64})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.CloseIdleConnections)
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := &briq.MessageRequest{To: fmt.Sprintf("2557%08d", seq.Add(1)), Type: briq.TypeTemplate, TemplateName: "welcome", Variables: map[string]string{"1": "A"}}
			if _, err := c.SendMessage(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
