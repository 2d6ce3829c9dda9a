package briq

import (
	"encoding/json"
	"testing"
)

// TestMessageFailure: a failed message's reason under error_code and
// error_message, or as one "error" or "reason" object or string (the docs
// speak of a "derived error"/reason and name no field).
func TestMessageFailure(t *testing.T) {
	for _, tc := range []struct{ body, code, message string }{
		{`{"error_code":"131026","error_message":"undeliverable"}`, "131026", "undeliverable"},
		{`{"error_code":131049}`, "131049", ""},
		{`{"error":{"code":131049,"message":"not delivered"}}`, "131049", "not delivered"},
		{`{"error":"not delivered"}`, "", "not delivered"},
		{`{"error":null}`, "", ""},
		{`{"reason":{"code":"131049","message":"not delivered"}}`, "131049", "not delivered"},
		{`{"reason":"not delivered"}`, "", "not delivered"},
		{`{"error":null,"reason":{"code":131049}}`, "131049", ""},
		{`{}`, "", ""},
	} {
		var m Message
		if err := json.Unmarshal([]byte(tc.body), &m); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if code, message := m.Failure(); code != tc.code || message != tc.message {
			t.Errorf("%s: Failure() = %q, %q; want %q, %q", tc.body, code, message, tc.code, tc.message)
		}
	}
}
