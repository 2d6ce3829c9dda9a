package briq

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// outcome is what a caller of SendMessage can see, flattened for comparison.
type outcome struct {
	Class                         Class
	HTTPStatus                    int
	Code, Message, Field          string
	RequestID                     string
	RetryAfter                    time.Duration
	ErrMessageID, ErrConversation string
	MessageID, ConversationID     string
	SenderID, ProviderID, Status  string
	ResultStatus                  int
	ResultRequestID               string
}

func outcomeOf(res *SendResult, err error) outcome {
	o := outcome{Class: ClassOf(err)}
	if res != nil {
		o.MessageID, o.ConversationID = res.MessageID, res.ConversationID
		o.SenderID, o.ProviderID, o.Status = res.SenderID, res.ProviderMessageID, res.Status
		o.ResultStatus, o.ResultRequestID = res.HTTPStatus, res.RequestID
	}
	var e *Error
	if errors.As(err, &e) {
		o.HTTPStatus, o.Code, o.Message, o.Field = e.HTTPStatus, e.Code, e.Message, e.Field
		o.RequestID, o.RetryAfter = e.RequestID, e.RetryAfter
		o.ErrMessageID, o.ErrConversation = e.MessageID, e.ConversationID
	}
	return o
}

// TestSendClassification pins, one row per documented answer, the Class and
// the fields a send's answer turns into. The server answers raw JSON.
func TestSendClassification(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   outcome
	}{
		{
			name:   "202 queued is accepted",
			status: 202,
			body:   `{"success":true,"data":{"message_id":"m-1","conversation_id":"c-1","sender_id":"s-1","provider_message_id":null,"status":"pending"},"errors":null,"request_id":"r-1"}`,
			want:   outcome{Class: Accepted, MessageID: "m-1", ConversationID: "c-1", SenderID: "s-1", Status: "pending", ResultStatus: 202, ResultRequestID: "r-1"},
		},
		{
			name:   "200 sent is accepted",
			status: 200,
			body:   `{"success":true,"data":{"message_id":"m-2","conversation_id":"c-2","sender_id":null,"sender":"1107264639145282","provider_message_id":"wamid.X","status":"sent"},"request_id":"r-2"}`,
			want:   outcome{Class: Accepted, MessageID: "m-2", ConversationID: "c-2", ProviderID: "wamid.X", Status: "sent", ResultStatus: 200, ResultRequestID: "r-2"},
		},
		{
			name:   "429 with Retry-After seconds",
			status: 429,
			header: map[string]string{"Retry-After": "7"},
			body:   `{"success":false,"data":null,"errors":[{"code":"RATE_LIMITED","message":"slow down","field":null}],"request_id":"r-3"}`,
			want:   outcome{Class: RateLimited, HTTPStatus: 429, Code: "RATE_LIMITED", Message: "slow down", RequestID: "r-3", RetryAfter: 7 * time.Second, ResultStatus: 429, ResultRequestID: "r-3"},
		},
		{
			name:   "429 with Retry-After HTTP-date",
			status: 429,
			header: map[string]string{"Retry-After": fixedNow.Add(90 * time.Second).Format(http.TimeFormat)},
			body:   `{"detail":"Too Many Requests"}`,
			want:   outcome{Class: RateLimited, HTTPStatus: 429, Message: "Too Many Requests", RetryAfter: 90 * time.Second, ResultStatus: 429},
		},
		{
			name:   "429 without Retry-After",
			status: 429,
			body:   ``,
			want:   outcome{Class: RateLimited, HTTPStatus: 429, ResultStatus: 429},
		},
		{
			name:   "401 missing or invalid key",
			status: 401,
			body:   `{"detail":"Invalid or expired API key"}`,
			want:   outcome{Class: Fatal, HTTPStatus: 401, Message: "Invalid or expired API key", ResultStatus: 401},
		},
		{
			name:   "401 with an empty body",
			status: 401,
			body:   ``,
			want:   outcome{Class: Fatal, HTTPStatus: 401, ResultStatus: 401},
		},
		{
			name:   "403 WORKSPACE_REQUIRED",
			status: 403,
			body:   `{"success":false,"data":null,"errors":[{"code":"WORKSPACE_REQUIRED","message":"API key is not linked to a workspace","field":null}],"request_id":"r-4"}`,
			want:   outcome{Class: Fatal, HTTPStatus: 403, Code: "WORKSPACE_REQUIRED", Message: "API key is not linked to a workspace", RequestID: "r-4", ResultStatus: 403, ResultRequestID: "r-4"},
		},
		{
			name:   "404 template not found",
			status: 404,
			body:   `{"success":false,"data":null,"errors":[{"code":"TEMPLATE_NOT_FOUND","message":"Template 'bf_offer' not found in this workspace","field":"template_name"}],"request_id":"r-5"}`,
			want:   outcome{Class: Fatal, HTTPStatus: 404, Code: "TEMPLATE_NOT_FOUND", Message: "Template 'bf_offer' not found in this workspace", Field: "template_name", RequestID: "r-5", ResultStatus: 404, ResultRequestID: "r-5"},
		},
		{
			name:   "404 sender not found as detail",
			status: 404,
			body:   `{"detail":"Sender not found"}`,
			want:   outcome{Class: Fatal, HTTPStatus: 404, Message: "Sender not found", ResultStatus: 404},
		},
		{
			name:   "404 conversation not found is permanent",
			status: 404,
			body:   `{"success":false,"data":null,"errors":[{"code":"CONVERSATION_NOT_FOUND","message":"conversation c-404 not found","field":"conversation_id"}],"request_id":"r-5c"}`,
			want:   outcome{Class: Permanent, HTTPStatus: 404, Code: "CONVERSATION_NOT_FOUND", Message: "conversation c-404 not found", Field: "conversation_id", RequestID: "r-5c", ResultStatus: 404, ResultRequestID: "r-5c"},
		},
		{
			name:   "404 naming a conversation's template is fatal",
			status: 404,
			body:   `{"success":false,"errors":[{"code":"NOT_FOUND","message":"template of conversation c-1 not found","field":null}]}`,
			want:   outcome{Class: Fatal, HTTPStatus: 404, Code: "NOT_FOUND", Message: "template of conversation c-1 not found", ResultStatus: 404},
		},
		{
			name:   "404 without a body is fatal",
			status: 404,
			body:   ``,
			want:   outcome{Class: Fatal, HTTPStatus: 404, ResultStatus: 404},
		},
		{
			name:   "400 no active sender",
			status: 400,
			body:   `{"success":false,"data":null,"errors":[{"code":"BAD_REQUEST","message":"No active WhatsApp sender for this workspace","field":null}],"request_id":"r-6"}`,
			want:   outcome{Class: Fatal, HTTPStatus: 400, Code: "BAD_REQUEST", Message: "No active WhatsApp sender for this workspace", RequestID: "r-6", ResultStatus: 400, ResultRequestID: "r-6"},
		},
		{
			name:   "400 template parameter count mismatch",
			status: 400,
			body:   `{"success":false,"data":null,"errors":[{"code":"BAD_REQUEST","message":"Template parameter count mismatch: expected 2, got 1","field":"variables"}],"request_id":"r-7"}`,
			want:   outcome{Class: Permanent, HTTPStatus: 400, Code: "BAD_REQUEST", Message: "Template parameter count mismatch: expected 2, got 1", Field: "variables", RequestID: "r-7", ResultStatus: 400, ResultRequestID: "r-7"},
		},
		{
			name:   "400 parameter mismatch naming the sender is still permanent",
			status: 400,
			body:   `{"success":false,"errors":[{"code":"TEMPLATE_PARAMS_MISMATCH","message":"template of sender 2557 expects 3 variables","field":null}]}`,
			want:   outcome{Class: Permanent, HTTPStatus: 400, Code: "TEMPLATE_PARAMS_MISMATCH", Message: "template of sender 2557 expects 3 variables", ResultStatus: 400},
		},
		{
			name:   "400 template not approved",
			status: 400,
			body:   `{"success":false,"errors":[{"code":"TEMPLATE_NOT_APPROVED","message":"template is IN_REVIEW","field":"template_name"}]}`,
			want:   outcome{Class: Fatal, HTTPStatus: 400, Code: "TEMPLATE_NOT_APPROVED", Message: "template is IN_REVIEW", Field: "template_name", ResultStatus: 400},
		},
		{
			name:   "400 of unknown cause",
			status: 400,
			body:   `{"success":false,"errors":[{"code":"BAD_REQUEST","message":"malformed","field":null}]}`,
			want:   outcome{Class: Permanent, HTTPStatus: 400, Code: "BAD_REQUEST", Message: "malformed", ResultStatus: 400},
		},
		{
			name:   "422 WHATSAPP_REAUTH_REQUIRED keeps the message id",
			status: 422,
			body:   `{"success":false,"data":{"message_id":"m-8","conversation_id":"c-8","status":"failed"},"errors":[{"code":"WHATSAPP_REAUTH_REQUIRED","message":"reconnect WhatsApp","field":null}],"request_id":"r-8"}`,
			want:   outcome{Class: Fatal, HTTPStatus: 422, Code: "WHATSAPP_REAUTH_REQUIRED", Message: "reconnect WhatsApp", RequestID: "r-8", ErrMessageID: "m-8", ErrConversation: "c-8", MessageID: "m-8", ConversationID: "c-8", Status: "failed", ResultStatus: 422, ResultRequestID: "r-8"},
		},
		{
			name:   "422 VALIDATION_ERROR",
			status: 422,
			body:   `{"success":false,"data":null,"errors":[{"code":"VALIDATION_ERROR","message":"give exactly one of to or conversation_id","field":"to"}],"request_id":"r-9"}`,
			want:   outcome{Class: Permanent, HTTPStatus: 422, Code: "VALIDATION_ERROR", Message: "give exactly one of to or conversation_id", Field: "to", RequestID: "r-9", ResultStatus: 422, ResultRequestID: "r-9"},
		},
		{
			name:   "422 recipient unreachable",
			status: 422,
			body:   `{"success":false,"data":null,"errors":[{"code":"RECIPIENT_UNREACHABLE","message":"recipient is not on WhatsApp","field":"to"}]}`,
			want:   outcome{Class: Permanent, HTTPStatus: 422, Code: "RECIPIENT_UNREACHABLE", Message: "recipient is not on WhatsApp", Field: "to", ResultStatus: 422},
		},
		{
			name:   "422 framework validation detail",
			status: 422,
			body:   `{"detail":[{"loc":["body","to"],"msg":"string does not match pattern","type":"value_error.str.regex"}]}`,
			want:   outcome{Class: Permanent, HTTPStatus: 422, Code: "value_error.str.regex", Message: "string does not match pattern", Field: "body.to", ResultStatus: 422},
		},
		{
			name:   "422 WINDOW_CLOSED",
			status: 422,
			body:   `{"success":false,"data":null,"errors":[{"code":"WINDOW_CLOSED","message":"24h window closed; send a template","field":null}],"request_id":"r-10"}`,
			want:   outcome{Class: WindowClosed, HTTPStatus: 422, Code: "WINDOW_CLOSED", Message: "24h window closed; send a template", RequestID: "r-10", ResultStatus: 422, ResultRequestID: "r-10"},
		},
		{
			name:   "422 PROVIDER_UNAVAILABLE keeps the pollable message id",
			status: 422,
			body:   `{"success":false,"data":{"message_id":"m-11","conversation_id":"c-11","status":"failed"},"errors":[{"code":"PROVIDER_UNAVAILABLE","message":"provider down","field":null}],"request_id":"r-11"}`,
			want:   outcome{Class: ProviderFailed, HTTPStatus: 422, Code: "PROVIDER_UNAVAILABLE", Message: "provider down", RequestID: "r-11", ErrMessageID: "m-11", ErrConversation: "c-11", MessageID: "m-11", ConversationID: "c-11", Status: "failed", ResultStatus: 422, ResultRequestID: "r-11"},
		},
		{
			name:   "422 SEND_FAILED keeps the pollable message id",
			status: 422,
			body:   `{"success":false,"data":{"message_id":"m-12","status":"failed"},"errors":[{"code":"SEND_FAILED","message":"send failed","field":null}],"request_id":"r-12"}`,
			want:   outcome{Class: ProviderFailed, HTTPStatus: 422, Code: "SEND_FAILED", Message: "send failed", RequestID: "r-12", ErrMessageID: "m-12", MessageID: "m-12", Status: "failed", ResultStatus: 422, ResultRequestID: "r-12"},
		},
		{
			name:   "422 131049 is Meta's per-user marketing limit",
			status: 422,
			body:   `{"success":false,"data":null,"errors":[{"code":"131049","message":"This message was not delivered to maintain healthy ecosystem engagement.","field":null}],"request_id":"r-13"}`,
			want:   outcome{Class: MarketingLimited, HTTPStatus: 422, Code: "131049", Message: "This message was not delivered to maintain healthy ecosystem engagement.", RequestID: "r-13", ResultStatus: 422, ResultRequestID: "r-13"},
		},
		{
			name:   "422 with several entries takes the one that stops more",
			status: 422,
			body:   `{"success":false,"errors":[{"code":"VALIDATION_ERROR","message":"caption too long","field":"caption"},{"code":"WINDOW_CLOSED","message":"window closed","field":null}]}`,
			want:   outcome{Class: WindowClosed, HTTPStatus: 422, Code: "WINDOW_CLOSED", Message: "window closed", ResultStatus: 422},
		},
		{
			name:   "500 is in doubt",
			status: 500,
			body:   `{"success":false,"data":null,"errors":[{"code":"INTERNAL","message":"oops","field":null}]}`,
			want:   outcome{Class: InDoubt, HTTPStatus: 500, Code: "INTERNAL", Message: "oops", ResultStatus: 500},
		},
		{
			name:   "502 with an HTML body is in doubt",
			status: 502,
			header: map[string]string{"Content-Type": "text/html"},
			body:   `<html><body>Bad Gateway</body></html>`,
			want:   outcome{Class: InDoubt, HTTPStatus: 502, ResultStatus: 502},
		},
		{
			name:   "503 with Retry-After is still in doubt",
			status: 503,
			header: map[string]string{"Retry-After": "30"},
			body:   ``,
			want:   outcome{Class: InDoubt, HTTPStatus: 503, ResultStatus: 503},
		},
		{
			name:   "408 is in doubt",
			status: 408,
			body:   ``,
			want:   outcome{Class: InDoubt, HTTPStatus: 408, ResultStatus: 408},
		},
		{
			name:   "409 is permanent",
			status: 409,
			body:   `{"detail":"conflict"}`,
			want:   outcome{Class: Permanent, HTTPStatus: 409, Message: "conflict", ResultStatus: 409},
		},
		{
			name:   "202 without message_id is in doubt",
			status: 202,
			body:   `{"success":true,"data":{"message_id":null,"conversation_id":"c-13","status":"pending"},"request_id":"r-13"}`,
			want:   outcome{Class: InDoubt, HTTPStatus: 202, RequestID: "r-13", ErrConversation: "c-13", ConversationID: "c-13", Status: "pending", ResultStatus: 202, ResultRequestID: "r-13"},
		},
		{
			name:   "202 with status failed is a provider failure to poll",
			status: 202,
			body:   `{"success":true,"data":{"message_id":"m-15","conversation_id":"c-15","status":"failed"},"request_id":"r-15"}`,
			want: outcome{Class: ProviderFailed, HTTPStatus: 202, RequestID: "r-15", ErrMessageID: "m-15", ErrConversation: "c-15",
				MessageID: "m-15", ConversationID: "c-15", Status: "failed", ResultStatus: 202, ResultRequestID: "r-15"},
		},
		{
			name:   "200 with null data is in doubt",
			status: 200,
			body:   `{"success":true,"data":null,"errors":null,"request_id":"r-14"}`,
			want:   outcome{Class: InDoubt, HTTPStatus: 200, RequestID: "r-14", ResultStatus: 200, ResultRequestID: "r-14"},
		},
		{
			name:   "202 with an undecodable body is in doubt",
			status: 202,
			body:   `accepted`,
			want:   outcome{Class: InDoubt, HTTPStatus: 202, ResultStatus: 202},
		},
		{
			name:   "202 with a mistyped body is in doubt",
			status: 202,
			body:   `{"success":true,"data":{"message_id":42}}`,
			want:   outcome{Class: InDoubt, HTTPStatus: 202, ResultStatus: 202},
		},
		{
			name:   "307 redirect is not followed and is fatal",
			status: 307,
			header: map[string]string{"Location": "/elsewhere"},
			body:   ``,
			want:   outcome{Class: Fatal, HTTPStatus: 307, ResultStatus: 307},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := rawServer(t, tt.status, tt.header, tt.body)
			c := newTestClient(t, srv.URL)
			res, err := c.SendMessage(context.Background(), &MessageRequest{To: "255712345678", Type: TypeTemplate, TemplateName: "welcome"})
			if res == nil {
				t.Fatal("SendMessage returned a nil result")
			}
			got := outcomeOf(res, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if (err == nil) != (tt.want.Class == Accepted) {
				t.Errorf("error = %v, want nil exactly for Accepted", err)
			}
			checkNoKey(t, err)
		})
	}
}

// TestSendInteractiveClassification checks that the interactive endpoint
// shares the classification (one accepted and one provider-failure row).
func TestSendInteractiveClassification(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   outcome
	}{
		{
			name:   "202 with sender",
			status: 202,
			body:   `{"success":true,"data":{"message_id":"m-1","conversation_id":"c-1","sender":"1107264639145282","status":"pending"},"request_id":"r-1"}`,
			want:   outcome{Class: Accepted, MessageID: "m-1", ConversationID: "c-1", Status: "pending", ResultStatus: 202, ResultRequestID: "r-1"},
		},
		{
			name:   "202 bare, as the G3 page's prose shows it",
			status: 202,
			body:   `{"message_id":"m-3","status":"pending"}`,
			want:   outcome{Class: Accepted, MessageID: "m-3", Status: "pending", ResultStatus: 202},
		},
		{
			name:   "500 bare with a message_id keeps the id",
			status: 500,
			body:   `{"message_id":"m-4","status":"failed"}`,
			want:   outcome{Class: InDoubt, HTTPStatus: 500, ErrMessageID: "m-4", MessageID: "m-4", Status: "failed", ResultStatus: 500},
		},
		{
			name:   "422 SEND_FAILED",
			status: 422,
			body:   `{"success":false,"data":{"message_id":"m-2","status":"failed"},"errors":[{"code":"SEND_FAILED","message":"meta said no","field":null}],"request_id":"r-2"}`,
			want:   outcome{Class: ProviderFailed, HTTPStatus: 422, Code: "SEND_FAILED", Message: "meta said no", RequestID: "r-2", ErrMessageID: "m-2", MessageID: "m-2", Status: "failed", ResultStatus: 422, ResultRequestID: "r-2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := rawServer(t, tt.status, nil, tt.body)
			c := newTestClient(t, srv.URL)
			res, err := c.SendInteractive(context.Background(), &InteractiveRequest{To: "255712345678", Interactive: []byte(`{"type":"button"}`)})
			if diff := cmp.Diff(tt.want, outcomeOf(res, err)); diff != "" {
				t.Errorf("outcome mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedactsKeyEchoedByServer(t *testing.T) {
	srv := rawServer(t, 401, nil, `{"success":false,"errors":[{"code":"UNAUTHORIZED","message":"key `+testKey+` is revoked","field":"X-API-Key: `+testKey+`"}],"request_id":"`+testKey+`"}`)
	c := newTestClient(t, srv.URL)
	_, err := c.SendMessage(context.Background(), &MessageRequest{To: "255712345678", Type: TypeText, Body: "hi"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	checkNoKey(t, err)
	want := APIError{Code: "UNAUTHORIZED", Message: "key [redacted] is revoked", Field: "X-API-Key: [redacted]"}
	if diff := cmp.Diff([]APIError{want}, e.Errors); diff != "" {
		t.Errorf("Errors (-want +got):\n%s", diff)
	}
	if e.RequestID != "[redacted]" {
		t.Errorf("RequestID = %q, want redacted", e.RequestID)
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999999999999", maxRetryAfter},
		{fixedNow.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{fixedNow.Add(-time.Hour).Format(http.TimeFormat), 0},
		{fixedNow.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
		{"Fri, 27 Nov 2026 08:01:00 GMT", time.Minute},
		{"Friday, 27-Nov-26 08:01:00 GMT", time.Minute}, // RFC 850, still valid input
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, fixedNow); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil is accepted", nil, Accepted},
		{"an *Error gives its class", &Error{Class: WindowClosed}, WindowClosed},
		{"a wrapped *Error gives its class", errors.Join(errors.New("ctx"), &Error{Class: NeverReached}), NeverReached},
		{"a foreign error is in doubt", errors.New("boom"), InDoubt},
		{"an *Error without class is in doubt", &Error{}, InDoubt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassOf(tt.err); got != tt.want {
				t.Errorf("ClassOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassStrings(t *testing.T) {
	var got []string
	for c := Accepted; c <= NeverReached; c++ {
		got = append(got, c.String())
	}
	got = append(got, Class(0).String())
	want := []string{"accepted", "rate limited", "fatal", "permanent", "window closed", "provider failed", "in doubt", "never reached", "Class(0)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Class strings (-want +got):\n%s", diff)
	}
	var retryable []Class
	for c := Accepted; c <= NeverReached; c++ {
		if c.Retryable() {
			retryable = append(retryable, c)
		}
	}
	if diff := cmp.Diff([]Class{RateLimited, NeverReached}, retryable); diff != "" {
		t.Errorf("retryable classes (-want +got):\n%s", diff)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{
			name: "http answer",
			err:  &Error{Op: "send message", Class: ProviderFailed, HTTPStatus: 422, Code: "SEND_FAILED", Message: "meta said no", Field: "to", MessageID: "m-1", RequestID: "r-1"},
			want: "briq: send message: provider failed: HTTP 422 SEND_FAILED: meta said no (field to) (message_id m-1) (request_id r-1)",
		},
		{
			name: "rate limited",
			err:  &Error{Op: "send message", Class: RateLimited, HTTPStatus: 429, RetryAfter: 3 * time.Second},
			want: "briq: send message: rate limited: HTTP 429 (retry after 3s)",
		},
		{
			name: "transport",
			err:  &Error{Op: "list templates", Class: NeverReached, Err: errors.New("dial tcp 127.0.0.1:1: connection refused")},
			want: "briq: list templates: never reached: dial tcp 127.0.0.1:1: connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestVerdictOf: the policy beside the classes, for the answers that decide
// what the state records.
func TestVerdictOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Verdict
	}{
		{nil, Exists},
		{&Error{Class: Permanent}, Refused},
		{&Error{Class: WindowClosed}, Closed},
		{&Error{Class: MarketingLimited}, Later},
		{&Error{Class: MarketingLimited, MessageID: "m-1"}, Later},
		{&Error{Class: ProviderFailed, MessageID: "m-1"}, Doubt},
		{&Error{Class: ProviderFailed}, Resend},
		{&Error{Class: NeverReached}, Resend},
		{&Error{Class: InDoubt}, Doubt},
	} {
		if got := VerdictOf(tc.err); got != tc.want {
			t.Errorf("VerdictOf(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// TestSystemic: the failures every send would have met alike are the
// run's, the account refused among them; a send's own, and the other Fatal
// answers (which stop the run, and may be one send's), are not.
func TestSystemic(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&Error{Class: NeverReached}, true},
		{&Error{Class: RateLimited}, true},
		{&Error{Class: RateLimited, MessageID: "m-1"}, true},
		{&Error{Class: InDoubt, HTTPStatus: 504}, true},
		{errors.New("unclassified"), true},
		{&Error{Class: ProviderFailed, Code: "PROVIDER_UNAVAILABLE"}, true},
		{&Error{Class: ProviderFailed, Code: "provider_unavailable", MessageID: "m-1"}, true},
		{&Error{Class: ProviderFailed, Code: "SEND_FAILED"}, false},
		{&Error{Class: Fatal, HTTPStatus: 404}, false},
		{&Error{Class: Fatal, HTTPStatus: 400, Message: "no active sender"}, false},
		{&Error{Class: Fatal, HTTPStatus: 401}, true},
		{&Error{Class: Fatal, HTTPStatus: 403, Code: "WORKSPACE_REQUIRED"}, true},
		{&Error{Class: Fatal, HTTPStatus: 422, Code: "WHATSAPP_REAUTH_REQUIRED", MessageID: "m-1"}, true},
		{&Error{Class: Permanent}, false},
		{&Error{Class: WindowClosed}, false},
		{&Error{Class: MarketingLimited}, false},
	} {
		if got := Systemic(tc.err); got != tc.want {
			t.Errorf("Systemic(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
