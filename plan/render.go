package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/mitchellh/colorstring"
)

// RenderOptions control the human plan.
type RenderOptions struct {
	Color bool
}

var classColor = map[string]string{
	"send": "[green]", "retry": "[yellow]", "scheduled": "[cyan]", "done": "[dark_gray]",
	"drift": "[yellow]", "unknown": "[magenta]", "expired": "[red]", "orphan": "[red]",
}

// summaryWords are the phrases of the summary line, in Classes order.
var summaryWords = map[string]string{
	"send": "to send", "retry": "to retry", "scheduled": "scheduled", "done": "done",
	"drift": "drifted", "unknown": "unknown", "expired": "expired", "orphan": "orphaned",
}

// Render writes the human plan for d: per message its counts and a few
// rendered sends, then the summary line. It reads nothing but d.
func Render(w io.Writer, d *Document, opts RenderOptions) error {
	col := colorstring.Colorize{Colors: colorstring.DefaultColors, Disable: !opts.Color, Reset: true}
	var b bytes.Buffer
	if d.Filtered {
		b.WriteString(col.Color("[yellow]Warning:[reset] -target or -exclude is in effect: this plan covers only part of the configuration.\n\n"))
	}
	for _, m := range d.Messages {
		kind := ""
		if m.Kind != "" {
			kind = " (" + m.Kind + ")"
		}
		b.WriteString(col.Color("[bold]" + m.Address + "[reset]" + kind + "\n"))
		var counts []string
		for _, c := range Classes {
			n := m.Counts[c.Name()]
			if c == Orphan {
				n -= m.Holdout
			}
			if n > 0 {
				counts = append(counts, col.Color(fmt.Sprintf("%s%s[reset] %d %s", classColor[c.Name()], c, n, summaryWords[c.Name()])))
			}
		}
		if m.Holdout > 0 {
			counts = append(counts, col.Color(fmt.Sprintf("%s%s[reset] %d held out", classColor[Orphan.Name()], Orphan, m.Holdout)))
		}
		b.WriteString("  " + strings.Join(counts, ", "))
		if m.NextDue != nil {
			b.WriteString(", next due " + stamp(*m.NextDue))
			if m.NextDueLocal != "" {
				b.WriteString(" (" + m.NextDueLocal + ")")
			}
		}
		b.WriteString("\n")
		if line := variantLine(m); line != "" {
			b.WriteString("  " + line + "\n")
		}
		for _, s := range m.Samples {
			fmt.Fprintf(&b, "  %s %s", col.Color(classColor[s.Class]+s.Mark+"[reset]"), s.Address)
			if s.Phone != "" {
				fmt.Fprintf(&b, " to %s", s.Phone)
			}
			if s.Variant != "" {
				fmt.Fprintf(&b, " (variant %s)", s.Variant)
			}
			b.WriteString("\n")
			if s.Reason != "" && s.DueLocal != "" && s.Class == "scheduled" {
				fmt.Fprintf(&b, "      %s (%s)\n", s.Reason, s.DueLocal)
			} else if s.Reason != "" {
				fmt.Fprintf(&b, "      %s\n", s.Reason)
			}
			if len(s.Content) > 0 {
				fmt.Fprintf(&b, "      %s\n", contentLine(s.Content, m.Kind))
			}
		}
		if shown, total := len(m.Samples), sum(m.Counts); shown > 0 && total > shown {
			fmt.Fprintf(&b, "  … and %d more\n", total-shown)
		}
		b.WriteString("\n")
	}
	if d.Summary["send"]+d.Summary["retry"] == 0 {
		b.WriteString(col.Color("[bold][green]No changes.[reset] Nothing is due to be sent now.\n"))
	}
	b.WriteString(col.Color("[bold]" + SummaryLine(d) + "[reset]\n"))
	_, err := w.Write(b.Bytes())
	return err
}

// variantLine is a message's sends per variant and its holdout, e.g.
// "variants: long 480, short 470; holdout 50"; "" for a message without.
func variantLine(m MessageDoc) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(m.Variants)) {
		parts = append(parts, fmt.Sprintf("%s %d", name, m.Variants[name]))
	}
	line := ""
	if len(parts) > 0 {
		line = "variants: " + strings.Join(parts, ", ")
	}
	if m.Holdout > 0 {
		if line != "" {
			line += "; "
		}
		line += fmt.Sprintf("holdout %d", m.Holdout)
	}
	return line
}

// SummaryLine is the plan's last line, e.g.
// "Plan: 1204 to send, 310 scheduled, 88 done, 2 unknown." Held-out sends
// are counted apart from the orphans whose class they share.
func SummaryLine(d *Document) string {
	counts := d.Summary
	// Retries go out too: "0 to send, 32 to retry" would read as if
	// nothing will.
	first := fmt.Sprintf("%d to send", counts["send"]+counts["retry"])
	switch r := counts["retry"]; {
	case r == 1:
		first += " (1 of them a retry)"
	case r > 1:
		first += fmt.Sprintf(" (%d of them retries)", r)
	}
	parts := []string{first}
	for _, c := range Classes[1:] {
		if c == Retry {
			continue
		}
		n := counts[c.Name()]
		if c == Orphan {
			n -= d.Holdout
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, summaryWords[c.Name()]))
		}
	}
	if d.Holdout > 0 {
		parts = append(parts, fmt.Sprintf("%d held out", d.Holdout))
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

// contentLine is a one-line view of a request body: its type and fields.
// The type is the body's, or kind's for a body without one (the
// interactive endpoint takes none).
func contentLine(raw json.RawMessage, kind string) string {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return string(raw)
	}
	typ := kind
	if t, ok := body["type"]; ok {
		_ = json.Unmarshal(t, &typ)
		delete(body, "type")
	}
	rest, _ := json.Marshal(body)
	line := typ + " " + string(rest)
	if r := []rune(line); len(r) > 160 {
		line = string(r[:159]) + "…"
	}
	return line
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
