package config_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/config"
)

// sumAgrees checks ContentSum against Render for m and r, with every reply
// Render is given, and ContentChecked against ContentSum: where ContentSum answers, its sum is the Sum of what
// Render renders, and when it says checked, Render reports no error; and
// Render's payload is the one evaluating every expression gives. It
// returns ContentSum's checked and ok, and whether Render failed.
func sumAgrees(t *testing.T, m *config.Message, r *config.Recipient, variant string) (checked, ok, failed bool) {
	t.Helper()
	sum, checked, ok := m.ContentSum(r, variant)
	contentChecked := m.ContentChecked(r, variant)
	if contentChecked != (ok && checked) {
		t.Errorf("%s for %s, variant %q: ContentChecked %v, ContentSum checked %v and ok %v", m.Addr(), r.Key, variant, contentChecked, checked, ok)
	}
	replies := []*config.Reply{nil, {ID: "yes", Title: "Yes please"}, {ID: "no", Title: "No", Text: "no \"thanks\""}}
	for i, reply := range replies {
		p, diags := m.Render(r, reply, variant)
		if i == 0 {
			failed = diags.HasErrors()
		}
		// Render's fast path gives what evaluating every expression gives.
		if slow, slowDiags := m.RenderEvaluated(r, reply, variant); !reflect.DeepEqual(p, slow) || diags.HasErrors() != slowDiags.HasErrors() {
			t.Errorf("%s for %s, variant %q, reply %v: Render %+v (%v), evaluated %+v (%v)", m.Addr(), r.Key, variant, reply, p, diags, slow, slowDiags)
		}
		if contentChecked && diags.HasErrors() {
			t.Errorf("%s for %s, variant %q, reply %v: ContentChecked passes it, Render reports %v", m.Addr(), r.Key, variant, reply, diags)
		}
		if !ok {
			continue
		}
		switch {
		case checked && diags.HasErrors():
			t.Errorf("%s for %s, variant %q: ContentSum says checked, Render reports %v", m.Addr(), r.Key, variant, diags)
		case !diags.HasErrors() && p.Sum() != sum:
			t.Errorf("%s for %s, variant %q, reply %v: ContentSum %x, Render's Sum %x", m.Addr(), r.Key, variant, reply, sum, p.Sum())
		}
	}
	return checked, ok, failed
}

// TestContentSumExamples: for every message of every example and of the
// benchmark fixture, and every recipient, variant and reply, ContentSum
// equals the Sum of Render's payload; and it answers, checked, for the
// fixture's messages (hello and ask, which a plan at scale finds done a
// million times each, and code).
func TestContentSumExamples(t *testing.T) {
	fix := t.TempDir()
	if err := fixture.WriteCampaign(fix, 50, fixture.MaxMessages); err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join("..", "examples", "*", "main.hcl"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	dirs := map[string]string{"bench fixture": fix}
	for _, e := range examples {
		dirs[filepath.Base(filepath.Dir(e))] = filepath.Dir(e)
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			cfg, diags := config.Load(dir, config.LoadOptions{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			summed, checkedSums := map[string]int{}, map[string]int{}
			for _, c := range cfg.Campaigns {
				variants := append([]string{""}, c.VariantNames()...)
				for _, m := range c.Messages {
					for _, r := range c.Recipients.Recipients {
						for _, v := range variants {
							checked, ok, _ := sumAgrees(t, m, r, v)
							if ok {
								summed[m.Name]++
							}
							if checked {
								checkedSums[m.Name]++
							}
						}
					}
				}
			}
			t.Logf("summed without rendering, by message: %v; checked: %v", summed, checkedSums)
			if name == "bench fixture" {
				// Each of the 50 recipients with variant "" only.
				for _, m := range []string{"hello", "ask", "code"} {
					if checkedSums[m] != 50 {
						t.Errorf("ContentSum answered checked for %d of the 50 recipients of the fixture's %s", checkedSums[m], m)
					}
				}
			}
		})
	}
}

// TestContentSumRandomRows: over random CSV values (quotes, backslashes,
// HTML characters, control characters, line breaks, runs of spaces,
// decomposed accents that NFC composes, U+2028, emoji, empty and very long
// values), ContentSum equals the Sum of Render's payload wherever it
// answers; for templates and texts it answers exactly when Render succeeds
// (a check that fails is left to Render), and for compiled interactive
// content always, saying checked exactly when Render succeeds where the
// row's strings meet only length rules (ask), never where they meet a
// comparison (a unique title or id: ask_ids).
func TestContentSumRandomRows(t *testing.T) {
	const main = `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
}
campaign "c" {
  recipients = recipients.r
  message "hello" {
    template  = "t"
    variables = { "2" = row.b, "1" = row.a, "10" = "const", "3" = "x ${row.a} y" }
  }
  message "text" {
    after = message.hello
    text  = "Hi ${row.a}, ${row.b}!"
  }
  message "column" {
    after = message.hello
    text  = row.b
  }
  message "ask" {
    after = message.hello
    interactive = {
      type   = "button"
      header = { type = "text", text = "${row.a}!" }
      body   = { text = "Q ${row.a} & <${row.b}>?" }
      footer = { text = row.b }
      action = { buttons = [
        { type = "reply", reply = { id = "yes", title = "Yes" } },
        { type = "reply", reply = { id = "no", title = "No" } },
      ] }
    }
  }
  message "ask_parts" {
    after = message.hello
    interactive = {
      type   = "button"
      header = { type = "text", text = "é${row.b}" }
      body   = { text = "${row.a}${row.b}" }
      footer = { text = "${upper(row.a)} ${row.b}" }
      action = { buttons = [
        { type = "reply", reply = { id = "yes", title = "Yes" } },
      ] }
    }
  }
  message "ask_ids" {
    after = message.hello
    interactive = {
      type   = "button"
      body   = { text = "Q ${row.a}?" }
      action = { buttons = [
        { type = "reply", reply = { id = "yes", title = row.a } },
        { type = "reply", reply = { id = row.b, title = "No" } },
      ] }
    }
  }
  message "list" {
    after = message.hello
    interactive = {
      type   = "list"
      body   = { text = row.b }
      action = { button = row.a, sections = [
        { title = row.a, rows = [{ id = "1", title = row.a, description = row.b }] },
        { title = "Other", rows = [{ id = "2", title = "Two" }] },
      ] }
    }
  }
}
`
	pieces := []string{"a", "Zoë", "e\u0301", "o\u0308\u0301", " ", "     ", "\"", "\\", "<", ">", "&", "\n", "\r\n", "\t",
		"\x01", "\x1f", "\x7f", "\u2028", "\u2029", "€", "→", "😀", "\ufeff", "日本", ",", "'", "${x}", "%{y}"}
	ascii := pieces[:0:0]
	for _, p := range pieces {
		if !strings.ContainsFunc(p, func(r rune) bool { return r > 0x7f }) {
			ascii = append(ascii, p)
		}
	}
	rnd := rand.New(rand.NewPCG(12, 1))
	value := func() string {
		n, from := rnd.IntN(8), pieces
		switch rnd.IntN(10) {
		case 0:
			return ""
		case 1:
			n = 500 + rnd.IntN(5000) // past every length limit, sometimes
		case 2:
			// ASCII only, from short to past the limits: a string template
			// of ASCII parts is written part by part.
			n, from = rnd.IntN(200)*rnd.IntN(20), ascii
		}
		var b strings.Builder
		for range n {
			b.WriteString(from[rnd.IntN(len(from))])
		}
		if v := b.String(); strings.Contains(v, "\n") {
			// Loading refuses a cell with line breaks and as many commas
			// as a row has, as rows a stray quote merged.
			return strings.ReplaceAll(v, ",", ";")
		}
		return b.String()
	}
	var rows bytes.Buffer
	w := csv.NewWriter(&rows)
	w.Write([]string{"id", "phone", "a", "b"})
	const n = 3000
	for i := range n {
		w.Write([]string{fmt.Sprint("k", i), fmt.Sprintf("+2557%08d", i), value(), value()})
	}
	w.Flush()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "r.csv"), rows.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := cfg.Campaigns[0]
	if got := len(c.Recipients.Recipients); got != n {
		t.Fatalf("%d recipients, want %d", got, n)
	}
	compared := map[string]int{}
	for _, m := range c.Messages {
		for _, r := range c.Recipients.Recipients {
			checked, ok, failed := sumAgrees(t, m, r, "")
			switch {
			case m.Kind == config.KindInteractive && !ok:
				t.Errorf("%s for %s: ContentSum did not answer for compiled interactive content", m.Addr(), r.Key)
			case m.Name == "ask_ids" && checked:
				t.Errorf("%s for %s: ContentSum says checked, but the checks compare the row's strings", m.Addr(), r.Key)
			case m.Name != "ask_ids" && checked == failed:
				t.Errorf("%s for %s: ContentSum answered checked %v, Render failed %v", m.Addr(), r.Key, checked, failed)
			}
			if ok && !failed {
				compared[m.Name]++
			}
		}
	}
	t.Logf("sums compared, by message: %v", compared)
	for _, m := range c.Messages {
		if compared[m.Name] < n/10 {
			t.Errorf("only %d sums of %s compared", compared[m.Name], m.Name)
		}
	}
}

// BenchmarkDoneDigest is what a plan spends per done send of the benchmark
// fixture's messages to compare its content with the digest the state
// recorded: ContentSum, and for comparison Render and Sum, which a send due
// now costs (code with the answer "yes"). One recipient of 10,000 per
// iteration.
func BenchmarkDoneDigest(b *testing.B) {
	dir := b.TempDir()
	if err := fixture.WriteCampaign(dir, 10_000, fixture.MaxMessages); err != nil {
		b.Fatal(err)
	}
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	c := cfg.Campaigns[0]
	rs := c.Recipients.Recipients
	for _, m := range c.Messages {
		b.Run(m.Name+"/ContentSum", func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				if _, _, ok := m.ContentSum(rs[i%len(rs)], ""); !ok {
					b.Fatal("ContentSum did not answer")
				}
			}
		})
		var reply *config.Reply // the answer a follow-up of the question has
		if m.After != nil && m.After.Kind == config.KindInteractive {
			reply = &config.Reply{ID: "yes", Title: "Yes please", At: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)}
		}
		b.Run(m.Name+"/Render+Sum", func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				p, diags := m.Render(rs[i%len(rs)], reply, "")
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				p.Sum()
			}
		})
	}
}
