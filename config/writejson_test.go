package config

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestWriteJSONStringMatchesEncodingJSON: digests of interactive content
// recorded in states depend on these bytes.
func TestWriteJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain text 123", `quote " and \ back`, "<b>&amp;</b>", "tab\tnew\nline\x00",
		"Habari, karibu — ü €", "line sep \u2028 para \u2029", "bad utf8 \xff\xfe", "~del\x7f"} {
		var b bytes.Buffer
		writeJSONString(&b, s)
		want, _ := json.Marshal(s)
		if got := b.String(); got != string(want) {
			t.Errorf("writeJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}
