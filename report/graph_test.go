package report

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ujumbe/ujumbe/config"
)

// graphConfigs are the configurations whose journeys have golden files:
// the examples, and names and conditions that need escaping.
var graphConfigs = map[string]string{
	"ab-test":    "../examples/ab-test",
	"follow-ups": "../examples/follow-ups",
	"list-menu":  "../examples/list-menu",
	"quickstart": "../examples/quickstart",
	"journeys":   "testdata/journeys",
}

func loadDir(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// TestGraphGolden: the DOT and Mermaid graphs of each configuration, as
// golden files (testdata/graph/NAME.dot, NAME.mmd; -update rewrites them).
func TestGraphGolden(t *testing.T) {
	for name, dir := range graphConfigs {
		t.Run(name, func(t *testing.T) {
			js := Journeys(loadDir(t, dir))
			for format, ext := range map[GraphFormat]string{DOT: "dot", Mermaid: "mmd"} {
				var b bytes.Buffer
				if err := WriteGraph(&b, js, format); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("graph", name+"."+ext), b.Bytes())
			}
		})
	}
}

// TestGraphDeterministic: the same configuration, the same bytes.
func TestGraphDeterministic(t *testing.T) {
	for _, format := range GraphFormats {
		var first string
		for range 5 {
			var b bytes.Buffer
			if err := WriteGraph(&b, Journeys(loadDir(t, graphConfigs["journeys"])), format); err != nil {
				t.Fatal(err)
			}
			if first == "" {
				first = b.String()
			} else if b.String() != first {
				t.Fatalf("%s output changed between runs:\n%s\n---\n%s", format, first, b.String())
			}
		}
	}
}

// TestGraphDOTParses runs Graphviz on every DOT graph, when it is
// installed (Debian's graphviz package).
func TestGraphDOTParses(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz's dot is not installed (apt-get install graphviz); the DOT goldens are checked all the same")
	}
	for name, dir := range graphConfigs {
		var b bytes.Buffer
		if err := WriteGraph(&b, Journeys(loadDir(t, dir)), DOT); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = &b
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: dot -Tsvg: %v\n%s", name, err, out)
		}
	}
}

func TestWriteGraphUnknownFormat(t *testing.T) {
	if err := WriteGraph(&bytes.Buffer{}, nil, "svg"); err == nil {
		t.Error("WriteGraph accepted format svg")
	}
}
