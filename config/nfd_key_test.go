package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ujumbe/ujumbe/config"
)

// TestInteractiveKeyNFC writes an interactive object's bare (identifier)
// key in NFD, as a macOS editor may save "café": HCL makes every object key
// a cty string, which is NFC, and so must the compiled JSON that ContentSum
// and Render's fast path write; else the payload and digest depend on the
// path taken.
func TestInteractiveKeyNFC(t *testing.T) {
	const hcl = `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
}
campaign "c" {
  recipients = recipients.r
  message "hello" {
    template  = "t"
    variables = { "1" = row.a }
  }
  message "ask" {
    after = message.hello
    interactive = {
      type   = "button"
      body   = { text = "Q ${row.a}" }
      cafe` + "\u0301" + ` = "x"
      action = { buttons = [{ type = "reply", reply = { id = "yes", title = "Yes" } }] }
    }
  }
}
`
	dir := t.TempDir()
	for n, c := range map[string]string{"main.hcl": hcl, "r.csv": "phone,a\n+255712000001,Asha\n"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, r := cfg.Campaigns[0].Messages[1], cfg.Campaigns[0].Recipients.Recipients[0]
	fast, d1 := m.Render(r, nil, "")
	slow, d2 := m.RenderEvaluated(r, nil, "")
	if d1.HasErrors() || d2.HasErrors() {
		t.Fatal(d1, d2)
	}
	if string(fast.Interactive) != string(slow.Interactive) {
		t.Errorf("Render %q, evaluated %q", fast.Interactive, slow.Interactive)
	}
	if sum, _, ok := m.ContentSum(r, ""); ok && sum != slow.Sum() {
		t.Errorf("ContentSum %x is not the evaluated content's Sum %x", sum[:8], slow.Sum())
	}
}
