package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"
)

// TestPayloadMarshalJSONMatchesEncodingJSON: Sum digests marshalJSON's
// bytes, which must be json.Marshal's, or recorded digests would drift.
func TestPayloadMarshalJSONMatchesEncodingJSON(t *testing.T) {
	odd := "Zoë <&> \"q\" \\ \u2028 \t\n"
	for _, p := range []*Payload{
		{Kind: KindTemplate, TemplateName: "welcome"},
		{Kind: KindTemplate, TemplateName: "bf_offer", Variables: map[string]string{"2": "25%", "1": odd, "10": "x"}},
		{Kind: KindTemplate, TemplateName: "t", Variables: map[string]string{}},
		{Kind: KindTemplate, TemplateName: "one", Variables: map[string]string{"1": odd}},
		{Kind: KindText, Body: odd},
		{Kind: KindMedia, Media: &Media{Kind: "DOCUMENT", URL: "https://example.com/a.pdf?x=1&y=2", Caption: odd}},
		{Kind: KindMedia, Media: &Media{Kind: "IMAGE", URL: "https://example.com/a.png", Filename: "a.png"}},
		{Kind: KindInteractive, Interactive: []byte(`{"body":{"text":"Hi \"there\", 1 \\ 2"},"type":"button"}`)},
		{Kind: KindInteractive, Interactive: []byte(`{"body": {"text":"spaced"}}`)},
		{Kind: KindInteractive, Interactive: []byte(`{"body":{"text":"\u003cb\u003e"}}`)},
	} {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if ok := p.marshalJSON(&b); ok && b.String() != string(want) {
			t.Errorf("marshalJSON = %s\nwant %s", b.String(), want)
		}
		// Sum encodes into buffers it uses again: twice the same digest,
		// that of json.Marshal's bytes.
		for range 2 {
			if got := p.Sum(); got != sha256.Sum256(append([]byte(digestVersion), want...)) {
				t.Errorf("Sum of %s is not the digest of its JSON", want)
			}
		}
	}
	if ok := (&Payload{Kind: KindInteractive, Interactive: []byte(`{"a": 1}`)}).marshalJSON(new(bytes.Buffer)); ok {
		t.Error("marshalJSON took content json.Marshal compacts")
	}
}
