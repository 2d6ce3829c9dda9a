package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad loads arbitrary configuration and CSV text and then does what
// validate and plan do with the result: Check, and Render, ContentSum, When
// and Location for every recipient. Nothing may panic, whatever the input,
// and ContentSum agrees with Render wherever it answers. The
// seed corpus is in testdata/fuzz/FuzzLoad; run it longer with
//
//	go test -run '^$' -fuzz FuzzLoad -fuzztime 5m ./config
func FuzzLoad(f *testing.F) {
	f.Add(`recipients "r" {
  csv = "r.csv"
  phone = row.phone
  key = row.id
  default_region = "TZ"
}
campaign "c" {
  recipients = recipients.r
  send_window {
    from = "09:00"
    to = "17:00"
    time_zone = row.tz
  }
  message "m" {
    template = "t"
    variables = { "1" = row.name }
  }
  message "f" {
    after = message.m
    when = reply.id == "yes"
    interactive = { type = "list", body = { text = row.name }, action = { button = "b", sections = [{ rows = [{ id = "a", title = row.name }] }] } }
  }
}`, "id,name,phone,tz\n1,Asha,0712345678,Africa/Nairobi\n2,\"B,\"\"x\"\"\",+255712345679,Mars\n")
	// Spreadsheet dialects, and times and delays at and past their bounds.
	f.Add(`recipients "r" {
  csv = "r.csv"
  phone = row.phone
  key = row.id
  delimiter = ";"
}
campaign "c" {
  recipients = recipients.r
  start_at = "2199-12-31T23:59:59+03:00"
  stop_at = "0001-01-01T00:00:00Z"
  message "m" { template = "t" }
  message "f" {
    after = message.m
    delay = "366d2562047h"
    text = coalesce(row.name, "there")
  }
}`, "\uFEFFid; name ;phone\r\n A1 ;  ;+255712345678\r\n;;\r\n\r\n")
	f.Fuzz(func(t *testing.T, hclSrc, csvSrc string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hclSrc), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "r.csv"), []byte(csvSrc), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, _ := Load(dir, LoadOptions{})
		cfg.Check()
		cfg.Counts()
		reply := &Reply{ID: "yes", Title: "Yes", Text: "yes"}
		for _, c := range cfg.Campaigns {
			if c.Recipients == nil {
				continue
			}
			for _, r := range c.Recipients.Recipients {
				r.Column("phone")
				if c.Window != nil {
					c.Window.Location(r)
				}
				for _, m := range c.Messages {
					sum, checked, summed := m.ContentSum(r, "")
					contentChecked := m.ContentChecked(r, "")
					for _, rep := range []*Reply{nil, reply} {
						m.When(r, rep, "")
						p, diags := m.Render(r, rep, "")
						if !diags.HasErrors() && p != nil {
							p.Digest()
						}
						// ContentChecked, which a send due later is
						// checked by, passes nothing Render refuses.
						if contentChecked && diags.HasErrors() {
							t.Errorf("%s for %s: ContentChecked passes it, Render reports %v", m.Addr(), r.Key, diags)
						}
						// ContentSum agrees with Render wherever it answers.
						switch {
						case !summed:
						case checked && diags.HasErrors():
							t.Errorf("%s for %s: ContentSum says checked, Render reports %v", m.Addr(), r.Key, diags)
						case !diags.HasErrors() && p != nil && p.Sum() != sum:
							t.Errorf("%s for %s: ContentSum differs from Render's Sum", m.Addr(), r.Key)
						}
					}
				}
			}
		}
	})
}
