package command

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/sandbox"
)

// requestHCL sends a template, then into its thread an interactive
// question, a text and an image: each kind of content, through both send
// endpoints.
const requestHCL = `
provider "briq" {
  rate = 1000
  # Each message is planned and applied in turn, on the wall clock, right
  # after the one it follows: the pair spacing would hold every one back.
  pair_spacing = "0s"
}

recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "launch" {
  recipients = recipients.customers

  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
  message "ask" {
    after = message.hello
    interactive = {
      type = "button"
      body = { text = "Hi ${row.name} & co, want <your> code?" }
      action = {
        buttons = [
          { type = "reply", reply = { id = "yes", title = "Yes please" } },
        ]
      }
    }
  }
  message "code" {
    after = message.ask
    text  = "Your code: BF-${upper(row.name)}."
  }
  message "picture" {
    after = message.code
    media {
      kind    = "IMAGE"
      url     = "https://example.com/${row.name}.png"
      caption = "For ${row.name}"
    }
  }
}
`

// TestPlanShowsTheRequest checks that the content plan shows for a send
// is byte for byte the body the sandbox receives for it, after the
// targeting apply adds in front (to for a first contact, conversation_id
// for a follow-up), at the endpoint of its kind: plan shows what is sent.
func TestPlanShowsTheRequest(t *testing.T) {
	w := newWorld(t, 0, sandbox.Options{})
	for name, content := range map[string]string{
		"main.hcl":      requestHCL,
		"customers.csv": "name,phone\nAsha,255712000001\nBaraka,255712000002\n",
	} {
		if err := os.WriteFile(filepath.Join(w.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type request struct{ path, body string }
	var (
		mu       sync.Mutex
		received []request
	)
	rec := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				t.Error(err)
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			mu.Lock()
			received = append(received, request{r.URL.Path, string(b)})
			mu.Unlock()
		}
		w.srv.ServeHTTP(rw, r)
	}))
	defer rec.Close()
	w.url = rec.URL

	for _, tc := range []struct{ message, path string }{
		{"hello", "/v1/whatsapp/messages"},
		{"ask", "/v1/whatsapp/messages/interactive"},
		{"code", "/v1/whatsapp/messages"},
		{"picture", "/v1/whatsapp/messages"},
	} {
		var doc plan.Document
		if err := json.Unmarshal([]byte(w.mustRun(exitOK, "plan", "-json", "-target=campaign.launch.message."+tc.message)), &doc); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, m := range doc.Messages {
			for _, s := range m.Samples {
				if s.Class != "send" || len(s.Content) == 0 {
					t.Fatalf("%s: sample %s is %s with content %s, want a send with content", tc.message, s.Address, s.Class, s.Content)
				}
				targeting := `{"to":"` + s.Phone + `",`
				if s.ConversationID != "" {
					targeting = `{"conversation_id":"` + s.ConversationID + `",`
				}
				want[tc.path+" "+targeting+string(s.Content[1:])] = true
			}
		}
		if len(want) != 2 {
			t.Fatalf("%s: plan shows %d sends, want the 2 recipients'", tc.message, len(want))
		}
		mu.Lock()
		received = nil
		mu.Unlock()
		w.mustRun(exitOK, "apply", "-auto-approve", "-refresh=false", "-target=campaign.launch.message."+tc.message)
		mu.Lock()
		got := received
		mu.Unlock()
		if len(got) != len(want) {
			t.Errorf("%s: the sandbox received %d sends, want %d: %v", tc.message, len(got), len(want), got)
		}
		for _, r := range got {
			if !want[r.path+" "+r.body] {
				t.Errorf("%s: the sandbox received at %s\n%s\nwhich no content plan showed; plan showed (with targeting):\n%v", tc.message, r.path, r.body, want)
			}
		}
	}
}
