package config

import (
	"strings"
	"testing"
)

// inputsConfig is a campaign whose messages read the row, a variable and a
// local; edits of it are tested against it.
const inputsConfig = `
variable "code" {
  type    = string
  default = "BF"
}

locals {
  sign = "-- ${var.code} team"
}
` + inputsRecipients + `

campaign "c" {
  recipients = recipients.r

  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name, "2" = var.code }
  }

  message "ask" {
    after = message.hello
    interactive = {
      type = "button"
      body = { text = "Hi ${row.name} ${local.sign}" }
      action = { buttons = [{ type = "reply", reply = { id = "yes", title = "Yes" } }] }
    }
  }

  message "code" {
    after = message.ask
    text  = "Code ${upper(row.name)}"
  }

  message "echo" {
    after = message.ask
    text  = "You said ${reply.title}"
  }
}
`

const inputsRecipients = `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
}
`

const inputsCSV = "phone,name,nick\n+255700000001,Asha,A\n+255700000002,Baraka,B\n"

// inputSums loads files (inputsConfig and inputsCSV unless replaced) with
// vars and returns each message's InputSum for each recipient, "" where it
// has none.
func inputSums(t *testing.T, files map[string]string, vars ...string) map[string]uint64 {
	t.Helper()
	all := map[string]string{"main.hcl": inputsConfig, "r.csv": inputsCSV}
	for name, content := range files {
		all[name] = content
	}
	cfg := mustLoad(t, writeDir(t, all), LoadOptions{Vars: vars})
	sums := map[string]uint64{}
	for _, c := range cfg.Campaigns {
		for _, m := range c.Messages {
			for _, r := range c.Recipients.Recipients {
				sum, ok := m.InputSum(r, "")
				if ok != (sum != 0) {
					t.Fatalf("%s for %s: InputSum %x, %v", m.Name, r.Key, sum, ok)
				}
				if ok {
					sums[m.Name+"/"+r.Key] = sum
				}
			}
		}
	}
	return sums
}

// TestInputSum: the fingerprint is the same for the same inputs and
// changes with every input the content is made from: the row, how the
// content is written, a variable, a local, the column names. Content that
// reads the answer has none.
func TestInputSum(t *testing.T) {
	base := inputSums(t, nil)
	for _, k := range []string{"hello/255700000001", "ask/255700000001", "code/255700000002"} {
		if base[k] == 0 {
			t.Errorf("%s has no fingerprint; want one (%v)", k, base)
		}
	}
	for k := range base {
		if strings.HasPrefix(k, "echo/") {
			t.Errorf("%s reads the answer, but has a fingerprint", k)
		}
	}
	if again := inputSums(t, nil); len(again) != len(base) {
		t.Fatalf("loading again gave %v, want %v", again, base)
	} else {
		for k, v := range base {
			if again[k] != v {
				t.Errorf("%s: %x loading again, %x before", k, again[k], v)
			}
		}
	}
	if base["hello/255700000001"] == base["hello/255700000002"] {
		t.Error("two rows share a fingerprint")
	}

	edits := map[string]struct {
		files map[string]string
		vars  []string
		// changed are the fingerprints that must differ from base; the
		// others may or may not.
		changed []string
	}{
		"a name in the row": {files: map[string]string{"r.csv": strings.Replace(inputsCSV, "Asha", "Ashа", 1)},
			changed: []string{"hello/255700000001", "ask/255700000001", "code/255700000001"}},
		"the text of a message": {files: map[string]string{"main.hcl": strings.Replace(inputsConfig, `"Code ${upper(row.name)}"`, `"Code ${lower(row.name)}"`, 1)},
			changed: []string{"code/255700000001", "code/255700000002"}},
		"a variable": {vars: []string{"code=XMAS"},
			changed: []string{"hello/255700000001", "ask/255700000002"}},
		"a local": {files: map[string]string{"main.hcl": strings.Replace(inputsConfig, `"-- ${var.code} team"`, `"-- ${var.code} crew"`, 1)},
			changed: []string{"ask/255700000001", "ask/255700000002"}},
		// The same cells under other names: row.name now reads what was nick.
		"the column names": {files: map[string]string{"r.csv": strings.Replace(inputsCSV, "phone,name,nick", "phone,nick,name", 1)},
			changed: []string{"hello/255700000001", "ask/255700000001", "code/255700000001"}},
	}
	for name, e := range edits {
		t.Run(name, func(t *testing.T) {
			got := inputSums(t, e.files, e.vars...)
			for _, k := range e.changed {
				if got[k] == 0 || got[k] == base[k] {
					t.Errorf("%s: fingerprint %x, before %x; want a new one", k, got[k], base[k])
				}
			}
		})
	}
}

// TestInputSumNone: content made from more than the row, variables and
// locals has no fingerprint.
func TestInputSumNone(t *testing.T) {
	cfg := mustLoad(t, writeDir(t, map[string]string{"r.csv": inputsCSV, "main.hcl": inputsRecipients + `
campaign "c" {
  recipients = recipients.r
  message "hello" {
    template  = "welcome"
    variables = { "1" = recipient.key }
  }
  message "pic" {
    after = message.hello
    media {
      kind = "IMAGE"
      url  = "https://example.com/a.png"
    }
  }
}
`}), LoadOptions{})
	for _, m := range cfg.Campaigns[0].Messages {
		if sum, ok := m.InputSum(cfg.Campaigns[0].Recipients.Recipients[0], ""); ok {
			t.Errorf("%s has fingerprint %x; want none", m.Name, sum)
		}
	}
}
