package report

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
)

// GraphFormat is the language a journey graph is written in.
type GraphFormat string

// The graph formats.
const (
	DOT     GraphFormat = "dot"     // Graphviz
	Mermaid GraphFormat = "mermaid" // flowchart, as pull requests render it
)

// GraphFormats are the formats WriteGraph writes, the default first.
var GraphFormats = []GraphFormat{DOT, Mermaid}

// Journey is the shape of one campaign: its messages and how they follow
// each other.
type Journey struct {
	Campaign string
	Steps    []Step // in configuration order
}

// Step is one message of a journey.
type Step struct {
	Name     string
	Kind     string
	Template string // "" unless a template
	// After is the message this one follows, "" for a first contact.
	After string
	Delay string // as a delay is written, "" for none
	When  string // the condition's source, "" for none
	// Variants describe the message's variants, one line each ("short,
	// weight 50: spring_offer_short"); nil for a message without.
	Variants []string
}

// FirstContact reports whether s opens the conversation.
func (s Step) FirstContact() bool { return s.After == "" }

// Journeys returns the journey of each of cfg's campaigns, in order.
func Journeys(cfg *config.Config) []Journey {
	var out []Journey
	for _, c := range cfg.Campaigns {
		j := Journey{Campaign: c.Name}
		for _, m := range c.Messages {
			s := Step{Name: m.Name, Kind: m.Kind.String(), Template: m.Template(), When: source(cfg, m.WhenRange())}
			for _, v := range m.Variants {
				line := fmt.Sprintf("%s, weight %d", v.Name, v.Weight)
				if t := v.Template(); t != "" {
					line += ": " + t
				}
				s.Variants = append(s.Variants, line)
			}
			if m.After != nil {
				s.After = m.After.Name
				if m.Delay > 0 {
					s.Delay = FormatDelay(m.Delay)
				}
			}
			j.Steps = append(j.Steps, s)
		}
		out = append(out, j)
	}
	return out
}

// nodeLines are the lines of a step's node: name, kind (and template),
// and the first-contact mark.
func (s Step) nodeLines() []string {
	kind := s.Kind
	if s.Template != "" {
		kind += " " + s.Template
	}
	lines := append([]string{s.Name, kind}, s.Variants...)
	if s.FirstContact() {
		lines = append(lines, "first contact")
	}
	return lines
}

// edgeLines are the lines of the label of the edge into s.
func (s Step) edgeLines() []string {
	var lines []string
	if s.Delay != "" {
		lines = append(lines, "delay "+s.Delay)
	}
	if s.When != "" {
		lines = append(lines, "when "+s.When)
	}
	return lines
}

// WriteGraph writes the journeys in format. The output depends only on
// the journeys, so it can be committed and compared.
func WriteGraph(w io.Writer, js []Journey, format GraphFormat) error {
	var b strings.Builder
	switch format {
	case DOT:
		writeDOT(&b, js)
	case Mermaid:
		writeMermaid(&b, js)
	default:
		return fmt.Errorf("unknown graph format %q", format)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// syntax writes the nodes and edges of one graph language.
type syntax struct {
	node func(id string, lines []string, first bool) string
	edge func(from, to string, lines []string) string
}

// writeSteps writes j's nodes, then its edges, one a line.
func writeSteps(b *strings.Builder, j Journey, id func(step string) string, syn syntax) {
	for _, s := range j.Steps {
		fmt.Fprintf(b, "    %s\n", syn.node(id(s.Name), s.nodeLines(), s.FirstContact()))
	}
	for _, s := range j.Steps {
		if !s.FirstContact() {
			fmt.Fprintf(b, "    %s\n", syn.edge(id(s.After), id(s.Name), s.edgeLines()))
		}
	}
}

var dotSyntax = syntax{
	node: func(id string, lines []string, first bool) string {
		attrs := ""
		if first {
			attrs = ", peripheries=2"
		}
		return fmt.Sprintf("%s [label=%s%s];", id, dotLabel(lines), attrs)
	},
	edge: func(from, to string, lines []string) string {
		if len(lines) == 0 {
			return fmt.Sprintf("%s -> %s;", from, to)
		}
		return fmt.Sprintf("%s -> %s [label=%s];", from, to, dotLabel(lines))
	},
}

func writeDOT(b *strings.Builder, js []Journey) {
	b.WriteString("digraph ujumbe {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	for _, j := range js {
		fmt.Fprintf(b, "\n  subgraph %s {\n", dotQuote("cluster_"+j.Campaign))
		fmt.Fprintf(b, "    label=%s;\n", dotQuote(addrs.Pattern{Campaign: j.Campaign}.String()))
		writeSteps(b, j, func(step string) string { return dotQuote(j.Campaign + "." + step) }, dotSyntax)
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
}

// dotQuote writes s as a DOT quoted string.
func dotQuote(s string) string { return `"` + dotEscape.Replace(s) + `"` }

// dotEscape escapes what would end or change a DOT quoted string.
var dotEscape = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// dotLabel writes lines as one DOT label, centred lines.
func dotLabel(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = dotEscape.Replace(l)
	}
	return `"` + strings.Join(q, `\n`) + `"`
}

var mermaidSyntax = syntax{
	node: func(id string, lines []string, first bool) string {
		if first {
			return id + "([" + mermaidLabel(lines) + "])" // stadium: the journey starts here
		}
		return id + "(" + mermaidLabel(lines) + ")" // rounded box
	},
	edge: func(from, to string, lines []string) string {
		if len(lines) == 0 {
			return from + " --> " + to
		}
		return from + " -->|" + mermaidLabel(lines) + "| " + to
	},
}

func writeMermaid(b *strings.Builder, js []Journey) {
	b.WriteString("flowchart LR\n")
	ids := mermaidIDs{}
	var first []string
	for ci, j := range js {
		id := func(step string) string { return ids.get(j.Campaign, ci, step) }
		// The edges go inside the subgraph too: Mermaid lays a subgraph
		// out in its own direction only when no edge of it is outside.
		fmt.Fprintf(b, "  subgraph %s[%s]\n    direction LR\n", ids.get("campaign_"+j.Campaign, ci, ""), mermaidLabel([]string{addrs.Pattern{Campaign: j.Campaign}.String()}))
		writeSteps(b, j, id, mermaidSyntax)
		b.WriteString("  end\n")
		for _, s := range j.Steps {
			if s.FirstContact() {
				first = append(first, id(s.Name))
			}
		}
	}
	if len(first) > 0 {
		b.WriteString("  classDef first stroke-width:3px\n")
		fmt.Fprintf(b, "  class %s first\n", strings.Join(first, ","))
	}
}

// mermaidIDs gives each campaign and message a Mermaid node id made of
// its names, with what Mermaid's ids do not allow replaced, and unique.
type mermaidIDs map[string]string

var notIDChar = regexp.MustCompile(`[^A-Za-z0-9_]`)

func (ids mermaidIDs) get(campaign string, ci int, message string) string {
	key := fmt.Sprintf("%d\x00%s\x00%s", ci, campaign, message)
	if id, ok := ids[key]; ok {
		return id
	}
	id := notIDChar.ReplaceAllString(campaign, "_")
	if message != "" {
		id += "__" + notIDChar.ReplaceAllString(message, "_")
	}
	base := id
	for n := 2; ids.taken(id); n++ {
		id = fmt.Sprintf("%s_%d", base, n)
	}
	ids[key] = id
	return id
}

func (ids mermaidIDs) taken(id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// mermaidEntities replaces what would end or change a quoted Mermaid label
// with HTML entities, which Mermaid's HTML labels show as the characters.
// (Mermaid's own #quot; codes are left undecoded in edge labels by the
// Mermaid 11 renderer.)
var mermaidEntities = strings.NewReplacer(
	"&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;", "#", "&num;", "|", "&vert;", "`", "&grave;",
)

// mermaidLabel writes lines as one quoted Mermaid label.
func mermaidLabel(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = mermaidEntities.Replace(l)
	}
	return `"` + strings.Join(q, "<br/>") + `"`
}
