package config

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const renderConfig = `
variable "discount" { default = "25%" }

recipients "r" {
  csv            = "r.csv"
  phone          = row.phone
  key            = row.id
  default_region = "TZ"
}

campaign "c" {
  recipients = recipients.r

  message "offer" {
    template  = "bf_offer"
    variables = { "1" = coalesce(row.name, "there"), "2" = var.discount }
  }

  message "ask" {
    after = message.offer
    interactive = {
      type   = "button"
      header = row.name != "" ? { type = "text", text = "Hi ${row.name}" } : null
      body   = { text = "Want ${var.discount} off?" }
      action = { buttons = [
        { type = "reply", reply = { id = "yes", title = "Yes" } },
        { type = "reply", reply = { id = "no", title = "No" } },
      ] }
    }
  }

  message "code" {
    after = message.ask
    when  = reply.id == "yes"
    text  = "Code for ${recipient.key} (${recipient.phone}): ${upper(row.code)}, answered ${formatdate("DD MMM", reply.at)}"
  }

  message "nudge" {
    after = message.ask
    when  = reply == null
    media {
      kind     = "document"
      url      = "https://example.com/${row.code}.pdf"
      caption  = "Your voucher"
      filename = "voucher.pdf"
    }
  }
}
`

func TestRender(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": renderConfig,
		"r.csv":    "id,name,phone,code\nC-1,Asha,0712345678,bf1\nC-2,,+255712345679,bf2\n",
	})
	cfg := mustLoad(t, dir, LoadOptions{})
	c := cfg.Campaigns[0]
	asha, anon := c.Recipients.Recipients[0], c.Recipients.Recipients[1]
	msg := func(name string) *Message {
		for _, m := range c.Messages {
			if m.Name == name {
				return m
			}
		}
		t.Fatalf("no message %s", name)
		return nil
	}
	yes := &Reply{ID: "yes", Title: "Yes", At: time.Date(2026, 11, 27, 9, 30, 0, 0, time.FixedZone("EAT", 3*3600))}

	tests := []struct {
		name  string
		m     string
		r     *Recipient
		reply *Reply
		want  *Payload
	}{
		{"template", "offer", asha, nil, &Payload{Kind: KindTemplate, TemplateName: "bf_offer", Variables: map[string]string{"1": "Asha", "2": "25%"}}},
		{"template with fallback", "offer", anon, nil, &Payload{Kind: KindTemplate, TemplateName: "bf_offer", Variables: map[string]string{"1": "there", "2": "25%"}}},
		{"interactive", "ask", asha, nil, &Payload{Kind: KindInteractive, Interactive: []byte(
			`{"action":{"buttons":[{"reply":{"id":"yes","title":"Yes"},"type":"reply"},{"reply":{"id":"no","title":"No"},"type":"reply"}]},"body":{"text":"Want 25% off?"},"header":{"text":"Hi Asha","type":"text"},"type":"button"}`)}},
		{"interactive without null header", "ask", anon, nil, &Payload{Kind: KindInteractive, Interactive: []byte(
			`{"action":{"buttons":[{"reply":{"id":"yes","title":"Yes"},"type":"reply"},{"reply":{"id":"no","title":"No"},"type":"reply"}]},"body":{"text":"Want 25% off?"},"type":"button"}`)}},
		{"text with reply and recipient", "code", asha, yes, &Payload{Kind: KindText, Body: "Code for C-1 (255712345678): BF1, answered 27 Nov"}},
		{"media", "nudge", anon, nil, &Payload{Kind: KindMedia, Media: &Media{Kind: "DOCUMENT", URL: "https://example.com/bf2.pdf", Caption: "Your voucher", Filename: "voucher.pdf"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := msg(tt.m).Render(tt.r, tt.reply, "")
			if diags.HasErrors() {
				t.Fatal(diagText(cfg.Files, diags))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("wrong payload (-want +got):\n%s", diff)
			}
			if sum, _, ok := msg(tt.m).ContentSum(tt.r, ""); ok && sum != got.Sum() {
				t.Errorf("ContentSum %x, Render's Sum %x", sum, got.Sum())
			}
		})
	}

	whens := []struct {
		m     string
		reply *Reply
		want  bool
	}{
		{"offer", nil, true},
		{"code", nil, false}, // reply.id of no reply is null, not an error
		{"code", yes, true},
		{"code", &Reply{ID: "no"}, false},
		{"nudge", nil, true},
		{"nudge", yes, false},
		// Again: without an answer, a condition on reply alone is remembered.
		{"code", nil, false},
		{"nudge", nil, true},
		// And by answer: each answer has its own value.
		{"code", &Reply{ID: "yes", Title: "Yes", At: yes.At.UTC()}, true},
		{"code", &Reply{ID: "no"}, false},
		{"code", &Reply{ID: "yes"}, true},
		{"nudge", yes, false},
	}
	for _, w := range whens {
		got, diags := msg(w.m).When(asha, w.reply, "")
		if diags.HasErrors() {
			t.Fatal(diagText(cfg.Files, diags))
		}
		if got != w.want {
			t.Errorf("When(%s, %+v) = %v, want %v", w.m, w.reply, got, w.want)
		}
	}
}

// TestWhenManyAnswers asks more distinct answers than When remembers,
// each twice: remembered or evaluated, each has its own value.
func TestWhenManyAnswers(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": renderConfig,
		"r.csv":    "id,name,phone,code\nC-1,Asha,0712345678,bf1\n",
	})
	cfg := mustLoad(t, dir, LoadOptions{})
	c := cfg.Campaigns[0]
	var code *Message
	for _, m := range c.Messages {
		if m.Name == "code" {
			code = m
		}
	}
	r := c.Recipients.Recipients[0]
	for round := range 2 {
		for i := range 2 * maxWhenMemo {
			id := []string{"yes", "no"}[i%2]
			reply := &Reply{ID: id, Text: fmt.Sprint(i), At: time.Date(2026, 11, 27, 9, 0, i, 0, time.UTC)}
			got, diags := code.When(r, reply, "")
			if diags.HasErrors() {
				t.Fatal(diagText(cfg.Files, diags))
			}
			if want := id == "yes"; got != want {
				t.Errorf("round %d: When(code, %+v) = %v, want %v", round, reply, got, want)
			}
		}
	}
}

func TestPayloadDigest(t *testing.T) {
	a := &Payload{Kind: KindTemplate, TemplateName: "t", Variables: map[string]string{"1": "a", "2": "b", "3": "c"}}
	b := &Payload{Kind: KindTemplate, TemplateName: "t", Variables: map[string]string{"3": "c", "2": "b", "1": "a"}}
	if a.Digest() != b.Digest() {
		t.Errorf("equal payloads have different digests")
	}
	// The encoding is part of the contract: digests are stored in state
	// and plans, so they must not change between versions or machines.
	const want = "sha256:afed51f85624dc151cc085b8d1c11eeedc769361cb0b9959d7c12cfb9a7439e4"
	if got := a.Digest(); got != want {
		t.Errorf("digest = %s, want %s", got, want)
	}
	for name, p := range map[string]*Payload{
		"variable":  {Kind: KindTemplate, TemplateName: "t", Variables: map[string]string{"1": "a", "2": "b", "3": "d"}},
		"name":      {Kind: KindTemplate, TemplateName: "u", Variables: a.Variables},
		"kind":      {Kind: KindText, Body: "t"},
		"nil media": {Kind: KindMedia, Media: &Media{Kind: "IMAGE", URL: "https://x/y"}},
	} {
		if p.Digest() == a.Digest() {
			t.Errorf("%s: a different payload has the same digest", name)
		}
	}
	empty := &Payload{Kind: KindTemplate, TemplateName: "t"}
	emptyMap := &Payload{Kind: KindTemplate, TemplateName: "t", Variables: map[string]string{}}
	if empty.Digest() != emptyMap.Digest() {
		t.Errorf("nil and empty variables differ")
	}
}

// TestContentSumCompiled: interactive content of constants and row
// strings is summed without HCL by ContentSum, byte for byte as Render
// writes it, escapes included.
func TestContentSumCompiled(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
}
campaign "c" {
  recipients = recipients.r
  message "hello" {
    template = "welcome"
  }
  message "ask" {
    after = message.hello
    interactive = {
      type = "button"
      "body" = { text = "Hi ${row.name}, want your ${upper(row.name)} code?" }
      action = {
        buttons = [
          { type = "reply", reply = { id = "yes", title = "Yes <please> & 1.5" } },
          { type = "reply", reply = { id = "no", title = row.name, n = 1.5, b = true } },
        ]
      }
    }
  }
}
`,
		"r.csv": "name,phone\nAsha,+255712345678\n\"<Zoë & \"\"Q\"\">\\\",+255712345679\n",
	})
	cfg := mustLoad(t, dir, LoadOptions{})
	c := cfg.Campaigns[0]
	ask := c.Messages[1]
	if ask.interactive.fastJSON == nil {
		t.Fatal("the interactive content was not compiled")
	}
	for _, r := range c.Recipients.Recipients {
		want, diags := ask.Render(r, nil, "")
		if diags.HasErrors() {
			t.Fatal(diagText(cfg.Files, diags))
		}
		sum, checked, ok := ask.ContentSum(r, "")
		if !ok || checked || sum != want.Sum() {
			t.Errorf("recipient %s: ContentSum %x, checked %v, ok %v; Render's Sum %x", r.Key, sum, checked, ok, want.Sum())
		}
	}
}

// TestTemplateVariablesConvert: numbers and bools in template variables
// are converted to strings, as they are in text, whether the variables are
// written as an object or made by a function.
func TestTemplateVariablesConvert(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": `
variable "percent" {
  type    = number
  default = 25
}
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
}
campaign "c" {
  recipients = recipients.r
  message "object" {
    template  = "offer"
    variables = { "1" = var.percent, "2" = true, "3" = tonumber(row.n) / 4 }
  }
  message "merged" {
    template  = "offer"
    variables = merge({ "1" = var.percent }, { "2" = true, "3" = tonumber(row.n) / 4 })
  }
  message "text" {
    after = message.object
    text  = var.percent
  }
}
`,
		"r.csv": "phone,n\n255712345678,10\n",
	})
	cfg := mustLoad(t, dir, LoadOptions{})
	c := cfg.Campaigns[0]
	want := map[string]string{"1": "25", "2": "true", "3": "2.5"}
	for _, m := range c.Messages[:2] {
		got, diags := m.Render(c.Recipients.Recipients[0], nil, "")
		if diags.HasErrors() {
			t.Fatal(diagText(cfg.Files, diags))
		}
		if diff := cmp.Diff(want, got.Variables); diff != "" {
			t.Errorf("message %s: wrong variables (-want +got):\n%s", m.Name, diff)
		}
		if sum, _, ok := m.ContentSum(c.Recipients.Recipients[0], ""); ok && sum != got.Sum() {
			t.Errorf("message %s: ContentSum %x, Render's Sum %x", m.Name, sum, got.Sum())
		}
	}
	if got, diags := c.Messages[2].Render(c.Recipients.Recipients[0], nil, ""); diags.HasErrors() || got.Body != "25" {
		t.Errorf("text: %q, %s", got.Body, diagText(cfg.Files, diags))
	}
}
