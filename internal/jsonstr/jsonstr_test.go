package jsonstr

import (
	"encoding/json"
	"testing"
)

// TestAppendMatchesEncodingJSON: digests of interactive content recorded
// in states depend on these bytes.
func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain text 123", `quote " and \ back`, `"`, `\\`, `a"b\"`, "<b>&amp;</b>", "tab\tnew\nline\x00",
		"Habari, karibu — ü €", "line sep \u2028 para \u2029", "bad utf8 \xff\xfe", "~del\x7f"} {
		checkAppend(t, s)
	}
}

func FuzzAppendMatchesEncodingJSON(f *testing.F) {
	f.Add(`campaign.c.message.m["k \"q\" \\"]`)
	f.Add("Zoë <&> \u2028 \xff")
	f.Fuzz(checkAppend)
}

func checkAppend(t *testing.T, s string) {
	want, _ := json.Marshal(s)
	if got := Append([]byte("x"), s); string(got) != "x"+string(want) {
		t.Errorf("Append(%q) = %s, want x%s", s, got, want)
	}
	if got := Append(nil, []byte(s)); string(got) != string(want) {
		t.Errorf("Append([]byte(%q)) = %s, want %s", s, got, want)
	}
	if got := AppendChars(nil, s); string(got) != string(want[1:len(want)-1]) {
		t.Errorf("AppendChars(%q) = %s, want %s", s, got, want[1:len(want)-1])
	}
}
