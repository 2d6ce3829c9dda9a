package command

import (
	"slices"

	"github.com/ujumbe/ujumbe/report"
)

var graphCommand = &subcommand{
	name:     "graph",
	synopsis: "Print the journey of each campaign as a DOT or Mermaid graph",
	help: `Usage: ujumbe [global options] graph [options]

  Prints the journey of each campaign: its messages as nodes (name, kind and
  template name), an arrow from each message to every follow-up sent after
  it, labelled with the follow-up's delay and when condition, and the first
  contacts marked ("first contact", with a double border in DOT and a
  stadium shape in Mermaid). The output depends only on the configuration,
  so it can be committed and compared. It sends nothing and needs no state.

  Mermaid renders where campaign changes are reviewed: put the output in a
  fenced mermaid block of a pull request or Markdown file. DOT renders with
  Graphviz, as in: ujumbe graph | dot -Tsvg > journey.svg

Options:
  -format=FORMAT        dot (the default) or mermaid.
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
`,
	run: runGraph,
}

func runGraph(c *cli, args []string) int {
	var (
		cf     configFlags
		format string
	)
	fs := c.newFlagSet("graph")
	cf.add(fs)
	fs.StringVar(&format, "format", string(report.DOT), "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() > 0 {
		return c.usage(view{}, "", "graph takes no arguments, got %q.", fs.Args())
	}
	if !slices.Contains(report.GraphFormats, report.GraphFormat(format)) {
		return c.usage(view{}, "", "-format=%s: the formats are dot and mermaid.", format)
	}
	cfg, diags := c.loadConfig(cf)
	c.printDiags(view{}, diags, filesOf(cfg))
	if diags.HasErrors() {
		return exitError
	}
	if err := report.WriteGraph(c.stdout, report.Journeys(cfg), report.GraphFormat(format)); err != nil {
		return c.fail(view{}, "Cannot write the graph", err)
	}
	return exitOK
}
