package plan

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
)

// TestNewRequest pins the mapping of each kind of content onto Briq's
// requests: the G2 type is briq's constant, interactive content goes to
// the G3 request, which has no type, and the content has no targeting.
func TestNewRequest(t *testing.T) {
	interactive := json.RawMessage(`{"type":"button","body":{"text":"Yes?"}}`)
	for _, tc := range []struct {
		p    config.Payload
		want Request
		body string
	}{
		{config.Payload{Kind: config.KindTemplate, TemplateName: "welcome", Variables: map[string]string{"1": "Asha"}},
			Request{Message: &briq.MessageRequest{Type: briq.TypeTemplate, TemplateName: "welcome", Variables: map[string]string{"1": "Asha"}}},
			`{"type":"template","template_name":"welcome","variables":{"1":"Asha"}}`},
		{config.Payload{Kind: config.KindText, Body: "Hi"},
			Request{Message: &briq.MessageRequest{Type: briq.TypeText, Body: "Hi"}},
			`{"type":"text","body":"Hi"}`},
		{config.Payload{Kind: config.KindMedia, Media: &config.Media{Kind: briq.MediaDocument, URL: "https://x/a.pdf", Filename: "a.pdf"}},
			Request{Message: &briq.MessageRequest{Type: briq.TypeMedia, MediaKind: briq.MediaDocument, MediaURL: "https://x/a.pdf", Filename: "a.pdf"}},
			`{"type":"media","media_kind":"DOCUMENT","media_url":"https://x/a.pdf","filename":"a.pdf"}`},
		{config.Payload{Kind: config.KindInteractive, Interactive: interactive},
			Request{Interactive: &briq.InteractiveRequest{Interactive: interactive}},
			`{"interactive":{"type":"button","body":{"text":"Yes?"}}}`},
	} {
		t.Run(tc.p.Kind.String(), func(t *testing.T) {
			got := NewRequest(&tc.p)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("NewRequest (-want +got):\n%s", diff)
			}
			if body := string(got.Content()); body != tc.body {
				t.Errorf("Content = %s, want %s", body, tc.body)
			}
		})
	}
}

// TestPayloads: with Options.Payloads every send that is due carries the
// payload its digest was taken of, and nothing else carries one; the plan
// is otherwise the same, content shown included.
func TestPayloads(t *testing.T) {
	cfg, st := scenario(t)
	without, diags := Build(cfg, st, now, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	with, diags := Build(cfg, st, now, Options{Payloads: true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sending := 0
	for i := range with.Items {
		it := &with.Items[i]
		switch {
		case it.Class.Sends() && it.Payload() == nil:
			t.Errorf("%s (%s) has no payload", it.Addr(), it.Class)
		case it.Class.Sends() && ContentDigest(it.Payload()) != it.Digest:
			t.Errorf("%s: payload digest %s, item digest %s", it.Addr(), ContentDigest(it.Payload()), it.Digest)
		case !it.Class.Sends() && it.Payload() != nil:
			t.Errorf("%s (%s) has a payload", it.Addr(), it.Class)
		case it.Class.Sends():
			sending++
		}
		if without.Items[i].Payload() != nil {
			t.Errorf("%s has a payload without Options.Payloads", it.Addr())
		}
	}
	if sending == 0 {
		t.Fatal("the scenario has no sends that are due")
	}
	a, _ := json.Marshal(without.Document(true))
	b, _ := json.Marshal(with.Document(true))
	if string(a) != string(b) {
		t.Errorf("the document differs with Options.Payloads:\n%s\nwithout:\n%s", b, a)
	}
}
